import { rmSync } from "node:fs";
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
});
