/**
 * Kyverno's TTL label: an object labelled `cleanup.kyverno.io/ttl` is deleted once its time has
 * come, without any policy (https://kyverno.io/docs/guides/ttl-cleanup/). The value is either
 *
 * - a Go duration (`2m`, `4h`, `1h30m`), counted from the object's `metadata.creationTimestamp`, or
 * - an absolute time, `2006-01-02T150405Z` (no colons: label values cannot hold them) or
 *   `2006-01-02` (midnight UTC),
 *
 * as Kyverno's cleanup controller parses it (pkg/controllers/ttl). The object is due when the
 * current time is after that instant. The annotation `cleanup.kyverno.io/propagation-policy`
 * (Foreground, Background, Orphan) chooses the deletion propagation.
 *
 * In Vigil the label is one built-in cleanup policy, `kyverno-ttl-label`, run by the cleanup
 * sweep on a cron schedule (every minute by default, Kyverno's ttlReconciliationInterval): each
 * run lists every resource the API server can list and delete with the label selector
 * `cleanup.kyverno.io/ttl`, and every due object becomes a decision whose `kubernetes.delete` goes
 * through the guardrails like a cleanup policy's (dry-run until promoted, protected objects,
 * budget, kill switch, undo). A Secret's deletion cannot be undone, so it waits for a person.
 * A value that does not parse is never a deletion: the run reports it, and an admission review
 * that sets it gets Kyverno's warning.
 */
import type { Context } from "../../core/context.js";
import { EventTypes } from "../../core/event.js";
import type { Finding } from "../../core/finding.js";
import type { EvaluateOptions, PolicyMeta } from "../../core/policy.js";
import { assembleCleanupPolicy, type CleanupPolicy, type CleanupSelection } from "./cleanup-policy.js";
import { parseDuration } from "./units.js";

type Json = Record<string, unknown>;

function isObject(value: unknown): value is Json {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

export const TTL_LABEL = "cleanup.kyverno.io/ttl";
export const TTL_PROPAGATION_ANNOTATION = "cleanup.kyverno.io/propagation-policy";
/** The built-in policy's name (what `vigil policies promote` and the decisions name). */
export const TTL_POLICY_NAME = "kyverno-ttl-label";
/** Kyverno's default ttlReconciliationInterval, 1m, as a cron schedule. */
export const TTL_DEFAULT_SCHEDULE = "* * * * *";

const ABSOLUTE = /^(\d{4})-(\d{2})-(\d{2})(?:T(\d{2})(\d{2})(\d{2})Z)?$/;

/**
 * The instant an object with this TTL label value is due, or why the value does not parse.
 * `creationTimestamp` is the object's (RFC 3339), needed for a duration.
 */
export function ttlDeletionTime(value: string, creationTimestamp: string | undefined): { readonly at: Date } | { readonly error: string } {
  const seconds = parseDuration(value);
  if (seconds !== undefined) {
    const created = creationTimestamp === undefined ? Number.NaN : Date.parse(creationTimestamp);
    if (Number.isNaN(created)) return { error: `label ${TTL_LABEL} is the duration ${JSON.stringify(value)}, counted from metadata.creationTimestamp, which the object does not have` };
    return { at: new Date(created + Math.round(seconds * 1000)) };
  }
  const m = ABSOLUTE.exec(value);
  if (m) {
    const [year, month, day, hour, minute, second] = m.slice(1).map((part) => (part === undefined ? 0 : Number(part))) as [number, number, number, number, number, number];
    const at = new Date(Date.UTC(year, month - 1, day, hour, minute, second));
    // Date.UTC rolls 2026-02-30 over into March; Go's time.Parse refuses it.
    const valid = at.getUTCFullYear() === year && at.getUTCMonth() === month - 1 && at.getUTCDate() === day && hour < 24 && minute < 60 && second < 60;
    if (valid) return { at };
  }
  return { error: `label ${TTL_LABEL} is ${JSON.stringify(value)}, which cannot be parsed as any recognizable format: use a duration from the object's creation (2m, 4h, 1h30m) or a time (2026-10-04T003000Z, 2026-10-04)` };
}

const propagations = new Set(["Foreground", "Background", "Orphan"]);

function metadataOf(object: Json): Json {
  return isObject(object["metadata"]) ? object["metadata"] : {};
}

function ttlOf(object: Json): string | undefined {
  const labels = metadataOf(object)["labels"];
  const value = isObject(labels) ? labels[TTL_LABEL] : undefined;
  return typeof value === "string" ? value : undefined;
}

/** Whether the object is due at `now`: `delete`, `keep` (not yet), `nomatch` (no label) or `error` (the value does not parse). */
export function selectByTtl(object: Json, now: Date): CleanupSelection {
  const value = ttlOf(object);
  if (value === undefined) return { status: "nomatch", message: `the object has no ${TTL_LABEL} label`, trace: [] };
  const created = metadataOf(object)["creationTimestamp"];
  // A manifest not yet applied (the `vigil cleanup` preview) has no creation time to count from.
  if (typeof created !== "string" && parseDuration(value) !== undefined) {
    return { status: "keep", message: `its ${TTL_LABEL} label (${value}) counts from metadata.creationTimestamp, which this object does not have yet: due ${value} after it is created`, trace: [{ kind: "condition", expr: `metadata.labels["${TTL_LABEL}"]`, value }] };
  }
  const due = ttlDeletionTime(value, typeof created === "string" ? created : undefined);
  if ("error" in due) return { status: "error", message: due.error, trace: [{ kind: "condition", expr: `metadata.labels["${TTL_LABEL}"]`, value }] };
  const expired = now.getTime() > due.at.getTime();
  const trace = [
    { kind: "condition" as const, expr: `metadata.labels["${TTL_LABEL}"]`, value },
    { kind: "condition" as const, expr: `now (${now.toISOString()}) > due (${due.at.toISOString()})`, value: expired },
  ];
  return expired
    ? { status: "delete", message: `its ${TTL_LABEL} label (${value}) made it due at ${due.at.toISOString()}`, trace }
    : { status: "keep", message: `its ${TTL_LABEL} label (${value}) makes it due at ${due.at.toISOString()}`, trace };
}

/** The TTL label's built-in cleanup policy, run by the cleanup sweep on `schedule`. */
export function createTtlCleanupPolicy(options: { readonly schedule?: string } = {}): CleanupPolicy {
  const schedule = options.schedule ?? TTL_DEFAULT_SCHEDULE;
  const meta: PolicyMeta = {
    name: TTL_POLICY_NAME,
    language: "kyverno",
    revision: `ttl-1-${schedule.replace(/\s+/g, "_")}`,
    description: `Kyverno's TTL label: deletes objects labelled ${TTL_LABEL} once their time has come (a duration from creation, or a date)`,
    on: [EventTypes.cleanupCandidate, EventTypes.admissionReview],
    labels: { "vigil.dev/builtin": "true" },
    // Deleting is what the label asks for; a Secret's deletion cannot be undone, so a person decides it.
    enforcement: { tier: "remediate", adaptive: [{ when: `has(input.object.kind) && input.object.kind == "Secret" && has(input.object.apiVersion) && input.object.apiVersion == "v1"`, tier: "approve", reason: "a deleted Secret cannot be restored" }] },
  };
  const base = assembleCleanupPolicy({
    meta,
    kind: "TTLLabel",
    schedule,
    targets: [{ everyResource: true }],
    labelSelector: TTL_LABEL,
    severity: "low",
    propagationOf: (object) => {
      const annotations = metadataOf(object)["annotations"];
      const value = isObject(annotations) ? annotations[TTL_PROPAGATION_ANNOTATION] : undefined;
      return typeof value === "string" && propagations.has(value) ? (value as "Foreground" | "Background" | "Orphan") : undefined;
    },
    select: (object, selectOptions) => {
      try {
        return selectByTtl(object, selectOptions.now);
      } catch (cause) {
        return { status: "error", message: `internal error: ${cause instanceof Error ? cause.message : String(cause)}`, trace: [] };
      }
    },
    describe: `the ${TTL_LABEL} label`,
  });
  return {
    ...base,
    // Candidate events name the policy; admission reviews are checked for a label value that does not parse.
    indexKeys: [],
    evaluate(ctx: Context, evalOptions?: EvaluateOptions): Finding[] {
      if (ctx.event.type === EventTypes.admissionReview) return admissionWarning(ctx, meta.revision);
      return base.evaluate(ctx, evalOptions);
    },
  };
}

/**
 * Kyverno's cleanup controller answers a request that sets a TTL label it cannot parse with a
 * warning (the request is allowed): here an audit finding, which the webhook returns as a warning.
 */
function admissionWarning(ctx: Context, revision: string): Finding[] {
  const review = isObject(ctx.input) ? ctx.input : {};
  const request = isObject(review["request"]) ? review["request"] : {};
  const object = request["object"];
  if (!isObject(object) || (request["operation"] !== "CREATE" && request["operation"] !== "UPDATE")) return [];
  const value = ttlOf(object);
  if (value === undefined) return [];
  const created = metadataOf(object)["creationTimestamp"];
  // At CREATE the API server sets creationTimestamp after admission: only the format is checked.
  const due = ttlDeletionTime(value, typeof created === "string" ? created : new Date(0).toISOString());
  if (!("error" in due)) return [];
  return [{
    policy: TTL_POLICY_NAME,
    rule: "ttl-label",
    revision,
    language: "kyverno",
    mode: "audit",
    severity: "low",
    effect: "violation",
    message: `${TTL_LABEL} label value cannot be parsed as any recognizable format (${JSON.stringify(value)}): use a duration (2m, 4h) or a time (2026-10-04T003000Z, 2026-10-04); the object will not be cleaned up`,
    trace: [{ kind: "condition", expr: `metadata.labels["${TTL_LABEL}"]`, value }],
  }];
}
