/**
 * Image metadata from OCI registries, for Kyverno `imageRegistry` context entries: the OCI
 * distribution API (`GET /v2/<repository>/manifests/<tag|digest>`, then the config blob), with
 * the registries' token handshake (a `401` with `WWW-Authenticate: Bearer realm=...` → a token
 * from the realm, anonymous or with configured credentials; `Basic` challenges answered with the
 * credentials), an image index / manifest list resolved to one platform (linux/amd64 by default),
 * and one redirect followed for blobs. The answer has Kyverno's shape: `image`, `resolvedImage`
 * (`<registry>/<repository>@<digest>`), `registry`, `repository`, `identifier`, `manifest`,
 * `configData`. Answers are kept `cacheSeconds` (tags move).
 *
 * `verify` checks an image's Cosign signatures or attestations with a public key (cosign.ts):
 * the image's digest (the tag's top-level manifest, index or not, as cosign signs it), then the
 * `sha256-<hex>.sig` / `.att` manifest and its layers from the image's repository or the one the
 * check names.
 */
import { createHash, type X509Certificate } from "node:crypto";
import { request as httpRequest, type IncomingMessage } from "node:http";
import { request as httpsRequest } from "node:https";
import type { ApiAnswer, ImageRegistry, ImageSignatureCheck } from "../../core/context.js";
import { certificatesOf } from "./fulcio.js";
import { JWS_TYPE, NOTARY_SIGNATURE_TYPE, notaryProblem } from "./notary.js";
import { attestationOf, bundleStatement, COSIGN_SIGN_PREDICATE, cosignTag, DSSE_TYPE, isSigstoreBundleType, layersOf, publicKeyOf, signerOf, SIMPLE_SIGNING_TYPE, simpleSigningProblem, type SignatureAnswer } from "./cosign.js";

export interface RegistrySettings {
  /** Registries reached over plain HTTP (host[:port]), e.g. a local registry. */
  readonly insecure?: readonly string[];
  /** Timeout of one registry request, ms (default 2,000). */
  readonly timeoutMs?: number;
  /** How long an answer is reused, seconds (default 60; 0: never). */
  readonly cacheSeconds?: number;
  /** Credentials by registry host (`ghcr.io`, `registry.example.com:5000`). */
  readonly credentials?: Readonly<Record<string, { readonly username: string; readonly password: string }>>;
  /** Platform picked from an image index (default linux/amd64). */
  readonly platform?: string;
  /** PEM key of the Rekor log whose bundles signature checks accept when the check names none. */
  readonly rekorPublicKey?: string | undefined;
  /** PEM Fulcio root(s) and intermediates keyless checks accept when the check names none. */
  readonly fulcioRoots?: string | undefined;
  /** PEM key of the CT log whose SCTs keyless checks accept when the check names none. */
  readonly ctLogPublicKey?: string | undefined;
  /** Answers kept per cache (image descriptions; signature checks), least recently used dropped first (default 1,000). */
  readonly maxCachedAnswers?: number;
  /** Registry tokens kept (one per registry host and repository), least recently used dropped first (default 1,000). */
  readonly maxTokens?: number;
}

type Json = Record<string, unknown>;

function isObject(value: unknown): value is Json {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

const manifestTypes = [
  "application/vnd.oci.image.index.v1+json",
  "application/vnd.docker.distribution.manifest.list.v2+json",
  "application/vnd.oci.image.manifest.v1+json",
  "application/vnd.docker.distribution.manifest.v2+json",
].join(", ");

/** An image reference split as registries address it (Docker Hub's short names expanded). */
export interface ImageReference {
  /** The host requests go to (`registry-1.docker.io` for Docker Hub). */
  readonly host: string;
  /** The registry as Kyverno reports it (`index.docker.io` for Docker Hub). */
  readonly registry: string;
  readonly repository: string;
  /** The tag or the digest. */
  readonly identifier: string;
}

export function parseImageReference(reference: string): ImageReference {
  let rest = reference.trim();
  let identifier = "latest";
  const at = rest.indexOf("@");
  if (at >= 0) {
    identifier = rest.slice(at + 1);
    rest = rest.slice(0, at);
  }
  const slash = rest.indexOf("/");
  let registry = "index.docker.io";
  if (slash >= 0) {
    const first = rest.slice(0, slash);
    if (first.includes(".") || first.includes(":") || first === "localhost") {
      registry = first;
      rest = rest.slice(slash + 1);
    }
  }
  const colon = rest.lastIndexOf(":");
  if (colon >= 0) {
    if (at < 0) identifier = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
  }
  if (registry === "docker.io") registry = "index.docker.io";
  const repository = registry === "index.docker.io" && !rest.includes("/") ? `library/${rest}` : rest;
  return { host: registry === "index.docker.io" ? "registry-1.docker.io" : registry, registry, repository, identifier };
}

interface Response { readonly status: number; readonly headers: IncomingMessage["headers"]; readonly body: Buffer }

/** `Bearer realm="https://auth",service="registry",scope="repository:x:pull"` → its parameters. */
function challenge(header: string | undefined): { scheme: string; params: Record<string, string> } | undefined {
  if (header === undefined) return undefined;
  const space = header.indexOf(" ");
  if (space < 0) return { scheme: header.toLowerCase(), params: {} };
  const params: Record<string, string> = {};
  for (const match of header.slice(space + 1).matchAll(/(\w+)="([^"]*)"/g)) params[match[1] as string] = match[2] as string;
  return { scheme: header.slice(0, space).toLowerCase(), params };
}

export function createRegistryClient(settings: RegistrySettings = {}): ImageRegistry & { stats(): { readonly requests: number; readonly cached: number } } {
  const insecure = new Set(settings.insecure ?? []);
  const timeoutMs = settings.timeoutMs ?? 2000;
  const cacheMs = (settings.cacheSeconds ?? 60) * 1000;
  const [os, arch] = (settings.platform ?? "linux/amd64").split("/");
  const cache = new Map<string, { at: number; answer: ApiAnswer }>();
  const tokens = new Map<string, string>();
  const maxCachedAnswers = Math.max(1, settings.maxCachedAnswers ?? 1000);
  const maxTokens = Math.max(1, settings.maxTokens ?? 1000);

  /** Puts `key` at the back of a Map kept in least-recently-used order, dropping the front beyond `limit`. */
  function touch<V>(map: Map<string, V>, key: string, value: V, limit: number): void {
    map.delete(key);
    while (map.size >= limit) map.delete(map.keys().next().value as string);
    map.set(key, value);
  }
  let requests = 0;

  function send(url: URL, headers: Record<string, string>): Promise<Response> {
    requests++;
    const request = url.protocol === "https:" ? httpsRequest : httpRequest;
    return new Promise((resolve, reject) => {
      const req = request(url, { method: "GET", headers: { "User-Agent": "vigil", ...headers }, timeout: timeoutMs }, (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (chunk: Buffer) => chunks.push(chunk));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
        res.on("error", reject);
      });
      req.on("timeout", () => req.destroy(new Error(`GET ${url.host}${url.pathname} timed out after ${timeoutMs} ms`)));
      req.on("error", reject);
      req.end();
    });
  }

  function basic(host: string): string | undefined {
    const credentials = settings.credentials?.[host];
    return credentials === undefined ? undefined : `Basic ${Buffer.from(`${credentials.username}:${credentials.password}`).toString("base64")}`;
  }

  /** A GET to the registry, answering its auth challenge once and following one redirect. */
  async function get(ref: ImageReference, path: string, accept?: string): Promise<Response> {
    const base = `${insecure.has(ref.host) ? "http" : "https"}://${ref.host}`;
    const headers: Record<string, string> = accept === undefined ? {} : { Accept: accept };
    const tokenKey = `${ref.host}/${ref.repository}`;
    const token = tokens.get(tokenKey);
    if (token !== undefined) {
      touch(tokens, tokenKey, token, maxTokens);
      headers["Authorization"] = token;
    }
    let response = await send(new URL(path, base), headers);
    if (response.status === 401) {
      const asked = challenge(response.headers["www-authenticate"]);
      let authorization: string | undefined;
      if (asked?.scheme === "bearer" && asked.params["realm"] !== undefined) {
        const realm = new URL(asked.params["realm"]);
        if (asked.params["service"] !== undefined) realm.searchParams.set("service", asked.params["service"]);
        realm.searchParams.set("scope", asked.params["scope"] ?? `repository:${ref.repository}:pull`);
        const login = basic(ref.host);
        const answer = await send(realm, login === undefined ? {} : { Authorization: login });
        if (answer.status !== 200) throw new Error(`token from ${realm.host}${realm.pathname} answered HTTP ${answer.status}`);
        const body = JSON.parse(answer.body.toString("utf8")) as { token?: string; access_token?: string };
        const value = body.token ?? body.access_token;
        if (typeof value !== "string" || value === "") throw new Error(`token from ${realm.host}${realm.pathname}: no token in the answer`);
        authorization = `Bearer ${value}`;
      } else if (asked?.scheme === "basic") authorization = basic(ref.host);
      if (authorization !== undefined) {
        touch(tokens, tokenKey, authorization, maxTokens);
        response = await send(new URL(path, base), { ...headers, Authorization: authorization });
      }
    }
    if (response.status >= 300 && response.status < 400 && typeof response.headers.location === "string") {
      const target = new URL(response.headers.location, base);
      // Blob storage behind a redirect gets no registry credentials.
      const sameHost = target.host === ref.host;
      response = await send(target, sameHost ? headers : (accept === undefined ? {} : { Accept: accept }));
    }
    if (response.status !== 200) {
      let detail = response.body.toString("utf8").trim().slice(0, 200);
      try {
        const errors = (JSON.parse(detail) as { errors?: { code?: string; message?: string }[] }).errors;
        if (errors?.[0] !== undefined) detail = `${errors[0].code ?? ""} ${errors[0].message ?? ""}`.trim();
      } catch { /* not the registry's error document */ }
      throw new Error(`GET ${ref.host}${path} answered HTTP ${response.status}${detail ? `: ${detail}` : ""}`);
    }
    return response;
  }

  async function describe(reference: string): Promise<ApiAnswer> {
    const ref = parseImageReference(reference);
    const manifestPath = `/v2/${ref.repository}/manifests/${ref.identifier}`;
    const top = await get(ref, manifestPath, manifestTypes);
    const digest = typeof top.headers["docker-content-digest"] === "string" ? top.headers["docker-content-digest"] : `sha256:${createHash("sha256").update(top.body).digest("hex")}`;
    let manifest = JSON.parse(top.body.toString("utf8")) as Json;
    if (Array.isArray(manifest["manifests"])) {
      const entries = manifest["manifests"].filter(isObject);
      const pick = entries.find((m) => isObject(m["platform"]) && m["platform"]["os"] === os && m["platform"]["architecture"] === arch) ?? entries[0];
      if (pick === undefined || typeof pick["digest"] !== "string") throw new Error(`${reference}: the image index lists no manifest`);
      manifest = JSON.parse((await get(ref, `/v2/${ref.repository}/manifests/${pick["digest"]}`, manifestTypes)).body.toString("utf8")) as Json;
    }
    const config = isObject(manifest["config"]) ? manifest["config"] : undefined;
    const configDigest = typeof config?.["digest"] === "string" ? config["digest"] : undefined;
    const configData = configDigest === undefined ? {} : JSON.parse((await get(ref, `/v2/${ref.repository}/blobs/${configDigest}`)).body.toString("utf8")) as unknown;
    return {
      ok: true,
      body: {
        image: reference,
        resolvedImage: `${ref.registry}/${ref.repository}@${digest}`,
        registry: ref.registry,
        repository: ref.repository,
        identifier: ref.identifier,
        manifest,
        configData,
      },
    };
  }

  /** The digest of the manifest a reference names (the reference's own digest, or the tag's top-level manifest). */
  async function digestOf(reference: string): Promise<string> {
    const ref = parseImageReference(reference);
    if (/^sha(256|384|512):[0-9a-f]+$/.test(ref.identifier)) return ref.identifier;
    const top = await get(ref, `/v2/${ref.repository}/manifests/${ref.identifier}`, manifestTypes);
    return typeof top.headers["docker-content-digest"] === "string" ? top.headers["docker-content-digest"] : `sha256:${createHash("sha256").update(top.body).digest("hex")}`;
  }

  const indexTypes = "application/vnd.oci.image.index.v1+json";
  const manifestType = "application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json";
  const notFound = (error: unknown): boolean => error instanceof Error && / answered HTTP 404/.test(error.message);

  /** A manifest by tag or digest, or undefined when the registry has none (404). */
  async function manifestOrNone(ref: ImageReference, reference: string, accept: string): Promise<Json | undefined> {
    try {
      return JSON.parse((await get(ref, `/v2/${ref.repository}/manifests/${reference}`, accept)).body.toString("utf8")) as Json;
    } catch (error) {
      if (notFound(error)) return undefined;
      throw error;
    }
  }

  /** The descriptors of what refers to `digest`: the referrers API, else the referrers tag scheme (`sha256-<hex>`, an index). */
  async function referrersIndex(ref: ImageReference, digest: string): Promise<Json[]> {
    let index: Json | undefined;
    try {
      index = JSON.parse((await get(ref, `/v2/${ref.repository}/referrers/${digest}`, indexTypes)).body.toString("utf8")) as Json;
    } catch (error) {
      if (!notFound(error)) throw error;
      index = await manifestOrNone(ref, digest.replace(":", "-"), indexTypes);
    }
    return Array.isArray(index?.["manifests"]) ? index["manifests"].filter(isObject) : [];
  }

  /**
   * The blobs of the artifacts attached to `digest` as OCI 1.1 referrers whose artifact type
   * `accept` takes (Sigstore bundles for cosign v3, notation signatures): the referrers API, else
   * the referrers tag scheme (`sha256-<hex>`, an index); of each artifact, its first layer of a
   * type `layer` takes, when its bytes match its digest.
   */
  async function referrerBlobs(ref: ImageReference, digest: string, accept: (artifactType: unknown) => boolean, layerType: (mediaType: unknown) => boolean): Promise<Buffer[]> {
    const blobs: Buffer[] = [];
    for (const entry of await referrersIndex(ref, digest)) {
      if (!accept(entry["artifactType"]) || typeof entry["digest"] !== "string") continue;
      const manifest = await manifestOrNone(ref, entry["digest"], manifestType);
      const layer = Array.isArray(manifest?.["layers"]) ? manifest["layers"].find((l) => isObject(l) && layerType(l["mediaType"])) : undefined;
      if (!isObject(layer) || typeof layer["digest"] !== "string") continue;
      const blob = (await get(ref, `/v2/${ref.repository}/blobs/${layer["digest"]}`)).body;
      if (`sha256:${createHash("sha256").update(blob).digest("hex")}` === layer["digest"]) blobs.push(blob);
    }
    return blobs;
  }

  /** The notation signature envelopes attached to `digest`, and why none verifies (undefined when one does). */
  async function notaryVerdict(store: ImageReference, digest: string, trusted: readonly X509Certificate[]): Promise<string | undefined> {
    const envelopes = await referrerBlobs(store, digest, (type) => type === NOTARY_SIGNATURE_TYPE, (type) => type === JWS_TYPE);
    if (envelopes.length === 0) return "no notation signatures found";
    const problems = envelopes.map((envelope) => notaryProblem(envelope, trusted, digest));
    return problems.some((problem) => problem === undefined) ? undefined : `no matching notation signatures:\n${[...new Set(problems)].join("\n")}`;
  }

  /**
   * Notation signatures of the image: at least one must verify with the check's trusted
   * certificates. With `predicateType`, the referrer artifacts of that artifact type (an SBOM
   * attached with `oras attach`), each signed by notation: the verified ones' JSON contents are the
   * statements' predicates.
   */
  async function verifyNotary(check: ImageSignatureCheck, notary: NonNullable<ImageSignatureCheck["notary"]>): Promise<SignatureAnswer> {
    const trusted = certificatesOf(notary.certificates);
    if (trusted.length === 0) throw new Error("no trusted certificate: set certificates.cert (and certChain)");
    const digest = await digestOf(check.image);
    const image = parseImageReference(check.image);
    const store = check.repository === undefined || check.repository === "" ? image : parseImageReference(check.repository);
    if (check.predicateType === undefined) {
      const problem = await notaryVerdict(store, digest, trusted);
      if (problem !== undefined) throw new Error(problem);
      return { digest, verified: 1 };
    }
    const type = check.predicateType;
    const index = await referrersIndex(store, digest);
    const artifacts = index.filter((entry) => entry["artifactType"] === type && typeof entry["digest"] === "string");
    if (artifacts.length === 0) throw new Error(`no ${type} artifacts found`);
    const statements: Record<string, unknown>[] = [];
    const problems: string[] = [];
    for (const artifact of artifacts) {
      const artifactDigest = artifact["digest"] as string;
      const problem = await notaryVerdict(store, artifactDigest, trusted);
      if (problem !== undefined) {
        problems.push(`${artifactDigest}: ${problem}`);
        continue;
      }
      const manifest = await manifestOrNone(store, artifactDigest, manifestType);
      const layer = Array.isArray(manifest?.["layers"]) ? manifest["layers"].find(isObject) : undefined;
      if (!isObject(layer) || typeof layer["digest"] !== "string") continue;
      const blob = (await get(store, `/v2/${store.repository}/blobs/${layer["digest"]}`)).body;
      if (`sha256:${createHash("sha256").update(blob).digest("hex")}` !== layer["digest"]) continue;
      let content: unknown;
      try {
        content = JSON.parse(blob.toString("utf8")) as unknown;
      } catch {
        problems.push(`${artifactDigest}: the artifact is not JSON`);
        continue;
      }
      statements.push({ predicateType: type, subject: [{ digest: { sha256: digest.replace(/^sha256:/, "") } }], predicate: content });
    }
    if (statements.length === 0) throw new Error(`no matching ${type} artifacts:\n${problems.join("\n")}`);
    return { digest, verified: statements.length, statements };
  }

  /**
   * Checks the signatures (or attestations) of an image with one key, wherever cosign stored
   * them: the `.sig` / `.att` tags (cosign up to v2) and Sigstore bundles attached as referrers
   * (cosign v3: an image signature is a bundle whose statement has the predicate type
   * https://sigstore.dev/cosign/sign/v1).
   */
  async function verify(check: ImageSignatureCheck): Promise<SignatureAnswer> {
    if (check.notary !== undefined) return verifyNotary(check, check.notary);
    const signer = signerOf(check, { ...(settings.fulcioRoots ? { roots: settings.fulcioRoots } : {}), ...(settings.ctLogPublicKey ? { ctLogPublicKey: settings.ctLogPublicKey } : {}) });
    const rekorPem = check.rekorPublicKey !== undefined && check.rekorPublicKey !== "" ? check.rekorPublicKey : settings.rekorPublicKey;
    const rekorKey = rekorPem === undefined || rekorPem === "" ? undefined : publicKeyOf(rekorPem);
    const digest = await digestOf(check.image);
    const image = parseImageReference(check.image);
    const store = check.repository === undefined || check.repository === "" ? image : parseImageReference(check.repository);
    const attestations = check.predicateType !== undefined;
    const problems: string[] = [];
    let found = 0;
    let verified = 0;
    const statements: Record<string, unknown>[] = [];
    const accept = (statement: Record<string, unknown>): void => {
      verified++;
      if (attestations && statement["predicateType"] === check.predicateType) statements.push(statement);
    };
    const legacy = await manifestOrNone(store, cosignTag(digest, attestations ? "att" : "sig"), manifestType);
    for (const layer of layersOf(legacy)) {
      if (layer.mediaType !== (attestations ? DSSE_TYPE : SIMPLE_SIGNING_TYPE)) continue;
      found++;
      const blob = (await get(store, `/v2/${store.repository}/blobs/${layer.digest}`)).body;
      if (attestations) {
        const outcome = attestationOf(layer, blob, signer, check, digest, rekorKey);
        if ("problem" in outcome) problems.push(outcome.problem);
        else accept(outcome.statement);
      } else {
        const problem = simpleSigningProblem(layer, blob, signer, check, digest, rekorKey);
        if (problem === undefined) verified++;
        else problems.push(problem);
      }
    }
    for (const blob of await referrerBlobs(store, digest, isSigstoreBundleType, isSigstoreBundleType)) {
      const outcome = bundleStatement(blob, signer, check, digest, rekorKey);
      // A signature bundle is not an attestation, nor an attestation a signature.
      const predicate = "statement" in outcome ? outcome.statement["predicateType"] : undefined;
      if ("statement" in outcome && (predicate === COSIGN_SIGN_PREDICATE) === attestations) continue;
      found++;
      if ("problem" in outcome) problems.push(outcome.problem);
      else accept(outcome.statement);
    }
    const what = attestations ? "attestations" : "signatures";
    if (found === 0) throw new Error(`no ${what} found`);
    if (verified === 0) throw new Error(`no matching ${what}:\n${[...new Set(problems)].join("\n")}`);
    return { digest, verified, ...(attestations ? { statements } : {}) };
  }

  const verified = new Map<string, { at: number; answer: ApiAnswer }>();

  /**
   * The answer `compute` gives for `key`, reused for cacheSeconds from `store` (at most
   * maxCachedAnswers, 1,000; a hit or a refresh moves the answer to the back, the least recently
   * used is dropped first) and shared by the callers that ask while it is computed.
   * Failures are not kept: the next review asks again. Never rejects.
   */
  /** Lookups in flight, by store and key: concurrent reviews of the same image share one round of registry requests. */
  const inFlight = new Map<string, Promise<ApiAnswer>>();

  function cached(store: Map<string, { at: number; answer: ApiAnswer }>, key: string, compute: () => Promise<ApiAnswer>): Promise<ApiAnswer> {
    const now = Date.now();
    const hit = store.get(key);
    if (hit !== undefined && now - hit.at < cacheMs) {
      touch(store, key, hit, maxCachedAnswers);
      return Promise.resolve(hit.answer);
    }
    const flightKey = `${store === verified ? "verify" : "describe"}\u0000${key}`;
    const running = inFlight.get(flightKey);
    if (running !== undefined) return running;
    const answer = (async (): Promise<ApiAnswer> => {
      let result: ApiAnswer;
      try {
        result = await compute();
      } catch (error) {
        result = { ok: false, error: error instanceof Error ? error.message : String(error) };
      }
      if (result.ok && cacheMs > 0) {
        touch(store, key, { at: now, answer: result }, maxCachedAnswers);
      }
      return result;
    })().finally(() => inFlight.delete(flightKey));
    inFlight.set(flightKey, answer);
    return answer;
  }

  return {
    verify: (check) => cached(verified, JSON.stringify(check), async () => ({ ok: true, body: await verify(check) })),
    describe: (reference) => cached(cache, reference, () => describe(reference)),
    stats: () => ({ requests, cached: cache.size }),
  };
}
