import { dayOfWeekFromDay, dayOfWeekLabel, HOUR_MS, hourOfWeekFromHour, hourOfWeekLabel } from "./time.js";

/**
 * An online seasonal baseline for one numeric series of an entity (spend, a metric).
 *
 * - Values are modelled in log space, y = log2(x + floor), so spread is relative (a $2 wobble
 *   on $1,000 is noise, on $1 it is not) and a skewed series does not need a Gaussian.
 * - Seasonal slots: 168 hour-of-week slots (hourly data) or 7 day-of-week slots (daily data);
 *   each slot holds an EWMA of y, quantised to 16 bits (1/512 of a doubling, ≈0.14%).
 * - Spread: one EWMA of the absolute residual |y - slot expectation| (a mean absolute
 *   deviation, robust), bias-corrected while young, fed only by periods whose slot had data; updates are winsorised at 3 spreads so a
 *   spike does not teach the baseline that spikes are normal.
 * - Linear EWMA mean and variance are kept too (what `context.features` shows).
 * - `sum` series (spend) accumulate all records of one period (an hour, or a day) before the
 *   period is committed, so ten rows of one hour count as one observation of their total.
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
/** Residuals that fed the spread (only those measured against the period's own slot). */
const H_RESIDUALS = 14;
export const SERIES_HEADER_LENGTH = 15;

const LOG_OFFSET = 48;
const LOG_SCALE = 512;

export interface SeriesState {
  readonly name: string;
  readonly head: Float64Array;
  /** Seasonal slots (quantised log means); 0 = no data yet. Absent when season is 1. */
  readonly slots: Uint16Array | undefined;
}

export interface SeriesRates {
  readonly seasonalAlpha: number;
  readonly levelAlpha: number;
  readonly spreadAlpha: number;
  readonly minSpread: number;
}

export function createSeries(name: string, season: Season, kind: SeriesKind, floor: number): SeriesState {
  const head = new Float64Array(SERIES_HEADER_LENGTH);
  head[H_SEASON] = season;
  head[H_KIND] = kind === "sum" ? 1 : 0;
  head[H_ACC_PERIOD] = -1;
  head[H_FLOOR] = floor;
  return { name, head, slots: season === 1 ? undefined : new Uint16Array(season) };
}

function quantise(y: number): number {
  return Math.min(65_535, Math.max(1, Math.round((y + LOG_OFFSET) * LOG_SCALE)));
}

function dequantise(q: number): number {
  return q / LOG_SCALE - LOG_OFFSET;
}

export function seriesSeason(series: SeriesState): Season {
  return series.head[H_SEASON] as Season;
}

export function seriesCount(series: SeriesState): number {
  return series.head[H_COUNT] ?? 0;
}

/** Hours one period spans: an hour for hour-of-week (and unseasoned) series, a day for day-of-week. */
function periodHours(series: SeriesState): number {
  return series.head[H_SEASON] === 7 ? 24 : 1;
}

function slotOf(series: SeriesState, hour: number): number {
  const season = series.head[H_SEASON];
  if (season === 168) return hourOfWeekFromHour(hour);
  if (season === 7) return dayOfWeekFromDay(Math.floor(hour / 24));
  return 0;
}

/** Label of the seasonal slot of an hour, e.g. `Mon 02:00 UTC`, `Sat`, or `any time`. */
export function slotLabel(series: SeriesState, hour: number): string {
  const season = series.head[H_SEASON];
  if (season === 168) return hourOfWeekLabel(hourOfWeekFromHour(hour));
  if (season === 7) return dayOfWeekLabel(dayOfWeekFromDay(Math.floor(hour / 24)));
  return "any time";
}

export type ExpectationSource = "slot" | "hour-of-day" | "level";

/** Expected log value for the period containing `hour`, and where it came from. */
export function expectedLog(series: SeriesState, hour: number): { readonly value: number; readonly source: ExpectationSource } {
  const slots = series.slots;
  if (slots) {
    const slot = slotOf(series, hour);
    const own = slots[slot] ?? 0;
    if (own > 0) return { value: dequantise(own), source: "slot" };
    if (series.head[H_SEASON] === 168) {
      let sum = 0;
      let n = 0;
      for (let day = 0; day < 7; day++) {
        const q = slots[(slot % 24) + day * 24] ?? 0;
        if (q > 0) {
          sum += dequantise(q);
          n++;
        }
      }
      if (n > 0) return { value: sum / n, source: "hour-of-day" };
    }
  }
  return { value: series.head[H_LEVEL] ?? 0, source: "level" };
}

/** Robust spread in log2 units (MAD × 1.4826, bias-corrected for young series), at least minSpread. */
export function spreadLog(series: SeriesState, minSpread: number, spreadAlpha = 0.05): number {
  const residuals = series.head[H_RESIDUALS] ?? 0;
  if (residuals <= 0) return Math.max(minSpread, 0.5);
  const mad = series.head[H_MAD] ?? 0;
  // EWMA started at 0: divide by the weight it has accumulated (like Adam's bias correction).
  const correction = 1 - (1 - spreadAlpha) ** residuals;
  return Math.max(minSpread, (1.4826 * mad) / Math.max(correction, 1e-6));
}

export function toLog(series: SeriesState, value: number): number {
  return Math.log2(Math.max(0, value) + (series.head[H_FLOOR] ?? 0));
}

export function fromLog(series: SeriesState, y: number): number {
  return Math.max(0, 2 ** y - (series.head[H_FLOOR] ?? 0));
}

function commit(series: SeriesState, hour: number, value: number, rates: SeriesRates, samplesPerPeriod: number): void {
  const head = series.head;
  const y = toLog(series, value);
  const count = head[H_COUNT] ?? 0;
  const slot = slotOf(series, hour);
  if (count === 0) {
    head[H_LEVEL] = y;
    head[H_MEAN] = value;
    head[H_VAR] = 0;
    head[H_FIRST_HOUR] = hour;
    if (series.slots) series.slots[slot] = quantise(y);
  } else {
    const expectation = expectedLog(series, hour);
    const expected = expectation.value;
    const spread = spreadLog(series, rates.minSpread, rates.spreadAlpha);
    if (expectation.source === "slot" || !series.slots) {
      // Residuals against a fallback (an empty slot) measure seasonality, not noise: not counted.
      const residual = Math.min(Math.abs(y - expected), 4 * spread);
      head[H_MAD] = (head[H_MAD] ?? 0) + rates.spreadAlpha * (residual - (head[H_MAD] ?? 0));
      head[H_RESIDUALS] = (head[H_RESIDUALS] ?? 0) + 1;
    }
    const clipped = count >= 3 ? Math.min(expected + 3 * spread, Math.max(expected - 3 * spread, y)) : y;
    if (series.slots) {
      const old = series.slots[slot] ?? 0;
      const alpha = 1 - (1 - rates.seasonalAlpha) ** (1 / Math.max(1, samplesPerPeriod));
      // An empty slot takes the value as is: the fallback expectation says nothing about this slot.
      series.slots[slot] = old === 0 ? quantise(y) : quantise(dequantise(old) + alpha * (clipped - dequantise(old)));
    }
    head[H_LEVEL] = (head[H_LEVEL] ?? 0) + rates.levelAlpha * (clipped - (head[H_LEVEL] ?? 0));
    const diff = value - (head[H_MEAN] ?? 0);
    const increment = rates.levelAlpha * diff;
    head[H_MEAN] = (head[H_MEAN] ?? 0) + increment;
    head[H_VAR] = (1 - rates.levelAlpha) * ((head[H_VAR] ?? 0) + diff * increment);
  }
  head[H_COUNT] = count + 1;
  head[H_LAST_HOUR] = Math.max(head[H_LAST_HOUR] ?? 0, hour);
  head[H_LAST_VALUE] = value;
}

/** Start hour (epoch hours) of the period that contains `timeMs`. */
export function periodStartHour(series: SeriesState, timeMs: number): number {
  const hours = periodHours(series);
  return Math.floor(Math.floor(timeMs / HOUR_MS) / hours) * hours;
}

/**
 * The value the detector scores for a new record: for sums, the open period's total including
 * this record (the record is part of what is being judged, not of the baseline); for gauges,
 * the sample itself.
 */
export function periodValue(series: SeriesState, timeMs: number, value: number): number {
  if (series.head[H_KIND] !== 1) return value;
  return series.head[H_ACC_PERIOD] === periodStartHour(series, timeMs) ? (series.head[H_ACC_SUM] ?? 0) + value : value;
}

/**
 * Learns one record. Sums: added to the open period; a newer period commits the open one; a
 * record older than the open period is committed on its own (late data, approximated).
 */
export function observeSeries(series: SeriesState, timeMs: number, value: number, rates: SeriesRates): void {
  const head = series.head;
  const hour = periodStartHour(series, timeMs);
  if (head[H_KIND] === 1) {
    const open = head[H_ACC_PERIOD] ?? -1;
    if (open === hour) head[H_ACC_SUM] = (head[H_ACC_SUM] ?? 0) + value;
    else if (hour > open) {
      if (open >= 0) commit(series, open, head[H_ACC_SUM] ?? 0, rates, 1);
      head[H_ACC_PERIOD] = hour;
      head[H_ACC_SUM] = value;
    } else commit(series, hour, value, rates, 1);
    return;
  }
  // Gauges: several samples may fall in one period; scale the slot's learning rate so a
  // period's samples together weigh like one visit.
  const hours = timeMs / HOUR_MS;
  const last = head[H_LAST_HOUR] ?? 0;
  if ((head[H_COUNT] ?? 0) > 0 && hours > last) {
    const gap = hours - last;
    head[H_INTERVAL] = (head[H_INTERVAL] ?? 0) === 0 ? gap : (head[H_INTERVAL] ?? 0) + 0.1 * (gap - (head[H_INTERVAL] ?? 0));
  }
  const interval = head[H_INTERVAL] ?? 0;
  const samplesPerPeriod = interval > 0 ? periodHours(series) / interval : 1;
  commit(series, hour, value, rates, samplesPerPeriod);
  head[H_LAST_HOUR] = Math.max(last, hours);
}

/** JSON-safe summary for `context.features`. */
export function seriesSummary(series: SeriesState, timeMs: number): Record<string, unknown> {
  const head = series.head;
  const hour = periodStartHour(series, timeMs);
  return {
    count: head[H_COUNT] ?? 0,
    mean: round(head[H_MEAN] ?? 0),
    stddev: round(Math.sqrt(Math.max(0, head[H_VAR] ?? 0))),
    expected: round(fromLog(series, expectedLog(series, hour).value)),
    season: head[H_SEASON] === 168 ? "hour-of-week" : head[H_SEASON] === 7 ? "day-of-week" : "none",
    last: round(head[H_LAST_VALUE] ?? 0),
  };
}

/** Weeks between the first and last committed period. */
export function seriesHistoryWeeks(series: SeriesState): number {
  if ((series.head[H_COUNT] ?? 0) === 0) return 0;
  return ((series.head[H_LAST_HOUR] ?? 0) - (series.head[H_FIRST_HOUR] ?? 0) + periodHours(series)) / 168;
}

/** Rounds to 4 significant digits: stable, small JSON. */
export function round(value: number): number {
  if (!Number.isFinite(value) || value === 0) return 0;
  const magnitude = 10 ** (3 - Math.floor(Math.log10(Math.abs(value))));
  return Math.round(value * magnitude) / magnitude;
}
