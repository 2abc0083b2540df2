import { describe, expect, it } from "vitest";
import { checkGroup, checkSubject, patternCovers, subjectMatches } from "./subject.js";

describe("bus subjects", () => {
  it("matches NATS-style wildcards", () => {
    expect(subjectMatches("a.b.c", "a.b.c")).toBe(true);
    expect(subjectMatches("a.*.c", "a.x.c")).toBe(true);
    expect(subjectMatches("a.*.c", "a.x.y.c")).toBe(false);
    expect(subjectMatches("a.>", "a.x")).toBe(true);
    expect(subjectMatches("a.>", "a.x.y.z")).toBe(true);
    expect(subjectMatches("a.>", "a")).toBe(false);
    expect(subjectMatches("a.*", "a")).toBe(false);
    expect(subjectMatches("a.b", "a.b.c")).toBe(false);
    expect(subjectMatches("*", "a")).toBe(true);
  });

  it("accepts wildcards only in patterns, and only where NATS does", () => {
    expect(() => checkSubject("vigil.events", "subject", false)).not.toThrow();
    expect(() => checkSubject("vigil.*", "subject", false)).toThrow(/not a valid bus subject/);
    expect(() => checkSubject("vigil.*", "subject", true)).not.toThrow();
    expect(() => checkSubject("vigil.>", "subject", true)).not.toThrow();
    expect(() => checkSubject("vigil.>.x", "subject", true)).toThrow(/not a valid/);
    for (const bad of ["", "a..b", ".a", "a b", "a.b*"]) expect(() => checkSubject(bad, "subject", true)).toThrow(/not a valid/);
  });

  it("tells whether one pattern covers everything another matches", () => {
    expect(patternCovers("a.>", "a.>")).toBe(true);
    expect(patternCovers("a.>", "a.b.>")).toBe(true);
    expect(patternCovers(">", "a.>")).toBe(true);
    expect(patternCovers("*.>", "a.>")).toBe(true);
    expect(patternCovers("a.>", "b.>")).toBe(false);
    expect(patternCovers("a.b.>", "a.>")).toBe(false);
    expect(patternCovers("a.*", "a.>")).toBe(false);
    expect(patternCovers("a.*", "a.x")).toBe(true);
    expect(patternCovers("a.x", "a.*")).toBe(false);
    expect(patternCovers("a.>", "a")).toBe(false);
  });

  it("accepts group names that can name a durable consumer", () => {
    expect(() => checkGroup("decide-workers_1")).not.toThrow();
    for (const bad of ["", "a.b", "a b", "x".repeat(65)]) expect(() => checkGroup(bad)).toThrow(/durable consumer/);
  });
});
