import { describe, expect, it } from "vitest";
import { createSqliteStorage } from "../store/sqlite/index.js";
import type { TempStore } from "../act/test-support.js";
import type { ManualClock } from "../decide/test-support.js";
import { createLearner } from "./learner.js";
import type { LearnerSettings } from "./types.js";
import { useLearnStore } from "./test-support.js";

let store: TempStore;
let clock: ManualClock;
useLearnStore((options) => createSqliteStorage(options), (s, c) => { store = s; clock = c; });

const refused = (settings: unknown, field: string, message: RegExp): void => {
  expect(() => createLearner({ storage: store.storage, clock, settings: settings as Partial<LearnerSettings> })).toThrow(expect.objectContaining({ code: "VIGIL_BAD_CONFIG", details: expect.objectContaining({ field }), message: expect.stringMatching(message) }));
};

describe("createLearner checks the settings a library caller passes (VIGIL_BAD_CONFIG naming the field)", () => {
  it("refuses a Beta prior of 0 (its credible bounds would be NaN, an all-true-positive slice would read lower bound 0)", () => {
    refused({ prior: { alpha: 1, beta: 0 } }, "settings.prior.beta", /settings\.prior\.beta must be a positive number, got 0/);
    refused({ prior: { alpha: -1 } }, "settings.prior.alpha", /must be a positive number/);
  });

  it("refuses out-of-range, mistyped and unknown settings", () => {
    refused({ credible: 1.5 }, "settings.credible", /must be a number above 0 and at most 1/);
    refused({ maxPerReviewer: 0 }, "settings.maxPerReviewer", /whole number of at least 1/);
    refused({ halfLifeDays: Number.NaN }, "settings.halfLifeDays", /number of days/);
    refused({ ignoreActors: "bot-*" }, "settings.ignoreActors", /list of actor names or globs/);
    refused({ minReviwers: 3 }, "settings.minReviwers", /is not a learner setting; use one of prior, credible/);
    refused({ toString: 1 }, "settings.toString", /is not a learner setting/);
    refused([], "settings", /must be a map of learner settings/);
  });

  it("keeps valid settings (a partial prior merges with the default)", async () => {
    const learner = createLearner({ storage: store.storage, clock, settings: { prior: { alpha: 2 } as LearnerSettings["prior"], halfLifeDays: 0, ignoreActors: ["bot-*"] } });
    const { state } = await learner.update();
    expect(state.settings.prior).toEqual({ alpha: 2, beta: 1 });
    expect(state.settings.halfLifeDays).toBe(0);
  });
});
