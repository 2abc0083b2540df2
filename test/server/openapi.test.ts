import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bucketPolicy, startTestServer, type TestServer } from "./support.js";

let t: TestServer;
let doc: { openapi: string; paths: Record<string, Record<string, { security: unknown[]; "x-vigil-access": string; parameters: { name: string; in: string; required: boolean }[]; requestBody?: { content: Record<string, { schema: Record<string, unknown> }> }; responses: Record<string, unknown> }>>; components: Record<string, unknown> };

beforeAll(async () => {
  t = await startTestServer({ files: { "p.yaml": bucketPolicy } });
  const response = await t.as("viewer", { method: "GET", url: "/openapi.json" });
  expect(response.statusCode).toBe(200);
  doc = response.json();
});

afterAll(async () => {
  await t.close();
});

describe("GET /openapi.json", () => {
  it("is an OpenAPI 3.1 document with every registered route, its access and bearer security", () => {
    expect(doc.openapi).toBe("3.1.0");
    expect(doc.components).toHaveProperty("securitySchemes.bearerAuth.scheme", "bearer");
    for (const route of t.server.openapi.routes()) {
      const path = route.url.replace(/:([A-Za-z0-9_]+)/g, "{$1}");
      const operation = doc.paths[path]?.[route.method.toLowerCase()];
      expect(operation, `${route.method} ${route.url}`).toBeDefined();
      expect(operation?.["x-vigil-access"]).toBe(route.access);
      if (route.access === "public" || route.access === "github-signature") expect(operation?.security).toEqual([]);
      else {
        expect(operation?.security).toEqual([{ bearerAuth: [] }]);
        expect(Object.keys(operation?.responses ?? {})).toEqual(expect.arrayContaining(["401", "403"]));
      }
    }
  });

  it("publishes the request schemas fastify validates with", async () => {
    const decide = doc.paths["/v1/decide"]?.["post"];
    expect(decide?.requestBody?.content["application/json"]?.schema).toMatchObject({ required: ["input"], additionalProperties: false });
    const explain = doc.paths["/v1/decisions/{id}/explain"]?.["get"];
    expect(explain?.parameters).toContainEqual(expect.objectContaining({ name: "id", in: "path", required: true }));
    const list = doc.paths["/v1/decisions"]?.["get"];
    expect(list?.parameters.map((p) => p.name)).toEqual(expect.arrayContaining(["subject", "policy", "verdict", "since", "limit"]));
    expect(Object.keys(doc.paths["/v1/events"]?.["post"]?.requestBody?.content ?? {})).toEqual(expect.arrayContaining(["application/cloudevents+json", "application/cloudevents-batch+json"]));
    // The schema the document shows is the one enforced: a body the schema forbids is refused.
    const response = await t.as("ingest", { method: "POST", url: "/v1/decide", payload: { input: {}, explain: "yes" } });
    expect(response.statusCode).toBe(400);
    expect(response.json().error.field).toBe("explain");
  });
});

describe("POST /v1/reviews/:id/deny", () => {
  it("describes the default feedback label as review.deny records it: true_positive for a denied request with nothing to run, else false_positive", () => {
    const deny = doc.paths["/v1/reviews/{id}/deny"]?.["post"] as unknown as { summary: string; description?: string; requestBody: { content: Record<string, { schema: { properties: Record<string, { description?: string }> } }> } };
    expect(deny.summary).not.toMatch(/\(default false_positive\)/);
    expect(deny.summary).toContain("true_positive for a denied request with nothing to run");
    expect(deny.description).toContain("false_positive when the review has actions");
    expect(deny.description).toContain("true_positive when it is the review of a denied request with nothing to run");
    expect(deny.requestBody.content["application/json"]?.schema.properties["label"]?.description).toContain("true_positive for a denied request with nothing to run, else false_positive");
  });
});

describe("docs/api.md", () => {
  it("lists every route with its role, generated from the routes (regenerate with VIGIL_UPDATE_DOCS=1)", async () => {
    const { readFileSync, writeFileSync } = await import("node:fs");
    const { join } = await import("node:path");
    const file = join(import.meta.dirname, "..", "..", "docs", "api.md");
    const docs = readFileSync(file, "utf8");
    const start = "<!-- routes:start -->\n";
    const end = "\n<!-- routes:end -->";
    const from = docs.indexOf(start);
    const to = docs.indexOf(end);
    expect(from, "docs/api.md needs the routes markers").toBeGreaterThan(0);
    const table = t.server.openapi.table();
    if (process.env["VIGIL_UPDATE_DOCS"] === "1") writeFileSync(file, docs.slice(0, from + start.length) + table + docs.slice(to));
    else expect(docs.slice(from + start.length, to)).toBe(table);
  });
});

describe("the statuses a route answers are the ones /openapi.json lists for it", () => {
  const documented = (method: string, path: string): string[] => Object.keys(doc.paths[path]?.[method.toLowerCase()]?.responses ?? {});

  it("refusals, missing records and conflicts of the review, override and event routes", async () => {
    const decision = (await t.as("ingest", { method: "POST", url: "/v1/decide", payload: { input: { action: "s3:PutBucketAcl", resource: { name: "b9", acl: "public-read" }, principal: { id: "omar", admin: false } }, subject: "omar" } })).json();
    const override = (await t.as("approver", { method: "POST", url: "/v1/overrides", payload: { decisionId: decision.decisionId, scope: "once", reason: "change window CHG-9" } })).json();
    await t.as("approver", { method: "POST", url: `/v1/overrides/${override.id}/revoke`, payload: { reason: "window closed" } });
    const exception = await t.as("approver", { method: "POST", url: "/v1/exceptions", payload: { policies: ["no-public-bucket"], justification: "public website bucket, approved by security", expiresAt: "2025-03-05T00:00:00Z" } });
    expect(exception.statusCode).toBe(201);
    await t.as("approver", { method: "POST", url: `/v1/exceptions/${exception.json().id}/revoke`, payload: { reason: "site retired" } });
    const calls: { method: "GET" | "POST" | "PUT"; url: string; path: string; payload?: unknown; headers?: Record<string, string>; status: number; as?: "ingest" | "approver" | "operator" }[] = [
      { method: "POST", url: "/v1/overrides", path: "/v1/overrides", payload: { decisionId: "nope", scope: "once", reason: "r" }, status: 404 },
      { method: "POST", url: "/v1/overrides/OV-none/confirm", path: "/v1/overrides/{id}/confirm", status: 404 },
      { method: "POST", url: "/v1/overrides/OV-none/revoke", path: "/v1/overrides/{id}/revoke", payload: { reason: "r" }, status: 404 },
      { method: "POST", url: `/v1/overrides/${override.id}/revoke`, path: "/v1/overrides/{id}/revoke", payload: { reason: "r" }, status: 409 },
      { method: "POST", url: `/v1/exceptions/${exception.json().id}/revoke`, path: "/v1/exceptions/{id}/revoke", payload: { reason: "r" }, status: 409 },
      { method: "POST", url: "/v1/events", path: "/v1/events", headers: { "content-type": "application/cloudevents+json" }, payload: "{}", status: 400, as: "ingest" },
      { method: "POST", url: "/v1/decide", path: "/v1/decide", headers: { "content-type": "application/xml" }, payload: "<input/>", status: 415, as: "ingest" },
      { method: "PUT", url: "/v1/killswitch", path: "/v1/killswitch", headers: { "content-type": "text/plain" }, payload: "on", status: 415, as: "operator" },
    ];
    for (const call of calls) {
      const response = await t.as(call.as ?? "approver", { method: call.method, url: call.url, ...(call.headers ? { headers: call.headers } : {}), ...(call.payload === undefined ? {} : { payload: call.payload as string }) });
      expect(response.statusCode, `${call.method} ${call.url}`).toBe(call.status);
      expect(documented(call.method, call.path), `${call.method} ${call.path}`).toContain(String(call.status));
    }
    const github = await t.server.app.inject({ method: "POST", url: "/v1/webhooks/github", headers: { "content-type": "application/json" }, payload: "{}" });
    expect(documented("POST", "/v1/webhooks/github")).toContain(String(github.statusCode));
  });

  it("every route that reads a body lists 413 (over server.bodyLimit) and 415 (a Content-Encoding other than gzip or deflate; for a JSON-only route, another Content-Type)", () => {
    for (const [path, operations] of Object.entries(doc.paths)) {
      for (const [method, operation] of Object.entries(operations)) {
        if (!operation.requestBody) continue;
        expect(Object.keys(operation.responses), `${method} ${path}`).toContain("413");
        expect(Object.keys(operation.responses), `${method} ${path}`).toContain("415");
        expect((operation.responses["415"] as { description: string }).description).toContain("Content-Encoding");
      }
    }
  });

  it("a cleanup run on demand that does not fit the ingest queue is 429 with Retry-After, as documented", () => {
    const run = doc.paths["/v1/cleanup/{policy}/run"]?.["post"] as unknown as { responses: Record<string, { headers?: Record<string, unknown> }> };
    expect(run.responses["429"]?.headers).toHaveProperty("Retry-After");
  });
});

describe("the exception fields /openapi.json publishes are the ones the server takes", () => {
  const valid = { policies: ["no-public-bucket"], justification: "public website bucket", expiresAt: "2025-03-05T00:00:00Z" };
  type Property = { minLength?: number; minItems?: number; items?: { minLength?: number } };
  const published = (path: string, method: string): Record<string, Property> =>
    (doc.paths[path]?.[method]?.requestBody?.content["application/json"]?.schema as { properties: Record<string, Property> }).properties;

  it("a body the document calls valid is not refused, and one it calls invalid is refused naming the field (POST and the import PUT)", async () => {
    for (const [method, path, url] of [["post", "/v1/exceptions", "/v1/exceptions"], ["put", "/v1/exceptions/{id}", "/v1/exceptions/EX-DOC-1"]] as const) {
      const properties = published(path, method);
      // The server wants a justification of at least 10 characters and no empty optional list or text
      // (an empty `subjects` would read as "every subject"); the document said 1 character and any list.
      expect(properties["justification"]?.minLength, `${method} ${path}`).toBe(10);
      for (const list of ["rules", "subjects"]) {
        expect(properties[list]?.minItems, `${method} ${path} ${list}`).toBe(1);
        expect(properties[list]?.items?.minLength, `${method} ${path} ${list}`).toBe(1);
      }
      for (const text of ["when", "ticket", "legalBasis"]) expect(properties[text]?.minLength, `${method} ${path} ${text}`).toBe(1);
      const refused: [Record<string, unknown>, string][] = [[{ justification: "temporary" }, "justification"], [{ subjects: [] }, "subjects"], [{ rules: [""] }, "rules.0"], [{ ticket: "" }, "ticket"], [{ when: "" }, "when"], [{ legalBasis: "" }, "legalBasis"]];
      for (const [change, field] of refused) {
        const response = await t.as("approver", { method: method === "post" ? "POST" : "PUT", url, payload: { ...valid, ...change } });
        expect(response.statusCode, `${method} ${JSON.stringify(change)}`).toBe(400);
        expect(response.json().error.field, `${method} ${JSON.stringify(change)}`).toBe(field);
      }
      const accepted = await t.as("approver", { method: method === "post" ? "POST" : "PUT", url, payload: { ...valid, justification: "ten chars!" } });
      expect([200, 201], `${method} ${accepted.body}`).toContain(accepted.statusCode);
    }
  });
});

describe("the ladder's snooze and release", () => {
  it("document their 403 as the ladder answers it: a viewer token that is not the item's owner (nor operator or approver)", () => {
    for (const action of ["snooze", "release"]) {
      const responses = doc.paths[`/v1/ladder/{id}/${action}`]?.["post"]?.responses as Record<string, { description: string }>;
      expect(responses["403"]?.description, action).toMatch(/owner/);
    }
  });
});

describe("routes only a person may call", () => {
  const personOnly = [
    ["post", "/v1/reviews/{id}/approve"], ["post", "/v1/exceptions"], ["put", "/v1/exceptions/{id}"], ["post", "/v1/exceptions/{id}/revoke"],
    ["post", "/v1/overrides"], ["post", "/v1/overrides/{id}/confirm"], ["post", "/v1/overrides/{id}/revoke"], ["post", "/v1/policies/{name}/promote"],
    ["post", "/v1/proposals/{id}/accept"], ["post", "/v1/proposals/{id}/reject"],
  ] as const;

  it("document the 403 a token named as one of Vigil's own identities (vigil:*) gets, whatever its roles", async () => {
    for (const [method, path] of personOnly) {
      const responses = doc.paths[path]?.[method]?.responses as Record<string, { description: string }>;
      expect(responses["403"]?.description, `${method} ${path}`).toMatch(/vigil:\*/);
    }
    const agent = (await t.as("admin", { method: "POST", url: "/v1/tokens", payload: { name: "vigil:learner", roles: ["approver"] } })).json() as { token: string };
    const refused = await t.server.app.inject({ method: "POST", url: "/v1/exceptions", headers: { authorization: `Bearer ${agent.token}` }, payload: { policies: ["no-public-bucket"], justification: "learned from overrides", expiresAt: "2025-03-05T00:00:00Z" } });
    expect(refused.statusCode).toBe(403);
    expect(refused.json().error.field).toBe("actor.id");
  });

  it("document the two-person rule's 403 where it applies (a second approval by the same approver)", () => {
    const approve = doc.paths["/v1/reviews/{id}/approve"]?.["post"]?.responses as Record<string, { description: string }>;
    expect(approve["403"]?.description).toMatch(/two-person rule/);
  });
});

describe("headers a route reads", () => {
  it("are parameters `in: header`: the GitHub webhook's three, the binary-mode ce-* of POST /v1/events", () => {
    const github = doc.paths["/v1/webhooks/github"]?.["post"]?.parameters ?? [];
    for (const name of ["X-Hub-Signature-256", "X-GitHub-Event", "X-GitHub-Delivery"]) expect(github).toContainEqual(expect.objectContaining({ name, in: "header", required: true }));
    const events = doc.paths["/v1/events"]?.["post"]?.parameters ?? [];
    for (const name of ["ce-specversion", "ce-id", "ce-source", "ce-type"]) expect(events).toContainEqual(expect.objectContaining({ name, in: "header", required: false }));
  });
});
