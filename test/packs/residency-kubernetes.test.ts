/**
 * Residency pack, end to end on Kubernetes objects: the Kubernetes API's own round-trip fixtures
 * (every other field a placeholder) with region pins and data classes set on copies, converted by
 * the Kubernetes and admission sources, enriched by the context stage, evaluated by the pack's
 * policies and decided; and the same through the admission webhook (POST /v1/admission/validate).
 */
import Fastify, { type FastifyInstance } from "fastify";
import { afterEach, describe, expect, it } from "vitest";
import type { Decision } from "../../src/core/decision.js";
import { resolveResidencySettings } from "../../src/context/residency/index.js";
import { ADMISSION_PATH, registerAdmissionRoutes, type AdmissionDeps } from "../../src/server/admission.js";
import { sendError } from "../../src/server/errors.js";
import { kubernetesObjectsToEvents } from "../../src/sources/index.js";
import { admissionReview, fixture, REGION, residencyHarness, violations, workload } from "./residency-support.js";

function objectEvent(object: Record<string, unknown>, source = "/k8s/scan") {
  const [result] = kubernetesObjectsToEvents([object], { source });
  if (!result?.ok) throw new Error(`fixture did not convert: ${JSON.stringify(result)}`);
  return result.event;
}

const DEPLOYMENT = "kubernetes-api-testdata/apps.v1.Deployment.json";
const POD = "kubernetes-api-testdata/core.v1.Pod.json";

describe("residency of Kubernetes workloads (background scan of objects)", () => {
  it("denies a personal-data Deployment pinned to us-east-1 and suggests the nearest EEA region", async () => {
    const h = residencyHarness();
    const object = workload(DEPLOYMENT, { namespace: "shop", name: "checkout", labels: { "data-classification": "personal" }, pin: { nodeSelector: "us-east-1" } });
    const { draft, residency } = await h.decide(objectEvent(object));
    expect(draft.verdict).toBe("deny");
    expect(violations(draft)).toEqual(["residency-deployment/region-not-allowed"]);
    expect(residency?.blocked[0]).toMatchObject({ kind: "workload", resource: "Deployment/shop/checkout", field: `spec.template.spec.nodeSelector["${REGION}"]`, suggestion: { region: "eu-west-1" } });
    expect(draft.explanation.summary).toContain("Deployment/shop/checkout (personal data under GDPR) would run in us-east-1 (US East (N. Virginia), US), outside EEA; nearest allowed AWS region: eu-west-1 (Europe (Ireland), IE), 5,462 km away");
  });

  it("allows a Deployment whose required nodeAffinity keeps it in EEA regions, and names only the regions outside", async () => {
    const h = residencyHarness();
    const inside = workload(DEPLOYMENT, { namespace: "shop", name: "orders", labels: { "vigil.dev/data-class": "pii" }, pin: { affinity: ["eu-central-1", "eu-west-1"] } });
    const ok = await h.decide(objectEvent(inside));
    expect(ok.draft.verdict).toBe("allow");
    expect(violations(ok.draft)).toEqual([]);
    expect(ok.residency?.counts).toMatchObject({ placements: 2, blocked: 0 });
    const mixed = workload(DEPLOYMENT, { namespace: "shop", name: "orders", labels: { "vigil.dev/data-class": "pii" }, pin: { affinity: ["eu-central-1", "us-east-2"] } });
    const denied = await h.decide(objectEvent(mixed));
    expect(denied.draft.verdict).toBe("deny");
    expect(denied.residency?.blocked.map((p) => p.region)).toEqual(["us-east-2"]);
    expect(denied.residency?.blocked[0]?.field).toMatch(/nodeSelectorTerms\[0\]\.matchExpressions\[1\]\.values\[1\]$/);
  });

  it("classifies a Pod by its namespace and keeps health data in its country of origin", async () => {
    const h = residencyHarness({ settings: resolveResidencySettings({ homeCountry: "DE" }) });
    await h.stage.entities.upsert({ kind: "namespace", id: "clinic", attrs: { labels: { "vigil.dev/data-class": "health" }, owner: "team-clinic" } }, "cmdb-sync");
    const pod = workload(POD, { namespace: "clinic", name: "records-0", pin: { nodeSelector: "eu-west-1" } });
    const { draft, residency } = await h.decide(objectEvent(pod));
    expect(draft.verdict).toBe("deny");
    expect(residency?.blocked[0]).toMatchObject({ classifiedBy: 'context.entities.namespace.attrs.labels["vigil.dev/data-class"]', allowedIn: "DE (country of origin)", suggestion: { region: "eu-central-1", country: "DE" } });
    const home = await h.decide(objectEvent(workload(POD, { namespace: "clinic", name: "records-1", pin: { nodeSelector: "eu-central-1" } })));
    expect(home.draft.verdict).toBe("allow");
  });

  it("warns about a regulated workload with no region constraint, and judges it by the cluster's region when configured", async () => {
    const unpinned = workload(DEPLOYMENT, { namespace: "shop", name: "api", labels: { "data-classification": "personal" } });
    const plain = await residencyHarness().decide(objectEvent(unpinned, "/k8s/us-prod"));
    expect(plain.draft.verdict).toBe("allow");
    expect(violations(plain.draft)).toEqual(["residency-deployment/region-not-pinned"]);
    expect(plain.draft.tier).toBe("notify");
    const clusters = residencyHarness({ settings: resolveResidencySettings({ kubernetes: { clusters: [{ source: "/k8s/us-*", region: "us-west-2" }] } }) });
    const judged = await clusters.decide(objectEvent(unpinned, "/k8s/us-prod"));
    expect(judged.draft.verdict).toBe("deny");
    expect(judged.residency?.blocked[0]).toMatchObject({ region: "us-west-2", field: "residency.kubernetes.clusters[0].region" });
  });

  it("checks PersistentVolume and StorageClass topology", async () => {
    const h = residencyHarness();
    const pv = fixture("residency/kubernetes-api-testdata/core.v1.PersistentVolume.json");
    const pvMeta = pv["metadata"] as Record<string, unknown>;
    pvMeta["name"] = "pvc-3f2a";
    delete pvMeta["namespace"]; // cluster-scoped: the round-trip fixture fills every field, a real PV has none
    pvMeta["labels"] = { [REGION]: "ap-southeast-1", "data-classification": "personal" };
    const pvDecision = await h.decide(objectEvent(pv));
    expect(pvDecision.draft.verdict).toBe("deny");
    expect(pvDecision.residency?.blocked[0]).toMatchObject({ kind: "volume", resource: "PersistentVolume/pvc-3f2a", region: "ap-southeast-1", suggestion: { provider: "aws" } });
    const sc = fixture("residency/kubernetes-api-testdata/storage.k8s.io.v1.StorageClass.json");
    (sc["metadata"] as Record<string, unknown>)["name"] = "gp3-eu";
    delete (sc["metadata"] as Record<string, unknown>)["namespace"];
    (sc["metadata"] as Record<string, unknown>)["labels"] = { "data-classification": "financial" };
    sc["allowedTopologies"] = [{ matchLabelExpressions: [{ key: REGION, values: ["eu-central-1", "eu-west-2"] }] }];
    const scDecision = await h.decide(objectEvent(sc));
    expect(scDecision.draft.verdict).toBe("allow"); // financial data: EEA, CH and UK
    expect(scDecision.residency?.counts).toMatchObject({ placements: 2, blocked: 0 });
  });

  it("reports an unknown region label and still judges the rest of the object", async () => {
    const object = workload(DEPLOYMENT, { namespace: "shop", name: "search", labels: { "data-classification": "personal" }, pin: { affinity: ["eu-centrl-1", "us-east-1"] } });
    const { draft, residency } = await residencyHarness().decide(objectEvent(object));
    expect(violations(draft)).toEqual(["residency-deployment/region-not-allowed", "residency-input/unknown-region"]);
    expect(residency?.unknownRegions[0]?.message).toMatch(/matchExpressions\[1\]\.values\[0\]: unknown region "eu-centrl-1" \(did you mean "eu-central-1"\?\)/);
  });
});

describe("residency through the admission webhook", () => {
  let app: FastifyInstance | undefined;
  afterEach(async () => {
    await app?.close();
    app = undefined;
  });

  async function post(payload: unknown): Promise<{ statusCode: number; body: { response: { allowed: boolean; status?: { message: string }; warnings?: string[] } }; recorded: Decision[] }> {
    const h = residencyHarness();
    const recorded: Decision[] = [];
    const deps: AdmissionDeps = {
      settings: { failurePolicy: "fail", timeoutMs: 5000 },
      clock: h.clock,
      decide: async (event, o) => ({ ...(await h.decide(event, { enforced: o.enforced })).draft, id: o.id, labels: o.labels }),
      record: async (draft) => {
        const decision = { ...draft, seq: recorded.length + 1, prevHash: "", hash: "h" } as Decision;
        recorded.push(decision);
        return decision;
      },
      policy: (name) => h.policies.get(name),
    };
    app = Fastify();
    app.setErrorHandler((error, _request, reply) => sendError(reply, error));
    registerAdmissionRoutes(app, deps);
    const response = await app.inject({ method: "POST", url: ADMISSION_PATH, payload: payload as object });
    return { statusCode: response.statusCode, body: response.json(), recorded };
  }

  it("denies a CREATE that pins personal data outside EEA, naming the policy and the nearest allowed region", async () => {
    const object = workload(DEPLOYMENT, { namespace: "shop", name: "checkout", labels: { "data-classification": "personal" }, pin: { nodeSelector: "us-east-1" } });
    const { statusCode, body, recorded } = await post(admissionReview(object, { uid: "7c4a1f0e-2b1d-4f57-9a8e-1c2b3d4e5f60" }));
    expect(statusCode).toBe(200);
    expect(body.response.allowed).toBe(false);
    expect(body.response.status?.message).toContain("residency-deployment");
    expect(body.response.status?.message).toContain("nearest allowed AWS region: eu-west-1");
    expect(recorded[0]?.verdict).toBe("deny");
    expect(recorded[0]?.findings.find((f) => f.effect === "violation")?.message).toContain("Deployment/shop/checkout (personal data under GDPR) would run in us-east-1");
  });

  it("allows a workload inside EEA, warns for an unpinned one, and lets DELETE through", async () => {
    const inside = workload(DEPLOYMENT, { namespace: "shop", name: "checkout", labels: { "data-classification": "personal" }, pin: { nodeSelector: "eu-central-1" } });
    expect((await post(admissionReview(inside, { uid: "a1" }))).body.response.allowed).toBe(true);
    const unpinned = workload(DEPLOYMENT, { namespace: "shop", name: "checkout", labels: { "data-classification": "personal" } });
    const warned = await post(admissionReview(unpinned, { uid: "a2" }));
    expect(warned.body.response.allowed).toBe(true);
    expect(warned.body.response.warnings?.join("\n")).toContain("has no region constraint");
    const outside = workload(DEPLOYMENT, { namespace: "shop", name: "checkout", labels: { "data-classification": "personal" }, pin: { nodeSelector: "us-east-1" } });
    const deleted = await post(admissionReview(outside, { uid: "a3", operation: "DELETE" }));
    expect(deleted.body.response.allowed).toBe(true);
    expect(deleted.recorded[0]?.findings.filter((f) => f.policy.startsWith("residency-"))).toEqual([]);
  });
});
