/**
 * Shared pieces of the residency pack's end-to-end tests: the pack's policies and enrichment
 * wired the way the agent wires a pack (context stage with the enricher → PolicySet → decider),
 * and in-memory copies of the Kubernetes API round-trip fixtures with realistic region and
 * classification values on the fields the residency check reads (test/fixtures/residency/SOURCE).
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { expect } from "vitest";
import type { Context } from "../../src/core/context.js";
import type { DecisionDraft } from "../../src/core/decision.js";
import type { Event } from "../../src/core/event.js";
import type { PolicyException } from "../../src/core/review.js";
import { createResidencyEnricher, type ResidencyEnricher, type ResidencySettings, type ResidencySummary } from "../../src/context/residency/index.js";
import { createContextStage, type ContextStage } from "../../src/context/index.js";
import { createManualClock, createMemoryDocStorage, type ManualClock } from "../../src/context/test-support.js";
import { createDecider } from "../../src/decide/index.js";
import { createPolicySet, loadPolicies, type PolicySet } from "../../src/policy/index.js";

export const repoRoot = join(import.meta.dirname, "../..");
export const fixtures = join(repoRoot, "test/fixtures");
export const REGION = "topology.kubernetes.io/region";

type Json = Record<string, unknown>;

/** An upstream fixture, parsed (a fresh copy each call). */
export function fixture(path: string): Json {
  return JSON.parse(readFileSync(join(fixtures, path), "utf8")) as Json;
}

/** The pack's policies, loaded once. */
const loaded = loadPolicies([join(repoRoot, "packs/residency/policies")]);

export interface ResidencyHarness {
  readonly stage: ContextStage;
  readonly policies: PolicySet;
  readonly enricher: ResidencyEnricher;
  readonly clock: ManualClock;
  /** Context, evaluation and decision of one event, as the pipeline does it. */
  decide(event: Event, options?: { readonly exceptions?: readonly PolicyException[]; readonly enforced?: boolean }): Promise<{ draft: DecisionDraft; ctx: Context; residency: ResidencySummary | undefined }>;
}

export function residencyHarness(options: { readonly settings?: ResidencySettings; readonly now?: string } = {}): ResidencyHarness {
  expect(loaded.errors).toEqual([]);
  const policies = createPolicySet(loaded.policies);
  const enricher = createResidencyEnricher(options.settings === undefined ? {} : { settings: options.settings });
  const clock = createManualClock(options.now ?? "2026-01-12T10:00:00Z");
  const stage = createContextStage({ storage: createMemoryDocStorage(), clock, enrichers: [enricher] });
  const decider = createDecider();
  let count = 0;
  return {
    stage, policies, enricher, clock,
    async decide(event, decideOptions = {}) {
      const ctx = await stage.build(event);
      const { findings, policyRevisions } = policies.evaluate(ctx);
      const draft = decider.decide(ctx, findings, policyRevisions, {
        id: `d-${++count}`, now: ctx.now, enforced: decideOptions.enforced ?? true,
        policy: (name) => policies.get(name), exceptions: decideOptions.exceptions ?? [],
      });
      stage.observe(event, ctx, draft.findings);
      return { draft, ctx, residency: ctx.residency as ResidencySummary | undefined };
    },
  };
}

/** `policy/rule` of every violation of a draft. */
export function violations(draft: DecisionDraft): string[] {
  return draft.findings.filter((f) => f.effect === "violation").map((f) => `${f.policy}/${f.rule}`).sort();
}

/** The pod template of a workload fixture (Deployment: spec.template). */
function template(object: Json): Json {
  const spec = object["spec"] as Json;
  return (object["kind"] === "Pod" ? { metadata: object["metadata"], spec } : spec["template"]) as Json;
}

/**
 * A copy of a workload fixture named `namespace/name`, whose pod template (or the Pod itself)
 * carries `labels` and is pinned by `pin`: a nodeSelector region, a required nodeAffinity on the
 * region label, or nothing. The fixture's placeholder selectors and expressions stay as they are.
 */
export function workload(file: string, options: { readonly namespace: string; readonly name: string; readonly labels?: Readonly<Record<string, string>>; readonly pin?: { readonly nodeSelector?: string; readonly affinity?: readonly string[] } }): Json {
  const object = fixture(file);
  const metadata = object["metadata"] as Json;
  metadata["namespace"] = options.namespace;
  metadata["name"] = options.name;
  const pod = template(object);
  const podMetadata = pod["metadata"] as Json;
  podMetadata["labels"] = { ...(podMetadata["labels"] as Json), ...options.labels };
  const spec = pod["spec"] as Json;
  if (options.pin?.nodeSelector !== undefined) spec["nodeSelector"] = { ...(spec["nodeSelector"] as Json), [REGION]: options.pin.nodeSelector };
  if (options.pin?.affinity !== undefined) {
    const affinity = spec["affinity"] as { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: { matchExpressions: Json[] }[] } } };
    const term = affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[0] as { matchExpressions: Json[] };
    term.matchExpressions.push({ key: REGION, operator: "In", values: [...options.pin.affinity] });
  }
  return object;
}

/** An AdmissionReview v1 for CREATE of `object`, built on the upstream AdmissionReview fixture's shape. */
export function admissionReview(object: Json, options: { readonly uid: string; readonly operation?: string; readonly dryRun?: boolean }): Json {
  const review = fixture("kubernetes-api-testdata/admission.k8s.io.v1.AdmissionReview.json");
  delete review["response"];
  const request = review["request"] as Json;
  const metadata = object["metadata"] as Json;
  const kind = String(object["kind"]);
  const [group, version] = String(object["apiVersion"]).includes("/") ? String(object["apiVersion"]).split("/") : ["", String(object["apiVersion"])];
  Object.assign(request, {
    uid: options.uid,
    kind: { group, version, kind },
    resource: { group, version, resource: `${kind.toLowerCase()}s` },
    requestKind: { group, version, kind },
    requestResource: { group, version, resource: `${kind.toLowerCase()}s` },
    name: metadata["name"],
    namespace: metadata["namespace"],
    operation: options.operation ?? "CREATE",
    userInfo: { username: "system:serviceaccount:argocd:argocd-application-controller", uid: "5b7d7d3e-0f4e-4a7e-9d3c-0d1f3f1f2a11", groups: ["system:serviceaccounts", "system:authenticated"] },
    object,
    oldObject: null,
    dryRun: options.dryRun ?? false,
    options: { apiVersion: "meta.k8s.io/v1", kind: "CreateOptions" },
  });
  delete request["subResource"];
  delete request["requestSubResource"];
  return review;
}
