/**
 * The composition root's entry point: everything the CLI and the server use of the runtime.
 * The wiring lives in src/agent/ (see src/agent/index.ts).
 */
import type { Storage } from "./core/ports.js";
import { verifyDecisionRecord, type VerifyOptions, type VerifyResult } from "./store/chain.js";

export * from "./agent/index.js";
export type { VerifyOptions, VerifyResult } from "./store/chain.js";
export { GENESIS_HASH } from "./store/chain.js";

/** Verifies the hash chain of the configured decision record. */
export async function verifyRecord(storage: Storage, options: VerifyOptions = {}): Promise<VerifyResult> {
  return verifyDecisionRecord(storage, options);
}
