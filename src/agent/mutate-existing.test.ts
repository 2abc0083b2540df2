import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { parseConfig } from "../config.js";
import { startFakeKubernetesApi, type FakeKubernetesApi } from "../context/kubernetes/api-test-server.js";
import { createManualClock } from "./clock.js";
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
