/**
 * A local stand-in for HashiCorp Vault's transit engine, for tests (Vault is a remote service):
 * Vault's HTTP API for reading a key, `GET /v1/<mount>/keys/<name>` with the token in
 * `X-Vault-Token`; a missing or wrong token is answered 403 `{"errors":["permission denied"]}`, a
 * key that does not exist 404 `{"errors":[]}`, another path 404 with Vault's "no handler for
 * route"; the key document is shaped as Vault answers it (`data.keys["<version>"]` with `name`
 * and `public_key`, `latest_version`, `type`; ed25519 public keys as base64 of the raw bytes).
 * Keys can be rotated (a new version becomes the latest). Not used outside tests.
 */
import type { KeyObject } from "node:crypto";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";

export const TEST_VAULT_TOKEN = "hvs.vigil-test-token-000000000000";

/** A transit key type: ecdsa-p256, ecdsa-p384, ecdsa-p521, rsa-2048, rsa-3072, rsa-4096, ed25519, aes256-gcm96 (no public key). */
export type FakeVaultKeyType = string;

export interface FakeVaultKey {
  readonly type: FakeVaultKeyType;
  /** The public key of each version, version 1 first (none for symmetric keys). */
  readonly versions: readonly (KeyObject | undefined)[];
}

export interface FakeVaultRequest {
  readonly method: string;
  readonly path: string;
  readonly token: string | undefined;
}

export interface FakeVault {
  /** `http://127.0.0.1:<port>`. */
  readonly address: string;
  readonly requests: FakeVaultRequest[];
  /** Adds a version to `name` (Vault's `POST <mount>/keys/<name>/rotate`): the new key becomes the latest. */
  rotate(name: string, publicKey: KeyObject): void;
  close(): Promise<void>;
}

/** The `name` Vault gives a key version: the curve for ECDSA, else the type. */
function versionName(type: string): string {
  const curve = /^ecdsa-p(\d+)$/.exec(type);
  return curve ? `P-${curve[1] as string}` : type;
}

function publicKeyText(type: string, key: KeyObject): string {
  // Vault answers ed25519 public keys as base64 of the raw 32 bytes, the others as PEM.
  if (type === "ed25519") return key.export({ type: "spki", format: "der" }).subarray(-32).toString("base64");
  return key.export({ type: "spki", format: "pem" }).toString();
}

/** Serves `keys` by name under the transit mount `mount` (default "transit") to requests bearing TEST_VAULT_TOKEN. */
export async function startFakeVault(keys: Readonly<Record<string, FakeVaultKey>>, options: { readonly mount?: string } = {}): Promise<FakeVault> {
  const mount = options.mount ?? "transit";
  const held = new Map(Object.entries(keys).map(([name, key]) => [name, { type: key.type, versions: [...key.versions] }]));
  const requests: FakeVaultRequest[] = [];
  const server = createServer((req, res) => {
    const path = (req.url ?? "").split("?")[0] ?? "";
    const token = req.headers["x-vault-token"] as string | undefined;
    requests.push({ method: req.method ?? "", path, token });
    const answer = (status: number, json: unknown): void => {
      res.writeHead(status, { "Content-Type": "application/json", "Cache-Control": "no-store" });
      res.end(JSON.stringify(json));
    };
    if (token !== TEST_VAULT_TOKEN) return answer(403, { errors: ["permission denied"] });
    const route = new RegExp(`^/v1/${mount}/keys/([^/]+)$`).exec(path);
    if (req.method !== "GET" || route === null) return answer(404, { errors: [`no handler for route "${path.replace(/^\/v1\//, "")}". route entry not found.`] });
    const name = decodeURIComponent(route[1] as string);
    const key = held.get(name);
    if (key === undefined) return answer(404, { errors: [] });
    const versions: Record<string, unknown> = {};
    key.versions.forEach((publicKey, index) => {
      versions[String(index + 1)] = publicKey === undefined ? 1_735_689_600 : { certificate_chain: "", creation_time: "2025-01-01T00:00:00.000000000Z", name: versionName(key.type), public_key: publicKeyText(key.type, publicKey) };
    });
    const signing = key.versions.some((v) => v !== undefined);
    answer(200, {
      request_id: "00000000-0000-0000-0000-000000000000",
      lease_id: "",
      renewable: false,
      lease_duration: 0,
      data: {
        allow_plaintext_backup: false, auto_rotate_period: 0, deletion_allowed: false, derived: false, exportable: false, imported_key: false,
        keys: versions,
        latest_version: key.versions.length,
        min_available_version: 0, min_decryption_version: 1, min_encryption_version: 0,
        name,
        supports_decryption: !signing, supports_derivation: !signing, supports_encryption: !signing, supports_signing: signing,
        type: key.type,
      },
      wrap_info: null,
      warnings: null,
      auth: null,
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    address: `http://127.0.0.1:${port}`,
    requests,
    rotate(name, publicKey) {
      held.get(name)?.versions.push(publicKey);
    },
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
