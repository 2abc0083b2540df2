import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LADDER_COLLECTION, ladderIdOf, type LadderItem } from "../../act/ladder.js";
import { startTestServer, type TestServer } from "../../../test/server/support.js";

let t: TestServer;
let none: TestServer;
let ana: string;
const target = { kind: "resource", id: "i-0abc" };
const id = ladderIdOf("idle-instance", target);

beforeAll(async () => {
  t = await startTestServer({ config: { ladder: { policies: { "idle-*": { graceBusinessDays: 3, maxSnoozes: 2, snoozeBusinessDays: 2 } } } } });
  none = await startTestServer();
  ana = (await t.agent.tokens.create({ name: "ana", roles: ["viewer"] }, "test")).token;
  // A mark as the ladder leaves it when it holds a stop for the grace period (src/act/ladder.ts).
  const item: LadderItem = {
    id, policy: "idle-instance", target, owner: "ana", episode: 1, status: "waiting", openedAt: "2025-03-03T10:00:00.000Z",
    decisionId: "d-1", lastDecisionId: "d-1", lastSeenAt: "2025-03-03T10:00:00.000Z", violations: 1, graceBusinessDays: 3, staleAfterHours: 72,
    maxSnoozes: 2, snoozeBusinessDays: 2, dueAt: "2025-03-06T10:00:00.000Z", notifications: [], held: [], actions: [], snoozes: [], history: [],
  };
  await t.agent.storage.putDocs([{ collection: LADDER_COLLECTION, id, value: item }], "2025-03-03T10:00:00.000Z");
});

afterAll(async () => {
  await t.close();
  await none.close();
});

describe("ladder API", () => {
  it("lists and shows items to viewers", async () => {
    const list = await t.as("viewer", { method: "GET", url: "/v1/ladder?status=waiting" });
    expect(list.statusCode).toBe(200);
    expect(list.json().items.map((i: LadderItem) => i.id)).toEqual([id]);
    expect((await t.as("viewer", { method: "GET", url: `/v1/ladder/${id}` })).json()).toMatchObject({ owner: "ana", dueAt: "2025-03-06T10:00:00.000Z" });
    expect((await t.as("viewer", { method: "GET", url: "/v1/ladder/lad-nope" })).statusCode).toBe(404);
    expect((await t.as("ingest", { method: "GET", url: "/v1/ladder" })).statusCode).toBe(403);
  });

  it("the owner, an operator or an approver snoozes (reason required, at most maxSnoozes); other viewers are refused", async () => {
    const url = `/v1/ladder/${id}/snooze`;
    const stranger = await t.as("viewer", { method: "POST", url, payload: { reason: "not mine" } });
    expect(stranger.statusCode).toBe(403);
    expect(stranger.json().error.message).toMatch(/operator or approver/);
    expect((await t.as("viewer", { method: "POST", url, payload: {} })).statusCode).toBe(400);
    const owner = await t.server.app.inject({ method: "POST", url, headers: { authorization: `Bearer ${ana}` }, payload: { reason: "benchmark rerun on Wednesday" } });
    expect(owner.statusCode).toBe(200);
    expect(owner.json().snoozes).toEqual([expect.objectContaining({ by: "ana", reason: "benchmark rerun on Wednesday", businessDays: 2 })]);
    expect(owner.json().dueAt).toBe("2025-03-10T10:00:00.000Z"); // Thursday + 2 business days, over the weekend
    expect((await t.as("operator", { method: "POST", url, payload: { reason: "quarter close", businessDays: 1 } })).statusCode).toBe(200);
    expect((await t.as("approver", { method: "POST", url, payload: { reason: "again" } })).statusCode).toBe(409);
    const audit = await t.as("admin", { method: "GET", url: "/v1/audit?limit=50" });
    expect(audit.json().entries.filter((e: { action: string }) => e.action === "ladder.snooze").map((e: { actor: string }) => e.actor).sort()).toEqual(["ana", "operator-token"]);
  });

  it("undo needs the operator role and something applied; release settles the mark", async () => {
    expect((await t.as("viewer", { method: "POST", url: `/v1/ladder/${id}/undo`, payload: {} })).statusCode).toBe(403);
    expect((await t.as("operator", { method: "POST", url: `/v1/ladder/${id}/undo`, payload: {} })).statusCode).toBe(409);
    const released = await t.as("approver", { method: "POST", url: `/v1/ladder/${id}/release`, payload: { reason: "kept for the migration" } });
    expect(released.statusCode).toBe(200);
    expect(released.json().status).toBe("released");
  });

  it("answers 404 naming the missing configuration when no ladder is configured", async () => {
    const response = await none.as("viewer", { method: "GET", url: "/v1/ladder" });
    expect(response.statusCode).toBe(404);
    expect(response.json().error.message).toMatch(/ladder is not configured/);
  });
});

describe("GET /v1/ladder with more marks than the limit", () => {
  let newestFirst: string[];

  beforeAll(async () => {
    // Twelve notify-only episodes; their lad-<hash> ids in id order were opened one an hour in that order,
    // so the store's first ids are the oldest.
    const ids = Array.from({ length: 12 }, (_, i) => ladderIdOf("idle-volume", { kind: "resource", id: `vol-${i}` }));
    const byId = ids.map((itemId, i) => ({ itemId, target: { kind: "resource", id: `vol-${i}` } })).sort((a, b) => (a.itemId < b.itemId ? -1 : 1));
    const items: LadderItem[] = byId.map(({ itemId, target: volume }, i) => {
      const openedAt = new Date(Date.parse("2025-03-01T00:00:00.000Z") + i * 3_600_000).toISOString();
      return {
        id: itemId, policy: "idle-volume", target: volume, episode: 1, status: "notified", openedAt, decisionId: `d-${volume.id}`, lastDecisionId: `d-${volume.id}`,
        lastSeenAt: openedAt, violations: 1, graceBusinessDays: 3, staleAfterHours: 72, maxSnoozes: 2, snoozeBusinessDays: 2, quietUntil: "2025-03-08T00:00:00.000Z",
        notifications: [], held: [], actions: [], snoozes: [], history: [{ at: openedAt, event: "opened" }],
      };
    });
    await t.agent.storage.putDocs(items.map((item) => ({ collection: LADDER_COLLECTION, id: item.id, value: item })), "2025-03-01T12:00:00.000Z");
    newestFirst = byId.map((entry) => entry.itemId).reverse();
  });

  it("shows the newest episodes first and pages through all of them with nextCursor", async () => {
    const first = await t.as("viewer", { method: "GET", url: "/v1/ladder?policy=idle-volume&limit=5" });
    expect(first.statusCode).toBe(200);
    expect(first.json().items.map((i: LadderItem) => i.id)).toEqual(newestFirst.slice(0, 5));
    const seen: string[][] = [];
    let cursor: string | undefined;
    do {
      const page = await t.as("viewer", { method: "GET", url: `/v1/ladder?status=notified&policy=idle-volume&limit=5${cursor === undefined ? "" : `&cursor=${encodeURIComponent(cursor)}`}` });
      expect(page.statusCode).toBe(200);
      seen.push(page.json().items.map((i: LadderItem) => i.id));
      cursor = page.json().nextCursor;
    } while (cursor !== undefined && seen.length < 10);
    expect(seen).toEqual([newestFirst.slice(0, 5), newestFirst.slice(5, 10), newestFirst.slice(10)]);
  });

  it("refuses a cursor it did not give, naming the parameter", async () => {
    const answer = await t.as("viewer", { method: "GET", url: `/v1/ladder?cursor=${newestFirst[0]}` });
    expect(answer.statusCode).toBe(400);
    expect(answer.json().error).toMatchObject({ code: "VIGIL_BAD_INPUT", field: "cursor" });
  });
});
