import { afterEach, describe, expect, it } from "vitest";
import { startTestFulcio } from "./fulcio-test-ca.js";
import { createRegistryClient } from "./registry-client.js";
import { startFakeRegistry, type FakeRegistry } from "./registry-test-server.js";

const ca = startTestFulcio();
const signer = ca.issue({ subject: "mailto:release@acme.example", issuer: "https://acme.example", notAfter: new Date(Date.now() + 86_400_000) });

let registry: FakeRegistry | undefined;
afterEach(async () => {
  await registry?.close();
  registry = undefined;
});

async function verify(image: string, certificates: string): Promise<{ ok: boolean; body?: any; error?: string }> {
  const client = createRegistryClient({ insecure: [registry!.host] });
  return (await client.verify!({ image, notary: { certificates } })) as { ok: boolean; body?: any; error?: string };
}

describe("Notary Project (notation) signatures, JWS with notary.x509", () => {
  it("accepts a signature by a certificate that chains to a trusted root, found through the referrers API or the referrers tag scheme", async () => {
    for (const referrers of ["api", "tag"] as const) {
      registry = await startFakeRegistry({ "acme/app:1.0": { created: "2025-01-01T00:00:00Z", notarySignatures: [signer] } }, { referrers });
      const answer = await verify(`${registry.host}/acme/app:1.0`, ca.rootPem);
      expect(answer).toEqual({ ok: true, body: { digest: registry.digestOf("acme/app:1.0"), verified: 1 } });
      await registry.close();
      registry = undefined;
    }
  });

  it("refuses an unsigned image, a root that is not trusted, a signature for another digest", async () => {
    const other = startTestFulcio();
    registry = await startFakeRegistry({
      "acme/app:1.0": { created: "2025-01-01T00:00:00Z", notarySignatures: [signer] },
      "acme/plain:1.0": { created: "2025-01-01T00:00:00Z" },
      "acme/copied:1.0": { created: "2025-01-01T00:00:00Z", notarySignatures: [{ ...signer, claimDigest: "sha256:3333333333333333333333333333333333333333333333333333333333333333" }] },
      // signed with another key, presenting the trusted certificate
      "acme/forged:1.0": { created: "2025-01-01T00:00:00Z", notarySignatures: [{ ...signer, privateKey: ca.issue({ subject: "mailto:x@acme.example", issuer: "https://acme.example" }).privateKey }] },
    });
    const host = registry.host;
    expect((await verify(`${host}/acme/plain:1.0`, ca.rootPem)).error).toBe("no notation signatures found");
    expect((await verify(`${host}/acme/app:1.0`, other.rootPem)).error).toBe("no matching notation signatures:\nthe certificate chain ends at a root that is not trusted");
    expect((await verify(`${host}/acme/copied:1.0`, ca.rootPem)).error).toBe(`no matching notation signatures:\nthe signature is for sha256:3333333333333333333333333333333333333333333333333333333333333333, not ${registry.digestOf("acme/copied:1.0")}`);
    expect((await verify(`${host}/acme/forged:1.0`, ca.rootPem)).error).toBe("no matching notation signatures:\ninvalid signature");
    expect((await verify(`${host}/acme/app:1.0`, "")).error).toContain("no trusted certificate");
  });

  it("referrer artifacts (an SBOM attached with oras and signed by notation): the verified ones' contents are the statements", async () => {
    const sbom = { bomFormat: "CycloneDX", specVersion: "1.5", components: [{ name: "openssl", version: "3.0.13" }] };
    const other = startTestFulcio().issue({ subject: "mailto:x@other.example", issuer: "https://other.example", notAfter: new Date(Date.now() + 86_400_000) });
    registry = await startFakeRegistry({
      "acme/app:1.0": { created: "2025-01-01T00:00:00Z", notarySignatures: [signer], referrerArtifacts: [{ artifactType: "sbom/cyclone-dx", content: sbom, signedBy: [signer] }] },
      "acme/unsigned-sbom:1.0": { created: "2025-01-01T00:00:00Z", referrerArtifacts: [{ artifactType: "sbom/cyclone-dx", content: sbom }] },
      "acme/foreign-sbom:1.0": { created: "2025-01-01T00:00:00Z", referrerArtifacts: [{ artifactType: "sbom/cyclone-dx", content: sbom, signedBy: [other] }] },
    });
    const client = createRegistryClient({ insecure: [registry.host] });
    const check = (name: string, type = "sbom/cyclone-dx") => client.verify!({ image: `${registry!.host}/acme/${name}`, notary: { certificates: ca.rootPem }, predicateType: type }) as Promise<{ ok: boolean; body?: any; error?: string }>;
    const answer = await check("app:1.0");
    expect(answer.ok).toBe(true);
    expect(answer.body.statements).toEqual([{ predicateType: "sbom/cyclone-dx", subject: [{ digest: { sha256: registry.digestOf("acme/app:1.0").slice(7) } }], predicate: sbom }]);
    expect((await check("app:1.0", "sbom/spdx")).error).toBe("no sbom/spdx artifacts found");
    expect((await check("unsigned-sbom:1.0")).error).toMatch(/^no matching sbom\/cyclone-dx artifacts:\nsha256:[0-9a-f]{64}: no notation signatures found$/);
    expect((await check("foreign-sbom:1.0")).error).toContain("the certificate chain ends at a root that is not trusted");
  });
});
