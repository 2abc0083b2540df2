import type { Bus } from "../../core/index.js";
import type { NatsBusOptions } from "./nats-bus.js";
import { NatsBus } from "./nats-bus.js";

/**
 * Bus on NATS JetStream for running several Vigil workers: `init()` connects and creates the
 * stream if missing; groups are durable pull consumers (competing consumers). Throws
 * VigilError(VIGIL_BAD_CONFIG) naming the field for an invalid stream name, prefix or servers.
 */
export function createNatsBus(options: NatsBusOptions): Bus {
  return new NatsBus(options);
}

export { consumerName, NatsBus } from "./nats-bus.js";
export type { NatsBusOptions } from "./nats-bus.js";
