import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { DecisionDraft } from "../../core/decision.js";
import type { Event } from "../../core/event.js";
import type { Finding } from "../../core/finding.js";
import type { Storage } from "../../core/ports.js";
import { createSqliteStorage } from "../../store/sqlite/index.js";
import { createAdvisoryDatabase } from "./advisory-db.js";
import { createDependencyEnricher } from "./enrich.js";
import { createSupplyChainMemory, SUPPLY_CHAIN_BLOCKS, SUPPLY_CHAIN_FIXES, type BlockRecord } from "./past-fixes.js";
import type { DependencySummary } from "./summary.js";

const POLICY = "supply-chain-vulnerable-dependency";
const db = createAdvisoryDatabase([
  { record: { id: "GHSA-p6mc-m468-83gw", modified: "2024-01-01T00:00:00Z", aliases: ["CVE-2020-8203"], summary: "Prototype pollution in lodash", database_specific: { severity: "HIGH" }, affected: [{ package: { ecosystem: "npm", name: "lodash" }, ranges: [{ type: "SEMVER", events: [{ introduced: "0" }, { fixed: "4.17.19" }] }] }] } },
]);

const lock = (lodash: string | undefined): string => JSON.stringify({
  lockfileVersion: 3,
  packages: { "": { dependencies: { ...(lodash ? { lodash: "^4.17.0" } : {}), ms: "^2.1.0" } }, ...(lodash ? { "node_modules/lodash": { version: lodash } } : {}), "node_modules/ms": { version: "2.1.3" } },
});
const change = (repo: string, data: Record<string, unknown>, time: string): Event => ({ specversion: "1.0", id: `${repo}-${time}`, source: "ci", type: "dev.vigil.dependency.change", time, data: { repo, path: "package-lock.json", ...data } });

function denyDecision(id: string, time: string, summary: DependencySummary): DecisionDraft {
  const finding: Finding = { policy: POLICY, rule: "high-vulnerability", revision: "r1", language: "vigil", effect: "violation", mode: "deny", severity: "high", message: `lodash@4.17.15 ${summary.vulnerable[0]?.advisory}`, trace: [] };
  return { id, eventId: `ev-${id}`, eventType: "dev.vigil.dependency.change", time, verdict: "deny", tier: "block", risk: { score: 0.45, factors: [] }, findings: [finding], actions: [], explanation: { summary: "blocked", steps: [] }, policyRevisions: { [POLICY]: "r1" }, enforced: true };
}

describe("the organisation's past fixes", () => {
  let storage: Storage;
  beforeEach(async () => {
    storage = createSqliteStorage({ path: ":memory:" });
    await storage.init();
  });
  afterEach(async () => {
    await storage.close();
  });

  it("a blocked change later fixed and merged is cited when another repository introduces the same advisory", async () => {
    const memory = createSupplyChainMemory({ storage, policies: [POLICY] });
    const enricher = createDependencyEnricher({ advisories: db, memory });

    // 1. acme/payments PR #41 introduces lodash 4.17.15 → denied.
    const blocked = await enricher.enrich(change("acme/payments", { pullRequest: 41, ref: "feature/upgrade", base: lock(undefined), head: lock("4.17.15") }, "2025-05-01T09:00:00Z"));
    expect(blocked?.blocking).toBe(1);
    expect(blocked?.vulnerable[0]?.pastFix).toBeNull();
    const [decision] = await storage.appendDecisions([denyDecision("d-41", "2025-05-01T09:00:01Z", blocked as DependencySummary)]);
    expect(await memory.recordDecision(decision as DecisionDraft, blocked as DependencySummary)).toBe(1);

    // 2. The PR is fixed (lodash 4.17.21) and merged.
    const merged = await enricher.enrich(change("acme/payments", { pullRequest: 41, merged: true, base: lock(undefined), head: lock("4.17.21") }, "2025-05-02T15:30:00Z"));
    expect(merged?.merged).toBe(true);
    const fixes = await storage.listDocs(SUPPLY_CHAIN_FIXES);
    expect(fixes.map((d) => d.value)).toEqual([{ advisory: "GHSA-p6mc-m468-83gw", aliases: ["CVE-2020-8203"], package: "lodash", from: "4.17.15", to: "4.17.21", repo: "acme/payments", pullRequest: 41, date: "2025-05-02T15:30:00Z", blockedDecisionId: "d-41", blockedPullRequest: 41 }]);
    const block = await storage.getDoc<BlockRecord>(SUPPLY_CHAIN_BLOCKS, "acme/payments|GHSA-p6mc-m468-83gw|lodash@4.17.15");
    expect(block?.value.resolvedBy).toBe(fixes[0]?.id);

    // 3. acme/web introduces the same vulnerable version: the past fix is cited.
    const later = await enricher.enrich(change("acme/web", { pullRequest: 7, base: lock(undefined), head: lock("4.17.15") }, "2025-06-01T08:00:00Z"));
    expect(later?.vulnerable[0]?.pastFix).toMatchObject({ repo: "acme/payments", pullRequest: 41, from: "4.17.15", to: "4.17.21", date: "2025-05-02T15:30:00Z" });
    expect(later?.vulnerable[0]?.pastFixText).toBe("acme/payments#41 moved lodash 4.17.15 → 4.17.21 on 2025-05-02");
    expect(later?.comment).toContain("**Fixed before in this organisation:**\n- GHSA-p6mc-m468-83gw: acme/payments#41 moved lodash 4.17.15 → 4.17.21 on 2025-05-02.");
  });

  it("a merge that still holds the vulnerable version, an allow decision, or another policy's deny resolve nothing", async () => {
    const memory = createSupplyChainMemory({ storage, policies: [POLICY] });
    const enricher = createDependencyEnricher({ advisories: db, memory });
    const summary = await enricher.enrich(change("acme/api", { pullRequest: 3, base: lock(undefined), head: lock("4.17.15") }, "2025-05-01T09:00:00Z")) as DependencySummary;
    const deny = denyDecision("d-3", "2025-05-01T09:00:01Z", summary);
    expect(await memory.recordDecision({ ...deny, verdict: "allow" }, summary)).toBe(0);
    expect(await memory.recordDecision({ ...deny, findings: deny.findings.map((f) => ({ ...f, policy: "other" })) }, summary)).toBe(0);
    await storage.appendDecisions([deny]);
    expect(await memory.recordDecision(deny, summary)).toBe(1);
    // Merged anyway (an override), still on 4.17.15: not a fix.
    await enricher.enrich(change("acme/api", { ref: "refs/heads/main", base: lock(undefined), head: lock("4.17.15") }, "2025-05-03T00:00:00Z"));
    expect(await storage.listDocs(SUPPLY_CHAIN_FIXES)).toEqual([]);
    // A push to main that removes lodash entirely is a fix with no target version.
    await enricher.enrich(change("acme/api", { ref: "refs/heads/main", base: lock("4.17.15"), head: lock(undefined) }, "2025-05-04T00:00:00Z"));
    const [fix] = await storage.listDocs(SUPPLY_CHAIN_FIXES);
    expect(fix?.value).toMatchObject({ repo: "acme/api", from: "4.17.15", to: null, pullRequest: null });
  });

  it("a block whose decision is not in the decision record is not turned into a fix", async () => {
    const memory = createSupplyChainMemory({ storage, policies: [POLICY] });
    await storage.putDocs([{ collection: SUPPLY_CHAIN_BLOCKS, id: "acme/x|GHSA-p6mc-m468-83gw|lodash@4.17.15", value: { repo: "acme/x", advisory: "GHSA-p6mc-m468-83gw", aliases: [], package: "lodash", version: "4.17.15", decisionId: "missing", pullRequest: 1, blockedAt: "2025-01-01T00:00:00Z", resolvedBy: null } }], "2025-01-01T00:00:00Z");
    const enricher = createDependencyEnricher({ advisories: db, memory });
    await enricher.enrich(change("acme/x", { merged: true, pullRequest: 2, base: lock("4.17.15"), head: lock("4.17.21") }, "2025-02-01T00:00:00Z"));
    expect(await storage.listDocs(SUPPLY_CHAIN_FIXES)).toEqual([]);
  });

  it("storage failures are reported through onError and never thrown", async () => {
    const errors: unknown[] = [];
    await storage.close();
    const memory = createSupplyChainMemory({ storage, policies: [POLICY], onError: (e) => errors.push(e) });
    expect(await memory.pastFixes(["GHSA-p6mc-m468-83gw"])).toEqual(new Map());
    expect(errors.length).toBe(1);
    storage = createSqliteStorage({ path: ":memory:" });
    await storage.init();
  });
});
