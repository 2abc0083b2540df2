import { describe, expect, it } from "vitest";
import type { Finding } from "../core/finding.js";
import { EntityRecord, HISTORY_DAYS, validateEntityUpdate } from "./entity-store.js";

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

  it("counts violations per day as the map-and-sort method did (random lists, in order or not, gaps, duplicates, NaN)", () => {
    const reference = (days: readonly (readonly [number, number])[], day: number, added: number): (readonly [number, number])[] => {
      const counts = new Map<number, number>(days.map(([d, c]) => [d, c]));
      counts.set(day, (counts.get(day) ?? 0) + added);
      const latest = Math.max(...counts.keys());
      return [...counts.entries()].filter(([d]) => d > latest - HISTORY_DAYS).sort((a, b) => a[0] - b[0]);
    };
    let seed = 7;
    const random = (n: number): number => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed % n;
    };
    for (let trial = 0; trial < 2_000; trial++) {
      const record = new EntityRecord("principal/ana");
      const length = random(8);
      const start = 20_000 + random(100);
      const days: [number, number][] = [];
      for (let i = 0; i < length; i++) days.push([trial % 3 === 0 ? start + random(60) : start + i * (1 + random(20)), 1 + random(5)]);
      if (trial % 50 === 0) days.push([Number.NaN, 1]);
      record.violationDays = days;
      const at = (start + random(120) - 20) * 86_400_000 + random(86_400_000);
      const expected = reference(days, Math.floor(at / 86_400_000), 2);
      record.recordFindings([violation("a"), violation("b")], at);
      expect(record.violationDays).toEqual(expected);
    }
  });
});

describe("validateEntityUpdate", () => {
  it("says why attrs cannot be stored: a circular reference, or nesting too deep, naming the fix", () => {
    const circular: Record<string, unknown> = { a: 1 };
    circular["self"] = circular;
    expect(() => validateEntityUpdate({ kind: "service", id: "s1", attrs: circular })).toThrow(/entity\.attrs refers to itself \(a circular reference\)/);
    let deep: unknown = 1;
    for (let level = 0; level < 20_000; level++) deep = { d: deep };
    expect(() => validateEntityUpdate({ kind: "service", id: "s1", attrs: { deep } })).toThrow(/entity\.attrs is nested too deeply .*keep attributes a few levels deep/);
    expect(() => validateEntityUpdate({ kind: "service", id: "s1", attrs: { team: "payments" } })).not.toThrow();
  });
});

describe("validateEntityUpdate: well-known attributes", () => {
  const field = (attrs: Record<string, unknown>): string | undefined => {
    try {
      validateEntityUpdate({ kind: "resource", id: "i-1", attrs });
      return undefined;
    } catch (error) {
      return `${(error as { code?: string }).code} ${(error as { details?: { field?: string } }).details?.field} ${(error as Error).message}`;
    }
  };

  it("refuses a criticality, schedule or onCall that evaluation would ignore, naming the attribute and the fix", () => {
    // A misspelt criticality counted as no criticality in risk; a bad schedule was only a factor at evaluation.
    expect(field({ criticality: "hgih" })).toMatch(/^VIGIL_BAD_INPUT attrs\.criticality entity\.attrs\.criticality must be one of low, medium, high, critical/);
    expect(field({ schedule: "every sunday" })).toMatch(/^VIGIL_BAD_INPUT attrs\.schedule .*needs 5 fields/);
    expect(field({ onCall: { cron: "0 0 * * SAT", duration: "forever" } })).toMatch(/^VIGIL_BAD_INPUT attrs\.onCall\.duration /);
    expect(field({ criticality: "High", schedule: "0 2 * * *", onCall: ["0 0 * * SAT 48h", { from: "2025-01-06T08:00:00Z", until: "2025-01-06T20:00:00Z" }] })).toBeUndefined();
    // null removes the attribute.
    expect(field({ criticality: null, schedule: null })).toBeUndefined();
  });
});
