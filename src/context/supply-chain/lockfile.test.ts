import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { isVigilError, type VigilError } from "../../core/errors.js";
import { parseLockfile, type LockedPackage, type Lockfile } from "./lockfile.js";

const fixtures = new URL("../../../test/fixtures/", import.meta.url);
const read = (path: string): string => readFileSync(new URL(path, fixtures), "utf8");
const scalibr = (name: string): Lockfile => parseLockfile(read(`osv-scalibr-npm/packagelockjson/${name}`), name);
const yarn = (name: string): Lockfile => parseLockfile(read(`osv-scalibr-npm/yarnlock/${name}`), name);
const ids = (lock: Lockfile): string[] => lock.packages.map((p) => `${p.name}@${p.version}`).sort();
const find = (lock: Lockfile, path: string): LockedPackage => {
  const pkg = lock.packages.find((p) => p.path === path);
  if (!pkg) throw new Error(`no package at ${path}`);
  return pkg;
};

function thrown(run: () => unknown): VigilError {
  try {
    run();
  } catch (error) {
    if (isVigilError(error)) return error;
    throw error;
  }
  throw new Error("expected a VigilError");
}

describe("package-lock.json (osv-scalibr parser fixtures)", () => {
  it("reads v1 and v2 of the same project to the same packages", () => {
    for (const name of ["one-package", "two-packages", "scoped-packages", "nested-dependencies", "same-package-different-groups", "optional-package", "one-package-dev"]) {
      const v1 = scalibr(`${name}.v1.json`);
      const v2 = scalibr(`${name}.v2.json`);
      expect(v1.lockfileVersion, name).toBe(1);
      expect(v2.lockfileVersion, name).toBe(2);
      expect(ids(v2), name).toEqual(ids(v1));
    }
  });

  it("reads nested install paths and resolves dependency edges the way Node does", () => {
    const lock = scalibr("nested-dependencies.v2.json");
    expect(ids(lock)).toEqual(["postcss-calc@7.0.1", "postcss@6.0.23", "postcss@7.0.16", "supports-color@5.5.0", "supports-color@6.1.0"]);
    const nested = find(lock, "node_modules/postcss-calc/node_modules/postcss");
    expect(nested.version).toBe("7.0.16");
    expect(nested.dependents).toContainEqual({ from: "node_modules/postcss-calc", spec: "^7.0.5", kind: "prod" });
  });

  it("keeps the real name of aliased packages (v1 npm: versions, v2 name fields) and the alias spec", () => {
    expect(ids(scalibr("alias.v1.json"))).toEqual(["@babel/code-frame@7.0.0", "string-width@4.2.0", "string-width@5.1.2"]);
    const v2 = scalibr("alias.v2.json");
    expect(ids(v2)).toEqual(["@babel/code-frame@7.0.0", "string-width@4.2.0", "string-width@5.1.2"]);
    expect(find(v2, "node_modules/string-width-cjs").dependents).toContainEqual({ from: "", spec: "npm:string-width@^4.2.0", kind: "prod" });
  });

  it("marks dev and optional packages (devOptional is optional, not dev-only)", () => {
    const dev = scalibr("one-package-dev.v2.json");
    expect(dev.packages[0]).toMatchObject({ name: "wrappy", dev: true });
    const optional = scalibr("optional-package.v2.json");
    expect(find(optional, "node_modules/wrappy")).toMatchObject({ dev: false, optional: true });
    expect(find(optional, "node_modules/supports-color")).toMatchObject({ dev: false, optional: true });
  });

  it("reads lockfileVersion 3 with bundled dependencies", () => {
    const lock = scalibr("bundled-dependencies.v3.json");
    expect(lock.lockfileVersion).toBe(3);
    expect(ids(lock)).toEqual(["ansi-regex@6.2.2", "semver@7.7.2", "strip-ansi@7.1.2"]);
  });

  it("keeps git and file versions as written (they are never matched as registry versions)", () => {
    const v1 = scalibr("commits.v1.json");
    expect(v1.packages.find((p) => p.name === "is-number-2")?.version).toBe("github:jonschlinkert/is-number#d5ac0584ee9ae7bd9288220a39780f155b9ad4c8");
    const files = scalibr("files.v2.json");
    expect(ids(files)).toEqual(["abbrev@1.0.9", "abbrev@2.3.4"]);
    expect(files.packages.map((p) => p.path)).toContain("deps/etag/node_modules/abbrev");
  });

  it("reads empty lockfiles and a lockfile named npm-shrinkwrap.json", () => {
    expect(scalibr("empty.v1.json").packages).toEqual([]);
    expect(scalibr("empty.v2.json").packages).toEqual([]);
    expect(parseLockfile(read("osv-scalibr-npm/packagelockjson/npm-shrinkwrap-only/npm-shrinkwrap.json"), "npm-shrinkwrap.json").packages.length).toBeGreaterThan(0);
  });

  it("accepts an already-parsed object", () => {
    const object = JSON.parse(read("osv-scalibr-npm/packagelockjson/two-packages.v2.json")) as object;
    expect(ids(parseLockfile(object, "package-lock.json"))).toEqual(ids(scalibr("two-packages.v2.json")));
  });

  it("reads the osv-detector npm fixtures", () => {
    for (const name of ["with-aliases.v1.json", "with-aliases.v2.json", "commits.v2.json", "files.v1.json"]) {
      const lock = parseLockfile(read(`osv-detector-lockfiles/npm/${name}`), name);
      expect(lock.packages.length, name).toBeGreaterThan(0);
    }
  });
});

describe("package-lock.json errors name the file and field", () => {
  it("not JSON (the upstream not-json fixture)", () => {
    const error = thrown(() => parseLockfile(read("osv-scalibr-npm/packagelockjson/not-json.txt"), "package-lock.json"));
    expect(error.code).toBe("VIGIL_BAD_INPUT");
    expect(error.details).toMatchObject({ file: "package-lock.json", field: "(root)" });
    expect(error.message).toMatch(/^package-lock\.json(:1)?: not valid JSON/);
  });

  it("a JSON null (the upstream null fixture)", () => {
    const error = thrown(() => parseLockfile(read("osv-scalibr-npm/packagelockjson/null.v2.jsontest"), "package-lock.json"));
    expect(error.message).toMatch(/must hold a JSON object, not object|not null|JSON object/);
  });

  it("an unknown lockfileVersion names the field and the supported versions", () => {
    const error = thrown(() => parseLockfile(JSON.stringify({ lockfileVersion: 4, packages: {} }), "app/package-lock.json"));
    expect(error.details).toMatchObject({ file: "app/package-lock.json", field: "lockfileVersion" });
    expect(error.message).toContain("lockfileVersion 4 is not supported (supported: 1, 2, 3)");
  });

  it("a missing lockfileVersion", () => {
    expect(thrown(() => parseLockfile("{\"dependencies\": {}}", "package-lock.json")).details.field).toBe("lockfileVersion");
  });

  it("a malformed entry names its path", () => {
    const error = thrown(() => parseLockfile(JSON.stringify({ lockfileVersion: 2, packages: { "node_modules/a": { version: 3 } } }), "package-lock.json"));
    expect(error.details.field).toBe('packages["node_modules/a"].version');
  });

  it("a truncated file names the line", () => {
    const text = read("osv-scalibr-npm/packagelockjson/two-packages.v2.json");
    const error = thrown(() => parseLockfile(text.slice(0, text.length / 2), "package-lock.json"));
    expect(error.details.line).toBe(17);
    expect(error.message).toMatch(/^package-lock\.json:17: not valid JSON/);
  });
});

describe("yarn.lock (osv-scalibr and osv-detector fixtures)", () => {
  it("reads v1 entries with several specs, scoped names and quoted fields", () => {
    const lock = yarn("multiple-constraints.v1.lock");
    expect(lock.format).toBe("yarn");
    expect(ids(lock)).toEqual(["@babel/code-frame@7.12.13", "domelementtype@1.3.1"]);
    const frame = lock.packages.find((p) => p.name === "@babel/code-frame") as LockedPackage;
    expect(frame.dependents.map((d) => d.spec).sort()).toEqual(["^7.0.0", "^7.12.13"]);
    expect(ids(yarn("with-quotes.v1.lock"))).toEqual(["concat-map@0.0.1", "concat-stream@1.6.2"]);
  });

  it("reads yarn 2+ lockfiles (YAML form, npm: protocol, quoted keys with several specs)", () => {
    const expected: Record<string, string[]> = {
      "one-package": ["balanced-match@1.0.2"],
      "two-packages": ["compare-func@2.0.0", "concat-map@0.0.1"],
      "with-quotes": ["compare-func@2.0.0", "concat-map@0.0.1"],
      "multiple-versions": ["debug@2.6.9", "debug@3.2.7", "debug@4.3.3"],
      "with-aliases": ["@babel/helper-validator-identifier@7.22.20", "ansi-regex@5.0.1", "ansi-regex@6.0.1"],
      "with-prerelease": ["@nicolo-ribaudo/chokidar-2@2.1.8-no-fsevents.3", "gensync@1.0.0-beta.2"],
      "scoped-packages": ["@babel/cli@7.16.8", "@babel/code-frame@7.16.7", "@babel/compat-data@7.16.8"],
    };
    for (const [name, want] of Object.entries(expected)) {
      const berry = yarn(`${name}.v2.lock`);
      expect(berry.lockfileVersion, name).toBeGreaterThan(1);
      expect(ids(berry), name).toEqual(want);
    }
    const debug4 = yarn("multiple-versions.v2.lock").packages.find((p) => p.version === "4.3.3") as LockedPackage;
    expect(debug4.dependents.map((d) => d.spec)).toEqual(["npm:4", "npm:^4.0.0", "npm:^4.1.0", "npm:^4.1.1", "npm:^4.3.1", "npm:^4.3.2", "npm:^4.3.3"]);
  });

  it("resolves aliases to the real package and leaves out file:, link: and workspace entries", () => {
    expect(ids(yarn("with-aliases.v1.lock"))).toEqual(["@babel/helper-validator-identifier@7.22.20", "ansi-regex@5.0.1", "ansi-regex@6.0.1"]);
    expect(ids(yarn("files.v1.lock"))).toEqual(["etag@1.8.1", "lodash@1.3.1", "sprintf-js@0.0.0"]);
    expect(ids(yarn("files.v2.lock"))).toEqual([]);
    expect(ids(yarn("exclude-root.v2.lock"))).toEqual(["ansi-regex@6.1.0"]);
  });

  it("links dependents through the dependency sections", () => {
    const lock = parseLockfile(read("osv-detector-lockfiles/yarn/two-packages.v1.lock"), "yarn.lock");
    expect(lock.packages.length).toBe(2);
    const multiple = parseLockfile(read("osv-detector-lockfiles/yarn/multiple-versions.v1.lock"), "yarn.lock");
    const withDependents = multiple.packages.filter((p) => p.dependents.some((d) => d.from !== ""));
    for (const pkg of withDependents) for (const d of pkg.dependents.filter((x) => x.from !== "")) expect(multiple.packages.some((p) => p.path === d.from)).toBe(true);
  });

  it("reads empty lockfiles of both generations", () => {
    expect(yarn("empty.v1.lock").packages).toEqual([]);
    expect(yarn("empty.v2.lock").packages).toEqual([]);
  });

  it("a corrupt entry is reported with the file and line", () => {
    const good = read("osv-scalibr-npm/yarnlock/two-packages.v1.lock");
    const broken = good.replace("concat-stream@^1.5.0:", "concat-stream@^1.5.0");
    const error = thrown(() => parseLockfile(broken, "web/yarn.lock"));
    expect(error.details.file).toBe("web/yarn.lock");
    expect(error.details.line).toBe(good.split("\n").findIndex((l) => l.startsWith("concat-stream@")) + 1);
    expect(error.message).toContain("web/yarn.lock:");
  });

  it("an entry without a version is reported", () => {
    const error = thrown(() => parseLockfile("# yarn lockfile v1\n\nleft-pad@^1.0.0:\n  resolved \"https://x\"\n", "yarn.lock"));
    expect(error.message).toContain("has no version field");
    expect(error.details.line).toBe(3);
  });

  it("the not-json fixture read as yarn.lock is rejected at line 1", () => {
    const error = thrown(() => parseLockfile(read("osv-scalibr-npm/packagelockjson/not-json.txt"), "yarn.lock"));
    expect(error.details.line).toBe(1);
  });
});

describe("the big real lockfiles of osv-detector", () => {
  it("reads every package with its dependents", () => {
    const one = parseLockfile(read("osv-detector-lockfiles/locks-e2e/1-package-lock.json"), "1-package-lock.json");
    const two = parseLockfile(read("osv-detector-lockfiles/locks-e2e/2-package-lock.json"), "2-package-lock.json");
    expect(one.packages.length).toBe(1531);
    expect(two.packages.length).toBe(1771);
    // Every installed package except the root's own dependencies is needed by something.
    const orphans = one.packages.filter((p) => p.dependents.length === 0);
    expect(orphans.length).toBeLessThan(one.packages.length * 0.02);
  });
});
