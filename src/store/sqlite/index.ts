import { VigilError } from "../../core/index.js";
import type { Storage } from "../../core/index.js";
import type { SqlStorageOptions } from "../sql-storage.js";
import { SqlStorage } from "../sql-storage.js";
import { SqliteDriver } from "./sqlite-driver.js";

export interface SqliteStorageOptions extends SqlStorageOptions {
  /** Database file (created with its folder's permission). `:memory:` is accepted for throwaway use and is not durable. */
  readonly path: string;
  /** How long a writer waits for another process's write lock, in ms. Default 5000. */
  readonly busyTimeoutMs?: number;
}

/**
 * The embedded default Storage: one SQLite file through better-sqlite3, WAL, synchronous=FULL
 * (a resolved write is on disk). Call `init()` before use: it applies schema migrations.
 * Decision and audit rows are append-only (triggers refuse UPDATE/DELETE).
 */
export function createSqliteStorage(options: SqliteStorageOptions): Storage {
  if (typeof options.path !== "string" || options.path === "") {
    throw new VigilError("VIGIL_BAD_CONFIG", "store.path must name the database file, e.g. ./data/vigil.db", { field: "store.path" });
  }
  let driver: SqliteDriver;
  try {
    driver = new SqliteDriver({ path: options.path, ...(options.busyTimeoutMs === undefined ? {} : { busyTimeoutMs: options.busyTimeoutMs }) });
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    throw new VigilError("VIGIL_STORAGE", `sqlite storage: cannot open ${options.path}: ${message}; check that the folder exists and is writable (store.path)`, { field: "store.path" }, error);
  }
  return new SqlStorage("sqlite", driver, options.mask === undefined ? {} : { mask: options.mask });
}

export { SqliteDriver } from "./sqlite-driver.js";
export { sqliteDialect, sqliteMigrations } from "./sqlite-dialect.js";
