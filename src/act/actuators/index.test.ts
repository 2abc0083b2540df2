import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { isVigilError } from "../../core/index.js";
import { actuatorContract } from "./actuator-contract.js";
import { builtinActionKinds, createBuiltinActuators, describeActionKind, validateBuiltinAction } from "./index.js";
import type { BuiltinActuatorsConfig } from "./index.js";

// Port 1 on loopback: nothing listens, so every remote call fails at once.
const NOWHERE = "http://127.0.0.1:1";
const SHA = "6dcb09b5b57875f334f61aebed695e2e4193db5e";

const everything: BuiltinActuatorsConfig = {
  webhook: { endpoints: { default: { url: `${NOWHERE}/hook`, secret: "s" } }, maxAttempts: 2 },
  slack: { webhooks: { default: `${NOWHERE}/services/T/B/X` }, maxAttempts: 2 },
  github: { token: "ghp_x", baseUrl: NOWHERE },
  kubernetes: { server: NOWHERE, token: "t", skipTlsVerify: true },
  aws: { region: "eu-west-1", credentials: { accessKeyId: "AKIAIOSFODNN7EXAMPLE", secretAccessKey: "secret" }, endpoint: NOWHERE, maxAttempts: 1 },
  okta: { orgUrl: NOWHERE, token: "t", maxAttempts: 1 },
  clock: { now: () => new Date("2025-03-01T12:00:00Z") },
  sleep: async () => undefined,
};

/** Valid params of every built-in kind. */
const validParams: Record<string, Record<string, unknown>> = {
  "webhook.post": { payload: { a: 1 } },
  "slack.message": { text: "hello" },
  "github.commit-status": { owner: "octo-org", repo: "octo-repo", sha: SHA, state: "failure" },
  "github.check-run": { owner: "octo-org", repo: "octo-repo", headSha: SHA, conclusion: "failure", title: "t", summary: "s" },
  "github.pr-comment": { owner: "octo-org", repo: "octo-repo", number: 7, body: "b" },
  "kubernetes.scale-to-zero": { namespace: "shop", name: "web" },
  "kubernetes.label": { kind: "Pod", namespace: "shop", name: "web-1", labels: { quarantine: "true" } },
  "kubernetes.annotate": { kind: "Node", name: "node-1", annotations: { "vigil.dev/note": "x" } },
  "kubernetes.delete-pod": { namespace: "shop", name: "web-1" },
  "kubernetes.delete": { apiVersion: "batch/v1", kind: "Job", namespace: "shop", name: "nightly-report" },
  "kubernetes.patch": { apiVersion: "v1", kind: "ConfigMap", namespace: "shop", name: "app-config", patch: [{ op: "replace", path: "/data/mode", value: "strict" }], resourceVersion: "812" },
  "kubernetes.create": { manifest: { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "defaults", namespace: "shop" }, data: { mode: "strict" } } },
  "aws.s3.block-public-access": { bucket: "my-bucket" },
  "aws.ec2.stop-instances": { instanceIds: ["i-1aebf7c0"] },
  "aws.iam.deactivate-access-key": { userName: "alice", accessKeyId: "AKIAJRLD3ESRQSWUHEWA" },
  "okta.suspend-user": { userId: "00ub0oNGTSWTBKOLGLNR" },
  "okta.unsuspend-user": { userId: "00ub0oNGTSWTBKOLGLNR" },
};

actuatorContract("built-in actuators", () =>
  createBuiltinActuators(everything).map((actuator) => {
    const spec = describeActionKind(actuator.kind);
    if (spec === undefined) throw new Error(`no spec for ${actuator.kind}`);
    return { actuator, spec, validParams: validParams[actuator.kind] ?? {} };
  }),
);

describe("createBuiltinActuators", () => {
  it("offers one actuator per built-in kind when every provider is configured", () => {
    const kinds = createBuiltinActuators(everything).map((actuator) => actuator.kind);
    expect(kinds).toEqual(builtinActionKinds.map((spec) => spec.kind));
    expect(new Set(kinds).size).toBe(kinds.length);
    expect(Object.keys(validParams).sort()).toEqual([...kinds].sort());
  });

  it("offers only the configured providers' kinds", () => {
    expect(createBuiltinActuators({}).map((actuator) => actuator.kind)).toEqual([]);
    expect(createBuiltinActuators({ okta: { orgUrl: "https://example.okta.com", token: "t" } }).map((actuator) => actuator.kind)).toEqual(["okta.suspend-user", "okta.unsuspend-user"]);
  });

  it("rejects bad configuration with VIGIL_BAD_CONFIG naming the field", () => {
    const cases: [BuiltinActuatorsConfig, string][] = [
      [{ github: { token: "" } }, "actuators.github.token"],
      [{ github: { token: "t", baseUrl: "ftp://x" } }, "actuators.github.baseUrl"],
      [{ kubernetes: { server: "http://127.0.0.1:6443", token: "t" } }, "actuators.kubernetes.server"],
      [{ aws: { region: "", credentials: { accessKeyId: "a", secretAccessKey: "b" } } }, "actuators.aws.region"],
      [{ okta: { orgUrl: "not a url", token: "t" } }, "actuators.okta.orgUrl"],
      [{ slack: { webhooks: {} } }, "actuators.slack.webhooks"],
      [{ webhook: { endpoints: { default: { url: "https://x.example/h", secret: "s" } }, maxAttempts: 0 } }, "actuators.webhook.maxAttempts"],
    ];
    for (const [config, field] of cases) {
      try {
        createBuiltinActuators(config);
        expect.unreachable(`expected a config error for ${field}`);
      } catch (error) {
        expect(isVigilError(error) && error.code).toBe("VIGIL_BAD_CONFIG");
        expect(isVigilError(error) && error.details.field).toBe(field);
      }
    }
  });
});

describe("validateBuiltinAction", () => {
  it("validates params without any configuration", () => {
    expect(() => validateBuiltinAction("okta.suspend-user", { userId: "00u1" })).not.toThrow();
    expect(() => validateBuiltinAction("okta.suspend-user", {})).toThrowError(/params\.userId is required/);
    expect(() => validateBuiltinAction("aws.ec2.stop-instances", { instanceIds: ["i-1aebf7c0", "vol-1"] })).toThrowError(/params\.instanceIds\[1\] "vol-1" does not match/);
    expect(() => validateBuiltinAction("aws.ec2.stop-instances", { instanceIds: [] })).toThrowError(/non-empty array/);
    expect(() => validateBuiltinAction("aws.s3.block-public-access", { bucket: "my-bucket", blockPublicAcls: "yes" })).toThrowError(/params\.blockPublicAcls must be true or false/);
    expect(() => validateBuiltinAction("github.pr-comment", { owner: "o", repo: "r", number: 0, body: "b" })).toThrowError(/params\.number must be at least 1/);
  });

  it("names an unknown kind and lists the known ones", () => {
    expect(() => validateBuiltinAction("aws.s3.delete-bucket", {})).toThrowError(/unknown action kind "aws\.s3\.delete-bucket"; built-in kinds: webhook\.post, slack\.message/);
  });
});

describe("docs/actuators.md", () => {
  const docs = readFileSync(new URL("../../../docs/actuators.md", import.meta.url), "utf8");

  it("documents every kind with each of its params", () => {
    for (const spec of builtinActionKinds) {
      const start = docs.indexOf(`### \`${spec.kind}\``);
      expect(start, `section for ${spec.kind}`).toBeGreaterThanOrEqual(0);
      const next = docs.indexOf("\n### ", start + 1);
      const section = docs.slice(start, next < 0 ? undefined : next);
      for (const param of spec.params) expect(section, `${spec.kind} param ${param.name}`).toContain(`\`${param.name}\``);
      expect(section, `${spec.kind} undo`).toMatch(/Undo/);
    }
  });
});
