/**
 * The Kubernetes IP and CIDR libraries (types `net.IP`, `net.CIDR`), with Go netip parsing rules:
 * no leading zeros in IPv4 octets, no zones, no IPv4-mapped IPv6 addresses; canonical strings
 * per RFC 5952.
 */
import type { Overload } from "../runtime/functions.js";
import { CelOpaque, err, noOverload } from "../runtime/values.js";

export class CelIP extends CelOpaque {
  readonly typeName = "net.IP";
  readonly bytes: Uint8Array;
  constructor(bytes: Uint8Array) {
    super();
    this.bytes = bytes;
  }
  get family(): 4 | 6 {
    return this.bytes.length === 4 ? 4 : 6;
  }
  equals(other: CelOpaque): boolean {
    return other instanceof CelIP && sameBytes(this.bytes, other.bytes);
  }
  override toString(): string {
    return formatIP(this.bytes);
  }
}

export class CelCIDR extends CelOpaque {
  readonly typeName = "net.CIDR";
  readonly ip: CelIP;
  readonly bits: number;
  constructor(ip: CelIP, bits: number) {
    super();
    this.ip = ip;
    this.bits = bits;
  }
  equals(other: CelOpaque): boolean {
    return other instanceof CelCIDR && this.bits === other.bits && this.ip.equals(other.ip);
  }
  override toString(): string {
    return `${this.ip.toString()}/${this.bits}`;
  }
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

function parseIPv4(s: string): Uint8Array | undefined {
  const parts = s.split(".");
  if (parts.length !== 4) return undefined;
  const out = new Uint8Array(4);
  for (let i = 0; i < 4; i++) {
    const p = parts[i] as string;
    if (!/^\d{1,3}$/.test(p) || (p.length > 1 && p[0] === "0")) return undefined;
    const n = Number(p);
    if (n > 255) return undefined;
    out[i] = n;
  }
  return out;
}

function parseIPv6(s: string): Uint8Array | undefined {
  if (s.includes("%")) return undefined;
  const halves = s.split("::");
  if (halves.length > 2) return undefined;
  const groups = (h: string): number[] | undefined => {
    if (h === "") return [];
    const out: number[] = [];
    const parts = h.split(":");
    for (let i = 0; i < parts.length; i++) {
      const p = parts[i] as string;
      if (i === parts.length - 1 && p.includes(".")) {
        const v4 = parseIPv4(p);
        if (!v4) return undefined;
        out.push(((v4[0] as number) << 8) | (v4[1] as number), ((v4[2] as number) << 8) | (v4[3] as number));
        continue;
      }
      if (!/^[0-9a-fA-F]{1,4}$/.test(p)) return undefined;
      out.push(Number.parseInt(p, 16));
    }
    return out;
  };
  const head = groups(halves[0] as string);
  const tail = halves.length === 2 ? groups(halves[1] as string) : [];
  if (!head || !tail) return undefined;
  let all: number[];
  if (halves.length === 2) {
    const missing = 8 - head.length - tail.length;
    if (missing < 1) return undefined;
    all = [...head, ...new Array<number>(missing).fill(0), ...tail];
  } else {
    if (head.length !== 8) return undefined;
    all = head;
  }
  const out = new Uint8Array(16);
  all.forEach((g, i) => {
    out[2 * i] = g >> 8;
    out[2 * i + 1] = g & 0xff;
  });
  return out;
}

function isV4Mapped(b: Uint8Array): boolean {
  return b.length === 16 && b.slice(0, 10).every((x) => x === 0) && b[10] === 0xff && b[11] === 0xff;
}

/** Parses an IP address with Kubernetes' rules; returns an error message when invalid. */
export function parseIP(s: string): CelIP | string {
  if (s.includes("%")) return `IP address "${s}" with zone value is not allowed`;
  const bytes = s.includes(":") ? parseIPv6(s) : parseIPv4(s);
  if (!bytes) return `IP Address "${s}" parse error during conversion from string`;
  if (isV4Mapped(bytes)) return `IPv4-mapped IPv6 address "${s}" is not allowed`;
  return new CelIP(bytes);
}

function formatIP(b: Uint8Array): string {
  if (b.length === 4) return Array.from(b).join(".");
  const groups: number[] = [];
  for (let i = 0; i < 8; i++) groups.push(((b[2 * i] as number) << 8) | (b[2 * i + 1] as number));
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 8;) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen && j - i >= 2) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestStart < 0) return hex.join(":");
  return `${hex.slice(0, bestStart).join(":")}::${hex.slice(bestStart + bestLen).join(":")}`;
}

export function parseCIDR(s: string): CelCIDR | string {
  const slash = s.indexOf("/");
  if (slash < 0) return `network address parse error during conversion from string: no '/' in "${s}"`;
  const ip = parseIP(s.slice(0, slash));
  if (typeof ip === "string") return `network address parse error during conversion from string: ${ip}`;
  const bitsText = s.slice(slash + 1);
  const max = ip.family === 4 ? 32 : 128;
  if (!/^(0|[1-9]\d{0,2})$/.test(bitsText) || Number(bitsText) > max) return `network address parse error during conversion from string: bad bits after slash: "${bitsText}"`;
  return new CelCIDR(ip, Number(bitsText));
}

function masked(c: CelCIDR): CelCIDR {
  const out = new Uint8Array(c.ip.bytes);
  for (let i = 0; i < out.length; i++) {
    const keep = Math.max(0, Math.min(8, c.bits - i * 8));
    out[i] = (out[i] as number) & ((0xff << (8 - keep)) & 0xff);
  }
  return new CelCIDR(new CelIP(out), c.bits);
}

function containsIP(c: CelCIDR, ip: CelIP): boolean {
  if (ip.family !== c.ip.family) return false;
  return masked(c).ip.equals(masked(new CelCIDR(ip, c.bits)).ip);
}

function ipArg(fn: string, v: unknown): CelIP {
  if (v instanceof CelIP) return v;
  if (typeof v === "string") {
    const ip = parseIP(v);
    if (typeof ip === "string") throw err("invalid_argument", ip);
    return ip;
  }
  throw noOverload(fn, v);
}

function cidrArg(fn: string, v: unknown): CelCIDR {
  if (v instanceof CelCIDR) return v;
  if (typeof v === "string") {
    const c = parseCIDR(v);
    if (typeof c === "string") throw err("invalid_argument", c);
    return c;
  }
  throw noOverload(fn, v);
}

function ipMethod(name: string, f: (ip: CelIP) => unknown): Overload {
  return { name, receiver: true, arity: 0, accepts: (a) => a[0] instanceof CelIP, impl: (ip) => f(ip as CelIP) };
}

function cidrMethod(name: string, arity: number, f: (c: CelCIDR, arg?: unknown) => unknown): Overload {
  return { name, receiver: true, arity, accepts: (a) => a[0] instanceof CelCIDR, impl: (c, arg) => f(c as CelCIDR, arg) };
}

const b = (ip: CelIP, i: number): number => ip.bytes[i] as number;
const allZero = (ip: CelIP): boolean => ip.bytes.every((x) => x === 0);
const isLoopback = (ip: CelIP): boolean => (ip.family === 4 ? b(ip, 0) === 127 : ip.bytes.slice(0, 15).every((x) => x === 0) && b(ip, 15) === 1);
const isMulticast = (ip: CelIP): boolean => (ip.family === 4 ? (b(ip, 0) & 0xf0) === 0xe0 : b(ip, 0) === 0xff);
const isLinkLocalUnicast = (ip: CelIP): boolean => (ip.family === 4 ? b(ip, 0) === 169 && b(ip, 1) === 254 : b(ip, 0) === 0xfe && (b(ip, 1) & 0xc0) === 0x80);

function stringArg(fn: string, v: unknown): string {
  if (typeof v !== "string") throw noOverload(fn, v);
  return v;
}

export const netOverloads: readonly Overload[] = [
  { name: "ip", receiver: false, arity: 1, impl: (s) => ipArg("ip", stringArg("ip", s)) },
  { name: "isIP", receiver: false, arity: 1, impl: (s) => typeof parseIP(stringArg("isIP", s)) !== "string" },
  { name: "ip.isCanonical", receiver: false, arity: 1, impl: (s) => ipArg("ip.isCanonical", stringArg("ip.isCanonical", s)).toString() === s },
  ipMethod("family", (ip) => ip.family),
  ipMethod("isUnspecified", allZero),
  ipMethod("isLoopback", isLoopback),
  ipMethod("isLinkLocalMulticast", (ip) => (ip.family === 4 ? b(ip, 0) === 224 && b(ip, 1) === 0 && b(ip, 2) === 0 : b(ip, 0) === 0xff && (b(ip, 1) & 0x0f) === 0x02)),
  ipMethod("isLinkLocalUnicast", isLinkLocalUnicast),
  ipMethod("isGlobalUnicast", (ip) => {
    if (ip.family === 4 && ip.bytes.every((x) => x === 255)) return false;
    return !allZero(ip) && !isLoopback(ip) && !isMulticast(ip) && !isLinkLocalUnicast(ip);
  }),
  { name: "cidr", receiver: false, arity: 1, impl: (s) => cidrArg("cidr", stringArg("cidr", s)) },
  { name: "isCIDR", receiver: false, arity: 1, impl: (s) => typeof parseCIDR(stringArg("isCIDR", s)) !== "string" },
  cidrMethod("containsIP", 1, (c, ip) => containsIP(c, ipArg("containsIP", ip))),
  cidrMethod("containsCIDR", 1, (c, other) => {
    const o = cidrArg("containsCIDR", other);
    return o.ip.family === c.ip.family && c.bits <= o.bits && containsIP(c, o.ip);
  }),
  cidrMethod("ip", 0, (c) => c.ip),
  cidrMethod("masked", 0, masked),
  cidrMethod("prefixLength", 0, (c) => c.bits),
];
