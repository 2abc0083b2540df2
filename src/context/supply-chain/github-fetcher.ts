/**
 * Reads lockfiles of a commit through GitHub's contents API:
 *
 *   GET {baseUrl}/repos/{owner}/{repo}/contents/{path}?ref={sha}
 *   Accept: application/vnd.github.raw+json      (the file's bytes, any size up to 100 MB)
 *   Authorization: Bearer {token}
 *   X-GitHub-Api-Version: 2022-11-28
 *
 * A 404 means the file does not exist at that commit (undefined, not an error). Other answers
 * reject with VigilError(VIGIL_BAD_INPUT) naming the URL, the status and GitHub's message.
 * A JSON answer (a proxy that ignores the raw media type) is decoded from its base64 `content`.
 */
import { VigilError } from "../../core/errors.js";

export interface LockfileFetcher {
  /** The file's text at `ref`, or undefined when it does not exist there. */
  fetch(repo: string, path: string, ref: string, signal?: AbortSignal): Promise<string | undefined>;
}

export interface GithubFetcherOptions {
  /** API root: https://api.github.com (default) or https://HOST/api/v3 for GitHub Enterprise Server. */
  readonly baseUrl?: string;
  /** A token with contents:read on the repositories. */
  readonly token?: string;
  readonly timeoutMs?: number;
  readonly userAgent?: string;
  /** For tests: the fetch implementation. */
  readonly fetch?: typeof fetch;
}

const NAME = /^[A-Za-z0-9_.-]{1,100}$/;

function encodePath(path: string): string {
  return path.split("/").map(encodeURIComponent).join("/");
}

/** Creates the fetcher. Throws VigilError(VIGIL_BAD_CONFIG) for a base URL that is not http(s). */
export function createGithubLockfileFetcher(options: GithubFetcherOptions = {}): LockfileFetcher {
  const baseUrl = (options.baseUrl ?? "https://api.github.com").replace(/\/+$/, "");
  if (!/^https?:\/\//.test(baseUrl)) throw new VigilError("VIGIL_BAD_CONFIG", `supplyChain.github.baseUrl must be an http(s) URL like https://api.github.com, got ${JSON.stringify(options.baseUrl)}`, { field: "supplyChain.github.baseUrl" });
  const doFetch = options.fetch ?? fetch;
  const timeoutMs = options.timeoutMs ?? 10_000;
  return {
    async fetch(repo, path, ref, signal) {
      const [owner, name, extra] = repo.split("/");
      if (!owner || !name || extra !== undefined || !NAME.test(owner) || !NAME.test(name)) throw new VigilError("VIGIL_BAD_INPUT", `repository must be "owner/name", got ${JSON.stringify(repo)}`, { field: "repo" });
      const url = `${baseUrl}/repos/${encodeURIComponent(owner)}/${encodeURIComponent(name)}/contents/${encodePath(path.replace(/^\/+/, ""))}?ref=${encodeURIComponent(ref)}`;
      const headers: Record<string, string> = {
        Accept: "application/vnd.github.raw+json",
        "X-GitHub-Api-Version": "2022-11-28",
        "User-Agent": options.userAgent ?? "vigil",
      };
      if (options.token) headers["Authorization"] = `Bearer ${options.token}`;
      const timeout = AbortSignal.timeout(timeoutMs);
      let response: Response;
      try {
        response = await doFetch(url, { headers, signal: signal ? AbortSignal.any([signal, timeout]) : timeout });
      } catch (cause) {
        throw new VigilError("VIGIL_BAD_INPUT", `GET ${url} got no answer: ${(cause as Error).message}`, { field: "github" }, cause);
      }
      if (response.status === 404) return undefined;
      const body = await response.text();
      if (!response.ok) {
        let message = body.slice(0, 200);
        try {
          message = (JSON.parse(body) as { message?: string }).message ?? message;
        } catch {
          // not JSON: keep the text
        }
        throw new VigilError("VIGIL_BAD_INPUT", `GET ${url} answered HTTP ${response.status}: ${message}${response.status === 401 || response.status === 403 ? " (check the token and its contents:read permission)" : ""}`, { field: "github" });
      }
      const type = response.headers.get("content-type") ?? "";
      if (type.includes("json") && !type.includes("raw")) {
        try {
          const parsed = JSON.parse(body) as { type?: string; encoding?: string; content?: string };
          if (parsed.type === "file" && parsed.encoding === "base64" && typeof parsed.content === "string") return Buffer.from(parsed.content, "base64").toString("utf8");
        } catch {
          // the file itself is JSON (package-lock.json served raw with a JSON content type)
        }
      }
      return body;
    },
  };
}
