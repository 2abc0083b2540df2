import type { Entity } from "../core/entity.js";
import { EventTypes, type Event } from "../core/event.js";
import type { SeenDimension } from "./settings.js";
import { parseTime } from "./time.js";

/**
 * Entity resolution: which entities an event involves, in which role, and the facts the
 * baselines learn from it. Works on the upstream record in `event.data` (EVENTS.md), so it
 * does not depend on how a source adapter wrapped it. Never throws: a field that is missing
 * or of the wrong type is simply not used.
 */

/** What the baselines and detectors learn from one event. */
export interface Observation {
  /** The event's own time (record time when present, else `event.time`, else the clock), epoch ms. */
  readonly timeMs: number;
  /** Role whose entity is the event's subject (history is kept for it). */
  readonly primaryRole: string | undefined;
  /** Values of the principal's seen-set dimensions in this event. */
  readonly seen: Partial<Record<SeenDimension, string>>;
  /** A metric sample (`dev.vigil.metric`). */
  readonly metric?: { readonly name: string; readonly value: number; readonly unit?: string };
  /** A spend amount (`org.finops.focus.cost`) for the charge period starting at `periodStartMs`. */
  readonly spend?: { readonly amount: number; readonly periodStartMs: number; readonly periodHours: number };
  /** Posture scopes besides `org` that apply: `account:<id>`, `namespace:<ns>`, `repo:<owner/name>`. */
  readonly scopes: readonly string[];
}

export interface ResolvedEvent {
  readonly entities: Readonly<Record<string, Entity>>;
  readonly observation: Observation;
}

type Json = Record<string, unknown>;

function obj(value: unknown): Json | undefined {
  return value !== null && typeof value === "object" && !Array.isArray(value) ? (value as Json) : undefined;
}

function str(value: unknown): string | undefined {
  if (typeof value === "string") return value.length > 0 && value !== "NULL" ? value : undefined;
  if (typeof value === "number" && Number.isFinite(value)) return String(value);
  return undefined;
}

function num(value: unknown): number | undefined {
  const parsed = typeof value === "number" ? value : typeof value === "string" && value.trim() !== "" ? Number(value) : Number.NaN;
  return Number.isFinite(parsed) ? parsed : undefined;
}

/** Copies only defined values, so attrs stay small and JSON-safe. */
function attrs(values: Json): Json {
  const result: Json = {};
  for (const key in values) {
    const value = values[key];
    if (value !== undefined && value !== null) result[key] = value;
  }
  return result;
}

function entity(kind: string, id: string, attributes: Json = {}): Entity {
  return { kind, id, attrs: attrs(attributes) };
}

const ipPattern = /^(?:\d{1,3}(?:\.\d{1,3}){3}|[0-9a-f:]*:[0-9a-f:.]+)$/i;

/** Only real addresses: CloudTrail puts service names (`autoscaling.amazonaws.com`) there too. */
export function ipAddress(value: unknown): string | undefined {
  const text = str(value);
  return text && ipPattern.test(text) ? text : undefined;
}

/**
 * A short, stable device label from a user agent: the product token for tools
 * (`aws-cli`, `S3Console`, `Boto3`), browser and OS family for browsers (`Chrome on macOS`).
 */
/**
 * Devices by user agent: a stream has few distinct user agents, and each costs up to a dozen regex
 * tests. Cleared when full; agents longer than 512 characters are not kept (at most ~0.5 MB).
 */
const devices = new Map<string, string>();
const MAX_CACHED_DEVICES = 1024;

export function deviceFromUserAgent(userAgent: string): string {
  const cached = devices.get(userAgent);
  if (cached !== undefined) return cached;
  const device = parseDevice(userAgent);
  if (userAgent.length > 512) return device;
  if (devices.size >= MAX_CACHED_DEVICES) devices.clear();
  devices.set(userAgent, device);
  return device;
}

function parseDevice(userAgent: string): string {
  const text = userAgent.trim().replace(/^\[|\]$/g, "");
  if (/^Mozilla\//.test(text)) {
    const os = /Windows/.test(text) ? "Windows" : /iPhone|iPad/.test(text) ? "iOS" : /Android/.test(text) ? "Android" : /Mac OS X|Macintosh/.test(text) ? "macOS" : /Linux/.test(text) ? "Linux" : "other OS";
    const browser = /Edg\//.test(text) ? "Edge" : /Firefox\//.test(text) ? "Firefox" : /Chrome\//.test(text) ? "Chrome" : /Safari\//.test(text) ? "Safari" : "browser";
    return `${browser} on ${os}`;
  }
  const token = /^[A-Za-z][\w.-]*/.exec(text);
  return token ? token[0] : text.slice(0, 40);
}

/** requestParameters keys that name the resource acted on, with the resource type they imply. */
const cloudTrailResourceKeys: readonly (readonly [string, string])[] = [
  ["bucketName", "aws.s3.bucket"],
  ["instanceId", "aws.ec2.instance"],
  ["keyId", "aws.kms.key"],
  ["accessKeyId", "aws.iam.access-key"],
  ["roleName", "aws.iam.role"],
  ["userName", "aws.iam.user"],
  ["functionName", "aws.lambda.function"],
  ["dBInstanceIdentifier", "aws.rds.instance"],
  ["tableName", "aws.dynamodb.table"],
  ["volumeId", "aws.ec2.volume"],
  ["groupId", "aws.ec2.security-group"],
  ["secretId", "aws.secretsmanager.secret"],
  ["queueUrl", "aws.sqs.queue"],
  ["topicArn", "aws.sns.topic"],
];

function firstItemField(container: unknown, field: string): string | undefined {
  const items = obj(container)?.["items"];
  if (!Array.isArray(items)) return undefined;
  return str(obj(items[0])?.[field]);
}

function cloudTrailResource(record: Json): Entity | undefined {
  const request = obj(record["requestParameters"]);
  const response = obj(record["responseElements"]);
  if (request) {
    for (const [key, type] of cloudTrailResourceKeys) {
      const id = str(request[key]);
      if (id) return entity("resource", id, { type });
    }
    const instance = firstItemField(request["instancesSet"], "instanceId");
    if (instance) return entity("resource", instance, { type: "aws.ec2.instance" });
  }
  const launched = response ? firstItemField(response["instancesSet"], "instanceId") : undefined;
  if (launched) return entity("resource", launched, { type: "aws.ec2.instance" });
  const listed = Array.isArray(record["resources"]) ? obj(record["resources"][0]) : undefined;
  const arn = str(listed?.["ARN"]) ?? str(listed?.["arn"]);
  return arn ? entity("resource", arn, { type: str(listed?.["type"]) }) : undefined;
}

const UUID_IN = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/i;
const HEX_RUNS = /[0-9a-f]{16,}/gi;
const DIGIT_RUN = /\d{10,}/;
const ASSUMED_ROLE_ARN = /^arn:([^:]+):sts::(\d{12}):assumed-role\/([^/]+)\/(.+)$/;

/**
 * True for a role session name a machine made for one session (docs/context.md, "Assumed-role
 * sessions"): not an e-mail (no `@`), and holding a UUID, a run of 16 or more hex digits with at
 * least one digit (ECS task ids, EC2 instance ids, hashes), or a run of 10 or more digits (epoch
 * timestamps: `botocore-session-1700000000`, `aws-go-sdk-1700000000123456789`, run ids).
 */
export function isMachineSessionName(name: string): boolean {
  if (name.includes("@")) return false;
  if (UUID_IN.test(name) || DIGIT_RUN.test(name)) return true;
  return (name.match(HEX_RUNS) ?? []).some((run) => /\d/.test(run));
}

/**
 * The principal of a CloudTrail userIdentity. An assumed-role session whose name is
 * machine-generated is judged as its role (the IAM role ARN: the session issuer's, else built
 * from the assumed-role ARN), the session kept as `sessionName`/`sessionArn`: such names are new
 * every session, and a principal per session never builds a baseline. Other sessions (people:
 * SSO e-mails, user names) stay their own principals.
 */
function cloudTrailPrincipal(identity: Json, issuer: Json | undefined): { id: string; session?: { sessionName: string; sessionArn?: string } } | undefined {
  const arn = str(identity["arn"]);
  const assumed = arn === undefined ? undefined : ASSUMED_ROLE_ARN.exec(arn);
  if (arn !== undefined && assumed) {
    const [, partition, account, role, sessionName] = assumed as unknown as [string, string, string, string, string];
    if (!isMachineSessionName(sessionName)) return { id: arn };
    const issuerArn = str(issuer?.["arn"]);
    const roleArn = issuerArn !== undefined && issuerArn.includes(":role/") && issuerArn.endsWith(`/${role}`) ? issuerArn : `arn:${partition}:iam::${account}:role/${role}`;
    return { id: roleArn, session: { sessionName, sessionArn: arn } };
  }
  if (arn !== undefined) return { id: arn };
  // No arn: an assumed role's principalId is "<role id>:<session name>".
  const principalId = str(identity["principalId"]);
  if (principalId !== undefined && identity["type"] === "AssumedRole") {
    const colon = principalId.indexOf(":");
    const sessionName = colon > 0 ? principalId.slice(colon + 1) : "";
    if (sessionName !== "" && isMachineSessionName(sessionName)) return { id: principalId.slice(0, colon), session: { sessionName } };
  }
  // An IAM Identity Center user has no arn: its session acts for `onBehalfOf.userId` (each user
  // their own principal and baselines, not one "IdentityCenterUser" for all of them).
  const id = principalId ?? str(obj(identity["onBehalfOf"])?.["userId"]) ?? str(identity["invokedBy"]) ?? str(identity["type"]);
  return id === undefined ? undefined : { id };
}

function resolveCloudTrail(data: Json, out: Builder): void {
  // The EventBridge envelope carries the record in `detail`.
  const detail = obj(data["detail"]);
  const record = detail && detail["eventSource"] !== undefined ? detail : data;
  const identity = obj(record["userIdentity"]) ?? {};
  const accountId = str(record["recipientAccountId"]) ?? str(identity["accountId"]) ?? str(data["account"]);
  const issuer = obj(obj(identity["sessionContext"])?.["sessionIssuer"]);
  const principal = cloudTrailPrincipal(identity, issuer);
  if (principal) {
    out.add("principal", entity("principal", principal.id, { type: str(identity["type"]), accountId: str(identity["accountId"]), userName: str(identity["userName"]) ?? str(issuer?.["userName"]), provider: "aws", sessionName: principal.session?.sessionName, sessionArn: principal.session?.sessionArn }), true);
  }
  const resource = cloudTrailResource(record);
  if (resource) out.add("resource", resource);
  if (accountId) {
    out.add("account", entity("account", accountId, { provider: "aws" }));
    out.scope(`account:${accountId}`);
  }
  const region = str(record["awsRegion"]);
  if (region) out.add("region", entity("region", region, { provider: "aws" }));
  const service = str(record["eventSource"]);
  if (service) out.add("service", entity("service", service, { provider: "aws" }));
  out.time(record["eventTime"]);
  out.seen("service", service);
  out.seen("region", region);
  out.seen("ip", ipAddress(record["sourceIPAddress"]));
  const userAgent = str(record["userAgent"]);
  if (userAgent && !userAgent.endsWith(".amazonaws.com")) out.seen("device", deviceFromUserAgent(userAgent));
  // CloudTrail has no geography; Panther's data lake adds ipinfo enrichment of sourceIPAddress
  // (`p_enrichment.ipinfo_location` / `ipinfo_asn`). When present, it gives country and ASN.
  const enrichment = obj(record["p_enrichment"]);
  const location = obj(obj(enrichment?.["ipinfo_location"])?.["sourceIPAddress"]);
  const network = obj(obj(enrichment?.["ipinfo_asn"])?.["sourceIPAddress"]);
  const country = str(location?.["country"]);
  if (country) out.add("geo", entity("geo", country, { country, state: str(location?.["region"]), city: str(location?.["city"]) }));
  out.seen("country", country);
  out.seen("asn", str(network?.["asn"]));
}

function resolveOkta(data: Json, out: Builder): void {
  const actor = obj(data["actor"]) ?? {};
  const client = obj(data["client"]) ?? {};
  const geo = obj(client["geographicalContext"]);
  const userAgent = obj(client["userAgent"]);
  const security = obj(data["securityContext"]);
  const principalId = str(actor["alternateId"]) ?? str(actor["id"]);
  if (principalId) out.add("principal", entity("principal", principalId, { type: str(actor["type"]), displayName: str(actor["displayName"]), oktaId: str(actor["id"]), provider: "okta" }), true);
  const os = str(userAgent?.["os"]);
  const browser = str(userAgent?.["browser"]);
  const deviceKind = str(client["device"]);
  const device = deviceKind || os || browser ? [deviceKind ?? "unknown", os ?? "unknown", browser ?? "unknown"].join(" / ") : undefined;
  if (device) out.add("device", entity("device", device, { device: deviceKind, os, browser }));
  const country = str(geo?.["country"]);
  if (country) out.add("geo", entity("geo", country, { country, state: str(geo?.["state"]), city: str(geo?.["city"]) }));
  const targets = Array.isArray(data["target"]) ? data["target"] : [];
  const app = targets.map(obj).find((target) => target?.["type"] === "AppInstance");
  const appName = str(app?.["alternateId"]) ?? str(app?.["displayName"]);
  if (app && appName) out.add("resource", entity("resource", str(app["id"]) ?? appName, { type: "okta.app", name: appName }));
  out.time(data["published"]);
  out.seen("service", appName);
  out.seen("country", country);
  out.seen("asn", str(security?.["asNumber"]));
  out.seen("ip", ipAddress(client["ipAddress"]));
  out.seen("device", device);
}

function parseTags(value: unknown): Json | undefined {
  if (obj(value)) return obj(value);
  if (typeof value !== "string" || !value.startsWith("{")) return undefined;
  try {
    return obj(JSON.parse(value));
  } catch {
    return undefined;
  }
}

function resolveFocus(data: Json, out: Builder, costColumn: string, tagKeys: readonly string[]): void {
  const tags = parseTags(data["Tags"]);
  const resourceId = str(data["ResourceId"]);
  if (resourceId) {
    out.add("resource", entity("resource", resourceId, { type: str(data["ResourceType"]), name: str(data["ResourceName"]), region: str(data["RegionId"]), provider: str(data["ProviderName"]), tags }), true);
  }
  const subAccount = str(data["SubAccountId"]);
  const billingAccount = str(data["BillingAccountId"]);
  const accountId = subAccount ?? billingAccount;
  if (accountId) out.add("account", entity("account", accountId, { name: str(data[subAccount ? "SubAccountName" : "BillingAccountName"]), billingAccountId: billingAccount, provider: str(data["ProviderName"]) }));
  if (subAccount) out.scope(`account:${subAccount}`);
  if (billingAccount && billingAccount !== subAccount) out.scope(`account:${billingAccount}`);
  const service = str(data["ServiceName"]);
  if (service) out.add("service", entity("service", service, { category: str(data["ServiceCategory"]), provider: str(data["ProviderName"]) }));
  for (const key of tagKeys) {
    const value = str(tags?.[key]);
    if (value) out.add(`tag:${key}`, entity("tag", `${key}=${value}`, { key, value }));
  }
  const start = parseTime(data["ChargePeriodStart"]);
  const end = parseTime(data["ChargePeriodEnd"]);
  out.time(data["ChargePeriodStart"]);
  const amount = num(data[costColumn]);
  // Spend is consumption: Usage and Purchase charges (or rows without a category). Credits,
  // adjustments and taxes arrive as rows of their own, often later; a day's total compared with
  // its baseline would count a usage row before its credit as a spike.
  const category = str(data["ChargeCategory"])?.toLowerCase();
  const consumption = category === undefined || category === "usage" || category === "purchase";
  if (amount !== undefined && start !== undefined && consumption) {
    const hours = end !== undefined && end > start ? Math.max(1, Math.round((end - start) / 3_600_000)) : 1;
    out.spend = { amount, periodStartMs: start, periodHours: hours };
  }
}

/** `kindOverride`: the AdmissionReview's `request.kind.kind`, authoritative over the object's own. */
function resolveKubernetesObject(object: Json, out: Builder, namespaceHint?: string, nameHint?: string, kindOverride?: string): void {
  const metadata = obj(object["metadata"]) ?? {};
  const kind = kindOverride ?? str(object["kind"]) ?? "Object";
  const namespace = str(metadata["namespace"]) ?? namespaceHint;
  const name = str(metadata["name"]) ?? nameHint ?? str(metadata["generateName"]);
  if (name) {
    const id = namespace ? `${kind}/${namespace}/${name}` : `${kind}/${name}`;
    out.add("resource", entity("resource", id, { type: `k8s.${kind}`, apiVersion: str(object["apiVersion"]), namespace, name, labels: obj(metadata["labels"]) }), true);
  }
  const ns = kind === "Namespace" ? name : namespace;
  if (ns) {
    out.add("namespace", entity("namespace", ns, kind === "Namespace" ? { labels: obj(metadata["labels"]) } : {}));
    out.scope(`namespace:${ns}`);
  }
}

function resolveAdmission(data: Json, out: Builder): void {
  const request = obj(data["request"]) ?? data;
  const object = obj(request["object"]) ?? obj(request["oldObject"]) ?? {};
  const kind = str(obj(request["kind"])?.["kind"]);
  resolveKubernetesObject(object, out, str(request["namespace"]), str(request["name"]), kind);
  const user = obj(request["userInfo"]);
  const username = str(user?.["username"]);
  if (username) out.add("principal", entity("principal", username, { groups: Array.isArray(user?.["groups"]) ? user["groups"] : undefined, provider: "kubernetes" }));
}

function resolveGitHub(data: Json, out: Builder): void {
  const repository = obj(data["repository"]);
  const fullName = str(repository?.["full_name"]);
  if (fullName) {
    out.add("repo", entity("repo", fullName, { private: repository?.["private"], visibility: str(repository?.["visibility"]), defaultBranch: str(repository?.["default_branch"]) }), true);
    out.scope(`repo:${fullName}`);
  }
  const login = str(obj(data["sender"])?.["login"]);
  if (login) out.add("principal", entity("principal", login, { type: str(obj(data["sender"])?.["type"]), provider: "github" }));
}

class Builder {
  readonly entities: Record<string, Entity> = {};
  readonly seenValues: Partial<Record<SeenDimension, string>> = {};
  readonly scopes: string[] = [];
  primaryRole: string | undefined;
  timeMs: number | undefined;
  spend: Observation["spend"];
  metric: Observation["metric"];

  add(role: string, value: Entity, primary = false): void {
    this.entities[role] = value;
    if (primary || this.primaryRole === undefined) this.primaryRole = role;
  }
  scope(scope: string): void {
    if (!this.scopes.includes(scope)) this.scopes.push(scope);
  }
  seen(dimension: SeenDimension, value: string | undefined): void {
    if (value) this.seenValues[dimension] = value.length > 200 ? value.slice(0, 200) : value;
  }
  time(value: unknown): void {
    this.timeMs ??= parseTime(value);
  }
}

/** Options that change resolution (from ContextSettings.spend). */
export interface ResolveOptions {
  readonly costColumn: string;
  readonly tagKeys: readonly string[];
}

/** Resolves the entities and observation facts of an event. Never throws. */
/**
 * A decide request's principal or resource in either spelling: Vigil's `{ kind?, id, attrs? }`,
 * or Cedar's (docs/cedar.md) `{ type, id, ...attributes }`, `Type::"id"` or
 * `{ "__entity": { type, id } }` — so a Cedar request's `criticality` reaches risk as an attribute.
 */
function decideEntity(value: unknown): { kind: string | undefined; id: string; attrs: Record<string, unknown> } | undefined {
  if (typeof value === "string") {
    const uid = /^(.+)::"(.*)"$/s.exec(value);
    return uid && uid[2] ? { kind: uid[1], id: uid[2], attrs: {} } : undefined;
  }
  const record = obj(value);
  if (record === undefined) return undefined;
  const uid = obj(record["__entity"]);
  if (uid !== undefined) {
    const id = str(uid["id"]);
    return id ? { kind: str(uid["type"]), id, attrs: {} } : undefined;
  }
  const id = str(record["id"]);
  if (!id) return undefined;
  const attrs = obj(record["attrs"]);
  if (attrs !== undefined || record["type"] === undefined) return { kind: str(record["kind"]), id, attrs: attrs ?? {} };
  const { type: cedarType, id: _id, parents: _parents, ...rest } = record;
  return { kind: str(record["kind"]) ?? str(cedarType), id, attrs: rest };
}

export function resolveEvent(event: Event, fallbackMs: number, options: ResolveOptions): ResolvedEvent {
  const out = new Builder();
  const data = obj(event.data) ?? {};
  const type = event.type;
  if (type === EventTypes.cloudTrail) resolveCloudTrail(data, out);
  else if (type === EventTypes.oktaSystemLog) resolveOkta(data, out);
  else if (type === EventTypes.focusCost) resolveFocus(data, out, options.costColumn, options.tagKeys);
  else if (type === EventTypes.metric) {
    const resource = str(data["resource"]);
    if (resource) out.add("resource", entity("resource", resource, { labels: obj(data["labels"]) }), true);
    const name = str(data["metric"]);
    const value = num(data["value"]);
    if (name && value !== undefined) out.metric = { name, value, ...(str(data["unit"]) ? { unit: str(data["unit"]) as string } : {}) };
    out.time(data["ts"]);
  } else if (type === EventTypes.kubernetesResource) resolveKubernetesObject(data, out);
  else if (type === EventTypes.admissionReview) resolveAdmission(data, out);
  else if (type === EventTypes.cleanupCandidate) resolveKubernetesObject(obj(data["object"]) ?? {}, out);
  else if (type === EventTypes.mutateExistingTrigger) {
    if (data["kind"] === "AdmissionReview") resolveAdmission(data, out);
    else resolveKubernetesObject(data, out);
  }
  else if (type.startsWith(EventTypes.githubPrefix)) resolveGitHub(data, out);
  else if (type === EventTypes.dependencyChange) {
    const repo = str(data["repo"]);
    if (repo) {
      out.add("repo", entity("repo", repo), true);
      out.scope(`repo:${repo}`);
    }
  } else if (type === EventTypes.dataflow) {
    const dataset = str(data["dataset"]);
    if (dataset) out.add("dataset", entity("dataset", dataset, { classification: str(data["classification"]) }), true);
  } else if (type === EventTypes.resource) {
    const id = str(data["id"]);
    const extra = obj(data["attrs"]) ?? {};
    if (id) out.add("resource", entity("resource", id, { ...extra, type: str(data["kind"]), region: str(data["region"]), tags: obj(data["tags"]), owner: str(data["owner"]) }), true);
    const account = str(extra["account"]) ?? str(extra["accountId"]);
    if (account) {
      out.add("account", entity("account", account));
      out.scope(`account:${account}`);
    }
  } else if (type === EventTypes.decideRequest) {
    for (const role of ["principal", "resource"] as const) {
      const found = decideEntity(data[role]);
      // Entity keys are `kind/id`: a kind with a slash would be ambiguous.
      if (found) out.add(role, entity(found.kind && !found.kind.includes("/") ? found.kind : role, found.id, found.attrs), role === "principal");
    }
  }
  if (out.primaryRole === undefined && event.subject) out.add("subject", entity("subject", event.subject), true);
  out.time(event.time);
  return {
    entities: out.entities,
    observation: {
      timeMs: out.timeMs ?? fallbackMs,
      primaryRole: out.primaryRole,
      seen: out.seenValues,
      scopes: out.scopes,
      ...(out.metric ? { metric: out.metric } : {}),
      ...(out.spend ? { spend: out.spend } : {}),
    },
  };
}
