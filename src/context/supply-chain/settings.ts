/**
 * Settings of the supply-chain pack (packs/supply-chain/settings.yaml), validated once where they
 * enter. Unknown keys are errors that name the key, so a typo does not silently keep a default.
 */
import { readFileSync } from "node:fs";
import { dirname, isAbsolute, resolve } from "node:path";
import { parse as parseYaml } from "yaml";
import { VigilError } from "../../core/errors.js";
import { shippedAdvisoriesDir } from "./advisory-set.js";
import { severityRank, type AdvisorySeverity } from "./severity.js";

export interface SupplyChainSettings {
  /** Vulnerabilities at or above this severity block (`critical | high | medium | low`). */
  readonly severityThreshold: AdvisorySeverity;
  /** Severity given to advisories that carry none. */
  readonly unknownSeverity: AdvisorySeverity;
  /** Dev-only packages: `block` like the others, or `warn` (listed, never blocking). */
  readonly devDependencies: "block" | "warn";
  /** Lockfile paths fetched from GitHub for pull_request events, in order. */
  readonly lockfiles: readonly string[];
  /** Commit status context the pack's remediation sets. */
  readonly statusContext: string;
  /** Most vulnerable entries listed in `context.dependencies` (the counts stay exact). */
  readonly maxListed: number;
  /** Advisory files/directories (absolute), loaded before the imported set; default: the shipped set. */
  readonly advisories: readonly string[];
  /** Directory where `vigil advisories import` keeps imported OSV files (absolute). */
  readonly importedAdvisories: string;
  /** Branches whose dependency changes count as merged (a push there is a merge). */
  readonly mergeBranches: readonly string[];
}

export const defaultSupplyChainSettings: SupplyChainSettings = {
  severityThreshold: "high",
  unknownSeverity: "medium",
  devDependencies: "warn",
  lockfiles: ["package-lock.json", "npm-shrinkwrap.json", "yarn.lock"],
  statusContext: "vigil/supply-chain",
  maxListed: 50,
  advisories: [shippedAdvisoriesDir],
  importedAdvisories: resolve(".vigil/advisories"),
  mergeBranches: ["main", "master"],
};

const keys = new Set(Object.keys(defaultSupplyChainSettings));

function severity(value: unknown, field: string): AdvisorySeverity {
  if (typeof value === "string" && value in severityRank) return value as AdvisorySeverity;
  throw new VigilError("VIGIL_BAD_CONFIG", `${field} must be one of critical, high, medium, low; got ${JSON.stringify(value)}`, { field });
}

function stringList(value: unknown, field: string): string[] {
  if (!Array.isArray(value) || !value.every((v) => typeof v === "string" && v !== "")) throw new VigilError("VIGIL_BAD_CONFIG", `${field} must be a list of non-empty strings; got ${JSON.stringify(value)}`, { field });
  return value as string[];
}

/**
 * Validates settings over a base (default: the defaults). Relative paths resolve against
 * `baseDir`. Throws VigilError(VIGIL_BAD_CONFIG) naming the field (`supplyChain.severityThreshold`).
 */
export function resolveSupplyChainSettings(input: unknown, options: { readonly base?: SupplyChainSettings; readonly baseDir?: string; readonly prefix?: string } = {}): SupplyChainSettings {
  const base = options.base ?? defaultSupplyChainSettings;
  const prefix = options.prefix ?? "supplyChain";
  if (input === undefined || input === null) return base;
  if (typeof input !== "object" || Array.isArray(input)) throw new VigilError("VIGIL_BAD_CONFIG", `${prefix} must be a map of settings; got ${Array.isArray(input) ? "a list" : typeof input}`, { field: prefix });
  const raw = input as Record<string, unknown>;
  for (const key of Object.keys(raw)) {
    if (!keys.has(key)) throw new VigilError("VIGIL_BAD_CONFIG", `${prefix}.${key} is not a setting; known: ${[...keys].join(", ")}`, { field: `${prefix}.${key}` });
  }
  const at = (key: string): string => `${prefix}.${key}`;
  const path = (p: string): string => (isAbsolute(p) ? p : resolve(options.baseDir ?? process.cwd(), p));
  const fail = (key: string, expected: string): never => {
    throw new VigilError("VIGIL_BAD_CONFIG", `${at(key)} must be ${expected}; got ${JSON.stringify(raw[key])}`, { field: at(key) });
  };
  const pick = <T>(key: string, fallback: T, read: (value: unknown) => T): T => (raw[key] === undefined ? fallback : read(raw[key]));
  const settings: SupplyChainSettings = {
    severityThreshold: pick("severityThreshold", base.severityThreshold, (v) => severity(v, at("severityThreshold"))),
    unknownSeverity: pick("unknownSeverity", base.unknownSeverity, (v) => severity(v, at("unknownSeverity"))),
    devDependencies: pick("devDependencies", base.devDependencies, (v) => (v === "block" || v === "warn" ? v : fail("devDependencies", '"block" or "warn"'))),
    lockfiles: pick("lockfiles", base.lockfiles, (v) => stringList(v, at("lockfiles"))),
    statusContext: pick("statusContext", base.statusContext, (v) => (typeof v === "string" && v !== "" ? v : fail("statusContext", "a non-empty string"))),
    maxListed: pick("maxListed", base.maxListed, (v) => (typeof v === "number" && Number.isInteger(v) && v > 0 ? v : fail("maxListed", "a positive integer"))),
    advisories: pick("advisories", base.advisories, (v) => stringList(v, at("advisories")).map(path)),
    importedAdvisories: pick("importedAdvisories", base.importedAdvisories, (v) => (typeof v === "string" && v !== "" ? path(v) : fail("importedAdvisories", "a directory path"))),
    mergeBranches: pick("mergeBranches", base.mergeBranches, (v) => stringList(v, at("mergeBranches"))),
  };
  return settings;
}

/** Reads a settings YAML file (a map of the settings above); relative paths resolve against its folder. */
export function loadSupplyChainSettings(file: string): SupplyChainSettings {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (cause) {
    throw new VigilError("VIGIL_BAD_CONFIG", `cannot read supply-chain settings ${file}: ${(cause as NodeJS.ErrnoException).code ?? (cause as Error).message}`, { file }, cause);
  }
  let value: unknown;
  try {
    value = parseYaml(text);
  } catch (cause) {
    throw new VigilError("VIGIL_BAD_CONFIG", `${file} is not valid YAML: ${(cause as Error).message.split("\n")[0]}`, { file }, cause);
  }
  try {
    return resolveSupplyChainSettings(value, { baseDir: dirname(file) });
  } catch (error) {
    if (error instanceof VigilError) throw new VigilError(error.code, `${file}: ${error.message}`, { ...error.details, file }, error);
    throw error;
  }
}
