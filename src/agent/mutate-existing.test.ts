import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { parseConfig } from "../config.js";
import { startFakeKubernetesApi, type FakeKubernetesApi } from "../context/kubernetes/api-test-server.js";
import type { KyvernoPolicy } from "../policy/kyverno/policy.js";
import { createManualClock } from "./clock.js";
import { createMutateExistingSweep } from "./mutate-existing.js";
import { createAgent, type Agent } from "./runtime.js";

const TOKEN = "mutate-existing-token";
const policy = join(import.meta.dirname, "../../test/fixtures/kyverno/other/label-existing-namespaces/label-existing-namespaces.yaml");

let api: FakeKubernetesApi | undefined;
let agent: Agent | undefined;
afterEach(async () => {
  await agent?.close();
  await api?.close();
  agent = undefined;
  api = undefined;
});

describe("mutate existing on policy update, with a queue smaller than the triggers", () => {
  it("hands every existing trigger over as the queue frees up (no trigger dropped on a full queue, the revision not marked run without them)", async () => {
    const names = Array.from({ length: 9 }, (_, i) => `team-${i}`);
    api = await startFakeKubernetesApi({ token: TOKEN, namespaces: names.map((name) => ({ metadata: { name } })), objects: [] });
    const dir = mkdtempSync(join(tmpdir(), "vigil-mutate-existing-"));
    const problems: string[] = [];
    agent = await createAgent(parseConfig({
      policies: [policy],
      store: { path: join(dir, "vigil.db") },
      ingest: { queueCapacity: 4, batchSize: 2 },
      admission: { cluster: { server: api.url, token: TOKEN } },
    }), { clock: createManualClock("2026-11-27T10:00:00Z"), onProblem: (message) => problems.push(message) });
    expect(agent.loadErrors).toEqual([]);
    await agent.start();
    await agent.cluster?.synced();
    await agent.tick();
    await agent.ingestor.idle();
    const triggers = (await agent.storage.listDecisions({ policy: "label-existing-namespaces", limit: 100 })).filter((d) => d.eventType === "dev.vigil.mutate.existing");
    expect(triggers.map((d) => d.subject).sort()).toEqual([...names].sort());
    expect(problems).toEqual([]);
  });
});

describe("mutate existing on policy update, when handing the triggers over fails", () => {
  it("reports it, and runs the revision again at the next tick instead of marking it run", async () => {
    const names = ["a", "b", "c"];
    api = await startFakeKubernetesApi({ token: TOKEN, namespaces: names.map((name) => ({ metadata: { name } })), objects: [] });
    const dir = mkdtempSync(join(tmpdir(), "vigil-mutate-existing-"));
    agent = await createAgent(parseConfig({ policies: [policy], store: { path: join(dir, "vigil.db") }, admission: { cluster: { server: api.url, token: TOKEN } } }), { clock: createManualClock("2026-11-27T10:00:00Z"), onProblem: () => undefined });
    const running = agent;
    await running.start();
    await running.cluster?.synced();
    const problems: string[] = [];
    let calls = 0;
    const sweep = createMutateExistingSweep({
      policies: () => [running.catalog.lookup("label-existing-namespaces") as KyvernoPolicy],
      cluster: running.cluster as NonNullable<Agent["cluster"]>,
      clock: running.clock,
      storage: running.storage,
      // The store refuses the first hand-over (SQLite busy), then answers.
      ingest: async (events) => {
        if (calls++ === 0) throw new Error("database is locked");
        return running.ingest(events);
      },
      onProblem: (message) => problems.push(message),
    });
    expect(await sweep.tick()).toMatchObject([{ policy: "label-existing-namespaces", triggered: 3 }]);
    expect(problems.join("\n")).toMatch(/mutate existing label-existing-namespaces .*database is locked.*runs again at the next tick/);
    expect(await sweep.tick()).toMatchObject([{ policy: "label-existing-namespaces", triggered: 3, problems: [] }]);
    await running.ingestor.idle();
    const triggers = (await running.storage.listDecisions({ policy: "label-existing-namespaces", limit: 100 })).filter((d) => d.eventType === "dev.vigil.mutate.existing");
    expect(triggers.map((d) => d.subject).sort()).toEqual(names);
    // Run once the hand-over succeeded.
    expect(await sweep.tick()).toEqual([]);
  });
});
