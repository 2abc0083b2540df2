import { VigilError } from "../../core/index.js";
import { GENESIS_HASH } from "../chain.js";
import type { Migration, SqlDialect, TableName } from "../sql-driver.js";

/** Schema names are used in DDL: keep them to plain lower-case identifiers. */
export function checkSchemaName(schema: string): string {
  if (!/^[a-z_][a-z0-9_]{0,62}$/.test(schema)) {
    throw new VigilError("VIGIL_BAD_CONFIG", `store.schema must be a lower-case identifier (a-z, 0-9, _; at most 63 characters), got ${JSON.stringify(schema)}`, { field: "store.schema" });
  }
  return schema;
}

/** Schema versions of the PostgreSQL store, for one schema. Append new migrations; never edit a released one. */
export function postgresMigrations(schema: string): readonly Migration[] {
  const s = `"${checkSchemaName(schema)}"`;
  return [
    {
      version: 1,
      description: "events, hash-chained decisions, documents, audit trail",
      sql: `
CREATE TABLE ${s}.events (
  seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  source TEXT NOT NULL,
  id TEXT NOT NULL,
  type TEXT NOT NULL,
  body TEXT NOT NULL,
  received_at TEXT NOT NULL,
  processed_at TEXT,
  UNIQUE (source, id)
);
CREATE INDEX events_pending ON ${s}.events (seq) WHERE processed_at IS NULL;
CREATE INDEX events_type ON ${s}.events (type, seq);

CREATE TABLE ${s}.decisions (
  seq BIGINT PRIMARY KEY,
  id TEXT NOT NULL UNIQUE,
  event_id TEXT NOT NULL,
  event_type TEXT NOT NULL,
  subject TEXT,
  time_ms BIGINT NOT NULL,
  body TEXT NOT NULL,
  prev_hash TEXT NOT NULL,
  hash TEXT NOT NULL
);
CREATE INDEX decisions_event ON ${s}.decisions (event_id);
CREATE INDEX decisions_subject ON ${s}.decisions (subject, seq);
CREATE INDEX decisions_time ON ${s}.decisions (time_ms, seq);

CREATE FUNCTION ${s}.refuse_change() RETURNS trigger LANGUAGE plpgsql AS $fn$
BEGIN
  RAISE EXCEPTION '% is append-only: % refused (the decision record is hash-chained; see docs/decision-record.md)', TG_TABLE_NAME, TG_OP;
END
$fn$;
CREATE TRIGGER decisions_refuse_change BEFORE UPDATE OR DELETE ON ${s}.decisions FOR EACH ROW EXECUTE FUNCTION ${s}.refuse_change();
CREATE TRIGGER decisions_refuse_truncate BEFORE TRUNCATE ON ${s}.decisions FOR EACH STATEMENT EXECUTE FUNCTION ${s}.refuse_change();

CREATE TABLE ${s}.decision_policies (
  policy TEXT NOT NULL,
  seq BIGINT NOT NULL,
  PRIMARY KEY (policy, seq)
);

CREATE TABLE ${s}.chain_head (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  seq BIGINT NOT NULL,
  hash TEXT NOT NULL
);
INSERT INTO ${s}.chain_head (id, seq, hash) VALUES (1, 0, '${GENESIS_HASH}');
CREATE FUNCTION ${s}.chain_head_forward_only() RETURNS trigger LANGUAGE plpgsql AS $fn$
BEGIN
  IF TG_OP = 'DELETE' OR NEW.seq < OLD.seq THEN
    RAISE EXCEPTION 'chain_head only moves forward: % refused', TG_OP;
  END IF;
  RETURN NEW;
END
$fn$;
CREATE TRIGGER chain_head_forward_only BEFORE UPDATE OR DELETE ON ${s}.chain_head FOR EACH ROW EXECUTE FUNCTION ${s}.chain_head_forward_only();

CREATE TABLE ${s}.docs (
  collection TEXT NOT NULL,
  id TEXT COLLATE "C" NOT NULL,
  value JSONB NOT NULL,
  version BIGINT NOT NULL,
  updated_at TEXT NOT NULL,
  PRIMARY KEY (collection, id)
);
CREATE INDEX docs_value ON ${s}.docs USING GIN (value jsonb_path_ops);

CREATE TABLE ${s}.audit (
  seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  at TEXT NOT NULL,
  at_ms BIGINT NOT NULL,
  actor TEXT NOT NULL,
  action TEXT NOT NULL,
  target TEXT,
  detail TEXT
);
CREATE INDEX audit_actor ON ${s}.audit (actor, seq);
CREATE INDEX audit_time ON ${s}.audit (at_ms, seq);
CREATE TRIGGER audit_refuse_change BEFORE UPDATE OR DELETE ON ${s}.audit FOR EACH ROW EXECUTE FUNCTION ${s}.refuse_change();
CREATE TRIGGER audit_refuse_truncate BEFORE TRUNCATE ON ${s}.audit FOR EACH STATEMENT EXECUTE FUNCTION ${s}.refuse_change();
`,
    },
    {
      version: 2,
      description: "chain_head: the hash of a position cannot be replaced (same seq, other hash refused)",
      sql: `
CREATE OR REPLACE FUNCTION ${s}.chain_head_forward_only() RETURNS trigger LANGUAGE plpgsql AS $fn$
BEGIN
  IF TG_OP = 'DELETE' OR NEW.seq < OLD.seq OR (NEW.seq = OLD.seq AND NEW.hash <> OLD.hash) THEN
    RAISE EXCEPTION 'chain_head only moves forward: % refused', TG_OP;
  END IF;
  RETURN NEW;
END
$fn$;
`,
    },
    {
      version: 3,
      description: "events: claims of scale-out workers (claimed_by, claimed_until_ms)",
      sql: `
ALTER TABLE ${s}.events ADD COLUMN claimed_by TEXT, ADD COLUMN claimed_until_ms BIGINT;
`,
    },
    {
      version: 4,
      description: "docs: found by (collection, id_key), a digest key for ids past 1024 bytes (a B-tree entry holds ~2.7 KB); the whole id kept in id",
      // The key as docKeyOfEncoded computes it: left() counts code points, as it does.
      sql: `
ALTER TABLE ${s}.docs ADD COLUMN id_key TEXT COLLATE "C";
UPDATE ${s}.docs SET id_key = CASE WHEN octet_length(id) <= 1024 THEN id ELSE left(id, 256) || chr(57344) || '#' || encode(sha256(convert_to(id, 'UTF8')), 'hex') END;
ALTER TABLE ${s}.docs ALTER COLUMN id_key SET NOT NULL;
ALTER TABLE ${s}.docs DROP CONSTRAINT docs_pkey;
ALTER TABLE ${s}.docs ADD CONSTRAINT docs_pkey PRIMARY KEY (collection, id_key);
`,
    },
    {
      version: 5,
      description: "audit: actors indexed by their first 256 characters (an actor past ~2.7 KB was refused by the B-tree)",
      // Queried by boundedTextEquals: left(actor, 256) = left(?, 256) AND actor = ?.
      sql: `
DROP INDEX ${s}.audit_actor;
CREATE INDEX audit_actor ON ${s}.audit (left(actor, 256), seq);
`,
    },
    {
      version: 6,
      description: "docs: value is json (the text as written, keys in their order), GIN-indexed as jsonb for where; jsonb sorted keys, so documents read back differently than SQLite's",
      // Rows stored before keep the key order jsonb gave them; the order they were written in is gone.
      sql: `
DROP INDEX IF EXISTS ${s}.docs_value;
ALTER TABLE ${s}.docs ALTER COLUMN value TYPE JSON USING value::json;
CREATE INDEX docs_value ON ${s}.docs USING GIN ((value::jsonb) jsonb_path_ops);
`,
    },
    {
      version: 7,
      description: "decisions: verdict and tier columns, indexed, so a filtered page holds up to limit matches; filled for the decisions already recorded (body, prev_hash and hash unchanged)",
      // Appends write recordOutcome(body); rows already recorded get the same, read from the text
      // (not as json: ->> fails on a body holding \u0000 or a lone surrogate escape). The append-only
      // trigger is off for this one UPDATE of the new columns, inside the migration's transaction.
      sql: `
ALTER TABLE ${s}.decisions ADD COLUMN verdict TEXT, ADD COLUMN tier TEXT;
ALTER TABLE ${s}.decisions DISABLE TRIGGER decisions_refuse_change;
UPDATE ${s}.decisions SET
  verdict = substring(body from '.*"verdict":"(allow|deny)"'),
  tier = substring(body from '.*"tier":"(observe|notify|approve|block|remediate)"');
ALTER TABLE ${s}.decisions ENABLE TRIGGER decisions_refuse_change;
CREATE INDEX decisions_verdict ON ${s}.decisions (verdict, seq);
CREATE INDEX decisions_tier ON ${s}.decisions (tier, seq);
`,
    },
  ];
}

/**
 * JSONB (what the docs index and `where` read a document as) refuses `\u0000` and a lone
 * surrogate (`\ud800`), which JSON.stringify writes for them.
 * In the text sent, each becomes U+E000 (private use) followed by its 4 hex digits, and U+E000
 * itself becomes U+E000 "e000"; read back, the sequences turn into the JSON escapes again. The
 * encoding is one-to-one, so `where` values encoded the same way match exactly.
 */
const ESCAPE = "\ue000";
const JSONB_UNSAFE = /\\u(?:0000|d[89a-f])|\ue000/;
const JSONB_UNSAFE_ALL = /\\(u0000|ud[89a-f][0-9a-f]{2})|\\[^]|\ue000/g;

export function encodeJsonb(text: string): string {
  if (!JSONB_UNSAFE.test(text)) return text;
  // `\\[^]` steps over every other escape pair (`\\\\u0000` is a backslash and "u0000").
  return text.replace(JSONB_UNSAFE_ALL, (match: string, escape: string | undefined) => (escape !== undefined ? `${ESCAPE}${escape.slice(1)}` : match === ESCAPE ? `${ESCAPE}e000` : match));
}

export function decodeJsonb(text: string): string {
  if (!text.includes(ESCAPE)) return text;
  return text.replace(/\ue000([0-9a-f]{4})/g, (match: string, hex: string) => (hex === "e000" ? ESCAPE : `\\u${hex}`));
}

/**
 * Failures to reach or log in to the server: network errors, the client's connect timeout, and
 * SQLSTATE class 28 (invalid authorization: password, pg_hba, unknown role) and 3D000 (no such
 * database). Each is fixed in store.url (or on the server it names).
 */
const NETWORK_CODES = new Set(["ECONNREFUSED", "ENOTFOUND", "EAI_AGAIN", "ETIMEDOUT", "EHOSTUNREACH", "ENETUNREACH", "CONNECT_TIMEOUT"]);

export function isConnectionFailure(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === "string" && (NETWORK_CODES.has(code) || code.startsWith("28") || code === "3D000");
}

/** How long an appender waits for the chain_head row lock before giving up, by default. */
export const DEFAULT_LOCK_TIMEOUT_MS = 10_000;

/** Validates `lockTimeoutMs` (createPostgresStorage's option; vigil.yaml has no key for it): a whole number of milliseconds, at least 1. */
export function checkLockTimeoutMs(value: number): number {
  if (typeof value !== "number" || !Number.isInteger(value) || value < 1 || value > 2_147_483_647) {
    throw new VigilError("VIGIL_BAD_CONFIG", `lockTimeoutMs must be a whole number of milliseconds from 1 to 2147483647 (default ${DEFAULT_LOCK_TIMEOUT_MS}), got ${JSON.stringify(value)}`, { field: "lockTimeoutMs" });
  }
  return value;
}

/**
 * PostgreSQL spelling of the shared SQL, for one schema. Documents are `json`, which keeps the
 * text as written (jsonb would sort the keys), GIN-indexed as jsonb for `where`.
 * `lockTimeoutMs` bounds the wait for the chain_head row lock (default 10 s): a session that
 * holds it and went half-open (its client gone, TCP keepalive not yet noticing) would otherwise
 * block every appender for as long as the kernel takes to notice.
 */
export function postgresDialect(schema: string, options: { readonly lockTimeoutMs?: number } = {}): SqlDialect {
  const s = `"${checkSchemaName(schema)}"`;
  const lockTimeoutMs = checkLockTimeoutMs(options.lockTimeoutMs ?? DEFAULT_LOCK_TIMEOUT_MS);
  return {
    name: "postgres",
    table: (name: TableName) => `${s}."${name}"`,
    // INVARIANT: the row lock serializes appenders across connections and processes until commit.
    selectChainHeadForUpdate: `SELECT seq, hash FROM ${s}.chain_head WHERE id = 1 FOR UPDATE`,
    // SET LOCAL: this transaction only; the pooled connection keeps the server's setting afterwards.
    beforeChainHeadLock: `SET LOCAL lock_timeout = '${lockTimeoutMs}ms'`,
    isLockTimeout: (error) => (error as { code?: unknown } | null)?.code === "55P03",
    jsonText: (column) => `${column}::text`,
    // Containment of a flat object of scalars is exact equality per field (no array matching at depth 1), and uses the GIN index.
    // The expression is the index's (migration 6), so the planner can use it.
    jsonFieldsEqual: (column, where) => ({ sql: `(${column}::jsonb) @> ?::jsonb`, params: [encodeJsonb(JSON.stringify(where))] }),
    encodeJson: encodeJsonb,
    decodeJson: decodeJsonb,
    startsWith: (column) => `starts_with(${column}, ?)`,
    boundedTextEquals: (column, value) => ({ sql: `left(${column}, 256) = left(?, 256) AND ${column} = ?`, params: [value, value] }),
    isUniqueViolation: (error) => (error as { code?: unknown } | null)?.code === "23505",
    explainFailure: (error) => (isConnectionFailure(error)
      ? { hint: "the database could not be reached or refused the connection: check store.url (host, port, database, user, password) and that the server is up", field: "store.url" }
      : undefined),
    migrations: postgresMigrations(schema),
    migrationLock: `SELECT pg_advisory_xact_lock(hashtext('vigil-migrate:${schema}'))`,
    // Only when missing: CREATE SCHEMA IF NOT EXISTS asks for CREATE on the database even when the
    // schema exists, so a role granted only its schema (made by an administrator) could not start.
    migrationPrelude: `DO $do$ BEGIN IF to_regnamespace('${s}') IS NULL THEN CREATE SCHEMA ${s}; END IF; END $do$`,
    createTableIfMissing: (name, create) => `DO $do$ BEGIN IF to_regclass('${s}."${name}"') IS NULL THEN ${create}; END IF; END $do$`,
  };
}
