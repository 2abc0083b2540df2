import { generateKeyPairSync, type KeyObject } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { startFakeKms, TEST_ACCESS_KEY_ID, TEST_SECRET_ACCESS_KEY, type FakeKms } from "./kms-test-server.js";
import { kmsFailureKind, kmsReferenceProblem, parseAwsKmsReference, resolveKmsCheck, withKmsKeys } from "./kms.js";
import { awsKmsEndpoint, createAwsKmsKeySource } from "./kms-aws.js";
import { createRegistryClient } from "./registry-client.js";
import { startFakeRegistry, type FakeRegistry } from "./registry-test-server.js";

type Pair = { privateKey: KeyObject; publicKey: KeyObject };
const ec = (): Pair => generateKeyPairSync("ec", { namedCurve: "P-256" });
const pem = (pair: Pair): string => pair.publicKey.export({ type: "spki", format: "pem" }).toString();
const release = ec();
const stranger = ec();
const credentials = { accessKeyId: TEST_ACCESS_KEY_ID, secretAccessKey: TEST_SECRET_ACCESS_KEY };

let kms: FakeKms;
let registry: FakeRegistry;
beforeAll(async () => {
  kms = await startFakeKms({
    "alias/release": { publicKey: release.publicKey },
    "1234abcd-12ab-34cd-56ef-1234567890ab": { publicKey: release.publicKey, signingAlgorithms: ["ECDSA_SHA_384"] },
    "alias/pss": { publicKey: generateKeyPairSync("rsa", { modulusLength: 2048 }).publicKey, keySpec: "RSA_2048", signingAlgorithms: ["RSASSA_PSS_SHA_256"] },
    "alias/encrypt": { publicKey: release.publicKey, signingAlgorithms: [] },
  });
  registry = await startFakeRegistry({
    "acme/signed:1.0": { created: "2025-01-01T00:00:00Z", signatures: [{ ...release }] },
    "acme/strangers:1.0": { created: "2025-01-01T00:00:00Z", signatures: [{ ...stranger }] },
  });
});
afterAll(async () => {
  await kms.close();
  await registry.close();
});

describe("awskms:// references, parsed as cosign parses them", () => {
  it("reads cosign's eight documented forms into endpoint, key id and alias", () => {
    const id = "1234abcd-12ab-34cd-56ef-1234567890ab";
    const keyArn = `arn:aws:kms:us-east-2:111122223333:key/${id}`;
    const aliasArn = "arn:aws:kms:us-east-2:111122223333:alias/ExampleAlias";
    expect(parseAwsKmsReference(`awskms:///${id}`)).toEqual({ endpoint: "", keyId: id, alias: "" });
    expect(parseAwsKmsReference(`awskms://localhost:4566/${id}`)).toEqual({ endpoint: "localhost:4566", keyId: id, alias: "" });
    expect(parseAwsKmsReference(`awskms:///${keyArn}`)).toEqual({ endpoint: "", keyId: keyArn, alias: "" });
    expect(parseAwsKmsReference(`awskms://localhost:4566/${keyArn}`)).toEqual({ endpoint: "localhost:4566", keyId: keyArn, alias: "" });
    expect(parseAwsKmsReference("awskms:///alias/ExampleAlias")).toEqual({ endpoint: "", keyId: "alias/ExampleAlias", alias: "alias/ExampleAlias" });
    expect(parseAwsKmsReference("awskms://localhost:4566/alias/ExampleAlias")).toEqual({ endpoint: "localhost:4566", keyId: "alias/ExampleAlias", alias: "alias/ExampleAlias" });
    expect(parseAwsKmsReference(`awskms:///${aliasArn}`)).toEqual({ endpoint: "", keyId: aliasArn, alias: "alias/ExampleAlias" });
    expect(parseAwsKmsReference(`awskms://localhost:4566/${aliasArn}`)).toEqual({ endpoint: "localhost:4566", keyId: aliasArn, alias: "alias/ExampleAlias" });
    // GovCloud ARNs and multi-region key ids (mrk-) are cosign's too
    expect(parseAwsKmsReference(`awskms:///arn:aws-us-gov:kms:us-gov-west-1:111122223333:key/mrk-${id.replace(/-/g, "")}`)?.keyId).toBe(`arn:aws-us-gov:kms:us-gov-west-1:111122223333:key/mrk-${id.replace(/-/g, "")}`);
  });

  it("rejects what cosign rejects, naming the format; the other KMS schemes are read too", () => {
    for (const bad of ["awskms://alias/release", "awskms:///not-a-key-id", "awskms:///arn:aws:kms:eu-west-1:111122223333:key/k", "awskms:///arn:aws:kms:eu-west-1:1111:alias/x", "awskms://"]) {
      expect(parseAwsKmsReference(bad), bad).toBeUndefined();
      expect(kmsReferenceProblem(bad)).toEqual({ kind: "error", message: expect.stringContaining(`${JSON.stringify(bad)} is not an AWS KMS key reference: use awskms:///<key id`) as unknown });
    }
    // Google Cloud KMS, Azure Key Vault and HashiCorp Vault keys are fetched too (kms-gcp.test.ts, kms-azure.test.ts, kms-vault.test.ts)
    expect(kmsReferenceProblem("gcpkms://projects/p/locations/global/keyRings/r/cryptoKeys/k")).toBeUndefined();
    expect(kmsReferenceProblem("hashivault://release")).toBeUndefined();
    expect(kmsReferenceProblem("azurekms://vault.vault.azure.net/release")).toBeUndefined();
    expect(kmsReferenceProblem("/etc/cosign.pub")).toEqual({ kind: "error", message: "\"/etc/cosign.pub\" is not a KMS key reference (awskms://, gcpkms://, azurekms://, hashivault://)" });
    expect(kmsReferenceProblem("awskms:///alias/release")).toBeUndefined();
  });

  it("a reference's own endpoint is reached over https, as cosign does; others at the configured endpoint", () => {
    const own = parseAwsKmsReference("awskms://localhost:4566/alias/release");
    const none = parseAwsKmsReference("awskms:///alias/release");
    expect(own && awsKmsEndpoint(own, { endpoint: "http://127.0.0.1:9" })).toBe("https://localhost:4566");
    expect(none && awsKmsEndpoint(none, { endpoint: "http://127.0.0.1:9" })).toBe("http://127.0.0.1:9");
    expect(none && awsKmsEndpoint(none, {})).toBeUndefined();
  });
});

describe("AWS KMS GetPublicKey (createAwsKmsKeySource)", () => {
  it("asks KMS with a SigV4-signed AWS JSON 1.1 request and returns the key as PEM", async () => {
    const before = kms.requests.length;
    const source = createAwsKmsKeySource({ region: "eu-west-1", endpoint: kms.endpoint }, { credentials });
    const key = await source.publicKey("awskms:///alias/release");
    expect(key).toEqual({ pem: pem(release), keySpec: "ECC_NIST_P256", signingAlgorithms: ["ECDSA_SHA_256"] });
    const request = kms.requests[before];
    expect(request).toMatchObject({ target: "TrentService.GetPublicKey", contentType: "application/x-amz-json-1.1", body: { KeyId: "alias/release" }, signed: true });
    expect(request?.authorization).toMatch(new RegExp(`^AWS4-HMAC-SHA256 Credential=${TEST_ACCESS_KEY_ID}/\\d{8}/eu-west-1/kms/aws4_request, SignedHeaders=[a-z0-9;-]*x-amz-target[a-z0-9;-]*, Signature=[0-9a-f]{64}$`));
  });

  it("keeps a key cacheSeconds per reference (one request for many asks, concurrent ones included), then asks again", async () => {
    let now = 1_000_000;
    const source = createAwsKmsKeySource({ region: "eu-west-1", endpoint: kms.endpoint, cacheSeconds: 300 }, { credentials, now: () => now });
    const keys = await Promise.all([source.publicKey("awskms:///alias/release"), source.publicKey("awskms:///alias/release")]);
    await source.publicKey("awskms:///alias/release");
    expect(keys[0]?.pem).toBe(pem(release));
    expect(source.stats()).toEqual({ requests: 1, cached: 1 });
    now += 299_000;
    await source.publicKey("awskms:///alias/release");
    expect(source.stats().requests).toBe(1);
    now += 2_000;
    await source.publicKey("awskms:///alias/release");
    expect(source.stats().requests).toBe(2);
  });

  it("rejects with the AWS error type when KMS answers an error, and does not cache the failure", async () => {
    const source = createAwsKmsKeySource({ region: "eu-west-1", endpoint: kms.endpoint }, { credentials });
    await expect(source.publicKey("awskms:///alias/missing")).rejects.toThrow("GetPublicKey alias/missing: NotFoundException: Key 'alias/missing' does not exist");
    await expect(source.publicKey("awskms:///alias/missing")).rejects.toThrow("NotFoundException");
    expect(source.stats()).toEqual({ requests: 2, cached: 0 });
    // a wrong secret: KMS refuses the signature
    const forged = createAwsKmsKeySource({ region: "eu-west-1", endpoint: kms.endpoint }, { credentials: { ...credentials, secretAccessKey: "wrong" } });
    await expect(forged.publicKey("awskms:///alias/release")).rejects.toThrow("InvalidSignatureException");
  });

  it("takes credentials from the standard AWS chain (here the environment) when none are given", async () => {
    vi.stubEnv("AWS_ACCESS_KEY_ID", TEST_ACCESS_KEY_ID);
    vi.stubEnv("AWS_SECRET_ACCESS_KEY", TEST_SECRET_ACCESS_KEY);
    vi.stubEnv("AWS_REGION", "eu-west-1");
    try {
      const before = kms.requests.length;
      const source = createAwsKmsKeySource({ endpoint: kms.endpoint });
      expect((await source.publicKey("awskms:///alias/release")).pem).toBe(pem(release));
      expect(kms.requests[before]?.authorization).toContain(`Credential=${TEST_ACCESS_KEY_ID}/`);
    } finally {
      vi.unstubAllEnvs();
    }
  });
});

describe("signature checks with KMS keys (withKmsKeys)", () => {
  const image = (name: string): string => `${registry.host}/acme/${name}`;
  const check = (name: string, reference: string) => ({ image: image(name), kms: reference, ignoreTlog: true });
  const lazySource = (): ReturnType<typeof createAwsKmsKeySource> => createAwsKmsKeySource({ region: "eu-west-1", endpoint: kms.endpoint }, { credentials });

  it("verifies with the fetched key, and fails an image signed by another key", async () => {
    const client = withKmsKeys(createRegistryClient({ insecure: [registry.host] }), lazySource());
    const signed = await client.verify?.(check("signed:1.0", "awskms:///alias/release"));
    expect(signed).toEqual({ ok: true, body: { digest: registry.digestOf("acme/signed:1.0"), verified: 1 } });
    const strangers = await client.verify?.(check("strangers:1.0", "awskms:///alias/release"));
    expect(strangers).toEqual({ ok: false, error: "no matching signatures:\ninvalid signature" });
    // a check with a PEM key goes to the registry unchanged
    expect(await client.verify?.({ image: image("signed:1.0"), key: pem(release), ignoreTlog: true })).toMatchObject({ ok: true });
  });

  it("checks with the hash of the key's first signing algorithm, as cosign does", async () => {
    const resolved = await resolveKmsCheck({ image: image("signed:1.0"), kms: "awskms:///1234abcd-12ab-34cd-56ef-1234567890ab", signatureAlgorithm: "sha256" }, lazySource());
    expect(resolved).toEqual({ check: { image: image("signed:1.0"), key: pem(release), signatureAlgorithm: "sha384" } });
    // the image was signed over SHA-256: a key that signs with ECDSA_SHA_384 does not verify it
    const client = withKmsKeys(createRegistryClient({ insecure: [registry.host] }), lazySource());
    expect(await client.verify?.(check("signed:1.0", "awskms:///1234abcd-12ab-34cd-56ef-1234567890ab"))).toEqual({ ok: false, error: "no matching signatures:\ninvalid signature" });
  });

  it("a key that cannot be had is answered with why, told apart from signatures that do not verify", async () => {
    const client = withKmsKeys(createRegistryClient({ insecure: [registry.host] }), lazySource());
    const missing = await client.verify?.(check("signed:1.0", "awskms:///alias/missing"));
    expect(missing).toEqual({ ok: false, error: "the KMS key awskms:///alias/missing could not be fetched: GetPublicKey alias/missing: NotFoundException: Key 'alias/missing' does not exist" });
    const pss = await client.verify?.(check("signed:1.0", "awskms:///alias/pss"));
    expect(pss).toEqual({ ok: false, error: "the KMS key awskms:///alias/pss signs with RSASSA_PSS_SHA_256, which Vigil does not verify (ECDSA_SHA_* and RSASSA_PKCS1_V1_5_SHA_* keys are)" });
    const encrypt = await client.verify?.(check("signed:1.0", "awskms:///alias/encrypt"));
    expect(encrypt).toEqual({ ok: false, error: "the KMS key awskms:///alias/encrypt has no signing algorithms (KeySpec ECC_NIST_P256): it is not a SIGN_VERIFY key" });
    for (const answer of [missing, pss, encrypt]) expect(answer?.ok === false && kmsFailureKind(answer.error)).toBe("error");
    expect(kmsFailureKind("no matching signatures:\ninvalid signature")).toBeUndefined();
  });

  it("without a KMS configured, or through a registry nobody wrapped, the check says what to configure (never verified)", async () => {
    const unconfigured = await withKmsKeys(createRegistryClient({ insecure: [registry.host] }), undefined).verify?.(check("signed:1.0", "awskms:///alias/release"));
    const expected = "AWS KMS keys are fetched only when admission.kms.aws is set in vigil.yaml (admission.kms.aws: {region, endpoint}) to check signatures with awskms:///alias/release";
    expect(unconfigured).toEqual({ ok: false, error: expected });
    const unwrapped = await createRegistryClient({ insecure: [registry.host] }).verify?.(check("signed:1.0", "awskms:///alias/release"));
    expect(unwrapped).toEqual({ ok: false, error: expected });
    expect(kmsFailureKind(expected)).toBe("unsupported");
  });
});
