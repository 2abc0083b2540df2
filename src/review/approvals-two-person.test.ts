import { afterEach, describe, expect, it } from "vitest";
import { createSqliteStorage } from "../store/sqlite/index.js";
import { admin, approver, approver2, bucketPolicy, createLoop, type Loop } from "./test-support.js";

// Two-person rule on approvals: every action that runs was approved by two different people.
describe("two-person rule on approvals", () => {
  let loop: Loop;
  afterEach(async () => { await loop.dispose(); });

  it("actions sent for approval after the first approval do not join that review: a second approver alone never runs them", async () => {
    loop = await createLoop(createSqliteStorage, [bucketPolicy("lock", { tier: "approve" })], { twoPersonRule: { approvals: true } });
    await loop.executor.promote("lock", admin);
    const { outcome } = await loop.handle({ kind: "lock", bucket: "logs", public: true });
    await loop.review.approve("RV-1", approver, "looks right");
    // The enforcement ladder sends a held action of the same decision later.
    const held = { ...(outcome.records[0] as (typeof outcome.records)[number]), id: "act-held", status: "pending-approval" as const };
    const [later] = await loop.review.enqueue(outcome.draft, [...outcome.records, held]);
    expect(later).toMatchObject({ id: "RV-2", status: "pending", actionIds: ["act-held"], twoPersonRequired: true });
    expect(later?.approvals).toBeUndefined();
    expect(await loop.review.get("RV-1")).toMatchObject({ actionIds: [outcome.records[0]?.id], approvals: [{ by: "ann" }] });
    // Idempotent: the same actions again find the same reviews.
    expect((await loop.review.enqueue(outcome.draft, [...outcome.records, held])).map((r) => r.id)).toEqual(["RV-2"]);
    const second = await loop.review.approve("RV-1", approver2, "agreed");
    expect(second.actions.map((a) => a.id)).toEqual([outcome.records[0]?.id]);
    expect(await loop.review.get("RV-2")).toMatchObject({ status: "pending" });
  });
});
