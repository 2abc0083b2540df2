/**
 * Kill -9 mid-ingest and restart: no acknowledged event is lost, none is decided twice.
 *
 * The first server is stuck processing (its webhook actuator waits on a receiver that does not
 * answer), so everything acknowledged after the first event is accepted but unprocessed when the
 * process is SIGKILLed — with more requests in flight. The restarted server processes the pending
 * events before anything else.
 */
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startWireServer, type WireServer } from "../../src/act/actuators/test-server.js";
import { openStorage, verifyRecord } from "../../src/agent.js";
import { loadConfig } from "../../src/config.js";
import { ADMIN_TOKEN, api, createToken, eventually, fixtures, startVigil, tempDir, widgetEvent, writeConfig, type VigilProcess } from "./harness.js";

let wire: WireServer;
let release: () => void = () => undefined;
let hang = true;
const running: VigilProcess[] = [];

beforeAll(async () => {
  wire = await startWireServer();
  wire.on("POST", "/hook", async () => {
    if (hang) await new Promise<void>((done) => (release = done));
    return { status: 200, body: { ok: true } };
  });
});

afterAll(async () => {
  release();
  for (const process of running) if (process.child.exitCode === null) await process.kill9();
  await wire.close();
});

describe("crash and restart mid-ingest", () => {
  it("decides every acknowledged event exactly once after a SIGKILL", { timeout: 180_000 }, async () => {
    const dir = tempDir();
    const configFile = writeConfig(dir, {
      policies: [join(fixtures, "e2e-policies", "custom-events.yaml")],
      act: { requirePromotion: false, blastRadius: { perPolicy: { max: 100_000, windowMs: 3_600_000 }, global: { max: 100_000, windowMs: 3_600_000 } } },
      actuators: { webhook: { endpoints: { default: { url: `${wire.url}/hook`, secret: "e2e-secret" } }, timeoutMs: 120_000, maxAttempts: 1 } },
      ingest: { batchSize: 16 },
    });
    const first = await startVigil(configFile);
    running.push(first);
    const ingestToken = await createToken(first.url, "loader", ["ingest"]);
    const client = api(first.url, ingestToken);
    const post = (events: unknown[]) => client.request<{ results: { decisionId: string; status: string }[] }>("POST", "/v1/events", events, { "content-type": "application/cloudevents-batch+json" });

    const acked = new Set<string>();
    const firstAnswer = await post([widgetEvent("w-0")]);
    expect(firstAnswer.status).toBe(202);
    for (const r of firstAnswer.body.results) acked.add(r.decisionId);
    // Processing is now stuck in the webhook call of w-0.
    await eventually(async () => (wire.requests.length > 0 ? true : undefined), 30_000, "the first webhook call");

    for (let batch = 0; batch < 20; batch++) {
      const answer = await post(Array.from({ length: 10 }, (_, i) => widgetEvent(`w-${batch}-${i}`)));
      expect(answer.status).toBe(202);
      for (const r of answer.body.results) acked.add(r.decisionId);
    }
    // More requests in flight while the process dies: those answered 202 count as acknowledged.
    const inFlight = Array.from({ length: 6 }, (_, batch) => post(Array.from({ length: 10 }, (_, i) => widgetEvent(`late-${batch}-${i}`))).then(
      (answer) => {
        if (answer.status === 202) for (const r of answer.body.results) acked.add(r.decisionId);
      },
      () => undefined,
    ));
    await first.kill9();
    await Promise.all(inFlight);
    expect(acked.size).toBeGreaterThanOrEqual(201);

    // Between the crash and the restart: the acknowledged events are in the store, undecided.
    const config = loadConfig({ file: configFile });
    const storage = await openStorage(config);
    const pending = await storage.pendingEvents(100_000);
    const decidedBefore = await storage.listDecisions({ limit: 100_000 });
    await storage.close();
    expect(pending.length).toBeGreaterThanOrEqual(200);
    expect(decidedBefore.length).toBe(0);

    hang = false;
    release();
    const second = await startVigil(configFile);
    running.push(second);
    const viewer = api(second.url, ADMIN_TOKEN);
    for (const id of acked) {
      await eventually(async () => ((await viewer.request("GET", `/v1/decisions/${id}`)).status === 200 ? true : undefined), 60_000, `decision ${id}`);
    }
    const all = (await viewer.request<{ decisions: { decisionId: string; eventId: string }[] }>("GET", "/v1/decisions?limit=1000")).body.decisions;
    expect(new Set(all.map((d) => d.eventId)).size).toBe(all.length);
    expect(all.length).toBe(pending.length);
    expect(await second.stop()).toBe(0);

    const after = await openStorage(config);
    expect(await after.pendingEvents(10)).toEqual([]);
    const verified = await verifyRecord(after);
    await after.close();
    expect(verified.ok).toBe(true);
  });
});
