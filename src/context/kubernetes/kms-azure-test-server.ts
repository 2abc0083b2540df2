/**
 * A local stand-in for Azure Key Vault and the Microsoft Entra ID token endpoint, for tests (both
 * are remote services), speaking their REST wire protocol:
 *
 * - `POST /<tenant>/oauth2/v2.0/token`: a form body with grant_type=client_credentials,
 *   client_id, client_secret (or client_assertion_type jwt-bearer and a client_assertion: the
 *   federated token TEST_AZURE_FEDERATED_TOKEN of AKS Workload Identity) and
 *   scope=https://vault.azure.net/.default, checked; answered
 *   `{token_type: "Bearer", expires_in, ext_expires_in, access_token}`, else Entra's errors
 *   (400 invalid_request AADSTS90002 for an unknown tenant, 401 invalid_client AADSTS7000215 for
 *   a wrong secret, 400 invalid_scope AADSTS70011, 400 unsupported_grant_type);
 * - `GET /keys/<name>[/<version>]?api-version=7.4` with `Authorization: Bearer <token>`: the
 *   KeyBundle `{key: JWK with kid, kty, key_ops, crv/x/y or n/e, attributes, tags}`, the current
 *   (last) version when none is named; no token 401 AKV10000 with Key Vault's WWW-Authenticate
 *   challenge, an unknown token 401 AKV10032, no api-version 400 BadParameter, an unknown key or
 *   version 404 KeyNotFound, in Key Vault's `{"error": {code, message}}` shape.
 *
 * - `GET /metadata/identity/oauth2/token?api-version=2018-02-01&resource=https://vault.azure.net
 *   [&client_id=...]` (the instance metadata service's managed identity endpoint): with
 *   `Metadata: true`, `{access_token, expires_in, expires_on, resource, token_type}` (numbers as
 *   strings, as IMDS writes them); without the header, or for another resource or identity, IMDS's
 *   400 errors.
 *
 * One server plays all three (authorityHost, the vault endpoint, IMDS). Not used outside tests.
 */
import type { KeyObject } from "node:crypto";
import { createServer, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

export const TEST_AZURE_TENANT = "72f988bf-86f1-41af-91ab-2d7cd011db47";
export const TEST_AZURE_CLIENT_ID = "0b5f5c8e-1a2b-4c3d-9e8f-123456789abc";
export const TEST_AZURE_CLIENT_SECRET = "vigil~test~secret~0000000000000000000";
/** The service account token a workload identity pod would find in AZURE_FEDERATED_TOKEN_FILE. */
export const TEST_AZURE_FEDERATED_TOKEN = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJzeXN0ZW06c2VydmljZWFjY291bnQ6dmlnaWw6dmlnaWwifQ.vigil-test-federated";

export interface FakeAzureKeyVersion {
  readonly publicKey: KeyObject;
  /** Stored in a managed HSM: kty EC-HSM / RSA-HSM. */
  readonly hsm?: boolean;
}

export interface FakeAzureRequest {
  readonly method: string;
  readonly path: string;
  readonly query: string;
  readonly authorization: string | undefined;
  /** A token request's form body, as sent (the secret included: tests check it was sent). */
  readonly form?: Readonly<Record<string, string>>;
}

export interface FakeAzureKeyVault {
  /** `http://127.0.0.1:<port>`: both the authority host and the vault endpoint. */
  readonly address: string;
  readonly requests: FakeAzureRequest[];
  /** Adds a version to `name`: it becomes the current one. Returns its version id (32 hex digits). */
  rotate(name: string, version: FakeAzureKeyVersion): string;
  /** The version ids of `name`, oldest first. */
  versionsOf(name: string): readonly string[];
  close(): Promise<void>;
}

/** Serves `keys` by name (versions oldest first; the last is current) to tokens it issued for TEST_AZURE_CLIENT_ID / SECRET in TEST_AZURE_TENANT, valid `tokenSeconds` (default 3599). */
export async function startFakeAzureKeyVault(keys: Readonly<Record<string, readonly FakeAzureKeyVersion[]>>, options: { readonly tokenSeconds?: number } = {}): Promise<FakeAzureKeyVault> {
  let counter = 0;
  const versionId = (): string => (++counter).toString(16).padStart(32, "0");
  const held = new Map(Object.entries(keys).map(([name, versions]) => [name, versions.map((v) => ({ id: versionId(), ...v }))]));
  const issued = new Set<string>();
  const requests: FakeAzureRequest[] = [];
  let address = "";

  const answer = (res: ServerResponse, status: number, json: unknown, headers: Record<string, string> = {}): void => {
    res.writeHead(status, { "Content-Type": "application/json; charset=utf-8", ...headers });
    res.end(JSON.stringify(json));
  };
  const entraError = (res: ServerResponse, status: number, error: string, code: number, description: string): void => answer(res, status, { error, error_description: `AADSTS${code}: ${description} Trace ID: 00000000-0000-0000-0000-000000000000 Correlation ID: 00000000-0000-0000-0000-000000000000 Timestamp: 2025-07-01 10:00:00Z`, error_codes: [code], timestamp: "2025-07-01 10:00:00Z", trace_id: "00000000-0000-0000-0000-000000000000", correlation_id: "00000000-0000-0000-0000-000000000000" });

  function jwk(name: string, version: { id: string; publicKey: KeyObject; hsm?: boolean }): Record<string, unknown> {
    const exported = version.publicKey.export({ format: "jwk" }) as Record<string, string>;
    const kty = `${exported["kty"] as string}${version.hsm ? "-HSM" : ""}`;
    const material = exported["kty"] === "EC" ? { crv: exported["crv"], x: exported["x"], y: exported["y"] } : { n: exported["n"], e: exported["e"] };
    return { kid: `${address}/keys/${name}/${version.id}`, kty, key_ops: ["sign", "verify"], ...material };
  }

  const server = createServer((req, res) => {
    const [path = "", query = ""] = (req.url ?? "").split("?");
    const authorization = req.headers["authorization"];
    const token = /^\/([^/]+)\/oauth2\/v2\.0\/token$/.exec(path);
    if (token !== null) {
      const chunks: Buffer[] = [];
      req.on("data", (chunk: Buffer) => chunks.push(chunk));
      req.on("end", () => {
        const form = Object.fromEntries(new URLSearchParams(Buffer.concat(chunks).toString()));
        requests.push({ method: req.method ?? "", path, query, authorization, form });
        if (req.method !== "POST" || !(req.headers["content-type"] ?? "").startsWith("application/x-www-form-urlencoded")) return entraError(res, 400, "invalid_request", 900144, "The request body must contain the following parameter: 'grant_type'.");
        if (decodeURIComponent(token[1] as string) !== TEST_AZURE_TENANT) return entraError(res, 400, "invalid_request", 90002, `Tenant '${decodeURIComponent(token[1] as string)}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud.`);
        if (form["grant_type"] !== "client_credentials") return entraError(res, 400, "unsupported_grant_type", 70003, "The app requested an unsupported grant type.");
        if (form["client_id"] !== TEST_AZURE_CLIENT_ID) return entraError(res, 400, "unauthorized_client", 700016, `Application with identifier '${form["client_id"] ?? ""}' was not found in the directory.`);
        if (form["client_assertion"] !== undefined || form["client_assertion_type"] !== undefined) {
          if (form["client_secret"] !== undefined) return entraError(res, 400, "invalid_request", 90023, "Client assertion and client secret cannot both be present.");
          if (form["client_assertion_type"] !== "urn:ietf:params:oauth:client-assertion-type:jwt-bearer") return entraError(res, 400, "invalid_request", 700025, "Client assertion type is not supported.");
          if (form["client_assertion"] !== TEST_AZURE_FEDERATED_TOKEN) return entraError(res, 400, "invalid_client", 70021, "No matching federated identity record found for presented assertion.");
        } else if (form["client_secret"] !== TEST_AZURE_CLIENT_SECRET) return entraError(res, 401, "invalid_client", 7000215, "Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app.");
        if (form["scope"] !== "https://vault.azure.net/.default") return entraError(res, 400, "invalid_scope", 70011, `The provided request must include a 'scope' input parameter. The provided value for the input parameter 'scope' is not valid: ${form["scope"] ?? ""}.`);
        const issuedToken = `eyJ0eXAiOiJKV1QifQ.vigil-test-${issued.size + 1}`;
        issued.add(issuedToken);
        const seconds = options.tokenSeconds ?? 3599;
        answer(res, 200, { token_type: "Bearer", expires_in: seconds, ext_expires_in: seconds, access_token: issuedToken });
      });
      return;
    }
    requests.push({ method: req.method ?? "", path, query, authorization });
    if (path === "/metadata/identity/oauth2/token") {
      const params = new URLSearchParams(query);
      if (req.headers["metadata"] !== "true") return answer(res, 400, { error: "invalid_request", error_description: "Required metadata header not specified" });
      if (params.get("api-version") !== "2018-02-01") return answer(res, 400, { error: "invalid_request", error_description: "Invalid or missing api-version" });
      if (params.get("resource") !== "https://vault.azure.net") return answer(res, 400, { error: "invalid_resource", error_description: `AADSTS500011: The resource principal named ${params.get("resource") ?? ""} was not found in the tenant.` });
      if (params.get("client_id") !== null && params.get("client_id") !== TEST_AZURE_CLIENT_ID) return answer(res, 400, { error: "invalid_request", error_description: "Identity not found" });
      const issuedToken = `eyJ0eXAiOiJKV1QifQ.vigil-imds-${issued.size + 1}`;
      issued.add(issuedToken);
      const seconds = options.tokenSeconds ?? 3599;
      return answer(res, 200, { access_token: issuedToken, client_id: TEST_AZURE_CLIENT_ID, expires_in: String(seconds), expires_on: String(Math.floor(Date.now() / 1000) + seconds), ext_expires_in: String(seconds), not_before: String(Math.floor(Date.now() / 1000)), resource: "https://vault.azure.net", token_type: "Bearer" });
    }
    const challenge = { "WWW-Authenticate": `Bearer authorization="https://login.microsoftonline.com/${TEST_AZURE_TENANT}", resource="https://vault.azure.net"` };
    const bearer = /^Bearer (.+)$/.exec(authorization ?? "")?.[1];
    if (bearer === undefined) return answer(res, 401, { error: { code: "Unauthorized", message: "AKV10000: Request is missing a Bearer or PoP token." } }, challenge);
    if (!issued.has(bearer)) return answer(res, 401, { error: { code: "Unauthorized", message: "AKV10032: Invalid issuer. Expected one of https://sts.windows.net/72f988bf-86f1-41af-91ab-2d7cd011db47/, found https://sts.windows.net/00000000-0000-0000-0000-000000000000/." } }, challenge);
    if (new URLSearchParams(query).get("api-version") === null) return answer(res, 400, { error: { code: "BadParameter", message: "The request URI contains an invalid API version." } });
    const route = /^\/keys\/([^/]+)(?:\/([^/]*))?$/.exec(path);
    if (req.method !== "GET" || route === null) return answer(res, 404, { error: { code: "NotFound", message: `The requested resource ${path} was not found.` } });
    const name = decodeURIComponent(route[1] as string);
    const versions = held.get(name);
    const version = versions === undefined ? undefined : route[2] === undefined || route[2] === "" ? versions.at(-1) : versions.find((v) => v.id === route[2]);
    if (version === undefined) return answer(res, 404, { error: { code: "KeyNotFound", message: `A key with (name/id) ${name}${route[2] ? `/${route[2]}` : ""} was not found in this key vault. If you recently deleted this key you may be able to recover it using the correct recovery command. For help resolving this issue, please see https://go.microsoft.com/fwlink/?linkid=2125182` } });
    answer(res, 200, { key: jwk(name, version), attributes: { enabled: true, created: 1735689600, updated: 1735689600, recoveryLevel: "Recoverable+Purgeable", recoverableDays: 90, exportable: false }, tags: { use: "sigstore" } });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  address = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    address,
    requests,
    rotate(name, version) {
      const id = versionId();
      const versions = held.get(name) ?? [];
      versions.push({ id, ...version });
      held.set(name, versions);
      return id;
    },
    versionsOf: (name) => (held.get(name) ?? []).map((v) => v.id),
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
