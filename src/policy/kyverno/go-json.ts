/**
 * Go's encoding/json Marshal of a JSON value, which Kyverno uses to write a non-string value into a
 * string (a `{{ }}` variable inside a longer string, go-jmespath's to_string). It differs from
 * JSON.stringify in what a message or a compared string shows: object keys in sorted order (Go sorts
 * map keys by their UTF-8 bytes, which is code point order), `<`, `>` and `&` escaped as `\u003c`,
 * `\u003e` and `\u0026` (HTML-safe), U+2028 and U+2029 escaped, and a negative zero written `-0`.
 * Never throws.
 */

/** Code point order, which is Go's string order (UTF-8 bytes); JS's `<` and sort compare UTF-16 units. */
export function compareCodePoints(a: string, b: string): number {
  const x = [...a], y = [...b];
  const n = Math.min(x.length, y.length);
  for (let i = 0; i < n; i++) {
    const d = (x[i] as string).codePointAt(0) as number - ((y[i] as string).codePointAt(0) as number);
    if (d !== 0) return d;
  }
  return x.length - y.length;
}

const htmlUnsafe = /[<>&\u2028\u2029]/g;

function goString(s: string): string {
  return JSON.stringify(s).replace(htmlUnsafe, (c) => `\\u${(c.codePointAt(0) as number).toString(16).padStart(4, "0")}`);
}

/** The text Go's json.Marshal gives for a value read from JSON or YAML. */
export function goJsonMarshal(value: unknown): string {
  if (typeof value === "string") return goString(value);
  if (typeof value === "number") return Object.is(value, -0) ? "-0" : JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map((v) => (v === undefined ? "null" : goJsonMarshal(v))).join(",")}]`;
  if (value !== null && typeof value === "object") {
    const entries = Object.entries(value).filter(([, v]) => v !== undefined);
    entries.sort(([a], [b]) => compareCodePoints(a, b));
    return `{${entries.map(([k, v]) => `${goString(k)}:${goJsonMarshal(v)}`).join(",")}}`;
  }
  return JSON.stringify(value) ?? "null";
}
