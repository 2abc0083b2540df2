/**
 * Signs images the way `cosign sign --key` and `cosign attest --key` store their output, for the
 * local test registry (registry-test-server.ts): simple-signing payloads and DSSE envelopes of
 * in-toto statements, with Rekor offline bundles signed by a test log key. Not used outside tests.
 */
import { createHash, sign, type KeyObject } from "node:crypto";
import { BUNDLE_ANNOTATION, COSIGN_SIGN_PREDICATE, dssePae, DSSE_TYPE, IN_TOTO_TYPE, SIGNATURE_ANNOTATION, SIMPLE_SIGNING_TYPE } from "./cosign.js";

export interface SignedLayer {
  readonly layer: { readonly mediaType: string; readonly size: number; readonly digest: string; readonly annotations: Record<string, string> };
  readonly blob: string;
}

const sha256Hex = (data: string | Buffer): string => createHash("sha256").update(data).digest("hex");

function signWith(key: KeyObject, data: Buffer): Buffer {
  return sign(key.asymmetricKeyType === "ed25519" ? null : "sha256", data, key);
}

/** A Rekor log entry as the log answers it: the base64 body, its position and time, and the SignedEntryTimestamp over them. */
function logEntry(entry: unknown, log: { readonly privateKey: KeyObject; readonly publicKey: KeyObject }, logIndex = 1234, loggedAt = new Date()): { body: string; integratedTime: number; logIndex: number; logID: string; set: string } {
  const body = Buffer.from(JSON.stringify(entry), "utf8").toString("base64");
  const logID = sha256Hex(log.publicKey.export({ type: "spki", format: "der" }));
  const integratedTime = Math.floor(loggedAt.getTime() / 1000);
  const canonical = `{"body":${JSON.stringify(body)},"integratedTime":${integratedTime},"logID":${JSON.stringify(logID)},"logIndex":${logIndex}}`;
  return { body, integratedTime, logIndex, logID, set: signWith(log.privateKey, Buffer.from(canonical, "utf8")).toString("base64") };
}

/** A Rekor offline bundle (cosign's `dev.sigstore.cosign/bundle`) for a logged entry, signed by the log's key. */
export function rekorBundle(entry: unknown, log: { readonly privateKey: KeyObject; readonly publicKey: KeyObject }, logIndex = 1234, loggedAt?: Date): string {
  const logged = logEntry(entry, log, logIndex, loggedAt);
  return JSON.stringify({ SignedEntryTimestamp: logged.set, Payload: { body: logged.body, integratedTime: logged.integratedTime, logIndex: logged.logIndex, logID: logged.logID } });
}

export interface SignOptions {
  readonly privateKey: KeyObject;
  readonly publicKey: KeyObject;
  /** `-a key=value` annotations (the payload's `optional`). */
  readonly annotations?: Readonly<Record<string, string>>;
  /** Upload to this (test) Rekor log: the layer gets a bundle. */
  readonly rekor?: { readonly privateKey: KeyObject; readonly publicKey: KeyObject };
  /** Claim this digest instead of the image's (a signature copied from another image). */
  readonly claimDigest?: string;
  /** Keyless: the Fulcio certificate of `publicKey` (and its chain) ships with the signature. */
  readonly certificate?: { readonly pem: string; readonly chain: string; readonly certificate: { readonly raw: Buffer } };
  /** When Rekor logged the signature (default now). */
  readonly loggedAt?: Date;
}

/** What Rekor logs as the signer: the public key, or (keyless) the certificate, base64 of PEM. */
function loggedSigner(options: SignOptions): string {
  const text = options.certificate?.pem ?? options.publicKey.export({ type: "spki", format: "pem" }).toString();
  return Buffer.from(text, "utf8").toString("base64");
}

/** The certificate annotations of a keyless cosign v2 layer. */
function certificateAnnotations(options: SignOptions): Record<string, string> {
  return options.certificate ? { "dev.sigstore.cosign/certificate": options.certificate.pem, "dev.sigstore.cosign/chain": options.certificate.chain } : {};
}

/** `cosign sign --key`: the simple-signing payload of `reference@digest` and its layer. */
export function signatureLayer(dockerReference: string, digest: string, options: SignOptions): SignedLayer {
  const payload = JSON.stringify({
    critical: { identity: { "docker-reference": dockerReference }, image: { "docker-manifest-digest": options.claimDigest ?? digest }, type: "cosign container image signature" },
    optional: options.annotations ?? null,
  });
  const signature = signWith(options.privateKey, Buffer.from(payload, "utf8")).toString("base64");
  const annotations: Record<string, string> = { [SIGNATURE_ANNOTATION]: signature, ...certificateAnnotations(options) };
  if (options.rekor) {
    const entry = {
      apiVersion: "0.0.1",
      kind: "hashedrekord",
      spec: {
        data: { hash: { algorithm: "sha256", value: sha256Hex(payload) } },
        signature: { content: signature, publicKey: { content: loggedSigner(options) } },
      },
    };
    annotations[BUNDLE_ANNOTATION] = rekorBundle(entry, options.rekor, 1234, options.loggedAt);
  }
  return { layer: { mediaType: SIMPLE_SIGNING_TYPE, size: Buffer.byteLength(payload), digest: `sha256:${sha256Hex(payload)}`, annotations }, blob: payload };
}

/** `cosign attest --key --type <predicateType> --predicate <file>`: a DSSE envelope of an in-toto statement about `digest`. */
export function attestationLayer(dockerReference: string, digest: string, predicateType: string, predicate: unknown, options: SignOptions): SignedLayer {
  const statement = JSON.stringify({
    _type: "https://in-toto.io/Statement/v0.1",
    predicateType,
    subject: [{ name: dockerReference, digest: { sha256: (options.claimDigest ?? digest).replace(/^sha256:/, "") } }],
    predicate,
  });
  const payload = Buffer.from(statement, "utf8");
  const sig = signWith(options.privateKey, dssePae(IN_TOTO_TYPE, payload)).toString("base64");
  const envelope = JSON.stringify({ payloadType: IN_TOTO_TYPE, payload: payload.toString("base64"), signatures: [{ keyid: "", sig }] });
  const annotations: Record<string, string> = { [SIGNATURE_ANNOTATION]: "", predicateType, ...certificateAnnotations(options) };
  if (options.rekor) {
    const entry = { apiVersion: "0.0.2", kind: "intoto", spec: { content: { hash: { algorithm: "sha256", value: sha256Hex(envelope) }, payloadHash: { algorithm: "sha256", value: sha256Hex(payload) } } } };
    annotations[BUNDLE_ANNOTATION] = rekorBundle(entry, options.rekor, 1234, options.loggedAt);
  }
  return { layer: { mediaType: DSSE_TYPE, size: Buffer.byteLength(envelope), digest: `sha256:${sha256Hex(envelope)}`, annotations }, blob: envelope };
}

export const SIGSTORE_BUNDLE_TYPE = "application/vnd.dev.sigstore.bundle.v0.3+json";

/**
 * cosign v3's `cosign sign --key` (new bundle format): a Sigstore bundle v0.3 whose DSSE envelope
 * holds an in-toto Statement v1 about `digest` with the predicate type
 * https://sigstore.dev/cosign/sign/v1 (or, for `cosign attest`, the attestation's), logged in
 * Rekor as a `dsse` entry when `rekor` is given.
 */
export function sigstoreBundle(digest: string, options: SignOptions & { readonly predicateType?: string; readonly predicate?: unknown }): string {
  const statement = JSON.stringify({
    _type: "https://in-toto.io/Statement/v1",
    subject: [{ digest: { sha256: (options.claimDigest ?? digest).replace(/^sha256:/, "") }, ...(options.annotations ? { annotations: options.annotations } : {}) }],
    predicateType: options.predicateType ?? COSIGN_SIGN_PREDICATE,
    predicate: options.predicate ?? {},
  });
  const payload = Buffer.from(statement, "utf8");
  const sig = signWith(options.privateKey, dssePae(IN_TOTO_TYPE, payload)).toString("base64");
  const envelope = { payload: payload.toString("base64"), payloadType: IN_TOTO_TYPE, signatures: [{ sig, keyid: "" }] };
  const tlogEntries = [];
  if (options.rekor) {
    const entry = { apiVersion: "0.0.1", kind: "dsse", spec: { envelopeHash: { algorithm: "sha256", value: sha256Hex(JSON.stringify(envelope)) }, payloadHash: { algorithm: "sha256", value: sha256Hex(payload) }, signatures: [{ signature: sig, verifier: loggedSigner(options) }] } };
    const logged = logEntry(entry, options.rekor, 1234, options.loggedAt);
    tlogEntries.push({
      logIndex: String(logged.logIndex),
      logId: { keyId: Buffer.from(logged.logID, "hex").toString("base64") },
      kindVersion: { kind: "dsse", version: "0.0.1" },
      integratedTime: String(logged.integratedTime),
      inclusionPromise: { signedEntryTimestamp: logged.set },
      canonicalizedBody: logged.body,
    });
  }
  const signerMaterial = options.certificate ? { certificate: { rawBytes: options.certificate.certificate.raw.toString("base64") } } : { publicKey: { hint: "" } };
  return JSON.stringify({ mediaType: SIGSTORE_BUNDLE_TYPE, verificationMaterial: { ...signerMaterial, tlogEntries }, dsseEnvelope: envelope });
}

/**
 * `notation sign` (JWS, notary.x509): the JWS envelope of a signature of `digest` by the leaf of
 * `certificate` (ES256), its `x5c` the leaf, the intermediate and the root.
 */
export function notarySignature(digest: string, size: number, certificate: { readonly privateKey: KeyObject; readonly certificate: { readonly raw: Buffer }; readonly chain: string }, options: { readonly claimDigest?: string; readonly signingTime?: Date } = {}): string {
  const b64url = (text: string): string => Buffer.from(text, "utf8").toString("base64url");
  const protectedHeader = b64url(JSON.stringify({
    alg: "ES256",
    crit: ["io.cncf.notary.signingScheme"],
    cty: "application/vnd.cncf.notary.payload.v1+json",
    "io.cncf.notary.signingScheme": "notary.x509",
    "io.cncf.notary.signingTime": (options.signingTime ?? new Date()).toISOString(),
  }));
  const payload = b64url(JSON.stringify({ targetArtifact: { mediaType: "application/vnd.oci.image.manifest.v1+json", digest: options.claimDigest ?? digest, size } }));
  const signature = sign("sha256", Buffer.from(`${protectedHeader}.${payload}`, "ascii"), { key: certificate.privateKey, dsaEncoding: "ieee-p1363" }).toString("base64url");
  const chain = (certificate.chain.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? []).map((pem) => pem.replace(/-----(BEGIN|END) CERTIFICATE-----|\s/g, ""));
  return JSON.stringify({ payload, protected: protectedHeader, header: { x5c: [certificate.certificate.raw.toString("base64"), ...chain], "io.cncf.notary.signingAgent": "Notation/1.3.0" }, signature });
}
