/**
 * Admission webhook under load: the Kyverno library's Pod Security Standards policies (baseline +
 * restricted, 17 ClusterPolicies as the library's kustomization installs them, test/fixtures/kyverno-pss)
 * served by a real Vigil server process over HTTP (`POST /v1/admission/validate`, durable SQLite
 * decision record), driven by an open-loop load generator in a second process at fixed offered
 * loads (200, 500, 1000 requests/s) with a mix of passing and failing pods (the library's
 * restricted-latest good/bad pods). Reports achieved throughput and p50/p99 latency per load.
 * Latency is measured from each request's scheduled send time (no coordinated omission).
 *
 * A third mode, `mutate`, drives the mutating webhook (`POST /v1/admission/mutate`) with five
 * Kyverno library mutate policies instead (3 ClusterPolicies: add-safe-to-evict,
 * mitigate-log4shell, set-karpenter-non-cpu-limits; 2 MutatingPolicies: add-default-securitycontext,
 * add-apparmor) over the same pods; every answer carries a JSON Patch.
 *
 *   npx tsx bench/admission.ts [--quick] [--json] [--rates 200,500,1000] [--seconds 5] [--mode durable|async|mutate] [--tls]
 *   npm run bench:admission
 *
 * Kyverno's figure is quoted as published (Kyverno docs, "Scaling Kyverno": 42.67 ms average for
 * 17 PSS policies at 100 virtual users, one replica); it is not measured here.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { readFileSync } from "node:fs";
import { Agent as HttpsAgent, request as httpsRequest } from "node:https";
import { connect, type AddressInfo } from "node:net";
import { loadavg } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { parseAllDocuments } from "yaml";
import { nodeArgsFor, repoRoot } from "./harness/paths.js";
import type { BenchmarkResult, Measurement, TargetCheck } from "./harness/types.js";

const root = repoRoot;
const fixtures = join(root, "test/fixtures/kyverno-pss");
/** The mutate mode's policies: Kyverno library mutate policies that apply to Pods (fixtures). */
const mutatePolicies = ["best-practices/add-safe-to-evict", "other/mitigate-log4shell", "karpenter/set-karpenter-non-cpu-limits", "other-mpol/add-default-securitycontext", "psp-migration-mpol/add-apparmor"].map((dir) => join(root, "test/fixtures/kyverno", dir));
const args = process.argv.slice(2);
const option = (name: string): string | undefined => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : undefined;
};
const quick = args.includes("--quick");
const json = args.includes("--json");
const tls = args.includes("--tls");
/** Which webhook the server and the generator use: `validate` (default) or `mutate`. */
const webhook = option("webhook") === "mutate" ? "mutate" : "validate";
const log = (line: string): void => { process.stderr.write(`${line}\n`); };

type Json = Record<string, unknown>;

function pods(file: string): Json[] {
  return parseAllDocuments(readFileSync(join(fixtures, "pods", file), "utf8")).map((d) => d.toJS() as Json);
}

/** The AdmissionReview the API server sends for a Pod CREATE in namespace `bench`. */
function review(pod: Json, uid: string): Json {
  const name = String((pod["metadata"] as Json)["name"]);
  return {
    apiVersion: "admission.k8s.io/v1",
    kind: "AdmissionReview",
    request: {
      uid, kind: { group: "", version: "v1", kind: "Pod" }, resource: { group: "", version: "v1", resource: "pods" },
      requestKind: { group: "", version: "v1", kind: "Pod" }, requestResource: { group: "", version: "v1", resource: "pods" },
      name, namespace: "bench", operation: "CREATE",
      userInfo: { username: "system:serviceaccount:kube-system:replicaset-controller", groups: ["system:serviceaccounts", "system:authenticated"] },
      object: { ...pod, metadata: { ...(pod["metadata"] as Json), namespace: "bench" } }, oldObject: null, dryRun: false,
      options: { apiVersion: "meta.k8s.io/v1", kind: "CreateOptions" },
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Role "server": a Vigil agent and its HTTP server with the admission routes, in this process.
// ---------------------------------------------------------------------------------------------
async function serve(): Promise<void> {
  const { mkdtempSync, rmSync, writeFileSync } = await import("node:fs");
  const { tmpdir } = await import("node:os");
  const { createAgent } = await import("../src/agent.js");
  const { parseConfig } = await import("../src/config.js");
  const { admissionRoutes } = await import("../src/server/admission.js");
  const { buildServer } = await import("../src/server/app.js");
  const dir = mkdtempSync(join(tmpdir(), "vigil-bench-admission-"));
  let server: Json = {};
  if (tls) {
    const { execFileSync } = await import("node:child_process");
    execFileSync("openssl", ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "1", "-subj", "/CN=localhost", "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", join(dir, "tls.key"), "-out", join(dir, "tls.crt")], { stdio: "pipe" });
    server = { tls: { cert: join(dir, "tls.crt"), key: join(dir, "tls.key") } };
    writeFileSync(join(dir, "ca.txt"), readFileSync(join(dir, "tls.crt")));
  }
  const awaitRecord = option("await-record") !== "false";
  const agent = await createAgent(parseConfig({ policies: webhook === "mutate" ? mutatePolicies : [join(fixtures, "pod-security")], store: { path: join(dir, "vigil.db") }, log: { level: "silent" }, server, admission: { failurePolicy: "fail", timeoutMs: 2000, awaitRecord } }));
  const app = buildServer({ agent, routes: [admissionRoutes] }).app;
  // Server-side handling time (request parsed → response sent), to tell the server from the client and the OS.
  let handled: number[] = [];
  const started = new WeakMap<object, number>();
  app.addHook("onRequest", async (request) => { started.set(request, performance.now()); });
  app.addHook("onResponse", async (request) => {
    const t0 = started.get(request);
    if (t0 !== undefined) handled.push(Math.round((performance.now() - t0) * 1000));
  });
  await app.listen({ host: "127.0.0.1", port: 0 });
  const port = (app.server.address() as AddressInfo).port;
  process.stdout.write(`${JSON.stringify({ port, policies: agent.policySet.size, loadErrors: agent.loadErrors.length, ...(tls ? { ca: join(dir, "tls.crt") } : {}) })}\n`);
  const lines = createInterface({ input: process.stdin });
  let cpuMark = process.cpuUsage();
  for await (const line of lines) {
    if (line === "cpu") {
      const used = process.cpuUsage(cpuMark);
      cpuMark = process.cpuUsage();
      const decisions = (await agent.storage.listDecisions({ newestFirst: true, limit: 1 }))[0]?.seq ?? 0;
      const sorted = handled.sort((a, b) => a - b);
      handled = [];
      process.stdout.write(`${JSON.stringify({ cpuMicros: used.user + used.system, decisions, serverP50: percentile(sorted, 50), serverP99: percentile(sorted, 99) })}\n`);
    } else if (line === "stop") break;
  }
  await app.close();
  await agent.close();
  rmSync(dir, { recursive: true, force: true });
  // stdin and the record worker would keep the process alive otherwise.
  process.exit(0);
}

// ---------------------------------------------------------------------------------------------
// Role "load": open-loop generator at a fixed rate; prints one JSON line of results.
// ---------------------------------------------------------------------------------------------
interface LoadResult { offered: number; seconds: number; sent: number; completed: number; errors: number; denied: number; warned: number; patched: number; latenciesMicros: number[]; cpuMicros?: number; lateness?: { p50Micros: number; p99Micros: number } }

/** The request mix: good and bad pods alternate as far as the lists allow. */
function requestMix(): Json[] {
  const good = pods("pod-good.yaml");
  const bad = pods("pod-bad.yaml");
  const mix: Json[] = [];
  for (let i = 0; i < Math.max(good.length, bad.length); i++) {
    if (good[i]) mix.push(good[i] as Json);
    if (bad[i]) mix.push(bad[i] as Json);
  }
  return mix;
}

/**
 * Plain HTTP: raw keep-alive sockets with HTTP/1.1 pipelining and pre-serialised requests (what
 * wrk does), so the generator takes little of the CPU it shares with the server. TLS (`--ca`):
 * node's https client.
 */
async function load(): Promise<void> {
  const port = Number(option("port"));
  const rate = Number(option("rate"));
  const seconds = Number(option("seconds"));
  const ca = option("ca");
  // Bodies serialised once; each request only splices in its own uid.
  const marker = "@@UID@@";
  const templates = requestMix().map((pod) => JSON.stringify(review(pod, marker)).split(marker) as [string, string]);
  const result: LoadResult = { offered: rate, seconds, sent: 0, completed: 0, errors: 0, denied: 0, warned: 0, patched: 0, latenciesMicros: [] };
  const total = Math.round(rate * seconds);
  const interval = 1000 / rate;
  let answered = 0;
  let done: () => void = () => undefined;
  const finished = new Promise<void>((resolve) => { done = resolve; });
  const settle = (scheduled: number, status: number, body: string): void => {
    answered++;
    if (status === 200) {
      result.completed++;
      result.latenciesMicros.push(Math.round((performance.now() - scheduled) * 1000));
      if (body.includes('"allowed":false')) result.denied++;
      else if (body.includes('"warnings":[')) result.warned++;
      if (body.includes('"patch":"')) result.patched++;
    } else result.errors++;
    if (answered === total) done();
  };
  const bodyOf = (index: number): string => {
    const [head, tail] = templates[index % templates.length] as [string, string];
    return `${head}bench-${rate}-${index}${tail}`;
  };
  let send: (index: number, scheduled: number) => void;
  let closeAll: () => void;
  if (ca) {
    const agent = new HttpsAgent({ keepAlive: true, maxSockets: 256, ca: readFileSync(ca) });
    send = (index, scheduled) => {
      const payload = bodyOf(index);
      const req = httpsRequest({ host: "127.0.0.1", port, path: `/v1/admission/${webhook}`, method: "POST", agent, headers: { "content-type": "application/json", "content-length": Buffer.byteLength(payload) } }, (res) => {
        let text = "";
        res.setEncoding("utf8");
        res.on("data", (chunk: string) => { text += chunk; });
        res.on("end", () => settle(scheduled, res.statusCode ?? 0, text));
      });
      req.on("error", () => settle(scheduled, 0, ""));
      req.end(payload);
    };
    closeAll = () => agent.destroy();
  } else {
    const connections = await Promise.all(Array.from({ length: 32 }, () => openPipelined(port, settle)));
    // `--floor`: GET /healthz instead (the HTTP stack alone, for calibration).
    const floor = args.includes("--floor");
    send = (index, scheduled) => (connections[index % connections.length] as Pipelined).send(floor ? undefined : bodyOf(index), scheduled);
    closeAll = () => { for (const c of connections) c.close(); };
  }
  const start = performance.now() + 20;
  let next = 0;
  // How late each request left against its schedule (the generator's timer resolution is 1 ms,
  // and its event loop also reads the answers): part of every latency, which counts from the
  // scheduled time.
  const late: number[] = [];
  // Open loop: every request goes out at its scheduled time whatever the answers do.
  const tick = (): void => {
    const now = performance.now();
    while (next < total && start + next * interval <= now) {
      result.sent++;
      late.push(Math.round((now - (start + next * interval)) * 1000));
      send(next, start + next * interval);
      next++;
    }
    if (next < total) setTimeout(tick, Math.max(0, Math.min(1, start + next * interval - performance.now())));
  };
  const cpu0 = process.cpuUsage();
  setTimeout(tick, 20);
  await finished;
  const elapsed = (performance.now() - start) / 1000;
  const cpu = process.cpuUsage(cpu0);
  closeAll();
  late.sort((a, b) => a - b);
  process.stdout.write(`${JSON.stringify({ ...result, seconds: elapsed, cpuMicros: cpu.user + cpu.system, lateness: { p50Micros: percentile(late, 50), p99Micros: percentile(late, 99) } })}\n`);
}

interface Pipelined {
  /** POSTs the review `body`, or GETs /healthz when there is none. */
  send(body: string | undefined, scheduled: number): void;
  close(): void;
}

/** One keep-alive connection: requests written as they come, responses matched in order (HTTP/1.1). */
function openPipelined(port: number, settle: (scheduled: number, status: number, body: string) => void): Promise<Pipelined> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: "127.0.0.1", port }, () => {
      socket.setNoDelay(true);
      resolve({
        send(body, scheduled) {
          waiting.push(scheduled);
          if (body === undefined) {
            socket.write("GET /healthz HTTP/1.1\r\nhost: 127.0.0.1\r\n\r\n");
            return;
          }
          socket.write(`POST /v1/admission/${webhook} HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
        },
        close: () => socket.destroy(),
      });
    });
    const waiting: number[] = [];
    let buffer: Buffer = Buffer.alloc(0);
    socket.on("error", reject);
    socket.on("data", (chunk: Buffer) => {
      buffer = buffer.length === 0 ? chunk : Buffer.concat([buffer, chunk]);
      for (;;) {
        const headerEnd = buffer.indexOf("\r\n\r\n");
        if (headerEnd < 0) return;
        const head = buffer.toString("latin1", 0, headerEnd);
        const length = Number(/\r\ncontent-length: *(\d+)/i.exec(head)?.[1] ?? "0");
        if (buffer.length < headerEnd + 4 + length) return;
        const body = buffer.toString("utf8", headerEnd + 4, headerEnd + 4 + length);
        buffer = buffer.subarray(headerEnd + 4 + length);
        settle(waiting.shift() ?? performance.now(), Number(head.slice(9, 12)), body);
      }
    });
  });
}

// ---------------------------------------------------------------------------------------------
// Role "main": start the server, check answers, run each load in a fresh generator process.
// ---------------------------------------------------------------------------------------------
function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] as number;
}

function lines(child: ChildProcess): AsyncIterator<string> {
  return createInterface({ input: child.stdout! })[Symbol.asyncIterator]();
}

async function runLoad(port: number, rate: number, seconds: number, ca: string | undefined, floor = false, hook: "validate" | "mutate" = "validate"): Promise<LoadResult> {
  const child = spawn(process.execPath, [...nodeArgsFor("bench/admission.ts"), "--role", "load", "--port", String(port), "--rate", String(rate), "--seconds", String(seconds), "--webhook", hook, ...(ca ? ["--ca", ca] : []), ...(floor ? ["--floor"] : [])], { stdio: ["ignore", "pipe", "inherit"], cwd: root });
  const first = await lines(child).next();
  if (first.done) throw new Error(`load generator at ${rate}/s printed nothing`);
  return JSON.parse(first.value) as LoadResult;
}

interface Mode { readonly subject: string; readonly awaitRecord: boolean; readonly text: string; readonly webhook: "validate" | "mutate" }

const modes: readonly Mode[] = [
  { subject: "durable", awaitRecord: true, webhook: "validate", text: "answer once the decision is durable (admission.awaitRecord true, the default)" },
  { subject: "async", awaitRecord: false, webhook: "validate", text: "answer once decided, decision appended right after (admission.awaitRecord false)" },
  { subject: "mutate", awaitRecord: false, webhook: "mutate", text: "mutating webhook, 5 library mutate policies, answer once mutated, appended right after" },
];

/** Runs every rate against one server process in `mode`; adds measurements, notes and targets. */
async function runMode(mode: Mode, rates: readonly number[], seconds: number, out: { measurements: Measurement[]; notes: string[]; targets: TargetCheck[] }): Promise<void> {
  const server = spawn(process.execPath, [...nodeArgsFor("bench/admission.ts"), "--role", "server", "--await-record", String(mode.awaitRecord), "--webhook", mode.webhook, ...(tls ? ["--tls"] : [])], { stdio: ["pipe", "pipe", "inherit"], cwd: root });
  const replies = lines(server);
  try {
    const hello = JSON.parse(((await replies.next()).value as string | undefined) ?? "{}") as { port: number; policies: number; loadErrors: number; ca?: string };
    const ask = async (): Promise<{ cpuMicros: number; decisions: number; serverP50: number; serverP99: number }> => {
      server.stdin!.write("cpu\n");
      return JSON.parse((await replies.next()).value as string) as { cpuMicros: number; decisions: number; serverP50: number; serverP99: number };
    };
    const expectedPolicies = mode.webhook === "mutate" ? mutatePolicies.length : 17;
    if (hello.policies !== expectedPolicies || hello.loadErrors !== 0) throw new Error(`server loaded ${hello.policies} policies with ${hello.loadErrors} load errors; expected ${expectedPolicies}`);
    const check = await runLoad(hello.port, 50, 27 / 50, hello.ca, false, mode.webhook);
    if (check.completed !== 27 || check.errors > 0) throw new Error(`${mode.subject}: check run: ${check.completed}/27 answered, ${check.errors} errors`);
    if (mode.webhook === "mutate") {
      // mitigate-log4shell adds an environment variable to every container: every pod is patched, none denied.
      if (check.patched !== 27 || check.denied !== 0) throw new Error(`${mode.subject}: check run: ${check.patched}/27 patched, ${check.denied} denied; expected every pod patched`);
    } else if (check.warned + check.denied !== 16 || check.denied !== 1) {
      // Correctness first: every good pod allowed without warnings, every bad pod warned or denied.
      throw new Error(`${mode.subject}: check run: ${check.warned} warned + ${check.denied} denied, expected the 16 bad pods (1 denied)`);
    }
    log(`admission (${mode.subject}): warm-up (${quick ? 1 : 2} s at 300/s)`);
    await runLoad(hello.port, 300, quick ? 1 : 2, hello.ca, false, mode.webhook);
    for (const rate of rates) {
      await ask();
      const load0 = loadavg()[0] ?? 0;
      const before = await ask();
      const r = await runLoad(hello.port, rate, seconds, hello.ca, false, mode.webhook);
      // Let the last appends land before counting what was recorded.
      await new Promise((resolve) => setTimeout(resolve, 300));
      const after = await ask();
      const sorted = [...r.latenciesMicros].sort((a, b) => a - b);
      const mean = sorted.reduce((a, b) => a + b, 0) / Math.max(1, sorted.length);
      const achieved = r.completed / r.seconds;
      const serverCpu = after.cpuMicros / 1e6 / r.seconds;
      const recorded = after.decisions - before.decisions;
      out.measurements.push({ group: `${rate} req/s offered`, subject: mode.subject, opsPerSecond: achieved, unit: "reviews", p50Micros: percentile(sorted, 50), p99Micros: percentile(sorted, 99), operations: r.completed });
      out.notes.push(`${mode.subject}, ${rate}/s offered: ${achieved.toFixed(0)}/s achieved over ${r.seconds.toFixed(1)} s, ${r.completed} answered (${r.denied} denied, ${r.warned} with warnings${mode.webhook === "mutate" ? `, ${r.patched} patched` : ""}), ${r.errors} errors; mean ${(mean / 1000).toFixed(2)} ms, p50 ${(percentile(sorted, 50) / 1000).toFixed(2)} ms, p99 ${(percentile(sorted, 99) / 1000).toFixed(2)} ms, max ${((sorted.at(-1) ?? 0) / 1000).toFixed(1)} ms; server process CPU ${(serverCpu * 100).toFixed(0)}% of a core (${((after.cpuMicros / Math.max(1, r.completed))).toFixed(0)} µs per review, record worker included); load generator CPU ${(((r.cpuMicros ?? 0) / 1e6 / r.seconds) * 100).toFixed(0)}% of a core, its requests left p50 ${((r.lateness?.p50Micros ?? 0) / 1000).toFixed(2)} ms / p99 ${((r.lateness?.p99Micros ?? 0) / 1000).toFixed(2)} ms after their scheduled time (included in the latencies); inside the server (request parsed → response sent) p50 ${(after.serverP50 / 1000).toFixed(2)} ms, p99 ${(after.serverP99 / 1000).toFixed(2)} ms; ${recorded} decisions recorded; load average ${load0.toFixed(1)} → ${(loadavg()[0] ?? 0).toFixed(1)}`);
      log(out.notes.at(-1) as string);
      if (recorded < r.completed) throw new Error(`${mode.subject} ${rate}/s: ${r.completed} answers but ${recorded} decisions recorded`);
      if (mode.subject === "async" && !tls) {
        // The floor of this machine right now: the same server and generator, GET /healthz.
        const f = await runLoad(hello.port, rate, Math.min(seconds, 3), hello.ca, true);
        const fs = [...f.latenciesMicros].sort((a, b) => a - b);
        out.measurements.push({ group: `${rate} req/s offered`, subject: "floor", opsPerSecond: f.completed / f.seconds, unit: "reviews", p50Micros: percentile(fs, 50), p99Micros: percentile(fs, 99), operations: f.completed });
        out.notes.push(`floor, ${rate}/s offered: GET /healthz on the same server, ${(f.completed / f.seconds).toFixed(0)}/s achieved, p50 ${(percentile(fs, 50) / 1000).toFixed(2)} ms, p99 ${(percentile(fs, 99) / 1000).toFixed(2)} ms (what HTTP alone costs on this machine now; requests left p50 ${((f.lateness?.p50Micros ?? 0) / 1000).toFixed(2)} ms / p99 ${((f.lateness?.p99Micros ?? 0) / 1000).toFixed(2)} ms late)`);
        log(out.notes.at(-1) as string);
      }
      if (rate === 500 && mode.webhook === "validate") out.targets.push({ description: `p99 latency at 500 requests/s, ${mode.text}`, target: "< 5 ms", actual: `${(percentile(sorted, 99) / 1000).toFixed(2)} ms`, met: percentile(sorted, 99) < 5000 });
    }
  } finally {
    server.stdin!.write("stop\n");
    await new Promise((resolve) => server.once("close", resolve));
  }
}

async function main(): Promise<void> {
  const rates = (option("rates") ?? "200,500,1000").split(",").map(Number);
  const seconds = Number(option("seconds") ?? (quick ? 2 : 5));
  const only = option("mode");
  const out = { measurements: [] as Measurement[], notes: [] as string[], targets: [] as TargetCheck[] };
  let failure: string | undefined;
  out.notes.push("workload: 17 PSS ClusterPolicies (11 baseline + 6 restricted, Audit as published except restrict-apparmor-profiles, Enforce); pods alternate good/bad: 11 compliant (allowed, no warning) and 16 non-compliant (15 allowed with warnings, 1 denied) - checked over HTTP before each run; every review recorded in a SQLite decision record (synchronous=FULL)");
  try {
    for (const mode of modes.filter((m) => only === undefined || m.subject === only)) await runMode(mode, rates, seconds, out);
  } catch (error) {
    failure = error instanceof Error ? error.message : String(error);
  }
  out.notes.push("Kyverno, published (not measured here): 42.67 ms average admission latency for 17 PSS policies at 100 virtual users with one replica (Kyverno docs, Scaling Kyverno); compare with the mean latencies above");
  out.notes.push(`shared machine: 2 cores used by the whole team; load average at the end ${loadavg().map((l) => l.toFixed(1)).join(" ")}; server (HTTP thread + record worker) and load generator are separate processes on the same 2 cores`);
  const result: BenchmarkResult = { name: "admission", ok: failure === undefined, measurements: out.measurements, comparisons: [], targets: out.targets, notes: out.notes, ...(failure ? { failure } : {}) };
  if (json) process.stdout.write(`${JSON.stringify(result)}\n`);
  else {
    const { formatResult } = await import("./harness/report.js");
    process.stdout.write(`${formatResult(result)}\n`);
  }
  if (failure) process.exitCode = 1;
}

const role = option("role") ?? "main";
const run = role === "server" ? serve : role === "load" ? load : main;
run().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
