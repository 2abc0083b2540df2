/**
 * Kubernetes resource quantities (`500m`, `1Gi`, `1e3`) and Go durations (`1h30m`, `300ms`),
 * the two unit-bearing value kinds Kyverno compares in patterns, conditions and JMESPath
 * arithmetic. Parsing never throws: an unparsable value gives `undefined`.
 */

const binarySuffixes: Readonly<Record<string, number>> = {
  Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40, Pi: 2 ** 50, Ei: 2 ** 60,
};
const decimalSuffixes: Readonly<Record<string, number>> = {
  n: 1e-9, u: 1e-6, m: 1e-3, "": 1, k: 1e3, M: 1e6, G: 1e9, T: 1e12, P: 1e15, E: 1e18,
};

const quantityPattern = /^([+-]?(?:\d+\.?\d*|\.\d+))(Ki|Mi|Gi|Ti|Pi|Ei|[numkMGTPE]|[eE][+-]?\d+)?$/;

/** The numeric value of a Kubernetes quantity string, or undefined when it is not one (as resource.ParseQuantity, no spaces around). */
export function parseQuantity(text: string): number | undefined {
  const match = quantityPattern.exec(text);
  if (!match) return undefined;
  const base = Number(match[1]);
  const suffix = match[2] ?? "";
  if (suffix in binarySuffixes) return base * (binarySuffixes[suffix] as number);
  if (suffix in decimalSuffixes) return base * (decimalSuffixes[suffix] as number);
  if (/^[eE]/.test(suffix)) return base * 10 ** Number(suffix.slice(1));
  return undefined;
}

/** True when the string is a quantity with a unit suffix (a bare number is not a quantity here). */
export function isQuantityWithUnit(text: string): boolean {
  return parseQuantity(text) !== undefined && !/^[+-]?(?:\d+\.?\d*|\.\d+)$/.test(text.trim());
}

const durationUnits: Readonly<Record<string, number>> = {
  ns: 1e-9, us: 1e-6, "µs": 1e-6, "μs": 1e-6, ms: 1e-3, s: 1, m: 60, h: 3600,
};

/** Seconds in a Go duration string (`1h30m`, `-1.5s`, `0`), or undefined when it is not one (as time.ParseDuration, no spaces around). */
export function parseDuration(text: string): number | undefined {
  let s = text;
  if (s === "") return undefined;
  let sign = 1;
  if (s[0] === "-" || s[0] === "+") {
    if (s[0] === "-") sign = -1;
    s = s.slice(1);
  }
  if (s === "0") return 0;
  const part = /^(\d+\.?\d*|\.\d+)(ns|us|µs|μs|ms|s|m|h)/;
  let total = 0;
  let matched = false;
  while (s.length > 0) {
    const m = part.exec(s);
    if (!m) return undefined;
    total += Number(m[1]) * (durationUnits[m[2] as string] as number);
    s = s.slice(m[0].length);
    matched = true;
  }
  return matched ? sign * total : undefined;
}

/** Formats seconds the way Go's `time.Duration.String()` does (`1h30m0s`, `500ms`, `0s`). */
export function formatDuration(seconds: number): string {
  if (seconds === 0) return "0s";
  // Whole nanoseconds, as Go's Duration is: printing float seconds would give "1e-9s".
  const ns = BigInt(Math.round(Math.abs(seconds) * 1e9));
  if (ns === 0n) return "0s";
  let out: string;
  if (ns < 1_000n) out = `${ns}ns`;
  else if (ns < 1_000_000n) out = `${decimal(ns, 3)}µs`;
  else if (ns < 1_000_000_000n) out = `${decimal(ns, 6)}ms`;
  else {
    const h = ns / 3_600_000_000_000n;
    const m = (ns / 60_000_000_000n) % 60n;
    const s = decimal(ns % 60_000_000_000n, 9);
    out = h > 0n ? `${h}h${m}m${s}s` : m > 0n ? `${m}m${s}s` : `${s}s`;
  }
  return seconds < 0 ? `-${out}` : out;
}

/** `value / 10^digits` written with the fraction's trailing zeros dropped (Go's fmtFrac). */
function decimal(value: bigint, digits: number): string {
  const unit = 10n ** BigInt(digits);
  const fraction = (value % unit).toString().padStart(digits, "0").replace(/0+$/, "");
  return fraction === "" ? `${value / unit}` : `${value / unit}.${fraction}`;
}
