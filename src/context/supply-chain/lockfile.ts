/**
 * `parseLockfile`, which reads npm's
 * package-lock.json / npm-shrinkwrap.json (lockfileVersion 1, 2, 3) and yarn.lock (v1, and the
 * YAML lockfiles of yarn 2+) into it.
 */
import { VigilError } from "../../core/errors.js";
import { parsePackageLock } from "./package-lock.js";
import { parseYarnLock } from "./yarn-lock.js";
import type { Lockfile, LockfileFormat } from "./model.js";

export type { Dependent, LockedPackage, Lockfile, LockfileFormat } from "./model.js";


/** Which parser a file name calls for, when the name says it. */
export function formatOfFileName(file: string): LockfileFormat | undefined {
  const base = file.split(/[\\/]/).pop() ?? file;
  if (base.endsWith(".json")) return "package-lock";
  if (base === "yarn.lock" || base.endsWith(".lock")) return "yarn";
  return undefined;
}

/**
 * Parses a lockfile given as text or as an already-parsed package-lock object. The format comes
 * from the file name (`*.json` → package-lock, `*.lock` → yarn), else from the content.
 * Throws VigilError(VIGIL_BAD_INPUT) naming the file and the field or line: unparseable JSON, an
 * unknown `lockfileVersion`, a malformed yarn entry.
 */
export function parseLockfile(content: string | object, file: string): Lockfile {
  if (typeof content === "object") {
    if (content === null || Array.isArray(content)) throw new VigilError("VIGIL_BAD_INPUT", `${file}: a lockfile object must be a JSON object (package-lock.json); got ${Array.isArray(content) ? "an array" : "null"}`, { file, field: "(root)" });
    return parsePackageLock(content as Record<string, unknown>, file);
  }
  const format = formatOfFileName(file) ?? sniffFormat(content);
  if (format === "yarn") return parseYarnLock(content, file);
  let value: unknown;
  try {
    value = JSON.parse(content);
  } catch (cause) {
    const message = (cause as Error).message;
    const position = /position (\d+)/.exec(message)?.[1];
    const line = position === undefined ? undefined : lineOf(content, Number(position));
    throw new VigilError("VIGIL_BAD_INPUT", `${file}${line ? `:${line}` : ""}: not valid JSON (${message}); a package-lock.json must be the JSON file npm writes`, { file, field: "(root)", ...(line ? { line } : {}) }, cause);
  }
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    throw new VigilError("VIGIL_BAD_INPUT", `${file}: a package-lock.json must hold a JSON object, not ${Array.isArray(value) ? "an array" : typeof value}`, { file, field: "(root)" });
  }
  return parsePackageLock(value as Record<string, unknown>, file);
}

function sniffFormat(text: string): LockfileFormat {
  const start = text.trimStart();
  return start.startsWith("{") ? "package-lock" : "yarn";
}

function lineOf(text: string, offset: number): number {
  let line = 1;
  for (let i = 0; i < offset && i < text.length; i++) if (text.charCodeAt(i) === 10) line++;
  return line;
}
