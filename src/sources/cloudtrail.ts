import { EventTypes, type Event } from "../core/index.js";
import {
  failure,
  place,
  position,
  problem,
  type Conversion,
  type FieldProblem,
  type IngestResult,
} from "./results.js";
import {
  createContentIdAllocator,
  field,
  fieldName,
  isRecord,
  kindOf,
  nestingProblem,
  upstreamTime,
  type ContentIdAllocator,
  type JsonRecord,
} from "./values.js";

/**
 * AWS CloudTrail → `com.amazonaws.cloudtrail`, from a single record, a `{ "Records": [...] }`
 * file (CloudTrail's S3 delivery format) or an EventBridge envelope (`detail-type: "AWS API
 * Call via CloudTrail"`, and the other `... via CloudTrail` detail-types whose detail is a record:
 * console sign-ins, console actions, service events). Other EventBridge events become
 * `com.amazonaws.eventbridge`.
 *
 * Mapping: id = `eventID` (content hash when absent), source = `aws.<service>` from
 * `eventSource` (`s3.amazonaws.com` → `aws.s3`, the same name EventBridge uses), time =
 * `eventTime`, subject = the principal ARN (`userIdentity.arn`, else `invokedBy`, else the
 * Identity Center user `onBehalfOf.userId`, else `principalId`, else `accountId`), data = the
 * record unchanged.
 */

export const EVENTBRIDGE_TYPE = "com.amazonaws.eventbridge";
export const CLOUDTRAIL_DETAIL_TYPE = "AWS API Call via CloudTrail";

export interface CloudTrailOptions {
  /** Shares content-id numbering across the items of one input (see createContentIdAllocator). */
  readonly ids?: ContentIdAllocator;
}

/**
 * Checks that a value is a CloudTrail record: an object with string `eventSource` and
 * `eventName` (any letter case). `prefix` is prepended to field names. Never throws.
 */
export function validateCloudTrailRecord(record: unknown, prefix = ""): FieldProblem[] {
  const at = (name: string): string => (prefix === "" ? name : `${prefix}.${name}`);
  if (!isRecord(record)) {
    return [problem(prefix === "" ? "(record)" : prefix, `a CloudTrail record is a JSON object, got ${kindOf(record)}: send one element of a CloudTrail "Records" array`)];
  }
  const problems: FieldProblem[] = [];
  for (const [name, example] of [["eventSource", "s3.amazonaws.com"], ["eventName", "PutBucketPolicy"]] as const) {
    const value = field(record, name);
    if (typeof value !== "string" || value.length === 0) {
      problems.push(
        problem(
          at(fieldName(record, name)),
          `\`${at(fieldName(record, name))}\` is ${kindOf(value)}: a CloudTrail record names the ${name === "eventSource" ? "AWS service" : "API call"} in \`${name}\` (e.g. "${example}"); send the record as CloudTrail wrote it`,
        ),
      );
    }
  }
  return problems;
}

/** `s3.amazonaws.com` → `aws.s3`; anything else → `aws.<eventSource>`. */
export function cloudTrailSource(eventSource: string): string {
  const service = eventSource.replace(/\.amazonaws\.com$/i, "");
  return `aws.${service}`;
}

/** The principal the record is about, per the fallback order in the module comment. */
export function cloudTrailPrincipal(record: JsonRecord): string | undefined {
  const identity = field(record, "userIdentity");
  if (!isRecord(identity)) return undefined;
  const text = (value: unknown): string | undefined => (typeof value === "string" && value.length > 0 ? value : undefined);
  const onBehalfOf = field(identity, "onBehalfOf");
  // An IAM Identity Center user (type IdentityCenterUser) has no arn or principalId: it is the
  // user its session acts for, not the account every such user shares.
  const user = isRecord(onBehalfOf) ? text(field(onBehalfOf, "userId")) : undefined;
  return text(field(identity, "arn")) ?? text(field(identity, "invokedBy")) ?? user ?? text(field(identity, "principalId")) ?? text(field(identity, "accountId"));
}

function convertRecord(record: unknown, ids: ContentIdAllocator, fallback: { id?: string; time?: string } = {}, prefix = ""): Conversion {
  const problems = validateCloudTrailRecord(record, prefix);
  const deep = nestingProblem(record, prefix);
  if (deep !== undefined) problems.push(deep);
  if (problems.length > 0 || !isRecord(record)) return { problems };
  const warnings: string[] = [];
  const eventId = field(record, "eventID");
  const id = typeof eventId === "string" && eventId.length > 0 ? eventId : (fallback.id ?? ids.idFor(record));
  const timed = upstreamTime(field(record, "eventTime"), fieldName(record, "eventTime"));
  if (timed.warning !== undefined) warnings.push(timed.warning);
  const time = timed.time ?? fallback.time;
  const subject = cloudTrailPrincipal(record);
  const event: Event = {
    specversion: "1.0",
    id,
    source: cloudTrailSource(field(record, "eventSource") as string),
    type: EventTypes.cloudTrail,
    ...(subject === undefined ? {} : { subject }),
    ...(time === undefined ? {} : { time }),
    datacontenttype: "application/json",
    data: record,
  };
  return { event, warnings };
}

/** One CloudTrail record → one event (`index` 0). Never throws. */
export function cloudTrailRecordToEvent(record: unknown, options: CloudTrailOptions = {}): IngestResult {
  return place(convertRecord(record, options.ids ?? createContentIdAllocator()), position(0));
}

/**
 * A CloudTrail log file (`{ "Records": [...] }`) → one result per record, by index. A file
 * without a `Records` array is one failure with field `Records`. Never throws.
 */
export function cloudTrailFileToEvents(file: unknown, options: CloudTrailOptions = {}): IngestResult[] {
  const records = isRecord(file) ? file["Records"] : undefined;
  if (!Array.isArray(records)) {
    return [
      failure(
        [problem("Records", `a CloudTrail log file is {"Records": [...]}; \`Records\` is ${kindOf(records)}: send the file as CloudTrail delivered it (gunzipped or gzipped)`)],
        position(0),
      ),
    ];
  }
  return cloudTrailFileConversions(records, options.ids ?? createContentIdAllocator()).map((conversion, index) => place(conversion, position(index)));
}

/** The records of a CloudTrail file, each converted; field names say `Records[i]`. */
export function cloudTrailFileConversions(records: readonly unknown[], ids: ContentIdAllocator): Conversion[] {
  return records.map((record, index) => convertRecord(record, ids, {}, `Records[${index}]`));
}

/** True when a value is an EventBridge envelope (`detail-type`, `source`, `detail`). */
export function isEventBridgeEnvelope(value: unknown): value is JsonRecord {
  return isRecord(value) && typeof value["detail-type"] === "string" && "detail" in value && "source" in value;
}

/**
 * An EventBridge event → an event. `AWS API Call via CloudTrail` envelopes (and the other
 * `... via CloudTrail` ones whose detail is a CloudTrail record) become
 * `com.amazonaws.cloudtrail` with `data` = `detail` (the record), id = `detail.eventID` (so the
 * same call delivered by S3 and by EventBridge has one id), falling back to the envelope's
 * `id` and `time`. Any other detail-type becomes `com.amazonaws.eventbridge` with the whole
 * envelope as data, id = `id`, source = `source` (e.g. `aws.guardduty`), time = `time`,
 * subject = the first non-empty `resources` entry. Never throws.
 */
export function eventBridgeToEvent(envelope: unknown, options: CloudTrailOptions = {}): IngestResult {
  return place(convertEventBridge(envelope, options.ids ?? createContentIdAllocator()), position(0));
}

export function convertEventBridge(envelope: unknown, ids: ContentIdAllocator): Conversion {
  if (!isEventBridgeEnvelope(envelope)) {
    return {
      problems: [problem("detail-type", 'an EventBridge event has "detail-type", "source" and "detail": send the event as EventBridge delivered it')],
    };
  }
  const envelopeId = typeof envelope["id"] === "string" && envelope["id"].length > 0 ? envelope["id"] : undefined;
  const envelopeTime = upstreamTime(envelope["time"], "time");
  // CloudTrail delivers API calls and also console sign-ins, console actions and service events
  // (`AWS Console Sign In via CloudTrail`...): each carries a record, so it is the same event as
  // the record delivered to S3. (Insights have no eventSource/eventName and stay EventBridge events.)
  const detailType = envelope["detail-type"] as string;
  if (detailType === CLOUDTRAIL_DETAIL_TYPE || (/ via CloudTrail$/i.test(detailType) && looksLikeCloudTrailRecord(envelope["detail"]))) {
    return convertRecord(envelope["detail"], ids, {
      ...(envelopeId === undefined ? {} : { id: envelopeId }),
      ...(envelopeTime.time === undefined ? {} : { time: envelopeTime.time }),
    }, "detail");
  }
  const source = envelope["source"];
  if (typeof source !== "string" || source.length === 0) {
    return { problems: [problem("source", `\`source\` is ${kindOf(source)}: EventBridge names the emitting service in \`source\`, e.g. "aws.guardduty"`)] };
  }
  const deep = nestingProblem(envelope);
  if (deep !== undefined) return { problems: [deep] };
  const resources = envelope["resources"];
  // PutEvents allows empty resources; a CloudEvents subject is never empty.
  const subject = Array.isArray(resources) ? resources.find((r): r is string => typeof r === "string" && r.length > 0) : undefined;
  const event: Event = {
    specversion: "1.0",
    id: envelopeId ?? ids.idFor(envelope),
    source,
    type: EVENTBRIDGE_TYPE,
    ...(subject === undefined ? {} : { subject }),
    ...(envelopeTime.time === undefined ? {} : { time: envelopeTime.time }),
    datacontenttype: "application/json",
    data: envelope,
  };
  return { event, warnings: envelopeTime.warning === undefined ? [] : [envelopeTime.warning] };
}

/** Single-record conversion for the sniffer (shares the input's id allocator). */
export function convertCloudTrailRecord(record: unknown, ids: ContentIdAllocator): Conversion {
  return convertRecord(record, ids);
}

/** True when a value looks like a CloudTrail record (has `eventSource` and `eventName`). */
export function looksLikeCloudTrailRecord(value: unknown): boolean {
  return isRecord(value) && field(value, "eventSource") !== undefined && field(value, "eventName") !== undefined;
}
