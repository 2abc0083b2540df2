import { describe, expect, it } from "vitest";
import type { Finding } from "../core/finding.js";
import { EntityRecord } from "./entity-store.js";

const violation = (rule: string): Finding => ({ policy: "p", rule, effect: "violation", mode: "warn", message: rule }) as unknown as Finding;
const day = Date.parse("2025-01-06T00:00:00Z");

describe("EntityRecord.recordFindings", () => {
  it("keeps the recent findings newest first, in time order or not, the latest of one call first", () => {
    const record = new EntityRecord("principal/ana");
    record.recordFindings([violation("a"), violation("b")], day + 1_000);
    record.recordFindings([violation("c")], day + 3_000);
    expect(record.recent.map((f) => `${f.rule}@${f.time}`)).toEqual([
      "c@2025-01-06T00:00:03.000Z", "b@2025-01-06T00:00:01.000Z", "a@2025-01-06T00:00:01.000Z",
    ]);
    // An older finding (a late event) goes after the newer ones.
    record.recordFindings([violation("d")], day + 2_000);
    expect(record.recent.map((f) => f.rule)).toEqual(["c", "d", "b", "a"]);
    // A stored list out of order is sorted when something is added.
    record.recent = [{ policy: "p", rule: "x", time: "2025-01-05T00:00:00.000Z", effect: "violation" }, { policy: "p", rule: "y", time: "2025-01-07T00:00:00.000Z", effect: "violation" }];
    record.recordFindings([violation("z")], day);
    expect(record.recent.map((f) => f.rule)).toEqual(["y", "z", "x"]);
    expect(record.history(day).violations30d).toBeGreaterThan(0);
  });
});
