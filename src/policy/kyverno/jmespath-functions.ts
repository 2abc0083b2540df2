/**
 * Kyverno's own JMESPath functions (https://kyverno.io/docs/writing-policies/jmespath/),
 * implemented from their documented contracts. Each throws an Error to signal a JMESPath
 * function error; the caller turns it into a rule error.
 */
import { parse as parseYaml, type Tags } from "yaml";
import { createHash } from "node:crypto";
import { goRegex } from "./go-regex.js";
import { goReplaceAllLiteral, goReplaceAllString } from "./go-regex-replace.js";
import { parseGoFloat } from "./conditions.js";
import { compareCodePoints, goJsonMarshal } from "./go-json.js";
import { addExact, divideExact, exactToNumber, formatExactQuantity, multiplyExact, parseExactQuantity, type ExactQuantity } from "./k8s-quantity.js";
import { formatDuration, parseDuration } from "./units.js";
import { addSeconds, formatRfc3339, nowUtc, parseGoTime, rfc3339, secondsBetween, truncateTime, wallClock, type GoTime } from "./go-time.js";
import { parseSemver, parseSemverRange } from "./semver.js";
import { wildcardMatch } from "./wildcard.js";

export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };
export type KyvernoFunction = (args: readonly JsonValue[]) => JsonValue;

function str(name: string, args: readonly JsonValue[], index: number): string {
  const value = args[index];
  if (typeof value !== "string") throw new Error(`JMESPath function '${name}': argument #${index + 1} is not of type String`);
  return value;
}

function num(name: string, args: readonly JsonValue[], index: number): number {
  const value = args[index];
  if (typeof value !== "number") throw new Error(`JMESPath function '${name}': argument #${index + 1} is not of type Number`);
  return value;
}

/**
 * strings.Replace(s, old, new, n): the first n non-overlapping matches (all when n < 0); an empty
 * `old` matches before each character (rune) and at the end.
 */
function goReplace(s: string, from: string, to: string, n: number): string {
  if (n === 0) return s;
  if (from === "") {
    const chars = Array.from(s);
    let out = "";
    let count = 0;
    for (let i = 0; i <= chars.length; i++) {
      if (n < 0 || count < n) {
        out += to;
        count++;
      }
      if (i < chars.length) out += chars[i] as string;
    }
    return out;
  }
  if (n < 0) return s.split(from).join(to);
  let out = "";
  let rest = s;
  for (let count = 0; count < n; count++) {
    const at = rest.indexOf(from);
    if (at < 0) break;
    out += rest.slice(0, at) + to;
    rest = rest.slice(at + from.length);
  }
  return out + rest;
}

/**
 * Go's strings.ToUpper / ToLower: each character maps to one character (unicode.ToUpper/ToLower,
 * the simple case mapping); JS special casing ("ß" → "SS", final sigma, "İ" → "i̇") does not apply.
 */
function goCase(text: string, to: "upper" | "lower"): string {
  let out = "";
  for (const c of text) {
    if (to === "lower" && c === "\u0130") {
      out += "i";
      continue;
    }
    const mapped = to === "upper" ? c.toUpperCase() : c.toLowerCase();
    out += mapped.length === c.length || Array.from(mapped).length === 1 ? mapped : c;
  }
  return out;
}

/** Kyverno's ifaceToString for a number: strconv.FormatFloat(n, 'f', -1, 32), the shortest float32 text, no exponent. */
function float32Text(value: number): string {
  if (Number.isNaN(value)) return "NaN";
  const f = Math.fround(value);
  if (!Number.isFinite(f)) return f > 0 ? "+Inf" : "-Inf";
  let shortest = String(f);
  for (let digits = 1; digits <= 9; digits++) {
    const candidate = f.toPrecision(digits);
    if (Math.fround(Number(candidate)) === f) {
      shortest = candidate;
      break;
    }
  }
  return plainDecimal(shortest);
}

/** A decimal in exponent form ("1.5e+21", "1e-7") written out without the exponent. */
function plainDecimal(text: string): string {
  const m = /^(-?)(\d+)(?:\.(\d+))?e([+-]\d+)$/.exec(text);
  if (!m) return text.includes(".") ? text.replace(/\.?0+$/, "") : text;
  const [, sign = "", whole = "", fraction = "", exp = "0"] = m;
  const digits = whole + fraction;
  const point = whole.length + Number(exp);
  let out: string;
  if (point <= 0) out = `0.${"0".repeat(-point)}${digits}`;
  else if (point >= digits.length) out = digits + "0".repeat(point - digits.length);
  else out = `${digits.slice(0, point)}.${digits.slice(point)}`;
  out = out.includes(".") ? out.replace(/\.?0+$/, "") : out;
  return sign + (out.replace(/^0+(?=\d)/, "") || "0");
}

/** A string or number argument (the regex and pattern functions), numbers as Kyverno's ifaceToString writes them. */
function stringOrNumber(name: string, args: readonly JsonValue[], index: number): string {
  const value = args[index];
  if (typeof value === "string") return value;
  if (typeof value === "number") return float32Text(value);
  throw new Error(`JMESPath function '${name}': argument #${index + 1} is not of type String or Real`);
}

/** The RegExp of a regex_* function's RE2 pattern; what Go's regexp.Compile rejects is the function's error. */
function regexArg(name: string, args: readonly JsonValue[]): RegExp {
  const re = goRegex(str(name, args, 0));
  if (re instanceof Error) throw new Error(`JMESPath function '${name}': ${re.message}`);
  return re;
}

type Operand = { kind: "scalar"; value: number } | { kind: "quantity"; value: number; exact: ExactQuantity } | { kind: "duration"; value: number };

function operand(name: string, value: JsonValue | undefined): Operand {
  if (typeof value === "number") return { kind: "scalar", value };
  if (typeof value === "string") {
    const q = parseExactQuantity(value);
    if (q !== undefined) return { kind: "quantity", value: exactToNumber(q), exact: q };
    const d = parseDuration(value);
    if (d !== undefined) return { kind: "duration", value: d };
  }
  throw new Error(`JMESPath function '${name}': invalid operands`);
}

function mismatch(name: string): never {
  throw new Error(`JMESPath function '${name}': types mismatch`);
}

/** A number as a quantity, as Kyverno parses it (resource.ParseQuantity of its %v text). */
function scalarQuantity(name: string, value: number): ExactQuantity {
  const q = parseExactQuantity(String(value));
  if (q === undefined) throw new Error(`JMESPath function '${name}': ${String(value)} is no quantity`);
  return q;
}

function arithmetic(name: "add" | "subtract" | "multiply" | "divide" | "modulo"): KyvernoFunction {
  return (args) => {
    const a = operand(name, args[0]);
    const b = operand(name, args[1]);
    if (name === "add" || name === "subtract") {
      if (a.kind !== b.kind) mismatch(name);
      if (a.kind === "quantity" && b.kind === "quantity") return formatExactQuantity(addExact(a.exact, b.exact, name === "subtract"));
      const v = name === "add" ? a.value + b.value : a.value - b.value;
      if (a.kind === "duration") return formatDuration(v);
      return v;
    }
    if (name === "multiply") {
      if (a.kind !== "scalar" && b.kind !== "scalar") mismatch(name);
      const unit = a.kind === "scalar" ? b : a;
      const factor = a.kind === "scalar" ? a.value : b.value;
      if (unit.kind === "quantity") return formatExactQuantity(multiplyExact(unit.exact, scalarQuantity(name, factor)));
      const v = a.value * b.value;
      if (unit.kind === "duration") return formatDuration(v);
      return v;
    }
    if (b.value === 0) throw new Error(`JMESPath function '${name}': Zero divisor passed`);
    if (name === "divide") {
      if (a.kind === b.kind) return a.value / b.value;
      if (b.kind !== "scalar") mismatch(name);
      // A quantity over a number is rounded down at the larger scale of the two (inf.Dec QuoRound).
      if (a.kind === "quantity") return formatExactQuantity(divideExact(a.exact, scalarQuantity(name, b.value)));
      return formatDuration(a.value / b.value);
    }
    if (a.kind !== b.kind) mismatch(name);
    if (!Number.isInteger(a.value) || !Number.isInteger(b.value)) throw new Error(`JMESPath function '${name}': Non-integer argument(s) passed for modulo`);
    const v = a.value % b.value;
    if (a.kind === "quantity") return formatExactQuantity({ unscaled: BigInt(v), scale: 0, format: a.exact.format });
    if (a.kind === "duration") return formatDuration(v);
    return v;
  };
}

function sum(args: readonly JsonValue[]): JsonValue {
  const list = args[0];
  if (!Array.isArray(list) || list.length === 0) throw new Error("JMESPath function 'sum': at least one element in the array is required");
  let acc: JsonValue = list[0] as JsonValue;
  for (const item of list.slice(1)) acc = arithmetic("add")([acc, item]);
  return acc;
}

/**
 * sigs.k8s.io/yaml (go-yaml v2) reads YAML 1.1 scalars: yes/no/on/off booleans, 0755 octal, `_` in
 * numbers, merge keys. go-yaml v2 has no sexagesimal numbers and leaves timestamps as strings.
 */
const yaml11 = {
  version: "1.1",
  customTags: (tags: Tags) => tags.filter((t) => typeof t === "string" || (t.tag !== "tag:yaml.org,2002:timestamp" && t.format !== "TIME")),
} as const;

/** Go's base64.StdEncoding.DecodeString: standard alphabet, padding required; newlines are skipped. */
function base64Decode(text: string): string {
  const compact = text.replace(/[\r\n]/g, "");
  if (compact.length % 4 !== 0 || !/^[A-Za-z0-9+/]*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/.test(compact)) {
    const bad = compact.search(/[^A-Za-z0-9+/=]/);
    throw new Error(`JMESPath function 'base64_decode': illegal base64 data${bad >= 0 ? ` at input byte ${bad}` : ""} (standard alphabet A-Z a-z 0-9 + /, padded with = to a multiple of 4)`);
  }
  return Buffer.from(compact, "base64").toString("utf8");
}

/** A Go time argument: `layout` (a Go reference layout) or strict RFC 3339, as Kyverno's getTimeArg. */
function timeArg(name: string, args: readonly JsonValue[], index: number, layout = rfc3339): GoTime {
  const t = parseGoTime(layout, str(name, args, index));
  if (t instanceof Error) throw new Error(`JMESPath function '${name}': ${t.message}`);
  return t;
}

/** A Go duration argument (time.ParseDuration). */
function durationArg(name: string, args: readonly JsonValue[], index: number): number {
  const text = str(name, args, index);
  const d = parseDuration(text);
  if (d === undefined) throw new Error(`JMESPath function '${name}': invalid duration ${JSON.stringify(text)}`);
  return d;
}

function isInstantBefore(a: GoTime, b: GoTime): boolean {
  return a.sec < b.sec || (a.sec === b.sec && a.nsec < b.nsec);
}

/** time_parse(layout, value): a layout that is an integer reads the value as Unix seconds (UTC). */
function timeParse(args: readonly JsonValue[]): JsonValue {
  const layout = str("time_parse", args, 0);
  const text = str("time_parse", args, 1);
  if (/^[+-]?\d+$/.test(layout)) {
    if (!/^[+-]?\d+$/.test(text)) throw new Error(`JMESPath function 'time_parse': ${JSON.stringify(text)} is no Unix time in seconds`);
    return formatRfc3339({ sec: Number(text), nsec: 0, offset: 0 });
  }
  return formatRfc3339(timeArg("time_parse", args, 1, layout));
}

function timeSince(args: readonly JsonValue[]): JsonValue {
  const layout = str("time_since", args, 0) || rfc3339;
  const t1 = timeArg("time_since", args, 1, layout);
  const t2 = str("time_since", args, 2) === "" ? nowUtc() : timeArg("time_since", args, 2, layout);
  return formatDuration(secondsBetween(t1, t2));
}

function timeToCron(args: readonly JsonValue[]): JsonValue {
  const w = wallClock(timeArg("time_to_cron", args, 0));
  return `${w.minute} ${w.hour} ${w.day} ${w.month} ${w.weekday}`;
}

function itemsOf(args: readonly JsonValue[]): JsonValue {
  const input = args[0];
  if (args.length === 1) {
    if (input === null || typeof input !== "object" || Array.isArray(input)) throw new Error("JMESPath function 'items': argument #1 is not of type Object");
    return Object.entries(input).map(([k, v]) => [k, v]);
  }
  const keyName = str("items", args, 1);
  const valName = str("items", args, 2);
  if (Array.isArray(input)) return input.map((v, i) => ({ [keyName]: i, [valName]: v }));
  if (input !== null && typeof input === "object") {
    return Object.keys(input).sort().map((k) => ({ [keyName]: k, [valName]: input[k] as JsonValue }));
  }
  throw new Error("JMESPath function 'items': argument #1 is not of type Object or Array");
}

function canonicalPath(path: string): string {
  const abs = path.startsWith("/");
  const out: string[] = [];
  for (const part of path.split("/")) {
    if (part === "" || part === ".") continue;
    if (part === "..") { if (out.length > 0 && out[out.length - 1] !== "..") out.pop(); else if (!abs) out.push(".."); continue; }
    out.push(part);
  }
  const joined = out.join("/");
  return abs ? `/${joined}` : joined || ".";
}

/** Normalizes an image reference the way Kyverno does (docker.io default registry, `latest` tag). */
export function normalizeImage(image: string): string {
  let ref = image;
  const first = ref.split("/")[0] ?? "";
  const hasRegistry = ref.includes("/") && (first.includes(".") || first.includes(":") || first === "localhost");
  if (!hasRegistry) ref = `docker.io/${ref.includes("/") ? ref : `library/${ref}`}`;
  const lastPart = ref.slice(ref.lastIndexOf("/") + 1);
  if (!lastPart.includes(":") && !ref.includes("@")) ref += ":latest";
  return ref;
}

/**
 * How many arguments each Kyverno function declares (pkg/engine/jmespath/functions.go): a call with
 * another number is an error. `items` also takes one argument here (an extension, listed as 1 or 3).
 */
/**
 * Go's strings.EqualFold: rune by rune under Unicode simple case folding (ſ is s, ς is σ, K is k;
 * no full folding, so ß is not "ss"). A JS regular expression with the i and u flags compares
 * characters by the same simple folding; lowercasing both sides does not (ſ and ς stay as they are).
 */
function equalFold(a: string, b: string): boolean {
  if (a === b) return true;
  const escaped = a.replace(/[\\^$.*+?()[\]{}|/]/g, "\\$&");
  return new RegExp(`^${escaped}$`, "iu").test(b);
}

export const kyvernoArity: Readonly<Record<string, readonly number[]>> = {
  compare: [2], equal_fold: [2], replace: [4], replace_all: [3], to_upper: [1], to_lower: [1], trim: [2],
  trim_prefix: [2], split: [2], regex_replace_all: [3], regex_replace_all_literal: [3], regex_match: [2],
  pattern_match: [2], label_match: [2], to_boolean: [1], add: [2], sum: [1], subtract: [2], multiply: [2],
  divide: [2], modulo: [2], round: [2], base64_decode: [1], base64_encode: [1], time_since: [3], time_now: [0],
  time_now_utc: [0], path_canonicalize: [1], truncate: [2], semver_compare: [2], parse_json: [1], parse_yaml: [1],
  lookup: [2], items: [1, 3], object_from_lists: [2], time_to_cron: [1], time_add: [2], time_parse: [2],
  time_utc: [1], time_diff: [2], time_before: [2], time_after: [2], time_between: [3], time_truncate: [2],
  image_normalize: [1], to_string: [1], to_number: [1],
};

export const kyvernoFunctions: Readonly<Record<string, KyvernoFunction>> = {
  compare: (a) => Math.sign(compareCodePoints(str("compare", a, 0), str("compare", a, 1))),
  equal_fold: (a) => equalFold(str("equal_fold", a, 0), str("equal_fold", a, 1)),
  replace: (a) => goReplace(str("replace", a, 0), str("replace", a, 1), str("replace", a, 2), Math.trunc(num("replace", a, 3))),
  replace_all: (a) => goReplace(str("replace_all", a, 0), str("replace_all", a, 1), str("replace_all", a, 2), -1),
  to_upper: (a) => goCase(str("to_upper", a, 0), "upper"),
  to_lower: (a) => goCase(str("to_lower", a, 0), "lower"),
  trim: (a) => {
    // strings.Trim: the cutset is a set of characters (runes).
    const chars = Array.from(str("trim", a, 0));
    const cut = new Set(Array.from(str("trim", a, 1)));
    let start = 0, end = chars.length;
    while (start < end && cut.has(chars[start] as string)) start++;
    while (end > start && cut.has(chars[end - 1] as string)) end--;
    return chars.slice(start, end).join("");
  },
  trim_prefix: (a) => { const s = str("trim_prefix", a, 0), p = str("trim_prefix", a, 1); return s.startsWith(p) ? s.slice(p.length) : s; },
  // strings.Split: an empty separator splits into characters (runes).
  split: (a) => { const s = str("split", a, 0), sep = str("split", a, 1); return sep === "" ? Array.from(s) : s.split(sep); },
  regex_replace_all: (a) => goReplaceAllString(regexArg("regex_replace_all", a), stringOrNumber("regex_replace_all", a, 1), stringOrNumber("regex_replace_all", a, 2)),
  regex_replace_all_literal: (a) => goReplaceAllLiteral(regexArg("regex_replace_all_literal", a), stringOrNumber("regex_replace_all_literal", a, 1), stringOrNumber("regex_replace_all_literal", a, 2)),
  regex_match: (a) => regexArg("regex_match", a).test(stringOrNumber("regex_match", a, 1)),
  pattern_match: (a) => wildcardMatch(str("pattern_match", a, 0), stringOrNumber("pattern_match", a, 1)),
  label_match: (a) => {
    const labels = a[0], match = a[1];
    if (labels === null || typeof labels !== "object" || Array.isArray(labels)) throw new Error("JMESPath function 'label_match': argument #1 is not of type Object");
    if (match === null || typeof match !== "object" || Array.isArray(match)) throw new Error("JMESPath function 'label_match': argument #2 is not of type Object");
    return Object.entries(labels).every(([k, v]) => match[k] === v);
  },
  to_boolean: (a) => {
    const s = str("to_boolean", a, 0).toLowerCase();
    if (s === "true") return true;
    if (s === "false") return false;
    throw new Error(`JMESPath function 'to_boolean': lowercase argument must be 'true' or 'false' (provided: '${s}')`);
  },
  add: arithmetic("add"),
  subtract: arithmetic("subtract"),
  multiply: arithmetic("multiply"),
  divide: arithmetic("divide"),
  modulo: arithmetic("modulo"),
  sum,
  round: (a) => {
    const v = num("round", a, 0), d = num("round", a, 1);
    if (!Number.isInteger(d)) throw new Error("JMESPath function 'round': Non-integer argument(s) passed for round off (the number of digits must be whole)");
    if (d < 0) throw new Error("JMESPath function 'round': the number of digits must not be negative");
    // Go's math.Round: halves away from zero (JS Math.round takes -2.5 to -2).
    const f = 10 ** d, x = v * f;
    return (x < 0 ? -Math.round(-x) : Math.round(x)) / f;
  },
  base64_decode: (a) => base64Decode(str("base64_decode", a, 0)),
  base64_encode: (a) => Buffer.from(str("base64_encode", a, 0), "utf8").toString("base64"),
  time_since: timeSince,
  time_now: () => formatRfc3339(nowUtc()),
  time_now_utc: () => formatRfc3339(nowUtc()),
  time_utc: (a) => formatRfc3339({ ...timeArg("time_utc", a, 0), offset: 0 }),
  time_add: (a) => formatRfc3339(addSeconds(timeArg("time_add", a, 0), durationArg("time_add", a, 1))),
  time_parse: timeParse,
  time_to_cron: timeToCron,
  time_diff: (a) => formatDuration(secondsBetween(timeArg("time_diff", a, 0), timeArg("time_diff", a, 1))),
  time_before: (a) => isInstantBefore(timeArg("time_before", a, 0), timeArg("time_before", a, 1)),
  time_after: (a) => isInstantBefore(timeArg("time_after", a, 1), timeArg("time_after", a, 0)),
  time_between: (a) => {
    const t = timeArg("time_between", a, 0);
    return isInstantBefore(timeArg("time_between", a, 1), t) && isInstantBefore(t, timeArg("time_between", a, 2));
  },
  time_truncate: (a) => formatRfc3339(truncateTime(timeArg("time_truncate", a, 0), durationArg("time_truncate", a, 1))),
  // filepath.Join of one element: an empty path stays empty (Join ignores it), any other is cleaned.
  path_canonicalize: (a) => { const p = str("path_canonicalize", a, 0); return p === "" ? "" : canonicalPath(p); },
  // Counts characters (Go runes), not UTF-16 units.
  truncate: (a) => { const s = str("truncate", a, 0), n = num("truncate", a, 1); return Array.from(s).slice(0, Math.max(0, Math.trunc(n))).join(""); },
  semver_compare: (a) => {
    // Kyverno ignores the version's parse error (the zero version 0.0.0 is compared) but not the range's.
    const version = parseSemver(str("semver_compare", a, 0)) ?? { major: 0, minor: 0, patch: 0, pre: [] };
    const range = parseSemverRange(str("semver_compare", a, 1));
    if (range instanceof Error) throw new Error(`JMESPath function 'semver_compare': ${range.message}`);
    return range(version);
  },
  parse_json: (a) => JSON.parse(str("parse_json", a, 0)) as JsonValue,
  parse_yaml: (a) => (parseYaml(str("parse_yaml", a, 0), yaml11) ?? null) as JsonValue,
  lookup: (a) => {
    const c = a[0], k = a[1];
    if (Array.isArray(c)) {
      if (typeof k !== "number" || !Number.isInteger(k)) throw new Error("JMESPath function 'lookup': argument #2 is not of type Integer");
      return c[k] ?? null;
    }
    if (c !== null && typeof c === "object") {
      if (typeof k !== "string") throw new Error("JMESPath function 'lookup': argument #2 is not of type String");
      return c[k] ?? null;
    }
    throw new Error("JMESPath function 'lookup': argument #1 is not of type Object or Array");
  },
  items: itemsOf,
  object_from_lists: (a) => {
    const keys = a[0], values = a[1];
    if (!Array.isArray(keys) || !Array.isArray(values)) throw new Error("JMESPath function 'object_from_lists': arguments must be arrays");
    const out: Record<string, JsonValue> = {};
    keys.forEach((k, i) => {
      // Kyverno's ifaceToString: strings as they are, numbers as float32 text, booleans; nothing else.
      if (typeof k !== "string" && typeof k !== "number" && typeof k !== "boolean") throw new Error("JMESPath function 'object_from_lists': argument #1 is not of type StringArray (a key is no string, number or boolean)");
      out[typeof k === "number" ? float32Text(k) : String(k)] = values[i] ?? null;
    });
    return out;
  },
  is_external_url: (a) => {
    try {
      const u = new URL(str("is_external_url", a, 0));
      const h = u.hostname;
      return !(h === "localhost" || /^127\./.test(h) || /^10\./.test(h) || /^192\.168\./.test(h) || /^172\.(1[6-9]|2\d|3[01])\./.test(h) || h === "::1" || h === "[::1]");
    } catch { return false; }
  },
  sha256: (a) => createHash("sha256").update(str("sha256", a, 0)).digest("hex"),
  image_normalize: (a) => normalizeImage(str("image_normalize", a, 0)),
  to_string: (a) => typeof a[0] === "string" ? a[0] : goJsonMarshal(a[0]),
  // go-jmespath's to_number: a number as it is, a string through strconv.ParseFloat (null when it
  // does not parse; JSON has no Inf or NaN either), anything else null.
  to_number: (a) => {
    const v = a[0];
    if (typeof v === "number") return v;
    if (typeof v !== "string") return null;
    const n = parseGoFloat(v);
    return n !== undefined && Number.isFinite(n) ? n : null;
  },
};
