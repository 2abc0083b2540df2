/**
 * Cosign public keys held in a KMS (Kyverno verifyImages `keys.kms`, ImageValidatingPolicy
 * `cosign.key.kms`). Kyverno hands the reference to cosign, which fetches the PUBLIC key from the
 * KMS and verifies the signatures locally; Vigil does the same for AWS KMS (kms-aws.ts), HashiCorp Vault's
 * transit engine (`hashivault://`, kms-vault.ts), Google Cloud KMS (`gcpkms://`, kms-gcp.ts) and
 * Azure Key Vault (`azurekms://`, kms-azure.ts):
 *
 * - references are parsed with cosign's own regexes (sigstore/sigstore
 *   pkg/signature/kms/{aws,hashivault,gcp,azure}/client.go): `awskms://[ENDPOINT]/<key id | key
 *   ARN | alias/<name> | alias ARN>` (an ENDPOINT, host:port, is reached over https, as cosign
 *   does), `hashivault://<key name>`, `gcpkms://projects/P/locations/L/keyRings/R/cryptoKeys/K`
 *   with an optional `/cryptoKeyVersions/V`, `azurekms://<vault host>/<key name>` with an optional
 *   `/<version>`;
 * - `KmsKeySource` is the port that turns a reference into the key; `createAwsKmsKeySource`
 *   (kms-aws.ts) asks AWS KMS `GetPublicKey` (the official SDK: SigV4, the standard credential
 *   chain) and keeps each key `cacheSeconds` (default 300, as cosign's key cache);
 * - `withKmsKeys` wraps an image registry so a signature check naming `kms` instead of `key` is
 *   checked with the fetched key, and with the hash of the key's signing algorithm (cosign uses
 *   the key's first signing algorithm, not the rule's signatureAlgorithm); a Vault key with the
 *   rule's signatureAlgorithm, the hash cosign has Vault verify with; a Google Cloud KMS key with
 *   the hash of its version's algorithm, an Azure key with the hash its curve or size implies
 *   (both as cosign);
 * - `composeKmsKeySources` gives `withKmsKeys` one source that dispatches by scheme, and says
 *   which schemes nobody configured.
 *
 * A check whose key cannot be had is answered `{ ok: false }` with a message starting with one of
 * `KMS_NOT_CONFIGURED_PREFIXES` or with `KMS_KEY_PROBLEM`, which `kmsFailureKind` tells apart
 * from signatures that do not verify (ApiAnswer has no error kind; the policy layer reads these
 * as `unsupported` and `error`). Each of cosign's four schemes is fetched once its setting
 * (admission.kms.aws, vault, gcp, azure) is given; without it, its checks are `unsupported`.
 */
import type { ApiAnswer, ImageRegistry, ImageSignatureCheck } from "../../core/context.js";

/** A signature check whose public key is named by a KMS reference instead of given as `key`. */
export type KmsSignatureCheck = ImageSignatureCheck & { readonly kms?: string };

/** The schemes of cosign's KMS providers. */
export const KMS_SCHEMES = ["awskms://", "gcpkms://", "azurekms://", "hashivault://"] as const;

/** How a check of an `awskms://` key begins its answer when admission.kms.aws is not set (read as `unsupported`). */
export const KMS_NOT_CONFIGURED = "AWS KMS keys are fetched only when admission.kms.aws is set in vigil.yaml";
/** How a check of a `hashivault://` key begins its answer when admission.kms.vault is not set (read as `unsupported`). */
export const VAULT_NOT_CONFIGURED = "HashiCorp Vault keys are fetched only when admission.kms.vault is set in vigil.yaml";
/** How a check of a `gcpkms://` key begins its answer when admission.kms.gcp is not set (read as `unsupported`). */
export const GCP_NOT_CONFIGURED = "Google Cloud KMS keys are fetched only when admission.kms.gcp is set in vigil.yaml";
/** How a check of an `azurekms://` key begins its answer when admission.kms.azure is not set (read as `unsupported`). */
export const AZURE_NOT_CONFIGURED = "Azure Key Vault keys are fetched only when admission.kms.azure is set in vigil.yaml";
/** Every way a "not configured" answer begins; `kmsFailureKind` reads each as `unsupported`. */
export const KMS_NOT_CONFIGURED_PREFIXES: readonly string[] = [KMS_NOT_CONFIGURED, VAULT_NOT_CONFIGURED, GCP_NOT_CONFIGURED, AZURE_NOT_CONFIGURED];
/** How a check begins its answer when its KMS key could not be fetched or used (read as `error`). */
export const KMS_KEY_PROBLEM = "the KMS key ";

/** Whether a failed check's message says its KMS key could not be had (`unsupported`, `error`), or undefined: the signatures did not verify. */
export function kmsFailureKind(reason: string): "unsupported" | "error" | undefined {
  if (KMS_NOT_CONFIGURED_PREFIXES.some((prefix) => reason.startsWith(prefix))) return "unsupported";
  if (reason.startsWith(KMS_KEY_PROBLEM)) return "error";
  return undefined;
}

/** The answer to a check of `reference` when the KMS it names is not configured: what to set (starts with one of KMS_NOT_CONFIGURED_PREFIXES). */
export function kmsNotConfigured(reference: string): string {
  if (reference.startsWith("hashivault://")) return `${VAULT_NOT_CONFIGURED} (admission.kms.vault: {address, token}) to check signatures with ${reference}`;
  if (reference.startsWith("gcpkms://")) return `${GCP_NOT_CONFIGURED} (admission.kms.gcp: {credentialsFile} or {accessToken}) to check signatures with ${reference}`;
  if (reference.startsWith("azurekms://")) return `${AZURE_NOT_CONFIGURED} (admission.kms.azure: {tenantId, clientId, clientSecret}) to check signatures with ${reference}`;
  return `${KMS_NOT_CONFIGURED} (admission.kms.aws: {region, endpoint}) to check signatures with ${reference}`;
}

/** An `awskms://` reference: the endpoint host (empty: AWS's own), and the KeyId GetPublicKey is asked for. */
export interface AwsKmsReference {
  readonly endpoint: string;
  readonly keyId: string;
  /** `alias/<name>` when the reference is an alias (name or ARN), else empty. */
  readonly alias: string;
}

// cosign's regexes, unchanged (sigstore/sigstore pkg/signature/kms/aws/client.go).
const uuid = "m?r?k?-?[A-Fa-f0-9]{8}-?[A-Fa-f0-9]{4}-?[A-Fa-f0-9]{4}-?[A-Fa-f0-9]{4}-?[A-Fa-f0-9]{12}";
const arn = "arn:(?:aws|aws-us-gov):kms:[a-z0-9-]+:\\d{12}:";
const host = "([^/]*)/";
const awsReferences = [
  new RegExp(`^awskms://${host}(${uuid})$`),
  new RegExp(`^awskms://${host}(${arn}key/${uuid})$`),
  new RegExp(`^awskms://${host}((alias/.*))$`),
  new RegExp(`^awskms://${host}(${arn}(alias/.*))$`),
];

/** The parts of an `awskms://` reference as cosign's ParseReference reads them, or undefined when cosign would reject it. */
export function parseAwsKmsReference(reference: string): AwsKmsReference | undefined {
  for (const pattern of awsReferences) {
    const match = pattern.exec(reference);
    if (match !== null) return { endpoint: match[1] ?? "", keyId: match[2] ?? "", alias: match[3] ?? "" };
  }
  return undefined;
}

// cosign's regex, unchanged (sigstore/sigstore pkg/signature/kms/hashivault/client.go): one transit key name.
const vaultReference = /^hashivault:\/\/(\w(?:[\w.-]*\w)?)$/;

/** The transit key name of a `hashivault://<key name>` reference, or undefined when cosign would reject it. */
export function parseVaultKmsReference(reference: string): string | undefined {
  return vaultReference.exec(reference)?.[1];
}

/** A `gcpkms://` reference: the CryptoKey's resource name, and the version it pins (empty: none). */
export interface GcpKmsReference {
  /** `projects/P/locations/L/keyRings/R/cryptoKeys/K`. */
  readonly key: string;
  /** The CryptoKeyVersion id, or empty: cosign then uses the key's latest enabled version. */
  readonly version: string;
}

// cosign's regex, unchanged (sigstore/sigstore pkg/signature/kms/gcp/client.go; older releases
// accepted only `/versions/<V>`, current ones `/cryptoKeyVersions/<V>` too).
const gcpReference = /^gcpkms:\/\/projects\/([^/]+)\/locations\/([^/]+)\/keyRings\/([^/]+)\/cryptoKeys\/([^/]+)(?:\/(?:cryptoKeyVersions|versions)\/([^/]+))?$/;

/** The parts of a `gcpkms://` reference, or undefined when cosign would reject it. */
export function parseGcpKmsReference(reference: string): GcpKmsReference | undefined {
  const match = gcpReference.exec(reference);
  if (match === null) return undefined;
  const [project, location, keyRing, key] = [match[1], match[2], match[3], match[4]] as string[];
  return { key: `projects/${project}/locations/${location}/keyRings/${keyRing}/cryptoKeys/${key}`, version: match[5] ?? "" };
}

/** An `azurekms://` reference: the vault's host, the key name, and the version it pins (empty: the key's current version). */
export interface AzureKmsReference {
  /** As written: cosign reads the key at `https://<host>/` (so write the full host, e.g. myvault.vault.azure.net). */
  readonly host: string;
  readonly name: string;
  readonly version: string;
}

// cosign's regex, unchanged (sigstore/sigstore pkg/signature/kms/azure/client.go).
const azureReference = /^azurekms:\/\/([^/]+)\/([^/]+)(\/[a-z0-9]*)?$/;

/** The parts of an `azurekms://` reference, or undefined when cosign would reject it. */
export function parseAzureKmsReference(reference: string): AzureKmsReference | undefined {
  const match = azureReference.exec(reference);
  if (match === null) return undefined;
  return { host: match[1] as string, name: match[2] as string, version: (match[3] ?? "").slice(1) };
}

/**
 * Why a `kms` reference cannot be checked by Vigil (`error`: not a reference cosign would
 * accept), or undefined for a well-formed `awskms://`, `hashivault://`, `gcpkms://` or
 * `azurekms://` one. The message does not name the field: the caller does. (No scheme cosign
 * names is `unsupported` any more; the kind stays for the callers.)
 */
export function kmsReferenceProblem(reference: string): { readonly kind: "unsupported" | "error"; readonly message: string } | undefined {
  if (reference.startsWith("awskms://")) {
    if (parseAwsKmsReference(reference) !== undefined) return undefined;
    return { kind: "error", message: `${JSON.stringify(reference)} is not an AWS KMS key reference: use awskms:///<key id | key ARN | alias/<name> | alias ARN>, or awskms://<host:port>/<...> for another endpoint (cosign's format)` };
  }
  if (reference.startsWith("hashivault://")) {
    if (parseVaultKmsReference(reference) !== undefined) return undefined;
    return { kind: "error", message: `${JSON.stringify(reference)} is not a HashiCorp Vault key reference: use hashivault://<transit key name> (letters, digits and _, with - and . inside; the mount is admission.kms.vault.mountPath; cosign's format)` };
  }
  if (reference.startsWith("gcpkms://")) {
    if (parseGcpKmsReference(reference) !== undefined) return undefined;
    return { kind: "error", message: `${JSON.stringify(reference)} is not a Google Cloud KMS key reference: use gcpkms://projects/<project>/locations/<location>/keyRings/<key ring>/cryptoKeys/<key>, optionally followed by /cryptoKeyVersions/<version> (cosign's format)` };
  }
  if (reference.startsWith("azurekms://")) {
    if (parseAzureKmsReference(reference) !== undefined) return undefined;
    return { kind: "error", message: `${JSON.stringify(reference)} is not an Azure Key Vault key reference: use azurekms://<vault host>/<key name>, optionally followed by /<version> (lower-case letters and digits), e.g. azurekms://myvault.vault.azure.net/release (cosign's format)` };
  }
  return { kind: "error", message: `${JSON.stringify(reference)} is not a KMS key reference (${KMS_SCHEMES.join(", ")})` };
}

/** A public key as a KMS holds it. */
export interface KmsPublicKey {
  /** PEM SubjectPublicKeyInfo. */
  readonly pem: string;
  /**
   * The KMS's key spec (AWS: ECC_NIST_P256, RSA_2048, ...; Vault: the transit key type,
   * ecdsa-p256, rsa-2048, ed25519, ...; Google Cloud KMS: the version's algorithm,
   * EC_SIGN_P256_SHA256, ...; Azure: the JWK's kty and curve or size, "EC P-256", "RSA 2048").
   */
  readonly keySpec: string;
  /** AWS: the signing algorithms the key signs with; cosign verifies with the first. Google Cloud KMS: the version's algorithm. Vault, Azure: empty. */
  readonly signingAlgorithms: readonly string[];
}

/** Fetches the public keys KMS references name. */
export interface KmsKeySource {
  /**
   * The public key of `reference` (`awskms://...`, `hashivault://...`, `gcpkms://...`,
   * `azurekms://...`), from the cache while it is fresh. Rejects with an Error naming the KMS's
   * answer (NotFoundException, Vault's errors, Google's and Azure's error codes, ...).
   */
  publicKey(reference: string): Promise<KmsPublicKey>;
  /** Whether the KMS `reference` names is configured here; absent: every reference is. A check of one that is not is answered kmsNotConfigured. */
  serves?(reference: string): boolean;
}

/** The schemes Vigil fetches keys for. */
export type FetchedKmsScheme = "awskms://" | "hashivault://" | "gcpkms://" | "azurekms://";

/**
 * One source for `withKmsKeys` from one per scheme (a scheme left out is not configured: its
 * checks say what to set). Undefined when no scheme has a source.
 */
export function composeKmsKeySources(sources: Partial<Record<FetchedKmsScheme, KmsKeySource | undefined>>): KmsKeySource | undefined {
  const entries = Object.entries(sources).filter((entry): entry is [FetchedKmsScheme, KmsKeySource] => entry[1] !== undefined);
  if (entries.length === 0) return undefined;
  const sourceFor = (reference: string): KmsKeySource | undefined => entries.find(([scheme]) => reference.startsWith(scheme))?.[1];
  return {
    publicKey(reference) {
      const source = sourceFor(reference);
      return source === undefined ? Promise.reject(new Error(kmsNotConfigured(reference))) : source.publicKey(reference);
    },
    serves: (reference) => {
      const source = sourceFor(reference);
      return source !== undefined && (source.serves?.(reference) ?? true);
    },
  };
}

/** At most this many keys are kept (the oldest dropped first). */
const MAX_CACHED_KEYS = 256;

/**
 * `fetchKey` with keys kept `cacheMs` per reference (at most MAX_CACHED_KEYS, the oldest dropped
 * first); concurrent asks for one reference share one fetch; failures are not kept, so the next
 * ask fetches again. Shared by the KMS sources.
 */
export function cachedKeySource(fetchKey: (reference: string) => Promise<KmsPublicKey>, options: { readonly cacheMs: number; readonly now: () => number }): { publicKey(reference: string): Promise<KmsPublicKey>; size(): number } {
  const cache = new Map<string, { at: number; key: KmsPublicKey }>();
  const inFlight = new Map<string, Promise<KmsPublicKey>>();
  return {
    publicKey(reference) {
      const at = options.now();
      const hit = cache.get(reference);
      if (hit !== undefined && at - hit.at < options.cacheMs) return Promise.resolve(hit.key);
      const running = inFlight.get(reference);
      if (running !== undefined) return running;
      const pending = fetchKey(reference).then((key) => {
        if (options.cacheMs > 0) {
          cache.delete(reference);
          if (cache.size >= MAX_CACHED_KEYS) cache.delete(cache.keys().next().value as string);
          cache.set(reference, { at, key });
        }
        return key;
      }).finally(() => inFlight.delete(reference));
      inFlight.set(reference, pending);
      return pending;
    },
    size: () => cache.size,
  };
}

/** The Cloud KMS algorithms cosign verifies that Vigil checks too (RSA: PKCS#1 v1.5), and their hash. */
const GCP_ALGORITHM_HASHES: Readonly<Record<string, string>> = {
  EC_SIGN_P256_SHA256: "sha256",
  EC_SIGN_P384_SHA384: "sha384",
  RSA_SIGN_PKCS1_2048_SHA256: "sha256",
  RSA_SIGN_PKCS1_3072_SHA256: "sha256",
  RSA_SIGN_PKCS1_4096_SHA256: "sha256",
  RSA_SIGN_PKCS1_4096_SHA512: "sha512",
};

/** The Azure keys (JWK kty and curve or size) cosign signs with, and the hash it uses for each (ES256/384/512, RS256/384/512). */
const AZURE_KEY_HASHES: Readonly<Record<string, string>> = {
  "EC P-256": "sha256", "EC P-384": "sha384", "EC P-521": "sha512",
  "RSA 2048": "sha256", "RSA 3072": "sha384", "RSA 4096": "sha512",
};

/**
 * The hash a KMS key's signatures are checked with, picked as cosign picks it for the KMS
 * `reference` names:
 * - AWS: the key's first signing algorithm (ECDSA_SHA_* and RSASSA_PKCS1_V1_5_SHA_* here;
 *   RSASSA_PSS and the others are not verified);
 * - Vault: the rule's hash (`ruleAlgorithm`, default sha256: cosign has Vault verify with it);
 *   ECDSA and RSA transit keys, RSA with PKCS#1 v1.5 (what cosign has Vault sign with); ed25519
 *   ones are not (cosign has Vault sign a digest with them, which Vault versions treat differently);
 * - Google Cloud KMS: the hash of the version's algorithm (GCP_ALGORITHM_HASHES; RSA_SIGN_PSS_*
 *   versions are not verified here, and cosign knows no other algorithm);
 * - Azure: the hash the key's curve or size implies (AZURE_KEY_HASHES, RSA with PKCS#1 v1.5);
 *   cosign rejects other curves and sizes too.
 */
export function kmsSignatureAlgorithm(key: KmsPublicKey, reference: string, ruleAlgorithm?: string): { readonly signatureAlgorithm: string } | { readonly problem: string } {
  if (reference.startsWith("hashivault://")) {
    if (!/^(?:ecdsa-p(?:256|384|521)|rsa-(?:2048|3072|4096))$/.test(key.keySpec)) return { problem: `is a ${key.keySpec || "typeless"} transit key, which Vigil does not verify (ecdsa-p256/p384/p521 and rsa-2048/3072/4096 keys are)` };
    return { signatureAlgorithm: ruleAlgorithm ?? "sha256" };
  }
  if (reference.startsWith("gcpkms://")) {
    const hash = GCP_ALGORITHM_HASHES[key.keySpec];
    if (hash === undefined) return { problem: `signs with ${key.keySpec || "no algorithm"}, which Vigil does not verify (EC_SIGN_P256_SHA256, EC_SIGN_P384_SHA384, RSA_SIGN_PKCS1_{2048,3072,4096}_SHA256 and RSA_SIGN_PKCS1_4096_SHA512 versions are)` };
    return { signatureAlgorithm: hash };
  }
  if (reference.startsWith("azurekms://")) {
    const hash = AZURE_KEY_HASHES[key.keySpec];
    if (hash === undefined) return { problem: `is a ${key.keySpec || "typeless"} key, which Vigil does not verify (EC P-256/P-384/P-521 and RSA 2048/3072/4096 keys are, as cosign)` };
    return { signatureAlgorithm: hash };
  }
  const first = key.signingAlgorithms[0];
  if (first === undefined) return { problem: `has no signing algorithms (KeySpec ${key.keySpec || "unknown"}): it is not a SIGN_VERIFY key` };
  const match = /^(?:ECDSA|RSASSA_PKCS1_V1_5)_SHA_(256|384|512)$/.exec(first);
  if (match === null) return { problem: `signs with ${first}, which Vigil does not verify (ECDSA_SHA_* and RSASSA_PKCS1_V1_5_SHA_* keys are)` };
  return { signatureAlgorithm: `sha${match[1] as string}` };
}

/**
 * The check with its KMS key fetched (`key` and the key's hash in place of `kms`), or why it
 * cannot be made (a message starting with one of KMS_NOT_CONFIGURED_PREFIXES or with
 * KMS_KEY_PROBLEM). Never rejects.
 */
export async function resolveKmsCheck(check: KmsSignatureCheck, keys: KmsKeySource | undefined): Promise<{ readonly check: ImageSignatureCheck } | { readonly error: string }> {
  const { kms, ...rest } = check;
  if (kms === undefined) return { check: rest };
  const problem = kmsReferenceProblem(kms);
  if (problem !== undefined) return { error: `${KMS_KEY_PROBLEM}${kms} cannot be used: ${problem.message}` };
  if (keys === undefined || keys.serves?.(kms) === false) return { error: kmsNotConfigured(kms) };
  let key: KmsPublicKey;
  try {
    key = await keys.publicKey(kms);
  } catch (error) {
    return { error: `${KMS_KEY_PROBLEM}${kms} could not be fetched: ${error instanceof Error ? error.message : String(error)}` };
  }
  const algorithm = kmsSignatureAlgorithm(key, kms, rest.signatureAlgorithm);
  if ("problem" in algorithm) return { error: `${KMS_KEY_PROBLEM}${kms} ${algorithm.problem}` };
  return { check: { ...rest, key: key.pem, signatureAlgorithm: algorithm.signatureAlgorithm } };
}

/**
 * `registry` whose signature checks may name a KMS key (`kms`) instead of a PEM `key`: the key is
 * fetched from `keys` (undefined, or not serving its scheme: the check is answered kmsNotConfigured)
 * and the check made with it. Other checks and `describe` go to `registry` unchanged.
 */
export function withKmsKeys(registry: ImageRegistry, keys: KmsKeySource | undefined): ImageRegistry {
  if (registry.verify === undefined) return registry;
  return {
    describe: (reference) => registry.describe(reference),
    async verify(check: KmsSignatureCheck): Promise<ApiAnswer> {
      const resolved = check.kms === undefined ? { check } : await resolveKmsCheck(check, keys);
      if ("error" in resolved) return { ok: false, error: resolved.error };
      return registry.verify?.(resolved.check) ?? { ok: false, error: "the image registry does not check signatures" };
    },
  };
}

/**
 * One HTTP request of a KMS source: the status and the body (JSON, or undefined when it is not).
 * Rejects with an Error starting `what` (e.g. "Cloud KMS GET <url>") when nothing answered,
 * naming the timeout setting when the answer did not come within `timeoutMs`.
 */
export async function kmsRequest(what: string, url: string, init: RequestInit, timeout: { readonly ms: number; readonly setting: string }): Promise<{ readonly status: number; readonly ok: boolean; readonly body: unknown; readonly text: string }> {
  let response: Response;
  try {
    response = await fetch(url, { ...init, signal: AbortSignal.timeout(timeout.ms) });
  } catch (error) {
    const timedOut = error instanceof Error && error.name === "TimeoutError";
    const cause = error instanceof Error && error.cause instanceof Error ? `: ${error.cause.message}` : "";
    throw new Error(`${what}: ${timedOut ? `no answer within ${timeout.ms} ms (${timeout.setting})` : `${error instanceof Error ? error.message : String(error)}${cause}`}`, { cause: error });
  }
  const text = await response.text();
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    body = undefined;
  }
  return { status: response.status, ok: response.ok, body, text };
}

/**
 * An OAuth access token from `fetchToken`, reused until `marginMs` (default 60 s) before it
 * expires; concurrent asks share one request; failures are not kept; `drop` forgets the token
 * (the KMS refused it), so the next ask fetches a new one. Shared by the Google and Azure sources.
 */
export function cachedAccessToken(fetchToken: () => Promise<{ readonly token: string; readonly expiresInSeconds: number }>, options: { readonly now: () => number; readonly marginMs?: number }): { get(): Promise<string>; drop(): void; requests(): number } {
  const margin = options.marginMs ?? 60_000;
  let held: { token: string; until: number } | undefined;
  let running: Promise<string> | undefined;
  let requests = 0;
  return {
    get() {
      if (held !== undefined && options.now() < held.until) return Promise.resolve(held.token);
      if (running !== undefined) return running;
      const at = options.now();
      requests++;
      running = fetchToken().then(({ token, expiresInSeconds }) => {
        held = { token, until: at + Math.max(0, expiresInSeconds * 1000 - margin) };
        return token;
      }).finally(() => { running = undefined; });
      return running;
    },
    drop() { held = undefined; },
    requests: () => requests,
  };
}
