import { generateKeyPairSync, type KeyObject } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ApiAnswer, ImageRegistry } from "../../core/context.js";
import { composeKmsKeySources, withKmsKeys } from "../../context/kubernetes/kms.js";
import { createAwsKmsKeySource } from "../../context/kubernetes/kms-aws.js";
import { startFakeKms, TEST_ACCESS_KEY_ID, TEST_SECRET_ACCESS_KEY, type FakeKms } from "../../context/kubernetes/kms-test-server.js";
import { createVaultKeySource } from "../../context/kubernetes/kms-vault.js";
import { startFakeVault, TEST_VAULT_TOKEN, type FakeVault } from "../../context/kubernetes/kms-vault-test-server.js";
import { fetchUnanswered } from "../../context/kubernetes/lookups.js";
import { createRegistryClient } from "../../context/kubernetes/registry-client.js";
import { startFakeRegistry, type FakeRegistry } from "../../context/kubernetes/registry-test-server.js";
import { loadPolicyText } from "../index.js";
import { clusterContextResolver } from "./context.js";
import type { KyvernoPolicy } from "./policy.js";
import { resourceInput, type AdmissionInput } from "./request.js";
import type { RuleResult } from "./results.js";

type Pair = { privateKey: KeyObject; publicKey: KeyObject };
const ec = (): Pair => generateKeyPairSync("ec", { namedCurve: "P-256" });
const release = ec();
const stranger = ec();
const credentials = { accessKeyId: TEST_ACCESS_KEY_ID, secretAccessKey: TEST_SECRET_ACCESS_KEY };
const KEY_ARN = "arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab";

const nextRelease = ec();

let kms: FakeKms;
let vault: FakeVault;
let registry: FakeRegistry;
beforeAll(async () => {
  // The release key lives in KMS (its alias and its ARN); the test signs with its private half, as `cosign sign --key awskms://...` has KMS do.
  kms = await startFakeKms({ "alias/release": { publicKey: release.publicKey }, [KEY_ARN]: { publicKey: release.publicKey } });
  // ...and in Vault's transit engine (`cosign sign --key hashivault://release`); `rotating` gets a second version in a test.
  vault = await startFakeVault({ release: { type: "ecdsa-p256", versions: [release.publicKey] }, rotating: { type: "ecdsa-p256", versions: [release.publicKey] } });
  registry = await startFakeRegistry({
    "acme/signed:1.0": { created: "2025-01-01T00:00:00Z", signatures: [{ ...release }] },
    "acme/strangers:1.0": { created: "2025-01-01T00:00:00Z", signatures: [{ ...stranger }] },
    "acme/next:1.0": { created: "2025-01-01T00:00:00Z", signatures: [{ ...nextRelease }] },
  });
});
afterAll(async () => {
  await kms.close();
  await vault.close();
  await registry.close();
});

const image = (name: string): string => `${registry.host}/acme/${name}`;
const pinned = (name: string): string => `${image(name)}@${registry.digestOf(`acme/${name}`)}`;
/** How Kyverno names a pinned image in its messages: the digest, without the tag. */
const shown = (name: string): string => `${image(name.slice(0, name.indexOf(":")))}@${registry.digestOf(`acme/${name}`)}`;
const pod = (...images: string[]): AdmissionInput => resourceInput({ apiVersion: "v1", kind: "Pod", metadata: { name: "web", namespace: "shop" }, spec: { containers: images.map((name, i) => ({ name: `c${i}`, image: name })) } }, { operation: "CREATE" });

/** The registry the agent wires (runtime.ts): signature checks whose key is in AWS KMS fetched from the fake KMS. */
const kmsRegistry = (source = createAwsKmsKeySource({ region: "eu-west-1", endpoint: kms.endpoint }, { credentials })): ImageRegistry => withKmsKeys(createRegistryClient({ insecure: [registry.host] }), source);

/** Evaluates as the pipeline does: what the rules ask for is fetched, and the policy evaluated again. */
async function withLookups<T>(run: (options: { resolver: ReturnType<typeof clusterContextResolver> }) => T, client: ImageRegistry): Promise<T> {
  let fetched: Map<string, ApiAnswer> | undefined;
  for (let round = 0; round < 10; round++) {
    const unanswered = new Set<string>();
    const result = run({ resolver: clusterContextResolver({ registry: client, unanswered, ...(fetched ? { fetched } : {}) }) });
    const more = await fetchUnanswered({ registry: client }, unanswered, fetched);
    if (more === undefined) return result;
    fetched = more;
  }
  throw new Error("lookups did not settle");
}

function load(text: string): KyvernoPolicy {
  const loaded = loadPolicyText(text, "policy.yaml");
  expect(loaded.errors.map((e) => e.message)).toEqual([]);
  return loaded.policies[0] as KyvernoPolicy;
}

const verifyImages = (reference: string): KyvernoPolicy => load(`
apiVersion: kyverno.io/v1
kind: ClusterPolicy
metadata: {name: check-image}
spec:
  webhookTimeoutSeconds: 30
  rules:
  - name: check-signature
    match: {any: [{resources: {kinds: [Pod]}}]}
    verifyImages:
    - imageReferences: ["${registry.host}/acme/*"]
      attestors:
      - entries:
        - keys:
            kms: ${JSON.stringify(reference)}
            rekor: {ignoreTlog: true}
`);

const validate = (p: KyvernoPolicy, input: AdmissionInput, client: ImageRegistry): Promise<RuleResult[]> => withLookups((options) => p.evaluateAdmission(input, options), client);
const statusAndMessage = (results: readonly RuleResult[]): [string, string][] => results.map((r) => [r.status, r.message]);

describe("Kyverno verifyImages keys.kms (AWS KMS)", () => {
  it("passes an image signed with the KMS key, by alias and by ARN, and fails one signed by another key", async () => {
    const client = kmsRegistry();
    expect(statusAndMessage(await validate(verifyImages("awskms:///alias/release"), pod(pinned("signed:1.0")), client))).toEqual([["pass", `verified image signatures for ${shown("signed:1.0")}`]]);
    expect(statusAndMessage(await validate(verifyImages(`awskms:///${KEY_ARN}`), pod(pinned("signed:1.0")), client))).toEqual([["pass", `verified image signatures for ${shown("signed:1.0")}`]]);
    expect(statusAndMessage(await validate(verifyImages("awskms:///alias/release"), pod(pinned("strangers:1.0")), client))).toEqual([["fail", `failed to verify image ${shown("strangers:1.0")}: .attestors[0].entries[0].keys: no matching signatures:\ninvalid signature`]]);
  });

  it("fetches the public key once for many reviews (cached per reference)", async () => {
    const source = createAwsKmsKeySource({ region: "eu-west-1", endpoint: kms.endpoint }, { credentials });
    const client = kmsRegistry(source);
    const p = verifyImages("awskms:///alias/release");
    for (const name of ["signed:1.0", "strangers:1.0", "signed:1.0", "strangers:1.0"]) await validate(p, pod(pinned(name)), client);
    expect(source.stats()).toEqual({ requests: 1, cached: 1 });
  });

  it("errors, with the AWS error type, when KMS answers an error", async () => {
    const results = await validate(verifyImages("awskms:///alias/missing"), pod(pinned("signed:1.0")), kmsRegistry());
    expect(statusAndMessage(results)).toEqual([["error", ".attestors[0].entries[0].keys.kms: the KMS key awskms:///alias/missing could not be fetched: GetPublicKey alias/missing: NotFoundException: Key 'alias/missing' does not exist"]]);
  });

  it("without admission.kms.aws the rule is unsupported and says what to set, whether or not the registry was wrapped (never a pass)", async () => {
    const expected: [string, string][] = [["unsupported", ".attestors[0].entries[0].keys.kms: AWS KMS keys are fetched only when admission.kms.aws is set in vigil.yaml (admission.kms.aws: {region, endpoint}) to check signatures with awskms:///alias/release"]];
    expect(statusAndMessage(await validate(verifyImages("awskms:///alias/release"), pod(pinned("signed:1.0")), withKmsKeys(createRegistryClient({ insecure: [registry.host] }), undefined)))).toEqual(expected);
    expect(statusAndMessage(await validate(verifyImages("awskms:///alias/release"), pod(pinned("signed:1.0")), createRegistryClient({ insecure: [registry.host] })))).toEqual(expected);
  });

  it("a reference cosign would not parse is an error naming the field; another KMS without its setting is unsupported, naming the setting; neither asks KMS", async () => {
    const before = kms.requests.length;
    const malformed = await validate(verifyImages("awskms://alias/release"), pod(pinned("signed:1.0")), kmsRegistry());
    expect(malformed.map((r) => r.status)).toEqual(["error"]);
    expect(malformed[0]?.message).toMatch(/^\.attestors\[0\]\.entries\[0\]\.keys\.kms: "awskms:\/\/alias\/release" is not an AWS KMS key reference: use awskms:\/\/\/<key id/);
    const gcp = await validate(verifyImages("gcpkms://projects/acme/locations/global/keyRings/ring/cryptoKeys/key"), pod(pinned("signed:1.0")), kmsRegistry());
    expect(statusAndMessage(gcp)).toEqual([["unsupported", ".attestors[0].entries[0].keys.kms: Google Cloud KMS keys are fetched only when admission.kms.gcp is set in vigil.yaml (admission.kms.gcp: {credentialsFile} or {accessToken}) to check signatures with gcpkms://projects/acme/locations/global/keyRings/ring/cryptoKeys/key"]]);
    expect(kms.requests.length).toBe(before);
  });
});

/** An ImageValidatingPolicy whose one attestor holds its key at `reference` (a cosign KMS reference). */
const ivpol = (reference: string): KyvernoPolicy => load(`
apiVersion: policies.kyverno.io/v1
kind: ImageValidatingPolicy
metadata: {name: check-images}
spec:
  validationActions: [Deny]
  matchConstraints:
    resourceRules: [{apiGroups: [""], apiVersions: [v1], operations: [CREATE], resources: [pods]}]
  matchImageReferences: [{glob: "${registry.host}/acme/*"}]
  attestors:
  - name: release
    cosign:
      key: {kms: ${JSON.stringify(reference)}}
      ctlog: {insecureIgnoreTlog: true}
  validations:
  - expression: "images.containers.all(i, verifyImageSignatures(i, [attestors.release]) > 0)"
    message: every image must be signed by the release key
`);

describe("ImageValidatingPolicy cosign.key.kms (AWS KMS)", () => {

  it("passes an image signed with the KMS key and fails one signed by another key", async () => {
    const client = kmsRegistry();
    expect((await validate(ivpol("awskms:///alias/release"), pod(pinned("signed:1.0")), client)).map((r) => r.status)).toEqual(["pass"]);
    expect(statusAndMessage(await validate(ivpol("awskms:///alias/release"), pod(pinned("strangers:1.0")), client))).toEqual([["fail", "every image must be signed by the release key"]]);
  });

  it("errors, naming the field, when the key cannot be had: KMS answers an error, no KMS is configured, the reference does not parse", async () => {
    const missing = await validate(ivpol("awskms:///alias/missing"), pod(pinned("signed:1.0")), kmsRegistry());
    expect(missing.map((r) => r.status)).toEqual(["error"]);
    expect(missing[0]?.message).toContain("attestor release: cosign.key.kms: the KMS key awskms:///alias/missing could not be fetched: GetPublicKey alias/missing: NotFoundException");
    const unconfigured = await validate(ivpol("awskms:///alias/release"), pod(pinned("signed:1.0")), withKmsKeys(createRegistryClient({ insecure: [registry.host] }), undefined));
    expect(unconfigured.map((r) => r.status)).toEqual(["error"]);
    expect(unconfigured[0]?.message).toContain("attestor release: cosign.key.kms: AWS KMS keys are fetched only when admission.kms.aws is set in vigil.yaml");
    const malformed = await validate(ivpol("awskms:///arn:aws:kms:eu-west-1:111122223333:key/k"), pod(pinned("signed:1.0")), kmsRegistry());
    expect(malformed.map((r) => r.status)).toEqual(["error"]);
    expect(malformed[0]?.message).toContain("attestor release: cosign.key.kms: \"awskms:///arn:aws:kms:eu-west-1:111122223333:key/k\" is not an AWS KMS key reference");
  });
});

describe("Kyverno verifyImages keys.kms and ImageValidatingPolicy cosign.key.kms (HashiCorp Vault)", () => {
  /** The registry the agent wires with admission.kms.vault (and admission.kms.aws): keys dispatched by scheme. */
  const vaultRegistry = (source = createVaultKeySource({ address: vault.address, token: TEST_VAULT_TOKEN })): ImageRegistry => withKmsKeys(createRegistryClient({ insecure: [registry.host] }), composeKmsKeySources({ "awskms://": createAwsKmsKeySource({ region: "eu-west-1", endpoint: kms.endpoint }, { credentials }), "hashivault://": source }));

  it("passes an image signed with the Vault key and fails one signed by another key (verifyImages and ImageValidatingPolicy)", async () => {
    const client = vaultRegistry();
    expect(statusAndMessage(await validate(verifyImages("hashivault://release"), pod(pinned("signed:1.0")), client))).toEqual([["pass", `verified image signatures for ${shown("signed:1.0")}`]]);
    expect(statusAndMessage(await validate(verifyImages("hashivault://release"), pod(pinned("strangers:1.0")), client))).toEqual([["fail", `failed to verify image ${shown("strangers:1.0")}: .attestors[0].entries[0].keys: no matching signatures:\ninvalid signature`]]);
    expect((await validate(ivpol("hashivault://release"), pod(pinned("signed:1.0")), client)).map((r) => r.status)).toEqual(["pass"]);
    expect(statusAndMessage(await validate(ivpol("hashivault://release"), pod(pinned("strangers:1.0")), client))).toEqual([["fail", "every image must be signed by the release key"]]);
  });

  it("reads the key once for many reviews (cached per reference)", async () => {
    const source = createVaultKeySource({ address: vault.address, token: TEST_VAULT_TOKEN });
    const before = vault.requests.length;
    const client = vaultRegistry(source);
    const p = verifyImages("hashivault://release");
    for (const name of ["signed:1.0", "strangers:1.0", "signed:1.0", "strangers:1.0"]) await validate(p, pod(pinned(name)), client);
    expect(source.stats()).toEqual({ requests: 1, cached: 1 });
    expect(vault.requests.slice(before)).toEqual([{ method: "GET", path: "/v1/transit/keys/release", token: TEST_VAULT_TOKEN }]);
  });

  it("errors, naming Vault's answer, when Vault refuses the token", async () => {
    const refused = vaultRegistry(createVaultKeySource({ address: vault.address, token: "hvs.revoked" }));
    expect(statusAndMessage(await validate(verifyImages("hashivault://release"), pod(pinned("signed:1.0")), refused))).toEqual([["error", `.attestors[0].entries[0].keys.kms: the KMS key hashivault://release could not be fetched: Vault GET ${vault.address}/v1/transit/keys/release: 403 permission denied`]]);
    const ivpolResults = await validate(ivpol("hashivault://release"), pod(pinned("signed:1.0")), refused);
    expect(ivpolResults.map((r) => r.status)).toEqual(["error"]);
    expect(ivpolResults[0]?.message).toContain("attestor release: cosign.key.kms: the KMS key hashivault://release could not be fetched: Vault GET");
    expect(ivpolResults[0]?.message).toContain("403 permission denied");
  });

  it("verifies with the latest version of a rotated key, as cosign (a signature by an older version fails)", async () => {
    const client = vaultRegistry(createVaultKeySource({ address: vault.address, token: TEST_VAULT_TOKEN, cacheSeconds: 0 }));
    const p = verifyImages("hashivault://rotating");
    expect((await validate(p, pod(pinned("signed:1.0")), client)).map((r) => r.status)).toEqual(["pass"]);
    vault.rotate("rotating", nextRelease.publicKey);
    expect(statusAndMessage(await validate(p, pod(pinned("signed:1.0")), client))).toEqual([["fail", `failed to verify image ${shown("signed:1.0")}: .attestors[0].entries[0].keys: no matching signatures:\ninvalid signature`]]);
    expect((await validate(p, pod(pinned("next:1.0")), client)).map((r) => r.status)).toEqual(["pass"]);
  });

  it("without admission.kms.vault the rule is unsupported (verifyImages) or an error (ImageValidatingPolicy) naming what to set, even with admission.kms.aws", async () => {
    const awsOnly = withKmsKeys(createRegistryClient({ insecure: [registry.host] }), composeKmsKeySources({ "awskms://": createAwsKmsKeySource({ region: "eu-west-1", endpoint: kms.endpoint }, { credentials }) }));
    const expected = "HashiCorp Vault keys are fetched only when admission.kms.vault is set in vigil.yaml (admission.kms.vault: {address, token}) to check signatures with hashivault://release";
    expect(statusAndMessage(await validate(verifyImages("hashivault://release"), pod(pinned("signed:1.0")), awsOnly))).toEqual([["unsupported", `.attestors[0].entries[0].keys.kms: ${expected}`]]);
    const unconfigured = await validate(ivpol("hashivault://release"), pod(pinned("signed:1.0")), awsOnly);
    expect(unconfigured.map((r) => r.status)).toEqual(["error"]);
    expect(unconfigured[0]?.message).toContain(`attestor release: cosign.key.kms: ${expected}`);
    // AWS keys still go to AWS KMS through the same registry
    expect((await validate(verifyImages("awskms:///alias/release"), pod(pinned("signed:1.0")), vaultRegistry())).map((r) => r.status)).toEqual(["pass"]);
  });

  it("a reference cosign would not parse is an error naming the field, and Vault is not asked", async () => {
    const before = vault.requests.length;
    const malformed = await validate(verifyImages("hashivault://transit/keys/release"), pod(pinned("signed:1.0")), vaultRegistry());
    expect(statusAndMessage(malformed)).toEqual([["error", '.attestors[0].entries[0].keys.kms: "hashivault://transit/keys/release" is not a HashiCorp Vault key reference: use hashivault://<transit key name> (letters, digits and _, with - and . inside; the mount is admission.kms.vault.mountPath; cosign\'s format)']]);
    const ivpolMalformed = await validate(ivpol("hashivault://-release"), pod(pinned("signed:1.0")), vaultRegistry());
    expect(ivpolMalformed.map((r) => r.status)).toEqual(["error"]);
    expect(ivpolMalformed[0]?.message).toContain('attestor release: cosign.key.kms: "hashivault://-release" is not a HashiCorp Vault key reference');
    expect(vault.requests.length).toBe(before);
  });
});
