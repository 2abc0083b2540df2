/**
 * Kyverno verifyImages with a Cosign key held in HashiCorp Vault's transit engine
 * (`keys.kms: hashivault://release`) through the validating webhook of a real agent: a vigil.yaml
 * whose `admission.kms.vault` points at a local stand-in for Vault (its HTTP API for reading
 * transit keys, the token checked) with the token written as an environment reference, and
 * `admission.registries` at a local registry holding images signed the way
 * `cosign sign --key hashivault://release` stores them.
 */
import { generateKeyPairSync, type KeyObject } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startFakeVault, TEST_VAULT_TOKEN, type FakeVault } from "../../src/context/kubernetes/kms-vault-test-server.js";
import type { FakeRegistry } from "../../src/context/kubernetes/registry-test-server.js";
import { type VigilServer } from "../../src/server/app.js";
import { podWith, startSignedRegistry, validateAt , startKmsWebhook } from "./verify-images-support.js";

type Pair = { privateKey: KeyObject; publicKey: KeyObject };
const ec = (): Pair => generateKeyPairSync("ec", { namedCurve: "P-256" });
const release = ec();
const stranger = ec();


describe("Kyverno verifyImages keys.kms on the admission webhook (HashiCorp Vault)", () => {
  let vault: FakeVault;
  let registry: FakeRegistry;
  const closers: (() => Promise<void>)[] = [];

  /** The webhook with admission.kms.vault = `vaultSettings` (undefined: none). */
  const start = async (vaultSettings: Record<string, unknown> | undefined, env: Record<string, string> = {}): Promise<VigilServer> =>
    (await startKmsWebhook({ registryHost: registry.host, reference: "hashivault://release", ...(vaultSettings ? { kms: { vault: vaultSettings } } : {}), env, closers })).server;


  beforeAll(async () => {
    vault = await startFakeVault({ release: { type: "ecdsa-p256", versions: [release.publicKey] } }, { mount: "cosign" });
    registry = await startSignedRegistry(release, stranger);
  });
  afterAll(async () => {
    for (const close of closers) await close();
    await vault.close();
    await registry.close();
  });

  const validate = validateAt;
  const pod = podWith;
  const pinned = (name: string): string => `${registry.host}/acme/${name}@${registry.digestOf(`acme/${name}`)}`;

  it("admits an image signed with the Vault key and denies one signed by another, reading the key once with the token from the environment", async () => {
    const before = vault.requests.length;
    // The token stays out of the file: vigil.yaml says ${VIGIL_VAULT_TOKEN}.
    const server = await start({ address: vault.address, token: "${VIGIL_VAULT_TOKEN}", mountPath: "cosign" }, { VIGIL_VAULT_TOKEN: TEST_VAULT_TOKEN });
    expect(await validate(server, pod("api", pinned("api:1.4")))).toEqual({ allowed: true, message: "" });
    const untrusted = await validate(server, pod("untrusted", pinned("untrusted:1.0")));
    expect(untrusted.allowed).toBe(false);
    expect(untrusted.message).toContain("release-key");
    expect(untrusted.message).toContain("invalid signature");
    expect((await validate(server, pod("api-again", pinned("api:1.4")))).allowed).toBe(true);
    expect(vault.requests.slice(before)).toEqual([{ method: "GET", path: "/v1/cosign/keys/release", token: TEST_VAULT_TOKEN }]);
  });

  it("a token Vault refuses denies the pod (failurePolicy Fail), naming Vault's answer", async () => {
    const server = await start({ address: vault.address, token: "${VIGIL_VAULT_TOKEN}", mountPath: "cosign" }, { VIGIL_VAULT_TOKEN: "hvs.revoked" });
    const answer = await validate(server, pod("api", pinned("api:1.4")));
    expect(answer.allowed).toBe(false);
    expect(answer.message).toContain(`keys.kms: the KMS key hashivault://release could not be fetched: Vault GET ${vault.address}/v1/cosign/keys/release: 403 permission denied`);
    expect(answer.message).not.toContain("hvs.revoked");
  });

  it("without admission.kms.vault the rule cannot be checked: denied, naming what to set", async () => {
    const server = await start(undefined);
    const answer = await validate(server, pod("api", pinned("api:1.4")));
    expect(answer.allowed).toBe(false);
    expect(answer.message).toContain("keys.kms: HashiCorp Vault keys are fetched only when admission.kms.vault is set in vigil.yaml");
  });
});
