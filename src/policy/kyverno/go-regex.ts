/**
 * Go's regexp (RE2 syntax) as a JS RegExp, for Kyverno's regex_* JMESPath functions. What RE2 has
 * no equivalent for is an Error, as Go's regexp.Compile returns one: lookaround and backreferences.
 * What JS spells differently is translated: `(?P<name>`, `\A`, `\z`, `\Q...\E`, POSIX classes
 * (`[[:digit:]]`), a `]` first in a class (literal), `\s` (ASCII whitespace only), `.` (any
 * character but `\n`), flags anywhere (`(?i)` up to the end of the enclosing group, `(?i:re)`,
 * `(?-i)`, with i, m, s and U: JS has no scoped flags, so each is spelled out where it applies),
 * and Unicode classes (`\pL`, `\p{Greek}`, `\PL`, `\p{^Greek}`, which need JS's u flag). Never throws.
 */
import { foldedOutside, foldOrbit } from "./simple-fold.js";

const posixClasses: Readonly<Record<string, string>> = {
  alnum: "0-9A-Za-z", alpha: "A-Za-z", ascii: "\\x00-\\x7F", blank: "\\t ", cntrl: "\\x00-\\x1F\\x7F",
  digit: "0-9", graph: "!-~", lower: "a-z", print: " -~", punct: "!-\\/:-@\\[-`{-~", space: "\\t\\n\\v\\f\\r ",
  upper: "A-Z", word: "0-9A-Za-z_", xdigit: "0-9A-Fa-f",
};

const goSpace = "\\t\\n\\f\\r ";

/**
 * RE2's \S inside a class, as ranges: every code point but \t \n \f \r and space (JS's \S also
 * leaves out U+00A0, U+2028, U+FEFF and the other Unicode spaces). In u mode the surrogate pair is
 * U+10FFFF and the last range adds nothing; without it the ranges cover every UTF-16 unit.
 */
const goNotSpaceInClass = "\\x00-\\x08\\x0b\\x0e-\\x1f\\x21-\\udbff\\udfff\\udc00-\\uffff";

/**
 * RE2's \W under (?i) inside a class, as ranges: every code point but ASCII word characters and the
 * two that fold into them, the long s U+017F and the Kelvin sign U+212A (JS's \W without its i flag
 * keeps those two). The upper end as in goNotSpaceInClass.
 */
const goFoldedNotWordInClass = "\\x00-\\x2f\\x3a-\\x40\\x5b-\\x5e\\x60\\x7b-\\u017e\\u0180-\\u2129\\u212b-\\udbff\\udfff\\udc00-\\uffff";

/** Unicode general categories Go's \p knows (unicode.Categories); any other name is a script. */
const categories = new Set(["L", "Lu", "Ll", "Lt", "Lm", "Lo", "M", "Mn", "Mc", "Me", "N", "Nd", "Nl", "No", "P", "Pc", "Pd", "Ps", "Pe", "Pi", "Pf", "Po", "S", "Sm", "Sc", "Sk", "So", "Z", "Zs", "Zl", "Zp", "C", "Cc", "Cf", "Co", "Cs"]);

/** Characters JS needs escaped outside a class, and may escape in u mode. */
const jsSyntax = "\\^$.*+?()[]{}|/";

function unsupported(what: string): Error {
  return new Error(`error parsing regexp: invalid or unsupported Perl syntax: \`${what}\``);
}

interface Flags {
  readonly i: boolean;
  readonly m: boolean;
  readonly s: boolean;
  readonly U: boolean;
}

const noFlags: Flags = { i: false, m: false, s: false, U: false };

/** A flag group `(?flags)` or `(?flags:` (flags from imsU, optionally `-` then flags to clear). */
const flagGroup = /^\(\?([imsU]*)(?:(-)([imsU]*))?([:)])/;

function withFlags(flags: Flags, set: string, clear: string): Flags {
  const next = { ...flags };
  for (const f of set) next[f as keyof Flags] = true;
  for (const f of clear) next[f as keyof Flags] = false;
  return next;
}

/** The characters that fold together with c, c excluded (Go's unicode.SimpleFold orbit). */
function otherCases(c: string): string {
  const cp = c.codePointAt(0) as number;
  return String.fromCodePoint(...foldOrbit(cp).filter((m) => m !== cp));
}

/** Class-body text of the characters outside [lo, hi] that fold together with one inside it. */
function rangeFolds(lo: number, hi: number): string {
  return foldedOutside(lo, hi).map((cp) => classChar(String.fromCodePoint(cp))).join("");
}

/** What (?i) adds to a class of ASCII letters or to \w: the other case, and K (U+212A) and ſ (U+017F). */
function letterFolds(): string {
  return rangeFolds(0x41, 0x5a) + rangeFolds(0x61, 0x7a);
}

/** POSIX classes holding letters: (?i) folds them. */
const letterClasses = new Set(["alnum", "alpha", "graph", "lower", "print", "upper", "word"]);

/** A code point as an escape both JS modes read alike (an astral one as its surrogate pair, which u mode joins). */
function escapePoint(cp: number): string {
  if (cp < 0x100) return `\\x${cp.toString(16).padStart(2, "0")}`;
  if (cp <= 0xffff) return `\\u${cp.toString(16).padStart(4, "0")}`;
  const c = String.fromCodePoint(cp);
  return escapePoint(c.charCodeAt(0)) + escapePoint(c.charCodeAt(1));
}

function invalidEscape(text: string): Error {
  return new Error(`error parsing regexp: invalid escape sequence: \`${text}\``);
}

/**
 * Go's parseEscape for the escape whose letter is s[at] (after the backslash): octal (\101, \0),
 * hex (\x41, \x{1F600}), \a \f \n \r \t \v, or escaped ASCII punctuation; the code point and the
 * index of the escape's last character. Anything else (\C, \e, \8, [\b]...) is Go's invalid escape.
 */
function goEscape(s: string, at: number): { readonly cp: number; readonly end: number } | Error {
  const c = s[at] ?? "";
  const code = c.charCodeAt(0);
  if (code < 0x80 && !/[0-9A-Za-z]/.test(c) && c !== "") return { cp: code, end: at };
  if (/[0-7]/.test(c) && (c === "0" || /[0-7]/.test(s[at + 1] ?? ""))) {
    const digits = /^[0-7]{1,3}/.exec(s.slice(at))?.[0] as string;
    return { cp: parseInt(digits, 8), end: at + digits.length - 1 };
  }
  if (c === "x") {
    const braced = /^\{([0-9A-Fa-f]+)\}/.exec(s.slice(at + 1));
    if (braced) {
      const cp = parseInt(braced[1] as string, 16);
      if (cp <= 0x10ffff) return { cp, end: at + braced[0].length };
    } else if (/^[0-9A-Fa-f]{2}/.test(s.slice(at + 1))) return { cp: parseInt(s.slice(at + 1, at + 3), 16), end: at + 2 };
    return invalidEscape(`\\${s.slice(at, at + 3)}`);
  }
  const controls: Readonly<Record<string, number>> = { a: 7, f: 12, n: 10, r: 13, t: 9, v: 11 };
  const control = controls[c];
  if (control !== undefined) return { cp: control, end: at };
  return invalidEscape(`\\${String.fromCodePoint(s.codePointAt(at) ?? 0x5c)}`);
}

/** A character for a JS class body. */
function classChar(c: string): string {
  return c === "\\" || c === "]" || c === "[" || c === "^" || c === "-" ? `\\${c}` : c;
}

/** True when the source has a `\b` or `\B` escape. */
function hasWordBoundary(source: string): boolean {
  for (let i = 0; i < source.length; i++) {
    if (source[i] !== "\\") continue;
    if (source[i + 1] === "b" || source[i + 1] === "B") return true;
    i++;
  }
  return false;
}

/**
 * True when `i` is set by a leading flag group and no other flag group mentions it (JS's i flag then
 * serves). Not with a word boundary: under JS's iu flags \b and \B count the long s U+017F and the
 * Kelvin sign U+212A as word characters, while RE2's word characters are ASCII whatever the flags.
 */
function leadingCaseInsensitive(source: string): boolean {
  const lead = /^\(\?([imsU]*)(?:-[imsU]*)?\)/.exec(source);
  if (!lead || !(lead[1] as string).includes("i")) return false;
  const rest = source.slice(lead[0].length);
  for (const m of rest.matchAll(/\(\?([imsU]*(?:-[imsU]*)?)[:)]/g)) if ((m[1] as string).includes("i")) return false;
  return !hasWordBoundary(rest);
}

/** Translates RE2 source to JS source and flags, or an Error naming what RE2 rejects. */
export function translateGoRegex(source: string): { readonly source: string; readonly flags: string } | Error {
  const s = source;
  const globalI = leadingCaseInsensitive(s);
  let unicode = false;
  let flags: Flags = noFlags;
  const stack: Flags[] = [];
  let out = "";
  // Inside a class: its body, the other-case additions (i), and the last single character (for ranges).
  let inClass = false;
  let classExtra = "";
  let classLast: string | undefined;
  const foldHere = (): boolean => flags.i && !globalI;
  const literal = (c: string): string => {
    if (jsSyntax.includes(c)) return `\\${c}`;
    const others = foldHere() ? otherCases(c) : "";
    return others === "" ? c : `[${classChar(c)}${[...others].map(classChar).join("")}]`;
  };
  const literalPoint = (cp: number): string => {
    const others = foldHere() ? otherCases(String.fromCodePoint(cp)) : "";
    return others === "" ? escapePoint(cp) : `[${escapePoint(cp)}${[...others].map(classChar).join("")}]`;
  };
  const classLiteralPoint = (cp: number): string => {
    if (foldHere()) classExtra += [...otherCases(String.fromCodePoint(cp))].map(classChar).join("");
    classLast = String.fromCodePoint(cp);
    return escapePoint(cp);
  };
  const classLiteral = (c: string): string => {
    if (foldHere()) classExtra += [...otherCases(c)].map(classChar).join("");
    classLast = c;
    return classChar(c);
  };
  /** `\pX`, `\p{Name}`, `\PX`, `\p{^Name}` at s[i] = "p" or "P"; the JS class escape and the index of its last character. */
  const unicodeClass = (i: number): { readonly text: string; readonly end: number } | Error => {
    let negate = s[i] === "P";
    let name: string;
    let end: number;
    if (s[i + 1] === "{") {
      end = s.indexOf("}", i + 2);
      if (end < 0) return new Error(`error parsing regexp: invalid character class range: \`\\${s.slice(i)}\``);
      name = s.slice(i + 2, end);
      if (name.startsWith("^")) {
        negate = !negate;
        name = name.slice(1);
      }
    } else {
      name = s[i + 1] ?? "";
      end = i + 1;
    }
    if (!/^[A-Za-z_]+$/.test(name)) return new Error(`error parsing regexp: invalid character class range: \`\\${s.slice(i, end + 1)}\``);
    unicode = true;
    const property = name === "Any" ? "Any" : categories.has(name) ? name : `Script=${name}`;
    return { text: `\\${negate ? "P" : "p"}{${property}}`, end };
  };
  for (let i = 0; i < s.length; i++) {
    const c = s[i] as string;
    if (c === "\\") {
      const next = s[i + 1];
      if (next === undefined) return new Error("error parsing regexp: trailing backslash at end of expression: ``");
      i++;
      if (next === "Q") {
        const end = s.indexOf("\\E", i + 1);
        const text = end < 0 ? s.slice(i + 1) : s.slice(i + 1, end);
        for (const ch of text) out += inClass ? classLiteral(ch) : literal(ch);
        i = end < 0 ? s.length : end + 1;
        continue;
      }
      if (next === "p" || next === "P") {
        const u = unicodeClass(i);
        if (u instanceof Error) return u;
        out += u.text;
        i = u.end;
        classLast = undefined;
        continue;
      }
      classLast = undefined;
      if (!inClass && next === "A") out += "^";
      else if (!inClass && next === "z") out += "$";
      else if (!inClass && (next === "b" || next === "B")) out += `\\${next}`;
      else if (next === "d" || next === "D") out += `\\${next}`;
      else if (next === "s") out += inClass ? goSpace : `[${goSpace}]`;
      else if (next === "S") out += inClass ? goNotSpaceInClass : `[^${goSpace}]`;
      else if ((next === "w" || next === "W") && foldHere()) {
        // Go folds \w under (?i) (appendGroup): it also holds K (U+212A) and ſ (U+017F); \W is the rest.
        if (inClass && next === "w") out += `\\w${letterFolds()}`;
        else if (!inClass) out += `[${next === "W" ? "^" : ""}\\w${letterFolds()}]`;
        else out += goFoldedNotWordInClass;
      }
      else if (next === "w" || next === "W") out += `\\${next}`;
      else {
        const escaped = goEscape(s, i);
        if (escaped instanceof Error) return escaped;
        out += inClass ? classLiteralPoint(escaped.cp) : literalPoint(escaped.cp);
        i = escaped.end;
      }
      continue;
    }
    if (inClass) {
      if (c === "[" && s[i + 1] === ":") {
        const m = /^\[:(\^?)([a-z]+):\]/.exec(s.slice(i));
        const name = m?.[2] as string | undefined;
        const expansion = name === undefined ? undefined : posixClasses[name];
        if (m && expansion !== undefined && m[1] === "") {
          if (foldHere() && letterClasses.has(name as string)) out += `${expansion}A-Za-z${letterFolds()}`;
          else out += expansion;
          i += m[0].length - 1;
          classLast = undefined;
          continue;
        }
      }
      if (c === "]") {
        out += `${classExtra}]`;
        inClass = false;
        continue;
      }
      if (c === "-" && classLast !== undefined && s[i + 1] !== undefined && s[i + 1] !== "]" && s[i + 1] !== "[") {
        // The upper bound: a character, or an escape naming one (\x{43}, \-).
        let hi: number, end: number;
        if (s[i + 1] === "\\") {
          const escaped = goEscape(s, i + 2);
          if (escaped instanceof Error) return new Error(`error parsing regexp: invalid character class range: \`${s.slice(i - 1, i + 4)}\``);
          ({ cp: hi, end } = escaped);
        } else {
          hi = s.codePointAt(i + 1) as number;
          end = i + (hi > 0xffff ? 2 : 1);
        }
        if (foldHere()) classExtra += rangeFolds(classLast.codePointAt(0) as number, hi);
        out += `-${escapePoint(hi)}`;
        i = end;
        classLast = undefined;
        continue;
      }
      out += classLiteral(c);
      continue;
    }
    if (c === "[") {
      inClass = true;
      classExtra = "";
      classLast = undefined;
      out += "[";
      if (s[i + 1] === "^") {
        out += "^";
        i++;
      }
      // A ] first in a class is a literal in RE2 (JS would read "[]" as an empty class).
      if (s[i + 1] === "]") {
        out += classLiteral("]");
        i++;
      }
      continue;
    }
    if (c === "(") {
      const rest = s.slice(i);
      const look = /^\(\?(=|!|<=|<!|>)/.exec(rest);
      if (look) return unsupported(look[0]);
      const group = flagGroup.exec(rest);
      if (group && group[0] !== "(?:") {
        const text = group[0], set = group[1] ?? "", dash = group[2], clear = group[3] ?? "", end = group[4];
        // parsePerlFlags: `(?)` is an empty flag group; a `-` needs a flag after it.
        if (dash !== undefined && clear === "") return unsupported(text);
        i += text.length - 1;
        if (end === ")") {
          flags = withFlags(flags, set, clear);
          continue;
        }
        stack.push(flags);
        flags = withFlags(flags, set, clear);
        out += "(?:";
        continue;
      }
      const named = /^\(\?P?<([A-Za-z0-9_]+)>/.exec(rest);
      if (rest.startsWith("(?") && !named && rest[2] !== ":") return unsupported(rest.slice(0, 3));
      stack.push(flags);
      if (named) {
        out += `(?<${named[1] as string}>`;
        i += named[0].length - 1;
      } else if (rest.startsWith("(?:")) {
        out += "(?:";
        i += 2;
      } else out += "(";
      continue;
    }
    if (c === ")") {
      flags = stack.pop() ?? flags;
      out += ")";
      continue;
    }
    if (c === ".") out += flags.s ? "[\\s\\S]" : "[^\\n]";
    else if (c === "^") out += flags.m ? "(?:^|(?<=\\n))" : "^";
    else if (c === "$") out += flags.m ? "(?:$|(?=\\n))" : "$";
    else if (c === "*" || c === "+" || c === "?" || (c === "{" && /^\{\d+(?:,\d*)?\}/.test(s.slice(i)))) {
      let quantifier = c;
      if (c === "{") {
        quantifier = (/^\{\d+(?:,\d*)?\}/.exec(s.slice(i)) as RegExpExecArray)[0];
        i += quantifier.length - 1;
      }
      const lazy = s[i + 1] === "?";
      if (lazy) i++;
      out += quantifier + (lazy !== flags.U ? "?" : "");
    } else if (c === "|") out += "|";
    else out += literal(c);
  }
  return { source: out, flags: (globalI ? "i" : "") + (unicode ? "u" : "") };
}

/** The JS RegExp for RE2 source, or the Error Go's regexp.Compile would give. */
export function goRegex(source: string, flags = ""): RegExp | Error {
  const translated = translateGoRegex(source);
  if (translated instanceof Error) return translated;
  // Go matches runes and folds (?i) by unicode.SimpleFold (K U+212A is k, ſ U+017F is s): JS does
  // both only with u. A source u mode refuses keeps the flags it was translated for.
  if (!translated.flags.includes("u")) {
    try {
      return new RegExp(translated.source, `${flags}${translated.flags}u`);
    } catch {
      // fall through
    }
  }
  try {
    return new RegExp(translated.source, flags + translated.flags);
  } catch (cause) {
    return new Error(`error parsing regexp: ${cause instanceof Error ? cause.message : String(cause)}`);
  }
}
