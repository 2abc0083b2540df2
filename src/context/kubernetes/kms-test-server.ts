/**
 * A local stand-in for AWS KMS `GetPublicKey`, for tests (AWS cannot be reached from them): the
 * AWS JSON 1.1 protocol (`POST /`, `X-Amz-Target: TrentService.GetPublicKey`,
 * `Content-Type: application/x-amz-json-1.1`, body `{"KeyId": ...}`), requests refused unless
 * their SigV4 signature verifies with the test secret, errors as KMS answers them (HTTP 400,
 * `{"__type": "NotFoundException", "message": ...}`). Not used outside tests.
 */
import { createHash, createHmac, type KeyObject } from "node:crypto";
import { createServer, type IncomingHttpHeaders } from "node:http";
import type { AddressInfo } from "node:net";

export const TEST_ACCESS_KEY_ID = "AKIAVIGILTEST0000001";
export const TEST_SECRET_ACCESS_KEY = "vigil-test-secret-access-key-00000000000";

export interface FakeKmsKey {
  readonly publicKey: KeyObject;
  /** Default ECC_NIST_P256. */
  readonly keySpec?: string;
  /** Default [ECDSA_SHA_256]. */
  readonly signingAlgorithms?: readonly string[];
}

export interface FakeKmsRequest {
  readonly target: string | undefined;
  readonly contentType: string | undefined;
  readonly authorization: string | undefined;
  readonly body: unknown;
  /** The SigV4 signature verified with TEST_SECRET_ACCESS_KEY. */
  readonly signed: boolean;
}

export interface FakeKms {
  /** `http://127.0.0.1:<port>`. */
  readonly endpoint: string;
  readonly requests: FakeKmsRequest[];
  close(): Promise<void>;
}

const sha256Hex = (data: string | Buffer): string => createHash("sha256").update(data).digest("hex");
const hmac = (key: string | Buffer, data: string): Buffer => createHmac("sha256", key).update(data).digest();

/** Whether `authorization` is a SigV4 signature of this request by `secret` (AWS's canonical request, string to sign and derived key). */
function sigV4Holds(method: string, path: string, headers: IncomingHttpHeaders, body: Buffer, authorization: string, secret: string): boolean {
  const parts = /^AWS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([^/]+)\/([^/]+)\/aws4_request, SignedHeaders=([^,]+), Signature=([0-9a-f]{64})$/.exec(authorization);
  if (parts === null) return false;
  const [, , date, region, service, signedHeaders, signature] = parts as unknown as string[];
  const amzDate = String(headers["x-amz-date"] ?? "");
  const canonicalHeaders = (signedHeaders as string).split(";").map((name) => `${name}:${String(headers[name] ?? "").trim().replace(/\s+/g, " ")}\n`).join("");
  const canonicalRequest = [method, path, "", canonicalHeaders, signedHeaders, sha256Hex(body)].join("\n");
  const scope = `${date as string}/${region as string}/${service as string}/aws4_request`;
  const stringToSign = ["AWS4-HMAC-SHA256", amzDate, scope, sha256Hex(canonicalRequest)].join("\n");
  const key = hmac(hmac(hmac(hmac(`AWS4${secret}`, date as string), region as string), service as string), "aws4_request");
  return createHmac("sha256", key).update(stringToSign).digest("hex") === signature;
}

/** Serves `keys` by KeyId (a key id, key ARN, alias name or alias ARN, as the test names them). */
export async function startFakeKms(keys: Readonly<Record<string, FakeKmsKey>>, options: { readonly region?: string } = {}): Promise<FakeKms> {
  const region = options.region ?? "eu-west-1";
  const requests: FakeKmsRequest[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      const raw = Buffer.concat(chunks);
      const authorization = req.headers.authorization;
      const signed = authorization !== undefined && sigV4Holds(req.method ?? "", req.url ?? "", req.headers, raw, authorization, TEST_SECRET_ACCESS_KEY);
      let body: unknown;
      try {
        body = JSON.parse(raw.toString("utf8"));
      } catch {
        body = undefined;
      }
      const target = req.headers["x-amz-target"] as string | undefined;
      requests.push({ target, contentType: req.headers["content-type"], authorization, body, signed });
      const answer = (status: number, json: unknown): void => {
        res.writeHead(status, { "Content-Type": "application/x-amz-json-1.1", "x-amzn-RequestId": "test" });
        res.end(JSON.stringify(json));
      };
      if (!signed) return answer(400, { __type: "InvalidSignatureException", message: "The request signature we calculated does not match the signature you provided." });
      if (req.method !== "POST" || req.url !== "/" || target !== "TrentService.GetPublicKey" || req.headers["content-type"] !== "application/x-amz-json-1.1") {
        return answer(400, { __type: "UnknownOperationException" });
      }
      const keyId = typeof body === "object" && body !== null ? (body as Record<string, unknown>)["KeyId"] : undefined;
      const key = typeof keyId === "string" ? keys[keyId] : undefined;
      if (key === undefined) return answer(400, { __type: "NotFoundException", message: `Key '${String(keyId)}' does not exist` });
      answer(200, {
        KeyId: `arn:aws:kms:${region}:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab`,
        KeySpec: key.keySpec ?? "ECC_NIST_P256",
        KeyUsage: "SIGN_VERIFY",
        PublicKey: key.publicKey.export({ type: "spki", format: "der" }).toString("base64"),
        SigningAlgorithms: key.signingAlgorithms ?? ["ECDSA_SHA_256"],
      });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    requests,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
