import { statSync } from "node:fs";
import { resolve } from "node:path";
import Database from "better-sqlite3";
import type { Database as SqliteDatabase, Statement } from "better-sqlite3";
import type { SqlDialect, SqlDriver, SqlExecutor, SqlValue } from "../sql-driver.js";
import { docKeyOfEncoded } from "../sql-queries.js";
import { sqliteDialect } from "./sqlite-dialect.js";

export interface SqliteDriverOptions {
  /** Database file; `:memory:` for a throwaway database (not durable). */
  readonly path: string;
  /** How long a writer waits for another process's write lock, in ms. Default 5000. */
  readonly busyTimeoutMs?: number;
}

const STATEMENT_CACHE = 256;
/** WAL size at which a commit checkpoints it into the database file. */
const WAL_CHECKPOINT_BYTES = 32 * 1024 * 1024;

/**
 * One statement queue per database file in this process. A transaction spans awaits; if a second
 * connection to the same file started a write meanwhile, SQLite's busy handler would block the
 * event loop that the first transaction needs to finish. Sharing the queue makes same-process
 * connections take turns; other processes are kept apart by SQLite's own lock (busy_timeout).
 */
const queues = new Map<string, { tail: Promise<unknown>; users: number }>();

/**
 * The file itself (device and inode; the database was just opened, so it exists), not the path
 * naming it: two paths to one file through a symlinked folder had two queues, and one
 * connection's BEGIN IMMEDIATE, waiting synchronously for the lock the other's open transaction
 * held, blocked the event loop that transaction needed, until busyTimeoutMs failed it.
 */
function fileKey(path: string): string {
  try {
    const stat = statSync(path);
    return `file:${stat.dev}:${stat.ino}`;
  } catch {
    return resolve(path);
  }
}

/**
 * better-sqlite3 is synchronous; this driver gives it the async SqlDriver shape. Statements of
 * one process run one at a time through a promise queue, so an open transaction (which spans
 * awaits) never sees another caller's statements on the shared connection.
 */
export class SqliteDriver implements SqlDriver {
  readonly dialect: SqlDialect;
  readonly db: SqliteDatabase;
  private readonly statements = new Map<string, Statement>();
  private readonly queue: { tail: Promise<unknown>; users: number };
  private readonly queueKey: string;
  private readonly executor: SqlExecutor;

  constructor(options: SqliteDriverOptions) {
    this.db = new Database(options.path);
    const busyTimeoutMs = Math.max(0, Math.trunc(options.busyTimeoutMs ?? 5000));
    this.dialect = {
      ...sqliteDialect,
      // "database is locked" alone names neither the file nor what to change.
      explainFailure: (error) => ((error as { code?: unknown } | null)?.code === "SQLITE_BUSY"
        ? { hint: `another connection held the write lock of ${options.path} longer than busyTimeoutMs (${busyTimeoutMs} ms); nothing was written, retry; if several processes write this file, give each its own store.path, or share PostgreSQL (store.kind: postgres)`, field: "busyTimeoutMs" }
        : undefined),
    };
    // Schema migration 4 keys the documents already stored as the store keys new ones.
    this.db.function("vigil_doc_key", { deterministic: true }, (id: unknown) => (typeof id === "string" ? docKeyOfEncoded(id) : null));
    // 32 KB pages for a new file (a file that exists keeps its page size: SQLite ignores this in
    // WAL mode). Decision rows are ~2 KB (a CloudTrail input, the explanation, the revisions) and
    // event rows ~1.4 KB: an 8 KB page held three, leaving a fifth of it empty, and every batch
    // wrote and checkpointed those gaps. Measured on this machine (2026-11-27), 100k rows of ~2 KB
    // with the decision indexes, 1,000-row transactions, raw better-sqlite3: 8 KB 45.5k rows per
    // CPU-s, 16 KB 51.6-56.1k, 32 KB 62.2k, 64 KB 64.7-67.0k; `vigil replay --no-context --record`
    // of 100k simulated events, alternated: 8 KB 13.4-14.7k events/s, 32 KB 15.6-16.2k (same
    // 32 MB WAL bound). Single-row commits (the durable webhook) barely move: p50 0.14 → 0.19 ms,
    // p99 0.36 → 0.37 ms, p99.9 4.4 → 2.8 ms, CPU 101 → 131 µs per commit; reads by id 5.5 →
    // 7.3 µs, 50 rows by subject unchanged. 64 KB gains little more in bulk and costs more per commit.
    this.db.pragma("page_size = 32768");
    // INVARIANT: WAL + synchronous=FULL: a committed transaction is on disk before the call returns.
    this.db.pragma("journal_mode = WAL");
    this.db.pragma("synchronous = FULL");
    this.db.pragma(`busy_timeout = ${busyTimeoutMs}`);
    // Checkpoint the WAL into the database once it holds 32 MB instead of SQLite's 1,000 pages
    // (4 MB at 4 KB pages): decision ids, event ids and subjects are random keys, so every batch
    // dirties index pages all over the file, and a page changed by several batches is copied once
    // per checkpoint. In-process A/B, 100k decisions with UUID ids in batches of 1,000: CPU per row
    // -5% (-9% over the last 20k rows), wall -16%; 80 MB gained little more. Commits stay durable
    // (WAL + FULL). The bound is in pages: 32 MB of whatever page size the file has.
    const pageSize = Number(this.db.pragma("page_size", { simple: true })) || 4096;
    this.db.pragma(`wal_autocheckpoint = ${Math.max(1, Math.round(WAL_CHECKPOINT_BYTES / pageSize))}`);
    // 32 MB of page cache (default 2 MB): the id, event and subject indexes take random inserts.
    this.db.pragma("cache_size = -32768");
    this.queueKey = options.path === ":memory:" || options.path === "" ? `memory:${Math.random()}` : fileKey(options.path);
    const queue = queues.get(this.queueKey) ?? { tail: Promise.resolve(), users: 0 };
    queue.users += 1;
    queues.set(this.queueKey, queue);
    this.queue = queue;
    this.executor = {
      all: async <Row extends object>(sql: string, params: readonly SqlValue[] = []) => this.allNow<Row>(sql, params),
      run: async (sql: string, params: readonly SqlValue[] = []) => this.statement(sql).run(...params).changes,
      exec: async (script: string) => {
        this.db.exec(script);
      },
      insertMany: async <Row extends object>(table: string, columns: readonly string[], rows: readonly (readonly SqlValue[])[], suffix = "") => this.insertManyNow<Row>(table, columns, rows, suffix),
      insertNew: async (table: string, columns: readonly string[], rows: readonly (readonly SqlValue[])[], conflict: readonly string[]) => this.insertNewNow(table, columns, rows, conflict),
    };
  }

  all<Row extends object>(sql: string, params: readonly SqlValue[] = []): Promise<Row[]> {
    return this.serial(() => this.allNow<Row>(sql, params));
  }

  run(sql: string, params: readonly SqlValue[] = []): Promise<number> {
    return this.serial(() => this.statement(sql).run(...params).changes);
  }

  exec(script: string): Promise<void> {
    return this.serial(() => {
      this.db.exec(script);
    });
  }

  insertMany<Row extends object>(table: string, columns: readonly string[], rows: readonly (readonly SqlValue[])[], suffix = ""): Promise<Row[]> {
    return this.serial(() => this.insertManyNow<Row>(table, columns, rows, suffix));
  }

  insertNew(table: string, columns: readonly string[], rows: readonly (readonly SqlValue[])[], conflict: readonly string[]): Promise<(number | undefined)[]> {
    return this.serial(() => this.insertNewNow(table, columns, rows, conflict));
  }

  transaction<T>(fn: (tx: SqlExecutor) => Promise<T>): Promise<T> {
    return this.serial(async () => {
      this.db.exec("BEGIN IMMEDIATE");
      try {
        const result = await fn(this.executor);
        this.db.exec("COMMIT");
        return result;
      } catch (error) {
        if (this.db.inTransaction) this.db.exec("ROLLBACK");
        throw error;
      }
    });
  }

  async close(): Promise<void> {
    await this.serial(() => {
      if (!this.db.open) return;
      this.db.close();
      this.queue.users -= 1;
      if (this.queue.users === 0) queues.delete(this.queueKey);
    });
  }

  private serial<T>(fn: () => T | Promise<T>): Promise<T> {
    const result = this.queue.tail.then(fn);
    this.queue.tail = result.then(() => undefined, () => undefined);
    return result;
  }

  private statement(sql: string): Statement {
    let statement = this.statements.get(sql);
    if (statement === undefined) {
      statement = this.db.prepare(sql);
      if (this.statements.size >= STATEMENT_CACHE) {
        const oldest = this.statements.keys().next().value;
        if (oldest !== undefined) this.statements.delete(oldest);
      }
      this.statements.set(sql, statement);
    }
    return statement;
  }

  private allNow<Row extends object>(sql: string, params: readonly SqlValue[]): Row[] {
    const statement = this.statement(sql);
    if (!statement.reader) {
      statement.run(...params);
      return [];
    }
    return statement.all(...params) as Row[];
  }

  /**
   * The new row's rowid from the statement's own result (`changes`, `lastInsertRowid`), not a
   * RETURNING clause: with RETURNING, SQLite's insert of an event row cost 17-19 µs of CPU
   * against 3.1-3.6 µs without (raw better-sqlite3, the events table's indexes, 100k rows of
   * ~650 bytes in 1,000-row transactions, WAL, synchronous=FULL; 2026-11-27). The key column
   * is the table's INTEGER PRIMARY KEY, which is the rowid.
   */
  private insertNewNow(table: string, columns: readonly string[], rows: readonly (readonly SqlValue[])[], conflict: readonly string[]): (number | undefined)[] {
    const statement = this.statement(`INSERT INTO ${table} (${columns.join(", ")}) VALUES (${columns.map(() => "?").join(", ")}) ON CONFLICT (${conflict.join(", ")}) DO NOTHING`);
    return rows.map((row) => {
      const result = statement.run(...row);
      return result.changes === 1 ? Number(result.lastInsertRowid) : undefined;
    });
  }

  /** One prepared single-row statement run per row: in-process SQLite gains nothing from multi-row VALUES. */
  private insertManyNow<Row extends object>(table: string, columns: readonly string[], rows: readonly (readonly SqlValue[])[], suffix: string): Row[] {
    const sql = `INSERT INTO ${table} (${columns.join(", ")}) VALUES (${columns.map(() => "?").join(", ")}) ${suffix}`;
    const statement = this.statement(sql);
    if (!statement.reader) {
      for (const row of rows) statement.run(...row);
      return [];
    }
    const out: Row[] = [];
    for (const row of rows) {
      const returned = statement.get(...row) as Row | undefined;
      if (returned !== undefined) out.push(returned);
    }
    return out;
  }
}
