import type { Decision, DecisionDraft, Verdict } from "./decision.js";
import type { Tier } from "./policy.js";
import type { Event } from "./event.js";

/** Time source. Tests drive time with a manual clock so nothing sleeps. */
export interface Clock {
  now(): Date;
}

export const systemClock: Clock = { now: () => new Date() };

/** A stored event: the CloudEvent plus its position in the ingestion log. */
export interface StoredEvent {
  readonly seq: number;
  readonly event: Event;
  readonly receivedAt: string;
  /** Set once a decision for the event is recorded. */
  readonly processedAt?: string;
}

/** A raw decision-record row as stored: what `audit verify` re-hashes. */
export interface DecisionRecordRow {
  readonly seq: number;
  readonly id: string;
  /** Canonical JSON of the DecisionDraft exactly as hashed. */
  readonly body: string;
  readonly prevHash: string;
  readonly hash: string;
}

/** A JSON document in a named collection (entities, baselines, reviews, exceptions, ...). */
export interface StoredDoc<T = unknown> {
  readonly collection: string;
  readonly id: string;
  readonly value: T;
  /** Optimistic-concurrency version, incremented on every put. */
  readonly version: number;
  readonly updatedAt: string;
}

export interface DocQuery {
  /** Equality filters on top-level fields of the stored value. */
  readonly where?: Readonly<Record<string, string | number | boolean | null>>;
  /** Only ids starting with this prefix. */
  readonly idPrefix?: string;
  readonly limit?: number;
  /** Ordered by id; return ids strictly after this one. */
  readonly afterId?: string;
}

export interface DecisionQuery {
  /** Decisions with seq > afterSeq, ascending. */
  readonly afterSeq?: number;
  /** Decisions with seq < beforeSeq: with `newestFirst`, the cursor to the next (older) page. */
  readonly beforeSeq?: number;
  /** At most this many decisions, all matching every filter (filters are part of the query, not applied to a page read). */
  readonly limit?: number;
  readonly eventId?: string;
  readonly subject?: string;
  /** Decisions whose findings include this policy. */
  readonly policy?: string;
  readonly verdict?: Verdict;
  readonly tier?: Tier;
  readonly since?: string;
  readonly until?: string;
  /** Newest first instead of ascending. */
  readonly newestFirst?: boolean;
}

/** One entry of the who-did-what audit trail (not the decision record). */
export interface AuditEntry {
  readonly at: string;
  readonly actor: string;
  readonly action: string;
  readonly target?: string;
  readonly detail?: Readonly<Record<string, unknown>>;
}

/**
 * Storage port. Adapters: store/sqlite (embedded default), store/postgres. Every adapter runs
 * the one contract suite (store/storage-contract.ts).
 *
 * INVARIANTS: the decision record is append-only and hash-chained — `appendDecisions` assigns
 * seq, prevHash and hash atomically, even with several writers; events are idempotent by
 * (source, id); a resolved promise means the data is durable.
 */
export interface AppendDecisionsOptions {
  /** Events (by seq) to mark processed at `at` in the transaction that appends the decisions. */
  readonly markProcessed?: { readonly seqs: readonly number[]; readonly at: string };
}

/**
 * A decision already masked and canonicalized: its record body (canonical JSON of the masked
 * draft, without seq and hashes) and the columns the record indexes, as the store's
 * `prepareDecisions` gives them. Lets the canonical JSON be written on one thread and the chain
 * extended on another (`vigil replay --record` with a record worker).
 */
export interface CanonicalDecision {
  readonly id: string;
  readonly eventId: string;
  readonly eventType: string;
  readonly subject?: string;
  readonly timeMs: number;
  readonly body: string;
  /** Policies with a finding in the decision (the record's policy index). */
  readonly policies: readonly string[];
}

export interface Storage {
  readonly kind: string;
  init(): Promise<void>;
  close(): Promise<void>;

  /** Appends events; returns how many were new and which (source/id) were already stored. */
  appendEvents(events: readonly Event[], receivedAt: string): Promise<{ readonly stored: readonly StoredEvent[]; readonly duplicates: readonly string[] }>;
  /** Events not yet marked processed, oldest first (for restart recovery). */
  pendingEvents(limit: number): Promise<StoredEvent[]>;
  markProcessed(seqs: readonly number[], at: string): Promise<void>;
  /** Which of these events (by seq) are marked processed; unknown seqs are not. */
  processedAmong(seqs: readonly number[]): Promise<ReadonlySet<number>>;
  /**
   * Claims for `owner`, until `untilMs`, the events among `seqs` that are not processed and not
   * claimed by another owner past `nowMs` (this owner's own claims are renewed); returns the seqs
   * claimed. Scale-out workers claim a batch before deciding it, so two workers never decide and
   * observe the same event at once; a claim ends when it lapses (or the event is processed).
   */
  claimEvents(seqs: readonly number[], owner: string, nowMs: number, untilMs: number): Promise<ReadonlySet<number>>;
  listEvents(query: { readonly afterSeq?: number; readonly limit?: number; readonly type?: string }): Promise<StoredEvent[]>;
  countEvents(): Promise<number>;

  /**
   * Appends to the hash chain in order; returns the chained decisions. `markProcessed`: also marks
   * these events processed, in the same transaction (the pipeline's batch: its decisions and its
   * processed marks commit together, with one commit instead of two).
   */
  appendDecisions(drafts: readonly DecisionDraft[], options?: AppendDecisionsOptions): Promise<Decision[]>;
  /**
   * `appendDecisions` for decisions already prepared (masked, canonical): chains and stores the
   * bodies as given and returns each row's place in the chain. The caller vouches that each body
   * is the canonical JSON of its decision; `vigil audit verify` checks hashes, not that.
   */
  appendCanonicalDecisions(decisions: readonly CanonicalDecision[]): Promise<DecisionRecordRow[]>;
  getDecision(id: string): Promise<Decision | undefined>;
  listDecisions(query: DecisionQuery): Promise<Decision[]>;
  /** Raw rows in seq order, for chain verification. */
  scanDecisionRecord(afterSeq: number, limit: number): Promise<DecisionRecordRow[]>;

  getDoc<T>(collection: string, id: string): Promise<StoredDoc<T> | undefined>;
  getDocs<T>(collection: string, ids: readonly string[]): Promise<StoredDoc<T>[]>;
  /**
   * Upserts documents in one transaction. With `expectVersion` set, fails with VIGIL_CONFLICT
   * when the stored version differs (0 = must not exist).
   */
  putDocs(docs: readonly { readonly collection: string; readonly id: string; readonly value: unknown; readonly expectVersion?: number }[], at: string): Promise<void>;
  deleteDoc(collection: string, id: string): Promise<boolean>;
  listDocs<T>(collection: string, query?: DocQuery): Promise<StoredDoc<T>[]>;

  appendAudit(entries: readonly AuditEntry[]): Promise<void>;
  listAudit(query: { readonly limit?: number; readonly actor?: string; readonly since?: string }): Promise<AuditEntry[]>;
}

export interface BusMessage {
  readonly subject: string;
  readonly data: Uint8Array;
  /** Redelivery count (0 on first delivery). */
  readonly redelivered: number;
  ack(): Promise<void>;
  /** Ask for redelivery later. */
  nak(delayMs?: number): Promise<void>;
}

/**
 * Bus port: publish/subscribe with ack. Adapters: bus/memory (embedded default),
 * bus/nats (JetStream). At-least-once: an un-acked message is redelivered.
 */
export interface Bus {
  readonly kind: string;
  init(): Promise<void>;
  close(): Promise<void>;
  /** Resolves once the bus has durably accepted the message. */
  publish(subject: string, data: Uint8Array): Promise<void>;
  /**
   * The largest `data` publish takes, in bytes, leaving room for what the bus adds (NATS: the
   * server's max_payload less its headers); undefined: no limit (the memory bus).
   */
  readonly maxMessageBytes?: number | undefined;
  /**
   * Competing consumers share `group`: each message goes to one of them. Returns a function
   * that stops the subscription.
   */
  subscribe(subject: string, group: string, handler: (message: BusMessage) => Promise<void>): Promise<() => Promise<void>>;
}

export interface LlmMessage {
  readonly role: "system" | "user" | "assistant";
  readonly content: string;
}

/** LLM port. The offline default writes explanations from templates; it never calls out. */
export interface LlmProvider {
  readonly name: string;
  complete(messages: readonly LlmMessage[], options?: { readonly schema?: Readonly<Record<string, unknown>>; readonly maxTokens?: number; readonly signal?: AbortSignal }): Promise<{ readonly text: string; readonly json?: unknown }>;
}
