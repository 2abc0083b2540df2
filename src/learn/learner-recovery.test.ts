import { describe, expect, it } from "vitest";
import type { TempStore } from "../act/test-support.js";
import type { ManualClock } from "../decide/test-support.js";
import { createSqliteStorage } from "../store/sqlite/index.js";
import { createLearner } from "./learner.js";
import { LEARN_COLLECTION, versionId } from "./state-store.js";
import { labelled, noisyMeta, reviewers, useLearnStore } from "./test-support.js";

let store: TempStore;
let clock: ManualClock;
useLearnStore((options) => createSqliteStorage(options), (s, c) => { store = s; clock = c; });

describe("learner: recovering from a corrupt head after a reset", () => {
  it("the update that recovers keeps ignoring the feedback a reset discarded", async () => {
    const { storage } = store;
    await labelled(storage, clock, noisyMeta, { principal: "n", count: 10, label: "false_positive", by: reviewers, prefix: "old" });
    const learner = createLearner({ storage, clock, policy: () => noisyMeta });
    expect((await learner.update()).state.entries.some((e) => (e.riskDelta ?? 0) < 0)).toBe(true);
    clock.advance(60_000);
    const reset = await learner.reset(reviewers[0] as never, "wrong detector settings");
    clock.advance(60_000);
    const after = (await learner.update()).state;
    expect([after.entries, after.feedbackSince]).toEqual([[], reset.feedbackSince]);

    // The newest version is edited outside Vigil: the head is corrupt.
    const doc = await storage.getDoc<{ state: { reason: string }; checksum: string }>(LEARN_COLLECTION, versionId(after.version));
    const tampered = structuredClone(doc?.value) as { state: { reason: string }; checksum: string };
    tampered.state.reason = "edited";
    await storage.putDocs([{ collection: LEARN_COLLECTION, id: versionId(after.version), value: tampered }], clock.iso());

    const restarted = createLearner({ storage, clock, policy: () => noisyMeta, onProblem: () => undefined });
    expect((await restarted.start()).status).toBe("corrupt");
    clock.advance(60_000);
    const recovered = (await restarted.update()).state;
    // The reset is still in force: nothing learned from the feedback before it.
    expect(recovered.feedbackSince).toBe(reset.feedbackSince);
    expect(recovered.entries).toEqual([]);
  });
});
