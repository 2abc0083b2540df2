import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { parseConfig } from "../config.js";
import { startFakeKubernetesApi, type FakeKubernetesApi } from "../context/kubernetes/api-test-server.js";
import { createManualClock } from "./clock.js";
import { createAgent, type Agent } from "./runtime.js";

const policy = join(import.meta.dirname, "../../test/fixtures/kyverno/cleanup/cleanup-bare-pods/cleanup-bare-pods.yaml");
const pod = (name: string) => ({ apiVersion: "v1", kind: "Pod", metadata: { name, namespace: "default" }, spec: { containers: [{ name: "c", image: "nginx:1.27" }] } });

let api: FakeKubernetesApi | undefined;
let agent: Agent | undefined;
afterEach(async () => {
  await agent?.close();
  await api?.close();
  agent = undefined;
  api = undefined;
});

describe("cleanup runs and a queue smaller than their candidates", () => {
  it("a scheduled run hands every candidate over as the queue frees up; a run on demand that can never fit answers VIGIL_BAD_CONFIG at once naming the setting, and stores none", async () => {
    const names = ["bare-1", "bare-2", "bare-3", "bare-4", "bare-5"];
    api = await startFakeKubernetesApi({ namespaces: [{ metadata: { name: "default" } }], objects: names.map(pod) });
    const dir = mkdtempSync(join(tmpdir(), "vigil-cleanup-"));
    const clock = createManualClock("2026-11-27T10:01:00Z");
    const problems: string[] = [];
    agent = await createAgent(parseConfig({
      policies: [policy],
      store: { path: join(dir, "vigil.db") },
      ingest: { queueCapacity: 4, batchSize: 2 },
      cleanup: { ttl: { enabled: false } },
      admission: { cluster: { server: api.url } },
    }), { clock, onProblem: (message) => problems.push(message) });
    expect(agent.loadErrors).toEqual([]);
    await agent.cluster?.synced();
    const running = agent;
    // Not started: nothing drains the queue; 5 candidates never fit a queue of 4.
    const started = Date.now();
    const refused = await running.cleanup?.runNow("clean-bare-pods").catch((error: unknown) => error);
    expect(refused).toMatchObject({ code: "VIGIL_BAD_CONFIG", details: { field: "cleanup.maxCandidatesPerRun" } });
    expect((refused as Error).message).toMatch(/selected 5 due objects.*at most 4.*ingest\.queueCapacity/);
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(await running.storage.countEvents()).toBe(0);

    await running.start();
    await running.tick(); // schedules the first run (10:05)
    clock.set("2026-11-27T10:05:00Z");
    await running.tick();
    await running.ingestor.idle();
    const decided = (await running.storage.listDecisions({ policy: "clean-bare-pods", limit: 100 })).map((d) => d.subject).sort();
    expect(decided).toEqual(names.map((name) => `Pod/default/${name}`));
    expect(problems.filter((message) => message.includes("clean-bare-pods"))).toEqual([]);
  });
});
