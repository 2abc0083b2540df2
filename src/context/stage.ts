import type { Context } from "../core/context.js";
import type { Entity, Signal } from "../core/entity.js";
import { VigilError } from "../core/errors.js";
import { EventTypes, type Event } from "../core/event.js";
import type { Finding } from "../core/finding.js";
import { systemClock } from "../core/ports.js";
import { aheadMessage, aheadReason, tooFarAhead } from "./ahead.js";
import { addActivity, createActivityLayout, seenAdd, type ActivityLayout } from "./activity.js";
import { attachBuiltState, builtStateOf } from "./built-state.js";
import { baselineFromDoc, baselineToDoc, EntityBaseline, MAX_SERIES_PER_ENTITY } from "./baseline.js";
import { detectIdle } from "./detectors/idle.js";
import { detectOddHour } from "./detectors/odd-hour.js";
import { detectRare } from "./detectors/rare.js";
import { notApplicable } from "./detectors/signal.js";
import { DocCache, type Cacheable, type DocCodec } from "./doc-cache.js";
import { applyEntityUpdate, entityCodec, entityRecordKey, ENTITY_COLLECTION, peerKeyOf, validateEntityUpdate, type EntityRecord } from "./entity-store.js";
import { baselineFeatures } from "./features.js";
import { fnv1a32 } from "./hash.js";
import { idleRingSlots, recordIdleSample } from "./idle-days.js";
import { PostureBook, type PostureInput } from "./posture.js";
import type { ContextStage, ContextStageOptions, EntityView } from "./stage-types.js";
import { resolveEvent, type ResolvedEvent } from "./resolve.js";
import { dailyCharge, longCharge, ratioUnits, spendRoles, spikeSignal } from "./stage-series.js";
import { compileScheduleSafe } from "./schedule.js";
import { createSeries, observeSeries, type Season } from "./series.js";
import { resolveContextSettings, seenDimensions } from "./settings.js";
import { isoFromMs, parseTime, toDays, toMinutes } from "./time.js";

export type { ContextEnricher, ContextExtras, ContextStage, ContextStageOptions, ContextStats, EntityView } from "./stage-types.js";

/** Storage collection of baselines, one document per entity or peer group. */
export const BASELINE_COLLECTION = "context.baselines";

/** What build remembers for observe. */
interface Built {
  /** The stage that built it: another stage's context is not observed. */
  readonly owner: object;
  readonly event: Event;
  observed: boolean;
  readonly resolved: ResolvedEvent;
  readonly records: ReadonlyMap<string, EntityRecord>;
  readonly baselines: ReadonlyMap<string, EntityBaseline>;
  readonly peerKey: string | undefined;
  /** Stamped too far ahead of the clock and of its entities (ahead.ts): judged without time series, not learned. */
  readonly ahead: boolean;
}

/** Creates the context stage. Throws VigilError(VIGIL_BAD_CONFIG) for invalid settings. */
export function createContextStage(options: ContextStageOptions): ContextStage {
  const { storage } = options;
  const clock = options.clock ?? systemClock;
  let settings = resolveContextSettings(options.settings ?? {});
  const layout: ActivityLayout = createActivityLayout(settings.baselines.seenSetSizes);
  const baselineCodec: DocCodec<EntityBaseline> = {
    collection: BASELINE_COLLECTION,
    create: (key) => new EntityBaseline(key),
    decode: (key, value) => baselineFromDoc(key, value, layout),
    encode: (baseline) => baselineToDoc(baseline, layout),
  };
  const baselines = new DocCache(storage, baselineCodec, settings.cache.maxEntities, settings.cache.flushBatch);
  const records = new DocCache(storage, entityCodec, settings.cache.maxEntities, settings.cache.flushBatch);
  const postures = new PostureBook(storage, clock.now().toISOString());
  const owner = {};
  const pending = new Set<Promise<unknown>>();
  const postureErrors: string[] = [];
  const observeErrors: string[] = [];
  const enrichErrors: string[] = [];
  const futureEvents: string[] = [];
  const enrichers = options.enrichers ?? [];
  let ready: Promise<void> | undefined;
  let initialized = false;
  const init = (): Promise<void> => (ready ??= postures.load().then(
    () => {
      initialized = true;
    },
    (error: unknown) => {
      ready = undefined;
      throw error;
    },
  ));
  const halfLifeMinutes = (): number => settings.baselines.activityHalfLifeDays * 1440;

  /** Baseline keys by role; they reuse the record key strings (one string per entity in memory). */
  function baselineKeysFor(resolved: ResolvedEvent, recordKeys: ReadonlyMap<string, string>, recordOf: (role: string) => EntityRecord | undefined): { keys: Map<string, string>; peerKey: string | undefined } {
    const keys = new Map<string, string>();
    const { entities, observation } = resolved;
    let peerKey: string | undefined;
    const principal = entities["principal"];
    if (principal) {
      keys.set("principal", recordKeys.get("principal") as string);
      const record = recordOf("principal");
      peerKey = peerKeyOf(principal.kind, record?.attrs["team"] !== undefined ? record.attrs : principal.attrs, record?.relations ?? principal.relations);
      keys.set("peer", peerKey);
    }
    const resource = entities["resource"];
    if (resource && (observation.metric || observation.spend || resolved.observation.primaryRole === "resource")) keys.set("resource", recordKeys.get("resource") as string);
    if (observation.spend) for (const role of spendRoles(Object.keys(entities))) keys.set(role, recordKeys.get(role) as string);
    return { keys, peerKey };
  }

  /** `snapshotRole`: the role whose event attributes are a new inventory snapshot (`dev.vigil.resource`). */
  function mergedEntities(resolved: ResolvedEvent, recordMap: ReadonlyMap<string, EntityRecord>, snapshotRole: string | undefined): Record<string, Entity> {
    const result: Record<string, Entity> = {};
    for (const [role, derived] of Object.entries(resolved.entities)) {
      const record = recordMap.get(role);
      if (!record || !record.known) {
        result[role] = derived;
        continue;
      }
      // The entity store is the system of record for managed attributes; the event fills in the rest.
      // An inventory snapshot is newer than what the store holds from the snapshot before it (observe
      // writes its values to the store): it is evaluated with its own values.
      const attrs = role === snapshotRole ? { ...record.attrs, ...derived.attrs } : { ...derived.attrs, ...record.attrs };
      const relations = record.relations ?? derived.relations;
      result[role] = { kind: derived.kind, id: derived.id, attrs, ...(relations ? { relations } : {}) };
    }
    return result;
  }

  /**
   * The cached item of each role's key, loading the missing ones first (one read). The common case
   * — everything cached — is one map lookup per key, without the load pass.
   */
  /** Builds that waited for storage (see ContextStage.loads). */
  let loads = 0;

  function cached<T extends Cacheable>(cache: DocCache<T>, keys: ReadonlyMap<string, string>): Map<string, T> | Promise<Map<string, T>> {
    const found = new Map<string, T>();
    for (const [role, key] of keys) {
      const item = cache.get(key);
      if (item === undefined) {
        loads++;
        return loadThenEnsure(cache, keys);
      }
      found.set(role, item);
    }
    return found;
  }

  async function loadThenEnsure<T extends Cacheable>(cache: DocCache<T>, keys: ReadonlyMap<string, string>): Promise<Map<string, T>> {
    const loaded = cache.load([...keys.values()]);
    if (loaded) await loaded;
    const found = new Map<string, T>();
    for (const [role, key] of keys) found.set(role, cache.ensure(key));
    return found;
  }

  /** Record keys by role, as build reads them. */
  function recordKeysOf(resolved: ResolvedEvent): Map<string, string> {
    const recordKeys = new Map<string, string>();
    for (const role in resolved.entities) {
      const entity = resolved.entities[role] as Entity;
      recordKeys.set(role, entityRecordKey(entity.kind, entity.id));
    }
    return recordKeys;
  }

  async function prefetch(events: readonly Event[]): Promise<void> {
    const nowMs = clock.now().getTime();
    const room = Math.floor(settings.cache.maxEntities / 4);
    const wanted: { readonly resolved: ResolvedEvent; readonly recordKeys: Map<string, string> }[] = [];
    const recordKeys = new Set<string>();
    for (const event of events) {
      let resolved: ResolvedEvent;
      try {
        resolved = resolveEvent(event, nowMs, settings.spend);
      } catch {
        continue; // build reports what it cannot resolve; a prefetch only skips it
      }
      const keys = recordKeysOf(resolved);
      for (const key of keys.values()) if (records.get(key) === undefined) recordKeys.add(key);
      if (recordKeys.size > room) break;
      wanted.push({ resolved, recordKeys: keys });
    }
    const loadedRecords = records.load([...recordKeys]);
    if (loadedRecords) await loadedRecords;
    // Baseline keys follow the records (a principal's peer group is its team's).
    const baselineKeys = new Set<string>();
    for (const { resolved, recordKeys: keys } of wanted) {
      const { keys: wantedBaselines } = baselineKeysFor(resolved, keys, (role) => records.get(keys.get(role) as string));
      for (const key of wantedBaselines.values()) if (baselines.get(key) === undefined) baselineKeys.add(key);
      if (baselineKeys.size > room) break;
    }
    const loadedBaselines = baselines.load([...baselineKeys]);
    if (loadedBaselines) await loadedBaselines;
  }

  async function build(event: Event): Promise<Context> {
    if (!initialized) await init();
    const nowMs = clock.now().getTime();
    const resolved = resolveEvent(event, nowMs, settings.spend);
    const { observation } = resolved;
    const recordKeys = recordKeysOf(resolved);
    const recordsFound = cached(records, recordKeys);
    const recordMap = recordsFound instanceof Map ? recordsFound : await recordsFound;
    const { keys: baselineKeys, peerKey } = baselineKeysFor(resolved, recordKeys, (role) => recordMap.get(role));
    const baselinesFound = cached(baselines, baselineKeys);
    const baselineMap = baselinesFound instanceof Map ? baselinesFound : await baselinesFound;
    const merged = mergedEntities(resolved, recordMap, event.type === EventTypes.resource ? "resource" : undefined);
    const timeMs = observation.timeMs;
    const ahead = tooFarAhead(Math.max(timeMs, observation.spend?.periodStartMs ?? 0), nowMs, baselineMap.values());

    const signals: Record<string, Signal> = {};
    const { detectors } = settings;
    signals["spike"] = ahead && (observation.metric || observation.spend) ? notApplicable("spike", aheadReason) : spikeSignal(resolved, baselineMap, timeMs, detectors.spike, settings.baselines.spreadAlpha);
    const resourceBaseline = baselineMap.get("resource");
    const idleRing = resourceBaseline?.idleRing();
    signals["idle"] = !idleRing
      ? notApplicable("idle")
      : ahead
        ? notApplicable("idle", aheadReason)
        : detectIdle(idleRing, timeMs, detectors.idle, merged["resource"]?.attrs["schedule"] === undefined ? undefined : compileScheduleSafe(merged["resource"]?.attrs["schedule"], "resource.attrs.schedule"));
    const principal = baselineMap.get("principal");
    const peer = baselineMap.get("peer");
    if (principal && peerKey) {
      const onCallAttr = merged["principal"]?.attrs["onCall"];
      signals["oddHour"] = detectOddHour({ own: principal, peer, peerKey, timeMs, halfLifeMinutes: halfLifeMinutes(), onCall: onCallAttr === undefined ? undefined : compileScheduleSafe(onCallAttr, "principal.attrs.onCall") }, detectors.oddHour);
      signals["rare"] = detectRare({ own: principal, peer, peerKey, layout, seen: observation.seen }, detectors.rare);
    } else {
      signals["oddHour"] = notApplicable("oddHour", "no principal in this event");
      signals["rare"] = notApplicable("rare", "no principal in this event");
    }

    const features: Record<string, Record<string, unknown>> = {};
    for (const [role, baseline] of baselineMap) {
      if (role === "peer") continue;
      features[role] = baselineFeatures(baseline, layout, timeMs, halfLifeMinutes(), role === "principal" ? peerKey : undefined);
    }
    const primary = observation.primaryRole ? recordMap.get(observation.primaryRole) : undefined;
    const state: Built = { owner, event, observed: false, resolved, records: recordMap, baselines: baselineMap, peerKey, ahead };
    let context = {
      event,
      input: event.data,
      entities: merged,
      signals,
      posture: postures.effective(observation.scopes, nowMs),
      features,
      now: isoFromMs(nowMs),
      ...(primary ? { history: primary.history(nowMs) } : {}),
    } as Context;
    if (enrichers.length > 0) context = await enrich(event, context);
    // Non-enumerable: copies, equality checks and serialisers see only the Context fields.
    return attachBuiltState(context, state);
  }

  /** Runs the enrichers in order; a failing one adds nothing and is reported (stats().enrichErrors). */
  async function enrich(event: Event, context: Context): Promise<Context> {
    let extras: Record<string, unknown> | undefined;
    for (const enricher of enrichers) {
      try {
        const pending = enricher.enrich(event, context);
        const added = pending instanceof Promise ? await pending : pending;
        if (added !== undefined) extras = { ...extras, ...added };
      } catch (error) {
        enrichErrors.push(`event ${event.id}: enricher ${enricher.name}: ${error instanceof Error ? error.message : String(error)}`);
        if (enrichErrors.length > 20) enrichErrors.shift();
      }
    }
    return extras === undefined ? context : ({ ...context, ...extras } as Context);
  }

  function learnActivity(baseline: EntityBaseline, resolved: ResolvedEvent, minutes: number): void {
    const how = ((Math.floor(minutes / 1440) + 3) % 7) * 24 + Math.floor((minutes % 1440) / 60);
    addActivity(baseline, layout, minutes, how, halfLifeMinutes());
    for (const dimension of seenDimensions) {
      const value = resolved.observation.seen[dimension];
      if (value !== undefined) seenAdd(baseline, layout, dimension, fnv1a32(value), minutes);
    }
  }

  function learnSeries(baseline: EntityBaseline, name: string, season: Season, kind: "gauge" | "sum", timeMs: number, value: number): void {
    let series = baseline.findSeries(name);
    if (!series) {
      if (baseline.seriesCount >= MAX_SERIES_PER_ENTITY) return;
      series = baseline.addSeries(createSeries(baseline, name, season, kind, settings.detectors.spike.floor));
    }
    observeSeries(series, timeMs, value, { ...settings.baselines, minSpread: settings.detectors.spike.minSpread });
  }

  function observePosture(event: Event): void {
    const data = (event.data ?? {}) as Record<string, unknown>;
    // A scope given in another form goes to validation: falling back to the subject or "org" made an account's freeze the whole org's.
    const scope = data["scope"] !== undefined && data["scope"] !== null ? data["scope"] : event.subject ?? "org";
    const input = {
      scope,
      level: data["level"],
      ...(typeof data["reason"] === "string" ? { reason: data["reason"] } : {}),
      // Any expiry given goes to validation: dropped when not a string, it made a timed freeze permanent.
      ...(data["until"] !== undefined && data["until"] !== null ? { until: data["until"] } : {}),
      setBy: typeof data["by"] === "string" ? data["by"] : event.source,
    } as PostureInput;
    // The change is as old as the event: one arriving after a newer posture does not undo it.
    const write = postures.set(input, clock.now().getTime(), parseTime(event.time)).catch((error: unknown) => {
      postureErrors.push(`event ${event.id}: ${error instanceof Error ? error.message : String(error)}`);
      if (postureErrors.length > 20) postureErrors.shift();
    });
    pending.add(write);
    void write.finally(() => pending.delete(write));
  }

  /** The baseline of a role of a built context, marked dirty (it is about to learn). */
  function dirtyBaseline(state: Built, role: string): EntityBaseline | undefined {
    const baseline = state.baselines.get(role);
    if (baseline) baselines.markDirty(baseline.key, baseline);
    return baseline;
  }

  function observe(event: Event, ctx: Context, findings: readonly Finding[] = []): void {
    try {
      const state = builtStateOf<Built>(ctx);
      if (state?.observed) return;
      if (event.type === EventTypes.posture) observePosture(event);
      if (!state || state.owner !== owner) return;
      state.observed = true;
      const { resolved } = state;
      const { observation } = resolved;
      const timeMs = observation.timeMs;
      const minutes = toMinutes(timeMs);
      if (state.ahead) {
        futureEvents.push(aheadMessage(event.id, Math.max(timeMs, observation.spend?.periodStartMs ?? 0), clock.now().getTime()));
        if (futureEvents.length > 20) futureEvents.shift();
      }
      const denied = !settings.baselines.learnDeniedActivity && findings.some((f) => f.effect === "violation" && f.mode === "deny");
      for (const role of denied || state.ahead ? [] : ["principal", "peer"]) {
        const baseline = dirtyBaseline(state, role);
        if (!baseline) continue;
        baseline.touch(minutes);
        learnActivity(baseline, resolved, minutes);
      }
      if (observation.metric && !state.ahead) {
        const baseline = dirtyBaseline(state, "resource");
        if (baseline) {
          baseline.touch(minutes);
          const { name, value } = observation.metric;
          learnSeries(baseline, name, 168, "gauge", timeMs, value);
          const lower = name.toLowerCase();
          const kind = settings.detectors.idle.cpuMetrics.includes(lower) ? "cpu" : settings.detectors.idle.networkMetrics.includes(lower) ? "network" : undefined;
          const scheduleAttr = ctx.entities["resource"]?.attrs["schedule"];
          const schedule = scheduleAttr === undefined ? undefined : compileScheduleSafe(scheduleAttr, "resource.attrs.schedule");
          const inSchedule = !schedule || schedule instanceof Error || schedule.contains(timeMs);
          // Thresholds are in percent; a ratio (OpenTelemetry's unit "1", Cloud Monitoring's "10^2.%") is scaled to it.
          const sample = kind === "cpu" && observation.metric.unit !== undefined && ratioUnits.has(observation.metric.unit.trim().toLowerCase()) ? value * 100 : value;
          if (kind && inSchedule) recordIdleSample(baseline.ensureIdleRing(idleRingSlots(settings.detectors.idle.days)), toDays(timeMs), kind, sample);
        }
      }
      if (observation.spend && !state.ahead) {
        const { amount, periodStartMs, periodHours } = observation.spend;
        for (const role of spendRoles(Object.keys(resolved.entities))) {
          const baseline = dirtyBaseline(state, role);
          if (!baseline) continue;
          baseline.touch(toMinutes(periodStartMs));
          if (!longCharge(periodHours)) learnSeries(baseline, "cost", dailyCharge(periodHours) ? 7 : 168, "sum", periodStartMs, amount);
        }
      }
      if (event.type === EventTypes.resource) {
        const derived = resolved.entities["resource"];
        const record = state.records.get("resource");
        if (derived && record) {
          applyEntityUpdate(record, { kind: derived.kind, id: derived.id, attrs: derived.attrs }, event.source);
          records.markDirty(entityRecordKey(derived.kind, derived.id), record);
        }
      }
      const primaryRole = observation.primaryRole;
      const primary = primaryRole ? state.records.get(primaryRole) : undefined;
      if (primary && findings.length > 0 && primary.recordFindings(findings, clock.now().getTime())) {
        records.markDirty(primary.key, primary);
      }
    } catch (error) {
      // INVARIANT: observe never throws; a failure to learn must not fail the pipeline.
      observeErrors.push(`event ${event.id}: ${error instanceof Error ? error.message : String(error)}`);
      if (observeErrors.length > 20) observeErrors.shift();
    }
  }

  async function flush(): Promise<void> {
    if (pending.size > 0) await Promise.all([...pending]);
    const at = clock.now().toISOString();
    await baselines.flush(at);
    await records.flush(at);
  }

  async function loadRecord(kind: string, id: string): Promise<EntityRecord> {
    const key = entityRecordKey(kind, id);
    const loaded = records.load([key]);
    if (loaded) await loaded;
    return records.ensure(key);
  }

  const view = (record: EntityRecord): EntityView => ({ ...record.toEntity(), history: record.history(clock.now().getTime()) });

  return {
    build,
    prefetch,
    loads: () => loads,
    observe,
    flush,
    get settings() {
      return settings;
    },
    posture: {
      async set(input) {
        await init();
        return postures.set(input, clock.now().getTime());
      },
      async list() {
        await init();
        return postures.list(clock.now().getTime());
      },
      async effective(scopes) {
        await init();
        return postures.effective(scopes, clock.now().getTime());
      },
    },
    entities: {
      async get(kind, id) {
        const record = await loadRecord(kind, id);
        return record.known ? view(record) : undefined;
      },
      async upsert(update, by) {
        validateEntityUpdate(update);
        const record = await loadRecord(update.kind, update.id);
        applyEntityUpdate(record, update, by);
        const key = entityRecordKey(update.kind, update.id);
        const at = clock.now().toISOString();
        await storage.putDocs([{ collection: ENTITY_COLLECTION, id: key, value: entityCodec.encode(record) }], at);
        record.dirty = false;
        records.set(key, record);
        await storage.appendAudit([{ at, actor: by ?? "unknown", action: "entity.upsert", target: key, detail: { attrs: Object.keys(update.attrs ?? {}), relations: Object.keys(update.relations ?? {}) } }]);
        return view(record);
      },
      async list(query = {}) {
        await records.flush(clock.now().toISOString());
        const docs = await storage.listDocs<unknown>(ENTITY_COLLECTION, {
          ...(query.kind ? { where: { kind: query.kind } } : {}),
          limit: query.limit ?? 100,
          ...(query.afterId ? { afterId: query.afterId } : {}),
        });
        return docs.map((doc) => view(entityCodec.decode(doc.id, doc.value)));
      },
      async history(kind, id) {
        return (await loadRecord(kind, id)).history(clock.now().getTime());
      },
      async recordFindings(kind, id, findings) {
        const record = await loadRecord(kind, id);
        if (record.recordFindings(findings, clock.now().getTime())) records.markDirty(entityRecordKey(kind, id), record);
      },
    },
    configure(input) {
      const next = resolveContextSettings(input, settings);
      if (createActivityLayout(next.baselines.seenSetSizes).signature !== layout.signature) {
        throw new VigilError("VIGIL_BAD_CONFIG", "context settings: baselines.seenSetSizes cannot change at run time; set it in the configuration and restart", { field: "context.baselines.seenSetSizes" });
      }
      settings = next;
      baselines.resize(settings.cache.maxEntities, settings.cache.flushBatch);
      records.resize(settings.cache.maxEntities, settings.cache.flushBatch);
    },
    stats() {
      return { cachedBaselines: baselines.size, dirtyBaselines: baselines.dirtyCount, cachedEntities: records.size, dirtyEntities: records.dirtyCount, postureErrors: [...postureErrors], observeErrors: [...observeErrors], enrichErrors: [...enrichErrors], futureEvents: [...futureEvents] };
    },
  };
}
