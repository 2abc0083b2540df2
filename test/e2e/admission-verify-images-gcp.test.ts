/**
 * Kyverno verifyImages with a Cosign key held in Google Cloud KMS
 * (`keys.kms: gcpkms://projects/.../cryptoKeys/release`) through the validating webhook of a real
 * agent: a vigil.yaml whose `admission.kms.gcp` names a service-account key file and points at a
 * local stand-in for Cloud KMS and Google's token endpoint (the JWT assertion's signature and the
 * bearer token checked), and `admission.registries` at a local registry holding images signed the
 * way `cosign sign --key gcpkms://...` stores them.
 */
import { generateKeyPairSync, type KeyObject } from "node:crypto";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { stringify } from "yaml";
import { createAgent, createManualClock } from "../../src/agent.js";
import { loadConfig } from "../../src/config.js";
import { startFakeGcpKms, type FakeGcpKms } from "../../src/context/kubernetes/kms-gcp-test-server.js";
import type { FakeRegistry } from "../../src/context/kubernetes/registry-test-server.js";
import { admissionRoutes } from "../../src/server/admission.js";
import { buildServer, type VigilServer } from "../../src/server/app.js";
import { tempDir } from "./admission-support.js";
import { kmsKeyedPolicy, podWith, startSignedRegistry, validateAt } from "./verify-images-support.js";

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

  /** An agent serving the admission webhooks from a vigil.yaml; `gcpSettings` undefined: no admission.kms.gcp. */
  async function start(gcpSettings: Record<string, unknown> | undefined, env: Record<string, string> = {}): Promise<{ server: VigilServer; dir: string }> {
    const dir = tempDir();
    mkdirSync(join(dir, "policies"));
    writeFileSync(join(dir, "policies", "gcp.yaml"), kmsKeyedPolicy(registry.host, REFERENCE));
    const admission = { registries: { enabled: true, insecure: [registry.host] }, ...(gcpSettings ? { kms: { gcp: gcpSettings } } : {}) };
    writeFileSync(join(dir, "vigil.yaml"), stringify({ policies: ["policies"], store: { path: "vigil.db" }, log: { level: "silent" }, admission }));
    const config = loadConfig({ file: join(dir, "vigil.yaml"), env });
    const agent = await createAgent(config, { clock: createManualClock("2025-07-01T10:00:00Z"), onProblem: () => undefined });
    const server = buildServer({ agent, routes: [admissionRoutes] });
    await server.app.ready();
    closers.push(async () => { await server.app.close(); await agent.close(); });
    return { server, dir };
  }

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
