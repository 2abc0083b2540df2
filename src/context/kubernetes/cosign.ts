/**
 * Sigstore Cosign signatures and attestations as stored in OCI registries (cosign's tag scheme),
 * checked with a public key or (keyless) the Fulcio certificate shipped with them (fulcio.ts) —
 * the formats only; registry-client.ts fetches them.
 *
 * - Signatures: the tag `sha256-<hex>.sig` of the image's repository (or the `repository` the
 *   check names) holds an OCI manifest whose layers are simple-signing payloads
 *   (`application/vnd.dev.cosign.simplesigning.v1+json`), each with its signature in the layer
 *   annotation `dev.cosignproject.cosign/signature` (base64 of the DER/raw signature over the
 *   payload's bytes) and, when it was uploaded to Rekor, the offline bundle in
 *   `dev.sigstore.cosign/bundle`. A payload is accepted when the signature verifies with the key,
 *   its `critical.image.docker-manifest-digest` is the image's digest, its `optional` holds every
 *   required annotation, and (unless the transparency log is ignored) its bundle's
 *   SignedEntryTimestamp verifies with the Rekor public key and the logged entry is this
 *   signature of this payload.
 * - Attestations: the tag `sha256-<hex>.att`; each layer is a DSSE envelope
 *   (`application/vnd.dsse.envelope.v1+json`) of an in-toto statement, signed over DSSE's
 *   pre-authentication encoding; a statement counts when a signature verifies with the key and
 *   one of its subjects carries the image's digest.
 *
 * KMS keys are fetched by kms.ts before a check gets here; Notary signatures are in notary.ts.
 */
import { createHash, createPublicKey, verify as verifySignature, X509Certificate, type KeyObject } from "node:crypto";
import { certificateKey, certificatesOf, chainTo, type FulcioTrust } from "./fulcio.js";
import type { ImageSignatureCheck as SignatureCheck } from "../../core/context.js";
import { kmsNotConfigured, type KmsSignatureCheck } from "./kms.js";

export type { ImageSignatureCheck as SignatureCheck } from "../../core/context.js";

/** What a check found: the image's digest and, for attestations, the verified statements. */
export interface SignatureAnswer {
  readonly digest: string;
  /** Signatures (or attestations) that verified. */
  readonly verified: number;
  /** The in-toto statements of the verified attestations of the predicate type asked for. */
  readonly statements?: readonly Record<string, unknown>[];
}

export const SIGNATURE_ANNOTATION = "dev.cosignproject.cosign/signature";
export const BUNDLE_ANNOTATION = "dev.sigstore.cosign/bundle";
export const SIMPLE_SIGNING_TYPE = "application/vnd.dev.cosign.simplesigning.v1+json";
export const DSSE_TYPE = "application/vnd.dsse.envelope.v1+json";
export const IN_TOTO_TYPE = "application/vnd.in-toto+json";

type Json = Record<string, unknown>;

function isObject(value: unknown): value is Json {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

/** The tag cosign stores an image's signatures (`sig`) or attestations (`att`) under. */
export function cosignTag(digest: string, suffix: "sig" | "att"): string {
  return `${digest.replace(":", "-")}.${suffix}`;
}

/** Parses a PEM public key; throws an Error naming what is wrong. */
export function publicKeyOf(pem: string): KeyObject {
  try {
    return createPublicKey(pem);
  } catch (error) {
    throw new Error(`invalid public key: ${error instanceof Error ? error.message : String(error)}`);
  }
}

function hashName(algorithm: string | undefined): string {
  const name = (algorithm ?? "sha256").toLowerCase();
  if (name !== "sha224" && name !== "sha256" && name !== "sha384" && name !== "sha512") throw new Error(`signatureAlgorithm ${JSON.stringify(algorithm)} is not supported: use sha256 or sha512`);
  return name;
}

/** True when `signature` (raw bytes) signs `data` under `key`: ECDSA (DER), RSA PKCS#1 v1.5, Ed25519. */
export function signatureHolds(key: KeyObject, algorithm: string | undefined, data: Buffer, signature: Buffer): boolean {
  try {
    const ed = key.asymmetricKeyType === "ed25519" || key.asymmetricKeyType === "ed448";
    return verifySignature(ed ? null : hashName(algorithm), data, key, signature);
  } catch (error) {
    if (error instanceof Error && error.message.startsWith("signatureAlgorithm")) throw error;
    return false;
  }
}

/** DSSE's pre-authentication encoding: `DSSEv1 <len> <type> <len> <body>` with byte lengths. */
export function dssePae(payloadType: string, payload: Buffer): Buffer {
  const type = Buffer.from(payloadType, "utf8");
  return Buffer.concat([Buffer.from(`DSSEv1 ${type.length} `, "utf8"), type, Buffer.from(` ${payload.length} `, "utf8"), payload]);
}

/** Why a transparency-log check cannot be made without a Rekor key. */
const NO_LOG_KEY = "the transparency log cannot be checked: set rekor.pubkey (the public key of the Rekor log) or rekor.ignoreTlog: true";

/** The JSON value of a text, or undefined when it is not JSON. */
function jsonOf(text: Buffer | string): unknown {
  try {
    return JSON.parse(typeof text === "string" ? text : text.toString("utf8")) as unknown;
  } catch {
    return undefined;
  }
}

const sha256Hex = (data: Buffer | string): string => createHash("sha256").update(data).digest("hex");

/** A layer of a cosign signature or attestation manifest. */
export interface CosignLayer {
  readonly mediaType: string;
  readonly digest: string;
  readonly annotations: Readonly<Record<string, string>>;
}

/** The layers of a `.sig` / `.att` manifest. */
export function layersOf(manifest: unknown): CosignLayer[] {
  if (!isObject(manifest) || !Array.isArray(manifest["layers"])) return [];
  return manifest["layers"].filter(isObject).map((layer) => ({
    mediaType: String(layer["mediaType"] ?? ""),
    digest: String(layer["digest"] ?? ""),
    annotations: isObject(layer["annotations"]) ? Object.fromEntries(Object.entries(layer["annotations"]).map(([k, v]) => [k, String(v)])) : {},
  }));
}

/**
 * Checks a Rekor offline bundle (cosign's `dev.sigstore.cosign/bundle` annotation): the
 * SignedEntryTimestamp is Rekor's signature over the canonical JSON of the payload (`body`,
 * `integratedTime`, `logID`, `logIndex`) and the log is the one `rekorKey` names (logID = SHA-256
 * of its DER public key). Returns the logged entry's `spec` and when it was logged, or why the
 * bundle does not hold.
 */
export function verifyBundle(bundleText: string | undefined, rekorKey: KeyObject): { spec: Json; loggedAt: Date } | { problem: string } {
  if (bundleText === undefined || bundleText === "") return { problem: "no transparency log bundle on the signature (signed without Rekor? set rekor.ignoreTlog: true to accept it)" };
  const bundle = jsonOf(bundleText);
  if (bundle === undefined) return { problem: "the transparency log bundle is not JSON" };
  const set = isObject(bundle) ? bundle["SignedEntryTimestamp"] : undefined;
  const body = isObject(bundle) && isObject(bundle["Payload"]) ? bundle["Payload"] : undefined;
  if (typeof set !== "string" || body === undefined) return { problem: "the transparency log bundle has no SignedEntryTimestamp or Payload" };
  const logID = String(body["logID"] ?? "");
  const expectedLog = sha256Hex(rekorKey.export({ type: "spki", format: "der" }));
  if (logID !== expectedLog) return { problem: `the bundle was logged by ${logID.slice(0, 16)}…, not by the Rekor key configured (${expectedLog.slice(0, 16)}…)` };
  const canonical = `{"body":${JSON.stringify(body["body"])},"integratedTime":${Number(body["integratedTime"])},"logID":${JSON.stringify(logID)},"logIndex":${Number(body["logIndex"])}}`;
  if (!signatureHolds(rekorKey, "sha256", Buffer.from(canonical, "utf8"), Buffer.from(set, "base64"))) return { problem: "the bundle's SignedEntryTimestamp does not verify with the Rekor public key" };
  const entry = jsonOf(Buffer.from(String(body["body"] ?? ""), "base64"));
  if (entry === undefined) return { problem: "the logged entry in the bundle is not JSON" };
  return { spec: isObject(entry) && isObject(entry["spec"]) ? entry["spec"] : {}, loggedAt: new Date(Number(body["integratedTime"]) * 1000) };
}

/**
 * Who must have signed: a public key, or (keyless) whoever the signature's Fulcio certificate
 * names, when it holds for the attestor's identity at the time the signature was logged.
 */
export interface Signer {
  /** The key to check a signature with, from its certificate material when keyless; `signedAt`: Rekor's integrated time (undefined: not logged, checked now). */
  keyFor(certificate: X509Certificate | undefined, chain: readonly X509Certificate[], signedAt: Date | undefined): { key: KeyObject } | { problem: string };
}

/** The signer a check names: its `key`, or its `keyless` identity against the Fulcio trust. */
export function signerOf(check: SignatureCheck, trust: FulcioTrust): Signer {
  if (check.certificate !== undefined) {
    const given = certificatesOf(check.certificate.cert)[0];
    const roots = certificatesOf(check.certificate.chain);
    return {
      keyFor(shipped, shippedChain, signedAt) {
        const certificate = given ?? shipped;
        if (certificate === undefined) return { problem: "no certificate: set certificates.cert, or sign with a certificate" };
        if (roots.length > 0) {
          const chained = chainTo(certificate, shippedChain, roots, signedAt ?? new Date());
          if ("problem" in chained) return chained;
        }
        return { key: certificate.publicKey };
      },
    };
  }
  if (check.keyless === undefined) {
    // A KMS-keyed check reaches here only when no KmsKeySource fetched its key (withKmsKeys, kms.ts).
    const kms = (check as KmsSignatureCheck).kms;
    if (kms !== undefined && check.key === undefined) throw new Error(kmsNotConfigured(kms));
    const key = publicKeyOf(check.key ?? "");
    return { keyFor: () => ({ key }) };
  }
  const identity = check.keyless;
  const effective: FulcioTrust = {
    ...(check.keyless.roots ? { roots: check.keyless.roots } : trust.roots ? { roots: trust.roots } : {}),
    ...(check.keyless.ctLogPublicKey ? { ctLogPublicKey: check.keyless.ctLogPublicKey } : trust.ctLogPublicKey ? { ctLogPublicKey: trust.ctLogPublicKey } : {}),
  };
  return {
    keyFor(certificate, chain, signedAt) {
      if (certificate === undefined) return { problem: "the signature has no certificate (it was made with a key, not keyless)" };
      return certificateKey(certificate, chain, identity, effective, signedAt ?? new Date());
    },
  };
}

const CERTIFICATE_ANNOTATION = "dev.sigstore.cosign/certificate";
const CHAIN_ANNOTATION = "dev.sigstore.cosign/chain";

/** The certificate and chain a cosign v2 layer carries (keyless signatures), unreadable ones left out. */
function layerCertificates(layer: CosignLayer): { certificate: X509Certificate | undefined; chain: X509Certificate[] } {
  try {
    return { certificate: certificatesOf(layer.annotations[CERTIFICATE_ANNOTATION])[0], chain: certificatesOf(layer.annotations[CHAIN_ANNOTATION]) };
  } catch {
    return { certificate: undefined, chain: [] };
  }
}

/** Why a logged hashedrekord entry is not this signature, by this key, of this payload; undefined when it is. */
function loggedSignatureProblem(spec: Json, signatureB64: string, payload: Buffer, signerKey: KeyObject): string | undefined {
  const signature = isObject(spec["signature"]) ? spec["signature"] : {};
  const hashed = isObject(spec["data"]) && isObject(spec["data"]["hash"]) ? String(spec["data"]["hash"]["value"] ?? "") : "";
  if (String(signature["content"] ?? "") !== signatureB64) return "the logged entry holds another signature";
  if (hashed !== sha256Hex(payload)) return "the logged entry holds the digest of another payload";
  const loggedKey = isObject(signature["publicKey"]) ? String(signature["publicKey"]["content"] ?? "") : "";
  try {
    // A public key, or (keyless) the signing certificate.
    const logged = createPublicKey(Buffer.from(loggedKey, "base64").toString("utf8")).export({ type: "spki", format: "der" });
    if (!logged.equals(signerKey.export({ type: "spki", format: "der" }))) return "the logged entry was signed with another key";
  } catch {
    return "the logged entry's public key cannot be read";
  }
  return undefined;
}

/** The Rekor entry of a signature when the check asks for one (its spec and time), `undefined` when ignored, or why it does not hold. */
function loggedEntry(check: SignatureCheck, rekorKey: KeyObject | undefined, bundleText: string | undefined): { spec: Json; loggedAt: Date } | undefined | { problem: string } {
  if (check.ignoreTlog === true) return undefined;
  if (rekorKey === undefined) return { problem: NO_LOG_KEY };
  return verifyBundle(bundleText, rekorKey);
}

/** Why a simple-signing layer is not a valid signature of `digest` under the check, or undefined. */
export function simpleSigningProblem(layer: CosignLayer, payload: Buffer, signer: Signer, check: SignatureCheck, digest: string, rekorKey: KeyObject | undefined): string | undefined {
  if (`sha256:${sha256Hex(payload)}` !== layer.digest) return `payload ${layer.digest} does not match its digest`;
  const signatureB64 = layer.annotations[SIGNATURE_ANNOTATION] ?? "";
  if (signatureB64 === "") return "no signature annotation";
  const logged = loggedEntry(check, rekorKey, layer.annotations[BUNDLE_ANNOTATION]);
  if (logged !== undefined && "problem" in logged) return logged.problem;
  const { certificate, chain } = layerCertificates(layer);
  const key = signer.keyFor(certificate, chain, logged?.loggedAt);
  if ("problem" in key) return key.problem;
  if (!signatureHolds(key.key, check.signatureAlgorithm, payload, Buffer.from(signatureB64, "base64"))) return "invalid signature";
  if (logged !== undefined) {
    const problem = loggedSignatureProblem(logged.spec, signatureB64, payload, key.key);
    if (problem !== undefined) return problem;
  }
  const parsed = jsonOf(payload);
  if (parsed === undefined) return "the payload is not JSON";
  const critical = isObject(parsed) && isObject(parsed["critical"]) ? parsed["critical"] : {};
  const claimed = isObject(critical["image"]) ? critical["image"]["docker-manifest-digest"] : undefined;
  if (claimed !== digest) return `invalid or missing digest in claim: ${String(claimed ?? "")}`;
  const optional = isObject(parsed) && isObject(parsed["optional"]) ? parsed["optional"] : {};
  for (const [name, value] of Object.entries(check.annotations ?? {})) {
    if (optional[name] !== value) return `missing or incorrect annotation ${name}`;
  }
  return undefined;
}

/** The in-toto statement of a DSSE envelope signed under `key` whose subjects include `digest`, or why not. */
function envelopeStatement(envelope: unknown, key: KeyObject, check: SignatureCheck, digest: string): { statement: Record<string, unknown>; payload: Buffer } | { problem: string } {
  if (!isObject(envelope) || typeof envelope["payload"] !== "string" || typeof envelope["payloadType"] !== "string") return { problem: "the attestation is not a DSSE envelope (payload, payloadType)" };
  const payload = Buffer.from(envelope["payload"], "base64");
  const pae = dssePae(envelope["payloadType"], payload);
  const signatures = Array.isArray(envelope["signatures"]) ? envelope["signatures"].filter(isObject) : [];
  if (!signatures.some((s) => typeof s["sig"] === "string" && signatureHolds(key, check.signatureAlgorithm, pae, Buffer.from(s["sig"], "base64")))) return { problem: "invalid signature" };
  const statement = jsonOf(payload);
  if (statement === undefined) return { problem: "the attested statement is not JSON" };
  if (!isObject(statement)) return { problem: "the attested statement is not an object" };
  const hex = digest.replace(/^sha256:/, "");
  const subjects = Array.isArray(statement["subject"]) ? statement["subject"].filter(isObject) : [];
  if (!subjects.some((s) => isObject(s["digest"]) && s["digest"]["sha256"] === hex)) return { problem: `no subject of the statement has the image's digest ${digest}` };
  for (const [name, value] of Object.entries(check.annotations ?? {})) {
    // cosign v3 keeps `-a` annotations with the statement's subject.
    if (!subjects.some((s) => isObject(s["annotations"]) && s["annotations"][name] === value)) return { problem: `missing or incorrect annotation ${name}` };
  }
  return { statement, payload };
}

/** Why a logged entry (Rekor `intoto` v0.0.2 or `dsse` v0.0.1) does not hold the digest of this attested payload; undefined when it does. */
function loggedPayloadProblem(spec: Json, payload: Buffer): string | undefined {
  const content = isObject(spec["content"]) ? spec["content"] : spec;
  const payloadHash = isObject(content["payloadHash"]) ? String(content["payloadHash"]["value"] ?? "") : "";
  return payloadHash === sha256Hex(payload) ? undefined : "the logged entry holds the digest of another attestation";
}

/** The in-toto statement of a cosign `.att` layer (a DSSE envelope) signed for `digest` by the signer, or why not. */
export function attestationOf(layer: CosignLayer, envelopeText: Buffer, signer: Signer, check: SignatureCheck, digest: string, rekorKey: KeyObject | undefined): { statement: Record<string, unknown> } | { problem: string } {
  if (`sha256:${sha256Hex(envelopeText)}` !== layer.digest) return { problem: `attestation ${layer.digest} does not match its digest` };
  const envelope = jsonOf(envelopeText);
  if (envelope === undefined) return { problem: "the attestation is not a JSON DSSE envelope" };
  const logged = loggedEntry(check, rekorKey, layer.annotations[BUNDLE_ANNOTATION]);
  if (logged !== undefined && "problem" in logged) return logged;
  const { certificate, chain } = layerCertificates(layer);
  const key = signer.keyFor(certificate, chain, logged?.loggedAt);
  if ("problem" in key) return key;
  const verified = envelopeStatement(envelope, key.key, { ...check, annotations: {} }, digest);
  if ("problem" in verified) return verified;
  const problem = logged === undefined ? undefined : loggedPayloadProblem(logged.spec, verified.payload);
  return problem === undefined ? { statement: verified.statement } : { problem };
}

/** The media types of Sigstore bundles (cosign v3's default: an OCI 1.1 referrer of the image). */
export function isSigstoreBundleType(mediaType: unknown): boolean {
  return typeof mediaType === "string" && mediaType.startsWith("application/vnd.dev.sigstore.bundle");
}

/** The predicate type cosign v3 gives an image signature in a Sigstore bundle. */
export const COSIGN_SIGN_PREDICATE = "https://sigstore.dev/cosign/sign/v1";

/** The signing certificate and chain of a Sigstore bundle's verification material (keyless). */
function bundleCertificates(material: Json): { certificate: X509Certificate | undefined; chain: X509Certificate[] } {
  const raw: string[] = [];
  if (isObject(material["certificate"]) && typeof material["certificate"]["rawBytes"] === "string") raw.push(material["certificate"]["rawBytes"]);
  const list = isObject(material["x509CertificateChain"]) && Array.isArray(material["x509CertificateChain"]["certificates"]) ? material["x509CertificateChain"]["certificates"] : [];
  for (const c of list) if (isObject(c) && typeof c["rawBytes"] === "string") raw.push(c["rawBytes"]);
  try {
    const certs = raw.map((b64) => new X509Certificate(Buffer.from(b64, "base64")));
    return { certificate: certs[0], chain: certs.slice(1) };
  } catch {
    return { certificate: undefined, chain: [] };
  }
}

/**
 * The in-toto statement of a Sigstore bundle (v0.1-v0.3, JSON) whose DSSE envelope is signed for
 * `digest` by the signer, or why not. Unless the transparency log is ignored, the bundle's first
 * tlog entry must carry an inclusion promise (SignedEntryTimestamp) that verifies with the Rekor
 * key, and the logged entry must hold the digest of this payload. (Rekor v2 entries, which carry
 * only an inclusion proof and a checkpoint, are not verified here.)
 */
export function bundleStatement(bundleText: Buffer, signer: Signer, check: SignatureCheck, digest: string, rekorKey: KeyObject | undefined): { statement: Record<string, unknown> } | { problem: string } {
  const bundle = jsonOf(bundleText);
  if (bundle === undefined) return { problem: "the Sigstore bundle is not JSON" };
  if (!isObject(bundle)) return { problem: "the Sigstore bundle is not an object" };
  if (!isObject(bundle["dsseEnvelope"])) return { problem: "the Sigstore bundle holds a message signature, not a signed statement about the image" };
  const material = isObject(bundle["verificationMaterial"]) ? bundle["verificationMaterial"] : {};
  let logged: { spec: Json; loggedAt: Date } | undefined;
  if (check.ignoreTlog !== true) {
    if (rekorKey === undefined) return { problem: NO_LOG_KEY };
    const entry = Array.isArray(material["tlogEntries"]) ? material["tlogEntries"].find(isObject) : undefined;
    if (entry === undefined) return { problem: "no transparency log entry in the Sigstore bundle (signed without Rekor? set rekor.ignoreTlog: true to accept it)" };
    const promise = isObject(entry["inclusionPromise"]) ? entry["inclusionPromise"]["signedEntryTimestamp"] : undefined;
    if (typeof promise !== "string") return { problem: "the bundle's transparency log entry has no inclusion promise (SignedEntryTimestamp); Vigil does not verify inclusion proofs" };
    const keyId = isObject(entry["logId"]) ? String(entry["logId"]["keyId"] ?? "") : "";
    const legacy = JSON.stringify({ SignedEntryTimestamp: promise, Payload: { body: entry["canonicalizedBody"], integratedTime: Number(entry["integratedTime"]), logIndex: Number(entry["logIndex"]), logID: Buffer.from(keyId, "base64").toString("hex") } });
    const verified = verifyBundle(legacy, rekorKey);
    if ("problem" in verified) return verified;
    logged = verified;
  }
  const { certificate, chain } = bundleCertificates(material);
  const key = signer.keyFor(certificate, chain, logged?.loggedAt);
  if ("problem" in key) return key;
  const verified = envelopeStatement(bundle["dsseEnvelope"], key.key, check, digest);
  if ("problem" in verified) return verified;
  const problem = logged === undefined ? undefined : loggedPayloadProblem(logged.spec, verified.payload);
  return problem === undefined ? { statement: verified.statement } : { problem };
}
