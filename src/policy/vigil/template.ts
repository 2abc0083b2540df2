/**
 * Message templates: literal text with `{{ cel }}` parts, compiled once at load and rendered
 * only for findings that are returned (violations, and passes/skips in explain mode).
 */
import type { CelProgram } from "../cel/api.js";

export type TemplatePart = string | { readonly program: CelProgram; readonly offset: number };

export interface CompiledTemplate {
  readonly source: string;
  readonly parts: readonly TemplatePart[];
}

/** Splits a template into literal and expression parts; `offset` is the expression's 0-based start in the template. */
export function splitTemplate(source: string): { text?: string; expression?: string; offset: number }[] {
  const out: { text?: string; expression?: string; offset: number }[] = [];
  let position = 0;
  while (position < source.length) {
    const open = source.indexOf("{{", position);
    if (open < 0) {
      out.push({ text: source.slice(position), offset: position });
      break;
    }
    const close = source.indexOf("}}", open + 2);
    if (close < 0) {
      out.push({ text: source.slice(position), offset: position });
      break;
    }
    if (open > position) out.push({ text: source.slice(position, open), offset: position });
    const raw = source.slice(open + 2, close);
    const leading = raw.length - raw.trimStart().length;
    out.push({ expression: raw.trim(), offset: open + 2 + leading });
    position = close + 2;
  }
  return out;
}

/** Renders a value for a message: strings as they are, everything else as JSON. */
export function renderValue(value: unknown): string {
  if (typeof value === "string") return value;
  if (typeof value === "bigint") return value.toString();
  if (value instanceof Date) return value.toISOString();
  if (value === undefined) return "";
  try {
    return JSON.stringify(value, (_key, item: unknown) => (typeof item === "bigint" ? Number(item) : item instanceof Map ? Object.fromEntries(item) : item)) ?? String(value);
  } catch {
    return String(value);
  }
}
