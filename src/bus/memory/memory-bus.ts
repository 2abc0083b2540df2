import { VigilError } from "../../core/index.js";
import type { Bus, BusMessage } from "../../core/index.js";
import { currentHandler, runAsHandlerOf } from "../handler-scope.js";
import { redeliveryDelayMs } from "../redelivery.js";
import { checkGroup, checkSubject, subjectMatches } from "../subject.js";

export interface MemoryBusOptions {
  /** A delivery its handler returned from without ack or nak is redelivered after this many ms. Default 30,000 (JetStream's default). */
  readonly ackWaitMs?: number;
  /** Messages held (not yet acked by every group that took them). Past it, publish rejects with VIGIL_BACKPRESSURE. Default 100,000. */
  readonly maxRetained?: number;
  /** Handlers running at once per subscription. Default 1. */
  readonly concurrency?: number;
}

interface Held {
  readonly seq: number;
  readonly subject: string;
  readonly data: Uint8Array;
  /** Groups that took the message and have not acked it. */
  holders: number;
  /** True once some group took it: then it leaves when `holders` drops to 0. */
  taken: boolean;
}

interface Outstanding {
  readonly message: Held;
  deliveries: number;
  /** The live delivery; a newer delivery makes older ack/nak calls no-ops. */
  delivery: number;
  timer?: ReturnType<typeof setTimeout>;
  subscriber?: Subscriber;
}

interface Subscriber {
  readonly handler: (message: BusMessage) => Promise<void>;
  running: number;
  /** One token per running handler (what the handler-scope names as its delivery). */
  readonly active: Set<{ readonly outstanding: Outstanding }>;
  readonly idle: Set<() => void>;
  stopped: boolean;
}

interface Group {
  readonly pattern: string;
  /** Seqs ready to deliver, oldest first. */
  readonly ready: number[];
  readonly outstanding: Map<number, Outstanding>;
  readonly subscribers: Subscriber[];
  turn: number;
}

/**
 * In-process Bus (the embedded default): at-least-once delivery with ack/nak and redelivery
 * after `ackWaitMs`, competing consumers per group, one durable position per (group, subject
 * pattern) for the life of the process. Not durable across restarts: the embedded agent
 * recovers from the store's pending events instead (Storage.pendingEvents).
 *
 * Retention: a message stays until every group that took it has acked it. A message published
 * while no matching group exists waits for the first one; a group created later receives the
 * messages still held (unlike a JetStream stream, which keeps acked messages too).
 */
export class MemoryBus implements Bus {
  readonly kind = "memory";
  private readonly ackWaitMs: number;
  private readonly maxRetained: number;
  private readonly concurrency: number;
  private readonly held = new Map<number, Held>();
  private readonly groups = new Map<string, Group>();
  private readonly delayed = new Set<ReturnType<typeof setTimeout>>();
  private seq = 0;
  private closed = false;

  constructor(options: MemoryBusOptions = {}) {
    this.ackWaitMs = Math.max(1, options.ackWaitMs ?? 30_000);
    this.maxRetained = Math.max(1, options.maxRetained ?? 100_000);
    this.concurrency = Math.max(1, Math.trunc(options.concurrency ?? 1));
  }

  async init(): Promise<void> {
    this.assertOpen("init");
  }

  /** Resolves once the message is held in memory (the process is the only durability there is). */
  async publish(subject: string, data: Uint8Array): Promise<void> {
    this.assertOpen("publish");
    checkSubject(subject, "subject", false);
    if (this.held.size >= this.maxRetained) {
      throw new VigilError("VIGIL_BACKPRESSURE", `memory bus: ${this.held.size} messages are waiting for acks (maxRetained ${this.maxRetained}); retry later or add consumers`);
    }
    const message: Held = { seq: ++this.seq, subject, data: data.slice(), holders: 0, taken: false };
    this.held.set(message.seq, message);
    for (const group of this.groups.values()) {
      if (subjectMatches(group.pattern, subject)) this.take(group, message);
    }
    for (const group of this.groups.values()) this.pump(group);
  }

  async subscribe(subject: string, group: string, handler: (message: BusMessage) => Promise<void>): Promise<() => Promise<void>> {
    this.assertOpen("subscribe");
    checkSubject(subject, "subject", true);
    checkGroup(group);
    const key = `${group}\u0000${subject}`;
    let state = this.groups.get(key);
    if (state === undefined) {
      state = { pattern: subject, ready: [], outstanding: new Map(), subscribers: [], turn: 0 };
      this.groups.set(key, state);
      for (const message of this.held.values()) {
        if (subjectMatches(subject, message.subject)) this.take(state, message);
      }
    }
    const subscriber: Subscriber = { handler, running: 0, active: new Set(), idle: new Set(), stopped: false };
    state.subscribers.push(subscriber);
    const owner = state;
    queueMicrotask(() => this.pump(owner));
    return () => this.unsubscribe(owner, subscriber);
  }

  /** Stops every subscription (waiting for running handlers); un-acked messages are dropped with the process. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const group of this.groups.values()) {
      for (const subscriber of [...group.subscribers]) await this.unsubscribe(group, subscriber);
      for (const outstanding of group.outstanding.values()) if (outstanding.timer !== undefined) clearTimeout(outstanding.timer);
    }
    for (const timer of this.delayed) clearTimeout(timer);
    this.delayed.clear();
  }

  private assertOpen(operation: string): void {
    if (this.closed) throw new VigilError("VIGIL_STORAGE", `memory bus: ${operation} after close(); create a new bus`);
  }

  private take(group: Group, message: Held): void {
    message.holders += 1;
    message.taken = true;
    group.outstanding.set(message.seq, { message, deliveries: 0, delivery: 0 });
    group.ready.push(message.seq);
  }

  private pump(group: Group): void {
    if (this.closed) return;
    while (group.ready.length > 0) {
      const subscriber = this.nextSubscriber(group);
      if (subscriber === undefined) return;
      const seq = group.ready.shift()!;
      const outstanding = group.outstanding.get(seq);
      if (outstanding === undefined) continue; // acked while waiting
      this.deliver(group, subscriber, outstanding);
    }
  }

  /** Round-robin over subscribers with a free handler slot. */
  private nextSubscriber(group: Group): Subscriber | undefined {
    const count = group.subscribers.length;
    for (let step = 0; step < count; step++) {
      const subscriber = group.subscribers[(group.turn + step) % count]!;
      if (!subscriber.stopped && subscriber.running < this.concurrency) {
        group.turn = (group.turn + step + 1) % count;
        return subscriber;
      }
    }
    return undefined;
  }

  private deliver(group: Group, subscriber: Subscriber, outstanding: Outstanding): void {
    outstanding.deliveries += 1;
    const delivery = ++outstanding.delivery;
    outstanding.subscriber = subscriber;
    const live = () => !this.closed && group.outstanding.get(outstanding.message.seq) === outstanding && outstanding.delivery === delivery;
    let settled = false;
    const message: BusMessage = {
      subject: outstanding.message.subject,
      data: outstanding.message.data,
      redelivered: outstanding.deliveries - 1,
      ack: async () => {
        settled = true;
        // An ack of an older delivery still acks the message (as in JetStream), unless already acked.
        if (group.outstanding.get(outstanding.message.seq) !== outstanding) return;
        if (outstanding.timer !== undefined) clearTimeout(outstanding.timer);
        group.outstanding.delete(outstanding.message.seq);
        const held = outstanding.message;
        held.holders -= 1;
        if (held.holders === 0 && held.taken) this.held.delete(held.seq);
      },
      nak: async (delayMs?: number) => {
        settled = true;
        if (!live()) return;
        this.requeue(group, outstanding, Math.max(0, delayMs ?? 0));
      },
    };
    subscriber.running += 1;
    const token = { outstanding };
    subscriber.active.add(token);
    void Promise.resolve()
      .then(() => runAsHandlerOf(subscriber, token, () => subscriber.handler(message)))
      .catch(() => {
        // A failed handler asks for redelivery (after a growing delay), unless it already acked or nak'ed.
        if (!settled && live()) this.requeue(group, outstanding, redeliveryDelayMs(outstanding.deliveries));
      })
      .finally(() => {
        // The ack wait runs from the handler's return: a handler still at work (in this process)
        // keeps its message, as the NATS bus extends the ack wait while its handler runs.
        if (!settled && live() && subscriber.stopped && outstanding.subscriber === subscriber) {
          // Its member unsubscribed while it ran (from inside this handler, or from outside and
          // now done waiting): the message goes back to the group now, as unsubscribe does.
          this.requeue(group, outstanding, 0);
        } else if (!settled && live()) {
          outstanding.timer = setTimeout(() => {
            if (!live()) return;
            this.requeue(group, outstanding, 0);
          }, this.ackWaitMs);
        }
        subscriber.running -= 1;
        subscriber.active.delete(token);
        for (const resolve of subscriber.idle) resolve();
        this.pump(group);
      });
  }

  private requeue(group: Group, outstanding: Outstanding, delayMs: number): void {
    if (outstanding.timer !== undefined) clearTimeout(outstanding.timer);
    outstanding.delivery += 1; // the current delivery is over
    delete outstanding.subscriber;
    const ready = () => {
      if (group.outstanding.get(outstanding.message.seq) !== outstanding) return;
      group.ready.push(outstanding.message.seq);
      this.pump(group);
    };
    if (delayMs === 0) {
      ready();
      return;
    }
    const timer = setTimeout(() => {
      this.delayed.delete(timer);
      ready();
    }, delayMs);
    this.delayed.add(timer);
  }

  /**
   * Stops deliveries to the member and waits for its running handlers — all but the caller's own
   * when a handler of this member calls it (waiting for itself would never end); that handler's
   * message, if it returns without ack or nak, goes back to the group when it returns.
   */
  private async unsubscribe(group: Group, subscriber: Subscriber): Promise<void> {
    if (subscriber.stopped) return;
    subscriber.stopped = true;
    const caller = currentHandler();
    const own = caller?.owner === subscriber ? caller.delivery : undefined;
    const othersRunning = () => {
      for (const token of subscriber.active) if (token !== own) return true;
      return false;
    };
    while (othersRunning()) {
      await new Promise<void>((resolve) => {
        const done = () => {
          subscriber.idle.delete(done);
          resolve();
        };
        subscriber.idle.add(done);
      });
    }
    const index = group.subscribers.indexOf(subscriber);
    if (index >= 0) group.subscribers.splice(index, 1);
    // What it held and did not settle goes back to the group now, not after the ack wait.
    for (const outstanding of group.outstanding.values()) {
      // Not the calling handler's own: it is still at work on it (what it leaves unsettled goes back when it returns).
      if (outstanding.subscriber === subscriber && outstanding !== (own as { outstanding?: Outstanding } | undefined)?.outstanding) this.requeue(group, outstanding, 0);
    }
  }
}
