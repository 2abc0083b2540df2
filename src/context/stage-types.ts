import type { Context, EntityHistory } from "../core/context.js";
import type { Entity, Posture } from "../core/entity.js";
import type { Event } from "../core/event.js";
import type { Finding } from "../core/finding.js";
import type { Clock, Storage } from "../core/ports.js";
import type { EntityUpdate } from "./entity-store.js";
import type { PostureInput } from "./posture.js";
import type { ContextSettings, ContextSettingsInput } from "./settings.js";

/** The public shape of the context stage (docs/context.md). Implemented by createContextStage. */
export interface ContextStageOptions {
  readonly storage: Storage;
  readonly clock?: Clock;
  readonly settings?: ContextSettingsInput;
  /** Packs' enrichments (residency, ...), run by `build` in order after entities are resolved. */
  readonly enrichers?: readonly ContextEnricher[];
}

/** The fields an enrichment may add to a context (policies read them as `context.<name>`). */
export type ContextExtras = Partial<Pick<Context, "dependencies" | "residency" | "kubernetes">>;

/**
 * A pack's enrichment: computes extra context for an event from the event and the resolved
 * entities (the namespace entity's attributes, ...). Must be deterministic and must not throw or
 * reject; if it does, `build` leaves its fields out and lists the failure in `stats().enrichErrors`.
 */
export interface ContextEnricher {
  readonly name: string;
  enrich(event: Event, ctx: Pick<Context, "entities" | "posture" | "now">): ContextExtras | undefined | Promise<ContextExtras | undefined>;
}

/** An entity as the API returns it: attributes, relations and history. */
export interface EntityView extends Entity {
  readonly history: EntityHistory;
}

export interface ContextStats {
  readonly cachedBaselines: number;
  readonly dirtyBaselines: number;
  readonly cachedEntities: number;
  readonly dirtyEntities: number;
  /** Posture events that could not be applied (bad level, expired `until`), newest last, at most 20. */
  readonly postureErrors: readonly string[];
  /** Events whose learning failed inside observe (a bug; observe never throws), newest last, at most 20. */
  readonly observeErrors: readonly string[];
  /** Enrichments that threw or rejected in build (a bug; enrichers never throw), newest last, at most 20. */
  readonly enrichErrors?: readonly string[];
  /** Events stamped too far ahead of the clock and of their entities to be learned (ahead.ts), newest last, at most 20. */
  readonly futureEvents?: readonly string[];
}

/** The context stage. See docs/context.md. */
export interface ContextStage {
  /**
   * Resolves the event's entities, loads their records and baselines (one storage read per
   * collection for what is not cached), runs the detectors and returns the Context. Reads
   * state only: building twice gives the same context. Rejects only when storage fails.
   */
  build(event: Event): Promise<Context>;
  /**
   * Loads what `build` will need for these events and does not have in memory (entity records,
   * then their baselines and peer groups): one storage read per collection for all of them, where
   * `build` reads per event (a round trip each on PostgreSQL). Only an optimisation: builds are the
   * same with or without it. At most a quarter of the cache is filled this way. Rejects only when
   * storage fails.
   */
  prefetch(events: readonly Event[]): Promise<void>;
  /** How many builds so far had to wait for a storage read (the pipeline prefetches a batch's rest after one did). */
  loads(): number;
  /**
   * Learns from the event AFTER evaluation (so an event never counts itself): baselines,
   * peer groups, idle days, posture events, entity history from violation findings. Never
   * throws; changes are in memory until `flush`. `ctx` must come from this stage's `build`.
   */
  observe(event: Event, ctx: Context, findings?: readonly Finding[]): void;
  /** Writes dirty baselines and entity records in batches; waits for posture writes. */
  flush(): Promise<void>;
  readonly posture: {
    /** Sets a scope's posture (validated; VigilError VIGIL_BAD_INPUT names the field), stored and audited. */
    set(input: PostureInput): Promise<Posture>;
    /** Postures in force now. */
    list(): Promise<Posture[]>;
    /** The strictest unexpired posture among org and the scopes given. */
    effective(scopes: readonly string[]): Promise<Posture>;
  };
  readonly entities: {
    get(kind: string, id: string): Promise<EntityView | undefined>;
    /** Merges attributes (null removes one) and sets relations; written through and audited. */
    upsert(update: EntityUpdate, by?: string): Promise<EntityView>;
    list(query?: { readonly kind?: string; readonly limit?: number; readonly afterId?: string }): Promise<EntityView[]>;
    history(kind: string, id: string): Promise<EntityHistory>;
    /** Adds violation findings to an entity's history (for decisions recorded outside observe). */
    recordFindings(kind: string, id: string, findings: readonly Finding[]): Promise<void>;
  };
  /** Changes detector / cache settings at run time (packs, learning). Seen-set sizes need a restart. */
  configure(settings: ContextSettingsInput): void;
  readonly settings: ContextSettings;
  stats(): ContextStats;
}

