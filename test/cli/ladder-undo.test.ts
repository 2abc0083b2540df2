import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { describe, expect, it } from "vitest";
import { vigil } from "./support.js";

/**
 * The answer of `POST /v1/ladder/:id/undo` when some of a mark's actions could not be undone
 * (src/act/ladder.ts: every applied action is tried; the failed ones come back in `failed`).
 * Served by a local HTTP server so the command's reading of that answer is what is tested.
 */
async function serveUndo(answer: unknown): Promise<{ url: string; requests: string[]; close(): Promise<void> }> {
  const requests: string[] = [];
  const server = createServer((request, response) => {
    requests.push(`${request.method} ${request.url} ${request.headers.authorization ?? ""}`);
    response.writeHead(200, { "content-type": "application/json" });
    response.end(JSON.stringify(answer));
  });
  await new Promise<void>((done) => server.listen(0, "127.0.0.1", done));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, requests, close: () => new Promise<void>((done) => server.close(() => done())) };
}

const item = { id: "lad-1", policy: "idle-ec2", target: { kind: "instance", id: "i-0abc" }, status: "applied", openedAt: "2026-11-20T09:00:00.000Z", violations: 3, snoozes: [], held: [], history: [] };

describe("vigil ladder undo", () => {
  it("names each action whose undo failed and exits 1; exits 0 when every undo succeeded", async () => {
    const partial = await serveUndo({ item, records: [], failed: [{ actionId: "act-2", actuator: "aws.ec2.stop-instances", error: "instance i-0abc was started since the action" }] });
    try {
      const run = await vigil(["ladder", "undo", "lad-1", "--reason", "false alarm"], { env: { VIGIL_SERVER: partial.url, VIGIL_TOKEN: "t0k" } });
      expect(run.code).toBe(1);
      expect(run.stdout).toContain("lad-1  applied  idle-ec2  i-0abc");
      expect(run.stderr).toContain("undo of act-2 (aws.ec2.stop-instances) failed: instance i-0abc was started since the action");
      expect(partial.requests).toEqual(["POST /v1/ladder/lad-1/undo Bearer t0k"]);
    } finally {
      await partial.close();
    }
    const complete = await serveUndo({ item: { ...item, status: "undone" }, records: [], failed: [] });
    try {
      const run = await vigil(["ladder", "undo", "lad-1"], { env: { VIGIL_SERVER: complete.url, VIGIL_TOKEN: "t0k" } });
      expect(run.code).toBe(0);
      expect(run.stderr).toBe("");
      expect(run.stdout).toContain("lad-1  undone  idle-ec2  i-0abc");
    } finally {
      await complete.close();
    }
  });
});
