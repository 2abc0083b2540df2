import type { Bus } from "../../core/index.js";
import type { MemoryBusOptions } from "./memory-bus.js";
import { MemoryBus } from "./memory-bus.js";

/** The embedded default Bus: in-process, at-least-once, nothing else to run. */
export function createMemoryBus(options: MemoryBusOptions = {}): Bus {
  return new MemoryBus(options);
}

export { MemoryBus } from "./memory-bus.js";
export type { MemoryBusOptions } from "./memory-bus.js";
