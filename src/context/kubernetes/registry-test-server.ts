/**
 * A local OCI registry for tests: the distribution API's manifest and blob GETs (an image index
 * resolving to per-platform manifests, `Docker-Content-Digest`, blobs behind a 307 redirect) and,
 * optionally, the token handshake (`401` + `WWW-Authenticate: Bearer realm=...`, then a token
 * from the realm). Not used outside tests.
 */
import { createHash } from "node:crypto";
import { createServer } from "node:http";
import type { KeyObject } from "node:crypto";
import type { AddressInfo } from "node:net";
import { attestationLayer, notarySignature, SIGSTORE_BUNDLE_TYPE, sigstoreBundle, signatureLayer, type SignedLayer, type SignOptions } from "./cosign-test-signer.js";

export interface FakeImage {
  /** The config's `created` time (RFC 3339). */
  readonly created: string;
  readonly labels?: Readonly<Record<string, string>>;
  /** Manifest annotations (e.g. org.opencontainers.image.base.name). */
  readonly annotations?: Readonly<Record<string, string>>;
  /** Layer sizes in bytes (default one layer of 1 MiB). */
  readonly layers?: readonly number[];
  /** Serve the tag as an image index (arm64 first, then amd64) instead of a plain manifest. */
  readonly index?: boolean;
  /** `cosign sign --key` of the tag's digest, once per entry (the `sha256-<hex>.sig` tag). */
  readonly signatures?: readonly SignOptions[];
  /** `cosign attest --key` of the tag's digest (the `sha256-<hex>.att` tag). */
  readonly attestations?: readonly (SignOptions & { readonly predicateType: string; readonly predicate: unknown })[];
  /** Where the signatures and attestations go (COSIGN_REPOSITORY), instead of the image's repository. */
  readonly signatureRepository?: string;
  /** cosign v3 (new bundle format): Sigstore bundles attached as OCI 1.1 referrers of the tag's digest; without a predicateType, an image signature. */
  readonly bundles?: readonly (SignOptions & { readonly predicateType?: string; readonly predicate?: unknown })[];
  /** `notation sign`: JWS signatures by a certificate's key, attached as referrers. */
  readonly notarySignatures?: readonly { readonly privateKey: KeyObject; readonly certificate: { readonly raw: Buffer }; readonly chain: string; readonly claimDigest?: string }[];
  /** `oras attach --artifact-type <type>` of a JSON document (an SBOM), then `notation sign` of that artifact by `signedBy`. */
  readonly referrerArtifacts?: readonly { readonly artifactType: string; readonly content: unknown; readonly mediaType?: string; readonly signedBy?: readonly { readonly privateKey: KeyObject; readonly certificate: { readonly raw: Buffer }; readonly chain: string }[] }[];
}

export interface FakeRegistry {
  /** `127.0.0.1:<port>`: the host part of image references. */
  readonly host: string;
  readonly requests: { readonly path: string; readonly authorization: string | undefined }[];
  /** The digest of `repo:tag`'s top-level manifest (index or manifest). */
  digestOf(repositoryAndTag: string): string;
  close(): Promise<void>;
}

const sha = (text: string): string => `sha256:${createHash("sha256").update(text).digest("hex")}`;

/** `referrers`: `api` serves the OCI referrers API (default); `tag` answers it 404, as older registries do, and keeps the referrers tag scheme's index instead. */
export async function startFakeRegistry(images: Readonly<Record<string, FakeImage>>, options: { readonly token?: string; readonly referrers?: "api" | "tag" } = {}): Promise<FakeRegistry> {
  const blobs = new Map<string, string>();
  const manifests = new Map<string, { body: string; type: string }>();
  const tags = new Map<string, string>();
  for (const [name, image] of Object.entries(images)) {
    const colon = name.lastIndexOf(":");
    const repository = name.slice(0, colon);
    const tag = name.slice(colon + 1);
    const config = JSON.stringify({ created: image.created, architecture: "amd64", os: "linux", config: { User: "1000", Labels: image.labels ?? {} }, rootfs: { type: "layers", diff_ids: [] } });
    const configDigest = sha(config);
    blobs.set(configDigest, config);
    const manifest = JSON.stringify({
      schemaVersion: 2,
      mediaType: "application/vnd.oci.image.manifest.v1+json",
      config: { mediaType: "application/vnd.oci.image.config.v1+json", digest: configDigest, size: config.length },
      layers: (image.layers ?? [1 << 20]).map((size, i) => ({ mediaType: "application/vnd.oci.image.layer.v1.tar+gzip", digest: sha(`${name}-layer-${i}`), size })),
      ...(image.annotations ? { annotations: image.annotations } : {}),
    });
    const manifestDigest = sha(manifest);
    manifests.set(`${repository}@${manifestDigest}`, { body: manifest, type: "application/vnd.oci.image.manifest.v1+json" });
    if (image.index) {
      const other = JSON.stringify({ schemaVersion: 2, mediaType: "application/vnd.oci.image.manifest.v1+json", config: { mediaType: "application/vnd.oci.image.config.v1+json", digest: sha("arm64-config"), size: 2 }, layers: [] });
      manifests.set(`${repository}@${sha(other)}`, { body: other, type: "application/vnd.oci.image.manifest.v1+json" });
      const index = JSON.stringify({
        schemaVersion: 2,
        mediaType: "application/vnd.oci.image.index.v1+json",
        manifests: [
          { mediaType: "application/vnd.oci.image.manifest.v1+json", digest: sha(other), size: other.length, platform: { architecture: "arm64", os: "linux" } },
          { mediaType: "application/vnd.oci.image.manifest.v1+json", digest: manifestDigest, size: manifest.length, platform: { architecture: "amd64", os: "linux" } },
        ],
      });
      manifests.set(`${repository}@${sha(index)}`, { body: index, type: "application/vnd.oci.image.index.v1+json" });
      tags.set(`${repository}:${tag}`, sha(index));
    } else {
      tags.set(`${repository}:${tag}`, manifestDigest);
    }
  }
  let port = 0;
  const requests: { path: string; authorization: string | undefined }[] = [];
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  port = (server.address() as AddressInfo).port;
  // Signatures name the image as `<host>/<repository>` and cover the tag's top-level digest.
  const store = (repository: string, tag: string, signed: readonly SignedLayer[]): void => {
    if (signed.length === 0) return;
    const config = JSON.stringify({ architecture: "", os: "", config: {}, rootfs: { type: "layers", diff_ids: [] } });
    blobs.set(sha(config), config);
    for (const { blob } of signed) blobs.set(sha(blob), blob);
    const manifest = JSON.stringify({ schemaVersion: 2, mediaType: "application/vnd.oci.image.manifest.v1+json", config: { mediaType: "application/vnd.oci.image.config.v1+json", size: config.length, digest: sha(config) }, layers: signed.map((s) => s.layer) });
    manifests.set(`${repository}@${sha(manifest)}`, { body: manifest, type: "application/vnd.oci.image.manifest.v1+json" });
    tags.set(`${repository}:${tag}`, sha(manifest));
  };
  const referrers = new Map<string, string>();
  /** Attaches artifacts (Sigstore bundles, notation signatures) to `repository@digest` as referrers: each blob, its artifact manifest, the referrers index. */
  const referrerEntries = new Map<string, unknown[]>();
  const attach = (repository: string, digest: string, artifacts: readonly { readonly blob: string; readonly artifactType: string; readonly annotations: Record<string, string>; readonly layerType?: string }[]): string[] => {
    const attached: string[] = [];
    if (artifacts.length === 0) return attached;
    const empty = "{}";
    blobs.set(sha(empty), empty);
    const subject = manifests.get(`${repository}@${digest}`);
    const entries = referrerEntries.get(`${repository}@${digest}`) ?? [];
    referrerEntries.set(`${repository}@${digest}`, entries);
    for (const { blob, artifactType, annotations, layerType: given } of artifacts) {
      blobs.set(sha(blob), blob);
      const layerType = given ?? (artifactType === SIGSTORE_BUNDLE_TYPE ? SIGSTORE_BUNDLE_TYPE : "application/jose+json");
      const manifest = JSON.stringify({
        schemaVersion: 2, mediaType: "application/vnd.oci.image.manifest.v1+json", artifactType,
        config: { mediaType: "application/vnd.oci.empty.v1+json", digest: sha(empty), size: 2 },
        layers: [{ mediaType: layerType, digest: sha(blob), size: blob.length }],
        subject: { mediaType: subject?.type ?? "application/vnd.oci.image.manifest.v1+json", digest, size: subject?.body.length ?? 0 },
        annotations,
      });
      manifests.set(`${repository}@${sha(manifest)}`, { body: manifest, type: "application/vnd.oci.image.manifest.v1+json" });
      entries.push({ mediaType: "application/vnd.oci.image.manifest.v1+json", digest: sha(manifest), size: manifest.length, artifactType, annotations });
      attached.push(sha(manifest));
    }
    const index = JSON.stringify({ schemaVersion: 2, mediaType: "application/vnd.oci.image.index.v1+json", manifests: entries });
    if (options.referrers === "tag") {
      manifests.set(`${repository}@${sha(index)}`, { body: index, type: "application/vnd.oci.image.index.v1+json" });
      tags.set(`${repository}:${digest.replace(":", "-")}`, sha(index));
    } else referrers.set(`${repository}@${digest}`, index);
    return attached;
  };
  for (const [name, image] of Object.entries(images)) {
    const colon = name.lastIndexOf(":");
    const repository = name.slice(0, colon);
    const digest = tags.get(name) as string;
    const reference = `127.0.0.1:${port}/${repository}`;
    const target = image.signatureRepository ?? repository;
    store(target, `${digest.replace(":", "-")}.sig`, (image.signatures ?? []).map((options) => signatureLayer(reference, digest, options)));
    store(target, `${digest.replace(":", "-")}.att`, (image.attestations ?? []).map((a) => attestationLayer(reference, digest, a.predicateType, a.predicate, a)));
    attach(target, digest, (image.bundles ?? []).map((b) => {
      const blob = sigstoreBundle(digest, b);
      return { blob, artifactType: SIGSTORE_BUNDLE_TYPE, annotations: { "dev.sigstore.bundle.content": "dsse-envelope", "dev.sigstore.bundle.predicateType": b.predicateType ?? "https://sigstore.dev/cosign/sign/v1" } };
    }));
    const size = manifests.get(`${repository}@${digest}`)?.body.length ?? 0;
    const notarySigned = (subject: string, subjectSize: number, signers: readonly NonNullable<FakeImage["notarySignatures"]>[number][]) =>
      attach(target, subject, signers.map((n) => ({ blob: notarySignature(subject, subjectSize, n, n.claimDigest ? { claimDigest: n.claimDigest } : {}), artifactType: "application/vnd.cncf.notary.signature", annotations: { "io.cncf.notary.x509chain.thumbprint#S256": "[]" } })));
    notarySigned(digest, size, image.notarySignatures ?? []);
    // Signed referrer artifacts (an SBOM): attached to the image, each signed by notation itself.
    for (const artifact of image.referrerArtifacts ?? []) {
      const [artifactDigest] = attach(target, digest, [{ blob: JSON.stringify(artifact.content), artifactType: artifact.artifactType, annotations: {}, layerType: artifact.mediaType ?? "application/json" }]);
      if (artifactDigest !== undefined) notarySigned(artifactDigest, manifests.get(`${target}@${artifactDigest}`)?.body.length ?? 0, artifact.signedBy ?? []);
    }
  }
  server.on("request", (req, res) => {
    const url = new URL(req.url ?? "/", "http://localhost");
    requests.push({ path: `${url.pathname}${url.search}`, authorization: req.headers.authorization });
    if (url.pathname === "/token") {
      res.writeHead(200, { "Content-Type": "application/json" });
      res.end(JSON.stringify({ token: options.token, expires_in: 300 }));
      return;
    }
    const referrersOf = /^\/v2\/(.+)\/referrers\/([^/]+)$/.exec(url.pathname);
    if (referrersOf && options.referrers !== "tag" && (options.token === undefined || req.headers.authorization === `Bearer ${options.token}`)) {
      res.writeHead(200, { "Content-Type": "application/vnd.oci.image.index.v1+json" });
      res.end(referrers.get(`${referrersOf[1]}@${referrersOf[2]}`) ?? JSON.stringify({ schemaVersion: 2, mediaType: "application/vnd.oci.image.index.v1+json", manifests: [] }));
      return;
    }
    const manifest = /^\/v2\/(.+)\/manifests\/([^/]+)$/.exec(url.pathname);
    const blob = /^\/v2\/(.+)\/blobs\/([^/]+)$/.exec(url.pathname);
    if (options.token !== undefined && url.pathname.startsWith("/v2/") && req.headers.authorization !== `Bearer ${options.token}`) {
      const repository = manifest?.[1] ?? blob?.[1] ?? "";
      res.writeHead(401, { "Content-Type": "application/json", "WWW-Authenticate": `Bearer realm="http://127.0.0.1:${port}/token",service="fake-registry",scope="repository:${repository}:pull"` });
      res.end(JSON.stringify({ errors: [{ code: "UNAUTHORIZED", message: "authentication required" }] }));
      return;
    }
    if (manifest) {
      const [, repository, reference] = manifest as unknown as [string, string, string];
      const digest = reference.startsWith("sha256:") ? reference : tags.get(`${repository}:${reference}`);
      const found = digest === undefined ? undefined : manifests.get(`${repository}@${digest}`);
      if (found === undefined || digest === undefined) {
        res.writeHead(404, { "Content-Type": "application/json" });
        res.end(JSON.stringify({ errors: [{ code: "MANIFEST_UNKNOWN", message: `manifest unknown: ${repository}:${reference}` }] }));
        return;
      }
      res.writeHead(200, { "Content-Type": found.type, "Docker-Content-Digest": digest });
      res.end(found.body);
      return;
    }
    if (blob) {
      res.writeHead(307, { Location: `/blobstore/${blob[2]}` });
      res.end();
      return;
    }
    const stored = /^\/blobstore\/(.+)$/.exec(url.pathname);
    const body = stored === null ? undefined : blobs.get(stored[1] as string);
    if (body !== undefined) {
      res.writeHead(200, { "Content-Type": "application/octet-stream" });
      res.end(body);
      return;
    }
    res.writeHead(404, { "Content-Type": "application/json" });
    res.end(JSON.stringify({ errors: [{ code: "BLOB_UNKNOWN", message: "blob unknown" }] }));
  });
  return {
    host: `127.0.0.1:${port}`,
    requests,
    digestOf: (name) => tags.get(name) ?? "",
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
