/**
 * Keyless (Fulcio) signing certificates, checked as cosign checks them: the certificate chains to
 * a trusted Fulcio root, carries the code-signing usage, was valid when the signature was logged
 * (Rekor's integrated time) or, without the log, now; its identity (the subject alternative name:
 * URI or email) and OIDC issuer (Fulcio's extension 1.3.6.1.4.1.57264.1.8, or the older .1.1)
 * match the attestor's `subject` / `subjectRegExp` and `issuer` / `issuerRegExp`, and the GitHub
 * workflow extensions match `additionalExtensions`; unless ignored, an embedded SCT from the
 * configured certificate-transparency log signs the precertificate (RFC 6962).
 */
import { createHash, createPublicKey, verify as verifySignature, X509Certificate, type KeyObject } from "node:crypto";
import type { KeylessIdentity } from "../../core/context.js";
import { readDer, tbsOf, tbsWithout } from "./der.js";

const CODE_SIGNING = "1.3.6.1.5.5.7.3.3";
const ISSUER_V2 = "1.3.6.1.4.1.57264.1.8";
const ISSUER_V1 = "1.3.6.1.4.1.57264.1.1";
const SCT_LIST = "1.3.6.1.4.1.11129.2.4.2";
/** Kyverno `additionalExtensions` names → Fulcio's (v1) extension OIDs. */
const GITHUB_EXTENSIONS: Readonly<Record<string, string>> = {
  githubWorkflowTrigger: "1.3.6.1.4.1.57264.1.2",
  githubWorkflowSha: "1.3.6.1.4.1.57264.1.3",
  githubWorkflowName: "1.3.6.1.4.1.57264.1.4",
  githubWorkflowRepository: "1.3.6.1.4.1.57264.1.5",
  githubWorkflowRef: "1.3.6.1.4.1.57264.1.6",
};

/** Certificates of a PEM bundle. */
export function certificatesOf(pem: string | undefined): X509Certificate[] {
  if (pem === undefined || pem.trim() === "") return [];
  const blocks = pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
  return blocks.map((block) => new X509Certificate(block));
}

/** Kyverno's wildcard subjects (`https://github.com/acme/*`): `*` any run, `?` one character. */
function wildcard(pattern: string, value: string): boolean {
  const source = pattern.replace(/[.+^${}()|[\]\\]/g, "\\$&").replace(/\*/g, "[\\s\\S]*").replace(/\?/g, "[\\s\\S]");
  return new RegExp(`^${source}$`).test(value);
}

/** The subject alternative names (URI and email values) of a certificate. */
function identities(cert: X509Certificate): string[] {
  const text = cert.subjectAltName ?? "";
  const out: string[] = [];
  for (const match of text.matchAll(/(?:^|, )(URI|email):("(?:[^"\\]|\\.)*"|[^,]*)/g)) {
    const raw = match[2] as string;
    out.push(raw.startsWith('"') ? (JSON.parse(raw) as string) : raw);
  }
  return out;
}

/** The value of a Fulcio extension (a DER UTF8String for v2 OIDs, raw text for v1). */
function extensionText(cert: X509Certificate, oid: string): string | undefined {
  const ext = tbsOf(cert.raw).extensions.find((e) => e.oid === oid);
  if (ext === undefined) return undefined;
  if (oid === ISSUER_V2) {
    try {
      return readDer(ext.value).content.toString("utf8");
    } catch {
      return undefined;
    }
  }
  return ext.value.toString("utf8");
}

const spki = (key: KeyObject): Buffer => key.export({ type: "spki", format: "der" });

/** Why no embedded SCT of the CT log `ctKey` signs the leaf's precertificate; undefined when one does. */
function sctProblem(leaf: X509Certificate, issuer: X509Certificate, ctKey: KeyObject): string | undefined {
  const ext = tbsOf(leaf.raw).extensions.find((e) => e.oid === SCT_LIST);
  if (ext === undefined) return "the certificate has no embedded SCT";
  let list: Buffer;
  try {
    list = readDer(ext.value).content;
  } catch {
    return "the certificate's SCT list cannot be read";
  }
  const logId = createHash("sha256").update(spki(ctKey)).digest();
  const tbs = tbsWithout(leaf.raw, SCT_LIST);
  const issuerKeyHash = createHash("sha256").update(spki(issuer.publicKey)).digest();
  let offset = 2;
  while (offset + 2 <= list.length) {
    const length = list.readUInt16BE(offset);
    const sct = list.subarray(offset + 2, offset + 2 + length);
    offset += 2 + length;
    if (sct.length < 47 || sct[0] !== 0 || !sct.subarray(1, 33).equals(logId)) continue;
    const timestamp = sct.subarray(33, 41);
    const extLength = sct.readUInt16BE(41);
    const extensions = sct.subarray(43, 43 + extLength);
    let at = 43 + extLength + 2;
    const sigLength = sct.readUInt16BE(at);
    at += 2;
    const signature = sct.subarray(at, at + sigLength);
    const tbsLength = Buffer.from([(tbs.length >> 16) & 0xff, (tbs.length >> 8) & 0xff, tbs.length & 0xff]);
    const extLengthBytes = Buffer.alloc(2);
    extLengthBytes.writeUInt16BE(extensions.length);
    const signed = Buffer.concat([Buffer.from([0, 0]), timestamp, Buffer.from([0, 1]), issuerKeyHash, tbsLength, tbs, extLengthBytes, extensions]);
    try {
      if (verifySignature("sha256", signed, ctKey, signature)) return undefined;
    } catch { /* a malformed signature is no signature */ }
  }
  return "no embedded SCT of the configured certificate-transparency log verifies";
}

/**
 * Walks from `certificate` through `chain` and `trusted` to a self-signed root that is one of
 * `trusted`, each link's signature verified, every certificate on the way valid at `at`.
 * Returns the certificate's issuer, or why the chain does not hold.
 */
export function chainTo(certificate: X509Certificate, chain: readonly X509Certificate[], trusted: readonly X509Certificate[], at: Date): { issuer: X509Certificate } | { problem: string } {
  const pool = [...chain, ...trusted];
  let current = certificate;
  let issuer: X509Certificate | undefined;
  const path: X509Certificate[] = [certificate];
  for (let depth = 0; ; depth++) {
    const next = pool.find((candidate) => current.checkIssued(candidate) && current.verify(candidate.publicKey));
    if (next === undefined || depth > 5) return { problem: "the certificate chain does not lead to a trusted root" };
    issuer ??= next;
    path.push(next);
    if (next.checkIssued(next)) {
      if (!trusted.some((root) => root.raw.equals(next.raw))) return { problem: "the certificate chain ends at a root that is not trusted" };
      break;
    }
    if (!next.ca) return { problem: "the certificate chain goes through a certificate that is not a CA" };
    current = next;
  }
  // Every certificate of the path, a Fulcio certificate's ten minutes included, must have been valid when the signature was made.
  for (const cert of path) {
    if (at.getTime() < Date.parse(cert.validFrom) || at.getTime() > Date.parse(cert.validTo)) return { problem: `the ${cert === certificate ? "certificate" : "issuing CA certificate"} was not valid at ${at.toISOString()} (valid ${new Date(cert.validFrom).toISOString()} to ${new Date(cert.validTo).toISOString()})` };
  }
  return { issuer };
}

/** The trust material a keyless check needs besides the attestor's own fields. */
export interface FulcioTrust {
  /** PEM bundle: the Fulcio root(s) and intermediates (the attestor's `roots`, else admission.registries.fulcioRoots). */
  readonly roots?: string;
  /** PEM public key of the CT log (the attestor's `ctlog.pubkey`, else admission.registries.ctLogPublicKey). */
  readonly ctLogPublicKey?: string;
}

/**
 * The public key of a keyless signature's certificate when the certificate holds for `identity`
 * at `signedAt`, or why it does not. `chain`: the intermediates (and root) shipped with the signature.
 */
export function certificateKey(certificate: X509Certificate, chain: readonly X509Certificate[], identity: KeylessIdentity, trust: FulcioTrust, signedAt: Date): { key: KeyObject } | { problem: string } {
  const trusted = certificatesOf(trust.roots);
  if (trusted.length === 0) return { problem: "no Fulcio root to check the certificate against: set keyless.roots or admission.registries.fulcioRoots" };
  const chained = chainTo(certificate, chain, trusted, signedAt);
  if ("problem" in chained) return chained;
  const issuer = chained.issuer;
  if (!(certificate.keyUsage ?? []).includes(CODE_SIGNING)) return { problem: "the certificate is not for code signing" };
  const names = identities(certificate);
  if (identity.subject !== undefined && identity.subject !== "" && !names.some((name) => wildcard(identity.subject as string, name))) return { problem: `expected subject ${identity.subject}, got ${names.join(", ") || "none"}` };
  if (identity.subjectRegExp !== undefined && identity.subjectRegExp !== "" && !names.some((name) => new RegExp(identity.subjectRegExp as string).test(name))) return { problem: `expected subject matching ${identity.subjectRegExp}, got ${names.join(", ") || "none"}` };
  const oidcIssuer = extensionText(certificate, ISSUER_V2) ?? extensionText(certificate, ISSUER_V1) ?? "";
  if (identity.issuer !== undefined && identity.issuer !== "" && !wildcard(identity.issuer, oidcIssuer)) return { problem: `expected issuer ${identity.issuer}, got ${oidcIssuer || "none"}` };
  if (identity.issuerRegExp !== undefined && identity.issuerRegExp !== "" && !new RegExp(identity.issuerRegExp).test(oidcIssuer)) return { problem: `expected issuer matching ${identity.issuerRegExp}, got ${oidcIssuer || "none"}` };
  for (const [name, expected] of Object.entries(identity.extensions ?? {})) {
    const oid = GITHUB_EXTENSIONS[name];
    if (oid === undefined) return { problem: `additionalExtensions.${name} is not an extension Vigil reads (${Object.keys(GITHUB_EXTENSIONS).join(", ")})` };
    const actual = extensionText(certificate, oid);
    if (actual !== expected) return { problem: `expected ${name} ${expected}, got ${actual ?? "none"}` };
  }
  if (identity.ignoreSCT !== true) {
    if (trust.ctLogPublicKey === undefined || trust.ctLogPublicKey === "") return { problem: "the certificate's SCT cannot be checked: set ctlog.pubkey (the CT log's public key) or ctlog.ignoreSCT: true" };
    const problem = sctProblem(certificate, issuer, createPublicKey(trust.ctLogPublicKey));
    if (problem !== undefined) return { problem };
  }
  return { key: certificate.publicKey };
}
