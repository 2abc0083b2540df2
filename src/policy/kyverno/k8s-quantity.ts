/**
 * Kubernetes resource quantities as exact decimals, the way apimachinery's resource.Quantity
 * holds them (an inf.Dec: unscaled integer × 10^-scale, and a format: BinarySI, DecimalSI or
 * DecimalExponent), for Kyverno's JMESPath arithmetic: a quantity divided by a number is rounded
 * down at the larger of the two scales (`divide('3', \`2\`)` is `1`), and results print in
 * Quantity.String()'s canonical form (`1536Mi`, `700m`, `2e3`). Parsing never throws.
 */

export type QuantityFormat = "BinarySI" | "DecimalSI" | "DecimalExponent";

export interface ExactQuantity {
  readonly unscaled: bigint;
  /** Decimal places: the value is unscaled × 10^-scale (negative scales are trailing zeros). */
  readonly scale: number;
  readonly format: QuantityFormat;
}

const decimalExponents: Readonly<Record<string, number>> = { n: -9, u: -6, m: -3, "": 0, k: 3, M: 6, G: 9, T: 12, P: 15, E: 18 };
const binaryExponents: Readonly<Record<string, number>> = { Ki: 10, Mi: 20, Gi: 30, Ti: 40, Pi: 50, Ei: 60 };

const syntax = /^([+-]?)(\d*)(?:\.(\d*))?(Ki|Mi|Gi|Ti|Pi|Ei|[numkMGTPE]|[eE][+-]?\d+)?$/;

function pow10(n: number): bigint {
  return 10n ** BigInt(n);
}

/** Rounds up (away from zero) to `scale` decimal places, as ParseQuantity's slow path does (at nano). */
function roundUpTo(unscaled: bigint, from: number, scale: number): bigint {
  if (from <= scale) return unscaled * pow10(scale - from);
  const divisor = pow10(from - scale);
  const quotient = unscaled / divisor;
  if (quotient * divisor === unscaled) return quotient;
  return unscaled < 0n ? quotient - 1n : quotient + 1n;
}

/** resource.ParseQuantity, exactly; undefined when the text is no quantity. */
export function parseExactQuantity(text: string): ExactQuantity | undefined {
  const m = syntax.exec(text);
  if (!m) return undefined;
  const [, sign = "", num = "", denom = "", suffix = ""] = m;
  if (num === "" && denom === "") return undefined;
  const negative = sign === "-";
  const digits = BigInt((num + denom) || "0") * (negative ? -1n : 1n);
  if (suffix in binaryExponents) {
    const shifted = digits * (1n << BigInt(binaryExponents[suffix] as number));
    // A binary quantity with a fraction takes the slow path: rounded up at nano.
    if (denom === "") return { unscaled: shifted, scale: 0, format: "BinarySI" };
    return { unscaled: roundUpTo(shifted, denom.length, 9), scale: 9, format: "BinarySI" };
  }
  const exponent = /^[eE]/.test(suffix) ? Number(suffix.slice(1)) : (decimalExponents[suffix] as number);
  const format: QuantityFormat = /^[eE]/.test(suffix) ? "DecimalExponent" : "DecimalSI";
  const scale = denom.length - exponent;
  // The fast path holds up to 18 digits and no more than nano precision; beyond, it is rounded up at nano.
  if ((num + denom).length <= 18 && scale <= 9) return { unscaled: digits, scale, format };
  return { unscaled: roundUpTo(digits, scale, 9), scale: 9, format };
}

function align(a: ExactQuantity, b: ExactQuantity): [bigint, bigint, number] {
  const scale = Math.max(a.scale, b.scale);
  return [a.unscaled * pow10(scale - a.scale), b.unscaled * pow10(scale - b.scale), scale];
}

/** Quantity.Add / Sub: a zero left side takes the right side's format. */
export function addExact(a: ExactQuantity, b: ExactQuantity, negate = false): ExactQuantity {
  const [x, y, scale] = align(a, b);
  return { unscaled: negate ? x - y : x + y, scale, format: a.unscaled === 0n ? b.format : a.format };
}

/** The product, exact (scales add), in the quantity's format. */
export function multiplyExact(q: ExactQuantity, by: ExactQuantity): ExactQuantity {
  return { unscaled: q.unscaled * by.unscaled, scale: q.scale + by.scale, format: q.format };
}

/** inf.Dec QuoRound(q, by, max(scales), RoundDown) in the quantity's format. `by` is not zero. */
export function divideExact(q: ExactQuantity, by: ExactQuantity): ExactQuantity {
  const scale = Math.max(q.scale, by.scale);
  // q/by at `scale` places = q.unscaled × 10^(scale - q.scale + by.scale) / by.unscaled, truncated.
  const shift = scale - q.scale + by.scale;
  const numerator = shift >= 0 ? q.unscaled * pow10(shift) : q.unscaled / pow10(-shift);
  return { unscaled: numerator / by.unscaled, scale, format: q.format };
}

export function exactToNumber(q: ExactQuantity): number {
  return Number(q.unscaled) / 10 ** q.scale;
}

const decimalSuffixes: Readonly<Record<number, string>> = { [-9]: "n", [-6]: "u", [-3]: "m", 0: "", 3: "k", 6: "M", 9: "G", 12: "T", 15: "P", 18: "E" };
const binarySuffixes = ["", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei"];

/** Quantity.String(): the canonical form for the quantity's format. */
export function formatExactQuantity(q: ExactQuantity): string {
  if (q.unscaled === 0n) return "0";
  let format = q.format;
  if (format === "BinarySI") {
    const whole = q.scale <= 0 ? q.unscaled * pow10(-q.scale) : q.unscaled % pow10(q.scale) === 0n ? q.unscaled / pow10(q.scale) : undefined;
    if (whole === undefined || (whole > -1024n && whole < 1024n)) format = "DecimalSI";
    else {
      let amount = whole;
      let exponent = 0;
      while (exponent < binarySuffixes.length - 1 && amount % 1024n === 0n) {
        amount /= 1024n;
        exponent++;
      }
      return `${amount}${binarySuffixes[exponent] as string}`;
    }
  }
  // Trailing zeros into the exponent, then down to a multiple of 3.
  let amount = q.unscaled;
  let exponent = -q.scale;
  while (amount % 10n === 0n) {
    amount /= 10n;
    exponent++;
  }
  while (((exponent % 3) + 3) % 3 !== 0) {
    amount *= 10n;
    exponent--;
  }
  if (format === "DecimalExponent") return exponent === 0 ? `${amount}` : `${amount}e${exponent}`;
  const suffix = decimalSuffixes[exponent];
  return suffix === undefined ? `${amount}e${exponent}` : `${amount}${suffix}`;
}
