import postgres from "postgres";
import { afterAll, afterEach, beforeEach, describe, expect, it } from "vitest";
import type { Storage } from "../../core/index.js";
import { verifyDecisionRecord } from "../chain.js";
import { storageContract } from "../storage-contract.js";
import { expectMigratedLongIds, expectMigratedVerdictIndex, expectVigilError, oldRecord } from "../storage-contract-support.js";
import { makeDraft, noise } from "../storage-contract-fixtures.js";
import { decisionQuery, tablesOf } from "../sql-queries.js";
import { createPostgresStorage, postgresDialect, postgresMigrations, toDollarParams } from "./index.js";

/** Tests run against the machine's PostgreSQL (RULES: 127.0.0.1:5432, user postgres, database test), one fresh schema each. */
const url = process.env["VIGIL_TEST_POSTGRES_URL"] ?? "postgres://postgres@127.0.0.1:5432/test";
const admin = postgres(url, { max: 2, onnotice: () => undefined });
let counter = 0;
const uniqueSchema = () => `vigil_test_${process.pid}_${Date.now().toString(36)}_${counter++}`;
const dropSchema = async (schema: string) => {
  await admin.unsafe(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
};
/** A schema as an older Vigil left it: the first `version` migrations applied and recorded. */
const schemaAtVersion = async (schema: string, version: number) => {
  await admin.unsafe(`CREATE SCHEMA "${schema}"`);
  await admin.unsafe(`CREATE TABLE "${schema}".schema_version (version INTEGER PRIMARY KEY, description TEXT NOT NULL, applied_at TEXT NOT NULL)`);
  for (const migration of postgresMigrations(schema).slice(0, version)) {
    await admin.unsafe(migration.sql);
    await admin.unsafe(`INSERT INTO "${schema}".schema_version VALUES ($1, $2, 'then')`, [migration.version, migration.description]);
  }
};

afterAll(async () => {
  await admin.end({ timeout: 5 });
});

storageContract("postgres", async () => {
  const schema = uniqueSchema();
  return {
    open: async (options) => createPostgresStorage({ url, schema, maxConnections: 4, ...(options?.mask === undefined ? {} : { mask: options.mask }) }),
    dispose: () => dropSchema(schema),
  };
});

describe("postgres storage specifics", () => {
  let schema: string;
  let storage: Storage;
  const extra: Storage[] = [];
  const open = async () => {
    const instance = createPostgresStorage({ url, schema, maxConnections: 4 });
    extra.push(instance);
    await instance.init();
    return instance;
  };

  beforeEach(async () => {
    schema = uniqueSchema();
    storage = await open();
    await storage.appendDecisions(Array.from({ length: 6 }, (_unused, index) => makeDraft(index + 1)));
  });

  afterEach(async () => {
    for (const instance of extra.splice(0)) await instance.close();
    await dropSchema(schema);
  });

  it("rewrites ? placeholders to $n outside string literals", () => {
    expect(toDollarParams("SELECT ? , '?' , ?::jsonb WHERE a = 'it''s ?' AND b = ?")).toBe("SELECT $1 , '?' , $2::jsonb WHERE a = 'it''s ?' AND b = $3");
  });

  it("keeps its tables in the configured schema", async () => {
    const tables = await admin`SELECT table_name FROM information_schema.tables WHERE table_schema = ${schema} ORDER BY table_name`;
    expect(tables.map((row) => row["table_name"])).toEqual(["audit", "chain_head", "decision_policies", "decisions", "docs", "events", "schema_version"]);
  });

  it("refuses UPDATE, DELETE and TRUNCATE of decision rows, even through raw SQL", async () => {
    await expect(admin.unsafe(`UPDATE "${schema}".decisions SET body = '{}' WHERE seq = 2`)).rejects.toThrow(/decisions is append-only: UPDATE refused/);
    await expect(admin.unsafe(`DELETE FROM "${schema}".decisions WHERE seq = 2`)).rejects.toThrow(/decisions is append-only: DELETE refused/);
    await expect(admin.unsafe(`TRUNCATE "${schema}".decisions`)).rejects.toThrow(/decisions is append-only: TRUNCATE refused/);
    await expect(admin.unsafe(`UPDATE "${schema}".chain_head SET seq = 1`)).rejects.toThrow(/only moves forward/);
    await expect(admin.unsafe(`UPDATE "${schema}".chain_head SET hash = CASE WHEN substr(hash, 1, 1) = 'f' THEN 'e' ELSE 'f' END || substr(hash, 2)`)).rejects.toThrow(/only moves forward/);
    await storage.appendAudit([{ at: "2024-01-01T00:00:00Z", actor: "alice", action: "policy.promote" }]);
    await expect(admin.unsafe(`DELETE FROM "${schema}".audit`)).rejects.toThrow(/audit is append-only: DELETE refused/);
    expect(await verifyDecisionRecord(storage)).toMatchObject({ ok: true, checked: 6 });
  });

  it("catches a body modified with the triggers disabled", async () => {
    await admin.unsafe(`ALTER TABLE "${schema}".decisions DISABLE TRIGGER USER`);
    await admin.unsafe(`UPDATE "${schema}".decisions SET body = replace(body, '"deny"', '"allow"') WHERE seq = 4`);
    expect((await verifyDecisionRecord(storage)).problem).toMatchObject({ seq: 4, id: "dec-000004", kind: "modified" });
  });

  it("catches a deleted decision row", async () => {
    await admin.unsafe(`ALTER TABLE "${schema}".decisions DISABLE TRIGGER USER`);
    await admin.unsafe(`DELETE FROM "${schema}".decisions WHERE seq = 3`);
    expect((await verifyDecisionRecord(storage, { batchSize: 2 })).problem).toMatchObject({ seq: 4, id: "dec-000004", kind: "deleted" });
  });

  it("catches swapped decision rows", async () => {
    await admin.unsafe(`ALTER TABLE "${schema}".decisions DISABLE TRIGGER USER`);
    for (const [from, to] of [[5, -5], [2, 5], [-5, 2]]) await admin.unsafe(`UPDATE "${schema}".decisions SET seq = ${to} WHERE seq = ${from}`);
    expect((await verifyDecisionRecord(storage)).problem).toMatchObject({ seq: 2, id: "dec-000005", kind: "reordered" });
  });

  it("catches a truncated tail against the store's chain_head, and a chain_head moved back below the records", async () => {
    await admin.unsafe(`ALTER TABLE "${schema}".decisions DISABLE TRIGGER USER`);
    await admin.unsafe(`DELETE FROM "${schema}".decisions WHERE seq > 4`);
    const truncated = await verifyDecisionRecord(storage, { batchSize: 2 });
    expect(truncated).toMatchObject({ ok: false, checked: 4, problem: { seq: 4, id: "dec-000004", kind: "deleted" } });
    expect(truncated.problem?.detail).toContain("chain_head is at seq 6");
    await admin.unsafe(`ALTER TABLE "${schema}".chain_head DISABLE TRIGGER USER`);
    await admin.unsafe(`UPDATE "${schema}".chain_head SET seq = 3, hash = (SELECT hash FROM "${schema}".decisions WHERE seq = 3)`);
    expect((await verifyDecisionRecord(storage)).problem).toMatchObject({ seq: 4, id: "dec-000004", kind: "modified" });
  });

  it("keeps one chain with several writers on separate connection pools appending at once", async () => {
    const writers = [storage, await open(), await open(), await open()];
    let next = 100;
    await Promise.all(writers.flatMap((writer) => Array.from({ length: 6 }, async () => {
      for (let batch = 0; batch < 3; batch++) {
        const drafts = Array.from({ length: 5 }, () => makeDraft(next++));
        await writer.appendDecisions(drafts);
      }
    })));
    const result = await verifyDecisionRecord(storage, { batchSize: 50 });
    expect(result).toMatchObject({ ok: true, checked: 6 + 4 * 6 * 3 * 5 });
    const head = await admin.unsafe(`SELECT seq, hash FROM "${schema}".chain_head`);
    expect({ seq: Number(head[0]?.["seq"]), hash: head[0]?.["hash"] }).toEqual(result.head);
  });

  it("starts as a role that may create in its schema but not in the database (the schema made by an administrator), and again once migrated", async () => {
    const fresh = uniqueSchema();
    const role = `vigil_lp_${process.pid}_${counter++}`;
    const roleUrl = new URL(url);
    roleUrl.username = role;
    roleUrl.password = "";
    try {
      await admin.unsafe(`CREATE ROLE "${role}" LOGIN`);
      await admin.unsafe(`CREATE SCHEMA "${fresh}"`);
      await admin.unsafe(`GRANT USAGE, CREATE ON SCHEMA "${fresh}" TO "${role}"`);
      const [privilege] = await admin.unsafe("SELECT has_database_privilege($1, current_database(), 'CREATE') AS create", [role]);
      expect(privilege?.["create"]).toBe(false);
      // CREATE SCHEMA IF NOT EXISTS asks for CREATE on the database even when the schema exists: init failed with "permission denied for database".
      for (let start = 0; start < 2; start++) {
        const worker = createPostgresStorage({ url: roleUrl.toString(), schema: fresh, maxConnections: 1 });
        extra.push(worker);
        await worker.init();
        await worker.appendDecisions([makeDraft(start + 1)]);
        expect(await verifyDecisionRecord(worker)).toMatchObject({ ok: true, checked: start + 1 });
      }
    } finally {
      for (const instance of extra.splice(0)) await instance.close();
      await dropSchema(fresh);
      await admin.unsafe(`DROP ROLE IF EXISTS "${role}"`);
    }
  });

  it("starts as a role that may only read and write the tables of a schema already migrated (no CREATE anywhere)", async () => {
    const role = `vigil_dml_${process.pid}_${counter++}`;
    const roleUrl = new URL(url);
    roleUrl.username = role;
    roleUrl.password = "";
    try {
      await admin.unsafe(`CREATE ROLE "${role}" LOGIN`);
      await admin.unsafe(`GRANT USAGE ON SCHEMA "${schema}" TO "${role}"`);
      await admin.unsafe(`GRANT SELECT, INSERT, UPDATE ON ALL TABLES IN SCHEMA "${schema}" TO "${role}"`);
      await admin.unsafe(`GRANT USAGE ON ALL SEQUENCES IN SCHEMA "${schema}" TO "${role}"`);
      // CREATE TABLE IF NOT EXISTS schema_version asks for CREATE on the schema even when the table exists: init failed with "permission denied for schema".
      const worker = createPostgresStorage({ url: roleUrl.toString(), schema, maxConnections: 1 });
      extra.push(worker);
      await worker.init();
      await worker.appendDecisions([makeDraft(7)]);
      expect(await verifyDecisionRecord(worker)).toMatchObject({ ok: true, checked: 7 });
    } finally {
      for (const instance of extra.splice(0)) await instance.close();
      await admin.unsafe(`DROP OWNED BY "${role}"`);
      await admin.unsafe(`DROP ROLE IF EXISTS "${role}"`);
    }
  });

  it("migrates once when several instances start together on a new schema", async () => {
    const fresh = uniqueSchema();
    const instances = Array.from({ length: 4 }, () => createPostgresStorage({ url, schema: fresh, maxConnections: 2 }));
    try {
      await Promise.all(instances.map((instance) => instance.init()));
      const versions = await admin.unsafe(`SELECT version FROM "${fresh}".schema_version`);
      expect(versions.map((row) => Number(row["version"]))).toEqual([1, 2, 3, 4, 5, 6, 7]);
    } finally {
      for (const instance of instances) await instance.close();
      await dropSchema(fresh);
    }
  });

  it("gives up waiting for the chain head lock after lockTimeoutMs with VIGIL_STORAGE naming the lock (a half-open session holding it no longer blocks appenders until keepalive)", async () => {
    const impatient = createPostgresStorage({ url, schema, maxConnections: 2, lockTimeoutMs: 300 });
    extra.push(impatient);
    await impatient.init();
    const holder = await admin.reserve();
    try {
      await holder.unsafe("BEGIN");
      await holder.unsafe(`SELECT seq FROM "${schema}".chain_head WHERE id = 1 FOR UPDATE`);
      const started = Date.now();
      const refused: unknown = await impatient.appendDecisions([makeDraft(50)]).then(() => undefined, (error: unknown) => error);
      // Names the option to raise as createPostgresStorage takes it (vigil.yaml has no such key).
      expect(refused).toMatchObject({ code: "VIGIL_STORAGE", details: { field: "lockTimeoutMs" }, message: expect.stringContaining("chain_head row lock") });
      expect((refused as Error).message).toContain("raise lockTimeoutMs");
      const waited = Date.now() - started;
      expect(waited).toBeGreaterThanOrEqual(250);
      expect(waited).toBeLessThan(5_000);
    } finally {
      await holder.unsafe("ROLLBACK");
      holder.release();
    }
    // Retryable: once the lock is free the same append goes through, and the chain is whole.
    const [appended] = await impatient.appendDecisions([makeDraft(50)]);
    expect(appended?.seq).toBe(7);
    expect(await verifyDecisionRecord(storage)).toMatchObject({ ok: true, checked: 7 });
  });

  it("migration 4 keys the documents a version 3 schema holds (ids up to the old B-tree limit, astral characters included) as it keys new ones", async () => {
    const fresh = uniqueSchema();
    const long = `${"\u{1F600}".repeat(200)}${noise(1500, 3)}`; // 2300 bytes: stored before, past the 1024-byte key
    try {
      await schemaAtVersion(fresh, 3);
      await admin.unsafe(`INSERT INTO "${fresh}".docs (collection, id, value, version, updated_at) VALUES ('entities', $1, '{"n":1}', 3, 't'), ('entities', 'user:bob', '{"n":2}', 3, 't')`, [long]);
      const migrated = createPostgresStorage({ url, schema: fresh, maxConnections: 2 });
      extra.push(migrated);
      await migrated.init();
      await expectMigratedLongIds(migrated, long);
    } finally {
      for (const instance of extra.splice(0)) await instance.close();
      await dropSchema(fresh);
    }
  });

  it("migration 7 indexes verdict and tier of the decisions a version 6 schema holds, leaving the record as hashed, and the filters use the indexes", async () => {
    const fresh = uniqueSchema();
    try {
      await schemaAtVersion(fresh, 6);
      const record = oldRecord();
      for (const row of record.rows) {
        await admin.unsafe(`INSERT INTO "${fresh}".decisions (seq, id, event_id, event_type, subject, time_ms, body, prev_hash, hash) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`, row as never[]);
      }
      await admin.unsafe(`UPDATE "${fresh}".chain_head SET seq = $1, hash = $2 WHERE id = 1`, [record.head.seq, record.head.hash]);
      const migrated = createPostgresStorage({ url, schema: fresh, maxConnections: 2 });
      extra.push(migrated);
      await migrated.init();
      await expectMigratedVerdictIndex(migrated);
      const versions = await admin.unsafe(`SELECT max(version) AS version FROM "${fresh}".schema_version`);
      expect(Number(versions[0]?.["version"])).toBe(7);
      // With sequential scans off, a query the index cannot serve would still scan the table: the plan names the index only when its expression matches.
      const dialect = postgresDialect(fresh);
      const plan = await admin.begin(async (tx) => {
        await tx.unsafe("SET LOCAL enable_seqscan = off");
        const lines: string[] = [];
        for (const query of [{ verdict: "deny", beforeSeq: 3, newestFirst: true, limit: 3 }, { tier: "block", beforeSeq: 3, newestFirst: true, limit: 3 }] as const) {
          const { sql, params } = decisionQuery(tablesOf(dialect), query);
          const rows = await tx.unsafe(`EXPLAIN ${toDollarParams(sql)}`, params as never[]);
          lines.push(rows.map((row) => String(row["QUERY PLAN"])).join("\n"));
        }
        return lines;
      });
      expect(plan[0]).toContain("decisions_verdict");
      expect(plan[1]).toContain("decisions_tier");
    } finally {
      for (const instance of extra.splice(0)) await instance.close();
      await dropSchema(fresh);
    }
  });

  it("migration 6 turns a version 5 schema's jsonb documents into json: they read back and match where as before, and documents written after keep their key order", async () => {
    const fresh = uniqueSchema();
    try {
      await schemaAtVersion(fresh, 5);
      await admin.unsafe(`INSERT INTO "${fresh}".docs (collection, id_key, id, value, version, updated_at) VALUES ('entities', 'user:bob', 'user:bob', '{"team":"payments","n":2,"why":"\ue0000000"}', 3, 't')`);
      const migrated = createPostgresStorage({ url, schema: fresh, maxConnections: 2 });
      extra.push(migrated);
      await migrated.init();
      expect(await migrated.getDoc("entities", "user:bob")).toMatchObject({ value: { n: 2, team: "payments", why: "\u0000" }, version: 3 });
      await migrated.putDocs([{ collection: "entities", id: "user:eve", value: { team: "payments", n: 1, why: "\u0000" } }], "t2");
      expect((await migrated.listDocs("entities", { where: { team: "payments" } })).map((doc) => doc.id)).toEqual(["user:bob", "user:eve"]);
      expect((await migrated.listDocs("entities", { where: { why: "\u0000" } })).map((doc) => doc.id)).toEqual(["user:bob", "user:eve"]);
      expect(JSON.stringify((await migrated.getDoc("entities", "user:eve"))?.value)).toBe('{"team":"payments","n":1,"why":"\\u0000"}');
      const [index] = await admin`SELECT indexdef FROM pg_indexes WHERE schemaname = ${fresh} AND indexname = 'docs_value'`;
      expect(index?.["indexdef"]).toContain("((value)::jsonb) jsonb_path_ops");
    } finally {
      for (const instance of extra.splice(0)) await instance.close();
      await dropSchema(fresh);
    }
  });

  it("migration 6 also runs on a version 5 schema whose docs_value index an administrator dropped, and creates it", async () => {
    const fresh = uniqueSchema();
    try {
      await schemaAtVersion(fresh, 5);
      await admin.unsafe(`DROP INDEX "${fresh}".docs_value`);
      const migrated = createPostgresStorage({ url, schema: fresh, maxConnections: 2 });
      extra.push(migrated);
      await migrated.init();
      await migrated.putDocs([{ collection: "c", id: "x", value: { b: 1, a: 2 } }], "t");
      expect((await migrated.listDocs("c", { where: { a: 2 } })).map((doc) => JSON.stringify(doc.value))).toEqual(['{"b":1,"a":2}']);
      expect(await admin`SELECT 1 FROM pg_indexes WHERE schemaname = ${fresh} AND indexname = 'docs_value'`).toHaveLength(1);
    } finally {
      for (const instance of extra.splice(0)) await instance.close();
      await dropSchema(fresh);
    }
  });

  it("validates its configuration with VIGIL_BAD_CONFIG naming the setting as vigil.yaml spells it (store.url, store.schema; lockTimeoutMs is the library's option only)", () => {
    const refusal = (fn: () => unknown): { code?: string; message?: string; details?: { field?: string } } => {
      try {
        fn();
      } catch (error) {
        return error as { code?: string; message?: string; details?: { field?: string } };
      }
      return expect.fail("expected a refusal");
    };
    for (const lockTimeoutMs of [-1, 1.5]) {
      const error = refusal(() => createPostgresStorage({ url, schema, lockTimeoutMs }));
      expect(error).toMatchObject({ code: "VIGIL_BAD_CONFIG", details: { field: "lockTimeoutMs" } });
      expect(error.message).toMatch(/^lockTimeoutMs must be/);
    }
    const badSchema = refusal(() => createPostgresStorage({ url, schema: "Bad-Name" }));
    expect(badSchema).toMatchObject({ code: "VIGIL_BAD_CONFIG", details: { field: "store.schema" } });
    expect(badSchema.message).toMatch(/^store\.schema must be/);
    const badUrl = refusal(() => createPostgresStorage({ url: "mysql://x", schema: "ok" }));
    expect(badUrl).toMatchObject({ code: "VIGIL_BAD_CONFIG", details: { field: "store.url" } });
    expect(badUrl.message).toMatch(/^store\.url must be/);
  });

  it("reports an unreachable server, a database or role that does not exist as VIGIL_STORAGE naming the operation and the setting to fix (store.url)", async () => {
    const base = new URL(url);
    const unreachable = new URL(url);
    unreachable.port = "1";
    const noDatabase = new URL(url);
    noDatabase.pathname = `/vigil_missing_${process.pid}`;
    const noRole = new URL(url);
    noRole.username = `vigil_missing_${process.pid}`;
    for (const target of [unreachable, noDatabase, noRole]) {
      const down = createPostgresStorage({ url: target.toString(), schema: "x", connectTimeoutSeconds: 2 });
      try {
        const refused: unknown = await down.init().then(() => undefined, (error: unknown) => error);
        expect(refused, target.toString()).toMatchObject({ code: "VIGIL_STORAGE", details: { field: "store.url" }, message: expect.stringContaining("postgres storage: init (schema migration) failed") });
        expect((refused as Error).message).toContain("check store.url");
      } finally {
        await down.close();
      }
    }
    // A failure that is not about reaching the database names no setting.
    const working = createPostgresStorage({ url: base.toString(), schema, maxConnections: 1 });
    extra.push(working);
    await working.init();
    await admin.unsafe(`ALTER TABLE "${schema}".audit ADD CONSTRAINT audit_short CHECK (length(action) < 5)`);
    const refused: unknown = await working.appendAudit([{ at: "2024-01-01T00:00:00Z", actor: "a", action: "too long" }]).then(() => undefined, (error: unknown) => error);
    expect(refused).toMatchObject({ code: "VIGIL_STORAGE", details: {} });
    expect((refused as Error).message).not.toContain("store.url");
  });
});
