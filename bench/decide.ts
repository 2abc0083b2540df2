/**
 * `npx tsx bench/decide.ts`: decisions per second of the decide stage (createDecider) next to
 * the first decision builder (buildDecision) on the same findings, and the executor's cost on a
 * decision without actions. Short runs (about a second per row); figures from a shared machine
 * vary with load.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Context } from "../src/core/context.js";
import type { Finding } from "../src/core/finding.js";
import type { PolicyMeta } from "../src/core/policy.js";
import type { PolicyException } from "../src/core/review.js";
import { buildDecision } from "../src/decide/decision.js";
import { createDecider } from "../src/decide/decider.js";
import { learnedFromList } from "../src/decide/learned.js";
import { createExecutor } from "../src/act/executor.js";
import { createSqliteStorage } from "../src/store/sqlite/index.js";

function ctx(i: number, rich: boolean): Context {
  return {
    event: { specversion: "1.0", id: `e-${i}`, source: "bench", type: "com.amazonaws.cloudtrail", subject: `arn:aws:iam::1:user/u${i % 100}`, data: {} },
    input: { n: i },
    entities: rich ? { principal: { kind: "principal", id: `u${i % 100}`, attrs: { criticality: "high", environment: "prod" } } } : {},
    signals: rich ? { rare: { detector: "rare", score: 0.7, confidence: 0.9, factors: [{ name: "rare.region", contribution: 0.7, detail: "first use of region" }] } } : {},
    posture: { level: "normal", scope: "org", since: "2024-01-01T00:00:00Z" },
    ...(rich ? { history: { violations30d: 2, recent: [] } } : {}),
    now: "2025-01-01T00:00:00.000Z",
  };
}

const violation: Finding = { policy: "p-7", rule: "r", revision: "1", language: "vigil", effect: "violation", mode: "deny", severity: "high", message: "bad", trace: [] };
const pass: Finding = { ...violation, effect: "pass" };
const metas = new Map<string, PolicyMeta>(Array.from({ length: 50 }, (_, i) => [`p-${i}`, {
  name: `p-${i}`, language: "vigil", revision: "1", on: [],
  enforcement: { tier: "block", floor: "notify", ceiling: "remediate", minConfidence: 0.5, adaptive: [{ when: 'context.posture.level == "incident"', tier: "remediate" }] },
}]));
const exceptions: PolicyException[] = Array.from({ length: 100 }, (_, i) => ({
  id: `EX-${i}`, policies: [`other-${i}`], justification: "bench", createdBy: "b", createdAt: "2024-12-01T00:00:00Z", expiresAt: "2025-06-01T00:00:00Z",
}));
const learned = learnedFromList(Array.from({ length: 50 }, (_, i) => ({ policy: `p-${i}`, riskDelta: -0.1, citation: "bench" })));

function rate(label: string, fn: (i: number) => unknown): number {
  for (let i = 0; i < 20_000; i++) fn(i);
  const start = performance.now();
  let n = 0;
  while (performance.now() - start < 1000) {
    for (let k = 0; k < 1000; k++) fn(n++);
  }
  const perSecond = n / ((performance.now() - start) / 1000);
  console.log(`${label.padEnd(64)} ${Math.round(perSecond).toLocaleString("en-US").padStart(12)} /s`);
  return perSecond;
}

const decider = createDecider();
const options = { id: "d", now: "2025-01-01T00:00:00.000Z", enforced: true, policy: (n: string) => metas.get(n) };
const withExceptions = { ...options, exceptions };
const full = { ...options, exceptions, learned };
const contexts = Array.from({ length: 1000 }, (_, i) => ({ plain: ctx(i, false), rich: ctx(i, true) }));
const at = (i: number) => contexts[i % 1000] as { plain: Context; rich: Context };

console.log("decide stage (one core, shared machine)");
const a = rate("buildDecision, 3 passes", (i) => buildDecision(at(i).plain, [pass, pass, pass], { p: "1" }, options));
const b = rate("decider, 3 passes, 100 exceptions in force", (i) => decider.decide(at(i).plain, [pass, pass, pass], { p: "1" }, withExceptions));
const c = rate("buildDecision, 1 violation + 2 passes", (i) => buildDecision(at(i).plain, [violation, pass, pass], { p: "1" }, options));
const d = rate("decider, 1 violation, no context", (i) => decider.decide(at(i).plain, [violation, pass, pass], { p: "1" }, options));
const e = rate("decider, 1 violation, context + adaptive + 100 exceptions + learned", (i) => decider.decide(at(i).rich, [violation, pass, pass], { p: "1" }, full));
console.log(`ratios: no violation ${(b / a).toFixed(2)}x of buildDecision; violation ${(d / c).toFixed(2)}x (no context), ${(e / c).toFixed(2)}x (full)`);

const dir = mkdtempSync(join(tmpdir(), "vigil-bench-decide-"));
const storage = createSqliteStorage({ path: join(dir, "bench.db") });
await storage.init();
const executor = createExecutor({ storage, clock: { now: () => new Date("2025-01-01T00:00:00Z") }, actuators: [] });
const draft = decider.decide(at(0).rich, [violation], { p: "1" }, options);
const t0 = performance.now();
let acts = 0;
while (performance.now() - t0 < 1000) { await executor.act(draft, at(0).rich, (n) => metas.get(n)); acts++; }
console.log(`${"executor.act, violation whose policy has no remediation".padEnd(64)} ${Math.round(acts / ((performance.now() - t0) / 1000)).toLocaleString("en-US").padStart(12)} /s`);
await storage.close();
rmSync(dir, { recursive: true, force: true });
