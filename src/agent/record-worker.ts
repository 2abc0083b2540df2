/**
 * The decision record, appended from a worker thread. A durable append blocks its thread for the
 * storage transaction (an fsync with SQLite, milliseconds on a busy disk) and the canonical JSON
 * and hashing of every draft; done on the thread that decides, it would stall every review in
 * flight (admission) or the stream (replay). The worker opens its own connection to the
 * configured store (the decision record takes several writers: the chain is extended
 * atomically) and appends what it receives:
 *
 * - `createWorkerDecisionRecorder`: one draft at a time, group-committed (decision-recorder.ts),
 *   each answered with its position in the chain (the admission webhooks);
 * - `createBulkDecisionRecorder`: batches in order, with backpressure, answered per batch
 *   (`vigil replay --record`), falling back to appending on the calling thread where a worker
 *   cannot open the store (an in-memory SQLite).
 *
 * Worker thread: this module's entry.
 */
import { existsSync } from "node:fs";
import { availableParallelism } from "node:os";
import { fileURLToPath } from "node:url";
import { isMainThread, parentPort, Worker, workerData } from "node:worker_threads";
import { maskConfigOf, openStorage } from "./adapters.js";
import type { VigilConfig } from "../config.js";
import type { Decision, DecisionDraft } from "../core/decision.js";
import { VigilError } from "../core/errors.js";
import type { CanonicalDecision } from "../core/ports.js";
import { compileMask, prepareDecisions } from "../store/index.js";
import { createDecisionRecorder, type DecisionRecorder } from "./decision-recorder.js";

/** What the worker needs to open the store (plain data, copied to the worker). */
export type RecordStoreSettings = Pick<VigilConfig, "store" | "decisionLog">;

/**
 * Drafts travel as JSON text (cheaper for the HTTP thread than a structured clone of the object
 * graph), and both directions batch what one turn of the event loop produced into one message:
 * a message between threads costs more than the text it carries.
 */
type ToWorker =
  | { readonly type: "record"; readonly items: readonly { readonly ticket: number; readonly draft: string }[] }
  /**
   * Bulk: decisions masked and canonicalized by the sender (prepareDecisions), so the worker only
   * hashes and stores them. A body is one flat string, which crosses threads as a copy of its
   * characters; a draft's object graph had to be cloned and rebuilt on the worker before it could
   * be written out again (see createBulkDecisionRecorder).
   */
  | { readonly type: "batch"; readonly ticket: number; readonly decisions: readonly CanonicalDecision[] }
  | { readonly type: "close" };
type Outcome =
  | { readonly ticket: number; readonly seq: number; readonly prevHash: string; readonly hash: string }
  | { readonly ticket: number; readonly code: string; readonly message: string };
type FromWorker =
  | { readonly type: "ready" }
  | { readonly type: "outcomes"; readonly items: readonly Outcome[] }
  | { readonly type: "closed" }
  | { readonly type: "fatal"; readonly message: string };

/** Collects items and hands them over once per turn of the event loop. */
function batcher<T>(flush: (items: T[]) => void): (item: T) => void {
  let items: T[] = [];
  return (item) => {
    if (items.length === 0) {
      setImmediate(() => {
        const batch = items;
        items = [];
        flush(batch);
      });
    }
    items.push(item);
  };
}

export interface WorkerDecisionRecorder extends DecisionRecorder {
  /**
   * `record` for a caller that does not need the chained decision back: resolves with the
   * decision's position in the chain once durable, and keeps no reference to the draft meanwhile
   * (it travels as JSON text), so a draft can be collected as soon as its caller lets it go
   * instead of surviving young-generation collections until the worker answers.
   */
  append(draft: DecisionDraft): Promise<ChainPosition>;
  /** Appends what is queued, closes the worker's store and stops the worker. */
  close(): Promise<void>;
}

/** Where a decision landed in the chain. */
export interface ChainPosition {
  readonly seq: number;
  readonly prevHash: string;
  readonly hash: string;
}

/** True when the store can be opened a second time from a worker (not an in-memory SQLite). */
export function workerCanRecord(settings: RecordStoreSettings): boolean {
  return settings.store.kind === "postgres" || (settings.store.path !== ":memory:" && settings.store.path !== "");
}

/**
 * Starts the worker on this module: the compiled .js, or — running from the TypeScript sources
 * (tests, benchmarks) — the .ts file through tsx's loader, registered inside the worker thread.
 */
function startWorker(settings: RecordStoreSettings): Worker {
  const here = new URL(import.meta.url);
  const compiled = new URL(here.href.replace(/\.ts$/, ".js"));
  if (here.pathname.endsWith(".js") || existsSync(fileURLToPath(compiled))) return new Worker(compiled, { workerData: { settings } });
  const boot = `(async () => { const { register } = await import("tsx/esm/api"); register(); await import(${JSON.stringify(here.href)}); })().catch((error) => { require("node:worker_threads").parentPort.postMessage({ type: "fatal", message: String(error && error.stack || error) }); });`;
  return new Worker(boot, { eval: true, workerData: { settings } });
}

interface WorkerLink {
  /** Sends a message whose answer is the outcome of `ticket`. */
  send(message: ToWorker): void;
  /** A fresh ticket and the promise of its outcome. */
  expect(): { ticket: number; outcome: Promise<Extract<Outcome, { hash: string }>> };
  readonly pending: () => number;
  dead(): Error | undefined;
  close(): Promise<void>;
}

/** Starts the worker and resolves once its store is open; outcomes are matched to tickets. */
async function linkWorker(settings: RecordStoreSettings): Promise<WorkerLink> {
  const worker = startWorker(settings);
  const pending = new Map<number, { resolve(o: Extract<Outcome, { hash: string }>): void; reject(e: unknown): void }>();
  let ticket = 0;
  let dead: Error | undefined;
  let closed: (() => void) | undefined;
  const failAll = (error: Error): void => {
    dead = error;
    for (const waiting of pending.values()) waiting.reject(error);
    pending.clear();
  };
  await new Promise<void>((resolve, reject) => {
    worker.on("message", (message: FromWorker) => {
      switch (message.type) {
        case "ready": resolve(); break;
        case "outcomes":
          for (const outcome of message.items) {
            const waiting = pending.get(outcome.ticket);
            pending.delete(outcome.ticket);
            if ("hash" in outcome) waiting?.resolve(outcome);
            else waiting?.reject(new VigilError(outcome.code as VigilError["code"], outcome.message));
          }
          if (pending.size === 0) worker.unref();
          break;
        case "closed": closed?.(); break;
        case "fatal": {
          const error = new VigilError("VIGIL_STORAGE", `decision record worker: ${message.message}`);
          failAll(error);
          reject(error);
          break;
        }
      }
    });
    worker.on("error", (error) => {
      failAll(error);
      reject(error);
    });
    worker.on("exit", (code) => {
      if (!dead) failAll(new VigilError("VIGIL_STORAGE", `decision record worker exited (code ${code})`));
      closed?.();
    });
  });
  // The worker keeps the process alive only while appends are pending.
  worker.unref();
  return {
    send: (message) => worker.postMessage(message),
    expect() {
      const id = ++ticket;
      if (pending.size === 0) worker.ref();
      const outcome = new Promise<Extract<Outcome, { hash: string }>>((resolve, reject) => {
        if (dead) reject(dead);
        else pending.set(id, { resolve, reject });
      });
      return { ticket: id, outcome };
    },
    pending: () => pending.size,
    dead: () => dead,
    async close() {
      // INVARIANT: every draft handed over is answered before the worker closes its store.
      while (pending.size > 0 && !dead) await new Promise((resolve) => setTimeout(resolve, 5));
      if (dead) return;
      const done = new Promise<void>((resolve) => { closed = resolve; });
      worker.ref();
      worker.postMessage({ type: "close" } satisfies ToWorker);
      await done;
      await worker.terminate();
    },
  };
}

/**
 * Starts the worker and resolves once its store is open. `record` resolves with the chained
 * decision once it is durable, in call order; rejects with the append's error (VigilError codes
 * are kept) or when the worker dies.
 */
export async function createWorkerDecisionRecorder(settings: RecordStoreSettings): Promise<WorkerDecisionRecorder> {
  const link = await linkWorker(settings);
  const send = batcher<{ ticket: number; draft: string }>((items) => link.send({ type: "record", items }));
  const append = (draft: DecisionDraft): Promise<ChainPosition> => {
    const dead = link.dead();
    if (dead) return Promise.reject(dead);
    const { ticket, outcome } = link.expect();
    send({ ticket, draft: JSON.stringify(draft) });
    return outcome.then((o) => ({ seq: o.seq, prevHash: o.prevHash, hash: o.hash }));
  };
  return {
    record(draft) {
      return append(draft).then((o) => ({ ...draft, seq: o.seq, prevHash: o.prevHash, hash: o.hash }));
    },
    append,
    async idle() {
      while (link.pending() > 0 && !link.dead()) await new Promise((resolve) => setTimeout(resolve, 5));
    },
    close: () => link.close(),
  };
}

/** Appends decisions in batches, in order, off the calling thread where it can. */
export interface BulkDecisionRecorder {
  /** Where the appends run: `worker` (a thread of their own) or `thread` (the caller's). */
  readonly mode: "worker" | "thread";
  /**
   * Queues a draft; every `batchSize` drafts go to the store as one transaction. Resolves at once
   * unless `maxInFlight` batches are not durable yet (then when one is: backpressure). Rejects
   * with the error of an earlier batch.
   */
  add(draft: DecisionDraft): Promise<void>;
  /** Appends what is queued; resolves once every batch is durable, rejects with the first error. */
  flush(): Promise<void>;
  /** `flush`, then closes the store (and stops the worker). */
  close(): Promise<void>;
}

/** `worker` with two or more cores, `caller` on one (see createBulkDecisionRecorder). */
export function defaultRecordThread(): "worker" | "caller" {
  return availableParallelism() >= 2 ? "worker" : "caller";
}

export interface BulkRecorderOptions {
  /** Drafts per transaction; default 1000. */
  readonly batchSize?: number;
  /** Batches handed over and not yet durable before `add` waits; default 4. */
  readonly maxInFlight?: number;
  /** `worker` or `caller` (append on the calling thread); default `defaultRecordThread()`. */
  readonly thread?: "worker" | "caller";
}

/**
 * A bulk recorder for `settings`: a worker thread when asked (`thread`, default
 * `defaultRecordThread()`), the store can be opened a second time (`workerCanRecord`) and the
 * worker starts; otherwise appends on this thread. The decision
 * ids of the drafts must be unique (a duplicate fails its batch with VIGIL_CONFLICT).
 */
export async function createBulkDecisionRecorder(config: RecordStoreSettings, options: BulkRecorderOptions = {}): Promise<BulkDecisionRecorder> {
  // Only what the worker needs crosses to it (a whole configuration may not be cloneable).
  const settings: RecordStoreSettings = { store: config.store, decisionLog: config.decisionLog };
  const batchSize = options.batchSize ?? 1000;
  const maxInFlight = options.maxInFlight ?? 4;
  let link: WorkerLink | undefined;
  // The worker pays for itself only with a core to spare: it adds a second heap (and its GC
  // threads) and the hand-over. The drafts are masked and canonicalized here and cross as flat
  // text, so the worker only hashes and stores. 100k-event `vigil replay --no-context --record`
  // on the 2-core development machine (2026-11-27): 4.9-5.8 s wall and 7.4-7.7 s CPU with the
  // worker, 6.4-7.0 s wall and 7.9-8.1 s CPU on the caller's thread; with the other core kept busy,
  // 7.2 s against 7.5-7.9 s. (When the worker received structured clones of the drafts and
  // canonicalized them itself, it was the slower thread: 0.85-0.9x on a busy machine.)
  if (workerCanRecord(settings) && (options.thread ?? defaultRecordThread()) === "worker") {
    try {
      link = await linkWorker(settings);
    } catch {
      link = undefined;
    }
  }
  const storage = link ? undefined : await openStorage(settings);
  const maskConfig = maskConfigOf(settings);
  const mask = link && maskConfig ? compileMask(maskConfig) : undefined;
  let queue: DecisionDraft[] = [];
  const inFlight: Promise<unknown>[] = [];
  let failure: unknown;
  const watch = (append: Promise<unknown>): void => {
    const tracked = append.then(
      () => { inFlight.splice(inFlight.indexOf(tracked), 1); },
      (error: unknown) => { failure ??= error; inFlight.splice(inFlight.indexOf(tracked), 1); },
    );
    inFlight.push(tracked);
  };
  const handOver = (): void => {
    if (queue.length === 0) return;
    const drafts = queue;
    queue = [];
    if (link) {
      let decisions: CanonicalDecision[];
      try {
        decisions = prepareDecisions(drafts, mask).map(canonicalOf);
      } catch (error) {
        watch(Promise.reject(error));
        return;
      }
      const { ticket, outcome } = link.expect();
      link.send({ type: "batch", ticket, decisions });
      watch(outcome);
    } else {
      // INVARIANT: on this thread, batches are appended one after the other, in order; none after
      // a batch that failed (the record must not go on past a hole).
      const previous = inFlight[inFlight.length - 1] ?? Promise.resolve();
      watch(previous.then(() => {
        if (failure !== undefined) throw failure;
        return (storage as NonNullable<typeof storage>).appendDecisions(drafts);
      }));
    }
  };
  const flush = async (): Promise<void> => {
    handOver();
    while (inFlight.length > 0) await Promise.all([...inFlight]);
    if (failure !== undefined) throw failure;
  };
  return {
    mode: link ? "worker" : "thread",
    async add(draft) {
      if (failure !== undefined) throw failure;
      queue.push(draft);
      if (queue.length < batchSize) return;
      handOver();
      while (inFlight.length >= maxInFlight) await Promise.race(inFlight);
      if (failure !== undefined) throw failure;
    },
    flush,
    async close() {
      try {
        await flush();
      } finally {
        if (link) await link.close();
        else await storage?.close();
      }
    },
  };
}

/** The part of a prepared decision the worker stores (not the masked draft it was written from). */
function canonicalOf(prepared: CanonicalDecision): CanonicalDecision {
  return {
    id: prepared.id,
    eventId: prepared.eventId,
    eventType: prepared.eventType,
    ...(prepared.subject === undefined ? {} : { subject: prepared.subject }),
    timeMs: prepared.timeMs,
    body: prepared.body,
    policies: prepared.policies,
  };
}

async function runWorker(): Promise<void> {
  const port = parentPort;
  if (!port) return;
  const { settings } = workerData as { settings: RecordStoreSettings };
  let recorder: DecisionRecorder;
  let append: (drafts: readonly DecisionDraft[]) => Promise<Decision[]>;
  let appendCanonical: (decisions: readonly CanonicalDecision[]) => Promise<readonly { readonly seq: number; readonly prevHash: string; readonly hash: string }[]>;
  let close: () => Promise<void>;
  try {
    const storage = await openStorage(settings);
    append = (drafts) => storage.appendDecisions(drafts);
    appendCanonical = (decisions) => storage.appendCanonicalDecisions(decisions);
    recorder = createDecisionRecorder(append);
    close = () => storage.close();
  } catch (error) {
    port.postMessage({ type: "fatal", message: error instanceof Error ? error.message : String(error) } satisfies FromWorker);
    return;
  }
  const answer = batcher<Outcome>((items) => port.postMessage({ type: "outcomes", items } satisfies FromWorker));
  // Bulk batches are appended one after the other, in the order they arrived; none after one
  // that failed (each later one is answered with that failure).
  let bulk: Promise<void> = Promise.resolve();
  let bulkFailure: unknown;
  port.on("message", (message: ToWorker) => {
    if (message.type === "batch") {
      const { ticket, decisions } = message;
      bulk = bulk.then(() => {
        if (bulkFailure !== undefined) throw bulkFailure;
        return appendCanonical(decisions);
      }).then(
        (rows) => {
          const last = rows[rows.length - 1];
          answer({ ticket, seq: last?.seq ?? 0, prevHash: last?.prevHash ?? "", hash: last?.hash ?? "" });
        },
        (error: unknown) => {
          bulkFailure ??= error;
          answer({ ticket, code: error instanceof VigilError ? error.code : "VIGIL_STORAGE", message: error instanceof Error ? error.message : String(error) });
        },
      );
    } else if (message.type === "record") {
      for (const { ticket, draft } of message.items) {
        recorder.record(JSON.parse(draft) as DecisionDraft).then(
          (d) => answer({ ticket, seq: d.seq, prevHash: d.prevHash, hash: d.hash }),
          (error: unknown) => answer({ ticket, code: error instanceof VigilError ? error.code : "VIGIL_STORAGE", message: error instanceof Error ? error.message : String(error) }),
        );
      }
    } else {
      void Promise.all([recorder.idle(), bulk]).then(close).finally(() => port.postMessage({ type: "closed" } satisfies FromWorker));
    }
  });
  port.postMessage({ type: "ready" } satisfies FromWorker);
}

if (!isMainThread && (workerData as { settings?: unknown } | null)?.settings !== undefined) void runWorker();
