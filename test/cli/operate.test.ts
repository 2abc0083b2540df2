import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { commands } from "../../src/cli/commands/index.js";
import { expiryFrom } from "../../src/cli/commands/reviews.js";
import { commandHelp } from "../../src/cli/command.js";
import { startTestServer, type TestServer } from "../server/support.js";
import { bucketPolicy, tempDir, vigil } from "./support.js";

let t: TestServer;
let url: string;

beforeAll(async () => {
  t = await startTestServer({ files: { "p.yaml": bucketPolicy }, start: true });
  url = await t.server.app.listen({ port: 0, host: "127.0.0.1" });
});

afterAll(async () => {
  await t.close();
});

const as = (role: keyof TestServer["tokens"]) => ({ VIGIL_SERVER: url, VIGIL_TOKEN: t.tokens[role] });
const ce = (id: string, data: unknown) => JSON.stringify({ specversion: "1.0", id, source: "/cli", type: "dev.vigil.decide", data });

describe("vigil setup import (through the server)", () => {
  it("does not put a revoked exception of the register back in force: it is reported not imported, the others are", async () => {
    const entry = { policies: ["no-public-bucket"], justification: "public website bucket by design", expiresAt: "2025-03-20T00:00:00Z" };
    const dir = tempDir({ "setup.json": JSON.stringify({ entities: [], exceptions: [{ id: "EX-KEEP", ...entry }, { id: "EX-GONE", ...entry, revokedAt: "2025-03-02T00:00:00Z" }] }) });
    const run = await vigil(["setup", "import", "setup.json"], { cwd: dir, env: as("admin") });
    expect(run.stdout).toContain("imported 0 entities and 1 exceptions");
    expect(run.stderr).toMatch(/not imported: exceptions\[1\] EX-GONE: .*revokedAt/);
    expect(run.code).toBe(1);
    expect((await t.as("viewer", { method: "GET", url: "/v1/exceptions/EX-KEEP" })).statusCode).toBe(200);
    expect((await t.as("viewer", { method: "GET", url: "/v1/exceptions/EX-GONE" })).statusCode).toBe(404);
  });
});

describe("vigil ingest", () => {
  it("sends the good items through the API, reports each bad one by line, and counts duplicates on a second run", async () => {
    const dir = tempDir({ "events.jsonl": [ce("c-1", { action: "s3:PutBucketAcl", resource: { name: "b", acl: "public-read" }, principal: { id: "x", admin: false } }), '{"specversion": "1.0", "id": "c-2"}', ce("c-3", { action: "other" })].join("\n") });
    const run = await vigil(["ingest", "events.jsonl"], { cwd: dir, env: as("ingest") });
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/rejected line 2: .*source/);
    expect(run.stdout).toContain("ingest (json-lines): 3 read, 2 accepted, 0 duplicates, 1 rejected");
    const again = await vigil(["ingest", "events.jsonl", "--output", "json"], { cwd: dir, env: as("ingest") });
    expect(JSON.parse(again.stdout)).toMatchObject({ accepted: 0, duplicates: 2, rejected: 1, problems: [expect.objectContaining({ line: 2 })] });
    await t.agent.ingestor.idle();
    expect(await t.agent.storage.listDecisions({ eventId: "c-1" })).toHaveLength(1);
  });

  it("needs a token with the ingest role, and a reachable server", async () => {
    const dir = tempDir({ "e.jsonl": ce("n-1", {}) });
    expect((await vigil(["ingest", "e.jsonl"], { cwd: dir, env: { VIGIL_SERVER: url } })).stderr).toContain("no API token");
    const viewer = await vigil(["ingest", "e.jsonl"], { cwd: dir, env: as("viewer") });
    expect(viewer.code).toBe(2);
    expect(viewer.stderr).toContain("needs the ingest role");
    const down = await vigil(["ingest", "e.jsonl", "--server", "http://127.0.0.1:9"], { cwd: dir, env: as("ingest") });
    expect(down.code).toBe(2);
    expect(down.stderr).toContain("cannot reach the Vigil server at http://127.0.0.1:9");
  });

  it("--direct writes into the configured store and decides there", async () => {
    const dir = tempDir({ "p.yaml": bucketPolicy, "e.jsonl": [ce("d-1", { action: "s3:PutBucketAcl", resource: { name: "b", acl: "public-read" }, principal: { id: "x", admin: false } }), ce("d-2", { action: "other" })].join("\n") });
    const env = { VIGIL_STORE_PATH: join(dir, "v.db"), VIGIL_POLICIES: join(dir, "p.yaml") };
    const run = await vigil(["ingest", "--direct", "e.jsonl"], { cwd: dir, env });
    expect(run.stdout).toContain("2 accepted");
    const explain = await vigil(["explain", "--output", "json", (await import("../../src/agent.js")).decisionIdFor({ source: "/cli", id: "d-1" })], { cwd: dir, env });
    expect(JSON.parse(explain.stdout).verdict).toBe("deny");
  });

  it("reports the warnings of items it accepted (FOCUS rows breaking the spec), with their row, on stderr and in --output json", async () => {
    const dir = tempDir({ "p.yaml": bucketPolicy });
    const focus = readFileSync(join(import.meta.dirname, "../fixtures/focus-sample-data/focus_sample_300.csv"), "utf8");
    writeFileSync(join(dir, "focus.csv"), focus);
    const env = { VIGIL_STORE_PATH: join(dir, "v.db"), VIGIL_POLICIES: join(dir, "p.yaml") };
    const run = await vigil(["ingest", "--direct", "focus.csv"], { cwd: dir, env });
    expect(run.code).toBe(0);
    expect(run.stdout).toContain("298 accepted");
    // Oracle's rows leave ContractedCost null, which FOCUS 1.0 forbids: accepted, and the user is told.
    expect(run.stderr.match(/^warning line \d+: .*ContractedCost is null/gm)).toHaveLength(7);
    expect(run.stdout).toContain("7 warnings");
    const json = await vigil(["ingest", "--direct", "--output", "json", "focus.csv"], { cwd: dir, env });
    const report = JSON.parse(json.stdout) as { warnings: { row?: number; message: string }[]; duplicates: number };
    expect(report.duplicates).toBe(298);
    expect(report.warnings).toHaveLength(7);
    expect(report.warnings[0]).toMatchObject({ row: expect.any(Number), line: expect.any(Number), message: expect.stringContaining("ContractedCost is null") });
  });
});

describe("operating commands through the API", () => {
  it("tokens create/list/revoke (admin), and --direct on the store", async () => {
    const created = await vigil(["tokens", "create", "--name", "robot", "--role", "ingest,viewer"], { env: as("admin") });
    expect(created.code).toBe(0);
    const token = created.stdout.trim();
    expect(token).toMatch(/^vgl_/);
    const list = await vigil(["tokens", "list", "--output", "json"], { env: as("admin") });
    const record = JSON.parse(list.stdout).tokens.find((x: { name: string }) => x.name === "robot");
    expect(record.roles).toEqual(["ingest", "viewer"]);
    expect((await vigil(["tokens", "list"], { env: as("operator") })).stderr).toContain("needs the admin role");
    expect((await vigil(["tokens", "revoke", record.id], { env: as("admin") })).stdout).toContain("REVOKED");
    expect((await vigil(["tokens", "list"], { env: { VIGIL_SERVER: url, VIGIL_TOKEN: token } })).code).toBe(2);

    const dir = tempDir();
    const direct = await vigil(["tokens", "create", "--direct", "--name", "break-glass", "--role", "admin"], { cwd: dir, env: { VIGIL_STORE_PATH: join(dir, "v.db") } });
    expect(direct.stdout).toMatch(/^vgl_/);
    expect((await vigil(["tokens", "list", "--direct"], { cwd: dir, env: { VIGIL_STORE_PATH: join(dir, "v.db") } })).stdout).toContain("break-glass");
    expect((await vigil(["tokens", "create", "--name", "x", "--role", "root"], { env: as("admin") })).stderr).toContain('unknown role "root"');
  });

  it("killswitch status/on/off, posture set/show, reviews list, exceptions add/list/revoke", async () => {
    expect((await vigil(["killswitch", "status"], { env: as("viewer") })).stdout).toContain("kill switch off");
    expect((await vigil(["killswitch", "on"], { env: as("viewer") })).code).toBe(2);
    expect((await vigil(["killswitch", "on", "--reason", "drill"], { env: as("operator") })).stdout).toContain("kill switch ON (set by operator-token");
    expect((await vigil(["killswitch", "off", "--output", "json"], { env: as("operator") })).stdout).toContain('"on": false');
    expect((await vigil(["posture", "set", "elevated", "--scope", "account:123", "--reason", "pen test"], { env: as("operator") })).stdout).toContain("account:123: elevated");
    expect((await vigil(["posture", "show"], { env: as("viewer") })).stdout).toContain("pen test");
    // A leap second is valid RFC 3339; the server's Date.parse reads it as NaN, so the CLI sends it as sources read it.
    expect((await vigil(["posture", "set", "elevated", "--scope", "account:456", "--until", "2099-12-31T23:59:60Z"], { env: as("operator") })).stdout).toContain("account:456: elevated until 2099-12-31T23:59:59.999Z");
    expect((await vigil(["posture", "set", "panic"], { env: as("operator") })).stderr).toContain("level");
    expect((await vigil(["reviews", "list"], { env: as("viewer") })).stdout).toContain("no reviews");

    const added = await vigil(["exceptions", "add", "--policy", "no-public-bucket", "--subject", "arn:aws:s3:::www-*", "--justification", "public website bucket", "--ticket", "SEC-1", "--expires", "2025-03-10T00:00:00Z"], { env: as("approver") });
    expect(added.code, added.stderr).toBe(0);
    const id = /EX-\d+/.exec(added.stdout)?.[0] as string;
    expect((await vigil(["exceptions", "list"], { env: as("viewer") })).stdout).toContain(id);
    expect((await vigil(["exceptions", "revoke", id], { env: as("approver") })).stderr).toContain("--reason is required");
    expect((await vigil(["exceptions", "revoke", id, "--reason", "moved"], { env: as("approver") })).stdout).toContain("REVOKED");
    expect((await vigil(["exceptions", "list"], { env: as("viewer") })).stdout).not.toContain(id);
    expect((await vigil(["exceptions", "list", "--all"], { env: as("viewer") })).stdout).toContain(id);
    expect((await vigil(["undo", "act-nope"], { env: as("operator") })).stderr).toContain("act-nope");
  });

  it("a bad --output is refused before the command acts: the kill switch and the posture stay as they were", async () => {
    for (const argv of [["killswitch", "on", "--reason", "drill", "-o", "yaml"], ["posture", "set", "freeze", "--scope", "account:999", "--output", "yaml"]]) {
      const run = await vigil(argv, { env: as("operator") });
      expect(run.code, argv.join(" ")).toBe(2);
      expect(run.stderr).toContain('--output must be "text" or "json", not "yaml"');
    }
    expect((await vigil(["killswitch", "status"], { env: as("viewer") })).stdout).toContain("kill switch off");
    expect((await vigil(["posture", "show"], { env: as("viewer") })).stdout).not.toContain("account:999");
  });

  it("expiry durations are relative to now; bad ones name the flag", () => {
    expect(expiryFrom("30d", Date.parse("2025-01-01T00:00:00Z"))).toBe("2025-01-31T00:00:00.000Z");
    expect(expiryFrom("2025-06-01T00:00:00Z")).toBe("2025-06-01T00:00:00Z");
    expect(expiryFrom("2025-06-30T23:59:60Z")).toBe("2025-06-30T23:59:59.999Z"); // a leap second, as sources read it
    expect(() => expiryFrom("soon")).toThrow(/--expires/);
  });
});

describe("--help", () => {
  it("every command has help with a summary, and the operating commands name --server and --token", async () => {
    for (const command of commands) {
      const run = await vigil([...command.path, "--help"]);
      expect(run.code, command.path.join(" ")).toBe(0);
      expect(run.stdout).toBe(commandHelp(command));
      if (["ingest", "killswitch", "undo", "reviews", "exceptions", "posture", "tokens"].includes(command.path[0] as string)) {
        expect(run.stdout, command.path.join(" ")).toContain("--server <url>");
        expect(run.stdout).toContain("--token <token>");
      }
    }
  });
});

describe("exceptions on the offline paths", () => {
  it("eval and replay --exceptions apply the exceptions in force in the configured store", async () => {
    const { createAgent } = await import("../../src/agent.js");
    const { parseConfig } = await import("../../src/config.js");
    const dir = tempDir({ "p.yaml": bucketPolicy });
    const store = join(dir, "v.db");
    const agent = await createAgent(parseConfig({ policies: [join(dir, "p.yaml")], store: { path: store } }), { onProblem: () => undefined });
    await agent.reviews.exceptions.create({ policies: ["no-public-bucket"], when: 'resource.name == "www"', justification: "the public website bucket", expiresAt: new Date(Date.now() + 86_400_000).toISOString() }, { id: "alice", roles: ["approver"] });
    await agent.close();
    const input = JSON.stringify({ action: "s3:PutBucketAcl", resource: { name: "www", acl: "public-read" }, principal: { id: "x", admin: false } });
    const env = { VIGIL_STORE_PATH: store };
    expect((await vigil(["eval", "-p", "p.yaml", "--input", input], { cwd: dir, env })).code).toBe(1);
    const excepted = await vigil(["eval", "-p", "p.yaml", "--input", input, "--exceptions", "--explain", "--output", "json"], { cwd: dir, env });
    expect(excepted.code).toBe(0);
    expect(JSON.parse(excepted.stdout).explanation.steps.join("\n")).toContain("EX-1");
    writeFileSync(join(dir, "e.jsonl"), ce("r-1", JSON.parse(input)));
    const replayed = await vigil(["replay", "-p", "p.yaml", "e.jsonl", "--exceptions"], { cwd: dir, env });
    expect(JSON.parse(replayed.stdout.trim()).verdict).toBe("allow");
  });
});
