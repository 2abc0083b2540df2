/**
 * Checking learner settings, wherever they come from: `learn.settings` in vigil.yaml (the agent,
 * fields `learn.settings.<key>`) and library callers of `createLearner` (fields `settings.<key>`).
 * A bad value would not fail loudly later: a Beta prior of 0 gives NaN credible bounds, so an
 * all-true-positive slice would read a lower bound of 0.
 */
import { VigilError } from "../core/errors.js";
import { defaultLearnerSettings, type LearnerSettings } from "./types.js";

type Json = Record<string, unknown>;

const isMap = (value: unknown): value is Json => value !== null && typeof value === "object" && !Array.isArray(value);

/** Kinds of learner settings, for validation (every key of `defaultLearnerSettings`). */
const settingKinds: Readonly<Record<keyof LearnerSettings, "prior" | "fraction" | "count" | "positive" | "days" | "boolean" | "globs">> = {
  prior: "prior", credible: "fraction", maxPerReviewer: "count", minReviewers: "count", criticalMinReviewers: "count", agreement: "fraction",
  minEntities: "count", minEvidence: "positive", lowerTierBelow: "fraction", lowerRiskBelow: "fraction", raiseOnIncidents: "positive",
  maxRiskDelta: "fraction", halfLifeDays: "days", calibrateDetectors: "boolean", ignoreActors: "globs",
};

/**
 * Checks learner settings (undefined: none given) and returns them. Throws
 * VigilError(VIGIL_BAD_CONFIG) naming `<prefix>.<key>` and what it takes.
 */
export function checkLearnerSettings(raw: unknown, prefix = "settings"): Partial<LearnerSettings> {
  if (raw === undefined) return {};
  const field = (key: string): string => (key === "" ? prefix : `${prefix}.${key}`);
  const bad = (key: string, message: string): never => {
    throw new VigilError("VIGIL_BAD_CONFIG", `${field(key)} ${message} (docs/learning.md)`, { field: field(key) });
  };
  if (!isMap(raw)) bad("", "must be a map of learner settings");
  const out: Json = {};
  for (const [key, value] of Object.entries(raw as Json)) {
    const kind = Object.hasOwn(settingKinds, key) ? settingKinds[key as keyof LearnerSettings] : undefined;
    if (kind === undefined) bad(key, `is not a learner setting; use one of ${Object.keys(defaultLearnerSettings).join(", ")}`);
    const number = typeof value === "number" && Number.isFinite(value);
    switch (kind) {
      case "prior": {
        if (!isMap(value)) bad(key, "must be { alpha, beta } (positive pseudo-counts)");
        for (const [name, count] of Object.entries(value as Json)) {
          if (name !== "alpha" && name !== "beta") bad(`${key}.${name}`, "is not part of the prior; use alpha and beta");
          if (typeof count !== "number" || !(count > 0) || !Number.isFinite(count)) bad(`${key}.${name}`, `must be a positive number, got ${JSON.stringify(count)}`);
        }
        break;
      }
      case "fraction":
        if (!number || (value as number) <= 0 || (value as number) > 1) bad(key, `must be a number above 0 and at most 1, got ${JSON.stringify(value)}`);
        break;
      case "count":
        if (!Number.isInteger(value) || (value as number) < 1) bad(key, `must be a whole number of at least 1, got ${JSON.stringify(value)}`);
        break;
      case "positive":
        if (!number || (value as number) <= 0) bad(key, `must be a positive number, got ${JSON.stringify(value)}`);
        break;
      case "days":
        if (!number || (value as number) < 0) bad(key, `must be a number of days, 0 or more (0 = labels never fade), got ${JSON.stringify(value)}`);
        break;
      case "boolean":
        if (typeof value !== "boolean") bad(key, `must be true or false, got ${JSON.stringify(value)}`);
        break;
      case "globs":
        if (!Array.isArray(value) || !value.every((item) => typeof item === "string" && item !== "")) bad(key, `must be a list of actor names or globs (e.g. ["vigil:*"]), got ${JSON.stringify(value)}`);
        break;
    }
    out[key] = value;
  }
  return out as Partial<LearnerSettings>;
}
