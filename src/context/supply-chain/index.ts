/**
 * The supply-chain part of the context stage: lockfile parsing and diffing, the offline OSV
 * advisory database, fix suggestions, past fixes, and the enrichment that exposes a dependency
 * change to policies as `context.dependencies`. See docs/packs/supply-chain.md.
 */
export { parseLockfile, formatOfFileName } from "./lockfile.js";
export type { Dependent, LockedPackage, Lockfile, LockfileFormat } from "./model.js";
export { diffLockfiles, type LockfileDiff, type PackageChange } from "./diff.js";
export { validateOsvRecord, type OsvRecord, type OsvAffected, type OsvRange, type OsvEvent, type OsvIssue, type OsvSeverity } from "./osv.js";
export { loadAdvisoryFiles, listAdvisoryFiles, collectRecords, collectRecordsFromText, formatAdvisoryIssue, type AdvisoryIssue, type LoadedAdvisories, type LoadAdvisoryOptions } from "./osv-load.js";
export { createAdvisoryDatabase, entryAffects, type Advisory, type AdvisoryDatabase, type AdvisoryEntry } from "./advisory-db.js";
export { loadAdvisorySet, shippedAdvisoriesDir, supplyChainPackDir, supplyChainSettingsFile, type AdvisorySet } from "./advisory-set.js";
export { npmRangeToOsv, boundsToOsv, type ConvertedRange } from "./npm-range-osv.js";
export { severityOf, cvss3BaseScore, cvss2BaseScore, ratingOfScore, normalizeSeverityWord, severityRank, type AdvisorySeverity, type SeverityInfo } from "./severity.js";
export { findVulnerabilities, suggestFix, type Vulnerability } from "./scan.js";
export { summarizeDependencyChange, withPastFixes, commentMarkdown, fixText, type DependencySummary, type VulnerableDependency, type PastFix, type LockfileError, type LockfilePair, type ChangeMeta, type SummarizeOptions } from "./summary.js";
export { createGithubLockfileFetcher, type LockfileFetcher, type GithubFetcherOptions } from "./github-fetcher.js";
export { createSupplyChainMemory, SUPPLY_CHAIN_BLOCKS, SUPPLY_CHAIN_FIXES, type SupplyChainMemory, type SupplyChainMemoryOptions, type BlockRecord, type FixRecord } from "./past-fixes.js";
export { createDependencyEnricher, type DependencyEnricher, type DependencyEnricherOptions } from "./enrich.js";
export { defaultSupplyChainSettings, resolveSupplyChainSettings, loadSupplyChainSettings, type SupplyChainSettings } from "./settings.js";
export { createSupplyChainRuntime, supplyChainBlockingPolicies, type SupplyChainRuntime, type SupplyChainRuntimeOptions } from "./runtime.js";
export { toSarif, lineOfPackage, SARIF_SCHEMA, type SarifOptions } from "./sarif.js";
