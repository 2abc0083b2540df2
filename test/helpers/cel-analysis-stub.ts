/**
 * Test helper: wraps a CelEnvironment so compiled programs carry `terms`, `references` and
 * `requiredValues` computed by a deliberately tiny analyzer (top-level && / || split, dotted
 * identifier paths, `path == literal` / `path in [literals]` conjuncts). It lets the policy engine's
 * traces and index be tested independently of how far the real CEL implementation's analysis goes.
 * Only for the simple expressions the tests use.
 */
import type { IndexKey } from "../../src/core/policy.js";
import type { CelEnvironment, CelProgram } from "../../src/policy/cel/api.js";

function splitTopLevel(source: string, operator: "&&" | "||"): string[] {
  const parts: string[] = [];
  let depth = 0;
  let quote: string | undefined;
  let start = 0;
  for (let i = 0; i < source.length; i++) {
    const ch = source[i] as string;
    if (quote !== undefined) {
      if (ch === "\\") i++;
      else if (ch === quote) quote = undefined;
      continue;
    }
    if (ch === "\"" || ch === "'") quote = ch;
    else if (ch === "(" || ch === "[" || ch === "{") depth++;
    else if (ch === ")" || ch === "]" || ch === "}") depth--;
    else if (depth === 0 && source.startsWith(operator, i)) {
      parts.push(source.slice(start, i).trim());
      start = i + 2;
      i++;
    }
  }
  parts.push(source.slice(start).trim());
  return parts;
}

function literal(text: string): string | number | boolean | undefined {
  const t = text.trim();
  if (/^"[^"\\]*"$/.test(t) || /^'[^'\\]*'$/.test(t)) return t.slice(1, -1);
  if (t === "true") return true;
  if (t === "false") return false;
  if (/^-?\d+(\.\d+)?$/.test(t)) return Number(t);
  return undefined;
}

const pathPattern = /^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$/

function requiredOf(conjunct: string): IndexKey | undefined {
  const eq = /^([A-Za-z_][\w.]*)\s*==\s*(.+)$/.exec(conjunct);
  if (eq !== null && pathPattern.test(eq[1] as string)) {
    const value = literal(eq[2] as string);
    if (value !== undefined) return { path: eq[1] as string, values: [value] };
  }
  const inList = /^([A-Za-z_][\w.]*)\s+in\s+\[(.*)\]$/.exec(conjunct);
  if (inList !== null && pathPattern.test(inList[1] as string)) {
    const values = (inList[2] as string).split(",").map(literal);
    if (values.every((v) => v !== undefined)) return { path: inList[1] as string, values: values as (string | number | boolean)[] };
  }
  return undefined;
}

function references(source: string): string[] {
  const code = source.replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'/g, "\"\"");
  const out = new Set<string>();
  for (const m of code.matchAll(/(?<![\w.])([A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)(?![\w.]*\s*\()/g)) {
    const path = m[1] as string;
    if (!["true", "false", "null", "in"].includes(path)) out.add(path);
  }
  return [...out];
}

export function withAnalysis(env: CelEnvironment): CelEnvironment {
  const analyse = (program: CelProgram): CelProgram => {
    const source = program.source;
    let terms: CelProgram["terms"];
    for (const operator of ["||", "&&"] as const) {
      const parts = splitTopLevel(source, operator);
      if (parts.length > 1) {
        terms = { operator, parts: parts.map((p) => analyse(env.compile(p))) };
        break;
      }
    }
    const required = terms?.operator === "&&" ? terms.parts.map((p) => requiredOf(p.source)).filter((k) => k !== undefined)
      : terms === undefined && requiredOf(source.trim()) !== undefined ? [requiredOf(source.trim()) as IndexKey] : [];
    return {
      source,
      evaluate: (activation, options) => program.evaluate(activation, options),
      references: references(source),
      requiredValues: required,
      ...(terms === undefined ? {} : { terms }),
    };
  };
  return {
    compile: (source, options) => analyse(env.compile(source, options)),
    extend: (options) => withAnalysis(env.extend(options)),
  };
}
