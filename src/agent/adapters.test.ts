import { jetstreamManager } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
import { describe, expect, it } from "vitest";
import { parseConfig } from "../config.js";
import { openBus } from "./adapters.js";

/** The machine's NATS with JetStream (127.0.0.1:4222), one fresh stream per test, deleted after. */
const servers = process.env["VIGIL_TEST_NATS_URL"] ?? "nats://127.0.0.1:4222";
const NANOS_PER_MS = 1_000_000;

async function streamMaxAgeMs(stream: string): Promise<number> {
  const admin = await connect({ servers, name: "vigil-test-admin" });
  try {
    const manager = await jetstreamManager(admin);
    const info = await manager.streams.info(stream);
    await manager.streams.delete(stream);
    return Number(info.config.max_age) / NANOS_PER_MS;
  } finally {
    await admin.close();
  }
}

describe("openBus (NATS JetStream)", () => {
  it("creates the stream with bus.maxAgeMs retention, one day by default: acked batches do not fill the disk for ever", async () => {
    for (const [setting, expected] of [[undefined, 86_400_000], [3_600_000, 3_600_000]] as const) {
      const stream = `VIGIL_TEST_ADAPTERS_${process.pid}_${Date.now().toString(36)}_${expected}`;
      const config = parseConfig({ bus: { kind: "nats", servers: [servers], stream, ...(setting === undefined ? {} : { maxAgeMs: setting }) } });
      const bus = await openBus(config);
      await bus.close();
      expect(await streamMaxAgeMs(stream)).toBe(expected);
    }
  });
});
