import { generateKeyPairSync, type KeyObject } from "node:crypto";
import { afterEach, describe, expect, it } from "vitest";
import type { ImageSignatureCheck } from "../../core/context.js";
import { cosignTag, dssePae } from "./cosign.js";
import { createRegistryClient } from "./registry-client.js";
import { startFakeRegistry, type FakeRegistry } from "./registry-test-server.js";

type Pair = { privateKey: KeyObject; publicKey: KeyObject };
const ec = (): Pair => generateKeyPairSync("ec", { namedCurve: "P-256" });
const pem = (pair: Pair): string => pair.publicKey.export({ type: "spki", format: "pem" }).toString();
const signer = ec();
const other = ec();
const log = ec();
const rsa: Pair = generateKeyPairSync("rsa", { modulusLength: 2048 });
const ed: Pair = generateKeyPairSync("ed25519");

let registry: FakeRegistry | undefined;
afterEach(async () => {
  await registry?.close();
  registry = undefined;
});

async function verify(check: Omit<ImageSignatureCheck, "image"> & { image: string }, settings: { rekorPublicKey?: string } = {}): Promise<{ ok: boolean; body?: any; error?: string }> {
  const client = createRegistryClient({ insecure: [registry!.host], ...settings });
  return (await client.verify!(check)) as { ok: boolean; body?: any; error?: string };
}

describe("Cosign signatures in an OCI registry (verifyImages keys attestors)", () => {
  it("names the tags cosign stores signatures and attestations under, and encodes DSSE's PAE", () => {
    expect(cosignTag("sha256:abc", "sig")).toBe("sha256-abc.sig");
    expect(cosignTag("sha256:abc", "att")).toBe("sha256-abc.att");
    expect(dssePae("application/vnd.in-toto+json", Buffer.from("{}")).toString()).toBe("DSSEv1 28 application/vnd.in-toto+json 2 {}");
  });

  it("accepts a signature made with the key over the image's digest (tag resolved through the registry, token handshake included)", async () => {
    registry = await startFakeRegistry({ "team/app:1.0": { created: "2025-01-01T00:00:00Z", signatures: [{ ...signer }] } }, { token: "pull" });
    const image = `${registry.host}/team/app:1.0`;
    const answer = await verify({ image, key: pem(signer), ignoreTlog: true });
    expect(answer).toEqual({ ok: true, body: { digest: registry.digestOf("team/app:1.0"), verified: 1 } });
    expect(registry.requests.map((r) => r.path)).toContain(`/v2/team/app/manifests/${cosignTag(registry.digestOf("team/app:1.0"), "sig")}`);
    // by digest: the same signatures
    expect((await verify({ image: `${registry.host}/team/app@${registry.digestOf("team/app:1.0")}`, key: pem(signer), ignoreTlog: true })).ok).toBe(true);
  });

  it("refuses another key's signature, an unsigned image, a signature copied from another image, and a missing annotation", async () => {
    registry = await startFakeRegistry({
      "team/app:1.0": { created: "2025-01-01T00:00:00Z", signatures: [{ ...signer, annotations: { env: "prod" } }] },
      "team/plain:1.0": { created: "2025-01-01T00:00:00Z" },
      "team/copied:1.0": { created: "2025-01-01T00:00:00Z", signatures: [{ ...signer, claimDigest: "sha256:0000000000000000000000000000000000000000000000000000000000000000" }] },
    });
    const host = registry.host;
    expect(await verify({ image: `${host}/team/app:1.0`, key: pem(other), ignoreTlog: true })).toEqual({ ok: false, error: "no matching signatures:\ninvalid signature" });
    expect(await verify({ image: `${host}/team/plain:1.0`, key: pem(signer), ignoreTlog: true })).toEqual({ ok: false, error: "no signatures found" });
    expect((await verify({ image: `${host}/team/copied:1.0`, key: pem(signer), ignoreTlog: true })).error).toBe("no matching signatures:\ninvalid or missing digest in claim: sha256:0000000000000000000000000000000000000000000000000000000000000000");
    expect((await verify({ image: `${host}/team/app:1.0`, key: pem(signer), ignoreTlog: true, annotations: { env: "prod" } })).ok).toBe(true);
    expect((await verify({ image: `${host}/team/app:1.0`, key: pem(signer), ignoreTlog: true, annotations: { env: "dev" } })).error).toBe("no matching signatures:\nmissing or incorrect annotation env");
    // a tag the registry does not have: the registry's answer
    expect((await verify({ image: `${host}/team/gone:1.0`, key: pem(signer), ignoreTlog: true })).error).toContain("MANIFEST_UNKNOWN");
  });

  it("checks the transparency log offline: the bundle's SignedEntryTimestamp against the Rekor key, and that the logged entry is this signature", async () => {
    registry = await startFakeRegistry({
      "team/logged:1.0": { created: "2025-01-01T00:00:00Z", signatures: [{ ...signer, rekor: log }] },
      "team/unlogged:1.0": { created: "2025-01-01T00:00:00Z", signatures: [{ ...signer }] },
      "team/otherlog:1.0": { created: "2025-01-01T00:00:00Z", signatures: [{ ...signer, rekor: other }] },
    });
    const host = registry.host;
    expect((await verify({ image: `${host}/team/logged:1.0`, key: pem(signer), rekorPublicKey: pem(log) })).ok).toBe(true);
    // the log key from the configuration (admission.registries.rekorPublicKey) when the check names none
    expect((await verify({ image: `${host}/team/logged:1.0`, key: pem(signer) }, { rekorPublicKey: pem(log) })).ok).toBe(true);
    expect((await verify({ image: `${host}/team/logged:1.0`, key: pem(signer) })).error).toBe("no matching signatures:\nthe transparency log cannot be checked: set rekor.pubkey (the public key of the Rekor log) or rekor.ignoreTlog: true");
    expect((await verify({ image: `${host}/team/unlogged:1.0`, key: pem(signer), rekorPublicKey: pem(log) })).error).toContain("no transparency log bundle on the signature");
    expect((await verify({ image: `${host}/team/otherlog:1.0`, key: pem(signer), rekorPublicKey: pem(log) })).error).toMatch(/the bundle was logged by [0-9a-f]{16}…, not by the Rekor key configured/);
  });

  it("verifies RSA and Ed25519 keys, signatures of an image index, and signatures stored in another repository", async () => {
    registry = await startFakeRegistry({
      "team/rsa:1.0": { created: "2025-01-01T00:00:00Z", signatures: [{ ...rsa }] },
      "team/ed:1.0": { created: "2025-01-01T00:00:00Z", signatures: [{ ...ed }] },
      "team/multi:1.0": { created: "2025-01-01T00:00:00Z", index: true, signatures: [{ ...signer }] },
      "team/elsewhere:1.0": { created: "2025-01-01T00:00:00Z", signatures: [{ ...signer }], signatureRepository: "signatures/store" },
    });
    const host = registry.host;
    expect((await verify({ image: `${host}/team/rsa:1.0`, key: pem(rsa), ignoreTlog: true })).ok).toBe(true);
    expect((await verify({ image: `${host}/team/ed:1.0`, key: pem(ed), ignoreTlog: true })).ok).toBe(true);
    expect((await verify({ image: `${host}/team/ed:1.0`, key: pem(rsa), ignoreTlog: true })).ok).toBe(false);
    const multi = await verify({ image: `${host}/team/multi:1.0`, key: pem(signer), ignoreTlog: true });
    expect(multi.body.digest).toBe(registry.digestOf("team/multi:1.0"));
    expect((await verify({ image: `${host}/team/elsewhere:1.0`, key: pem(signer), ignoreTlog: true })).error).toBe("no signatures found");
    expect((await verify({ image: `${host}/team/elsewhere:1.0`, key: pem(signer), ignoreTlog: true, repository: `${host}/signatures/store` })).ok).toBe(true);
  });

  it("returns the signed in-toto statements of the predicate type asked for, and refuses attestations of another image or key", async () => {
    const predicate = { builder: { id: "https://github.com/acme/ci" }, buildType: "docker" };
    registry = await startFakeRegistry({
      "team/attested:1.0": {
        created: "2025-01-01T00:00:00Z",
        attestations: [
          { ...signer, rekor: log, predicateType: "https://slsa.dev/provenance/v0.2", predicate },
          { ...signer, rekor: log, predicateType: "https://cyclonedx.org/schema", predicate: { components: [] } },
        ],
      },
      "team/stolen:1.0": { created: "2025-01-01T00:00:00Z", attestations: [{ ...signer, predicateType: "https://slsa.dev/provenance/v0.2", predicate, claimDigest: "sha256:1111111111111111111111111111111111111111111111111111111111111111" }] },
    });
    const host = registry.host;
    const answer = await verify({ image: `${host}/team/attested:1.0`, key: pem(signer), rekorPublicKey: pem(log), predicateType: "https://slsa.dev/provenance/v0.2" });
    expect(answer.ok).toBe(true);
    expect(answer.body.verified).toBe(2);
    expect(answer.body.statements).toHaveLength(1);
    expect(answer.body.statements[0]).toMatchObject({ predicateType: "https://slsa.dev/provenance/v0.2", predicate, subject: [{ digest: { sha256: registry.digestOf("team/attested:1.0").slice(7) } }] });
    expect((await verify({ image: `${host}/team/attested:1.0`, key: pem(other), ignoreTlog: true, predicateType: "https://slsa.dev/provenance/v0.2" })).error).toBe("no matching attestations:\ninvalid signature");
    expect((await verify({ image: `${host}/team/stolen:1.0`, key: pem(signer), ignoreTlog: true, predicateType: "https://slsa.dev/provenance/v0.2" })).error).toContain("no subject of the statement has the image's digest");
    expect((await verify({ image: `${host}/team/stolen:1.0`, key: pem(signer), ignoreTlog: true })).error).toBe("no signatures found");
  });

  it("cosign v3 (new bundle format): finds Sigstore bundles attached as referrers, by the referrers API or the referrers tag scheme, and tells signatures from attestations", async () => {
    const predicate = { builder: { id: "https://github.com/acme/ci" } };
    for (const referrers of ["api", "tag"] as const) {
      registry = await startFakeRegistry({
        "team/v3:1.0": { created: "2025-01-01T00:00:00Z", bundles: [{ ...signer }, { ...signer, predicateType: "https://slsa.dev/provenance/v1", predicate }] },
        "team/v3-other:1.0": { created: "2025-01-01T00:00:00Z", bundles: [{ ...other }] },
        "team/v3-copied:1.0": { created: "2025-01-01T00:00:00Z", bundles: [{ ...signer, claimDigest: "sha256:2222222222222222222222222222222222222222222222222222222222222222" }] },
      }, { referrers, token: "pull" });
      const host = registry.host;
      const signature = await verify({ image: `${host}/team/v3:1.0`, key: pem(signer), ignoreTlog: true });
      expect(signature).toEqual({ ok: true, body: { digest: registry.digestOf("team/v3:1.0"), verified: 1 } });
      const attestation = await verify({ image: `${host}/team/v3:1.0`, key: pem(signer), ignoreTlog: true, predicateType: "https://slsa.dev/provenance/v1" });
      expect(attestation.body.statements).toEqual([expect.objectContaining({ predicateType: "https://slsa.dev/provenance/v1", predicate })]);
      expect((await verify({ image: `${host}/team/v3:1.0`, key: pem(other), ignoreTlog: true })).error).toBe("no matching signatures:\ninvalid signature");
      expect((await verify({ image: `${host}/team/v3-other:1.0`, key: pem(signer), ignoreTlog: true })).error).toBe("no matching signatures:\ninvalid signature");
      expect((await verify({ image: `${host}/team/v3-copied:1.0`, key: pem(signer), ignoreTlog: true })).error).toContain("no subject of the statement has the image's digest");
      const digest = registry.digestOf("team/v3:1.0");
      expect(registry.requests.some((r) => r.path === (referrers === "api" ? `/v2/team/v3/referrers/${digest}` : `/v2/team/v3/manifests/${digest.replace(":", "-")}`))).toBe(true);
      await registry.close();
      registry = undefined;
    }
  });

  it("cosign v3 bundles in the transparency log: the inclusion promise is checked against the Rekor key and the logged dsse entry must hold this payload", async () => {
    registry = await startFakeRegistry({
      "team/logged-v3:1.0": { created: "2025-01-01T00:00:00Z", bundles: [{ ...signer, rekor: log }] },
      "team/unlogged-v3:1.0": { created: "2025-01-01T00:00:00Z", bundles: [{ ...signer }] },
    });
    const host = registry.host;
    expect((await verify({ image: `${host}/team/logged-v3:1.0`, key: pem(signer), rekorPublicKey: pem(log) })).ok).toBe(true);
    expect((await verify({ image: `${host}/team/logged-v3:1.0`, key: pem(signer), rekorPublicKey: pem(other) })).error).toMatch(/not by the Rekor key configured/);
    expect((await verify({ image: `${host}/team/unlogged-v3:1.0`, key: pem(signer), rekorPublicKey: pem(log) })).error).toContain("no transparency log entry in the Sigstore bundle");
  });

  it("concurrent checks of the same image share one round of registry requests; a later one is answered from the cache", async () => {
    registry = await startFakeRegistry({ "team/app:1.0": { created: "2025-01-01T00:00:00Z", signatures: [{ ...signer }] } });
    const client = createRegistryClient({ insecure: [registry.host] });
    const check = { image: `${registry.host}/team/app:1.0`, key: pem(signer), ignoreTlog: true };
    const first = await client.verify!(check);
    const alone = registry.requests.length;
    expect(first.ok).toBe(true);
    const other = createRegistryClient({ insecure: [registry.host] });
    const answers = await Promise.all([other.verify!(check), other.verify!(check), other.verify!(check)]);
    expect(answers.every((a) => a.ok)).toBe(true);
    // three concurrent checks on a fresh client cost what one did
    expect(registry.requests.length).toBe(2 * alone);
    await other.verify!(check);
    expect(registry.requests.length).toBe(2 * alone);
  });
});
