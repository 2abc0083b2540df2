/**
 * Adapter choice (the only place that names store/bus implementations): SQLite or PostgreSQL
 * storage, in-process or NATS JetStream bus, from configuration.
 */
import { mkdir } from "node:fs/promises";
import { dirname } from "node:path";
import type { Bus, Storage } from "../core/ports.js";
import type { VigilConfig } from "../config.js";
import { createMemoryBus } from "../bus/memory/index.js";
import { createNatsBus } from "../bus/nats/index.js";
import { createPostgresStorage } from "../store/postgres/index.js";
import { createSqliteStorage } from "../store/sqlite/index.js";
import type { MaskConfig } from "../store/mask.js";

/** The mask configuration of the decision log, from config. */
export function maskConfigOf(config: Pick<VigilConfig, "decisionLog">): MaskConfig | undefined {
  if (config.decisionLog.mask.length === 0) return undefined;
  return { paths: config.decisionLog.mask.map((m) => (typeof m === "string" ? m : { path: m.path, ...(m.mode ? { mode: m.mode } : {}) })), mode: config.decisionLog.maskMode };
}

/** Opens the configured Storage adapter (SQLite by default) and applies migrations. */
export async function openStorage(config: Pick<VigilConfig, "store" | "decisionLog">): Promise<Storage> {
  const mask = maskConfigOf(config);
  let storage: Storage;
  if (config.store.kind === "postgres") {
    storage = createPostgresStorage({ url: config.store.url ?? "postgres://postgres@127.0.0.1:5432/postgres", schema: config.store.schema, ...(mask ? { mask } : {}) });
  } else {
    if (config.store.path !== ":memory:") await mkdir(dirname(config.store.path), { recursive: true });
    storage = createSqliteStorage({ path: config.store.path, ...(mask ? { mask } : {}) });
  }
  await storage.init();
  return storage;
}

/** Opens the configured bus (in-process by default). */
export async function openBus(config: Pick<VigilConfig, "bus" | "ingest">): Promise<Bus> {
  const bus = config.bus.kind === "nats"
    ? createNatsBus({ servers: config.bus.servers, stream: config.bus.stream, ackWaitMs: config.bus.ackWaitMs, concurrency: config.bus.concurrency, maxAgeMs: config.bus.maxAgeMs })
    : createMemoryBus({ ackWaitMs: config.bus.ackWaitMs, concurrency: config.bus.concurrency, maxRetained: config.ingest.queueCapacity });
  await bus.init();
  return bus;
}
