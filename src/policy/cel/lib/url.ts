/**
 * The Kubernetes URL library (type `kubernetes.URL`): `url(s)`, isURL, getScheme, getHost,
 * getHostname, getPort, getEscapedPath, getQuery. Parsing follows Go's url.ParseRequestURI: an
 * absolute URI or an absolute path, no fragment handling, the host and port kept as written.
 */
import { buildMap } from "../runtime/maps.js";
import type { Overload } from "../runtime/functions.js";
import { CelOpaque, err, noOverload } from "../runtime/values.js";

export class CelURL extends CelOpaque {
  readonly typeName = "kubernetes.URL";
  readonly scheme: string;
  readonly host: string;
  readonly path: string;
  readonly rawQuery: string;
  private readonly text: string;
  constructor(text: string, scheme: string, host: string, path: string, rawQuery: string) {
    super();
    this.text = text;
    this.scheme = scheme;
    this.host = host;
    this.path = path;
    this.rawQuery = rawQuery;
  }
  equals(other: CelOpaque): boolean {
    return other instanceof CelURL && other.text === this.text;
  }
  override toString(): string {
    return this.text;
  }
}

const hostChars = /^[A-Za-z0-9\-._~!$&'()*+,;=%]*$/;

/** Parses like Go's url.ParseRequestURI; returns an error message when invalid. */
export function parseURL(text: string): CelURL | string {
  if (text === "") return "empty url";
  if (/[\x00-\x1f\x7f]/.test(text)) return `parse "${text}": net/url: invalid control character in URL`;
  let rest = text;
  let scheme = "";
  const sm = /^([A-Za-z][A-Za-z0-9+.-]*):/.exec(rest);
  if (sm) {
    scheme = (sm[1] as string).toLowerCase();
    rest = rest.slice(sm[0].length);
  } else if (!rest.startsWith("/")) return `parse "${text}": invalid URI for request`;
  let rawQuery = "";
  const q = rest.indexOf("?");
  if (q >= 0) {
    rawQuery = rest.slice(q + 1);
    rest = rest.slice(0, q);
  }
  let host = "";
  if (scheme !== "" && !rest.startsWith("/")) return new CelURL(text, scheme, "", "", rawQuery); // opaque, e.g. mailto:
  if (rest.startsWith("//")) {
    const end = rest.indexOf("/", 2);
    let authority = end < 0 ? rest.slice(2) : rest.slice(2, end);
    rest = end < 0 ? "" : rest.slice(end);
    const at = authority.lastIndexOf("@");
    if (at >= 0) {
      const userinfo = authority.slice(0, at);
      if (!userinfoChars.test(userinfo)) return `parse "${text}": net/url: invalid userinfo`;
      const escape = badEscape(userinfo, false);
      if (escape !== undefined) return `parse "${text}": invalid URL escape "${escape}"`;
      authority = authority.slice(at + 1);
    }
    const bad = validateHost(authority);
    if (bad) return `parse "${text}": ${bad}`;
    host = authority;
  }
  const escape = badEscape(rest, false);
  if (escape !== undefined) return `parse "${text}": invalid URL escape "${escape}"`;
  return new CelURL(text, scheme, host, rest, rawQuery);
}

const userinfoChars = /^[A-Za-z0-9\-._:~!$&'()*+,;=%@]*$/;

/**
 * The first malformed percent-escape of a path, userinfo or host (`host`), as Go's url.unescape
 * reports it: `%` not followed by two hex digits; in a host, an escape of an ASCII byte other
 * than %25 (only non-ASCII bytes may be escaped there).
 */
function badEscape(s: string, host: boolean): string | undefined {
  for (let i = s.indexOf("%"); i >= 0; i = s.indexOf("%", i + 1)) {
    const escape = s.slice(i, i + 3);
    if (!/^%[0-9A-Fa-f]{2}$/.test(escape)) return escape;
    if (host && Number.parseInt(escape[1] as string, 16) < 8 && escape !== "%25") return escape;
  }
  return undefined;
}

function validateHost(host: string): string | undefined {
  if (host.startsWith("[")) {
    const close = host.indexOf("]");
    if (close < 0) return "missing ']' in host";
    const after = host.slice(close + 1);
    if (after !== "" && !/^:\d*$/.test(after)) return `invalid port "${after}" after host`;
    return undefined;
  }
  const colon = host.lastIndexOf(":");
  const name = colon >= 0 ? host.slice(0, colon) : host;
  const port = colon >= 0 ? host.slice(colon + 1) : "";
  if (!/^\d*$/.test(port)) return `invalid port ":${port}" after host`;
  if (!hostChars.test(name)) return `invalid character in host name "${name}"`;
  const escape = badEscape(name, true);
  return escape === undefined ? undefined : `invalid URL escape "${escape}"`;
}

function hostname(u: CelURL): string {
  const h = u.host;
  if (h.startsWith("[")) return h.slice(1, h.indexOf("]"));
  const colon = h.lastIndexOf(":");
  return colon >= 0 ? h.slice(0, colon) : h;
}

function port(u: CelURL): string {
  const h = u.host;
  const close = h.startsWith("[") ? h.indexOf("]") : -1;
  const colon = h.lastIndexOf(":");
  return colon > close ? h.slice(colon + 1) : "";
}

/** The path with characters outside RFC 3986 `pchar` / "/" percent-encoded (existing escapes kept). */
function escapedPath(u: CelURL): string {
  return u.path.replace(/%(?![0-9A-Fa-f]{2})|[^A-Za-z0-9\-._~!$&'()*+,;=:@/%]/gu, (c) => encodeURIComponent(c));
}

function decodeComponent(s: string): string | undefined {
  try {
    return decodeURIComponent(s.replace(/\+/g, " "));
  } catch {
    return undefined;
  }
}

/** Go's url.Values: every key with all its values; malformed pairs (bad escapes, ';') are dropped. */
function query(u: CelURL): unknown {
  const values = new Map<string, string[]>();
  for (const part of u.rawQuery.split("&")) {
    if (part === "" || part.includes(";")) continue;
    const eqAt = part.indexOf("=");
    const key = decodeComponent(eqAt >= 0 ? part.slice(0, eqAt) : part);
    const value = decodeComponent(eqAt >= 0 ? part.slice(eqAt + 1) : "");
    if (key === undefined || value === undefined) continue;
    const list = values.get(key) ?? [];
    list.push(value);
    values.set(key, list);
  }
  return buildMap([...values].map(([k, v]) => [k, v] as const));
}

function method(name: string, f: (u: CelURL) => unknown): Overload {
  return { name, receiver: true, arity: 0, accepts: (a) => a[0] instanceof CelURL, impl: (u) => f(u as CelURL) };
}

export const urlOverloads: readonly Overload[] = [
  {
    name: "url", receiver: false, arity: 1,
    impl: (s) => {
      if (typeof s !== "string") throw noOverload("url", s);
      const u = parseURL(s);
      if (typeof u === "string") throw err("invalid_argument", `URL parse error during conversion from string: ${u}`);
      return u;
    },
  },
  {
    name: "isURL", receiver: false, arity: 1,
    impl: (s) => {
      if (typeof s !== "string") throw noOverload("isURL", s);
      return typeof parseURL(s) !== "string";
    },
  },
  method("getScheme", (u) => u.scheme),
  method("getHost", (u) => u.host),
  method("getHostname", hostname),
  method("getPort", port),
  method("getEscapedPath", escapedPath),
  method("getQuery", query),
];
