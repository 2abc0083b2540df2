/**
 * The admission decision record, appended from a worker thread. A durable append blocks its
 * thread for the storage transaction (an fsync with SQLite, milliseconds on a busy disk); done on
 * the HTTP thread it would stall every review in flight. The worker opens its own connection to
 * the configured store (the decision record takes several writers: the chain is extended
 * atomically), group-commits the drafts it receives (admission-recorder.ts) and answers each
 * with its position in the chain.
 *
 * Main thread: `createWorkerDecisionRecorder(settings)`; worker thread: this module's entry.
 */
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { isMainThread, parentPort, Worker, workerData } from "node:worker_threads";
import { openStorage } from "../agent/adapters.js";
import type { VigilConfig } from "../config.js";
import type { Decision, DecisionDraft } from "../core/decision.js";
import { VigilError } from "../core/errors.js";
import { createDecisionRecorder, type DecisionRecorder } from "./admission-recorder.js";

/** What the worker needs to open the store (plain data, copied to the worker). */
export type RecordStoreSettings = Pick<VigilConfig, "store" | "decisionLog">;

/**
 * Drafts travel as JSON text (cheaper for the HTTP thread than a structured clone of the object
 * graph), and both directions batch what one turn of the event loop produced into one message:
 * a message between threads costs more than the text it carries.
 */
type ToWorker = { readonly type: "record"; readonly items: readonly { readonly ticket: number; readonly draft: string }[] } | { readonly type: "close" };
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
  /** Appends what is queued, closes the worker's store and stops the worker. */
  close(): Promise<void>;
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

/**
 * Starts the worker and resolves once its store is open. `record` resolves with the chained
 * decision once it is durable, in call order; rejects with the append's error (VigilError codes
 * are kept) or when the worker dies.
 */
export async function createWorkerDecisionRecorder(settings: RecordStoreSettings): Promise<WorkerDecisionRecorder> {
  const worker = startWorker(settings);
  const pending = new Map<number, { draft: DecisionDraft; resolve(d: Decision): void; reject(e: unknown): void }>();
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
            if ("hash" in outcome) waiting?.resolve({ ...waiting.draft, seq: outcome.seq, prevHash: outcome.prevHash, hash: outcome.hash });
            else waiting?.reject(new VigilError(outcome.code as VigilError["code"], outcome.message));
          }
          break;
        case "closed": closed?.(); break;
        case "fatal": {
          const error = new VigilError("VIGIL_STORAGE", `admission record worker: ${message.message}`);
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
      if (!dead) failAll(new VigilError("VIGIL_STORAGE", `admission record worker exited (code ${code})`));
      closed?.();
    });
  });
  // The worker keeps the process alive only while appends are pending.
  worker.unref();
  const settled = (): void => {
    if (pending.size === 0) worker.unref();
  };
  const send = batcher<{ ticket: number; draft: string }>((items) => worker.postMessage({ type: "record", items } satisfies ToWorker));
  return {
    record(draft) {
      if (dead) return Promise.reject(dead);
      const recorded = new Promise<Decision>((resolve, reject) => {
        const id = ++ticket;
        if (pending.size === 0) worker.ref();
        pending.set(id, { draft, resolve, reject });
        send({ ticket: id, draft: JSON.stringify(draft) });
      });
      recorded.then(settled, settled);
      return recorded;
    },
    async idle() {
      while (pending.size > 0 && !dead) await new Promise((resolve) => setTimeout(resolve, 5));
    },
    async close() {
      // INVARIANT: every draft handed to `record` is answered before the worker closes its store.
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

async function runWorker(): Promise<void> {
  const port = parentPort;
  if (!port) return;
  const { settings } = workerData as { settings: RecordStoreSettings };
  let recorder: DecisionRecorder;
  let close: () => Promise<void>;
  try {
    const storage = await openStorage(settings);
    recorder = createDecisionRecorder((drafts) => storage.appendDecisions(drafts));
    close = () => storage.close();
  } catch (error) {
    port.postMessage({ type: "fatal", message: error instanceof Error ? error.message : String(error) } satisfies FromWorker);
    return;
  }
  const answer = batcher<Outcome>((items) => port.postMessage({ type: "outcomes", items } satisfies FromWorker));
  port.on("message", (message: ToWorker) => {
    if (message.type === "record") {
      for (const { ticket, draft } of message.items) {
        recorder.record(JSON.parse(draft) as DecisionDraft).then(
          (d) => answer({ ticket, seq: d.seq, prevHash: d.prevHash, hash: d.hash }),
          (error: unknown) => answer({ ticket, code: error instanceof VigilError ? error.code : "VIGIL_STORAGE", message: error instanceof Error ? error.message : String(error) }),
        );
      }
    } else {
      void recorder.idle().then(close).finally(() => port.postMessage({ type: "closed" } satisfies FromWorker));
    }
  });
  port.postMessage({ type: "ready" } satisfies FromWorker);
}

if (!isMainThread && (workerData as { settings?: unknown } | null)?.settings !== undefined) void runWorker();
