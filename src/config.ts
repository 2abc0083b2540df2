/**
 * `vigil.yaml`: the agent's configuration, validated once where it enters (file + environment).
 * Every key can be overridden by an environment variable named after its path:
 * `server.port` → `VIGIL_SERVER_PORT`, `store.path` → `VIGIL_STORE_PATH`,
 * `policies` → `VIGIL_POLICIES` (comma-separated). Values are parsed as JSON when they parse,
 * else taken as strings.
 */
import { existsSync, readFileSync } from "node:fs";
import { dirname, isAbsolute, resolve } from "node:path";
import { parse as parseYaml } from "yaml";
import { z } from "zod";
import { VigilError } from "./core/errors.js";

const maskRule = z.union([z.string(), z.strictObject({ path: z.string(), mode: z.enum(["remove", "redact"]).optional() })]);

export const configSchema = z.strictObject({
  /** Policy files and directories, loaded recursively. */
  policies: z.array(z.string()).default(["packs"]),
  store: z.strictObject({
    kind: z.enum(["sqlite", "postgres"]).default("sqlite"),
    /** SQLite file. */
    path: z.string().default(".vigil/vigil.db"),
    /** PostgreSQL URL (kind: postgres). */
    url: z.string().optional(),
    schema: z.string().default("vigil"),
  }).prefault({}),
  bus: z.strictObject({
    kind: z.enum(["memory", "nats"]).default("memory"),
    servers: z.array(z.string()).default(["nats://127.0.0.1:4222"]),
    stream: z.string().default("VIGIL_EVENTS"),
  }).prefault({}),
  server: z.strictObject({
    host: z.string().default("127.0.0.1"),
    port: z.number().int().min(0).max(65535).default(8181),
    /** HTTPS: PEM certificate and key files. Plain HTTP when absent (local use). */
    tls: z.strictObject({ cert: z.string(), key: z.string() }).optional(),
    /** Largest request body accepted, in bytes. */
    bodyLimit: z.number().int().positive().default(5 * 1024 * 1024),
  }).prefault({}),
  decisionLog: z.strictObject({
    /** Input paths masked before a decision is hashed and stored (OPA-style), e.g. `/input/password`. */
    mask: z.array(maskRule).default([]),
    maskMode: z.enum(["remove", "redact"]).default("remove"),
  }).prefault({}),
  admission: z.strictObject({
    /** `fail`: deny when Vigil fails internally (fail-closed); `ignore`: allow (fail-open). */
    failurePolicy: z.enum(["fail", "ignore"]).default("fail"),
    /** Per-request deadline in milliseconds. */
    timeoutMs: z.number().int().positive().default(2000),
  }).prefault({}),
  cel: z.strictObject({ costLimit: z.number().int().positive().default(1_000_000) }).prefault({}),
  log: z.strictObject({ level: z.enum(["debug", "info", "warn", "error", "silent"]).default("info") }).prefault({}),
});

export type VigilConfig = z.infer<typeof configSchema>;

function camelToEnv(path: readonly string[]): string {
  return "VIGIL_" + path.map((p) => p.replace(/([a-z0-9])([A-Z])/g, "$1_$2").toUpperCase()).join("_");
}

function parseEnvValue(raw: string, isArray: boolean): unknown {
  if (isArray && !raw.trim().startsWith("[")) return raw.split(",").map((s) => s.trim()).filter(Boolean);
  try {
    return JSON.parse(raw);
  } catch {
    return raw;
  }
}

/** Applies VIGIL_* overrides for every key the defaults know about. Exported for tests. */
export function applyEnvOverrides(raw: Record<string, unknown>, env: Readonly<Record<string, string | undefined>>): Record<string, unknown> {
  const defaults = configSchema.parse({}) as Record<string, unknown>;
  const out: Record<string, unknown> = structuredClone(raw);
  const walk = (shape: Record<string, unknown>, target: Record<string, unknown>, path: string[]): void => {
    for (const [key, value] of Object.entries(shape)) {
      const here = [...path, key];
      if (value !== null && typeof value === "object" && !Array.isArray(value)) {
        const child = (target[key] ??= {}) as Record<string, unknown>;
        walk(value as Record<string, unknown>, child, here);
        continue;
      }
      const envValue = env[camelToEnv(here)];
      if (envValue !== undefined) target[key] = parseEnvValue(envValue, Array.isArray(value));
    }
  };
  walk(defaults, out, []);
  // Keys without defaults that people set from the environment.
  const extras: [string[], string][] = [[["store", "url"], "VIGIL_STORE_URL"], [["server", "tls"], "VIGIL_SERVER_TLS"]];
  for (const [path, name] of extras) {
    const envValue = env[name];
    if (envValue === undefined) continue;
    const section = (out[path[0] as string] ??= {}) as Record<string, unknown>;
    section[path[1] as string] = parseEnvValue(envValue, false);
  }
  return out;
}

function formatIssuePath(path: readonly PropertyKey[]): string {
  return path.map((p) => (typeof p === "number" ? `[${p}]` : `.${String(p)}`)).join("").replace(/^\./, "");
}

/** Validates a raw configuration object; errors name the field and the fix. */
export function parseConfig(raw: unknown, origin = "vigil.yaml"): VigilConfig {
  const result = configSchema.safeParse(raw ?? {});
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const field = issue ? formatIssuePath(issue.path) : "";
  const message = issue ? (issue.code === "unrecognized_keys" ? `unknown key(s) ${issue.keys.map((k) => `"${k}"`).join(", ")}; see docs/configuration.md for the keys` : issue.message) : "invalid configuration";
  throw new VigilError("VIGIL_BAD_CONFIG", `${origin}: ${field ? `${field}: ` : ""}${message}`, { field, file: origin });
}

/**
 * Loads the configuration: `file` when given (it must exist), else `./vigil.yaml` when present,
 * else defaults; then environment overrides. Relative paths in the file resolve against its folder.
 */
export function loadConfig(options: { readonly file?: string; readonly cwd?: string; readonly env?: Readonly<Record<string, string | undefined>> } = {}): VigilConfig & { readonly baseDir: string } {
  const cwd = options.cwd ?? process.cwd();
  const env = options.env ?? process.env;
  const explicit = options.file ?? env["VIGIL_CONFIG"];
  const file = explicit ? resolve(cwd, explicit) : resolve(cwd, "vigil.yaml");
  let raw: Record<string, unknown> = {};
  let baseDir = cwd;
  if (existsSync(file)) {
    try {
      raw = (parseYaml(readFileSync(file, "utf8")) ?? {}) as Record<string, unknown>;
    } catch (cause) {
      throw new VigilError("VIGIL_BAD_CONFIG", `${file}: not valid YAML: ${(cause as Error).message}`, { file }, cause);
    }
    baseDir = dirname(file);
  } else if (explicit) {
    throw new VigilError("VIGIL_BAD_CONFIG", `configuration file ${file} does not exist; pass an existing file with --config or drop the flag`, { field: "--config", file });
  }
  const config = parseConfig(applyEnvOverrides(raw, env), existsSync(file) ? file : "configuration");
  const abs = (p: string): string => (isAbsolute(p) ? p : resolve(baseDir, p));
  return {
    ...config,
    policies: config.policies.map(abs),
    store: { ...config.store, path: config.store.path === ":memory:" ? config.store.path : abs(config.store.path) },
    baseDir,
  };
}
