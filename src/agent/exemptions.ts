/**
 * The exceptions and overrides in force in the configured store, for the offline paths (`vigil
 * eval --exceptions`, `vigil replay --exceptions`) so they apply exactly as the running agent
 * applies them (the same review service and decider).
 */
import { createExecutor } from "../act/index.js";
import { systemClock, type Clock } from "../core/ports.js";
import type { VigilConfig } from "../config.js";
import { createReviewService } from "../review/index.js";
import { openStorage } from "./adapters.js";
import type { Exemptions } from "./pipeline.js";

export async function loadExemptions(config: Pick<VigilConfig, "store" | "decisionLog">, clock: Clock = systemClock): Promise<Exemptions> {
  const storage = await openStorage(config);
  try {
    const executor = createExecutor({ storage, clock, actuators: [] });
    return await createReviewService({ storage, clock, executor }).exemptions({ maxAgeMs: 0 });
  } finally {
    await storage.close();
  }
}
