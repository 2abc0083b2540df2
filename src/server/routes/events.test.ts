import { afterEach, describe, expect, it } from "vitest";
import { startTestServer, type TestServer } from "../../../test/server/support.js";

const ce = (id: string, source = "/test") => ({ specversion: "1.0", id, source, type: "com.example.thing", data: { n: id } });
const batch = { "content-type": "application/cloudevents-batch+json" };

let t: TestServer | undefined;
afterEach(async () => {
  await t?.close();
  t = undefined;
});

describe("POST /v1/events: duplicates within one batch", () => {
  it("reports the first copy of an event as accepted and only the repeats as duplicates", async () => {
    t = await startTestServer({});
    const response = await t.as("ingest", { method: "POST", url: "/v1/events", headers: batch, payload: [ce("e-1"), ce("e-2"), ce("e-1")] });
    expect(response.statusCode).toBe(202);
    const body = response.json();
    expect(body.results.map((r: { index: number; status: string }) => [r.index, r.status])).toEqual([[0, "accepted"], [1, "accepted"], [2, "duplicate"]]);
    expect(body).toMatchObject({ accepted: 2, duplicates: 1, rejected: 0 });
    expect(await t.agent.storage.countEvents()).toBe(2);
  });

});
