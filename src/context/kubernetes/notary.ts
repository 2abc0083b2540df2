/**
 * Notary Project (notation) signatures of images, checked as `notation verify` checks them with
 * the `notary.x509` signing scheme: the signature is an OCI 1.1 referrer of the image
 * (artifactType `application/vnd.cncf.notary.signature`) whose layer is a JWS envelope
 * (`application/jose+json`, JSON serialization). It counts when the JWS signature over
 * `BASE64URL(protected) "." BASE64URL(payload)` verifies with the key of the first `x5c`
 * certificate (PS256/384/512 or ES256/384/512), the `x5c` chain leads to one of the trusted
 * certificates, the leaf is for code signing and was valid at the signing time, the critical
 * headers are understood, and the payload's `targetArtifact.digest` is the image's digest.
 * COSE envelopes and the `notary.x509.signingAuthority` scheme (RFC 3161 timestamps) are not
 * checked here.
 */
import { constants, verify as verifySignature, X509Certificate } from "node:crypto";
import { chainTo } from "./fulcio.js";

export const NOTARY_SIGNATURE_TYPE = "application/vnd.cncf.notary.signature";
export const JWS_TYPE = "application/jose+json";

type Json = Record<string, unknown>;

function isObject(value: unknown): value is Json {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

const CODE_SIGNING = "1.3.6.1.5.5.7.3.3";
const KNOWN_CRITICAL = new Set(["io.cncf.notary.signingScheme", "io.cncf.notary.expiry", "io.cncf.notary.authenticSigningTime", "io.cncf.notary.verificationPlugin", "io.cncf.notary.verificationPluginMinVersion"]);

/** JWS `alg` → how Node verifies it (JWS ECDSA signatures are r‖s, not DER). */
function verifier(alg: string): { hash: string; padding?: number; saltLength?: number; p1363?: boolean } | undefined {
  const bits = alg.slice(2);
  if (bits !== "256" && bits !== "384" && bits !== "512") return undefined;
  if (alg.startsWith("PS")) return { hash: `sha${bits}`, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: Number(bits) / 8 };
  if (alg.startsWith("ES")) return { hash: `sha${bits}`, p1363: true };
  return undefined;
}

function jsonOf(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

/** Why a notation JWS envelope is not a valid signature of `digest` by a certificate chaining to `trusted`; undefined when it is. */
export function notaryProblem(envelopeText: Buffer, trusted: readonly X509Certificate[], digest: string): string | undefined {
  const envelope = jsonOf(envelopeText.toString("utf8"));
  if (!isObject(envelope) || typeof envelope["protected"] !== "string" || typeof envelope["payload"] !== "string" || typeof envelope["signature"] !== "string") return "the signature is not a JWS envelope (protected, payload, signature)";
  const header = jsonOf(Buffer.from(envelope["protected"], "base64url").toString("utf8"));
  if (!isObject(header)) return "the JWS protected header is not JSON";
  const crit = Array.isArray(header["crit"]) ? header["crit"].map(String) : [];
  const unknown = crit.filter((name) => !KNOWN_CRITICAL.has(name) || header[name] === undefined);
  if (unknown.length > 0) return `critical headers not understood or missing: ${unknown.join(", ")}`;
  if (header["io.cncf.notary.signingScheme"] !== "notary.x509") return `signing scheme ${String(header["io.cncf.notary.signingScheme"])} is not checked by Vigil (notary.x509 is)`;
  if (header["cty"] !== "application/vnd.cncf.notary.payload.v1+json") return `unexpected content type ${String(header["cty"])}`;
  const how = verifier(String(header["alg"] ?? ""));
  if (how === undefined) return `signature algorithm ${String(header["alg"])} is not supported (PS256/384/512, ES256/384/512 are)`;
  const x5c = isObject(envelope["header"]) && Array.isArray(envelope["header"]["x5c"]) ? envelope["header"]["x5c"] : [];
  let certificates: X509Certificate[];
  try {
    certificates = x5c.map((der) => new X509Certificate(Buffer.from(String(der), "base64")));
  } catch {
    return "the x5c certificates cannot be read";
  }
  const leaf = certificates[0];
  if (leaf === undefined) return "the signature carries no certificate (x5c)";
  const signed = Buffer.from(`${envelope["protected"]}.${envelope["payload"]}`, "ascii");
  const signature = Buffer.from(envelope["signature"], "base64url");
  let holds = false;
  try {
    holds = verifySignature(how.hash, signed, { key: leaf.publicKey, ...(how.padding !== undefined ? { padding: how.padding, saltLength: how.saltLength } : {}), ...(how.p1363 ? { dsaEncoding: "ieee-p1363" as const } : {}) }, signature);
  } catch {
    holds = false;
  }
  if (!holds) return "invalid signature";
  const signingTime = Date.parse(String(header["io.cncf.notary.signingTime"] ?? ""));
  if (Number.isNaN(signingTime)) return "the signature has no signing time";
  const expiry = header["io.cncf.notary.expiry"] === undefined ? undefined : Date.parse(String(header["io.cncf.notary.expiry"]));
  if (expiry !== undefined && (Number.isNaN(expiry) || expiry < Date.now())) return "the signature has expired";
  const chained = chainTo(leaf, certificates.slice(1), trusted, new Date(signingTime));
  if ("problem" in chained) return chained.problem;
  if (!(leaf.keyUsage ?? []).includes(CODE_SIGNING)) return "the signing certificate is not for code signing";
  const payload = jsonOf(Buffer.from(envelope["payload"], "base64url").toString("utf8"));
  const target = isObject(payload) && isObject(payload["targetArtifact"]) ? payload["targetArtifact"] : undefined;
  if (target?.["digest"] !== digest) return `the signature is for ${String(target?.["digest"] ?? "no artifact")}, not ${digest}`;
  return undefined;
}
