import { EventTypes, type Event } from "../core/index.js";
import { ShapeChecker } from "./check.js";
import { place, position, type Conversion, type FieldProblem, type IngestResult } from "./results.js";
import { isRecord, nestingProblem, type JsonRecord } from "./values.js";

/**
 * Kubernetes AdmissionReview (`admission.k8s.io/v1` and `v1beta1`) → `io.k8s.admission.review`.
 * Mapping: id = `request.uid` (the API server's id for this admission call, echoed in the
 * response), subject = `namespace/name` (`name` for cluster-scoped objects; the object's
 * `metadata.generateName` when the name is not yet assigned), source = the configured cluster
 * (default `/k8s/admission`), data = the whole AdmissionReview unchanged, so a response can be
 * written in the same apiVersion. AdmissionReview carries no timestamp: `time` is the
 * caller's `receivedAt`, if given.
 */

export const ADMISSION_API_VERSIONS = ["admission.k8s.io/v1", "admission.k8s.io/v1beta1"] as const;
export const ADMISSION_OPERATIONS = ["CREATE", "UPDATE", "DELETE", "CONNECT"] as const;

export interface AdmissionOptions {
  /** CloudEvents `source`, e.g. `/k8s/prod-eu`; default `/k8s/admission`. */
  readonly source?: string;
  /** When the webhook received the review; becomes `time`. */
  readonly receivedAt?: Date;
}

/**
 * Checks an AdmissionReview: apiVersion, kind, and the request fields the API server always
 * sends (`uid`, `kind{group,version,kind}`, `resource{group,version,resource}`, `operation`,
 * `userInfo`), plus the types of `name`, `namespace`, `object`, `oldObject`, `dryRun`.
 * Fields are named by path (`request.operation`). Never throws.
 */
export function validateAdmissionReview(value: unknown, prefix = ""): FieldProblem[] {
  const check = new ShapeChecker(prefix);
  if (!check.object(value, '{"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "request": {...}}')) return check.problems;
  check.oneOf(value, "apiVersion", ADMISSION_API_VERSIONS);
  check.oneOf(value, "kind", ["AdmissionReview"]);
  const request = check.child("request");
  if (!request.object(value["request"], '{"uid": "...", "kind": {...}, "resource": {...}, "operation": "CREATE", "userInfo": {...}}')) return check.problems;
  const body = value["request"] as JsonRecord;
  request.string(body, "uid", "the API server sets a unique uid per admission call; send the review as received");
  const gvk = request.child("kind");
  if (gvk.object(body["kind"], '{"group": "apps", "version": "v1", "kind": "Deployment"}')) {
    groupVersion(gvk, body["kind"] as JsonRecord);
    gvk.string(body["kind"] as JsonRecord, "kind", 'give the object kind, e.g. "Deployment"');
  }
  const gvr = request.child("resource");
  if (gvr.object(body["resource"], '{"group": "apps", "version": "v1", "resource": "deployments"}')) {
    groupVersion(gvr, body["resource"] as JsonRecord);
    gvr.string(body["resource"] as JsonRecord, "resource", 'give the resource, e.g. "deployments"');
  }
  request.oneOf(body, "operation", ADMISSION_OPERATIONS);
  request.child("userInfo").object(body["userInfo"], '{"username": "system:serviceaccount:ci:deployer"}');
  request.string(body, "name", "give the object name or leave it out (CREATE with generateName)", false);
  request.string(body, "namespace", "give the namespace or leave it out for cluster-scoped objects", false);
  request.optionalObject(body, "object");
  request.optionalObject(body, "oldObject");
  if (body["dryRun"] !== undefined && body["dryRun"] !== null && typeof body["dryRun"] !== "boolean") {
    request.add("dryRun", `\`${request.path("dryRun")}\` is ${JSON.stringify(body["dryRun"])}: use true or false`);
  }
  return check.problems;
}

/** `group` may be the empty string (the core group); `version` may not. */
function groupVersion(check: ShapeChecker, record: JsonRecord): void {
  if (typeof record["group"] !== "string") {
    check.add("group", `\`${check.path("group")}\` is ${record["group"] === undefined ? "missing" : JSON.stringify(record["group"])}: give the API group ("" for the core group)`);
  }
  check.string(record, "version", 'give the API version, e.g. "v1"');
}

/** `namespace/name` of the object under review (see module comment). */
export function admissionSubject(request: JsonRecord): string | undefined {
  const object = [request["object"], request["oldObject"]].find(isRecord);
  const metadata = object !== undefined && isRecord(object["metadata"]) ? object["metadata"] : {};
  const name = [request["name"], metadata["name"], metadata["generateName"]].find((v) => typeof v === "string" && v.length > 0) as string | undefined;
  const namespace = [request["namespace"], metadata["namespace"]].find((v) => typeof v === "string" && v.length > 0) as string | undefined;
  if (name === undefined) return namespace;
  return namespace === undefined ? name : `${namespace}/${name}`;
}

export function convertAdmissionReview(value: unknown, options: AdmissionOptions = {}): Conversion {
  const problems = validateAdmissionReview(value);
  const deep = nestingProblem(value);
  if (deep !== undefined) problems.push(deep);
  if (problems.length > 0 || !isRecord(value)) return { problems };
  const request = value["request"] as JsonRecord;
  const subject = admissionSubject(request);
  const event: Event = {
    specversion: "1.0",
    id: request["uid"] as string,
    source: options.source ?? "/k8s/admission",
    type: EventTypes.admissionReview,
    ...(subject === undefined ? {} : { subject }),
    ...(options.receivedAt === undefined ? {} : { time: options.receivedAt.toISOString() }),
    datacontenttype: "application/json",
    data: value,
  };
  return { event, warnings: [] };
}

/** One AdmissionReview → one event (`index` 0), or the problems by field path. Never throws. */
export function admissionReviewToEvent(value: unknown, options: AdmissionOptions = {}): IngestResult {
  return place(convertAdmissionReview(value, options), position(0));
}

export function looksLikeAdmissionReview(value: unknown): boolean {
  return isRecord(value) && value["kind"] === "AdmissionReview";
}
