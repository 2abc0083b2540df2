import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestServer, type TestServer } from "../../../test/server/support.js";

let t: TestServer;

beforeAll(async () => {
  t = await startTestServer();
});

afterAll(async () => {
  await t.close();
});

const omar = "arn:aws:iam::111122223333:user/omar";

describe("entity API", () => {
  it("an operator sets attributes (ids URL-encoded), a viewer reads them, other roles are refused", async () => {
    const url = `/v1/entities/principal/${encodeURIComponent(omar)}`;
    const put = await t.as("operator", { method: "PUT", url, payload: { attrs: { team: "platform", onCall: [{ from: "2025-03-03T09:00:00Z", until: "2025-03-10T09:00:00Z" }] } } });
    expect(put.statusCode).toBe(200);
    expect(put.json()).toMatchObject({ kind: "principal", id: omar, attrs: { team: "platform" } });
    const merged = await t.as("operator", { method: "PUT", url, payload: { attrs: { criticality: "high", team: null } } });
    expect(merged.json().attrs).toEqual({ onCall: [{ from: "2025-03-03T09:00:00Z", until: "2025-03-10T09:00:00Z" }], criticality: "high" });
    const got = await t.as("viewer", { method: "GET", url });
    expect(got.statusCode).toBe(200);
    expect(got.json()).toMatchObject({ id: omar, attrs: { criticality: "high" }, history: { violations30d: 0 } });
    expect((await t.as("viewer", { method: "GET", url: "/v1/entities?kind=principal" })).json().entities.map((e: { id: string }) => e.id)).toEqual([omar]);
    expect((await t.as("viewer", { method: "PUT", url, payload: { attrs: {} } })).statusCode).toBe(403);
    expect((await t.as("ingest", { method: "GET", url })).statusCode).toBe(403);
    expect((await t.as("viewer", { method: "GET", url: "/v1/entities/principal/nobody" })).statusCode).toBe(404);
    const bad = await t.as("operator", { method: "PUT", url, payload: { attrs: "platform" } });
    expect(bad.statusCode).toBe(400);
    const audit = await t.as("admin", { method: "GET", url: "/v1/audit?limit=50" });
    expect(audit.json().entries.some((e: { action: string; actor: string }) => e.action === "entity.upsert" && e.actor === "operator-token")).toBe(true);
  });
});

describe("entity listing pages", () => {
  it("hands out the cursor of the next page (nextAfterId), which walks every entity of the kind once", async () => {
    const ids = ["pg-alice", "pg-bob", "pg-carol", omar.replace("omar", "pg-dana")];
    for (const id of ids) expect((await t.as("operator", { method: "PUT", url: `/v1/entities/principal/${encodeURIComponent(id)}`, payload: { attrs: { team: "paging" } } })).statusCode).toBe(200);
    expect((await t.as("operator", { method: "PUT", url: "/v1/entities/namespace/pg-default", payload: { attrs: { team: "paging" } } })).statusCode).toBe(200);
    const seen: string[] = [];
    let cursor: string | undefined;
    for (let page = 0; page < 10; page++) {
      const response = await t.as("viewer", { method: "GET", url: `/v1/entities?kind=principal&limit=2${cursor === undefined ? "" : `&afterId=${encodeURIComponent(cursor)}`}` });
      expect(response.statusCode).toBe(200);
      const body = response.json() as { entities: { kind: string; id: string }[]; nextAfterId?: string };
      seen.push(...body.entities.map((e) => e.id));
      cursor = body.nextAfterId;
      if (cursor === undefined) break;
    }
    expect(seen.filter((id) => id.includes("pg-")).sort()).toEqual([...ids].sort());
    expect(new Set(seen).size).toBe(seen.length);
  });

  it("refuses an afterId that is not a cursor of the listing (a bare id, or a cursor of another kind) instead of starting over", async () => {
    // "pg-bob" sorts before every `kind/id` key: the listing began again at the first page, so a client paging by the last id looped forever.
    const bare = await t.as("viewer", { method: "GET", url: "/v1/entities?kind=principal&limit=2&afterId=pg-bob" });
    expect(bare.statusCode).toBe(400);
    expect(bare.json().error.field).toBe("afterId");
    expect(bare.json().error.message).toMatch(/nextAfterId/);
    const otherKind = await t.as("viewer", { method: "GET", url: "/v1/entities?kind=principal&afterId=namespace%2Fpg-default" });
    expect(otherKind.statusCode).toBe(400);
    expect(otherKind.json().error.field).toBe("afterId");
    expect(otherKind.json().error.message).toMatch(/principal\//);
    const unfiltered = await t.as("viewer", { method: "GET", url: "/v1/entities?limit=1&afterId=namespace%2Fpg-default" });
    expect(unfiltered.statusCode).toBe(200);
    expect(unfiltered.json().entities[0]).toMatchObject({ kind: "principal" });
  });
});

describe("exception import", () => {
  const scc = {
    policies: ["residency-dataflow"], rules: ["transfer-not-allowed"], when: 'input.dataset == "support-tickets"',
    justification: "support tickets exported to the helpdesk vendor in the US", legalBasis: "SCC 2021/914 module 2", ticket: "PRIV-402",
    createdBy: "dpo@acme.example", createdAt: "2025-01-06T00:00:00Z", expiresAt: "2026-01-05T00:00:00Z",
  };

  it("keeps the register's id and a year-long expiry, is idempotent, and refuses other content under the same id", async () => {
    const first = await t.as("approver", { method: "PUT", url: "/v1/exceptions/EX-RES-001", payload: scc });
    expect(first.statusCode).toBe(200);
    expect(first.json()).toMatchObject({ id: "EX-RES-001", createdBy: "dpo@acme.example", expiresAt: "2026-01-05T00:00:00.000Z", legalBasis: "SCC 2021/914 module 2" });
    expect((await t.as("approver", { method: "PUT", url: "/v1/exceptions/EX-RES-001", payload: scc })).json()).toEqual(first.json());
    const other = await t.as("approver", { method: "PUT", url: "/v1/exceptions/EX-RES-001", payload: { ...scc, ticket: "PRIV-403" } });
    expect(other.statusCode).toBe(409);
    // POST keeps its bound: the same exception created by a person is refused as too long.
    const created = await t.as("approver", { method: "POST", url: "/v1/exceptions", payload: { policies: scc.policies, justification: scc.justification, expiresAt: scc.expiresAt } });
    expect(created.statusCode).toBe(400);
    expect(created.json().error.field).toBe("expiresAt");
    expect((await t.as("viewer", { method: "GET", url: "/v1/exceptions?active=true" })).json().exceptions.map((e: { id: string }) => e.id)).toContain("EX-RES-001");
  });

  it("validates like a created exception and needs the approver role", async () => {
    const expired = await t.as("approver", { method: "PUT", url: "/v1/exceptions/TRAVEL-1", payload: { ...scc, expiresAt: "2025-01-01T00:00:00Z" } });
    expect(expired.statusCode).toBe(400);
    expect(expired.json().error.field).toBe("expiresAt");
    const badWhen = await t.as("approver", { method: "PUT", url: "/v1/exceptions/TRAVEL-2", payload: { ...scc, when: "input.(" } });
    expect(badWhen.statusCode).toBe(400);
    expect(badWhen.json().error.field).toBe("when");
    const mismatch = await t.as("approver", { method: "PUT", url: "/v1/exceptions/TRAVEL-3", payload: { ...scc, id: "TRAVEL-4" } });
    expect(mismatch.statusCode).toBe(400);
    expect((await t.as("operator", { method: "PUT", url: "/v1/exceptions/TRAVEL-5", payload: scc })).statusCode).toBe(403);
  });
});
