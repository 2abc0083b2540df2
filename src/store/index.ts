/**
 * Storage adapters and the decision record's shared pieces. The composition root (agent.ts)
 * chooses an adapter from config; nothing else should import the adapters.
 */
export { createSqliteStorage } from "./sqlite/index.js";
export type { SqliteStorageOptions } from "./sqlite/index.js";
export { createPostgresStorage } from "./postgres/index.js";
export type { PostgresStorageOptions } from "./postgres/index.js";
export { canonicalJson } from "./canonical-json.js";
export { prepareDecisions } from "./sql-queries.js";
export type { PreparedDecision } from "./sql-queries.js";
export { chainRecords, GENESIS_HASH, GENESIS_HEAD, hashRecord, verifyDecisionRecord } from "./chain.js";
export type { ChainHead, ChainProblem, ChainProblemKind, VerifyOptions, VerifyResult } from "./chain.js";
export { compileMask, DEFAULT_MASK_MARKER, maskDraft, parseMaskPath } from "./mask.js";
export type { CompiledMask, MaskConfig, MaskMode, MaskResult, MaskRule } from "./mask.js";
