/**
 * The policies the agent runs: loaded once at start (load errors are reported, never fatal), and
 * shadow promotions — a person moving a policy out of `enforcement.mode: shadow`. A promotion is
 * stored per policy name with the revision it was given for: when the policy's file changes (new
 * revision), the new revision runs in shadow again until promoted, so nobody enforces a revision
 * they have not seen. (Promotion out of dry-run — actions running for real — is the executor's,
 * src/act; the agent's `promotePolicy` does both.)
 */
import type { CompiledPolicy } from "../core/compiled-policy.js";
import { VigilError } from "../core/errors.js";
import { isVigilIdentity } from "../core/identity.js";
import type { PolicyMeta } from "../core/policy.js";
import type { Clock, Storage } from "../core/ports.js";
import { createCelEnvironment } from "../policy/cel/index.js";
import type { CelEnvironment } from "../policy/cel/api.js";
import { loadPolicies, type LoadResult } from "../policy/load.js";
import { createPolicySet, type PolicySet } from "../policy/policy-set.js";
import { policyLanguagesWith } from "../policy/languages.js";
import type { ExternalExceptionSource } from "../policy/kyverno/policy-exception.js";
import { createTtlCleanupPolicy } from "../policy/kyverno/cleanup-ttl.js";
import type { VigilConfig } from "../config.js";

export const PROMOTION_COLLECTION = "policy.promotions";

/** Loads policies from files/directories with one shared CEL environment. */
export function loadPolicySet(paths: readonly string[], options: { readonly costLimit?: number; readonly exceptions?: Omit<ExternalExceptionSource, "env">; readonly builtins?: readonly CompiledPolicy[] } = {}): { policySet: PolicySet; load: LoadResult; env: CelEnvironment } {
  const env = createCelEnvironment(options.costLimit === undefined ? {} : { costLimit: options.costLimit });
  // With a cluster, Kyverno PolicyExceptions are read from it too (listed and watched), as Kyverno reads them.
  const load = loadPolicies(paths, { env, ...(options.exceptions ? { languages: policyLanguagesWith({ exceptions: options.exceptions }) } : {}) });
  // Built-in policies (Kyverno's TTL label) join the loaded ones; a loaded policy of the same name wins, and says so.
  const names = new Set(load.policies.map((p) => p.meta.name));
  const builtins = (options.builtins ?? []).filter((p) => !names.has(p.meta.name));
  for (const shadowed of (options.builtins ?? []).filter((p) => names.has(p.meta.name))) {
    load.errors.push(new VigilError("VIGIL_POLICY_LOAD", `a loaded policy is named ${shadowed.meta.name}, the name of a built-in policy (${shadowed.meta.description ?? "built in"}); the built-in one does not run: rename the loaded policy`, { field: "metadata.name" }));
  }
  const all = builtins.length === 0 ? load.policies : [...load.policies, ...builtins];
  return { policySet: createPolicySet(all), load: builtins.length === 0 ? load : { ...load, policies: all }, env };
}

/** The built-in policies `config` asks for: Kyverno's TTL label when cleanup runs against a cluster. */
export function builtinPolicies(config: Pick<VigilConfig, "admission" | "cleanup">): CompiledPolicy[] {
  return config.admission.cluster !== undefined && config.cleanup.enabled && config.cleanup.ttl.enabled ? [createTtlCleanupPolicy({ schedule: config.cleanup.ttl.schedule })] : [];
}

export interface Promotion {
  readonly name: string;
  readonly revision: string;
  readonly by: string;
  readonly at: string;
  readonly reason?: string;
}

/** A policy as `GET /v1/policies` lists it. */
export interface PolicySummary {
  readonly name: string;
  readonly language: string;
  readonly revision: string;
  readonly description?: string;
  readonly owner?: string;
  readonly source?: string;
  readonly on: readonly string[];
  /** What the policy declares. */
  readonly declared: { readonly mode: "enforce" | "shadow"; readonly dryRun: boolean };
  /** Shadow mode as applied now (after a shadow promotion of this revision). */
  readonly mode: "enforce" | "shadow";
  /** The shadow promotion of this revision, when there is one. */
  readonly promotion?: Promotion;
}

export interface PolicyCatalog {
  readonly policySet: PolicySet;
  readonly env: CelEnvironment;
  readonly loadErrors: readonly VigilError[];
  /** The policy with its effective enforcement (promotions applied): what decide and act read. */
  lookup(name: string): CompiledPolicy | undefined;
  list(): PolicySummary[];
  summary(name: string): PolicySummary | undefined;
  /** Promotes a policy's current revision out of shadow mode; VIGIL_CONFLICT when it is not in shadow mode. */
  promoteShadow(name: string, by: string, reason?: string): Promise<PolicySummary>;
  /** Reads stored promotions (at start, and to pick up other workers' promotions). */
  refresh(): Promise<void>;
}

function declaredOf(meta: PolicyMeta): { mode: "enforce" | "shadow"; dryRun: boolean } {
  return { mode: meta.enforcement?.mode === "shadow" ? "shadow" : "enforce", dryRun: meta.enforcement?.dryRun === true };
}

export function createPolicyCatalog(options: { readonly policySet: PolicySet; readonly env: CelEnvironment; readonly loadErrors: readonly VigilError[]; readonly storage: Storage; readonly clock: Clock }): PolicyCatalog {
  const { policySet, storage, clock } = options;
  const promotions = new Map<string, Promotion>();
  const effective = new Map<string, CompiledPolicy>();

  const rebuild = (): void => {
    effective.clear();
    for (const policy of policySet.policies) {
      const promotion = promotions.get(policy.meta.name);
      if (!promotion || promotion.revision !== policy.meta.revision) continue;
      const enforcement = { ...policy.meta.enforcement, mode: "enforce" as const };
      // INVARIANT: the view shares everything with the compiled policy (prototype) but its meta.
      effective.set(policy.meta.name, Object.create(policy, { meta: { value: { ...policy.meta, enforcement }, enumerable: true } }) as CompiledPolicy);
    }
  };

  const summary = (policy: CompiledPolicy): PolicySummary => {
    const meta = policy.meta;
    const promotion = promotions.get(meta.name);
    const current = promotion?.revision === meta.revision ? promotion : undefined;
    return {
      name: meta.name,
      language: meta.language,
      revision: meta.revision,
      ...(meta.description ? { description: meta.description } : {}),
      ...(meta.owner ? { owner: meta.owner } : {}),
      ...(meta.source ? { source: meta.source } : {}),
      on: meta.on,
      declared: declaredOf(meta),
      mode: current ? "enforce" : declaredOf(meta).mode,
      ...(current ? { promotion: current } : {}),
    };
  };

  return {
    policySet,
    env: options.env,
    loadErrors: options.loadErrors,
    lookup: (name) => effective.get(name) ?? policySet.get(name),
    list: () => policySet.policies.map(summary),
    summary: (name) => {
      const policy = policySet.get(name);
      return policy ? summary(policy) : undefined;
    },
    async promoteShadow(name, by, reason) {
      // Humans stay in charge: whatever path calls this (API, `vigil policies promote --direct`).
      if (isVigilIdentity(by)) {
        throw new VigilError("VIGIL_FORBIDDEN", `${by} may not promote policy ${name}: Vigil never takes its own policies out of shadow mode or dry-run; a person with the approver or admin role does`, { field: "actor.id" });
      }
      const policy = policySet.get(name);
      if (!policy) throw new VigilError("VIGIL_NOT_FOUND", `no policy named ${name}; list them with GET /v1/policies`, { field: "name" });
      if (summary(policy).mode !== "shadow") throw new VigilError("VIGIL_CONFLICT", `policy ${name} revision ${policy.meta.revision} is not in shadow mode`, { field: "name", policy: name });
      const at = clock.now().toISOString();
      const promotion: Promotion = { name, revision: policy.meta.revision, by, at, ...(reason ? { reason } : {}) };
      await storage.putDocs([{ collection: PROMOTION_COLLECTION, id: name, value: promotion }], at);
      await storage.appendAudit([{ at, actor: by, action: "policy.promote-shadow", target: name, detail: { revision: promotion.revision, ...(reason ? { reason } : {}) } }]);
      promotions.set(name, promotion);
      rebuild();
      return summary(policy);
    },
    async refresh() {
      const docs = await storage.listDocs<Promotion>(PROMOTION_COLLECTION, { limit: 100_000 });
      promotions.clear();
      for (const doc of docs) promotions.set(doc.id, doc.value);
      rebuild();
    },
  };
}
