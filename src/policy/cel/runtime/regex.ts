/**
 * Regular expressions with RE2 syntax and semantics. `matches` runs on @bufbuild/re2 (linear
 * time: a hostile input cannot make it backtrack). `find` / `findAll` need match positions, which
 * that engine does not expose: they first ask RE2 whether there is a match at all and then take
 * the positions from an equivalent JavaScript RegExp (translated from the RE2 pattern).
 */
import { RE2JS } from "@bufbuild/re2";
import { chargeSize } from "./cost.js";
import { err } from "./values.js";

export interface CompiledRegex {
  readonly re2: RE2JS;
  /** Lazily built JavaScript equivalent (global, unicode), for match positions. */
  js: RegExp | undefined;
  readonly source: string;
}

const cache = new Map<string, CompiledRegex>();
const CACHE_LIMIT = 1000;

/** Compiles (and caches) an RE2 pattern; throws CelErr(invalid_argument) on bad syntax. */
export function compileRegex(pattern: string): CompiledRegex {
  const hit = cache.get(pattern);
  if (hit) return hit;
  let re2: RE2JS;
  try {
    re2 = RE2JS.compile(pattern);
  } catch (cause) {
    throw err("invalid_argument", `invalid regular expression '${pattern}': ${(cause as Error).message}`);
  }
  const compiled: CompiledRegex = { re2, js: undefined, source: pattern };
  if (cache.size >= CACHE_LIMIT) cache.delete(cache.keys().next().value as string);
  cache.set(pattern, compiled);
  return compiled;
}

/** Partial match (CEL `matches`): true when the pattern matches anywhere in `text`. */
export function regexMatches(re: CompiledRegex, text: string): boolean {
  chargeSize(text.length);
  return re.re2.test(text);
}

const posixClasses: Record<string, string> = {
  alnum: "0-9A-Za-z", alpha: "A-Za-z", ascii: "\\x00-\\x7F", blank: "\\t ", cntrl: "\\x00-\\x1F\\x7F", digit: "0-9",
  graph: "!-~", lower: "a-z", print: " -~", punct: "!-/:-@[-`{-~", space: "\\t\\n\\v\\f\\r ", upper: "A-Z", word: "0-9A-Za-z_", xdigit: "0-9A-Fa-f",
};

/** Translates the RE2 syntax that JavaScript spells differently. */
function toJsRegex(re: CompiledRegex): RegExp {
  if (re.js) return re.js;
  let src = re.source;
  let flags = "gu";
  const lead = /^\(\?([imsU]+)\)/.exec(src);
  if (lead) {
    const f = lead[1] as string;
    if (f.includes("U")) throw err("invalid_argument", `regular expression flag U is not supported by find/findAll: '${re.source}'`);
    if (f.includes("i")) flags += "i";
    if (f.includes("m")) flags += "m";
    if (f.includes("s")) flags += "s";
    src = src.slice(lead[0].length);
  }
  src = src
    .replace(/\\Q(.*?)(?:\\E|$)/g, (_, lit: string) => lit.replace(/[.*+?^${}()|[\]\\/-]/g, "\\$&"))
    .replace(/\(\?P</g, "(?<")
    .replace(/\\z/g, "$(?![\\s\\S])")
    .replace(/\\A/g, "^(?<![\\s\\S])")
    .replace(/\[:(\^?)([a-z]+):\]/g, (m, neg: string, name: string) => {
      const cls = posixClasses[name];
      if (cls === undefined) return m;
      return neg ? `&&NEG${cls}` : cls;
    })
    .replace(/\\p([A-Z])/g, "\\p{$1}");
  if (src.includes("&&NEG")) throw err("invalid_argument", `negated POSIX classes are not supported by find/findAll: '${re.source}'`);
  try {
    re.js = new RegExp(src, flags);
  } catch (cause) {
    throw err("invalid_argument", `regular expression '${re.source}' is not supported by find/findAll: ${(cause as Error).message}`);
  }
  return re.js;
}

/** First match (the whole match text), or "" when none. */
export function regexFind(re: CompiledRegex, text: string): string {
  chargeSize(text.length);
  if (!re.re2.test(text)) return "";
  const js = toJsRegex(re);
  js.lastIndex = 0;
  const m = js.exec(text);
  return m ? m[0] : "";
}

/** All non-overlapping matches, at most `limit` (negative = all). */
export function regexFindAll(re: CompiledRegex, text: string, limit: number): string[] {
  chargeSize(text.length);
  if (limit === 0 || !re.re2.test(text)) return [];
  const js = toJsRegex(re);
  js.lastIndex = 0;
  const out: string[] = [];
  let m: RegExpExecArray | null;
  while ((m = js.exec(text)) !== null) {
    out.push(m[0]);
    if (m[0] === "") js.lastIndex += (text.codePointAt(js.lastIndex) ?? 0) > 0xffff ? 2 : 1;
    if (limit > 0 && out.length >= limit) break;
  }
  return out;
}
