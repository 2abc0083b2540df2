import { VigilError } from "../../core/index.js";
import type { Storage } from "../../core/index.js";
import type { SqlStorageOptions } from "../sql-storage.js";
import { SqlStorage } from "../sql-storage.js";
import { checkLockTimeoutMs, checkSchemaName } from "./postgres-dialect.js";
import { PostgresDriver } from "./postgres-driver.js";

export interface PostgresStorageOptions extends SqlStorageOptions {
  /** Connection URL, e.g. `postgres://vigil@db:5432/vigil?sslmode=require`. */
  readonly url: string;
  /** Schema holding Vigil's tables (created by `init()`); default `vigil`. Lower-case identifier. */
  readonly schema?: string;
  /** Connections in this process's pool. Default 10. */
  readonly maxConnections?: number;
  /** Seconds to wait for a connection. Default 10. */
  readonly connectTimeoutSeconds?: number;
  /**
   * Milliseconds an append waits for the chain_head row lock before failing with a retryable
   * VIGIL_STORAGE error (`SET LOCAL lock_timeout`). Default 10 000.
   */
  readonly lockTimeoutMs?: number;
}

/**
 * Storage on PostgreSQL through the `postgres` client, for running several Vigil workers on one
 * database. Same behaviour as the SQLite store (one shared implementation); several writers
 * keep one decision chain by locking the chain_head row (`SELECT ... FOR UPDATE`) in the append
 * transaction. Call `init()` before use: it creates the schema and applies migrations.
 */
export function createPostgresStorage(options: PostgresStorageOptions): Storage {
  if (typeof options.url !== "string" || !/^postgres(ql)?:\/\//.test(options.url)) {
    throw new VigilError("VIGIL_BAD_CONFIG", "store.url must be a postgres:// connection URL, e.g. postgres://vigil@127.0.0.1:5432/vigil", { field: "store.url" });
  }
  const schema = checkSchemaName(options.schema ?? "vigil");
  const driver = new PostgresDriver({
    url: options.url,
    schema,
    ...(options.maxConnections === undefined ? {} : { maxConnections: options.maxConnections }),
    ...(options.connectTimeoutSeconds === undefined ? {} : { connectTimeoutSeconds: options.connectTimeoutSeconds }),
    ...(options.lockTimeoutMs === undefined ? {} : { lockTimeoutMs: checkLockTimeoutMs(options.lockTimeoutMs) }),
  });
  return new SqlStorage("postgres", driver, options.mask === undefined ? {} : { mask: options.mask });
}

export { PostgresDriver, toDollarParams } from "./postgres-driver.js";
export { checkLockTimeoutMs, checkSchemaName, DEFAULT_LOCK_TIMEOUT_MS, postgresDialect, postgresMigrations } from "./postgres-dialect.js";
