import { VigilError } from "../core/errors.js";

/** The seen-set dimensions kept per principal (and per peer group). */
export type SeenDimension = "service" | "region" | "country" | "asn" | "ip" | "device";

export const seenDimensions: readonly SeenDimension[] = ["service", "region", "country", "asn", "ip", "device"];

export interface SpikeSettings {
  readonly enabled: boolean;
  /** Robust z (log scale, residual MAD × 1.4826) at which the score reaches 0.5. */
  readonly zThreshold: number;
  /** Observed must also be at least this multiple of expected. */
  readonly minRatio: number;
  /** ...and exceed expected by at least this much in the series' unit (e.g. currency for spend). */
  readonly minDelta: number;
  /** Periods a series needs before it is scored. */
  readonly minSamples: number;
  /** Added before taking logs so zero is representable: log2(x + floor). */
  readonly floor: number;
  /** Weeks of history for full confidence. */
  readonly fullConfidenceWeeks: number;
  /** Smallest spread (log2 units) so a perfectly flat series does not flag tiny wiggles. */
  readonly minSpread: number;
}

export interface IdleSettings {
  readonly enabled: boolean;
  /** Window of days looked at (complete UTC days before the event's day). At most 31. */
  readonly days: number;
  /** Days with samples needed before the detector scores at all. */
  readonly minDays: number;
  /** Metric names (case-insensitive; kept in lower case) that carry CPU utilisation in percent. */
  readonly cpuMetrics: readonly string[];
  /** Metric names (case-insensitive) that carry network traffic (any unit; thresholds in it). */
  readonly networkMetrics: readonly string[];
  /** A day is idle when mean CPU ≤ cpuMean, max CPU ≤ cpuMax and mean network ≤ networkMean. */
  readonly cpuMean: number;
  readonly cpuMax: number;
  readonly networkMean: number;
}

export interface OddHourSettings {
  readonly enabled: boolean;
  /** Score is 0 when the hour's probability × 168 is at or above this (1 = a uniform hour). */
  readonly ratioThreshold: number;
  /** Dirichlet prior in pseudo-events spread uniformly over the week (smoothing). */
  readonly prior: number;
  /** Score multiplier when the principal is on call (entity attribute `onCall`). */
  readonly onCallFactor: number;
  /** Decayed events of its own after which a principal's histogram is used alone; below, the peer group's weighs 1 - n/peerBlendEvents. */
  readonly peerBlendEvents: number;
}

export interface RareSettings {
  readonly enabled: boolean;
  /** Score added by a first-seen value per dimension; rare values add half of it, scaled. */
  readonly weights: Readonly<Record<SeenDimension, number>>;
  /** A seen value is rare below this share of the dimension's observations. */
  readonly rareShare: number;
  /** Observations of a dimension for full confidence (first-seen on a new entity means little). */
  readonly fullConfidenceObservations: number;
  /** Factor applied when the peer group already knows the value. */
  readonly peerDiscount: number;
}

export interface ContextSettings {
  readonly baselines: {
    /** Half-life of the hour-of-week activity histogram. */
    readonly activityHalfLifeDays: number;
    /** Slots per seen-set dimension (space-saving top-k). */
    readonly seenSetSizes: Readonly<Record<SeenDimension, number>>;
    /** EWMA weight of a new period in its seasonal slot. */
    readonly seasonalAlpha: number;
    /** EWMA weight for level, mean and variance. */
    readonly levelAlpha: number;
    /** EWMA weight for the residual spread. */
    readonly spreadAlpha: number;
    /**
     * Learn principal and peer activity (hours, seen values) from events whose findings include a
     * deny violation. `false` keeps a burst of flagged events (a stolen key used at 03:00 from a
     * new country) from teaching the baseline that it is normal; such events still count in the
     * entity's history. Default true.
     */
    readonly learnDeniedActivity: boolean;
  };
  readonly cache: {
    /** Entities kept in memory (LRU); dirty ones are written on flush or eviction. */
    readonly maxEntities: number;
    /** Documents per putDocs call during flush. */
    readonly flushBatch: number;
  };
  readonly spend: {
    /** FOCUS column used as the spend amount. */
    readonly costColumn: string;
    /** FOCUS tag keys whose values get their own spend series (`tag` entities, `key=value`). */
    readonly tagKeys: readonly string[];
  };
  readonly detectors: {
    readonly spike: SpikeSettings;
    readonly idle: IdleSettings;
    readonly oddHour: OddHourSettings;
    readonly rare: RareSettings;
  };
}

type DeepPartial<T> = { -readonly [K in keyof T]?: T[K] extends readonly unknown[] ? T[K] : T[K] extends object ? DeepPartial<T[K]> : T[K] };

/** What callers (config, packs) pass: any subset of ContextSettings. */
export type ContextSettingsInput = DeepPartial<ContextSettings>;

export const defaultContextSettings: ContextSettings = {
  baselines: {
    activityHalfLifeDays: 28,
    seenSetSizes: { service: 12, region: 6, country: 4, asn: 6, ip: 8, device: 6 },
    seasonalAlpha: 0.3,
    levelAlpha: 0.05,
    spreadAlpha: 0.05,
    learnDeniedActivity: true,
  },
  cache: { maxEntities: 100_000, flushBatch: 500 },
  spend: { costColumn: "BilledCost", tagKeys: [] },
  detectors: {
    spike: { enabled: true, zThreshold: 3, minRatio: 1.5, minDelta: 0, minSamples: 4, floor: 0.01, fullConfidenceWeeks: 2, minSpread: 0.15 },
    idle: {
      enabled: true,
      days: 14,
      minDays: 3,
      cpuMetrics: ["cpu", "cpu_utilization", "cpuutilization", "cpu.utilization", "cpu_percent"],
      networkMetrics: ["network", "networkin", "networkout", "network_bytes", "network.bytes", "network_in", "network_out"],
      cpuMean: 5,
      cpuMax: 20,
      networkMean: 1_000_000,
    },
    oddHour: { enabled: true, ratioThreshold: 0.25, prior: 8, onCallFactor: 0.2, peerBlendEvents: 50 },
    rare: {
      enabled: true,
      weights: { service: 0.3, region: 0.4, country: 0.5, asn: 0.3, ip: 0.15, device: 0.3 },
      rareShare: 0.02,
      fullConfidenceObservations: 20,
      peerDiscount: 0.5,
    },
  },
};

function badConfig(field: string, message: string): VigilError {
  return new VigilError("VIGIL_BAD_CONFIG", `context settings: ${field} ${message}`, { field: `context.${field}` });
}

function mergeInto(defaults: unknown, input: unknown, path: string): unknown {
  if (input === undefined) return defaults;
  if (Array.isArray(defaults)) {
    if (!Array.isArray(input) || !input.every((item) => typeof item === "string")) throw badConfig(path, "must be a list of strings");
    return [...input];
  }
  if (defaults !== null && typeof defaults === "object") {
    if (input === null || typeof input !== "object" || Array.isArray(input)) throw badConfig(path || "(root)", "must be an object");
    const result: Record<string, unknown> = { ...(defaults as Record<string, unknown>) };
    for (const [key, value] of Object.entries(input as Record<string, unknown>)) {
      const child = path === "" ? key : `${path}.${key}`;
      if (!(key in result)) throw badConfig(child, `is not a setting; known: ${Object.keys(result).join(", ")}`);
      result[key] = mergeInto(result[key], value, child);
    }
    return result;
  }
  if (typeof defaults === "number") {
    if (typeof input !== "number" || !Number.isFinite(input) || input < 0) throw badConfig(path, `must be a non-negative number, got ${JSON.stringify(input)}`);
    return input;
  }
  if (typeof input !== typeof defaults) throw badConfig(path, `must be a ${typeof defaults}, got ${JSON.stringify(input)}`);
  return input;
}

function requireRange(value: number, low: number, high: number, path: string): void {
  if (value < low || value > high) throw badConfig(path, `must be between ${low} and ${high}, got ${value}`);
}

/**
 * Merges settings over the defaults and validates them. Throws VigilError(VIGIL_BAD_CONFIG)
 * naming the setting (`context.detectors.idle.days`) and the accepted range.
 */
export function resolveContextSettings(input: ContextSettingsInput = {}, base: ContextSettings = defaultContextSettings): ContextSettings {
  const merged = mergeInto(base, input, "") as ContextSettings;
  // Metric names match case-insensitively: the lists are kept in lower case, as names are compared.
  const idle = merged.detectors.idle;
  const lower = (names: readonly string[]): string[] => names.map((name) => name.toLowerCase());
  const settings: ContextSettings = { ...merged, detectors: { ...merged.detectors, idle: { ...idle, cpuMetrics: lower(idle.cpuMetrics), networkMetrics: lower(idle.networkMetrics) } } };
  const { baselines, detectors, cache } = settings;
  requireRange(baselines.activityHalfLifeDays, 1, 3650, "baselines.activityHalfLifeDays");
  for (const dimension of seenDimensions) {
    const size = baselines.seenSetSizes[dimension];
    if (!Number.isInteger(size)) throw badConfig(`baselines.seenSetSizes.${dimension}`, "must be an integer");
    requireRange(size, 1, 64, `baselines.seenSetSizes.${dimension}`);
  }
  requireRange(baselines.seasonalAlpha, 0.001, 1, "baselines.seasonalAlpha");
  requireRange(baselines.levelAlpha, 0.001, 1, "baselines.levelAlpha");
  requireRange(baselines.spreadAlpha, 0.001, 1, "baselines.spreadAlpha");
  requireRange(cache.maxEntities, 16, 10_000_000, "cache.maxEntities");
  requireRange(cache.flushBatch, 1, 100_000, "cache.flushBatch");
  requireRange(detectors.spike.zThreshold, 0.5, 100, "detectors.spike.zThreshold");
  requireRange(detectors.spike.minRatio, 1, 1e6, "detectors.spike.minRatio");
  requireRange(detectors.spike.floor, 1e-12, 1e12, "detectors.spike.floor");
  // A series is judged only with committed periods behind it, and against a spread above 0.
  if (!Number.isInteger(detectors.spike.minSamples)) throw badConfig("detectors.spike.minSamples", `must be an integer, got ${detectors.spike.minSamples}`);
  requireRange(detectors.spike.minSamples, 1, 10_000, "detectors.spike.minSamples");
  requireRange(detectors.spike.minSpread, 0.001, 10, "detectors.spike.minSpread");
  // Days index the idle ring (epoch day % slots): a fractional count stored no sample at all.
  if (!Number.isInteger(detectors.idle.days)) throw badConfig("detectors.idle.days", `must be a whole number of days, got ${detectors.idle.days}`);
  requireRange(detectors.idle.days, 1, 31, "detectors.idle.days");
  requireRange(detectors.idle.minDays, 1, detectors.idle.days, "detectors.idle.minDays");
  requireRange(detectors.oddHour.ratioThreshold, 0.001, 1, "detectors.oddHour.ratioThreshold");
  requireRange(detectors.oddHour.onCallFactor, 0, 1, "detectors.oddHour.onCallFactor");
  requireRange(detectors.rare.rareShare, 0, 1, "detectors.rare.rareShare");
  requireRange(detectors.rare.peerDiscount, 0, 1, "detectors.rare.peerDiscount");
  for (const dimension of seenDimensions) requireRange(detectors.rare.weights[dimension], 0, 1, `detectors.rare.weights.${dimension}`);
  return settings;
}
