/**
 * Scale-out worker (`vigil serve --role worker|all` with bus.kind nats): competing consumers of
 * the `events` subject in the `vigil-workers` group. Each bus message is a batch of stored
 * events (persisted by an api process before it answered); the worker processes the batch and
 * acks. A worker that dies before acking leaves the message to be redelivered to another after
 * the ack wait.
 *
 * The sweep covers the one gap the bus cannot: an api process that persisted events but died (or
 * lost the bus) before publishing them. Every `sweepIntervalMs` a worker processes accepted
 * events that have been pending longer than `staleAfterMs`.
 *
 * INVARIANT: an event is decided and observed once. A batch (from the bus or the sweep) is
 * narrowed, inside the serial section, to its events this worker can claim in the store: not
 * processed, and not claimed by another worker whose claim (`claimMs`) has not lapsed. A
 * redelivered batch that was recorded, a queued one whose events the sweep took, or events
 * another worker is deciding at this moment are acked without being decided or observed here (a
 * batch's decisions and processed marks commit in one transaction). A batch that fails keeps its
 * claim until it lapses: a redelivery to this worker renews it; any other worker's sweep takes the
 * events after it.
 */
import { randomUUID } from "node:crypto";
import { hostname } from "node:os";
import { pid } from "node:process";
import type { Bus, Clock, Storage, StoredEvent } from "../core/ports.js";
import { decodeBatch, EVENTS_SUBJECT, WORKER_GROUP } from "./ingest.js";
import type { Pipeline } from "./pipeline.js";

export interface Worker {
  start(): Promise<void>;
  stop(): Promise<void>;
  /** Runs one sweep now (tests; the timer calls it too). Returns how many events it processed. */
  sweep(): Promise<number>;
  /**
   * `events`: decided here; `alreadyProcessed`: delivered again after being recorded (skipped);
   * `claimedElsewhere`: being decided by another worker when this one got them (skipped);
   * `undecodable`: messages acked unread.
   */
  stats(): { readonly batches: number; readonly events: number; readonly swept: number; readonly alreadyProcessed: number; readonly claimedElsewhere: number; readonly undecodable: number; readonly failures: number };
}

export interface WorkerOptions {
  readonly bus: Bus;
  readonly storage: Storage;
  readonly pipeline: Pipeline;
  readonly clock: Clock;
  readonly batchSize: number;
  readonly sweepIntervalMs: number;
  readonly staleAfterMs: number;
  /** How long this worker's claim on a batch's events lasts (default 60 s); keep it above the time a batch takes. */
  readonly claimMs?: number;
  readonly onError?: (message: string, error: unknown) => void;
}

export function createWorker(options: WorkerOptions): Worker {
  const { bus, storage, pipeline, clock } = options;
  let unsubscribe: (() => Promise<void>) | undefined;
  let timer: ReturnType<typeof setInterval> | undefined;
  let chain: Promise<unknown> = Promise.resolve();
  const counts = { batches: 0, events: 0, swept: 0, alreadyProcessed: 0, claimedElsewhere: 0, undecodable: 0, failures: 0 };
  const owner = `${hostname()}:${pid}:${randomUUID().slice(0, 8)}`;
  const claimMs = options.claimMs ?? 60_000;

  /** One batch at a time per process: the context stage's caches are not shared between batches in flight. */
  const serial = <T>(work: () => Promise<T>): Promise<T> => {
    const next = chain.then(work, work);
    chain = next.catch(() => undefined);
    return next;
  };

  /** Decides the events of `events` this worker can claim; returns how many it decided. Call inside `serial`. */
  async function process(events: readonly StoredEvent[]): Promise<number> {
    const nowMs = clock.now().getTime();
    const claimed = await storage.claimEvents(events.map((stored) => stored.seq), owner, nowMs, nowMs + claimMs);
    const pending = claimed.size === events.length ? events : events.filter((stored) => claimed.has(stored.seq));
    if (pending.length < events.length) {
      const done = await storage.processedAmong(events.filter((stored) => !claimed.has(stored.seq)).map((stored) => stored.seq));
      counts.alreadyProcessed += done.size;
      counts.claimedElsewhere += events.length - pending.length - done.size;
    }
    if (pending.length === 0) return 0;
    await pipeline.processBatch(pending);
    counts.batches++;
    counts.events += pending.length;
    return pending.length;
  }

  async function sweep(): Promise<number> {
    const cutoff = clock.now().getTime() - options.staleAfterMs;
    let total = 0;
    for (;;) {
      // Read inside the serial section: a bus batch being decided meanwhile is not taken again.
      const decided = await serial(async () => {
        const stale = (await storage.pendingEvents(options.batchSize)).filter((e) => Date.parse(e.receivedAt) <= cutoff);
        return stale.length === 0 ? 0 : process(stale);
      });
      if (decided === 0) return total;
      total += decided;
      counts.swept += decided;
    }
  }

  return {
    async start() {
      unsubscribe = await bus.subscribe(EVENTS_SUBJECT, WORKER_GROUP, async (message) => {
        let batch: StoredEvent[];
        try {
          batch = decodeBatch(message.data);
        } catch (error) {
          // It would fail on every delivery: acked and reported. Its events, if any were
          // accepted, are pending in the store, where the sweep decides them once stale.
          counts.undecodable++;
          options.onError?.("a bus message on the events subject is not a batch of stored events; acked without processing (the sweep decides pending events)", error);
          await message.ack();
          return;
        }
        try {
          await serial(() => process(batch));
        } catch (error) {
          counts.failures++;
          options.onError?.(`processing a bus batch of ${batch.length} event(s) failed; it will be redelivered`, error);
          throw error;
        }
        await message.ack();
      });
      timer = setInterval(() => {
        sweep().catch((error: unknown) => {
          counts.failures++;
          options.onError?.("sweep of pending events failed", error);
        });
      }, options.sweepIntervalMs);
      timer.unref();
    },
    async stop() {
      if (timer) clearInterval(timer);
      await unsubscribe?.();
      await chain;
      await pipeline.flushContext();
    },
    sweep,
    stats: () => ({ ...counts }),
  };
}
