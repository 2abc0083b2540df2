import { describe, expect, it } from "vitest";
import type { PolicyMeta } from "../core/policy.js";
import type { Storage } from "../core/ports.js";
import type { TempStore } from "../act/test-support.js";
import { createSqliteStorage } from "../store/sqlite/index.js";
import { type ManualClock } from "../decide/test-support.js";
import { FEEDBACK_COLLECTION } from "../review/context.js";
import { createLearner } from "./learner.js";
import { loadLearnedState } from "./state-store.js";
import { labelled, noisyMeta, reviewers, useLearnStore } from "./test-support.js";

let store: TempStore;
let clock: ManualClock;
useLearnStore((options) => createSqliteStorage(options), (s, c) => { store = s; clock = c; });

const noisy: PolicyMeta = noisyMeta;

/** The storage, running `during` once just after the first read of the feedback collection. */
function interleaved(storage: Storage, during: () => Promise<unknown>): Storage {
  let pending = true;
  return new Proxy(storage, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver) as unknown;
      if (prop !== "listDocs" || typeof value !== "function") return typeof value === "function" ? (value as (...a: unknown[]) => unknown).bind(target) : value;
      return async (collection: string, query?: unknown) => {
        const result = await (value as (c: string, q?: unknown) => Promise<unknown>).call(target, collection, query);
        if (collection === FEEDBACK_COLLECTION && pending) {
          pending = false;
          await during();
        }
        return result;
      };
    },
  });
}

describe("learner: concurrent update and reset", () => {
  it("an update that read feedback before another process reset does not bring the discarded feedback back", async () => {
    const { storage } = store;
    await labelled(storage, clock, noisy, { principal: "n", count: 10, label: "false_positive", by: reviewers, prefix: "a" });
    const other = createLearner({ storage, clock, policy: () => noisy });
    expect((await other.update()).state.entries.some((e) => (e.tierShift ?? 0) < 0)).toBe(true);
    clock.advance(60_000);
    const resetter = createLearner({ storage, clock, policy: () => noisy });
    const updater = createLearner({ storage: interleaved(storage, () => resetter.reset(reviewers[0] as never, "wrong labels")), clock, policy: () => noisy });
    const { state } = await updater.update();
    const head = await loadLearnedState(storage);
    expect(head.state?.version).toBe(state.version);
    expect(head.state?.parent).toBe(2); // on top of the reset
    expect(state.feedbackSince).toBe(resetter.current()?.feedbackSince);
    expect(state.entries).toEqual([]); // the feedback the reset discarded is not learned again
    expect(state.feedbackUsed).toBe(0);
  });
});

describe("learner: recovery from a malformed head", () => {
  it("the next update after a malformed head writes a fresh version after the stored ones instead of failing on version 1", async () => {
    const { storage } = store;
    await labelled(storage, clock, noisy, { principal: "n", count: 10, label: "false_positive", by: reviewers, prefix: "a" });
    const learner = createLearner({ storage, clock, policy: () => noisy });
    await learner.update();
    clock.advance(60_000);
    await learner.update();
    await storage.putDocs([{ collection: "learn.state", id: "head", value: { nothing: true } }], clock.iso());
    const restarted = createLearner({ storage, clock, policy: () => noisy });
    expect((await restarted.start()).status).toBe("corrupt");
    clock.advance(60_000);
    const recovered = (await restarted.update()).state;
    expect([recovered.version, recovered.parent]).toEqual([3, null]);
    expect((await loadLearnedState(storage)).status).toBe("ok");
    clock.advance(60_000);
    await storage.putDocs([{ collection: "learn.state", id: "head", value: { version: "x" } }], clock.iso());
    const reset = await restarted.reset(reviewers[0] as never, "start over");
    expect(reset.version).toBe(4);
    expect((await loadLearnedState(storage)).state?.version).toBe(4);
  });
});
