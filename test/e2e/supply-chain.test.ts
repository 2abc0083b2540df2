/**
 * The supply-chain pack end to end, on real data: a pull request (octokit's real pull_request
 * payload) whose head lockfile is osv-detector's real 2-package-lock.json — it depends on axios
 * 0.21.1, affected by the shipped advisory x_retire-axios-0 (CVE-2021-3749) — while the base does
 * not have axios yet. Lockfiles come from a local server speaking GitHub's contents API.
 *
 * context stage (wrapped by the supply-chain runtime) → packs/supply-chain policies → decision →
 * planned GitHub actions (commit status `failure`, PR comment listing package, advisory,
 * severity, suggested version and the organisation's past fix), applied in dry-run against the
 * same local GitHub.
 *
 * Not covered here (the integrator wires them, see docs/packs/supply-chain.md): the agent's
 * runtime creating the wrapper from configuration, and the pipeline calling afterRecord.
 */
import { readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startWireServer, type WireServer } from "../../src/act/actuators/test-server.js";
import { createGitHubActuators } from "../../src/act/actuators/github.js";
import { planActions } from "../../src/act/plan.js";
import { createContextStage } from "../../src/context/index.js";
import { createSupplyChainRuntime, supplyChainPackDir, SUPPLY_CHAIN_FIXES, type DependencySummary } from "../../src/context/supply-chain/index.js";
import type { Actuator } from "../../src/core/action.js";
import type { Context } from "../../src/core/context.js";
import type { Decision } from "../../src/core/decision.js";
import type { Event } from "../../src/core/event.js";
import type { Storage } from "../../src/core/ports.js";
import { buildDecision } from "../../src/decide/decision.js";
import { createConditionCache } from "../../src/decide/conditions.js";
import { createCelEnvironment } from "../../src/policy/cel/index.js";
import { loadPolicies } from "../../src/policy/load.js";
import { createPolicySet, type PolicySet } from "../../src/policy/policy-set.js";
import { runNativeTests } from "../../src/policy/vigil/test-runner.js";
import { createSqliteStorage } from "../../src/store/sqlite/index.js";

const fixtures = new URL("../fixtures/", import.meta.url);
const read = (path: string): string => readFileSync(new URL(path, fixtures), "utf8");

const head = read("osv-detector-lockfiles/locks-e2e/2-package-lock.json");
/** The same project before the pull request added axios. */
function withoutAxios(text: string): string {
  const lock = JSON.parse(text) as { packages: Record<string, { dependencies?: Record<string, string> }> };
  delete lock.packages["node_modules/axios"];
  delete lock.packages[""]?.dependencies?.["axios"];
  return JSON.stringify(lock, null, 2);
}
const base = withoutAxios(head);
const payload = JSON.parse(read("octokit-webhooks-examples/pull_request/00-opened.json")) as { number: number; repository: { full_name: string }; pull_request: { head: { sha: string }; base: { sha: string } } };
const clock = { now: () => new Date("2025-06-02T12:00:00Z") };

describe("supply-chain pack end to end", () => {
  let github: WireServer;
  let storage: Storage;
  let policySet: PolicySet;
  const env = createCelEnvironment();

  beforeAll(async () => {
    github = await startWireServer();
    github.authenticate((request) => (request.header("authorization")?.match(/^(Bearer|token) ghs_e2e$/) ? undefined : "bad credentials"), () => ({ status: 401, body: { message: "Bad credentials" } }));
    github.on("GET", "/repos/:owner/:repo/contents/:path", (request) => {
      const sha = request.query.get("ref");
      if (request.params["path"] !== "package-lock.json" || request.header("accept") !== "application/vnd.github.raw+json") return { status: 404, body: { message: "Not Found" } };
      if (sha === payload.pull_request.head.sha) return { status: 200, body: head };
      if (sha === payload.pull_request.base.sha) return { status: 200, body: base };
      return { status: 404, body: { message: "No commit found for the ref" } };
    });
    github.on("GET", "/repos/:owner/:repo/commits/:sha/status", () => ({ status: 200, body: { state: "success", statuses: [], sha: payload.pull_request.head.sha, total_count: 0 } }));
    storage = createSqliteStorage({ path: ":memory:" });
    await storage.init();
    const load = loadPolicies([supplyChainPackDir], { env });
    expect(load.errors).toEqual([]);
    expect(load.policies.map((p) => p.meta.name).sort()).toEqual(["supply-chain-lockfile-unreadable", "supply-chain-vulnerable-dependency", "supply-chain-vulnerable-dependency-below-threshold", "supply-chain-vulnerable-dependency-below-threshold-ci", "supply-chain-vulnerable-dependency-ci"]);
    policySet = createPolicySet(load.policies);
  });

  afterAll(async () => {
    await storage.close();
    await github.close();
  });

  function decide(ctx: Context): ReturnType<typeof buildDecision> {
    const result = policySet.evaluate(ctx);
    return buildDecision(ctx, result.findings, result.policyRevisions, { id: `d-${ctx.event.id}`, now: clock.now().toISOString(), enforced: true, policy: (name) => policySet.get(name)?.meta });
  }

  it("blocks the pull request with a failing status and a comment citing the organisation's past fix", async () => {
    const supplyChain = createSupplyChainRuntime({ storage, clock, github: { token: "ghs_e2e", baseUrl: github.url } });
    expect(supplyChain.advisories.issues.filter((i) => i.level === "error")).toEqual([]);
    const context = supplyChain.wrap(createContextStage({ storage, clock }));
    const change = (id: string, data: Record<string, unknown>, time: string): Event => ({ specversion: "1.0", id, source: "ci/acme", type: "dev.vigil.dependency.change", subject: `acme/payments#41`, time, data: { repo: "acme/payments", path: "package-lock.json", ...data } });
    const small = (axios: string): string => JSON.stringify({ lockfileVersion: 3, packages: { "": { dependencies: { axios: "^0.21.1" } }, "node_modules/axios": { version: axios } } });

    // Earlier: acme/payments#41 added axios 0.21.1, was blocked, then fixed to 0.21.4 and merged.
    const earlierCtx = await context.build(change("pay-1", { pullRequest: 41, ref: "add-axios", base: null, head: small("0.21.1") }, "2025-05-01T09:00:00Z"));
    const earlier = decide(earlierCtx);
    expect(earlier.verdict).toBe("deny");
    await supplyChain.afterRecord(await storage.appendDecisions([earlier]) as Decision[]);
    await context.build(change("pay-2", { pullRequest: 41, merged: true, base: null, head: small("0.21.4") }, "2025-05-02T15:30:00Z"));
    expect((await storage.listDocs(SUPPLY_CHAIN_FIXES)).map((d) => d.value)).toEqual([expect.objectContaining({ advisory: "x_retire-axios-0", repo: "acme/payments", pullRequest: 41, from: "0.21.1", to: "0.21.4" })]);

    // Now: the pull request of Codertocat/Hello-World.
    const event: Event = { specversion: "1.0", id: "gh-delivery-1", source: "github", type: "com.github.pull_request", subject: "Codertocat/Hello-World#2", time: "2025-06-02T12:00:00Z", data: payload };
    const ctx = await context.build(event);
    const deps = ctx.dependencies as unknown as DependencySummary;
    expect(deps).toMatchObject({ repo: "Codertocat/Hello-World", pullRequest: 2, github: true, headSha: payload.pull_request.head.sha, added: 1, blocking: 1, lockfiles: [{ path: "package-lock.json", lockfileVersion: 2, packages: 1771 }] });
    expect(deps.vulnerable).toEqual([expect.objectContaining({ package: "axios", version: "0.21.1", advisory: "x_retire-axios-0", aliases: ["CVE-2021-3749"], severity: "high", suggestedVersion: "0.21.3", satisfiesRange: true, blocking: true, via: ["axios", "moxios>axios"] })]);

    const draft = decide(ctx);
    expect(draft.verdict).toBe("deny");
    expect(draft.tier).toBe("block");
    expect(draft.findings.map((f) => `${f.policy}/${f.rule}`)).toEqual(["supply-chain-vulnerable-dependency/high-vulnerability"]);
    expect(draft.findings[0]?.message).toBe("1 high-severity vulnerable dependency introduced: axios@0.21.1 x_retire-axios-0 — upgrade to 0.21.3 (within ^0.21.1 and >=0.13.0) (fixed before: acme/payments#41 moved axios 0.21.1 → 0.21.4 on 2025-05-02)");

    const runtime = { clock, sleep: async () => undefined };
    const actuators = new Map<string, Actuator>(createGitHubActuators({ token: "ghs_e2e", baseUrl: github.url }, runtime).map((a) => [a.kind, a]));
    const { planned } = planActions({ draft, ctx, policy: (name) => policySet.get(name), guardrails: {}, actuators, promoted: () => true, programs: createConditionCache(env) });
    expect(planned.map((p) => [p.plan.actuator, p.disposition])).toEqual([["github.commit-status", "apply"], ["github.pr-comment", "apply"]]);
    const status = planned[0]?.plan.params;
    expect(status).toEqual({ owner: "Codertocat", repo: "Hello-World", sha: payload.pull_request.head.sha, state: "failure", context: "vigil/supply-chain", description: "1 vulnerable dependency introduced (highest high): axios@0.21.1" });
    const comment = planned[1]?.plan.params as { number: unknown; body: string };
    expect(comment.number).toBe(2);
    expect(comment.body).toContain("merge blocked");
    expect(comment.body).toContain("| `axios` | 0.21.1 | [x_retire-axios-0](https://security.snyk.io/vuln/SNYK-JS-AXIOS-1579269) (CVE-2021-3749): Axios is vulnerable to Inefficient Regular Expression Complexity");
    expect(comment.body).toContain("| high | **0.21.3** (within `^0.21.1 and >=0.13.0`) | yes |");
    expect(comment.body).toContain("- x_retire-axios-0: acme/payments#41 moved axios 0.21.1 → 0.21.4 on 2025-05-02.");

    // Applied in dry-run against the local GitHub: nothing is posted, the would-be requests are described.
    for (const { plan } of planned) {
      const result = await actuators.get(plan.actuator)?.apply(plan, { dryRun: true });
      expect(result?.status, plan.actuator).toBe("dry-run");
    }
    expect(github.mutatingRequests()).toEqual([]);
    expect(github.problems).toEqual([]);
  });

  it("the same pull request against the fixed lockfile passes", async () => {
    const supplyChain = createSupplyChainRuntime({ storage, clock, fetcher: { fetch: async (_repo, _path, ref) => (ref === payload.pull_request.head.sha ? head.replace('"version": "0.21.1"', '"version": "0.21.4"') : base) } });
    const context = supplyChain.wrap(createContextStage({ storage, clock }));
    const ctx = await context.build({ specversion: "1.0", id: "gh-delivery-2", source: "github", type: "com.github.pull_request", subject: "Codertocat/Hello-World#2", data: { ...payload, action: "synchronize" } });
    expect((ctx.dependencies as unknown as DependencySummary).vulnerable).toEqual([]);
    expect(decide(ctx).verdict).toBe("allow");
  });

  it("the pack's own inline tests pass", () => {
    const results = runNativeTests([supplyChainPackDir], { env });
    expect(results.length).toBe(24);
    expect(results.filter((r) => r.status !== "pass")).toEqual([]);
  });
});
