/**
 * SARIF 2.1.0 (OASIS) output of a supply-chain check, for code-scanning uploads: one rule per
 * advisory (`ruleId` = advisory id), one result per vulnerable dependency, `level` by severity
 * (critical/high → error, medium → warning, low → note), located in the lockfile (the line of the
 * package's entry when the lockfile text is given). Lockfile and advisory problems are tool
 * execution notifications, and make `executionSuccessful` false.
 */
import type { DependencySummary, LockfileError, VulnerableDependency } from "./summary.js";

export const SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json";

export interface SarifOptions {
  /** Lockfile path → its text, to point results at the line of the package's entry. */
  readonly texts?: ReadonlyMap<string, string>;
  readonly toolVersion?: string;
  /** Problems to report as notifications (lockfile and advisory errors). */
  readonly errors?: readonly LockfileError[];
}

type SarifLevel = "error" | "warning" | "note";

interface SarifLocation {
  readonly physicalLocation: { readonly artifactLocation: { readonly uri: string }; readonly region?: { readonly startLine: number } };
  readonly logicalLocations?: { readonly name: string; readonly kind: string }[];
}

/** The subset of SARIF 2.1.0 this module writes (checked against @types/sarif in the tests; arrays are mutable as there). */
export interface SarifLog {
  readonly $schema: string;
  readonly version: "2.1.0";
  readonly runs: {
    readonly tool: { readonly driver: { readonly name: string; readonly semanticVersion: string; readonly rules: SarifRule[] } };
    readonly invocations: { readonly executionSuccessful: boolean; readonly toolExecutionNotifications: { readonly level: SarifLevel; readonly message: { readonly text: string }; readonly locations: SarifLocation[] }[] }[];
    readonly results: SarifResult[];
  }[];
}

export interface SarifRule {
  readonly id: string;
  readonly name: string;
  readonly shortDescription: { readonly text: string };
  readonly fullDescription: { readonly text: string };
  readonly helpUri?: string;
  readonly help: { readonly text: string };
  readonly defaultConfiguration: { readonly level: SarifLevel };
  readonly properties: { readonly [key: string]: unknown };
}

export interface SarifResult {
  readonly ruleId: string;
  readonly level: SarifLevel;
  readonly message: { readonly text: string };
  readonly locations: SarifLocation[];
  readonly partialFingerprints: { readonly [key: string]: string };
  readonly properties: { readonly [key: string]: unknown };
}

const levelOf = (severity: string): SarifLevel => (severity === "critical" || severity === "high" ? "error" : severity === "medium" ? "warning" : "note");
const scoreOf: Readonly<Record<string, string>> = { critical: "9.5", high: "8.0", medium: "5.5", low: "2.0" };

/** 1-based line of the package's entry in a lockfile, when it can be found. */
export function lineOfPackage(text: string, v: Pick<VulnerableDependency, "path" | "package" | "version">): number | undefined {
  const candidates = [`"${v.path}":`, `\n"${v.package}@`, `\n${v.package}@`, `"${v.package}": {`];
  for (const needle of candidates) {
    const at = text.indexOf(needle);
    if (at < 0) continue;
    let line = 1;
    for (let i = 0; i < at + (needle.startsWith("\n") ? 1 : 0); i++) if (text.charCodeAt(i) === 10) line++;
    return line;
  }
  return undefined;
}

/** The SARIF log of a summary. Pure. */
export function toSarif(summary: DependencySummary, options: SarifOptions = {}): SarifLog {
  const rules = new Map<string, SarifRule>();
  const results = summary.vulnerable.map((v): SarifResult => {
    if (!rules.has(v.advisory)) {
      rules.set(v.advisory, {
        id: v.advisory,
        name: v.advisory.replace(/[^A-Za-z0-9]/g, ""),
        shortDescription: { text: v.summary || `Vulnerability ${v.advisory} in ${v.package}` },
        fullDescription: { text: `${v.summary || v.advisory}${v.aliases.length ? ` (${v.aliases.join(", ")})` : ""}` },
        ...(v.url ? { helpUri: v.url } : {}),
        help: { text: v.fix },
        defaultConfiguration: { level: levelOf(v.severity) },
        properties: { "security-severity": scoreOf[v.severity] ?? "5.5", tags: ["security", "supply-chain", v.package], severity: v.severity },
      });
    }
    const text = options.texts?.get(v.lockfile);
    const line = text === undefined ? undefined : lineOfPackage(text, v);
    return {
      ruleId: v.advisory,
      level: levelOf(v.severity),
      message: { text: `${v.package}@${v.version} is affected by ${v.advisory}${v.aliases.length ? ` (${v.aliases.slice(0, 3).join(", ")})` : ""}, severity ${v.severity}: ${v.fix}${v.blocking ? "" : " (below the blocking threshold)"}${v.pastFixText ? `. Fixed before: ${v.pastFixText}` : ""}.` },
      locations: [{ physicalLocation: { artifactLocation: { uri: v.lockfile }, ...(line === undefined ? {} : { region: { startLine: line } }) }, logicalLocations: [{ name: v.path, kind: "module" }] }],
      partialFingerprints: { "vigil/package-advisory": `${v.package}@${v.version}|${v.advisory}` },
      properties: { package: v.package, version: v.version, severity: v.severity, blocking: v.blocking, fixedVersion: v.fixedVersion, suggestedVersion: v.suggestedVersion, satisfiesRange: v.satisfiesRange, via: v.via },
    };
  });
  const errors = [...summary.errors, ...(options.errors ?? [])];
  return {
    $schema: SARIF_SCHEMA,
    version: "2.1.0",
    runs: [{
      tool: { driver: { name: "vigil", semanticVersion: options.toolVersion ?? "0.1.0", rules: [...rules.values()] } },
      invocations: [{
        executionSuccessful: errors.length === 0,
        toolExecutionNotifications: errors.map((error) => ({
          level: "error" as const,
          message: { text: `${error.field}: ${error.message}` },
          locations: [{ physicalLocation: { artifactLocation: { uri: error.file.replace(/ \((head|base)\)$/, "") } } }],
        })),
      }],
      results,
    }],
  };
}
