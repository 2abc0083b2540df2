/**
 * A stand-in for Fulcio and a CT log, for tests: a root and an intermediate CA issuing
 * short-lived code-signing certificates the way Fulcio does (empty subject, the identity as a
 * critical SAN, the OIDC issuer in extension 1.3.6.1.4.1.57264.1.8, GitHub workflow extensions),
 * with an embedded SCT signed by a test CT log over the precertificate (RFC 6962). Certificates
 * are DER built here and signed with ECDSA P-256 / SHA-256. Not used outside tests.
 */
import { createHash, generateKeyPairSync, sign, X509Certificate, type KeyObject } from "node:crypto";
import { derElement, oidContent } from "./der.js";

type Pair = { privateKey: KeyObject; publicKey: KeyObject };

const seq = (...parts: Buffer[]): Buffer => derElement(0x30, Buffer.concat(parts));
const set = (...parts: Buffer[]): Buffer => derElement(0x31, Buffer.concat(parts));
const oid = (text: string): Buffer => derElement(0x06, oidContent(text));
const utf8 = (text: string): Buffer => derElement(0x0c, Buffer.from(text, "utf8"));
const octet = (content: Buffer): Buffer => derElement(0x04, content);
const bool = (value: boolean): Buffer => derElement(0x01, Buffer.from([value ? 0xff : 0]));
const bits = (content: Buffer, unused = 0): Buffer => derElement(0x03, Buffer.concat([Buffer.from([unused]), content]));
const integer = (value: number): Buffer => {
  const bytes: number[] = [];
  for (let rest = value; rest > 0; rest = Math.floor(rest / 256)) bytes.unshift(rest % 256);
  if (bytes.length === 0 || (bytes[0] as number) & 0x80) bytes.unshift(0);
  return derElement(0x02, Buffer.from(bytes));
};
const time = (date: Date): Buffer => derElement(0x17, Buffer.from(`${date.toISOString().slice(2, 19).replace(/[-:T]/g, "")}Z`, "ascii"));
const extension = (id: string, critical: boolean, value: Buffer): Buffer => seq(oid(id), ...(critical ? [bool(true)] : []), octet(value));
const name = (cn: string): Buffer => seq(set(seq(oid("2.5.4.10"), utf8("sigstore.dev"))), set(seq(oid("2.5.4.3"), utf8(cn))));
const ECDSA_SHA256 = seq(oid("1.2.840.10045.4.3.2"));

let serial = 1000;

function tbs(issuer: Buffer, subject: Buffer, key: KeyObject, notBefore: Date, notAfter: Date, extensions: readonly Buffer[], serialNumber: number): Buffer {
  return seq(derElement(0xa0, integer(2)), integer(serialNumber), ECDSA_SHA256, issuer, seq(time(notBefore), time(notAfter)), subject, key.export({ type: "spki", format: "der" }), derElement(0xa3, seq(...extensions)));
}

function certificate(body: Buffer, issuerKey: KeyObject): X509Certificate {
  return new X509Certificate(seq(body, ECDSA_SHA256, bits(sign("sha256", body, issuerKey))));
}

const pem = (cert: X509Certificate): string => cert.toString();

export interface IssueOptions {
  /** The identity: a URI (workflow) or an email. */
  readonly subject: string;
  /** The OIDC issuer (extension 1.3.6.1.4.1.57264.1.8). */
  readonly issuer: string;
  /** Fulcio's v1 GitHub extensions by OID suffix (e.g. { "1.5": "acme/app" } for githubWorkflowRepository). */
  readonly github?: Readonly<Record<string, string>>;
  readonly notBefore?: Date;
  /** Default notBefore + 10 minutes, as Fulcio issues them. */
  readonly notAfter?: Date;
  /** Embed an SCT from the CT log (default true); `other` embeds one from another log. */
  readonly sct?: boolean | "other";
}

export interface IssuedCertificate extends Pair {
  readonly certificate: X509Certificate;
  /** The signing certificate, PEM (cosign's `dev.sigstore.cosign/certificate`). */
  readonly pem: string;
  /** The intermediate and the root, PEM (cosign's `dev.sigstore.cosign/chain`). */
  readonly chain: string;
}

export interface TestFulcio {
  /** The root certificate, PEM. */
  readonly rootPem: string;
  /** The intermediate and the root, PEM, as Sigstore's trusted root lists Fulcio's chain: what `admission.registries.fulcioRoots` / `keyless.roots` trust (a v3 bundle carries only the leaf). */
  readonly trustPem: string;
  /** The CT log's public key, PEM. */
  readonly ctLogPem: string;
  issue(options: IssueOptions): IssuedCertificate;
}

function sctList(tbsBytes: Buffer, issuerKey: KeyObject, log: Pair, at: Date): Buffer {
  const timestamp = Buffer.alloc(8);
  timestamp.writeBigUInt64BE(BigInt(at.getTime()));
  const issuerKeyHash = createHash("sha256").update(issuerKey.export({ type: "spki", format: "der" })).digest();
  const length24 = Buffer.from([(tbsBytes.length >> 16) & 0xff, (tbsBytes.length >> 8) & 0xff, tbsBytes.length & 0xff]);
  const signed = Buffer.concat([Buffer.from([0, 0]), timestamp, Buffer.from([0, 1]), issuerKeyHash, length24, tbsBytes, Buffer.from([0, 0])]);
  const signature = sign("sha256", signed, log.privateKey);
  const logId = createHash("sha256").update(log.publicKey.export({ type: "spki", format: "der" })).digest();
  const sigLength = Buffer.alloc(2);
  sigLength.writeUInt16BE(signature.length);
  const sct = Buffer.concat([Buffer.from([0]), logId, timestamp, Buffer.from([0, 0]), Buffer.from([4, 3]), sigLength, signature]);
  const entry = Buffer.alloc(2);
  entry.writeUInt16BE(sct.length);
  const total = Buffer.alloc(2);
  total.writeUInt16BE(sct.length + 2);
  return octet(Buffer.concat([total, entry, sct]));
}

/** A new test Fulcio: root → intermediate → leaf certificates, and a CT log. */
export function startTestFulcio(): TestFulcio {
  const ec = (): Pair => generateKeyPairSync("ec", { namedCurve: "P-256" });
  const rootKey = ec();
  const intermediateKey = ec();
  const ctLog = ec();
  const otherLog = ec();
  const caExtensions = [extension("2.5.29.19", true, seq(bool(true))), extension("2.5.29.15", true, bits(Buffer.from([0x06]), 1))];
  const from = new Date("2020-01-01T00:00:00Z");
  const until = new Date("2040-01-01T00:00:00Z");
  const root = certificate(tbs(name("sigstore"), name("sigstore"), rootKey.publicKey, from, until, caExtensions, serial++), rootKey.privateKey);
  const intermediate = certificate(tbs(name("sigstore"), name("sigstore-intermediate"), intermediateKey.publicKey, from, until, caExtensions, serial++), rootKey.privateKey);
  return {
    rootPem: pem(root),
    trustPem: `${pem(intermediate)}${pem(root)}`,
    ctLogPem: ctLog.publicKey.export({ type: "spki", format: "pem" }).toString(),
    issue(options) {
      const leafKey = ec();
      const notBefore = options.notBefore ?? new Date();
      const notAfter = options.notAfter ?? new Date(notBefore.getTime() + 10 * 60_000);
      const san = options.subject.includes("@") && !options.subject.includes("://") ? derElement(0x81, Buffer.from(options.subject, "ascii")) : derElement(0x86, Buffer.from(options.subject, "ascii"));
      const extensions = [
        extension("2.5.29.15", true, bits(Buffer.from([0x80]), 7)),
        extension("2.5.29.37", false, seq(oid("1.3.6.1.5.5.7.3.3"))),
        extension("2.5.29.17", true, seq(san)),
        extension("1.3.6.1.4.1.57264.1.1", false, Buffer.from(options.issuer, "utf8")),
        extension("1.3.6.1.4.1.57264.1.8", false, utf8(options.issuer)),
        ...Object.entries(options.github ?? {}).map(([suffix, value]) => extension(`1.3.6.1.4.1.57264.${suffix}`, false, Buffer.from(value, "utf8"))),
      ];
      const number = serial++;
      const issuer = name("sigstore-intermediate");
      const subject = seq();
      let body = tbs(issuer, subject, leafKey.publicKey, notBefore, notAfter, extensions, number);
      if (options.sct !== false) {
        // The SCT signs the precertificate: the final TBSCertificate without the SCT extension.
        const list = sctList(body, intermediateKey.publicKey, options.sct === "other" ? otherLog : ctLog, notBefore);
        body = tbs(issuer, subject, leafKey.publicKey, notBefore, notAfter, [...extensions, extension("1.3.6.1.4.1.11129.2.4.2", false, list)], number);
      }
      const leaf = certificate(body, intermediateKey.privateKey);
      return { ...leafKey, certificate: leaf, pem: pem(leaf), chain: `${pem(intermediate)}${pem(root)}` };
    },
  };
}
