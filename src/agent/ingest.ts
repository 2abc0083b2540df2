/**
 * Accepting events: persist first, acknowledge second, process after.
 *
 * `accept(events)` reserves room in a bounded queue (or fails with VIGIL_BACKPRESSURE — the API
 * answers 429 with Retry-After — before anything is written), appends the events to storage
 * (durable when it resolves; duplicates by (source, id) are reported, not re-processed), then
 * hands the new ones to the dispatcher: the local worker loop (embedded mode) or the bus
 * (scale-out api role). Nothing accepted is dropped: an event the loop could not process stays
 * pending in storage and is processed on the next start (`recover`).
 *
 * A batch that fails is retried after a delay that doubles with each failure in a row (from
 * `retryDelayMs`, at most 30 s; new events do not cut it short), its events one at a time, so one
 * event that cannot be decided does not hold the others back: after `maxAttempts` failures alone
 * (with the store answering) it is left pending in storage, reported, and the loop goes on.
 */
import { VigilError } from "../core/errors.js";
import type { Event } from "../core/event.js";
import type { Bus, Clock, Storage, StoredEvent } from "../core/ports.js";
import type { Pipeline } from "./pipeline.js";

export const EVENTS_SUBJECT = "events";
export const WORKER_GROUP = "vigil-workers";

export interface AcceptResult {
  readonly stored: readonly StoredEvent[];
  /** `source/id` of events that were already stored (not processed again). */
  readonly duplicates: readonly string[];
}

export interface IngestStats {
  readonly queued: number;
  readonly capacity: number;
  readonly processing: number;
  readonly processed: number;
  readonly failures: number;
  readonly recovering: boolean;
  readonly lastError?: string;
}

export interface Ingestor {
  /** Persists, then queues; VIGIL_BACKPRESSURE when the queue has no room for all of them. */
  accept(events: readonly Event[]): Promise<AcceptResult>;
  /** Processes pending (accepted, unprocessed) events from storage, then runs the queue. */
  start(): Promise<void>;
  /** Resolves when the queue is empty and no batch is running (tests, `vigil ingest --direct`). */
  idle(): Promise<void>;
  stats(): IngestStats;
  /** Stops taking batches, waits for the running one, writes learned state. Pending events stay pending. */
  stop(): Promise<void>;
}

export interface IngestorOptions {
  readonly storage: Storage;
  readonly pipeline: Pipeline;
  readonly clock: Clock;
  readonly capacity: number;
  readonly batchSize: number;
  /** `local`: process in this process; `publish`: hand batches to the bus (api role). */
  readonly mode: "local" | "publish";
  readonly bus?: Bus;
  readonly onError?: (message: string, error: unknown) => void;
  /** Delay before retrying a batch that failed (storage down); doubles with each failure in a row, up to 30 s. Default 1000 ms. */
  readonly retryDelayMs?: number;
  /** Failed attempts of one event on its own before it is left pending (for the next start). Default 5. */
  readonly maxAttempts?: number;
}

const encoder = new TextEncoder();
/** Quiet time after which learned baselines are written when the queue is empty. */
const IDLE_FLUSH_MS = 1_000;
/** Longest wait between retries of a failing batch. */
const MAX_RETRY_DELAY_MS = 30_000;

/** The bus message of a batch of stored events. */
export function encodeBatch(events: readonly StoredEvent[]): Uint8Array {
  return encoder.encode(JSON.stringify(events));
}

/**
 * The bus messages of a batch: one when it fits `maxBytes` (or there is no limit), otherwise the
 * batch cut in order into consecutive runs whose message fits. An event too large for a message
 * on its own goes alone (the bus refuses it, and the sweep processes it).
 */
export function batchMessages(events: readonly StoredEvent[], maxBytes: number | undefined): { readonly data: Uint8Array; readonly count: number }[] {
  const whole = encodeBatch(events);
  if (maxBytes === undefined || whole.length <= maxBytes || events.length <= 1) return [{ data: whole, count: events.length }];
  const messages: { data: Uint8Array; count: number }[] = [];
  let run: StoredEvent[] = [];
  let runBytes = 2; // "[" and "]"
  for (const stored of events) {
    const bytes = encoder.encode(JSON.stringify(stored)).length + 1; // and its comma
    if (run.length > 0 && runBytes + bytes > maxBytes) {
      messages.push({ data: encodeBatch(run), count: run.length });
      run = [];
      runBytes = 2;
    }
    run.push(stored);
    runBytes += bytes;
  }
  if (run.length > 0) messages.push({ data: encodeBatch(run), count: run.length });
  return messages;
}

/** Reads a batch message; throws VIGIL_BAD_EVENT naming what is wrong (not JSON, not a batch, an item without seq/event/receivedAt). */
export function decodeBatch(data: Uint8Array): StoredEvent[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(new TextDecoder().decode(data)) as unknown;
  } catch (error) {
    throw new VigilError("VIGIL_BAD_EVENT", `bus message is not JSON: ${error instanceof Error ? error.message : String(error)}`);
  }
  if (!Array.isArray(parsed)) throw new VigilError("VIGIL_BAD_EVENT", "bus message is not a batch of stored events");
  parsed.forEach((item: unknown, index) => {
    const stored = item as Partial<StoredEvent> | null;
    if (stored === null || typeof stored !== "object" || !Number.isSafeInteger(stored.seq)) throw new VigilError("VIGIL_BAD_EVENT", `bus message [${index}].seq: expected the stored event's integer seq`);
    const event = stored.event as Partial<Event> | undefined;
    if (event === null || typeof event !== "object" || typeof event.id !== "string" || typeof event.source !== "string" || typeof event.type !== "string") throw new VigilError("VIGIL_BAD_EVENT", `bus message [${index}].event: expected a CloudEvent with id, source and type`);
    if (typeof stored.receivedAt !== "string") throw new VigilError("VIGIL_BAD_EVENT", `bus message [${index}].receivedAt: expected the time the event was accepted`);
  });
  return parsed as StoredEvent[];
}

export function createIngestor(options: IngestorOptions): Ingestor {
  const { storage, pipeline, clock, capacity, batchSize } = options;
  const retryDelayMs = options.retryDelayMs ?? 1_000;
  const maxAttempts = Math.max(1, options.maxAttempts ?? 5);
  const queue: StoredEvent[] = [];
  const queuedSeqs = new Set<number>();
  /**
   * Seqs the recovery read from storage and took. An accept whose insert is committed before the
   * store answers it (a networked store) can have its events read by the recovery first: the
   * accept then does not queue them again (they would be decided twice). Kept while the recovery
   * runs or an accept is in flight.
   */
  const recoveredSeqs = new Set<number>();
  let reserved = 0;
  let processing = 0;
  let processed = 0;
  let failures = 0;
  let lastError: string | undefined;
  let running = false;
  let stopping = false;
  let recovering = false;
  let learned = false;
  let wake: (() => void) | undefined;
  /** Ends a retry delay: only `stop` does (new events must not cut it short). */
  let interrupt: (() => void) | undefined;
  /** Failed batches in a row (the retry delay doubles with each). */
  let failedInARow = 0;
  /** After a batch failed: how many of the next events are tried one at a time (to find the one at fault). */
  let isolate = 0;
  /** Failed attempts of single events (by seq). */
  const attempts = new Map<number, number>();
  /** Events that failed `maxAttempts` times alone: left pending in storage for the next start. */
  const setAside = new Set<number>();
  let lastFailure: unknown;
  let loop: Promise<void> | undefined;
  const idleWaiters: (() => void)[] = [];
  // Publish mode: in-flight publishes count against the capacity too.
  let publishing = 0;

  const report = (message: string, error: unknown): void => {
    lastError = `${message}: ${error instanceof Error ? error.message : String(error)}`;
    options.onError?.(message, error);
  };

  const isIdle = (): boolean => queue.length === 0 && processing === 0 && !recovering && publishing === 0;
  const notifyIdle = (): void => {
    if (!isIdle()) return;
    for (const resolve of idleWaiters.splice(0)) resolve();
  };

  const sleep = (ms: number): Promise<void> => new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    wake = () => {
      clearTimeout(timer);
      resolve();
    };
  });

  const retrySleep = (ms: number): Promise<void> => new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    interrupt = () => {
      clearTimeout(timer);
      resolve();
    };
  });

  async function runBatch(batch: StoredEvent[]): Promise<boolean> {
    processing = batch.length;
    try {
      await pipeline.processBatch(batch);
      processed += batch.length;
      return true;
    } catch (error) {
      failures++;
      lastFailure = error;
      report(`processing ${batch.length} event(s) failed; they stay pending and are retried`, error);
      return false;
    } finally {
      processing = 0;
    }
  }

  /** True when the store answers a read (a failure is then the event's, not the store's). */
  async function storeAnswers(): Promise<boolean> {
    try {
      await storage.pendingEvents(1);
      return true;
    } catch {
      return false;
    }
  }

  /**
   * Processes the head of `candidates` (a batch, or one event while isolating after a failure).
   * Returns how many of them are done: processed, or left pending for good after `maxAttempts`
   * failures alone; 0 after a failure (having waited the retry delay, unless stopping).
   */
  async function step(candidates: readonly StoredEvent[]): Promise<number> {
    const batch = candidates.slice(0, isolate > 0 ? 1 : batchSize);
    if (await runBatch(batch)) {
      failedInARow = 0;
      isolate = Math.max(0, isolate - batch.length);
      for (const e of batch) attempts.delete(e.seq);
      return batch.length;
    }
    failedInARow++;
    if (batch.length > 1) {
      isolate = batch.length;
    } else {
      const only = batch[0] as StoredEvent;
      const count = (attempts.get(only.seq) ?? 0) + 1;
      attempts.set(only.seq, count);
      if (count >= maxAttempts && (await storeAnswers())) {
        attempts.delete(only.seq);
        setAside.add(only.seq);
        isolate = Math.max(0, isolate - 1);
        report(`event ${only.event.source}/${only.event.id} (seq ${only.seq}) failed ${count} times on its own; it stays pending in storage, is processed at the next start, and the events after it go on`, lastFailure);
        return 1;
      }
    }
    await backOff();
    return 0;
  }

  /** Waits the retry delay after `failedInARow` failures (unless stopping). */
  async function backOff(): Promise<void> {
    if (stopping) return;
    await retrySleep(Math.min(Math.max(MAX_RETRY_DELAY_MS, retryDelayMs), retryDelayMs * 2 ** Math.min(failedInARow - 1, 20)));
    interrupt = undefined;
  }

  async function recover(): Promise<void> {
    recovering = true;
    try {
      for (;;) {
        if (stopping) return;
        let pending: StoredEvent[];
        try {
          pending = (await storage.pendingEvents(batchSize + queuedSeqs.size + setAside.size)).filter((e) => !queuedSeqs.has(e.seq) && !setAside.has(e.seq)).slice(0, batchSize);
        } catch (error) {
          // Not given up on: the events left pending by the last process would wait for the next start.
          failures++;
          failedInARow++;
          report("reading pending events failed; retrying", error);
          await backOff();
          continue;
        }
        if (pending.length === 0) return;
        for (const e of pending) recoveredSeqs.add(e.seq);
        await step(pending);
      }
    } finally {
      recovering = false;
      if (reserved === 0) recoveredSeqs.clear();
    }
  }

  async function run(): Promise<void> {
    try {
      await recover();
    } catch (error) {
      report("reading pending events failed", error);
    }
    while (!stopping) {
      if (queue.length === 0) {
        notifyIdle();
        if (learned) {
          // Write learned baselines once the queue has been quiet for a moment, not after every batch.
          await sleep(IDLE_FLUSH_MS);
          wake = undefined;
          if (queue.length > 0 || stopping) continue;
          learned = false;
          try {
            await pipeline.flushContext();
          } catch (error) {
            report("writing learned baselines failed", error);
          }
          continue;
        }
        if (!stopping) await new Promise<void>((resolve) => (wake = resolve));
        wake = undefined;
        continue;
      }
      // On failure step waits the retry delay; when stopping, what is left stays pending in storage.
      const done = await step(queue);
      learned = true;
      for (const e of queue.splice(0, done)) queuedSeqs.delete(e.seq);
    }
  }

  return {
    async accept(events) {
      if (events.length === 0) return { stored: [], duplicates: [] };
      if (events.length > capacity) {
        // Waiting cannot help: the request would not fit an empty queue either.
        throw new VigilError("VIGIL_BAD_INPUT", `a request of ${events.length} events can never be accepted: the ingest queue holds at most ${capacity} (ingest.queueCapacity); send batches of at most ${capacity} events, or raise ingest.queueCapacity`, { field: "events", hint: `capacity ${capacity}` });
      }
      const inFlight = queue.length + reserved + publishing;
      if (inFlight + events.length > capacity) {
        throw new VigilError("VIGIL_BACKPRESSURE", `the ingest queue is full (${inFlight} of ${capacity} events waiting): retry after the Retry-After delay, or send smaller batches`, { field: "events", hint: `capacity ${capacity}` });
      }
      reserved += events.length;
      let result: AcceptResult;
      try {
        result = await storage.appendEvents(events, clock.now().toISOString());
      } finally {
        reserved -= events.length;
      }
      if (result.stored.length === 0) return result;
      if (options.mode === "publish") {
        const bus = options.bus as Bus;
        publishing += result.stored.length;
        try {
          // A request may hold more than one message can carry (a 5 MB body, NATS's max_payload
          // 1 MB by default): it goes as several, each under the bus's limit.
          for (const message of batchMessages(result.stored, bus.maxMessageBytes)) {
            try {
              await bus.publish(EVENTS_SUBJECT, message.data);
            } catch (error) {
              // Persisted but not published: a worker's sweep processes it (ingest.staleAfterMs).
              report(`publishing ${message.count} accepted event(s) to the bus failed; the sweep will process them`, error);
            }
          }
        } finally {
          publishing -= result.stored.length;
          notifyIdle();
        }
        return result;
      }
      for (const stored of result.stored) {
        // Already taken by the recovery (read after the insert, before this answer).
        if (recoveredSeqs.delete(stored.seq)) continue;
        queue.push(stored);
        queuedSeqs.add(stored.seq);
      }
      if (!recovering && reserved === 0) recoveredSeqs.clear();
      wake?.();
      return result;
    },
    async start() {
      if (running || options.mode === "publish") return;
      running = true;
      loop = run();
    },
    idle() {
      if (isIdle() && (!running || !recovering)) return Promise.resolve();
      return new Promise((resolve) => idleWaiters.push(resolve));
    },
    stats() {
      return { queued: queue.length + publishing, capacity, processing, processed, failures, recovering, ...(lastError ? { lastError } : {}) };
    },
    async stop() {
      stopping = true;
      wake?.();
      interrupt?.();
      await loop;
      notifyIdle();
      try {
        await pipeline.flushContext();
      } catch (error) {
        report("writing learned baselines at shutdown failed", error);
      }
    },
  };
}
