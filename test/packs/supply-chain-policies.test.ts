/**
 * The supply-chain pack's policies on summaries built from real lockfiles
 * (test/fixtures/osv-detector-lockfiles, MIT, see SOURCE) against the shipped advisories, and the
 * actions their decisions plan: only actions that can run for the change at hand.
 */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { createGitHubActuators } from "../../src/act/actuators/github.js";
import { planActions } from "../../src/act/plan.js";
import { createDependencyEnricher, loadAdvisorySet, loadSupplyChainSettings, parseLockfile, resolveSupplyChainSettings, summarizeDependencyChange, supplyChainPackDir, supplyChainSettingsFile, type DependencySummary } from "../../src/context/supply-chain/index.js";
import type { Actuator } from "../../src/core/action.js";
import type { Context } from "../../src/core/context.js";
import type { Event } from "../../src/core/event.js";
import { createConditionCache } from "../../src/decide/conditions.js";
import { buildDecision } from "../../src/decide/decision.js";
import { createCelEnvironment } from "../../src/policy/cel/index.js";
import { loadPolicies } from "../../src/policy/load.js";
import { createPolicySet } from "../../src/policy/policy-set.js";

const env = createCelEnvironment();
const load = loadPolicies([supplyChainPackDir], { env });
const policySet = createPolicySet(load.policies);
const advisories = loadAdvisorySet({ sources: loadSupplyChainSettings(supplyChainSettingsFile).advisories });
const now = "2025-06-02T12:00:00Z";
const lockText = readFileSync(new URL("../fixtures/osv-detector-lockfiles/locks-e2e/2-package-lock.json", import.meta.url), "utf8");

/** The real lockfile as a new lockfile (every version introduced), judged at the given blocking severity. */
function summary(severityThreshold: string, meta: Record<string, unknown>): DependencySummary {
  const settings = resolveSupplyChainSettings({ severityThreshold, importedAdvisories: "/nonexistent-vigil-advisories" }, { base: loadSupplyChainSettings(supplyChainSettingsFile) });
  return summarizeDependencyChange([{ path: "package-lock.json", base: undefined, head: parseLockfile(lockText, "package-lock.json") }], { db: advisories.db, settings, meta, errors: [] });
}

function contextOf(deps: DependencySummary, event: Partial<Event> = {}, options: { readonly noSubject?: boolean } = {}): Context {
  const e: Event = { specversion: "1.0", id: "dep-1", source: "ci/acme", type: "dev.vigil.dependency.change", subject: "acme/web", time: now, data: { repo: "acme/web", path: "package-lock.json" }, ...event };
  if (options.noSubject === true) delete (e as { subject?: string }).subject;
  return { event: e, input: e.data as Record<string, unknown>, entities: {}, signals: {}, posture: { level: "normal", scope: "org", since: now }, dependencies: deps as unknown as Record<string, unknown>, now };
}

function decideAndPlan(ctx: Context): { rules: string[]; planned: { actuator: string; disposition: string; reason: string | undefined }[] } {
  const evaluated = policySet.evaluate(ctx);
  const draft = buildDecision(ctx, evaluated.findings, evaluated.policyRevisions, { id: "d-1", now, enforced: true, policy: (name) => policySet.get(name)?.meta });
  const actuators = new Map<string, Actuator>(createGitHubActuators({ token: "ghs_x", baseUrl: "http://127.0.0.1:9" }, { clock: { now: () => new Date(now) }, sleep: async () => undefined }).map((a) => [a.kind, a]));
  const { planned } = planActions({ draft, ctx, policy: (name) => policySet.get(name), guardrails: {}, actuators, promoted: () => true, programs: createConditionCache(env) });
  return {
    rules: draft.findings.filter((f) => f.effect === "violation").map((f) => `${f.policy}/${f.rule}`),
    planned: planned.map((p) => ({ actuator: p.plan.actuator, disposition: p.disposition, reason: p.plan.reason })),
  };
}

describe("supply-chain pack: below-threshold findings", () => {
  it("loads without errors", () => {
    expect(load.errors).toEqual([]);
  });

  it("a change outside a pull request (CI, a push) reports them without planning a PR comment it cannot post", () => {
    const deps = summary("critical", { repo: "acme/web" });
    expect(deps.github).toBe(false);
    expect(deps.blocking).toBe(0);
    expect(deps.vulnerable).toContainEqual(expect.objectContaining({ package: "axios", version: "0.21.1", severity: "high", blocking: false }));
    expect(deps.vulnerable.every((v) => !v.blocking)).toBe(true);
    const { rules, planned } = decideAndPlan(contextOf(deps));
    expect(rules).toHaveLength(1);
    expect(rules[0]).toMatch(/^supply-chain-vulnerable-dependency-below-threshold[-a-z]*\/vulnerability-below-threshold$/);
    expect(planned).toEqual([]);
  });

  it("a pull request with GitHub details gets the comment, with the pull request's number", () => {
    const sha = "0123456789abcdef0123456789abcdef01234567";
    const deps = summary("critical", { repo: "acme/web", pullRequest: 7, headSha: sha });
    expect(deps.github).toBe(true);
    const { rules, planned } = decideAndPlan(contextOf(deps, { type: "com.github.pull_request", subject: "acme/web#7", data: { action: "opened", number: 7 } }));
    expect(rules).toEqual(["supply-chain-vulnerable-dependency-below-threshold/vulnerability-below-threshold"]);
    expect(planned).toEqual([{ actuator: "github.pr-comment", disposition: "apply", reason: expect.any(String) }]);
  });
});

describe("supply-chain pack: GitHub actions without an event subject", () => {
  // CloudEvents' subject is optional: a dependency change posted with its repository, pull
  // request and head SHA in data (EVENTS.md) but no subject still names the pull request to act on.
  it("a blocked pull request's failing status and comment are planned, targeting owner/repo#n", () => {
    const sha = "0123456789abcdef0123456789abcdef01234567";
    const deps = summary("high", { repo: "acme/web", pullRequest: 7, headSha: sha });
    expect(deps.blocking).toBeGreaterThan(0);
    const ctx = contextOf(deps, {}, { noSubject: true });
    expect(ctx.event.subject).toBeUndefined();
    const { rules, planned } = decideAndPlan(ctx);
    expect(rules).toContain("supply-chain-vulnerable-dependency/high-vulnerability");
    expect(planned.map((p) => [p.actuator, p.disposition])).toEqual([["github.commit-status", "apply"], ["github.pr-comment", "apply"]]);
  });

  it("so is the comment listing below-threshold findings", () => {
    const deps = summary("critical", { repo: "acme/web", pullRequest: 7, headSha: "0123456789abcdef0123456789abcdef01234567" });
    const { planned } = decideAndPlan(contextOf(deps, {}, { noSubject: true }));
    expect(planned.map((p) => [p.actuator, p.disposition])).toEqual([["github.pr-comment", "apply"]]);
  });
});

describe("supply-chain pack: the statusContext setting", () => {
  const sha = "0123456789abcdef0123456789abcdef01234567";
  const statusOf = (deps: DependencySummary) => {
    const ctx = contextOf(deps, { type: "com.github.pull_request", subject: "acme/web#7", data: { action: "opened", number: 7 } });
    const evaluated = policySet.evaluate(ctx);
    const draft = buildDecision(ctx, evaluated.findings, evaluated.policyRevisions, { id: "d-1", now, enforced: true, policy: (name) => policySet.get(name)?.meta });
    const actuators = new Map<string, Actuator>(createGitHubActuators({ token: "ghs_x", baseUrl: "http://127.0.0.1:9" }, { clock: { now: () => new Date(now) }, sleep: async () => undefined }).map((a) => [a.kind, a]));
    const { planned } = planActions({ draft, ctx, policy: (name) => policySet.get(name), guardrails: {}, actuators, promoted: () => true, programs: createConditionCache(env) });
    return planned.find((p) => p.plan.actuator === "github.commit-status")?.plan.params;
  };

  it("names the commit status the blocked pull request gets (default vigil/supply-chain)", () => {
    const configured = resolveSupplyChainSettings({ severityThreshold: "high", statusContext: "acme/dependency-gate", importedAdvisories: "/nonexistent-vigil-advisories" }, { base: loadSupplyChainSettings(supplyChainSettingsFile) });
    const deps = summarizeDependencyChange([{ path: "package-lock.json", base: undefined, head: parseLockfile(lockText, "package-lock.json") }], { db: advisories.db, settings: configured, meta: { repo: "acme/web", pullRequest: 7, headSha: sha }, errors: [] });
    expect(deps.blocking).toBeGreaterThan(0);
    expect(deps.statusContext).toBe("acme/dependency-gate");
    expect(statusOf(deps)).toMatchObject({ context: "acme/dependency-gate", state: "failure", sha });
    expect(statusOf(summary("high", { repo: "acme/web", pullRequest: 7, headSha: sha }))).toMatchObject({ context: "vigil/supply-chain" });
  });

  it("a summary without statusContext (a context recorded before the setting was read) keeps the default", () => {
    const { statusContext: _omitted, ...older } = summary("high", { repo: "acme/web", pullRequest: 7, headSha: sha });
    expect(statusOf(older as DependencySummary)).toMatchObject({ context: "vigil/supply-chain" });
  });
});

describe("supply-chain pack: unreadable lockfiles", () => {
  async function unreadable(head: string | null, base: string | null = null): Promise<string[]> {
    const enricher = createDependencyEnricher({ advisories: advisories.db });
    const event: Event = { specversion: "1.0", id: "dep-2", source: "ci/acme", type: "dev.vigil.dependency.change", subject: "acme/web", time: now, data: { repo: "acme/web", path: "app/package-lock.json", base, head } };
    const deps = await enricher.enrich(event);
    if (deps === undefined) throw new Error("no summary");
    const evaluated = policySet.evaluate(contextOf(deps, event));
    return evaluated.findings.filter((f) => f.rule === "lockfile-unreadable").map((f) => f.message ?? "");
  }

  it("names the file, its side and the problem once, not the path twice", async () => {
    const v4 = JSON.stringify({ name: "app", lockfileVersion: 4, packages: {} });
    expect(await unreadable(v4)).toEqual(["app/package-lock.json (head): lockfileVersion 4 is not supported (supported: 1, 2, 3); regenerate the lockfile with npm 7 or later"]);
  });

  it("a base that is not JSON is reported with its side and line", async () => {
    const messages = await unreadable(lockText, '{"name": "app",\n  "lockfileVersion": 3,\n  oops }');
    expect(messages).toHaveLength(1);
    expect(messages[0]).toMatch(/^app\/package-lock\.json \(base\):3: not valid JSON/);
  });

  it("a problem whose text does not name the file keeps the file and field in front", async () => {
    expect(await unreadable(null)).toEqual(["app/package-lock.json data.head: data.head is required: the lockfile after the change (text or object)"]);
  });
});

describe("supply-chain pack: version boundaries, scoped packages and lockfile versions", () => {
  // osv-detector's scoped-packages fixtures (npm lockfile v1 and v2; v3 is v2 without the legacy
  // "dependencies" section), with their two packages renamed and re-versioned to ones the shipped
  // advisories name: @cypress/request (GHSA-p8p7-x288-28g6: last_affected 2.88.11) and semver
  // (GHSA-c2qf-rxjj-qqgw: 7.0.0 ≤ v < 7.5.2).
  const fixture = (v: 1 | 2): string => readFileSync(new URL(`../fixtures/osv-detector-lockfiles/npm/scoped-packages.v${v}.json`, import.meta.url), "utf8");
  function lockfile(version: 1 | 2 | 3, scoped: string, semver: string): string {
    const text = fixture(version === 1 ? 1 : 2)
      .replaceAll("@babel/code-frame/-/code-frame-7.0.0.tgz", `@cypress/request/-/request-${scoped}.tgz`).replaceAll("@babel/code-frame", "@cypress/request")
      .replaceAll("wrappy/-/wrappy-1.0.2.tgz", `semver/-/semver-${semver}.tgz`).replaceAll("wrappy", "semver");
    const lock = JSON.parse(text) as Record<string, unknown> & { packages?: Record<string, { version: string }>; dependencies?: Record<string, { version: string }> };
    if (version === 1) {
      (lock.dependencies as Record<string, { version: string }>)["@cypress/request"]!.version = scoped;
      (lock.dependencies as Record<string, { version: string }>)["semver"]!.version = semver;
    } else {
      lock.packages!["node_modules/@cypress/request"]!.version = scoped;
      lock.packages!["node_modules/semver"]!.version = semver;
      if (version === 3) {
        lock["lockfileVersion"] = 3;
        delete lock.dependencies;
      }
    }
    return JSON.stringify(lock, null, 2);
  }
  function judged(text: string): { found: string[]; messages: string[] } {
    const settings = resolveSupplyChainSettings({ severityThreshold: "medium", importedAdvisories: "/nonexistent-vigil-advisories" }, { base: loadSupplyChainSettings(supplyChainSettingsFile) });
    const deps = summarizeDependencyChange([{ path: "package-lock.json", base: undefined, head: parseLockfile(text, "package-lock.json") }], { db: advisories.db, settings, meta: { repo: "acme/web" }, errors: [] });
    const evaluated = policySet.evaluate(contextOf(deps));
    return {
      found: deps.vulnerable.map((v) => `${v.package}@${v.version} ${v.advisory} fixed=${v.fixedVersion ?? "none"}`).sort(),
      messages: evaluated.findings.filter((f) => f.effect === "violation").map((f) => `${f.policy}/${f.rule}: ${f.message ?? ""}`),
    };
  }

  for (const version of [1, 2, 3] as const) {
    it(`lockfile v${version}: the affected scoped version and the version below the fix are found, with the fix to move to`, () => {
      const { found, messages } = judged(lockfile(version, "2.88.11", "7.5.1"));
      expect(found).toEqual(["@cypress/request@2.88.11 GHSA-p8p7-x288-28g6 fixed=none", "semver@7.5.1 GHSA-c2qf-rxjj-qqgw fixed=7.5.2"]);
      expect(messages).toHaveLength(1);
      expect(messages[0]).toContain("supply-chain-vulnerable-dependency-ci/medium-vulnerability: 2 medium-severity vulnerable dependencies introduced: ");
      expect(messages[0]).toContain("@cypress/request@2.88.11 GHSA-p8p7-x288-28g6 — no fixed version published; remove or replace the package");
      expect(messages[0]).toMatch(/semver@7\.5\.1 GHSA-c2qf-rxjj-qqgw — upgrade to 7\.5\.2/);
    });

    it(`lockfile v${version}: the fixed version itself, the next scoped version and a prerelease before the range pass`, () => {
      expect(judged(lockfile(version, "2.88.12", "7.5.2"))).toEqual({ found: [], messages: [] });
      expect(judged(lockfile(version, "2.88.12", "7.0.0-beta.1"))).toEqual({ found: [], messages: [] });
    });

    it(`lockfile v${version}: a prerelease of the fixed version is still affected, and the release is the fix`, () => {
      expect(judged(lockfile(version, "2.88.12", "7.5.2-rc.1")).found).toEqual(["semver@7.5.2-rc.1 GHSA-c2qf-rxjj-qqgw fixed=7.5.2"]);
    });
  }
});

describe("supply-chain pack: a change pushed to a merge branch", () => {
  // osv-detector's real 2-package-lock.json as a new lockfile: axios 0.21.1 (x_retire-axios-0, high) is introduced.
  async function judge(data: Record<string, unknown>): Promise<{ merged: boolean; rules: string[] }> {
    const enricher = createDependencyEnricher({ advisories: advisories.db });
    const event: Event = { specversion: "1.0", id: "dep-3", source: "ci/acme", type: "dev.vigil.dependency.change", subject: "acme/web", time: now, data: { repo: "acme/web", path: "package-lock.json", base: null, head: lockText, ...data } };
    const deps = await enricher.enrich(event);
    if (deps === undefined) throw new Error("no summary");
    const evaluated = policySet.evaluate(contextOf(deps, event));
    return { merged: deps.merged, rules: evaluated.findings.filter((f) => f.effect === "violation").map((f) => `${f.policy}/${f.rule}`) };
  }

  it("a direct push to main that introduces a vulnerable version is judged like any CI change (it counts as merged for past fixes)", async () => {
    expect(await judge({ ref: "refs/heads/feature-x" })).toEqual({ merged: false, rules: ["supply-chain-vulnerable-dependency-ci/high-vulnerability"] });
    expect(await judge({ ref: "refs/heads/main" })).toEqual({ merged: true, rules: ["supply-chain-vulnerable-dependency-ci/high-vulnerability"] });
  });

  it("a merged pull request (merged: true with its number) is not gated again", async () => {
    expect(await judge({ ref: "refs/heads/main", pullRequest: 41, merged: true })).toEqual({ merged: true, rules: [] });
  });
});
