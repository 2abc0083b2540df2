import { join } from "node:path";
import Fastify, { type FastifyInstance } from "fastify";
import { afterEach, describe, expect, it } from "vitest";
import type { CompiledPolicy } from "../core/compiled-policy.js";
import type { Decision, DecisionDraft } from "../core/decision.js";
import { loadPolicies, loadPolicyText } from "../policy/index.js";
import { applyJsonPatch } from "../policy/kyverno/json-patch.js";
import { ADMISSION_MUTATE_PATH, answerMutatingReview, describeOperation, registerMutatingAdmissionRoute, type MutatingAdmissionDeps } from "./admission-mutate.js";
import type { AdmissionSettings } from "./admission-review.js";
import { sendError } from "./errors.js";

/** Two policies that chain (b reads the label a adds) and one whose patch cannot apply. */
const policiesYaml = `
apiVersion: kyverno.io/v1
kind: ClusterPolicy
metadata:
  name: a-add-team-label
spec:
  rules:
  - name: add-team
    match:
      any:
      - resources:
          kinds: [Pod]
    mutate:
      patchStrategicMerge:
        metadata:
          labels:
            +(team): platform
---
apiVersion: kyverno.io/v1
kind: ClusterPolicy
metadata:
  name: b-annotate-platform
spec:
  rules:
  - name: annotate
    match:
      any:
      - resources:
          kinds: [Pod]
    preconditions:
      all:
      - key: "{{ request.object.metadata.labels.team || '' }}"
        operator: Equals
        value: platform
    mutate:
      patchStrategicMerge:
        metadata:
          annotations:
            oncall.example.com/team: platform-oncall
`;

function brokenPolicy(failurePolicy: "Fail" | "Ignore"): string {
  return `
apiVersion: kyverno.io/v1
kind: ClusterPolicy
metadata:
  name: c-broken-${failurePolicy.toLowerCase()}
spec:
  failurePolicy: ${failurePolicy}
  rules:
  - name: replace-missing
    match:
      any:
      - resources:
          kinds: [Pod]
          namespaces: [broken]
    mutate:
      patchesJson6902: |-
        - op: replace
          path: /spec/doesNotExist
          value: 1
`;
}

function load(text: string): CompiledPolicy[] {
  const loaded = loadPolicyText(text, "mutate.yaml");
  expect(loaded.errors).toEqual([]);
  return loaded.policies;
}

const pod = (labels?: Record<string, string>, namespace = "default"): Record<string, unknown> => ({
  apiVersion: "v1", kind: "Pod",
  metadata: { name: "web", namespace, ...(labels ? { labels } : {}) },
  spec: { containers: [{ name: "web", image: "nginx:1.27" }] },
});

function review(object: Record<string, unknown>, overrides: { dryRun?: boolean; uid?: string; apiVersion?: string } = {}): Record<string, unknown> {
  const meta = object["metadata"] as { name: string; namespace: string };
  return {
    apiVersion: overrides.apiVersion ?? "admission.k8s.io/v1",
    kind: "AdmissionReview",
    request: {
      uid: overrides.uid ?? "uid-1",
      kind: { group: "", version: "v1", kind: "Pod" },
      resource: { group: "", version: "v1", resource: "pods" },
      name: meta.name, namespace: meta.namespace, operation: "CREATE",
      userInfo: { username: "alice" },
      object,
      dryRun: overrides.dryRun ?? false,
    },
  };
}

function harness(policies: readonly CompiledPolicy[], settings: Partial<AdmissionSettings> = {}, overrides: Partial<MutatingAdmissionDeps> = {}): { deps: MutatingAdmissionDeps; recorded: DecisionDraft[] } {
  const recorded: DecisionDraft[] = [];
  return {
    recorded,
    deps: {
      settings: { failurePolicy: "fail", timeoutMs: 2000, ...settings },
      clock: { now: () => new Date("2026-11-26T12:00:00Z") },
      policies: () => policies,
      record: async (draft) => {
        recorded.push(draft);
        return { ...draft, seq: recorded.length, prevHash: "", hash: "h" } as Decision;
      },
      ...overrides,
    },
  };
}

function decodePatch(body: { response: { patch?: string } }): unknown[] {
  return JSON.parse(Buffer.from(body.response.patch ?? "", "base64").toString("utf8")) as unknown[];
}

let app: FastifyInstance | undefined;
afterEach(async () => {
  await app?.close();
  app = undefined;
});

async function post(deps: MutatingAdmissionDeps, payload: unknown): Promise<{ statusCode: number; json: () => any }> {
  app = Fastify();
  app.setErrorHandler((error, _request, reply) => sendError(reply, error));
  registerMutatingAdmissionRoute(app, deps);
  const response = await app.inject({ method: "POST", url: ADMISSION_MUTATE_PATH, payload: payload as object });
  return { statusCode: response.statusCode, json: () => response.json() };
}

describe("POST /v1/admission/mutate", () => {
  it("answers a base64 JSON Patch that the API server can apply, chaining policies in name order", async () => {
    const { deps, recorded } = harness(load(policiesYaml).reverse());
    const object = pod();
    const response = await post(deps, review(object, { uid: "u-7" }));
    expect(response.statusCode).toBe(200);
    const body = response.json();
    expect(body).toMatchObject({ apiVersion: "admission.k8s.io/v1", kind: "AdmissionReview", response: { uid: "u-7", allowed: true, patchType: "JSONPatch" } });
    const patched = applyJsonPatch(object, decodePatch(body)) as { metadata: { labels: Record<string, string>; annotations: Record<string, string> } };
    // b saw a's label: the chain runs a before b although the list came reversed.
    expect(patched.metadata.labels).toEqual({ team: "platform" });
    expect(patched.metadata.annotations).toEqual({ "oncall.example.com/team": "platform-oncall" });
    expect(recorded).toHaveLength(1);
    const draft = recorded[0] as DecisionDraft;
    expect(draft).toMatchObject({ verdict: "allow", tier: "remediate", enforced: true, eventType: "io.k8s.admission.review", subject: "default/web", labels: { "admission.webhook": "mutate" } });
    expect(draft.explanation.summary).toBe("Mutated Pod/default/web: a-add-team-label, b-annotate-platform changed it (2 JSON Patch operations).");
    const actions = draft.explanation.steps.filter((s) => s.kind === "action").map((s) => s.text);
    expect(actions).toEqual([
      'a-add-team-label changed: add /metadata/labels = {"team":"platform"}',
      'b-annotate-platform changed: add /metadata/annotations = {"oncall.example.com/team":"platform-oncall"}',
    ]);
    expect(Object.keys(draft.policyRevisions).sort()).toEqual(["a-add-team-label", "b-annotate-platform"]);
    expect(body.response.auditAnnotations["decision-id"]).toBe(draft.id);
  });

  it("applies a Kubernetes MutatingAdmissionPolicy through its binding in the same chain, and denies on its failure under failurePolicy Fail", async () => {
    const map = (mutation: string) => `
apiVersion: admissionregistration.k8s.io/v1beta1
kind: MutatingAdmissionPolicy
metadata:
  name: c-owner-annotation
spec:
  failurePolicy: Fail
  matchConstraints:
    resourceRules:
    - apiGroups: [""]
      apiVersions: ["v1"]
      operations: ["CREATE"]
      resources: ["pods"]
  mutations:
  - patchType: ApplyConfiguration
    applyConfiguration:
      expression: ${mutation}
---
apiVersion: admissionregistration.k8s.io/v1beta1
kind: MutatingAdmissionPolicyBinding
metadata:
  name: c-owner-annotation-all
spec:
  policyName: c-owner-annotation
`;
    const { deps, recorded } = harness([...load(policiesYaml), ...load(map("'Object{metadata: Object.metadata{annotations: {\"example.com/created-by\": request.userInfo.username}}}'"))]);
    const object = pod();
    const body = (await post(deps, review(object))).json();
    const patched = applyJsonPatch(object, decodePatch(body)) as { metadata: { labels: Record<string, string>; annotations: Record<string, string> } };
    expect(patched.metadata.labels).toEqual({ team: "platform" });
    expect(patched.metadata.annotations).toEqual({ "oncall.example.com/team": "platform-oncall", "example.com/created-by": "alice" });
    expect(Object.keys(recorded[0]?.policyRevisions ?? {}).sort()).toEqual(["a-add-team-label", "b-annotate-platform", "c-owner-annotation"]);
    const failing = harness(load(map("'Object{metadata: Object.metadata{annotations: {\"example.com/x\": object.spec.nosuchfield}}}'")));
    const denied = (await post(failing.deps, review(pod()))).json();
    expect(denied.response.allowed).toBe(false);
    expect(denied.response.status.message).toContain("c-owner-annotation");
  });

  it("sends no patch when nothing changes, and says so in the record", async () => {
    const { deps, recorded } = harness(load(policiesYaml));
    const body = (await post(deps, review(pod({ team: "payments" })))).json();
    expect(body.response).toMatchObject({ allowed: true });
    expect(body.response.patch).toBeUndefined();
    expect(body.response.patchType).toBeUndefined();
    expect(recorded[0]).toMatchObject({ verdict: "allow", tier: "observe" });
    expect(recorded[0]?.explanation.summary).toBe("Allowed Pod/default/web unchanged: no mutation applied.");
  });

  it("mutates a dry run as usual but records it as not enforced", async () => {
    const { deps, recorded } = harness(load(policiesYaml));
    const body = (await post(deps, review(pod(), { dryRun: true, apiVersion: "admission.k8s.io/v1beta1" }))).json();
    expect(body.apiVersion).toBe("admission.k8s.io/v1beta1");
    expect(decodePatch(body).length).toBe(2);
    expect(recorded[0]).toMatchObject({ enforced: false, labels: { "admission.dryRun": "true" } });
  });

  it("evaluates a policy in shadow mode without applying its change", async () => {
    const [a, b] = load(policiesYaml) as [CompiledPolicy, CompiledPolicy];
    // As the catalog presents a policy in shadow mode: same compiled policy, meta with the mode.
    const shadowA = Object.create(a, { meta: { value: { ...a.meta, enforcement: { mode: "shadow" } }, enumerable: true } }) as CompiledPolicy;
    const { deps, recorded } = harness([shadowA, b]);
    const body = (await post(deps, review(pod()))).json();
    expect(body.response.patch).toBeUndefined();
    const notes = recorded[0]?.explanation.steps.map((s) => s.text) ?? [];
    expect(notes).toContain('a-add-team-label (shadow mode) would have changed: add /metadata/labels = {"team":"platform"}');
    // b did not see the shadow label, so its precondition was false.
    expect(notes.some((t) => t.startsWith("b-annotate-platform/annotate skipped"))).toBe(true);
  });

  it("re-runs the chain without the mutations an exception covers, so later policies see the object without them", async () => {
    const asked: string[][] = [];
    const exceptions: MutatingAdmissionDeps["exceptions"] = async (_event, findings) => {
      asked.push(findings.map((f) => `${f.policy}/${f.rule}`));
      return { applied: findings.filter((f) => f.policy === "a-add-team-label").map((f) => ({ id: "EX-1", policy: f.policy, rule: f.rule, text: "allowed by exception EX-1: team labels come from the namespace" })), problems: [] };
    };
    const { deps, recorded } = harness(load(policiesYaml), {}, { exceptions });
    const body = (await post(deps, review(pod()))).json();
    // Without a's label, b's precondition is false: nothing changes.
    expect(body.response.patch).toBeUndefined();
    expect(body.response.warnings).toEqual(["vigil: a-add-team-label/add-team not applied: allowed by exception EX-1: team labels come from the namespace"]);
    expect(asked).toEqual([["a-add-team-label/add-team", "b-annotate-platform/annotate"]]);
    const steps = recorded[0]?.explanation.steps ?? [];
    expect(steps.filter((st) => st.kind === "exception").map((st) => st.ref)).toEqual(["EX-1"]);
    expect(recorded[0]?.findings.map((f) => [f.policy, f.effect])).toEqual([["a-add-team-label", "skip"], ["b-annotate-platform", "skip"]]);
  });

  it("an exception whose condition could not be judged (a when giving no boolean) does not apply, and the decision says why, as on every other path", async () => {
    const exceptions: MutatingAdmissionDeps["exceptions"] = async () => ({
      applied: [],
      problems: [{ id: "EX-2", reason: 'its when condition gave "site" (a string), not true or false; write a comparison' }],
    });
    const { deps, recorded } = harness(load(policiesYaml), {}, { exceptions });
    const body = (await post(deps, review(pod()))).json();
    expect(body.response.patch).toBeDefined();
    const notes = (recorded[0]?.explanation.steps ?? []).filter((st) => st.kind === "note");
    expect(notes).toContainEqual(expect.objectContaining({ ref: "EX-2", text: 'exception EX-2 not applied: its when condition gave "site" (a string), not true or false; write a comparison' }));
  });

  it("denies when a mutation fails and its policy's failurePolicy is Fail, naming the policy and rule", async () => {
    const { deps, recorded } = harness([...load(policiesYaml), ...load(brokenPolicy("Fail"))], { failurePolicy: "ignore" });
    const body = (await post(deps, review(pod(undefined, "broken")))).json();
    expect(body.response.allowed).toBe(false);
    expect(body.response.patch).toBeUndefined();
    expect(body.response.status.code).toBe(403);
    expect(body.response.status.message).toContain("resource Pod/broken/web was blocked due to the following policies");
    expect(body.response.status.message).toMatch(/c-broken-fail:\n {2}replace-missing: .*mutation error \(failurePolicy Fail\)/);
    expect(recorded[0]).toMatchObject({ verdict: "deny", tier: "block" });
  });

  it("allows without the failing policy's change when its failurePolicy is Ignore, with a warning", async () => {
    const { deps } = harness([...load(policiesYaml), ...load(brokenPolicy("Ignore"))]);
    const object = pod(undefined, "broken");
    const body = (await post(deps, review(object))).json();
    expect(body.response.allowed).toBe(true);
    expect(body.response.warnings).toHaveLength(1);
    expect(body.response.warnings[0]).toMatch(/^policy c-broken-ignore\.replace-missing: mutation error ignored \(failurePolicy Ignore\)/);
    const patched = applyJsonPatch(object, decodePatch(body)) as { metadata: { labels: Record<string, string> } };
    expect(patched.metadata.labels).toEqual({ team: "platform" });
  });

  it("follows admission.failurePolicy when the record fails: fail denies, ignore allows the object unchanged", async () => {
    const failing = { record: async (): Promise<Decision> => { throw new Error("disk full"); } };
    const closed = (await post(harness(load(policiesYaml), { failurePolicy: "fail" }, failing).deps, review(pod()))).json();
    expect(closed.response).toMatchObject({ allowed: false, status: { code: 500 } });
    expect(closed.response.status.message).toContain("could not record the decision (disk full)");
    const open = (await post(harness(load(policiesYaml), { failurePolicy: "ignore" }, failing).deps, review(pod()))).json();
    expect(open.response.allowed).toBe(true);
    expect(open.response.patch).toBeUndefined();
    expect(open.response.warnings[0]).toContain("allowed because admission.failurePolicy is ignore");
  });

  it("answers by admission.failurePolicy at the deadline when a lookup the mutations wait for does not answer", async () => {
    // An exception lookup (the store) that never answers: the API server must still hear back in time.
    const stuck = { exceptions: (): Promise<never> => new Promise<never>(() => undefined) };
    const closed = harness(load(policiesYaml), { failurePolicy: "fail", timeoutMs: 50 }, stuck);
    const denied = await answerMutatingReview(review(pod()), closed.deps);
    expect(denied.body.response).toMatchObject({ uid: "uid-1", allowed: false, status: { code: 504, reason: "Timeout" } });
    expect(denied.body.response.patch).toBeUndefined();
    expect(closed.recorded[0]?.labels?.["admission.failure"]).toBe("timeout");
    const open = harness(load(policiesYaml), { failurePolicy: "ignore", timeoutMs: 50 }, stuck);
    const allowed = await answerMutatingReview(review(pod()), open.deps);
    expect(allowed.body.response.allowed).toBe(true);
    expect(allowed.body.response.patch).toBeUndefined();
    expect(allowed.body.response.warnings?.[0]).toContain("allowed because admission.failurePolicy is ignore");
  });

  it("follows admission.failurePolicy on an internal error", async () => {
    const broken = { policies: (): readonly CompiledPolicy[] => { throw new Error("catalog unavailable"); } };
    const { deps, recorded } = harness([], { failurePolicy: "fail" }, broken);
    const answer = await answerMutatingReview(review(pod()), deps);
    expect(answer.body.response).toMatchObject({ allowed: false, status: { code: 500 } });
    expect(recorded[0]?.labels?.["admission.failure"]).toBe("error");
  });

  it("answers 400 naming the field for a malformed review, and records nothing", async () => {
    const { deps, recorded } = harness(load(policiesYaml));
    const bad = review(pod());
    delete (bad["request"] as Record<string, unknown>)["uid"];
    const response = await post(deps, bad);
    expect(response.statusCode).toBe(400);
    expect(response.json().error).toMatchObject({ code: "VIGIL_BAD_EVENT", field: "request.uid" });
    expect(recorded).toHaveLength(0);
  });

  it("leaves DELETE requests alone", async () => {
    const { deps, recorded } = harness(load(policiesYaml));
    const del = review(pod());
    const request = del["request"] as Record<string, unknown>;
    request["operation"] = "DELETE";
    request["oldObject"] = request["object"];
    delete request["object"];
    const body = (await post(deps, del)).json();
    expect(body.response).toMatchObject({ allowed: true });
    expect(body.response.patch).toBeUndefined();
    expect(recorded[0]?.tier).toBe("observe");
  });

  it("describes operations in words, shortening long values", () => {
    expect(describeOperation({ op: "remove", path: "/a" })).toBe("remove /a");
    expect(describeOperation({ op: "move", from: "/a", path: "/b" })).toBe("move /a to /b");
    expect(describeOperation({ op: "add", path: "/x", value: "y".repeat(200) })).toMatch(/^add \/x = "y+…$/);
  });

  it("a NamespacedMutatingPolicy mutates the requests of its own namespace only", async () => {
    const loaded = loadPolicies([join(import.meta.dirname, "../../test/fixtures/kyverno-namespaced/policies.yaml")]);
    expect(loaded.errors).toEqual([]);
    const { deps } = harness(loaded.policies);
    const inTeamA = (await post(deps, review(pod(undefined, "team-a"), { uid: "a" }))).json();
    expect(applyJsonPatch(pod(undefined, "team-a"), decodePatch(inTeamA))).toMatchObject({ metadata: { labels: { owner: "team-a" } } });
    const inTeamB = (await post(deps, review(pod(undefined, "team-b"), { uid: "b" }))).json();
    expect(inTeamB.response).toMatchObject({ uid: "b", allowed: true });
    expect(inTeamB.response.patch).toBeUndefined();
  });
});
