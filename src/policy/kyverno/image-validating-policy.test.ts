import { generateKeyPairSync, type KeyObject } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ApiAnswer, ClusterView } from "../../core/context.js";
import { startTestFulcio } from "../../context/kubernetes/fulcio-test-ca.js";
import { fetchUnanswered } from "../../context/kubernetes/lookups.js";
import { createRegistryClient } from "../../context/kubernetes/registry-client.js";
import { startFakeRegistry, type FakeRegistry } from "../../context/kubernetes/registry-test-server.js";
import { createPolicySet, loadPolicyText } from "../index.js";
import { clusterContextResolver } from "./context.js";
import type { KyvernoPolicy } from "./policy.js";
import { resourceInput, type AdmissionInput } from "./request.js";

type Pair = { privateKey: KeyObject; publicKey: KeyObject };
const ec = (): Pair => generateKeyPairSync("ec", { namedCurve: "P-256" });
const pem = (pair: Pair): string => pair.publicKey.export({ type: "spki", format: "pem" }).toString();
const release = ec();
const stranger = ec();
const fulcio = startTestFulcio();
const workflow = "https://github.com/acme/app/.github/workflows/release.yml@refs/tags/v3.0.0";
const ciCert = fulcio.issue({ subject: workflow, issuer: "https://token.actions.githubusercontent.com" });
const notaryCa = startTestFulcio();
const notarySigner = notaryCa.issue({ subject: "mailto:release@acme.example", issuer: "https://acme.example", notAfter: new Date(Date.now() + 86_400_000) });
const provenance = { buildDefinition: { buildType: "https://actions.github.io/buildtypes/workflow/v1", externalParameters: { workflow: { repository: "https://github.com/acme/app", ref: "refs/tags/v3.0.0" } } } };

let registry: FakeRegistry;
beforeAll(async () => {
  registry = await startFakeRegistry({
    "acme/api:3.0": { created: "2025-01-01T00:00:00Z", signatures: [{ ...release }], attestations: [{ ...release, predicateType: "https://slsa.dev/provenance/v1", predicate: provenance }] },
    "acme/keyless:3.0": { created: "2025-01-01T00:00:00Z", bundles: [{ ...ciCert, certificate: ciCert }] },
    "acme/notation:3.0": { created: "2025-01-01T00:00:00Z", notarySignatures: [notarySigner], referrerArtifacts: [{ artifactType: "sbom/cyclone-dx", content: { bomFormat: "CycloneDX", specVersion: "1.5" }, signedBy: [notarySigner] }] },
    "acme/unsigned:3.0": { created: "2025-01-01T00:00:00Z" },
    "acme/stranger:3.0": { created: "2025-01-01T00:00:00Z", signatures: [{ ...stranger }] },
  });
});
afterAll(async () => registry.close());

const indent = (text: string, spaces: number): string => text.trim().split("\n").map((line) => " ".repeat(spaces) + line).join("\n");

function ivpol(body: string, name = "check-images"): KyvernoPolicy {
  const loaded = loadPolicyText(`
apiVersion: policies.kyverno.io/v1
kind: ImageValidatingPolicy
metadata:
  name: ${name}
spec:
  validationActions: [Deny]
  matchConstraints:
    resourceRules:
    - apiGroups: [""]
      apiVersions: [v1]
      operations: [CREATE, UPDATE]
      resources: [pods]
  matchImageReferences:
  - glob: "${registry.host}/acme/*"
${body}
`, "ivpol.yaml");
  expect(loaded.errors.map((e) => e.message)).toEqual([]);
  return loaded.policies[0] as KyvernoPolicy;
}

const attestors = (): string => `
  attestors:
  - name: release
    cosign:
      key:
        data: |
${indent(pem(release), 10)}
      ctlog:
        insecureIgnoreTlog: true
  - name: ci
    cosign:
      keyless:
        identities:
        - issuer: https://token.actions.githubusercontent.com
          subjectRegExp: "^https://github.com/acme/.*"
        roots:
          value: |
${indent(fulcio.trustPem, 12)}
      ctlog:
        insecureIgnoreTlog: true
        ctLogPubKey: |
${indent(fulcio.ctLogPem, 10)}
  - name: notary
    notary:
      certs:
        value: |
${indent(notaryCa.rootPem, 10)}`;

const pod = (...images: string[]): AdmissionInput => resourceInput({ apiVersion: "v1", kind: "Pod", metadata: { name: "web", namespace: "shop" }, spec: { containers: images.map((image, i) => ({ name: `c${i}`, image })) } }, { operation: "CREATE" });
const image = (name: string): string => `${registry.host}/acme/${name}`;
const pinned = (name: string): string => `${image(name)}@${registry.digestOf(`acme/${name}`)}`;

async function withLookups<T>(run: (options: { resolver: ReturnType<typeof clusterContextResolver> }) => T, cluster?: ClusterView): Promise<T> {
  const client = createRegistryClient({ insecure: [registry.host] });
  let fetched: Map<string, ApiAnswer> | undefined;
  for (let round = 0; round < 10; round++) {
    const unanswered = new Set<string>();
    const result = run({ resolver: clusterContextResolver({ registry: client, ...(cluster ? { cluster } : {}), unanswered, ...(fetched ? { fetched } : {}) }) });
    const more = await fetchUnanswered({ registry: client, cluster }, unanswered, fetched);
    if (more === undefined) return result;
    fetched = more;
  }
  throw new Error("lookups did not settle");
}
const validate = (p: KyvernoPolicy, input: AdmissionInput) => withLookups((options) => p.evaluateAdmission(input, options));

describe("Kyverno ImageValidatingPolicy", () => {
  let compiled: KyvernoPolicy | undefined;
  const signaturesPolicy = (): KyvernoPolicy => (compiled ??= ivpol(`${attestors()}
  validations:
  - expression: >-
      images.containers.map(image, verifyImageSignatures(image, [attestors.release, attestors.ci, attestors.notary])).all(e, e > 0)
    message: every image must be signed by the release key, the CI workflow or the notary certificate`));

  it("verifyImageSignatures counts the attestors that verified each image: key, keyless (cosign v3 bundle) and Notary all pass", async () => {
    const results = await validate(signaturesPolicy(), pod(pinned("api:3.0"), pinned("keyless:3.0"), pinned("notation:3.0")));
    expect(results.map((r) => [r.status, r.message])).toEqual([["pass", `verified images: ${pinned("api:3.0")}, ${pinned("keyless:3.0")}, ${pinned("notation:3.0")}`]]);
    // the trace names the attestor that verified each image
    expect(results[0]?.trace.filter((s) => s.value === true && s.expr.startsWith("attestors.")).map((s) => s.expr)).toEqual([`attestors.release signed ${pinned("api:3.0")}`, `attestors.ci signed ${pinned("keyless:3.0")}`, `attestors.notary signed ${pinned("notation:3.0")}`]);
  });

  it("an unsigned image, or one signed by another key, fails with the validation's message", async () => {
    for (const name of ["unsigned:3.0", "stranger:3.0"]) {
      const results = await validate(signaturesPolicy(), pod(pinned("api:3.0"), pinned(name)));
      expect(results.map((r) => [r.status, r.message])).toEqual([["fail", "every image must be signed by the release key, the CI workflow or the notary certificate"]]);
    }
  });

  it("verifyDigest (default true) fails images named by tag; images outside matchImageReferences are not looked at", async () => {
    expect((await validate(signaturesPolicy(), pod(image("api:3.0")))).map((r) => [r.status, r.message])).toEqual([["fail", `missing digest for ${image("api:3.0")}`]]);
    // nginx is not selected by the glob: the policy does not apply to it at all
    expect(await validate(signaturesPolicy(), pod("docker.io/library/nginx:1.27"))).toEqual([]);
    expect((await validate(signaturesPolicy(), pod("docker.io/library/nginx:1.27", pinned("api:3.0")))).map((r) => r.status)).toEqual(["pass"]);
  });

  it("matchImageReferences expression: CEL on the reference `ref` selects images; an expression that fails or is not a bool makes the result an error; an entry with neither glob nor expression fails to load", async () => {
    const byExpression = (expression: string): ReturnType<typeof loadPolicyText> => loadPolicyText(`
apiVersion: policies.kyverno.io/v1
kind: ImageValidatingPolicy
metadata: {name: by-expression}
spec:
  validationActions: [Deny]
  matchConstraints:
    resourceRules: [{apiGroups: [""], apiVersions: [v1], operations: [CREATE], resources: [pods]}]
  matchImageReferences:
  - expression: ${JSON.stringify(expression)}
${attestors()}
  validations:
  - expression: "images.containers.all(i, verifyImageSignatures(i, [attestors.release]) > 0)"
    message: signed by the release key
`, "expression.yaml");
    const policy = (expression: string): KyvernoPolicy => {
      const loaded = byExpression(expression);
      expect(loaded.errors.map((e) => e.message)).toEqual([]);
      return loaded.policies[0] as KyvernoPolicy;
    };
    const apiOnly = policy(`ref.startsWith("${registry.host}/acme/api")`);
    // The signed api image is selected and verified; the unsigned one and nginx are not selected, so not looked at.
    expect((await validate(apiOnly, pod(pinned("api:3.0"), pinned("unsigned:3.0"), "docker.io/library/nginx:1.27"))).map((r) => [r.status, r.message])).toEqual([["pass", `verified images: ${pinned("api:3.0")}`]]);
    expect(await validate(apiOnly, pod("docker.io/library/nginx:1.27"))).toEqual([]);
    // Selecting the unsigned image too makes the verdict fail.
    expect((await validate(policy(`ref.contains("/acme/")`), pod(pinned("api:3.0"), pinned("unsigned:3.0")))).map((r) => r.status)).toEqual(["fail"]);
    const failing = await validate(policy("int(ref) > 0"), pod(pinned("api:3.0")));
    expect(failing.map((r) => r.status)).toEqual(["error"]);
    expect(failing[0]?.message).toContain(`spec.matchImageReferences[0].expression on ${pinned("api:3.0")}:`);
    const notBool = await validate(policy("ref"), pod(pinned("api:3.0")));
    expect(notBool.map((r) => [r.status, r.message])).toEqual([["error", `spec.matchImageReferences[0].expression on ${pinned("api:3.0")}: the result must be a bool, got ${JSON.stringify(pinned("api:3.0"))}`]]);
    const neither = loadPolicyText(`
apiVersion: policies.kyverno.io/v1
kind: ImageValidatingPolicy
metadata: {name: neither}
spec:
  matchImageReferences: [{}]
  validations: [{expression: "true"}]
`, "neither.yaml");
    expect(neither.errors.map((e) => [e.code, e.details.field])).toEqual([["VIGIL_POLICY_LOAD", "spec.matchImageReferences[0]"]]);
  });

  it("attestations: verifyAttestationSignatures and extractPayload read the signed SLSA provenance", async () => {
    const p = ivpol(`${attestors()}
  attestations:
  - name: provenance
    intoto:
      type: https://slsa.dev/provenance/v1
  validations:
  - expression: >-
      images.containers.map(image, verifyAttestationSignatures(image, attestations.provenance, [attestors.release])).all(e, e > 0)
    message: provenance must be attested by the release key
  - expression: >-
      images.containers.all(image, extractPayload(image, attestations.provenance).buildDefinition.externalParameters.workflow.ref.startsWith('refs/tags/'))
    message: images must be built from a tag`);
    expect((await validate(p, pod(pinned("api:3.0")))).map((r) => r.status)).toEqual(["pass"]);
    expect((await validate(p, pod(pinned("keyless:3.0")))).map((r) => [r.status, r.message])).toEqual([["fail", "provenance must be attested by the release key"]]);
  });

  it("referrer attestations with a notary attestor: the signed SBOM's content through extractPayload (Kyverno's documented example)", async () => {
    const p = ivpol(`${attestors()}
  attestations:
  - name: sbom
    referrer:
      type: sbom/cyclone-dx
  validations:
  - expression: >-
      images.containers.map(image, verifyImageSignatures(image, [attestors.notary])).all(e, e > 0)
    message: failed to verify image with notary cert
  - expression: >-
      images.containers.map(image, verifyAttestationSignatures(image, attestations.sbom, [attestors.notary])).all(e, e > 0)
    message: failed to verify attestation with notary cert
  - expression: >-
      images.containers.map(image, extractPayload(image, attestations.sbom).bomFormat == 'CycloneDX').all(e, e)
    message: sbom is not a cyclone dx sbom`);
    expect((await validate(p, pod(pinned("notation:3.0")))).map((r) => r.status)).toEqual(["pass"]);
    expect((await validate(p, pod(pinned("api:3.0")))).map((r) => [r.status, r.message])).toEqual([["fail", "failed to verify image with notary cert"]]);
  });

  it("the mutating webhook pins the verified images to their digest (mutateDigest, default true)", async () => {
    const relaxed = ivpol(`${attestors()}
  validationConfigurations:
    verifyDigest: false
  validations:
  - expression: "images.containers.all(image, verifyImageSignatures(image, [attestors.release]) > 0)"
    message: signed by the release key`);
    const outcome = await withLookups((options) => relaxed.mutateAdmission!(pod(image("api:3.0")), options));
    expect(outcome.results.map((r) => r.status)).toEqual(["pass"]);
    expect(outcome.patch).toEqual([{ op: "replace", path: "/spec/containers/0/image", value: `${image("api:3.0")}@${registry.digestOf("acme/api:3.0")}` }]);
    const unsigned = await withLookups((options) => relaxed.mutateAdmission!(pod(image("unsigned:3.0")), options));
    expect(unsigned.results.map((r) => r.status)).toEqual(["fail"]);
    expect(unsigned.patch).toEqual([]);
  });

  it("Deployments get the policy through autogen; a CEL PolicyException skips it", async () => {
    const deployment = resourceInput({ apiVersion: "apps/v1", kind: "Deployment", metadata: { name: "web", namespace: "shop" }, spec: { template: { spec: { containers: [{ name: "app", image: pinned("unsigned:3.0") }] } } } }, { operation: "CREATE" });
    expect((await validate(signaturesPolicy(), deployment)).map((r) => r.status)).toEqual(["fail"]);
    const loaded = loadPolicyText(`
apiVersion: policies.kyverno.io/v1
kind: ImageValidatingPolicy
metadata: {name: signed}
spec:
  validationActions: [Deny]
  matchConstraints: {resourceRules: [{apiGroups: [""], apiVersions: [v1], operations: [CREATE], resources: [pods]}]}
  attestors: [{name: release, cosign: {key: {data: ${JSON.stringify(pem(release))}}, ctlog: {insecureIgnoreTlog: true}}}]
  validations: [{expression: "images.containers.all(i, verifyImageSignatures(i, [attestors.release]) > 0)"}]
---
apiVersion: policies.kyverno.io/v1
kind: PolicyException
metadata: {name: legacy-web, namespace: shop}
spec:
  policyRefs: [{name: signed, kind: ImageValidatingPolicy}]
  matchConditions: [{name: legacy, expression: "object.metadata.name == 'legacy'"}]
`, "with-exception.yaml");
    expect(loaded.errors).toEqual([]);
    const set = createPolicySet(loaded.policies);
    const legacy = resourceInput({ apiVersion: "v1", kind: "Pod", metadata: { name: "legacy", namespace: "shop" }, spec: { containers: [{ name: "app", image: pinned("unsigned:3.0") }] } }, { operation: "CREATE" });
    const results = await withLookups((options) => (set.policies[0] as KyvernoPolicy).evaluateAdmission(legacy, options));
    expect(results.map((r) => [r.status, r.message])).toEqual([["skip", "rule skipped due to policy exception shop/legacy-web"]]);
  });

  it("cosign.key.secretRef: the public key is the Secret's cosign.pub, read from the cluster (a live GET), as Kyverno reads it", async () => {
    const gets: string[] = [];
    const cluster: ClusterView = {
      namespace: () => undefined,
      configMap: () => undefined,
      rolesOf: () => ({ roles: [], clusterRoles: [] }),
      fetch: async (path) => {
        gets.push(path);
        return path === "/api/v1/namespaces/kyverno/secrets/release-key"
          ? { ok: true, body: { apiVersion: "v1", kind: "Secret", metadata: { name: "release-key", namespace: "kyverno" }, data: { "cosign.pub": Buffer.from(pem(release)).toString("base64") } } }
          : { ok: false, error: `GET ${path} answered HTTP 404: secrets not found` };
      },
    };
    const fromSecret = (name: string) => ivpol(`
  attestors: [{name: release, cosign: {key: {secretRef: {name: ${name}, namespace: kyverno}}, ctlog: {insecureIgnoreTlog: true}}}]
  validations: [{expression: "images.containers.all(i, verifyImageSignatures(i, [attestors.release]) > 0)", message: signed by the release key}]`, `from-${name}`);
    expect((await withLookups((options) => fromSecret("release-key").evaluateAdmission(pod(pinned("api:3.0")), options), cluster)).map((r) => r.status)).toEqual(["pass"]);
    expect(gets).toContain("/api/v1/namespaces/kyverno/secrets/release-key");
    expect((await withLookups((options) => fromSecret("release-key").evaluateAdmission(pod(pinned("unsigned:3.0")), options), cluster)).map((r) => r.status)).toEqual(["fail"]);
    const missing = await withLookups((options) => fromSecret("gone").evaluateAdmission(pod(pinned("api:3.0")), options), cluster);
    expect(missing.map((r) => r.status)).toEqual(["error"]);
    expect(missing[0]?.message).toContain("cosign.key.secretRef: GET /api/v1/namespaces/kyverno/secrets/gone failed");
  });

  it("what Vigil does not check fails to load naming the field, or errors when a validation uses it; without registries it errors", async () => {
    const jsonMode = loadPolicyText(`
apiVersion: policies.kyverno.io/v1
kind: ImageValidatingPolicy
metadata: {name: json-mode}
spec:
  evaluation: {mode: JSON}
  validations: [{expression: "true"}]
`, "json.yaml");
    expect(jsonMode.errors.map((e) => [e.code, e.details.field])).toEqual([["VIGIL_POLICY_UNSUPPORTED", "spec.evaluation.mode"]]);
    const kms = ivpol(`
  attestors: [{name: kms, cosign: {key: {kms: "awskms:///arn:aws:kms:eu-west-1:111122223333:key/k"}}}]
  validations: [{expression: "images.containers.all(i, verifyImageSignatures(i, [attestors.kms]) > 0)"}]`);
    const errored = await validate(kms, pod(pinned("api:3.0")));
    expect(errored.map((r) => r.status)).toEqual(["error"]);
    expect(errored[0]?.message).toContain("attestor kms: cosign.key.kms: \"awskms:///arn:aws:kms:eu-west-1:111122223333:key/k\" is not an AWS KMS key reference");
    const offline = signaturesPolicy().evaluateAdmission(pod(pinned("api:3.0")));
    expect(offline.map((r) => [r.status, r.message])).toEqual([["error", `no answer for ${pinned("api:3.0")} from attestor release: verifying images needs image registries (admission.registries in vigil.yaml)`]]);
  });
});
