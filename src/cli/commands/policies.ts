import { resolve } from "node:path";
import { formatLintWarning, lintPolicies } from "../../policy/lint.js";
import { flag, write, type Command } from "../command.js";
import { configFrom, configOption, noPolicyError, outputFormat, outputOption, reportLoadErrors } from "../shared.js";

export const policiesLintCommand: Command = {
  path: ["policies", "lint"],
  summary: "Validate policies and warn about likely mistakes",
  args: "[path...]",
  description: "Loads every policy under the paths (default: the configured policies, packs/). Errors name the file, policy, field, line and column.\nKyverno verifyImages rules are checked against the configuration's admission.registries (--config, or vigil.yaml and VIGIL_* variables): a rule that cannot verify anything as configured is a verify-images-trust warning. Cleanup policies and mutate-existing rules are checked against admission.cluster, actuators.kubernetes and cleanup.enabled (cluster-actions).\nExit code: 0 clean, 1 errors (or warnings with --strict).",
  options: {
    ...outputOption,
    ...configOption,
    strict: { type: "boolean", description: "Treat warnings as errors" },
  },
  examples: ["vigil policies lint packs/", "vigil policies lint my-policy.yaml --strict"],
  async run(args, io) {
    const format = outputFormat(args);
    const config = configFrom(args, io);
    const paths = args.positionals.length ? args.positionals.map((p) => resolve(io.cwd, p)) : config.policies;
    const registries = config.admission.registries;
    const actuators = config.actuators as Record<string, unknown>;
    const result = lintPolicies(paths, {
      verifyImages: { enabled: registries.enabled, rekorPublicKey: registries.rekorPublicKey, fulcioRoots: registries.fulcioRoots, ctLogPublicKey: registries.ctLogPublicKey, awsKms: config.admission.kms.aws !== undefined, vault: config.admission.kms.vault !== undefined, gcpKms: config.admission.kms.gcp !== undefined, azureKeyVault: config.admission.kms.azure !== undefined },
      clusterActions: { cluster: config.admission.cluster !== undefined, actuator: actuators["kubernetes"] !== undefined, cleanup: config.cleanup.enabled },
    });
    if (args.positionals.length > 0 && result.policies === 0 && result.errors.length === 0) throw noPolicyError(args.positionals, undefined);
    if (format === "json") {
      write(io.stdout, JSON.stringify({ policies: result.policies, errors: result.errors.map((e) => e.toJSON()), warnings: result.warnings }, null, 2));
    } else {
      reportLoadErrors(result.errors, io);
      for (const warning of result.warnings) write(io.stdout, `warning: ${formatLintWarning(warning)}`);
      write(io.stdout, `${result.policies} policies loaded, ${result.errors.length} errors, ${result.warnings.length} warnings`);
    }
    return result.errors.length > 0 || (flag(args, "strict") && result.warnings.length > 0) ? 1 : 0;
  },
};
