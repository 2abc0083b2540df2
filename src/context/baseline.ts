import { Buffer } from "node:buffer";
import { migrateActivity, parseLayoutSignature, type ActivityHolder, type ActivityLayout } from "./activity.js";
import { createIdleDays } from "./idle-days.js";
import { SERIES_HEADER_LENGTH, type SeriesState } from "./series.js";

/**
 * Everything the context stage remembers about one entity (or peer group), kept compact:
 * integers (minutes) in plain fields, the rest in typed arrays. See docs/context.md for the
 * memory budget. Stored as one document per entity in the `context.baselines` collection.
 */
export class EntityBaseline implements ActivityHolder {
  /** Events observed. */
  events = 0;
  /** Minutes since epoch of the first and last observed event (0 = never). */
  firstSeen = 0;
  lastSeen = 0;
  act: Uint16Array | undefined = undefined;
  actAnchor = 0;
  actExp = 0;
  series: SeriesState[] | undefined = undefined;
  idle: Float32Array | undefined = undefined;
  dirty = false;

  constructor(readonly key: string) {}

  /** Counts an event at `minutes`. */
  touch(minutes: number): void {
    this.events++;
    if (this.firstSeen === 0 || minutes < this.firstSeen) this.firstSeen = minutes;
    if (minutes > this.lastSeen) this.lastSeen = minutes;
  }

  findSeries(name: string): SeriesState | undefined {
    const list = this.series;
    if (!list) return undefined;
    for (const series of list) if (series.name === name) return series;
    return undefined;
  }

  addSeries(series: SeriesState): SeriesState {
    (this.series ??= []).push(series);
    return series;
  }

  idleRing(days: number): Float32Array {
    return (this.idle ??= createIdleDays(days));
  }
}

/** Series kept per entity; past this, new series names are ignored (bounded memory). */
export const MAX_SERIES_PER_ENTITY = 8;

interface BaselineDoc {
  readonly v: 1;
  readonly events: number;
  readonly firstSeen: number;
  readonly lastSeen: number;
  readonly act?: { readonly layout: string; readonly anchor: number; readonly exp: number; readonly data: string };
  readonly series?: readonly { readonly name: string; readonly head: string; readonly slots?: string }[];
  readonly idle?: string;
}

function encode(array: Uint16Array | Float32Array | Float64Array): string {
  return Buffer.from(array.buffer, array.byteOffset, array.byteLength).toString("base64");
}

function decodeInto<T extends Uint16Array | Float32Array | Float64Array>(text: string, make: (length: number) => T): T | undefined {
  const bytes = Buffer.from(text, "base64");
  const target = make(Math.floor(bytes.byteLength / make(0).BYTES_PER_ELEMENT));
  if (target.byteLength !== bytes.byteLength) return undefined;
  new Uint8Array(target.buffer).set(bytes);
  return target;
}

/** Serialises a baseline to its stored document (typed arrays as little-endian base64). */
export function baselineToDoc(baseline: EntityBaseline, layout: ActivityLayout): BaselineDoc {
  return {
    v: 1,
    events: baseline.events,
    firstSeen: baseline.firstSeen,
    lastSeen: baseline.lastSeen,
    ...(baseline.act ? { act: { layout: layout.signature, anchor: baseline.actAnchor, exp: baseline.actExp, data: encode(baseline.act) } } : {}),
    ...(baseline.series ? { series: baseline.series.map((series) => ({ name: series.name, head: encode(series.head), ...(series.slots ? { slots: encode(series.slots) } : {}) })) } : {}),
    ...(baseline.idle ? { idle: encode(baseline.idle) } : {}),
  };
}

/**
 * Rebuilds a baseline from its document. Parts that do not decode (corrupt, other version) are
 * dropped and relearned rather than failing the event; a changed seen-set layout is migrated.
 */
export function baselineFromDoc(key: string, value: unknown, layout: ActivityLayout): EntityBaseline {
  const baseline = new EntityBaseline(key);
  const doc = value as Partial<BaselineDoc> | undefined;
  if (!doc || doc.v !== 1) return baseline;
  baseline.events = Number(doc.events) || 0;
  baseline.firstSeen = Number(doc.firstSeen) || 0;
  baseline.lastSeen = Number(doc.lastSeen) || 0;
  if (doc.act && typeof doc.act.data === "string") {
    const data = decodeInto(doc.act.data, (length) => new Uint16Array(length));
    const from = doc.act.layout === layout.signature ? layout : parseLayoutSignature(String(doc.act.layout));
    if (data && from && data.length === from.length) {
      baseline.act = from === layout ? data : migrateActivity(data, from, layout);
      baseline.actAnchor = Number(doc.act.anchor) || 0;
      baseline.actExp = Number(doc.act.exp) || 0;
    }
  }
  if (Array.isArray(doc.series)) {
    for (const stored of doc.series) {
      const head = decodeInto(stored.head, (length) => new Float64Array(length));
      if (!head || head.length !== SERIES_HEADER_LENGTH) continue;
      const slots = stored.slots ? decodeInto(stored.slots, (length) => new Uint16Array(length)) : undefined;
      if (slots && slots.length !== head[0]) continue;
      baseline.addSeries({ name: stored.name, head, slots });
    }
  }
  if (typeof doc.idle === "string") {
    const idle = decodeInto(doc.idle, (length) => new Float32Array(length));
    if (idle && idle.length % 7 === 0 && idle.length > 0) baseline.idle = idle;
  }
  return baseline;
}
