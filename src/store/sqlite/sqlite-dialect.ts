import { GENESIS_HASH } from "../chain.js";
import type { Migration, SqlDialect, SqlValue, TableName } from "../sql-driver.js";

const appendOnly = (table: string) => `
CREATE TRIGGER ${table}_refuse_update BEFORE UPDATE ON ${table}
BEGIN SELECT RAISE(ABORT, '${table} is append-only: UPDATE refused (the decision record is hash-chained; see docs/decision-record.md)'); END;
CREATE TRIGGER ${table}_refuse_delete BEFORE DELETE ON ${table}
BEGIN SELECT RAISE(ABORT, '${table} is append-only: DELETE refused (the decision record is hash-chained; see docs/decision-record.md)'); END;`;

/** Schema versions of the SQLite store. Append new migrations; never edit a released one. */
export const sqliteMigrations: readonly Migration[] = [
  {
    version: 1,
    description: "events, hash-chained decisions, documents, audit trail",
    sql: `
CREATE TABLE events (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  source TEXT NOT NULL,
  id TEXT NOT NULL,
  type TEXT NOT NULL,
  body TEXT NOT NULL,
  received_at TEXT NOT NULL,
  processed_at TEXT,
  UNIQUE (source, id)
);
CREATE INDEX events_pending ON events (seq) WHERE processed_at IS NULL;
CREATE INDEX events_type ON events (type);

CREATE TABLE decisions (
  seq INTEGER PRIMARY KEY,
  id TEXT NOT NULL UNIQUE,
  event_id TEXT NOT NULL,
  event_type TEXT NOT NULL,
  subject TEXT,
  time_ms INTEGER NOT NULL,
  body TEXT NOT NULL,
  prev_hash TEXT NOT NULL,
  hash TEXT NOT NULL
);
-- seq is the rowid, which every SQLite index entry already ends with: (subject) orders by (subject, seq).
CREATE INDEX decisions_event ON decisions (event_id);
CREATE INDEX decisions_subject ON decisions (subject);
CREATE INDEX decisions_time ON decisions (time_ms);
${appendOnly("decisions")}

CREATE TABLE decision_policies (
  policy TEXT NOT NULL,
  seq INTEGER NOT NULL,
  PRIMARY KEY (policy, seq)
) WITHOUT ROWID;

CREATE TABLE chain_head (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  seq INTEGER NOT NULL,
  hash TEXT NOT NULL
);
INSERT INTO chain_head (id, seq, hash) VALUES (1, 0, '${GENESIS_HASH}');
CREATE TRIGGER chain_head_forward_only BEFORE UPDATE ON chain_head WHEN NEW.seq < OLD.seq
BEGIN SELECT RAISE(ABORT, 'chain_head only moves forward'); END;
CREATE TRIGGER chain_head_refuse_delete BEFORE DELETE ON chain_head
BEGIN SELECT RAISE(ABORT, 'chain_head cannot be deleted'); END;

CREATE TABLE docs (
  collection TEXT NOT NULL,
  id TEXT NOT NULL,
  value TEXT NOT NULL,
  version INTEGER NOT NULL,
  updated_at TEXT NOT NULL,
  PRIMARY KEY (collection, id)
) WITHOUT ROWID;

CREATE TABLE audit (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  at TEXT NOT NULL,
  at_ms INTEGER NOT NULL,
  actor TEXT NOT NULL,
  action TEXT NOT NULL,
  target TEXT,
  detail TEXT
);
CREATE INDEX audit_actor ON audit (actor);
CREATE INDEX audit_time ON audit (at_ms);
${appendOnly("audit")}
`,
  },
  {
    version: 2,
    description: "chain_head: the hash of a position cannot be replaced (same seq, other hash refused)",
    sql: `
DROP TRIGGER chain_head_forward_only;
CREATE TRIGGER chain_head_forward_only BEFORE UPDATE ON chain_head
WHEN NEW.seq < OLD.seq OR (NEW.seq = OLD.seq AND NEW.hash <> OLD.hash)
BEGIN SELECT RAISE(ABORT, 'chain_head only moves forward'); END;
`,
  },
  {
    version: 3,
    description: "events: claims of scale-out workers (claimed_by, claimed_until_ms)",
    sql: `
ALTER TABLE events ADD COLUMN claimed_by TEXT;
ALTER TABLE events ADD COLUMN claimed_until_ms INTEGER;
`,
  },
  {
    version: 4,
    description: "docs: found by (collection, id_key), a digest key for ids past 1024 bytes, as on PostgreSQL (same order, same queries); the whole id kept in id",
    // vigil_doc_key is docKeyOfEncoded, registered by the driver.
    sql: `
ALTER TABLE docs ADD COLUMN id_key TEXT;
UPDATE docs SET id_key = vigil_doc_key(id);
CREATE UNIQUE INDEX docs_key ON docs (collection, id_key);
`,
  },
  {
    version: 5,
    description: "decisions: verdict and tier columns, indexed, so a filtered page holds up to limit matches; filled for the decisions already recorded (body, prev_hash and hash unchanged)",
    // Appends write recordOutcome(body). Rows already recorded get the body's top-level values,
    // which for a canonical body are recordOutcome's; the append-only trigger steps aside for this
    // one UPDATE of the new columns and is created again as it was. Index entries end with the
    // rowid (seq), so a filter reads newest first from the index.
    sql: `
ALTER TABLE decisions ADD COLUMN verdict TEXT;
ALTER TABLE decisions ADD COLUMN tier TEXT;
DROP TRIGGER decisions_refuse_update;
UPDATE decisions SET
  verdict = CASE WHEN json_valid(body) AND json_extract(body, '$.verdict') IN ('allow', 'deny') THEN json_extract(body, '$.verdict') END,
  tier = CASE WHEN json_valid(body) AND json_extract(body, '$.tier') IN ('observe', 'notify', 'approve', 'block', 'remediate') THEN json_extract(body, '$.tier') END;
CREATE TRIGGER decisions_refuse_update BEFORE UPDATE ON decisions
BEGIN SELECT RAISE(ABORT, 'decisions is append-only: UPDATE refused (the decision record is hash-chained; see docs/decision-record.md)'); END;
CREATE INDEX decisions_verdict ON decisions (verdict);
CREATE INDEX decisions_tier ON decisions (tier);
`,
  },
];

function jsonPath(key: string): string {
  return `$."${key}"`;
}

/** SQLite spelling of the shared SQL. JSON lives in TEXT columns and is read with json_extract/json_type. */
export const sqliteDialect: SqlDialect = {
  name: "sqlite",
  table: (name: TableName) => name,
  // BEGIN IMMEDIATE already holds the database write lock for the whole transaction.
  selectChainHeadForUpdate: "SELECT seq, hash FROM chain_head WHERE id = 1",
  jsonText: (column) => column,
  jsonFieldsEqual(column, where) {
    const parts: string[] = [];
    const params: SqlValue[] = [];
    for (const [key, value] of Object.entries(where)) {
      // json_type distinguishes true from 1 and an explicit null from a missing field.
      if (value === null) {
        parts.push(`json_type(${column}, ?) = 'null'`);
        params.push(jsonPath(key));
      } else if (typeof value === "boolean") {
        parts.push(`json_type(${column}, ?) = '${value ? "true" : "false"}'`);
        params.push(jsonPath(key));
      } else if (typeof value === "number") {
        parts.push(`(json_type(${column}, ?) IN ('integer', 'real') AND json_extract(${column}, ?) = ?)`);
        params.push(jsonPath(key), jsonPath(key), value);
      } else {
        parts.push(`(json_type(${column}, ?) = 'text' AND json_extract(${column}, ?) = ?)`);
        params.push(jsonPath(key), jsonPath(key), value);
      }
    }
    return { sql: parts.join(" AND "), params };
  },
  // instr() counts characters the way the prefix is compared, whatever the encoding.
  startsWith: (column) => `instr(${column}, ?) = 1`,
  isUniqueViolation: (error) => {
    const code = (error as { code?: unknown } | null)?.code;
    return code === "SQLITE_CONSTRAINT_UNIQUE" || code === "SQLITE_CONSTRAINT_PRIMARYKEY";
  },
  migrations: sqliteMigrations,
};
