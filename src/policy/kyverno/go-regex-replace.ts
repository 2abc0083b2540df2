/**
 * Go's Regexp.ReplaceAllString and ReplaceAllLiteralString over a RegExp from goRegex, for Kyverno's
 * regex_replace_all(_literal). Two things differ from String.prototype.replace: Go does not replace
 * an empty match that abuts the previous match (`b*` on "abc" gives "-a-c-", not "-a--c-"), and its
 * template is Go's Expand, not JS's `$` patterns. Never throws.
 */

/** A template name: Go's extract takes letters, digits and `_` (Unicode letters and digits). */
const nameAt = /^[\p{L}\p{Nd}_]+/u;

/** Go's Regexp.Expand of `template` for one match: `$1`, `${1}`, `$name`, `${name}`, `$$`. */
function expand(template: string, match: RegExpExecArray): string {
  let out = "";
  let i = 0;
  while (i < template.length) {
    const dollar = template.indexOf("$", i);
    if (dollar < 0) break;
    out += template.slice(i, dollar);
    i = dollar + 1;
    if (template[i] === "$") {
      out += "$";
      i++;
      continue;
    }
    const brace = template[i] === "{";
    const name = nameAt.exec(template.slice(brace ? i + 1 : i))?.[0];
    const end = (brace ? i + 1 : i) + (name?.length ?? 0);
    if (name === undefined || (brace && template[end] !== "}")) {
      // Malformed: the $ is text.
      out += "$";
      continue;
    }
    i = brace ? end + 1 : end;
    // A number without a leading zero names a group by index; anything else by name.
    const index = /^(?:0|[1-9]\d{0,7})$/.test(name) ? Number(name) : undefined;
    out += (index !== undefined ? match[index] : match.groups?.[name]) ?? "";
  }
  return out + template.slice(i);
}

function replaceAll(re: RegExp, src: string, replacement: (match: RegExpExecArray) => string): string {
  const global = new RegExp(re.source, re.flags.includes("g") ? re.flags : `${re.flags}g`);
  const unicode = global.flags.includes("u");
  let out = "";
  let lastMatchEnd = 0;
  let searchPos = 0;
  while (searchPos <= src.length) {
    global.lastIndex = searchPos;
    const m = global.exec(src);
    if (m === null) break;
    const start = m.index, end = start + m[0].length;
    out += src.slice(lastMatchEnd, start);
    // INVARIANT: as Go, no replacement for an empty match right after another match.
    if (end > lastMatchEnd || start === 0) out += replacement(m);
    lastMatchEnd = end;
    // Advance at least one character (a whole surrogate pair in u mode, as Go advances a rune).
    const width = unicode && (src.codePointAt(searchPos) ?? 0) > 0xffff ? 2 : 1;
    searchPos = searchPos + width > end ? searchPos + width : end;
  }
  return out + src.slice(lastMatchEnd);
}

/** Go's ReplaceAllString: every match replaced by the template expanded for it. */
export function goReplaceAllString(re: RegExp, src: string, template: string): string {
  return replaceAll(re, src, (m) => expand(template, m));
}

/** Go's ReplaceAllLiteralString: every match replaced by the text as it is. */
export function goReplaceAllLiteral(re: RegExp, src: string, text: string): string {
  return replaceAll(re, src, () => text);
}
