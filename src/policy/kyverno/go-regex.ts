/**
 * Go's regexp (RE2 syntax) as a JS RegExp, for Kyverno's regex_* JMESPath functions. What RE2 has
 * no equivalent for is an Error, as Go's regexp.Compile returns one: lookaround and backreferences.
 * What JS spells differently is translated: `(?P<name>`, `\A`, `\z`, `\Q...\E`, POSIX classes
 * (`[[:digit:]]`), a `]` first in a class (literal), `\s` (ASCII whitespace only), leading flags
 * `(?i)`. Never throws.
 */

const posixClasses: Readonly<Record<string, string>> = {
  alnum: "0-9A-Za-z", alpha: "A-Za-z", ascii: "\\x00-\\x7F", blank: "\\t ", cntrl: "\\x00-\\x1F\\x7F",
  digit: "0-9", graph: "!-~", lower: "a-z", print: " -~", punct: "!-\\/:-@\\[-`{-~", space: "\\t\\n\\v\\f\\r ",
  upper: "A-Z", word: "0-9A-Za-z_", xdigit: "0-9A-Fa-f",
};

const goSpace = "\\t\\n\\f\\r ";

function unsupported(what: string): Error {
  return new Error(`error parsing regexp: invalid or unsupported Perl syntax: \`${what}\``);
}

function escapeLiteral(text: string): string {
  return text.replace(/[\\^$.*+?()[\]{}|/-]/g, "\\$&");
}

/** Translates RE2 source to JS source and flags, or an Error naming what RE2 rejects. */
export function translateGoRegex(source: string): { readonly source: string; readonly flags: string } | Error {
  let s = source;
  let flags = "";
  const inline = /^\(\?([imsU]+)\)/.exec(s);
  if (inline) {
    s = s.slice(inline[0].length);
    for (const f of inline[1] as string) if ("ims".includes(f) && !flags.includes(f)) flags += f;
  }
  let out = "";
  let inClass = false;
  for (let i = 0; i < s.length; i++) {
    const c = s[i] as string;
    if (c === "\\") {
      const next = s[i + 1];
      if (next === undefined) return new Error("error parsing regexp: trailing backslash at end of expression: ``");
      i++;
      if (next === "Q") {
        const end = s.indexOf("\\E", i + 1);
        const literal = end < 0 ? s.slice(i + 1) : s.slice(i + 1, end);
        out += escapeLiteral(literal);
        i = end < 0 ? s.length : end + 1;
        continue;
      }
      if (/[1-9]/.test(next) && !/[0-7]/.test(s[i + 1] ?? "")) return new Error(`error parsing regexp: invalid escape sequence: \`\\${next}\``);
      if (!inClass && next === "A") out += "^";
      else if (!inClass && next === "z") out += "$";
      else if (next === "s") out += inClass ? goSpace : `[${goSpace}]`;
      else if (next === "S" && !inClass) out += `[^${goSpace}]`;
      else out += `\\${next}`;
      continue;
    }
    if (inClass) {
      if (c === "[" && s[i + 1] === ":") {
        const m = /^\[:(\^?)([a-z]+):\]/.exec(s.slice(i));
        const expansion = m ? posixClasses[m[2] as string] : undefined;
        if (m && expansion !== undefined && m[1] === "") {
          out += expansion;
          i += m[0].length - 1;
          continue;
        }
      }
      if (c === "]") inClass = false;
      out += c === "[" ? "\\[" : c;
      continue;
    }
    if (c === "[") {
      inClass = true;
      out += "[";
      if (s[i + 1] === "^") {
        out += "^";
        i++;
      }
      // A ] first in a class is a literal in RE2 (JS would read "[]" as an empty class).
      if (s[i + 1] === "]") {
        out += "\\]";
        i++;
      }
      continue;
    }
    if (c === "(" && s[i + 1] === "?") {
      const rest = s.slice(i);
      const look = /^\(\?(=|!|<=|<!|>)/.exec(rest);
      if (look) return unsupported(look[0]);
      if (rest.startsWith("(?P<")) {
        out += "(?<";
        i += 3;
        continue;
      }
    }
    out += c;
  }
  return { source: out, flags };
}

/** The JS RegExp for RE2 source, or the Error Go's regexp.Compile would give. */
export function goRegex(source: string, flags = ""): RegExp | Error {
  const translated = translateGoRegex(source);
  if (translated instanceof Error) return translated;
  try {
    return new RegExp(translated.source, flags + translated.flags);
  } catch (cause) {
    return new Error(`error parsing regexp: ${cause instanceof Error ? cause.message : String(cause)}`);
  }
}
