/** Shared by the KMS-keyed verifyImages end-to-end suites (AWS KMS, HashiCorp Vault, Google Cloud KMS, Azure Key Vault). */
import type { KeyObject } from "node:crypto";
import { expect } from "vitest";
import { startFakeRegistry, type FakeRegistry } from "../../src/context/kubernetes/registry-test-server.js";
import type { VigilServer } from "../../src/server/app.js";
import { admissionReview, type KubeObject } from "./admission-support.js";

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
