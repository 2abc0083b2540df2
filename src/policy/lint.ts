/**
 * `vigil policies lint`: load errors plus warnings that point at likely mistakes. Kept useful,
 * not noisy: each warning names the file, policy and field, and says what to do.
 *
 * Warnings (native policies):
 * - `no-tests`: neither `spec.tests` nor a PolicyTest file (among the linted paths) covers it.
 * - `unused-variable`: a variable no expression or message uses.
 * - `no-on`: no `spec.on`, so the policy is evaluated for every event type.
 * - `static-message`: a rule without a message, or whose message has no `{{ }}` part, so
 *   findings cannot say which resource or value was at fault.
 * - `constant-condition`: a condition that is literally `true` or `false`.
 *
 * Warnings (Kyverno verifyImages rules, when the caller passes the image-verification settings):
 * - `verify-images-trust`: a rule that cannot verify anything as configured — image registries
 *   off, a keys or keyless attestor checking the transparency log with no Rekor key, a keyless
 *   attestor with no Fulcio roots or no CT log key, a KMS key whose KMS is not configured (AWS
 *   KMS without admission.kms.aws, Vault without admission.kms.vault, Google Cloud KMS without
 *   admission.kms.gcp, Azure Key Vault without admission.kms.azure) or that names no KMS:
 *   every image it selects would report
 *   `error` (or fail); says which setting or field to add.
 *
 * Warnings (Kyverno cleanup policies and mutate-existing rules, when the caller passes the cluster settings):
 * - `cluster-actions`: a policy that acts on the cluster but cannot as configured — no
 *   `admission.cluster` (nothing is listed or read), no `actuators.kubernetes` (every deletion or
 *   patch is blocked), `cleanup.enabled: false` (cleanup policies never run); says what to set.
 *
 * Warnings (Kyverno PolicyExceptions):
 * - `exception-no-match`: an exception naming a policy that is not loaded, or a rule name that
 *   matches no rule of that policy, or a CEL exception for a kind Vigil does not except: it
 *   excepts nothing (Kyverno says nothing either).
 */
import { dirname, relative, resolve, isAbsolute } from "node:path";
import { readFileSync } from "node:fs";
import type { VigilError } from "../core/errors.js";
import { loadPolicies, parseYamlDocuments, type LoadOptions, type SkippedDocument } from "./load.js";
import { isNativePolicy, type NativeCompiledPolicy } from "./vigil/compile.js";
import type { CompiledPolicy } from "../core/compiled-policy.js";
import { isCelPolicyExceptionDocument, isPolicyExceptionDocument } from "./kyverno/policy-exception.js";
import { isCleanupPolicy } from "./kyverno/cleanup-policy.js";
import type { KyvernoPolicy } from "./kyverno/policy.js";
import { wildcardMatch } from "./kyverno/wildcard.js";
import { findPolicyTestFiles } from "./vigil/test-runner.js";
import { parsePolicyTestDocument } from "./vigil/test-schema.js";

export type LintCode = "no-tests" | "unused-variable" | "no-on" | "static-message" | "constant-condition" | "exception-no-match" | "verify-images-trust" | "cluster-actions";

/** What cleanup policies and mutate-existing rules need from the configuration. */
export interface ClusterActionSettings {
  /** `admission.cluster` is set. */
  readonly cluster: boolean;
  /** `actuators.kubernetes` is set. */
  readonly actuator: boolean;
  /** `cleanup.enabled`. */
  readonly cleanup: boolean;
}

/** What verifyImages rules can rely on (admission.registries of the configuration). */
export interface ImageVerificationSettings {
  readonly enabled: boolean;
  readonly rekorPublicKey?: string | undefined;
  readonly fulcioRoots?: string | undefined;
  readonly ctLogPublicKey?: string | undefined;
  /** `admission.kms.aws` is set: `awskms://` keys are fetched from AWS KMS. */
  readonly awsKms?: boolean | undefined;
  /** `admission.kms.vault` is set: `hashivault://` keys are read from HashiCorp Vault's transit engine. */
  readonly vault?: boolean | undefined;
  /** `admission.kms.gcp` is set: `gcpkms://` keys are read from Google Cloud KMS. */
  readonly gcpKms?: boolean | undefined;
  /** `admission.kms.azure` is set: `azurekms://` keys are read from Azure Key Vault. */
  readonly azureKeyVault?: boolean | undefined;
}

/** Why a KMS key reference cannot be verified with these settings, or undefined when it can. */
function kmsProblem(reference: string, settings: ImageVerificationSettings, fallback: string): string | undefined {
  if (reference.startsWith("awskms://")) return settings.awsKms === true ? undefined : `the public key is fetched from AWS KMS: set admission.kms.aws in vigil.yaml, or ${fallback}`;
  if (reference.startsWith("hashivault://")) return settings.vault === true ? undefined : `the public key is read from HashiCorp Vault's transit engine: set admission.kms.vault in vigil.yaml (address, token), or ${fallback}`;
  if (reference.startsWith("gcpkms://")) return settings.gcpKms === true ? undefined : `the public key is read from Google Cloud KMS: set admission.kms.gcp in vigil.yaml (credentialsFile or accessToken), or ${fallback}`;
  if (reference.startsWith("azurekms://")) return settings.azureKeyVault === true ? undefined : `the public key is read from Azure Key Vault: set admission.kms.azure in vigil.yaml (tenantId, clientId, clientSecret), or ${fallback}`;
  return `${JSON.stringify(reference)} names no KMS Vigil reads keys from (awskms://, hashivault://, gcpkms://, azurekms://): ${fallback}`;
}

export interface LintWarning {
  readonly code: LintCode;
  readonly file: string;
  readonly policy: string;
  /** What `policy` names when it is not a policy (a Kyverno PolicyException). */
  readonly kind?: "PolicyException";
  readonly field?: string;
  readonly message: string;
}

export interface LintResult {
  readonly errors: VigilError[];
  readonly warnings: LintWarning[];
  readonly skipped: SkippedDocument[];
  /** Number of policies that loaded. */
  readonly policies: number;
}

/** Policy files and directories that PolicyTest files under `paths` point at (absolute). */
function testedPaths(paths: readonly string[]): string[] {
  const out: string[] = [];
  for (const file of findPolicyTestFiles(paths)) {
    let text: string;
    try { text = readFileSync(file, "utf8"); } catch { continue; }
    for (const doc of parseYamlDocuments(file, text).documents) {
      const spec = parsePolicyTestDocument(doc.value).spec;
      for (const p of spec?.policies ?? []) out.push(resolve(dirname(file), p));
    }
  }
  return out;
}

function covers(tested: string, file: string): boolean {
  const rel = relative(tested, resolve(file));
  return rel === "" || (!rel.startsWith("..") && !isAbsolute(rel));
}

const templatePart = /\{\{[\s\S]*?\}\}/;

function lintNative(policy: NativeCompiledPolicy, tested: readonly string[]): LintWarning[] {
  const warnings: LintWarning[] = [];
  const spec = policy.spec;
  const at = (code: LintCode, message: string, field?: string): void => {
    warnings.push({ code, file: policy.file, policy: spec.name, message, ...(field === undefined ? {} : { field }) });
  };
  if (spec.tests.length === 0 && !tested.some((t) => covers(t, policy.file))) {
    at("no-tests", "has no tests: add spec.tests cases or a PolicyTest (*.test.yaml) that loads it");
  }
  if (spec.on.length === 0) at("no-on", "has no spec.on, so it is evaluated for every event type; list the event types it is for", "spec.on");
  const plan = policy.plan;
  const used = new Set<number>();
  const mark = (deps: readonly number[]): void => { for (const d of deps) used.add(d); };
  if (plan.match !== undefined) mark(plan.match.deps);
  plan.variables.forEach((v) => mark(v.expr.deps));
  for (const output of plan.outputs) mark(output.expr.deps);
  for (const rule of plan.rules) {
    mark(rule.condition.deps);
    mark(rule.messageDeps);
    for (const e of rule.exceptions) mark(e.when.deps);
  }
  // Remediation params/targets and adaptive conditions are rendered later; count names they mention.
  const later = JSON.stringify([spec.remediation, spec.enforcement?.adaptive ?? []]);
  plan.variables.forEach((v, i) => {
    if (!used.has(i) && !new RegExp(`variables\\s*\\.\\s*${v.name}\\b`).test(later)) {
      at("unused-variable", `variable "${v.name}" is not used by any expression or message; remove it or use it`, `spec.variables[${i}]`);
    }
  });
  spec.rules.forEach((rule, i) => {
    if (rule.message === undefined) at("static-message", `rule "${rule.name}" has no message; findings will only say the rule was violated — add one with {{ }} parts naming the resource`, `spec.rules[${i}].message`);
    else if (!templatePart.test(rule.message)) at("static-message", `rule "${rule.name}" has a message without {{ }} parts; name the resource or value at fault (e.g. {{ resource.name }})`, `spec.rules[${i}].message`);
    const condition = rule.condition.trim();
    if (condition === "true" || condition === "false") at("constant-condition", `rule "${rule.name}" has the constant condition ${condition}`, `spec.rules[${i}].condition`);
  });
  return warnings;
}

type Json = Record<string, unknown>;

/** The policy kinds a CEL PolicyException excepts in Vigil (policy-exception.ts). */
const celExceptionKinds = new Set(["ValidatingPolicy", "ImageValidatingPolicy", "MutatingPolicy", "GeneratingPolicy"]);

function isObject(value: unknown): value is Json {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

/** A YAML document of a linted file. */
interface LintDocument {
  readonly file: string;
  readonly value: Json;
}

/** The object documents of the files whose text contains one of `markers` (the others cannot hold what is checked). */
function kyvernoDocuments(files: readonly string[], markers: readonly string[]): LintDocument[] {
  const out: LintDocument[] = [];
  for (const file of files) {
    let text: string;
    try { text = readFileSync(file, "utf8"); } catch { continue; }
    if (!markers.some((marker) => text.includes(marker))) continue;
    for (const doc of parseYamlDocuments(file, text).documents) if (isObject(doc.value)) out.push({ file, value: doc.value });
  }
  return out;
}

/** The rules of a loaded Kyverno policy (ClusterPolicy / Policy: its rules with autogen ones; a CEL policy: none). */
function kyvernoRules(policy: CompiledPolicy): readonly string[] {
  const rules = (policy as { rules?: readonly { name: string }[] }).rules;
  return Array.isArray(rules) ? rules.map((r) => r.name).filter((name) => name !== "") : [];
}

/**
 * PolicyExceptions that except nothing: the policy they name is not among those loaded, or a rule
 * name matches none of its rules. Reads the exception documents of the files the load read (a
 * malformed one was already reported as a load error and is skipped here).
 */
function lintExceptions(documents: readonly LintDocument[], policies: readonly CompiledPolicy[]): LintWarning[] {
  const warnings: LintWarning[] = [];
  const kyverno = policies.filter((p) => p.meta.language === "kyverno");
  for (const { file, value } of documents) {
    if (!isPolicyExceptionDocument(value) && !isCelPolicyExceptionDocument(value)) continue;
    const metadata = isObject(value["metadata"]) ? value["metadata"] : {};
    const name = String(metadata["name"] ?? "");
    const spec = isObject(value["spec"]) ? value["spec"] : {};
    const at = (field: string, message: string): void => {
      warnings.push({ code: "exception-no-match", file, policy: name, kind: "PolicyException", field, message });
    };
    if (isCelPolicyExceptionDocument(value)) {
      (Array.isArray(spec["policyRefs"]) ? spec["policyRefs"] : []).forEach((ref: unknown, i: number) => {
        if (!isObject(ref)) return;
        const policyName = String(ref["name"] ?? "");
        if (!kyverno.some((p) => p.meta.name === policyName)) at(`spec.policyRefs[${i}]`, `refers to policy "${policyName}", which is not among the policies loaded, so it excepts nothing; check the name or load the policy`);
        else if (!celExceptionKinds.has(String(ref["kind"]))) at(`spec.policyRefs[${i}].kind`, `refers to a ${String(ref["kind"])}; Vigil applies CEL PolicyExceptions to ${[...celExceptionKinds].join(", ")}`);
      });
      continue;
    }
    (Array.isArray(spec["exceptions"]) ? spec["exceptions"] : []).forEach((entry: unknown, i: number) => {
      if (!isObject(entry)) return;
      const policyName = String(entry["policyName"] ?? "");
      const policy = kyverno.find((p) => p.meta.name === policyName || `${(p as { namespace?: string }).namespace ?? ""}/${p.meta.name}` === policyName);
      if (policy === undefined) {
        at(`spec.exceptions[${i}].policyName`, `names policy "${policyName}", which is not among the policies loaded, so it excepts nothing; check the name (a namespaced Policy is <namespace>/<name>) or load the policy`);
        return;
      }
      const rules = kyvernoRules(policy);
      (Array.isArray(entry["ruleNames"]) ? entry["ruleNames"] : []).forEach((rule: unknown, j: number) => {
        const pattern = String(rule);
        if (rules.length > 0 && !rules.some((r) => wildcardMatch(pattern, r))) {
          at(`spec.exceptions[${i}].ruleNames[${j}]`, `rule "${pattern}" matches no rule of policy "${policy.meta.name}" (its rules: ${rules.join(", ")}), so it excepts nothing`);
        }
      });
    });
  }
  return warnings;
}

/** verifyImages rules that cannot verify anything with `settings` (see `verify-images-trust`). */
function lintVerifyImages(documents: readonly LintDocument[], settings: ImageVerificationSettings): LintWarning[] {
  const warnings: LintWarning[] = [];
  const text = (value: unknown): boolean => typeof value === "string" && value.trim() !== "";
  for (const { file, value } of documents) {
    if (value["kind"] === "ImageValidatingPolicy") {
      warnings.push(...lintImageValidatingPolicy(file, value, settings));
      continue;
    }
    if (value["kind"] !== "ClusterPolicy" && value["kind"] !== "Policy") continue;
    const name = String((isObject(value["metadata"]) ? value["metadata"]["name"] : undefined) ?? "");
    const rules = isObject(value["spec"]) && Array.isArray(value["spec"]["rules"]) ? value["spec"]["rules"] : [];
    rules.forEach((rule: unknown, r: number) => {
      if (!isObject(rule) || !Array.isArray(rule["verifyImages"])) return;
      const at = (field: string, message: string): void => {
        warnings.push({ code: "verify-images-trust", file, policy: name, field: `spec.rules[${r}].${field}`, message });
      };
      if (!settings.enabled) {
        at("verifyImages", `rule "${String(rule["name"] ?? "")}" verifies images, but admission.registries is not enabled: every image it selects reports error; set admission.registries.enabled: true`);
        return;
      }
      const entries = (sets: unknown, path: string): [Json, string][] => (Array.isArray(sets) ? sets : []).flatMap((set: unknown, i: number) =>
        isObject(set) && Array.isArray(set["entries"]) ? set["entries"].filter(isObject).map((e: Json, j: number): [Json, string] => [e, `${path}[${i}].entries[${j}]`]) : []);
      rule["verifyImages"].forEach((verify: unknown, v: number) => {
        if (!isObject(verify)) return;
        const all = [...entries(verify["attestors"], `verifyImages[${v}].attestors`), ...(Array.isArray(verify["attestations"]) ? verify["attestations"] : []).flatMap((a: unknown, k: number) => (isObject(a) ? entries(a["attestors"], `verifyImages[${v}].attestations[${k}].attestors`) : []))];
        for (const [entry, path] of all) {
          const signer = isObject(entry["keys"]) ? entry["keys"] : isObject(entry["keyless"]) ? entry["keyless"] : isObject(entry["certificates"]) ? entry["certificates"] : undefined;
          if (signer === undefined) continue;
          const field = isObject(entry["keys"]) ? "keys" : isObject(entry["keyless"]) ? "keyless" : "certificates";
          if (field === "keys" && text(signer["kms"])) {
            const problem = kmsProblem(String(signer["kms"]), settings, "the images this attestor checks report unsupported; or put the public key in keys.publicKeys");
            if (problem !== undefined) at(`${path}.keys.kms`, problem);
            continue;
          }
          const rekor = isObject(signer["rekor"]) ? signer["rekor"] : {};
          // Notary (notation) signatures are not logged in Rekor.
          if (verify["type"] !== "Notary" && rekor["ignoreTlog"] !== true && !text(rekor["pubkey"]) && !text(settings.rekorPublicKey)) {
            at(`${path}.${field}.rekor`, "checks the transparency log, but no Rekor public key is set: set rekor.pubkey or admission.registries.rekorPublicKey (or rekor.ignoreTlog: true), or every signature fails");
          }
          if (field === "keyless") {
            if (!text(signer["roots"]) && !text(settings.fulcioRoots)) at(`${path}.keyless.roots`, "no Fulcio roots to check certificates against: set keyless.roots or admission.registries.fulcioRoots, or every signature fails");
            const ctlog = isObject(signer["ctlog"]) ? signer["ctlog"] : {};
            if (ctlog["ignoreSCT"] !== true && !text(ctlog["pubkey"]) && !text(settings.ctLogPublicKey)) at(`${path}.keyless.ctlog`, "checks the certificates' SCTs, but no CT log key is set: set ctlog.pubkey or admission.registries.ctLogPublicKey (or ctlog.ignoreSCT: true), or every signature fails");
          }
        }
      });
    });
  }
  return warnings;
}

/** The `verify-images-trust` warnings of an ImageValidatingPolicy's attestors. */
function lintImageValidatingPolicy(file: string, value: Json, settings: ImageVerificationSettings): LintWarning[] {
  const warnings: LintWarning[] = [];
  const name = String((isObject(value["metadata"]) ? value["metadata"]["name"] : undefined) ?? "");
  const at = (field: string, message: string): void => {
    warnings.push({ code: "verify-images-trust", file, policy: name, field, message });
  };
  if (!settings.enabled) {
    at("spec.attestors", "the policy verifies images, but admission.registries is not enabled: every image it selects reports error; set admission.registries.enabled: true");
    return warnings;
  }
  const text = (v: unknown): boolean => typeof v === "string" && v.trim() !== "";
  const attestors = isObject(value["spec"]) && Array.isArray(value["spec"]["attestors"]) ? value["spec"]["attestors"] : [];
  attestors.forEach((attestor: unknown, i: number) => {
    if (!isObject(attestor) || !isObject(attestor["cosign"])) return;
    const cosign = attestor["cosign"];
    const ctlog = isObject(cosign["ctlog"]) ? cosign["ctlog"] : {};
    const path = `spec.attestors[${i}].cosign`;
    if (isObject(cosign["key"]) && text(cosign["key"]["kms"])) {
      const problem = kmsProblem(String(cosign["key"]["kms"]), settings, "validations using this attestor report error; or put the public key in key.data");
      if (problem !== undefined) at(`${path}.key.kms`, problem);
    }
    if (ctlog["insecureIgnoreTlog"] !== true && !text(ctlog["rekorPubKey"]) && !text(settings.rekorPublicKey)) at(`${path}.ctlog`, "checks the transparency log, but no Rekor public key is set: set ctlog.rekorPubKey or admission.registries.rekorPublicKey (or ctlog.insecureIgnoreTlog: true), or every signature fails");
    if (isObject(cosign["keyless"])) {
      const roots = cosign["keyless"]["roots"];
      if (!(text(roots) || (isObject(roots) && text(roots["value"]))) && !text(settings.fulcioRoots)) at(`${path}.keyless.roots`, "no Fulcio roots to check certificates against: set keyless.roots or admission.registries.fulcioRoots, or every signature fails");
      if (ctlog["insecureIgnoreSCT"] !== true && !text(ctlog["ctLogPubKey"]) && !text(settings.ctLogPublicKey)) at(`${path}.ctlog.ctLogPubKey`, "checks the certificates' SCTs, but no CT log key is set: set ctlog.ctLogPubKey or admission.registries.ctLogPublicKey (or ctlog.insecureIgnoreSCT: true), or every signature fails");
    }
  });
  return warnings;
}

/** Lints the policies under `paths`. `verifyImages`: the image-verification settings verifyImages rules are checked against (omitted: not checked). Never throws. */
export function lintPolicies(paths: string | readonly string[], options: LoadOptions & { readonly verifyImages?: ImageVerificationSettings; readonly clusterActions?: ClusterActionSettings } = {}): LintResult {
  const list = typeof paths === "string" ? [paths] : [...paths];
  const loaded = loadPolicies(list, options);
  const tested = testedPaths(list);
  const warnings: LintWarning[] = [];
  for (const policy of loaded.policies) if (isNativePolicy(policy)) warnings.push(...lintNative(policy, tested));
  // The Kyverno documents these checks read, each file read and parsed once (only files that can hold them).
  const documents = kyvernoDocuments(loaded.files, options.verifyImages === undefined ? ["PolicyException"] : ["PolicyException", "verifyImages", "ImageValidatingPolicy"]);
  warnings.push(...lintExceptions(documents, loaded.policies));
  if (options.verifyImages !== undefined) warnings.push(...lintVerifyImages(documents, options.verifyImages));
  if (options.clusterActions !== undefined) warnings.push(...lintClusterActions(loaded.policies, options.clusterActions));
  return { errors: loaded.errors, warnings, skipped: loaded.skipped, policies: loaded.policies.length };
}

/** Cleanup policies and mutate-existing rules that cannot act as configured (see `cluster-actions`). */
function lintClusterActions(policies: readonly CompiledPolicy[], settings: ClusterActionSettings): LintWarning[] {
  const warnings: LintWarning[] = [];
  for (const policy of policies) {
    const cleanup = isCleanupPolicy(policy);
    const existing = (policy as KyvernoPolicy).mutateExisting !== undefined;
    const at = (field: string, message: string): void => {
      warnings.push({ code: "cluster-actions", file: policy.meta.source?.replace(/#\d+$/, "") ?? "", policy: policy.meta.name, field, message });
    };
    // Generation needs no cluster read (a clone source aside: an error naming admission.cluster when it is read), only the actuator.
    if ((policy as KyvernoPolicy).generates !== undefined && !settings.actuator) {
      at(policy.meta.language === "kyverno-cel" ? "spec.generate" : "spec.rules", `${policy.meta.name} generates objects, but actuators.kubernetes is not set: every kubernetes.create is blocked; configure actuators.kubernetes (server, token)`);
    }
    if (!cleanup && !existing) continue;
    // A MutatingPolicy (kyverno-cel) mutates existing objects by evaluation.mutateExisting; a ClusterPolicy by mutate.targets rules.
    const cel = policy.meta.language === "kyverno-cel";
    const what = cleanup ? `${policy.kind} ${policy.meta.name} deletes objects on its schedule` : cel ? `${policy.meta.name} mutates existing objects (evaluation.mutateExisting)` : `${policy.meta.name} has mutate-existing rules (mutate.targets)`;
    const existingField = cel ? "spec.evaluation.mutateExisting" : "spec.rules";
    if (!settings.cluster) at(cleanup ? "spec.schedule" : existingField, `${what}, but admission.cluster is not set: ${cleanup ? "it never runs (the objects are listed from the cluster)" : "its targets cannot be read, so nothing is patched"}; set admission.cluster`);
    else if (cleanup && !settings.cleanup) at("spec.schedule", `${what}, but cleanup.enabled is false: it never runs; set cleanup.enabled: true`);
    if (!settings.actuator) at(cleanup ? "spec" : existingField, `${what}, but actuators.kubernetes is not set: every ${cleanup ? "kubernetes.delete" : "kubernetes.patch"} is blocked; configure actuators.kubernetes (server, token)`);
  }
  return warnings;
}

/** One line per warning: `file: policy "p": spec.rules[0].message: ... [static-message]`. */
export function formatLintWarning(w: LintWarning): string {
  return `${w.file}: ${w.kind ?? "policy"} "${w.policy}"${w.field === undefined ? "" : `: ${w.field}`}: ${w.message} [${w.code}]`;
}
