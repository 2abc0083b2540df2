import { readFileSync } from "node:fs";
import { join } from "node:path";
import Fastify, { type FastifyInstance } from "fastify";
import { parseAllDocuments } from "yaml";
import { afterEach, describe, expect, it } from "vitest";
import { createEvaluator } from "../agent/evaluator.js";
import type { Decision, DecisionDraft } from "../core/decision.js";
import { createPolicySet, loadPolicies, loadPolicyText } from "../policy/index.js";
import { ADMISSION_PATH, answerAdmissionReview, registerAdmissionRoutes, type AdmissionDeps, type AdmissionSettings } from "./admission.js";
import { sendError } from "./errors.js";

const fixtures = join(import.meta.dirname, "../../test/fixtures");
const pss = loadPolicies([join(fixtures, "kyverno-pss/pod-security")]);

function pods(file: string): Record<string, unknown>[] {
  return parseAllDocuments(readFileSync(join(fixtures, "kyverno-pss/pods", file), "utf8")).map((d) => d.toJS() as Record<string, unknown>);
}
const goodPod = pods("pod-good.yaml")[0] as Record<string, unknown>;
const badPods = pods("pod-bad.yaml");
const byName = (name: string): Record<string, unknown> => badPods.find((p) => (p["metadata"] as { name: string }).name === name) as Record<string, unknown>;

/** An AdmissionReview for a Pod CREATE, as the API server sends it. */
function review(object: Record<string, unknown>, overrides: { apiVersion?: string; uid?: string; dryRun?: boolean } = {}): Record<string, unknown> {
  const name = (object["metadata"] as { name: string }).name;
  return {
    apiVersion: overrides.apiVersion ?? "admission.k8s.io/v1",
    kind: "AdmissionReview",
    request: {
      uid: overrides.uid ?? `uid-${name}`,
      kind: { group: "", version: "v1", kind: "Pod" },
      resource: { group: "", version: "v1", resource: "pods" },
      name, namespace: "default", operation: "CREATE",
      userInfo: { username: "alice", groups: ["system:authenticated"] },
      object: { ...object, metadata: { ...(object["metadata"] as object), namespace: "default" } },
      dryRun: overrides.dryRun ?? false,
    },
  };
}

interface Harness { deps: AdmissionDeps; recorded: DecisionDraft[] }

function harness(settings: Partial<AdmissionSettings> = {}, overrides: Partial<AdmissionDeps> = {}, extraPolicies = ""): Harness {
  const extra = extraPolicies ? loadPolicyText(extraPolicies, "extra.yaml") : { policies: [], errors: [] };
  expect(extra.errors).toEqual([]);
  const policySet = createPolicySet([...pss.policies, ...extra.policies]);
  const evaluator = createEvaluator(policySet);
  const recorded: DecisionDraft[] = [];
  const deps: AdmissionDeps = {
    settings: { failurePolicy: "fail", timeoutMs: 2000, ...settings },
    clock: { now: () => new Date("2024-05-01T12:00:00Z") },
    decide: async (event, o) => ({ ...evaluator.decideEvent(event, { enforced: o.enforced, labels: o.labels }), id: o.id }),
    record: async (draft) => {
      recorded.push(draft);
      return { ...draft, seq: recorded.length, prevHash: "", hash: "h" } as Decision;
    },
    policy: (name) => policySet.get(name),
    ...overrides,
  };
  return { deps, recorded };
}

let app: FastifyInstance | undefined;
afterEach(async () => {
  await app?.close();
  app = undefined;
});

async function post(deps: AdmissionDeps, payload: unknown): Promise<{ statusCode: number; json: () => any }> {
  app = Fastify();
  app.setErrorHandler((error, _request, reply) => sendError(reply, error));
  registerAdmissionRoutes(app, deps);
  const response = await app.inject({ method: "POST", url: ADMISSION_PATH, payload: payload as object });
  return { statusCode: response.statusCode, json: () => response.json() };
}

describe("POST /v1/admission/validate", () => {
  it("loads the 17 Pod Security Standards policies from the fixtures", () => {
    expect(pss.errors).toEqual([]);
    expect(pss.policies).toHaveLength(17);
  });

  it("allows a compliant pod: same apiVersion and kind back, uid echoed, no warnings, decision recorded as enforced", async () => {
    const { deps, recorded } = harness();
    const response = await post(deps, review(goodPod, { uid: "705ab4f5-6393-11e8-b7cc-42010a800002" }));
    expect(response.statusCode).toBe(200);
    const body = response.json();
    expect(body).toMatchObject({ apiVersion: "admission.k8s.io/v1", kind: "AdmissionReview", response: { uid: "705ab4f5-6393-11e8-b7cc-42010a800002", allowed: true } });
    expect(body.response.warnings).toBeUndefined();
    expect(body.response.status).toBeUndefined();
    expect(recorded).toHaveLength(1);
    expect(recorded[0]).toMatchObject({ verdict: "allow", enforced: true, eventType: "io.k8s.admission.review", subject: "default/goodpod01" });
    expect(body.response.auditAnnotations["decision-id"]).toBe(recorded[0]?.id);
  });

  it("allows an Audit failure with a warning naming the policy and rule", async () => {
    const { deps, recorded } = harness();
    const body = (await post(deps, review(byName("badpod10")))).json();
    expect(body.response.allowed).toBe(true);
    expect(body.response.warnings).toHaveLength(1);
    expect(body.response.warnings[0]).toMatch(/^policy disallow-privileged-containers\.privileged-containers: validation error: Privileged mode is disallowed/);
    expect(recorded[0]?.verdict).toBe("allow");
    expect(recorded[0]?.findings.map((f) => f.policy)).toEqual(["disallow-privileged-containers"]);
  });

  it("denies an Enforce failure with Kyverno's message naming the policy, the rule and why", async () => {
    const { deps, recorded } = harness();
    const body = (await post(deps, review(byName("badpod12")))).json();
    expect(body.response.allowed).toBe(false);
    expect(body.response.status.code).toBe(403);
    const message: string = body.response.status.message;
    expect(message).toContain("resource Pod/default/badpod12 was blocked due to the following policies");
    expect(message).toMatch(/\nrestrict-apparmor-profiles:\n {2}app-armor: .*AppArmor profile/);
    expect(recorded[0]).toMatchObject({ verdict: "deny", tier: "block", enforced: true });
    expect(recorded[0]?.explanation.summary).toContain("restrict-apparmor-profiles/app-armor");
  });

  it("evaluates a dry run as usual but records it as not enforced", async () => {
    const { deps, recorded } = harness();
    const body = (await post(deps, review(byName("badpod12"), { dryRun: true }))).json();
    expect(body.response.allowed).toBe(false);
    expect(recorded[0]).toMatchObject({ verdict: "deny", enforced: false, labels: { "admission.dryRun": "true" } });
    expect(recorded[0]?.explanation.steps.some((s) => s.text.includes("not enforced"))).toBe(true);
  });

  it("answers admission.k8s.io/v1beta1 in v1beta1", async () => {
    const { deps } = harness();
    const body = (await post(deps, review(byName("badpod12"), { apiVersion: "admission.k8s.io/v1beta1", uid: "b1" }))).json();
    expect(body).toMatchObject({ apiVersion: "admission.k8s.io/v1beta1", kind: "AdmissionReview", response: { uid: "b1", allowed: false } });
  });

  it("lets a pod a Kyverno PolicyException selects past an Enforce rule, and records which exception did", async () => {
    const policies = `
apiVersion: kyverno.io/v1
kind: ClusterPolicy
metadata:
  name: require-team-label
spec:
  rules:
  - name: team
    match:
      any:
      - resources:
          kinds: [Pod]
    validate:
      failureAction: Enforce
      message: Every pod needs a team label.
      pattern:
        metadata:
          labels:
            team: "?*"
---
apiVersion: kyverno.io/v2
kind: PolicyException
metadata:
  name: migration-tools
  namespace: platform
spec:
  exceptions:
  - policyName: require-team-label
    ruleNames: [team]
  match:
    any:
    - resources:
        kinds: [Pod]
        namespaces: [default]
        names: ["migrate-*"]
`;
    const named = (name: string) => ({ ...goodPod, metadata: { ...(goodPod["metadata"] as object), name } });
    const { deps, recorded } = harness({}, {}, policies);
    const excepted = (await post(deps, review(named("migrate-db")))).json();
    expect(excepted.response.allowed).toBe(true);
    expect(recorded[0]?.verdict).toBe("allow");
    expect(recorded[0]?.explanation.summary).toBe("Allowed: require-team-label/team rule skipped due to policy exception platform/migration-tools.");
    expect(recorded[0]?.findings).toContainEqual(expect.objectContaining({ policy: "require-team-label", effect: "skip", skipReason: "rule skipped due to policy exception platform/migration-tools" }));
    const denied = (await post(deps, review(named("web")))).json();
    expect(denied.response.allowed).toBe(false);
    expect(denied.response.status.message).toContain("Every pod needs a team label.");
  });

  it("answers 400 naming the field for a malformed review, and records nothing", async () => {
    const { deps, recorded } = harness();
    const noUid = review(goodPod);
    delete (noUid["request"] as Record<string, unknown>)["uid"];
    const missing = await post(deps, noUid);
    expect(missing.statusCode).toBe(400);
    expect(missing.json().error).toMatchObject({ code: "VIGIL_BAD_EVENT", field: "request.uid" });
    const badOperation = review(goodPod);
    (badOperation["request"] as Record<string, unknown>)["operation"] = "PATCH";
    const bad = await post(deps, badOperation);
    expect(bad.statusCode).toBe(400);
    expect(bad.json().error.field).toBe("request.operation");
    const notReview = await post(deps, { apiVersion: "admission.k8s.io/v2", kind: "AdmissionReview", request: (review(goodPod)["request"]) });
    expect(notReview.json().error.field).toBe("apiVersion");
    const notObject = await post(deps, [1, 2]);
    expect(notObject.statusCode).toBe(400);
    // As documented (docs/admission.md): a malformed review is VIGIL_BAD_EVENT naming what is at fault.
    expect(notObject.json().error).toMatchObject({ code: "VIGIL_BAD_EVENT", field: "body" });
    expect(notObject.json().error.message).toContain("AdmissionReview");
    expect(recorded).toHaveLength(0);
  });
});

describe("admission failures", () => {
  const explode = async (): Promise<DecisionDraft> => { throw new Error("context store unreachable"); };

  it("fails closed on an internal error (failurePolicy fail) and records that answer", async () => {
    const { deps, recorded } = harness({ failurePolicy: "fail" }, { decide: explode });
    const answer = await answerAdmissionReview(review(goodPod), deps);
    expect(answer.body.response.allowed).toBe(false);
    expect(answer.body.response.status).toMatchObject({ code: 500, reason: "InternalError" });
    expect(answer.body.response.status?.message).toContain("context store unreachable");
    expect(recorded[0]).toMatchObject({ verdict: "deny", labels: { "admission.failure": "error" } });
    expect(recorded[0]?.explanation.summary).toContain("admission.failurePolicy");
  });

  it("answers per failurePolicy, not 500, when handing the decision to the record throws at once", async () => {
    const throwsNow = (): Promise<unknown> => { throw new Error("record worker gone"); };
    for (const failurePolicy of ["fail", "ignore"] as const) {
      const { deps } = harness({ failurePolicy }, { record: throwsNow });
      const response = await post(deps, review(goodPod));
      expect(response.statusCode, failurePolicy).toBe(200);
      expect(response.json().response.allowed).toBe(failurePolicy === "ignore");
      expect(JSON.stringify(response.json().response)).toContain("record worker gone");
    }
  });

  it("fails open on an internal error (failurePolicy ignore) with a warning", async () => {
    const { deps, recorded } = harness({ failurePolicy: "ignore" }, { decide: explode });
    const answer = await answerAdmissionReview(review(byName("badpod12")), deps);
    expect(answer.body.response.allowed).toBe(true);
    expect(answer.body.response.warnings?.[0]).toMatch(/failed internally.*allowed because admission.failurePolicy is ignore/);
    expect(recorded[0]?.verdict).toBe("allow");
  });

  it("answers per failurePolicy when the decision misses the deadline", async () => {
    const never = (): Promise<DecisionDraft> => new Promise(() => undefined);
    const closed = harness({ failurePolicy: "fail", timeoutMs: 20 }, { decide: never });
    const denied = await answerAdmissionReview(review(goodPod), closed.deps);
    expect(denied.body.response).toMatchObject({ allowed: false, status: { code: 504, reason: "Timeout" } });
    expect(closed.recorded[0]).toMatchObject({ verdict: "deny", labels: { "admission.failure": "timeout" } });
    const open = harness({ failurePolicy: "ignore", timeoutMs: 20 }, { decide: never });
    const allowed = await answerAdmissionReview(review(byName("badpod12")), open.deps);
    expect(allowed.body.response.allowed).toBe(true);
    expect(allowed.body.response.warnings?.[0]).toContain("deadline");
  });

  it("keeps within the API server's own timeout (?timeout=1s): the deadline is shortened to leave room to record and answer", async () => {
    const slow = (draft: DecisionDraft) => new Promise<DecisionDraft>((resolve) => setTimeout(() => resolve(draft), 1500));
    const { deps, recorded } = harness({ failurePolicy: "fail", timeoutMs: 2000 });
    const decide = deps.decide;
    const paced: AdmissionDeps = { ...deps, decide: async (event, o) => slow(await decide(event, o)) };
    app = Fastify();
    app.setErrorHandler((error, _request, reply) => sendError(reply, error));
    registerAdmissionRoutes(app, paced);
    // The API server appends ?timeout=<timeoutSeconds> (a Go duration) to the webhook URL and stops waiting after it.
    const response = await app.inject({ method: "POST", url: `${ADMISSION_PATH}?timeout=1s`, payload: review(goodPod) });
    expect(response.statusCode).toBe(200);
    const answered = response.json().response;
    expect(answered.allowed).toBe(false);
    expect(answered.status).toMatchObject({ code: 504, reason: "Timeout" });
    expect(answered.status.message).toContain("600 ms");
    expect(answered.status.message).toContain("API server's timeout");
    expect(recorded[0]).toMatchObject({ verdict: "deny", labels: { "admission.failure": "timeout" } });
    // A timeout it cannot read, or one longer than admission.timeoutMs needs, changes nothing.
    const { deps: plain } = harness({ failurePolicy: "fail", timeoutMs: 2000 });
    for (const timeout of ["abc", "30s"]) {
      await app.close();
      app = Fastify();
      registerAdmissionRoutes(app, plain);
      const normal = await app.inject({ method: "POST", url: `${ADMISSION_PATH}?timeout=${timeout}`, payload: review(goodPod) });
      expect(normal.json().response.allowed, timeout).toBe(true);
    }
  });

  it("treats a decision that arrives after the deadline as late, keeping its findings in the record", async () => {
    const base = harness();
    const slow: AdmissionDeps["decide"] = async (event, o) => {
      const draft = await base.deps.decide(event, o);
      const until = performance.now() + 15;
      while (performance.now() < until) { /* synchronous evaluation past the deadline: no timer can fire */ }
      return draft;
    };
    const { deps, recorded } = harness({ failurePolicy: "fail", timeoutMs: 5 }, { decide: slow });
    const answer = await answerAdmissionReview(review(byName("badpod10")), deps);
    expect(answer.body.response.allowed).toBe(false);
    expect(answer.body.response.status?.code).toBe(504);
    expect(recorded[0]).toMatchObject({ verdict: "deny", labels: { "admission.failure": "timeout" } });
    expect(recorded[0]?.findings.map((f) => f.policy)).toEqual(["disallow-privileged-containers"]);
  });

  it("with awaitRecord false answers once decided, and a later record failure is reported, not answered", async () => {
    let finish: (() => void) | undefined;
    const slowRecord = (draft: DecisionDraft): Promise<Decision> => new Promise((resolve, reject) => {
      finish = () => (draft.verdict === "deny" ? reject(new Error("disk full")) : resolve({ ...draft, seq: 1, prevHash: "", hash: "h" }));
    });
    const problems: string[] = [];
    const { deps } = harness({ failurePolicy: "fail", awaitRecord: false }, { record: slowRecord, onProblem: (text) => problems.push(text) });
    const answer = await answerAdmissionReview(review(byName("badpod12")), deps);
    expect(answer.body.response).toMatchObject({ allowed: false, status: { code: 403 } });
    expect(problems).toEqual([]);
    finish?.();
    await new Promise((resolve) => setImmediate(resolve));
    expect(problems).toEqual([expect.stringContaining(`decision ${answer.decisionId} not recorded: disk full`)]);
  });

  it("does not allow what it could not record when failing closed; a deny stays a deny", async () => {
    const failing = async (): Promise<Decision> => { throw new Error("disk full"); };
    const closed = harness({ failurePolicy: "fail" }, { record: failing });
    const answer = await answerAdmissionReview(review(goodPod), closed.deps);
    expect(answer.body.response).toMatchObject({ allowed: false, status: { code: 500 } });
    expect(answer.body.response.status?.message).toContain("could not record");
    const open = harness({ failurePolicy: "ignore" }, { record: failing });
    const kept = await answerAdmissionReview(review(byName("badpod12")), open.deps);
    expect(kept.body.response.allowed).toBe(false);
    expect(kept.body.response.status?.code).toBe(403);
    const allowed = await answerAdmissionReview(review(goodPod), open.deps);
    expect(allowed.body.response.allowed).toBe(true);
    expect(allowed.body.response.warnings?.[0]).toContain("could not record");
  });

  it("runs a NamespacedValidatingPolicy on the requests of its own namespace only, naming it namespace/name", async () => {
    const namespaced = readFileSync(join(fixtures, "kyverno-namespaced/policies.yaml"), "utf8");
    const inNamespace = (namespace: string): Record<string, unknown> => {
      const r = review(goodPod, { uid: `uid-${namespace}` }) as { request: Record<string, unknown> };
      const object = r.request["object"] as { metadata: Record<string, unknown> };
      return { ...r, request: { ...r.request, namespace, object: { ...object, metadata: { ...object.metadata, namespace } } } };
    };
    const { deps, recorded } = harness({}, {}, namespaced);
    const denied = (await post(deps, inNamespace("team-a"))).json();
    expect(denied.response.allowed).toBe(false);
    expect(denied.response.status.message).toContain("team-a/require-team-label");
    expect(denied.response.status.message).toContain("team label required");
    expect(recorded[0]?.findings.map((f) => f.policy)).toEqual(["team-a/require-team-label"]);
    const allowed = (await post(deps, inNamespace("team-b"))).json();
    expect(allowed.response.allowed).toBe(true);
    expect(recorded[1]?.findings).toEqual([]);
  });
});
