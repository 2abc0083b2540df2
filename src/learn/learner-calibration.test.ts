import { describe, expect, it } from "vitest";
import type { Context } from "../core/context.js";
import type { TempStore } from "../act/test-support.js";
import { meta, type ManualClock } from "../decide/test-support.js";
import { createSqliteStorage } from "../store/sqlite/index.js";
import { recordFeedback } from "./feedback.js";
import { createLearner } from "./learner.js";
import { ctxFor, recordDecision, reviewers, useLearnStore } from "./test-support.js";

let store: TempStore;
let clock: ManualClock;
useLearnStore((options) => createSqliteStorage(options), (s, c) => { store = s; clock = c; });

const oddHourPolicy = meta("odd-hour", { tier: "notify", floor: "observe", ceiling: "approve" });
const oddHour = { detector: "oddHour", score: 0.6, confidence: 1, factors: [{ name: "unusual hour of week", contribution: 0.6 }], values: { applicable: true, peer: "peer:team/support", ratio: 0.1, hourOfWeek: "Sun 03:00" } };
const supportCtx = (who: string, environment: string, id?: string): Context => ctxFor(who, { environment, signals: { oddHour }, ...(id ? { id, now: clock.iso() } : {}) });

describe("learner: peer-group detector calibration stays within its bucket", () => {
  it("odd-hour findings marked false positive for a peer group in development recalibrate it in development only", async () => {
    const { storage } = store;
    // Two support principals, two reviewers, all false positive — in development.
    for (let i = 0; i < 8; i++) {
      const decision = await recordDecision(storage, supportCtx(i % 2 === 0 ? "sam" : "sue", "dev", `dev-${i}`), {}, oddHourPolicy, { id: `dev-${i}` });
      await recordFeedback({ storage, clock }, { decisionId: decision.id, label: "false_positive" }, reviewers[i % 2] as never);
    }
    const learner = createLearner({ storage, clock });
    await learner.update();
    // A new support principal in development: the peer group's calibrated threshold applies.
    expect(learner.calibrate(supportCtx("sid", "dev")).signals["oddHour"]?.score).toBeLessThan(0.6);
    // The same peer group in production: nothing was learned there, the detector's score stands.
    expect(learner.calibrate(supportCtx("sid", "prod")).signals["oddHour"]?.score).toBe(0.6);
  });
});

describe("learner: an entity's detector calibration stays within its bucket", () => {
  it("odd-hour findings marked false positive for a principal in development recalibrate it in development only", async () => {
    const { storage } = store;
    for (let i = 0; i < 8; i++) {
      const decision = await recordDecision(storage, supportCtx("sam", "dev", `dev-${i}`), {}, oddHourPolicy, { id: `dev-${i}` });
      await recordFeedback({ storage, clock }, { decisionId: decision.id, label: "false_positive" }, reviewers[i % 2] as never);
    }
    const learner = createLearner({ storage, clock });
    const { state } = await learner.update();
    expect(Object.keys(state.calibration.entities ?? {})).toEqual(["principal/sam@development/any/normal"]);
    expect(learner.calibrate(supportCtx("sam", "dev")).signals["oddHour"]?.score).toBeLessThan(0.6);
    // The same principal in production: nothing was learned there, the detector's score stands.
    expect(learner.calibrate(supportCtx("sam", "prod")).signals["oddHour"]?.score).toBe(0.6);
  });
});
