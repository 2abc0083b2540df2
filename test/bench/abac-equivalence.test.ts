/**
 * The ABAC benchmark's equivalence check must be able to fail: Vigil and Cedar agree on a small
 * seeded set, and a deliberately altered policy (on either side) is caught and reported with the
 * request. No timing assertions (performance is measured by `npm run bench`).
 */
import { describe, expect, it } from "vitest";
import { actions } from "../../bench/abac/scenario.js";
import { generateScenario, type AbacPolicy, type AbacScenario } from "../../bench/abac/scenario.js";
import { generateRequests, toCedarCall, toCedarPluginInput, type AbacRequest } from "../../bench/abac/requests.js";
import { toCedarPolicy, toCedarText, toVigilPolicy, toVigilYaml } from "../../bench/abac/render.js";
import { createCedarDecider, createCedarPluginDecider, createVigilDecider, decideContext } from "../../bench/abac/engines.js";
import { compileCedarPolicySet } from "../../src/policy/cedar/index.js";
import { checkEquivalence, describeMismatch, type Contender } from "../../bench/abac/equivalence.js";
import { runAbac } from "../../bench/abac/benchmark.js";

const REQUESTS = 400;

function contenders(requests: readonly AbacRequest[], vigilYaml: string, cedarText: string): Contender[] {
  const cedarCalls = requests.map(toCedarCall);
  return [
    { name: "vigil", decide: createVigilDecider(vigilYaml).decide, input: (i) => requests[i] },
    { name: "cedar", decide: createCedarDecider(cedarText).decide, input: (i) => cedarCalls[i] },
  ];
}

/** The forbid that determined the most denies, found with Vigil's Cedar plugin (its findings name Cedar policy ids). */
function busiestForbid(scenario: AbacScenario, requests: readonly AbacRequest[]): AbacPolicy {
  const compiled = compileCedarPolicySet({ name: "abac", policies: [{ file: "abac.cedar", text: toCedarText(scenario) }] }).policy;
  if (!compiled) throw new Error("the Cedar rendering does not load");
  const counts = new Map<string, number>();
  for (const request of requests) {
    for (const finding of compiled.evaluate(decideContext(toCedarPluginInput(request)))) {
      if (finding.effect === "violation") counts.set(finding.rule, (counts.get(finding.rule) ?? 0) + 1);
    }
  }
  const ranked = scenario.policies.filter((p) => p.effect === "forbid" && (counts.get(p.id) ?? 0) > 0).sort((a, b) => (counts.get(b.id) ?? 0) - (counts.get(a.id) ?? 0));
  if (!ranked[0]) throw new Error("no forbid denies any request: the test scenario is too small");
  return ranked[0];
}

describe("ABAC scenario", () => {
  it("has exactly the requested number of policies and is deterministic for a seed", () => {
    for (const size of [4, 20, 200]) expect(generateScenario(size, 1).policies).toHaveLength(size);
    expect(toCedarText(generateScenario(20, 5))).toBe(toCedarText(generateScenario(20, 5)));
    expect(toCedarText(generateScenario(20, 5))).not.toBe(toCedarText(generateScenario(20, 6)));
  });

  it("grants every (project, action) through exactly one permit, which the Vigil rendering relies on", () => {
    const scenario = generateScenario(200, 3);
    for (const project of scenario.projects) {
      for (const action of actions) {
        const permits = scenario.policies.filter((p) => p.effect === "permit" && p.project === project.id && (p.actions ?? actions).includes(action));
        expect(permits, `${project.id} ${action}`).toHaveLength(1);
      }
    }
    expect(scenario.policies.every((p) => p.effect === "forbid" || p.project !== undefined)).toBe(true);
  });
});

describe("ABAC equivalence check", () => {
  const scenario = generateScenario(40, 11);
  const requests = generateRequests(scenario, REQUESTS, 11);

  it("finds Vigil and Cedar in agreement on seeded requests, with both verdicts present", () => {
    const report = checkEquivalence(requests, contenders(requests, toVigilYaml(scenario), toCedarText(scenario)));
    expect(report.mismatched).toBe(0);
    expect(report.checked).toBe(REQUESTS);
    expect(report.allowed).toBeGreaterThan(REQUESTS * 0.1);
    expect(report.allowed).toBeLessThan(REQUESTS * 0.9);
  });

  it("catches a forbid dropped from the Vigil rendering and prints the request", () => {
    const dropped = busiestForbid(scenario, requests);
    const vigilYaml = scenario.policies.filter((p) => p !== dropped).map(toVigilPolicy).join("---\n");
    const report = checkEquivalence(requests, contenders(requests, vigilYaml, toCedarText(scenario)));
    expect(report.mismatched).toBeGreaterThan(0);
    const first = report.mismatches[0];
    expect(first?.decisions).toEqual({ vigil: "allow", cedar: "deny" });
    const text = describeMismatch(first as NonNullable<typeof first>);
    expect(text).toContain(`request #${first?.index}: vigil=allow, cedar=deny`);
    expect(text).toContain(JSON.stringify(requests[first?.index ?? 0]));
  });

  it("catches a permit whose Cedar condition was altered", () => {
    const permit = scenario.policies.find((p) => p.effect === "permit" && p.project === requests[0]?.resource.project);
    if (!permit) throw new Error("no permit for the first request's project");
    const altered = scenario.policies.map((p) => (p === permit ? { ...p, condition: { op: "not" as const, part: p.condition } } : p));
    const report = checkEquivalence(requests, contenders(requests, toVigilYaml(scenario), altered.map(toCedarPolicy).join("\n")));
    expect(report.mismatched).toBeGreaterThan(0);
  });

  it("finds Vigil's Cedar plugin in agreement with cedar-wasm on the same Cedar text", () => {
    const cedarText = toCedarText(scenario);
    const cedarCalls = requests.map(toCedarCall);
    const report = checkEquivalence(requests.slice(0, 150), [
      { name: "cedar", decide: createCedarDecider(cedarText).decide, input: (i) => cedarCalls[i] },
      { name: "plugin", decide: createCedarPluginDecider(cedarText), input: (i) => toCedarPluginInput(requests[i] as AbacRequest) },
    ]);
    expect(report.mismatched).toBe(0);
  });

  it("runs the benchmark end to end at a tiny size and reports a ratio (no timing assertions)", () => {
    const result = runAbac({ sizes: [20], requests: 200, seed: 3, pluginRequests: 20, throughputMs: 20, latencySeconds: 0.01 }, () => {});
    expect(result.ok).toBe(true);
    expect(result.measurements.map((m) => m.subject)).toEqual(["vigil", "vigil+draft", "cedar"]);
    expect(result.comparisons).toHaveLength(2);
    expect(result.comparisons[0]?.ratio).toBeGreaterThan(0);
    expect(result.notes.join("\n")).toContain("identical decisions on 200/200 requests");
    expect(result.targets.map((t) => t.description)).toEqual(["Vigil at 20 policies"]);
  });
});
