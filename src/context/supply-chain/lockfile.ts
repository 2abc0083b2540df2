/**
 * The lockfile model the supply-chain pack works on, and `parseLockfile`, which reads npm's
 * package-lock.json / npm-shrinkwrap.json (lockfileVersion 1, 2, 3) and yarn.lock (v1, and the
 * YAML lockfiles of yarn 2+) into it.
 */
import { VigilError } from "../../core/errors.js";
import { parsePackageLock } from "./package-lock.js";
import { parseYarnLock } from "./yarn-lock.js";

export type LockfileFormat = "package-lock" | "yarn";

/** One dependency edge into a package instance: who declared it, with which spec. */
export interface Dependent {
  /** The dependent's install path (package-lock), `name@version` (yarn), or `""` for the project root. */
  readonly from: string;
  /** The spec as written (`^1.2.0`, `npm:d@^1.0.0`, `latest`). */
  readonly spec: string;
  readonly kind: "prod" | "dev" | "optional" | "peer";
}

/** One installed package instance. */
export interface LockedPackage {
  /** Registry name (for aliases, the real package: `node_modules/d-alias` with `name: d` → `d`). */
  readonly name: string;
  /** The locked version as written; registry packages have semver versions, git/file ones may not. */
  readonly version: string;
  /** Install path (`node_modules/a/node_modules/b`); for yarn, `name@version`. */
  readonly path: string;
  /** Only needed for development (package-lock `dev`/`devOptional`); yarn.lock does not say (false). */
  readonly dev: boolean;
  readonly optional: boolean;
  /** Edges into this instance, with the declared specs (what a fix must still satisfy). */
  readonly dependents: Dependent[];
}

export interface Lockfile {
  /** The file name or path it was read from, for messages. */
  readonly file: string;
  readonly format: LockfileFormat;
  /** package-lock `lockfileVersion` (1, 2, 3); yarn: 1 for the classic format, the `__metadata.version` for yarn 2+. */
  readonly lockfileVersion: number;
  readonly packages: readonly LockedPackage[];
}

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
