import { describe, expect, it } from "vitest";
import { validateEventData } from "./event-data.js";
import type { FieldProblem } from "./results.js";
import {
  createVigilEvent,
  validateDataflow,
  validateDependencyChange,
  validateFeedback,
  validateMetric,
  validatePosture,
  validateResource,
} from "./vigil-data.js";

const fields = (problems: readonly FieldProblem[]): string[] => problems.map((p) => p.field);

const metric = { resource: "i-0abc", metric: "cpu_utilization", value: 2.5, unit: "percent", ts: "2024-05-01T12:00:00Z", labels: { env: "prod" } };
const resource = { kind: "s3.bucket", id: "arn:aws:s3:::logs", region: "eu-west-1", tags: { owner: "data" }, attrs: { versioning: true }, owner: "data-team" };
const dataflow = { dataset: "customers", classification: "pii", from: { region: "eu-west-1" }, to: { region: "us-east-1" }, bytes: 1024, purpose: "analytics" };
const posture = { level: "incident", reason: "INC-42", until: "2024-05-02T00:00:00Z", scope: "account:123" };
const feedback = { decisionId: "d-1", label: "false_positive", by: "alice", reason: "planned maintenance" };
const dependency = { repo: "acme/api", ref: "refs/pull/7/head", pullRequest: 7, base: "{}", head: { lockfileVersion: 3 }, path: "package-lock.json" };

describe("Vigil data shapes", () => {
  it("accepts the documented shapes", () => {
    expect(validateMetric(metric)).toEqual([]);
    expect(validateResource(resource)).toEqual([]);
    expect(validateResource({ kind: "iam.role", id: "arn:aws:iam::1:role/x" })).toEqual([]);
    expect(validateDataflow(dataflow)).toEqual([]);
    expect(validatePosture(posture)).toEqual([]);
    expect(validatePosture({ level: "normal", reason: "all clear" })).toEqual([]);
    expect(validateFeedback(feedback)).toEqual([]);
    expect(validateDependencyChange(dependency)).toEqual([]);
  });

  it("names the field of each problem", () => {
    expect(fields(validateMetric({ ...metric, value: "2.5", ts: "noon", labels: { env: 1 } }))).toEqual(["data.value", "data.ts", "data.labels.env"]);
    expect(fields(validateMetric({}))).toEqual(["data.resource", "data.metric", "data.value", "data.unit", "data.ts"]);
    expect(fields(validateResource({ id: "", tags: ["a"] }))).toEqual(["data.kind", "data.id", "data.tags"]);
    expect(fields(validateDataflow({ ...dataflow, from: "eu", to: { region: "" }, bytes: -1 }))).toEqual(["data.from", "data.to.region", "data.bytes"]);
    expect(fields(validatePosture({ level: "panic", until: "tomorrow" }))).toEqual(["data.level", "data.reason", "data.until"]);
    expect(fields(validateFeedback({ decisionId: "d", label: "maybe" }))).toEqual(["data.label", "data.by"]);
    expect(fields(validateDependencyChange({ ...dependency, repo: "api", pullRequest: 0, base: 3 }))).toEqual(["data.repo", "data.pullRequest", "data.base"]);
    expect(fields(validateMetric(null))).toEqual(["data"]);
  });

  it("says how to fix it", () => {
    const [problem] = validatePosture({ level: "panic", reason: "x" });
    expect(problem?.message).toBe('`data.level` is "panic": use one of normal, elevated, incident, freeze');
    const [missing] = validateFeedback({ label: "incident", by: "bob" });
    expect(missing?.message).toContain("give the id of the decision");
  });
});

describe("createVigilEvent", () => {
  it.each([
    ["dev.vigil.metric", metric, "i-0abc", "2024-05-01T12:00:00Z"],
    ["dev.vigil.resource", resource, "arn:aws:s3:::logs", undefined],
    ["dev.vigil.dataflow", dataflow, "customers", undefined],
    ["dev.vigil.posture", posture, "account:123", undefined],
    ["dev.vigil.feedback", feedback, "d-1", undefined],
    ["dev.vigil.dependency.change", dependency, "acme/api#7", undefined],
  ] as const)("%s: subject %s", (type, data, subject, time) => {
    const result = createVigilEvent(type, data);
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.event.type).toBe(type);
    expect(result.event.subject).toBe(subject);
    expect(result.event.time).toBe(time);
    expect(result.event.data).toBe(data);
    expect(createVigilEvent(type, { ...data }).ok && result.event.id).toBe((createVigilEvent(type, { ...data }) as { event: { id: string } }).event.id);
  });

  it("defaults a posture's subject to the org and a dependency change without PR to the repo", () => {
    const org = createVigilEvent("dev.vigil.posture", { level: "freeze", reason: "release" });
    expect(org.ok && org.event.subject).toBe("org");
    const { pullRequest: _pr, ...push } = dependency;
    const repo = createVigilEvent("dev.vigil.dependency.change", push);
    expect(repo.ok && repo.event.subject).toBe("acme/api");
  });

  it("rejects invalid data with the fields named", () => {
    const result = createVigilEvent("dev.vigil.feedback", { label: "nope" });
    expect(result.ok === false && result.problems.map((p) => p.field)).toEqual(["data.decisionId", "data.label", "data.by"]);
  });
});

describe("validateEventData", () => {
  it("leaves unknown types alone", () => {
    expect(validateEventData("com.example.unknown", undefined)).toEqual([]);
    expect(validateEventData("com.example.unknown", "text")).toEqual([]);
  });

  it("requires data for known types, as JSON", () => {
    expect(fields(validateEventData("dev.vigil.metric", undefined))).toEqual(["data"]);
    expect(fields(validateEventData("dev.vigil.metric", undefined, true))).toEqual(["data_base64"]);
    expect(fields(validateEventData("com.github.push", "payload"))).toEqual(["data"]);
    expect(validateEventData("com.github.push", { ref: "refs/heads/main" })).toEqual([]);
    expect(fields(validateEventData("io.k8s.resource", { kind: "Pod" }))).toEqual(["data.apiVersion", "data.metadata"]);
    expect(fields(validateEventData("org.finops.focus.cost", { BilledCost: 1 }))).toContain("data.ChargePeriodStart");
    expect(fields(validateEventData("com.okta.system.log", { uuid: "x" }))).toEqual(["data.eventType"]);
  });
});
