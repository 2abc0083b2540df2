import type { EntityHistory } from "../core/context.js";
import type { Entity } from "../core/entity.js";
import { VigilError } from "../core/errors.js";
import type { Finding } from "../core/finding.js";
import type { DocCodec } from "./doc-cache.js";
import { compileSchedule } from "./schedule.js";
import { DAY_MS, isoFromMs } from "./time.js";

/** Storage collection of entity records. */
export const ENTITY_COLLECTION = "entities";

/** Days of violation counts kept per entity, and the most recent findings kept. */
export const HISTORY_DAYS = 30;
export const HISTORY_RECENT = 5;

const emptyAttrs: Readonly<Record<string, unknown>> = Object.freeze({});
const emptyList: readonly never[] = Object.freeze([]);

export interface RecentFinding {
  readonly policy: string;
  readonly rule: string;
  readonly time: string;
  readonly effect: string;
}

/**
 * What the entity store keeps per entity: people-managed attributes and relations (owner, team,
 * criticality, classification, environment, schedule, onCall, ...) and the recent findings.
 */
export class EntityRecord {
  /** Replaced, never mutated in place (the empty default is shared). */
  attrs: Readonly<Record<string, unknown>> = emptyAttrs;
  relations: Record<string, string[]> | undefined = undefined;
  /** [epochDay, violations] pairs, oldest first, within the last HISTORY_DAYS days. Replaced, never mutated. */
  violationDays: readonly (readonly [number, number])[] = emptyList;
  recent: readonly RecentFinding[] = emptyList;
  updatedBy: string | undefined = undefined;
  /** True once the record exists in storage or has something worth storing. */
  known = false;
  dirty = false;
  lastUsed = 0;

  /** `kind/id`; kind and id are derived from it so a record holds one string. */
  constructor(readonly key: string) {}

  get kind(): string {
    return splitKey(this.key)[0];
  }

  get id(): string {
    return splitKey(this.key)[1];
  }

  /** The entity's history as of `nowMs`. */
  history(nowMs: number): EntityHistory {
    const since = Math.floor(nowMs / DAY_MS) - HISTORY_DAYS + 1;
    let violations = 0;
    for (const [day, count] of this.violationDays) if (day >= since) violations += count;
    return { violations30d: violations, recent: this.recent };
  }

  /** Adds the violations among `findings` (others are ignored) at `timeMs`. */
  recordFindings(findings: readonly Finding[], timeMs: number): boolean {
    const violations = findings.filter((finding) => finding.effect === "violation");
    if (violations.length === 0) return false;
    const day = Math.floor(timeMs / DAY_MS);
    this.violationDays = addViolationDay(this.violationDays, day, violations.length);
    const time = isoFromMs(timeMs);
    const added = violations.map((finding) => ({ policy: finding.policy, rule: finding.rule, time, effect: finding.effect }));
    const merged = [...added.reverse(), ...this.recent];
    // Newest first. The list is usually sorted already (findings come in time order): the sort, which
    // is stable, would then return it as it is, so it runs only when some entry is out of order.
    this.recent = (newestFirst(merged) ? merged : merged.sort((a, b) => (a.time < b.time ? 1 : a.time > b.time ? -1 : 0))).slice(0, HISTORY_RECENT);
    this.known = true;
    return true;
  }

  toEntity(): Entity {
    return { kind: this.kind, id: this.id, attrs: this.attrs, ...(this.relations ? { relations: this.relations } : {}) };
  }
}

/**
 * The day counts with `added` violations on `day`: one entry per day, the last HISTORY_DAYS days up
 * to the latest, oldest first. When the list is in that form already (strictly increasing days, none
 * after `day`) — as this function leaves it — the new list is the kept tail with the day counted, no
 * map or sort; anything else (a stored list out of order, NaN) takes the general path.
 */
function addViolationDay(days: readonly (readonly [number, number])[], day: number, added: number): readonly (readonly [number, number])[] {
  const last = days[days.length - 1];
  let ordered = Number.isFinite(day) && (last === undefined || last[0] <= day);
  for (let i = 1; ordered && i < days.length; i++) if (!((days[i - 1] as readonly [number, number])[0] < (days[i] as readonly [number, number])[0])) ordered = false;
  if (ordered) {
    const kept: (readonly [number, number])[] = days.filter(([entryDay]) => entryDay > day - HISTORY_DAYS);
    if (last !== undefined && last[0] === day) kept[kept.length - 1] = [day, last[1] + added];
    else kept.push([day, added]);
    return kept;
  }
  const counts = new Map<number, number>(days.map(([entryDay, count]) => [entryDay, count]));
  counts.set(day, (counts.get(day) ?? 0) + added);
  const latest = Math.max(...counts.keys());
  return [...counts.entries()].filter(([entryDay]) => entryDay > latest - HISTORY_DAYS).sort((a, b) => a[0] - b[0]);
}

/** Whether the entries' times never increase along the list. */
function newestFirst(entries: readonly { readonly time: string }[]): boolean {
  for (let i = 1; i < entries.length; i++) if ((entries[i - 1] as { time: string }).time < (entries[i] as { time: string }).time) return false;
  return true;
}

export function entityRecordKey(kind: string, id: string): string {
  return `${kind}/${id}`;
}

function splitKey(key: string): [string, string] {
  const slash = key.indexOf("/");
  return slash < 0 ? [key, ""] : [key.slice(0, slash), key.slice(slash + 1)];
}

interface EntityDoc {
  readonly kind: string;
  readonly id: string;
  readonly attrs: Readonly<Record<string, unknown>>;
  readonly relations?: Record<string, string[]>;
  readonly history?: { readonly days: readonly (readonly [number, number])[]; readonly recent: readonly RecentFinding[] };
  readonly updatedBy?: string;
}

export const entityCodec: DocCodec<EntityRecord> = {
  collection: ENTITY_COLLECTION,
  create(key) {
    return new EntityRecord(key);
  },
  decode(key, value) {
    const record = new EntityRecord(key);
    const doc = value as Partial<EntityDoc>;
    record.known = true;
    if (doc.attrs && typeof doc.attrs === "object") record.attrs = { ...doc.attrs };
    if (doc.relations && typeof doc.relations === "object") record.relations = { ...doc.relations };
    if (doc.history && Array.isArray(doc.history.days)) record.violationDays = doc.history.days.map(([day, count]) => [Number(day), Number(count)] as const);
    if (doc.history && Array.isArray(doc.history.recent)) record.recent = doc.history.recent.slice(0, HISTORY_RECENT);
    if (typeof doc.updatedBy === "string") record.updatedBy = doc.updatedBy;
    return record;
  },
  encode(record): EntityDoc {
    return {
      kind: record.kind,
      id: record.id,
      attrs: record.attrs,
      ...(record.relations ? { relations: record.relations } : {}),
      history: { days: record.violationDays, recent: record.recent },
      ...(record.updatedBy ? { updatedBy: record.updatedBy } : {}),
    };
  },
};

/** What the entity API accepts: attributes to set (null removes one) and relations to set. */
export interface EntityUpdate {
  readonly kind: string;
  readonly id: string;
  readonly attrs?: Readonly<Record<string, unknown>>;
  readonly relations?: Readonly<Record<string, readonly string[]>>;
}

const criticalities = ["low", "medium", "high", "critical"];

/** Validates an update; throws VigilError(VIGIL_BAD_INPUT) naming the field (also a malformed criticality, schedule or onCall). */
export function validateEntityUpdate(update: EntityUpdate): void {
  if (typeof update.kind !== "string" || !/^[A-Za-z][\w.-]*$/.test(update.kind)) {
    throw new VigilError("VIGIL_BAD_INPUT", `entity.kind must be a word like "principal" or "resource", got ${JSON.stringify(update.kind)}`, { field: "kind" });
  }
  if (typeof update.id !== "string" || update.id.length === 0 || update.id.length > 1024) {
    throw new VigilError("VIGIL_BAD_INPUT", "entity.id must be a non-empty string of at most 1024 characters", { field: "id" });
  }
  if (update.attrs !== undefined && (update.attrs === null || typeof update.attrs !== "object" || Array.isArray(update.attrs))) {
    throw new VigilError("VIGIL_BAD_INPUT", "entity.attrs must be an object of attribute name to value", { field: "attrs" });
  }
  for (const [name, targets] of Object.entries(update.relations ?? {})) {
    if (!Array.isArray(targets) || !targets.every((target) => typeof target === "string")) {
      throw new VigilError("VIGIL_BAD_INPUT", `entity.relations.${name} must be a list of entity keys like "team/payments"`, { field: `relations.${name}` });
    }
  }
  const attrs = update.attrs ?? {};
  // Well-known attributes evaluation would ignore when malformed: refused here, where a person can fix them.
  const criticality = attrs["criticality"];
  if (criticality !== undefined && criticality !== null && !(typeof criticality === "string" && criticalities.includes(criticality.toLowerCase()))) {
    throw new VigilError("VIGIL_BAD_INPUT", `entity.attrs.criticality must be one of ${criticalities.join(", ")}, got ${JSON.stringify(criticality)}`, { field: "attrs.criticality" });
  }
  for (const name of ["schedule", "onCall"]) if (attrs[name] !== undefined && attrs[name] !== null) compileSchedule(attrs[name], `attrs.${name}`);
  try {
    JSON.stringify(update.attrs ?? {});
  } catch (error) {
    // Say which: a cycle (TypeError) or nesting too deep for the record (RangeError: the stack ran out).
    const why = error instanceof RangeError ? "is nested too deeply (thousands of levels) to store; keep attributes a few levels deep" : error instanceof TypeError && /circular/i.test(error.message) ? "refers to itself (a circular reference); send a tree of plain JSON values" : `cannot be written as JSON (${error instanceof Error ? error.message : String(error)})`;
    throw new VigilError("VIGIL_BAD_INPUT", `entity.attrs ${why}`, { field: "attrs" }, error);
  }
}

/** Applies an update to a record (attrs merged, `null` deletes; relations replaced per name). */
export function applyEntityUpdate(record: EntityRecord, update: EntityUpdate, by: string | undefined): void {
  const attrs = { ...record.attrs };
  for (const [name, value] of Object.entries(update.attrs ?? {})) {
    if (value === null) delete attrs[name];
    else attrs[name] = value;
  }
  record.attrs = attrs;
  if (update.relations) {
    const relations = { ...(record.relations ?? {}) };
    for (const [name, targets] of Object.entries(update.relations)) {
      if (targets.length === 0) delete relations[name];
      else relations[name] = [...targets];
    }
    record.relations = Object.keys(relations).length > 0 ? relations : undefined;
  }
  record.updatedBy = by;
  record.known = true;
}

/** The peer group of an entity: its team (attribute `team` or relation `team`), else the org-wide group of its kind. */
export function peerKeyOf(kind: string, attrs: Readonly<Record<string, unknown>>, relations: Readonly<Record<string, readonly string[]>> | undefined): string {
  const team = attrs["team"];
  if (typeof team === "string" && team.length > 0) return team.startsWith("team/") ? `peer:${team}` : `peer:team/${team}`;
  const related = relations?.["team"]?.[0];
  if (related) return related.startsWith("team/") ? `peer:${related}` : `peer:team/${related}`;
  return `peer:all/${kind}`;
}
