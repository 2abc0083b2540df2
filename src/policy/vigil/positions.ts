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
 * Where line/column `(line, column)` of a string value (1-based, counted inside the value) sits in
 * the file. Exact for plain, quoted-on-one-line and literal block (`|`) scalars; a close
 * approximation for folded (`>`) and multi-line quoted scalars.
 */
export function positionInScalar(doc: PolicyDocument, path: FieldPath, line: number, column: number): FilePosition | undefined {
  const start = doc.position(path);
  if (start === undefined) return undefined;
  const lines = doc.text.split(/\r?\n/);
  const first = lines[start.line - 1] ?? "";
  const indicator = first[start.column - 1];
  if (indicator === "|" || indicator === ">") {
    let contentLine = start.line + 1;
    while (contentLine <= lines.length && (lines[contentLine - 1] ?? "").trim() === "") contentLine++;
    const indent = ((lines[contentLine - 1] ?? "").match(/^ */)?.[0].length ?? 0);
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
  const quoted = indicator === "\"" || indicator === "'";
  if (line === 1) return { line: start.line, column: start.column + (quoted ? 1 : 0) + column - 1 };
  return { line: start.line + line - 1, column };
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
