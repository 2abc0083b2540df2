import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bucketPolicy, publicRequest, startTestServer, type TestServer } from "./support.js";

let t: TestServer;

beforeAll(async () => {
  t = await startTestServer({ files: { "p.yaml": bucketPolicy } });
});

afterAll(async () => {
  await t.close();
});

describe("a property the schema does not allow (additionalProperties: false) is refused, not dropped", () => {
  it("a misspelt dryRun in a decide body is 400 naming it, and nothing is recorded as enforced", async () => {
    const before = (await t.agent.storage.listDecisions({ limit: 1000 })).length;
    const response = await t.as("ingest", { method: "POST", url: "/v1/decide", payload: { input: publicRequest, dry_run: true } });
    expect(response.statusCode).toBe(400);
    expect(response.json().error).toMatchObject({ code: "VIGIL_BAD_INPUT", field: "dry_run" });
    expect(await t.agent.storage.listDecisions({ limit: 1000 })).toHaveLength(before);
  });

  it("a misspelt query parameter is 400 naming it, not a list without the filter", async () => {
    await t.as("ingest", { method: "POST", url: "/v1/decide", payload: { input: { x: 1 } } });
    const response = await t.as("viewer", { method: "GET", url: "/v1/decisions?verdit=deny" });
    expect(response.statusCode).toBe(400);
    expect(response.json().error).toMatchObject({ code: "VIGIL_BAD_INPUT", field: "verdit" });
    expect(response.json().error.message).toContain("verdit");
  });

  it("a query parameter on a route that takes none is 400 naming it, not ignored (OPA's ?explain=full, a hoped-for ?dryRun=true)", async () => {
    const decide = await t.as("ingest", { method: "POST", url: "/v1/decide?explain=full", payload: { input: publicRequest } });
    expect(decide.statusCode).toBe(400);
    expect(decide.json().error).toMatchObject({ code: "VIGIL_BAD_INPUT", field: "explain" });
    expect(decide.json().error.message).toMatch(/takes no query parameters/);
    const created = (await t.as("admin", { method: "POST", url: "/v1/tokens", payload: { name: "kept", roles: ["viewer"] } })).json();
    const revoke = await t.as("admin", { method: "DELETE", url: `/v1/tokens/${created.record.id}?dryRun=true` });
    expect(revoke.statusCode).toBe(400);
    expect(revoke.json().error.field).toBe("dryRun");
    expect((await t.server.app.inject({ method: "GET", url: "/v1/decisions", headers: { authorization: `Bearer ${created.token}` } })).statusCode).toBe(200);
    const document = (await t.as("viewer", { method: "GET", url: "/openapi.json" })).json() as { paths: Record<string, Record<string, { responses: Record<string, unknown> }>> };
    for (const route of t.server.openapi.routes()) {
      if (route.access === "public" || route.access === "github-signature") continue;
      const path = route.url.replace(/:([A-Za-z0-9_]+)/g, "{$1}");
      expect(Object.keys(document.paths[path]?.[route.method.toLowerCase()]?.responses ?? {}), `${route.method} ${route.url}`).toContain("400");
    }
    for (const url of ["/v1/posture?scope=org", "/v1/policies?name=no-public-bucket", "/v1/killswitch?on=true"]) {
      const response = await t.as("viewer", { method: "GET", url });
      expect(response.statusCode, url).toBe(400);
    }
  });

  it("the kill switch is not turned on by a body whose other field is misspelt", async () => {
    const response = await t.as("operator", { method: "PUT", url: "/v1/killswitch", payload: { on: true, reasn: "INC-1" } });
    expect(response.statusCode).toBe(400);
    expect(response.json().error.field).toBe("reasn");
    expect((await t.as("viewer", { method: "GET", url: "/v1/killswitch" })).json().on).toBe(false);
  });

  it("the properties the schema allows still pass, defaults still apply", async () => {
    const response = await t.as("ingest", { method: "POST", url: "/v1/decide", payload: { input: publicRequest, dryRun: true, explain: true } });
    expect(response.statusCode).toBe(200);
    expect(response.json().enforced).toBe(false);
    const listed = await t.as("viewer", { method: "GET", url: "/v1/decisions?verdict=deny" });
    expect(listed.statusCode).toBe(200);
    expect(listed.json().decisions.length).toBeGreaterThan(0);
  });
});

describe("request-reading errors say what to do", () => {
  it("a body over server.bodyLimit is 413 naming the limit and how to send less", async () => {
    const small = await startTestServer({ config: { server: { bodyLimit: 1024 } } });
    try {
      for (const [url, contentType] of [["/v1/decide", "application/json"], ["/v1/events", "application/cloudevents-batch+json"]] as const) {
        const response = await small.as("ingest", { method: "POST", url, headers: { "content-type": contentType }, payload: JSON.stringify({ input: { blob: "x".repeat(4096) } }) });
        expect(response.statusCode).toBe(413);
        const error = response.json().error;
        expect(error.field).toBe("body");
        expect(error.message).toContain("1024 bytes");
        expect(error.message).toContain("server.bodyLimit");
      }
    } finally {
      await small.close();
    }
  });

  it("a body without a JSON Content-Type is 415 naming the content type to send", async () => {
    const response = await t.as("ingest", { method: "POST", url: "/v1/decide", headers: { "content-type": "application/x-www-form-urlencoded" }, payload: "input=1" });
    expect(response.statusCode).toBe(415);
    expect(response.json().error.field).toBe("content-type");
    expect(response.json().error.message).toContain("application/json");
    expect(response.json().error.message).toContain("application/x-www-form-urlencoded");
    const absent = await t.as("ingest", { method: "POST", url: "/v1/decide", payload: JSON.stringify({ input: {} }) });
    expect(absent.statusCode).toBe(415);
    expect(absent.json().error.message).toMatch(/Content-Type is absent: .*application\/json/);
  });
});

describe("POST /v1/tokens", () => {
  it("refuses a token that would be expired from the start (400 naming expiresAt), and creates none", async () => {
    const before = (await t.as("admin", { method: "GET", url: "/v1/tokens" })).json().tokens.length;
    const response = await t.as("admin", { method: "POST", url: "/v1/tokens", payload: { name: "late", roles: ["viewer"], expiresAt: "2020-01-01T00:00:00Z" } });
    expect(response.statusCode).toBe(400);
    expect(response.json().error.field).toBe("expiresAt");
    expect(response.json().error.message).toContain("2020-01-01T00:00:00Z");
    expect((await t.as("admin", { method: "GET", url: "/v1/tokens" })).json().tokens).toHaveLength(before);
    // The test clock reads 2025-03-03T10:00:00Z: a later expiry is fine.
    expect((await t.as("admin", { method: "POST", url: "/v1/tokens", payload: { name: "later", roles: ["viewer"], expiresAt: "2025-03-04T00:00:00Z" } })).statusCode).toBe(201);
  });
});

describe("a path value longer than the router takes (4096 characters)", () => {
  it("is 414 in Vigil's error shape naming the URL and the limit, without echoing the whole URL", async () => {
    const response = await t.as("viewer", { method: "GET", url: `/v1/entities/principal/${"a".repeat(5000)}` });
    expect(response.statusCode).toBe(414);
    const { error } = response.json();
    expect(error).toMatchObject({ code: "VIGIL_BAD_INPUT", field: "url" });
    expect(error.message).toContain("4096 characters");
    expect(error.message.length).toBeLessThan(400);
  });
});

describe("a URL that cannot be decoded", () => {
  it("is 400 in Vigil's error shape, naming the URL and the fix", async () => {
    const response = await t.as("viewer", { method: "GET", url: "/v1/entities/principal/%E0%A4%A" });
    expect(response.statusCode).toBe(400);
    const { error } = response.json();
    expect(error).toMatchObject({ code: "VIGIL_BAD_INPUT", field: "url" });
    expect(error.message).toContain("percent-encod");
  });
});

describe("a POST whose body fields are all optional", () => {
  it("needs no body (the reason is optional), and /openapi.json says the body is optional", async () => {
    const approve = await t.as("approver", { method: "POST", url: "/v1/reviews/RV-none/approve" });
    expect(approve.statusCode).toBe(404);
    expect(approve.json().error.field).toBe("id");
    const undo = await t.as("operator", { method: "POST", url: "/v1/actions/act-none/undo" });
    expect(undo.statusCode).toBe(404);
    const doc = (await t.as("viewer", { method: "GET", url: "/openapi.json" })).json();
    expect(doc.paths["/v1/reviews/{id}/approve"].post.requestBody.required).toBe(false);
    expect(doc.paths["/v1/reviews/{id}/deny"].post.requestBody.required).toBe(true);
    // A body that is there is still checked.
    const wrong = await t.as("approver", { method: "POST", url: "/v1/reviews/RV-none/approve", payload: { reason: { text: "x" } } });
    expect(wrong.statusCode).toBe(400);
    expect(wrong.json().error.field).toBe("reason");
  });

  it("a body is still needed where a field is required", async () => {
    const deny = await t.as("approver", { method: "POST", url: "/v1/reviews/RV-none/deny" });
    expect(deny.statusCode).toBe(400);
  });
});

describe("a body value of the wrong JSON type is refused, not converted", () => {
  it("`on: null`, `on: 0`, `on: \"true\"` or `on: [false]` do not switch the kill switch; 400 names `on`", async () => {
    expect((await t.as("operator", { method: "PUT", url: "/v1/killswitch", payload: { on: true, reason: "INC-7" } })).statusCode).toBe(200);
    for (const on of [null, 0, "false", [false]]) {
      const response = await t.as("operator", { method: "PUT", url: "/v1/killswitch", payload: { on } });
      expect(response.statusCode, JSON.stringify(on)).toBe(400);
      expect(response.json().error).toMatchObject({ code: "VIGIL_BAD_INPUT", field: "on" });
      expect(response.json().error.message).toContain("boolean");
    }
    expect((await t.as("viewer", { method: "GET", url: "/v1/killswitch" })).json().on).toBe(true);
    expect((await t.as("operator", { method: "PUT", url: "/v1/killswitch", payload: { on: false } })).statusCode).toBe(200);
  });

  it("a token's roles must be an array, and a reason a string", async () => {
    const roles = await t.as("admin", { method: "POST", url: "/v1/tokens", payload: { name: "one-role", roles: "admin" } });
    expect(roles.statusCode).toBe(400);
    expect(roles.json().error.field).toBe("roles");
    const reason = await t.as("operator", { method: "PUT", url: "/v1/killswitch", payload: { on: false, reason: 42 } });
    expect(reason.statusCode).toBe(400);
    expect(reason.json().error.field).toBe("reason");
  });

  it("query parameters, which are text, are still read as the numbers and booleans the schema declares", async () => {
    const listed = await t.as("viewer", { method: "GET", url: "/v1/decisions?limit=2&afterSeq=0&order=asc" });
    expect(listed.statusCode).toBe(200);
    expect((await t.as("viewer", { method: "GET", url: "/v1/exceptions?active=true" })).statusCode).toBe(200);
    for (const [url, field] of [["/v1/decisions?limit=2x", "limit"], ["/v1/decisions?limit=", "limit"], ["/v1/exceptions?active=yes", "active"], ["/v1/decisions?afterSeq=1.5", "afterSeq"]] as const) {
      const response = await t.as("viewer", { method: "GET", url });
      expect(response.statusCode, url).toBe(400);
      expect(response.json().error.field).toBe(field);
    }
  });
});

describe("an empty body sent with Content-Type: application/json (curl -X POST -H 'Content-Type: application/json')", () => {
  it("counts as no body where the body is optional: the approval reaches the review", async () => {
    const approve = await t.as("approver", { method: "POST", url: "/v1/reviews/RV-none/approve", headers: { "content-type": "application/json" }, payload: "" });
    expect(approve.statusCode).toBe(404);
    expect(approve.json().error.message).toContain("RV-none");
  });

  it("is 400 naming the required fields where a body is needed", async () => {
    for (const headers of [{ "content-type": "application/json" }, {}]) {
      const deny = await t.as("approver", { method: "POST", url: "/v1/reviews/RV-none/deny", headers, payload: "" });
      expect(deny.statusCode).toBe(400);
      expect(deny.json().error).toMatchObject({ code: "VIGIL_BAD_INPUT", field: "body" });
      expect(deny.json().error.message).toMatch(/body is empty: send a JSON object with reason/);
    }
  });
});

describe("a body that is not valid JSON", () => {
  it("is 400 saying where the JSON breaks and what to send, as POST /v1/events does", async () => {
    const response = await t.as("ingest", { method: "POST", url: "/v1/decide", headers: { "content-type": "application/json" }, payload: '{"input": {"a": 1,}}' });
    expect(response.statusCode).toBe(400);
    const { error } = response.json();
    expect(error).toMatchObject({ code: "VIGIL_BAD_INPUT", field: "body" });
    expect(error.message).toMatch(/^the body is not valid JSON \(.*position \d+.*\): send a JSON object/);
    // A byte order mark is not an error.
    const bom = await t.as("ingest", { method: "POST", url: "/v1/decide", headers: { "content-type": "application/json" }, payload: `\uFEFF${JSON.stringify({ input: {} })}` });
    expect(bom.statusCode).toBe(200);
  });
});

describe("a JSON body sent as text/plain", () => {
  it("is 415 naming the content type to send, not `body must be object`", async () => {
    const response = await t.as("operator", { method: "PUT", url: "/v1/killswitch", headers: { "content-type": "text/plain" }, payload: "{\"on\":true}" });
    expect(response.statusCode).toBe(415);
    expect(response.json().error).toMatchObject({ code: "VIGIL_BAD_INPUT", field: "content-type" });
    expect(response.json().error.message).toContain("Content-Type text/plain is not accepted here: send the body as JSON with Content-Type: application/json");
  });
});

describe("a method the path does not take", () => {
  it("is 405 with an Allow header listing the methods it takes, not 404 (the path exists)", async () => {
    for (const [method, url, allow] of [["DELETE", "/v1/decisions", "GET, HEAD"], ["PATCH", "/v1/killswitch", "GET, HEAD, PUT"], ["GET", "/v1/reviews/RV-1/approve", "POST"], ["POST", "/v1/decisions/d-1?x=1", "GET, HEAD"]] as const) {
      const response = await t.as("admin", { method, url });
      expect(response.statusCode, `${method} ${url}`).toBe(405);
      expect(response.headers["allow"]).toBe(allow);
      expect(response.json().error).toMatchObject({ code: "VIGIL_BAD_INPUT", field: "method" });
      expect(response.json().error.message).toContain(`${method} is not allowed on`);
      expect(response.json().error.message).toContain(allow);
    }
    const options = await t.server.app.inject({ method: "OPTIONS", url: "/v1/killswitch" });
    expect(options.statusCode).toBe(405);
    expect(options.headers["allow"]).toBe("GET, HEAD, PUT");
  });

  it("a trailing slash reaches the route without it, so the same mistake is not 400 on one path and 404 on another", async () => {
    // /v1/decisions/ was read as /v1/decisions/:id with an empty id (400 "params/id is empty"), /v1/posture/ was 404.
    for (const url of ["/v1/decisions/", "/v1/posture/", "/v1/decisions/?limit=1"]) {
      const response = await t.as("viewer", { method: "GET", url });
      expect(response.statusCode, `${url}: ${response.body}`).toBe(200);
    }
    const missing = await t.as("viewer", { method: "GET", url: "/v1/decisions/no-such-decision/" });
    expect(missing.statusCode).toBe(404);
    expect(missing.json().error.field).toBe("id");
    const method = await t.as("admin", { method: "DELETE", url: "/v1/killswitch/" });
    expect(method.statusCode).toBe(405);
    expect(method.headers["allow"]).toBe("GET, HEAD, PUT");
  });

  it("a path no route has is still 404", async () => {
    const response = await t.as("admin", { method: "GET", url: "/v1/decision" });
    expect(response.statusCode).toBe(404);
    expect(response.json().error.code).toBe("VIGIL_NOT_FOUND");
    expect(response.headers["allow"]).toBeUndefined();
  });
});

describe("a value outside a list of allowed ones", () => {
  it("is 400 naming the field and the values it takes", async () => {
    const order = await t.as("viewer", { method: "GET", url: "/v1/decisions?order=ASC" });
    expect(order.statusCode).toBe(400);
    expect(order.json().error.field).toBe("order");
    expect(order.json().error.message).toContain("must be one of asc, newest");
    const level = await t.as("operator", { method: "PUT", url: "/v1/posture", payload: { level: "panic" } });
    expect(level.json().error.field).toBe("level");
    expect(level.json().error.message).toContain("must be one of normal, elevated, incident, freeze");
  });

  it("a query parameter given twice is 400 saying to give it once", async () => {
    const response = await t.as("viewer", { method: "GET", url: "/v1/decisions?verdict=deny&verdict=allow" });
    expect(response.statusCode).toBe(400);
    expect(response.json().error.field).toBe("verdict");
    expect(response.json().error.message).toContain("`verdict` is given 2 times: give it once");
  });
});

describe("a JSON body that is not an object", () => {
  it("is 400 saying what it is and what to send", async () => {
    for (const [payload, kind] of [["[]", "an array"], ["null", "null"], ['"x"', "a string"], ["1", "a number"]] as const) {
      const response = await t.as("ingest", { method: "POST", url: "/v1/decide", headers: { "content-type": "application/json" }, payload });
      expect(response.statusCode, payload).toBe(400);
      expect(response.json().error).toMatchObject({ code: "VIGIL_BAD_INPUT", field: "body" });
      expect(response.json().error.message).toContain(`the body is ${kind}, not a JSON object: send a JSON object with input`);
    }
  });
});

describe("an empty filter value (?subject=)", () => {
  it("is 400 naming the parameter, not a list of everything (as ?policy= on /v1/learn already is)", async () => {
    for (const [url, field] of [["/v1/decisions?subject=", "subject"], ["/v1/actions?decisionId=", "decisionId"], ["/v1/reviews?policy=", "policy"], ["/v1/overrides?decisionId=", "decisionId"], ["/v1/feedback?decisionId=", "decisionId"], ["/v1/audit?actor=", "actor"], ["/v1/entities?kind=", "kind"], ["/v1/learn?policy=", "policy"]] as const) {
      const response = await t.as("admin", { method: "GET", url });
      expect(response.statusCode, url).toBe(400);
      expect(response.json().error.field, url).toBe(field);
      expect(response.json().error.message, url).toContain(`querystring/${field} is empty: give a value or leave the parameter out`);
    }
  });
});

describe("a date-time with a leap second (23:59:60, valid RFC 3339 and valid by the published format)", () => {
  it("is taken as the last millisecond of its minute, not refused as 'not an RFC 3339 time'", async () => {
    const token = await t.as("admin", { method: "POST", url: "/v1/tokens", payload: { name: "leap", roles: ["viewer"], expiresAt: "2030-12-31T23:59:60Z" } });
    expect(token.statusCode, token.body).toBe(201);
    expect(token.json().record.expiresAt).toBe("2030-12-31T23:59:59.999Z");
    const exception = await t.as("approver", { method: "POST", url: "/v1/exceptions", payload: { policies: ["no-public-bucket"], justification: "public website bucket", expiresAt: "2025-03-05T23:59:60Z" } });
    expect(exception.statusCode, exception.body).toBe(201);
    expect(exception.json().expiresAt).toBe("2025-03-05T23:59:59.999Z");
    for (const url of ["/v1/decisions?since=2016-12-31T23:59:60Z", "/v1/decisions?until=2016-12-31T23:59:60Z", "/v1/audit?since=2016-12-31T23:59:60Z", "/v1/policies/no-public-bucket/shadow?since=2016-12-31T23:59:60Z"]) {
      const response = await t.as("admin", { method: "GET", url });
      expect(response.statusCode, `${url}: ${response.body}`).toBe(200);
    }
  });
});

describe("a value of the wrong type or format", () => {
  it("is 400 saying what to send, with an example, and what was sent", async () => {
    const cases: [string, { method: "GET" | "PUT" | "POST"; url: string; payload?: Record<string, unknown> }, string, RegExp][] = [
      ["viewer", { method: "GET", url: "/v1/decisions?since=2025-01-01" }, "since", /since must be an RFC 3339 date-time with its offset, like 2025-01-31T18:00:00Z; got "2025-01-01"/],
      ["viewer", { method: "GET", url: "/v1/exceptions?active=yes" }, "active", /active must be true or false; got "yes"/],
      ["viewer", { method: "GET", url: "/v1/decisions?limit=ten" }, "limit", /limit must be a whole number; got "ten"/],
      // Past the largest double: it was read as Infinity and shown as "got null".
      ["viewer", { method: "GET", url: "/v1/decisions?limit=1e400" }, "limit", /limit must be a whole number; got "1e400"/],
      ["operator", { method: "PUT", url: "/v1/killswitch", payload: { on: "true" } }, "on", /on must be true or false \(a JSON boolean, not text\); got "true"/],
      ["admin", { method: "POST", url: "/v1/tokens", payload: { name: "x", roles: ["viewer"], expiresAt: "tomorrow" } }, "expiresAt", /expiresAt must be an RFC 3339 date-time with its offset, like 2025-01-31T18:00:00Z; got "tomorrow"/],
    ];
    const infinite = await t.as("operator", { method: "PUT", url: "/v1/killswitch", headers: { "content-type": "application/json" }, payload: '{"on": 1e400}' });
    expect(infinite.json().error.message).toMatch(/on must be true or false \(a JSON boolean, not text\); got Infinity/);
    for (const [role, request, field, message] of cases) {
      const response = await t.as(role as "viewer", request);
      expect(response.statusCode, request.url).toBe(400);
      expect(response.json().error.field, request.url).toBe(field);
      expect(response.json().error.message, request.url).toMatch(message);
    }
  });
});

describe("a JSON body that is not UTF-8", () => {
  const latin1 = Buffer.from('{"policies":["no-public-bucket"],"justification":"caf\xe9 terrace bucket","expiresAt":"2025-03-05T00:00:00Z"}', "latin1");

  it("is refused, not stored with U+FFFD in place of its characters (\"caf\uFFFD\")", async () => {
    const before = (await t.as("viewer", { method: "GET", url: "/v1/exceptions" })).json().exceptions.length;
    const undeclared = await t.as("approver", { method: "POST", url: "/v1/exceptions", headers: { "content-type": "application/json" }, payload: latin1 });
    expect(undeclared.statusCode).toBe(400);
    expect(undeclared.json().error).toMatchObject({ code: "VIGIL_BAD_INPUT", field: "body" });
    expect(undeclared.json().error.message).toMatch(/not UTF-8.*byte 53.*send the JSON as UTF-8/);
    const declared = await t.as("approver", { method: "POST", url: "/v1/exceptions", headers: { "content-type": "application/json; charset=iso-8859-1" }, payload: latin1 });
    expect(declared.statusCode).toBe(415);
    expect(declared.json().error).toMatchObject({ code: "VIGIL_BAD_INPUT", field: "content-type" });
    expect(declared.json().error.message).toMatch(/charset=iso-8859-1.*UTF-8/);
    expect((await t.as("viewer", { method: "GET", url: "/v1/exceptions" })).json().exceptions).toHaveLength(before);
  });

  it("UTF-8, declared under any of its names or not at all, is read as before", async () => {
    for (const contentType of ["application/json", "application/json; charset=UTF-8", "application/json;charset=\"utf8\""]) {
      const response = await t.as("approver", { method: "POST", url: "/v1/exceptions", headers: { "content-type": contentType }, payload: Buffer.from('{"policies":["no-public-bucket"],"justification":"café terrace bucket","expiresAt":"2025-03-05T00:00:00Z"}', "utf8") });
      expect(response.statusCode, contentType).toBe(201);
      expect(response.json().justification).toBe("café terrace bucket");
    }
  });
});
