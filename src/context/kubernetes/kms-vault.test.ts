import { generateKeyPairSync, type KeyObject } from "node:crypto";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { composeKmsKeySources, kmsFailureKind, kmsReferenceProblem, parseVaultKmsReference, withKmsKeys } from "./kms.js";
import { createAwsKmsKeySource } from "./kms-aws.js";
import { createVaultKeySource, vaultTransitPublicKey } from "./kms-vault.js";
import { startFakeVault, TEST_VAULT_TOKEN, type FakeVault } from "./kms-vault-test-server.js";
import { createRegistryClient } from "./registry-client.js";
import { startFakeRegistry, type FakeRegistry } from "./registry-test-server.js";

type Pair = { privateKey: KeyObject; publicKey: KeyObject };
const ec = (): Pair => generateKeyPairSync("ec", { namedCurve: "P-256" });
const pem = (pair: Pair): string => pair.publicKey.export({ type: "spki", format: "pem" }).toString();
const release = ec();
const stranger = ec();
const rotatedV1 = ec();
const rotatedV2 = ec();
const rsa = generateKeyPairSync("rsa", { modulusLength: 2048 });
const ed = generateKeyPairSync("ed25519");

let vault: FakeVault;
let registry: FakeRegistry;
beforeAll(async () => {
  vault = await startFakeVault({
    release: { type: "ecdsa-p256", versions: [release.publicKey] },
    "rsa-release": { type: "rsa-2048", versions: [rsa.publicKey] },
    "ed-release": { type: "ed25519", versions: [ed.publicKey] },
    "rotated.key": { type: "ecdsa-p256", versions: [rotatedV1.publicKey] },
    secrets: { type: "aes256-gcm96", versions: [undefined] },
  });
  registry = await startFakeRegistry({
    "acme/signed:1.0": { created: "2025-01-01T00:00:00Z", signatures: [{ ...release }] },
    "acme/strangers:1.0": { created: "2025-01-01T00:00:00Z", signatures: [{ ...stranger }] },
    "acme/rsa:1.0": { created: "2025-01-01T00:00:00Z", signatures: [{ ...rsa }] },
    "acme/ed:1.0": { created: "2025-01-01T00:00:00Z", signatures: [{ ...ed }] },
    "acme/v1:1.0": { created: "2025-01-01T00:00:00Z", signatures: [{ ...rotatedV1 }] },
    "acme/v2:1.0": { created: "2025-01-01T00:00:00Z", signatures: [{ ...rotatedV2 }] },
  });
});
afterAll(async () => {
  await vault.close();
  await registry.close();
});

const settings = () => ({ address: vault.address, token: TEST_VAULT_TOKEN });

describe("hashivault:// references, parsed as cosign parses them", () => {
  it("takes one transit key name (letters, digits, _, with - and . inside)", () => {
    expect(parseVaultKmsReference("hashivault://release")).toBe("release");
    expect(parseVaultKmsReference("hashivault://cosign-key_2.prod")).toBe("cosign-key_2.prod");
    expect(parseVaultKmsReference("hashivault://k")).toBe("k");
    expect(kmsReferenceProblem("hashivault://release")).toBeUndefined();
  });

  it("rejects what cosign's regex rejects, naming the format; gcpkms and azurekms references are read too (kms-gcp.test.ts, kms-azure.test.ts)", () => {
    for (const bad of ["hashivault://", "hashivault://-release", "hashivault://release.", "hashivault://transit/keys/release", "hashivault:///release", "hashivault://re lease"]) {
      expect(parseVaultKmsReference(bad), bad).toBeUndefined();
      expect(kmsReferenceProblem(bad)).toEqual({ kind: "error", message: `${JSON.stringify(bad)} is not a HashiCorp Vault key reference: use hashivault://<transit key name> (letters, digits and _, with - and . inside; the mount is admission.kms.vault.mountPath; cosign's format)` });
    }
    expect(kmsReferenceProblem("gcpkms://projects/p/locations/global/keyRings/r/cryptoKeys/k")).toBeUndefined();
    expect(kmsReferenceProblem("azurekms://vault.vault.azure.net/release")).toBeUndefined();
  });
});

describe("the transit key document (vaultTransitPublicKey)", () => {
  it("takes the public key of latest_version, and says why there is none", () => {
    const doc = (keys: unknown, latest: unknown, type = "ecdsa-p256") => ({ keys, latest_version: latest, type });
    expect(vaultTransitPublicKey(doc({ "1": { public_key: pem(stranger) }, "2": { public_key: pem(release) } }, 2))).toEqual({ pem: pem(release), keySpec: "ecdsa-p256", signingAlgorithms: [] });
    expect(vaultTransitPublicKey(doc({ "1": { public_key: pem(release) } }, undefined))).toEqual({ problem: "the answer has no latest_version" });
    expect(vaultTransitPublicKey(doc({ "1": { public_key: pem(release) } }, 2))).toEqual({ problem: "version 2 (latest_version) has no public_key: a ecdsa-p256 key does not sign" });
    expect(vaultTransitPublicKey(doc({ "1": { public_key: "not a key" } }, 1))).toEqual({ problem: expect.stringMatching(/^the public_key of version 1 is not a PEM public key: /) as unknown });
    expect(vaultTransitPublicKey(doc({ "1": { public_key: Buffer.alloc(31).toString("base64") } }, 1, "ed25519"))).toEqual({ problem: "the ed25519 public_key of version 1 is 31 bytes, not 32" });
    expect(vaultTransitPublicKey(undefined)).toEqual({ problem: "the answer has no data" });
  });
});

describe("HashiCorp Vault transit keys (createVaultKeySource)", () => {
  it("reads GET /v1/transit/keys/<name> with X-Vault-Token and returns the key as PEM", async () => {
    const before = vault.requests.length;
    const key = await createVaultKeySource(settings()).publicKey("hashivault://release");
    expect(key).toEqual({ pem: pem(release), keySpec: "ecdsa-p256", signingAlgorithms: [] });
    expect(vault.requests.slice(before)).toEqual([{ method: "GET", path: "/v1/transit/keys/release", token: TEST_VAULT_TOKEN }]);
    // ed25519 keys come as raw base64 and are returned as PEM all the same
    expect((await createVaultKeySource(settings()).publicKey("hashivault://ed-release")).pem).toBe(ed.publicKey.export({ type: "spki", format: "pem" }).toString());
  });

  it("reads at another mount, and takes the address and token from VAULT_ADDR / VAULT_TOKEN when not configured (as cosign)", async () => {
    const elsewhere = await startFakeVault({ release: { type: "ecdsa-p256", versions: [release.publicKey] } }, { mount: "cosign/transit" });
    try {
      const source = createVaultKeySource({ mountPath: "/cosign/transit/" }, { env: { VAULT_ADDR: `${elsewhere.address}/`, VAULT_TOKEN: TEST_VAULT_TOKEN } });
      expect((await source.publicKey("hashivault://release")).pem).toBe(pem(release));
      expect(elsewhere.requests).toEqual([{ method: "GET", path: "/v1/cosign/transit/keys/release", token: TEST_VAULT_TOKEN }]);
      await expect(createVaultKeySource({}, { env: {} }).publicKey("hashivault://release")).rejects.toThrow("no Vault address: set admission.kms.vault.address (or VAULT_ADDR)");
      await expect(createVaultKeySource({ address: elsewhere.address }, { env: {} }).publicKey("hashivault://release")).rejects.toThrow("no Vault token: set admission.kms.vault.token");
    } finally {
      await elsewhere.close();
    }
  });

  it("rejects with Vault's answer (status and errors) and does not cache failures; the token is never in the message", async () => {
    const refused = createVaultKeySource({ address: vault.address, token: "hvs.wrong-token" });
    const error = await refused.publicKey("hashivault://release").then(() => undefined, (e: unknown) => e);
    expect(String(error)).toBe(`Error: Vault GET ${vault.address}/v1/transit/keys/release: 403 permission denied`);
    await expect(refused.publicKey("hashivault://release")).rejects.toThrow("403 permission denied");
    expect(refused.stats()).toEqual({ requests: 2, cached: 0 });
    const source = createVaultKeySource(settings());
    await expect(source.publicKey("hashivault://missing")).rejects.toThrow(`Vault GET ${vault.address}/v1/transit/keys/missing: 404 no transit key "missing" at mount "transit"`);
    await expect(createVaultKeySource({ ...settings(), mountPath: "kv" }).publicKey("hashivault://release")).rejects.toThrow(`404 no handler for route "kv/keys/release". route entry not found.`);
    await expect(source.publicKey("hashivault://secrets")).rejects.toThrow("version 1 (latest_version) has no public_key: a aes256-gcm96 key does not sign");
    const closed = await startFakeVault({});
    await closed.close();
    const unreachable = createVaultKeySource({ address: closed.address, token: TEST_VAULT_TOKEN });
    await expect(unreachable.publicKey("hashivault://release")).rejects.toThrow(new RegExp(`^Vault GET ${closed.address}/v1/transit/keys/release: fetch failed: .*ECONNREFUSED`));
    // a Vault that never answers
    const silent = createServer(() => undefined);
    await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", resolve));
    const silentAddress = `http://127.0.0.1:${(silent.address() as AddressInfo).port}`;
    try {
      const slow = createVaultKeySource({ address: silentAddress, token: TEST_VAULT_TOKEN, timeoutMs: 50 });
      await expect(slow.publicKey("hashivault://release")).rejects.toThrow(`Vault GET ${silentAddress}/v1/transit/keys/release: no answer within 50 ms (admission.kms.vault.timeoutMs)`);
    } finally {
      silent.closeAllConnections();
      await new Promise((resolve) => silent.close(resolve));
    }
  });

  it("keeps a key cacheSeconds per reference (one request for many asks, concurrent ones included), then reads it again", async () => {
    let now = 1_000_000;
    const source = createVaultKeySource({ ...settings(), cacheSeconds: 300 }, { now: () => now });
    await Promise.all([source.publicKey("hashivault://release"), source.publicKey("hashivault://release"), source.publicKey("hashivault://release")]);
    await source.publicKey("hashivault://release");
    expect(source.stats()).toEqual({ requests: 1, cached: 1 });
    now += 299_000;
    await source.publicKey("hashivault://release");
    expect(source.stats().requests).toBe(1);
    now += 2_000;
    await source.publicKey("hashivault://release");
    expect(source.stats().requests).toBe(2);
  });
});

describe("signature checks with Vault keys (withKmsKeys)", () => {
  const image = (name: string): string => `${registry.host}/acme/${name}`;
  const check = (name: string, reference: string) => ({ image: image(name), kms: reference, ignoreTlog: true });
  const client = (source = createVaultKeySource(settings())) => withKmsKeys(createRegistryClient({ insecure: [registry.host] }), source);

  it("verifies with the fetched key (ECDSA, RSA PKCS#1 v1.5), and fails an image signed by another key", async () => {
    expect(await client().verify?.(check("signed:1.0", "hashivault://release"))).toEqual({ ok: true, body: { digest: registry.digestOf("acme/signed:1.0"), verified: 1 } });
    expect(await client().verify?.(check("rsa:1.0", "hashivault://rsa-release"))).toMatchObject({ ok: true });
    const strangers = await client().verify?.(check("strangers:1.0", "hashivault://release"));
    expect(strangers).toEqual({ ok: false, error: "no matching signatures:\ninvalid signature" });
    expect(strangers?.ok === false && kmsFailureKind(strangers.error)).toBeUndefined();
  });

  it("checks with the latest version of a rotated key only, as cosign (it has Vault verify vault:v<latest_version>:...)", async () => {
    let now = 0;
    const source = createVaultKeySource({ ...settings(), cacheSeconds: 60 }, { now: () => now });
    expect(await client(source).verify?.(check("v1:1.0", "hashivault://rotated.key"))).toMatchObject({ ok: true });
    vault.rotate("rotated.key", rotatedV2.publicKey);
    // the cached version-1 key is used until it expires, then the latest version
    expect(await client(source).verify?.(check("v1:1.0", "hashivault://rotated.key"))).toMatchObject({ ok: true });
    now += 61_000;
    expect(await client(source).verify?.(check("v1:1.0", "hashivault://rotated.key"))).toEqual({ ok: false, error: "no matching signatures:\ninvalid signature" });
    expect(await client(source).verify?.(check("v2:1.0", "hashivault://rotated.key"))).toMatchObject({ ok: true });
  });

  it("checks with the rule's hash (the one cosign has Vault verify with), not a hash of the key's", async () => {
    // the images were signed over SHA-256: checked over SHA-384 they do not verify
    expect(await client().verify?.({ ...check("signed:1.0", "hashivault://release"), signatureAlgorithm: "sha384" })).toEqual({ ok: false, error: "no matching signatures:\ninvalid signature" });
    expect(await client().verify?.({ ...check("signed:1.0", "hashivault://release"), signatureAlgorithm: "sha256" })).toMatchObject({ ok: true });
  });

  it("a key that cannot be had is answered with why (error), told apart from signatures that do not verify", async () => {
    const refused = await client(createVaultKeySource({ address: vault.address, token: "hvs.wrong-token" })).verify?.(check("signed:1.0", "hashivault://release"));
    expect(refused).toEqual({ ok: false, error: `the KMS key hashivault://release could not be fetched: Vault GET ${vault.address}/v1/transit/keys/release: 403 permission denied` });
    const edKey = await client().verify?.(check("ed:1.0", "hashivault://ed-release"));
    expect(edKey).toEqual({ ok: false, error: "the KMS key hashivault://ed-release is a ed25519 transit key, which Vigil does not verify (ecdsa-p256/p384/p521 and rsa-2048/3072/4096 keys are)" });
    const malformed = await client().verify?.(check("signed:1.0", "hashivault://transit/keys/release"));
    expect(malformed).toMatchObject({ ok: false, error: expect.stringMatching(/^the KMS key hashivault:\/\/transit\/keys\/release cannot be used: "hashivault:\/\/transit\/keys\/release" is not a HashiCorp Vault key reference/) as unknown });
    for (const answer of [refused, edKey, malformed]) expect(answer?.ok === false && kmsFailureKind(answer.error)).toBe("error");
  });

  it("dispatches by scheme; a scheme nobody configured says what to set (unsupported), the AWS one as before", async () => {
    const vaultOnly = withKmsKeys(createRegistryClient({ insecure: [registry.host] }), composeKmsKeySources({ "hashivault://": createVaultKeySource(settings()) }));
    expect(await vaultOnly.verify?.(check("signed:1.0", "hashivault://release"))).toMatchObject({ ok: true });
    const aws = await vaultOnly.verify?.(check("signed:1.0", "awskms:///alias/release"));
    expect(aws).toEqual({ ok: false, error: "AWS KMS keys are fetched only when admission.kms.aws is set in vigil.yaml (admission.kms.aws: {region, endpoint}) to check signatures with awskms:///alias/release" });
    const awsOnly = withKmsKeys(createRegistryClient({ insecure: [registry.host] }), composeKmsKeySources({ "awskms://": createAwsKmsKeySource({ region: "eu-west-1", endpoint: "http://127.0.0.1:9" }) }));
    const expected = "HashiCorp Vault keys are fetched only when admission.kms.vault is set in vigil.yaml (admission.kms.vault: {address, token}) to check signatures with hashivault://release";
    expect(await awsOnly.verify?.(check("signed:1.0", "hashivault://release"))).toEqual({ ok: false, error: expected });
    // a bare AWS source (no composition) and no source at all say the same
    expect(await withKmsKeys(createRegistryClient({ insecure: [registry.host] }), createAwsKmsKeySource({ region: "eu-west-1" })).verify?.(check("signed:1.0", "hashivault://release"))).toEqual({ ok: false, error: expected });
    expect(await withKmsKeys(createRegistryClient({ insecure: [registry.host] }), undefined).verify?.(check("signed:1.0", "hashivault://release"))).toEqual({ ok: false, error: expected });
    expect(kmsFailureKind(expected)).toBe("unsupported");
    expect(aws?.ok === false && kmsFailureKind(aws.error)).toBe("unsupported");
    expect(composeKmsKeySources({ "awskms://": undefined, "hashivault://": undefined })).toBeUndefined();
  });
});
