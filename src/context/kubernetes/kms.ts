/**
 * Cosign public keys held in a KMS (Kyverno verifyImages `keys.kms`, ImageValidatingPolicy
 * `cosign.key.kms`). Kyverno hands the reference to cosign, which fetches the PUBLIC key from the
 * KMS and verifies the signatures locally; Vigil does the same for AWS KMS:
 *
 * - references are parsed with cosign's own regexes (sigstore/sigstore
 *   pkg/signature/kms/aws/client.go): `awskms://[ENDPOINT]/<key id | key ARN | alias/<name> |
 *   alias ARN>`; an ENDPOINT (host:port) is reached over https, as cosign does;
 * - `KmsKeySource` is the port that turns a reference into the key; `createAwsKmsKeySource` asks
 *   AWS KMS `GetPublicKey` (the official SDK: SigV4, the standard credential chain) and keeps each
 *   key `cacheSeconds` (default 300, as cosign's key cache);
 * - `withKmsKeys` wraps an image registry so a signature check naming `kms` instead of `key` is
 *   checked with the fetched key, and with the hash of the key's signing algorithm (cosign uses
 *   the key's first signing algorithm, not the rule's signatureAlgorithm).
 *
 * A check whose key cannot be had is answered `{ ok: false }` with a message starting with
 * `KMS_NOT_CONFIGURED` or `KMS_KEY_PROBLEM`, which `kmsFailureKind` tells apart from signatures
 * that do not verify (ApiAnswer has no error kind; the policy layer reads these as `unsupported`
 * and `error`). Other KMS schemes (gcpkms, azurekms, hashivault) are not fetched.
 */
import { createPublicKey } from "node:crypto";
import type { ApiAnswer, ImageRegistry, ImageSignatureCheck } from "../../core/context.js";

/** A signature check whose public key is named by a KMS reference instead of given as `key`. */
export type KmsSignatureCheck = ImageSignatureCheck & { readonly kms?: string };

/** The schemes of cosign's KMS providers. */
export const KMS_SCHEMES = ["awskms://", "gcpkms://", "azurekms://", "hashivault://"] as const;

/** How a check begins its answer when no KMS is configured (read as `unsupported`). */
export const KMS_NOT_CONFIGURED = "AWS KMS keys are fetched only when admission.kms.aws is set in vigil.yaml";
/** How a check begins its answer when its KMS key could not be fetched or used (read as `error`). */
export const KMS_KEY_PROBLEM = "the KMS key ";

/** Whether a failed check's message says its KMS key could not be had (`unsupported`, `error`), or undefined: the signatures did not verify. */
export function kmsFailureKind(reason: string): "unsupported" | "error" | undefined {
  if (reason.startsWith(KMS_NOT_CONFIGURED)) return "unsupported";
  if (reason.startsWith(KMS_KEY_PROBLEM)) return "error";
  return undefined;
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

/**
 * Why a `kms` reference cannot be checked by Vigil (`unsupported`: another KMS; `error`: not a
 * reference cosign would accept), or undefined for a well-formed `awskms://` one. The message
 * does not name the field: the caller does.
 */
export function kmsReferenceProblem(reference: string): { readonly kind: "unsupported" | "error"; readonly message: string } | undefined {
  if (reference.startsWith("awskms://")) {
    if (parseAwsKmsReference(reference) !== undefined) return undefined;
    return { kind: "error", message: `${JSON.stringify(reference)} is not an AWS KMS key reference: use awskms:///<key id | key ARN | alias/<name> | alias ARN>, or awskms://<host:port>/<...> for another endpoint (cosign's format)` };
  }
  const scheme = KMS_SCHEMES.find((s) => reference.startsWith(s));
  if (scheme !== undefined) return { kind: "unsupported", message: `${scheme} keys are not supported by Vigil (AWS KMS keys, awskms://, are)` };
  return { kind: "error", message: `${JSON.stringify(reference)} is not a KMS key reference (${KMS_SCHEMES.join(", ")})` };
}

/** A public key as a KMS holds it. */
export interface KmsPublicKey {
  /** PEM SubjectPublicKeyInfo. */
  readonly pem: string;
  /** The KMS's key spec (ECC_NIST_P256, RSA_2048, ...). */
  readonly keySpec: string;
  /** The signing algorithms the key signs with; cosign verifies with the first. */
  readonly signingAlgorithms: readonly string[];
}

/** Fetches the public keys KMS references name. */
export interface KmsKeySource {
  /**
   * The public key of `reference` (`awskms://...`), from the cache while it is fresh. Rejects
   * with an Error naming the KMS's error type (NotFoundException, AccessDeniedException, ...).
   */
  publicKey(reference: string): Promise<KmsPublicKey>;
}

export interface AwsKmsSettings {
  /** The region (default: the SDK's chain, AWS_REGION or the profile). */
  readonly region?: string | undefined;
  /** Endpoint URL for references without an endpoint of their own (default: AWS's regional one). */
  readonly endpoint?: string | undefined;
  /** How long a fetched key is reused, seconds (default 300; 0: never). */
  readonly cacheSeconds?: number | undefined;
  /** Timeout of one KMS request, ms (default 5,000). */
  readonly timeoutMs?: number | undefined;
}

/** At most this many keys are kept (the oldest dropped first). */
const MAX_CACHED_KEYS = 256;

/** The URL KMS is asked at for a reference: its own endpoint over https (as cosign), else the configured one, else AWS's default (undefined). */
export function awsKmsEndpoint(reference: AwsKmsReference, settings: AwsKmsSettings): string | undefined {
  return reference.endpoint !== "" ? `https://${reference.endpoint}` : settings.endpoint;
}

/**
 * AWS KMS as a `KmsKeySource`: `GetPublicKey` with the official SDK (@aws-sdk/client-kms, loaded
 * on first use), credentials from the standard provider chain unless `credentials` is given (tests).
 * Keys are cached per reference; concurrent asks for one reference share one request; failures
 * are not cached. `now` is injected so tests can move time.
 */
export function createAwsKmsKeySource(settings: AwsKmsSettings = {}, options: { readonly now?: () => number; readonly credentials?: { readonly accessKeyId: string; readonly secretAccessKey: string; readonly sessionToken?: string } } = {}): KmsKeySource & { stats(): { readonly requests: number; readonly cached: number } } {
  const now = options.now ?? Date.now;
  const cacheMs = (settings.cacheSeconds ?? 300) * 1000;
  const timeoutMs = settings.timeoutMs ?? 5000;
  const cache = new Map<string, { at: number; key: KmsPublicKey }>();
  const inFlight = new Map<string, Promise<KmsPublicKey>>();
  const clients = new Map<string, Promise<import("@aws-sdk/client-kms").KMSClient>>();
  let requests = 0;

  function clientFor(endpoint: string | undefined): Promise<import("@aws-sdk/client-kms").KMSClient> {
    const id = endpoint ?? "";
    let client = clients.get(id);
    if (client === undefined) {
      client = import("@aws-sdk/client-kms").then(({ KMSClient }) => new KMSClient({
        ...(settings.region !== undefined ? { region: settings.region } : {}),
        ...(endpoint !== undefined ? { endpoint } : {}),
        ...(options.credentials !== undefined ? { credentials: options.credentials } : {}),
        maxAttempts: 2,
        requestHandler: { requestTimeout: timeoutMs, connectionTimeout: timeoutMs },
      }));
      clients.set(id, client);
    }
    return client;
  }

  async function fetchKey(reference: string): Promise<KmsPublicKey> {
    const parsed = parseAwsKmsReference(reference);
    if (parsed === undefined) throw new Error(kmsReferenceProblem(reference)?.message ?? `${reference} is not an AWS KMS key reference`);
    const client = await clientFor(awsKmsEndpoint(parsed, settings));
    const { GetPublicKeyCommand } = await import("@aws-sdk/client-kms");
    requests++;
    let answer: import("@aws-sdk/client-kms").GetPublicKeyCommandOutput;
    try {
      answer = await client.send(new GetPublicKeyCommand({ KeyId: parsed.keyId }));
    } catch (error) {
      const name = error instanceof Error ? error.name : "Error";
      const message = error instanceof Error ? error.message : String(error);
      const hint = settings.region === undefined && /region/i.test(message) ? " (set admission.kms.aws.region or AWS_REGION)" : "";
      throw new Error(`GetPublicKey ${parsed.keyId}: ${name}: ${message}${hint}`, { cause: error });
    }
    if (answer.PublicKey === undefined) throw new Error(`GetPublicKey ${parsed.keyId}: the answer has no PublicKey`);
    let pem: string;
    try {
      pem = createPublicKey({ key: Buffer.from(answer.PublicKey), format: "der", type: "spki" }).export({ type: "spki", format: "pem" }).toString();
    } catch (error) {
      throw new Error(`GetPublicKey ${parsed.keyId}: the PublicKey is not a DER SubjectPublicKeyInfo: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
    }
    return { pem, keySpec: String(answer.KeySpec ?? ""), signingAlgorithms: (answer.SigningAlgorithms ?? []).map(String) };
  }

  return {
    publicKey(reference) {
      const at = now();
      const hit = cache.get(reference);
      if (hit !== undefined && at - hit.at < cacheMs) return Promise.resolve(hit.key);
      const running = inFlight.get(reference);
      if (running !== undefined) return running;
      const pending = fetchKey(reference).then((key) => {
        if (cacheMs > 0) {
          cache.delete(reference);
          if (cache.size >= MAX_CACHED_KEYS) cache.delete(cache.keys().next().value as string);
          cache.set(reference, { at, key });
        }
        return key;
      }).finally(() => inFlight.delete(reference));
      inFlight.set(reference, pending);
      return pending;
    },
    stats: () => ({ requests, cached: cache.size }),
  };
}

/**
 * The hash a KMS key's signatures are checked with: cosign verifies with the key's first signing
 * algorithm (ECDSA_SHA_* and RSASSA_PKCS1_V1_5_SHA_* here; RSASSA_PSS and the others are not verified).
 */
export function kmsSignatureAlgorithm(key: KmsPublicKey): { readonly signatureAlgorithm: string } | { readonly problem: string } {
  const first = key.signingAlgorithms[0];
  if (first === undefined) return { problem: `has no signing algorithms (KeySpec ${key.keySpec || "unknown"}): it is not a SIGN_VERIFY key` };
  const match = /^(?:ECDSA|RSASSA_PKCS1_V1_5)_SHA_(256|384|512)$/.exec(first);
  if (match === null) return { problem: `signs with ${first}, which Vigil does not verify (ECDSA_SHA_* and RSASSA_PKCS1_V1_5_SHA_* keys are)` };
  return { signatureAlgorithm: `sha${match[1] as string}` };
}

/**
 * The check with its KMS key fetched (`key` and the key's hash in place of `kms`), or why it
 * cannot be made (a message starting with KMS_NOT_CONFIGURED or KMS_KEY_PROBLEM). Never rejects.
 */
export async function resolveKmsCheck(check: KmsSignatureCheck, keys: KmsKeySource | undefined): Promise<{ readonly check: ImageSignatureCheck } | { readonly error: string }> {
  const { kms, ...rest } = check;
  if (kms === undefined) return { check: rest };
  const problem = kmsReferenceProblem(kms);
  if (problem !== undefined) return { error: `${KMS_KEY_PROBLEM}${kms} cannot be used: ${problem.message}` };
  if (keys === undefined) return { error: `${KMS_NOT_CONFIGURED} (admission.kms.aws: {region, endpoint}) to check signatures with ${kms}` };
  let key: KmsPublicKey;
  try {
    key = await keys.publicKey(kms);
  } catch (error) {
    return { error: `${KMS_KEY_PROBLEM}${kms} could not be fetched: ${error instanceof Error ? error.message : String(error)}` };
  }
  const algorithm = kmsSignatureAlgorithm(key);
  if ("problem" in algorithm) return { error: `${KMS_KEY_PROBLEM}${kms} ${algorithm.problem}` };
  return { check: { ...rest, key: key.pem, signatureAlgorithm: algorithm.signatureAlgorithm } };
}

/**
 * `registry` whose signature checks may name a KMS key (`kms`) instead of a PEM `key`: the key is
 * fetched from `keys` (undefined: no KMS configured, the check is answered KMS_NOT_CONFIGURED)
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
