import { VigilError } from "../core/errors.js";

const goUnits: Readonly<Record<string, number>> = { ns: 1e-6, us: 1e-3, "µs": 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/**
 * Milliseconds of an ISO-8601 duration (`PT30M`, `P1DT2H`, `P1W`) or a Go-style one (`30m`,
 * `1h30m`, `90s`). Months count 30 days and years 365 (escalation timeouts, not calendars).
 * Throws VigilError(VIGIL_BAD_INPUT) naming `field` when the text is neither.
 */
export function parseDurationMs(text: string, field = "duration"): number {
  const iso = /^P(?!$)(?:(\d+)Y)?(?:(\d+)M)?(?:(\d+)W)?(?:(\d+)D)?(?:T(?=\d)(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?)?$/.exec(text);
  if (iso !== null) {
    const [, y, mo, w, d, h, mi, s] = iso.map((part) => (part === undefined ? 0 : Number(part)));
    return ((((y ?? 0) * 365 + (mo ?? 0) * 30 + (w ?? 0) * 7 + (d ?? 0)) * 24 + (h ?? 0)) * 60 + (mi ?? 0)) * 60_000 + (s ?? 0) * 1000;
  }
  if (/^(\d+(\.\d+)?(ns|us|µs|ms|s|m|h|d))+$/.test(text)) {
    let total = 0;
    for (const match of text.matchAll(/(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h|d)/g)) total += Number(match[1]) * (goUnits[match[2] as string] ?? 0);
    return total;
  }
  throw new VigilError("VIGIL_BAD_INPUT", `${field} "${text}" is not a duration; use ISO-8601 (PT30M) or Go-style (30m, 4h)`, { field });
}

/**
 * When escalation level `level` of a review, started at `fromMs`, times out (RFC 3339); undefined
 * (no timeout) when the level does not exist, its `after` does not parse, or the time lies beyond
 * the last representable date (a typo'd `after: 99999999999999h` would throw RangeError and fail
 * the decision's review or the whole tick).
 */
export function levelDueAt(review: { readonly policy: string; readonly escalation: readonly { readonly after: string }[] }, level: number, fromMs: number): string | undefined {
  const step = review.escalation[level];
  if (step === undefined) return undefined;
  let after: number;
  try {
    after = parseDurationMs(step.after, `policy ${review.policy} escalation[${level}].after`);
  } catch {
    return undefined;
  }
  const at = fromMs + after;
  return Number.isFinite(at) && Math.abs(at) <= 8.64e15 ? new Date(at).toISOString() : undefined;
}
