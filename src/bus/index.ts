/** Bus adapters; the composition root (agent.ts) chooses one from config. */
export { createMemoryBus } from "./memory/index.js";
export type { MemoryBusOptions } from "./memory/index.js";
export { createNatsBus } from "./nats/index.js";
export type { NatsBusOptions } from "./nats/index.js";
