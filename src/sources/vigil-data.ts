import { EventTypes, type Event } from "../core/index.js";
import { ShapeChecker } from "./check.js";
import { place, position, type FieldProblem, type IngestResult } from "./results.js";
import { contentId, isRecord, nestingProblem, normalizeTimestamp, type JsonRecord } from "./values.js";

/**
 * Vigil's own event types (EVENTS.md): validators for their `data` shapes and a builder that
 * wraps such data into a CloudEvent with the documented `subject` and `time`.
 */

export const POSTURE_LEVELS = ["normal", "elevated", "incident", "freeze"] as const;
export const FEEDBACK_LABELS = ["true_positive", "false_positive", "incident"] as const;

/** `dev.vigil.metric`: `{ resource, metric, value, unit, ts, labels? }`. */
export function validateMetric(data: unknown, prefix = "data"): FieldProblem[] {
  const check = new ShapeChecker(prefix);
  if (!check.object(data, '{"resource": "i-0abc", "metric": "cpu", "value": 3.2, "unit": "percent", "ts": "2024-05-01T12:00:00Z"}')) return check.problems;
  check.string(data, "resource", "name the measured resource (its id or ARN)");
  check.string(data, "metric", 'name the metric, e.g. "cpu_utilization"');
  check.number(data, "value", "send the measurement as a JSON number");
  check.string(data, "unit", 'name the unit, e.g. "percent", "bytes", "count"');
  check.timestamp(data, "ts", true);
  check.stringMap(data, "labels");
  return check.problems;
}

/**
 * `dev.vigil.resource`: `{ kind, id, region?, tags?, attrs?, owner? }`. Only kind and id are
 * required: global resources have no region, and a missing owner is what ownership policies
 * look for, so rejecting it would hide the finding.
 */
export function validateResource(data: unknown, prefix = "data"): FieldProblem[] {
  const check = new ShapeChecker(prefix);
  if (!check.object(data, '{"kind": "s3.bucket", "id": "arn:aws:s3:::logs", "region": "eu-west-1"}')) return check.problems;
  check.string(data, "kind", 'name the resource kind, e.g. "s3.bucket"');
  check.string(data, "id", "give the resource's stable id (ARN, URL, name)");
  check.string(data, "region", 'give the region, e.g. "eu-west-1", or leave it out for global resources', false);
  check.string(data, "owner", "name the owner (team or person) or leave it out", false);
  check.stringMap(data, "tags");
  check.optionalObject(data, "attrs");
  return check.problems;
}

/** `dev.vigil.dataflow`: `{ dataset, classification, from: {region}, to: {region}, bytes?, purpose? }`. */
export function validateDataflow(data: unknown, prefix = "data"): FieldProblem[] {
  const check = new ShapeChecker(prefix);
  if (!check.object(data, '{"dataset": "customers", "classification": "pii", "from": {"region": "eu-west-1"}, "to": {"region": "us-east-1"}}')) return check.problems;
  check.string(data, "dataset", "name the dataset that moves");
  check.string(data, "classification", 'give its classification, e.g. "public", "internal", "pii"');
  for (const end of ["from", "to"] as const) {
    const side = check.child(end);
    const value = data[end];
    if (side.object(value, '{"region": "eu-west-1"}')) {
      side.string(value, "region", `give the ${end === "from" ? "origin" : "destination"} region, e.g. "eu-west-1"`);
    }
  }
  check.number(data, "bytes", "send the byte count as a non-negative number", { required: false, min: 0 });
  check.string(data, "purpose", 'say why the data moves, e.g. "analytics"', false);
  return check.problems;
}

/** `dev.vigil.posture`: `{ level, reason, until?, scope? }`. */
export function validatePosture(data: unknown, prefix = "data"): FieldProblem[] {
  const check = new ShapeChecker(prefix);
  if (!check.object(data, '{"level": "incident", "reason": "INC-42", "until": "2024-05-02T00:00:00Z"}')) return check.problems;
  check.oneOf(data, "level", POSTURE_LEVELS);
  check.string(data, "reason", "say why the posture changes (an incident id, a freeze window)");
  check.timestamp(data, "until", false);
  check.string(data, "scope", 'name the scope (org, account, namespace, repo) or leave it out for the whole org', false);
  return check.problems;
}

/** `dev.vigil.feedback`: `{ decisionId, label, by, reason? }`. */
export function validateFeedback(data: unknown, prefix = "data"): FieldProblem[] {
  const check = new ShapeChecker(prefix);
  if (!check.object(data, '{"decisionId": "d-1", "label": "false_positive", "by": "alice", "reason": "expected maintenance"}')) return check.problems;
  check.string(data, "decisionId", "give the id of the decision the feedback is about");
  check.oneOf(data, "label", FEEDBACK_LABELS);
  check.string(data, "by", "name who gives the feedback");
  check.string(data, "reason", "say why, or leave `reason` out", false);
  return check.problems;
}

/** `dev.vigil.dependency.change`: `{ repo, ref, pullRequest?, base, head, path }`. */
export function validateDependencyChange(data: unknown, prefix = "data"): FieldProblem[] {
  const check = new ShapeChecker(prefix);
  if (!check.object(data, '{"repo": "acme/api", "ref": "refs/pull/7/head", "pullRequest": 7, "base": "...", "head": "...", "path": "package-lock.json"}')) return check.problems;
  if (check.string(data, "repo", 'give the repository as "owner/name"') && !/^[^/\s]+\/[^/\s]+$/.test(data["repo"] as string)) {
    check.add("repo", `\`${check.path("repo")}\` is ${JSON.stringify(data["repo"])}: give the repository as "owner/name"`);
  }
  check.string(data, "ref", 'give the git ref or commit of the head, e.g. "refs/heads/main"');
  check.number(data, "pullRequest", "give the pull request number (a positive whole number) or leave it out", { required: false, min: 1, integer: true });
  for (const side of ["base", "head"] as const) {
    const lockfile = data[side];
    if (typeof lockfile !== "string" && !isRecord(lockfile)) {
      check.add(side, `\`${check.path(side)}\` is ${lockfile === undefined ? "missing" : "neither lockfile text nor a parsed lockfile object"}: send the ${side} lockfile's text or JSON object`);
    }
  }
  check.string(data, "path", 'give the lockfile path, e.g. "package-lock.json"');
  return check.problems;
}

export type VigilDataType =
  | typeof EventTypes.metric
  | typeof EventTypes.resource
  | typeof EventTypes.dataflow
  | typeof EventTypes.posture
  | typeof EventTypes.feedback
  | typeof EventTypes.dependencyChange;

export const vigilDataValidators: Readonly<Record<VigilDataType, (data: unknown, prefix?: string) => FieldProblem[]>> = {
  [EventTypes.metric]: validateMetric,
  [EventTypes.resource]: validateResource,
  [EventTypes.dataflow]: validateDataflow,
  [EventTypes.posture]: validatePosture,
  [EventTypes.feedback]: validateFeedback,
  [EventTypes.dependencyChange]: validateDependencyChange,
};

export function isVigilDataType(type: string): type is VigilDataType {
  return Object.hasOwn(vigilDataValidators, type);
}

/** The documented subject of a Vigil data event (EVENTS.md), or undefined. */
function subjectOf(type: VigilDataType, data: JsonRecord): string | undefined {
  switch (type) {
    case EventTypes.metric: return data["resource"] as string;
    case EventTypes.resource: return data["id"] as string;
    case EventTypes.dataflow: return data["dataset"] as string;
    case EventTypes.posture: return typeof data["scope"] === "string" ? data["scope"] : "org";
    case EventTypes.feedback: return data["decisionId"] as string;
    case EventTypes.dependencyChange:
      return typeof data["pullRequest"] === "number" ? `${String(data["repo"])}#${data["pullRequest"]}` : (data["repo"] as string);
  }
}

export interface VigilEventOptions {
  /** CloudEvents `source`; default `/vigil`. */
  readonly source?: string;
  /** Upstream id; default a content hash of `data` (idempotent). */
  readonly id?: string;
  /** RFC 3339 time; default `data.ts` for metrics, else none. */
  readonly time?: string;
  /** Overrides the documented subject. */
  readonly subject?: string;
}

/**
 * Wraps `data` of one of Vigil's own types into a CloudEvent after validating it. Subject:
 * metric → `resource`, resource → `id`, dataflow → `dataset`, posture → `scope` or "org",
 * feedback → `decisionId`, dependency.change → `owner/repo#n` (or `owner/repo`). Never throws.
 */
export function createVigilEvent(type: VigilDataType, data: unknown, options: VigilEventOptions = {}): IngestResult {
  const problems = vigilDataValidators[type](data, "data");
  const deep = nestingProblem(data, "data");
  if (deep !== undefined) problems.push(deep);
  if (problems.length > 0 || !isRecord(data)) return place({ problems }, position(0));
  const subject = options.subject ?? subjectOf(type, data);
  const given = options.time ?? (type === EventTypes.metric ? (data["ts"] as string) : undefined);
  const time = given === undefined ? undefined : normalizeTimestamp(given) ?? given;
  const event: Event = {
    specversion: "1.0",
    id: options.id ?? contentId({ type, data }),
    source: options.source ?? "/vigil",
    type,
    ...(subject === undefined ? {} : { subject }),
    ...(time === undefined ? {} : { time }),
    datacontenttype: "application/json",
    data,
  };
  return place({ event, warnings: [] }, position(0));
}
