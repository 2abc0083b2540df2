import { afterEach, describe, expect, it } from "vitest";
import { createSqliteStorage } from "../store/sqlite/index.js";
import { HOUR } from "../decide/test-support.js";
import { admin, bucketPolicy, createLoop, type Loop } from "./test-support.js";
import { createReviewService } from "./review-service.js";

describe("safe default of a policy removed since its review opened", () => {
  let loop: Loop;
  afterEach(async () => { await loop.dispose(); });

  it("a remediate safe default does not run the actions of a policy that no longer exists: they are skipped, and the reason says why", async () => {
    const ladder = `    safeDefault: remediate\n  escalation:\n    - notify: ["#cloud-security"]\n      after: 30m\n`;
    loop = await createLoop(createSqliteStorage, [bucketPolicy("lock", { tier: "approve", extra: ladder }), bucketPolicy("keep", { tier: "approve", extra: ladder })]);
    await loop.executor.promote("lock", admin);
    await loop.executor.promote("keep", admin);
    await loop.handle({ kind: "lock", bucket: "logs", public: true });
    await loop.handle({ kind: "keep", bucket: "site", public: true });
    // The process restarted with a policy set that no longer has lock.
    const restarted = createReviewService({ storage: loop.storage, clock: loop.clock, executor: loop.executor, policy: (n) => (n === "lock" ? undefined : loop.set.get(n)) });
    loop.clock.advance(HOUR);
    const { expired } = await restarted.tick();
    expect(expired.map((r) => [r.id, r.outcome])).toEqual([["RV-1", "safe-default"], ["RV-2", "safe-default"]]);
    expect(loop.fake.state.has("bucket/logs")).toBe(false);
    expect(expired[0]?.reason).toBe("no answer after 1 escalation level(s): policy lock no longer exists, so its safe default remediate does not run; actions skipped");
    const [action] = await loop.executor.listActions({ policy: "lock" });
    expect(action?.status).toBe("skipped");
    // A policy still loaded keeps its safe default.
    expect(loop.fake.state.get("bucket/site")).toBe("private");
  });
});
