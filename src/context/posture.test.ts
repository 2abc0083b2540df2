import { describe, expect, it } from "vitest";
import { EventTypes } from "../core/event.js";
import { isVigilError } from "../core/errors.js";
import { cloudTrailFixture, makeEvent } from "./fixtures.test-support.js";
import { createContextStage } from "./stage.js";
import { createManualClock, createMemoryDocStorage } from "./test-support.js";

const t0 = Date.parse("2025-03-03T12:00:00Z");
const MINUTE = 60_000;
const inAccount = () => cloudTrailFixture("event-cloud-trail-s3.json");

describe("posture", () => {
  it("effective posture = strictest unexpired among org and the event's scopes; expiry follows the clock", async () => {
    const clock = createManualClock(t0);
    const storage = createMemoryDocStorage();
    const stage = createContextStage({ storage, clock });
    expect((await stage.build(inAccount())).posture).toMatchObject({ level: "normal", scope: "org" });
    await stage.posture.set({ scope: "org", level: "elevated", reason: "launch week", until: new Date(t0 + 60 * MINUTE).toISOString(), setBy: "cto" });
    await stage.posture.set({ scope: "account:101010101111", level: "incident", reason: "INC-42 leaked key", until: new Date(t0 + 30 * MINUTE).toISOString(), setBy: "secops" });
    await stage.posture.set({ scope: "account:999", level: "freeze", reason: "other account", setBy: "secops" });

    const during = (await stage.build(inAccount())).posture;
    expect(during).toMatchObject({ level: "incident", scope: "account:101010101111", reason: "INC-42 leaked key", setBy: "secops" });
    clock.advance(31 * MINUTE);
    expect((await stage.build(inAccount())).posture).toMatchObject({ level: "elevated", scope: "org", setBy: "cto", reason: "launch week" });
    clock.advance(30 * MINUTE);
    expect((await stage.build(inAccount())).posture).toMatchObject({ level: "normal", scope: "org" });
    // An event without scopes sees only org.
    expect((await stage.build(makeEvent("com.example.other", {}))).posture.level).toBe("normal");
    expect((await stage.posture.list()).map((posture) => posture.scope)).toEqual(["account:999"]);
    expect(storage.audit.filter((entry) => entry.action === "posture.set").map((entry) => entry.actor)).toEqual(["cto", "secops", "secops"]);
  });

  it("a narrower normal does not lift a stricter org posture; equal levels report the narrower scope", async () => {
    const clock = createManualClock(t0);
    const stage = createContextStage({ storage: createMemoryDocStorage(), clock });
    await stage.posture.set({ scope: "org", level: "incident", setBy: "a" });
    await stage.posture.set({ scope: "account:101010101111", level: "normal", setBy: "b" });
    expect((await stage.build(inAccount())).posture).toMatchObject({ level: "incident", scope: "org" });
    await stage.posture.set({ scope: "account:101010101111", level: "incident", setBy: "b" });
    expect((await stage.build(inAccount())).posture.scope).toBe("account:101010101111");
    expect(await stage.posture.effective(["namespace:prod"])).toMatchObject({ level: "incident", scope: "org" });
  });

  it("dev.vigil.posture events set it (after evaluation), with who and why; bad ones are reported, not thrown", async () => {
    const clock = createManualClock(t0);
    const storage = createMemoryDocStorage();
    const stage = createContextStage({ storage, clock });
    const event = makeEvent(EventTypes.posture, { level: "freeze", reason: "year-end freeze", until: "2025-03-04T00:00:00Z" }, { subject: "repo:acme/payments", source: "/change-calendar" });
    const context = await stage.build(event);
    expect(context.posture.level).toBe("normal");
    stage.observe(event, context);
    await stage.flush();
    const pr = makeEvent(EventTypes.dependencyChange, { repo: "acme/payments", ref: "refs/pull/1/head", base: {}, head: {}, path: "package-lock.json" });
    expect((await stage.build(pr)).posture).toMatchObject({ level: "freeze", scope: "repo:acme/payments", setBy: "/change-calendar", reason: "year-end freeze", until: "2025-03-04T00:00:00.000Z" });

    const bad = makeEvent(EventTypes.posture, { level: "panic" }, { subject: "org" });
    stage.observe(bad, await stage.build(bad));
    const expired = makeEvent(EventTypes.posture, { level: "incident", until: "2025-03-01T00:00:00Z" });
    stage.observe(expired, await stage.build(expired));
    await stage.flush();
    expect(stage.stats().postureErrors).toHaveLength(2);
    expect(stage.stats().postureErrors[0]).toContain("posture.level must be one of normal, elevated, incident, freeze");
    expect(stage.stats().postureErrors[1]).toContain("posture.until");
    expect((await stage.posture.effective([])).level).toBe("normal");

    // An expiry the event gives in another form (epoch seconds) is an error naming it, not a freeze without end.
    const epoch = makeEvent(EventTypes.posture, { level: "freeze", reason: "release window", until: Math.floor(Date.parse("2025-03-05T00:00:00Z") / 1000) }, { subject: "org" });
    stage.observe(epoch, await stage.build(epoch));
    await stage.flush();
    expect(stage.stats().postureErrors).toHaveLength(3);
    expect(stage.stats().postureErrors[2]).toContain("posture.until must be an RFC 3339 time");
    expect((await stage.posture.effective([])).level).toBe("normal");

    // A scope the event gives in another form is an error naming it, not a posture for the whole org.
    const listed = makeEvent(EventTypes.posture, { level: "freeze", reason: "INC-9", scope: ["account:101010101111"] });
    stage.observe(listed, await stage.build(listed));
    await stage.flush();
    expect(stage.stats().postureErrors).toHaveLength(4);
    expect(stage.stats().postureErrors[3]).toContain("posture.scope must be");
    expect((await stage.posture.effective([])).level).toBe("normal");

    // Postures survive a restart (stored).
    const restarted = createContextStage({ storage, clock });
    expect((await restarted.build(pr)).posture.level).toBe("freeze");
  });

  it("a posture event older than the scope's current posture (arriving late) does not replace it", async () => {
    const clock = createManualClock(t0 + 10 * MINUTE);
    const stage = createContextStage({ storage: createMemoryDocStorage(), clock });
    const newer = makeEvent(EventTypes.posture, { level: "elevated", reason: "incident over, watching" }, { subject: "org", time: new Date(t0 + 5 * MINUTE).toISOString() });
    const older = makeEvent(EventTypes.posture, { level: "freeze", reason: "INC-7" }, { subject: "org", time: new Date(t0).toISOString() });
    stage.observe(newer, await stage.build(newer));
    await stage.flush();
    stage.observe(older, await stage.build(older));
    await stage.flush();
    expect(await stage.posture.effective([])).toMatchObject({ level: "elevated", reason: "incident over, watching", since: new Date(t0 + 5 * MINUTE).toISOString() });
    expect(stage.stats().postureErrors).toHaveLength(1);
    expect(stage.stats().postureErrors[0]).toContain("older than");
    // A later event, even one observed after the clock moved on, applies.
    clock.advance(10 * MINUTE);
    const later = makeEvent(EventTypes.posture, { level: "normal" }, { subject: "org", time: new Date(t0 + 12 * MINUTE).toISOString() });
    stage.observe(later, await stage.build(later));
    await stage.flush();
    expect((await stage.posture.effective([])).level).toBe("normal");
    // The API sets a posture now; an event from before that does not undo it.
    await stage.posture.set({ scope: "org", level: "incident", setBy: "ana" });
    const stale = makeEvent(EventTypes.posture, { level: "normal" }, { subject: "org", time: new Date(t0 + 15 * MINUTE).toISOString() });
    stage.observe(stale, await stage.build(stale));
    await stage.flush();
    expect(await stage.posture.effective([])).toMatchObject({ level: "incident", setBy: "ana" });
  });

  it("a restart loads every stored posture, also past the first 10,000 (per-namespace postures pile up; the org freeze sorts after them)", async () => {
    const storage = createMemoryDocStorage();
    const expired = new Date(t0 - MINUTE).toISOString();
    const docs = Array.from({ length: 10_001 }, (_, index) => {
      const scope = `namespace:pr-${String(index).padStart(5, "0")}`;
      return { collection: "posture", id: scope, value: { level: "freeze", scope, since: new Date(t0 - 60 * MINUTE).toISOString(), until: expired } };
    });
    await storage.putDocs([...docs, { collection: "posture", id: "org", value: { level: "freeze", scope: "org", reason: "year-end freeze", since: new Date(t0).toISOString() } }], new Date(t0).toISOString());
    const stage = createContextStage({ storage, clock: createManualClock(t0 + MINUTE) });
    expect(await stage.posture.effective([])).toMatchObject({ level: "freeze", scope: "org", reason: "year-end freeze" });
  });

  it("repo scopes match whatever the case (GitHub names are case-insensitive; webhooks send the canonical Acme/Payments)", async () => {
    const storage = createMemoryDocStorage();
    const stage = createContextStage({ storage, clock: createManualClock(t0) });
    await stage.posture.set({ scope: "repo:acme/payments", level: "freeze", reason: "release", setBy: "ana" });
    const push = makeEvent("com.github.push", { repository: { full_name: "Acme/Payments" }, sender: { login: "bob" } });
    expect((await stage.build(push)).posture).toMatchObject({ level: "freeze", reason: "release" });
    expect((await stage.posture.effective(["repo:ACME/payments"])).level).toBe("freeze");
    // Setting it again in another case replaces it (one posture per repo), also after a restart.
    await stage.posture.set({ scope: "repo:Acme/Payments", level: "normal", setBy: "ana" });
    expect((await stage.build(push)).posture.level).toBe("normal");
    const restarted = createContextStage({ storage, clock: createManualClock(t0 + MINUTE) });
    expect((await restarted.build(push)).posture.level).toBe("normal");
    expect(await restarted.posture.list()).toHaveLength(1);
  });

  it("a scope with white space (a pasted account id) is refused, not stored as a posture no event ever matches", async () => {
    const stage = createContextStage({ storage: createMemoryDocStorage(), clock: createManualClock(t0) });
    for (const scope of ["account:101010101111 ", "account: 101010101111", "namespace:prod\n"]) {
      await expect(stage.posture.set({ scope, level: "freeze", setBy: "ana" })).rejects.toMatchObject({ code: "VIGIL_BAD_INPUT", details: { field: "scope" }, message: expect.stringContaining("white space") });
    }
    expect(await stage.posture.list()).toEqual([]);
    await stage.posture.set({ scope: "account:101010101111", level: "freeze", setBy: "ana" });
    expect((await stage.build(inAccount())).posture).toMatchObject({ level: "freeze", scope: "account:101010101111" });
  });

  it("the API validates and names the field", async () => {
    const stage = createContextStage({ storage: createMemoryDocStorage(), clock: createManualClock(t0) });
    const attempts = [
      { scope: "team:x", level: "elevated" },
      { scope: "org", level: "red" },
      { scope: "org", level: "elevated", until: "tomorrow" },
      { scope: "repo:noslash", level: "elevated" },
      // Without an offset Date.parse reads the server's local time: the freeze would end hours early or late.
      { scope: "org", level: "elevated", until: "2025-03-03T18:00" },
      { scope: "org", level: "elevated", until: "2025-03-03T18:00:00" },
      { scope: "org", level: "elevated", until: "March 4, 2025" },
    ] as const;
    const fields: string[] = [];
    for (const attempt of attempts) {
      try {
        await stage.posture.set(attempt as never);
      } catch (error) {
        if (isVigilError(error)) fields.push(`${error.code}:${error.details.field ?? ""}`);
      }
    }
    expect(fields).toEqual(["VIGIL_BAD_INPUT:scope", "VIGIL_BAD_INPUT:level", "VIGIL_BAD_INPUT:until", "VIGIL_BAD_INPUT:scope", "VIGIL_BAD_INPUT:until", "VIGIL_BAD_INPUT:until", "VIGIL_BAD_INPUT:until"]);
    // With an offset (or Z) it is one instant, stored in UTC.
    expect(await stage.posture.set({ scope: "org", level: "elevated", until: "2025-03-03T18:00:00+01:00" })).toMatchObject({ until: "2025-03-03T17:00:00.000Z" });
  });
});
