import { generateKeyPairSync, type KeyObject } from "node:crypto";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { composeKmsKeySources, kmsFailureKind, kmsReferenceProblem, parseGcpKmsReference, withKmsKeys } from "./kms.js";
import { createAwsKmsKeySource } from "./kms-aws.js";
import { crc32c, createGcpKmsKeySource, parseServiceAccountKey } from "./kms-gcp.js";
import { startFakeGcpKms, strangerServiceAccountKeyFile, TEST_GCP_ACCESS_TOKEN, type FakeGcpKms } from "./kms-gcp-test-server.js";
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

const KEY = "projects/acme-prod/locations/global/keyRings/cosign/cryptoKeys/release";
const ring = (name: string): string => `projects/acme-prod/locations/global/keyRings/cosign/cryptoKeys/${name}`;
const ref = (name: string, version?: string): string => `gcpkms://${ring(name)}${version === undefined ? "" : `/cryptoKeyVersions/${version}`}`;

let gcp: FakeGcpKms;
let registry: FakeRegistry;
let keyFile: string;
beforeAll(async () => {
  gcp = await startFakeGcpKms({
    [KEY]: [{ publicKey: release.publicKey }],
    [ring("rotating")]: [{ publicKey: release.publicKey }, { publicKey: next.publicKey, state: "DISABLED" }],
    [ring("p384")]: [{ publicKey: p384.publicKey, algorithm: "EC_SIGN_P384_SHA384" }],
    [ring("rsa")]: [{ publicKey: rsa.publicKey, algorithm: "RSA_SIGN_PKCS1_2048_SHA256" }],
    [ring("pss")]: [{ publicKey: rsa.publicKey, algorithm: "RSA_SIGN_PSS_2048_SHA256" }],
    [ring("secrets")]: [{ algorithm: "GOOGLE_SYMMETRIC_ENCRYPTION" }],
    [ring("disabled")]: [{ publicKey: release.publicKey, state: "DISABLED" }],
    [ring("corrupted")]: [{ publicKey: release.publicKey, pemCrc32c: "wrong" }],
    [ring("no-crc")]: [{ publicKey: release.publicKey, pemCrc32c: "omitted" }],
  });
  registry = await startFakeRegistry({
    "acme/signed:1.0": { created: "2025-01-01T00:00:00Z", signatures: [{ ...release }] },
    "acme/strangers:1.0": { created: "2025-01-01T00:00:00Z", signatures: [{ ...stranger }] },
    "acme/next:1.0": { created: "2025-01-01T00:00:00Z", signatures: [{ ...next }] },
    "acme/p384:1.0": { created: "2025-01-01T00:00:00Z", signatures: [{ ...p384 }] },
    "acme/rsa:1.0": { created: "2025-01-01T00:00:00Z", signatures: [{ ...rsa }] },
  });
  keyFile = join(mkdtempSync(join(tmpdir(), "vigil-gcp-")), "sa.json");
  writeFileSync(keyFile, gcp.serviceAccountKeyFile());
});
afterAll(async () => {
  await gcp.close();
  await registry.close();
});

const withToken = () => ({ endpoint: gcp.endpoint, accessToken: TEST_GCP_ACCESS_TOKEN });

describe("gcpkms:// references, parsed as cosign parses them", () => {
  it("takes the key's resource name and an optional version (cryptoKeyVersions/ or the older versions/)", () => {
    expect(parseGcpKmsReference(ref("release"))).toEqual({ key: KEY, version: "" });
    expect(parseGcpKmsReference(ref("release", "3"))).toEqual({ key: KEY, version: "3" });
    expect(parseGcpKmsReference(`gcpkms://${KEY}/versions/3`)).toEqual({ key: KEY, version: "3" });
    expect(kmsReferenceProblem(ref("release"))).toBeUndefined();
  });

  it("rejects what cosign's regex rejects, naming the format", () => {
    for (const bad of ["gcpkms://", "gcpkms://projects/p/locations/l/keyRings/r", "gcpkms:///projects/p/locations/l/keyRings/r/cryptoKeys/k", "gcpkms://projects/p/locations/l/keyRings/r/cryptoKeys/k/", "gcpkms://projects/p/locations/l/keyRings/r/cryptoKeys/k/cryptoKeyVersions/", "gcpkms://projects/p/locations/l/keyRings/r/cryptoKeys/k/cryptoKeyVersions/1/publicKey"]) {
      expect(parseGcpKmsReference(bad), bad).toBeUndefined();
      expect(kmsReferenceProblem(bad)).toEqual({ kind: "error", message: `${JSON.stringify(bad)} is not a Google Cloud KMS key reference: use gcpkms://projects/<project>/locations/<location>/keyRings/<key ring>/cryptoKeys/<key>, optionally followed by /cryptoKeyVersions/<version> (cosign's format)` });
    }
  });
});

describe("Google Cloud KMS keys (createGcpKmsKeySource)", () => {
  it("CRC32C is the Castagnoli checksum (its check value)", () => {
    expect(crc32c(Buffer.from("123456789"))).toBe(0xe3069283);
  });

  it("lists the key's enabled versions as cosign asks (state=ENABLED, name desc), reads the first one's public key, with the bearer token", async () => {
    const before = gcp.requests.length;
    const key = await createGcpKmsKeySource(withToken()).publicKey(ref("release"));
    expect(key).toEqual({ pem: pem(release), keySpec: "EC_SIGN_P256_SHA256", signingAlgorithms: ["EC_SIGN_P256_SHA256"] });
    expect(gcp.requests.slice(before)).toEqual([
      { method: "GET", path: `/v1/${KEY}/cryptoKeyVersions`, query: "filter=state=ENABLED&orderBy=name desc", authorization: `Bearer ${TEST_GCP_ACCESS_TOKEN}` },
      { method: "GET", path: `/v1/${KEY}/cryptoKeyVersions/1/publicKey`, query: "", authorization: `Bearer ${TEST_GCP_ACCESS_TOKEN}` },
    ]);
  });

  it("a pinned version is read directly (either spelling); without one the latest enabled version, so a disabled newer version is skipped", async () => {
    const source = createGcpKmsKeySource({ ...withToken(), cacheSeconds: 0 });
    const before = gcp.requests.length;
    expect((await source.publicKey(`gcpkms://${ring("rotating")}/versions/1`)).pem).toBe(pem(release));
    expect(gcp.requests.slice(before).map((r) => r.path)).toEqual([`/v1/${ring("rotating")}/cryptoKeyVersions/1/publicKey`]);
    expect((await source.publicKey(ref("rotating"))).pem).toBe(pem(release));
    // a pinned version that is not enabled: Google's answer
    await expect(source.publicKey(ref("rotating", "2"))).rejects.toThrow(`Cloud KMS GET ${gcp.endpoint}/v1/${ring("rotating")}/cryptoKeyVersions/2/publicKey: 400 FAILED_PRECONDITION: ${ring("rotating")}/cryptoKeyVersions/2 is not enabled, current state is: DISABLED.`);
    gcp.setState(ring("rotating"), 2, "ENABLED");
    expect((await source.publicKey(ref("rotating"))).pem).toBe(pem(next));
  });

  it("exchanges a service-account key file for a token (signed JWT, checked by the stand-in) once, and again when it nears expiry", async () => {
    let offset = 0;
    const short = await startFakeGcpKms({ [KEY]: [{ publicKey: release.publicKey }] }, { tokenSeconds: 120 });
    try {
      const file = join(mkdtempSync(join(tmpdir(), "vigil-gcp-")), "sa.json");
      writeFileSync(file, short.serviceAccountKeyFile());
      const source = createGcpKmsKeySource({ endpoint: short.endpoint, credentialsFile: file, cacheSeconds: 0 }, { now: () => Date.now() + offset });
      await Promise.all([source.publicKey(ref("release")), source.publicKey(ref("release"))]);
      await source.publicKey(ref("release"));
      expect(short.tokenRequests).toEqual([{ problem: "" }]);
      expect(short.requests.filter((r) => r.path !== "/token").every((r) => r.authorization === "Bearer ya29.issued-1")).toBe(true);
      // a 120 s token is reused until a minute before it expires
      offset += 59_000;
      await source.publicKey(ref("release"));
      expect(short.tokenRequests.length).toBe(1);
      offset += 2_000;
      await source.publicKey(ref("release"));
      expect(short.tokenRequests).toEqual([{ problem: "" }, { problem: "" }]);
      expect(short.requests.at(-1)?.authorization).toBe("Bearer ya29.issued-2");
      expect(source.stats().tokenRequests).toBe(2);
    } finally {
      await short.close();
    }
  });

  it("takes GOOGLE_OAUTH_ACCESS_TOKEN or GOOGLE_APPLICATION_CREDENTIALS when nothing is configured; says what to set when neither is there", async () => {
    expect((await createGcpKmsKeySource({ endpoint: gcp.endpoint }, { env: { GOOGLE_OAUTH_ACCESS_TOKEN: TEST_GCP_ACCESS_TOKEN } }).publicKey(ref("release"))).pem).toBe(pem(release));
    const tokensBefore = gcp.tokenRequests.length;
    expect((await createGcpKmsKeySource({ endpoint: gcp.endpoint }, { env: { GOOGLE_APPLICATION_CREDENTIALS: keyFile } }).publicKey(ref("release"))).pem).toBe(pem(release));
    expect(gcp.tokenRequests.slice(tokensBefore)).toEqual([{ problem: "" }]);
    await expect(createGcpKmsKeySource({ endpoint: gcp.endpoint }, { env: {} }).publicKey(ref("release"))).rejects.toThrow("no Google credentials: set admission.kms.gcp.credentialsFile (a service-account key file) or admission.kms.gcp.accessToken, or GOOGLE_APPLICATION_CREDENTIALS");
    await expect(createGcpKmsKeySource({ endpoint: gcp.endpoint, credentialsFile: "/nonexistent/sa.json" }, { env: {} }).publicKey(ref("release"))).rejects.toThrow(/^admission\.kms\.gcp\.credentialsFile \/nonexistent\/sa\.json cannot be read: ENOENT/);
  });

  it("with metadataServer (or GCE_METADATA_HOST), no token or key file: the metadata server's token (Metadata-Flavor: Google, cloudkms scope), reused; without it, says what to set", async () => {
    const before = gcp.metadataRequests.length;
    const source = createGcpKmsKeySource({ endpoint: gcp.endpoint, metadataServer: true, metadataHost: gcp.metadataHost }, { env: {} });
    expect((await source.publicKey(ref("release"))).pem).toBe(pem(release));
    expect(gcp.metadataRequests.slice(before)).toEqual([{ problem: "" }]);
    const keyReads = gcp.requests.filter((r) => r.path.startsWith("/v1/"));
    expect(keyReads.at(-1)?.authorization).toMatch(/^Bearer ya29\.metadata-\d+$/);
    // GCE_METADATA_HOST alone turns it on, as Google's libraries read it.
    expect((await createGcpKmsKeySource({ endpoint: gcp.endpoint }, { env: { GCE_METADATA_HOST: gcp.metadataHost } }).publicKey(ref("release"))).pem).toBe(pem(release));
    expect(gcp.metadataRequests.slice(before)).toEqual([{ problem: "" }, { problem: "" }]);
    // A configured key file or token wins over the metadata server.
    expect((await createGcpKmsKeySource({ endpoint: gcp.endpoint, metadataServer: true, metadataHost: gcp.metadataHost, accessToken: TEST_GCP_ACCESS_TOKEN }, { env: {} }).publicKey(ref("release"))).pem).toBe(pem(release));
    expect(gcp.metadataRequests.length).toBe(before + 2);
    // A metadata server that is not there: the error names the request.
    await expect(createGcpKmsKeySource({ endpoint: gcp.endpoint, metadataServer: true, metadataHost: "127.0.0.1:1" }, { env: {} }).publicKey(ref("release"))).rejects.toThrow("metadata server token request GET http://127.0.0.1:1/computeMetadata/v1/instance/service-accounts/default/token");
    await expect(createGcpKmsKeySource({ endpoint: gcp.endpoint }, { env: {} }).publicKey(ref("release"))).rejects.toThrow("or admission.kms.gcp.metadataServer: true on GCE or GKE (Workload Identity)");
  });

  it("reads only service-account key files, naming what is wrong with another", () => {
    expect(() => parseServiceAccountKey("{", "admission.kms.gcp.credentialsFile f.json")).toThrow("admission.kms.gcp.credentialsFile f.json is not JSON: it should be a service-account key file (gcloud iam service-accounts keys create)");
    expect(() => parseServiceAccountKey(JSON.stringify({ type: "authorized_user", client_id: "x" }), "f.json")).toThrow('f.json has type "authorized_user": only service-account key files (type service_account) are read; otherwise set admission.kms.gcp.accessToken');
    expect(() => parseServiceAccountKey(JSON.stringify({ type: "service_account", client_email: "a@b" }), "f.json")).toThrow("f.json has no private_key");
    expect(parseServiceAccountKey(JSON.stringify({ type: "service_account", client_email: "a@b", private_key: "k" }), "f.json").tokenUri).toBe("https://oauth2.googleapis.com/token");
  });

  it("rejects with Google's answer and does not cache failures; tokens and keys are never in the message", async () => {
    const refused = createGcpKmsKeySource({ endpoint: gcp.endpoint, accessToken: "ya29.revoked" });
    const error = String(await refused.publicKey(ref("release")).then(() => undefined, (e: unknown) => e));
    expect(error).toBe(`Error: Cloud KMS GET ${gcp.endpoint}/v1/${KEY}/cryptoKeyVersions?filter=state%3DENABLED&orderBy=name%20desc: 401 UNAUTHENTICATED: Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential. See https://developers.google.com/identity/sign-in/web/devconsole-project.`);
    expect(error).not.toContain("ya29.revoked");
    await expect(refused.publicKey(ref("release"))).rejects.toThrow("401 UNAUTHENTICATED");
    expect(refused.stats()).toMatchObject({ requests: 2, cached: 0 });
    // a key file whose key Google does not know: the token endpoint's answer
    const file = join(mkdtempSync(join(tmpdir(), "vigil-gcp-")), "stranger.json");
    writeFileSync(file, strangerServiceAccountKeyFile(gcp.tokenUri));
    await expect(createGcpKmsKeySource({ endpoint: gcp.endpoint, credentialsFile: file }).publicKey(ref("release"))).rejects.toThrow(`token request POST ${gcp.tokenUri} for cosign-verifier@acme-prod.iam.gserviceaccount.com: 400 invalid_grant: Invalid JWT Signature.`);
    const source = createGcpKmsKeySource(withToken());
    await expect(source.publicKey(ref("missing"))).rejects.toThrow(`404 NOT_FOUND: ${ring("missing")} not found.`);
    await expect(source.publicKey(ref("disabled"))).rejects.toThrow(`Cloud KMS: ${ring("disabled")} has no ENABLED version (cosign uses the latest enabled one; enable one, or name a version: .../cryptoKeyVersions/<n>)`);
    await expect(source.publicKey(ref("secrets"))).rejects.toThrow(`400 FAILED_PRECONDITION: ${ring("secrets")}/cryptoKeyVersions/1 has purpose ENCRYPT_DECRYPT`);
    await expect(source.publicKey(ref("corrupted"))).rejects.toThrow(`Cloud KMS GET ${gcp.endpoint}/v1/${ring("corrupted")}/cryptoKeyVersions/1/publicKey: the pem does not match its pemCrc32c (corrupted in transit)`);
    // an answer without pemCrc32c is taken as it is
    expect((await source.publicKey(ref("no-crc"))).pem).toBe(pem(release));
    const closed = await startFakeGcpKms({});
    await closed.close();
    const unreachable = createGcpKmsKeySource({ endpoint: closed.endpoint, accessToken: TEST_GCP_ACCESS_TOKEN });
    await expect(unreachable.publicKey(ref("release", "1"))).rejects.toThrow(new RegExp(`^Cloud KMS GET ${closed.endpoint}/v1/${KEY}/cryptoKeyVersions/1/publicKey: fetch failed: .*ECONNREFUSED`));
  });

  it("keeps a key cacheSeconds per reference (one read for many asks, concurrent ones included)", async () => {
    let now = 1_000_000;
    const source = createGcpKmsKeySource({ ...withToken(), cacheSeconds: 300 }, { now: () => now });
    await Promise.all([source.publicKey(ref("release")), source.publicKey(ref("release")), source.publicKey(ref("release"))]);
    expect(source.stats()).toEqual({ requests: 2, tokenRequests: 0, cached: 1 });
    now += 299_000;
    await source.publicKey(ref("release"));
    expect(source.stats().requests).toBe(2);
    now += 2_000;
    await source.publicKey(ref("release"));
    expect(source.stats().requests).toBe(4);
  });
});

describe("signature checks with Google Cloud KMS keys (withKmsKeys)", () => {
  const image = (name: string): string => `${registry.host}/acme/${name}`;
  const check = (name: string, reference: string) => ({ image: image(name), kms: reference, ignoreTlog: true });
  const client = (source = createGcpKmsKeySource(withToken())) => withKmsKeys(createRegistryClient({ insecure: [registry.host] }), source);

  it("verifies with the fetched key (ECDSA P-256, RSA PKCS#1 v1.5) and fails an image signed by another key", async () => {
    expect(await client().verify?.(check("signed:1.0", ref("release")))).toEqual({ ok: true, body: { digest: registry.digestOf("acme/signed:1.0"), verified: 1 } });
    expect(await client().verify?.(check("rsa:1.0", ref("rsa")))).toMatchObject({ ok: true });
    const strangers = await client().verify?.(check("strangers:1.0", ref("release")));
    expect(strangers).toEqual({ ok: false, error: "no matching signatures:\ninvalid signature" });
    expect(strangers?.ok === false && kmsFailureKind(strangers.error)).toBeUndefined();
  });

  it("checks with the hash of the version's algorithm, not the rule's (an EC_SIGN_P384_SHA384 key: SHA-384)", async () => {
    // the test signer signs over SHA-256: checked over SHA-384, as cosign does for this key, it does not verify
    expect(await client().verify?.({ ...check("p384:1.0", ref("p384")), signatureAlgorithm: "sha256" })).toEqual({ ok: false, error: "no matching signatures:\ninvalid signature" });
  });

  it("a key that cannot be had or used is answered with why (error); an unconfigured one says what to set (unsupported)", async () => {
    const refused = await client(createGcpKmsKeySource({ endpoint: gcp.endpoint, accessToken: "ya29.revoked" })).verify?.(check("signed:1.0", ref("release")));
    expect(refused).toMatchObject({ ok: false, error: expect.stringMatching(/^the KMS key gcpkms:\/\/.* could not be fetched: Cloud KMS GET .*: 401 UNAUTHENTICATED/) as unknown });
    const pss = await client().verify?.(check("rsa:1.0", ref("pss")));
    expect(pss).toEqual({ ok: false, error: `the KMS key ${ref("pss")} signs with RSA_SIGN_PSS_2048_SHA256, which Vigil does not verify (EC_SIGN_P256_SHA256, EC_SIGN_P384_SHA384, RSA_SIGN_PKCS1_{2048,3072,4096}_SHA256 and RSA_SIGN_PKCS1_4096_SHA512 versions are)` });
    for (const answer of [refused, pss]) expect(answer?.ok === false && kmsFailureKind(answer.error)).toBe("error");
    const awsOnly = withKmsKeys(createRegistryClient({ insecure: [registry.host] }), composeKmsKeySources({ "awskms://": createAwsKmsKeySource({ region: "eu-west-1", endpoint: "http://127.0.0.1:9" }) }));
    const unconfigured = await awsOnly.verify?.(check("signed:1.0", ref("release")));
    expect(unconfigured).toEqual({ ok: false, error: `Google Cloud KMS keys are fetched only when admission.kms.gcp is set in vigil.yaml (admission.kms.gcp: {credentialsFile} or {accessToken}) to check signatures with ${ref("release")}` });
    expect(unconfigured?.ok === false && kmsFailureKind(unconfigured.error)).toBe("unsupported");
    // composed with the others, gcpkms:// goes to Cloud KMS
    const composed = withKmsKeys(createRegistryClient({ insecure: [registry.host] }), composeKmsKeySources({ "awskms://": createAwsKmsKeySource({ region: "eu-west-1" }), "gcpkms://": createGcpKmsKeySource(withToken()) }));
    expect(await composed.verify?.(check("signed:1.0", ref("release")))).toMatchObject({ ok: true });
  });
});
