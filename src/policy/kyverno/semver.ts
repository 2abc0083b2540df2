/**
 * Semantic versions as Kyverno compares them, with blang/semver (v4): `Parse` is strict (three
 * numeric parts without leading zeros, no "v" prefix), ranges are `ParseRange` (comparators
 * `=`/`==`/`!`/`!=`/`>`/`>=`/`<`/`<=`, AND by spaces, OR by `||`, `x` wildcards expanded to
 * ranges). Never throws: a range that does not parse is returned as an Error.
 */

export interface Semver {
  readonly major: number;
  readonly minor: number;
  readonly patch: number;
  /** Pre-release identifiers: numeric ones as numbers. */
  readonly pre: readonly (string | number)[];
}

const numeric = /^(?:0|[1-9]\d*)$/;
const identifier = /^[0-9A-Za-z-]+$/;

/** blang/semver Parse: undefined when the string is not a strict semantic version. */
export function parseSemver(text: string): Semver | undefined {
  const plus = text.indexOf("+");
  const main = plus < 0 ? text : text.slice(0, plus);
  if (plus >= 0 && !text.slice(plus + 1).split(".").every((part) => identifier.test(part))) return undefined;
  const dash = main.indexOf("-");
  const core = dash < 0 ? main : main.slice(0, dash);
  const parts = core.split(".");
  if (parts.length !== 3 || !parts.every((part) => numeric.test(part))) return undefined;
  const pre: (string | number)[] = [];
  if (dash >= 0) {
    for (const part of main.slice(dash + 1).split(".")) {
      if (!identifier.test(part)) return undefined;
      if (/^\d+$/.test(part)) {
        if (!numeric.test(part)) return undefined;
        pre.push(Number(part));
      } else pre.push(part);
    }
  }
  return { major: Number(parts[0]), minor: Number(parts[1]), patch: Number(parts[2]), pre };
}

/** -1, 0 or 1, by semver precedence (build metadata ignored). */
export function compareSemver(a: Semver, b: Semver): number {
  for (const [x, y] of [[a.major, b.major], [a.minor, b.minor], [a.patch, b.patch]] as const) {
    if (x !== y) return x < y ? -1 : 1;
  }
  if (a.pre.length === 0 || b.pre.length === 0) return a.pre.length === b.pre.length ? 0 : a.pre.length === 0 ? 1 : -1;
  for (let i = 0; i < Math.min(a.pre.length, b.pre.length); i++) {
    const x = a.pre[i] as string | number, y = b.pre[i] as string | number;
    if (x === y) continue;
    if (typeof x === "number" && typeof y === "number") return x < y ? -1 : 1;
    if (typeof x === "number") return -1;
    if (typeof y === "number") return 1;
    return x < y ? -1 : 1;
  }
  return a.pre.length === b.pre.length ? 0 : a.pre.length < b.pre.length ? -1 : 1;
}

type Comparator = "=" | "!=" | ">" | ">=" | "<" | "<=";

function comparatorOf(op: string): Comparator | undefined {
  switch (op) {
    case "": case "=": case "==": return "=";
    case "!": case "!=": return "!=";
    case ">": case ">=": case "<": case "<=": return op;
    default: return undefined;
  }
}

export function satisfiesComparator(version: Semver, op: Comparator, target: Semver): boolean {
  const c = compareSemver(version, target);
  switch (op) {
    case "=": return c === 0;
    case "!=": return c !== 0;
    case ">": return c > 0;
    case ">=": return c >= 0;
    case "<": return c < 0;
    case "<=": return c <= 0;
  }
}

/** blang's splitAndTrim: spaces split the range, except right after `>`, `<` or `=`; inner spaces go. */
function splitAndTrim(range: string): string[] {
  const out: string[] = [];
  let last = 0;
  let lastChar = "";
  for (let i = 0; i < range.length; i++) {
    const ch = range[i] as string;
    if (ch === " " && !">=<".includes(lastChar || "-")) {
      if (last < i - 1) out.push(range.slice(last, i));
      last = i + 1;
    } else if (ch !== " ") lastChar = ch;
  }
  if (last < range.length - 1) out.push(range.slice(last));
  return out.map((part) => part.replace(/ /g, ""));
}

function splitComparator(part: string): [string, string] | Error {
  const i = part.search(/\d/);
  if (i < 0) return new Error(`could not get version from string: ${JSON.stringify(part)}`);
  return [part.slice(0, i).trim(), part.slice(i)];
}

/** Expands an `x` wildcard comparator (`>1.x`, `1.2.x`) into plain ones, as blang does. */
function expandWildcard(part: string): string[] | Error {
  if (!part.includes("x")) return [part];
  const split = splitComparator(part);
  if (split instanceof Error) return split;
  const [op, version] = split;
  const fields = version.split(".");
  const patchWildcard = fields.length === 3 && fields[2] === "x" && fields[1] !== "x";
  const flat = version.replace(/\.x/g, ".0") + (fields.length === 2 ? ".0" : "");
  const next = (): string => {
    const [major = "0", minor = "0"] = flat.split(".");
    return patchWildcard ? `${major}.${Number(minor) + 1}.0` : `${Number(major) + 1}.0.0`;
  };
  switch (op) {
    case ">": return [`>=${next()}`];
    case ">=": return [`>=${flat}`];
    case "<": return [`<${flat}`];
    case "<=": return [`<${next()}`];
    case "": case "=": case "==": return [`>=${flat}`, `<${next()}`];
    case "!=": case "!": return [`<${flat}`, `>=${next()}`];
    default: return [part];
  }
}

/** blang/semver ParseRange: a predicate, or the Error that Kyverno reports for the range. */
export function parseSemverRange(range: string): ((version: Semver) => boolean) | Error {
  const alternatives: string[][] = [[]];
  for (const part of splitAndTrim(range)) {
    if (part === "||") {
      if ((alternatives[alternatives.length - 1] as string[]).length === 0) return new Error(`invalid range ${JSON.stringify(range)}: "||" without a comparator before it`);
      alternatives.push([]);
    } else (alternatives[alternatives.length - 1] as string[]).push(part);
  }
  if ((alternatives[alternatives.length - 1] as string[]).length === 0) return new Error(`invalid range ${JSON.stringify(range)}: no comparator`);
  const compiled: [Comparator, Semver][][] = [];
  for (const alternative of alternatives) {
    const all: [Comparator, Semver][] = [];
    for (const raw of alternative) {
      const expanded = expandWildcard(raw);
      if (expanded instanceof Error) return expanded;
      for (const part of expanded) {
        const split = splitComparator(part);
        if (split instanceof Error) return split;
        const op = comparatorOf(split[0]);
        if (op === undefined) return new Error(`could not parse comparator ${JSON.stringify(split[0])} in ${JSON.stringify(part)}`);
        const target = parseSemver(split[1]);
        if (target === undefined) return new Error(`could not parse version ${JSON.stringify(split[1])} in ${JSON.stringify(part)}`);
        all.push([op, target]);
      }
    }
    compiled.push(all);
  }
  return (version) => compiled.some((all) => all.every(([op, target]) => satisfiesComparator(version, op, target)));
}
