import { readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startFakeKubernetesApi, type FakeKubernetesApi } from "../context/kubernetes/api-test-server.js";
import { startTestServer, type TestServer } from "../../test/server/support.js";

const policy = readFileSync(new URL("../../test/fixtures/kyverno/cleanup/cleanup-bare-pods/cleanup-bare-pods.yaml", import.meta.url), "utf8");
const pod = (name: string) => ({ apiVersion: "v1", kind: "Pod", metadata: { name, namespace: "default" }, spec: { containers: [{ name: "c", image: "nginx:1.27" }] } });

let api: FakeKubernetesApi;
let t: TestServer;

beforeAll(async () => {
  api = await startFakeKubernetesApi({ namespaces: [{ metadata: { name: "default" } }], objects: [pod("bare-1"), pod("bare-2"), pod("bare-3")] });
  // Not started: nothing is processed, so a queue of 3 already holding one event cannot take the run's 3 candidates now.
  t = await startTestServer({ files: { "cleanup.yaml": policy }, config: { admission: { cluster: { server: api.url } }, ingest: { queueCapacity: 3, retryAfterSeconds: 9 } } });
  await t.agent.cluster?.synced();
  await t.agent.ingest([{ specversion: "1.0", id: "waiting-1", source: "test", type: "dev.vigil.test" }]);
});

afterAll(async () => {
  await t?.close();
  await api?.close();
});

describe("429 always carries Retry-After", () => {
  it("a cleanup run whose candidates do not fit in the ingest queue answers 429 with Retry-After", async () => {
    const response = await t.as("operator", { method: "POST", url: "/v1/cleanup/clean-bare-pods/run", payload: {} });
    expect(response.statusCode).toBe(429);
    expect(response.json().error.code).toBe("VIGIL_BACKPRESSURE");
    expect(response.headers["retry-after"]).toBe("9");
  });

  it("a batch larger than the whole queue is a 400 naming the capacity, not a 429 that retrying never clears", async () => {
    const events = ["a", "b", "c", "d"].map((id) => ({ specversion: "1.0", id, source: "test", type: "dev.vigil.test" }));
    const response = await t.as("ingest", { method: "POST", url: "/v1/events", headers: { "content-type": "application/cloudevents-batch+json" }, payload: events });
    expect(response.statusCode).toBe(400);
    expect(response.headers["retry-after"]).toBeUndefined();
    expect(response.json().error).toMatchObject({ code: "VIGIL_BAD_INPUT", field: "events" });
    expect(response.json().error.message).toMatch(/at most 3 \(ingest\.queueCapacity\)/);
  });
});
