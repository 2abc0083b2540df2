import { describe, expect, it } from "vitest";
import type { Finding } from "../core/finding.js";
import type { PolicyMeta } from "../core/policy.js";
import { loadPolicyText } from "../policy/load.js";
import { createPolicySet } from "../policy/policy-set.js";
import { buildDecision } from "./decision.js";
import { createDecider } from "./decider.js";
import { contextBucket } from "./risk.js";
import { context, meta, signal, violation } from "./test-support.js";

const options = { id: "d-1", now: "2024-05-01T12:00:00Z", enforced: true };

describe("decider without context or enforcement", () => {
  it("gives buildDecision's draft (verdict, tier, risk, explanation)", () => {
    const decider = createDecider();
    const ctx = context({ a: 1 }, { subject: "arn:aws:s3:::b", violations30d: 3 });
    const cases: Finding[][] = [
      [violation({ effect: "pass" })],
      [violation({ mode: "warn", severity: "medium" }), violation({ rule: "r2" })],
      [violation({ effect: "error", error: { code: "x", message: "boom" } })],
      [violation({ mode: "audit", severity: "low" })],
    ];
    for (const findings of cases) {
      expect(decider.decide(ctx, findings, { p: "1" }, options)).toEqual(buildDecision(ctx, findings, { p: "1" }, options));
    }
  });
});

describe("risk model", () => {
  it("attribute values that are Object.prototype names (toString, constructor) are not criticalities or environments", () => {
    const decider = createDecider();
    const odd = ["toString", "constructor", "valueOf", "__proto__", "hasOwnProperty"];
    for (const value of odd) {
      const ctx = context({}, { entities: { resource: { kind: "resource", id: "r1", attrs: { criticality: value, environment: value, labels: { env: value }, tags: { environment: value } } } } });
      const d = decider.decide(ctx, [violation({ severity: "high" })], {}, options);
      expect(d.risk.score).toBe(0.45);
      expect(d.risk.factors.map((f) => f.name)).toEqual(["p/r"]);
      expect(contextBucket(ctx)).toBe("any/any/normal");
    }
  });

  it("adds severity, history, signals, criticality, environment and posture; contributions sum to the score", () => {
    const decider = createDecider();
    const ctx = context({}, {
      violations30d: 3,
      posture: { level: "elevated" },
      signals: { rare: signal("rare", 0.8, 0.5, "first access from BR"), quiet: signal("quiet", 0, 1) },
      entities: {
        principal: { kind: "principal", id: "alice", attrs: { criticality: "medium" } },
        resource: { kind: "bucket", id: "payroll", attrs: { criticality: "critical", tags: { env: "prod" } } },
      },
    });
    const d = decider.decide(ctx, [violation({ severity: "medium", mode: "warn" })], {}, options);
    const byName = Object.fromEntries(d.risk.factors.map((f) => [f.name, f.contribution]));
    expect(byName).toEqual({ "p/r": 0.175, "history.violations30d": 0.1, "signal.rare": 0.12, "asset.criticality": 0.2, "asset.environment": 0.1, posture: 0.05 });
    expect(d.risk.score).toBeCloseTo(0.745, 10);
    expect(d.risk.factors.find((f) => f.name === "signal.rare")?.detail).toContain("first access from BR");
    expect(d.risk.factors.find((f) => f.name === "asset.criticality")?.detail).toBe("resource payroll is critical criticality");
    const factorSteps = d.explanation.steps.filter((s) => s.kind === "factor");
    expect(factorSteps.map((s) => s.contribution)).toEqual(d.risk.factors.map((f) => f.contribution));
  });

  it("configured weights with more decimals are shown rounded as the score is, so the shown contributions add up to the shown risk", () => {
    const decider = createDecider({ weights: { error: 0.0123456, criticality: { low: 0, medium: 0.05, high: 0.123456789, critical: 0.2 }, environment: { production: 1 / 30, staging: 0.03, development: -0.05 }, posture: { normal: 0, elevated: 1 / 3, incident: 0.15, freeze: 0.25 } } });
    const ctx = context({}, { posture: { level: "elevated" }, entities: { resource: { kind: "db", id: "main", attrs: { criticality: "high", environment: "production" } } } });
    const d = decider.decide(ctx, [violation({ severity: "low" }), violation({ policy: "q", effect: "error", error: { code: "x", message: "boom" } })], {}, options);
    expect(d.risk.factors.map((f) => f.contribution)).toEqual([0.1, 0.0123, 0.1235, 0.0333, 0.3333]);
    const shown = d.explanation.steps.filter((s) => s.kind === "factor").map((s) => Number(/: ([+-][\d.]+)/.exec(s.text)?.[1]));
    expect(Math.round(shown.reduce((a, b) => a + b, 0) * 10_000) / 10_000).toBe(d.risk.score);
    expect(d.risk.score).toBe(0.6024);
  });

  it("development lowers risk, the score clamps to [0, 1], and an allowed decision carries no context factors", () => {
    const decider = createDecider();
    const dev = context({}, { entities: { resource: { kind: "vm", id: "v", attrs: { environment: "dev" } } } });
    const low = decider.decide(dev, [violation({ severity: "info", mode: "audit" })], {}, options);
    expect(low.risk.factors.map((f) => f.contribution)).toEqual([0.008, -0.05]);
    expect(low.risk.score).toBe(0);
    const quiet = decider.decide(context({}, { posture: { level: "incident" }, signals: { s: signal("s", 1, 1) } }), [violation({ effect: "pass" })], {}, options);
    expect(quiet.risk).toEqual({ score: 0, factors: [] });
    const many = decider.decide(dev, [1, 2, 3].map((i) => violation({ rule: `c${i}`, severity: "critical" })), {}, options);
    expect(many.risk.score).toBe(1);
  });

  it("cites learned adjustments as factors and learning steps", () => {
    const decider = createDecider();
    const ctx = context({}, { entities: { resource: { kind: "bucket", id: "b", attrs: { environment: "prod", criticality: "high" } } } });
    expect(contextBucket(ctx)).toBe("production/high/normal");
    const learned = [
      { id: "L-1", policy: "p", rule: "r", bucket: "production/high/normal", riskDelta: -0.2, citation: "risk lowered by 0.2: 14 of 15 similar findings were marked false positive" },
      { id: "L-2", policy: "p", rule: "r", bucket: "development/*", riskDelta: -0.5, citation: "never used here" },
    ];
    const d = decider.decide(ctx, [violation({ severity: "high" })], {}, { ...options, learned });
    const factor = d.risk.factors.find((f) => f.name === "learned.p/r");
    expect(factor).toEqual({ name: "learned.p/r", contribution: -0.2, detail: "risk lowered by 0.2: 14 of 15 similar findings were marked false positive" });
    expect(d.risk.score).toBeCloseTo(0.45 + 0.1 + 0.1 - 0.2, 10);
    const step = d.explanation.steps.find((s) => s.kind === "learning");
    expect(step).toMatchObject({ ref: "L-1", policy: "p", rule: "r" });
    expect(step?.text).toContain("14 of 15 similar findings were marked false positive");
    expect(() => decider.decide(ctx, [violation()], {}, { ...options, learned: [{ policy: "p", citation: "x", riskDelta: 3 }] })).toThrow(/riskDelta must be a number in \[-1, 1\]/);
  });
});

describe("adaptive tiers", () => {
  const policyText = `apiVersion: vigil.dev/v1
kind: Policy
metadata: { name: public-bucket }
spec:
  variables:
    - name: bucket
      expression: input.bucket
  rules:
    - name: no-public
      condition: input.public == true
      severity: medium
      effect: deny
  enforcement:
    tier: notify
    adaptive:
      - when: context.posture.level == "incident"
        tier: block
        reason: incident posture
      - when: variables.bucket.startsWith("payroll-")
        tier: approve
`;
  const { policies, errors } = loadPolicyText(policyText);
  const set = createPolicySet(policies);

  it("an adaptive rule on posture incident blocks; adaptive rules see the policy's variables", () => {
    expect(errors).toEqual([]);
    const decider = createDecider();
    const decide = (input: unknown, level: "normal" | "incident") => {
      const ctx = context(input, { posture: { level } });
      const { findings, policyRevisions } = set.evaluate(ctx);
      return decider.decide(ctx, findings, policyRevisions, { ...options, policy: (name) => set.get(name) });
    };
    expect(decide({ bucket: "logs", public: true }, "normal").tier).toBe("notify");
    const incident = decide({ bucket: "logs", public: true }, "incident");
    expect(incident.tier).toBe("block");
    const step = incident.explanation.steps.find((s) => s.kind === "tier");
    expect(step).toMatchObject({ tier: "block", policy: "public-bucket", rule: "no-public" });
    expect(step?.text).toContain('adaptive rule `context.posture.level == "incident"` held (incident posture) → block');
    expect(decide({ bucket: "payroll-2024", public: true }, "normal").tier).toBe("approve");
    // Both hold: the strictest wins.
    expect(decide({ bucket: "payroll-2024", public: true }, "incident").tier).toBe("block");
    // Compiled once: repeated decisions add no programs.
    const size = decider.conditions.size;
    decide({ bucket: "logs", public: true }, "incident");
    expect(decider.conditions.size).toBe(size);
  });

  it("a broken adaptive condition is reported and does not apply", () => {
    const decider = createDecider();
    const metas: Record<string, PolicyMeta> = { p: meta("p", { tier: "notify", adaptive: [{ when: "context.nope.deeper == 1", tier: "block" }] }) };
    const d = decider.decide(context({}), [violation()], {}, { ...options, policy: (n) => metas[n] });
    expect(d.tier).toBe("notify");
    expect(d.explanation.steps.find((s) => s.kind === "tier")?.text).toContain("adaptive rule 1 not applied");
  });

  it("a broken adaptive condition shared by two policies is reported under each policy's own name", () => {
    const decider = createDecider();
    const broken = "context.posture.level ==";
    const metas: Record<string, PolicyMeta> = { first: meta("first", { tier: "notify", adaptive: [{ when: broken, tier: "block" }] }), second: meta("second", { tier: "notify", adaptive: [{ when: broken, tier: "block" }] }) };
    const tierText = (policy: string) => decider.decide(context({}), [violation({ policy })], {}, { ...options, policy: (n) => metas[n] }).explanation.steps.find((s) => s.kind === "tier")?.text ?? "";
    expect(tierText("first")).toContain("policy first spec.enforcement.adaptive[0].when");
    const second = tierText("second");
    expect(second).toContain("policy second spec.enforcement.adaptive[0].when");
    expect(second).not.toContain("policy first");
  });

  it("moves by risk only within a declared floor..ceiling", () => {
    const decider = createDecider();
    const metas: Record<string, PolicyMeta> = {
      open: meta("open", { tier: "block", floor: "notify", ceiling: "remediate" }),
      fixed: meta("fixed", { tier: "block" }),
    };
    const policy = (n: string) => metas[n];
    const hot = context({}, { signals: { spike: signal("spike", 1, 1) }, entities: { r: { kind: "db", id: "main", attrs: { criticality: "critical", environment: "production" } } } });
    const raised = decider.decide(hot, [violation({ policy: "open", severity: "critical" })], {}, { ...options, policy });
    expect(raised.risk.score).toBe(1);
    expect(raised.tier).toBe("remediate");
    expect(raised.explanation.steps.find((s) => s.kind === "tier")?.text).toBe("remediate: open/r: enforcement.tier block; risk 1 ≥ 0.75: moved to remediate within range notify..remediate");
    expect(decider.decide(hot, [violation({ policy: "fixed", severity: "critical" })], {}, { ...options, policy }).tier).toBe("block");
    const calm = decider.decide(context({}), [violation({ policy: "open", severity: "low" })], {}, { ...options, policy });
    expect(calm.risk.score).toBe(0.1);
    expect(calm.tier).toBe("approve");
    expect(decider.decide(context({}), [violation({ policy: "fixed", severity: "low" })], {}, { ...options, policy }).tier).toBe("block");
  });

  it("posture incident raises a step and freeze goes to the ceiling, within range", () => {
    const decider = createDecider();
    const metas: Record<string, PolicyMeta> = { p: meta("p", { tier: "notify", ceiling: "remediate" }) };
    const policy = (n: string) => metas[n];
    const f = [violation({ severity: "medium", mode: "warn" })];
    expect(decider.decide(context({}), f, {}, { ...options, policy }).tier).toBe("notify");
    expect(decider.decide(context({}, { posture: { level: "incident" } }), f, {}, { ...options, policy }).tier).toBe("approve");
    expect(decider.decide(context({}, { posture: { level: "freeze" } }), f, {}, { ...options, policy }).tier).toBe("remediate");
  });

  it("low confidence asks a person (approve) instead of acting, unless the floor forbids", () => {
    const decider = createDecider();
    const metas: Record<string, PolicyMeta> = {
      p: meta("p", { tier: "remediate", minConfidence: 0.8 }),
      strict: meta("strict", { tier: "remediate", floor: "block", minConfidence: 0.8 }),
    };
    const policy = (n: string) => metas[n];
    const unsure = context({}, { signals: { odd: signal("odd-hour", 0.9, 0.4), rare: signal("rare", 0.5, 0.95) } });
    const d = decider.decide(unsure, [violation()], {}, { ...options, policy });
    expect(d.tier).toBe("approve");
    expect(d.verdict).toBe("deny");
    expect(d.explanation.steps.find((s) => s.kind === "tier")?.text).toContain("confidence 0.4 (odd-hour) < minConfidence 0.8: ask a person (approve) instead of remediate");
    const sure = context({}, { signals: { rare: signal("rare", 0.5, 0.95) } });
    expect(decider.decide(sure, [violation()], {}, { ...options, policy }).tier).toBe("remediate");
    expect(decider.decide(unsure, [violation({ policy: "strict" })], {}, { ...options, policy }).tier).toBe("block");
  });

  it("low confidence with a floor above approve: the step names the floor's tier, not a hand-off to a person", () => {
    const decider = createDecider();
    const metas: Record<string, PolicyMeta> = { strict: meta("strict", { tier: "remediate", floor: "block", minConfidence: 0.8 }) };
    const unsure = context({}, { signals: { odd: signal("odd-hour", 0.9, 0.4) } });
    const d = decider.decide(unsure, [violation({ policy: "strict" })], {}, { ...options, policy: (n) => metas[n] });
    expect(d.tier).toBe("block");
    const text = d.explanation.steps.find((s) => s.kind === "tier")?.text ?? "";
    expect(text).toMatch(/^block: /);
    expect(text).not.toContain("ask a person (approve)");
    expect(text).toContain("confidence 0.4 (odd-hour) < minConfidence 0.8: floor block instead of remediate");
  });

  it("learned tier shifts stay within floor..ceiling", () => {
    const decider = createDecider();
    const metas: Record<string, PolicyMeta> = { p: meta("p", { tier: "block", floor: "approve", ceiling: "remediate" }) };
    const learned = [{ policy: "p", tierShift: -2, citation: "9 of 10 were false positives" }];
    const d = decider.decide(context({}), [violation({ severity: "medium" })], {}, { ...options, policy: (n) => metas[n], learned });
    expect(d.tier).toBe("approve");
    expect(d.explanation.steps.find((s) => s.kind === "learning")?.text).toContain("tier shifted -2 (within floor..ceiling): 9 of 10 were false positives");
  });

  it("during an incident a learned negative tier shift does not cancel the incident's step up", () => {
    const decider = createDecider();
    const metas: Record<string, PolicyMeta> = { p: meta("p", { tier: "notify", floor: "observe", ceiling: "remediate" }) };
    const learned = [{ policy: "p", tierShift: -1, citation: "9 of 10 were false positives" }];
    const f = [violation({ severity: "medium", mode: "warn" })];
    // Normal posture: the learned shift lowers the tier.
    expect(decider.decide(context({}), f, {}, { ...options, policy: (n) => metas[n], learned }).tier).toBe("observe");
    // Incident: at least one step above the start, whatever was learned in calmer times.
    const incident = decider.decide(context({}, { posture: { level: "incident" } }), f, {}, { ...options, policy: (n) => metas[n], learned });
    expect(incident.tier).toBe("approve");
    expect(incident.explanation.steps.find((s) => s.kind === "tier")?.text).toContain("learned shift -1, posture incident: moved to approve");
  });

  it("a risk step and a learned shift that cancel out are both named in the tier step, not left out", () => {
    const decider = createDecider();
    const metas: Record<string, PolicyMeta> = { p: meta("p", { tier: "block", floor: "notify", ceiling: "remediate" }) };
    const hot = context({}, { signals: { spike: signal("spike", 1, 1) }, entities: { r: { kind: "db", id: "main", attrs: { criticality: "critical" } } } });
    const d = decider.decide(hot, [violation({ severity: "critical" })], {}, { ...options, policy: (n) => metas[n], learned: [{ policy: "p", tierShift: -1, citation: "9 of 10 were false positives" }] });
    expect(d.risk.score).toBe(1);
    expect(d.tier).toBe("block");
    expect(d.explanation.steps.find((s) => s.kind === "tier")?.text).toBe("block: p/r: enforcement.tier block; risk 1 ≥ 0.75, learned shift -1: no net step, stays block within range notify..remediate");
  });

  it("learning never takes a critical rule to observe, also through the risk-based step down", () => {
    const decider = createDecider();
    const metas: Record<string, PolicyMeta> = {
      p: meta("p", { floor: "observe" }),
      q: meta("q", { tier: "approve", floor: "observe" }),
    };
    const policy = (n: string) => metas[n];
    const critical = violation({ severity: "critical", mode: "warn" }); // risk 0.7 × 0.7 = 0.49
    // Without learning: 0.49 ≥ 0.2, the warn rule stays at notify.
    expect(decider.decide(context({}), [critical], {}, { ...options, policy }).tier).toBe("notify");
    // A learned -0.3 takes risk to 0.19 < 0.2: the step down would reach observe; decide keeps notify.
    const lowered = decider.decide(context({}), [critical], {}, { ...options, policy, learned: [{ policy: "p", riskDelta: -0.3, citation: "9 of 10 were false positives" }] });
    expect(lowered.risk.score).toBe(0.19);
    expect(lowered.tier).toBe("notify");
    expect(lowered.explanation.steps.find((s) => s.kind === "tier")?.text).toContain("a critical rule is not lowered to observe by learning: kept at notify");
    // Explicit approve tier, learned -0.3 and -1: two steps down would reach observe; one is allowed.
    const two = decider.decide(context({}), [violation({ policy: "q", severity: "critical", mode: "warn" })], {}, { ...options, policy, learned: [{ policy: "q", riskDelta: -0.3, tierShift: -1, citation: "9 of 10 were false positives" }] });
    expect(two.tier).toBe("notify");
    // Another rule's learned risk reduction lowers the shared score: still not observe.
    const other = decider.decide(context({}), [critical, violation({ rule: "noisy", severity: "info", mode: "audit" })], {}, { ...options, policy, learned: [{ policy: "p", rule: "noisy", riskDelta: -0.4, citation: "all false positives" }] });
    expect(other.risk.score).toBeLessThan(0.2);
    expect(other.tier).toBe("notify");
    // A non-critical rule is lowered as before.
    const high = decider.decide(context({}), [violation({ severity: "high", mode: "warn" })], {}, { ...options, policy, learned: [{ policy: "p", riskDelta: -0.2, citation: "9 of 10 were false positives" }] });
    expect(high.tier).toBe("observe");
    // What the operator configured (lowerAt 0.5) still steps a critical rule down without learning.
    const strictLower = createDecider({ tiers: { lowerAt: 0.5 } });
    expect(strictLower.decide(context({}), [critical], {}, { ...options, policy }).tier).toBe("observe");
    expect(strictLower.decide(context({}), [critical], {}, { ...options, policy, learned: [{ policy: "p", riskDelta: -0.3, citation: "x" }] }).tier).toBe("observe");
  });

  it("a learned shift after an adaptive rule does not take a critical rule to observe", () => {
    const decider = createDecider();
    const metas: Record<string, PolicyMeta> = { p: meta("p", { floor: "observe", adaptive: [{ when: "true", tier: "notify" }] }) };
    const d = decider.decide(context({}), [violation({ severity: "critical" })], {}, { ...options, policy: (n) => metas[n], learned: [{ policy: "p", tierShift: -1, citation: "9 of 10 were false positives" }] });
    expect(d.tier).toBe("notify");
    const medium = decider.decide(context({}), [violation({ severity: "medium" })], {}, { ...options, policy: (n) => metas[n], learned: [{ policy: "p", tierShift: -1, citation: "9 of 10 were false positives" }] });
    expect(medium.tier).toBe("observe");
  });

  it("shadow mode is recorded at observe and never denies", () => {
    const decider = createDecider();
    const metas: Record<string, PolicyMeta> = { p: meta("p", { mode: "shadow", tier: "block", adaptive: [{ when: "true", tier: "remediate" }] }) };
    const d = decider.decide(context({}, { posture: { level: "freeze" } }), [violation()], { p: "1" }, { ...options, policy: (n) => metas[n] });
    expect(d).toMatchObject({ verdict: "allow", tier: "observe" });
    expect(d.explanation.steps.some((s) => s.kind === "tier" && s.text.includes("shadow mode"))).toBe(true);
  });
});
  it("a shadow-mode policy's violations do not raise the risk that moves an enforced policy's tier", () => {
    const decider = createDecider();
    const metas: Record<string, PolicyMeta> = {
      enforced: meta("enforced", { tier: "block", floor: "notify", ceiling: "remediate" }),
      trial: meta("trial", { mode: "shadow", tier: "block" }),
    };
    const policy = (n: string) => metas[n];
    const enforced = violation({ policy: "enforced", severity: "medium" });
    const alone = decider.decide(context({}), [enforced], {}, { ...options, policy });
    expect(alone.tier).toBe("block");
    // The policy being tried in shadow mode is recorded, never enforced: nor does it push another policy up.
    const withShadow = decider.decide(context({}), [enforced, violation({ policy: "trial", severity: "critical" })], {}, { ...options, policy });
    expect(withShadow.risk).toEqual(alone.risk);
    expect(withShadow.tier).toBe("block");
    expect(withShadow.explanation.steps.filter((s) => s.kind === "tier").map((s) => s.text)).toEqual([
      "block: enforced/r: enforcement.tier block",
      "observe: trial/r: policy trial is in shadow mode (recorded, not enforced)",
    ]);
  });


describe("decider settings (config `decide`)", () => {
  it("refuses a weight or threshold that is not a finite number, an unknown key and lowerAt above raiseAt, naming the field", () => {
    const cases: [unknown, string][] = [
      [{ weights: { posture: { incident: Number.NaN } } }, "decide.weights.posture.incident"],
      [{ weights: { signal: "0.3" } }, "decide.weights.signal"],
      [{ weights: { criticality: { critcal: 0.2 } } }, "decide.weights.criticality.critcal"],
      [{ weights: { environment: 0.1 } }, "decide.weights.environment"],
      [{ weights: { historyMax: Number.POSITIVE_INFINITY } }, "decide.weights.historyMax"],
      [{ weights: { severity: 1 } }, "decide.weights.severity"],
      [{ tiers: { raiseAt: Number.NaN } }, "decide.tiers.raiseAt"],
      [{ tiers: { lowerAt: 0.8 } }, "decide.tiers.lowerAt"],
      [{ tiers: { raise: 0.9 } }, "decide.tiers.raise"],
      [{ weight: { signal: 0.3 } }, "decide.weight"],
    ];
    for (const [settings, field] of cases) {
      expect(() => createDecider(settings as never), field).toThrow(expect.objectContaining({ code: "VIGIL_BAD_CONFIG", details: expect.objectContaining({ field }), message: expect.stringContaining(field) }));
    }
    // Valid settings (negative weights lower risk, as development does) are taken.
    expect(createDecider({ weights: { environment: { development: -0.1 } as never }, tiers: { raiseAt: 0.9, lowerAt: 0.1 } }).weights.environment).toMatchObject({ development: -0.1, production: 0.1 });
  });
});
