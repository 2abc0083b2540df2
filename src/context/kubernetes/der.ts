/**
 * A minimal DER reader and writer: enough of ASN.1 to read X.509 extensions Node's
 * X509Certificate does not expose (Fulcio's OIDC issuer, embedded SCTs) and to rebuild a
 * TBSCertificate without one extension (the precertificate an SCT signs).
 */

export interface DerNode {
  /** The identifier octet (e.g. 0x30 SEQUENCE, 0x06 OID, 0xa3 [3] constructed). */
  readonly tag: number;
  /** The whole element (header and content). */
  readonly raw: Buffer;
  /** The content octets. */
  readonly content: Buffer;
}

/** Reads the element at `offset`; throws on malformed or indefinite-length input. */
export function readDer(buffer: Buffer, offset = 0): DerNode {
  if (offset + 2 > buffer.length) throw new Error("DER: truncated header");
  const tag = buffer[offset] as number;
  if ((tag & 0x1f) === 0x1f) throw new Error("DER: high tag numbers are not supported");
  let length = buffer[offset + 1] as number;
  let header = 2;
  if (length & 0x80) {
    const bytes = length & 0x7f;
    if (bytes === 0 || bytes > 4) throw new Error("DER: unsupported length");
    if (offset + 2 + bytes > buffer.length) throw new Error("DER: truncated length");
    length = 0;
    for (let i = 0; i < bytes; i++) length = length * 256 + (buffer[offset + 2 + i] as number);
    header += bytes;
  }
  const end = offset + header + length;
  if (end > buffer.length) throw new Error("DER: truncated content");
  return { tag, raw: buffer.subarray(offset, end), content: buffer.subarray(offset + header, end) };
}

/** The elements inside a constructed element's content. */
export function childrenOf(node: DerNode): DerNode[] {
  const out: DerNode[] = [];
  let offset = 0;
  while (offset < node.content.length) {
    const child = readDer(node.content, offset);
    out.push(child);
    offset += child.raw.length;
  }
  return out;
}

/** Dotted text of an OBJECT IDENTIFIER's content. */
export function oidText(content: Buffer): string {
  const first = content[0] ?? 0;
  const parts = [Math.floor(first / 40), first % 40];
  let value = 0;
  for (let i = 1; i < content.length; i++) {
    const byte = content[i] as number;
    value = value * 128 + (byte & 0x7f);
    if ((byte & 0x80) === 0) {
      parts.push(value);
      value = 0;
    }
  }
  return parts.join(".");
}

/** An element from a tag and its content. */
export function derElement(tag: number, content: Buffer): Buffer {
  const length = content.length;
  let header: Buffer;
  if (length < 0x80) header = Buffer.from([tag, length]);
  else {
    const bytes: number[] = [];
    for (let rest = length; rest > 0; rest = Math.floor(rest / 256)) bytes.unshift(rest % 256);
    header = Buffer.from([tag, 0x80 | bytes.length, ...bytes]);
  }
  return Buffer.concat([header, content]);
}

/** An OBJECT IDENTIFIER's content from dotted text. */
export function oidContent(text: string): Buffer {
  const parts = text.split(".").map(Number);
  const bytes = [40 * (parts[0] ?? 0) + (parts[1] ?? 0)];
  for (const part of parts.slice(2)) {
    const chunk: number[] = [part & 0x7f];
    for (let rest = Math.floor(part / 128); rest > 0; rest = Math.floor(rest / 128)) chunk.unshift((rest & 0x7f) | 0x80);
    bytes.push(...chunk);
  }
  return Buffer.from(bytes);
}

/** One X.509v3 extension: its OID, criticality and the content of its extnValue OCTET STRING. */
export interface CertificateExtension {
  readonly oid: string;
  readonly critical: boolean;
  readonly value: Buffer;
  readonly raw: Buffer;
}

/** The TBSCertificate of a DER certificate, its elements, and its extensions (empty without [3]). */
export function tbsOf(certificate: Buffer): { tbs: DerNode; fields: DerNode[]; extensions: CertificateExtension[] } {
  const cert = readDer(certificate);
  const tbs = childrenOf(cert)[0];
  if (tbs === undefined || tbs.tag !== 0x30) throw new Error("not an X.509 certificate");
  const fields = childrenOf(tbs);
  const wrapper = fields.find((f) => f.tag === 0xa3);
  const extensions: CertificateExtension[] = [];
  const list = wrapper === undefined ? undefined : childrenOf(wrapper)[0];
  for (const ext of list === undefined ? [] : childrenOf(list)) {
    const parts = childrenOf(ext);
    const oid = parts[0];
    if (oid === undefined || oid.tag !== 0x06) continue;
    const critical = parts[1]?.tag === 0x01 && parts[1].content[0] !== 0;
    const value = parts.find((p) => p.tag === 0x04);
    if (value !== undefined) extensions.push({ oid: oidText(oid.content), critical, value: value.content, raw: ext.raw });
  }
  return { tbs, fields, extensions };
}

/** The TBSCertificate re-encoded without the extension `oid` (what a precertificate's SCT signs). */
export function tbsWithout(certificate: Buffer, oid: string): Buffer {
  const { fields, extensions } = tbsOf(certificate);
  const kept = extensions.filter((e) => e.oid !== oid).map((e) => e.raw);
  const rebuilt = fields.map((f) => (f.tag === 0xa3 ? derElement(0xa3, derElement(0x30, Buffer.concat(kept))) : f.raw));
  return derElement(0x30, Buffer.concat(rebuilt));
}
