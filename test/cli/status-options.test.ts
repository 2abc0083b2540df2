import { describe, expect, it } from "vitest";
import { vigil } from "./support.js";

const env = { VIGIL_SERVER: "http://127.0.0.1:9", VIGIL_TOKEN: "t" };

describe("--status of reviews list and ladder list", () => {
  // A bad value went to the server, whose answer named its own field: "querystring/status must be equal to one of the allowed values".
  it("a value that is not a status is a usage error listing the statuses, before the server is called", async () => {
    const reviews = await vigil(["reviews", "list", "--status", "bogus"], { env });
    expect(reviews.code).toBe(2);
    expect(reviews.stderr).toContain('--status must be "open", "pending", "escalated", "approved", "denied" or "expired", not "bogus"');
    const ladder = await vigil(["ladder", "list", "--status", "bogus"], { env });
    expect(ladder.code).toBe(2);
    expect(ladder.stderr).toContain('--status must be "notified", "waiting", "pending-approval", "applied", "previewed", "failed", "released", "lapsed", "undone" or "closed", not "bogus"');
  });

  it("a real status still goes to the server", async () => {
    const run = await vigil(["reviews", "list", "--status", "open"], { env });
    expect(run.stderr).toContain("cannot reach the Vigil server");
  });
});
