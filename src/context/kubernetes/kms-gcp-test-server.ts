/**
 * A local stand-in for Google Cloud KMS and Google's OAuth token endpoint, for tests (both are
 * remote services), speaking their REST wire protocol:
 *
 * - `POST /token` (a service-account key file's token_uri): a form body with
 *   `grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer` and an RS256 `assertion` whose
 *   signature is checked with the service account's public key and whose claims must be iss = the
 *   account's email, aud = this token URL, scope = cloudkms, exp = iat + 3600 around now;
 *   answered `{access_token, expires_in, token_type: "Bearer"}`, else 400
 *   `{"error": "invalid_grant", "error_description": ...}` as Google answers;
 * - `GET /v1/<key>/cryptoKeyVersions?filter=state=ENABLED&orderBy=name desc` (the
 *   ListCryptoKeyVersions request cosign makes; the filter and order are checked) and
 *   `GET /v1/<version>/publicKey` (`{pem, algorithm, pemCrc32c, name, protectionLevel}`), with
 *   `Authorization: Bearer <token>`: a missing or unknown token is 401 UNAUTHENTICATED, a key the
 *   stand-in does not hold 404 NOT_FOUND, the public key of a version that is not enabled 400
 *   FAILED_PRECONDITION, of a symmetric key 400 FAILED_PRECONDITION, in Google's
 *   `{"error": {code, message, status}}` shape.
 *
 * - `GET /computeMetadata/v1/instance/service-accounts/default/token?scopes=...` (the GCE/GKE
 *   metadata server; host `metadataHost`): with `Metadata-Flavor: Google` and the cloudkms scope,
 *   `{access_token, expires_in, token_type: "Bearer"}`; without the header 403, as the metadata
 *   server answers.
 *
 * Versions can be added and disabled (a rotation). Not used outside tests.
 */
import { generateKeyPairSync, verify, type KeyObject } from "node:crypto";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { crc32c, GCP_KMS_SCOPE } from "./kms-gcp.js";

export const TEST_GCP_ACCESS_TOKEN = "ya29.vigil-test-token-0000000000";
export const TEST_GCP_CLIENT_EMAIL = "cosign-verifier@acme-prod.iam.gserviceaccount.com";

export interface FakeGcpKeyVersion {
  /** The version's public key (none: a symmetric key's version). */
  readonly publicKey?: KeyObject;
  /** Cloud KMS's algorithm, e.g. EC_SIGN_P256_SHA256 (default), RSA_SIGN_PKCS1_2048_SHA256, GOOGLE_SYMMETRIC_ENCRYPTION. */
  readonly algorithm?: string;
  /** ENABLED (default), DISABLED, DESTROYED. */
  readonly state?: string;
  /** Answer the public key with a wrong pemCrc32c (data corrupted in transit), or without one. */
  readonly pemCrc32c?: "wrong" | "omitted";
}

export interface FakeGcpRequest {
  readonly method: string;
  readonly path: string;
  /** The query string, decoded (`filter=state=ENABLED&orderBy=name desc`). */
  readonly query: string;
  readonly authorization: string | undefined;
}

export interface FakeGcpKms {
  /** `http://127.0.0.1:<port>`: the Cloud KMS endpoint. */
  readonly endpoint: string;
  /** `<endpoint>/token`: the token_uri of the key file made by `serviceAccountKeyFile`. */
  readonly tokenUri: string;
  readonly requests: FakeGcpRequest[];
  /** The token requests, with what the stand-in found wrong in each (empty: a token was issued). */
  readonly tokenRequests: { readonly problem: string }[];
  /** `127.0.0.1:<port>`: the metadata server's host (admission.kms.gcp.metadataHost). */
  readonly metadataHost: string;
  /** The metadata server's token requests, with what was wrong (empty: a token was issued). */
  readonly metadataRequests: { readonly problem: string }[];
  /** A service-account key file (JSON text) for `TEST_GCP_CLIENT_EMAIL` whose tokens this stand-in accepts. */
  serviceAccountKeyFile(): string;
  /** Adds a version to `key` (ids count from 1): the new version is the latest. */
  addVersion(key: string, version: FakeGcpKeyVersion): void;
  /** Sets a version's state (`ENABLED`, `DISABLED`). */
  setState(key: string, version: number, state: string): void;
  close(): Promise<void>;
}

/**
 * Serves `keys` (by resource name `projects/P/locations/L/keyRings/R/cryptoKeys/K`, versions 1,
 * 2, ... in order) to requests bearing TEST_GCP_ACCESS_TOKEN or a token this stand-in issued;
 * issued tokens last `tokenSeconds` (default 3600).
 */
export async function startFakeGcpKms(keys: Readonly<Record<string, readonly FakeGcpKeyVersion[]>>, options: { readonly tokenSeconds?: number } = {}): Promise<FakeGcpKms> {
  const held = new Map(Object.entries(keys).map(([name, versions]) => [name, [...versions].map((v) => ({ ...v }))]));
  const account = generateKeyPairSync("rsa", { modulusLength: 2048 });
  const issued = new Set<string>();
  const requests: FakeGcpRequest[] = [];
  const tokenRequests: { problem: string }[] = [];
  const metadataRequests: { problem: string }[] = [];
  let tokenUri = "";

  const answer = (res: import("node:http").ServerResponse, status: number, json: unknown): void => {
    res.writeHead(status, { "Content-Type": "application/json; charset=UTF-8" });
    res.end(JSON.stringify(json));
  };
  const googleError = (res: import("node:http").ServerResponse, code: number, status: string, message: string): void => answer(res, code, { error: { code, message, status } });

  /** What is wrong with a token request's form body, or "" (RFC 7523 as Google checks it). */
  function tokenProblem(contentType: string | undefined, body: string): string {
    if (!(contentType ?? "").startsWith("application/x-www-form-urlencoded")) return `content-type ${contentType ?? "none"}`;
    const form = new URLSearchParams(body);
    if (form.get("grant_type") !== "urn:ietf:params:oauth:grant-type:jwt-bearer") return `grant_type ${form.get("grant_type") ?? "none"}`;
    const parts = (form.get("assertion") ?? "").split(".");
    if (parts.length !== 3) return "assertion is not a JWT";
    const [header, claims, signature] = parts as [string, string, string];
    let head: Record<string, unknown>;
    let claim: Record<string, unknown>;
    try {
      head = JSON.parse(Buffer.from(header, "base64url").toString()) as Record<string, unknown>;
      claim = JSON.parse(Buffer.from(claims, "base64url").toString()) as Record<string, unknown>;
    } catch {
      return "assertion is not JSON";
    }
    if (head["alg"] !== "RS256") return `alg ${String(head["alg"])}`;
    if (!verify("sha256", Buffer.from(`${header}.${claims}`), account.publicKey, Buffer.from(signature, "base64url"))) return "signature";
    if (claim["iss"] !== TEST_GCP_CLIENT_EMAIL) return `iss ${String(claim["iss"])}`;
    if (claim["aud"] !== tokenUri) return `aud ${String(claim["aud"])}`;
    if (claim["scope"] !== GCP_KMS_SCOPE) return `scope ${String(claim["scope"])}`;
    const iat = Number(claim["iat"]);
    if (Number(claim["exp"]) - iat !== 3600) return "exp is not iat + 3600";
    if (Math.abs(iat - Date.now() / 1000) > 300) return "iat is not now";
    return "";
  }

  const server = createServer((req, res) => {
    const [path = "", rawQuery = ""] = (req.url ?? "").split("?");
    const authorization = req.headers["authorization"];
    requests.push({ method: req.method ?? "", path, query: decodeURIComponent(rawQuery.replace(/\+/g, " ")), authorization });
    if (path === "/computeMetadata/v1/instance/service-accounts/default/token") {
      const scopes = new URLSearchParams(rawQuery).get("scopes") ?? "";
      const problem = req.headers["metadata-flavor"] !== "Google" ? "Metadata-Flavor header" : req.method !== "GET" ? `method ${req.method ?? ""}` : !scopes.split(",").includes(GCP_KMS_SCOPE) ? `scopes ${scopes}` : "";
      metadataRequests.push({ problem });
      if (problem === "Metadata-Flavor header") {
        res.writeHead(403, { "Content-Type": "text/html; charset=UTF-8" });
        res.end("Missing Metadata-Flavor:Google header.");
        return;
      }
      if (problem !== "") return answer(res, 400, { error: "invalid_request", error_description: problem });
      const token = `ya29.metadata-${metadataRequests.length}`;
      issued.add(token);
      res.writeHead(200, { "Content-Type": "application/json", "Metadata-Flavor": "Google" });
      res.end(JSON.stringify({ access_token: token, expires_in: options.tokenSeconds ?? 3599, token_type: "Bearer" }));
      return;
    }
    if (path === "/token") {
      const chunks: Buffer[] = [];
      req.on("data", (chunk: Buffer) => chunks.push(chunk));
      req.on("end", () => {
        const problem = req.method === "POST" ? tokenProblem(req.headers["content-type"], Buffer.concat(chunks).toString()) : `method ${req.method ?? ""}`;
        tokenRequests.push({ problem });
        if (problem !== "") return answer(res, 400, { error: "invalid_grant", error_description: problem === "signature" ? "Invalid JWT Signature." : `Invalid JWT: ${problem}` });
        const token = `ya29.issued-${issued.size + 1}`;
        issued.add(token);
        answer(res, 200, { access_token: token, expires_in: options.tokenSeconds ?? 3599, token_type: "Bearer" });
      });
      return;
    }
    const token = /^Bearer (.+)$/.exec(authorization ?? "")?.[1];
    if (token === undefined || (token !== TEST_GCP_ACCESS_TOKEN && !issued.has(token))) {
      return googleError(res, 401, "UNAUTHENTICATED", "Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential. See https://developers.google.com/identity/sign-in/web/devconsole-project.");
    }
    const list = /^\/v1\/(projects\/[^/]+\/locations\/[^/]+\/keyRings\/[^/]+\/cryptoKeys\/[^/]+)\/cryptoKeyVersions$/.exec(path);
    const publicKey = /^\/v1\/(projects\/[^/]+\/locations\/[^/]+\/keyRings\/[^/]+\/cryptoKeys\/[^/]+)\/cryptoKeyVersions\/([^/]+)\/publicKey$/.exec(path);
    if (req.method !== "GET" || (list === null && publicKey === null)) return googleError(res, 404, "NOT_FOUND", `The requested URL ${path} was not found on this server.`);
    const keyName = decodeURIComponent(((list ?? publicKey) as RegExpExecArray)[1] as string);
    const versions = held.get(keyName);
    if (versions === undefined) return googleError(res, 404, "NOT_FOUND", `${keyName} not found.`);
    const versionOf = (index: number) => {
      const version = versions[index] as FakeGcpKeyVersion;
      return { name: `${keyName}/cryptoKeyVersions/${index + 1}`, state: version.state ?? "ENABLED", protectionLevel: "SOFTWARE", algorithm: version.algorithm ?? "EC_SIGN_P256_SHA256", createTime: "2025-01-01T00:00:00.000000Z" };
    };
    if (list !== null) {
      const query = new URLSearchParams(rawQuery);
      // Only the request cosign makes is served: enabled versions, by name, descending.
      if (query.get("filter") !== "state=ENABLED" || query.get("orderBy") !== "name desc") return googleError(res, 400, "INVALID_ARGUMENT", `unexpected filter ${JSON.stringify(query.get("filter"))} / orderBy ${JSON.stringify(query.get("orderBy"))}`);
      const enabled = versions.map((_, index) => versionOf(index)).filter((v) => v.state === "ENABLED").sort((a, b) => (a.name < b.name ? 1 : a.name > b.name ? -1 : 0));
      return answer(res, 200, enabled.length === 0 ? {} : { cryptoKeyVersions: enabled, totalSize: enabled.length });
    }
    const index = Number((publicKey as RegExpExecArray)[2]) - 1;
    if (!Number.isInteger(index) || versions[index] === undefined) return googleError(res, 404, "NOT_FOUND", `${keyName}/cryptoKeyVersions/${(publicKey as RegExpExecArray)[2] as string} not found.`);
    const version = versionOf(index);
    const key = versions[index]?.publicKey;
    if (version.state !== "ENABLED") return googleError(res, 400, "FAILED_PRECONDITION", `${version.name} is not enabled, current state is: ${version.state}.`);
    if (key === undefined) return googleError(res, 400, "FAILED_PRECONDITION", `${version.name} has purpose ENCRYPT_DECRYPT, which does not support the requested operation.`);
    const pem = key.export({ type: "spki", format: "pem" }).toString();
    const crc = versions[index]?.pemCrc32c;
    answer(res, 200, { pem, algorithm: version.algorithm, ...(crc === "omitted" ? {} : { pemCrc32c: String(crc === "wrong" ? (crc32c(Buffer.from(pem)) + 1) >>> 0 : crc32c(Buffer.from(pem))) }), name: version.name, protectionLevel: "SOFTWARE" });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  const endpoint = `http://127.0.0.1:${port}`;
  tokenUri = `${endpoint}/token`;
  return {
    endpoint,
    tokenUri,
    requests,
    tokenRequests,
    metadataHost: `127.0.0.1:${port}`,
    metadataRequests,
    serviceAccountKeyFile: () => JSON.stringify({
      type: "service_account",
      project_id: "acme-prod",
      private_key_id: "0123456789abcdef0123456789abcdef01234567",
      private_key: account.privateKey.export({ type: "pkcs8", format: "pem" }).toString(),
      client_email: TEST_GCP_CLIENT_EMAIL,
      client_id: "100000000000000000001",
      auth_uri: "https://accounts.google.com/o/oauth2/auth",
      token_uri: tokenUri,
      auth_provider_x509_cert_url: "https://www.googleapis.com/oauth2/v1/certs",
      client_x509_cert_url: `https://www.googleapis.com/robot/v1/metadata/x509/${encodeURIComponent(TEST_GCP_CLIENT_EMAIL)}`,
      universe_domain: "googleapis.com",
    }, null, 2),
    addVersion(key, version) {
      held.get(key)?.push({ ...version });
    },
    setState(key, version, state) {
      const versions = held.get(key);
      const entry = versions?.[version - 1];
      if (versions !== undefined && entry !== undefined) versions[version - 1] = { ...entry, state };
    },
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

/** A service-account key file whose key this stand-in does not know (its tokens are refused: Invalid JWT Signature). */
export function strangerServiceAccountKeyFile(tokenUri: string): string {
  const stranger = generateKeyPairSync("rsa", { modulusLength: 2048 });
  return JSON.stringify({ type: "service_account", private_key_id: "ffff", private_key: stranger.privateKey.export({ type: "pkcs8", format: "pem" }).toString(), client_email: TEST_GCP_CLIENT_EMAIL, token_uri: tokenUri });
}
