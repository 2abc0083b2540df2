import type { Decision, DecisionDraft } from "../core/decision.js";
import { VigilError } from "../core/errors.js";
import type { Event } from "../core/event.js";
import type { AuditEntry, Clock, DecisionRecordRow, DocQuery, Storage, StoredDoc, StoredEvent } from "../core/ports.js";

/**
 * Test doubles for the context stage's unit tests and bench: a manual clock and an in-memory
 * Storage that implements the document and audit parts of the port (what the context stage
 * uses) and counts calls. Other methods throw: the context stage must not need them.
 */
export interface ManualClock extends Clock {
  set(time: string | number): void;
  advance(ms: number): void;
}

export function createManualClock(start: string | number): ManualClock {
  let now = typeof start === "number" ? start : Date.parse(start);
  return {
    now: () => new Date(now),
    set(time) {
      now = typeof time === "number" ? time : Date.parse(time);
    },
    advance(ms) {
      now += ms;
    },
  };
}

export interface MemoryDocStorage extends Storage {
  readonly calls: { getDocs: number; putDocs: number; docsWritten: number };
  readonly audit: AuditEntry[];
  /** Makes the next putDocs calls fail (to test flush failure). */
  failWrites: boolean;
}

function unsupported(name: string): never {
  throw new VigilError("VIGIL_INTERNAL", `memory doc storage: ${name} is not implemented in this test double`);
}

export function createMemoryDocStorage(): MemoryDocStorage {
  const collections = new Map<string, Map<string, StoredDoc>>();
  const audit: AuditEntry[] = [];
  const calls = { getDocs: 0, putDocs: 0, docsWritten: 0 };
  const collection = (name: string): Map<string, StoredDoc> => {
    let docs = collections.get(name);
    if (!docs) collections.set(name, (docs = new Map()));
    return docs;
  };
  // Values are stored as JSON text, as a real adapter would, so nothing shares references.
  const clone = <T>(value: T): T => JSON.parse(JSON.stringify(value)) as T;
  const storage: MemoryDocStorage = {
    kind: "memory-docs",
    calls,
    audit,
    failWrites: false,
    init: async () => {},
    close: async () => {},
    appendEvents: async (_events: readonly Event[]) => unsupported("appendEvents"),
    pendingEvents: async (): Promise<StoredEvent[]> => unsupported("pendingEvents"),
    markProcessed: async () => unsupported("markProcessed"),
    processedAmong: async () => unsupported("processedAmong"),
    claimEvents: async () => unsupported("claimEvents"),
    listEvents: async (): Promise<StoredEvent[]> => unsupported("listEvents"),
    countEvents: async () => unsupported("countEvents"),
    appendDecisions: async (_drafts: readonly DecisionDraft[]): Promise<Decision[]> => unsupported("appendDecisions"),
    appendCanonicalDecisions: async (): Promise<DecisionRecordRow[]> => unsupported("appendCanonicalDecisions"),
    getDecision: async () => unsupported("getDecision"),
    listDecisions: async (): Promise<Decision[]> => unsupported("listDecisions"),
    scanDecisionRecord: async (): Promise<DecisionRecordRow[]> => unsupported("scanDecisionRecord"),
    async getDoc<T>(name: string, id: string) {
      const doc = collection(name).get(id);
      return doc ? (clone(doc) as StoredDoc<T>) : undefined;
    },
    async getDocs<T>(name: string, ids: readonly string[]) {
      calls.getDocs++;
      const docs = collection(name);
      return ids.flatMap((id) => {
        const doc = docs.get(id);
        return doc ? [clone(doc) as StoredDoc<T>] : [];
      });
    },
    async putDocs(docs, at) {
      calls.putDocs++;
      if (storage.failWrites) throw new VigilError("VIGIL_STORAGE", "memory doc storage: writes are failing (test)");
      for (const doc of docs) {
        const current = collection(doc.collection).get(doc.id);
        if (doc.expectVersion !== undefined && (current?.version ?? 0) !== doc.expectVersion) {
          throw new VigilError("VIGIL_CONFLICT", `${doc.collection}/${doc.id}: version ${current?.version ?? 0}, expected ${doc.expectVersion}`);
        }
      }
      for (const doc of docs) {
        const current = collection(doc.collection).get(doc.id);
        collection(doc.collection).set(doc.id, { collection: doc.collection, id: doc.id, value: clone(doc.value), version: (current?.version ?? 0) + 1, updatedAt: at });
        calls.docsWritten++;
      }
    },
    async deleteDoc(name, id) {
      return collection(name).delete(id);
    },
    async listDocs<T>(name: string, query: DocQuery = {}) {
      let docs = [...collection(name).values()].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
      if (query.idPrefix) docs = docs.filter((doc) => doc.id.startsWith(query.idPrefix as string));
      if (query.afterId) docs = docs.filter((doc) => doc.id > (query.afterId as string));
      if (query.where) {
        const where = query.where;
        docs = docs.filter((doc) => Object.entries(where).every(([field, value]) => (doc.value as Record<string, unknown>)[field] === value));
      }
      return docs.slice(0, query.limit ?? docs.length).map((doc) => clone(doc) as StoredDoc<T>);
    },
    async appendAudit(entries) {
      audit.push(...entries);
    },
    async listAudit(query) {
      return audit.filter((entry) => (!query.actor || entry.actor === query.actor) && (!query.since || entry.at >= query.since)).slice(-(query.limit ?? audit.length));
    },
  };
  return storage;
}
