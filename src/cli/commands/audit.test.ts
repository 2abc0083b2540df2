import { existsSync, rmSync } from "node:fs";
import { join } from "node:path";
import Database from "better-sqlite3";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { openStorage } from "../../agent.js";
import { parseConfig } from "../../config.js";
import { makeDraft } from "../../store/storage-contract-fixtures.js";
import { tempDir, vigil } from "../../../test/cli/support.js";

describe("vigil audit verify", () => {
  let dir: string;
  const env = () => ({ VIGIL_STORE_PATH: join(dir, "vigil.db") });

  beforeEach(async () => {
    dir = tempDir();
    const storage = await openStorage(parseConfig({ store: { path: join(dir, "vigil.db") } }));
    try {
      await storage.appendDecisions(Array.from({ length: 5 }, (_unused, index) => makeDraft(index + 1)));
    } finally {
      await storage.close();
    }
  });

  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it("prints the whole head hash, which is what has to be noted to pass back as expectedHead", async () => {
    const json = await vigil(["audit", "verify", "--output", "json"], { cwd: dir, env: env() });
    const head = (JSON.parse(json.stdout) as { head: { seq: number; hash: string } }).head;
    expect(head.seq).toBe(5);
    const text = await vigil(["audit", "verify"], { cwd: dir, env: env() });
    expect(text.code).toBe(0);
    expect(text.stdout).toContain(`decision record intact: 5 records verified (head seq 5, hash ${head.hash})`);
  });

  it("exits 1 naming the last record when the tail was deleted behind the adapter's back", async () => {
    const db = new Database(join(dir, "vigil.db"));
    db.exec("DROP TRIGGER decisions_refuse_delete");
    db.prepare("DELETE FROM decisions WHERE seq > 3").run();
    db.close();
    const run = await vigil(["audit", "verify"], { cwd: dir, env: env() });
    expect(run.code).toBe(1);
    expect(run.stdout).toContain("decision record TAMPERED: record dec-000003 (seq 3) was deleted:");
    expect(run.stdout).toContain("2 record(s) at the end are missing");
  });

  it("--expected-head catches a tail truncated with its chain_head moved back too, which the chain alone cannot show; a malformed head is refused naming the flag", async () => {
    const noted = (JSON.parse((await vigil(["audit", "verify", "--output", "json"], { cwd: dir, env: env() })).stdout) as { head: { seq: number; hash: string } }).head;
    expect((await vigil(["audit", "verify", "--expected-head", `${noted.seq}:${noted.hash}`], { cwd: dir, env: env() })).code).toBe(0);
    const db = new Database(join(dir, "vigil.db"));
    db.exec("DROP TRIGGER decisions_refuse_delete; DROP TRIGGER chain_head_forward_only");
    const third = db.prepare("SELECT hash FROM decisions WHERE seq = 3").get() as { hash: string };
    db.prepare("DELETE FROM decisions WHERE seq > 3").run();
    db.prepare("UPDATE chain_head SET seq = 3, hash = ? WHERE id = 1").run(third.hash);
    db.close();
    expect((await vigil(["audit", "verify"], { cwd: dir, env: env() })).code).toBe(0);
    const run = await vigil(["audit", "verify", "--expected-head", `${noted.seq}:${noted.hash}`], { cwd: dir, env: env() });
    expect(run.code).toBe(1);
    expect(run.stdout).toContain("was deleted");
    const bad = await vigil(["audit", "verify", "--expected-head", "5:abc"], { cwd: dir, env: env() });
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toContain("--expected-head is \"5:abc\": give <seq>:<hash>");
  });

  it("a store that does not exist is not an intact record of 0 decisions: exit 2 naming the path, nothing created", async () => {
    const elsewhere = tempDir();
    const missing = join(elsewhere, "typo", "vigil.db");
    const run = await vigil(["audit", "verify"], { cwd: elsewhere, env: { VIGIL_STORE_PATH: missing } });
    expect(run.code).toBe(2);
    expect(run.stdout).not.toContain("intact");
    expect(run.stderr).toContain(missing);
    expect(existsSync(missing)).toBe(false);
    const explained = await vigil(["explain", "d-1"], { cwd: elsewhere, env: { VIGIL_STORE_PATH: missing } });
    expect(explained.code).toBe(2);
    expect(explained.stderr).toContain(missing);
    expect(existsSync(missing)).toBe(false);
  });

  it("a --start checkpoint past the end names the seq, not an empty record id (printed \"record  (seq 9)\")", async () => {
    const run = await vigil(["audit", "verify", "--start", `9:${"a".repeat(64)}`], { cwd: dir, env: env() });
    expect(run.code).toBe(1);
    expect(run.stdout).toContain("decision record TAMPERED: record at seq 9 was deleted: the checkpoint seq 9 is not in the record");
    expect(run.stdout).not.toContain("record  (");
  });

  it("--start at seq 0 takes only the genesis hash: another is a usage error, not a report that the record does not link to it", async () => {
    const wrong = await vigil(["audit", "verify", "--start", `0:${"a".repeat(64)}`], { cwd: dir, env: env() });
    expect(wrong.code).toBe(2);
    expect(wrong.stderr).toMatch(/--start 0:.*seq 0 is the start of the chain, whose hash is the genesis hash 0{64}/);
    expect(wrong.stdout).not.toContain("TAMPERED");
    const genesis = await vigil(["audit", "verify", "--start", `0:${"0".repeat(64)}`], { cwd: dir, env: env() });
    expect(genesis.code).toBe(0);
  });
});
