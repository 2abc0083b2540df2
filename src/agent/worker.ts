/**
 * Scale-out worker (`vigil serve --role worker|all` with bus.kind nats): competing consumers of
 * the `events` subject in the `vigil-workers` group. Each bus message is a batch of stored
 * events (persisted by an api process before it answered); the worker processes the batch and
 * acks. A worker that dies before acking leaves the message to be redelivered to another after
 * the ack wait; processing it twice records nothing twice (deterministic decision ids).
 *
 * The sweep covers the one gap the bus cannot: an api process that persisted events but died (or
 * lost the bus) before publishing them. Every `sweepIntervalMs` a worker processes accepted
 * events that have been pending longer than `staleAfterMs`.
 */
import type { Bus, Clock, Storage, StoredEvent } from "../core/ports.js";
import { decodeBatch, EVENTS_SUBJECT, WORKER_GROUP } from "./ingest.js";
import type { Pipeline } from "./pipeline.js";

export interface Worker {
  start(): Promise<void>;
  stop(): Promise<void>;
  /** Runs one sweep now (tests; the timer calls it too). Returns how many events it processed. */
  sweep(): Promise<number>;
  stats(): { readonly batches: number; readonly events: number; readonly swept: number; readonly failures: number };
}

export interface WorkerOptions {
  readonly bus: Bus;
  readonly storage: Storage;
  readonly pipeline: Pipeline;
  readonly clock: Clock;
  readonly batchSize: number;
  readonly sweepIntervalMs: number;
  readonly staleAfterMs: number;
  readonly onError?: (message: string, error: unknown) => void;
}

export function createWorker(options: WorkerOptions): Worker {
  const { bus, storage, pipeline, clock } = options;
  let unsubscribe: (() => Promise<void>) | undefined;
  let timer: ReturnType<typeof setInterval> | undefined;
  let chain: Promise<unknown> = Promise.resolve();
  const counts = { batches: 0, events: 0, swept: 0, failures: 0 };

  /** One batch at a time per process: the context stage's caches are not shared between batches in flight. */
  const serial = <T>(work: () => Promise<T>): Promise<T> => {
    const next = chain.then(work, work);
    chain = next.catch(() => undefined);
    return next;
  };

  const process = (events: readonly StoredEvent[]): Promise<void> => serial(async () => {
    await pipeline.processBatch(events);
    counts.batches++;
    counts.events += events.length;
  });

  async function sweep(): Promise<number> {
    const cutoff = clock.now().getTime() - options.staleAfterMs;
    let total = 0;
    for (;;) {
      const stale = (await storage.pendingEvents(options.batchSize)).filter((e) => Date.parse(e.receivedAt) <= cutoff);
      if (stale.length === 0) return total;
      await process(stale);
      total += stale.length;
      counts.swept += stale.length;
    }
  }

  return {
    async start() {
      unsubscribe = await bus.subscribe(EVENTS_SUBJECT, WORKER_GROUP, async (message) => {
        const batch = decodeBatch(message.data);
        try {
          await process(batch);
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
