/** Helpers for the admission end-to-end suites: AdmissionReviews around real objects, fixtures, a self-signed certificate. */
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parse, parseAllDocuments } from "yaml";
import { createAgent, createManualClock, type Agent } from "../../src/agent.js";
import { parseConfig } from "../../src/config.js";
import { admissionRoutes } from "../../src/server/admission.js";
import { buildServer, type VigilServer } from "../../src/server/app.js";

export const fixtures = join(import.meta.dirname, "../fixtures");
export const pssDir = join(fixtures, "kyverno-pss/pod-security");

export type KubeObject = Record<string, unknown>;

export function yamlDocuments(file: string): KubeObject[] {
  return parseAllDocuments(readFileSync(file, "utf8")).map((d) => d.toJS() as KubeObject).filter((d) => d !== null && typeof d === "object");
}

export function yamlFile<T>(file: string): T {
  return parse(readFileSync(file, "utf8")) as T;
}

const groupOf = (apiVersion: string): { group: string; version: string } => {
  const slash = apiVersion.indexOf("/");
  return slash < 0 ? { group: "", version: apiVersion } : { group: apiVersion.slice(0, slash), version: apiVersion.slice(slash + 1) };
};

/**
 * The AdmissionReview the API server sends for a CREATE of `object` (kind, resource and namespace
 * filled in the way the API server does; the object gets the request's namespace).
 */
export function admissionReview(object: KubeObject, options: { readonly apiVersion?: string; readonly uid?: string; readonly namespace?: string; readonly dryRun?: boolean; readonly operation?: string } = {}): KubeObject {
  const meta = (object["metadata"] ?? {}) as Record<string, unknown>;
  const name = String(meta["name"] ?? "");
  const namespace = options.namespace ?? (typeof meta["namespace"] === "string" ? meta["namespace"] : "default");
  const { group, version } = groupOf(String(object["apiVersion"]));
  const kind = String(object["kind"]);
  return {
    apiVersion: options.apiVersion ?? "admission.k8s.io/v1",
    kind: "AdmissionReview",
    request: {
      uid: options.uid ?? `uid-${kind}-${name}`,
      kind: { group, version, kind },
      resource: { group, version, resource: `${kind.toLowerCase()}s` },
      requestKind: { group, version, kind },
      requestResource: { group, version, resource: `${kind.toLowerCase()}s` },
      name,
      namespace,
      operation: options.operation ?? "CREATE",
      userInfo: { username: "system:serviceaccount:ci:deployer", uid: "u-1", groups: ["system:serviceaccounts", "system:authenticated"] },
      object: { ...object, metadata: { ...meta, namespace } },
      oldObject: null,
      dryRun: options.dryRun ?? false,
      options: { apiVersion: "meta.k8s.io/v1", kind: "CreateOptions" },
    },
  };
}

/** The `kyverno test` expectations of a CLI test file: `kind/name` → pass | fail for `policy`. */
export function expectations(testFile: string, policy: string): Map<string, "pass" | "fail" | "skip"> {
  const test = yamlFile<{ results: { policy: string; kind: string; resources: string[]; result: "pass" | "fail" | "skip" }[] }>(testFile);
  const out = new Map<string, "pass" | "fail" | "skip">();
  for (const r of test.results) if (r.policy === policy) for (const name of r.resources) out.set(`${r.kind}/${name}`, r.result);
  return out;
}

export function tempDir(): string {
  return mkdtempSync(join(tmpdir(), "vigil-admission-"));
}

/** A self-signed certificate for 127.0.0.1 / localhost, made with openssl (on the development machines). */
export function selfSignedCertificate(): { cert: string; key: string; dir: string } {
  const dir = mkdtempSync(join(tmpdir(), "vigil-tls-"));
  const cert = join(dir, "tls.crt");
  const key = join(dir, "tls.key");
  execFileSync("openssl", [
    "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "1",
    "-subj", "/CN=vigil-webhook.vigil.svc", "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
    "-keyout", key, "-out", cert,
  ], { stdio: "pipe" });
  return { cert, key, dir };
}

/**
 * An agent (temp SQLite store, silent log, a manual clock at `clock`) with the admission routes,
 * from `config` (policies, admission.cluster, actuators...). Its policies must load without
 * errors; with `start`, its ingest loop runs; with admission.cluster, the cache has synced.
 */
export async function startAdmissionAgent(config: Record<string, unknown>, options: { readonly start?: boolean; readonly clock?: string } = {}): Promise<{ agent: Agent; server: VigilServer; close(): Promise<void> }> {
  const dir = tempDir();
  const agent = await createAgent(parseConfig({ store: { path: join(dir, "vigil.db") }, log: { level: "silent" }, ...config }), { clock: createManualClock(options.clock ?? "2025-03-03T10:00:00Z"), onProblem: () => undefined });
  if (agent.loadErrors.length > 0) throw new Error(`policies did not load: ${agent.loadErrors.map((e) => e.message).join("; ")}`);
  if (options.start) await agent.start();
  await agent.cluster?.synced();
  const server = buildServer({ agent, routes: [admissionRoutes] });
  await server.app.ready();
  return {
    agent,
    server,
    async close() {
      await server.app.close();
      await agent.close();
    },
  };
}

/**
 * An admission agent (started, its ingest loop running) whose cluster view (admission.cluster) and
 * Kubernetes actuators both talk to the API server stand-in at `api.url` with `token`; `extra` adds
 * configuration (e.g. act.protected).
 */
export function startClusterAgent(policies: readonly string[], api: { readonly url: string }, token: string, extra: Record<string, unknown> = {}): ReturnType<typeof startAdmissionAgent> {
  return startAdmissionAgent({
    policies,
    admission: { cluster: { server: api.url, token } },
    actuators: { kubernetes: { server: api.url, token, skipTlsVerify: true } },
    ...extra,
  }, { start: true, clock: "2026-11-27T10:00:00Z" });
}

/** Waits until the ingest loop has taken what a webhook handed over without waiting for it, then until the loop is idle. */
export async function settleIngest(agent: Agent): Promise<void> {
  for (let i = 0; i < 50 && agent.ingestor.stats().queued + agent.ingestor.stats().processing === 0; i++) await new Promise((resolve) => setTimeout(resolve, 10));
  await agent.ingestor.idle();
}
