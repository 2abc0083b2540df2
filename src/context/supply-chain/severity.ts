/**
 * One severity per advisory, in Vigil's scale (`low | medium | high | critical`), from what an
 * OSV record carries, first found wins:
 *   1. a rating the database gave (`database_specific.severity`: GitHub's LOW/MODERATE/HIGH/CRITICAL),
 *   2. a CVSS v3.x base score computed from the vector (FIRST's specification; 0.1-3.9 low,
 *      4.0-6.9 medium, 7.0-8.9 high, 9.0-10.0 critical),
 *   3. a CVSS v2 base score (NVD's v2 bands: low < 4, medium < 7, high),
 *   4. an Ubuntu priority.
 * CVSS v4 vectors need FIRST's lookup tables and are not scored here: a record with only a v4
 * vector and no rating is `unknown` (the pack's `unknownSeverity` setting decides).
 */
import type { OsvRecord, OsvSeverity } from "./osv.js";

export type AdvisorySeverity = "low" | "medium" | "high" | "critical";

export interface SeverityInfo {
  readonly severity: AdvisorySeverity | "unknown";
  /** Where it came from: `database_specific`, `CVSS_V3`, `CVSS_V2`, `Ubuntu`, or `none`. */
  readonly source: string;
  /** The CVSS base score, when one was computed. */
  readonly score?: number;
}

export const severityRank: Readonly<Record<AdvisorySeverity, number>> = { low: 1, medium: 2, high: 3, critical: 4 };

/** GitHub/npm words to Vigil's scale; undefined for anything else. */
export function normalizeSeverityWord(word: unknown): AdvisorySeverity | undefined {
  if (typeof word !== "string") return undefined;
  switch (word.trim().toLowerCase()) {
    case "critical":
      return "critical";
    case "high":
    case "important":
      return "high";
    case "moderate":
    case "medium":
      return "medium";
    case "low":
    case "negligible":
    case "info":
      return "low";
    default:
      return undefined;
  }
}

function roundUp(value: number): number {
  const integer = Math.round(value * 100_000);
  return integer % 10_000 === 0 ? integer / 100_000 : (Math.floor(integer / 10_000) + 1) / 10;
}

function metrics(vector: string): Map<string, string> {
  const map = new Map<string, string>();
  for (const part of vector.split("/")) {
    const colon = part.indexOf(":");
    if (colon > 0) map.set(part.slice(0, colon), part.slice(colon + 1));
  }
  return map;
}

/** CVSS v3.0/v3.1 base score of a vector (`CVSS:3.1/AV:N/AC:L/...`); undefined when a base metric is missing. */
export function cvss3BaseScore(vector: string): number | undefined {
  const m = metrics(vector);
  const av = ({ N: 0.85, A: 0.62, L: 0.55, P: 0.2 } as Record<string, number>)[m.get("AV") ?? ""];
  const ac = ({ L: 0.77, H: 0.44 } as Record<string, number>)[m.get("AC") ?? ""];
  const ui = ({ N: 0.85, R: 0.62 } as Record<string, number>)[m.get("UI") ?? ""];
  const scope = m.get("S");
  const changed = scope === "C";
  const pr = (changed ? { N: 0.85, L: 0.68, H: 0.5 } : { N: 0.85, L: 0.62, H: 0.27 } as Record<string, number>)[m.get("PR") ?? ""];
  const cia = { H: 0.56, L: 0.22, N: 0 } as Record<string, number>;
  const c = cia[m.get("C") ?? ""], i = cia[m.get("I") ?? ""], a = cia[m.get("A") ?? ""];
  if (av === undefined || ac === undefined || ui === undefined || pr === undefined || c === undefined || i === undefined || a === undefined || (scope !== "U" && scope !== "C")) return undefined;
  const iss = 1 - (1 - c) * (1 - i) * (1 - a);
  const impact = changed ? 7.52 * (iss - 0.029) - 3.25 * Math.pow(iss - 0.02, 15) : 6.42 * iss;
  const exploitability = 8.22 * av * ac * pr * ui;
  if (impact <= 0) return 0;
  return changed ? roundUp(Math.min(1.08 * (impact + exploitability), 10)) : roundUp(Math.min(impact + exploitability, 10));
}

/** CVSS v2 base score of a vector (`AV:N/AC:L/Au:N/C:P/I:P/A:P`). */
export function cvss2BaseScore(vector: string): number | undefined {
  const m = metrics(vector);
  const av = ({ L: 0.395, A: 0.646, N: 1 } as Record<string, number>)[m.get("AV") ?? ""];
  const ac = ({ H: 0.35, M: 0.61, L: 0.71 } as Record<string, number>)[m.get("AC") ?? ""];
  const au = ({ M: 0.45, S: 0.56, N: 0.704 } as Record<string, number>)[m.get("Au") ?? ""];
  const cia = { N: 0, P: 0.275, C: 0.66 } as Record<string, number>;
  const c = cia[m.get("C") ?? ""], i = cia[m.get("I") ?? ""], a = cia[m.get("A") ?? ""];
  if (av === undefined || ac === undefined || au === undefined || c === undefined || i === undefined || a === undefined) return undefined;
  const impact = 10.41 * (1 - (1 - c) * (1 - i) * (1 - a));
  const exploitability = 20 * av * ac * au;
  const f = impact === 0 ? 0 : 1.176;
  return Math.round((0.6 * impact + 0.4 * exploitability - 1.5) * f * 10) / 10;
}

/** CVSS v3 qualitative rating of a base score. */
export function ratingOfScore(score: number): AdvisorySeverity {
  if (score >= 9) return "critical";
  if (score >= 7) return "high";
  if (score >= 4) return "medium";
  return "low";
}

function fromVectors(list: readonly OsvSeverity[] | null | undefined): SeverityInfo | undefined {
  if (!list) return undefined;
  const v3 = list.find((s) => s.type === "CVSS_V3");
  const v3score = v3 ? cvss3BaseScore(v3.score) : undefined;
  if (v3score !== undefined) return { severity: ratingOfScore(v3score), source: "CVSS_V3", score: v3score };
  const v2 = list.find((s) => s.type === "CVSS_V2");
  const v2score = v2 ? cvss2BaseScore(v2.score) : undefined;
  if (v2score !== undefined) return { severity: v2score >= 7 ? "high" : v2score >= 4 ? "medium" : "low", source: "CVSS_V2", score: v2score };
  const ubuntu = list.find((s) => s.type === "Ubuntu");
  const word = normalizeSeverityWord(ubuntu?.score);
  return word ? { severity: word, source: "Ubuntu" } : undefined;
}

/** The severity of a record (see the module comment for the order). Never throws. */
export function severityOf(record: OsvRecord, affectedIndex?: number): SeverityInfo {
  const rated = normalizeSeverityWord(record.database_specific?.["severity"]);
  if (rated) return { severity: rated, source: "database_specific" };
  const affected = affectedIndex === undefined ? undefined : record.affected?.[affectedIndex];
  const affectedRated = normalizeSeverityWord(affected?.database_specific?.["severity"]) ?? normalizeSeverityWord(affected?.ecosystem_specific?.["severity"]);
  if (affectedRated) return { severity: affectedRated, source: "database_specific" };
  return fromVectors(record.severity) ?? fromVectors(affected?.severity) ?? { severity: "unknown", source: "none" };
}
