/**
 * Calls to services outside the cluster API for Kyverno `apiCall.service` entries: GET, or POST
 * with the entry's `data` as a JSON body, to `service.url` (https with the entry's `caBundle`, or
 * http), headers from `service.headers`; the answer is the parsed JSON body. Only URLs starting
 * with one of `allow` are called when the list is not empty (a policy could otherwise send request
 * data anywhere).
 */
import { request as httpRequest } from "node:http";
import { request as httpsRequest } from "node:https";
import type { ApiAnswer, ServiceCall, ServiceCaller } from "../../core/context.js";

export interface ServiceSettings {
  /** Timeout of one call, ms (default 2,000). */
  readonly timeoutMs?: number;
  /** URL prefixes calls may go to; empty: any URL. */
  readonly allow?: readonly string[];
}

export function createServiceCaller(settings: ServiceSettings = {}): ServiceCaller {
  const timeoutMs = settings.timeoutMs ?? 2000;
  const allow = settings.allow ?? [];
  return {
    async call(call: ServiceCall): Promise<ApiAnswer> {
      let url: URL;
      try {
        url = new URL(call.url);
      } catch {
        return { ok: false, error: `${call.url} is not a URL` };
      }
      if (url.protocol !== "http:" && url.protocol !== "https:") return { ok: false, error: `${call.url}: only http and https services are called` };
      if (allow.length > 0 && !allow.some((prefix) => call.url.startsWith(prefix))) return { ok: false, error: `${call.url} is not under admission.services.allow` };
      const body = call.method === "POST" ? JSON.stringify(call.data ?? {}) : undefined;
      const headers: Record<string, string> = { Accept: "application/json", "User-Agent": "vigil", ...(body === undefined ? {} : { "Content-Type": "application/json" }), ...call.headers };
      const send = url.protocol === "https:" ? httpsRequest : httpRequest;
      return new Promise<ApiAnswer>((resolve) => {
        const req = send(url, { method: call.method, headers, timeout: timeoutMs, ...(url.protocol === "https:" && call.caBundle ? { ca: call.caBundle } : {}) }, (res) => {
          const chunks: Buffer[] = [];
          res.on("data", (chunk: Buffer) => chunks.push(chunk));
          res.on("error", (error) => resolve({ ok: false, error: `${call.method} ${call.url}: ${error.message}` }));
          res.on("end", () => {
            const text = Buffer.concat(chunks).toString("utf8");
            const status = res.statusCode ?? 0;
            if (status < 200 || status >= 300) {
              resolve({ ok: false, error: `${call.method} ${call.url} answered HTTP ${status}${text.trim() ? `: ${text.trim().slice(0, 200)}` : ""}` });
              return;
            }
            try {
              resolve({ ok: true, body: text.trim() === "" ? null : JSON.parse(text) as unknown });
            } catch {
              resolve({ ok: false, error: `${call.method} ${call.url} answered something other than JSON` });
            }
          });
        });
        req.on("timeout", () => req.destroy(new Error(`timed out after ${timeoutMs} ms`)));
        req.on("error", (error) => resolve({ ok: false, error: `${call.method} ${call.url}: ${error.message}` }));
        req.end(body);
      });
    },
  };
}
