/**
 * HTTP header access that works with Node's `IncomingHttpHeaders`, a plain object with any
 * letter case, or a fetch `Headers`. Header names are case-insensitive (RFC 7230).
 */

export type HeaderBag =
  | Readonly<Record<string, string | readonly string[] | undefined>>
  | { forEach(callback: (value: string, name: string) => void): void };

/** Lower-cased name → value(s). Repeated headers keep every value. */
export function normalizeHeaders(headers: HeaderBag): Map<string, string[]> {
  const out = new Map<string, string[]>();
  const put = (name: string, value: string): void => {
    const key = name.toLowerCase();
    const list = out.get(key);
    if (list) list.push(value);
    else out.set(key, [value]);
  };
  if (typeof (headers as { forEach?: unknown }).forEach === "function" && !isPlainRecord(headers)) {
    (headers as { forEach(callback: (value: string, name: string) => void): void }).forEach((value, name) => put(name, value));
    return out;
  }
  for (const [name, value] of Object.entries(headers as Record<string, string | readonly string[] | undefined>)) {
    if (value === undefined) continue;
    if (typeof value === "string") put(name, value);
    else for (const item of value) put(name, item);
  }
  return out;
}

function isPlainRecord(value: unknown): boolean {
  const proto = Object.getPrototypeOf(value) as unknown;
  return proto === Object.prototype || proto === null;
}

/** The single value of a header, or undefined; `repeated` is true when it was sent twice. */
export function singleHeader(headers: Map<string, string[]>, name: string): { value?: string; repeated: boolean } {
  const values = headers.get(name.toLowerCase());
  if (values === undefined || values.length === 0) return { repeated: false };
  return { value: values[0] as string, repeated: values.length > 1 };
}

/** The media type essence of a Content-Type (`application/json; charset=utf-8` → `application/json`). */
export function mediaTypeEssence(contentType: string | undefined): string | undefined {
  if (contentType === undefined) return undefined;
  const essence = (contentType.split(";")[0] ?? "").trim().toLowerCase();
  return essence.length === 0 ? undefined : essence;
}
