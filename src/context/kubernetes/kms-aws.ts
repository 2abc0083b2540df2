/**
 * Cosign public keys held in AWS KMS (`awskms://`, cosign's reference format, parsed in kms.ts):
 * `GetPublicKey` with the official SDK (SigV4, the standard credential chain), a reference's own
 * endpoint over https as cosign does, else the configured one, else AWS's regional one; each key
 * kept `cacheSeconds`. Configured by admission.kms.aws; composed with the other schemes by
 * composeKmsKeySources (kms.ts).
 */
import { createPublicKey } from "node:crypto";
import { cachedKeySource, kmsReferenceProblem, parseAwsKmsReference, type AwsKmsReference, type KmsKeySource, type KmsPublicKey } from "./kms.js";

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

  const cached = cachedKeySource(fetchKey, { cacheMs, now });
  return { publicKey: cached.publicKey, serves: (reference) => reference.startsWith("awskms://"), stats: () => ({ requests, cached: cached.size() }) };
}
