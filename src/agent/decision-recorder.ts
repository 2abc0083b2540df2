/**
 * Group commit for the decision record on the admission path. Each admission review waits until
 * its decision is durable before answering, but a durable append costs a storage transaction (an
 * fsync with SQLite): drafts that arrive while one append is running are appended together in the
 * next one, so under load one transaction carries many decisions and no decision waits for more
 * than the append in flight plus its own.
 *
 * INVARIANT: drafts are appended in the order `record` was called; each promise resolves with its
 * chained decision once the append that carried it resolved, or rejects with that append's error.
 */
import type { Decision, DecisionDraft } from "../core/decision.js";
import { VigilError } from "../core/errors.js";

export interface DecisionRecorder {
  /** Appends the draft to the decision record (batched with concurrent ones); resolves when durable. */
  record(draft: DecisionDraft): Promise<Decision>;
  /** Resolves when every draft recorded so far is appended (or failed). */
  idle(): Promise<void>;
}

interface Waiting {
  readonly draft: DecisionDraft;
  resolve(decision: Decision): void;
  reject(error: unknown): void;
}

/** `append` is `storage.appendDecisions`; `maxBatch` bounds one transaction (default 256). */
export function createDecisionRecorder(append: (drafts: readonly DecisionDraft[]) => Promise<Decision[]>, options: { readonly maxBatch?: number } = {}): DecisionRecorder {
  const maxBatch = options.maxBatch ?? 256;
  let queue: Waiting[] = [];
  let running: Promise<void> | undefined;

  async function drain(): Promise<void> {
    // Let the requests of this turn of the event loop join the first batch.
    await new Promise<void>((resolve) => setImmediate(resolve));
    while (queue.length > 0) {
      const batch = queue.slice(0, maxBatch);
      queue = queue.slice(batch.length);
      try {
        const decisions = await append(batch.map((w) => w.draft));
        const byId = new Map(decisions.map((d) => [d.id, d] as const));
        for (const waiting of batch) {
          const decision = byId.get(waiting.draft.id);
          if (decision) waiting.resolve(decision);
          else waiting.reject(new VigilError("VIGIL_CONFLICT", `decision ${waiting.draft.id} was not appended (already recorded?)`, { field: "id" }));
        }
      } catch (error) {
        for (const waiting of batch) waiting.reject(error);
      }
    }
  }

  function start(): void {
    if (running) return;
    running = drain().finally(() => {
      running = undefined;
      if (queue.length > 0) start();
    });
  }

  return {
    record(draft) {
      return new Promise<Decision>((resolve, reject) => {
        queue.push({ draft, resolve, reject });
        start();
      });
    },
    async idle() {
      while (running) await running;
    },
  };
}
