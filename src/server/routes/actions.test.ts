import { createHash } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ACTIONS_COLLECTION, actionIdOf, type ActionRecord } from "../../act/records.js";
import { startTestServer, type TestServer } from "../../../test/server/support.js";

let t: TestServer;
let newestFirst: string[];

/** An applied action as the executor records it: its id derives from the idempotency key's hash. */
function action(id: string, key: string, createdAt: string): ActionRecord {
  return {
    id, decisionId: `d-${key}`, policy: "no-public-bucket", actuator: "aws.s3.block-public-access", status: "applied", tier: "remediate", createdAt, updatedAt: createdAt,
    plan: { id, decisionId: `d-${key}`, policy: "no-public-bucket", actuator: "aws.s3.block-public-access", target: { kind: "bucket", id: `b-${key}` }, params: {}, idempotencyKey: key, dryRun: false },
    result: { actionId: id, status: "applied", at: createdAt },
    history: [{ at: createdAt, status: "applied" }],
  };
}

beforeAll(async () => {
  t = await startTestServer();
  const keys = Array.from({ length: 12 }, (_, i) => createHash("sha256").update(`bucket-${i}`).digest("hex"));
  // The hash ids in id order, applied one a minute in that order: the store's first ids are the oldest.
  const ids = keys.map(actionIdOf).sort();
  const records = ids.map((id, i) => action(id, keys.find((k) => actionIdOf(k) === id)!, new Date(Date.parse("2025-03-03T10:00:00.000Z") + i * 60_000).toISOString()));
  await t.agent.storage.putDocs(records.map((r) => ({ collection: ACTIONS_COLLECTION, id: r.id, value: r })), "2025-03-03T11:00:00.000Z");
  newestFirst = [...ids].reverse();
});

afterAll(async () => {
  await t.close();
});

describe("GET /v1/actions", () => {
  it("shows the newest actions first, also when there are more than the limit", async () => {
    const answer = await t.as("viewer", { method: "GET", url: "/v1/actions?limit=5" });
    expect(answer.statusCode).toBe(200);
    expect(answer.json().actions.map((r: ActionRecord) => r.id)).toEqual(newestFirst.slice(0, 5));
  });

  it("pages through every action with nextCursor, none skipped or repeated", async () => {
    const seen: string[][] = [];
    let cursor: string | undefined;
    do {
      const answer = await t.as("viewer", { method: "GET", url: `/v1/actions?status=applied&limit=5${cursor === undefined ? "" : `&cursor=${encodeURIComponent(cursor)}`}` });
      expect(answer.statusCode).toBe(200);
      seen.push(answer.json().actions.map((r: ActionRecord) => r.id));
      cursor = answer.json().nextCursor;
    } while (cursor !== undefined && seen.length < 10);
    expect(seen).toEqual([newestFirst.slice(0, 5), newestFirst.slice(5, 10), newestFirst.slice(10)]);
  });

  it("refuses a cursor it did not give, naming the parameter", async () => {
    const answer = await t.as("viewer", { method: "GET", url: `/v1/actions?cursor=${newestFirst[0]}` });
    expect(answer.statusCode).toBe(400);
    expect(answer.json().error).toMatchObject({ code: "VIGIL_BAD_INPUT", field: "cursor" });
  });
});
