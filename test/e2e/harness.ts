/**
 * End-to-end harness: runs `vigil serve` as a real server process (node --import tsx
 * src/cli/main.ts serve) on a random port with a temp store, and talks to it over HTTP.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { stringify } from "yaml";

export const repoRoot = resolve(import.meta.dirname, "..", "..");
export const fixtures = join(repoRoot, "test", "fixtures");
export const ADMIN_TOKEN = "e2e-admin-token-0123456789abcdef";

export interface VigilProcess {
  readonly url: string;
  readonly child: ChildProcess;
  /** Parsed JSON log lines (stdout). */
  readonly logs: Record<string, unknown>[];
  /** Everything on stderr. */
  stderr(): string;
  /** SIGTERM and wait for exit; returns the exit code. */
  stop(): Promise<number | null>;
  /** SIGKILL (no clean-up) and wait until the process is gone. */
  kill9(): Promise<void>;
}

export function tempDir(): string {
  return mkdtempSync(join(tmpdir(), "vigil-e2e-"));
}

/** Writes `vigil.yaml` into `dir` (store under `dir` unless set) and returns its path. */
export function writeConfig(dir: string, config: Record<string, unknown>): string {
  const file = join(dir, "vigil.yaml");
  writeFileSync(file, stringify({ store: { path: join(dir, "vigil.db") }, log: { level: "info" }, ...config }));
  return file;
}

/** Starts `vigil serve` and resolves once it listens (its "vigil listening" log line). */
export async function startVigil(configFile: string, options: { readonly env?: Record<string, string>; readonly args?: readonly string[]; readonly timeoutMs?: number } = {}): Promise<VigilProcess> {
  const child = spawn(process.execPath, ["--import", "tsx", join(repoRoot, "src", "cli", "main.ts"), "serve", "--config", configFile, "--port", "0", ...(options.args ?? [])], {
    cwd: repoRoot,
    env: { ...process.env, VIGIL_ADMIN_TOKEN: ADMIN_TOKEN, ...options.env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const logs: Record<string, unknown>[] = [];
  let stderr = "";
  let buffered = "";
  const exited = new Promise<number | null>((done) => child.once("exit", (code) => done(code)));
  const url = await new Promise<string>((ready, fail) => {
    const timer = setTimeout(() => fail(new Error(`vigil serve did not start within ${options.timeoutMs ?? 60_000} ms; stderr:\n${stderr}`)), options.timeoutMs ?? 60_000);
    child.stdout?.on("data", (chunk: Buffer) => {
      buffered += chunk.toString("utf8");
      let newline: number;
      while ((newline = buffered.indexOf("\n")) >= 0) {
        const line = buffered.slice(0, newline);
        buffered = buffered.slice(newline + 1);
        try {
          const entry = JSON.parse(line) as Record<string, unknown>;
          logs.push(entry);
          if (entry["msg"] === "vigil listening") {
            clearTimeout(timer);
            ready(String(entry["address"]));
          }
        } catch {
          // not a log line
        }
      }
    });
    child.stderr?.on("data", (chunk: Buffer) => (stderr += chunk.toString("utf8")));
    void exited.then((code) => {
      clearTimeout(timer);
      fail(new Error(`vigil serve exited with ${code} before listening; stderr:\n${stderr}`));
    });
  });
  return {
    url,
    child,
    logs,
    stderr: () => stderr,
    async stop() {
      child.kill("SIGTERM");
      return exited;
    },
    async kill9() {
      child.kill("SIGKILL");
      await exited;
    },
  };
}

export interface Api {
  request<T = any>(method: string, path: string, body?: unknown, headers?: Record<string, string>): Promise<{ status: number; body: T; headers: Headers }>;
}

/** HTTP calls with a bearer token (none with `token: undefined`). */
export function api(baseUrl: string, token: string | undefined): Api {
  return {
    async request(method, path, body, headers = {}) {
      const response = await fetch(`${baseUrl}${path}`, {
        method,
        headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(body === undefined ? {} : { "content-type": "application/json" }), ...headers },
        ...(body === undefined ? {} : { body: typeof body === "string" ? body : JSON.stringify(body) }),
      });
      const text = await response.text();
      let parsed: unknown = text;
      try {
        parsed = JSON.parse(text);
      } catch {
        // text answer
      }
      return { status: response.status, body: parsed as never, headers: response.headers };
    },
  };
}

/** Polls `check` until it returns a value (not undefined), waiting for a separate process; fails after `timeoutMs`. */
export async function eventually<T>(check: () => Promise<T | undefined>, timeoutMs = 30_000, what = "condition"): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** Creates a token with roles through the admin API. */
export async function createToken(baseUrl: string, name: string, roles: readonly string[]): Promise<string> {
  const response = await api(baseUrl, ADMIN_TOKEN).request<{ token: string }>("POST", "/v1/tokens", { name, roles });
  if (response.status !== 201) throw new Error(`token ${name}: HTTP ${response.status} ${JSON.stringify(response.body)}`);
  return response.body.token;
}

/** A CloudEvent of a widget deletion (matches test/fixtures/e2e-policies/custom-events.yaml). */
export function widgetEvent(id: string, widget = id): Record<string, unknown> {
  return { specversion: "1.0", id, source: "/e2e/widgets", type: "com.example.widget", data: { environment: "production", action: "delete", widget } };
}
