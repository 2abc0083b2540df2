/**
 * package-lock.json / npm-shrinkwrap.json, lockfileVersion 1, 2 and 3.
 *
 * v2 and v3 list every install location under `packages` (`node_modules/a/node_modules/b`), with
 * each package's own declared dependency specs; v1 nests `dependencies` and lists `requires`.
 * A v2 file without `packages` (written by some tools) is read like v1. Dependency edges are
 * resolved the way Node resolves `require`: from the dependent's folder up to the root.
 *
 * Entries outside `node_modules` (workspace folders, `file:` packages) and workspace links are
 * the project's own code, not registry packages: they are not listed as packages but their
 * declared dependencies still count as dependents.
 */
import { VigilError } from "../../core/errors.js";
import type { Dependent, LockedPackage, Lockfile } from "./model.js";

type Json = Record<string, unknown>;

const SUPPORTED = [1, 2, 3];

function isObject(value: unknown): value is Json {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

/** Parses a package-lock object. Throws VigilError naming the file and field when it is not one. */
export function parsePackageLock(json: Json, file: string): Lockfile {
  const version = json["lockfileVersion"];
  if (version === undefined) {
    throw new VigilError("VIGIL_BAD_INPUT", `${file}: lockfileVersion is missing; this is not a package-lock.json written by npm 5 or later (regenerate it with \`npm install --package-lock-only\`)`, { file, field: "lockfileVersion" });
  }
  if (typeof version !== "number" || !SUPPORTED.includes(version)) {
    throw new VigilError("VIGIL_BAD_INPUT", `${file}: lockfileVersion ${JSON.stringify(version)} is not supported (supported: ${SUPPORTED.join(", ")}); regenerate the lockfile with npm 7 or later`, { file, field: "lockfileVersion" });
  }
  const packages = json["packages"];
  if (packages !== undefined && !isObject(packages)) {
    throw new VigilError("VIGIL_BAD_INPUT", `${file}: packages must be an object of install path → package, not ${Array.isArray(packages) ? "an array" : typeof packages}`, { file, field: "packages" });
  }
  const dependencies = json["dependencies"];
  if (dependencies !== undefined && !isObject(dependencies)) {
    throw new VigilError("VIGIL_BAD_INPUT", `${file}: dependencies must be an object of name → package, not ${Array.isArray(dependencies) ? "an array" : typeof dependencies}`, { file, field: "dependencies" });
  }
  if (version >= 2 && packages !== undefined) return { file, format: "package-lock", lockfileVersion: version, packages: fromPackages(packages, file) };
  if (version === 3 && packages === undefined) {
    throw new VigilError("VIGIL_BAD_INPUT", `${file}: lockfileVersion 3 needs a packages object; the file is truncated or not written by npm`, { file, field: "packages" });
  }
  return { file, format: "package-lock", lockfileVersion: version, packages: fromDependencyTree(dependencies ?? {}, file) };
}

/** `node_modules/@s/a/node_modules/b` → `b`; undefined when the path is not inside node_modules. */
function nameFromPath(path: string): string | undefined {
  const at = path.lastIndexOf("node_modules/");
  if (at < 0) return undefined;
  return path.slice(at + "node_modules/".length);
}

/** The folder that holds `path`'s node_modules: `node_modules/a/node_modules/b` → `node_modules/a`. */
function parentOf(path: string): string | undefined {
  const at = path.lastIndexOf("/node_modules/");
  if (at >= 0) return path.slice(0, at);
  return path.startsWith("node_modules/") ? "" : undefined;
}

/** Node's resolution: `<from>/node_modules/<name>`, then each ancestor folder, up to the root. */
function resolveFrom(from: string, name: string, index: ReadonlyMap<string, MutablePackage>): MutablePackage | undefined {
  let folder: string | undefined = from;
  while (folder !== undefined) {
    const found = index.get(folder === "" ? `node_modules/${name}` : `${folder}/node_modules/${name}`);
    if (found) return found;
    if (folder === "") return undefined;
    folder = parentOf(folder) ?? "";
  }
  return undefined;
}

interface MutablePackage extends LockedPackage {
  readonly dependents: Dependent[];
}

const dependencyFields: readonly [string, Dependent["kind"]][] = [
  ["dependencies", "prod"],
  ["optionalDependencies", "optional"],
  ["peerDependencies", "peer"],
  ["devDependencies", "dev"],
];

function fromPackages(packages: Json, file: string): LockedPackage[] {
  const index = new Map<string, MutablePackage>();
  const out: MutablePackage[] = [];
  for (const path in packages) {
    if (path === "") continue;
    const entry = packages[path];
    if (!isObject(entry)) throw new VigilError("VIGIL_BAD_INPUT", `${file}: packages["${path}"] must be an object, not ${entry === null ? "null" : typeof entry}`, { file, field: `packages["${path}"]` });
    if (entry["link"] === true) continue;
    const folderName = nameFromPath(path);
    if (folderName === undefined) continue;
    const version = entry["version"];
    if (version === undefined) continue;
    if (typeof version !== "string") throw new VigilError("VIGIL_BAD_INPUT", `${file}: packages["${path}"].version must be a string, not ${typeof version}`, { file, field: `packages["${path}"].version` });
    const name = typeof entry["name"] === "string" && entry["name"] !== "" ? entry["name"] : folderName;
    // `devOptional`: needed by a dev and by an optional dependency, so installed unless both are omitted.
    const pkg: MutablePackage = { name, version, path, dev: entry["dev"] === true, optional: entry["optional"] === true || entry["devOptional"] === true, dependents: [] };
    index.set(path, pkg);
    out.push(pkg);
  }
  // Edges: every entry (the root and workspace folders included) declares specs by folder name.
  for (const from in packages) {
    const entry = packages[from];
    if (!isObject(entry) || entry["link"] === true) continue;
    for (const [field, kind] of dependencyFields) {
      const declared = entry[field];
      if (!isObject(declared)) continue;
      for (const depName in declared) {
        const spec = declared[depName];
        if (typeof spec !== "string") continue;
        const target = resolveFrom(from, depName, index);
        if (target) target.dependents.push({ from, spec, kind: kind === "prod" && entry["dev"] === true ? "dev" : kind });
      }
    }
  }
  return out;
}

/** `npm:@babel/code-frame@7.0.0` → name and version of the aliased package. */
function splitAlias(version: string): { name: string; version: string } | undefined {
  if (!version.startsWith("npm:")) return undefined;
  const rest = version.slice(4);
  const at = rest.lastIndexOf("@");
  if (at <= 0) return undefined;
  return { name: rest.slice(0, at), version: rest.slice(at + 1) };
}

function fromDependencyTree(dependencies: Json, file: string): LockedPackage[] {
  const index = new Map<string, MutablePackage>();
  const out: MutablePackage[] = [];
  const requires: { from: string; entry: Json }[] = [];
  const walk = (deps: Json, parent: string, field: string): void => {
    for (const folderName in deps) {
      const entry = deps[folderName];
      const where = `${field}["${folderName}"]`;
      if (!isObject(entry)) throw new VigilError("VIGIL_BAD_INPUT", `${file}: ${where} must be an object, not ${entry === null ? "null" : typeof entry}`, { file, field: where });
      const path = parent === "" ? `node_modules/${folderName}` : `${parent}/node_modules/${folderName}`;
      const version = entry["version"];
      if (typeof version === "string") {
        const alias = splitAlias(version);
        const pkg: MutablePackage = { name: alias?.name ?? folderName, version: alias?.version ?? version, path, dev: entry["dev"] === true, optional: entry["optional"] === true, dependents: [] };
        index.set(path, pkg);
        out.push(pkg);
      } else if (version !== undefined) {
        throw new VigilError("VIGIL_BAD_INPUT", `${file}: ${where}.version must be a string, not ${typeof version}`, { file, field: `${where}.version` });
      }
      requires.push({ from: path, entry });
      const nested = entry["dependencies"];
      if (isObject(nested)) walk(nested, path, `${where}.dependencies`);
    }
  };
  walk(dependencies, "", "dependencies");
  const required = new Set<MutablePackage>();
  for (const { from, entry } of requires) {
    const declared = entry["requires"];
    if (!isObject(declared)) continue;
    const dev = entry["dev"] === true;
    for (const depName in declared) {
      const spec = declared[depName];
      const target = resolveFrom(from, depName, index);
      if (!target) continue;
      required.add(target);
      // Very old lockfiles write `requires: { name: true }`: an edge without a spec.
      target.dependents.push({ from, spec: typeof spec === "string" ? spec : "*", kind: dev ? "dev" : "prod" });
    }
  }
  // v1 does not record the root's specs (they live in package.json): a top-level package nobody
  // requires is a direct dependency of the root with an unknown spec.
  for (const pkg of out) {
    if (!required.has(pkg) && !pkg.path.includes("/node_modules/")) pkg.dependents.push({ from: "", spec: "*", kind: pkg.dev ? "dev" : "prod" });
  }
  return out;
}
