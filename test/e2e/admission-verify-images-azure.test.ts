/**
 * Kyverno verifyImages with a Cosign key held in Azure Key Vault
 * (`keys.kms: azurekms://acme-release.vault.azure.net/release`) through the validating webhook of
 * a real agent: a vigil.yaml whose `admission.kms.azure` (client secret as an environment
 * reference) points its authority and vault endpoint at a local stand-in for Microsoft Entra ID
 * and Key Vault (the token request's form body and the bearer token checked), and
 * `admission.registries` at a local registry holding images signed the way
 * `cosign sign --key azurekms://...` stores them.
 */
import { generateKeyPairSync, type KeyObject } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startFakeAzureKeyVault, TEST_AZURE_CLIENT_ID, TEST_AZURE_CLIENT_SECRET, TEST_AZURE_TENANT, type FakeAzureKeyVault } from "../../src/context/kubernetes/kms-azure-test-server.js";
import type { FakeRegistry } from "../../src/context/kubernetes/registry-test-server.js";
import { type VigilServer } from "../../src/server/app.js";
import { podWith, startSignedRegistry, validateAt , startKmsWebhook } from "./verify-images-support.js";

type Pair = { privateKey: KeyObject; publicKey: KeyObject };
const ec = (): Pair => generateKeyPairSync("ec", { namedCurve: "P-256" });
const release = ec();
const stranger = ec();
const REFERENCE = "azurekms://acme-release.vault.azure.net/release";

describe("Kyverno verifyImages keys.kms on the admission webhook (Azure Key Vault)", () => {
  let vault: FakeAzureKeyVault;
  let registry: FakeRegistry;
  const closers: (() => Promise<void>)[] = [];

  /** The webhook with admission.kms.azure = `azureSettings` (undefined: none). */
  const start = async (azureSettings: Record<string, unknown> | undefined, env: Record<string, string> = {}): Promise<VigilServer> =>
    (await startKmsWebhook({ registryHost: registry.host, reference: REFERENCE, ...(azureSettings ? { kms: { azure: azureSettings } } : {}), env, closers })).server;


  beforeAll(async () => {
    // version 1 is the stranger's; the current version (2) the release key's
    vault = await startFakeAzureKeyVault({ release: [{ publicKey: stranger.publicKey }, { publicKey: release.publicKey }] });
    registry = await startSignedRegistry(release, stranger);
  });
  afterAll(async () => {
    for (const close of closers) await close();
    await vault.close();
    await registry.close();
  });

  const pinned = (name: string): string => `${registry.host}/acme/${name}@${registry.digestOf(`acme/${name}`)}`;
  const azure = () => ({ tenantId: TEST_AZURE_TENANT, clientId: TEST_AZURE_CLIENT_ID, clientSecret: "${VIGIL_AZURE_SECRET}", authorityHost: vault.address, endpoint: vault.address });

  it("admits an image signed with the Key Vault key's current version and denies one signed by another, with one token and one read", async () => {
    const before = vault.requests.length;
    // The secret stays out of the file: vigil.yaml says ${VIGIL_AZURE_SECRET}.
    const server = await start(azure(), { VIGIL_AZURE_SECRET: TEST_AZURE_CLIENT_SECRET });
    expect(await validateAt(server, podWith("api", pinned("api:1.4")))).toEqual({ allowed: true, message: "" });
    const untrusted = await validateAt(server, podWith("untrusted", pinned("untrusted:1.0")));
    expect(untrusted.allowed).toBe(false);
    expect(untrusted.message).toContain("release-key");
    expect(untrusted.message).toContain("invalid signature");
    expect((await validateAt(server, podWith("api-again", pinned("api:1.4")))).allowed).toBe(true);
    expect(vault.requests.slice(before).map((r) => [r.method, r.path, r.query, r.authorization])).toEqual([
      ["POST", `/${TEST_AZURE_TENANT}/oauth2/v2.0/token`, "", undefined],
      ["GET", "/keys/release", "api-version=7.4", expect.stringMatching(/^Bearer eyJ0eXAiOiJKV1QifQ\.vigil-test-\d+$/)],
    ]);
    expect(vault.requests[before]?.form).toEqual({ client_id: TEST_AZURE_CLIENT_ID, client_secret: TEST_AZURE_CLIENT_SECRET, scope: "https://vault.azure.net/.default", grant_type: "client_credentials" });
  });

  it("a client secret Entra refuses denies the pod (failurePolicy Fail), naming Entra's answer, never the secret", async () => {
    const server = await start(azure(), { VIGIL_AZURE_SECRET: "expired-secret" });
    const answer = await validateAt(server, podWith("api", pinned("api:1.4")));
    expect(answer.allowed).toBe(false);
    expect(answer.message).toContain(`keys.kms: the KMS key ${REFERENCE} could not be fetched: Microsoft Entra token request POST ${vault.address}/${TEST_AZURE_TENANT}/oauth2/v2.0/token for client ${TEST_AZURE_CLIENT_ID}: 401 invalid_client: AADSTS7000215: Invalid client secret provided.`);
    expect(answer.message).not.toContain("expired-secret");
  });

  it("without admission.kms.azure the rule cannot be checked: denied, naming what to set", async () => {
    const server = await start(undefined);
    const answer = await validateAt(server, podWith("api", pinned("api:1.4")));
    expect(answer.allowed).toBe(false);
    expect(answer.message).toContain("keys.kms: Azure Key Vault keys are fetched only when admission.kms.azure is set in vigil.yaml");
  });
});
