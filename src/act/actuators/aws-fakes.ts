/**
 * Test helper (not used at run time): small S3, EC2 and IAM endpoints that speak the AWS wire
 * protocols (S3 REST-XML, EC2 query, IAM query), verify every request's SigV4 signature with
 * `checkSigV4`, and answer with XML rendered from responses recorded by Cloud Custodian
 * (test/fixtures/actuators/aws, see SOURCE there).
 */
import { readFileSync } from "node:fs";
import { checkSigV4, parseAuthorization } from "./sigv4-check.js";
import type { SigV4Expectation } from "./sigv4-check.js";
import type { WireReply, WireRequest, WireServer } from "./test-server.js";

export const AWS_KEYS = { accessKeyId: "AKIAIOSFODNN7EXAMPLE", secretAccessKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY" } as const;

/** A recorded botocore response: `{ status_code, data }`. */
export interface Recorded {
  readonly status_code: number;
  readonly data: Record<string, unknown> & { Error?: { Code: string; Message: string }; ResponseMetadata?: { RequestId?: string } };
}

export function fixture(name: string): Recorded {
  return JSON.parse(readFileSync(new URL(`../../../test/fixtures/actuators/aws/${name}`, import.meta.url), "utf8")) as Recorded;
}

const escape = (text: string) => text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
/** An XML answer; the request id goes in the header the SDK reads it from. */
const reply = (status: number, body: string, requestId = "7a62c49f-347e-4fc4-9331-6e8eEXAMPLE"): WireReply => ({
  status,
  headers: { "content-type": "text/xml;charset=UTF-8", "x-amzn-requestid": requestId },
  body: `<?xml version="1.0" encoding="UTF-8"?>\n${body}`,
});

/** Parses an `application/x-www-form-urlencoded` query-protocol body. */
export function formOf(request: WireRequest): URLSearchParams {
  return new URLSearchParams(request.text);
}

function guard(server: WireServer, expectation: SigV4Expectation, reject: (reason: string) => WireReply): void {
  server.authenticate((request) => checkSigV4(request, expectation), reject);
}

// ---- S3 (REST-XML) --------------------------------------------------------------------------

export type PublicAccessBlock = Record<"BlockPublicAcls" | "IgnorePublicAcls" | "BlockPublicPolicy" | "RestrictPublicBuckets", boolean>;

const S3_NS = "http://s3.amazonaws.com/doc/2006-03-01/";
const s3Error = (status: number, code: string, message: string, extra = "") =>
  reply(status, `<Error><Code>${code}</Code><Message>${escape(message)}</Message>${extra}<RequestId>1323BC50F79FCEDC</RequestId><HostId>LlCWYbNXZnAsp8jH</HostId></Error>`);

export function renderPublicAccessBlock(configuration: PublicAccessBlock): string {
  const flags = (Object.keys(configuration) as (keyof PublicAccessBlock)[]).map((flag) => `<${flag}>${configuration[flag]}</${flag}>`).join("");
  return `<PublicAccessBlockConfiguration xmlns="${S3_NS}">${flags}</PublicAccessBlockConfiguration>`;
}

/** Path-style bucket routes: the SDK sends `/bucket/?publicAccessBlock=`, others `/bucket?publicAccessBlock`. */
function onBucket(server: WireServer, method: string, handler: (request: WireRequest) => WireReply | undefined): void {
  server.on(method, "/:bucket", handler);
  server.on(method, "/:bucket/", handler);
}

/**
 * Plays S3's public-access-block API for `buckets` (null = no configuration). A bucket listed in
 * `bucketRegions` lives in that region, the others in `region`: a request signed for another region
 * than the bucket's (sent to another region's endpoint) is answered as S3 does, 301 PermanentRedirect
 * with the bucket's region in `x-amz-bucket-region`.
 */
export function playS3(server: WireServer, region: string, buckets: Map<string, PublicAccessBlock | null>, bucketRegions: ReadonlyMap<string, string> = new Map()): void {
  const regions = new Set([region, ...bucketRegions.values()]);
  server.authenticate(
    (request) => {
      const claimed = parseAuthorization(request.header("authorization"))?.region ?? region;
      return checkSigV4(request, { ...AWS_KEYS, region: regions.has(claimed) ? claimed : region, service: "s3", mustSign: ["x-amz-content-sha256"] });
    },
    (reason) => s3Error(403, "SignatureDoesNotMatch", `The request signature we calculated does not match the signature you provided. ${reason.split("\n")[0] ?? ""}`),
  );
  const wrongRegion = (request: WireRequest): WireReply | undefined => {
    const name = request.params["bucket"] ?? "";
    const home = bucketRegions.get(name) ?? region;
    if (parseAuthorization(request.header("authorization"))?.region === home) return undefined;
    const answer = s3Error(301, "PermanentRedirect", "The bucket you are attempting to access must be addressed using the specified endpoint. Please send all future requests to this endpoint.", `<Endpoint>${name}.s3.${home}.amazonaws.com</Endpoint><Bucket>${name}</Bucket>`);
    return { ...answer, headers: { ...answer.headers, "x-amz-bucket-region": home } };
  };
  const bucketOr404 = (request: WireRequest) => {
    const name = request.params["bucket"] ?? "";
    return buckets.has(name) ? wrongRegion(request) : s3Error(404, "NoSuchBucket", "The specified bucket does not exist", `<BucketName>${name}</BucketName>`);
  };
  const denied = (request: WireRequest) => {
    const owner = request.header("x-amz-expected-bucket-owner");
    if (owner === undefined || owner === "644160558196") return undefined;
    const recorded = fixture("s3.GetPublicAccessBlock.denied.json");
    return s3Error(recorded.status_code, recorded.data.Error?.Code ?? "", recorded.data.Error?.Message ?? "");
  };
  onBucket(server, "GET", (request) => {
    if (!request.query.has("publicAccessBlock")) return undefined;
    const problem = bucketOr404(request) ?? denied(request);
    if (problem) return problem;
    const configuration = buckets.get(request.params["bucket"] ?? "");
    if (!configuration) {
      const recorded = fixture("s3.GetPublicAccessBlock.missing.json");
      return s3Error(recorded.status_code, recorded.data.Error?.Code ?? "", recorded.data.Error?.Message ?? "", `<BucketName>${request.params["bucket"]}</BucketName>`);
    }
    return reply(200, renderPublicAccessBlock(configuration));
  });
  onBucket(server, "PUT", (request) => {
    if (!request.query.has("publicAccessBlock")) return undefined;
    const problem = bucketOr404(request) ?? denied(request);
    if (problem) return problem;
    if (request.header("content-md5") === undefined && !Object.keys(request.headers).some((name) => name.startsWith("x-amz-checksum-"))) {
      return s3Error(400, "InvalidRequest", "Missing required header for this request: Content-MD5");
    }
    const flags = {} as PublicAccessBlock;
    for (const flag of ["BlockPublicAcls", "IgnorePublicAcls", "BlockPublicPolicy", "RestrictPublicBuckets"] as const) {
      const match = new RegExp(`<${flag}>(true|false)</${flag}>`).exec(request.text);
      if (!match) return s3Error(400, "MalformedXML", "The XML you provided was not well-formed or did not validate against our published schema");
      flags[flag] = match[1] === "true";
    }
    buckets.set(request.params["bucket"] ?? "", flags);
    return { status: 200, headers: { "x-amz-request-id": "93B0DD4E6F14627E" }, body: "" };
  });
  onBucket(server, "DELETE", (request) => {
    if (!request.query.has("publicAccessBlock")) return undefined;
    const problem = bucketOr404(request);
    if (problem) return problem;
    buckets.set(request.params["bucket"] ?? "", null);
    return { status: 204, body: "" };
  });
}

// ---- EC2 (query protocol, EC2 XML) -------------------------------------------------------------

const EC2_NS = "http://ec2.amazonaws.com/doc/2016-11-15/";
const STATE_CODES: Record<string, number> = { pending: 0, running: 16, "shutting-down": 32, terminated: 48, stopping: 64, stopped: 80 };
const ec2Error = (status: number, code: string, message: string, requestId = "52a34c4e-5ee2-41c7-b3e7-9010f8eb3dc4") =>
  reply(status, `<Response><Errors><Error><Code>${code}</Code><Message>${escape(message)}</Message></Error></Errors><RequestID>${requestId}</RequestID></Response>`, requestId);
const stateXml = (tag: string, name: string) => `<${tag}><code>${STATE_CODES[name] ?? 0}</code><name>${name}</name></${tag}>`;

/** Instance id → state of the recorded DescribeInstances answer (two terminated, one running). */
export function recordedInstanceStates(): [string, string][] {
  const reservations = fixture("ec2.DescribeInstances.json").data["Reservations"] as { Instances: { InstanceId: string; State: { Name: string } }[] }[];
  return reservations.flatMap((reservation) => reservation.Instances.map((instance): [string, string] => [instance.InstanceId, instance.State.Name]));
}

/**
 * Plays EC2's DescribeInstances/StopInstances/StartInstances for `instances` (id → state), with
 * protected ids refusing to stop. EC2 is regional: an instance of `instanceRegions` lives in that
 * region, the others in `region`; a request signed for a region (sent to its endpoint) sees only
 * that region's instances, the others are InvalidInstanceID.NotFound as in EC2.
 */
export function playEc2(server: WireServer, region: string, instances: Map<string, string>, protectedIds: ReadonlySet<string> = new Set(), instanceRegions: ReadonlyMap<string, string> = new Map()): void {
  const regions = new Set([region, ...instanceRegions.values()]);
  server.authenticate((request) => {
    const claimed = parseAuthorization(request.header("authorization"))?.region ?? region;
    return checkSigV4(request, { ...AWS_KEYS, region: regions.has(claimed) ? claimed : region, service: "ec2" });
  }, (reason) => ec2Error(401, "AuthFailure", `AWS was not able to validate the provided access credentials (${reason.split("\n")[0] ?? ""})`));
  server.on("POST", "/", (request) => {
    if (request.header("content-type")?.startsWith("application/x-www-form-urlencoded") !== true) return ec2Error(400, "InvalidParameterValue", "Content-Type must be form-urlencoded");
    const form = formOf(request);
    if (form.get("Version") !== "2016-11-15") return ec2Error(400, "InvalidParameterValue", `Version ${form.get("Version") ?? ""}`);
    const signedFor = parseAuthorization(request.header("authorization"))?.region ?? region;
    const ids = [...form.entries()].filter(([key]) => /^InstanceId\.\d+$/.test(key)).map(([, value]) => value);
    const unknown = ids.filter((id) => !instances.has(id) || (instanceRegions.get(id) ?? region) !== signedFor);
    if (unknown.length > 0) return ec2Error(400, "InvalidInstanceID.NotFound", `The instance IDs '${unknown.join(", ")}' do not exist`);
    const action = form.get("Action");
    if (action === "DescribeInstances") {
      const items = ids.map((id) => `<item><instanceId>${id}</instanceId><instanceType>t2.micro</instanceType>${stateXml("instanceState", instances.get(id) ?? "")}</item>`).join("");
      return reply(200, `<DescribeInstancesResponse xmlns="${EC2_NS}"><requestId>11bdd5ff-0000-0000-0000-f9fe45852edc</requestId><reservationSet><item><reservationId>r-0123456789abcdef0</reservationId><ownerId>644160558196</ownerId><instancesSet>${items}</instancesSet></item></reservationSet></DescribeInstancesResponse>`);
    }
    if (action === "StopInstances" || action === "StartInstances") {
      const stopping = action === "StopInstances";
      const blocked = ids.find((id) => stopping && protectedIds.has(id));
      if (blocked) {
        const recorded = fixture("ec2.StopInstances.protected.json");
        return ec2Error(recorded.status_code, recorded.data.Error?.Code ?? "", (recorded.data.Error?.Message ?? "").replace("i-000b2f5125402eb55", blocked), recorded.data.ResponseMetadata?.RequestId);
      }
      const recorded = fixture(stopping ? "ec2.StopInstances.json" : "ec2.StartInstances.json");
      const items = ids
        .map((id) => {
          const before = instances.get(id) ?? "";
          const after = stopping ? (before === "stopped" ? "stopped" : "stopping") : before === "running" ? "running" : "pending";
          instances.set(id, stopping ? (after === "stopping" ? "stopped" : after) : "running");
          return `<item><instanceId>${id}</instanceId>${stateXml("currentState", after)}${stateXml("previousState", before)}</item>`;
        })
        .join("");
      const tag = stopping ? "StopInstancesResponse" : "StartInstancesResponse";
      const requestId = recorded.data.ResponseMetadata?.RequestId ?? "";
      return reply(200, `<${tag} xmlns="${EC2_NS}"><requestId>${requestId}</requestId><instancesSet>${items}</instancesSet></${tag}>`, requestId);
    }
    return undefined;
  });
}

// ---- IAM (query protocol, AWS query XML) -------------------------------------------------------

const IAM_NS = "https://iam.amazonaws.com/doc/2010-05-08/";
const iamError = (status: number, code: string, message: string) =>
  reply(status, `<ErrorResponse xmlns="${IAM_NS}"><Error><Type>Sender</Type><Code>${code}</Code><Message>${escape(message)}</Message></Error><RequestId>7a62c49f-347e-4fc4-9331-6e8eEXAMPLE</RequestId></ErrorResponse>`);

export interface IamKey {
  readonly userName: string;
  readonly accessKeyId: string;
  status: string;
  readonly createDate: string;
}

/** The keys of the recorded ListAccessKeys answer (user alphabet_soup, two Active keys). */
export function recordedAccessKeys(): IamKey[] {
  const recorded = fixture("iam.ListAccessKeys.json");
  const metadata = recorded.data["AccessKeyMetadata"] as { UserName: string; AccessKeyId: string; Status: string; CreateDate: { year: number; month: number; day: number; hour: number; minute: number; second: number } }[];
  return metadata.map((key) => {
    const date = key.CreateDate;
    return { userName: key.UserName, accessKeyId: key.AccessKeyId, status: key.Status, createDate: new Date(Date.UTC(date.year, date.month - 1, date.day, date.hour, date.minute, date.second)).toISOString().replace(".000", "") };
  });
}

/** Plays IAM's ListAccessKeys/UpdateAccessKey over `keys`. IAM always signs for us-east-1. */
export function playIam(server: WireServer, keys: IamKey[], region = "us-east-1"): void {
  guard(server, { ...AWS_KEYS, region, service: "iam" }, (reason) =>
    iamError(403, "SignatureDoesNotMatch", `The request signature we calculated does not match the signature you provided. ${reason.split("\n")[0] ?? ""}`),
  );
  server.on("POST", "/", (request) => {
    const form = formOf(request);
    if (form.get("Version") !== "2010-05-08") return iamError(400, "InvalidAction", `Could not find operation for version ${form.get("Version") ?? ""}`);
    const userName = form.get("UserName") ?? "";
    const mine = keys.filter((key) => key.userName === userName);
    if (mine.length === 0) return iamError(404, "NoSuchEntity", `The user with name ${userName} cannot be found.`);
    const meta = "<ResponseMetadata><RequestId>11bdd5ff-d69a-11e6-924c-f9fe45852edc</RequestId></ResponseMetadata>";
    if (form.get("Action") === "ListAccessKeys") {
      const members = mine.map((key) => `<member><UserName>${key.userName}</UserName><AccessKeyId>${key.accessKeyId}</AccessKeyId><Status>${key.status}</Status><CreateDate>${key.createDate}</CreateDate></member>`).join("");
      return reply(200, `<ListAccessKeysResponse xmlns="${IAM_NS}"><ListAccessKeysResult><AccessKeyMetadata>${members}</AccessKeyMetadata><IsTruncated>false</IsTruncated></ListAccessKeysResult>${meta}</ListAccessKeysResponse>`);
    }
    if (form.get("Action") === "UpdateAccessKey") {
      const key = mine.find((candidate) => candidate.accessKeyId === form.get("AccessKeyId"));
      if (!key) return iamError(404, "NoSuchEntity", `The Access Key with id ${form.get("AccessKeyId") ?? ""} cannot be found.`);
      const status = form.get("Status");
      if (status !== "Active" && status !== "Inactive") return iamError(400, "ValidationError", `1 validation error detected: Value '${status ?? ""}' at 'status' failed to satisfy constraint`);
      key.status = status;
      return reply(200, `<UpdateAccessKeyResponse xmlns="${IAM_NS}">${meta}</UpdateAccessKeyResponse>`);
    }
    return undefined;
  });
}
