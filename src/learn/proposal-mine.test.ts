import { describe, expect, it } from "vitest";
import { bestCondition, testViolations } from "./proposal-mine.js";

describe("testViolations: the policy's own tests that expect the rule's violation", () => {
  const publicBucket = { input: { acl: "public-read", owner: "data" } };
  it("reads violations written as rule or policy/rule, as the test runner does", () => {
    const tests = [
      { ...publicBucket, expect: { violations: ["public-bucket/no-public"] } },
      { input: { acl: "public-read", owner: "ops" }, expect: { violations: ["no-public"] } },
      { input: { acl: "private" }, expect: { violations: ["other-policy/no-public"] } },
      { input: { acl: "private" }, expect: { violations: [] } },
    ];
    expect(testViolations(tests, "public-bucket", "no-public").map((t) => t.input)).toEqual([publicBucket.input, { acl: "public-read", owner: "ops" }]);
  });

  it("a test case written policy/rule keeps the miner from proposing the rule's own condition", () => {
    const overridden = [1, 2, 3].map((i) => ({ decision: { id: `d-${i}`, input: { acl: "public-read", owner: `team-${i}` } } as never, refs: [], reasons: [] }));
    const tested = testViolations([{ ...publicBucket, expect: { violations: ["public-bucket/no-public"] } }], "public-bucket", "no-public").map((decision) => ({ decision, confirmed: true }));
    expect(bestCondition({ overridden, others: tested })).toBeUndefined();
  });
});

describe("bestCondition: masked inputs", () => {
  // The decision record redacts configured paths: the marker is what was stored, never what a live event carries.
  const masked = (i: number, owner: string) => ({
    decision: { id: `m-${i}`, input: { token: "**HIDDEN**", owner, note: "**HIDDEN**" }, masking: { redacted: ["/input/token"], scrubbed: 1 } } as never, refs: [], reasons: [],
  });

  it("never proposes a condition on a redaction marker (it would never hold for a live event)", () => {
    expect(bestCondition({ overridden: [masked(1, "a"), masked(2, "b"), masked(3, "c")], others: [] })).toBeUndefined();
    expect(bestCondition({ overridden: [masked(1, "web"), masked(2, "web"), masked(3, "web")], others: [] })?.when).toBe('input.owner == "web"');
  });
});
