/**
 * The evaluation budget. One meter per process: evaluation is synchronous, and `evaluate` saves
 * and restores the remaining budget around each run, so nested evaluations (an extension
 * function that evaluates another program) each get their own budget.
 *
 * Cost units: 1 per expression node outside loops (charged once up front), the loop body's
 * node count per comprehension iteration, and one unit per 16 characters / bytes / elements
 * produced or scanned by size-dependent operations (string and list concatenation, string
 * functions, regular expressions, equality of large values).
 */
import { CostExceeded } from "./values.js";

export const meter = { left: 0, limit: 0 };

export function costExceeded(): never {
  throw new CostExceeded(`evaluation cost limit of ${meter.limit} exceeded (a runaway loop or an oversized value); simplify the expression or raise costLimit`);
}

/** Charges `units` of budget; throws CostExceeded when it runs out. */
export function charge(units: number): void {
  if ((meter.left -= units) < 0) costExceeded();
}

/** Charges for producing or scanning `size` characters / bytes / elements. */
export function chargeSize(size: number): void {
  if ((meter.left -= size >>> 4) < 0) costExceeded();
}
