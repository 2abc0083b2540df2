import { EventTypes, type Event } from "../core/index.js";
import { ShapeChecker } from "./check.js";
import { place, position, problem, type Conversion, type FieldProblem, type IngestResult } from "./results.js";
import { contentId, filePathReference, isRecord, nestingProblem, upstreamTime, type JsonRecord } from "./values.js";

/**
 * Terraform plans → `com.hashicorp.terraform.plan`: the JSON that `terraform show -json <planfile>`
 * prints (format_version, terraform_version, planned_values, resource_changes, configuration,
 * prior_state, variables; https://developer.hashicorp.com/terraform/internals/json-format), one
 * event per plan with the plan unchanged as `data`. Subject: the `subject` option, else the file
 * name, else `terraform-plan`. Id: a content hash (the same plan gives the same id).
 *
 * The format's own rule is followed: an unknown major `format_version` is rejected, unknown
 * properties are ignored. Only the shape this adapter relies on is checked; what the plan says is
 * judged by policies (the residency pack reads regions from it).
 */

export interface TerraformPlanOptions {
  /** CloudEvents `source`; default the file path (as a URI-reference), else `/terraform`. */
  readonly source?: string;
  /** Subject; default the file name, else `terraform-plan`. */
  readonly subject?: string;
  /** File the plan was read from, for the default source and subject. */
  readonly file?: string;
  /** Upstream id; default a content hash of the plan. */
  readonly id?: string;
  /** RFC 3339 time of the event; default the plan's `timestamp` when present. */
  readonly time?: string;
}

/** The major format versions this adapter reads (Terraform 0.12 wrote "0.1", 1.1+ write "1.x"). */
export const TERRAFORM_PLAN_MAJOR_VERSIONS: readonly string[] = ["0", "1"];

/** Checks the parts of a plan representation Vigil reads. Never throws. */
export function validateTerraformPlan(value: unknown, prefix = ""): FieldProblem[] {
  const check = new ShapeChecker(prefix);
  if (!check.object(value, '{"format_version": "1.2", "terraform_version": "1.9.8", "resource_changes": [...]}')) return check.problems;
  if (check.string(value, "format_version", 'give the plan\'s format_version, e.g. "1.2" (print the plan with `terraform show -json <planfile>`)')) {
    const major = String(value["format_version"]).split(".")[0] ?? "";
    if (!TERRAFORM_PLAN_MAJOR_VERSIONS.includes(major)) {
      check.add("format_version", `\`${check.path("format_version")}\` is ${JSON.stringify(value["format_version"])}: Vigil reads plan format versions ${TERRAFORM_PLAN_MAJOR_VERSIONS.map((m) => `${m}.x`).join(" and ")}; a new major version is not backward compatible, so the plan is rejected`);
    }
  }
  const changes = value["resource_changes"];
  if (changes !== undefined && !Array.isArray(changes)) {
    check.add("resource_changes", `\`${check.path("resource_changes")}\` must be a list of resource changes (it is ${typeof changes}); is this a state file? Use \`terraform show -json <planfile>\``);
  } else if (Array.isArray(changes)) {
    changes.forEach((change, index) => {
      const item = check.child(`resource_changes[${index}]`);
      if (!item.object(change, '{"address": "aws_s3_bucket.logs", "type": "aws_s3_bucket", "change": {"actions": ["create"], "after": {...}}}')) return;
      item.string(change, "address", 'give the resource address, e.g. "aws_s3_bucket.logs"');
      item.string(change, "type", 'give the resource type, e.g. "aws_s3_bucket"');
      const inner = item.child("change");
      if (inner.object(change["change"], '{"actions": ["create"], "before": null, "after": {...}}')) {
        const actions = (change["change"] as JsonRecord)["actions"];
        if (!Array.isArray(actions) || !actions.every((a) => typeof a === "string")) inner.add("actions", `\`${inner.path("actions")}\` must be a list of actions such as ["create"] or ["delete", "create"]`);
      }
    });
  }
  for (const name of ["configuration", "planned_values", "prior_state", "variables"] as const) check.optionalObject(value, name);
  if (changes === undefined && value["planned_values"] === undefined) {
    check.add("resource_changes", "the plan has neither resource_changes nor planned_values: is this a plan printed by `terraform show -json <planfile>`?");
  }
  return check.problems;
}

/** True when a parsed JSON value looks like a plan (`format_version` with `resource_changes`, `planned_values` or `terraform_version`). */
export function looksLikeTerraformPlan(value: unknown): boolean {
  return isRecord(value) && typeof value["format_version"] === "string" && (Array.isArray(value["resource_changes"]) || isRecord(value["planned_values"]) || (typeof value["terraform_version"] === "string" && isRecord(value["configuration"])));
}

function baseName(file: string): string {
  const parts = file.split(/[\\/]/);
  return parts[parts.length - 1] || file;
}

export function convertTerraformPlan(value: unknown, options: TerraformPlanOptions = {}): Conversion {
  const problems = validateTerraformPlan(value);
  const deep = nestingProblem(value);
  if (deep !== undefined) problems.push(deep);
  if (problems.length > 0 || !isRecord(value)) return { problems };
  // The plan's own `timestamp`, normalised like every upstream time: one that is not a timestamp
  // is a warning (the event has no time), never copied into the event as is.
  const timed = options.time === undefined ? upstreamTime(value["timestamp"], "timestamp") : {};
  const time = options.time ?? timed.time;
  const event: Event = {
    specversion: "1.0",
    id: options.id ?? contentId(value),
    source: options.source ?? (options.file === undefined ? "/terraform" : filePathReference(options.file)),
    type: EventTypes.terraformPlan,
    subject: options.subject ?? (options.file === undefined ? "terraform-plan" : baseName(options.file)),
    ...(time === undefined ? {} : { time }),
    datacontenttype: "application/json",
    data: value,
  };
  return { event, warnings: timed.warning === undefined ? [] : [timed.warning] };
}

/** One plan (already parsed) → one event (`index` 0), or the problems by field path. Never throws. */
export function terraformPlanToEvent(value: unknown, options: TerraformPlanOptions = {}): IngestResult {
  return place(convertTerraformPlan(value, options), position(0));
}

/** Plan JSON text → one event, or a failure naming what is wrong (not JSON, bad shape). Never throws. */
export function terraformPlanTextToEvent(text: string, options: TerraformPlanOptions = {}): IngestResult {
  let value: unknown;
  try {
    value = JSON.parse(text.replace(/^\uFEFF/, ""));
  } catch (cause) {
    return place({ problems: [problem("(input)", `${options.file ?? "the plan"} is not valid JSON (${cause instanceof Error ? cause.message : String(cause)}): print the plan with \`terraform show -json <planfile>\``)], code: "VIGIL_BAD_INPUT" }, position(0));
  }
  return terraformPlanToEvent(value, options);
}
