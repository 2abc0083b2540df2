/** Shared by the KMS-keyed verifyImages end-to-end suites (AWS KMS, HashiCorp Vault, Google Cloud KMS, Azure Key Vault). */
import type { KeyObject } from "node:crypto";
import { expect } from "vitest";
import { startFakeRegistry, type FakeRegistry } from "../../src/context/kubernetes/registry-test-server.js";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { stringify } from "yaml";
import { createAgent, createManualClock } from "../../src/agent.js";
import { loadConfig } from "../../src/config.js";
import { admissionRoutes } from "../../src/server/admission.js";
import { buildServer, type VigilServer } from "../../src/server/app.js";
import { admissionReview, tempDir, type KubeObject } from "./admission-support.js";

type Pair = { privateKey: KeyObject; publicKey: KeyObject };

/** A ClusterPolicy (Enforce) requiring images under `<host>/acme/` signed with the key at `kms` (a cosign KMS reference). */
export const kmsKeyedPolicy = (host: string, kms: string): string => `
apiVersion: kyverno.io/v1
kind: ClusterPolicy
metadata:
  name: release-signed
spec:
  validationFailureAction: Enforce
  rules:
  - name: release-key
    match:
      any:
      - resources:
          kinds: [Pod]
    verifyImages:
    - imageReferences: ["${host}/acme/*"]
      attestors:
      - entries:
        - keys:
            kms: ${kms}
            rekor:
              ignoreTlog: true
`;

/** A registry holding acme/api:1.4 signed with `release` and acme/untrusted:1.0 signed with `stranger`. */
export const startSignedRegistry = (release: Pair, stranger: Pair): Promise<FakeRegistry> => startFakeRegistry({
  "acme/api:1.4": { created: "2025-06-01T00:00:00Z", signatures: [{ ...release }] },
  "acme/untrusted:1.0": { created: "2025-06-01T00:00:00Z", signatures: [{ ...stranger }] },
});

/** The validating webhook's answer for one object. */
export async function validateAt(server: VigilServer, object: KubeObject): Promise<{ allowed: boolean; message: string }> {
  const response = await server.app.inject({ method: "POST", url: "/v1/admission/validate", payload: admissionReview(object) });
  expect(response.statusCode).toBe(200);
  const body = (response.json() as { response: { allowed: boolean; status?: { message?: string } } }).response;
  return { allowed: body.allowed, message: body.status?.message ?? "" };
}

export const podWith = (name: string, image: string): KubeObject => ({ apiVersion: "v1", kind: "Pod", metadata: { name, namespace: "shop" }, spec: { containers: [{ name: "c0", image }] } });

/**
 * An agent serving the admission webhooks from a vigil.yaml in a fresh directory: the verifyImages
 * policy keyed by `reference` (kmsKeyedPolicy), the registry reached without TLS, `kms` as
 * `admission.kms` (undefined: none), `env` for the config's `${VAR}` references. What stops it
 * goes to `closers`.
 */
export async function startKmsWebhook(options: { readonly registryHost: string; readonly reference: string; readonly kms?: Record<string, unknown>; readonly env?: Record<string, string>; readonly closers: (() => Promise<void>)[] }): Promise<{ server: VigilServer; dir: string }> {
  const dir = tempDir();
  mkdirSync(join(dir, "policies"));
  writeFileSync(join(dir, "policies", "kms.yaml"), kmsKeyedPolicy(options.registryHost, options.reference));
  const admission = { registries: { enabled: true, insecure: [options.registryHost] }, ...(options.kms ? { kms: options.kms } : {}) };
  writeFileSync(join(dir, "vigil.yaml"), stringify({ policies: ["policies"], store: { path: "vigil.db" }, log: { level: "silent" }, admission }));
  const config = loadConfig({ file: join(dir, "vigil.yaml"), env: options.env ?? {} });
  const agent = await createAgent(config, { clock: createManualClock("2025-07-01T10:00:00Z"), onProblem: () => undefined });
  const server = buildServer({ agent, routes: [admissionRoutes] });
  await server.app.ready();
  options.closers.push(async () => { await server.app.close(); await agent.close(); });
  return { server, dir };
}
