/**
 * Test helper (not used at run time): verifies an AWS Signature Version 4 `Authorization` header
 * the way an AWS endpoint does — independently of the SDK's signer. It parses the credential
 * scope and signed headers, rebuilds the canonical request from the bytes received, derives the
 * signing key from the secret and compares signatures.
 */
import { createHmac } from "node:crypto";
import { sha256Hex as sha256 } from "../../core/hash.js";
import type { WireRequest } from "./test-server.js";

export interface SigV4Expectation {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly region: string;
  readonly service: string;
  readonly sessionToken?: string;
  /** Headers that must be among SignedHeaders (host and x-amz-date always are). */
  readonly mustSign?: readonly string[];
  /** Allowed distance between x-amz-date and now. Default 15 minutes, as AWS allows. */
  readonly maxSkewMs?: number;
}

export interface ParsedAuthorization {
  readonly accessKeyId: string;
  readonly date: string;
  readonly region: string;
  readonly service: string;
  readonly signedHeaders: readonly string[];
  readonly signature: string;
}

const AUTHORIZATION = /^AWS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([^/]+)\/([^/]+)\/aws4_request, ?SignedHeaders=([a-z0-9;-]+), ?Signature=([0-9a-f]{64})$/;

const hmac = (key: string | Buffer, data: string): Buffer => createHmac("sha256", key).update(data).digest();

/** RFC 3986 encoding as SigV4 requires: everything but unreserved characters is %XX (uppercase). */
function encode(value: string): string {
  return encodeURIComponent(value).replace(/[!'()*]/g, (char) => `%${char.charCodeAt(0).toString(16).toUpperCase()}`);
}

export function parseAuthorization(header: string | undefined): ParsedAuthorization | undefined {
  const match = header === undefined ? null : AUTHORIZATION.exec(header);
  if (!match) return undefined;
  const [, accessKeyId = "", date = "", region = "", service = "", signedHeaders = "", signature = ""] = match;
  return { accessKeyId, date, region, service, signedHeaders: signedHeaders.split(";"), signature };
}

function canonicalQuery(rawQuery: string): string {
  if (rawQuery === "") return "";
  return rawQuery
    .split("&")
    .map((pair) => {
      const index = pair.indexOf("=");
      const key = index < 0 ? pair : pair.slice(0, index);
      const value = index < 0 ? "" : pair.slice(index + 1);
      const decode = (text: string) => decodeURIComponent(text.replace(/\+/g, "%20"));
      return [encode(decode(key)), encode(decode(value))] as const;
    })
    .sort(([keyA, valueA], [keyB, valueB]) => (keyA === keyB ? (valueA < valueB ? -1 : valueA > valueB ? 1 : 0) : keyA < keyB ? -1 : 1))
    .map(([key, value]) => `${key}=${value}`)
    .join("&");
}

/** Returns the reason the request's signature is invalid, or undefined when it verifies. */
export function checkSigV4(request: WireRequest, expected: SigV4Expectation, now: Date = new Date()): string | undefined {
  const auth = parseAuthorization(request.header("authorization"));
  if (!auth) return `Authorization is not an AWS4-HMAC-SHA256 header: ${request.header("authorization") ?? "(none)"}`;
  if (auth.accessKeyId !== expected.accessKeyId) return `credential access key ${auth.accessKeyId} is not ${expected.accessKeyId}`;
  if (auth.region !== expected.region) return `credential scope region ${auth.region} is not ${expected.region}`;
  if (auth.service !== expected.service) return `credential scope service ${auth.service} is not ${expected.service}`;
  const sortedHeaders = [...auth.signedHeaders].sort();
  if (sortedHeaders.join(";") !== auth.signedHeaders.join(";")) return "SignedHeaders are not sorted";
  for (const name of ["host", "x-amz-date", ...(expected.mustSign ?? [])]) {
    if (!auth.signedHeaders.includes(name)) return `SignedHeaders lacks ${name}`;
  }
  const amzDate = request.header("x-amz-date") ?? "";
  if (!/^\d{8}T\d{6}Z$/.test(amzDate) || amzDate.slice(0, 8) !== auth.date) return `x-amz-date ${amzDate} does not match the credential scope date ${auth.date}`;
  const signedAt = Date.UTC(+amzDate.slice(0, 4), +amzDate.slice(4, 6) - 1, +amzDate.slice(6, 8), +amzDate.slice(9, 11), +amzDate.slice(11, 13), +amzDate.slice(13, 15));
  if (Math.abs(now.getTime() - signedAt) > (expected.maxSkewMs ?? 15 * 60_000)) return `x-amz-date ${amzDate} is too far from now (RequestTimeTooSkewed)`;
  if (expected.sessionToken !== undefined && request.header("x-amz-security-token") !== expected.sessionToken) return "x-amz-security-token is missing or wrong";

  const bodyHash = sha256(request.rawBody);
  const declared = request.header("x-amz-content-sha256");
  if (declared !== undefined && declared !== "UNSIGNED-PAYLOAD" && declared !== bodyHash) return `x-amz-content-sha256 ${declared} is not the SHA-256 of the body`;
  const payloadHash = declared ?? bodyHash;

  // S3 signs the path as sent; every other service signs it URI-encoded once more.
  const canonicalUri = auth.service === "s3" ? request.rawPath : request.rawPath.split("/").map(encode).join("/");
  const canonicalHeaders = auth.signedHeaders
    .map((name) => {
      const value = request.header(name);
      if (value === undefined) return `${name}:(missing)`;
      return `${name}:${value.trim().replace(/\s+/g, " ")}`;
    })
    .join("\n");
  if (canonicalHeaders.includes(":(missing)")) return "a signed header is missing from the request";
  const canonicalRequest = [request.method, canonicalUri, canonicalQuery(request.rawQuery), `${canonicalHeaders}\n`, auth.signedHeaders.join(";"), payloadHash].join("\n");
  const scope = `${auth.date}/${auth.region}/${auth.service}/aws4_request`;
  const stringToSign = ["AWS4-HMAC-SHA256", amzDate, scope, sha256(canonicalRequest)].join("\n");
  const signingKey = hmac(hmac(hmac(hmac(`AWS4${expected.secretAccessKey}`, auth.date), auth.region), auth.service), "aws4_request");
  const signature = createHmac("sha256", signingKey).update(stringToSign).digest("hex");
  return signature === auth.signature ? undefined : `signature does not match (canonical request:\n${canonicalRequest})`;
}
