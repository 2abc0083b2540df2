/**
 * Kyverno verifyImages with a Cosign key held in AWS KMS (`keys.kms: awskms:///alias/...`)
 * through the validating webhook of a real agent: `admission.kms.aws` points the agent at a local
 * stand-in for KMS (SigV4-checked GetPublicKey; credentials from the environment, the standard
 * AWS chain) and `admission.registries` at a local registry holding images signed the way
 * `cosign sign --key awskms://...` stores them.
 */
import { generateKeyPairSync, type KeyObject } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { startFakeKms, TEST_ACCESS_KEY_ID, TEST_SECRET_ACCESS_KEY, type FakeKms } from "../../src/context/kubernetes/kms-test-server.js";
import type { FakeRegistry } from "../../src/context/kubernetes/registry-test-server.js";
import { type VigilServer } from "../../src/server/app.js";
import { podWith, startSignedRegistry, validateAt , startKmsWebhook } from "./verify-images-support.js";

type Pair = { privateKey: KeyObject; publicKey: KeyObject };
const ec = (): Pair => generateKeyPairSync("ec", { namedCurve: "P-256" });
const release = ec();
const stranger = ec();


describe("Kyverno verifyImages keys.kms on the admission webhook (AWS KMS)", () => {
  let kms: FakeKms;
  let registry: FakeRegistry;
  const closers: (() => Promise<void>)[] = [];

  /** An agent serving the admission webhooks; `kmsEndpoint` undefined: no admission.kms.aws. */
  /** The webhook with admission.kms.aws pointed at `kmsEndpoint` (undefined: no admission.kms). */
  const start = async (kmsEndpoint: string | undefined): Promise<VigilServer> =>
    (await startKmsWebhook({ registryHost: registry.host, reference: "awskms:///alias/release", ...(kmsEndpoint ? { kms: { aws: { region: "eu-west-1", endpoint: kmsEndpoint } } } : {}), closers })).server;

  beforeAll(async () => {
    // The agent's KMS client takes its credentials from the standard AWS chain: here, the environment.
    vi.stubEnv("AWS_ACCESS_KEY_ID", TEST_ACCESS_KEY_ID);
    vi.stubEnv("AWS_SECRET_ACCESS_KEY", TEST_SECRET_ACCESS_KEY);
    kms = await startFakeKms({ "alias/release": { publicKey: release.publicKey } });
    registry = await startSignedRegistry(release, stranger);
  });
  afterAll(async () => {
    for (const close of closers) await close();
    await kms.close();
    await registry.close();
    vi.unstubAllEnvs();
  });

  const validate = validateAt;
  const pod = podWith;
  const pinned = (name: string): string => `${registry.host}/acme/${name}@${registry.digestOf(`acme/${name}`)}`;

  it("admits an image signed with the KMS key and denies one signed by another, fetching the key once", async () => {
    const server = await start(kms.endpoint);
    expect(await validate(server, pod("api", pinned("api:1.4")))).toEqual({ allowed: true, message: "" });
    const untrusted = await validate(server, pod("untrusted", pinned("untrusted:1.0")));
    expect(untrusted.allowed).toBe(false);
    expect(untrusted.message).toContain("release-key");
    expect(untrusted.message).toContain("invalid signature");
    expect((await validate(server, pod("api-again", pinned("api:1.4")))).allowed).toBe(true);
    expect(kms.requests.map((r) => [r.target, r.body, r.signed])).toEqual([["TrentService.GetPublicKey", { KeyId: "alias/release" }, true]]);
  });

  it("without admission.kms.aws the rule cannot be checked: denied (failurePolicy Fail), naming what to set", async () => {
    const server = await start(undefined);
    const answer = await validate(server, pod("api", pinned("api:1.4")));
    expect(answer.allowed).toBe(false);
    expect(answer.message).toContain("keys.kms: AWS KMS keys are fetched only when admission.kms.aws is set in vigil.yaml");
  });
});
