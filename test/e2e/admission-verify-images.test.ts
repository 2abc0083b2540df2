/**
 * Kyverno verifyImages through both admission webhooks of a real agent with
 * `admission.registries`: images signed the way `cosign sign --key` stores signatures (and
 * uploaded to a test Rekor log, whose key is `admission.registries.rekorPublicKey`) in a local
 * OCI registry. The mutating webhook verifies and pins each image to the digest it verified; the
 * validating webhook verifies again and enforces verifyDigest; unsigned images are denied
 * (Enforce) or warned about (Audit, the library's Tekton policy, unchanged but for its key).
 */
import { generateKeyPairSync, type KeyObject } from "node:crypto";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createAgent, createManualClock, type Agent } from "../../src/agent.js";
import { parseConfig } from "../../src/config.js";
import { startTestFulcio } from "../../src/context/kubernetes/fulcio-test-ca.js";
import { startFakeRegistry, type FakeRegistry } from "../../src/context/kubernetes/registry-test-server.js";
import { admissionRoutes } from "../../src/server/admission.js";
import { buildServer, type VigilServer } from "../../src/server/app.js";
import { vigil } from "../cli/support.js";
import { admissionReview, fixtures, tempDir, type KubeObject } from "./admission-support.js";

type Pair = { privateKey: KeyObject; publicKey: KeyObject };
const ec = (): Pair => generateKeyPairSync("ec", { namedCurve: "P-256" });
const pem = (pair: Pair): string => pair.publicKey.export({ type: "spki", format: "pem" }).toString();
const tektonPolicy = join(fixtures, "kyverno/tekton/verify-tekton-taskrun-signatures/verify-tekton-taskrun-signatures.yaml");
// The library policy's own public key, replaced by the test's (its private half is not ours).
const libraryKey = "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEahmSvGFmxMJABilV1usgsw6ImcQ/\n              gDaxw57Sq+uNGHW8Q3zUSx46PuRqdTI+4qE3Ng2oFZgLMpFN/qMrP0MQQg==";

const slsaPolicy = join(fixtures, "kyverno/other/verify-image-slsa/verify-image-slsa.yaml");
const fulcio = startTestFulcio();
const generator = "https://github.com/slsa-framework/slsa-github-generator/.github/workflows/generator_container_slsa3.yml@refs/tags/v1.9.0";
const provenance = fulcio.issue({ subject: generator, issuer: "https://token.actions.githubusercontent.com" });
const forkCertificate = fulcio.issue({ subject: "https://github.com/someone/fork/.github/workflows/build.yml@refs/heads/main", issuer: "https://token.actions.githubusercontent.com" });
const signer = ec();
const rekor = ec();
const stranger = ec();

const signedImagesPolicy = (host: string): string => `
apiVersion: kyverno.io/v1
kind: ClusterPolicy
metadata:
  name: require-signed-images
spec:
  webhookTimeoutSeconds: 30
  rules:
  - name: check-signature
    match:
      any:
      - resources:
          kinds: [Pod]
    verifyImages:
    - failureAction: Enforce
      imageReferences: ["${host}/acme/*"]
      attestors:
      - entries:
        - keys:
            publicKeys: ${JSON.stringify(pem(signer))}
`;

// KMS keys are not something Vigil verifies: never a silent pass.
const kmsPolicy = `
apiVersion: kyverno.io/v1
kind: ClusterPolicy
metadata:
  name: kms-signed
spec:
  rules:
  - name: kms-key
    match:
      any:
      - resources:
          kinds: [Pod]
    verifyImages:
    - imageReferences: ["ghcr.io/sigstore/*"]
      attestors:
      - entries:
        - keys:
            kms: awskms:///arn:aws:kms:eu-west-1:111122223333:key/signing
`;

// The CEL policy type Kyverno now recommends for image verification.
const imageValidatingPolicy = (host: string): string => `
apiVersion: policies.kyverno.io/v1
kind: ImageValidatingPolicy
metadata:
  name: signed-workers
spec:
  validationActions: [Deny]
  matchConstraints:
    resourceRules:
    - apiGroups: [""]
      apiVersions: [v1]
      operations: [CREATE]
      resources: [pods]
  matchImageReferences:
  - glob: "${host}/acme/worker*"
  attestors:
  - name: release
    cosign:
      key:
        data: ${JSON.stringify(pem(signer))}
  validations:
  - expression: "images.containers.all(image, verifyImageSignatures(image, [attestors.release]) > 0)"
    message: worker images must be signed by the release key
`;

interface Running { agent: Agent; server: VigilServer; close(): Promise<void> }
interface Answer { allowed: boolean; warnings: string[]; message: string; patch: { op: string; path: string; value?: unknown }[] }

describe("Kyverno verifyImages on the admission webhooks (Cosign signatures in a registry)", () => {
  let registry: FakeRegistry;
  let running: Running;
  beforeAll(async () => {
    registry = await startFakeRegistry({
      "acme/api:1.4": { created: "2025-06-01T00:00:00Z", signatures: [{ ...signer, rekor }] },
      "acme/worker:2.0": { created: "2025-06-01T00:00:00Z", index: true, signatures: [{ ...signer, rekor }] },
      "acme/untrusted:1.0": { created: "2025-06-01T00:00:00Z", signatures: [{ ...stranger, rekor }] },
      "acme/unsigned:1.0": { created: "2025-06-01T00:00:00Z" },
      "acme/worker-unsigned:1.0": { created: "2025-06-01T00:00:00Z" },
      "tekton/build-task:0.3": { created: "2025-06-01T00:00:00Z", signatures: [{ ...signer, rekor }] },
      "tekton/other-task:0.1": { created: "2025-06-01T00:00:00Z" },
      // SLSA provenance attested keyless by the SLSA generator's workflow (cosign v3: a referrer bundle), and one by a fork's workflow
      "path/repo:v1.2.0": { created: "2025-06-01T00:00:00Z", bundles: [{ ...provenance, certificate: provenance, rekor, predicateType: "https://slsa.dev/provenance/v0.2", predicate: { builder: { id: generator } } }] },
      "path/repo:v1.3.0-fork": { created: "2025-06-01T00:00:00Z", bundles: [{ ...forkCertificate, certificate: forkCertificate, rekor, predicateType: "https://slsa.dev/provenance/v0.2", predicate: { builder: { id: "https://github.com/someone/fork/.github/workflows/build.yml@refs/heads/main" } } }] },
    }, { token: "pull-token" });
    const dir = tempDir();
    mkdirSync(join(dir, "policies"));
    writeFileSync(join(dir, "policies", "signed.yaml"), signedImagesPolicy(registry.host));
    writeFileSync(join(dir, "policies", "kms.yaml"), kmsPolicy);
    writeFileSync(join(dir, "policies", "ivpol.yaml"), imageValidatingPolicy(registry.host));
    // The library's keyless SLSA policy, its placeholder registry replaced by the local one.
    writeFileSync(join(dir, "policies", "slsa.yaml"), readFileSync(slsaPolicy, "utf8").replace("myreg.org/path/repo:*", `${registry.host}/path/repo:*`));
    const library = readFileSync(tektonPolicy, "utf8");
    expect(library).toContain(libraryKey);
    writeFileSync(join(dir, "policies", "tekton.yaml"), library.replace(libraryKey, pem(signer).trim().split("\n").slice(1, -1).join("\n              ")));
    const config = { policies: [join(dir, "policies")], store: { path: join(dir, "vigil.db") }, log: { level: "silent" }, admission: { registries: { enabled: true, insecure: [registry.host], rekorPublicKey: pem(rekor), fulcioRoots: fulcio.trustPem, ctLogPublicKey: fulcio.ctLogPem } } };
    const agent = await createAgent(parseConfig(config), { clock: createManualClock("2025-07-01T10:00:00Z"), onProblem: () => undefined });
    const server = buildServer({ agent, routes: [admissionRoutes] });
    await server.app.ready();
    running = { agent, server, async close() { await server.app.close(); await agent.close(); } };
  });
  afterAll(async () => {
    await running.close();
    await registry.close();
  });

  const send = async (path: "validate" | "mutate", object: KubeObject): Promise<Answer> => {
    const response = await running.server.app.inject({ method: "POST", url: `/v1/admission/${path}`, payload: admissionReview(object) });
    expect(response.statusCode).toBe(200);
    const body = (response.json() as { response: { allowed: boolean; warnings?: string[]; status?: { message?: string }; patch?: string } }).response;
    return { allowed: body.allowed, warnings: body.warnings ?? [], message: body.status?.message ?? "", patch: body.patch ? JSON.parse(Buffer.from(body.patch, "base64").toString("utf8")) as Answer["patch"] : [] };
  };
  const pod = (name: string, ...images: string[]): KubeObject => ({ apiVersion: "v1", kind: "Pod", metadata: { name, namespace: "shop" }, spec: { containers: images.map((image, i) => ({ name: `c${i}`, image })) } });
  const image = (name: string): string => `${registry.host}/acme/${name}`;

  it("mutating webhook: signed images (one an image index) are pinned to the digests their signatures cover, the verified images recorded in kyverno.io/verify-images", async () => {
    const answer = await send("mutate", pod("shop", image("api:1.4"), image("worker:2.0")));
    expect(answer.allowed).toBe(true);
    const api = registry.digestOf("acme/api:1.4");
    const worker = registry.digestOf("acme/worker:2.0");
    expect(answer.patch).toContainEqual({ op: "replace", path: "/spec/containers/0/image", value: `${image("api:1.4")}@${api}` });
    expect(answer.patch).toContainEqual({ op: "replace", path: "/spec/containers/1/image", value: `${image("worker:2.0")}@${worker}` });
    const annotations = answer.patch.find((op) => op.path === "/metadata/annotations")?.value as Record<string, string>;
    expect(JSON.parse(annotations["kyverno.io/verify-images"] ?? "{}")).toEqual({ [`${image("api")}@${api}`]: "pass", [`${image("worker")}@${worker}`]: "pass" });
    // the pinned pod passes the validating webhook (signatures checked again, verifyDigest holds)
    const pinned = pod("shop", `${image("api:1.4")}@${api}`, `${image("worker:2.0")}@${worker}`);
    expect((await send("validate", pinned)).allowed).toBe(true);
    // the registry saw cosign's signature tag of each digest, after the token handshake
    expect(registry.requests.map((r) => r.path)).toContain(`/v2/acme/api/manifests/${api.replace(":", "-")}.sig`);
  });

  it("denies (Enforce) an unsigned image and one signed by another key, on both webhooks, naming the policy, the rule and why", async () => {
    const unsigned = await send("mutate", pod("unsigned", image("unsigned:1.0")));
    expect(unsigned.allowed).toBe(false);
    expect(unsigned.message).toContain("require-signed-images");
    expect(unsigned.message).toContain(`failed to verify image ${image("unsigned:1.0")}: .attestors[0].entries[0].keys: no signatures found`);
    const untrusted = await send("validate", pod("untrusted", `${image("untrusted:1.0")}@${registry.digestOf("acme/untrusted:1.0")}`));
    expect(untrusted.allowed).toBe(false);
    expect(untrusted.message).toContain("no matching signatures");
    // the validating webhook alone: a tag is not enough (verifyDigest), even for a signed image
    const byTag = await send("validate", pod("by-tag", image("api:1.4")));
    expect(byTag.allowed).toBe(false);
    expect(byTag.message).toContain(`missing digest for ${image("api:1.4")}`);
  });

  it("the library's Tekton policy (Audit, custom imageExtractors, Rekor bundle required): a signed task bundle passes, another is warned about", async () => {
    const taskRun = (name: string, bundle: string): KubeObject => ({ apiVersion: "tekton.dev/v1beta1", kind: "TaskRun", metadata: { name, namespace: "ci" }, spec: { taskRef: { name: "build", bundle } } });
    const signed = `${registry.host}/tekton/build-task@${registry.digestOf("tekton/build-task:0.3")}`;
    const ok = await send("validate", taskRun("build", signed));
    expect(ok).toMatchObject({ allowed: true, warnings: [] });
    const other = await send("validate", taskRun("other", `${registry.host}/tekton/other-task@${registry.digestOf("tekton/other-task:0.1")}`));
    expect(other.allowed).toBe(true);
    expect(other.warnings.join("\n")).toContain("policy signed-tekton-task-bundle.check-signature: failed to verify image");
    // the mutating webhook pins a bundle named by tag
    const pinned = await send("mutate", taskRun("build", `${registry.host}/tekton/build-task:0.3`));
    expect(pinned.patch).toContainEqual({ op: "replace", path: "/spec/taskRef/bundle", value: `${registry.host}/tekton/build-task:0.3@${registry.digestOf("tekton/build-task:0.3")}` });
  });

  it("the library's keyless SLSA policy: provenance attested by the generator's workflow certificate passes and is pinned; a fork's is warned about (Audit)", async () => {
    const repo = `${registry.host}/path/repo`;
    const signed = await send("mutate", pod("slsa", `${repo}:v1.2.0`));
    expect(signed.allowed).toBe(true);
    expect(signed.warnings).toEqual([]);
    expect(signed.patch).toContainEqual({ op: "replace", path: "/spec/containers/0/image", value: `${repo}:v1.2.0@${registry.digestOf("path/repo:v1.2.0")}` });
    const fork = await send("mutate", pod("fork", `${repo}:v1.3.0-fork`));
    expect(fork.allowed).toBe(true);
    expect(fork.warnings.join("\n")).toContain("policy verify-slsa-provenance-keyless.check-slsa-keyless:");
    expect(fork.warnings.join("\n")).toContain("expected subject https://github.com/slsa-framework/slsa-github-generator/.github/workflows/generator_container_slsa3.yml@refs/tags/v*");
    expect(fork.patch).toEqual([]);
  });

  it("an attestor Vigil cannot verify (a KMS key) is an error, and the policy's failurePolicy (Fail) denies: never a silent pass", async () => {
    const answer = await send("validate", pod("cosign", "ghcr.io/sigstore/cosign/cosign@sha256:0123456789012345678901234567890123456789012345678901234567890123"));
    expect(answer.allowed).toBe(false);
    expect(answer.message).toContain("kms-signed");
    expect(answer.message).toMatch(/keys\.kms: \\?"awskms:\/\/\/arn:aws:kms:eu-west-1:111122223333:key\/signing\\?" is not an AWS KMS key reference/);
    // images the keyless rule does not select are not affected
    expect((await send("validate", pod("api", `${image("api:1.4")}@${registry.digestOf("acme/api:1.4")}`))).allowed).toBe(true);
  });

  it("vigil scan with admission.registries in its configuration verifies the images of manifests as the webhooks do", async () => {
    const dir = tempDir();
    mkdirSync(join(dir, "manifests"));
    writeFileSync(join(dir, "signed.yaml"), signedImagesPolicy(registry.host));
    const pinned = (name: string, repo: string): KubeObject => ({ apiVersion: "apps/v1", kind: "Deployment", metadata: { name, namespace: "shop" }, spec: { selector: { matchLabels: { app: name } }, template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: "app", image: `${registry.host}/acme/${repo}@${registry.digestOf(`acme/${repo}`)}` }] } } } });
    writeFileSync(join(dir, "manifests", "apps.yaml"), [pinned("api", "api:1.4"), pinned("legacy", "unsigned:1.0")].map((o) => JSON.stringify(o)).join("\n---\n"));
    writeFileSync(join(dir, "vigil.yaml"), JSON.stringify({ policies: [join(dir, "signed.yaml")], admission: { registries: { enabled: true, insecure: [registry.host], rekorPublicKey: pem(rekor) } } }));
    const run = await vigil(["scan", "--config", join(dir, "vigil.yaml"), "--output", "json", join(dir, "manifests")]);
    expect(run.code).toBe(1);
    const rows = (JSON.parse(run.stdout) as { results: { policy: string; rule: string; result: string; message: string; resource: string }[] }).results;
    const byName = (name: string) => rows.filter((r) => r.resource === `Deployment/shop/${name}` && r.policy === "require-signed-images");
    expect(byName("api").map((r) => [r.rule, r.result])).toEqual([["autogen-check-signature", "pass"]]);
    expect(byName("legacy").map((r) => [r.rule, r.result])).toEqual([["autogen-check-signature", "fail"]]);
    expect(byName("legacy")[0]?.message).toContain("no signatures found");
    // without registries in the configuration the rule cannot be checked: an error, never a pass
    writeFileSync(join(dir, "plain.yaml"), JSON.stringify({ policies: [join(dir, "signed.yaml")] }));
    const plain = await vigil(["scan", "--config", join(dir, "plain.yaml"), "--output", "json", join(dir, "manifests")]);
    const plainRows = (JSON.parse(plain.stdout) as { results: { result: string; message: string }[] }).results;
    expect(plainRows.some((r) => r.result === "pass")).toBe(false);
    expect(plainRows.some((r) => r.result === "error" && r.message.includes("admission.registries"))).toBe(true);
  });

  it("an ImageValidatingPolicy (CEL, verifyImageSignatures) decides on both webhooks: the signed worker passes and is pinned, an unsigned one is denied", async () => {
    const worker = registry.digestOf("acme/worker:2.0");
    const signed = await send("validate", pod("worker", `${image("worker:2.0")}@${worker}`));
    expect(signed.allowed).toBe(true);
    const unsigned = await send("validate", pod("rogue", `${image("worker-unsigned:1.0")}@${registry.digestOf("acme/worker-unsigned:1.0")}`));
    expect(unsigned.allowed).toBe(false);
    expect(unsigned.message).toContain("signed-workers");
    expect(unsigned.message).toContain("worker images must be signed by the release key");
    const mutated = await send("mutate", pod("worker", image("worker:2.0")));
    expect(mutated.patch).toContainEqual({ op: "replace", path: "/spec/containers/0/image", value: `${image("worker:2.0")}@${worker}` });
  });

  it("records the decisions with the verification in their explanation", async () => {
    const decisions = await running.agent.storage.listDecisions({ limit: 100 });
    const denied = decisions.find((d) => d.verdict === "deny" && d.findings.some((f) => f.policy === "require-signed-images" && f.message.includes("no matching signatures")));
    expect(denied?.explanation.summary).toContain("require-signed-images/check-signature");
  });
});
