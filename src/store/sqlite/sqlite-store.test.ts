import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import Database from "better-sqlite3";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { Storage } from "../../core/index.js";
import { verifyDecisionRecord } from "../chain.js";
import { storageContract } from "../storage-contract.js";
import { expectMigratedLongIds, expectMigratedVerdictIndex, expectVigilError, oldRecord } from "../storage-contract-support.js";
import { makeDraft } from "../storage-contract-fixtures.js";
import { noise } from "../storage-contract-fixtures.js";
import { decisionQuery, docKeyOfEncoded, tablesOf } from "../sql-queries.js";
import { createSqliteStorage, SqliteDriver, sqliteDialect, sqliteMigrations } from "./index.js";

storageContract("sqlite", async () => {
  const dir = mkdtempSync(join(tmpdir(), "vigil-sqlite-"));
  const path = join(dir, "vigil.db");
  return {
    open: async (options) => createSqliteStorage({ path, ...(options?.mask === undefined ? {} : { mask: options.mask }) }),
    dispose: async () => rmSync(dir, { recursive: true, force: true }),
  };
});

describe("sqlite storage specifics", () => {
  let dir: string;
  let path: string;
  let storage: Storage;

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), "vigil-sqlite-"));
    path = join(dir, "vigil.db");
    storage = createSqliteStorage({ path });
    await storage.init();
    await storage.appendDecisions(Array.from({ length: 6 }, (_unused, index) => makeDraft(index + 1)));
  });

  afterEach(async () => {
    await storage.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** A second, raw connection to the same file: what someone with file access could do. */
  function raw(fn: (db: Database.Database) => void): void {
    const db = new Database(path);
    try {
      fn(db);
    } finally {
      db.close();
    }
  }

  it("migration 4 keys the documents a version 3 store holds, long ids included, as it keys new ones", async () => {
    const oldPath = join(dir, "v3.db");
    const long = `${"\u{1F600}".repeat(200)}${noise(2000, 3)}`;
    const old = new Database(oldPath);
    old.exec("CREATE TABLE schema_version (version INTEGER PRIMARY KEY, description TEXT NOT NULL, applied_at TEXT NOT NULL)");
    for (const migration of sqliteMigrations.slice(0, 3)) {
      old.exec(migration.sql);
      old.prepare("INSERT INTO schema_version VALUES (?, ?, 'then')").run(migration.version, migration.description);
    }
    const put = old.prepare("INSERT INTO docs (collection, id, value, version, updated_at) VALUES ('entities', ?, ?, 3, 't')");
    put.run(long, '{"n":1}');
    put.run("user:bob", '{"n":2}');
    old.close();
    const migrated = createSqliteStorage({ path: oldPath });
    try {
      await migrated.init();
      await expectMigratedLongIds(migrated, long);
    } finally {
      await migrated.close();
    }
  });

  it("migration 5 indexes verdict and tier of the decisions a version 4 store holds, leaving the record as hashed, and the filters use the indexes", async () => {
    const oldPath = join(dir, "v4.db");
    const old = new Database(oldPath);
    old.function("vigil_doc_key", { deterministic: true }, (id: unknown) => (typeof id === "string" ? docKeyOfEncoded(id) : null));
    old.exec("CREATE TABLE schema_version (version INTEGER PRIMARY KEY, description TEXT NOT NULL, applied_at TEXT NOT NULL)");
    for (const migration of sqliteMigrations.slice(0, 4)) {
      old.exec(migration.sql);
      old.prepare("INSERT INTO schema_version VALUES (?, ?, 'then')").run(migration.version, migration.description);
    }
    const record = oldRecord();
    const insert = old.prepare("INSERT INTO decisions (seq, id, event_id, event_type, subject, time_ms, body, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)");
    for (const row of record.rows) insert.run(...row);
    old.prepare("UPDATE chain_head SET seq = ?, hash = ? WHERE id = 1").run(record.head.seq, record.head.hash);
    old.close();
    const migrated = createSqliteStorage({ path: oldPath });
    try {
      await migrated.init();
      await expectMigratedVerdictIndex(migrated);
    } finally {
      await migrated.close();
    }
    const db = new Database(oldPath, { readonly: true });
    try {
      expect(db.prepare("SELECT max(version) AS version FROM schema_version").get()).toEqual({ version: 5 });
      const plan = (sql: string) => (db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all("deny", 3, 3) as { detail: string }[]).map((row) => row.detail).join("; ");
      const { sql: verdictSql } = decisionQuery(tablesOf(sqliteDialect), { verdict: "deny", beforeSeq: 3, newestFirst: true, limit: 3 });
      expect(plan(verdictSql)).toContain("USING INDEX decisions_verdict");
      const { sql: tierSql } = decisionQuery(tablesOf(sqliteDialect), { tier: "block", beforeSeq: 3, newestFirst: true, limit: 3 });
      expect(plan(tierSql)).toContain("USING INDEX decisions_tier");
    } finally {
      db.close();
    }
  });

  it("opens the database in WAL mode with synchronous=FULL and a busy timeout", async () => {
    raw((db) => {
      expect(db.pragma("journal_mode", { simple: true })).toBe("wal");
      expect(db.prepare("SELECT version FROM schema_version").all()).toEqual([{ version: 1 }, { version: 2 }, { version: 3 }, { version: 4 }, { version: 5 }]);
    });
    const driver = new SqliteDriver({ path, busyTimeoutMs: 1234 });
    try {
      expect(driver.db.pragma("synchronous", { simple: true })).toBe(2); // FULL
      expect(driver.db.pragma("busy_timeout", { simple: true })).toBe(1234);
      expect(driver.db.pragma("wal_autocheckpoint", { simple: true })).toBe(1024); // 32 MB of 32 KB pages
    } finally {
      await driver.close();
    }
  });

  it("creates a new file with 32 KB pages and keeps the page size of an existing file, its WAL bound still 32 MB", async () => {
    raw((db) => expect(db.pragma("page_size", { simple: true })).toBe(32768));
    // A store created with 4 KB pages (an older Vigil's): it opens, appends and verifies, and keeps its size.
    const oldPath = join(dir, "old.db");
    const old = new Database(oldPath);
    old.pragma("page_size = 4096");
    old.pragma("journal_mode = WAL");
    old.exec("CREATE TABLE placeholder (x INTEGER)");
    old.close();
    const reopened = createSqliteStorage({ path: oldPath });
    await reopened.init();
    await reopened.appendDecisions(Array.from({ length: 3 }, (_unused, index) => makeDraft(index + 1)));
    expect((await verifyDecisionRecord(reopened)).ok).toBe(true);
    await reopened.close();
    const driver = new SqliteDriver({ path: oldPath });
    try {
      expect(driver.db.pragma("wal_autocheckpoint", { simple: true })).toBe(8192); // 32 MB of 4 KB pages
    } finally {
      await driver.close();
    }
    const check = new Database(oldPath, { readonly: true });
    try {
      expect(check.pragma("page_size", { simple: true })).toBe(4096);
    } finally {
      check.close();
    }
  });

  it("refuses UPDATE, DELETE of decision and audit rows and moving the chain head back, even through raw SQL", async () => {
    await storage.appendAudit([{ at: "2024-01-01T00:00:00Z", actor: "alice", action: "policy.promote" }]);
    raw((db) => {
      expect(() => db.prepare("UPDATE decisions SET body = '{}' WHERE seq = 2").run()).toThrow(/append-only: UPDATE refused/);
      expect(() => db.prepare("DELETE FROM decisions WHERE seq = 2").run()).toThrow(/append-only: DELETE refused/);
      expect(() => db.prepare("UPDATE chain_head SET seq = 1").run()).toThrow(/only moves forward/);
      // The hash of the current position cannot be swapped for another (a rewritten tail re-hashed to match).
      expect(() => db.prepare("UPDATE chain_head SET hash = CASE WHEN substr(hash, 1, 1) = 'f' THEN 'e' ELSE 'f' END || substr(hash, 2)").run()).toThrow(/only moves forward/);
      expect(() => db.prepare("DELETE FROM audit").run()).toThrow(/audit is append-only: DELETE refused/);
      expect(() => db.prepare("UPDATE audit SET actor = 'mallory'").run()).toThrow(/audit is append-only: UPDATE refused/);
      expect(db.prepare("SELECT COUNT(*) AS n FROM decisions").get()).toEqual({ n: 6 });
    });
  });

  it("catches a body modified behind the adapter's back", async () => {
    raw((db) => {
      db.exec("DROP TRIGGER decisions_refuse_update");
      db.prepare("UPDATE decisions SET body = replace(body, '\"deny\"', '\"allow\"') WHERE seq = 4").run();
    });
    expect((await verifyDecisionRecord(storage)).problem).toMatchObject({ seq: 4, id: "dec-000004", kind: "modified" });
  });

  it("catches a deleted decision row", async () => {
    raw((db) => {
      db.exec("DROP TRIGGER decisions_refuse_delete");
      db.prepare("DELETE FROM decisions WHERE seq = 3").run();
    });
    expect((await verifyDecisionRecord(storage, { batchSize: 2 })).problem).toMatchObject({ seq: 4, id: "dec-000004", kind: "deleted" });
  });

  it("catches swapped decision rows", async () => {
    raw((db) => {
      db.exec("DROP TRIGGER decisions_refuse_update");
      db.exec("UPDATE decisions SET seq = -5 WHERE seq = 5; UPDATE decisions SET seq = 5 WHERE seq = 2; UPDATE decisions SET seq = 2 WHERE seq = -5;");
    });
    expect((await verifyDecisionRecord(storage)).problem).toMatchObject({ seq: 2, id: "dec-000005", kind: "reordered" });
  });

  it("catches a truncated tail against the store's chain_head, and against the head noted earlier when chain_head was moved back too", async () => {
    const head = (await verifyDecisionRecord(storage)).head;
    raw((db) => {
      db.exec("DROP TRIGGER decisions_refuse_delete");
      db.prepare("DELETE FROM decisions WHERE seq > 4").run();
    });
    const truncated = await verifyDecisionRecord(storage);
    expect(truncated).toMatchObject({ ok: false, checked: 4, problem: { seq: 4, id: "dec-000004", kind: "deleted" } });
    expect(truncated.problem?.detail).toContain("chain_head is at seq 6: 2 record(s) at the end are missing");
    // Whoever also moves chain_head back leaves a valid shorter chain: only the head noted elsewhere tells.
    raw((db) => {
      db.exec("DROP TRIGGER chain_head_forward_only");
      db.prepare("UPDATE chain_head SET seq = 4, hash = (SELECT hash FROM decisions WHERE seq = 4)").run();
    });
    expect((await verifyDecisionRecord(storage)).ok).toBe(true);
    expect((await verifyDecisionRecord(storage, { expectedHead: head })).problem).toMatchObject({ seq: 4, kind: "deleted" });
  });

  it("catches a chain_head moved back below the stored records, or altered, or deleted", async () => {
    raw((db) => {
      db.exec("DROP TRIGGER chain_head_forward_only");
      db.prepare("UPDATE chain_head SET seq = 4, hash = (SELECT hash FROM decisions WHERE seq = 4)").run();
    });
    expect((await verifyDecisionRecord(storage)).problem).toMatchObject({ seq: 5, id: "dec-000005", kind: "modified" });
    raw((db) => db.prepare("UPDATE chain_head SET seq = 6, hash = ?").run("c".repeat(64)));
    expect((await verifyDecisionRecord(storage)).problem).toMatchObject({ seq: 6, id: "dec-000006", kind: "modified" });
    raw((db) => {
      db.exec("DROP TRIGGER chain_head_refuse_delete");
      db.prepare("DELETE FROM chain_head").run();
    });
    const missing = await verifyDecisionRecord(storage);
    expect(missing.problem).toMatchObject({ seq: 6, kind: "modified" });
    expect(missing.problem?.detail).toContain("chain_head row is missing");
  });

  it("reports a database it cannot open as VIGIL_STORAGE naming the path and the setting (store.path)", async () => {
    const missing = join(dir, "no-such-folder", "vigil.db");
    try {
      createSqliteStorage({ path: missing });
      expect.unreachable();
    } catch (error) {
      expect(error).toMatchObject({ code: "VIGIL_STORAGE", details: { field: "store.path" } });
      expect(String(error)).toContain(missing);
    }
  });

  it("rejects an empty path with VIGIL_BAD_CONFIG naming store.path, the key vigil.yaml has", () => {
    expect(() => createSqliteStorage({ path: "" })).toThrow(/^store\.path must name/);
    expect(() => createSqliteStorage({ path: "" })).toThrow(expect.objectContaining({ code: "VIGIL_BAD_CONFIG", details: { field: "store.path" } }));
  });

  it("refuses a database whose schema is newer than this code", async () => {
    raw((db) => db.prepare("INSERT INTO schema_version (version, description, applied_at) VALUES (99, 'future', 'now')").run());
    const newer = createSqliteStorage({ path });
    await expectVigilError(newer.init(), "VIGIL_STORAGE", "version 99");
    await newer.close();
  });

  it("reports a write lock held past busyTimeoutMs naming the file, the option and what to change, not only 'database is locked'", async () => {
    const impatient = createSqliteStorage({ path, busyTimeoutMs: 50 });
    await impatient.init();
    const holder = new Database(path);
    try {
      holder.exec("BEGIN IMMEDIATE");
      const refused: unknown = await impatient.appendDecisions([makeDraft(7)]).then(() => undefined, (error: unknown) => error);
      expect(refused).toMatchObject({ code: "VIGIL_STORAGE", details: { field: "busyTimeoutMs" } });
      expect(String(refused)).toContain("sqlite storage: appendDecisions failed: database is locked");
      expect(String(refused)).toContain(`write lock of ${path}`);
      expect(String(refused)).toContain("busyTimeoutMs (50 ms)");
      expect(String(refused)).toContain("store.kind: postgres");
    } finally {
      holder.exec("ROLLBACK");
      holder.close();
    }
    // Retryable: the lock free, the same append goes through.
    expect((await impatient.appendDecisions([makeDraft(7)]))[0]?.seq).toBe(7);
    await impatient.close();
  });

  it("lets two stores of one process take turns when their paths name the same file through a symlinked folder", async () => {
    // Each path had its own statement queue: one store's BEGIN IMMEDIATE waited (synchronously) for
    // the lock the other's open transaction held, blocking the event loop that transaction needed,
    // and the append failed after busyTimeoutMs as 'database is locked'.
    symlinkSync(dir, `${dir}-link`);
    const other = createSqliteStorage({ path: join(`${dir}-link`, "vigil.db"), busyTimeoutMs: 200 });
    try {
      await other.init();
      await Promise.all(Array.from({ length: 20 }, (_unused, index) => (index % 2 === 0 ? storage : other).appendDecisions([makeDraft(100 + index)])));
      expect(await verifyDecisionRecord(storage)).toMatchObject({ ok: true, checked: 26 });
    } finally {
      await other.close();
      rmSync(`${dir}-link`, { force: true });
    }
  });

  it("keeps one chain when separate processes append to the same file", async () => {
    const worker = fileURLToPath(new URL("./append-worker.fixture.ts", import.meta.url));
    const run = (first: number) => new Promise<void>((resolve, reject) => {
      const child = spawn(process.execPath, ["--import", "tsx", worker, "decisions", path, String(first), "20", "10"], { stdio: ["ignore", "ignore", "pipe"] });
      let stderr = "";
      child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
      child.on("exit", (code) => (code === 0 ? resolve() : reject(new Error(`worker exited ${code}: ${stderr}`))));
    });
    await Promise.all([run(10_000), run(20_000), run(30_000)]);
    const result = await verifyDecisionRecord(storage, { batchSize: 100 });
    expect(result).toMatchObject({ ok: true, checked: 6 + 3 * 200 });
  }, 60_000);

  it("loses no acknowledged event when the writing process is killed mid-ingest", async () => {
    const worker = fileURLToPath(new URL("./append-worker.fixture.ts", import.meta.url));
    const acked: string[] = [];
    await new Promise<void>((resolve, reject) => {
      const child = spawn(process.execPath, ["--import", "tsx", worker, "events", path, "100000"], { stdio: ["ignore", "pipe", "pipe"] });
      let buffer = "";
      child.stdout.on("data", (chunk: Buffer) => {
        buffer += chunk.toString();
        const lines = buffer.split("\n");
        buffer = lines.pop() ?? "";
        for (const line of lines) if (line.startsWith("acked ")) acked.push(line.slice(6));
        if (acked.length >= 200) child.kill("SIGKILL");
      });
      child.on("exit", (code, signal) => (signal === "SIGKILL" ? resolve() : reject(new Error(`worker was not killed (exit ${code})`))));
    });
    expect(acked.length).toBeGreaterThanOrEqual(200);
    const stored = new Set((await storage.listEvents({})).map((event) => event.event.id));
    const lost = acked.filter((id) => !stored.has(id));
    expect(lost).toEqual([]);
    expect(stored.size).toBeLessThan(100_000);
  }, 60_000);
});

