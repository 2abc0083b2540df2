import { generateKeyPairSync, type KeyObject } from "node:crypto";
import { afterEach, describe, expect, it } from "vitest";
import type { ImageSignatureCheck, KeylessIdentity } from "../../core/context.js";
import { childrenOf, oidContent, oidText, readDer, tbsOf, tbsWithout } from "./der.js";
import { startTestFulcio } from "./fulcio-test-ca.js";
import { createRegistryClient } from "./registry-client.js";
import { startFakeRegistry, type FakeRegistry } from "./registry-test-server.js";

type Pair = { privateKey: KeyObject; publicKey: KeyObject };
const rekor: Pair = generateKeyPairSync("ec", { namedCurve: "P-256" });
const rekorPem = rekor.publicKey.export({ type: "spki", format: "pem" }).toString();
const fulcio = startTestFulcio();
const workflow = "https://github.com/acme/app/.github/workflows/release.yml@refs/tags/v1.0.0";
const actions = "https://token.actions.githubusercontent.com";
const identity: KeylessIdentity = { subject: "https://github.com/acme/app/.github/workflows/*", issuer: actions };

let registry: FakeRegistry | undefined;
afterEach(async () => {
  await registry?.close();
  registry = undefined;
});

const trust = { insecure: [] as string[], rekorPublicKey: rekorPem, fulcioRoots: fulcio.trustPem, ctLogPublicKey: fulcio.ctLogPem };
async function verify(check: ImageSignatureCheck, settings: Partial<typeof trust> = {}): Promise<{ ok: boolean; body?: any; error?: string }> {
  const client = createRegistryClient({ ...trust, insecure: [registry!.host], ...settings });
  return (await client.verify!(check)) as { ok: boolean; body?: any; error?: string };
}

describe("DER: what X.509 needs beyond Node's X509Certificate", () => {
  it("reads OIDs and extensions, and removes one extension from a TBSCertificate", () => {
    expect(oidText(oidContent("1.3.6.1.4.1.57264.1.8"))).toBe("1.3.6.1.4.1.57264.1.8");
    expect(oidText(oidContent("2.5.29.17"))).toBe("2.5.29.17");
    const leaf = fulcio.issue({ subject: workflow, issuer: actions });
    const { extensions } = tbsOf(leaf.certificate.raw);
    expect(extensions.map((e) => e.oid)).toContain("1.3.6.1.4.1.11129.2.4.2");
    expect(readDer(extensions.find((e) => e.oid === "1.3.6.1.4.1.57264.1.8")!.value).content.toString()).toBe(actions);
    const without = tbsWithout(leaf.certificate.raw, "1.3.6.1.4.1.11129.2.4.2");
    const rebuilt = childrenOf(readDer(without)).find((f) => f.tag === 0xa3)!;
    expect(childrenOf(childrenOf(rebuilt)[0]!)).toHaveLength(extensions.length - 1);
    expect(() => readDer(Buffer.from([0x30, 0x05, 0x01]))).toThrow("DER: truncated content");
  });
});

describe("keyless (Fulcio) signatures", () => {
  it("accepts a signature whose Fulcio certificate names the workflow and the issuer, logged in Rekor while the certificate was valid, with an SCT from the CT log", async () => {
    const cert = fulcio.issue({ subject: workflow, issuer: actions, github: { "1.5": "acme/app", "1.6": "refs/tags/v1.0.0" } });
    registry = await startFakeRegistry({
      "acme/app:1.0": { created: "2025-01-01T00:00:00Z", signatures: [{ ...cert, certificate: cert, rekor }] },
      "acme/v3:1.0": { created: "2025-01-01T00:00:00Z", bundles: [{ ...cert, certificate: cert, rekor }] },
    });
    const host = registry.host;
    expect(await verify({ image: `${host}/acme/app:1.0`, keyless: identity })).toEqual({ ok: true, body: { digest: registry.digestOf("acme/app:1.0"), verified: 1 } });
    expect((await verify({ image: `${host}/acme/v3:1.0`, keyless: identity })).ok).toBe(true);
    expect((await verify({ image: `${host}/acme/app:1.0`, keyless: { ...identity, extensions: { githubWorkflowRepository: "acme/app", githubWorkflowRef: "refs/tags/v1.0.0" } } })).ok).toBe(true);
    expect((await verify({ image: `${host}/acme/app:1.0`, keyless: { subjectRegExp: "^https://github\\.com/acme/", issuerRegExp: "githubusercontent" } })).ok).toBe(true);
  });

  it("refuses another identity, another issuer, another workflow repository, a root that is not trusted, a key-signed image", async () => {
    const cert = fulcio.issue({ subject: workflow, issuer: actions, github: { "1.5": "acme/app" } });
    const stranger = startTestFulcio().issue({ subject: workflow, issuer: actions });
    const key: Pair = generateKeyPairSync("ec", { namedCurve: "P-256" });
    registry = await startFakeRegistry({
      "acme/app:1.0": { created: "2025-01-01T00:00:00Z", signatures: [{ ...cert, certificate: cert, rekor }] },
      "acme/forged:1.0": { created: "2025-01-01T00:00:00Z", signatures: [{ ...stranger, certificate: stranger, rekor }] },
      "acme/keyed:1.0": { created: "2025-01-01T00:00:00Z", signatures: [{ ...key, rekor }] },
    });
    const host = registry.host;
    const app = `${host}/acme/app:1.0`;
    expect((await verify({ image: app, keyless: { subject: "https://github.com/other/*", issuer: actions } })).error).toBe(`no matching signatures:\nexpected subject https://github.com/other/*, got ${workflow}`);
    expect((await verify({ image: app, keyless: { ...identity, issuer: "https://accounts.google.com" } })).error).toBe(`no matching signatures:\nexpected issuer https://accounts.google.com, got ${actions}`);
    expect((await verify({ image: app, keyless: { ...identity, extensions: { githubWorkflowRepository: "acme/other" } } })).error).toBe("no matching signatures:\nexpected githubWorkflowRepository acme/other, got acme/app");
    expect((await verify({ image: `${host}/acme/forged:1.0`, keyless: identity })).error).toBe("no matching signatures:\nthe certificate chain ends at a root that is not trusted");
    expect((await verify({ image: `${host}/acme/keyed:1.0`, keyless: identity })).error).toContain("the signature has no certificate");
    expect((await verify({ image: app, keyless: identity }, { fulcioRoots: "" })).error).toContain("no Fulcio root to check the certificate against");
  });

  it("the time the signature was logged must fall inside the certificate's ten minutes; without the log, the certificate must be valid now", async () => {
    const issuedAt = new Date(Date.now() - 3_600_000);
    const old = fulcio.issue({ subject: workflow, issuer: actions, notBefore: issuedAt });
    registry = await startFakeRegistry({
      "acme/in-time:1.0": { created: "2025-01-01T00:00:00Z", signatures: [{ ...old, certificate: old, rekor, loggedAt: new Date(issuedAt.getTime() + 60_000) }] },
      "acme/late:1.0": { created: "2025-01-01T00:00:00Z", signatures: [{ ...old, certificate: old, rekor, loggedAt: new Date() }] },
    });
    const host = registry.host;
    expect((await verify({ image: `${host}/acme/in-time:1.0`, keyless: identity })).ok).toBe(true);
    expect((await verify({ image: `${host}/acme/late:1.0`, keyless: identity })).error).toMatch(/the certificate was not valid at/);
    expect((await verify({ image: `${host}/acme/in-time:1.0`, keyless: identity, ignoreTlog: true })).error).toMatch(/the certificate was not valid at/);
  });

  it("checks the embedded SCT against the CT log's key, unless ctlog.ignoreSCT", async () => {
    const noSct = fulcio.issue({ subject: workflow, issuer: actions, sct: false });
    const otherLog = fulcio.issue({ subject: workflow, issuer: actions, sct: "other" });
    registry = await startFakeRegistry({
      "acme/no-sct:1.0": { created: "2025-01-01T00:00:00Z", signatures: [{ ...noSct, certificate: noSct, rekor }] },
      "acme/other-log:1.0": { created: "2025-01-01T00:00:00Z", signatures: [{ ...otherLog, certificate: otherLog, rekor }] },
    });
    const host = registry.host;
    expect((await verify({ image: `${host}/acme/no-sct:1.0`, keyless: identity })).error).toBe("no matching signatures:\nthe certificate has no embedded SCT");
    expect((await verify({ image: `${host}/acme/other-log:1.0`, keyless: identity })).error).toBe("no matching signatures:\nno embedded SCT of the configured certificate-transparency log verifies");
    expect((await verify({ image: `${host}/acme/no-sct:1.0`, keyless: { ...identity, ignoreSCT: true } })).ok).toBe(true);
    expect((await verify({ image: `${host}/acme/other-log:1.0`, keyless: identity }, { ctLogPublicKey: "" })).error).toContain("the certificate's SCT cannot be checked");
  });

  it("keyless attestations: the certificate of the DSSE envelope's signer, in cosign v2 tags and v3 bundles", async () => {
    const cert = fulcio.issue({ subject: workflow, issuer: actions });
    const predicate = { buildDefinition: { buildType: "https://actions.github.io/buildtypes/workflow/v1" } };
    registry = await startFakeRegistry({
      "acme/app:1.0": { created: "2025-01-01T00:00:00Z", attestations: [{ ...cert, certificate: cert, rekor, predicateType: "https://slsa.dev/provenance/v1", predicate }] },
      "acme/v3:1.0": { created: "2025-01-01T00:00:00Z", bundles: [{ ...cert, certificate: cert, rekor, predicateType: "https://slsa.dev/provenance/v1", predicate }] },
    });
    for (const name of ["app", "v3"]) {
      const answer = await verify({ image: `${registry.host}/acme/${name}:1.0`, keyless: identity, predicateType: "https://slsa.dev/provenance/v1" });
      expect(answer.body?.statements).toEqual([expect.objectContaining({ predicate })]);
      expect((await verify({ image: `${registry.host}/acme/${name}:1.0`, keyless: { ...identity, subject: "https://gitlab.com/*" }, predicateType: "https://slsa.dev/provenance/v1" })).ok).toBe(false);
    }
  });
});
