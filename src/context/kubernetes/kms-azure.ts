/**
 * Cosign public keys held in Azure Key Vault (`azurekms://<vault host>/<key name>[/<version>]`),
 * read as cosign reads them (sigstore/sigstore pkg/signature/kms/azure/client.go), over Key
 * Vault's REST API (plain fetch, no SDK):
 *
 * - the key is read at `https://<vault host>/keys/<name>[/<version>]?api-version=7.4` (cosign's
 *   vault URL is `https://<host>/`, the host as written: a bare vault name is not completed to
 *   <name>.vault.azure.net); without a version, Key Vault answers the key's current version, as
 *   cosign uses it;
 * - the answer's `key` is a JSON Web Key (EC with crv, x, y; RSA with n, e; the -HSM key types
 *   read as EC and RSA, as cosign does), turned into PEM; the hash is the one cosign signs with
 *   for its curve or size (kms.ts);
 * - auth: `Authorization: Bearer <token>`, a client-credentials token from Microsoft Entra ID
 *   (`POST <authorityHost>/<tenant>/oauth2/v2.0/token`, client_id, client_secret, scope
 *   https://vault.azure.net/.default), reused until a minute before it expires; the tenant, client
 *   id and secret fall back to AZURE_TENANT_ID, AZURE_CLIENT_ID and AZURE_CLIENT_SECRET, the
 *   authority to AZURE_AUTHORITY_HOST, as cosign's environment credential reads them;
 * - without a client secret, AKS Workload Identity: the service account token in
 *   `federatedTokenFile` (AZURE_FEDERATED_TOKEN_FILE, which the workload identity webhook sets,
 *   with AZURE_TENANT_ID and AZURE_CLIENT_ID) is sent as the client assertion of the same
 *   client-credentials request (client_assertion_type jwt-bearer), read again for every token
 *   (the kubelet rotates it);
 * - with `managedIdentity`, when neither is there: the VM's or node's managed identity, from the
 *   instance metadata service (`GET <managedIdentityEndpoint>?api-version=2018-02-01&resource=
 *   https://vault.azure.net[&client_id=<a user-assigned identity>]`, header `Metadata: true`).
 *
 * Not done (cosign does): Azure CLI, client-certificate and username/password credentials, the
 * App Service / Arc identity endpoints (IDENTITY_ENDPOINT); sovereign clouds other than through authorityHost (the token's scope is always
 * https://vault.azure.net/.default, so Managed HSM and national-cloud vaults are not reached).
 */
import { createPublicKey, type JsonWebKey } from "node:crypto";
import { readFileSync } from "node:fs";
import { cachedAccessToken, cachedKeySource, kmsReferenceProblem, kmsRequest, parseAzureKmsReference, type KmsKeySource, type KmsPublicKey } from "./kms.js";

export interface AzureKmsSettings {
  /** The Microsoft Entra tenant (default: AZURE_TENANT_ID). */
  readonly tenantId?: string | undefined;
  /** The app registration's client id (default: AZURE_CLIENT_ID). */
  readonly clientId?: string | undefined;
  /** The app registration's client secret (default: AZURE_CLIENT_SECRET). */
  readonly clientSecret?: string | undefined;
  /** Where tokens are asked (default: AZURE_AUTHORITY_HOST, else https://login.microsoftonline.com). */
  readonly authorityHost?: string | undefined;
  /** A federated service account token (AKS Workload Identity) sent as the client assertion when there is no client secret (default: AZURE_FEDERATED_TOKEN_FILE). */
  readonly federatedTokenFile?: string | undefined;
  /** Ask the instance metadata service for the managed identity's token when there is neither a client secret nor a federated token (default false). */
  readonly managedIdentity?: boolean | undefined;
  /** The managed identity token endpoint (default http://169.254.169.254/metadata/identity/oauth2/token). */
  readonly managedIdentityEndpoint?: string | undefined;
  /** A URL every key is read at instead of https://<vault host> (tests, private endpoints). */
  readonly endpoint?: string | undefined;
  /** How long a fetched key is reused, seconds (default 300, as cosign; 0: never). */
  readonly cacheSeconds?: number | undefined;
  /** Timeout of one request (Key Vault or the token endpoint), ms (default 5,000). */
  readonly timeoutMs?: number | undefined;
}

export const AZURE_AUTHORITY_HOST = "https://login.microsoftonline.com";
export const AZURE_KEY_VAULT_SCOPE = "https://vault.azure.net/.default";
export const AZURE_KEY_VAULT_API_VERSION = "7.4";
export const AZURE_IMDS_TOKEN_ENDPOINT = "http://169.254.169.254/metadata/identity/oauth2/token";
export const AZURE_KEY_VAULT_RESOURCE = "https://vault.azure.net";
const CLIENT_ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

type Json = Record<string, unknown>;
const isObject = (value: unknown): value is Json => value !== null && typeof value === "object" && !Array.isArray(value);

/**
 * The public key of a Key Vault JSON Web Key (`key` of a KeyBundle) as PEM, and its spec
 * ("EC P-256", "RSA 2048"), or why it cannot be read.
 */
export function azureJwkPublicKey(jwk: unknown): KmsPublicKey | { readonly problem: string } {
  if (!isObject(jwk)) return { problem: "the answer has no key" };
  const kty = String(jwk["kty"] ?? "").replace(/-HSM$/, "");
  let key: JsonWebKey;
  if (kty === "EC") key = { kty, crv: String(jwk["crv"] ?? ""), x: String(jwk["x"] ?? ""), y: String(jwk["y"] ?? "") };
  else if (kty === "RSA") key = { kty, n: String(jwk["n"] ?? ""), e: String(jwk["e"] ?? "") };
  else return { problem: `the key is of type ${JSON.stringify(jwk["kty"] ?? null)}: only EC and RSA keys sign` };
  try {
    const publicKey = createPublicKey({ key, format: "jwk" });
    const spec = kty === "EC" ? `EC ${String(key.crv)}` : `RSA ${String(publicKey.asymmetricKeyDetails?.modulusLength ?? "")}`;
    return { pem: publicKey.export({ type: "spki", format: "pem" }).toString(), keySpec: spec, signingAlgorithms: [] };
  } catch (error) {
    return { problem: `the ${kty} key is not a public key Vigil reads (${kty === "EC" ? `curve ${String(key.crv)}` : "n, e"}): ${error instanceof Error ? error.message : String(error)}` };
  }
}

/** Key Vault's `{"error": {"code", "message"}}` and Entra's `{"error", "error_description"}` as "code: message", else the text's start. */
function azureError(body: unknown, text: string): string {
  if (isObject(body) && isObject(body["error"])) return [body["error"]["code"], body["error"]["message"]].filter((part) => typeof part === "string" && part !== "").join(": ") || text.slice(0, 200);
  if (isObject(body) && typeof body["error"] === "string") return [body["error"], body["error_description"]].filter((part) => typeof part === "string" && part !== "").join(": ");
  return text.slice(0, 200);
}

/**
 * Azure Key Vault as a `KmsKeySource` for `azurekms://` references. Keys are cached per
 * reference; concurrent asks for one reference share one read; failures are not cached. `env`
 * (AZURE_TENANT_ID, AZURE_CLIENT_ID, AZURE_CLIENT_SECRET, AZURE_AUTHORITY_HOST) and `now` are
 * injected for tests. Rejections name Azure's answer (status, code, message), never the token or
 * the client secret.
 */
export function createAzureKeyVaultKeySource(settings: AzureKmsSettings = {}, options: { readonly now?: () => number; readonly env?: Readonly<Record<string, string | undefined>>; readonly readFile?: (path: string) => string } = {}): KmsKeySource & { stats(): { readonly requests: number; readonly tokenRequests: number; readonly cached: number } } {
  const env = options.env ?? process.env;
  const readFile = options.readFile ?? ((path: string) => readFileSync(path, "utf8"));
  const now = options.now ?? Date.now;
  const tenant = settings.tenantId || env["AZURE_TENANT_ID"] || "";
  const clientId = settings.clientId || env["AZURE_CLIENT_ID"] || "";
  const clientSecret = settings.clientSecret || env["AZURE_CLIENT_SECRET"] || "";
  const authority = (settings.authorityHost || env["AZURE_AUTHORITY_HOST"] || AZURE_AUTHORITY_HOST).replace(/\/+$/, "");
  const endpoint = (settings.endpoint ?? "").replace(/\/+$/, "");
  const timeout = { ms: settings.timeoutMs ?? 5000, setting: "admission.kms.azure.timeoutMs" };
  let requests = 0;

  const federatedFile = settings.federatedTokenFile || env["AZURE_FEDERATED_TOKEN_FILE"] || "";
  const federatedSetting = settings.federatedTokenFile ? "admission.kms.azure.federatedTokenFile" : "AZURE_FEDERATED_TOKEN_FILE";
  const imds = settings.managedIdentityEndpoint || AZURE_IMDS_TOKEN_ENDPOINT;

  /** The token in an answer of Entra or the metadata service (whose expires_in is a string). */
  const tokenOf = (answer: Awaited<ReturnType<typeof kmsRequest>>, what: string): { token: string; expiresInSeconds: number } => {
    if (!answer.ok) throw new Error(`${what}: ${answer.status} ${azureError(answer.body, answer.text)}`);
    const token = isObject(answer.body) ? answer.body["access_token"] : undefined;
    if (typeof token !== "string" || token === "") throw new Error(`${what}: the answer has no access_token`);
    const expiresIn = isObject(answer.body) ? Number(answer.body["expires_in"] ?? 3600) : 3600;
    return { token, expiresInSeconds: Number.isFinite(expiresIn) ? expiresIn : 3600 };
  };

  const tokens = cachedAccessToken(async () => {
    // Without a secret or a federated token, the managed identity (when allowed).
    if (clientSecret === "" && federatedFile === "" && settings.managedIdentity === true) {
      const url = `${imds}?${new URLSearchParams({ "api-version": "2018-02-01", resource: AZURE_KEY_VAULT_RESOURCE, ...(clientId !== "" ? { client_id: clientId } : {}) }).toString()}`;
      const what = `managed identity token request GET ${url}`;
      return tokenOf(await kmsRequest(what, url, { headers: { Metadata: "true", Accept: "application/json" } }, timeout), what);
    }
    const credential = clientSecret !== "" || federatedFile === "" ? ["clientSecret", "AZURE_CLIENT_SECRET", clientSecret] : ["federatedTokenFile", "AZURE_FEDERATED_TOKEN_FILE", federatedFile];
    const missing = [["tenantId", "AZURE_TENANT_ID", tenant], ["clientId", "AZURE_CLIENT_ID", clientId], credential].filter(([, , value]) => value === "");
    if (missing.length > 0) throw new Error(`no Azure credentials: set ${missing.map(([field, variable]) => `admission.kms.azure.${field as string} (or ${variable as string})`).join(", ")}${credential[0] === "clientSecret" ? ", or a federatedTokenFile (AKS Workload Identity), or managedIdentity: true" : ""}`);
    let secret: Record<string, string>;
    if (clientSecret !== "") secret = { client_secret: clientSecret };
    else {
      let assertion: string;
      try {
        assertion = readFile(federatedFile).trim();
      } catch (error) {
        throw new Error(`${federatedSetting} ${federatedFile} cannot be read: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
      }
      if (assertion === "") throw new Error(`${federatedSetting} ${federatedFile} is empty: it should hold the pod's service account token (AKS Workload Identity)`);
      secret = { client_assertion_type: CLIENT_ASSERTION_TYPE, client_assertion: assertion };
    }
    const url = `${authority}/${encodeURIComponent(tenant)}/oauth2/v2.0/token`;
    const what = `Microsoft Entra token request POST ${url} for client ${clientId}`;
    return tokenOf(await kmsRequest(what, url, {
      method: "POST",
      headers: { "Content-Type": "application/x-www-form-urlencoded", Accept: "application/json" },
      body: new URLSearchParams({ client_id: clientId, ...secret, scope: AZURE_KEY_VAULT_SCOPE, grant_type: "client_credentials" }).toString(),
    }, timeout), what);
  }, { now });

  async function fetchKey(reference: string): Promise<KmsPublicKey> {
    const parsed = parseAzureKmsReference(reference);
    if (parsed === undefined) throw new Error(kmsReferenceProblem(reference)?.message ?? `${reference} is not an Azure Key Vault key reference`);
    const vault = endpoint !== "" ? endpoint : `https://${parsed.host}`;
    const url = `${vault}/keys/${encodeURIComponent(parsed.name)}${parsed.version === "" ? "" : `/${parsed.version}`}?api-version=${AZURE_KEY_VAULT_API_VERSION}`;
    const what = `Key Vault GET ${url}`;
    const token = await tokens.get();
    requests++;
    let answer: Awaited<ReturnType<typeof kmsRequest>>;
    try {
      answer = await kmsRequest(what, url, { headers: { Authorization: `Bearer ${token}`, Accept: "application/json" } }, timeout);
    } catch (error) {
      // cosign reads the host as written: a bare vault name does not resolve.
      const hint = endpoint === "" && !parsed.host.includes(".") ? ` (cosign reads the vault at https://${parsed.host}/: write the vault's host, e.g. azurekms://${parsed.host}.vault.azure.net/${parsed.name})` : "";
      throw new Error(`${error instanceof Error ? error.message : String(error)}${hint}`, { cause: error });
    }
    if (!answer.ok) {
      // A token Key Vault no longer takes: the next read gets a new one.
      if (answer.status === 401) tokens.drop();
      throw new Error(`${what}: ${answer.status} ${azureError(answer.body, answer.text)}`);
    }
    const key = azureJwkPublicKey(isObject(answer.body) ? answer.body["key"] : undefined);
    if ("problem" in key) throw new Error(`${what}: ${key.problem}`);
    return key;
  }

  const cached = cachedKeySource(fetchKey, { cacheMs: (settings.cacheSeconds ?? 300) * 1000, now });
  return { publicKey: cached.publicKey, serves: (reference) => reference.startsWith("azurekms://"), stats: () => ({ requests, tokenRequests: tokens.requests(), cached: cached.size() }) };
}
