import postgres from "postgres";
import type { SqlDialect, SqlDriver, SqlExecutor, SqlValue } from "../sql-driver.js";
import { chunkRows, valuesPlaceholders } from "../sql-driver.js";
import { postgresDialect } from "./postgres-dialect.js";

export interface PostgresDriverOptions {
  /** `postgres://user@host:port/database` (the `postgres` client's URL syntax, incl. `?sslmode=`). */
  readonly url: string;
  readonly schema: string;
  /** Connections in the pool. Default 10. */
  readonly maxConnections?: number;
  /** Seconds to wait for a connection. Default 10. */
  readonly connectTimeoutSeconds?: number;
  /** Milliseconds an appender waits for the chain_head row lock. Default 10 000. */
  readonly lockTimeoutMs?: number;
}

/** PostgreSQL's limit is 65535 bound parameters per statement. */
const MAX_PARAMS = 65_000;

/** Rewrites `?` placeholders to `$1, $2, ...`, leaving single-quoted literals alone. */
export function toDollarParams(sql: string): string {
  let out = "";
  let index = 0;
  let inLiteral = false;
  for (const char of sql) {
    if (char === "'") inLiteral = !inLiteral;
    if (char === "?" && !inLiteral) {
      index += 1;
      out += `$${index}`;
    } else {
      out += char;
    }
  }
  return out;
}

type Client = postgres.Sql | postgres.TransactionSql;

function executorFor(client: Client): SqlExecutor {
  const query = async <Row extends object>(sql: string, params: readonly SqlValue[]): Promise<{ rows: Row[]; count: number }> => {
    // Statement texts vary with IN-list and VALUES sizes: unnamed statements keep the server's cache small.
    const result = await client.unsafe(toDollarParams(sql), params as SqlValue[], { prepare: false });
    return { rows: [...result] as unknown as Row[], count: result.count };
  };
  return {
    all: async <Row extends object>(sql: string, params: readonly SqlValue[] = []) => (await query<Row>(sql, params)).rows,
    run: async (sql: string, params: readonly SqlValue[] = []) => (await query(sql, params)).count,
    exec: async (script: string) => {
      await client.unsafe(script);
    },
    insertMany: async <Row extends object>(table: string, columns: readonly string[], rows: readonly (readonly SqlValue[])[], suffix = "") => {
      const out: Row[] = [];
      for (const chunk of chunkRows(rows, columns.length, MAX_PARAMS)) {
        const sql = `INSERT INTO ${table} (${columns.join(", ")}) VALUES ${valuesPlaceholders(columns.length, chunk.length)} ${suffix}`;
        out.push(...(await query<Row>(sql, chunk.flat())).rows);
      }
      return out;
    },
    insertNew: async (table: string, columns: readonly string[], rows: readonly (readonly SqlValue[])[], conflict: readonly string[], key: string) => {
      const at = conflict.map((column) => columns.indexOf(column));
      if (at.some((index) => index < 0)) throw new Error(`insertNew: conflict columns ${conflict.join(", ")} must be among the inserted columns`);
      const identity = (values: readonly unknown[]): string => JSON.stringify(values);
      const out: (number | undefined)[] = [];
      for (const chunk of chunkRows(rows, columns.length, MAX_PARAMS)) {
        const sql = `INSERT INTO ${table} (${columns.join(", ")}) VALUES ${valuesPlaceholders(columns.length, chunk.length)} ON CONFLICT (${conflict.join(", ")}) DO NOTHING RETURNING ${key}, ${conflict.join(", ")}`;
        const inserted = new Map<string, number>();
        for (const row of (await query<Record<string, unknown>>(sql, chunk.flat())).rows) inserted.set(identity(conflict.map((column) => row[column])), Number(row[key]));
        for (const row of chunk) {
          const id = identity(at.map((index) => row[index]));
          out.push(inserted.get(id));
          inserted.delete(id); // a later copy of the row in the batch was not stored
        }
      }
      return out;
    },
  };
}

/** The `postgres` client as a SqlDriver: a connection pool, one schema, `?` rewritten to `$n`. */
export class PostgresDriver implements SqlDriver {
  readonly dialect: SqlDialect;
  readonly sql: postgres.Sql;
  private readonly executor: SqlExecutor;

  constructor(options: PostgresDriverOptions) {
    this.dialect = postgresDialect(options.schema, options.lockTimeoutMs === undefined ? {} : { lockTimeoutMs: options.lockTimeoutMs });
    this.sql = postgres(options.url, {
      max: options.maxConnections ?? 10,
      connect_timeout: options.connectTimeoutSeconds ?? 10,
      onnotice: () => undefined,
      connection: { application_name: "vigil" },
      // The shared SQL binds JSON as text it already serialized (canonical or JSON.stringify'd);
      // the client's default would JSON.stringify it again into a JSON string.
      types: {
        json: { to: 114, from: [114, 3802], serialize: (value: unknown) => (typeof value === "string" ? value : JSON.stringify(value)), parse: (raw: string) => raw },
      },
    });
    this.executor = executorFor(this.sql);
  }

  all<Row extends object>(sql: string, params?: readonly SqlValue[]): Promise<Row[]> {
    return this.executor.all<Row>(sql, params);
  }

  run(sql: string, params?: readonly SqlValue[]): Promise<number> {
    return this.executor.run(sql, params);
  }

  exec(script: string): Promise<void> {
    return this.executor.exec(script);
  }

  insertMany<Row extends object>(table: string, columns: readonly string[], rows: readonly (readonly SqlValue[])[], suffix?: string): Promise<Row[]> {
    return this.executor.insertMany<Row>(table, columns, rows, suffix);
  }

  insertNew(table: string, columns: readonly string[], rows: readonly (readonly SqlValue[])[], conflict: readonly string[], key: string): Promise<(number | undefined)[]> {
    return this.executor.insertNew(table, columns, rows, conflict, key);
  }

  async transaction<T>(fn: (tx: SqlExecutor) => Promise<T>): Promise<T> {
    return (await this.sql.begin((tx) => fn(executorFor(tx)))) as T;
  }

  async close(): Promise<void> {
    await this.sql.end({ timeout: 5 });
  }
}
