/**
 * Cosign public keys held in HashiCorp Vault's transit secrets engine (`hashivault://<key name>`),
 * read as cosign reads them (sigstore/sigstore pkg/signature/kms/hashivault/client.go):
 *
 * - `GET {address}/v1/{mount}/keys/{name}` with the token in `X-Vault-Token`; the mount is
 *   `transit` unless configured (cosign: TRANSIT_SECRET_ENGINE_PATH); the address and token fall
 *   back to VAULT_ADDR and VAULT_TOKEN, as cosign's;
 * - the key used is the one of `data.latest_version` (`data.keys["<latest>"].public_key`):
 *   cosign has Vault verify a signature as `vault:v<latest_version>:...`, so a signature made
 *   with an older version of a rotated key does not verify, with cosign or here;
 * - ECDSA and RSA public keys come as PEM, ed25519 ones as base64 of the raw 32 bytes (returned
 *   here as PEM; kms.ts says such keys are not verified).
 *
 * The signatures are then verified locally with that key (kms.ts), where cosign asks Vault's
 * verify endpoint: the same key, without needing `update` on `transit/verify`.
 */
import { createPublicKey } from "node:crypto";
import { cachedKeySource, kmsReferenceProblem, kmsRequest, parseVaultKmsReference, type KmsKeySource, type KmsPublicKey } from "./kms.js";

export interface VaultKmsSettings {
  /** Vault's address, e.g. https://vault.example:8200 (default: VAULT_ADDR). */
  readonly address?: string | undefined;
  /** The token read with (default: VAULT_TOKEN); needs `read` on `<mount>/keys/<name>`. */
  readonly token?: string | undefined;
  /** Where the transit engine is mounted (default "transit"). */
  readonly mountPath?: string | undefined;
  /** How long a fetched key is reused, seconds (default 300, as cosign's key cache; 0: never). */
  readonly cacheSeconds?: number | undefined;
  /** Timeout of one Vault request, ms (default 5,000). */
  readonly timeoutMs?: number | undefined;
}

type Json = Record<string, unknown>;
const isObject = (value: unknown): value is Json => value !== null && typeof value === "object" && !Array.isArray(value);

/** The DER prefix of an Ed25519 SubjectPublicKeyInfo (RFC 8410): the 32 raw key bytes follow. */
const ED25519_SPKI_PREFIX = Buffer.from("302a300506032b6570032100", "hex");

/** The latest version's public key of a transit key document (`data` of Vault's answer), or why there is none. */
export function vaultTransitPublicKey(data: unknown): KmsPublicKey | { readonly problem: string } {
  if (!isObject(data)) return { problem: "the answer has no data" };
  const type = typeof data["type"] === "string" ? data["type"] : "";
  const latest = data["latest_version"];
  if (typeof latest !== "number" || !Number.isInteger(latest)) return { problem: "the answer has no latest_version" };
  const version = isObject(data["keys"]) ? data["keys"][String(latest)] : undefined;
  // Symmetric keys list versions as creation times, without public keys.
  const encoded = isObject(version) ? version["public_key"] : undefined;
  if (typeof encoded !== "string" || encoded === "") return { problem: `version ${latest} (latest_version) has no public_key: a ${type || "typeless"} key does not sign` };
  try {
    if (type === "ed25519") {
      const raw = Buffer.from(encoded, "base64");
      if (raw.length !== 32) return { problem: `the ed25519 public_key of version ${latest} is ${raw.length} bytes, not 32` };
      return { pem: createPublicKey({ key: Buffer.concat([ED25519_SPKI_PREFIX, raw]), format: "der", type: "spki" }).export({ type: "spki", format: "pem" }).toString(), keySpec: type, signingAlgorithms: [] };
    }
    return { pem: createPublicKey(encoded).export({ type: "spki", format: "pem" }).toString(), keySpec: type, signingAlgorithms: [] };
  } catch (error) {
    return { problem: `the public_key of version ${latest} is not a PEM public key: ${error instanceof Error ? error.message : String(error)}` };
  }
}

/** Vault's `{"errors": [...]}`, joined, or empty. */
function vaultErrors(body: unknown): string {
  return isObject(body) && Array.isArray(body["errors"]) ? body["errors"].map(String).join("; ") : "";
}

/**
 * HashiCorp Vault's transit engine as a `KmsKeySource` for `hashivault://` references (plain
 * fetch). Keys are cached per reference; concurrent asks for one reference share one request;
 * failures are not cached. `env` (VAULT_ADDR, VAULT_TOKEN) and `now` are injected for tests.
 * Rejections name Vault's answer (status and `errors`), never the token.
 */
export function createVaultKeySource(settings: VaultKmsSettings = {}, options: { readonly now?: () => number; readonly env?: Readonly<Record<string, string | undefined>> } = {}): KmsKeySource & { stats(): { readonly requests: number; readonly cached: number } } {
  const env = options.env ?? process.env;
  const address = (settings.address || env["VAULT_ADDR"] || "").replace(/\/+$/, "");
  const token = settings.token || env["VAULT_TOKEN"] || "";
  const mount = (settings.mountPath || "transit").replace(/^\/+|\/+$/g, "");
  const timeoutMs = settings.timeoutMs ?? 5000;
  let requests = 0;

  async function fetchKey(reference: string): Promise<KmsPublicKey> {
    const name = parseVaultKmsReference(reference);
    if (name === undefined) throw new Error(kmsReferenceProblem(reference)?.message ?? `${reference} is not a HashiCorp Vault key reference`);
    if (address === "") throw new Error("no Vault address: set admission.kms.vault.address (or VAULT_ADDR)");
    if (token === "") throw new Error("no Vault token: set admission.kms.vault.token (e.g. \"${VAULT_TOKEN}\") or VAULT_TOKEN");
    const url = `${address}/v1/${mount}/keys/${name}`;
    requests++;
    const { status, ok, body, text } = await kmsRequest(`Vault GET ${url}`, url, { headers: { "X-Vault-Token": token, Accept: "application/json" } }, { ms: timeoutMs, setting: "admission.kms.vault.timeoutMs" });
    if (!ok) {
      const errors = vaultErrors(body);
      // Vault answers a key that does not exist with 404 and no errors.
      const why = errors !== "" ? errors : status === 404 ? `no transit key ${JSON.stringify(name)} at mount ${JSON.stringify(mount)}` : text.slice(0, 200);
      throw new Error(`Vault GET ${url}: ${status} ${why}`);
    }
    if (body === undefined) throw new Error(`Vault GET ${url}: the answer is not JSON`);
    const key = vaultTransitPublicKey(isObject(body) ? body["data"] : undefined);
    if ("problem" in key) throw new Error(`Vault GET ${url}: ${key.problem}`);
    return key;
  }

  const cached = cachedKeySource(fetchKey, { cacheMs: (settings.cacheSeconds ?? 300) * 1000, now: options.now ?? Date.now });
  return { publicKey: cached.publicKey, serves: (reference) => reference.startsWith("hashivault://"), stats: () => ({ requests, cached: cached.size() }) };
}
