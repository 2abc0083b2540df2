/**
 * The CLI's HTTP client for commands whose source of truth is the running server (reviews,
 * exceptions, kill switch, undo, posture, tokens, ingest). `--server` / VIGIL_SERVER (default
 * http://127.0.0.1:8181) and `--token` / VIGIL_TOKEN. An error answer becomes the server's
 * VigilError (code, message, field), so the CLI prints exactly what the API said.
 */
import { VigilError, type VigilErrorCode } from "../core/errors.js";
import { stringOption, type CliIo, type CliOption, type ParsedArgs } from "./command.js";

export const serverOptions: Record<string, CliOption> = {
  server: { type: "string", value: "<url>", description: "Vigil server URL (env VIGIL_SERVER; default http://127.0.0.1:8181)" },
  token: { type: "string", value: "<token>", description: "API token (env VIGIL_TOKEN)" },
};

export interface ApiResponse<T = unknown> {
  readonly status: number;
  readonly body: T;
  readonly headers: Headers;
}

export interface ApiClient {
  readonly baseUrl: string;
  /** Sends a request; rejects with the server's VigilError for 4xx/5xx answers (except those in `accept`). */
  request<T = unknown>(method: string, path: string, options?: { readonly body?: unknown; readonly contentType?: string; readonly accept?: readonly number[] }): Promise<ApiResponse<T>>;
}

export function apiClient(args: ParsedArgs, io: Pick<CliIo, "env">): ApiClient {
  const baseUrl = (stringOption(args, "server") ?? io.env["VIGIL_SERVER"] ?? "http://127.0.0.1:8181").replace(/\/+$/, "");
  const token = stringOption(args, "token") ?? io.env["VIGIL_TOKEN"];
  if (!/^https?:\/\//.test(baseUrl)) throw new VigilError("VIGIL_BAD_INPUT", `--server must be an http(s) URL such as http://127.0.0.1:8181, not "${baseUrl}"`, { field: "--server" });
  return {
    baseUrl,
    async request<T>(method: string, path: string, options: { readonly body?: unknown; readonly contentType?: string; readonly accept?: readonly number[] } = {}): Promise<ApiResponse<T>> {
      if (!token) throw new VigilError("VIGIL_UNAUTHENTICATED", "no API token: pass --token or set VIGIL_TOKEN (an admin creates tokens with `vigil tokens create`)", { field: "--token" });
      const headers: Record<string, string> = { authorization: `Bearer ${token}` };
      let body: string | undefined;
      if (options.body !== undefined) {
        headers["content-type"] = options.contentType ?? "application/json";
        body = typeof options.body === "string" ? options.body : JSON.stringify(options.body);
      }
      let response: Response;
      try {
        response = await fetch(`${baseUrl}${path}`, { method, headers, ...(body === undefined ? {} : { body }) });
      } catch (cause) {
        const reason = (cause as { cause?: { code?: string } }).cause?.code ?? (cause as Error).message;
        throw new VigilError("VIGIL_BAD_INPUT", `cannot reach the Vigil server at ${baseUrl} (${reason}): start it with \`vigil serve\` or pass --server`, { field: "--server" }, cause);
      }
      const text = await response.text();
      let parsed: unknown = text;
      if ((response.headers.get("content-type") ?? "").includes("json") && text !== "") {
        try {
          parsed = JSON.parse(text);
        } catch {
          parsed = text;
        }
      }
      if (response.status >= 400 && !(options.accept ?? []).includes(response.status)) {
        const error = (parsed as { error?: { code?: string; message?: string; field?: string } } | undefined)?.error;
        const code = (error?.code ?? (response.status === 401 ? "VIGIL_UNAUTHENTICATED" : response.status === 403 ? "VIGIL_FORBIDDEN" : "VIGIL_INTERNAL")) as VigilErrorCode;
        throw new VigilError(code, `${method} ${path}: HTTP ${response.status}: ${error?.message ?? text.slice(0, 300)}`, error?.field ? { field: error.field } : {});
      }
      return { status: response.status, body: parsed as T, headers: response.headers };
    },
  };
}
