import type { Scenario } from "./scenario.js";
import { costScenario } from "./cost.js";
import { supplyChainScenario } from "./supply-chain.js";
import { accessScenario } from "./access.js";
import { residencyScenario } from "./residency.js";

export * from "./scenario.js";

/**
 * Registered scenarios. Each pack adds its own generator module here (one line each).
 */
export const scenarios: Scenario[] = [accessScenario, supplyChainScenario, costScenario, residencyScenario];

export function findScenario(name: string): Scenario | undefined {
  return scenarios.find((s) => s.name === name);
}
