/**
 * The decider's settings (config section `decide`: `weights`, `tiers`), checked when the decider
 * is created. A weight that is not a finite number would make every violation's risk sum NaN,
 * which the score reads as 0 — every tier lowered, silently; a misspelt key would be ignored.
 */
import { VigilError } from "../core/errors.js";
import { defaultRiskWeights } from "./risk.js";
import { defaultTierSettings, type TierSettings } from "./tiers.js";

function bad(field: string, message: string): VigilError {
  return new VigilError("VIGIL_BAD_CONFIG", `${field} ${message} (docs/decide.md)`, { field });
}

function isMap(value: unknown): value is Readonly<Record<string, unknown>> {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

/** Checks a map of numbers against the keys of `known` (own keys only); nested maps when `known` has them. */
function checkNumbers(value: unknown, known: Readonly<Record<string, unknown>>, field: string): void {
  if (!isMap(value)) throw bad(field, `must be a map of ${Object.keys(known).join(", ")}, got ${JSON.stringify(value)}`);
  for (const key of Object.keys(value)) {
    const path = `${field}.${key}`;
    if (!Object.hasOwn(known, key)) throw bad(path, `is not a setting: use ${Object.keys(known).join(", ")}`);
    const expected = known[key];
    const given = value[key];
    if (isMap(expected)) { checkNumbers(given, expected, path); continue; }
    if (typeof given !== "number" || !Number.isFinite(given)) throw bad(path, `must be a finite number, got ${typeof given === "number" ? String(given) : JSON.stringify(given)}`);
  }
}

/**
 * Throws VigilError(VIGIL_BAD_CONFIG) naming `decide.<key>` for an unknown key, a weight or
 * threshold that is not a finite number, or `tiers.lowerAt` above `tiers.raiseAt`.
 */
export function checkDeciderSettings(options: Readonly<Record<string, unknown>>): void {
  for (const key of Object.keys(options)) {
    if (key !== "env" && key !== "weights" && key !== "tiers") throw bad(`decide.${key}`, "is not a setting: use weights, tiers");
  }
  if (options["weights"] !== undefined) checkNumbers(options["weights"], defaultRiskWeights as unknown as Record<string, unknown>, "decide.weights");
  if (options["tiers"] !== undefined) {
    checkNumbers(options["tiers"], defaultTierSettings as unknown as Record<string, unknown>, "decide.tiers");
    const tiers: TierSettings = { ...defaultTierSettings, ...(options["tiers"] as Partial<TierSettings>) };
    if (tiers.lowerAt > tiers.raiseAt) throw bad("decide.tiers.lowerAt", `(${tiers.lowerAt}) is above raiseAt (${tiers.raiseAt}): a risk between them would be both raised and lowered`);
  }
}
