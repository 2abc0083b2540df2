import { createHash } from "node:crypto";
import { tiers, VigilError } from "../core/index.js";
import type { AuditEntry, CanonicalDecision, Decision, DecisionDraft, DecisionQuery, DecisionRecordRow, DocQuery, Event, StoredDoc, StoredEvent, Tier, Verdict } from "../core/index.js";
import { canonicalJson } from "./canonical-json.js";
import type { CompiledMask } from "./mask.js";
import { maskForRecord } from "./mask.js";
import type { SqlDialect, SqlValue } from "./sql-driver.js";
import { withFields } from "../core/objects.js";

/** SQL builders and row mappers shared by every SQL dialect. */

export type Tables = Readonly<Record<"events" | "decisions" | "policies" | "head" | "docs" | "audit" | "versions", string>>;

export function tablesOf(dialect: SqlDialect): Tables {
  return {
    events: dialect.table("events"),
    decisions: dialect.table("decisions"),
    policies: dialect.table("decision_policies"),
    head: dialect.table("chain_head"),
    docs: dialect.table("docs"),
    audit: dialect.table("audit"),
    versions: dialect.table("schema_version"),
  };
}

/** A draft ready to chain: masked (`draft`), canonical (`body`), with the columns the queries index. */
export interface PreparedDecision extends CanonicalDecision {
  readonly draft: DecisionDraft;
}

/**
 * Text columns hold UTF-8, which has no lone surrogates, and PostgreSQL's text holds no NUL: a
 * lone surrogate is stored as U+FFFD (or invalid bytes) and reads back as another string, a NUL
 * fails on PostgreSQL only. Keys (decision id, event source/id/type) that hold one are refused;
 * other text columns that take outside text store `encodeKey` of it (document collections and
 * ids; audit actors, actions and targets) or `indexKey` (a decision's event id and type,
 * subject and policies) and are queried the same way (the hashed body keeps the exact value).
 */
const LONE_SURROGATE_OR_NUL = /\u0000|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/** What a text column cannot hold in `value` ("a NUL character", "a lone surrogate U+D800"), or undefined. */
export function columnTextProblem(value: string): string | undefined {
  if (!KEY_UNSAFE.test(value)) return undefined;
  const match = LONE_SURROGATE_OR_NUL.exec(value);
  if (match === null) return undefined;
  return match[0] === "\u0000" ? "a NUL character (U+0000)" : `a lone surrogate (U+${match[0].charCodeAt(0).toString(16).toUpperCase()})`;
}

/**
 * Each NUL, lone surrogate and U+E000 written as U+E000 and its code unit in 4 hex digits
 * (`\u0000` → `\ue0000000`), which both stores hold; `decodeKey` reads it back as it was.
 * One-to-one, so distinct values stay distinct rows; text without those characters is stored
 * as it is.
 */
const KEY_UNSAFE = /[\u0000\ud800-\udfff\ue000]/;
const KEY_UNSAFE_ALL = /\u0000|\ue000|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

export function encodeKey(value: string): string {
  return KEY_UNSAFE.test(value) ? value.replace(KEY_UNSAFE_ALL, (unit) => `\ue000${unit.charCodeAt(0).toString(16).padStart(4, "0")}`) : value;
}

export function decodeKey(value: string): string {
  return value.includes("\ue000") ? value.replace(/\ue000([0-9a-f]{4})/g, (_escape: string, hex: string) => String.fromCharCode(Number.parseInt(hex, 16))) : value;
}

/**
 * Index entries are bounded (PostgreSQL: a B-tree entry of at most ~2.7 KB, else the row is
 * refused). Keys (decision id, event source/id/type) are limited to this many UTF-8 bytes on
 * every store; the decision's other indexed columns store `indexKey` of longer values.
 */
export const MAX_KEY_BYTES = 1024;

const utf8Length = (value: string): number => (value.length * 3 <= MAX_KEY_BYTES ? value.length : Buffer.byteLength(value, "utf8"));

function checkKeyText(value: string, field: string, what: string, code: "VIGIL_BAD_INPUT" | "VIGIL_BAD_EVENT"): void {
  const problem = columnTextProblem(value);
  if (problem !== undefined) {
    throw new VigilError(code, `${field} ${JSON.stringify(value)} contains ${problem}, which the store's text columns cannot hold (it would read back as another ${what}); use well-formed Unicode text without NUL`, { field });
  }
  const bytes = utf8Length(value);
  if (bytes > MAX_KEY_BYTES) {
    throw new VigilError(code, `${field} is ${bytes} bytes long (UTF-8, starting ${JSON.stringify(value.slice(0, 40))}); the store indexes keys of at most ${MAX_KEY_BYTES} bytes: use a shorter ${what}`, { field });
  }
}

/**
 * What an indexed (queried, never read back) column stores for `value`: `encodeKey` of it, or,
 * past MAX_KEY_BYTES, its first 256 characters, U+E000, "#" and the SHA-256 of the whole (a
 * sequence `encodeKey` never writes, so it stands for this value alone). Queries use the same.
 */
export function indexKey(value: string): string {
  const encoded = encodeKey(value);
  if (utf8Length(encoded) <= MAX_KEY_BYTES) return encoded;
  let cut = 256;
  const last = encoded.charCodeAt(cut - 1);
  if (last >= 0xd800 && last <= 0xdbff) cut -= 1; // not between the halves of a pair
  return `${encoded.slice(0, cut)}\ue000#${createHash("sha256").update(encoded, "utf8").digest("hex")}`;
}

/** Code points (not UTF-16 units) a long document id keeps in its key: PostgreSQL's left() counts the same way. */
const DOC_KEY_START = 256;

/**
 * The indexed key of a document id already `encodeKey`d (what the `id` column holds): itself up
 * to MAX_KEY_BYTES, otherwise its first 256 code points, U+E000, "#" and the SHA-256 of the whole
 * (a sequence encodeKey never writes, so it stands for this id alone). Documents are unique by
 * (collection, key) and listed in key order; the `id` column keeps the whole id, read back.
 * Migration 4 computes the same in SQL for rows already stored.
 */
export function docKeyOfEncoded(encoded: string): string {
  if (utf8Length(encoded) <= MAX_KEY_BYTES) return encoded;
  return `${codePointPrefix(encoded, DOC_KEY_START)}\ue000#${createHash("sha256").update(encoded, "utf8").digest("hex")}`;
}

export function docKey(id: string): string {
  return docKeyOfEncoded(encodeKey(id));
}

function codePointPrefix(text: string, count: number): string {
  let end = 0;
  for (let taken = 0; taken < count && end < text.length; taken++) {
    const unit = text.charCodeAt(end);
    end += unit >= 0xd800 && unit <= 0xdbff && end + 1 < text.length ? 2 : 1;
  }
  return text.slice(0, end);
}

/** Masks and canonicalizes drafts; checks the fields the record indexes. Throws VIGIL_BAD_INPUT / VIGIL_CONFLICT naming the draft. */
export function prepareDecisions(drafts: readonly DecisionDraft[], mask: CompiledMask | undefined): PreparedDecision[] {
  const seen = new Set<string>();
  return drafts.map((original, index) => {
    const field = `drafts[${index}]`;
    if (typeof original.id !== "string" || original.id === "") throw new VigilError("VIGIL_BAD_INPUT", `${field}.id must be a non-empty string`, { field: `${field}.id` });
    checkKeyText(original.id, `${field}.id`, "id", "VIGIL_BAD_INPUT");
    if (seen.has(original.id)) throw new VigilError("VIGIL_CONFLICT", `decision id ${JSON.stringify(original.id)} appears twice in one appendDecisions batch; ids must be unique`, { field: `${field}.id` });
    seen.add(original.id);
    if (typeof original.eventId !== "string") throw new VigilError("VIGIL_BAD_INPUT", `${field}.eventId must be a string (decision ${original.id})`, { field: `${field}.eventId` });
    if (typeof original.eventType !== "string") throw new VigilError("VIGIL_BAD_INPUT", `${field}.eventType must be a string (decision ${original.id})`, { field: `${field}.eventType` });
    const timeMs = parseTimestamp(original.time);
    if (Number.isNaN(timeMs)) throw new VigilError("VIGIL_BAD_INPUT", `${field}.time must be an RFC 3339 timestamp (2024-01-01T00:00:00Z; without an offset it is read as UTC), got ${JSON.stringify(original.time)} (decision ${original.id})`, { field: `${field}.time` });
    const { draft, text } = canonicalOrRefuse(original, mask, field);
    flatten(text);
    const policies: string[] = [];
    for (const finding of draft.findings ?? []) {
      if (typeof finding.policy === "string" && !policies.includes(finding.policy)) policies.push(finding.policy);
    }
    return { id: draft.id, eventId: draft.eventId, eventType: draft.eventType, timeMs, body: text, policies, draft, ...(draft.subject === undefined ? {} : { subject: draft.subject }) };
  });
}

/** maskForRecord with canonical JSON; its refusal (circular, too deep: a path from `$`) names the draft and its id. */
function canonicalOrRefuse(original: DecisionDraft, mask: CompiledMask | undefined, field: string): { readonly draft: DecisionDraft; readonly text: string } {
  try {
    return maskForRecord(original, mask, canonicalJson);
  } catch (error) {
    if (!(error instanceof VigilError) || error.code !== "VIGIL_BAD_INPUT") throw error;
    const path = typeof error.details.field === "string" && error.details.field.startsWith("$") ? error.details.field.slice(1) : "";
    throw new VigilError("VIGIL_BAD_INPUT", `${field} (decision ${original.id}): ${error.message}`, { field: `${field}${path}` }, error);
  }
}

/** Checks decisions prepared elsewhere (appendCanonicalDecisions) as prepareDecisions checks drafts. Throws naming the entry. */
export function checkCanonical(decisions: readonly CanonicalDecision[]): void {
  const seen = new Set<string>();
  decisions.forEach((entry, index) => {
    const field = `decisions[${index}]`;
    if (typeof entry.id !== "string" || entry.id === "") throw new VigilError("VIGIL_BAD_INPUT", `${field}.id must be a non-empty string`, { field: `${field}.id` });
    checkKeyText(entry.id, `${field}.id`, "id", "VIGIL_BAD_INPUT");
    if (seen.has(entry.id)) throw new VigilError("VIGIL_CONFLICT", `decision id ${JSON.stringify(entry.id)} appears twice in one appendCanonicalDecisions batch; ids must be unique`, { field: `${field}.id` });
    seen.add(entry.id);
    if (typeof entry.eventId !== "string") throw new VigilError("VIGIL_BAD_INPUT", `${field}.eventId must be a string (decision ${entry.id})`, { field: `${field}.eventId` });
    if (typeof entry.eventType !== "string") throw new VigilError("VIGIL_BAD_INPUT", `${field}.eventType must be a string (decision ${entry.id})`, { field: `${field}.eventType` });
    // A whole number (PostgreSQL's BIGINT refuses 1.5 and past 2^63; SQLite stored them).
    if (!Number.isSafeInteger(entry.timeMs)) throw new VigilError("VIGIL_BAD_INPUT", `${field}.timeMs must be a whole number of milliseconds (decision ${entry.id}), got ${String(entry.timeMs)}`, { field: `${field}.timeMs` });
    if (typeof entry.body !== "string" || !entry.body.startsWith("{")) throw new VigilError("VIGIL_BAD_INPUT", `${field}.body must be the decision's canonical JSON object text (prepareDecisions) (decision ${entry.id})`, { field: `${field}.body` });
    // Canonical JSON escapes both; raw, a text column would not give back the bytes that were hashed.
    const problem = columnTextProblem(entry.body);
    if (problem !== undefined) {
      throw new VigilError("VIGIL_BAD_INPUT", `${field}.body contains ${problem}, which canonical JSON writes escaped and the store's text columns cannot hold as it is (the record would read back as another text than the one hashed); prepare it with prepareDecisions (decision ${entry.id})`, { field: `${field}.body` });
    }
    if (!Array.isArray(entry.policies)) throw new VigilError("VIGIL_BAD_INPUT", `${field}.policies must be an array of policy ids (decision ${entry.id})`, { field: `${field}.policies` });
  });
}

/**
 * Makes V8 store `text` as one flat string, in place. canonicalJson builds the body by
 * concatenation, a tree of hundreds of small pieces (a rope); every consumer that needs the
 * characters walks and copies that tree again unless the string itself was flattened:
 * `prevHash + body` for SHA-256 copies it into a new string and leaves the body a rope, so the
 * SQL driver flattened it a second time when binding it. Converting a string to a number
 * flattens it in place (and stops at the first character that is not numeric: "{").
 * In-process A/B (bench/store.ts drafts with a CloudTrail input, no mask): 220 → 115 µs of CPU per
 * appended row. (With a mask configured, the masking check already flattened the text.)
 */
function flatten(text: string): void {
  // The result is not used; the conversion is what flattens.
  void Number(text);
}

export interface DecisionRowShape {
  readonly seq: number | string;
  readonly id: string;
  readonly body: string;
  readonly prev_hash: string;
  readonly hash: string;
}

export const decisionColumns = "d.seq AS seq, d.id AS id, d.body AS body, d.prev_hash AS prev_hash, d.hash AS hash";

export function toRecordRow(row: DecisionRowShape): DecisionRecordRow {
  return { seq: Number(row.seq), id: row.id, body: row.body, prevHash: row.prev_hash, hash: row.hash };
}

export function toDecision(row: DecisionRowShape): Decision {
  const draft = JSON.parse(row.body) as DecisionDraft;
  return withFields(draft, { seq: Number(row.seq), prevHash: row.prev_hash, hash: row.hash });
}

const TIMESTAMP = /^(\d{4})-(\d{2})-(\d{2})(?:[Tt ](\d{2}):(\d{2})(?::(\d{2})(\.\d+)?)?([Zz]|[+-]\d{2}:?\d{2})?)?$/;

/**
 * Milliseconds of an RFC 3339 date-time (`2024-01-01T10:00:00+02:00`) or date (`2024-01-01`,
 * midnight UTC); NaN for anything else. A date-time without an offset is UTC, in every worker's
 * time zone: Date.parse reads it as local time, so workers in different zones indexed and
 * filtered the same text as different instants. Also taken: a space for the `T`, no seconds,
 * `+0200` for `+02:00`. Not taken: the free forms Date.parse guesses at ("January 1, 2024",
 * "1/1/2024", zone names), an hour past 23, a day past the month's last.
 */
export function parseTimestamp(value: unknown): number {
  if (typeof value !== "string") return Number.NaN;
  const match = TIMESTAMP.exec(value);
  if (match === null) return Number.NaN;
  const [, year, month, day, hour = "00", minute = "00", second = "00", fraction = "", offset = "Z"] = match;
  const y = Number(year);
  const m = Number(month);
  const d = Number(day);
  if (m < 1 || m > 12 || d < 1 || d > new Date(Date.UTC(y, m, 0)).getUTCDate()) return Number.NaN;
  if (Number(hour) > 23 || Number(minute) > 59 || Number(second) > 59) return Number.NaN;
  const zone = offset === "z" ? "Z" : offset.length === 5 ? `${offset.slice(0, 3)}:${offset.slice(3)}` : offset;
  if (zone !== "Z" && (Number(zone.slice(1, 3)) > 23 || Number(zone.slice(4, 6)) > 59)) return Number.NaN;
  return Date.parse(`${year}-${month}-${day}T${hour}:${minute}:${second}${fraction}${zone}`);
}

function timeBound(value: string, field: string): number {
  const ms = parseTimestamp(value);
  if (Number.isNaN(ms)) throw new VigilError("VIGIL_BAD_INPUT", `${field} must be an RFC 3339 timestamp (2024-01-01T00:00:00Z; without an offset it is read as UTC), got ${JSON.stringify(value)}`, { field });
  return ms;
}

/** Limits and seq cursors are whole numbers both stores take alike (PostgreSQL's BIGINT refuses 1.5 and NaN, which SQLite compared). */
export function checkLimit(limit: number | undefined, field = "limit"): number | undefined {
  if (limit === undefined) return undefined;
  if (!Number.isSafeInteger(limit) || limit < 0) throw new VigilError("VIGIL_BAD_INPUT", `${field} must be a non-negative integer (at most 2^53 - 1), got ${String(limit)}`, { field });
  return limit;
}

/** A seq cursor (`afterSeq`): a whole number, as the store's seqs are. */
export function checkSeq(seq: number | undefined, field = "afterSeq"): number | undefined {
  if (seq === undefined) return undefined;
  if (!Number.isSafeInteger(seq)) throw new VigilError("VIGIL_BAD_INPUT", `${field} must be an integer (the seq of a record, 0 for the start), got ${String(seq)}`, { field });
  return seq;
}

const verdicts: readonly Verdict[] = ["allow", "deny"];

/** A verdict or tier filter is one of its values, as the record holds them (a typo matched nothing, silently). */
function checkOneOf(value: string, allowed: readonly string[], field: string): string {
  if (!allowed.includes(value)) throw new VigilError("VIGIL_BAD_INPUT", `${field} must be one of ${allowed.join(", ")}, got ${JSON.stringify(value)}`, { field });
  return value;
}

/** The string value of the last `"key":"` in `body`, or "" (searched from the end). */
function lastStringField(body: string, key: string): string {
  const marker = `"${key}":"`;
  const at = body.lastIndexOf(marker);
  return at < 0 ? "" : body.slice(at + marker.length, body.indexOf('"', at + marker.length));
}

/**
 * The verdict and tier columns of a record: its canonical body's top-level `verdict` and `tier`,
 * or null where the body does not hold one of their values. INVARIANT: canonical JSON sorts keys,
 * so nothing but the strings `time` and `verdict` follows the top-level `tier`, and nothing
 * follows `verdict`; a `"tier":"` inside a string would have its quotes escaped. So the last of
 * each is the top-level one, found from the end, the body never parsed (appendCanonicalDecisions
 * gets no draft). A body that is not canonical, which its caller vouches for, may be indexed
 * under another value or none. Migration 7 (PostgreSQL) reads old rows the same way.
 */
export function recordOutcome(body: string): { readonly verdict: Verdict | null; readonly tier: Tier | null } {
  const verdict = lastStringField(body, "verdict");
  const tier = lastStringField(body, "tier");
  return { verdict: (verdicts as readonly string[]).includes(verdict) ? (verdict as Verdict) : null, tier: (tiers as readonly string[]).includes(tier) ? (tier as Tier) : null };
}

/**
 * listDecisions: filters are ANDed and part of the query, so `limit` counts matching decisions;
 * `since` is inclusive and `until` exclusive (compared as instants, so offsets other than Z
 * work); `afterSeq`/`beforeSeq` exclusive; ascending seq unless `newestFirst`.
 */
export function decisionQuery(tables: Tables, query: DecisionQuery): { sql: string; params: SqlValue[] } {
  const where: string[] = [];
  const params: SqlValue[] = [];
  if (query.afterSeq !== undefined) {
    where.push("d.seq > ?");
    params.push(checkSeq(query.afterSeq)!);
  }
  if (query.beforeSeq !== undefined) {
    where.push("d.seq < ?");
    params.push(checkSeq(query.beforeSeq, "beforeSeq")!);
  }
  if (query.verdict !== undefined) {
    where.push("d.verdict = ?");
    params.push(checkOneOf(query.verdict, verdicts, "verdict"));
  }
  if (query.tier !== undefined) {
    where.push("d.tier = ?");
    params.push(checkOneOf(query.tier, tiers, "tier"));
  }
  if (query.eventId !== undefined) {
    where.push("d.event_id = ?");
    params.push(indexKey(query.eventId));
  }
  if (query.subject !== undefined) {
    where.push("d.subject = ?");
    params.push(indexKey(query.subject));
  }
  if (query.policy !== undefined) {
    where.push(`EXISTS (SELECT 1 FROM ${tables.policies} p WHERE p.policy = ? AND p.seq = d.seq)`);
    params.push(indexKey(query.policy));
  }
  if (query.since !== undefined) {
    where.push("d.time_ms >= ?");
    params.push(timeBound(query.since, "since"));
  }
  if (query.until !== undefined) {
    where.push("d.time_ms < ?");
    params.push(timeBound(query.until, "until"));
  }
  let sql = `SELECT ${decisionColumns} FROM ${tables.decisions} d`;
  if (where.length > 0) sql += ` WHERE ${where.join(" AND ")}`;
  sql += ` ORDER BY d.seq ${query.newestFirst === true ? "DESC" : "ASC"}`;
  const limit = checkLimit(query.limit);
  if (limit !== undefined) {
    sql += " LIMIT ?";
    params.push(limit);
  }
  return { sql, params };
}

export interface EventRowShape {
  readonly seq: number | string;
  readonly body: string;
  readonly received_at: string;
  readonly processed_at: string | null;
}

export const eventColumns = "seq, body, received_at, processed_at";

export function toStoredEvent(row: EventRowShape): StoredEvent {
  const event = JSON.parse(row.body) as Event;
  const base = { seq: Number(row.seq), event, receivedAt: row.received_at };
  return row.processed_at === null ? base : { ...base, processedAt: row.processed_at };
}

export function checkEvents(events: readonly Event[]): void {
  events.forEach((event, index) => {
    for (const key of ["id", "source", "type"] as const) {
      if (typeof event[key] !== "string" || event[key] === "") {
        throw new VigilError("VIGIL_BAD_EVENT", `events[${index}].${key} must be a non-empty string (CloudEvents 1.0 required attribute)`, { field: `events[${index}].${key}` });
      }
      // CloudEvents 1.0 forbids both in a String attribute too.
      checkKeyText(event[key], `events[${index}].${key}`, key, "VIGIL_BAD_EVENT");
    }
  });
}

export function eventKey(source: string, id: string): string {
  return `${source}/${id}`;
}

export interface DocRowShape {
  readonly collection: string;
  readonly id: string;
  readonly value: string;
  readonly version: number | string;
  readonly updated_at: string;
}

export function docColumns(dialect: SqlDialect): string {
  return `collection, id, ${dialect.jsonText("value")} AS value, version, updated_at`;
}

export function toStoredDoc<T>(row: DocRowShape): StoredDoc<T> {
  return { collection: decodeKey(row.collection), id: decodeKey(row.id), value: JSON.parse(row.value) as T, version: Number(row.version), updatedAt: row.updated_at };
}

/** listDocs: ordered by id (byte order; an id past MAX_KEY_BYTES by its first 256 code points, then its digest); `where` compares top-level JSON fields exactly (true ≠ 1, null matches an explicit null only). */
export function docQuery(dialect: SqlDialect, tables: Tables, collection: string, query: DocQuery = {}): { sql: string; params: SqlValue[] } {
  const where = ["collection = ?"];
  const params: SqlValue[] = [encodeKey(collection)];
  if (query.idPrefix !== undefined && query.idPrefix !== "") {
    // The key holds an id's first 256 code points at least: the range runs on that much of the
    // prefix (indexed); a longer prefix is then checked on the whole id.
    const encoded = encodeKey(query.idPrefix);
    const start = codePointPrefix(encoded, DOC_KEY_START);
    where.push(`id_key >= ? AND ${dialect.startsWith("id_key")}`);
    params.push(start, start);
    if (start !== encoded) {
      where.push(dialect.startsWith("id"));
      params.push(encoded);
    }
  }
  if (query.afterId !== undefined) {
    where.push("id_key > ?");
    params.push(docKey(query.afterId));
  }
  if (query.where !== undefined && Object.keys(query.where).length > 0) {
    for (const key of Object.keys(query.where)) {
      // A NUL ends SQLite's JSON path ("bad JSON path"); PostgreSQL would take it: refused on both.
      if (key === "" || key.includes('"') || key.includes("\\") || key.includes("\u0000")) {
        throw new VigilError("VIGIL_BAD_INPUT", `listDocs where-field ${JSON.stringify(key)} must be a non-empty top-level field name without quotes, backslashes or NUL`, { field: `where.${key}` });
      }
    }
    const fields = dialect.jsonFieldsEqual("value", query.where);
    where.push(fields.sql);
    params.push(...fields.params);
  }
  let sql = `SELECT ${docColumns(dialect)} FROM ${tables.docs} WHERE ${where.join(" AND ")} ORDER BY id_key`;
  const limit = checkLimit(query.limit);
  if (limit !== undefined) {
    sql += " LIMIT ?";
    params.push(limit);
  }
  return { sql, params };
}

export function docJson(value: unknown, collection: string, id: string): string {
  const json = value === undefined ? undefined : JSON.stringify(value);
  if (json === undefined) throw new VigilError("VIGIL_BAD_INPUT", `document ${collection}/${id}: value must be JSON (got ${typeof value})`, { field: "value" });
  return json;
}

export interface AuditRowShape {
  readonly at: string;
  readonly actor: string;
  readonly action: string;
  readonly target: string | null;
  readonly detail: string | null;
}

export function toAuditEntry(row: AuditRowShape): AuditEntry {
  return {
    at: row.at,
    actor: decodeKey(row.actor),
    action: decodeKey(row.action),
    ...(row.target === null ? {} : { target: decodeKey(row.target) }),
    ...(row.detail === null ? {} : { detail: JSON.parse(row.detail) as Record<string, unknown> }),
  };
}

export function auditRow(entry: AuditEntry, index: number): SqlValue[] {
  const atMs = parseTimestamp(entry.at);
  if (Number.isNaN(atMs)) throw new VigilError("VIGIL_BAD_INPUT", `entries[${index}].at must be an RFC 3339 timestamp (without an offset it is read as UTC), got ${JSON.stringify(entry.at)}`, { field: `entries[${index}].at` });
  for (const key of ["actor", "action"] as const) {
    if (typeof entry[key] !== "string" || entry[key] === "") throw new VigilError("VIGIL_BAD_INPUT", `entries[${index}].${key} must be a non-empty string`, { field: `entries[${index}].${key}` });
  }
  return [entry.at, atMs, encodeKey(entry.actor), encodeKey(entry.action), entry.target === undefined ? null : encodeKey(entry.target), entry.detail === undefined ? null : JSON.stringify(entry.detail)];
}

/** listAudit: oldest first; `since` inclusive (as an instant). */
export function auditQuery(tables: Tables, query: { readonly limit?: number; readonly actor?: string; readonly since?: string }, dialect?: Pick<SqlDialect, "boundedTextEquals">): { sql: string; params: SqlValue[] } {
  const where: string[] = [];
  const params: SqlValue[] = [];
  if (query.actor !== undefined) {
    const actor = encodeKey(query.actor);
    const equals = dialect?.boundedTextEquals?.("actor", actor) ?? { sql: "actor = ?", params: [actor] };
    where.push(equals.sql);
    params.push(...equals.params);
  }
  if (query.since !== undefined) {
    where.push("at_ms >= ?");
    params.push(timeBound(query.since, "since"));
  }
  let sql = `SELECT at, actor, action, target, detail FROM ${tables.audit}`;
  if (where.length > 0) sql += ` WHERE ${where.join(" AND ")}`;
  sql += " ORDER BY seq";
  const limit = checkLimit(query.limit);
  if (limit !== undefined) {
    sql += " LIMIT ?";
    params.push(limit);
  }
  return { sql, params };
}
