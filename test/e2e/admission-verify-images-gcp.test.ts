/**
 * Kyverno verifyImages with a Cosign key held in Google Cloud KMS
 * (`keys.kms: gcpkms://projects/.../cryptoKeys/release`) through the validating webhook of a real
 * agent: a vigil.yaml whose `admission.kms.gcp` names a service-account key file and points at a
 * local stand-in for Cloud KMS and Google's token endpoint (the JWT assertion's signature and the
 * bearer token checked), and `admission.registries` at a local registry holding images signed the
 * way `cosign sign --key gcpkms://...` stores them.
 */
import { generateKeyPairSync, type KeyObject } from "node:crypto";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startFakeGcpKms, type FakeGcpKms } from "../../src/context/kubernetes/kms-gcp-test-server.js";
import type { FakeRegistry } from "../../src/context/kubernetes/registry-test-server.js";
import { type VigilServer } from "../../src/server/app.js";
import { tempDir } from "./admission-support.js";
import { podWith, startSignedRegistry, validateAt , startKmsWebhook } from "./verify-images-support.js";

type Pair = { privateKey: KeyObject; publicKey: KeyObject };
const ec = (): Pair => generateKeyPairSync("ec", { namedCurve: "P-256" });
const release = ec();
const stranger = ec();
const KEY = "projects/acme-prod/locations/europe-west1/keyRings/cosign/cryptoKeys/release";
const REFERENCE = `gcpkms://${KEY}`;

describe("Kyverno verifyImages keys.kms on the admission webhook (Google Cloud KMS)", () => {
  let gcp: FakeGcpKms;
  let registry: FakeRegistry;
  const closers: (() => Promise<void>)[] = [];

  /** The webhook with admission.kms.gcp = `gcpSettings` (undefined: none). */
  const start = (gcpSettings: Record<string, unknown> | undefined, env: Record<string, string> = {}): Promise<{ server: VigilServer; dir: string }> =>
    startKmsWebhook({ registryHost: registry.host, reference: REFERENCE, ...(gcpSettings ? { kms: { gcp: gcpSettings } } : {}), env, closers });


  beforeAll(async () => {
    gcp = await startFakeGcpKms({ [KEY]: [{ publicKey: stranger.publicKey, state: "DISABLED" }, { publicKey: release.publicKey }] });
    registry = await startSignedRegistry(release, stranger);
  });
  afterAll(async () => {
    for (const close of closers) await close();
    await gcp.close();
    await registry.close();
  });

  const pinned = (name: string): string => `${registry.host}/acme/${name}@${registry.digestOf(`acme/${name}`)}`;

  it("admits an image signed with the Cloud KMS key and denies one signed by another, with a token made from the service-account key file, reading the key once", async () => {
    const requestsBefore = gcp.requests.length;
    const tokensBefore = gcp.tokenRequests.length;
    // The key file's path comes from the environment, as GOOGLE_APPLICATION_CREDENTIALS would.
    const dir = tempDir();
    writeFileSync(join(dir, "sa.json"), gcp.serviceAccountKeyFile());
    const { server } = await start({ endpoint: gcp.endpoint, credentialsFile: "${VIGIL_GCP_KEY_FILE}" }, { VIGIL_GCP_KEY_FILE: join(dir, "sa.json") });
    expect(await validateAt(server, podWith("api", pinned("api:1.4")))).toEqual({ allowed: true, message: "" });
    const untrusted = await validateAt(server, podWith("untrusted", pinned("untrusted:1.0")));
    expect(untrusted.allowed).toBe(false);
    expect(untrusted.message).toContain("release-key");
    expect(untrusted.message).toContain("invalid signature");
    expect((await validateAt(server, podWith("api-again", pinned("api:1.4")))).allowed).toBe(true);
    // one token (its JWT checked by the stand-in), one list of the enabled versions, one public key (version 2: version 1 is disabled)
    expect(gcp.tokenRequests.slice(tokensBefore)).toEqual([{ problem: "" }]);
    expect(gcp.requests.slice(requestsBefore).map((r) => [r.method, r.path, r.authorization])).toEqual([
      ["POST", "/token", undefined],
      ["GET", `/v1/${KEY}/cryptoKeyVersions`, "Bearer ya29.issued-1"],
      ["GET", `/v1/${KEY}/cryptoKeyVersions/2/publicKey`, "Bearer ya29.issued-1"],
    ]);
  });

  it("a token Google refuses denies the pod (failurePolicy Fail), naming Google's answer, never the token", async () => {
    const { server } = await start({ endpoint: gcp.endpoint, accessToken: "${VIGIL_GCP_TOKEN}" }, { VIGIL_GCP_TOKEN: "ya29.revoked" });
    const answer = await validateAt(server, podWith("api", pinned("api:1.4")));
    expect(answer.allowed).toBe(false);
    expect(answer.message).toContain(`keys.kms: the KMS key ${REFERENCE} could not be fetched: Cloud KMS GET ${gcp.endpoint}/v1/${KEY}/cryptoKeyVersions?filter=state%3DENABLED&orderBy=name%20desc: 401 UNAUTHENTICATED`);
    expect(answer.message).not.toContain("ya29.revoked");
  });

  it("without admission.kms.gcp the rule cannot be checked: denied, naming what to set", async () => {
    const { server } = await start(undefined);
    const answer = await validateAt(server, podWith("api", pinned("api:1.4")));
    expect(answer.allowed).toBe(false);
    expect(answer.message).toContain("keys.kms: Google Cloud KMS keys are fetched only when admission.kms.gcp is set in vigil.yaml");
  });
});
