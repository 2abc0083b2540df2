/** The lockfile model the supply-chain pack works on (see lockfile.ts for parsing). */
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
  /** Only needed for development (package-lock `dev`); yarn.lock does not say (false). */
  readonly dev: boolean;
  /** Optional (package-lock `optional`, or `devOptional`: installed unless dev and optional are both omitted). */
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
