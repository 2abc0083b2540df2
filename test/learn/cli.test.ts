import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createTokenService, openStorage } from "../../src/agent.js";
import type { Decision } from "../../src/core/decision.js";
import type { Storage } from "../../src/core/ports.js";
import { systemClock } from "../../src/core/ports.js";
import { createDecider } from "../../src/decide/decider.js";
import { createReplaySide } from "../../src/learn/compare.js";
import { learningLabels } from "../../src/learn/keys.js";
import { LEARN_COLLECTION, versionId } from "../../src/learn/state-store.js";
import { FEEDBACK_COLLECTION } from "../../src/review/context.js";
import { loadPolicies } from "../../src/policy/load.js";
import { createPolicySet } from "../../src/policy/policy-set.js";
import { createExecutor } from "../../src/act/executor.js";
import { createReviewService } from "../../src/review/index.js";
import { tempDir, vigil } from "../cli/support.js";

const policy = (threshold: number, mode = "enforce") => `apiVersion: vigil.dev/v1
kind: Policy
metadata: { name: big-spend }
spec:
  on: [dev.vigil.decide]
  rules:
    - name: over-limit
      condition: input.amount > ${threshold}.0
      message: "{{ input.who }} spent {{ input.amount }}"
      severity: high
      effect: warn
  enforcement: { tier: notify, floor: observe, ceiling: approve, mode: ${mode} }
`;

let dir: string;
let storage: Storage;
let tokens: { approver: string; viewer: string; ann: string; cai: string };

async function recordDecisions(count: number, who: string): Promise<Decision[]> {
  const load = loadPolicies([join(dir, "policies")]);
  const set = createPolicySet(load.policies);
  const out: Decision[] = [];
  for (let i = 0; i < count; i++) {
    const id = `${who}-${i}`;
    const side = createReplaySide({ policySet: set, decider: createDecider(), id: () => id, labels: learningLabels });
    const draft = await side.decide({ specversion: "1.0", id: `evt-${id}`, source: "t", type: "dev.vigil.decide", subject: who, time: "2026-01-05T10:00:00Z", data: { amount: 900, who } });
    const [decision] = await storage.appendDecisions([{ ...draft, enforced: true, input: { amount: 900, who } }]);
    out.push(decision as Decision);
  }
  return out;
}

beforeEach(async () => {
  dir = tempDir();
  mkdirSync(join(dir, "policies"));
  writeFileSync(join(dir, "policies", "spend.yaml"), policy(500));
  writeFileSync(join(dir, "vigil.yaml"), "store: { path: vigil.db }\npolicies: [policies]\n");
  storage = await openStorage({ store: { kind: "sqlite", path: join(dir, "vigil.db"), schema: "vigil" }, decisionLog: { mask: [], maskMode: "erase" } } as never);
  const service = createTokenService({ storage, clock: systemClock });
  tokens = {
    approver: (await service.create({ name: "bob", roles: ["approver"] }, "test")).token,
    ann: (await service.create({ name: "ann", roles: ["approver"] }, "test")).token,
    cai: (await service.create({ name: "cai", roles: ["admin"] }, "test")).token,
    viewer: (await service.create({ name: "vic", roles: ["viewer"] }, "test")).token,
  };
});
afterEach(async () => {
  await storage.close();
});

describe("vigil feedback", () => {
  it("rejects a missing or unknown label, an unknown decision and a wrong role, changing nothing", async () => {
    const [decision] = await recordDecisions(1, "ana");
    expect(await vigil(["feedback", decision?.id as string], { cwd: dir })).toMatchObject({ code: 2, stderr: expect.stringContaining("--label is required") });
    expect(await vigil(["feedback", decision?.id as string, "--label", "meh", "--direct", "--token", tokens.approver], { cwd: dir })).toMatchObject({ code: 2, stderr: expect.stringContaining('--label must be one of true_positive, false_positive, incident, got "meh"') });
    expect(await vigil(["feedback", "no-such", "--label", "false_positive", "--direct", "--token", tokens.approver], { cwd: dir })).toMatchObject({ code: 2, stderr: expect.stringContaining("VIGIL_NOT_FOUND") });
    expect(await vigil(["feedback", decision?.id as string, "--label", "false_positive", "--direct", "--token", tokens.viewer], { cwd: dir })).toMatchObject({ code: 2, stderr: expect.stringContaining("give feedback needs the approver or admin role; vic has viewer") });
    expect(await vigil(["feedback", decision?.id as string, "--label", "false_positive", "--direct"], { cwd: dir })).toMatchObject({ code: 2, stderr: expect.stringContaining("no API token") });
    expect(await storage.listDocs(FEEDBACK_COLLECTION)).toEqual([]);
    const ok = await vigil(["feedback", decision?.id as string, "--label", "false_positive", "--reason", "expected", "--direct", "--token", tokens.approver], { cwd: dir });
    expect(ok).toMatchObject({ code: 0, stdout: `recorded false_positive on decision ${decision?.id} by bob\n` });
    expect((await storage.listDocs<{ by: string; via: string }>(FEEDBACK_COLLECTION)).map((d) => [d.value.by, d.value.via])).toEqual([["bob", "cli"]]);
  });
});

describe("vigil learn", () => {
  it("update learns from feedback, show prints the citation, reset needs the role, a corrupt state exits 1", async () => {
    expect((await vigil(["learn", "show"], { cwd: dir })).stdout).toContain("nothing learned yet");
    const decisions = [...(await recordDecisions(9, "night-owl"))];
    const by = [tokens.approver, tokens.ann, tokens.cai];
    for (const [i, d] of decisions.entries()) await vigil(["feedback", d.id, "--label", "false_positive", "--direct", "--token", by[i % 3] as string], { cwd: dir });
    expect(await vigil(["learn", "update", "--token", tokens.viewer], { cwd: dir })).toMatchObject({ code: 2, stderr: expect.stringContaining("approver or admin") });
    const updated = await vigil(["learn", "update", "--token", tokens.approver], { cwd: dir });
    expect(updated.code).toBe(0);
    expect(updated.stdout).toContain("9 of 9 similar findings for subject/night-owl were marked false positive by 3 reviewers");
    const shown = await vigil(["learn", "show", "--policy", "big-spend"], { cwd: dir });
    expect(shown.stdout).toMatch(/learned state version 1 \(parent none\)/);
    expect(shown.stdout).toMatch(/big-spend\/over-limit {2}entity subject\/night-owl in any\/any\/normal {2}risk -0\.\d{1,4}, tier -1\n/);
    expect(await vigil(["learn", "reset", "--token", tokens.viewer], { cwd: dir })).toMatchObject({ code: 2, stderr: expect.stringContaining("VIGIL_FORBIDDEN") });
    expect((await vigil(["learn", "reset", "--reason", "new thresholds", "--token", tokens.ann], { cwd: dir })).stdout).toContain("learned state reset: version 2 (parent 1) by ann");
    const history = await vigil(["learn", "history"], { cwd: dir });
    expect(history.stdout).toMatch(/^v2 {2}parent 1 {2}reset .* checksum ok {2}new thresholds\nv1 {2}parent - {2}update/);

    const doc = await storage.getDoc<{ state: { reason: string }; checksum: string }>(LEARN_COLLECTION, versionId(2));
    await storage.putDocs([{ collection: LEARN_COLLECTION, id: versionId(2), value: { ...doc?.value, state: { ...doc?.value.state, reason: "edited by hand" } } }], new Date().toISOString());
    const corrupt = await vigil(["learn", "show"], { cwd: dir });
    expect(corrupt).toMatchObject({ code: 1, stdout: expect.stringContaining("learned state is CORRUPT: version 2 fails its checksum") });
  });
});

describe("vigil replay --compare", () => {
  it("prints per-event differences and fails when the new policies exceed the false-positive budget", async () => {
    writeFileSync(join(dir, "old.yaml"), policy(500));
    writeFileSync(join(dir, "new.yaml"), policy(100));
    const lines = [150, 300, 600, 900].map((amount, i) => JSON.stringify({ specversion: "1.0", id: `e${i}`, source: "t", type: "dev.vigil.decide", subject: `s${i}`, data: { amount, who: "x" }, vigiltruth: amount > 700 ? "violation" : "benign" }));
    writeFileSync(join(dir, "events.jsonl"), `${lines.join("\n")}\n`);
    const loose = await vigil(["replay", "-p", "new.yaml", "--compare", "old.yaml", "events.jsonl", "--fp-budget", "1", "--out", "report.json"], { cwd: dir });
    expect(loose.code).toBe(1);
    expect(loose.stdout).toContain("replayed 4 event(s): 2 decision(s) differ — 0 verdict, 2 tier; alerts +2 / -0");
    expect(loose.stdout).toContain("  e0 s0 [benign]: allow/observe → allow/notify  (none → big-spend/over-limit)");
    expect(loose.stdout).toContain("old: 2 alert(s), 0 deny; labelled 4: TP 1 FP 1 FN 0 TN 2");
    expect(loose.stdout).toContain("false positives: 3 (budget 1; 1 before) — OVER BUDGET");
    expect(JSON.parse(readFileSync(join(dir, "report.json"), "utf8")).after.falsePositives).toBe(3);
    const strict = await vigil(["replay", "-p", "old.yaml", "--compare", "new.yaml", "events.jsonl", "--fp-budget", "50%"], { cwd: dir });
    expect(strict.code).toBe(0);
    expect(strict.stdout).toContain("false-positive rate: 33.33% of 3 labelled benign events (budget 50%; 3 before) — within budget");
    expect(await vigil(["replay", "-p", "old.yaml", "--compare", "new.yaml", "events.jsonl", "--fp-budget", "many"], { cwd: dir })).toMatchObject({ code: 2, stderr: expect.stringContaining("--fp-budget must be") });
  });
});

describe("vigil replay --compare --from-store", () => {
  it("takes ground truth from people's feedback only: Vigil's own labels (vigil:*) and learn.settings.ignoreActors are skipped, as the learner does", async () => {
    writeFileSync(join(dir, "vigil.yaml"), 'store: { path: vigil.db }\npolicies: [policies]\nlearn: { settings: { ignoreActors: ["bot-*"] } }\n');
    writeFileSync(join(dir, "old.yaml"), policy(500));
    writeFileSync(join(dir, "new.yaml"), policy(100));
    const set = createPolicySet(loadPolicies([join(dir, "old.yaml")]).policies);
    const events = ["by-escalation", "by-bot", "by-person"].map((id) => ({ specversion: "1.0" as const, id, source: "t", type: "dev.vigil.decide", subject: id, time: "2026-01-05T10:00:00Z", data: { amount: 300, who: id } }));
    await storage.appendEvents(events, "2026-01-05T10:00:00Z");
    const decisionOf = new Map<string, string>();
    for (const event of events) {
      const draft = await createReplaySide({ policySet: set, decider: createDecider(), id: () => `d-${event.id}` }).decide(event);
      const [decision] = await storage.appendDecisions([{ ...draft, enforced: true, input: event.data }]);
      decisionOf.set(event.id, (decision as Decision).id);
    }
    const feedback = (id: string, event: string, by: string, label: string, at: string) => ({ collection: FEEDBACK_COLLECTION, id, value: { id, decisionId: decisionOf.get(event), label, by, at, via: "api" } });
    await storage.putDocs([
      feedback("fb-1", "by-escalation", "vigil:escalation", "false_positive", "2026-01-06T10:00:00Z"),
      feedback("fb-2", "by-bot", "Bot-CI", "false_positive", "2026-01-06T10:00:00Z"),
      feedback("fb-3", "by-person", "bob", "false_positive", "2026-01-06T10:00:00Z"),
      // A later label of Vigil's own does not replace the person's.
      feedback("fb-4", "by-person", " Vigil:Learner", "true_positive", "2026-01-07T10:00:00Z"),
    ], "2026-01-07T10:00:00Z");
    const run = await vigil(["replay", "-p", "new.yaml", "--compare", "old.yaml", "--from-store", "--fp-budget", "1"], { cwd: dir });
    expect(run.stderr).toBe("");
    expect(run.stdout).toContain("replayed 3 event(s)");
    expect(run.stdout).toContain("new: 3 alert(s), 0 deny; labelled 1: TP 0 FP 1 FN 0 TN 0");
    expect(run.stdout).toContain("false positives: 1 (budget 1; 0 before) — within budget");
    expect(run.code).toBe(0);
  });
});

describe("vigil policies promote", () => {
  it("shows the shadow period's figures, promotes only with --yes and the approver role", async () => {
    writeFileSync(join(dir, "policies", "spend.yaml"), policy(500, "shadow"));
    const decisions = await recordDecisions(3, "ana");
    await vigil(["feedback", decisions[0]?.id as string, "--label", "false_positive", "--direct", "--token", tokens.approver], { cwd: dir });
    const shown = await vigil(["policies", "promote", "big-spend"], { cwd: dir });
    expect(shown.code).toBe(0);
    expect(shown.stdout).toContain("enforced, it would have changed 3 decision(s): 0 allowed → denied, 3 at a stronger tier");
    expect(shown.stdout).toContain("of those, people marked 1 false positive, 0 true positive, 0 incident; 2 unlabelled");
    expect(shown.stdout).toContain("not promoted: re-run with --yes");
    expect(await storage.listDocs("policy.promotions")).toEqual([]);
    expect(await vigil(["policies", "promote", "big-spend", "--yes", "--direct", "--token", tokens.viewer], { cwd: dir })).toMatchObject({ code: 2, stderr: expect.stringContaining("VIGIL_FORBIDDEN") });
    const promoted = await vigil(["policies", "promote", "big-spend", "--yes", "--direct", "--token", tokens.approver, "--reason", "a week in shadow"], { cwd: dir });
    expect(promoted.code).toBe(0);
    expect((await storage.listDocs<{ by: string; reason: string }>("policy.promotions")).map((d) => [d.id, d.value.by, d.value.reason])).toEqual([["big-spend", "bob", "a week in shadow"]]);
  });
});

describe("vigil proposals", () => {
  it("mine, list, show, accept and reject go through the store; accept writes next to the policy, never into it", async () => {
    expect((await vigil(["proposals", "list"], { cwd: dir })).stdout).toBe("no proposals\n");
    expect(await vigil(["proposals", "show", "PROP-9"], { cwd: dir })).toMatchObject({ code: 2, stderr: expect.stringContaining("proposal PROP-9 does not exist") });
    const executor = createExecutor({ storage, clock: systemClock, actuators: [], guardrails: { notificationKinds: [] } });
    const review = createReviewService({ storage, clock: systemClock, executor });
    for (const decision of await recordDecisions(3, "payroll-batch")) {
      await review.overrides.create({ decisionId: decision.id, scope: "once", reason: "the monthly payroll run" }, { id: "ann", roles: ["approver"] });
    }
    const mined = await vigil(["proposals", "mine"], { cwd: dir });
    expect(mined.stdout).toMatch(/^PROP-1 {2}open {2}big-spend\/over-limit {2}when (input\.who == "payroll-batch"|event\.subject == "payroll-batch")/);
    const shown = await vigil(["proposals", "show", "PROP-1"], { cwd: dir });
    expect(shown.stdout).toContain("the change turns 3 violation(s) off: 3 overridden, 0 labelled false positive, 0 confirmed, 0 unlabelled");
    expect(shown.stdout).toContain("+    - name: learned-over-limit-1");
    expect(await vigil(["proposals", "accept", "PROP-1", "--write", "--token", tokens.viewer], { cwd: dir })).toMatchObject({ code: 2, stderr: expect.stringContaining("VIGIL_FORBIDDEN") });
    const before = readFileSync(join(dir, "policies", "spend.yaml"), "utf8");
    const accepted = await vigil(["proposals", "accept", "PROP-1", "--write", "--token", tokens.approver], { cwd: dir });
    expect(accepted.code).toBe(0);
    expect(accepted.stdout).toContain("PROP-1 accepted by bob; the policy is unchanged until a person commits it.");
    expect(readFileSync(join(dir, "policies", "spend.yaml"), "utf8")).toBe(before);
    expect(existsSync(join(dir, "policies", "spend.yaml.PROP-1.patch"))).toBe(true);
    expect((await vigil(["policies", "shadow", "big-spend"], { cwd: dir })).code).toBe(0); // the .proposed file is not loaded as a policy
    expect(await vigil(["proposals", "reject", "PROP-1", "--reason", "late", "--token", tokens.approver], { cwd: dir })).toMatchObject({ code: 2, stderr: expect.stringContaining("already accepted by bob") });
    expect((await vigil(["proposals", "list", "--status", "accepted"], { cwd: dir })).stdout).toContain("PROP-1  accepted");
  });
});
