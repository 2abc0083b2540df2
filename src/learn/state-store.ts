/**
 * Learned state in Storage documents (collection `learn.state`): every version is its own
 * immutable document `v-<version>` holding the state and its checksum (sha256 of the state's
 * canonical JSON), and the `head` document names the current version and repeats its checksum.
 * Writing a version and moving the head is one transaction, guarded by the head's document
 * version (two learners cannot both move it). Loading verifies head, document, checksum and
 * contents; anything wrong is reported as `corrupt` and the caller runs without learning (the
 * policies' declared tiers) instead of refusing to start.
 */
import { createHash } from "node:crypto";
import { canonicalJson } from "../core/canonical-json.js";
import { isVigilError, VigilError } from "../core/errors.js";
import type { Storage } from "../core/ports.js";
import { validateAdjustment } from "../decide/learned.js";
import { validateCalibration } from "../context/calibration.js";
import type { LearnedState } from "./types.js";

export const LEARN_COLLECTION = "learn.state";
export const HEAD_ID = "head";

export interface StateHead {
  readonly version: number;
  readonly checksum: string;
  readonly at: string;
}

interface VersionDoc {
  readonly state: LearnedState;
  readonly checksum: string;
}

export const versionId = (version: number): string => `v-${String(version).padStart(8, "0")}`;

/**
 * JSON with object keys sorted at every level: the same state always hashes the same. Core's
 * canonical JSON; on a learned state (plain JSON values) it gives the text the checksums of
 * stored states were computed over (core/canonical-json.test.ts compares the two).
 */
export { canonicalJson };

export function stateChecksum(state: LearnedState): string {
  return createHash("sha256").update(canonicalJson(state)).digest("hex");
}

export interface LoadedState {
  /** none: nothing learned yet; ok: verified; corrupt: head, version or checksum wrong (state absent). */
  readonly status: "none" | "ok" | "corrupt";
  readonly state?: LearnedState;
  /** What is wrong, for the start-up report. */
  readonly problem?: string;
  /** The head's version when it could be read (the next update's parent). */
  readonly headVersion?: number;
  /** The head document's storage version (optimistic concurrency for the next write). */
  readonly headDocVersion?: number;
}

/** Checks a state's shape; throws VigilError(VIGIL_LEARNED_STATE) naming what is wrong. */
export function validateState(state: unknown): asserts state is LearnedState {
  const bad = (field: string, message: string): never => {
    throw new VigilError("VIGIL_LEARNED_STATE", `learned state: ${field} ${message}`, { field });
  };
  if (state === null || typeof state !== "object") bad("state", "is not an object");
  const s = state as Record<string, unknown>;
  if (s["schema"] !== 1) bad("schema", `must be 1, got ${JSON.stringify(s["schema"])}`);
  if (!Number.isInteger(s["version"]) || (s["version"] as number) < 1) bad("version", "must be a positive integer");
  if (s["parent"] !== null && !Number.isInteger(s["parent"])) bad("parent", "must be an integer or null");
  if (!Array.isArray(s["entries"])) bad("entries", "must be a list");
  (s["entries"] as unknown[]).forEach((entry, index) => {
    const e = entry as Record<string, unknown>;
    if (e === null || typeof e !== "object") bad(`entries[${index}]`, "is not an object");
    if (typeof e["rule"] !== "string" || typeof e["key"] !== "string" || !["entity", "peer", "bucket"].includes(e["scope"] as string)) bad(`entries[${index}]`, "needs rule, scope (entity|peer|bucket) and key");
    if (e["bucket"] !== undefined && typeof e["bucket"] !== "string") bad(`entries[${index}].bucket`, "must be the context bucket the entity lesson was learned in");
    try {
      validateAdjustment(e as never, index);
    } catch (error) {
      if (isVigilError(error)) bad(error.details.field ?? `entries[${index}]`, error.message);
      throw error;
    }
  });
  if (s["calibration"] === null || typeof s["calibration"] !== "object") bad("calibration", "must be an object");
  try {
    validateCalibration(s["calibration"] as never);
  } catch (error) {
    if (isVigilError(error)) bad(error.details.field ?? "calibration", error.message);
    throw error;
  }
}

/** Reads and verifies the current learned state. Rejects only when storage fails. */
export async function loadLearnedState(storage: Storage): Promise<LoadedState> {
  const headDoc = await storage.getDoc<StateHead>(LEARN_COLLECTION, HEAD_ID);
  if (headDoc === undefined) return { status: "none" };
  const head = headDoc.value;
  const corrupt = (problem: string, headVersion?: number): LoadedState => ({ status: "corrupt", problem, headDocVersion: headDoc.version, ...(headVersion === undefined ? {} : { headVersion }) });
  if (head === null || typeof head !== "object" || !Number.isInteger(head.version) || typeof head.checksum !== "string") return corrupt("the head document is malformed (no version or checksum)");
  const doc = await storage.getDoc<VersionDoc>(LEARN_COLLECTION, versionId(head.version));
  if (doc === undefined) return corrupt(`version ${head.version} named by the head is missing`, head.version);
  const { state, checksum } = doc.value ?? ({} as VersionDoc);
  if (state === undefined || typeof checksum !== "string") return corrupt(`version ${head.version} is malformed (no state or checksum)`, head.version);
  let actual: string;
  try {
    actual = stateChecksum(state);
  } catch (error) {
    return corrupt(`version ${head.version} cannot be hashed: ${(error as Error).message}`, head.version);
  }
  if (actual !== checksum || actual !== head.checksum) return corrupt(`version ${head.version} fails its checksum (stored ${checksum.slice(0, 12)}…, head ${head.checksum.slice(0, 12)}…, computed ${actual.slice(0, 12)}…): it was modified outside Vigil`, head.version);
  try {
    validateState(state);
  } catch (error) {
    return corrupt(`version ${head.version}: ${(error as Error).message}`, head.version);
  }
  if (state.version !== head.version) return corrupt(`version document ${head.version} holds version ${state.version}`, head.version);
  return { status: "ok", state, headVersion: head.version, headDocVersion: headDoc.version };
}

/**
 * Writes a new version and moves the head to it, in one transaction. `expectHeadDocVersion` is
 * the head document's storage version read before (0 = no head yet): VIGIL_CONFLICT when someone
 * else moved it meanwhile.
 */
export async function saveLearnedState(storage: Storage, state: LearnedState, expectHeadDocVersion: number): Promise<string> {
  validateState(state);
  const checksum = stateChecksum(state);
  await storage.putDocs([
    { collection: LEARN_COLLECTION, id: versionId(state.version), value: { state, checksum } satisfies VersionDoc, expectVersion: 0 },
    { collection: LEARN_COLLECTION, id: HEAD_ID, value: { version: state.version, checksum, at: state.createdAt } satisfies StateHead, expectVersion: expectHeadDocVersion },
  ], state.createdAt);
  return checksum;
}

/**
 * The newest `feedbackSince` (the last reset's time) among the stored versions that pass their
 * checksum: what a corrupt head cannot say. A reset's cut-off only moves forward, so the newest
 * verified one is in force; undefined when no verified version has one.
 */
export async function lastFeedbackSince(storage: Storage): Promise<string | undefined> {
  let since: string | undefined;
  let afterId: string | undefined;
  for (;;) {
    const page = await storage.listDocs<VersionDoc>(LEARN_COLLECTION, { idPrefix: "v-", limit: 1000, ...(afterId === undefined ? {} : { afterId }) });
    for (const doc of page) {
      const cut = doc.value?.state?.feedbackSince;
      if (typeof cut !== "string" || (since !== undefined && cut <= since)) continue;
      try {
        if (stateChecksum(doc.value.state) === doc.value.checksum) since = cut;
      } catch {
        // unhashable: not verified
      }
    }
    if (page.length < 1000) return since;
    afterId = page[page.length - 1]?.id;
  }
}

/**
 * When the last reset in force was (feedback before it is not learned from): the head's
 * `feedbackSince`, or, when the head is corrupt and cannot say, the newest verified version's.
 * `head` saves a read when the caller has just loaded it.
 */
export async function resetCutoff(storage: Storage, head?: LoadedState): Promise<string | undefined> {
  const loaded = head ?? (await loadLearnedState(storage));
  return loaded.status === "corrupt" ? lastFeedbackSince(storage) : loaded.state?.feedbackSince;
}

/** One version as history lists it. */
export interface VersionSummary {
  readonly version: number;
  readonly parent: number | null;
  readonly kind: string;
  readonly createdAt: string;
  readonly createdBy: string;
  readonly reason: string;
  readonly entries: number;
  readonly checksumOk: boolean;
}

/** Versions, newest first (at most `limit`). */
export async function listVersions(storage: Storage, limit = 20): Promise<VersionSummary[]> {
  const docs = await storage.listDocs<VersionDoc>(LEARN_COLLECTION, { idPrefix: "v-", limit: 100_000 });
  return docs.reverse().slice(0, limit).map((doc) => {
    const state = doc.value?.state;
    let checksumOk = false;
    try {
      checksumOk = state !== undefined && stateChecksum(state) === doc.value.checksum;
    } catch {
      checksumOk = false;
    }
    return {
      version: state?.version ?? Number(doc.id.slice(2)), parent: state?.parent ?? null, kind: state?.kind ?? "?", createdAt: state?.createdAt ?? doc.updatedAt,
      createdBy: state?.createdBy ?? "?", reason: state?.reason ?? "", entries: Array.isArray(state?.entries) ? state.entries.length : 0, checksumOk,
    };
  });
}

/** One stored version (verified), or undefined. */
export async function getVersion(storage: Storage, version: number): Promise<LearnedState | undefined> {
  const doc = await storage.getDoc<VersionDoc>(LEARN_COLLECTION, versionId(version));
  if (doc === undefined || stateChecksum(doc.value.state) !== doc.value.checksum) return undefined;
  return doc.value.state;
}
