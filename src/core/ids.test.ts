import { describe, expect, it } from "vitest";
import { timeOrderedId } from "./ids.js";

const V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describe("timeOrderedId (UUID v7)", () => {
  it("has the UUID v7 form and carries the time in its first 48 bits", () => {
    const at = Date.UTC(2026, 10, 26, 16, 30, 0, 123);
    const id = timeOrderedId(at);
    expect(id).toMatch(V7);
    expect(Number.parseInt(id.slice(0, 8) + id.slice(9, 13), 16)).toBe(at);
    expect(timeOrderedId(0).slice(0, 13)).toBe("00000000-0000");
    expect(Number.parseInt(timeOrderedId(2 ** 48 - 1).slice(0, 8), 16)).toBe(0xffffffff);
  });

  it("sorts by time as text, across milliseconds, and never repeats", () => {
    const base = Date.UTC(2026, 0, 1);
    const ids: string[] = [];
    // more ids than the random pool holds, so the pool is refilled in between
    for (let i = 0; i < 2000; i++) ids.push(timeOrderedId(base + Math.floor(i / 3)));
    for (let i = 3; i < ids.length; i += 3) expect((ids[i] as string) > (ids[i - 1] as string)).toBe(true);
    expect(new Set(ids).size).toBe(ids.length);
    for (const id of ids) expect(id).toMatch(V7);
  });

  it("uses the current time by default", () => {
    const before = Date.now();
    const id = timeOrderedId();
    const after = Date.now();
    const ms = Number.parseInt(id.slice(0, 8) + id.slice(9, 13), 16);
    expect(ms).toBeGreaterThanOrEqual(before);
    expect(ms).toBeLessThanOrEqual(after);
  });
});
