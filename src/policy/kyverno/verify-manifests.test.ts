import { generateKeyPairSync, sign, type KeyObject } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { parse, stringify } from "yaml";
import { VigilError } from "../../core/errors.js";
import { loadPolicyText } from "../index.js";
import type { KyvernoPolicy } from "./policy.js";
import { resourceInput, toAdmissionInput, type AdmissionInput } from "./request.js";
import type { RuleResult } from "./results.js";

const fixtures = join(__dirname, "../../../test/fixtures/k8s-manifest-sigstore");
const read = (name: string): string => readFileSync(join(fixtures, name), "utf8");
const kyvernoKey = read("kyverno/ecdsa-pub.pem");
const kyvernoKey2 = read("kyverno/ecdsa-pub2.pem");
/** Kyverno's test admission requests (validate_manifest_test.go) as AdmissionInputs. */
const request = (name: string, edit: (object: Record<string, any>) => void = () => {}): AdmissionInput => {
  const raw = JSON.parse(read(`kyverno/${name}`)) as Record<string, any>;
  edit(raw["object"]);
  return toAdmissionInput({ kind: "AdmissionReview", request: raw }) as AdmissionInput;
};

const indent = (text: string, spaces: number): string => text.trim().split("\n").map((line) => " ".repeat(spaces) + line).join("\n");
const keyEntry = (pem: string, extra = ""): string => `- keys:\n    publicKeys: |-\n${indent(pem, 6)}${extra}`;

function policy(manifests: string, kinds = "[ConfigMap, Service, Deployment]"): KyvernoPolicy {
  const text = `
apiVersion: kyverno.io/v1
kind: ClusterPolicy
metadata:
  name: verify-manifests
spec:
  validationFailureAction: Enforce
  rules:
  - name: verify
    match:
      any:
      - resources:
          kinds: ${kinds}
    validate:
      manifests:
${indent(manifests, 8)}
`;
  const loaded = loadPolicyText(text, "verify-manifests.yaml");
  expect(loaded.errors).toEqual([]);
  return loaded.policies[0] as KyvernoPolicy;
}
const attestors = (entries: string, count?: number): string => `attestors:\n- ${count === undefined ? "" : `count: ${count}\n  `}entries:\n${indent(entries, 2)}`;
const only = (p: KyvernoPolicy, input: AdmissionInput): RuleResult => {
  const results = p.evaluateAdmission(input);
  expect(results).toHaveLength(1);
  return results[0] as RuleResult;
};

/** The library policy other/verify-manifest-integrity, unchanged but for the key (ours, so that we can sign). */
const libraryPolicy = (publicKey: string): string => `
apiVersion: kyverno.io/v1
kind: ClusterPolicy
metadata:
  name: verify-manifest-integrity
spec:
  validationFailureAction: Audit
  background: true
  rules:
    - name: verify-deployment-allow-replicas
      match:
        any:
        - resources:
            kinds:
              - Deployment
      validate:
        manifests:
          attestors:
          - count: 1
            entries:
            - keys:
                publicKeys: |-
${indent(publicKey, 18)}
          ignoreFields:
          - objects:
            - kind: Deployment
            fields:
            - spec.replicas
`;

// --- signing as `kubectl sigstore sign` does: message = base64(gzip(tar.gz of the YAML)), signature = base64(ECDSA-SHA256(tar.gz)) ---

function tarOf(name: string, body: string): Buffer {
  const content = Buffer.from(body, "utf8");
  const header = Buffer.alloc(512);
  const put = (value: string, offset: number): void => void header.write(value, offset, "utf8");
  put(name, 0);
  put("0000644\0", 100);
  put("0000000\0", 108);
  put("0000000\0", 116);
  put(`${content.length.toString(8).padStart(11, "0")}\0`, 124);
  put("00000000000\0", 136);
  put("        ", 148);
  put("0", 156);
  put("ustar\0", 257);
  put("00", 263);
  const sum = header.reduce((a, b) => a + b, 0);
  put(`${sum.toString(8).padStart(6, "0")}\0 `, 148);
  const padding = Buffer.alloc((512 - (content.length % 512)) % 512);
  return Buffer.concat([header, content, padding, Buffer.alloc(1024)]);
}

type Pair = { privateKey: KeyObject; publicKey: KeyObject };
const ecKey = (): Pair => generateKeyPairSync("ec", { namedCurve: "P-256" });
const pemOf = (pair: Pair): string => pair.publicKey.export({ type: "spki", format: "pem" }).toString();

/** The manifest with the signature annotations added, as `kubectl sigstore sign -f` writes it. */
function signed(manifest: Record<string, any>, signers: Pair[], domain = "cosign.sigstore.dev"): Record<string, any> {
  const blob = gzipSync(tarOf("manifests/manifest.yaml", stringify(manifest)));
  const annotations: Record<string, string> = { [`${domain}/message`]: gzipSync(blob).toString("base64") };
  signers.forEach((pair, i) => (annotations[`${domain}/signature${i > 0 ? `_${i}` : ""}`] = sign("sha256", blob, pair.privateKey).toString("base64")));
  const copy = structuredClone(manifest);
  copy["metadata"]["annotations"] = { ...(copy["metadata"]["annotations"] ?? {}), ...annotations };
  return copy;
}

const deployment = (): Record<string, any> => ({
  apiVersion: "apps/v1",
  kind: "Deployment",
  metadata: { name: "web", labels: { app: "web" } },
  spec: { replicas: 1, selector: { matchLabels: { app: "web" } }, template: { metadata: { labels: { app: "web" } }, spec: { containers: [{ name: "web", image: "nginx:1.27" }] } } },
});
/** What the API server admits for it: namespace, uid, defaults in the pod template. */
function admitted(object: Record<string, any>): Record<string, any> {
  const copy = structuredClone(object);
  copy["metadata"] = { ...copy["metadata"], namespace: "shop", uid: "0b6f", creationTimestamp: "2025-01-01T00:00:00Z", generation: 1 };
  copy["spec"]["progressDeadlineSeconds"] = 600;
  copy["spec"]["revisionHistoryLimit"] = 10;
  copy["spec"]["strategy"] = { type: "RollingUpdate", rollingUpdate: { maxSurge: "25%", maxUnavailable: "25%" } };
  copy["spec"]["template"]["spec"] = { ...copy["spec"]["template"]["spec"], dnsPolicy: "ClusterFirst", restartPolicy: "Always", schedulerName: "default-scheduler", terminationGracePeriodSeconds: 30, securityContext: {} };
  copy["spec"]["template"]["spec"]["containers"][0] = { ...copy["spec"]["template"]["spec"]["containers"][0], imagePullPolicy: "IfNotPresent", terminationMessagePath: "/dev/termination-log", terminationMessagePolicy: "File", resources: {} };
  return copy;
}

describe("Kyverno validate.manifests: Kyverno's own signed fixtures (validate_manifest_test.go)", () => {
  const oneKey = policy(attestors(keyEntry(kyvernoKey)));

  it("passes the signed ConfigMap as admitted (namespace, uid, managedFields, creationTimestamp added by the API server)", () => {
    const result = only(oneKey, request("signed-configmap-request.json"));
    expect(result.status).toBe("pass");
    expect(result.message).toBe("verified manifest signatures; manifest verification succeeded; verifiedCount 1; requiredCount 1; message singed by a valid signer: ");
  });

  it("fails a tampered object with the difference, and ignoreFields lets exactly that field differ", () => {
    const tampered = request("signed-configmap-request.json", (o) => (o["data"]["key1"] = "changed"));
    const result = only(oneKey, tampered);
    expect(result.status).toBe("fail");
    expect(result.message).toBe('manifest verification failed; verifiedCount 0; requiredCount 1; message .attestors[0].entries[0].keys: failed to verify signature. diff found; {"items":[{"key":"data.key1","values":{"after":"changed","before":"val1"}}]}');
    const ignoring = (objects: string): KyvernoPolicy => policy(`${attestors(keyEntry(kyvernoKey))}\nignoreFields:\n- objects:\n${indent(objects, 2)}\n  fields:\n  - data.key1`);
    expect(only(ignoring("- kind: ConfigMap\n  name: sample-*"), tampered).status).toBe("pass");
    expect(only(ignoring("- kind: ConfigMap\n  namespace: other-ns"), tampered).status).toBe("fail");
    expect(only(ignoring("- kind: Secret"), tampered).status).toBe("fail");
  });

  it("fails Kyverno's invalid sample (a key the signed manifest does not have)", () => {
    const result = only(oneKey, request("invalid-configmap-request.json"));
    expect(result.status).toBe("fail");
    expect(result.message).toContain('"key":"data.key3","values":{"after":"val3","before":null}');
  });

  it("a key that did not sign is an error (as in Kyverno), and count decides how many entries must verify", () => {
    const service = request("signed-service-request.json");
    // Both required (no count): entries[1] holds the other key.
    const both = only(policy(attestors(`${keyEntry(kyvernoKey)}\n${keyEntry(kyvernoKey2)}`)), service);
    expect(both.status).toBe("error");
    expect(both.message).toContain("error occurred during manifest verification: .attestors[0].entries[1].keys: failed to verify signature");
    // At least one: the first verifies.
    expect(only(policy(attestors(`${keyEntry(kyvernoKey)}\n${keyEntry(kyvernoKey2)}`, 1)), service).status).toBe("pass");
    // The wrong key alone.
    expect(only(policy(attestors(keyEntry(kyvernoKey2))), service).status).toBe("error");
  });

  it("count larger than the valid signatures fails; two signatures, two keys in one PEM string and a nested attestor pass", () => {
    const multi = request("multi-signed-service-request.json");
    const tooMany = only(policy(attestors(keyEntry(kyvernoKey), 2)), multi);
    expect(tooMany.status).toBe("fail");
    expect(tooMany.message).toBe("manifest verification failed; verifiedCount 1; requiredCount 2; message ");
    // One PEM string with both keys = two entries (Kyverno's ExpandStaticKeys), both required by default.
    expect(only(policy(attestors(keyEntry(`${kyvernoKey.trim()}\n${kyvernoKey2.trim()}`))), multi).status).toBe("pass");
    expect(only(policy(attestors(keyEntry(`${kyvernoKey.trim()}\n${kyvernoKey2.trim()}`))), request("signed-service-request.json")).status).toBe("error");
    // Kyverno's Test_VerifyManifest_MustAll_ValidYAML: count 3 with a nested attestor (its key has trailing spaces).
    const nested = `${keyEntry(kyvernoKey)}\n${keyEntry(kyvernoKey2)}\n- attestor:\n    entries:\n    - keys:\n        publicKeys: ${JSON.stringify(`${kyvernoKey.trim()}    `)}`;
    const result = only(policy(attestors(nested, 3)), multi);
    expect(result.status).toBe("pass");
    expect(result.message).toContain("verifiedCount 3; requiredCount 3");
  });

  it("an unsigned object fails (message not found); a request with dryRun passes; DELETE is skipped", () => {
    const unsigned = request("signed-configmap-request.json", (o) => delete o["metadata"]["annotations"]);
    const result = only(oneKey, unsigned);
    expect(result.status).toBe("fail");
    expect(result.message).toContain(".attestors[0].entries[0].keys: YAML manifest not found for this resource: message not found");
    const raw = JSON.parse(read("kyverno/signed-configmap-request.json")) as Record<string, any>;
    const dry = toAdmissionInput({ kind: "AdmissionReview", request: { ...raw, dryRun: true, object: unsigned.object } }) as AdmissionInput;
    expect(only(oneKey, dry)).toMatchObject({ status: "pass", message: "allowed because of DryRun request" });
    const del = toAdmissionInput({ kind: "AdmissionReview", request: { ...raw, operation: "DELETE", object: null, oldObject: unsigned.object } }) as AdmissionInput;
    expect(oneKey.evaluateAdmission(del).map((r) => r.status)).not.toContain("fail");
  });

  it("a malformed message annotation is an error naming the annotation and the fix; a signature set with a Rekor bundle is not passed offline", () => {
    const bad = only(oneKey, request("signed-configmap-request.json", (o) => (o["metadata"]["annotations"]["cosign.sigstore.dev/message"] = "not base64!")));
    expect(bad.status).toBe("error");
    expect(bad.message).toContain("annotation cosign.sigstore.dev/message is not base64; re-sign the manifest");
    const notGzip = only(oneKey, request("signed-configmap-request.json", (o) => (o["metadata"]["annotations"]["cosign.sigstore.dev/message"] = Buffer.from("hello").toString("base64"))));
    expect(notGzip.status).toBe("error");
    expect(notGzip.message).toContain("does not hold a gzipped YAML manifest");
    const bundled = only(oneKey, request("signed-configmap-request.json", (o) => (o["metadata"]["annotations"]["cosign.sigstore.dev/bundle"] = "e30=")));
    expect(bundled.status).toBe("error");
    expect(bundled.message).toContain("Rekor");
  });
});

describe("Kyverno validate.manifests: sigstore/k8s-manifest-sigstore's samples", () => {
  const sample = (name: string): AdmissionInput => resourceInput(parse(read(name)) as Record<string, unknown>);

  it("reads the tar.gz message (ustar prefix + name) and the raw-YAML message; a key that did not sign them is refused", () => {
    // Upstream's key is not in our copy: Kyverno's key did not sign these, so the outcome is the signature error, which also shows
    // that the manifest was found in the message (else it would be "YAML manifest not found").
    for (const name of ["sample-configmap-signed.yaml", "sample-deployment-signed.yaml", "sample-configmap-multi-signed.yaml"]) {
      const result = only(policy(attestors(keyEntry(kyvernoKey))), sample(name));
      expect(result.status).toBe("error");
      expect(result.message).toContain("failed to verify signature: signature verification failed: cosign.sigstore.dev/signature: invalid signature for this key");
    }
  });
});

describe("Kyverno validate.manifests: the library policy other/verify-manifest-integrity", () => {
  const team = ecKey();
  const loaded = loadPolicyText(libraryPolicy(pemOf(team)), "verify-manifest-integrity.yaml");
  const library = loaded.policies[0] as KyvernoPolicy;
  const signedDeployment = signed(deployment(), [team]);

  it("loads and passes the signed Deployment as the API server admits it (defaults, namespace, uid)", () => {
    expect(loaded.errors).toEqual([]);
    expect(only(library, resourceInput(admitted(signedDeployment))).status).toBe("pass");
  });

  it("lets spec.replicas differ (its ignoreFields) but not the image; canonical image spellings are the same image", () => {
    const scaled = admitted(signedDeployment);
    scaled["spec"]["replicas"] = 5;
    expect(only(library, resourceInput(scaled)).status).toBe("pass");
    const swapped = admitted(signedDeployment);
    swapped["spec"]["template"]["spec"]["containers"][0]["image"] = "evil/nginx:1.27";
    const result = only(library, resourceInput(swapped));
    expect(result.status).toBe("fail");
    expect(result.message).toContain('"key":"spec.template.spec.containers.0.image","values":{"after":"evil/nginx:1.27","before":"nginx:1.27"}');
    const canonical = admitted(signedDeployment);
    canonical["spec"]["template"]["spec"]["containers"][0]["image"] = "docker.io/nginx:1.27";
    expect(only(library, resourceInput(canonical)).status).toBe("pass");
  });

  it("an added field not in the manifest is a difference (Kyverno uses the direct match, not the inclusion match)", () => {
    const extra = admitted(signedDeployment);
    extra["spec"]["template"]["spec"]["hostNetwork"] = true;
    const result = only(library, resourceInput(extra));
    expect(result.status).toBe("fail");
    expect(result.message).toContain('"key":"spec.template.spec.hostNetwork","values":{"after":true,"before":null}');
  });

  it("a signature by another key is an error, never a pass", () => {
    const other = signed(deployment(), [ecKey()]);
    expect(only(library, resourceInput(admitted(other))).status).toBe("error");
  });
});

describe("Kyverno validate.manifests: annotationDomain and dryRun", () => {
  const pair = ecKey();

  it("reads the annotations of annotationDomain (and ignores them in the comparison)", () => {
    const custom = signed(deployment(), [pair], "signatures.acme.io");
    const withDomain = policy(`${attestors(keyEntry(pemOf(pair)))}\nannotationDomain: signatures.acme.io`);
    expect(only(withDomain, resourceInput(admitted(custom))).status).toBe("pass");
    const defaultDomain = only(policy(attestors(keyEntry(pemOf(pair)))), resourceInput(admitted(custom)));
    expect(defaultDomain.status).toBe("fail");
    expect(defaultDomain.message).toContain("message not found");
  });

  it("dryRun.enable: a direct match passes; a difference, which Kyverno would re-check with a server-side dry-run, is an error naming the field", () => {
    const withDryRun = policy(`${attestors(keyEntry(pemOf(pair)))}\ndryRun:\n  enable: true\n  namespace: dryrun`);
    const object = signed(deployment(), [pair]);
    expect(only(withDryRun, resourceInput(admitted(object))).status).toBe("pass");
    const changed = admitted(object);
    changed["spec"]["replicas"] = 3;
    const result = only(withDryRun, resourceInput(changed));
    expect(result.status).toBe("error");
    expect(result.message).toContain("validate.manifests.dryRun.enable");
  });
});

describe("Kyverno validate.manifests: what does not load", () => {
  const loadError = (manifests: string): VigilError => {
    const text = `
apiVersion: kyverno.io/v1
kind: ClusterPolicy
metadata:
  name: verify-manifests
spec:
  rules:
  - name: verify
    match:
      any:
      - resources:
          kinds: [ConfigMap]
    validate:
      manifests:
${indent(manifests, 8)}
`;
    const loaded = loadPolicyText(text, "verify-manifests.yaml");
    expect(loaded.policies).toHaveLength(0);
    const error = loaded.errors[0];
    expect(error).toBeInstanceOf(VigilError);
    return error as VigilError;
  };

  it("keyless and certificate attestors, OCI repositories and key references fail to load as unsupported, naming the field", () => {
    const keyless = loadError(attestors("- keyless:\n    subject: me@acme.io\n    issuer: https://accounts.google.com"));
    expect(keyless.code).toBe("VIGIL_POLICY_UNSUPPORTED");
    expect(keyless.details.field).toBe("spec.rules[0].validate.manifests.attestors[0].entries[0].keyless");
    expect(loadError(attestors("- certificates:\n    cert: x")).details.field).toBe("spec.rules[0].validate.manifests.attestors[0].entries[0].certificates");
    expect(loadError(`${attestors(keyEntry(kyvernoKey))}\nrepository: ghcr.io/acme/manifests`).details.field).toBe("spec.rules[0].validate.manifests.repository");
    const secret = loadError(attestors("- keys:\n    publicKeys: k8s://kyverno/cosign-pub"));
    expect(secret.code).toBe("VIGIL_POLICY_UNSUPPORTED");
    expect(secret.details.field).toBe("spec.rules[0].validate.manifests.attestors[0].entries[0].keys.publicKeys");
  });

  it("a key that does not parse is a load error naming the field", () => {
    const broken = loadError(attestors(keyEntry("-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----")));
    expect(broken.code).toBe("VIGIL_POLICY_LOAD");
    expect(broken.details.field).toBe("spec.rules[0].validate.manifests.attestors[0].entries[0].keys.publicKeys");
  });
});
