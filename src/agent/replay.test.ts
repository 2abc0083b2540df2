import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parseConfig } from "../config.js";
import type { Event } from "../core/event.js";
import { createAgent } from "./runtime.js";
import { clockFromConfig, createEventClock } from "./clock.js";
import { decisionIdFor } from "./decision-id.js";
import { createReplaySession } from "./replay.js";

const policy = `apiVersion: vigil.dev/v1
kind: Policy
metadata:
  name: idle-widget
spec:
  on: ["com.example.widget"]
  rules:
    - name: idle
      condition: input.idle == true
      message: "widget {{ input.widget }} is idle"
      severity: medium
      effect: warn
  enforcement: { tier: remediate }
  remediation:
    - action: webhook.post
      params: { event: widget.idle }
    - action: kubernetes.scale-to-zero
      params: { namespace: default, name: "{{ input.widget }}" }
`;

function dirWith(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), "vigil-replay-unit-"));
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  return dir;
}

const widget = (id: string, time: string, idle: boolean): Event => ({ specversion: "1.0", id, source: "/widgets", type: "com.example.widget", subject: `widget/${id.split("-")[0]}`, time, data: { widget: id.split("-")[0], idle } });

describe("events clock", () => {
  it("follows later event times only", () => {
    const clock = createEventClock("2026-01-05T00:00:00Z");
    expect(clock.follow("2026-01-05T03:00:00Z")).toBe(Date.parse("2026-01-05T03:00:00Z"));
    clock.follow("2026-01-05T01:00:00Z");
    clock.follow(undefined);
    clock.follow("not a time");
    expect(clock.now().toISOString()).toBe("2026-01-05T03:00:00.000Z");
    expect(() => createEventClock("yesterday")).toThrow(/clock\.start/);
  });

  it("clock.mode events without clock.start starts on the wall clock until the first event time, then follows the stream", () => {
    const { events } = clockFromConfig(parseConfig({ clock: { mode: "events" } }));
    expect(Math.abs((events?.now().getTime() ?? 0) - Date.now())).toBeLessThan(60_000);
    events?.follow("2025-06-01T08:00:00Z");
    expect(events?.now().toISOString()).toBe("2025-06-01T08:00:00.000Z");
    events?.follow("2025-05-01T08:00:00Z");
    expect(events?.now().toISOString()).toBe("2025-06-01T08:00:00.000Z");
    // With clock.start, the stream starts there: an earlier event does not move it back.
    const started = clockFromConfig(parseConfig({ clock: { mode: "events", start: "2025-07-01T00:00:00Z" } })).events;
    started?.follow("2025-06-01T08:00:00Z");
    expect(started?.now().toISOString()).toBe("2025-07-01T00:00:00.000Z");
  });
});

describe("replay session", () => {
  it("decides not enforced with replay ids, previews the actions, and runs the ladder as the stream's time passes", async () => {
    const dir = dirWith({ "p.yaml": policy });
    const session = await createReplaySession({
      config: parseConfig({ policies: [join(dir, "p.yaml")], ladder: { policies: { "idle-widget": { graceBusinessDays: 1, staleAfterHours: 200 } } } }),
    });
    try {
      // Friday 10:00 idle → marked, due Monday 10:00 (one business day); seen again Saturday; Tuesday's event runs the ticks in between.
      const first = await session.push([widget("w1-1", "2026-01-09T10:00:00Z", true), widget("w1-1", "2026-01-09T10:00:00Z", true), widget("w2-1", "2026-01-09T10:05:00Z", false)]);
      expect(first).toHaveLength(2);
      expect(first[0]!.enforced).toBe(false);
      expect(first[0]!.id).not.toBe(decisionIdFor({ source: "/widgets", id: "w1-1" }));
      // The learning labels (bucket, entity...) as the agent records them, so feedback on a recorded replay can be learned from.
      expect(first[0]!.labels).toMatchObject({ source: "replay", "learn.bucket": expect.stringMatching(/^[a-z]+\/[a-z]+\/normal$/) });
      expect(first[0]!.actions.map((a) => [a.actuator, a.dryRun])).toEqual([["webhook.post", true], ["kubernetes.scale-to-zero", true]]);
      expect(first[0]!.explanation.steps.some((s) => /enforcement ladder episode 1 opened: .* due 2026-01-12T10:00:00\.000Z/.test(s.text))).toBe(true);
      await session.push([widget("w1-2", "2026-01-10T10:00:00Z", true)]);
      expect((await session.ladder!.list())[0]?.status).toBe("waiting");
      await session.push([widget("w2-2", "2026-01-13T09:00:00Z", false)]);
      const item = (await session.ladder!.list())[0]!;
      // A replay previews: the mark says so rather than "applied".
      expect(item.status).toBe("previewed");
      expect((await session.executor.getAction(item.actions[0]!))?.status).toBe("dry-run");
      const stats = await session.stats();
      expect(stats).toMatchObject({ events: 5, decisions: 4, duplicates: 1, ladder: { previewed: 1 }, clock: "2026-01-13T09:00:00.000Z" });
      // The notification when the mark opened and the held scale-to-zero at its due time; the second violation sent nothing new.
      expect(stats.actions).toEqual({ "dry-run": 2 });
    } finally {
      await session.close();
    }
  });

  it("a stream whose first event carries no time follows the times of the events after it, not the wall clock", async () => {
    const dir = dirWith({ "p.yaml": policy });
    const session = await createReplaySession({
      config: parseConfig({ policies: [join(dir, "p.yaml")], ladder: { policies: { "idle-widget": { graceBusinessDays: 1, staleAfterHours: 200 } } } }),
    });
    try {
      const { time: _time, ...untimed } = widget("w0-1", "2026-01-09T09:00:00Z", false);
      await session.push([untimed]);
      const [marked] = await session.push([widget("w1-1", "2026-01-09T10:00:00Z", true)]);
      expect(marked!.time).toBe("2026-01-09T10:00:00.000Z");
      expect(session.clock.now().toISOString()).toBe("2026-01-09T10:00:00.000Z");
      // The scheduler runs as the stream's time passes: Tuesday's event runs (previews) the mark due Monday 10:00.
      await session.push([widget("w2-2", "2026-01-13T09:00:00Z", false)]);
      expect((await session.ladder!.list())[0]?.status).toBe("previewed");
      expect((await session.stats()).clock).toBe("2026-01-13T09:00:00.000Z");
    } finally {
      await session.close();
    }
  });

  it("imports the setup before the first event, at the first event's time, and reports bad items", async () => {
    const dir = dirWith({ "p.yaml": policy });
    const session = await createReplaySession({
      config: parseConfig({ policies: [join(dir, "p.yaml")] }),
      setup: () => ({
        entities: [{ kind: "subject", id: "widget/w1", attrs: { owner: "ana" } }],
        exceptions: [
          { id: "EX-W", policies: ["idle-widget"], subjects: ["widget/w1"], justification: "kept warm for the launch", expiresAt: "2026-01-20T00:00:00Z" },
          { id: "EX-OLD", policies: ["idle-widget"], justification: "expired before the stream starts", expiresAt: "2026-01-01T00:00:00Z" },
        ],
      }),
    });
    try {
      const [decision] = await session.push([widget("w1-1", "2026-01-09T10:00:00Z", true)]);
      expect(decision!.verdict).toBe("allow");
      expect(decision!.explanation.summary).toMatch(/allowed by exception EX-W/);
      const stats = await session.stats();
      expect(stats.setup).toMatchObject({ entities: 1, exceptions: 1, problems: [expect.objectContaining({ item: "exceptions[1] EX-OLD", code: "VIGIL_BAD_INPUT" })] });
    } finally {
      await session.close();
    }
  });
});

describe("actuators.preview in the agent", () => {
  it("previews the named kinds no provider offers and leaves the others blocked", async () => {
    const dir = dirWith({ "p.yaml": policy });
    const agent = await createAgent(parseConfig({ policies: [join(dir, "p.yaml")], store: { path: join(dir, "v.db") }, log: { level: "silent" }, actuators: { preview: ["webhook.*"] } }), { onProblem: () => undefined });
    try {
      const decision = await agent.decideEvent(widget("w1-1", "2026-01-09T10:00:00Z", true));
      const records = await agent.executor.listActions({ decisionId: decision.id });
      const status = Object.fromEntries(records.map((r) => [r.actuator, r.status]));
      expect(status).toEqual({ "webhook.post": "dry-run", "kubernetes.scale-to-zero": "blocked" });
      expect(records.find((r) => r.actuator === "webhook.post")?.result?.output).toMatchObject({ preview: true, note: expect.stringContaining("actuators.preview") });
    } finally {
      await agent.close();
    }
    await expect(createAgent(parseConfig({ policies: [], store: { path: ":memory:" }, actuators: { preview: "all" } }))).rejects.toThrow(/actuators\.preview must be a list/);
  });
});
