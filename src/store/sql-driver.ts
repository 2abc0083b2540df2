/**
 * The seam between the shared SQL storage (sql-storage.ts) and a database driver. A driver is
 * thin glue (drizzle's habit): connection, parameter style, transactions, statement cache. The
 * dialect says how the few SQL fragments that differ are spelled.
 *
 * SQL handed to a driver uses `?` placeholders; a driver for another style (PostgreSQL `$n`)
 * rewrites them. Shared SQL never puts `?` inside a string literal or uses an operator spelled
 * `?`.
 */

export type SqlValue = string | number | null;

export type TableName = "schema_version" | "events" | "decisions" | "decision_policies" | "chain_head" | "docs" | "audit";

export interface SqlExecutor {
  /** Rows of a query (or of a statement with RETURNING). */
  all<Row extends object>(sql: string, params?: readonly SqlValue[]): Promise<Row[]>;
  /** Runs a statement; resolves to the number of rows it changed. */
  run(sql: string, params?: readonly SqlValue[]): Promise<number>;
  /** Runs several statements without parameters (DDL). */
  exec(script: string): Promise<void>;
  /**
   * Inserts rows into `table` (a qualified name from the dialect); `suffix` is appended after
   * the VALUES (e.g. `ON CONFLICT (...) DO NOTHING RETURNING seq`). Returns the RETURNING rows.
   */
  insertMany<Row extends object>(table: string, columns: readonly string[], rows: readonly (readonly SqlValue[])[], suffix?: string): Promise<Row[]>;
  /**
   * Inserts the rows not already stored by the unique `conflict` columns (a row repeating an
   * earlier row of `rows` is not stored either); resolves, per row in order, to the integer key
   * column `key` the database gave the new row (SQLite: the rowid alias), or undefined for a row
   * skipped. `conflict` columns must be among `columns`.
   */
  insertNew(table: string, columns: readonly string[], rows: readonly (readonly SqlValue[])[], conflict: readonly string[], key: string): Promise<(number | undefined)[]>;
}

export interface SqlDriver extends SqlExecutor {
  readonly dialect: SqlDialect;
  /**
   * Runs `fn` in one write transaction (committed when it resolves, rolled back when it
   * throws). The transaction takes the database's write lock early (SQLite: BEGIN IMMEDIATE)
   * so a read-then-write inside it cannot interleave with another writer.
   */
  transaction<T>(fn: (tx: SqlExecutor) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

export interface SqlDialect {
  readonly name: "sqlite" | "postgres";
  /** Quoted, schema-qualified table name. */
  table(name: TableName): string;
  /** The chain head row (seq, hash), locked against other writers until the transaction ends. */
  readonly selectChainHeadForUpdate: string;
  /** Run in the append transaction right before selectChainHeadForUpdate (PostgreSQL: `SET LOCAL lock_timeout`). */
  readonly beforeChainHeadLock?: string;
  /** True when `error` is the database giving up waiting for a lock (PostgreSQL: lock_timeout, SQLSTATE 55P03). */
  isLockTimeout?(error: unknown): boolean;
  /** SQL expression giving a JSON column's text. */
  jsonText(column: string): string;
  /**
   * JSON text as the JSON column stores it, and back (`decodeJson(encodeJson(t))` is `t`'s
   * value). PostgreSQL's JSONB cannot hold a NUL or a lone surrogate; SQLite stores text as is.
   */
  readonly encodeJson?: (text: string) => string;
  readonly decodeJson?: (text: string) => string;
  /** A predicate: every top-level field of `where` equals the given JSON scalar in JSON column `column`. */
  jsonFieldsEqual(column: string, where: Readonly<Record<string, string | number | boolean | null>>): { readonly sql: string; readonly params: SqlValue[] };
  /**
   * A predicate: text `column` equals `value`, for a column whose index holds a bounded start of
   * the text (PostgreSQL: `left(actor, 256)`, as a B-tree entry holds ~2.7 KB). Default `column = ?`.
   */
  boundedTextEquals?(column: string, value: string): { readonly sql: string; readonly params: SqlValue[] };
  /** A predicate: text column starts with the (one) bound parameter. */
  startsWith(column: string): string;
  /** True when `error` is a unique-constraint violation. */
  isUniqueViolation(error: unknown): boolean;
  /**
   * What to do about `error` when the fix is a setting (PostgreSQL: a server that cannot be
   * reached or refuses the login → store.url; SQLite: the write lock held past busyTimeoutMs):
   * a sentence appended to the failure and the setting as its field; undefined for any other failure.
   */
  explainFailure?(error: unknown): { readonly hint: string; readonly field: string } | undefined;
  /** Migrations in version order; each is a script of statements. */
  readonly migrations: readonly Migration[];
  /** Statement run first inside the migration transaction to keep concurrent migrators apart (PostgreSQL). */
  readonly migrationLock?: string;
  /** Statements run before the migration (e.g. CREATE SCHEMA IF NOT EXISTS) inside the same transaction. */
  readonly migrationPrelude?: string;
  /**
   * `create` (a CREATE TABLE of `name`) run only when the table does not exist (PostgreSQL: IF NOT
   * EXISTS still asks for CREATE on the schema, which a role that only reads and writes lacks).
   * Without it, `create` runs as it is and must be idempotent.
   */
  createTableIfMissing?(name: TableName, create: string): string;
}

export interface Migration {
  readonly version: number;
  readonly description: string;
  readonly sql: string;
}

/** Splits `rows` into chunks that keep a multi-row statement under `maxParams` bound values. */
export function chunkRows<T>(rows: readonly T[], columns: number, maxParams: number): T[][] {
  const size = Math.max(1, Math.floor(maxParams / Math.max(1, columns)));
  const chunks: T[][] = [];
  for (let index = 0; index < rows.length; index += size) chunks.push(rows.slice(index, index + size));
  return chunks;
}

/** `(?, ?, ?)` repeated `count` times, comma separated. */
export function valuesPlaceholders(columns: number, count: number): string {
  const one = `(${new Array<string>(columns).fill("?").join(", ")})`;
  return new Array<string>(count).fill(one).join(", ");
}

/** `?, ?, ?` for an IN list. */
export function listPlaceholders(count: number): string {
  return new Array<string>(count).fill("?").join(", ");
}
