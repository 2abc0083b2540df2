import { Buffer } from "node:buffer";
import { histogramTotal, migrateActivity, parseLayoutSignature, type ActivityHolder, type ActivityLayout } from "./activity.js";
import { appendSection, emptyBlock } from "./block.js";
import { copyIdleRing, createIdleRing, day16IdleWords, idleWords, migrateIdleRing, oldIdleWords, widenIdleDays, type IdleRing } from "./idle-days.js";
import { addSumWindow, seriesKindAt, seriesWords, seriesWordsWithoutWindow, type Season, type SeriesState } from "./series.js";

/**
 * Everything the context stage remembers about one entity (or peer group), kept compact:
 * integers (minutes) in plain fields, every other number in ONE Uint16Array block (block.ts)
 * with sections for activity, series and idle days. See docs/context.md for the memory budget.
 * Stored as one document per entity in the `context.baselines` collection.
 */
export class EntityBaseline implements ActivityHolder {
  /** Events observed. */
  events = 0;
  /** Minutes since epoch of the first and last observed event (0 = never). */
  firstSeen = 0;
  lastSeen = 0;
  block: Uint16Array = emptyBlock;
  actOffset = -1;
  actAnchor = 0;
  actExp = 0;
  actTotal = 0;
  /** Series directory: name, offset, name, offset... (a flat array: one object per entity). */
  seriesIndex: (string | number)[] | undefined = undefined;
  idleOffset = -1;
  idleDays = 0;
  dirty = false;
  lastUsed = 0;

  constructor(readonly key: string) {}

  /** Counts an event at `minutes`. */
  touch(minutes: number): void {
    this.events++;
    if (this.firstSeen === 0 || minutes < this.firstSeen) this.firstSeen = minutes;
    if (minutes > this.lastSeen) this.lastSeen = minutes;
  }

  get seriesCount(): number {
    return (this.seriesIndex?.length ?? 0) / 2;
  }

  findSeries(name: string): SeriesState | undefined {
    const index = this.seriesIndex;
    if (!index) return undefined;
    for (let at = 0; at < index.length; at += 2) if (index[at] === name) return { holder: this, name, offset: index[at + 1] as number };
    return undefined;
  }

  allSeries(): SeriesState[] {
    const index = this.seriesIndex ?? [];
    const result: SeriesState[] = [];
    for (let at = 0; at < index.length; at += 2) result.push({ holder: this, name: index[at] as string, offset: index[at + 1] as number });
    return result;
  }

  /** Registers a series section created by `createSeries(this, ...)`. */
  addSeries(series: SeriesState): SeriesState {
    (this.seriesIndex ??= []).push(series.name, series.offset);
    return series;
  }

  idleRing(): IdleRing | undefined {
    return this.idleOffset < 0 ? undefined : { holder: this, offset: this.idleOffset, days: this.idleDays };
  }

  /**
   * The idle ring, with at least `days` slots: a ring smaller than that (idle.days raised at run
   * time) is replaced by a larger one holding the same days (the old section stays unused in the
   * block until the baseline is next loaded from storage).
   */
  ensureIdleRing(days: number): IdleRing {
    if (this.idleOffset < 0 || this.idleDays < days) {
      const old = this.idleRing();
      const ring = createIdleRing(this, days);
      if (old) copyIdleRing({ ...old, holder: this }, ring);
      this.idleOffset = ring.offset;
      this.idleDays = days;
    }
    return { holder: this, offset: this.idleOffset, days: this.idleDays };
  }
}

/** Series kept per entity; past this, new series names are ignored (bounded memory). */
export const MAX_SERIES_PER_ENTITY = 8;

interface BaselineDoc {
  readonly v: 2;
  readonly events: number;
  readonly firstSeen: number;
  readonly lastSeen: number;
  /** The block, little-endian u16 words, base64. */
  readonly block: string;
  readonly act?: { readonly offset: number; readonly layout: string; readonly anchor: number; readonly exp: number };
  /** [name, offset, season, 2]: the 4th element marks sum series stored with their open-period ring (series.ts). */
  readonly series?: readonly (readonly [string, number, number, number?])[];
  /**
   * `sums: true`: days hold sums (idle-days.ts); without it, the older running means. `days32: true`:
   * the day number takes 32 bits; without it, 16 (wrapped after 2149). Older layouts are converted on load.
   */
  readonly idle?: { readonly offset: number; readonly days: number; readonly sums?: true; readonly days32?: true };
}

/** Serialises a baseline to its stored document. */
export function baselineToDoc(baseline: EntityBaseline, layout: ActivityLayout): BaselineDoc {
  const block = baseline.block;
  const series: [string, number, number, number][] = [];
  for (const item of baseline.allSeries()) series.push([item.name, item.offset, block[item.offset] === undefined ? 0 : seasonOf(block, item.offset), 2]);
  return {
    v: 2,
    events: baseline.events,
    firstSeen: baseline.firstSeen,
    lastSeen: baseline.lastSeen,
    block: Buffer.from(block.buffer, block.byteOffset, block.byteLength).toString("base64"),
    ...(baseline.actOffset >= 0 ? { act: { offset: baseline.actOffset, layout: layout.signature, anchor: baseline.actAnchor, exp: baseline.actExp } } : {}),
    ...(series.length > 0 ? { series } : {}),
    ...(baseline.idleOffset >= 0 ? { idle: { offset: baseline.idleOffset, days: baseline.idleDays, sums: true as const, days32: true as const } } : {}),
  };
}

function seasonOf(block: Uint16Array, offset: number): Season {
  const view = new DataView(block.buffer, block.byteOffset + offset * 2, 8);
  return view.getFloat64(0, true) as Season;
}

function decodeBlock(text: string): Uint16Array | undefined {
  const bytes = Buffer.from(text, "base64");
  if (bytes.byteLength % 2 !== 0) return undefined;
  const block = new Uint16Array(bytes.byteLength / 2);
  new Uint8Array(block.buffer).set(bytes);
  return block;
}

/**
 * Rebuilds a baseline from its document. Sections are copied into a fresh block one by one, so
 * a section that does not fit (corrupt document) is dropped and relearned instead of failing
 * the event; a changed seen-set layout is migrated.
 */
export function baselineFromDoc(key: string, value: unknown, layout: ActivityLayout): EntityBaseline {
  const baseline = new EntityBaseline(key);
  const doc = value as Partial<BaselineDoc> | undefined;
  if (!doc || doc.v !== 2 || typeof doc.block !== "string") return baseline;
  const stored = decodeBlock(doc.block);
  if (!stored) return baseline;
  baseline.events = Number(doc.events) || 0;
  baseline.firstSeen = Number(doc.firstSeen) || 0;
  baseline.lastSeen = Number(doc.lastSeen) || 0;
  const section = (offset: number, length: number): Uint16Array | undefined =>
    Number.isInteger(offset) && offset >= 0 && offset + length <= stored.length ? stored.subarray(offset, offset + length) : undefined;
  if (doc.act) {
    const from = doc.act.layout === layout.signature ? layout : parseLayoutSignature(String(doc.act.layout));
    const words = from ? section(Number(doc.act.offset), from.length) : undefined;
    if (from && words) {
      const offset = appendSection(baseline, layout.length);
      baseline.block.set(from === layout ? words : migrateActivity(words, from, layout), offset);
      baseline.actOffset = offset;
      baseline.actAnchor = Number(doc.act.anchor) || 0;
      baseline.actExp = Number(doc.act.exp) || 0;
      baseline.actTotal = histogramTotal(baseline.block, offset);
    }
  }
  for (const entry of Array.isArray(doc.series) ? doc.series : []) {
    const [name, offset, season, format] = entry;
    if (typeof name !== "string" || (season !== 1 && season !== 7 && season !== 168)) continue;
    const header = section(Number(offset), seriesWordsWithoutWindow(season));
    if (!header || seasonOf(stored, Number(offset)) !== season) continue;
    const kind = seriesKindAt(stored, Number(offset));
    // A sum series stored before the open-period ring gets one, holding the period it had open.
    const words = kind === "sum" && format !== 2 ? addSumWindow(header) : section(Number(offset), seriesWords(season, kind));
    if (!words) continue;
    const target = appendSection(baseline, words.length);
    baseline.block.set(words, target);
    baseline.addSeries({ holder: baseline, name, offset: target });
  }
  if (doc.idle && Number.isInteger(doc.idle.days) && doc.idle.days > 0 && doc.idle.days <= 32) {
    const days = doc.idle.days;
    const format = doc.idle.sums !== true ? "means" : doc.idle.days32 !== true ? "day16" : "current";
    const ring = section(Number(doc.idle.offset), format === "means" ? oldIdleWords(days) : format === "day16" ? day16IdleWords(days) : idleWords(days));
    const words = !ring ? undefined : format === "means" ? migrateIdleRing(ring, days) : format === "day16" ? widenIdleDays(ring, days) : ring;
    if (words) {
      const target = appendSection(baseline, words.length);
      baseline.block.set(words, target);
      baseline.idleOffset = target;
      baseline.idleDays = doc.idle.days;
    }
  }
  return baseline;
}
