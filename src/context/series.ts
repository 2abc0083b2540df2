import { appendSection, readF32, readF64, readU32, writeF32, writeF64, writeU32, type BlockHolder } from "./block.js";
import { dayOfWeekFromDay, dayOfWeekLabel, HOUR_MS, hourOfWeekFromHour, hourOfWeekLabel } from "./time.js";

/**
 * An online seasonal baseline for one numeric series of an entity (spend, a metric).
 *
 * - Values are modelled in log space, y = log2(x + floor), so spread is relative (a $2 wobble
 *   on $1,000 is noise, on $1 it is not) and a skewed series does not need a Gaussian.
 * - Seasonal slots: 168 hour-of-week slots (hourly data) or 7 day-of-week slots (daily data);
 *   each slot holds an EWMA of y, quantised to 16 bits (1/512 of a doubling, ≈0.14%).
 * - Storage: a section of the entity's block (block.ts): 15 float64 header fields (4 words
 *   each), then one word per slot.
 * - Spread: one EWMA of the absolute residual |y - slot expectation| (a mean absolute
 *   deviation, robust), bias-corrected while young, fed only by periods whose slot had data; updates are winsorised at 3 spreads so a
 *   spike does not teach the baseline that spikes are normal.
 * - Linear EWMA mean and variance are kept too (what `context.features` shows).
 * - `sum` series (spend) accumulate all records of one period (an hour, or a day) before the
 *   period is committed, so ten rows of one hour count as one observation of their total. The
 *   last `sumWindow` periods stay open (a ring after the slots: period + 1 as u32, sum as float32),
 *   so rows arriving in file order rather than time order (a day's export) still add up per
 *   period; a period is committed once a row `sumWindow` periods newer arrives.
 */
export type SeriesKind = "gauge" | "sum";
export type Season = 1 | 7 | 168;

const H_SEASON = 0;
const H_KIND = 1;
const H_COUNT = 2;
const H_FIRST_HOUR = 3;
const H_LAST_HOUR = 4;
const H_MEAN = 5;
const H_VAR = 6;
const H_LEVEL = 7;
const H_MAD = 8;
const H_ACC_PERIOD = 9;
const H_ACC_SUM = 10;
const H_INTERVAL = 11;
const H_FLOOR = 12;
const H_LAST_VALUE = 13;
/** Residuals that fed the spread (only those measured against the period's own slot), in periods: a sample of n per period counts 1/n. */
const H_RESIDUALS = 14;
export const SERIES_HEADER_LENGTH = 15;
const HEADER_WORDS = SERIES_HEADER_LENGTH * 4;

const LOG_OFFSET = 48;
const LOG_SCALE = 512;

/** A series inside its entity's block. Cheap to create; reads the block on every access. */
export interface SeriesState {
  readonly holder: BlockHolder;
  readonly name: string;
  readonly offset: number;
}

/**
 * Periods a sum series keeps open: a day and a third of hours (an export delivered daily lists
 * the day's rows in its own order), or three days. A period counts (and feeds `mean`) once closed.
 */
export function sumWindow(season: Season): number {
  return season === 7 ? 3 : 32;
}

const ENTRY_WORDS = 4;

/** Words a series section of this season and kind takes. */
export function seriesWords(season: Season, kind: SeriesKind): number {
  return HEADER_WORDS + (season === 1 ? 0 : season) + (kind === "sum" ? sumWindow(season) * ENTRY_WORDS : 0);
}

/** Words of a sum series stored before the open-period ring (its section ends after the slots). */
export function seriesWordsWithoutWindow(season: Season): number {
  return HEADER_WORDS + (season === 1 ? 0 : season);
}

/** The kind of a series section stored in a block at `offset`. */
export function seriesKindAt(block: Uint16Array, offset: number): SeriesKind {
  return readF64(block, offset + H_KIND * 4) === 1 ? "sum" : "gauge";
}

/**
 * A sum series section stored before the ring, grown to the current layout: the one period it
 * had open becomes the ring's only entry.
 */
export function addSumWindow(words: Uint16Array): Uint16Array {
  const season = readF64(words, H_SEASON * 4) as Season;
  const grown = new Uint16Array(seriesWords(season, "sum"));
  grown.set(words);
  const holder = { block: grown };
  const series: SeriesState = { holder, name: "", offset: 0 };
  const open = get(series, H_ACC_PERIOD);
  if (open >= 0) writeEntry(series, entryIndex(series, open), open, get(series, H_ACC_SUM));
  return grown;
}

export interface SeriesRates {
  readonly seasonalAlpha: number;
  readonly levelAlpha: number;
  readonly spreadAlpha: number;
  readonly minSpread: number;
}

/** Appends a new series section to the holder's block. */
export function createSeries(holder: BlockHolder, name: string, season: Season, kind: SeriesKind, floor: number): SeriesState {
  const series = { holder, name, offset: appendSection(holder, seriesWords(season, kind)) };
  set(series, H_SEASON, season);
  set(series, H_KIND, kind === "sum" ? 1 : 0);
  set(series, H_ACC_PERIOD, -1);
  set(series, H_FLOOR, floor);
  return series;
}

function get(series: SeriesState, field: number): number {
  return readF64(series.holder.block, series.offset + field * 4);
}

function set(series: SeriesState, field: number, value: number): void {
  writeF64(series.holder.block, series.offset + field * 4, value);
}

/** Where the open-period ring starts. */
function ringOffset(series: SeriesState): number {
  const season = get(series, H_SEASON);
  return series.offset + HEADER_WORDS + (season === 1 ? 0 : season);
}

function windowOf(series: SeriesState): number {
  return sumWindow(get(series, H_SEASON) as Season);
}

function entryIndex(series: SeriesState, period: number): number {
  return (period / periodHours(series)) % windowOf(series);
}

/** The open period held at a ring index (-1 when empty) and its sum. */
function readEntry(series: SeriesState, index: number): { readonly period: number; readonly sum: number } {
  const at = ringOffset(series) + index * ENTRY_WORDS;
  return { period: readU32(series.holder.block, at) - 1, sum: readF32(series.holder.block, at + 2) };
}

function writeEntry(series: SeriesState, index: number, period: number, sum: number): void {
  const at = ringOffset(series) + index * ENTRY_WORDS;
  writeU32(series.holder.block, at, period + 1);
  writeF32(series.holder.block, at + 2, sum);
}

function slotWord(series: SeriesState, slot: number): number {
  return series.holder.block[series.offset + HEADER_WORDS + slot] ?? 0;
}

function setSlotWord(series: SeriesState, slot: number, word: number): void {
  series.holder.block[series.offset + HEADER_WORDS + slot] = word;
}

function quantise(y: number): number {
  return Math.min(65_535, Math.max(1, Math.round((y + LOG_OFFSET) * LOG_SCALE)));
}

function dequantise(q: number): number {
  return q / LOG_SCALE - LOG_OFFSET;
}

export function seriesSeason(series: SeriesState): Season {
  return get(series, H_SEASON) as Season;
}

export function seriesCount(series: SeriesState): number {
  return get(series, H_COUNT);
}

/** Hours one period spans: an hour for hour-of-week (and unseasoned) series, a day for day-of-week. */
function periodHours(series: SeriesState): number {
  return get(series, H_SEASON) === 7 ? 24 : 1;
}

function slotOf(series: SeriesState, hour: number): number {
  const season = get(series, H_SEASON);
  if (season === 168) return hourOfWeekFromHour(hour);
  if (season === 7) return dayOfWeekFromDay(Math.floor(hour / 24));
  return 0;
}

/** Label of the seasonal slot of an hour, e.g. `Mon 02:00 UTC`, `Sat`, or `any time`. */
export function slotLabel(series: SeriesState, hour: number): string {
  const season = get(series, H_SEASON);
  if (season === 168) return hourOfWeekLabel(hourOfWeekFromHour(hour));
  if (season === 7) return dayOfWeekLabel(dayOfWeekFromDay(Math.floor(hour / 24)));
  return "any time";
}

export type ExpectationSource = "slot" | "hour-of-day" | "level";

/** Expected log value for the period containing `hour`, and where it came from. */
export function expectedLog(series: SeriesState, hour: number): { readonly value: number; readonly source: ExpectationSource } {
  const season = get(series, H_SEASON);
  if (season !== 1) {
    const slot = slotOf(series, hour);
    const own = slotWord(series, slot);
    if (own > 0) return { value: dequantise(own), source: "slot" };
    if (season === 168) {
      let sum = 0;
      let n = 0;
      for (let day = 0; day < 7; day++) {
        const q = slotWord(series, (slot % 24) + day * 24);
        if (q > 0) {
          sum += dequantise(q);
          n++;
        }
      }
      if (n > 0) return { value: sum / n, source: "hour-of-day" };
    }
  }
  return { value: get(series, H_LEVEL), source: "level" };
}

/** Robust spread in log2 units (MAD × 1.4826, bias-corrected for young series), at least minSpread. */
export function spreadLog(series: SeriesState, minSpread: number, spreadAlpha = 0.05): number {
  const residuals = get(series, H_RESIDUALS);
  if (residuals <= 0) return Math.max(minSpread, 0.5);
  const mad = get(series, H_MAD);
  // EWMA started at 0: divide by the weight it has accumulated (like Adam's bias correction).
  const correction = 1 - (1 - spreadAlpha) ** residuals;
  return Math.max(minSpread, (1.4826 * mad) / Math.max(correction, 1e-6));
}

export function toLog(series: SeriesState, value: number): number {
  return Math.log2(Math.max(0, value) + get(series, H_FLOOR));
}

export function fromLog(series: SeriesState, y: number): number {
  return Math.max(0, 2 ** y - get(series, H_FLOOR));
}

function commit(series: SeriesState, hour: number, value: number, rates: SeriesRates, samplesPerPeriod: number): void {
  const y = toLog(series, value);
  const count = get(series, H_COUNT);
  const seasonal = get(series, H_SEASON) !== 1;
  const slot = slotOf(series, hour);
  if (count === 0) {
    set(series, H_LEVEL, y);
    set(series, H_MEAN, value);
    set(series, H_VAR, 0);
    set(series, H_FIRST_HOUR, hour);
    if (seasonal) setSlotWord(series, slot, quantise(y));
  } else {
    const expectation = expectedLog(series, hour);
    const expected = expectation.value;
    const spread = spreadLog(series, rates.minSpread, rates.spreadAlpha);
    // A period's samples together weigh like one observation of it, in the slot, the spread and the
    // level alike: per sample, a 5-minute metric's spread took twelve steps an hour and a sustained
    // spike taught it within the hour that spikes are normal.
    const share = 1 / Math.max(1, samplesPerPeriod);
    const perSample = (alpha: number): number => 1 - (1 - alpha) ** share;
    if (expectation.source === "slot" || !seasonal) {
      // Residuals against a fallback (an empty slot) measure seasonality, not noise: not counted.
      const residual = Math.min(Math.abs(y - expected), 4 * spread);
      const mad = get(series, H_MAD);
      set(series, H_MAD, mad + perSample(rates.spreadAlpha) * (residual - mad));
      // INVARIANT: H_RESIDUALS is the weight in periods the spread has seen, for its bias correction.
      set(series, H_RESIDUALS, get(series, H_RESIDUALS) + share);
    }
    const clipped = count >= 3 ? Math.min(expected + 3 * spread, Math.max(expected - 3 * spread, y)) : y;
    if (seasonal) {
      const old = slotWord(series, slot);
      // An empty slot takes the value as is: the fallback expectation says nothing about this slot.
      setSlotWord(series, slot, old === 0 ? quantise(y) : quantise(dequantise(old) + perSample(rates.seasonalAlpha) * (clipped - dequantise(old))));
    }
    const level = get(series, H_LEVEL);
    set(series, H_LEVEL, level + perSample(rates.levelAlpha) * (clipped - level));
    // Halves and a cap: a sample near ±1.8e308 (an exporter's DBL_MAX) overflowed diff² to Infinity,
    // shown as stddev 0 (round), and opposite huge samples made the mean NaN for good.
    const mean = get(series, H_MEAN);
    const half = value / 2 - mean / 2;
    set(series, H_MEAN, capped(mean + capped(2 * rates.levelAlpha * half)));
    set(series, H_VAR, Math.min(Number.MAX_VALUE, (1 - rates.levelAlpha) * Math.min(Number.MAX_VALUE, get(series, H_VAR) + 4 * rates.levelAlpha * half * half)));
  }
  set(series, H_COUNT, count + 1);
  set(series, H_LAST_HOUR, Math.max(get(series, H_LAST_HOUR), hour));
  set(series, H_LAST_VALUE, value);
}

const capped = (value: number): number => Math.max(-Number.MAX_VALUE, Math.min(Number.MAX_VALUE, value));

/** Start hour (epoch hours) of the period that contains `timeMs`. */
export function periodStartHour(series: SeriesState, timeMs: number): number {
  const hours = periodHours(series);
  return Math.floor(Math.floor(timeMs / HOUR_MS) / hours) * hours;
}

/**
 * The value the detector scores for a new record: for sums, the running total of the record's period (while open) including
 * this record (the record is part of what is being judged, not of the baseline); for gauges,
 * the sample itself.
 */
export function periodValue(series: SeriesState, timeMs: number, value: number): number {
  if (get(series, H_KIND) !== 1) return value;
  const period = periodStartHour(series, timeMs);
  const entry = readEntry(series, entryIndex(series, period));
  return entry.period === period ? entry.sum + value : value;
}

/**
 * Learns one record. Sums: added to its period while that period is among the last `sumWindow`
 * (rows in any order within them add up); a newer period commits, oldest first, the open periods
 * that fall out of the window; a record older than the window is committed on its own (late
 * data, approximated).
 */
export function observeSeries(series: SeriesState, timeMs: number, value: number, rates: SeriesRates): void {
  const hour = periodStartHour(series, timeMs);
  if (get(series, H_KIND) === 1) {
    const newest = get(series, H_ACC_PERIOD);
    const span = windowOf(series) * periodHours(series);
    if (newest >= 0 && hour <= newest - span) {
      commit(series, hour, value, rates, 1);
      return;
    }
    if (hour > newest) {
      closePeriods(series, hour - span, rates);
      set(series, H_ACC_PERIOD, hour);
    }
    const index = entryIndex(series, hour);
    const entry = readEntry(series, index);
    if (entry.period === hour) writeEntry(series, index, hour, entry.sum + value);
    else {
      if (entry.period >= 0) commit(series, entry.period, entry.sum, rates, 1);
      writeEntry(series, index, hour, value);
    }
    return;
  }
  // Gauges: several samples may fall in one period; scale the slot's learning rate so a
  // period's samples together weigh like one visit.
  const hours = timeMs / HOUR_MS;
  const last = get(series, H_LAST_HOUR);
  if (get(series, H_COUNT) > 0 && hours > last) {
    const interval = get(series, H_INTERVAL);
    // A gap counts as at most 4 intervals: an outage (an instance stopped for two weeks) made the
    // interval a day, so the next hour's twelve samples each weighed a whole visit of the slot and the
    // boot load replaced three weeks of it. A real change of sampling rate still wins, 30% a sample.
    const gap = interval === 0 ? hours - last : Math.min(hours - last, 4 * interval);
    set(series, H_INTERVAL, interval === 0 ? gap : interval + 0.1 * (gap - interval));
  }
  const interval = get(series, H_INTERVAL);
  const samplesPerPeriod = interval > 0 ? periodHours(series) / interval : 1;
  commit(series, hour, value, rates, samplesPerPeriod);
  set(series, H_LAST_HOUR, Math.max(last, hours));
}

/** Commits, oldest first, the open periods of a sum series that start at or before `limit`. */
function closePeriods(series: SeriesState, limit: number, rates: SeriesRates): void {
  const closing: { index: number; period: number; sum: number }[] = [];
  for (let index = 0; index < windowOf(series); index++) {
    const entry = readEntry(series, index);
    if (entry.period >= 0 && entry.period <= limit) closing.push({ index, ...entry });
  }
  if (closing.length === 0) return;
  closing.sort((a, b) => a.period - b.period);
  for (const entry of closing) {
    commit(series, entry.period, entry.sum, rates, 1);
    writeEntry(series, entry.index, -1, 0);
  }
}

/**
 * JSON-safe summary for `context.features`: what `context.features.<role>.series.<name>`
 * shows. While no period has been committed (`count` 0) there is nothing to expect: `expected` is null and `reason` is "no history"
 * (the empty level would read as 2^0 - floor, e.g. 0.99, a number that means nothing).
 */
export function seriesSummary(series: SeriesState, timeMs: number): Record<string, unknown> {
  const hour = periodStartHour(series, timeMs);
  const season = get(series, H_SEASON);
  const count = get(series, H_COUNT);
  return {
    count,
    mean: round(get(series, H_MEAN)),
    stddev: round(Math.sqrt(Math.max(0, get(series, H_VAR)))),
    expected: count === 0 ? null : round(fromLog(series, expectedLog(series, hour).value)),
    season: season === 168 ? "hour-of-week" : season === 7 ? "day-of-week" : "none",
    last: round(get(series, H_LAST_VALUE)),
    ...(count === 0 ? { reason: "no history" } : {}),
  };
}

/** Weeks between the first and last committed period. */
export function seriesHistoryWeeks(series: SeriesState): number {
  if (get(series, H_COUNT) === 0) return 0;
  return (get(series, H_LAST_HOUR) - get(series, H_FIRST_HOUR) + periodHours(series)) / 168;
}

/** Rounds to 4 significant digits: stable, small JSON. */
export function round(value: number): number {
  if (!Number.isFinite(value) || value === 0) return 0;
  const magnitude = Math.abs(value);
  // Fast paths for the common ranges (scores, ratios, counts); exact same result as the general one.
  if (magnitude >= 0.1 && magnitude < 1) return Math.round(value * 1e4) / 1e4;
  if (magnitude >= 1 && magnitude < 10) return Math.round(value * 1e3) / 1e3;
  const scale = 10 ** (3 - Math.floor(Math.log10(magnitude)));
  return Math.round(value * scale) / scale;
}
