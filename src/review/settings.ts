/**
 * The review service's settings (config section `review`), checked when the service is created.
 * A bound that is not a positive number ("90d", NaN) would bound nothing — exceptions without a
 * limit — and a severity spelt otherwise ("High") would never match: the two-person rule off,
 * silently. Both are refused with VIGIL_BAD_CONFIG naming the field.
 */
import { VigilError } from "../core/errors.js";
import { severities } from "../core/policy.js";
import type { ReviewSettings } from "./context.js";

function bad(field: string, message: string): VigilError {
  return new VigilError("VIGIL_BAD_CONFIG", `review.${field} ${message} (docs/review.md)`, { field: `review.${field}` });
}

function isMap(value: unknown): value is Readonly<Record<string, unknown>> {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

function days(value: unknown, field: string): void {
  if (value !== undefined && !(typeof value === "number" && Number.isFinite(value) && value > 0)) {
    throw bad(field, `must be a positive number of days, got ${typeof value === "number" ? String(value) : JSON.stringify(value)}`);
  }
}

/** Throws VigilError(VIGIL_BAD_CONFIG) naming `review.<field>` for a setting the service cannot honour. */
export function checkReviewSettings(settings: ReviewSettings): void {
  days(settings.maxExceptionDays, "maxExceptionDays");
  days(settings.maxOverrideDays, "maxOverrideDays");
  const rule: unknown = settings.twoPersonRule;
  if (rule !== undefined) {
    if (!isMap(rule)) throw bad("twoPersonRule", `must be a map { severities?, approvals? }, got ${JSON.stringify(rule)}`);
    const given = rule["severities"];
    if (given !== undefined && (!Array.isArray(given) || given.some((s) => !severities.includes(s as never)))) {
      throw bad("twoPersonRule.severities", `must be a list of ${severities.join(", ")} (lower case), got ${JSON.stringify(given)}`);
    }
    // Matched by membership: a list with a gap above its lowest severity (["high"]) would let a
    // critical override through on one approval where a high one needs two.
    if (Array.isArray(given) && given.length > 0) {
      const listed = new Set(given as string[]);
      const from = Math.min(...given.map((s) => severities.indexOf(s as never)));
      const missing = severities.slice(from).find((s) => !listed.has(s));
      if (missing !== undefined) {
        const whole = severities.slice(from);
        throw bad("twoPersonRule.severities", `lists ${severities[from]} but not ${missing}: a ${missing} override would need a single approver; list every severity from the lowest up, ${JSON.stringify(whole)}`);
      }
    }
    if (rule["approvals"] !== undefined && typeof rule["approvals"] !== "boolean") throw bad("twoPersonRule.approvals", `must be true or false, got ${JSON.stringify(rule["approvals"])}`);
  }
  const notify: unknown = settings.defaultNotify;
  if (notify !== undefined && (!Array.isArray(notify) || notify.some((t) => typeof t !== "string" || t.trim() === ""))) {
    throw bad("defaultNotify", `must be a list of notification targets (e.g. ["#security"]), got ${JSON.stringify(notify)}`);
  }
}
