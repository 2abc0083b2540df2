/**
 * The supply-chain simulation's ground truth agrees with the pack: every event labelled
 * `violation` is denied by packs/supply-chain (through the enrichment with the shipped advisory
 * set), and every benign one is allowed — including the cases a static "vulnerable version in the
 * lockfile" rule would flag.
 */
import { describe, expect, it } from "vitest";
import { createSupplyChainRuntime, supplyChainPackDir, type DependencySummary } from "../../src/context/supply-chain/index.js";
import type { Context } from "../../src/core/context.js";
import { buildDecision } from "../../src/decide/decision.js";
import { createCelEnvironment } from "../../src/policy/cel/index.js";
import { loadPolicies } from "../../src/policy/load.js";
import { createPolicySet } from "../../src/policy/policy-set.js";
import { truthOf } from "../../src/sources/simulate/scenario.js";
import { supplyChainScenario } from "../../src/sources/simulate/supply-chain.js";
import { createSqliteStorage } from "../../src/store/sqlite/index.js";

describe("supply-chain simulation against the pack", () => {
  it("deny exactly on the events labelled violation; a static rule would have flagged many benign ones", async () => {
    const storage = createSqliteStorage({ path: ":memory:" });
    await storage.init();
    const runtime = createSupplyChainRuntime({ storage });
    const load = loadPolicies([supplyChainPackDir], { env: createCelEnvironment() });
    const policySet = createPolicySet(load.policies);
    const confusion = { tp: 0, fp: 0, fn: 0, tn: 0 };
    let staticWouldFlag = 0;
    const mismatches: string[] = [];
    for (const event of supplyChainScenario.generate({ seed: 11, days: 21, start: new Date("2026-01-05T00:00:00Z") })) {
      const summary = await runtime.enrich(event);
      const ctx: Context = { event, input: event.data, entities: {}, signals: {}, posture: { level: "normal", scope: "org", since: "2026-01-01T00:00:00Z" }, dependencies: summary as unknown as Record<string, unknown>, now: event.time as string };
      const result = policySet.evaluate(ctx);
      const decision = buildDecision(ctx, result.findings, result.policyRevisions, { id: event.id, now: event.time as string, enforced: true, policy: (name) => policySet.get(name)?.meta });
      const truth = truthOf(event);
      const deny = decision.verdict === "deny";
      const violation = truth?.label === "violation";
      confusion[deny ? (violation ? "tp" : "fp") : violation ? "fn" : "tn"]++;
      if (deny !== violation) mismatches.push(`${event.id} ${truth?.note}: ${decision.verdict}`);
      const s = summary as DependencySummary;
      if (!violation && (s.vulnerable.length > 0 || s.preexisting > 0)) staticWouldFlag++;
    }
    await storage.close();
    expect(mismatches).toEqual([]);
    expect(confusion.tp).toBeGreaterThan(3);
    expect(confusion.tn).toBeGreaterThan(30);
    expect(staticWouldFlag).toBeGreaterThan(5);
  });
});
