import { isVigilError, VigilError } from "../core/index.js";
import type { AppendDecisionsOptions, AuditEntry, CanonicalDecision, Decision, DecisionDraft, DecisionQuery, DecisionRecordRow, DocQuery, Event, Storage, StoredDoc, StoredEvent } from "../core/index.js";
import { chainRecords } from "./chain.js";
import type { ChainHead } from "./chain.js";
import type { CompiledMask, MaskConfig } from "./mask.js";
import { compileMask } from "./mask.js";
import { listPlaceholders } from "./sql-driver.js";
import type { SqlDriver, SqlExecutor, SqlValue } from "./sql-driver.js";
import {
  auditQuery, auditRow, checkCanonical, checkEvents, checkLimit, checkSeq, columnTextProblem, decisionColumns, decisionQuery, recordOutcome, docColumns, docJson, docKey, docKeyOfEncoded, docQuery, encodeKey, eventColumns, indexKey, eventKey,
  prepareDecisions, tablesOf, toAuditEntry, toDecision, toRecordRow, toStoredDoc, toStoredEvent,
} from "./sql-queries.js";
import type { AuditRowShape, DecisionRowShape, DocRowShape, EventRowShape, Tables } from "./sql-queries.js";
import { withFields } from "../core/objects.js";

/** Options every SQL storage adapter takes. */
export interface SqlStorageOptions {
  /** Sensitive input paths masked before a decision is hashed and stored (see mask.ts). */
  readonly mask?: MaskConfig;
}

const IN_CHUNK = 500;

/** A document row as written: found by (collection, id_key) (migration 4), the whole id kept in `id`. */
const DOC_COLUMNS = ["collection", "id_key", "id", "value", "version", "updated_at"] as const;

const compareText = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/**
 * The Storage port over any SQL driver (SQLite, PostgreSQL). Everything except connection,
 * parameter style, DDL and a few SQL fragments lives here, so both adapters behave alike.
 *
 * INVARIANT: appendDecisions reads the chain head and writes the new rows and the new head in
 * one transaction that holds the head locked (SQLite: BEGIN IMMEDIATE; PostgreSQL: SELECT ...
 * FOR UPDATE on the chain_head row), so several writers — connections or processes — extend
 * one chain.
 */
export class SqlStorage implements Storage {
  readonly kind: string;
  private readonly driver: SqlDriver;
  private readonly tables: Tables;
  private readonly mask: CompiledMask | undefined;
  private state: "new" | "open" | "closed" = "new";

  constructor(kind: string, driver: SqlDriver, options: SqlStorageOptions = {}) {
    this.kind = kind;
    this.driver = driver;
    this.tables = tablesOf(driver.dialect);
    this.mask = options.mask === undefined ? undefined : compileMask(options.mask);
  }

  /** Applies pending schema migrations (idempotent; safe with concurrent starters). */
  async init(): Promise<void> {
    if (this.state === "open") return;
    if (this.state === "closed") throw new VigilError("VIGIL_STORAGE", `${this.kind} storage: init() after close(); create a new storage instead`);
    await this.guard("init (schema migration)", async () => {
      const { dialect } = this.driver;
      await this.driver.transaction(async (tx) => {
        if (dialect.migrationLock !== undefined) await tx.all(dialect.migrationLock);
        if (dialect.migrationPrelude !== undefined) await tx.exec(dialect.migrationPrelude);
        const versions = `CREATE TABLE IF NOT EXISTS ${this.tables.versions} (version INTEGER PRIMARY KEY, description TEXT NOT NULL, applied_at TEXT NOT NULL)`;
        await tx.exec(dialect.createTableIfMissing?.("schema_version", versions) ?? versions);
        const rows = await tx.all<{ version: number | string | null }>(`SELECT MAX(version) AS version FROM ${this.tables.versions}`);
        const current = Number(rows[0]?.version ?? 0);
        const latest = dialect.migrations.at(-1)?.version ?? 0;
        if (current > latest) {
          throw new VigilError("VIGIL_STORAGE", `${this.kind} storage: the database schema is version ${current}, newer than this Vigil knows (${latest}); upgrade Vigil`);
        }
        for (const migration of dialect.migrations) {
          if (migration.version <= current) continue;
          await tx.exec(migration.sql);
          await tx.run(`INSERT INTO ${this.tables.versions} (version, description, applied_at) VALUES (?, ?, ?)`, [migration.version, migration.description, new Date().toISOString()]);
        }
      });
    }, false);
    this.state = "open";
  }

  async close(): Promise<void> {
    if (this.state === "closed") return;
    this.state = "closed";
    await this.driver.close();
  }

  async appendEvents(events: readonly Event[], receivedAt: string): Promise<{ readonly stored: readonly StoredEvent[]; readonly duplicates: readonly string[] }> {
    return this.guard("appendEvents", async () => {
      if (events.length === 0) return { stored: [], duplicates: [] };
      checkEvents(events);
      const rows = events.map((event): SqlValue[] => [event.source, event.id, event.type, JSON.stringify(event), receivedAt]);
      const seqs = await this.driver.transaction((tx) => tx.insertNew(this.tables.events, ["source", "id", "type", "body", "received_at"], rows, ["source", "id"], "seq"));
      const stored: StoredEvent[] = [];
      const duplicates: string[] = [];
      events.forEach((event, index) => {
        const seq = seqs[index];
        if (seq === undefined) duplicates.push(eventKey(event.source, event.id));
        else stored.push({ seq, event, receivedAt });
      });
      stored.sort((a, b) => a.seq - b.seq);
      return { stored, duplicates };
    });
  }

  async pendingEvents(limit: number): Promise<StoredEvent[]> {
    return this.guard("pendingEvents", async () => {
      const rows = await this.driver.all<EventRowShape>(`SELECT ${eventColumns} FROM ${this.tables.events} WHERE processed_at IS NULL ORDER BY seq LIMIT ?`, [checkLimit(limit) ?? 0]);
      return rows.map(toStoredEvent);
    });
  }

  async markProcessed(seqs: readonly number[], at: string): Promise<void> {
    await this.guard("markProcessed", async () => {
      if (seqs.length === 0) return;
      await this.driver.transaction((tx) => this.markProcessedIn(tx, seqs, at));
    });
  }

  async processedAmong(seqs: readonly number[]): Promise<ReadonlySet<number>> {
    return this.guard("processedAmong", async () => {
      const processed = new Set<number>();
      for (let index = 0; index < seqs.length; index += IN_CHUNK) {
        const chunk = seqs.slice(index, index + IN_CHUNK);
        const rows = await this.driver.all<{ seq: number | string }>(`SELECT seq FROM ${this.tables.events} WHERE processed_at IS NOT NULL AND seq IN (${listPlaceholders(chunk.length)})`, chunk);
        for (const row of rows) processed.add(Number(row.seq));
      }
      return processed;
    });
  }

  async claimEvents(seqs: readonly number[], owner: string, nowMs: number, untilMs: number): Promise<ReadonlySet<number>> {
    return this.guard("claimEvents", async () => {
      const claimed = new Set<number>();
      for (let index = 0; index < seqs.length; index += IN_CHUNK) {
        const chunk = seqs.slice(index, index + IN_CHUNK);
        // One statement per chunk: the row lock (PostgreSQL) or the write lock (SQLite) makes the
        // check and the claim atomic, so of two workers claiming the same event one gets it.
        const rows = await this.driver.all<{ seq: number | string }>(
          `UPDATE ${this.tables.events} SET claimed_by = ?, claimed_until_ms = ? WHERE processed_at IS NULL AND seq IN (${listPlaceholders(chunk.length)})`
          + " AND (claimed_until_ms IS NULL OR claimed_until_ms <= ? OR claimed_by = ?) RETURNING seq",
          [owner, untilMs, ...chunk, nowMs, owner],
        );
        for (const row of rows) claimed.add(Number(row.seq));
      }
      return claimed;
    });
  }

  private async markProcessedIn(tx: SqlExecutor, seqs: readonly number[], at: string): Promise<void> {
    for (let index = 0; index < seqs.length; index += IN_CHUNK) {
      const chunk = seqs.slice(index, index + IN_CHUNK);
      await tx.run(`UPDATE ${this.tables.events} SET processed_at = ? WHERE processed_at IS NULL AND seq IN (${listPlaceholders(chunk.length)})`, [at, ...chunk]);
    }
  }

  async listEvents(query: { readonly afterSeq?: number; readonly limit?: number; readonly type?: string }): Promise<StoredEvent[]> {
    return this.guard("listEvents", async () => {
      const where: string[] = [];
      const params: SqlValue[] = [];
      if (query.afterSeq !== undefined) {
        where.push("seq > ?");
        params.push(checkSeq(query.afterSeq)!);
      }
      if (query.type !== undefined) {
        // No stored event has such a type (appendEvents refuses it); PostgreSQL would fail the query on a NUL.
        if (columnTextProblem(query.type) !== undefined) return [];
        where.push("type = ?");
        params.push(query.type);
      }
      let sql = `SELECT ${eventColumns} FROM ${this.tables.events}${where.length > 0 ? ` WHERE ${where.join(" AND ")}` : ""} ORDER BY seq`;
      const limit = checkLimit(query.limit);
      if (limit !== undefined) {
        sql += " LIMIT ?";
        params.push(limit);
      }
      return (await this.driver.all<EventRowShape>(sql, params)).map(toStoredEvent);
    });
  }

  async countEvents(): Promise<number> {
    return this.guard("countEvents", async () => {
      const rows = await this.driver.all<{ count: number | string }>(`SELECT COUNT(*) AS count FROM ${this.tables.events}`);
      return Number(rows[0]?.count ?? 0);
    });
  }

  /**
   * Masks, canonicalizes and chains the drafts after the current head, in one transaction.
   * All or nothing: a decision id that is already recorded (or repeated in the batch) fails the
   * whole batch with VIGIL_CONFLICT and the chain is unchanged. Returns the recorded decisions
   * (masked input, `masking` set when something was masked).
   */
  async appendDecisions(drafts: readonly DecisionDraft[], options: AppendDecisionsOptions = {}): Promise<Decision[]> {
    return this.guard("appendDecisions", async () => {
      const mark = options.markProcessed;
      if (drafts.length === 0) {
        if (mark !== undefined && mark.seqs.length > 0) await this.driver.transaction((tx) => this.markProcessedIn(tx, mark.seqs, mark.at));
        return [];
      }
      const prepared = prepareDecisions(drafts, this.mask);
      const rows = await this.appendPrepared(prepared, mark);
      return rows.map((row, index) => withFields(prepared[index]!.draft, { seq: row.seq, prevHash: row.prevHash, hash: row.hash }));
    });
  }

  async appendCanonicalDecisions(decisions: readonly CanonicalDecision[]): Promise<DecisionRecordRow[]> {
    return this.guard("appendCanonicalDecisions", async () => {
      if (decisions.length === 0) return [];
      checkCanonical(decisions);
      return this.appendPrepared(decisions, undefined);
    });
  }

  /** Chains and inserts prepared decisions, moves the head and marks events processed, in one transaction. */
  private async appendPrepared(prepared: readonly CanonicalDecision[], mark: AppendDecisionsOptions["markProcessed"]): Promise<DecisionRecordRow[]> {
    try {
      return await this.driver.transaction(async (tx) => {
        const head = await this.readHead(tx);
        const chained = chainRecords(head, prepared.map((entry) => ({ id: entry.id, body: entry.body })));
        await tx.insertMany(this.tables.decisions, ["seq", "id", "event_id", "event_type", "subject", "time_ms", "body", "prev_hash", "hash", "verdict", "tier"], chained.map((row, index) => {
          const entry = prepared[index]!;
          const outcome = recordOutcome(row.body);
          return [row.seq, row.id, indexKey(entry.eventId), indexKey(entry.eventType), entry.subject === undefined ? null : indexKey(entry.subject), entry.timeMs, row.body, row.prevHash, row.hash, outcome.verdict, outcome.tier];
        }));
        const policyRows: SqlValue[][] = [];
        chained.forEach((row, index) => {
          // A policy named twice (appendCanonicalDecisions takes the list as given) is one index row.
          for (const policy of new Set(prepared[index]!.policies)) policyRows.push([indexKey(policy), row.seq]);
        });
        if (policyRows.length > 0) await tx.insertMany(this.tables.policies, ["policy", "seq"], policyRows);
        const last = chained.at(-1)!;
        await tx.run(`UPDATE ${this.tables.head} SET seq = ?, hash = ? WHERE id = 1`, [last.seq, last.hash]);
        if (mark !== undefined) await this.markProcessedIn(tx, mark.seqs, mark.at);
        return chained;
      });
    } catch (error) {
      if (this.driver.dialect.isUniqueViolation(error)) throw await this.decisionConflict(prepared.map((entry) => entry.id), error);
      throw error;
    }
  }

  async getDecision(id: string): Promise<Decision | undefined> {
    return this.guard("getDecision", async () => {
      // An id a text column cannot hold is never recorded (prepareDecisions refuses it); PostgreSQL would fail the query on a NUL.
      if (columnTextProblem(id) !== undefined) return undefined;
      const rows = await this.driver.all<DecisionRowShape>(`SELECT ${decisionColumns} FROM ${this.tables.decisions} d WHERE d.id = ?`, [id]);
      return rows[0] === undefined ? undefined : toDecision(rows[0]);
    });
  }

  async listDecisions(query: DecisionQuery): Promise<Decision[]> {
    return this.guard("listDecisions", async () => {
      const { sql, params } = decisionQuery(this.tables, query);
      return (await this.driver.all<DecisionRowShape>(sql, params)).map(toDecision);
    });
  }

  async scanDecisionRecord(afterSeq: number, limit: number): Promise<DecisionRecordRow[]> {
    return this.guard("scanDecisionRecord", async () => {
      const rows = await this.driver.all<DecisionRowShape>(`SELECT ${decisionColumns} FROM ${this.tables.decisions} d WHERE d.seq > ? ORDER BY d.seq LIMIT ?`, [checkSeq(afterSeq)!, checkLimit(limit) ?? 0]);
      return rows.map(toRecordRow);
    });
  }

  /** The chain_head row (seq and hash of the last appended record), `null` when it is missing: what verifyDecisionRecord checks the record's end against. */
  async readChainHead(): Promise<ChainHead | null> {
    return this.guard("readChainHead", async () => {
      const rows = await this.driver.all<{ seq: number | string; hash: string }>(`SELECT seq, hash FROM ${this.tables.head} WHERE id = 1`);
      return rows[0] === undefined ? null : { seq: Number(rows[0].seq), hash: rows[0].hash };
    });
  }

  async getDoc<T>(collection: string, id: string): Promise<StoredDoc<T> | undefined> {
    return this.guard("getDoc", async () => {
      const rows = await this.driver.all<DocRowShape>(`SELECT ${docColumns(this.driver.dialect)} FROM ${this.tables.docs} WHERE collection = ? AND id_key = ?`, [encodeKey(collection), docKey(id)]);
      return rows[0] === undefined ? undefined : this.toDoc<T>(rows[0]);
    });
  }

  /** Documents in the order of `ids`; missing ids are skipped, repeated ids returned once. */
  async getDocs<T>(collection: string, ids: readonly string[]): Promise<StoredDoc<T>[]> {
    return this.guard("getDocs", async () => {
      const unique = [...new Set(ids)];
      const byId = new Map<string, StoredDoc<T>>();
      for (let index = 0; index < unique.length; index += IN_CHUNK) {
        const chunk = unique.slice(index, index + IN_CHUNK);
        const rows = await this.driver.all<DocRowShape>(`SELECT ${docColumns(this.driver.dialect)} FROM ${this.tables.docs} WHERE collection = ? AND id_key IN (${listPlaceholders(chunk.length)})`, [encodeKey(collection), ...chunk.map(docKey)]);
        for (const row of rows) {
          const doc = this.toDoc<T>(row);
          byId.set(doc.id, doc);
        }
      }
      return unique.flatMap((id) => byId.get(id) ?? []);
    });
  }

  async putDocs(docs: readonly { readonly collection: string; readonly id: string; readonly value: unknown; readonly expectVersion?: number }[], at: string): Promise<void> {
    await this.guard("putDocs", async () => {
      if (docs.length === 0) return;
      const encode = this.driver.dialect.encodeJson;
      const prepared = docs.map((doc) => {
        const json = docJson(doc.value, doc.collection, doc.id);
        const id = encodeKey(doc.id);
        // key: what the row is found by (collection, id_key); the id column keeps the whole id.
        return { ...doc, json: encode === undefined ? json : encode(json), id, key: [encodeKey(doc.collection), docKeyOfEncoded(id)] as const };
      });
      // Rows are locked in the order written: one order for every writer, or two batches sharing
      // documents in opposite orders deadlock on PostgreSQL. The sort is stable, so repeated puts
      // of one document keep their order.
      prepared.sort((a, b) => compareText(a.key[0], b.key[0]) || compareText(a.key[1], b.key[1]));
      const keys = new Set(prepared.map((doc) => `${doc.collection}\u0000${doc.id}`));
      const simple = keys.size === prepared.length && prepared.every((doc) => doc.expectVersion === undefined);
      const upsert = `ON CONFLICT (collection, id_key) DO UPDATE SET value = excluded.value, version = ${this.tables.docs}.version + 1, updated_at = excluded.updated_at`;
      await this.driver.transaction(async (tx) => {
        if (simple) {
          await tx.insertMany(this.tables.docs, DOC_COLUMNS, prepared.map((doc) => [...doc.key, doc.id, doc.json, 1, at]), upsert);
          return;
        }
        for (const doc of prepared) {
          const params: SqlValue[] = [...doc.key, doc.id, doc.json, 1, at];
          if (doc.expectVersion === undefined) {
            await tx.insertMany(this.tables.docs, DOC_COLUMNS, [params], upsert);
            continue;
          }
          const changed = doc.expectVersion === 0
            ? (await tx.insertMany<{ id: string }>(this.tables.docs, DOC_COLUMNS, [params], "ON CONFLICT (collection, id_key) DO NOTHING RETURNING id")).length
            : await tx.run(`UPDATE ${this.tables.docs} SET value = ?, version = version + 1, updated_at = ? WHERE collection = ? AND id_key = ? AND version = ?`, [doc.json, at, ...doc.key, doc.expectVersion]);
          if (changed === 0) {
            const current = await tx.all<{ version: number | string }>(`SELECT version FROM ${this.tables.docs} WHERE collection = ? AND id_key = ?`, [...doc.key]);
            const actual = current[0] === undefined ? "it does not exist" : `it is at version ${Number(current[0].version)}`;
            throw new VigilError("VIGIL_CONFLICT", `document ${doc.collection}/${doc.id}: expected version ${doc.expectVersion} but ${actual}; re-read it and retry (no document in this batch was written)`, { field: "expectVersion" });
          }
        }
      });
    });
  }

  async deleteDoc(collection: string, id: string): Promise<boolean> {
    return this.guard("deleteDoc", async () => (await this.driver.run(`DELETE FROM ${this.tables.docs} WHERE collection = ? AND id_key = ?`, [encodeKey(collection), docKey(id)])) > 0);
  }

  async listDocs<T>(collection: string, query?: DocQuery): Promise<StoredDoc<T>[]> {
    return this.guard("listDocs", async () => {
      const { sql, params } = docQuery(this.driver.dialect, this.tables, collection, query);
      return (await this.driver.all<DocRowShape>(sql, params)).map((row) => this.toDoc<T>(row));
    });
  }

  async appendAudit(entries: readonly AuditEntry[]): Promise<void> {
    await this.guard("appendAudit", async () => {
      if (entries.length === 0) return;
      const rows = entries.map(auditRow);
      await this.driver.transaction((tx) => tx.insertMany(this.tables.audit, ["at", "at_ms", "actor", "action", "target", "detail"], rows));
    });
  }

  async listAudit(query: { readonly limit?: number; readonly actor?: string; readonly since?: string }): Promise<AuditEntry[]> {
    return this.guard("listAudit", async () => {
      const { sql, params } = auditQuery(this.tables, query, this.driver.dialect);
      return (await this.driver.all<AuditRowShape>(sql, params)).map(toAuditEntry);
    });
  }

  private toDoc<T>(row: DocRowShape): StoredDoc<T> {
    const decode = this.driver.dialect.decodeJson;
    return toStoredDoc<T>(decode === undefined ? row : { ...row, value: decode(row.value) });
  }

  private async readHead(tx: SqlExecutor): Promise<ChainHead> {
    const dialect = this.driver.dialect;
    if (dialect.beforeChainHeadLock !== undefined) await tx.run(dialect.beforeChainHeadLock);
    let rows: { seq: number | string; hash: string }[];
    try {
      rows = await tx.all<{ seq: number | string; hash: string }>(dialect.selectChainHeadForUpdate);
    } catch (error) {
      if (dialect.isLockTimeout?.(error) === true) {
        throw new VigilError("VIGIL_STORAGE", `${this.kind} storage: timed out waiting for the chain_head row lock (another session holds it: a long append, or a connection gone half-open); nothing was written, retry the append, and if it keeps failing find the holder in pg_locks / pg_stat_activity or raise lockTimeoutMs (an option of createPostgresStorage; vigil.yaml runs with its default)`, { field: "lockTimeoutMs" }, error);
      }
      throw error;
    }
    const row = rows[0];
    if (row === undefined) throw new VigilError("VIGIL_STORAGE", `${this.kind} storage: the chain_head row is missing; the database was altered outside Vigil (run \`vigil audit verify\`)`);
    return { seq: Number(row.seq), hash: row.hash };
  }

  /** After a unique violation: VIGIL_CONFLICT naming the id when a draft's id is already recorded, otherwise the original error. */
  private async decisionConflict(ids: readonly string[], cause: unknown): Promise<unknown> {
    for (let index = 0; index < ids.length; index += IN_CHUNK) {
      const chunk = ids.slice(index, index + IN_CHUNK);
      const rows = await this.driver.all<{ id: string }>(`SELECT id FROM ${this.tables.decisions} WHERE id IN (${listPlaceholders(chunk.length)}) LIMIT 1`, chunk);
      if (rows[0] !== undefined) {
        return new VigilError("VIGIL_CONFLICT", `decision id ${JSON.stringify(rows[0].id)} is already in the decision record; ids are unique and the record is append-only (nothing in this batch was written)`, { field: "id" }, cause);
      }
    }
    // Not an id: a seq collision means another writer appended without holding the chain head lock.
    return cause;
  }

  /** Turns driver failures into VigilError(VIGIL_STORAGE) naming the operation; VigilErrors pass through. */
  private async guard<T>(operation: string, fn: () => Promise<T>, requireOpen = true): Promise<T> {
    if (requireOpen && this.state !== "open") {
      throw new VigilError("VIGIL_STORAGE", `${this.kind} storage: ${operation} called ${this.state === "closed" ? "after close()" : "before init()"}`);
    }
    try {
      return await fn();
    } catch (error) {
      if (isVigilError(error)) throw error;
      const message = error instanceof Error ? error.message : String(error);
      const explained = this.driver.dialect.explainFailure?.(error);
      if (explained !== undefined) {
        throw new VigilError("VIGIL_STORAGE", `${this.kind} storage: ${operation} failed: ${message}; ${explained.hint}`, { field: explained.field }, error);
      }
      throw new VigilError("VIGIL_STORAGE", `${this.kind} storage: ${operation} failed: ${message}`, {}, error);
    }
  }
}
