/**
 * The exceptions and overrides in force in the configured store, for the offline paths (`vigil
 * eval --exceptions`, `vigil replay --exceptions`) so they apply exactly as the running agent
 * applies them (the same review service and decider). `inForce: "at-decision"` (a replay with
 * context of past events) returns them all and lets the decider judge each at the decision's time.
 */
import { createExecutor } from "../act/index.js";
import { systemClock, type Clock } from "../core/ports.js";
import type { VigilConfig } from "../config.js";
import { createReviewService } from "../review/index.js";
import { openStorage } from "./adapters.js";
import type { Exemptions } from "./pipeline.js";

export async function loadExemptions(config: Pick<VigilConfig, "store" | "decisionLog">, clock: Clock = systemClock, options: { readonly inForce?: "now" | "at-decision" } = {}): Promise<Exemptions> {
  const storage = await openStorage(config);
  try {
    const executor = createExecutor({ storage, clock, actuators: [] });
    const reviews = createReviewService({ storage, clock, executor });
    // at-decision (a replay of past events): every exception and override; the decider applies
    // those in force at each decision's time (not expired, not yet revoked, unused once-overrides).
    if (options.inForce === "at-decision") return { exceptions: await reviews.exceptions.list(), overrides: await reviews.overrides.list() };
    return await reviews.exemptions({ maxAgeMs: 0 });
  } finally {
    await storage.close();
  }
}
