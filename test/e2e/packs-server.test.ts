/**
 * The README demo with a real server process: `vigil serve` with the default `policies: [packs]`
 * (all four packs and their settings.yaml) and the events clock, `vigil setup import` and
 * `vigil ingest` of `vigil simulate --scenario all` through the HTTP API. The server decides every
 * event as `vigil replay` does (same verdict and tier), with each pack's key behaviour visible
 * through the API, and the same precision and recall against the ground truth.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ActionPlan } from "../../src/core/action.js";
import type { Event } from "../../src/core/event.js";
import { truthOf } from "../../src/sources/simulate/index.js";
import { vigil } from "../cli/support.js";
import { ADMIN_TOKEN, api, createToken, eventually, repoRoot, startVigil, tempDir, writeConfig, type VigilProcess } from "./harness.js";
import { differences, printScore, replayStream, scoreOf, START, type ReplayRun, type Stream } from "./packs-support.js";

interface Line { decisionId: string; eventId: string; verdict: string; tier: string; findings: { policy: string; rule: string; effect: string; message: string }[]; actions: ActionPlan[]; explanation: { summary: string } }

let dir: string;
let server: VigilProcess;
let stream: Stream;
let replay: ReplayRun;
const decisions = new Map<string, Line>();
let setupRun: { code: number; stdout: string; stderr: string };
let ingestRun: { code: number; stdout: string; stderr: string };

beforeAll(async () => {
  dir = tempDir();
  // actuators.preview: no cloud accounts here; every action kind is previewed (a dry run), as in a demo.
  const config = writeConfig(dir, { policies: [join(repoRoot, "packs")], clock: { mode: "events", start: START }, actuators: { preview: ["*"] } });
  server = await startVigil(config);
  const simulated = await vigil(["simulate", "--scenario", "all", "--seed", "1", "--days", "8", "--setup", "setup.json", "--out", "events.jsonl"], { cwd: dir });
  expect(simulated.code).toBe(0);
  const events = readFileSync(join(dir, "events.jsonl"), "utf8").trim().split("\n").map((l) => JSON.parse(l) as Event);
  const setup = JSON.parse(readFileSync(join(dir, "setup.json"), "utf8"));
  stream = { name: "all", events, setup, byId: new Map(events.map((e) => [e.id, e])) };
  const env = { VIGIL_SERVER: server.url };
  setupRun = await vigil(["setup", "import", "setup.json", "--token", ADMIN_TOKEN], { cwd: dir, env });
  const ingestToken = await createToken(server.url, "loader", ["ingest"]);
  ingestRun = await vigil(["ingest", "events.jsonl", "--token", ingestToken], { cwd: dir, env });
  const admin = api(server.url, ADMIN_TOKEN);
  await eventually(async () => {
    const health = await admin.request<{ queue: { queued: number; processing: number } }>("GET", "/healthz");
    const page = await admin.request<{ decisions: Line[] }>("GET", "/v1/decisions?limit=1");
    return health.body.queue.queued === 0 && health.body.queue.processing === 0 && page.body.decisions.length > 0 ? true : undefined;
  }, 180_000, "the server to decide the stream");
  for (let afterSeq = 0; ;) {
    const page = await admin.request<{ decisions: Line[]; nextAfterSeq?: number }>("GET", `/v1/decisions?order=asc&limit=1000&afterSeq=${afterSeq}`);
    for (const d of page.body.decisions) decisions.set(d.eventId, d);
    if (page.body.decisions.length < 1000 || page.body.nextAfterSeq === undefined) break;
    afterSeq = page.body.nextAfterSeq;
  }
  replay = await replayStream(stream, [join(repoRoot, "packs")]);
}, 400_000);

afterAll(async () => {
  if (server) expect(await server.stop()).toBe(0);
});

describe("vigil serve with every pack, fed by vigil setup import and vigil ingest", () => {
  it("starts with the four packs loaded and no load error", async () => {
    const health = await api(server.url, undefined).request<{ policies: number; policyErrors: number }>("GET", "/healthz");
    expect(health.body).toMatchObject({ policies: 21, policyErrors: 0 });
  });

  it("imports the setup (entities and exceptions under their ids) and ingests every event", async () => {
    expect(setupRun.stderr).toBe("");
    expect(setupRun.stdout).toMatch(/imported 60 entities and 2 exceptions/);
    expect(setupRun.code).toBe(0);
    expect(ingestRun.code).toBe(0);
    expect(decisions.size).toBe(stream.events.length);
    const scc = await api(server.url, ADMIN_TOKEN).request<{ id: string; legalBasis: string }>("GET", "/v1/exceptions/EX-RES-001");
    expect(scc.body.legalBasis).toMatch(/^SCC 2021\/914/);
  });

  it("decides every event as vigil replay does", () => {
    expect(replay.decisions.size).toBe(stream.events.length);
    expect(differences(stream, replay.decisions, decisions)).toEqual([]);
    printScore("all packs, replay (seed 1, 8 days)", replay.score);
    printScore("all packs, server (seed 1, 8 days)", scoreOf(stream, decisions));
  });

  it("shows each pack's key behaviour through the API", async () => {
    const all = [...decisions.values()];
    const note = (text: string): Line[] => stream.events.filter((e) => truthOf(e)?.note === text).map((e) => decisions.get(e.id)!);
    // access: step-up and suspension planned; on-call quiet
    expect(all.some((d) => d.tier === "approve" && d.findings.some((f) => f.policy.startsWith("access-") && f.effect === "violation"))).toBe(true);
    expect(all.some((d) => d.tier === "remediate" && d.actions.some((a) => a.actuator === "okta.suspend-user" || a.actuator === "aws.iam.deactivate-access-key"))).toBe(true);
    expect(note("on-call engineer paged at night").every((d) => d.tier === "observe")).toBe(true);
    // cost: the idle instance marked on the ladder with a grace period
    const ladder = await api(server.url, ADMIN_TOKEN).request<{ items: { policy: string; status: string; dueAt?: string; openedAt: string }[] }>("GET", "/v1/ladder?policy=cost-idle-ec2-instance");
    expect(ladder.body.items?.some((i) => i.dueAt !== undefined && Date.parse(i.dueAt) > Date.parse(i.openedAt)), JSON.stringify(ladder.body.items.map((i) => [i.status, i.dueAt, i.openedAt]))).toBe(true);
    const listed = await vigil(["ladder", "list", "--status", "waiting", "--policy", "cost-idle-ec2-instance", "--token", ADMIN_TOKEN], { env: { VIGIL_SERVER: server.url } });
    expect(listed.code).toBe(0);
    const first = /^(lad-\w+)\s+waiting\s+cost-idle-ec2-instance\s+i-\w+\s+owner \S+\s+due (\S+)/m.exec(listed.stdout);
    expect(first, listed.stdout).not.toBeNull();
    const snoozed = await vigil(["ladder", "snooze", first![1]!, "--reason", "benchmark rerun on Wednesday", "--days", "2", "--token", ADMIN_TOKEN, "-o", "json"], { env: { VIGIL_SERVER: server.url } });
    expect(snoozed.code).toBe(0);
    expect(Date.parse(JSON.parse(snoozed.stdout).dueAt)).toBeGreaterThan(Date.parse(first![2]!));
    const reader = await createToken(server.url, "someone", ["viewer"]);
    const refused = await vigil(["ladder", "release", first![1]!, "--reason", "not mine", "--token", reader], { env: { VIGIL_SERVER: server.url } });
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toMatch(/operator or approver/);
    // residency: replication blocked with a reroute; the SCC transfer allowed
    expect(note("personal data replicated to us-east-1").every((d) => d.verdict === "deny" && d.findings.some((f) => /reroute to eu-/.test(f.message)))).toBe(true);
    expect(note("transfer under an approved mechanism (SCCs, exception EX-RES-001)").every((d) => d.verdict === "allow" && /exception EX-RES-001/.test(d.explanation.summary))).toBe(true);
    // supply chain: vulnerable introductions denied with a commit status and a PR comment planned
    const blocked = all.filter((d) => d.verdict === "deny" && d.findings.some((f) => f.policy === "supply-chain-vulnerable-dependency" && f.effect === "violation"));
    expect(blocked.length).toBeGreaterThan(0);
    expect(blocked.every((d) => ["github.commit-status", "github.pr-comment"].every((k) => d.actions.some((a) => a.actuator === k)))).toBe(true);
  });
});
