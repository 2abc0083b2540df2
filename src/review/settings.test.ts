import { afterEach, describe, expect, it } from "vitest";
import { createSqliteStorage } from "../store/sqlite/index.js";
import { createExecutor } from "../act/executor.js";
import { createTempStore, type TempStore } from "../act/test-support.js";
import { manualClock } from "../decide/test-support.js";
import { createReviewService } from "./review-service.js";

describe("review settings (config `review`)", () => {
  let store: TempStore | undefined;
  afterEach(async () => { await store?.dispose(); store = undefined; });

  it("refuses settings that would silently widen what a person may allow, naming the field", async () => {
    const temp = await createTempStore(createSqliteStorage);
    store = temp;
    const clock = manualClock("2025-02-03T10:00:00.000Z");
    const executor = createExecutor({ storage: temp.storage, clock, actuators: [] });
    const cases: [Record<string, unknown>, string][] = [
      // "90d" or NaN would leave exceptions unbounded (now + NaN days is no bound).
      [{ maxExceptionDays: "90d" }, "review.maxExceptionDays"],
      [{ maxExceptionDays: Number.NaN }, "review.maxExceptionDays"],
      [{ maxExceptionDays: 0 }, "review.maxExceptionDays"],
      [{ maxOverrideDays: "7d" }, "review.maxOverrideDays"],
      [{ maxOverrideDays: -1 }, "review.maxOverrideDays"],
      // A severity spelt otherwise never matches: the two-person rule would be off without a word.
      [{ twoPersonRule: { severities: ["High"] } }, "review.twoPersonRule.severities"],
      [{ twoPersonRule: { severities: "high" } }, "review.twoPersonRule.severities"],
      [{ twoPersonRule: { approvals: "yes" } }, "review.twoPersonRule.approvals"],
      [{ twoPersonRule: ["high"] }, "review.twoPersonRule"],
      // A gap above the lowest severity listed: a critical override would need one approver where a
      // high one needs two.
      [{ twoPersonRule: { severities: ["high"] } }, "review.twoPersonRule.severities"],
      [{ twoPersonRule: { severities: ["medium", "critical"] } }, "review.twoPersonRule.severities"],
      [{ defaultNotify: "#security" }, "review.defaultNotify"],
    ];
    for (const [settings, field] of cases) {
      expect(() => createReviewService({ storage: temp.storage, clock, executor, ...settings }), field)
        .toThrow(expect.objectContaining({ code: "VIGIL_BAD_CONFIG", details: expect.objectContaining({ field }), message: expect.stringContaining(field) }));
    }
    expect(() => createReviewService({ storage: temp.storage, clock, executor, twoPersonRule: { severities: ["high"] } })).toThrow(/lists high but not critical.*\["high","critical"\]/);
    expect(() => createReviewService({ storage: temp.storage, clock, executor, twoPersonRule: { severities: ["critical", "high"] } })).not.toThrow();
    expect(() => createReviewService({ storage: temp.storage, clock, executor, twoPersonRule: { severities: [] } })).not.toThrow();
    const ok = createReviewService({ storage: temp.storage, clock, executor, maxExceptionDays: 30, maxOverrideDays: 2, twoPersonRule: { severities: ["critical"], approvals: true }, defaultNotify: ["#security"] });
    const admin = { id: "ada", roles: ["admin"] };
    const input = { policies: ["p"], justification: "public website bucket by design" };
    await expect(ok.exceptions.create({ ...input, expiresAt: "2025-03-06T10:00:00Z" }, admin)).rejects.toThrow(/more than 30 days away/);
    expect((await ok.exceptions.create({ ...input, expiresAt: "2025-03-04T10:00:00Z" }, admin)).id).toBe("EX-1");
  });
});
