/**
 * Positions of problems inside policy files: maps a field path, and optionally a line/column
 * inside a CEL expression held by that field, to a 1-based line/column in the file.
 */
import type { PolicyDocument } from "../language.js";
import type { FieldPath } from "./validate.js";

export interface FilePosition { readonly line: number; readonly column: number }

/** Position of a field, or of its closest existing ancestor. */
export function fieldPosition(doc: PolicyDocument, path: FieldPath): FilePosition | undefined {
  for (let length = path.length; length >= 0; length--) {
    const position = doc.position(path.slice(0, length));
    if (position !== undefined) return position;
  }
  return undefined;
}

/**
 * Position of the key of a map entry (an unknown field): the closest `key:` (plain or quoted)
 * written before its value; the value's, or its closest ancestor's, when none is found.
 */
export function keyPosition(doc: PolicyDocument, path: FieldPath): FilePosition | undefined {
  const key = path[path.length - 1];
  const value = doc.position(path);
  if (typeof key !== "string" || value === undefined) return fieldPosition(doc, path);
  const end = offsetOf(doc.text, value);
  let best = -1;
  for (const token of [key, JSON.stringify(key), `'${key.replaceAll("'", "''")}'`]) {
    for (let at = doc.text.lastIndexOf(token, end - token.length); at > best; at = doc.text.lastIndexOf(token, at - 1)) {
      let after = at + token.length;
      while (blank(doc.text[after])) after++;
      const before = doc.text[at - 1];
      if (doc.text[after] === ":" && (before === undefined || /[\s{,?-]/.test(before))) {
        best = at;
        break;
      }
      if (at === 0) break;
    }
  }
  return best < 0 ? fieldPosition(doc, path) : lineColumnOf(doc.text, best);
}

/**
 * Where line/column `(line, column)` of a string value (1-based, counted inside the value) sits in
 * the file. Exact for plain and quoted scalars (escapes and line folding included) and literal
 * block (`|`) scalars; a close approximation for folded (`>`) ones.
 */
export function positionInScalar(doc: PolicyDocument, path: FieldPath, line: number, column: number): FilePosition | undefined {
  const start = doc.position(path);
  if (start === undefined) return undefined;
  const value = valueAt(doc.value, path);
  if (typeof value === "string") ({ line, column } = withinContent(value, line, column));
  const lines = doc.text.split(/\r?\n/);
  const first = lines[start.line - 1] ?? "";
  const indicator = first[start.column - 1];
  if (indicator === "|" || indicator === ">") {
    let contentLine = start.line + 1;
    while (contentLine <= lines.length && (lines[contentLine - 1] ?? "").trim() === "") contentLine++;
    const indent = blockIndent(first, start.column - 1) ?? ((lines[contentLine - 1] ?? "").match(/^ */)?.[0].length ?? 0);
    if (indicator === "|") return { line: start.line + line, column: indent + column };
    // Folded: value line 1 spans source lines joined by spaces; walk them.
    let remaining = column;
    let current = contentLine;
    while (current <= lines.length) {
      const text = (lines[current - 1] ?? "").slice(indent);
      if (remaining <= text.length || (lines[current] ?? "").trim() === "") return { line: current + (line - 1), column: indent + remaining };
      remaining -= text.length + 1;
      current++;
    }
    return { line: contentLine, column: indent + 1 };
  }
  if (typeof value !== "string") return undefined;
  const offset = flowScalarOffset(doc.text, offsetOf(doc.text, start), valueOffset(value, line, column));
  return offset === undefined ? undefined : lineColumnOf(doc.text, offset);
}

/**
 * A position in the blanks that end a value (CEL's "end of expression" after a block scalar's
 * final line break: a line the block does not have) moved to right after the last character.
 */
function withinContent(value: string, line: number, column: number): { line: number; column: number } {
  const end = value.replace(/[ \t\r\n\f]+$/, "").length;
  if (valueOffset(value, line, column) <= end) return { line, column };
  const lines = value.slice(0, end).split("\n");
  return { line: lines.length, column: [...(lines[lines.length - 1] as string)].length + 1 };
}

/**
 * The content indentation a block scalar header states (`|2`, `>-1`): the digit added to the
 * indentation of the node holding it (a mapping's key column, or a sequence entry's `-`);
 * undefined when the header has no digit (the first content line sets it).
 */
function blockIndent(line: string, indicatorAt: number): number | undefined {
  const digit = /^[|>][-+]?([1-9])/.exec(line.slice(indicatorAt))?.[1];
  if (digit === undefined) return undefined;
  const before = line.slice(0, indicatorAt).trimEnd();
  const node = before.endsWith("-") ? before.length - 1 : (/^[ ]*(?:-[ ]+)*/.exec(before)?.[0].length ?? 0);
  return node + Number(digit);
}

function valueAt(root: unknown, path: FieldPath): unknown {
  let current = root;
  for (const key of path) {
    if (current === null || typeof current !== "object") return undefined;
    current = (current as Record<string | number, unknown>)[key];
  }
  return current;
}

/** The offset in `value` of 1-based `line` / `column` (columns count code points, as CEL's do). */
function valueOffset(value: string, line: number, column: number): number {
  let offset = 0;
  for (let l = 1; l < line; l++) {
    const next = value.indexOf("\n", offset);
    if (next < 0) return value.length;
    offset = next + 1;
  }
  for (let c = 1; c < column && offset < value.length; c++) {
    const code = value.charCodeAt(offset);
    offset += code >= 0xd800 && code <= 0xdbff ? 2 : 1;
  }
  return offset;
}

/**
 * The offset in the file text of a node position (the YAML parser's: 1-based line, column in
 * UTF-16 units), counting line breaks as written: a CRLF is two characters.
 */
function offsetOf(text: string, position: FilePosition): number {
  let offset = 0;
  for (let l = 1; l < position.line; l++) {
    const next = text.indexOf("\n", offset);
    if (next < 0) return text.length;
    offset = next + 1;
  }
  return offset + position.column - 1;
}

/** 1-based line and column (in code points) of an offset in the file text. */
function lineColumnOf(text: string, offset: number): FilePosition {
  const before = text.slice(0, offset);
  const lineStart = before.lastIndexOf("\n") + 1;
  return { line: before.split("\n").length, column: [...before.slice(lineStart)].length + 1 };
}

const blank = (c: string | undefined): boolean => c === " " || c === "\t";

/**
 * Where the character at `target` of a flow scalar's value (plain, 'single' or "double"-quoted,
 * starting at `start` in the file) is written: walks the source as YAML reads it, counting an
 * escape (`\"`, `\u0061`) or a doubled quote as one character, a line break with the blanks
 * around it as one space (n breaks as n-1 newlines), an escaped line break as nothing.
 * `target` = the value's length gives the position right after its last character.
 */
function flowScalarOffset(text: string, start: number, target: number): number | undefined {
  const quote = text[start] === "\"" || text[start] === "'" ? text[start] : undefined;
  let i = quote === undefined ? start : start + 1;
  let produced = 0;
  while (i < text.length) {
    const c = text[i] as string;
    if (c === quote) {
      if (quote === "'" && text[i + 1] === "'") {
        if (target === produced) return i;
        produced++;
        i += 2;
        continue;
      }
      break;
    }
    if (quote === "\"" && c === "\\") {
      const escaped = text[i + 1];
      if (escaped === "\n" || escaped === "\r") {
        i += escaped === "\r" && text[i + 2] === "\n" ? 3 : 2;
        while (blank(text[i])) i++;
        continue;
      }
      const length = escaped === "x" ? 4 : escaped === "u" ? 6 : escaped === "U" ? 10 : 2;
      const units = escaped === "U" && Number.parseInt(text.slice(i + 2, i + 10), 16) > 0xffff ? 2 : 1;
      if (target < produced + units) return i;
      produced += units;
      i += length;
      continue;
    }
    if (blank(c)) {
      let j = i;
      while (blank(text[j])) j++;
      // Blanks before a line break are not part of the value.
      if (text[j] === "\n" || text[j] === "\r") { i = j; continue; }
    }
    if (c === "\n" || c === "\r") {
      let j = i;
      let breaks = 0;
      while (text[j] === "\n" || text[j] === "\r") {
        j += text[j] === "\r" && text[j + 1] === "\n" ? 2 : 1;
        breaks++;
        while (blank(text[j])) j++;
      }
      const folded = breaks === 1 ? 1 : breaks - 1;
      if (target < produced + folded) return i;
      produced += folded;
      i = j;
      continue;
    }
    if (target === produced) return i;
    produced++;
    i++;
  }
  return target === produced ? i : undefined;
}

/** The 1-based line/column a CEL compile error reports inside its expression, when it says. */
export function celErrorPosition(error: unknown): { line: number; column: number } | undefined {
  const details = (error as { details?: { line?: unknown; column?: unknown } } | null)?.details;
  if (typeof details?.line === "number" && typeof details.column === "number") return { line: details.line, column: details.column };
  const message = error instanceof Error ? error.message : String(error);
  const match = /(?:<input>)?:(\d+):(\d+)/.exec(message);
  if (match === null) return undefined;
  return { line: Number(match[1]), column: Number(match[2]) };
}
