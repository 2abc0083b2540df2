import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { describe, expect, it } from "vitest";
import { EventTypes, type Event } from "../core/event.js";
import { isVigilError } from "../core/errors.js";
import type { Finding } from "../core/finding.js";
import { createSqliteStorage } from "../store/sqlite/index.js";
import { cloudTrailFixture, makeEvent, oktaFixture } from "./fixtures.test-support.js";
import { copyContext } from "./built-state.js";
import { createContextStage } from "./stage.js";
import { createManualClock, createMemoryDocStorage } from "./test-support.js";
import { DAY_MS, HOUR_MS } from "./time.js";

const t0 = Date.parse("2024-09-02T09:00:00Z");
const record = cloudTrailFixture("event-cloud-trail-s3.json").data as Record<string, unknown>;

function call(arn: string, timeMs: number, region = "us-east-1"): Event {
  return makeEvent(EventTypes.cloudTrail, { ...record, awsRegion: region, eventTime: new Date(timeMs).toISOString(), userIdentity: { ...(record["userIdentity"] as object), arn } });
}

function violation(policy: string): Finding {
  return { policy, rule: "r1", revision: "rev", language: "vigil", effect: "violation", mode: "deny", severity: "high", message: "m", trace: [] };
}

describe("context stage", () => {
  it("builds a complete, JSON-safe context; every detector has a signal", async () => {
    const stage = createContextStage({ storage: createMemoryDocStorage(), clock: createManualClock(t0) });
    const event = oktaFixture("rules/okta_rules/okta_login_signal.yml", "Successful Login");
    const context = await stage.build(event);
    expect(Object.keys(context.signals).sort()).toEqual(["idle", "oddHour", "rare", "spike"]);
    expect(context.signals["idle"]).toMatchObject({ score: 0, confidence: 0, values: { applicable: false } });
    expect(context.input).toBe(event.data);
    expect(context.now).toBe(new Date(t0).toISOString());
    expect(context.entities["principal"]?.id).toBe("casey.hill@hey.com");
    expect(context.features?.["principal"]).toMatchObject({ events: 0, peer: "peer:all/principal" });
    const { event: _event, input: _input, ...rest } = context;
    const json = JSON.stringify(rest);
    expect(JSON.parse(json)).toEqual(rest);
    expect(json.length).toBeLessThan(4_000);
  });

  it("an event never counts itself: build is read-only, observe learns", async () => {
    const stage = createContextStage({ storage: createMemoryDocStorage(), clock: createManualClock(t0) });
    const arn = "arn:aws:iam::1:user/dev";
    for (let index = 0; index < 30; index++) {
      const event = call(arn, t0 + index * HOUR_MS);
      stage.observe(event, await stage.build(event));
    }
    const event = call(arn, t0 + 40 * HOUR_MS, "sa-east-1");
    const first = await stage.build(event);
    const second = await stage.build(event);
    expect(second.signals).toEqual(first.signals);
    expect(first.features?.["principal"]?.["events"]).toBe(30);
    expect(first.signals["rare"]?.values?.["firstSeen"]).toEqual(["region"]);
    stage.observe(event, first);
    stage.observe(event, first); // observing the same context twice does not count twice
    const after = await stage.build(call(arn, t0 + 41 * HOUR_MS, "sa-east-1"));
    expect(after.features?.["principal"]?.["events"]).toBe(31);
    expect(after.signals["rare"]?.values?.["firstSeen"]).toEqual([]);
    expect(stage.stats().observeErrors).toEqual([]);
  });

  it("keeps entity history from violation findings: 30 days, newest first", async () => {
    const clock = createManualClock(t0);
    const stage = createContextStage({ storage: createMemoryDocStorage(), clock });
    const arn = "arn:aws:iam::1:user/risky";
    const event = call(arn, t0);
    stage.observe(event, await stage.build(event), [violation("no-public-buckets"), { ...violation("passing"), effect: "pass" }]);
    clock.advance(2 * DAY_MS);
    const next = call(arn, t0 + 2 * DAY_MS);
    stage.observe(next, await stage.build(next), [violation("mfa-required")]);
    const context = await stage.build(call(arn, t0 + 3 * DAY_MS));
    expect(context.history?.violations30d).toBe(2);
    expect(context.history?.recent.map((item) => item.policy)).toEqual(["mfa-required", "no-public-buckets"]);
    clock.advance(29 * DAY_MS);
    expect((await stage.entities.history("principal", arn)).violations30d).toBe(1);
    clock.advance(2 * DAY_MS);
    expect((await stage.build(call(arn, t0 + 40 * DAY_MS))).history?.violations30d).toBe(0);
    await stage.entities.recordFindings("principal", arn, [violation("late")]);
    expect((await stage.entities.history("principal", arn)).violations30d).toBe(1);
  });

  it("entity API: upsert merges attributes (null removes), sets relations, audits; context sees it", async () => {
    const storage = createMemoryDocStorage();
    const stage = createContextStage({ storage, clock: createManualClock(t0) });
    const arn = "arn:aws:iam::1:user/ops";
    await stage.entities.upsert({ kind: "principal", id: arn, attrs: { owner: "ana", criticality: "high", environment: "prod" }, relations: { team: ["team/sre"] } }, "admin");
    await stage.entities.upsert({ kind: "principal", id: arn, attrs: { environment: null, classification: "internal" } }, "admin");
    const entity = await stage.entities.get("principal", arn);
    expect(entity).toMatchObject({ kind: "principal", id: arn, attrs: { owner: "ana", criticality: "high", classification: "internal" }, relations: { team: ["team/sre"] } });
    expect(entity?.attrs["environment"]).toBeUndefined();
    const context = await stage.build(call(arn, t0));
    expect(context.entities["principal"]?.attrs).toMatchObject({ owner: "ana", type: "AssumedRole", criticality: "high" });
    expect(context.features?.["principal"]?.["peer"]).toBe("peer:team/sre");
    expect(await stage.entities.get("principal", "nobody")).toBeUndefined();
    expect((await stage.entities.list({ kind: "principal" })).map((item) => item.id)).toEqual([arn]);
    expect(storage.audit.map((entry) => `${entry.actor}:${entry.action}`)).toEqual(["admin:entity.upsert", "admin:entity.upsert"]);
    await expect(stage.entities.upsert({ kind: "principal", id: "" }, "admin")).rejects.toMatchObject({ code: "VIGIL_BAD_INPUT", details: { field: "id" } });
  });

  it("inventory events update the entity store (owner, tags) after evaluation", async () => {
    const stage = createContextStage({ storage: createMemoryDocStorage(), clock: createManualClock(t0) });
    const inventory = makeEvent(EventTypes.resource, { kind: "aws.ec2.instance", id: "i-42", region: "eu-west-1", owner: "data-team", tags: { env: "prod" }, attrs: { criticality: "high" } }, { source: "/inventory" });
    stage.observe(inventory, await stage.build(inventory));
    expect(await stage.entities.get("resource", "i-42")).toMatchObject({ attrs: { owner: "data-team", criticality: "high", tags: { env: "prod" }, region: "eu-west-1" } });
  });

  it("an inventory snapshot is evaluated with its own values, not those of the snapshot before it", async () => {
    const stage = createContextStage({ storage: createMemoryDocStorage(), clock: createManualClock(t0) });
    await stage.entities.upsert({ kind: "resource", id: "i-43", attrs: { criticality: "high" } }, "admin");
    const first = makeEvent(EventTypes.resource, { kind: "aws.ec2.instance", id: "i-43", region: "eu-west-1", owner: "data-team", tags: { DataClass: "public" } }, { source: "/inventory" });
    stage.observe(first, await stage.build(first));
    // The instance was re-created in us-east-1 and its data reclassified.
    const second = makeEvent(EventTypes.resource, { kind: "aws.ec2.instance", id: "i-43", region: "us-east-1", owner: "data-team", tags: { DataClass: "confidential" } }, { source: "/inventory" });
    const context = await stage.build(second);
    // Attributes people manage through the API and the snapshot does not carry still come from the store.
    expect(context.entities["resource"]?.attrs).toMatchObject({ region: "us-east-1", tags: { DataClass: "confidential" }, owner: "data-team", criticality: "high" });
    stage.observe(second, context);
    expect(await stage.entities.get("resource", "i-43")).toMatchObject({ attrs: { region: "us-east-1", tags: { DataClass: "confidential" }, criticality: "high" } });
  });

  it("flushes baselines in batches and a new stage over the same SQLite store sees the same state", async () => {
    const storage = createSqliteStorage({ path: ":memory:" });
    await storage.init();
    const clock = createManualClock(t0);
    const stage = createContextStage({ storage, clock, settings: { cache: { flushBatch: 2 } } });
    const arn = "arn:aws:iam::1:user/persist";
    for (let index = 0; index < 25; index++) {
      const event = call(arn, t0 + index * HOUR_MS);
      stage.observe(event, await stage.build(event));
    }
    const metric = makeEvent(EventTypes.metric, { resource: "i-1", metric: "CPUUtilization", value: 2, ts: new Date(t0).toISOString() });
    stage.observe(metric, await stage.build(metric));
    await stage.flush();
    expect(stage.stats()).toMatchObject({ dirtyBaselines: 0, dirtyEntities: 0 });
    const probe = call(arn, t0 + 30 * HOUR_MS, "eu-north-1");
    const before = await stage.build(probe);
    const restarted = createContextStage({ storage, clock });
    const after = await restarted.build(probe);
    expect(after.signals).toEqual(before.signals);
    expect(after.features).toEqual(before.features);
    expect((await restarted.build(makeEvent(EventTypes.metric, { resource: "i-1", metric: "CPUUtilization", value: 2, ts: new Date(t0 + HOUR_MS).toISOString() }))).features?.["resource"]).toMatchObject({ events: 1, series: { CPUUtilization: { count: 1 } } });
    await storage.close();
  });

  it("LRU eviction never loses unsaved baselines; a failed flush keeps them dirty", async () => {
    const storage = createMemoryDocStorage();
    const stage = createContextStage({ storage, clock: createManualClock(t0), settings: { cache: { maxEntities: 16 } } });
    for (let user = 0; user < 40; user++) {
      const event = call(`arn:aws:iam::1:user/u${user}`, t0 + user * 1000);
      stage.observe(event, await stage.build(event));
    }
    expect(stage.stats().cachedBaselines).toBeLessThanOrEqual(16);
    storage.failWrites = true;
    await expect(stage.flush()).rejects.toMatchObject({ code: "VIGIL_STORAGE" });
    expect(stage.stats().dirtyBaselines).toBe(41);
    storage.failWrites = false;
    await stage.flush();
    expect(stage.stats().dirtyBaselines).toBe(0);
    // The first user was evicted long ago; its baseline comes back from storage.
    const back = await stage.build(call("arn:aws:iam::1:user/u0", t0 + DAY_MS));
    expect(back.features?.["principal"]?.["events"]).toBe(1);
  });

  it("settings: defaults merge, errors name the setting, run-time changes apply", async () => {
    const attempt = (settings: unknown): string => {
      try {
        createContextStage({ storage: createMemoryDocStorage(), settings: settings as never });
        return "ok";
      } catch (error) {
        return isVigilError(error) ? `${error.code} ${error.details.field ?? ""}` : String(error);
      }
    };
    expect(attempt({ detectors: { idle: { days: 90 } } })).toBe("VIGIL_BAD_CONFIG context.detectors.idle.days");
    expect(attempt({ detectors: { oddHour: { treshold: 1 } } })).toBe("VIGIL_BAD_CONFIG context.detectors.oddHour.treshold");
    expect(attempt({ detectors: { rare: { weights: { region: "high" } } } })).toBe("VIGIL_BAD_CONFIG context.detectors.rare.weights.region");
    expect(attempt({ detectors: { spike: { zThreshold: 4 } } })).toBe("ok");
    // minSamples 0 scored a series with no committed period against an empty level (expected 0.99): a new resource's second row was a spike.
    expect(attempt({ detectors: { spike: { minSamples: 0 } } })).toBe("VIGIL_BAD_CONFIG context.detectors.spike.minSamples");
    expect(attempt({ detectors: { spike: { minSamples: 2.5 } } })).toBe("VIGIL_BAD_CONFIG context.detectors.spike.minSamples");
    // A spread of 0 divides by zero: z Infinity (score 1) or NaN.
    expect(attempt({ detectors: { spike: { minSpread: 0 } } })).toBe("VIGIL_BAD_CONFIG context.detectors.spike.minSpread");
    expect(attempt({ detectors: { spike: { minSamples: 1, minSpread: 0.05 } } })).toBe("ok");
    const stage = createContextStage({ storage: createMemoryDocStorage(), clock: createManualClock(t0) });
    stage.configure({ detectors: { rare: { enabled: false } } });
    expect(stage.settings.detectors.rare.enabled).toBe(false);
    expect(stage.settings.detectors.spike.zThreshold).toBe(3);
    expect((await stage.build(call("arn:aws:iam::1:user/x", t0))).signals["rare"]?.values).toMatchObject({ applicable: false, reason: "disabled" });
    expect(() => stage.configure({ baselines: { seenSetSizes: { ip: 3 } } })).toThrow(/restart/);
  });
});

describe("observe on a copy of the context", () => {
  it("a context copied with copyContext and another input (as the pipeline does for decide requests) is observed, once; a plain copy is not", async () => {
    const stage = createContextStage({ storage: createMemoryDocStorage(), clock: createManualClock(t0) });
    const event = call("arn:aws:iam::1:user/copy", t0);
    const built = await stage.build(event);
    stage.observe(event, { ...built, input: { plain: true } });
    const unobserved = await stage.build(call("arn:aws:iam::1:user/copy", t0 + HOUR_MS / 2));
    expect(unobserved.features?.["principal"]?.["events"]).toBe(0);
    const copy = copyContext(built, { ...built, input: { overridden: true } });
    stage.observe(event, copy);
    const next = await stage.build(call("arn:aws:iam::1:user/copy", t0 + HOUR_MS));
    expect(next.features?.["principal"]?.["events"]).toBe(1);
    stage.observe(event, built);
    const again = await stage.build(call("arn:aws:iam::1:user/copy", t0 + 2 * HOUR_MS));
    expect(again.features?.["principal"]?.["events"]).toBe(1);
  });
});

describe("what a built context keeps alive", () => {
  it("a copy made with copyContext is observed once, like the original, without the original", async () => {
    const stage = createContextStage({ storage: createMemoryDocStorage(), clock: createManualClock(t0) });
    const event = call("arn:aws:iam::1:user/copied", t0);
    const copy = copyContext(await stage.build(event), { ...(await stage.build(event)), input: { overridden: true } });
    expect(Object.keys(copy)).not.toContain("Symbol(vigil.context.built)");
    expect(JSON.stringify(copy)).not.toContain("built");
    stage.observe(event, copy);
    stage.observe(event, copy);
    const next = await stage.build(call("arn:aws:iam::1:user/copied", t0 + HOUR_MS));
    expect(next.features?.["principal"]?.["events"]).toBe(1);
  });

  it("the stage does not hold the events of contexts nobody references any more (admission builds contexts it never observes)", async () => {
    setFlagsFromString("--expose-gc");
    const gc = runInNewContext("gc") as () => void;
    const stage = createContextStage({ storage: createMemoryDocStorage(), clock: createManualClock(t0) });
    // In a function of its own: a suspended async frame keeps its last values in its registers.
    const buildSome = async (): Promise<WeakRef<Event>[]> => {
      const made: WeakRef<Event>[] = [];
      for (let i = 0; i < 20; i++) {
        const event = call(`arn:aws:iam::1:user/u${i}`, t0 + i * 1000);
        made.push(new WeakRef(event));
        await stage.build(event);
      }
      return made;
    };
    const refs = await buildSome();
    // WeakRef targets live until the current job ends.
    await new Promise((done) => setImmediate(done));
    gc();
    expect(refs.map((ref, i) => (ref.deref() === undefined ? -1 : i)).filter((i) => i >= 0)).toEqual([]);
    expect(stage.stats().cachedEntities).toBeGreaterThan(0);
  });
});
