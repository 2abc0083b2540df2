import { generateKeyPairSync, type KeyObject } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { composeKmsKeySources, kmsFailureKind, kmsReferenceProblem, parseAzureKmsReference, withKmsKeys } from "./kms.js";
import { createAwsKmsKeySource } from "./kms-aws.js";
import { azureJwkPublicKey, createAzureKeyVaultKeySource } from "./kms-azure.js";
import { startFakeAzureKeyVault, TEST_AZURE_CLIENT_ID, TEST_AZURE_CLIENT_SECRET, TEST_AZURE_FEDERATED_TOKEN, TEST_AZURE_TENANT, type FakeAzureKeyVault } from "./kms-azure-test-server.js";
import { createRegistryClient } from "./registry-client.js";
import { startFakeRegistry, type FakeRegistry } from "./registry-test-server.js";

type Pair = { privateKey: KeyObject; publicKey: KeyObject };
const ec = (namedCurve = "P-256"): Pair => generateKeyPairSync("ec", { namedCurve });
const pem = (pair: Pair): string => pair.publicKey.export({ type: "spki", format: "pem" }).toString();
const release = ec();
const stranger = ec();
const next = ec();
const p384 = ec("P-384");
const rsa = generateKeyPairSync("rsa", { modulusLength: 2048 });

let vault: FakeAzureKeyVault;
let registry: FakeRegistry;
beforeAll(async () => {
  vault = await startFakeAzureKeyVault({
    release: [{ publicKey: release.publicKey }],
    rotating: [{ publicKey: release.publicKey }],
    hsm: [{ publicKey: release.publicKey, hsm: true }],
    "rsa-release": [{ publicKey: rsa.publicKey }],
    p384: [{ publicKey: p384.publicKey }],
  });
  registry = await startFakeRegistry({
    "acme/signed:1.0": { created: "2025-01-01T00:00:00Z", signatures: [{ ...release }] },
    "acme/strangers:1.0": { created: "2025-01-01T00:00:00Z", signatures: [{ ...stranger }] },
    "acme/rsa:1.0": { created: "2025-01-01T00:00:00Z", signatures: [{ ...rsa }] },
    "acme/p384:1.0": { created: "2025-01-01T00:00:00Z", signatures: [{ ...p384 }] },
  });
});
afterAll(async () => {
  await vault.close();
  await registry.close();
});

const HOST = "acme-release.vault.azure.net";
const ref = (name: string, version?: string): string => `azurekms://${HOST}/${name}${version === undefined ? "" : `/${version}`}`;
const settings = () => ({ tenantId: TEST_AZURE_TENANT, clientId: TEST_AZURE_CLIENT_ID, clientSecret: TEST_AZURE_CLIENT_SECRET, authorityHost: vault.address, endpoint: vault.address });

describe("azurekms:// references, parsed as cosign parses them", () => {
  it("takes the vault's host, the key name and an optional version", () => {
    expect(parseAzureKmsReference(ref("release"))).toEqual({ host: HOST, name: "release", version: "" });
    expect(parseAzureKmsReference(ref("release", "0123456789abcdef0123456789abcdef"))).toEqual({ host: HOST, name: "release", version: "0123456789abcdef0123456789abcdef" });
    // cosign takes the first part as the host, as written
    expect(parseAzureKmsReference("azurekms://acme-release/release")).toEqual({ host: "acme-release", name: "release", version: "" });
    expect(kmsReferenceProblem(ref("release"))).toBeUndefined();
  });

  it("rejects what cosign's regex rejects, naming the format", () => {
    for (const bad of ["azurekms://", `azurekms://${HOST}`, `azurekms://${HOST}/`, `azurekms:///release`, `azurekms://${HOST}/release/ABCDEF`, `azurekms://${HOST}/release/v1/extra`]) {
      expect(parseAzureKmsReference(bad), bad).toBeUndefined();
      expect(kmsReferenceProblem(bad)).toEqual({ kind: "error", message: `${JSON.stringify(bad)} is not an Azure Key Vault key reference: use azurekms://<vault host>/<key name>, optionally followed by /<version> (lower-case letters and digits), e.g. azurekms://myvault.vault.azure.net/release (cosign's format)` });
    }
  });
});

describe("Key Vault JSON Web Keys (azureJwkPublicKey)", () => {
  it("turns EC and RSA keys (and their -HSM kinds) into PEM with their curve or size; other kinds are named", () => {
    const jwk = (pair: { publicKey: KeyObject }) => pair.publicKey.export({ format: "jwk" });
    expect(azureJwkPublicKey({ kid: "k", key_ops: ["sign"], ...jwk(release) })).toEqual({ pem: pem(release), keySpec: "EC P-256", signingAlgorithms: [] });
    expect(azureJwkPublicKey({ ...jwk(p384), kty: "EC-HSM" })).toEqual({ pem: pem(p384), keySpec: "EC P-384", signingAlgorithms: [] });
    expect(azureJwkPublicKey({ ...jwk(rsa), kty: "RSA-HSM" })).toMatchObject({ keySpec: "RSA 2048" });
    expect(azureJwkPublicKey({ kty: "oct-HSM", k: "AAAA" })).toEqual({ problem: 'the key is of type "oct-HSM": only EC and RSA keys sign' });
    expect(azureJwkPublicKey({ kty: "EC", crv: "P-256", x: "AAAA", y: "AAAA" })).toMatchObject({ problem: expect.stringMatching(/^the EC key is not a public key Vigil reads \(curve P-256\): /) as unknown });
    expect(azureJwkPublicKey(undefined)).toEqual({ problem: "the answer has no key" });
  });
});

describe("Azure Key Vault keys (createAzureKeyVaultKeySource)", () => {
  it("asks Entra for a client-credentials token for Key Vault, then GETs /keys/<name>?api-version=7.4 with it", async () => {
    const before = vault.requests.length;
    const key = await createAzureKeyVaultKeySource(settings()).publicKey(ref("release"));
    expect(key).toEqual({ pem: pem(release), keySpec: "EC P-256", signingAlgorithms: [] });
    expect(vault.requests.slice(before)).toEqual([
      { method: "POST", path: `/${TEST_AZURE_TENANT}/oauth2/v2.0/token`, query: "", authorization: undefined, form: { client_id: TEST_AZURE_CLIENT_ID, client_secret: TEST_AZURE_CLIENT_SECRET, scope: "https://vault.azure.net/.default", grant_type: "client_credentials" } },
      { method: "GET", path: "/keys/release", query: "api-version=7.4", authorization: "Bearer eyJ0eXAiOiJKV1QifQ.vigil-test-1" },
    ]);
    expect((await createAzureKeyVaultKeySource(settings()).publicKey(ref("hsm"))).pem).toBe(pem(release));
  });

  it("without a version reads the current one (a rotated key's newest); a pinned version is read as named", async () => {
    const source = createAzureKeyVaultKeySource({ ...settings(), cacheSeconds: 0 });
    const [first] = vault.versionsOf("rotating");
    const newest = vault.rotate("rotating", { publicKey: next.publicKey });
    expect((await source.publicKey(ref("rotating"))).pem).toBe(pem(next));
    expect((await source.publicKey(ref("rotating", first))).pem).toBe(pem(release));
    expect((await source.publicKey(ref("rotating", newest))).pem).toBe(pem(next));
    expect(vault.requests.slice(-2).map((r) => r.path)).toEqual([`/keys/rotating/${first as string}`, `/keys/rotating/${newest}`]);
    // one token for all three reads
    expect(source.stats().tokenRequests).toBe(1);
  });

  it("keeps the token until a minute before it expires, then asks for a new one", async () => {
    const short = await startFakeAzureKeyVault({ release: [{ publicKey: release.publicKey }] }, { tokenSeconds: 120 });
    try {
      let now = 0;
      const source = createAzureKeyVaultKeySource({ ...settings(), authorityHost: short.address, endpoint: short.address, cacheSeconds: 0 }, { now: () => now });
      await Promise.all([source.publicKey(ref("release")), source.publicKey(ref("release"))]);
      now += 59_000;
      await source.publicKey(ref("release"));
      expect(source.stats().tokenRequests).toBe(1);
      now += 2_000;
      await source.publicKey(ref("release"));
      expect(source.stats().tokenRequests).toBe(2);
      expect(short.requests.at(-1)?.authorization).toBe("Bearer eyJ0eXAiOiJKV1QifQ.vigil-test-2");
    } finally {
      await short.close();
    }
  });

  it("takes AZURE_TENANT_ID / AZURE_CLIENT_ID / AZURE_CLIENT_SECRET / AZURE_AUTHORITY_HOST when not configured, and names the missing ones", async () => {
    const env = { AZURE_TENANT_ID: TEST_AZURE_TENANT, AZURE_CLIENT_ID: TEST_AZURE_CLIENT_ID, AZURE_CLIENT_SECRET: TEST_AZURE_CLIENT_SECRET, AZURE_AUTHORITY_HOST: `${vault.address}/` };
    expect((await createAzureKeyVaultKeySource({ endpoint: vault.address }, { env }).publicKey(ref("release"))).pem).toBe(pem(release));
    await expect(createAzureKeyVaultKeySource({ endpoint: vault.address, clientId: TEST_AZURE_CLIENT_ID }, { env: {} }).publicKey(ref("release"))).rejects.toThrow("no Azure credentials: set admission.kms.azure.tenantId (or AZURE_TENANT_ID), admission.kms.azure.clientSecret (or AZURE_CLIENT_SECRET)");
  });

  it("AKS Workload Identity: without a secret, the federated token file is the client assertion (read for every token); a token Entra does not know is its error", async () => {
    let reads = 0;
    const files: Record<string, string> = { "/var/run/secrets/azure/tokens/azure-identity-token": `${TEST_AZURE_FEDERATED_TOKEN}\n`, "/tmp/other-token": "eyJ.stranger.token" };
    const readFile = (path: string): string => {
      reads++;
      const text = files[path];
      if (text === undefined) throw new Error(`ENOENT: no such file or directory, open '${path}'`);
      return text;
    };
    const env = { AZURE_TENANT_ID: TEST_AZURE_TENANT, AZURE_CLIENT_ID: TEST_AZURE_CLIENT_ID, AZURE_FEDERATED_TOKEN_FILE: "/var/run/secrets/azure/tokens/azure-identity-token", AZURE_AUTHORITY_HOST: vault.address };
    const before = vault.requests.length;
    expect((await createAzureKeyVaultKeySource({ endpoint: vault.address }, { env, readFile }).publicKey(ref("release"))).pem).toBe(pem(release));
    const tokenRequest = vault.requests.slice(before).find((r) => r.form !== undefined);
    expect(tokenRequest?.form).toEqual({ client_id: TEST_AZURE_CLIENT_ID, client_assertion_type: "urn:ietf:params:oauth:client-assertion-type:jwt-bearer", client_assertion: TEST_AZURE_FEDERATED_TOKEN, scope: "https://vault.azure.net/.default", grant_type: "client_credentials" });
    expect(reads).toBe(1);
    await expect(createAzureKeyVaultKeySource({ endpoint: vault.address, federatedTokenFile: "/tmp/other-token" }, { env, readFile }).publicKey(ref("release"))).rejects.toThrow("400 invalid_client: AADSTS70021: No matching federated identity record found for presented assertion.");
    await expect(createAzureKeyVaultKeySource({ endpoint: vault.address, federatedTokenFile: "/nonexistent" }, { env, readFile }).publicKey(ref("release"))).rejects.toThrow("admission.kms.azure.federatedTokenFile /nonexistent cannot be read: ENOENT");
    // A client secret wins over the federated token.
    const withSecret = vault.requests.length;
    await createAzureKeyVaultKeySource({ endpoint: vault.address, clientSecret: TEST_AZURE_CLIENT_SECRET }, { env, readFile }).publicKey(ref("release"));
    expect(vault.requests.slice(withSecret).find((r) => r.form !== undefined)?.form?.["client_secret"]).toBe(TEST_AZURE_CLIENT_SECRET);
  });

  it("managedIdentity: without a secret or a federated token, the instance metadata service's token (Metadata: true, the Key Vault resource, a user-assigned client id); off by default", async () => {
    const endpoint = `${vault.address}/metadata/identity/oauth2/token`;
    const before = vault.requests.length;
    const source = createAzureKeyVaultKeySource({ endpoint: vault.address, managedIdentity: true, managedIdentityEndpoint: endpoint }, { env: {} });
    expect((await source.publicKey(ref("release"))).pem).toBe(pem(release));
    const imds = vault.requests.slice(before).filter((r) => r.path === "/metadata/identity/oauth2/token");
    expect(imds.map((r) => Object.fromEntries(new URLSearchParams(r.query)))).toEqual([{ "api-version": "2018-02-01", resource: "https://vault.azure.net" }]);
    expect(vault.requests.at(-1)?.authorization).toMatch(/^Bearer eyJ0eXAiOiJKV1QifQ\.vigil-imds-\d+$/);
    // A user-assigned identity is named by its client id.
    const assigned = vault.requests.length;
    await createAzureKeyVaultKeySource({ endpoint: vault.address, managedIdentity: true, managedIdentityEndpoint: endpoint, clientId: TEST_AZURE_CLIENT_ID }, { env: {} }).publicKey(ref("release"));
    expect(new URLSearchParams(vault.requests.slice(assigned).find((r) => r.path === "/metadata/identity/oauth2/token")?.query).get("client_id")).toBe(TEST_AZURE_CLIENT_ID);
    await expect(createAzureKeyVaultKeySource({ endpoint: vault.address, managedIdentity: true, managedIdentityEndpoint: endpoint, clientId: "11111111-2222-3333-4444-555555555555" }, { env: {} }).publicKey(ref("release"))).rejects.toThrow(`managed identity token request GET ${endpoint}?api-version=2018-02-01&resource=https%3A%2F%2Fvault.azure.net&client_id=11111111-2222-3333-4444-555555555555: 400 invalid_request: Identity not found`);
    // Off by default: says what to set.
    await expect(createAzureKeyVaultKeySource({ endpoint: vault.address }, { env: {} }).publicKey(ref("release"))).rejects.toThrow("or a federatedTokenFile (AKS Workload Identity), or managedIdentity: true");
  });

  it("rejects with Azure's answer (status, code, message) and does not cache failures; the secret and token are never in the message", async () => {
    const wrongSecret = createAzureKeyVaultKeySource({ ...settings(), clientSecret: "not-the-secret" });
    const error = String(await wrongSecret.publicKey(ref("release")).then(() => undefined, (e: unknown) => e));
    expect(error).toMatch(new RegExp(`^Error: Microsoft Entra token request POST ${vault.address}/${TEST_AZURE_TENANT}/oauth2/v2\\.0/token for client ${TEST_AZURE_CLIENT_ID}: 401 invalid_client: AADSTS7000215: Invalid client secret provided\\.`));
    expect(error).not.toContain("not-the-secret");
    await expect(wrongSecret.publicKey(ref("release"))).rejects.toThrow("401 invalid_client");
    expect(wrongSecret.stats()).toEqual({ requests: 0, tokenRequests: 2, cached: 0 });
    await expect(createAzureKeyVaultKeySource({ ...settings(), tenantId: "contoso.onmicrosoft.com" }).publicKey(ref("release"))).rejects.toThrow("400 invalid_request: AADSTS90002: Tenant 'contoso.onmicrosoft.com' not found.");
    const source = createAzureKeyVaultKeySource(settings());
    await expect(source.publicKey(ref("missing"))).rejects.toThrow(`Key Vault GET ${vault.address}/keys/missing?api-version=7.4: 404 KeyNotFound: A key with (name/id) missing was not found in this key vault.`);
    await expect(source.publicKey(ref("release", "ffffffffffffffffffffffffffffffff"))).rejects.toThrow("404 KeyNotFound: A key with (name/id) release/ffffffffffffffffffffffffffffffff was not found");
    const closed = await startFakeAzureKeyVault({});
    await closed.close();
    await expect(createAzureKeyVaultKeySource({ ...settings(), endpoint: closed.address }).publicKey(ref("release"))).rejects.toThrow(new RegExp(`^Key Vault GET ${closed.address}/keys/release\\?api-version=7\\.4: fetch failed: .*ECONNREFUSED`));
  });

  it("keeps a key cacheSeconds per reference (one read for many asks)", async () => {
    let now = 1_000_000;
    const source = createAzureKeyVaultKeySource({ ...settings(), cacheSeconds: 300 }, { now: () => now });
    await Promise.all([source.publicKey(ref("release")), source.publicKey(ref("release")), source.publicKey(ref("release"))]);
    expect(source.stats()).toEqual({ requests: 1, tokenRequests: 1, cached: 1 });
    now += 301_000;
    await source.publicKey(ref("release"));
    expect(source.stats()).toMatchObject({ requests: 2 });
  });
});

describe("signature checks with Azure Key Vault keys (withKmsKeys)", () => {
  const image = (name: string): string => `${registry.host}/acme/${name}`;
  const check = (name: string, reference: string) => ({ image: image(name), kms: reference, ignoreTlog: true });
  const client = (source = createAzureKeyVaultKeySource(settings())) => withKmsKeys(createRegistryClient({ insecure: [registry.host] }), source);

  it("verifies with the fetched key (EC P-256, RSA 2048 PKCS#1 v1.5) and fails an image signed by another key", async () => {
    expect(await client().verify?.(check("signed:1.0", ref("release")))).toEqual({ ok: true, body: { digest: registry.digestOf("acme/signed:1.0"), verified: 1 } });
    expect(await client().verify?.(check("rsa:1.0", ref("rsa-release")))).toMatchObject({ ok: true });
    const strangers = await client().verify?.(check("strangers:1.0", ref("release")));
    expect(strangers).toEqual({ ok: false, error: "no matching signatures:\ninvalid signature" });
    expect(strangers?.ok === false && kmsFailureKind(strangers.error)).toBeUndefined();
  });

  it("checks with the hash the key implies, not the rule's (a P-384 key: SHA-384, as cosign's ES384)", async () => {
    // the test signer signs over SHA-256: checked over SHA-384 it does not verify
    expect(await client().verify?.({ ...check("p384:1.0", ref("p384")), signatureAlgorithm: "sha256" })).toEqual({ ok: false, error: "no matching signatures:\ninvalid signature" });
  });

  it("a key that cannot be had is answered with why (error); an unconfigured one says what to set (unsupported)", async () => {
    const refused = await client(createAzureKeyVaultKeySource({ ...settings(), clientSecret: "revoked" })).verify?.(check("signed:1.0", ref("release")));
    expect(refused).toMatchObject({ ok: false, error: expect.stringMatching(/^the KMS key azurekms:\/\/\S+ could not be fetched: Microsoft Entra token request POST .*: 401 invalid_client: AADSTS7000215/) as unknown });
    expect(refused?.ok === false && kmsFailureKind(refused.error)).toBe("error");
    const awsOnly = withKmsKeys(createRegistryClient({ insecure: [registry.host] }), composeKmsKeySources({ "awskms://": createAwsKmsKeySource({ region: "eu-west-1" }) }));
    const unconfigured = await awsOnly.verify?.(check("signed:1.0", ref("release")));
    expect(unconfigured).toEqual({ ok: false, error: `Azure Key Vault keys are fetched only when admission.kms.azure is set in vigil.yaml (admission.kms.azure: {tenantId, clientId, clientSecret}) to check signatures with ${ref("release")}` });
    expect(unconfigured?.ok === false && kmsFailureKind(unconfigured.error)).toBe("unsupported");
    const composed = withKmsKeys(createRegistryClient({ insecure: [registry.host] }), composeKmsKeySources({ "awskms://": createAwsKmsKeySource({ region: "eu-west-1" }), "azurekms://": createAzureKeyVaultKeySource(settings()) }));
    expect(await composed.verify?.(check("signed:1.0", ref("release")))).toMatchObject({ ok: true });
  });
});
