/**
 * `mutateExistingOnPolicyUpdate: true` of Kyverno mutate-existing rules (`mutate.targets`), and
 * `generateExisting` of generate rules and GeneratingPolicies: when such a policy is installed or
 * changed, Kyverno runs it over the existing objects that trigger it (a generate trigger becomes a
 * `dev.vigil.generate` event, whose decision plans the kubernetes.create of what it generates). Here, on the scheduler tick: for each such policy whose revision has not run yet, the trigger
 * kinds are listed from the cluster (discovery and paged LISTs, as the cleanup sweep lists), and
 * every object a rule selects becomes a `dev.vigil.mutate.existing` event; the pipeline decides
 * each and plans the kubernetes.patch of the targets within the guardrails (dry-run until the
 * policy is promoted). The revision that ran is stored (docs collection `mutate-existing`), so a
 * restart does not run it again and several processes run it once.
 *
 * The same sweep keeps the objects of synchronized generate rules in sync with the policy, as
 * Kyverno does: the objects the policy's labels claim, of the kinds its synchronized rules
 * generate, are listed and each becomes a `dev.vigil.generate` event carrying an update of the
 * object, whose decision reverts it to what the current revision generates (a kubernetes.patch).
 * A GeneratingPolicy's kinds come from CEL: the kinds its applied kubernetes.create actions created
 * (the executor's records, `createdKinds`) are listed instead.
 */
import { createHash } from "node:crypto";
import type { ClusterView } from "../core/context.js";
import { EventTypes, type Event } from "../core/event.js";
import type { Clock, Storage } from "../core/ports.js";
import type { KyvernoPolicy, TriggerTarget } from "../policy/kyverno/policy.js";
import { gvkOf, resourceInput, reviewWithoutSecretValues, secretWithoutValues } from "../policy/kyverno/request.js";
import { discovery, listAll } from "./cleanup.js";

type Json = Record<string, unknown>;

const COLLECTION = "mutate-existing";
const CHUNK = 500;

export interface MutateExistingRun {
  readonly policy: string;
  readonly revision: string;
  readonly listed: number;
  readonly triggered: number;
  readonly problems: readonly string[];
}

export interface MutateExistingSweep {
  /** Runs every policy with mutateExistingOnPolicyUpdate or generateExisting whose current revision has not run. */
  tick(): Promise<MutateExistingRun[]>;
}

export function createMutateExistingSweep(options: {
  readonly policies: () => readonly KyvernoPolicy[];
  readonly cluster: ClusterView;
  readonly clock: Clock;
  readonly storage: Pick<Storage, "getDoc" | "putDocs">;
  readonly ingest: (events: readonly Event[]) => Promise<unknown>;
  /** The kinds (apiVersion, kind) of the objects a policy's applied kubernetes.create actions created: a GeneratingPolicy's synchronized objects. */
  readonly createdKinds?: (policy: string) => Promise<readonly { readonly apiVersion: string; readonly kind: string }[]>;
  readonly onProblem?: (message: string) => void;
}): MutateExistingSweep {
  return {
    async tick() {
      const out: MutateExistingRun[] = [];
      for (const policy of options.policies()) {
        const existing = policy.mutateExisting?.onPolicyUpdate === true ? policy.mutateExisting : undefined;
        const generating = policy.generateExisting;
        const synchronized = policy.synchronizedDownstream;
        if (existing === undefined && generating === undefined && synchronized === undefined) continue;
        const name = policy.meta.name;
        const revision = policy.meta.revision;
        const stored = await options.storage.getDoc<{ revision: string }>(COLLECTION, name);
        if (stored?.value.revision === revision) continue;
        const at = options.clock.now().toISOString();
        // Claim the revision first: of several processes, one runs it.
        try {
          await options.storage.putDocs([{ collection: COLLECTION, id: name, value: { revision, at }, expectVersion: stored?.version ?? 0 }], at);
        } catch {
          continue;
        }
        const problems: string[] = [];
        const events: Event[] = [];
        let listed = 0;
        const resolver = discovery(options.cluster);
        // A GeneratingPolicy names no kinds: those its actions created are listed (deduplicated by kind, as discovery resolves them).
        const downstreamKinds: readonly TriggerTarget[] = synchronized === undefined ? [] : [
          ...synchronized.kinds,
          ...(synchronized.createdKinds && options.createdKinds ? [...new Set((await options.createdKinds(name)).map((k) => k.kind))].map((kind): TriggerTarget => ({ kind })) : []),
        ];
        // Mutate-existing triggers (dev.vigil.mutate.existing) and generateExisting triggers (dev.vigil.generate).
        const sweeps = [
          ...(existing === undefined ? [] : [{ type: EventTypes.mutateExistingTrigger, source: "vigil/mutate-existing", triggers: existing.triggerKinds.map((kind): TriggerTarget => ({ kind })), selects: existing.selects }]),
          ...(generating === undefined || policy.generates === undefined ? [] : [{ type: EventTypes.generateTrigger, source: "vigil/generate", triggers: generating.triggers, selects: policy.generates }]),
          // Generated objects of synchronized rules (dev.vigil.generate, the object's update).
          ...(synchronized === undefined || policy.generates === undefined ? [] : [{ type: EventTypes.generateTrigger, source: "vigil/generate", triggers: downstreamKinds, selects: policy.generates, labelSelector: synchronized.labelSelector, downstream: true }]),
        ] as { type: string; source: string; triggers: readonly TriggerTarget[]; selects: (input: ReturnType<typeof resourceInput>) => boolean; labelSelector?: string; downstream?: boolean }[];
        for (const sweep of sweeps) {
          for (const trigger of sweep.triggers) {
            try {
              const objects = await listAll(options.cluster, await resolver.resolve(trigger), policy.namespace, sweep.labelSelector);
              listed += objects.length;
              for (const object of objects) {
                const input = sweep.downstream ? resourceInput(object, { operation: "UPDATE", oldObject: object }) : resourceInput(object);
                if (!sweep.selects(input)) continue;
                const meta = (object["metadata"] ?? {}) as Json;
                const identity = typeof meta["uid"] === "string" ? meta["uid"] : `${String(object["kind"])}/${String(meta["namespace"] ?? "")}/${String(meta["name"] ?? "")}`;
                const namespace = typeof meta["namespace"] === "string" && meta["namespace"] !== "" ? meta["namespace"] : undefined;
                events.push({
                  specversion: "1.0",
                  id: createHash("sha256").update(`${name}\u0000${revision}\u0000${identity}${sweep.downstream ? "\u0000sync" : sweep.type === EventTypes.generateTrigger ? "\u0000generate" : ""}`).digest("hex").slice(0, 32),
                  source: sweep.source,
                  type: sweep.type,
                  subject: namespace ? `${namespace}/${String(meta["name"] ?? "")}` : String(meta["name"] ?? ""),
                  time: at,
                  // A Secret's values stay out of the generate events (stored, and their decisions' input): generation never needs them.
                  data: sweep.type !== EventTypes.generateTrigger ? object : sweep.downstream ? reviewWithoutSecretValues(updateReview(object)) : secretWithoutValues(object),
                });
              }
            } catch (error) {
              problems.push(`${"kind" in trigger ? trigger.kind : `${trigger.group}/${trigger.version}/${trigger.resource}`}: ${error instanceof Error ? error.message : String(error)}`);
            }
          }
        }
        try {
          for (let i = 0; i < events.length; i += CHUNK) await options.ingest(events.slice(i, i + CHUNK));
        } catch (error) {
          // Not run after all: the claim is given back, so the next tick runs the revision again
          // (the triggers handed over already keep their event ids and are not decided twice).
          problems.push(`handing the ${events.length} triggers to the pipeline failed (${error instanceof Error ? error.message : String(error)}); the revision runs again at the next tick`);
          try {
            await options.storage.putDocs([{ collection: COLLECTION, id: name, value: { revision: stored?.value.revision ?? "", at } }], options.clock.now().toISOString());
          } catch (release) {
            problems.push(`giving back the claim of revision ${revision} failed (${release instanceof Error ? release.message : String(release)}): change the policy to run it again`);
          }
        }
        for (const problem of problems) options.onProblem?.(`mutate existing ${name} (policy update): ${problem}`);
        out.push({ policy: name, revision, listed, triggered: events.length, problems });
      }
      return out;
    },
  };
}

/** An AdmissionReview of an update of `object` that changes nothing (the sweep's hand-over of a generated object to its policy). */
function updateReview(object: Json): Json {
  const meta = (object["metadata"] ?? {}) as Json;
  const gvk = gvkOf(object);
  return {
    apiVersion: "admission.k8s.io/v1",
    kind: "AdmissionReview",
    request: {
      uid: typeof meta["uid"] === "string" ? `${meta["uid"]}/policy-update` : "policy-update",
      kind: gvk,
      operation: "UPDATE",
      ...(typeof meta["namespace"] === "string" && meta["namespace"] !== "" ? { namespace: meta["namespace"] } : {}),
      name: String(meta["name"] ?? ""),
      object,
      oldObject: object,
      userInfo: { username: "vigil:policy-update" },
      dryRun: false,
    },
  };
}
