import { createHash } from "node:crypto";
import { AckPolicy, DeliverPolicy, jetstream, jetstreamManager, RetentionPolicy, StorageType } from "@nats-io/jetstream";
import type { ConsumerConfig, ConsumerMessages, JetStreamClient, JetStreamManager, JsMsg } from "@nats-io/jetstream";
import { connect, nanos } from "@nats-io/transport-node";
import type { NatsConnection, NodeConnectionOptions } from "@nats-io/transport-node";
import { isVigilError, VigilError } from "../../core/index.js";
import type { Bus, BusMessage } from "../../core/index.js";
import { currentHandler, runAsHandlerOf } from "../handler-scope.js";
import { redeliveryDelayMs } from "../redelivery.js";
import { checkGroup, checkSubject, patternCovers } from "../subject.js";

export interface NatsBusOptions {
  /** NATS server URL(s), e.g. `nats://127.0.0.1:4222`. */
  readonly servers: string | readonly string[];
  /** JetStream stream name (created by `init()` when missing). Letters, digits, `-`, `_`. */
  readonly stream: string;
  /** Bus subjects are stored as `<subjectPrefix>.<subject>`; the stream captures `<subjectPrefix>.>`. Default: the stream name. */
  readonly subjectPrefix?: string;
  /** An un-acked delivery is redelivered after this many ms (consumer `ack_wait`), extended while its handler runs. Default 30,000. */
  readonly ackWaitMs?: number;
  /** Handlers running at once per subscription; a message is pulled only when one of them is free. Default 1. */
  readonly concurrency?: number;
  /** Stream storage: `file` (default, survives a server restart) or `memory`. */
  readonly storage?: "file" | "memory";
  /** Stream retention: drop messages older than this (ms). Default 0 = keep until limits. */
  readonly maxAgeMs?: number;
  /** Stream replicas (a clustered server). Default 1. */
  readonly replicas?: number;
  /** Anything else the client takes (user/pass, token, tls, name...). */
  readonly connection?: Partial<NodeConnectionOptions>;
  /** Told when a subscription stops on its own (consumer or connection gone). Default: a process warning. */
  readonly onError?: (error: VigilError) => void;
}

const NAME = /^[A-Za-z0-9_-]{1,200}$/;

/**
 * A durable consumer per (group, subject): readable, unique, and a valid JetStream name.
 * `prefix` is the subject prefix when it is not the stream's name (a library caller's
 * subjectPrefix): buses with different prefixes may share a stream that captures both, and the
 * same group and subject under each must be two consumers. With the default prefix (the stream's
 * name) it is left out, so consumers keep the names they were created with.
 */
export function consumerName(group: string, subject: string, prefix?: string): string {
  const readable = `${group}_${subject.replace(/\*/g, "any").replace(/>/g, "all").replace(/[^A-Za-z0-9_-]/g, "_")}`.slice(0, 80);
  const digest = createHash("sha256").update(prefix === undefined ? `${group}\u0000${subject}` : `${group}\u0000${subject}\u0000${prefix}`).digest("hex").slice(0, 10);
  return `${readable}-${digest}`;
}

function failure(operation: string, error: unknown): VigilError {
  if (isVigilError(error)) return error;
  const message = error instanceof Error ? error.message : String(error);
  return new VigilError("VIGIL_STORAGE", `nats bus: ${operation} failed: ${message}`, {}, error);
}

/** A subscription's running handlers: one token each (what the handler-scope names as its delivery). */
interface Handlers {
  readonly active: Set<object>;
  readonly idle: Set<() => void>;
}

interface Subscription {
  readonly messages: ConsumerMessages;
  readonly handlers: Handlers;
  readonly done: Promise<void>;
  /** Set by stop(): the end of the message loop is then asked for, not news. */
  readonly state: { stopping: boolean };
}

/**
 * Bus on NATS JetStream. `publish` resolves on the stream's publish ack (the server stored it);
 * each (group, subject) is one durable pull consumer with explicit acks, shared by every
 * subscriber of the group (competing consumers); an un-acked message is redelivered after
 * `ackWaitMs`, a nak'ed one at once (or after its delay). A handler that throws is nak'ed with a growing delay (redelivery.ts); one
 * that returns without ack or nak is redelivered after the ack wait. A handler still running is
 * not redelivered: the ack wait is extended (in progress) until it returns.
 */
/** Bytes kept free under max_payload for the headers of a publish (NATS/1.0, Nats-Expected-Stream: <stream>, the subject's length is not counted). */
const PUBLISH_HEADER_ROOM = 1_024;

export class NatsBus implements Bus {
  readonly kind = "nats";
  private readonly options: NatsBusOptions;
  private readonly prefix: string;
  /** What sets the prefix, for messages: `bus.stream` from vigil.yaml, or the library's `subjectPrefix` option. */
  private readonly prefixField: string;
  private readonly concurrency: number;
  private connection: NatsConnection | undefined;
  private client: JetStreamClient | undefined;
  private manager: JetStreamManager | undefined;
  private readonly subscriptions = new Set<Subscription>();
  private closed = false;

  constructor(options: NatsBusOptions) {
    if (!NAME.test(options.stream)) {
      throw new VigilError("VIGIL_BAD_CONFIG", `bus.stream must be letters, digits, '-' or '_' (a JetStream stream name), got ${JSON.stringify(options.stream)}`, { field: "bus.stream" });
    }
    const prefix = options.subjectPrefix ?? options.stream;
    // vigil.yaml has no prefix of its own (it is bus.stream); a library caller may set subjectPrefix.
    const prefixField = options.subjectPrefix === undefined ? "bus.stream" : "subjectPrefix";
    checkSubject(prefix, prefixField, false);
    const servers = typeof options.servers === "string" ? [options.servers] : options.servers;
    if (servers.length === 0) throw new VigilError("VIGIL_BAD_CONFIG", "bus.servers must name at least one server, e.g. nats://127.0.0.1:4222", { field: "bus.servers" });
    this.options = options;
    this.prefix = prefix;
    this.prefixField = prefixField;
    this.concurrency = Math.max(1, Math.trunc(options.concurrency ?? 1));
  }

  /** Connects and creates the stream when it does not exist (an existing stream is used as it is). */
  async init(): Promise<void> {
    if (this.connection !== undefined) return;
    if (this.closed) throw new VigilError("VIGIL_STORAGE", "nats bus: init() after close(); create a new bus");
    const servers = typeof this.options.servers === "string" ? [this.options.servers] : [...this.options.servers];
    try {
      // Reconnect for as long as it takes (the client's default gives up after 10 attempts, about
      // 20 s): a server restart or network outage longer than that left the bus dead — publishes
      // failing and subscriptions stopped — until the process was restarted. `connection` may
      // still set a limit.
      this.connection = await connect({ name: "vigil", maxReconnectAttempts: -1, ...this.options.connection, servers });
      this.manager = await jetstreamManager(this.connection);
      this.client = jetstream(this.connection);
      await this.ensureStream(this.manager);
    } catch (error) {
      const connection = this.connection;
      this.connection = undefined;
      if (connection !== undefined) await connection.close().catch(() => undefined);
      throw failure(`init (servers ${servers.join(", ")}, stream ${this.options.stream})`, error);
    }
  }

  /** The server's max_payload less room for the headers a JetStream publish carries (once connected). */
  get maxMessageBytes(): number | undefined {
    const limit = this.connection?.info?.max_payload;
    return limit === undefined ? undefined : Math.max(1, limit - PUBLISH_HEADER_ROOM);
  }

  async publish(subject: string, data: Uint8Array): Promise<void> {
    checkSubject(subject, "subject", false);
    const client = this.ready("publish");
    try {
      await client.publish(`${this.prefix}.${subject}`, data, { expect: { streamName: this.options.stream } });
    } catch (error) {
      const limit = this.connection?.info?.max_payload;
      if (limit !== undefined && error instanceof Error && /max_payload/.test(error.message)) {
        // Retrying cannot help (the memory bus takes any size): say how large, the limit, and what to change.
        throw new VigilError("VIGIL_BAD_INPUT", `nats bus: publish to ${subject} refused: the message is ${data.length} bytes (with its headers), past the NATS server's max_payload of ${limit} bytes; publish smaller messages (smaller ingest batches) or raise max_payload in the server's configuration (up to 64 MB)`, { field: "data" }, error);
      }
      throw failure(`publish to ${subject}`, error);
    }
  }

  async subscribe(subject: string, group: string, handler: (message: BusMessage) => Promise<void>): Promise<() => Promise<void>> {
    checkSubject(subject, "subject", true);
    checkGroup(group);
    const client = this.ready("subscribe");
    const manager = this.manager!;
    const durable = consumerName(group, subject, this.prefix === this.options.stream ? undefined : this.prefix);
    const config: Partial<ConsumerConfig> = {
      durable_name: durable,
      ack_policy: AckPolicy.Explicit,
      ack_wait: nanos(Math.max(1, this.options.ackWaitMs ?? 30_000)),
      deliver_policy: DeliverPolicy.All,
      filter_subject: `${this.prefix}.${subject}`,
      max_ack_pending: Math.max(1000, this.concurrency * 4),
    };
    let messages: ConsumerMessages;
    try {
      try {
        await manager.consumers.add(this.options.stream, config);
      } catch (error) {
        // An existing consumer with another config (e.g. a new ack wait): update it in place.
        await manager.consumers.update(this.options.stream, durable, { ack_wait: config.ack_wait!, max_ack_pending: config.max_ack_pending! }).catch(() => {
          throw error;
        });
      }
      const consumer = await client.consumers.get(this.options.stream, durable);
      // One message per pull: the client issues the next pull when the loop asks for a message,
      // which it does only with a handler slot free. With `concurrency` per pull, messages waited
      // in the client's buffer behind busy handlers, without the in-progress heartbeat: past the
      // ack wait they went to another member, and this one still handled its stale copy.
      messages = await consumer.consume({ max_messages: 1 });
    } catch (error) {
      throw failure(`subscribe to ${subject} as group ${group}`, error);
    }
    const state = { stopping: false };
    const handlers: Handlers = { active: new Set(), idle: new Set() };
    const subscription: Subscription = { messages, handlers, state, done: this.run(messages, handler, handlers, `subscription to ${subject} as group ${group}`, state) };
    this.subscriptions.add(subscription);
    return async () => {
      if (!this.subscriptions.delete(subscription)) return;
      await this.stop(subscription);
    };
  }

  /** Stops subscriptions (waiting for running handlers), then drains the connection. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const subscriptions = [...this.subscriptions];
    this.subscriptions.clear();
    await Promise.all(subscriptions.map((subscription) => this.stop(subscription)));
    const connection = this.connection;
    this.connection = undefined;
    if (connection !== undefined && !connection.isClosed()) await connection.drain().catch(() => connection.close());
  }

  private ready(operation: string): JetStreamClient {
    if (this.closed) throw new VigilError("VIGIL_STORAGE", `nats bus: ${operation} after close(); create a new bus`);
    if (this.client === undefined) throw new VigilError("VIGIL_STORAGE", `nats bus: ${operation} before init()`);
    return this.client;
  }

  private async ensureStream(manager: JetStreamManager): Promise<void> {
    const name = this.options.stream;
    const wanted = `${this.prefix}.>`;
    try {
      const info = await manager.streams.info(name);
      // An existing stream (another deployment's, or made by hand) must capture the bus's subjects;
      // otherwise every publish failed with "jetstream is not enabled" and every subscribe with
      // "consumer filter subject is not a valid subset of the interest subjects".
      const subjects = info.config.subjects ?? [];
      if (!subjects.some((subject) => patternCovers(subject, wanted))) {
        throw new VigilError("VIGIL_BAD_CONFIG", `${this.prefixField}: stream ${name} captures ${subjects.length === 0 ? "no subjects" : subjects.join(", ")}, not ${wanted}; ${this.prefixField === "bus.stream" ? "name another bus.stream (this stream was made by another setup)" : "set subjectPrefix to the prefix the stream was made with, or name another stream"}`, { field: this.prefixField });
      }
      return;
    } catch (error) {
      if (isVigilError(error)) throw error;
      if ((error as { code?: unknown }).code !== 404 && !(error instanceof Error && /stream not found/i.test(error.message))) throw error;
    }
    await manager.streams.add({
      name,
      subjects: [`${this.prefix}.>`],
      retention: RetentionPolicy.Limits,
      storage: this.options.storage === "memory" ? StorageType.Memory : StorageType.File,
      max_age: nanos(Math.max(0, this.options.maxAgeMs ?? 0)),
      num_replicas: Math.max(1, this.options.replicas ?? 1),
    });
  }

  /** The consume loop: at most `concurrency` handlers at once; the next message is pulled only when one is free. */
  private async run(messages: ConsumerMessages, handler: (message: BusMessage) => Promise<void>, handlers: Handlers, what: string, state: { readonly stopping: boolean }): Promise<void> {
    const running = new Set<Promise<void>>();
    let stopped: unknown;
    try {
      for await (const raw of messages) {
        if (state.stopping) {
          // Pulled before the stop (a handler unsubscribed its own subscription): back to the group at once.
          raw.nak();
          continue;
        }
        const task = this.handle(raw, handler, handlers).finally(() => running.delete(task));
        running.add(task);
        if (running.size >= this.concurrency) await Promise.race(running);
      }
      // The loop also ends without an error when the connection is closed for good.
      if (!state.stopping && !this.closed) {
        const reason = await messages.closed().catch((error: unknown) => error);
        stopped = reason instanceof Error ? reason : new Error(this.connection?.isClosed() === false ? "the consumer stopped delivering" : "the connection was closed");
      }
    } catch (error) {
      stopped = error;
    } finally {
      await Promise.all(running);
    }
    if (stopped !== undefined && !state.stopping) {
      // The consumer or connection is gone for good; what this member did not ack is redelivered
      // to the group's other members after the ack wait. Say so: the subscription has stopped.
      const reported = failure(`${what} (it has stopped)`, stopped);
      if (this.options.onError !== undefined) this.options.onError(reported);
      else process.emitWarning(reported.message, { code: reported.code });
    }
  }

  private async handle(raw: JsMsg, handler: (message: BusMessage) => Promise<void>, handlers: Handlers): Promise<void> {
    let settled = false;
    const subject = raw.subject.startsWith(`${this.prefix}.`) ? raw.subject.slice(this.prefix.length + 1) : raw.subject;
    const message: BusMessage = {
      subject,
      data: raw.data,
      redelivered: Math.max(0, raw.info.deliveryCount - 1),
      ack: async () => {
        settled = true;
        try {
          await raw.ackAck();
        } catch (error) {
          throw failure(`ack of ${subject}`, error);
        }
      },
      nak: async (delayMs?: number) => {
        settled = true;
        raw.nak(delayMs);
      },
    };
    // While the handler runs, tell the server it is still at work (+WPI resets the ack wait): a
    // batch that takes longer than the ack wait is not handed to another member meanwhile. A
    // member that dies stops telling, so its message is redelivered after the ack wait.
    const ackWaitMs = Math.max(1, this.options.ackWaitMs ?? 30_000);
    const heartbeat = setInterval(() => {
      if (settled) return;
      try {
        raw.working();
      } catch {
        // The connection is gone: the message is redelivered after the ack wait.
      }
    }, Math.max(1, Math.floor(ackWaitMs / 3)));
    heartbeat.unref();
    const token = {};
    handlers.active.add(token);
    try {
      await runAsHandlerOf(handlers, token, () => handler(message));
    } catch {
      if (!settled) raw.nak(redeliveryDelayMs(raw.info.deliveryCount));
    } finally {
      clearInterval(heartbeat);
      handlers.active.delete(token);
      for (const resolve of handlers.idle) resolve();
    }
  }

  /**
   * Stops pulling and waits for the running handlers — all but the caller's own when a handler
   * of this subscription calls it (waiting for itself would never end). What that handler leaves
   * unsettled is redelivered to the group after the ack wait.
   */
  private async stop(subscription: Subscription): Promise<void> {
    subscription.state.stopping = true;
    const closing = subscription.messages.close().catch(() => undefined);
    const caller = currentHandler();
    if (caller?.owner !== subscription.handlers) {
      await closing;
      await subscription.done.catch(() => undefined);
      return;
    }
    // close() settles only once the consume loop takes its next turn, which waits for this very
    // handler (the loop pulls no further ahead than `concurrency`): not awaited here.
    const { active, idle } = subscription.handlers;
    const othersRunning = () => {
      for (const token of active) if (token !== caller.delivery) return true;
      return false;
    };
    while (othersRunning()) {
      await new Promise<void>((resolve) => {
        const done = () => {
          idle.delete(done);
          resolve();
        };
        idle.add(done);
      });
    }
  }
}
