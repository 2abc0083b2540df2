/**
 * Cosign public keys held in Google Cloud KMS (`gcpkms://projects/P/locations/L/keyRings/R/
 * cryptoKeys/K[/cryptoKeyVersions/V]`), read as cosign reads them (sigstore/sigstore
 * pkg/signature/kms/gcp/client.go), over Cloud KMS's REST API (plain fetch, no SDK):
 *
 * - a reference that pins a version reads that version; one that does not reads the key's
 *   latest enabled version, as cosign does: `GET /v1/<key>/cryptoKeyVersions?filter=state=ENABLED
 *   &orderBy=name desc` (cosign's ListCryptoKeyVersions request) and the first version listed;
 * - `GET /v1/<version>/publicKey` answers `{pem, algorithm, pemCrc32c, name}`: the PEM is checked
 *   against `pemCrc32c` when the answer has one (Google's data-integrity advice; a mismatch is an
 *   error), and the version's algorithm gives the hash (kms.ts, as cosign);
 * - auth: `Authorization: Bearer <token>`, the token configured (accessToken, else the
 *   environment's GOOGLE_OAUTH_ACCESS_TOKEN), or exchanged for a service-account key file
 *   (credentialsFile, else GOOGLE_APPLICATION_CREDENTIALS): an RS256 JWT assertion signed with the
 *   file's private_key, posted to its token_uri (grant type jwt-bearer, scope cloudkms), the token
 *   reused until a minute before it expires.
 *
 *   With `metadataServer` (or GCE_METADATA_HOST set), when neither is configured, the token of the
 *   instance's service account comes from the metadata server of GCE or GKE (Workload Identity:
 *   the pod's Kubernetes service account bound to a Google one): `GET http://<host>/computeMetadata
 *   /v1/instance/service-accounts/default/token?scopes=<cloudkms>` with `Metadata-Flavor: Google`,
 *   reused until a minute before it expires.
 *
 * Not done (cosign does): GetCryptoKey's purpose check (a key that does not sign has no public
 * key: Cloud KMS answers FAILED_PRECONDITION, named as such), re-reading the key when a signature
 * does not verify (here a newly enabled version is read once the cached key expires), and other
 * credentials (workload identity federation outside Google Cloud, user credentials).
 */
import { createPublicKey, sign } from "node:crypto";
import { readFileSync } from "node:fs";
import { cachedAccessToken, cachedKeySource, kmsReferenceProblem, kmsRequest, parseGcpKmsReference, type KmsKeySource, type KmsPublicKey } from "./kms.js";

export interface GcpKmsSettings {
  /** An OAuth 2 access token with the cloudkms scope (default: the environment's GOOGLE_OAUTH_ACCESS_TOKEN). Wins over a key file. */
  readonly accessToken?: string | undefined;
  /** A service-account key file (JSON, type service_account) tokens are made with (default: GOOGLE_APPLICATION_CREDENTIALS). */
  readonly credentialsFile?: string | undefined;
  /**
   * Ask the metadata server (GCE, GKE Workload Identity) for the service account's token when no
   * access token or key file is configured (default: true when GCE_METADATA_HOST is set).
   */
  readonly metadataServer?: boolean | undefined;
  /** The metadata server's host[:port] (default: GCE_METADATA_HOST, else metadata.google.internal). */
  readonly metadataHost?: string | undefined;
  /** Cloud KMS's URL (default https://cloudkms.googleapis.com). */
  readonly endpoint?: string | undefined;
  /** How long a fetched key is reused, seconds (default 300, as cosign; 0: never). */
  readonly cacheSeconds?: number | undefined;
  /** Timeout of one request (Cloud KMS or the token endpoint), ms (default 5,000). */
  readonly timeoutMs?: number | undefined;
}

export const GCP_KMS_ENDPOINT = "https://cloudkms.googleapis.com";
export const GCP_KMS_SCOPE = "https://www.googleapis.com/auth/cloudkms";
export const GCP_METADATA_HOST = "metadata.google.internal";
const JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer";

type Json = Record<string, unknown>;
const isObject = (value: unknown): value is Json => value !== null && typeof value === "object" && !Array.isArray(value);

let crcTable: Uint32Array | undefined;
/** CRC32C (Castagnoli), the checksum Cloud KMS sends as pemCrc32c. */
export function crc32c(data: Buffer): number {
  if (crcTable === undefined) {
    crcTable = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0x82f63b78 ^ (c >>> 1) : c >>> 1;
      crcTable[n] = c >>> 0;
    }
  }
  let crc = 0xffffffff;
  for (const byte of data) crc = (crcTable[(crc ^ byte) & 0xff] as number) ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}

/** The fields of a service-account key file used to get tokens. */
export interface ServiceAccountKey {
  readonly clientEmail: string;
  readonly privateKey: string;
  readonly privateKeyId: string;
  readonly tokenUri: string;
}

/** The service-account key in a key file's text, or why it cannot be used (`where` names the file and the setting). */
export function parseServiceAccountKey(text: string, where: string): ServiceAccountKey {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    throw new Error(`${where} is not JSON: it should be a service-account key file (gcloud iam service-accounts keys create)`);
  }
  if (!isObject(doc)) throw new Error(`${where} is not a service-account key file`);
  if (doc["type"] !== "service_account") throw new Error(`${where} has type ${JSON.stringify(doc["type"] ?? null)}: only service-account key files (type service_account) are read; otherwise set admission.kms.gcp.accessToken`);
  const field = (name: string): string => {
    const value = doc[name];
    if (typeof value !== "string" || value === "") throw new Error(`${where} has no ${name}`);
    return value;
  };
  return { clientEmail: field("client_email"), privateKey: field("private_key"), privateKeyId: typeof doc["private_key_id"] === "string" ? doc["private_key_id"] : "", tokenUri: typeof doc["token_uri"] === "string" && doc["token_uri"] !== "" ? doc["token_uri"] : "https://oauth2.googleapis.com/token" };
}

/** The signed JWT assertion a service account exchanges for an access token (RFC 7523; Google's claims: iss, scope, aud = token_uri, iat, exp = iat + 1 h). */
export function serviceAccountAssertion(account: ServiceAccountKey, nowSeconds: number, scope = GCP_KMS_SCOPE): string {
  const encode = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString("base64url");
  const header = encode({ alg: "RS256", typ: "JWT", ...(account.privateKeyId !== "" ? { kid: account.privateKeyId } : {}) });
  const claims = encode({ iss: account.clientEmail, scope, aud: account.tokenUri, iat: nowSeconds, exp: nowSeconds + 3600 });
  const signature = sign("sha256", Buffer.from(`${header}.${claims}`), account.privateKey).toString("base64url");
  return `${header}.${claims}.${signature}`;
}

/** Google's `{"error": {"code", "status", "message"}}` as "STATUS: message", OAuth's `{"error", "error_description"}` as "error: description", else the text's start. */
function googleError(body: unknown, text: string): string {
  if (isObject(body) && isObject(body["error"])) {
    const error = body["error"];
    return [error["status"], error["message"]].filter((part) => typeof part === "string" && part !== "").join(": ") || text.slice(0, 200);
  }
  if (isObject(body) && typeof body["error"] === "string") return [body["error"], body["error_description"]].filter((part) => typeof part === "string" && part !== "").join(": ");
  return text.slice(0, 200);
}

/**
 * Google Cloud KMS as a `KmsKeySource` for `gcpkms://` references. Keys are cached per reference;
 * concurrent asks for one reference share one read; failures are not cached. `env`
 * (GOOGLE_OAUTH_ACCESS_TOKEN, GOOGLE_APPLICATION_CREDENTIALS), `readFile` and `now` are injected
 * for tests. Rejections name Google's answer (status and message), never a token or key.
 */
export function createGcpKmsKeySource(settings: GcpKmsSettings = {}, options: { readonly now?: () => number; readonly env?: Readonly<Record<string, string | undefined>>; readonly readFile?: (path: string) => string } = {}): KmsKeySource & { stats(): { readonly requests: number; readonly tokenRequests: number; readonly cached: number } } {
  const env = options.env ?? process.env;
  const now = options.now ?? Date.now;
  const readFile = options.readFile ?? ((path: string) => readFileSync(path, "utf8"));
  const endpoint = (settings.endpoint || GCP_KMS_ENDPOINT).replace(/\/+$/, "");
  const timeout = { ms: settings.timeoutMs ?? 5000, setting: "admission.kms.gcp.timeoutMs" };
  // Configured settings first, then the environment's (a token, then a key file).
  const staticToken = settings.accessToken || (settings.credentialsFile ? "" : env["GOOGLE_OAUTH_ACCESS_TOKEN"] || "");
  const keyFile = staticToken !== "" ? "" : settings.credentialsFile || env["GOOGLE_APPLICATION_CREDENTIALS"] || "";
  const keyFileSetting = settings.credentialsFile ? "admission.kms.gcp.credentialsFile" : "GOOGLE_APPLICATION_CREDENTIALS";
  const metadataHost = settings.metadataHost || env["GCE_METADATA_HOST"] || GCP_METADATA_HOST;
  const useMetadata = staticToken === "" && keyFile === "" && (settings.metadataServer ?? (env["GCE_METADATA_HOST"] ?? "") !== "");
  let requests = 0;
  let account: ServiceAccountKey | undefined;

  /** The token in an answer of Google's token endpoint or the metadata server, or an Error naming Google's answer. */
  const tokenOf = (answer: Awaited<ReturnType<typeof kmsRequest>>, what: string): { token: string; expiresInSeconds: number } => {
    if (!answer.ok) throw new Error(`${what}: ${answer.status} ${googleError(answer.body, answer.text)}`);
    const token = isObject(answer.body) ? answer.body["access_token"] : undefined;
    if (typeof token !== "string" || token === "") throw new Error(`${what}: the answer has no access_token`);
    const expiresIn = isObject(answer.body) && typeof answer.body["expires_in"] === "number" ? answer.body["expires_in"] : 3600;
    return { token, expiresInSeconds: expiresIn };
  };

  // The metadata server's token for the instance's (or the pod's Workload Identity) service account.
  const metadataTokens = cachedAccessToken(async () => {
    const url = `http://${metadataHost}/computeMetadata/v1/instance/service-accounts/default/token?${new URLSearchParams({ scopes: GCP_KMS_SCOPE }).toString()}`;
    const what = `metadata server token request GET ${url}`;
    return tokenOf(await kmsRequest(what, url, { headers: { "Metadata-Flavor": "Google", Accept: "application/json" } }, timeout), what);
  }, { now });

  const tokens = cachedAccessToken(async () => {
    if (account === undefined) {
      let text: string;
      try {
        text = readFile(keyFile);
      } catch (error) {
        throw new Error(`${keyFileSetting} ${keyFile} cannot be read: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
      }
      account = parseServiceAccountKey(text, `${keyFileSetting} ${keyFile}`);
    }
    const what = `token request POST ${account.tokenUri} for ${account.clientEmail}`;
    let assertion: string;
    try {
      assertion = serviceAccountAssertion(account, Math.floor(now() / 1000));
    } catch (error) {
      throw new Error(`${keyFileSetting} ${keyFile}: its private_key cannot sign: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
    }
    return tokenOf(await kmsRequest(what, account.tokenUri, {
      method: "POST",
      headers: { "Content-Type": "application/x-www-form-urlencoded", Accept: "application/json" },
      body: new URLSearchParams({ grant_type: JWT_BEARER, assertion }).toString(),
    }, timeout), what);
  }, { now });

  async function bearer(): Promise<string> {
    if (staticToken !== "") return staticToken;
    if (keyFile !== "") return tokens.get();
    if (useMetadata) return metadataTokens.get();
    throw new Error("no Google credentials: set admission.kms.gcp.credentialsFile (a service-account key file) or admission.kms.gcp.accessToken, or GOOGLE_APPLICATION_CREDENTIALS, or admission.kms.gcp.metadataServer: true on GCE or GKE (Workload Identity)");
  }

  /** GET `path` of Cloud KMS with the token; the JSON answer, or an Error naming Google's. */
  async function get(path: string): Promise<Json> {
    const url = `${endpoint}/v1/${path}`;
    const what = `Cloud KMS GET ${url}`;
    const token = await bearer();
    requests++;
    const answer = await kmsRequest(what, url, { headers: { Authorization: `Bearer ${token}`, Accept: "application/json" } }, timeout);
    if (!answer.ok) {
      // A token Google no longer takes (revoked, expired early): the next read gets a new one.
      if (answer.status === 401) {
        tokens.drop();
        metadataTokens.drop();
      }
      throw new Error(`${what}: ${answer.status} ${googleError(answer.body, answer.text)}`);
    }
    if (!isObject(answer.body)) throw new Error(`${what}: the answer is not a JSON object`);
    return answer.body;
  }

  async function fetchKey(reference: string): Promise<KmsPublicKey> {
    const parsed = parseGcpKmsReference(reference);
    if (parsed === undefined) throw new Error(kmsReferenceProblem(reference)?.message ?? `${reference} is not a Google Cloud KMS key reference`);
    const segments = (name: string): string => name.split("/").map(encodeURIComponent).join("/");
    let version = parsed.version === "" ? "" : `${parsed.key}/cryptoKeyVersions/${parsed.version}`;
    if (version === "") {
      const listed = await get(`${segments(parsed.key)}/cryptoKeyVersions?${new URLSearchParams({ filter: "state=ENABLED", orderBy: "name desc" }).toString().replace(/\+/g, "%20")}`);
      const first = Array.isArray(listed["cryptoKeyVersions"]) ? listed["cryptoKeyVersions"][0] : undefined;
      if (!isObject(first) || typeof first["name"] !== "string") throw new Error(`Cloud KMS: ${parsed.key} has no ENABLED version (cosign uses the latest enabled one; enable one, or name a version: .../cryptoKeyVersions/<n>)`);
      version = first["name"];
    }
    const answer = await get(`${segments(version)}/publicKey`);
    const pem = answer["pem"];
    const algorithm = typeof answer["algorithm"] === "string" ? answer["algorithm"] : "";
    if (typeof pem !== "string" || pem === "") throw new Error(`Cloud KMS GET ${endpoint}/v1/${version}/publicKey: the answer has no pem`);
    // pemCrc32c is an int64, which Google's JSON writes as a string.
    const expected = answer["pemCrc32c"];
    if (expected !== undefined && expected !== null && Number(expected) !== crc32c(Buffer.from(pem, "utf8"))) throw new Error(`Cloud KMS GET ${endpoint}/v1/${version}/publicKey: the pem does not match its pemCrc32c (corrupted in transit)`);
    try {
      return { pem: createPublicKey(pem).export({ type: "spki", format: "pem" }).toString(), keySpec: algorithm, signingAlgorithms: algorithm === "" ? [] : [algorithm] };
    } catch (error) {
      throw new Error(`Cloud KMS GET ${endpoint}/v1/${version}/publicKey: the pem is not a public key: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
    }
  }

  const cached = cachedKeySource(fetchKey, { cacheMs: (settings.cacheSeconds ?? 300) * 1000, now });
  return { publicKey: cached.publicKey, serves: (reference) => reference.startsWith("gcpkms://"), stats: () => ({ requests, tokenRequests: tokens.requests() + metadataTokens.requests(), cached: cached.size() }) };
}
