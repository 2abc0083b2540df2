/**
 * The equivalence check that runs before any timing: Vigil and Cedar must reach the same
 * allow/deny decision on every seeded request. A mismatch fails the benchmark and is printed with
 * its request, so a wrong rendering (or a wrong engine) can never produce a speed figure.
 */
import type { Decide, Verdict } from "./engines.js";
import type { AbacRequest } from "./requests.js";

export interface Mismatch {
  readonly index: number;
  readonly request: AbacRequest;
  readonly decisions: Readonly<Record<string, Verdict | string>>;
}

export interface EquivalenceReport {
  readonly checked: number;
  readonly allowed: number;
  /** How many requests got different decisions (only the first few are kept in `mismatches`). */
  readonly mismatched: number;
  readonly mismatches: readonly Mismatch[];
}

export interface Contender {
  readonly name: string;
  readonly decide: Decide;
  /** Prepared input for request i. */
  readonly input: (index: number) => unknown;
}

/**
 * Decides every request with every contender and collects the requests where they differ (at most
 * `maxMismatches` are kept). The first contender is the reference for the allow count. A contender
 * that throws counts as a mismatch with the error text as its "decision".
 */
export function checkEquivalence(requests: readonly AbacRequest[], contenders: readonly Contender[], maxMismatches = 10): EquivalenceReport {
  let allowed = 0;
  const mismatches: Mismatch[] = [];
  let mismatchCount = 0;
  for (let index = 0; index < requests.length; index++) {
    const decisions: Record<string, Verdict | string> = {};
    for (const contender of contenders) {
      try {
        decisions[contender.name] = contender.decide(contender.input(index));
      } catch (error) {
        decisions[contender.name] = `error: ${error instanceof Error ? error.message : String(error)}`;
      }
    }
    const values = Object.values(decisions);
    if (values[0] === "allow") allowed++;
    if (values.some((v) => v !== values[0])) {
      mismatchCount++;
      if (mismatches.length < maxMismatches) mismatches.push({ index, request: requests[index] as AbacRequest, decisions });
    }
  }
  return { checked: requests.length, allowed, mismatched: mismatchCount, mismatches };
}

/** A mismatch in words, with the request as JSON. */
export function describeMismatch(mismatch: Mismatch): string {
  const decided = Object.entries(mismatch.decisions).map(([name, verdict]) => `${name}=${verdict}`).join(", ");
  return `request #${mismatch.index}: ${decided}\n  ${JSON.stringify(mismatch.request)}`;
}
