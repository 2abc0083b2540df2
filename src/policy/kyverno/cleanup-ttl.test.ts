import { describe, expect, it } from "vitest";
import { EventTypes, type Event } from "../../core/event.js";
import type { Context } from "../../core/context.js";
import { CLEANUP_EVENT_TYPE } from "./cleanup-policy.js";
import { createTtlCleanupPolicy, selectByTtl, TTL_LABEL, TTL_POLICY_NAME, ttlDeletionTime } from "./cleanup-ttl.js";

const created = "2023-07-18T12:00:00Z";
const pod = (ttl: string | undefined, extra: Record<string, unknown> = {}) => ({
  apiVersion: "v1",
  kind: "Pod",
  metadata: { name: "temporary-job", namespace: "default", uid: "u-1", creationTimestamp: created, ...(ttl === undefined ? {} : { labels: { [TTL_LABEL]: ttl } }), ...extra },
  spec: { containers: [{ name: "worker", image: "busybox:1.35" }] },
});

const contextFor = (event: Event): Context => ({ event, input: event.data, context: {} } as unknown as Context);

describe("the cleanup.kyverno.io/ttl label (Kyverno's parseDeletionTime)", () => {
  it("counts a Go duration from the creation time, and reads the two absolute layouts", () => {
    // Kyverno's own cases (pkg/controllers/ttl/utils_test.go).
    expect(ttlDeletionTime("2h30m", created)).toEqual({ at: new Date("2023-07-18T14:30:00Z") });
    expect(ttlDeletionTime("2023-07-19T120000Z", created)).toEqual({ at: new Date("2023-07-19T12:00:00Z") });
    expect(ttlDeletionTime("2023-07-19", created)).toEqual({ at: new Date("2023-07-19T00:00:00Z") });
    expect(ttlDeletionTime("invalid-value", created)).toHaveProperty("error");
    expect(ttlDeletionTime("90s", created)).toEqual({ at: new Date("2023-07-18T12:01:30Z") });
    expect(ttlDeletionTime("1.5h", created)).toEqual({ at: new Date("2023-07-18T13:30:00Z") });
  });

  it("refuses what Go's parsers refuse: days as a unit, RFC 3339 with colons, impossible dates", () => {
    for (const value of ["1d", "2023-07-19T12:00:00Z", "2023-02-30", "2023-07-19T250000Z", "", "10"]) {
      const parsed = ttlDeletionTime(value, created);
      expect(parsed, value).toHaveProperty("error");
      if ("error" in parsed) expect(parsed.error).toContain("cannot be parsed as any recognizable format");
    }
  });

  it("selects an object once now is after its due time, keeps it before, and reports a bad value", () => {
    expect(selectByTtl(pod("2m"), new Date("2023-07-18T12:01:59Z")).status).toBe("keep");
    expect(selectByTtl(pod("2m"), new Date("2023-07-18T12:02:00Z")).status).toBe("keep");
    const due = selectByTtl(pod("2m"), new Date("2023-07-18T12:02:01Z"));
    expect(due.status).toBe("delete");
    expect(due.message).toContain("due at 2023-07-18T12:02:00.000Z");
    expect(selectByTtl(pod(undefined), new Date()).status).toBe("nomatch");
    const bad = selectByTtl(pod("tomorrow"), new Date());
    expect(bad.status).toBe("error");
    expect(bad.message).toContain(`label ${TTL_LABEL} is "tomorrow"`);
    // A manifest not yet applied: a duration has nothing to count from, a date still applies.
    const manifest = { ...pod("2m"), metadata: { name: "m", labels: { [TTL_LABEL]: "2m" } } };
    expect(selectByTtl(manifest, new Date()).status).toBe("keep");
    expect(selectByTtl({ ...manifest, metadata: { name: "m", labels: { [TTL_LABEL]: "2020-01-01" } } }, new Date()).status).toBe("delete");
  });
});

describe("the built-in policy kyverno-ttl-label", () => {
  const policy = createTtlCleanupPolicy();
  const candidate = (object: Record<string, unknown>, run: string): Event => ({ specversion: "1.0", id: "c-1", source: "vigil/cleanup", type: CLEANUP_EVENT_TYPE, time: run, data: { policy: TTL_POLICY_NAME, run, object } });

  it("runs every minute over every deletable resource with the label selector", () => {
    expect(policy.meta.name).toBe(TTL_POLICY_NAME);
    expect(policy.schedule).toBe("* * * * *");
    expect(policy.targets).toEqual([{ everyResource: true }]);
    expect(policy.labelSelector).toBe(TTL_LABEL);
    expect(createTtlCleanupPolicy({ schedule: "*/5 * * * *" }).schedule).toBe("*/5 * * * *");
  });

  it("turns a due candidate into a kubernetes.delete of exactly that object, with the annotation's propagation", () => {
    const object = pod("2m", { annotations: { "cleanup.kyverno.io/propagation-policy": "Foreground" } });
    const [finding] = policy.evaluate(contextFor(candidate(object, "2023-07-18T12:03:00Z")));
    expect(finding?.effect).toBe("violation");
    expect(finding?.message).toContain(`Pod default/temporary-job is due for deletion by the ${TTL_LABEL} label`);
    expect(finding?.remediation).toEqual([{ action: "kubernetes.delete", params: { apiVersion: "v1", kind: "Pod", namespace: "default", name: "temporary-job", uid: "u-1", propagationPolicy: "Foreground" } }]);
    // Not yet due at the run (a retried event of an earlier run, or the label changed): nothing.
    expect(policy.evaluate(contextFor(candidate(object, "2023-07-18T12:01:00Z")))).toEqual([]);
  });

  it("asks a person before deleting a Secret (its deletion cannot be undone)", () => {
    const adaptive = policy.meta.enforcement?.adaptive ?? [];
    expect(adaptive).toHaveLength(1);
    expect(adaptive[0]?.tier).toBe("approve");
    expect(adaptive[0]?.when).toContain('input.object.kind == "Secret"');
  });

  it("warns (audit) on an admission review that sets a value Kyverno cannot parse, and says nothing otherwise", () => {
    const review = (ttl: string, operation = "CREATE"): Event => ({
      specversion: "1.0", id: "r-1", source: "test", type: EventTypes.admissionReview,
      data: { apiVersion: "admission.k8s.io/v1", kind: "AdmissionReview", request: { uid: "1", operation, object: pod(ttl) } },
    });
    const [warning] = policy.evaluate(contextFor(review("1d")));
    expect(warning).toMatchObject({ policy: TTL_POLICY_NAME, effect: "violation", mode: "audit" });
    expect(warning?.message).toContain("cleanup.kyverno.io/ttl label value cannot be parsed as any recognizable format");
    expect(policy.evaluate(contextFor(review("4h")))).toEqual([]);
    expect(policy.evaluate(contextFor(review("2026-10-04")))).toEqual([]);
    expect(policy.evaluate(contextFor(review("1d", "DELETE")))).toEqual([]);
  });
});
