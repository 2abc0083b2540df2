import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestServer, type TestServer } from "./support.js";

let t: TestServer;

beforeAll(async () => {
  t = await startTestServer({ config: { clock: { mode: "manual", start: "2025-03-03T10:00:00Z" } } });
});

afterAll(async () => {
  await t.close();
});

describe("PUT /v1/clock (clock.mode manual)", () => {
  it("refuses a move past the last time a date can hold (400 naming advanceMs), and the clock keeps working", async () => {
    for (const advanceMs of [1e300, 9_007_199_254_740_993]) {
      const response = await t.as("admin", { method: "PUT", url: "/v1/clock", payload: { advanceMs } });
      expect(response.statusCode, String(advanceMs)).toBe(400);
      expect(response.json().error).toMatchObject({ code: "VIGIL_BAD_INPUT", field: "advanceMs" });
      expect(response.json().error.message).toMatch(/275760-09-13/);
    }
    // The clock was pushed to an invalid date before: every later call answered 500, for good (it only moves forward).
    const next = await t.as("admin", { method: "PUT", url: "/v1/clock", payload: { advanceMs: 60_000 } });
    expect(next.statusCode).toBe(200);
    expect(next.json()).toEqual({ now: "2025-03-03T10:01:00.000Z" });
    expect((await t.as("operator", { method: "PUT", url: "/v1/posture", payload: { level: "elevated", reason: "INC-1" } })).statusCode).toBe(200);
  });

  it("still moves to the last time a date can hold", async () => {
    const response = await t.as("admin", { method: "PUT", url: "/v1/clock", payload: { time: "9999-12-31T00:00:00Z", advanceMs: 1000 } });
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual({ now: "9999-12-31T00:00:01.000Z" });
  });
});
