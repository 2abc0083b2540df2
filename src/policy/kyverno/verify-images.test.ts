import { generateKeyPairSync, type KeyObject } from "node:crypto";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ApiAnswer, ClusterView } from "../../core/context.js";
import { startTestFulcio } from "../../context/kubernetes/fulcio-test-ca.js";
import { fetchUnanswered } from "../../context/kubernetes/lookups.js";
import { createRegistryClient } from "../../context/kubernetes/registry-client.js";
import { startFakeRegistry, type FakeRegistry } from "../../context/kubernetes/registry-test-server.js";
import { loadPolicyText } from "../index.js";
import { createCelEnvironment } from "../cel/index.js";
import { clusterContextResolver } from "./context.js";
import { runKyvernoTests } from "./test-runner.js";
import type { KyvernoPolicy, MutationOutcome } from "./policy.js";
import { resourceInput, type AdmissionInput } from "./request.js";
import type { RuleResult } from "./results.js";

type Pair = { privateKey: KeyObject; publicKey: KeyObject };
const ec = (): Pair => generateKeyPairSync("ec", { namedCurve: "P-256" });
const pem = (pair: Pair): string => pair.publicKey.export({ type: "spki", format: "pem" }).toString();
const indent = (text: string, spaces: number): string => text.trim().split("\n").map((line) => " ".repeat(spaces) + line).join("\n");
const ci = ec();
const release = ec();
const stranger = ec();

let registry: FakeRegistry;
beforeAll(async () => {
  registry = await startFakeRegistry({
    "acme/signed:1.0": { created: "2025-01-01T00:00:00Z", signatures: [{ ...ci }] },
    "acme/both:1.0": { created: "2025-01-01T00:00:00Z", signatures: [{ ...ci }, { ...release }] },
    "acme/unsigned:1.0": { created: "2025-01-01T00:00:00Z" },
    "acme/v3:1.0": { created: "2025-01-01T00:00:00Z", bundles: [{ ...ci }] },
    "acme/strangers:1.0": { created: "2025-01-01T00:00:00Z", signatures: [{ ...stranger }] },
    "acme/built:1.0": {
      created: "2025-01-01T00:00:00Z",
      signatures: [{ ...ci }],
      attestations: [{ ...ci, predicateType: "https://slsa.dev/provenance/v0.2", predicate: { builder: { id: "https://github.com/acme/ci/.github/workflows/build.yml@refs/heads/main" }, invocation: { parameters: { ref: "main" } } } }],
    },
    "acme/forked:1.0": {
      created: "2025-01-01T00:00:00Z",
      signatures: [{ ...ci }],
      attestations: [{ ...ci, predicateType: "https://slsa.dev/provenance/v0.2", predicate: { builder: { id: "https://github.com/someone/fork/.github/workflows/build.yml@refs/heads/main" } } }],
    },
  });
});
afterAll(async () => registry.close());

function policy(verifyImages: string, extra = ""): KyvernoPolicy {
  const text = `
apiVersion: kyverno.io/v1
kind: ClusterPolicy
metadata:
  name: check-image
spec:
  webhookTimeoutSeconds: 30
  rules:
  - name: check-signature
    match:
      any:
      - resources:
          kinds: [Pod]
${extra}
    verifyImages:
${indent(verifyImages, 4)}
`;
  const loaded = loadPolicyText(text, "check-image.yaml");
  expect(loaded.errors).toEqual([]);
  return loaded.policies[0] as KyvernoPolicy;
}

const keysAttestor = (pair: Pair, extra = ""): string => `
- entries:
  - keys:
      publicKeys: |-
${indent(pem(pair), 8)}
      rekor:
        ignoreTlog: true
${extra}`;

const pod = (...images: string[]): AdmissionInput => resourceInput({ apiVersion: "v1", kind: "Pod", metadata: { name: "web", namespace: "shop" }, spec: { containers: images.map((image, i) => ({ name: `c${i}`, image })) } }, { operation: "CREATE" });
const image = (name: string): string => `${registry.host}/acme/${name}`;

/** Evaluates as the pipeline does: the lookups the rules ask for are fetched from the registry and the policy evaluated again. */
async function withLookups<T>(run: (options: { resolver: ReturnType<typeof clusterContextResolver> }) => T, registryClient = createRegistryClient({ insecure: [registry.host] }), cluster?: ClusterView): Promise<T> {
  let fetched: Map<string, ApiAnswer> | undefined;
  for (let round = 0; round < 10; round++) {
    const unanswered = new Set<string>();
    const result = run({ resolver: clusterContextResolver({ registry: registryClient, ...(cluster ? { cluster } : {}), unanswered, ...(fetched ? { fetched } : {}) }) });
    const more = await fetchUnanswered({ registry: registryClient, cluster }, unanswered, fetched);
    if (more === undefined) return result;
    fetched = more;
  }
  throw new Error("lookups did not settle");
}

const validate = (p: KyvernoPolicy, input: AdmissionInput): Promise<RuleResult[]> => withLookups((options) => p.evaluateAdmission(input, options));
const mutate = (p: KyvernoPolicy, input: AdmissionInput): Promise<MutationOutcome> => withLookups((options) => p.mutateAdmission!(input, options));

describe("Kyverno verifyImages rules (Cosign, public keys)", () => {
  const signedBy = (pair: Pair, options = ""): KyvernoPolicy => policy(`
- imageReferences:
  - "${registry.host}/acme/*"
${options}
  attestors:
${indent(keysAttestor(pair), 2)}
`);

  it("the mutating webhook verifies the signature, pins the image to the digest it verified and records it in kyverno.io/verify-images", async () => {
    const outcome = await mutate(signedBy(ci), pod(image("signed:1.0")));
    expect(outcome.results.map((r) => [r.status, r.message])).toEqual([["pass", `verified image signatures for ${image("signed:1.0")}`]]);
    const digest = registry.digestOf("acme/signed:1.0");
    expect(outcome.patch).toEqual([
      { op: "add", path: "/metadata/annotations", value: { "kyverno.io/verify-images": JSON.stringify({ [`${image("signed")}@${digest}`]: "pass" }) } },
      { op: "replace", path: "/spec/containers/0/image", value: `${image("signed:1.0")}@${digest}` },
    ]);
    // the trace says which attestor verified which image, with the digest
    expect(outcome.results[0]?.trace[0]).toMatchObject({ kind: "condition", expr: `.attestors[0].entries[0].keys signed ${image("signed:1.0")}`, value: true, inputs: { digest } });
  });

  it("an image signed by cosign v3 (a Sigstore bundle attached as a referrer) verifies with the same rule, and with type SigstoreBundle", async () => {
    const outcome = await mutate(signedBy(ci), pod(image("v3:1.0")));
    expect(outcome.results.map((r) => [r.status, r.message])).toEqual([["pass", `verified image signatures for ${image("v3:1.0")}`]]);
    const bundleType = signedBy(ci, "  type: SigstoreBundle\n  verifyDigest: false");
    expect((await validate(bundleType, pod(image("v3:1.0")))).map((r) => r.status)).toEqual(["pass"]);
    expect((await validate(signedBy(release, "  verifyDigest: false"), pod(image("v3:1.0")))).map((r) => r.status)).toEqual(["fail"]);
  });

  it("fails an unsigned image, and one signed by another key, with Kyverno's message naming the attestor", async () => {
    const p = signedBy(ci);
    const unsigned = await mutate(p, pod(image("unsigned:1.0")));
    expect(unsigned.results.map((r) => [r.status, r.message])).toEqual([["fail", `failed to verify image ${image("unsigned:1.0")}: .attestors[0].entries[0].keys: no signatures found`]]);
    expect(unsigned.patch).toEqual([]);
    const strangers = await mutate(p, pod(image("strangers:1.0")));
    expect(strangers.results[0]?.message).toBe(`failed to verify image ${image("strangers:1.0")}: .attestors[0].entries[0].keys: no matching signatures:\ninvalid signature`);
    // every matching container is checked: one bad image fails the rule
    const mixed = await mutate(p, pod(image("signed:1.0"), image("unsigned:1.0")));
    expect(mixed.results[0]?.status).toBe("fail");
  });

  it("validation: verifyDigest (default) fails an image named by tag; the pinned image passes; verifyDigest: false accepts the tag", async () => {
    const p = signedBy(ci);
    const byTag = await validate(p, pod(image("signed:1.0")));
    expect(byTag.map((r) => [r.status, r.message])).toEqual([["fail", `missing digest for ${image("signed:1.0")}`]]);
    const pinned = await validate(p, pod(`${image("signed:1.0")}@${registry.digestOf("acme/signed:1.0")}`));
    expect(pinned.map((r) => r.status)).toEqual(["pass"]);
    // a pinned image whose signatures do not verify still fails in validation (Vigil checks again rather than trusting the annotation)
    const forged = await validate(p, pod(`${image("unsigned:1.0")}@${registry.digestOf("acme/unsigned:1.0")}`));
    expect(forged[0]?.status).toBe("fail");
    const relaxed = await validate(signedBy(ci, "  verifyDigest: false"), pod(image("signed:1.0")));
    expect(relaxed.map((r) => r.status)).toEqual(["pass"]);
  });

  it("images outside imageReferences, or in skipImageReferences, are not checked (no result at all, as in Kyverno)", async () => {
    const p = signedBy(ci, `  skipImageReferences:\n  - "${registry.host}/acme/unsigned*"`);
    expect((await mutate(p, pod("docker.io/library/nginx:1.27"))).results).toEqual([]);
    expect((await mutate(p, pod(image("unsigned:1.0")))).results).toEqual([]);
  });

  it("an attestor set needs all its entries unless count says otherwise; several PEM keys in publicKeys are one entry each", async () => {
    const both = policy(`
- imageReferences: ["${registry.host}/acme/*"]
  attestors:
  - entries:
    - keys:
        publicKeys: |-
${indent(pem(ci), 10)}
${indent(pem(release), 10)}
        rekor: {ignoreTlog: true}
`);
    expect((await mutate(both, pod(image("both:1.0")))).results[0]?.status).toBe("pass");
    expect((await mutate(both, pod(image("signed:1.0")))).results[0]?.message).toContain(".attestors[0].entries[1].keys: no matching signatures");
    const any = policy(`
- imageReferences: ["${registry.host}/acme/*"]
  attestors:
  - count: 1
    entries:
    - keys:
        publicKeys: |-
${indent(pem(release), 10)}
        rekor: {ignoreTlog: true}
    - keys:
        publicKeys: |-
${indent(pem(ci), 10)}
        rekor: {ignoreTlog: true}
`);
    expect((await mutate(any, pod(image("signed:1.0")))).results[0]?.status).toBe("pass");
    expect((await mutate(any, pod(image("strangers:1.0")))).results[0]?.status).toBe("fail");
    // an entry Vigil cannot check (a KMS key) does not stop another entry from satisfying count: 1
    const kmsOrKey = policy(`
- imageReferences: ["${registry.host}/acme/*"]
  attestors:
  - count: 1
    entries:
    - keys:
        kms: gcpkms://projects/acme/locations/global/keyRings/ring/cryptoKeys/key
    - keys:
        publicKeys: |-
${indent(pem(ci), 10)}
        rekor: {ignoreTlog: true}
`);
    expect((await mutate(kmsOrKey, pod(image("signed:1.0")))).results[0]?.status).toBe("pass");
    expect((await mutate(kmsOrKey, pod(image("strangers:1.0")))).results[0]?.status).toBe("unsupported");
  });

  it("attestations: the signed SLSA provenance's builder is checked with conditions on the predicate", async () => {
    const p = policy(`
- imageReferences: ["${registry.host}/acme/*"]
  mutateDigest: false
  verifyDigest: false
  attestations:
  - type: https://slsa.dev/provenance/v0.2
    attestors:
${indent(keysAttestor(ci), 4)}
    conditions:
    - all:
      - key: "{{ builder.id }}"
        operator: Equals
        value: "https://github.com/acme/ci/.github/workflows/build.yml@refs/heads/main"
`);
    const built = await validate(p, pod(image("built:1.0")));
    expect(built.map((r) => [r.status, r.message])).toEqual([["pass", `verified image signatures for ${image("built:1.0")}`]]);
    const forked = await validate(p, pod(image("forked:1.0")));
    expect(forked[0]?.status).toBe("fail");
    expect(forked[0]?.message).toBe(`.attestations[0].attestors[0].entries[0].keys: attestation checks failed for ${image("forked:1.0")} and predicate https://slsa.dev/provenance/v0.2`);
    const none = await validate(p, pod(image("signed:1.0")));
    expect(none[0]?.message).toBe(`failed to verify image ${image("signed:1.0")}: .attestations[0].attestors[0].entries[0].keys: no attestations found`);
  });

  it("the public key can come from a variable (a configMap context entry mocked by values, as in kyverno test)", async () => {
    const p = policy(`
- imageReferences: ["${registry.host}/acme/*"]
  verifyDigest: false
  attestors:
  - entries:
    - keys:
        publicKeys: "{{ keys.data.ci }}"
        rekor: {ignoreTlog: true}
`, `    context:
    - name: keys
      configMap:
        name: signing-keys
        namespace: kyverno`);
    const results = await withLookups((options) => p.evaluateAdmission(pod(image("signed:1.0")), { ...options, values: { keys: { data: { ci: pem(ci) } } } }));
    expect(results.map((r) => r.status)).toEqual(["pass"]);
  });

  it("autogen: a Deployment's pod template is checked by the generated rule and pinned at spec.template", async () => {
    const p = signedBy(ci);
    expect(p.rules.map((r) => r.name)).toEqual(["check-signature", "autogen-check-signature", "autogen-cronjob-check-signature"]);
    const deployment = resourceInput({ apiVersion: "apps/v1", kind: "Deployment", metadata: { name: "web", namespace: "shop" }, spec: { template: { metadata: {}, spec: { containers: [{ name: "app", image: image("signed:1.0") }] } } } }, { operation: "CREATE" });
    const outcome = await mutate(p, deployment);
    expect(outcome.results.map((r) => [r.rule, r.status])).toEqual([["autogen-check-signature", "pass"]]);
    expect(outcome.patch).toContainEqual({ op: "replace", path: "/spec/template/spec/containers/0/image", value: `${image("signed:1.0")}@${registry.digestOf("acme/signed:1.0")}` });
  });

  it("imageExtractors: a custom resource's image field (the library's Tekton TaskRun bundle)", async () => {
    const taskRun = (bundle: string): AdmissionInput => resourceInput({ apiVersion: "tekton.dev/v1beta1", kind: "TaskRun", metadata: { name: "build", namespace: "ci" }, spec: { taskRef: { name: "build", bundle } } }, { operation: "CREATE" });
    const text = loadPolicyText(`
apiVersion: kyverno.io/v1
kind: ClusterPolicy
metadata: {name: signed-tekton-task-bundle}
spec:
  rules:
  - name: check-signature
    match: {any: [{resources: {kinds: [TaskRun]}}]}
    imageExtractors:
      TaskRun:
      - {name: taskruns, path: /spec/taskRef, value: bundle, key: name}
    verifyImages:
    - imageReferences: ["*"]
      verifyDigest: false
      attestors:
      - entries:
        - keys:
            publicKeys: ${JSON.stringify(pem(ci))}
            rekor: {ignoreTlog: true}
`);
    expect(text.errors).toEqual([]);
    const tekton = text.policies[0] as KyvernoPolicy;
    expect((await validate(tekton, taskRun(image("signed:1.0")))).map((r) => r.status)).toEqual(["pass"]);
    expect((await validate(tekton, taskRun(image("unsigned:1.0")))).map((r) => r.status)).toEqual(["fail"]);
    const pinned = await mutate(tekton, taskRun(image("signed:1.0")));
    expect(pinned.patch).toContainEqual({ op: "replace", path: "/spec/taskRef/bundle", value: `${image("signed:1.0")}@${registry.digestOf("acme/signed:1.0")}` });
  });

  it("keyless attestors: the Fulcio certificate's identity, issuer and GitHub extensions, against the policy's roots and CT log key", async () => {
    const fulcio = startTestFulcio();
    const workflow = "https://github.com/acme/app/.github/workflows/release.yml@refs/tags/v2.0.0";
    const cert = fulcio.issue({ subject: workflow, issuer: "https://token.actions.githubusercontent.com", github: { "1.5": "acme/app" } });
    const keylessRegistry = await startFakeRegistry({ "acme/keyless:2.0": { created: "2025-01-01T00:00:00Z", signatures: [{ ...cert, certificate: cert }] } });
    try {
      const keyless = (subject: string, repository: string): KyvernoPolicy => policy(`
- imageReferences: ["${keylessRegistry.host}/acme/*"]
  verifyDigest: false
  attestors:
  - entries:
    - keyless:
        subject: "${subject}"
        issuer: https://token.actions.githubusercontent.com
        additionalExtensions:
          githubWorkflowRepository: ${repository}
        roots: ${JSON.stringify(fulcio.trustPem)}
        rekor: {ignoreTlog: true}
        ctlog:
          pubkey: ${JSON.stringify(fulcio.ctLogPem)}
`);
      const client = createRegistryClient({ insecure: [keylessRegistry.host] });
      const image = `${keylessRegistry.host}/acme/keyless:2.0`;
      const ok = await withLookups((options) => keyless("https://github.com/acme/app/*", "acme/app").evaluateAdmission(pod(image), options), client);
      expect(ok.map((r) => [r.status, r.message])).toEqual([["pass", `verified image signatures for ${image}`]]);
      const other = await withLookups((options) => keyless("https://github.com/acme/other/*", "acme/app").evaluateAdmission(pod(image), options), client);
      expect(other.map((r) => [r.status, r.message])).toEqual([["fail", `failed to verify image ${image}: .attestors[0].entries[0].keyless: no matching signatures:\nexpected subject https://github.com/acme/other/*, got ${workflow}`]]);
      const fork = await withLookups((options) => keyless("https://github.com/acme/*", "someone/app").evaluateAdmission(pod(image), options), client);
      expect(fork[0]?.message).toContain("expected githubWorkflowRepository someone/app, got acme/app");
    } finally {
      await keylessRegistry.close();
    }
  });

  it("certificates attestors: the signature verifies with the given certificate, or with the one shipped with it chained to certChain", async () => {
    const ca = startTestFulcio();
    const leaf = ca.issue({ subject: "mailto:release@acme.example", issuer: "https://accounts.acme.example", notBefore: new Date(Date.now() - 60_000), notAfter: new Date(Date.now() + 86_400_000) });
    const other = ca.issue({ subject: "mailto:other@acme.example", issuer: "https://accounts.acme.example" });
    const certRegistry = await startFakeRegistry({ "acme/cert:1.0": { created: "2025-01-01T00:00:00Z", signatures: [{ ...leaf, certificate: leaf }] } });
    try {
      const client = createRegistryClient({ insecure: [certRegistry.host] });
      const image = `${certRegistry.host}/acme/cert:1.0`;
      const withCertificates = (fields: string): KyvernoPolicy => policy(`
- imageReferences: ["${certRegistry.host}/acme/*"]
  verifyDigest: false
  attestors:
  - entries:
    - certificates:
${indent(fields, 8)}
        rekor: {ignoreTlog: true}
`);
      const run = (p: KyvernoPolicy): Promise<RuleResult[]> => withLookups((options) => p.evaluateAdmission(pod(image), options), client);
      expect((await run(withCertificates(`certChain: ${JSON.stringify(ca.trustPem)}`))).map((r) => r.status)).toEqual(["pass"]);
      expect((await run(withCertificates(`cert: ${JSON.stringify(leaf.pem)}`))).map((r) => r.status)).toEqual(["pass"]);
      expect((await run(withCertificates(`cert: ${JSON.stringify(other.pem)}`)))[0]?.message).toContain(".attestors[0].entries[0].certificates: no matching signatures:\ninvalid signature");
      expect((await run(withCertificates(`certChain: ${JSON.stringify(startTestFulcio().trustPem)}`)))[0]?.message).toContain("the certificate chain ends at a root that is not trusted");
    } finally {
      await certRegistry.close();
    }
  });

  it("keys.secret: the public key is read from the Secret's cosign.pub in the cluster (a live GET), as Kyverno does", async () => {
    const secrets: Record<string, unknown> = { "/api/v1/namespaces/kyverno/secrets/signing-key": { apiVersion: "v1", kind: "Secret", metadata: { name: "signing-key", namespace: "kyverno" }, data: { "cosign.pub": Buffer.from(pem(ci)).toString("base64") } } };
    const gets: string[] = [];
    const cluster: ClusterView = {
      namespace: () => undefined,
      configMap: () => undefined,
      rolesOf: () => ({ roles: [], clusterRoles: [] }),
      fetch: async (path) => {
        gets.push(path);
        return path in secrets ? { ok: true, body: secrets[path] } : { ok: false, error: `GET ${path} answered HTTP 404: secrets not found` };
      },
    };
    const fromSecret = (name: string): KyvernoPolicy => policy(`
- imageReferences: ["${registry.host}/acme/*"]
  verifyDigest: false
  attestors:
  - entries:
    - keys:
        secret: {name: ${name}, namespace: kyverno}
        rekor: {ignoreTlog: true}
`);
    const client = createRegistryClient({ insecure: [registry.host] });
    const ok = await withLookups((options) => fromSecret("signing-key").evaluateAdmission(pod(image("signed:1.0")), options), client, cluster);
    expect(ok.map((r) => r.status)).toEqual(["pass"]);
    expect(gets).toContain("/api/v1/namespaces/kyverno/secrets/signing-key");
    const missing = await withLookups((options) => fromSecret("gone").evaluateAdmission(pod(image("signed:1.0")), options), client, cluster);
    expect(missing.map((r) => [r.status, r.message])).toEqual([["error", ".attestors[0].entries[0].keys.secret: GET /api/v1/namespaces/kyverno/secrets/gone failed: GET /api/v1/namespaces/kyverno/secrets/gone answered HTTP 404: secrets not found"]]);
    // cosign's k8s://<namespace>/<name> in publicKeys names the same Secret.
    const byUri = (ref: string): KyvernoPolicy => policy(`
- imageReferences: ["${registry.host}/acme/*"]
  verifyDigest: false
  attestors:
  - entries:
    - keys:
        publicKeys: ${ref}
        rekor: {ignoreTlog: true}
`);
    gets.length = 0;
    expect((await withLookups((options) => byUri("k8s://kyverno/signing-key").evaluateAdmission(pod(image("signed:1.0")), options), client, cluster)).map((r) => r.status)).toEqual(["pass"]);
    expect(gets).toEqual(["/api/v1/namespaces/kyverno/secrets/signing-key"]);
    const gone = await withLookups((options) => byUri("k8s://kyverno/gone").evaluateAdmission(pod(image("signed:1.0")), options), client, cluster);
    expect(gone.map((r) => [r.status, r.message])).toEqual([["error", ".attestors[0].entries[0].keys.publicKeys: GET /api/v1/namespaces/kyverno/secrets/gone failed: GET /api/v1/namespaces/kyverno/secrets/gone answered HTTP 404: secrets not found"]]);
    expect((await withLookups((options) => byUri("k8s://only-a-name").evaluateAdmission(pod(image("signed:1.0")), options), client, cluster))[0]?.message).toContain("is not k8s://<namespace>/<secret name>");
  });

  it("type: Notary checks notation signatures (JWS referrers) against the certificates of the attestors, and signed referrer artifacts as attestations", async () => {
    const ca = startTestFulcio();
    const leaf = ca.issue({ subject: "mailto:release@acme.example", issuer: "https://acme.example", notAfter: new Date(Date.now() + 86_400_000) });
    const notaryRegistry = await startFakeRegistry({
      "acme/notation:1.0": { created: "2025-01-01T00:00:00Z", notarySignatures: [leaf], referrerArtifacts: [{ artifactType: "sbom/cyclone-dx", content: { bomFormat: "CycloneDX", components: [] }, signedBy: [leaf] }] },
      "acme/spdx:1.0": { created: "2025-01-01T00:00:00Z", notarySignatures: [leaf], referrerArtifacts: [{ artifactType: "sbom/cyclone-dx", content: { bomFormat: "SPDX" }, signedBy: [leaf] }] },
      "acme/plain:1.0": { created: "2025-01-01T00:00:00Z" },
    });
    try {
      const client = createRegistryClient({ insecure: [notaryRegistry.host] });
      const notary = (cert: string): KyvernoPolicy => policy(`
- type: Notary
  imageReferences: ["${notaryRegistry.host}/acme/*"]
  verifyDigest: false
  attestors:
  - count: 1
    entries:
    - certificates:
        cert: ${JSON.stringify(cert)}
`);
      const run = (p: KyvernoPolicy, name: string): Promise<RuleResult[]> => withLookups((options) => p.evaluateAdmission(pod(`${notaryRegistry.host}/acme/${name}`), options), client);
      expect((await run(notary(ca.rootPem), "notation:1.0")).map((r) => [r.status, r.message])).toEqual([["pass", `verified image signatures for ${notaryRegistry.host}/acme/notation:1.0`]]);
      expect((await run(notary(startTestFulcio().rootPem), "notation:1.0"))[0]?.message).toBe(`failed to verify image ${notaryRegistry.host}/acme/notation:1.0: .attestors[0].entries[0].certificates: no matching notation signatures:\nthe certificate chain ends at a root that is not trusted`);
      expect((await run(notary(ca.rootPem), "plain:1.0"))[0]?.message).toContain("no notation signatures found");
      // attestations: the signed SBOM attached to the image, its content checked by the conditions
      const sbomPolicy = policy(`
- type: Notary
  imageReferences: ["${notaryRegistry.host}/acme/*"]
  verifyDigest: false
  attestations:
  - type: sbom/cyclone-dx
    attestors:
    - entries:
      - certificates:
          cert: ${JSON.stringify(ca.rootPem)}
    conditions:
    - all:
      - key: "{{ bomFormat }}"
        operator: Equals
        value: CycloneDX
`);
      expect((await run(sbomPolicy, "notation:1.0")).map((r) => r.status)).toEqual(["pass"]);
      expect((await run(sbomPolicy, "spdx:1.0"))[0]?.message).toBe(`.attestations[0].attestors[0].entries[0].certificates: attestation checks failed for ${notaryRegistry.host}/acme/spdx:1.0 and predicate sbom/cyclone-dx`);
    } finally {
      await notaryRegistry.close();
    }
  });

  it("what Vigil does not verify reports unsupported, naming the field; without registries the rule errors and says what to configure", async () => {
    const kms = policy(`
- imageReferences: ["ghcr.io/*"]
  attestors:
  - entries:
    - keys:
        kms: gcpkms://projects/acme/locations/global/keyRings/ring/cryptoKeys/key
`);
    const results = await validate(kms, pod("ghcr.io/acme/app@sha256:0123456789012345678901234567890123456789012345678901234567890123"));
    expect(results.map((r) => [r.status, r.message])).toEqual([["unsupported", ".attestors[0].entries[0].keys.kms: Google Cloud KMS keys are fetched only when admission.kms.gcp is set in vigil.yaml (admission.kms.gcp: {credentialsFile} or {accessToken}) to check signatures with gcpkms://projects/acme/locations/global/keyRings/ring/cryptoKeys/key"]]);
    const plain = signedBy(ci).evaluateAdmission(pod(`${image("signed:1.0")}@${registry.digestOf("acme/signed:1.0")}`));
    expect(plain.map((r) => [r.status, r.message])).toEqual([["error", `.attestors[0].entries[0].keys: no answer for ${image("signed")}@${registry.digestOf("acme/signed:1.0")}: verifying images needs image registries (admission.registries in vigil.yaml)`]]);
  });

  it("vigil test (kyverno-test.yaml) reaches no registry: a verifyImages row it cannot check is unsupported, never passed", () => {
    const dir = mkdtempSync(join(tmpdir(), "vigil-verify-test-"));
    writeFileSync(join(dir, "policy.yaml"), `apiVersion: kyverno.io/v1
kind: ClusterPolicy
metadata: {name: check-image}
spec:
  rules:
  - name: check-signature
    match: {any: [{resources: {kinds: [Pod]}}]}
    verifyImages:
    - imageReferences: ["ghcr.io/acme/*"]
      attestors: [{entries: [{keys: {publicKeys: ${JSON.stringify(pem(ci))}, rekor: {ignoreTlog: true}}}]}]
`);
    writeFileSync(join(dir, "resources.yaml"), [
      { apiVersion: "v1", kind: "Pod", metadata: { name: "pinned", namespace: "default" }, spec: { containers: [{ name: "app", image: "ghcr.io/acme/app@sha256:0123456789012345678901234567890123456789012345678901234567890123" }] } },
      { apiVersion: "v1", kind: "Pod", metadata: { name: "tagged", namespace: "default" }, spec: { containers: [{ name: "app", image: "ghcr.io/acme/app:1.0" }] } },
    ].map((o) => JSON.stringify(o)).join("\n---\n"));
    writeFileSync(join(dir, "kyverno-test.yaml"), `apiVersion: cli.kyverno.io/v1alpha1
kind: Test
metadata: {name: signed}
policies: [policy.yaml]
resources: [resources.yaml]
results:
- {policy: check-image, rule: check-signature, kind: Pod, resources: [pinned], result: pass}
- {policy: check-image, rule: check-signature, kind: Pod, resources: [tagged], result: fail}
`);
    const results = runKyvernoTests([dir], { celEnv: createCelEnvironment() });
    expect(results.map((r) => [r.resource, r.actual, r.status])).toEqual([["pinned", "unsupported", "unsupported"], ["tagged", "unsupported", "unsupported"]]);
    expect(results[0]?.message).toContain("vigil test does not reach image registries");
  });
});
