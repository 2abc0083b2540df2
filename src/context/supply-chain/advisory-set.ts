/**
 * Where advisories come from, and loading the set the agent and `vigil gate` use:
 * - the shipped set, packs/supply-chain/advisories/ (GHSA, Node.js security WG, Retire.js records
 *   converted to OSV; each folder has its LICENSE and SOURCE);
 * - the imported set, the directory `vigil advisories import` writes (settings
 *   `importedAdvisories`, default `.vigil/advisories`), one OSV file per record;
 * - any other files/directories listed in the settings' `advisories`.
 */
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { createAdvisoryDatabase, type AdvisoryDatabase } from "./advisory-db.js";
import { loadAdvisoryFiles, type AdvisoryIssue, type LoadAdvisoryOptions } from "./osv-load.js";

/** packs/supply-chain/ of this installation (works from src/ and dist/). */
export const supplyChainPackDir = fileURLToPath(new URL("../../../packs/supply-chain/", import.meta.url));
/** The shipped advisory set. */
export const shippedAdvisoriesDir = fileURLToPath(new URL("../../../packs/supply-chain/advisories/", import.meta.url));
/** The pack's settings file. */
export const supplyChainSettingsFile = fileURLToPath(new URL("../../../packs/supply-chain/settings.yaml", import.meta.url));

export interface AdvisorySet {
  readonly db: AdvisoryDatabase;
  readonly issues: readonly AdvisoryIssue[];
  readonly files: number;
  /** The paths read, in order (later records with the same id win unless older). */
  readonly sources: readonly string[];
}

/**
 * Loads the advisory set from `sources` (default: the shipped set) plus the imported directory
 * when it exists. Never throws: unreadable files and bad records are in `issues`.
 */
export function loadAdvisorySet(options: { readonly sources?: readonly string[]; readonly imported?: string; readonly load?: LoadAdvisoryOptions } = {}): AdvisorySet {
  const sources = [...(options.sources ?? [shippedAdvisoriesDir])];
  if (options.imported !== undefined && existsSync(options.imported)) sources.push(options.imported);
  const loaded = loadAdvisoryFiles(sources, options.load);
  return { db: createAdvisoryDatabase(loaded.records), issues: loaded.issues, files: loaded.files, sources };
}
