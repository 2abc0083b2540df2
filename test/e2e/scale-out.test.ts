/**
 * Scale-out against the machine's PostgreSQL and NATS JetStream: an api agent persists and
 * publishes, two worker agents compete for the batches; every event is decided exactly once into
 * one hash chain; a redelivered batch is not decided again; the sweep decides events that were
 * persisted but never published.
 */
import { jetstreamManager } from "@nats-io/jetstream";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { join } from "node:path";
import postgres from "postgres";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createAgent, createManualClock, encodeBatch, EVENTS_SUBJECT, verifyRecord, type Agent } from "../../src/agent.js";
import { parseConfig } from "../../src/config.js";
import { buildServer } from "../../src/server/app.js";
import { ADMIN_TOKEN, api, eventually, fixtures, startVigil, tempDir, widgetEvent, writeConfig, type VigilProcess } from "./harness.js";

const pgUrl = process.env["VIGIL_TEST_POSTGRES_URL"] ?? "postgres://postgres@127.0.0.1:5432/test";
const natsUrl = process.env["VIGIL_TEST_NATS_URL"] ?? "nats://127.0.0.1:4222";
const suffix = `${process.pid}_${Date.now().toString(36)}`;
const schema = `vigil_e2e_${suffix}`;
const stream = `VIGIL_E2E_${suffix}`;
const processSchema = `${schema}_p`;
const processStream = `${stream}_P`;

let nats: NatsConnection;
const agents: Agent[] = [];
const processes: VigilProcess[] = [];

beforeAll(async () => {
  nats = await connect({ servers: natsUrl, name: "vigil-e2e-admin" });
});

afterAll(async () => {
  for (const agent of agents) await agent.close().catch(() => undefined);
  for (const process of processes) if (process.child.exitCode === null) await process.kill9();
  for (const name of [stream, processStream]) await (await jetstreamManager(nats)).streams.delete(name).catch(() => undefined);
  await nats.close();
  const admin = postgres(pgUrl, { max: 1, onnotice: () => undefined });
  for (const name of [schema, processSchema]) await admin.unsafe(`DROP SCHEMA IF EXISTS "${name}" CASCADE`);
  await admin.end();
});

describe("scale-out: api + competing workers on PostgreSQL and NATS", () => {
  it("decides every event once across workers, tolerates redelivery, and sweeps unpublished events", { timeout: 120_000 }, async () => {
    const clock = createManualClock("2025-03-03T10:00:00Z");
    const config = parseConfig({
      policies: [join(fixtures, "e2e-policies", "custom-events.yaml")],
      store: { kind: "postgres", url: pgUrl, schema },
      bus: { kind: "nats", servers: [natsUrl], stream, ackWaitMs: 5_000, concurrency: 2 },
      ingest: { sweepIntervalMs: 3_600_000, staleAfterMs: 60_000 },
      log: { level: "silent" },
    });
    const apiAgent = await createAgent(config, { role: "api", clock, onProblem: () => undefined });
    agents.push(apiAgent);
    const workers = [await createAgent(config, { role: "worker", clock, onProblem: () => undefined }), await createAgent(config, { role: "worker", clock, onProblem: () => undefined })];
    agents.push(...workers);
    for (const worker of workers) await worker.start();
    const { app } = buildServer({ agent: apiAgent });
    await app.ready();
    const token = (await apiAgent.tokens.create({ name: "loader", roles: ["ingest"] }, "test")).token;

    const total = 20 * 25;
    for (let batch = 0; batch < 20; batch++) {
      const response = await app.inject({
        method: "POST", url: "/v1/events",
        headers: { authorization: `Bearer ${token}`, "content-type": "application/cloudevents-batch+json" },
        payload: Array.from({ length: 25 }, (_, i) => widgetEvent(`so-${batch}-${i}`)),
      });
      expect(response.statusCode).toBe(202);
    }
    expect(apiAgent.ingestor.stats().processed).toBe(0);
    await eventually(async () => ((await apiAgent.storage.listDecisions({ limit: 1_000 })).length >= total ? true : undefined), 60_000, `${total} decisions`);
    const decisions = await apiAgent.storage.listDecisions({ limit: 1_000 });
    expect(decisions).toHaveLength(total);
    expect(new Set(decisions.map((d) => d.eventId)).size).toBe(total);
    const processed = workers.map((w) => w.worker?.stats().events ?? 0);
    // Competing consumers: each batch went to one worker (which one is up to JetStream; on a busy
    // machine one worker may take them all, so only the sum is asserted).
    expect(processed.reduce((a, b) => a + b, 0)).toBe(total);
    expect(await apiAgent.storage.pendingEvents(1)).toEqual([]);

    // A batch delivered again (a worker died after recording, before acking): acked without being
    // decided again, nothing recorded twice.
    const again = await apiAgent.storage.listEvents({ limit: 25 });
    await apiAgent.bus.publish(EVENTS_SUBJECT, encodeBatch(again));
    await eventually(async () => (workers.reduce((n, w) => n + (w.worker?.stats().alreadyProcessed ?? 0), 0) >= 25 ? true : undefined), 30_000, "the redelivered batch");
    expect(workers.reduce((n, w) => n + (w.worker?.stats().events ?? 0), 0)).toBe(total);
    expect(await apiAgent.storage.listDecisions({ limit: 1_000 })).toHaveLength(total);

    // Persisted, never published (the api process died between the two): the sweep decides them once stale.
    const lost = [widgetEvent("lost-1"), widgetEvent("lost-2"), widgetEvent("lost-3")];
    await apiAgent.storage.appendEvents(lost as never, clock.now().toISOString());
    expect(await workers[0]?.worker?.sweep()).toBe(0);
    clock.advance(61_000);
    expect(await workers[0]?.worker?.sweep()).toBe(3);
    expect(await apiAgent.storage.listDecisions({ limit: 1_000 })).toHaveLength(total + 3);
    expect(await apiAgent.storage.pendingEvents(1)).toEqual([]);

    const verified = await verifyRecord(apiAgent.storage);
    expect(verified.ok).toBe(true);
    await app.close();
  });

  it("vigil serve --role api and --role worker as separate processes", { timeout: 180_000 }, async () => {
    const dir = tempDir();
    const configFile = writeConfig(dir, {
      policies: [join(fixtures, "e2e-policies", "custom-events.yaml")],
      store: { kind: "postgres", url: pgUrl, schema: processSchema },
      bus: { kind: "nats", servers: [natsUrl], stream: processStream },
    });
    const apiProcess = await startVigil(configFile, { args: ["--role", "api"] });
    processes.push(apiProcess);
    const workerProcess = await startVigil(configFile, { args: ["--role", "worker"] });
    processes.push(workerProcess);
    expect((await api(workerProcess.url, undefined).request("GET", "/healthz")).body).toMatchObject({ role: "worker", store: "postgres", bus: "nats" });
    expect((await api(workerProcess.url, ADMIN_TOKEN).request("POST", "/v1/events", [])).status).toBe(404);
    const admin = api(apiProcess.url, ADMIN_TOKEN);
    const posted = await admin.request<{ results: { decisionId: string }[] }>("POST", "/v1/events", Array.from({ length: 30 }, (_, i) => widgetEvent(`proc-${i}`)), { "content-type": "application/cloudevents-batch+json" });
    expect(posted.status).toBe(202);
    for (const { decisionId } of posted.body.results) {
      await eventually(async () => ((await admin.request("GET", `/v1/decisions/${decisionId}`)).status === 200 ? true : undefined), 60_000, `decision ${decisionId}`);
    }
    expect(await workerProcess.stop()).toBe(0);
    expect(await apiProcess.stop()).toBe(0);
  });
});
