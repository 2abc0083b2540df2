/**
 * Settings of the enforcement ladder (ladder.ts): which policies enforce step by step (notify the
 * owner → mark with a grace period in business days → act), for how long, and the business
 * calendar. Validated once where they enter (config, a pack's settings.yaml).
 */
import { VigilError } from "../core/errors.js";
import { createBusinessCalendar, type BusinessCalendar, type BusinessCalendarInput } from "./business-days.js";
import { globMatch } from "../decide/exemptions.js";

export interface LadderPolicySettings {
  /** Business days between the mark (owner notified) and the action. 0 acts at once. Default 3. */
  readonly graceBusinessDays: number;
  /** Business days one snooze adds when the owner names none. Default 2. */
  readonly snoozeBusinessDays: number;
  /** Snoozes allowed per episode. Default 2. */
  readonly maxSnoozes: number;
  /** A marked resource not seen violating for this long is released at its due time, not acted on. Default 48. */
  readonly staleAfterHours: number;
  /** Notify-only ladders (nothing deferred): the owner is not notified again about the same target for this long. Default 24. */
  readonly cooldownHours: number;
  /** Action kinds held for the grace period (default: every kind that is not a notification). */
  readonly defer?: readonly string[];
}

export interface LadderSettings {
  readonly calendar: BusinessCalendar;
  /** Policy name or glob → settings; the first matching entry wins. */
  readonly policies: readonly { readonly pattern: string; readonly settings: LadderPolicySettings }[];
}

export interface LadderSettingsInput {
  readonly calendar?: BusinessCalendarInput;
  readonly policies?: Readonly<Record<string, Partial<LadderPolicySettings>>>;
}

const defaults: LadderPolicySettings = { graceBusinessDays: 3, snoozeBusinessDays: 2, maxSnoozes: 2, staleAfterHours: 48, cooldownHours: 24 };
const numericKeys = ["graceBusinessDays", "snoozeBusinessDays", "maxSnoozes", "staleAfterHours", "cooldownHours"] as const;
const limits: Record<(typeof numericKeys)[number], number> = { graceBusinessDays: 60, snoozeBusinessDays: 60, maxSnoozes: 20, staleAfterHours: 24 * 60, cooldownHours: 24 * 60 };

function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

/** Validates ladder settings; throws VigilError(VIGIL_BAD_CONFIG) naming the field under `prefix`. */
export function resolveLadderSettings(input: unknown, prefix = "ladder"): LadderSettings {
  if (input === undefined || input === null) return { calendar: createBusinessCalendar({}, `${prefix}.calendar`), policies: [] };
  if (!isRecord(input)) throw new VigilError("VIGIL_BAD_CONFIG", `${prefix} must be a map with calendar and policies`, { field: prefix });
  for (const key of Object.keys(input)) {
    if (key !== "calendar" && key !== "policies") throw new VigilError("VIGIL_BAD_CONFIG", `${prefix}.${key} is not a setting; use calendar or policies`, { field: `${prefix}.${key}` });
  }
  const calendarInput = input["calendar"];
  if (calendarInput !== undefined && !isRecord(calendarInput)) throw new VigilError("VIGIL_BAD_CONFIG", `${prefix}.calendar must be a map (weekend, holidays, timeZone or utcOffsetMinutes)`, { field: `${prefix}.calendar` });
  if (isRecord(calendarInput)) {
    for (const key of Object.keys(calendarInput)) {
      if (!["weekend", "holidays", "utcOffsetMinutes", "timeZone"].includes(key)) throw new VigilError("VIGIL_BAD_CONFIG", `${prefix}.calendar.${key} is not a setting; use weekend, holidays, timeZone or utcOffsetMinutes`, { field: `${prefix}.calendar.${key}` });
    }
  }
  const calendar = createBusinessCalendar((calendarInput ?? {}) as BusinessCalendarInput, `${prefix}.calendar`);
  const policiesInput = input["policies"] ?? {};
  if (!isRecord(policiesInput)) throw new VigilError("VIGIL_BAD_CONFIG", `${prefix}.policies must map policy names (or globs) to settings`, { field: `${prefix}.policies` });
  const policies: { pattern: string; settings: LadderPolicySettings }[] = [];
  for (const [pattern, raw] of Object.entries(policiesInput)) {
    const field = `${prefix}.policies.${pattern}`;
    const value = raw ?? {};
    if (!isRecord(value)) throw new VigilError("VIGIL_BAD_CONFIG", `${field} must be a map of settings`, { field });
    const settings: Record<string, unknown> = { ...defaults };
    for (const [key, item] of Object.entries(value)) {
      if (key === "defer") {
        if (!Array.isArray(item) || !item.every((k) => typeof k === "string" && k !== "")) throw new VigilError("VIGIL_BAD_CONFIG", `${field}.defer must be a list of action kinds`, { field: `${field}.defer` });
        settings["defer"] = item;
        continue;
      }
      if (!(numericKeys as readonly string[]).includes(key)) {
        throw new VigilError("VIGIL_BAD_CONFIG", `${field}.${key} is not a setting; use ${[...numericKeys, "defer"].join(", ")}`, { field: `${field}.${key}` });
      }
      const max = limits[key as (typeof numericKeys)[number]];
      if (typeof item !== "number" || !Number.isFinite(item) || item < 0 || item > max || (key === "maxSnoozes" && !Number.isInteger(item))) {
        throw new VigilError("VIGIL_BAD_CONFIG", `${field}.${key} must be a number between 0 and ${max}${key === "maxSnoozes" ? " (whole)" : ""}, got ${JSON.stringify(item)}`, { field: `${field}.${key}` });
      }
      // A snooze of 0 days postpones nothing (snooze refuses it): with it as the default, every
      // snooze that names no days would fail, blaming the caller's businessDays.
      if (key === "snoozeBusinessDays" && item === 0) {
        throw new VigilError("VIGIL_BAD_CONFIG", `${field}.${key} must be a number above 0 and at most ${max} (a snooze adds that many business days), got 0`, { field: `${field}.${key}` });
      }
      settings[key] = item;
    }
    policies.push({ pattern, settings: settings as unknown as LadderPolicySettings });
  }
  return { calendar, policies };
}

/** The ladder settings of a policy, or undefined when it is not enforced through the ladder. */
export function ladderSettingsFor(settings: LadderSettings, policy: string): LadderPolicySettings | undefined {
  return settings.policies.find((entry) => globMatch(entry.pattern, policy))?.settings;
}
