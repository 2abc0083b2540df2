/**
 * yarn.lock: the classic v1 format (yarn 1), and the YAML lockfiles of yarn 2+ (`__metadata:`).
 *
 * A v1 entry is a line of comma-separated specs (`"@babel/code-frame@^7.0.0", "@babel/code-frame@^7.12.13":`)
 * followed by indented fields (`version "7.12.13"`) and dependency sections (`dependencies:` with
 * `name "spec"` lines). Every spec in an entry's key is a range someone declared for it; specs no
 * other entry asks for come from the project's package.json (the root). yarn.lock does not say
 * which packages are dev-only. Entries resolved from `file:`, `link:`, `workspace:` or `portal:`
 * specs are the project's own code and are left out.
 */
import { VigilError } from "../../core/errors.js";
import type { Dependent, Lockfile } from "./model.js";

interface MutablePackage {
  readonly name: string;
  readonly version: string;
  readonly path: string;
  readonly dev: boolean;
  optional: boolean;
  readonly dependents: Dependent[];
}

interface RawEntry {
  readonly specs: string[];
  readonly line: number;
  readonly fields: Map<string, string>;
  readonly deps: { name: string; spec: string; kind: Dependent["kind"] }[];
}

const sectionKinds: Readonly<Record<string, Dependent["kind"]>> = {
  dependencies: "prod",
  optionalDependencies: "optional",
  peerDependencies: "peer",
};

function unquote(text: string, file: string, line: number): string {
  if (!text.startsWith('"')) return text;
  try {
    return JSON.parse(text) as string;
  } catch (cause) {
    throw new VigilError("VIGIL_BAD_INPUT", `${file}:${line}: unterminated or malformed quoted string ${text}; the yarn.lock entry is corrupt (re-run \`yarn install\`)`, { file, line, field: `line ${line}` }, cause);
  }
}

/** End of a leading token: a quoted string (with escapes) or a run up to `stop`. */
function tokenEnd(content: string, stop: string): number {
  if (content.startsWith('"')) {
    let end = 1;
    while (end < content.length && content[end] !== '"') end += content[end] === "\\" ? 2 : 1;
    return end + 1;
  }
  const end = content.indexOf(stop);
  return end < 0 ? content.length : end;
}

/** Splits `a b` / `"a" "b c"` (v1) or `a: b` / `"a": "b"` (yarn 2+) into key and value. */
function splitPair(content: string, file: string, line: number, berry: boolean): [string, string] {
  const end = tokenEnd(content, berry ? ":" : " ");
  const key = unquote(content.slice(0, end), file, line);
  let rest = content.slice(end);
  if (berry) {
    if (!rest.startsWith(":")) throw new VigilError("VIGIL_BAD_INPUT", `${file}:${line}: expected \`key: value\`, got ${JSON.stringify(content.slice(0, 80))}; the yarn.lock entry is corrupt (re-run \`yarn install\`)`, { file, line, field: `line ${line}` });
    rest = rest.slice(1);
  }
  return [key, unquote(rest.trim(), file, line)];
}

/** Splits an entry key into its specs, honouring quotes. */
function splitSpecs(key: string, file: string, line: number): string[] {
  const specs: string[] = [];
  let current = "";
  let quoted = false;
  for (let i = 0; i < key.length; i++) {
    const char = key[i] as string;
    if (char === '"') quoted = !quoted;
    if (char === "," && !quoted) {
      specs.push(unquote(current.trim(), file, line));
      current = "";
    } else {
      current += char;
    }
  }
  if (quoted) throw new VigilError("VIGIL_BAD_INPUT", `${file}:${line}: unterminated quote in the entry key; the yarn.lock entry is corrupt (re-run \`yarn install\`)`, { file, line, field: `line ${line}` });
  if (current.trim() !== "") specs.push(unquote(current.trim(), file, line));
  return specs;
}

/** `@scope/name@^1.0.0` → [`@scope/name`, `^1.0.0`]; a spec without a range (`balanced-match`) → [name, `*`]. */
export function splitYarnSpec(spec: string): [string, string] {
  const at = spec.indexOf("@", spec.startsWith("@") ? 1 : 0);
  if (at < 0) return [spec, "*"];
  return [spec.slice(0, at), spec.slice(at + 1)];
}

const localProtocols = /^(file|link|workspace|portal|patch):/;

/** The registry name behind a spec: `alias@npm:real@^1` → `real`. */
function realName(name: string, range: string): string {
  if (!range.startsWith("npm:")) return name;
  const rest = range.slice(4);
  const at = rest.lastIndexOf("@");
  return at > 0 ? rest.slice(0, at) : name;
}

/**
 * Reads the entries line by line. yarn 2+ lockfiles are YAML, but always in this restricted shape
 * (keys at column 0, fields at 2, dependency maps at 4), so the same reader handles both without a
 * general YAML parser (which is 10-50x slower on big lockfiles).
 */
function parseEntries(text: string, file: string, berry: boolean): { entries: RawEntry[]; metadataVersion: number } {
  let metadataVersion = 1;
  const entries: RawEntry[] = [];
  let current: RawEntry | undefined;
  let metadata: RawEntry | undefined;
  let section: Dependent["kind"] | "other" | undefined;
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i] as string;
    const lineText = raw.endsWith("\r") ? raw.slice(0, -1) : raw;
    const line = i + 1;
    if (lineText.trim() === "" || lineText.startsWith("#")) continue;
    let indent = 0;
    while (lineText.charCodeAt(indent) === 32) indent++;
    const content = lineText.slice(indent);
    if (indent === 0) {
      if (!content.endsWith(":")) {
        throw new VigilError("VIGIL_BAD_INPUT", `${file}:${line}: expected an entry key like \`name@^1.0.0:\`, got ${JSON.stringify(content.slice(0, 80))}; this is not a yarn.lock file`, { file, line, field: `line ${line}` });
      }
      const key = content.slice(0, -1);
      const specs = berry ? unquote(key, file, line).split(",").map((spec) => spec.trim()).filter(Boolean) : splitSpecs(key, file, line);
      current = { specs, line, fields: new Map(), deps: [] };
      section = undefined;
      if (specs[0] === "__metadata") metadata = current;
      else entries.push(current);
    } else if (!current) {
      throw new VigilError("VIGIL_BAD_INPUT", `${file}:${line}: indented line before any entry key; this is not a yarn.lock file`, { file, line, field: `line ${line}` });
    } else if (indent === 2) {
      if (content.endsWith(":")) {
        section = sectionKinds[unquote(content.slice(0, -1), file, line)] ?? "other";
      } else {
        const [key, value] = splitPair(content, file, line, berry);
        current.fields.set(key, value);
        section = undefined;
      }
    } else if (indent === 4 && section !== undefined && section !== "other") {
      const [name, spec] = splitPair(content, file, line, berry);
      current.deps.push({ name, spec, kind: section });
    }
  }
  if (metadata) metadataVersion = Number(metadata.fields.get("version") ?? 0);
  return { entries, metadataVersion };
}

/** Parses yarn.lock text. Throws VigilError naming the file and line of a malformed entry. */
export function parseYarnLock(text: string, file: string): Lockfile {
  const berry = /^__metadata:/m.test(text);
  const { entries, metadataVersion: version } = parseEntries(text, file, berry);
  const bySpec = new Map<string, MutablePackage>();
  const packages: MutablePackage[] = [];
  const kept: { entry: RawEntry; pkg: MutablePackage }[] = [];
  for (const entry of entries) {
    const first = entry.specs[0];
    if (first === undefined) continue;
    const [specName, range] = splitYarnSpec(first);
    const version = entry.fields.get("version");
    if (version === undefined) {
      throw new VigilError("VIGIL_BAD_INPUT", `${file}${entry.line ? `:${entry.line}` : ""}: entry ${JSON.stringify(first)} has no version field; the yarn.lock entry is corrupt (re-run \`yarn install\`)`, { file, field: `${first}.version`, ...(entry.line ? { line: entry.line } : {}) });
    }
    const resolution = entry.fields.get("resolution");
    const local = entry.specs.every((s) => localProtocols.test(splitYarnSpec(s)[1])) || entry.fields.get("linkType") === "soft" || (resolution !== undefined && /@(workspace|patch|link|portal|file):/.test(resolution));
    if (local) continue;
    const name = resolution !== undefined && resolution.includes("@npm:") ? resolution.slice(0, resolution.indexOf("@npm:", 1)) : realName(specName, range);
    const pkg: MutablePackage = { name, version, path: `${name}@${version}`, dev: false, optional: false, dependents: [] };
    packages.push(pkg);
    kept.push({ entry, pkg });
    for (const spec of entry.specs) bySpec.set(spec, pkg);
  }
  const referenced = new Set<string>();
  for (const { entry, pkg } of kept) {
    for (const dep of entry.deps) {
      const key = `${dep.name}@${dep.spec}`;
      const target = bySpec.get(key) ?? (berry ? bySpec.get(`${dep.name}@npm:${dep.spec}`) : undefined);
      if (!target) continue;
      referenced.add(bySpec.get(key) ? key : `${dep.name}@npm:${dep.spec}`);
      target.dependents.push({ from: pkg.path, spec: dep.spec, kind: dep.kind });
    }
  }
  for (const [spec, pkg] of bySpec) {
    if (!referenced.has(spec)) pkg.dependents.push({ from: "", spec: splitYarnSpec(spec)[1], kind: "prod" });
  }
  // Optional: reachable only through optional edges.
  for (const pkg of packages) {
    if (pkg.dependents.length > 0 && pkg.dependents.every((d) => d.kind === "optional")) pkg.optional = true;
  }
  return { file, format: "yarn", lockfileVersion: version, packages };
}
