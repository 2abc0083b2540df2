import { VigilError } from "../../core/index.js";

/** Throws VIGIL_BAD_CONFIG naming the field unless `value` is a non-empty string. */
export function requireText(field: string, value: unknown): string {
  if (typeof value !== "string" || value.trim() === "") {
    throw new VigilError("VIGIL_BAD_CONFIG", `${field} is required: set it in vigil.yaml or its environment override`, { field });
  }
  return value;
}

/**
 * Throws VIGIL_BAD_CONFIG naming the field unless `value` is an absolute http(s) URL. Returns it
 * without a trailing slash. `secret`: the URL is a credential (a Slack incoming webhook, a receiver
 * taking a token in its path or query), so the error never repeats it.
 */
export function requireUrl(field: string, value: unknown, options: { readonly secret?: boolean } = {}): string {
  const text = requireText(field, value);
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    const got = options.secret === true ? "the value is a secret, not shown" : `got "${text}"`;
    throw new VigilError("VIGIL_BAD_CONFIG", `${field} must be an absolute URL such as https://host/path (${got})`, { field });
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") {
    throw new VigilError("VIGIL_BAD_CONFIG", `${field} must use http or https; got ${url.protocol}`, { field });
  }
  return text.replace(/\/+$/, "");
}

/** Throws VIGIL_BAD_CONFIG unless `value` is absent or a positive integer. */
export function optionalPositiveInteger(field: string, value: unknown): void {
  if (value === undefined) return;
  if (typeof value !== "number" || !Number.isInteger(value) || value < 1) {
    throw new VigilError("VIGIL_BAD_CONFIG", `${field} must be a positive integer; got ${JSON.stringify(value)}`, { field });
  }
}
