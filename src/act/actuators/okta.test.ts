import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { Actuator } from "../../core/index.js";
import { createOktaActuators } from "./okta.js";
import { startWireServer, testPlan, testRuntime } from "./test-server.js";
import type { WireServer } from "./test-server.js";

const TOKEN = "00okta-api-token-for-tests";

/** Okta's error body (developer.okta.com/docs/reference/error-codes). */
function oktaError(code: string, summary: string, causes: string[] = []) {
  return { errorCode: code, errorSummary: summary, errorLink: code, errorId: "oaeTestErrorId0001", errorCauses: causes.map((errorSummary) => ({ errorSummary })) };
}

/** A user as GET /api/v1/users/{id} returns it (trimmed). */
function oktaUser(id: string, status: string) {
  return {
    id,
    status,
    created: "2024-01-10T09:00:00.000Z",
    activated: "2024-01-10T09:00:01.000Z",
    statusChanged: "2024-02-01T10:00:00.000Z",
    lastLogin: "2025-02-28T08:00:00.000Z",
    lastUpdated: "2025-02-28T08:00:00.000Z",
    passwordChanged: "2024-01-10T09:00:01.000Z",
    type: { id: "oty1testtype0001" },
    profile: { firstName: "Isaac", lastName: "Brock", email: "isaac.brock@example.com", login: "isaac.brock@example.com" },
    credentials: { provider: { type: "OKTA", name: "OKTA" } },
    _links: { self: { href: `https://example.okta.com/api/v1/users/${id}` } },
  };
}

/** A small Okta: users with a status, the suspend/unsuspend transitions and their preconditions. */
function playOkta(server: WireServer, users: Map<string, string>): void {
  server.authenticate(
    (request) => (request.header("authorization") === `SSWS ${TOKEN}` ? undefined : `bad Authorization ${request.header("authorization") ?? "(none)"}`),
    () => ({ status: 401, body: oktaError("E0000011", "Invalid token provided") }),
  );
  const notFound = (id: string) => ({ status: 404, body: oktaError("E0000007", `Not found: Resource not found: ${id} (User)`) });
  server.on("GET", "/api/v1/users/:id", (request) => {
    const status = users.get(request.params["id"] ?? "");
    return status === undefined ? notFound(request.params["id"] ?? "") : { status: 200, body: oktaUser(request.params["id"] ?? "", status) };
  });
  server.on("POST", "/api/v1/users/:id/lifecycle/:operation", (request) => {
    const id = request.params["id"] ?? "";
    const status = users.get(id);
    if (status === undefined) return notFound(id);
    if (request.header("accept") !== "application/json") return { status: 406, body: oktaError("E0000002", "The request was not valid: Accept") };
    if (request.params["operation"] === "suspend") {
      if (status !== "ACTIVE") return { status: 400, body: oktaError("E0000001", "Api validation failed: suspend", ["Cannot suspend a user that is not active"]) };
      users.set(id, "SUSPENDED");
      return { status: 200, body: {} };
    }
    if (request.params["operation"] === "unsuspend") {
      if (status !== "SUSPENDED") return { status: 400, body: oktaError("E0000001", "Api validation failed: unsuspend", ["Cannot unsuspend a user that is not suspended"]) };
      users.set(id, "ACTIVE");
      return { status: 200, body: {} };
    }
    return undefined;
  });
}

describe("okta actuators", () => {
  let server: WireServer;
  let users: Map<string, string>;
  let suspend: Actuator;
  let unsuspend: Actuator;
  beforeEach(async () => {
    server = await startWireServer();
    users = new Map([
      ["00ub0oNGTSWTBKOLGLNR", "ACTIVE"],
      ["00ub0oNGTSWTBKOSUSPD", "SUSPENDED"],
      ["00ub0oNGTSWTBKOSTAGE", "STAGED"],
    ]);
    playOkta(server, users);
    [suspend, unsuspend] = createOktaActuators({ orgUrl: server.url, token: TOKEN }, testRuntime()) as [Actuator, Actuator];
  });
  afterEach(() => server.close());

  it("suspends an active user with SSWS auth, and undo unsuspends", async () => {
    const plan = testPlan("okta.suspend-user", { userId: "00ub0oNGTSWTBKOLGLNR" });
    const applied = await suspend.apply(plan, { dryRun: false });
    expect(server.problems).toEqual([]);
    expect(applied.status).toBe("applied");
    expect(applied.output).toEqual({ userId: "00ub0oNGTSWTBKOLGLNR", previousStatus: "ACTIVE", status: "SUSPENDED", changed: true });
    expect(users.get("00ub0oNGTSWTBKOLGLNR")).toBe("SUSPENDED");
    expect(server.mutatingRequests().map((request) => `${request.method} ${request.path}`)).toEqual(["POST /api/v1/users/00ub0oNGTSWTBKOLGLNR/lifecycle/suspend"]);

    const undone = await suspend.undo(plan, applied);
    expect(undone.status).toBe("undone");
    expect(users.get("00ub0oNGTSWTBKOLGLNR")).toBe("ACTIVE");
    expect(server.mutatingRequests().at(-1)?.path).toBe("/api/v1/users/00ub0oNGTSWTBKOLGLNR/lifecycle/unsuspend");
  });

  it("leaves an already suspended user alone, and its undo does not unsuspend", async () => {
    const plan = testPlan("okta.suspend-user", { userId: "00ub0oNGTSWTBKOSUSPD" });
    const applied = await suspend.apply(plan, { dryRun: false });
    expect(applied.output).toMatchObject({ previousStatus: "SUSPENDED", changed: false });
    const undone = await suspend.undo(plan, applied);
    expect(undone.status).toBe("undone");
    expect(undone.output).toMatchObject({ changed: false });
    expect(server.mutatingRequests()).toHaveLength(0);
    expect(users.get("00ub0oNGTSWTBKOSUSPD")).toBe("SUSPENDED");
  });

  it("dry-run reads the user and sends no lifecycle request", async () => {
    const result = await suspend.apply(testPlan("okta.suspend-user", { userId: "00ub0oNGTSWTBKOLGLNR" }), { dryRun: true });
    expect(result.status).toBe("dry-run");
    expect(result.output).toMatchObject({ currentStatus: "ACTIVE", wouldChange: true });
    expect(server.mutatingRequests()).toHaveLength(0);
    expect(users.get("00ub0oNGTSWTBKOLGLNR")).toBe("ACTIVE");
  });

  it("names Okta's error code when a precondition fails (suspend a STAGED user)", async () => {
    const result = await suspend.apply(testPlan("okta.suspend-user", { userId: "00ub0oNGTSWTBKOSTAGE" }), { dryRun: false });
    expect(result.status).toBe("failed");
    expect(result.error).toBe(
      "okta.suspend-user apply failed: Okta API POST /api/v1/users/00ub0oNGTSWTBKOSTAGE/lifecycle/suspend answered HTTP 400 E0000001: Api validation failed: suspend (Cannot suspend a user that is not active)",
    );
    expect(result.output).toEqual({ status: 400, apiCode: "E0000001" });
  });

  it("names E0000007 for an unknown user and E0000011 for a wrong token", async () => {
    const missing = await suspend.apply(testPlan("okta.suspend-user", { userId: "00unknown" }), { dryRun: false });
    expect(missing.error).toMatch(/HTTP 404 E0000007: Not found/);
    const [wrongToken] = createOktaActuators({ orgUrl: server.url, token: "stolen" }, testRuntime());
    const denied = await wrongToken?.apply(testPlan("okta.suspend-user", { userId: "00ub0oNGTSWTBKOLGLNR" }), { dryRun: false });
    expect(denied?.error).toMatch(/HTTP 401 E0000011: Invalid token provided/);
    expect(server.problems).toEqual(["GET /api/v1/users/00ub0oNGTSWTBKOLGLNR: bad Authorization SSWS stolen"]);
  });

  it("unsuspends a suspended user; undo suspends again", async () => {
    const plan = testPlan("okta.unsuspend-user", { userId: "00ub0oNGTSWTBKOSUSPD" });
    const applied = await unsuspend.apply(plan, { dryRun: false });
    expect(applied.status).toBe("applied");
    expect(users.get("00ub0oNGTSWTBKOSUSPD")).toBe("ACTIVE");
    const undone = await unsuspend.undo(plan, applied);
    expect(undone.status).toBe("undone");
    expect(users.get("00ub0oNGTSWTBKOSUSPD")).toBe("SUSPENDED");
  });

  it("retries Okta's 429 rate limit", async () => {
    let limited = true;
    server.on("GET", "/api/v1/users/:id", (request) => {
      if (!limited) return undefined;
      limited = false;
      return { status: 429, headers: { "x-rate-limit-reset": "1740830460", "retry-after": "2" }, body: oktaError("E0000047", "API call exceeded rate limit due to too many requests.") };
    });
    const runtime = testRuntime();
    const [actuator] = createOktaActuators({ orgUrl: server.url, token: TOKEN }, runtime);
    const result = await actuator?.apply(testPlan("okta.suspend-user", { userId: "00ub0oNGTSWTBKOLGLNR" }), { dryRun: false });
    expect(result?.status).toBe("applied");
    expect(runtime.sleeps).toEqual([2000]);
  });

  it("a suspend whose answer was lost (HTTP 503 after Okta suspended the user) is applied with undo data, though the retry is refused as not active", async () => {
    let lost = true;
    server.on("POST", "/api/v1/users/:id/lifecycle/suspend", (request) => {
      if (!lost) return undefined;
      lost = false;
      users.set(request.params["id"] ?? "", "SUSPENDED");
      return { status: 503, body: oktaError("E0000009", "Internal Server Error") };
    });
    const plan = testPlan("okta.suspend-user", { userId: "00ub0oNGTSWTBKOLGLNR" });
    const applied = await suspend.apply(plan, { dryRun: false });
    expect(server.mutatingRequests().map((request) => request.path)).toEqual([
      "/api/v1/users/00ub0oNGTSWTBKOLGLNR/lifecycle/suspend",
      "/api/v1/users/00ub0oNGTSWTBKOLGLNR/lifecycle/suspend",
    ]);
    expect(applied.status).toBe("applied");
    expect(applied.output).toMatchObject({ userId: "00ub0oNGTSWTBKOLGLNR", previousStatus: "ACTIVE", status: "SUSPENDED", changed: true });
    const undone = await suspend.undo(plan, applied);
    expect(undone.status).toBe("undone");
    expect(users.get("00ub0oNGTSWTBKOLGLNR")).toBe("ACTIVE");
  });

  it("an undo whose unsuspend answer was lost is undone, though the retry is refused as not suspended", async () => {
    const plan = testPlan("okta.suspend-user", { userId: "00ub0oNGTSWTBKOLGLNR" });
    const applied = await suspend.apply(plan, { dryRun: false });
    let lost = true;
    server.on("POST", "/api/v1/users/:id/lifecycle/unsuspend", (request) => {
      if (!lost) return undefined;
      lost = false;
      users.set(request.params["id"] ?? "", "ACTIVE");
      return { status: 502, body: "<html>Bad Gateway</html>" };
    });
    const undone = await suspend.undo(plan, applied);
    expect(undone.status).toBe("undone");
    expect(undone.output).toMatchObject({ changed: true, operation: "unsuspend" });
    expect(server.mutatingRequests().filter((request) => request.path.endsWith("/unsuspend"))).toHaveLength(2);
    expect(users.get("00ub0oNGTSWTBKOLGLNR")).toBe("ACTIVE");
  });

  it("a refused suspend of a user still not suspended stays failed", async () => {
    server.on("POST", "/api/v1/users/:id/lifecycle/suspend", () => ({ status: 403, body: oktaError("E0000006", "You do not have permission to perform the requested action") }));
    const applied = await suspend.apply(testPlan("okta.suspend-user", { userId: "00ub0oNGTSWTBKOLGLNR" }), { dryRun: false });
    expect(applied.status).toBe("failed");
    expect(applied.error).toMatch(/HTTP 403 E0000006/);
    expect(users.get("00ub0oNGTSWTBKOLGLNR")).toBe("ACTIVE");
  });

  it("waits out Okta's 429 until X-Rate-Limit-Reset (Okta sends no Retry-After), counted from the response's Date", async () => {
    const runtime = testRuntime(new Date("2025-03-01T12:00:00Z"));
    const waited = (): number => runtime.sleeps.reduce((sum, ms) => sum + ms, 0);
    // The org's window resets 12 s after the first 429; the server's clock (Date) is 40 s ahead of
    // Vigil's, so the wait is counted from Date, not from the local clock.
    server.on("POST", "/api/v1/users/:id/lifecycle/suspend", () => {
      if (waited() >= 12_000) return undefined;
      const now = new Date(Date.parse("2025-03-01T12:00:40Z") + waited());
      return {
        status: 429,
        headers: { date: now.toUTCString(), "x-rate-limit-limit": "600", "x-rate-limit-remaining": "0", "x-rate-limit-reset": String(Date.parse("2025-03-01T12:00:52Z") / 1000) },
        body: oktaError("E0000047", "API call exceeded rate limit due to too many requests."),
      };
    });
    const [actuator] = createOktaActuators({ orgUrl: server.url, token: TOKEN, maxAttempts: 3 }, runtime);
    const result = await actuator?.apply(testPlan("okta.suspend-user", { userId: "00ub0oNGTSWTBKOLGLNR" }), { dryRun: false });
    expect(result?.error).toBeUndefined();
    expect(result?.status).toBe("applied");
    expect(users.get("00ub0oNGTSWTBKOLGLNR")).toBe("SUSPENDED");
    // 12 s to the reset, plus 1 s so the new window has begun.
    expect(runtime.sleeps).toEqual([13_000]);
  });

  it("rejects a config without a token", () => {
    expect(() => createOktaActuators({ orgUrl: "https://example.okta.com", token: "" }, testRuntime())).toThrowError(/actuators\.okta\.token is required/);
  });
});
