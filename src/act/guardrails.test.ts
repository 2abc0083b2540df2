import { describe, expect, it } from "vitest";
import { VigilError } from "../core/errors.js";
import { defaultBudgets, policyBudget, protectionVerdict, validateGuardrails, type GuardrailConfig } from "./guardrails.js";

/** Runs validateGuardrails on a config as YAML or JSON would give it (any shape). */
function check(config: unknown): VigilError | undefined {
  try {
    validateGuardrails(config as GuardrailConfig);
    return undefined;
  } catch (error) {
    if (error instanceof VigilError) return error;
    throw error;
  }
}

describe("validateGuardrails", () => {
  it("accepts a complete, valid configuration", () => {
    expect(check({
      allow: { "lock-*": ["fake.*"] },
      protected: { labels: { "vigil.dev/protected": "true", team: "*" }, names: ["prod/*"] },
      blastRadius: { perPolicy: { max: 1, windowMs: 1000 }, global: { max: 0, windowMs: 1 }, policies: { p: { max: 3, windowMs: 60_000 } } },
      requirePromotion: false,
      notificationKinds: ["webhook.post"],
    })).toBeUndefined();
  });

  it("an unknown key (a misspelt or invented setting) is refused naming it, with the nearest known key, not silently ignored", () => {
    expect(check({ killSwitch: "maybe" })).toMatchObject({ code: "VIGIL_BAD_CONFIG", details: { field: "guardrails.killSwitch" } });
    const misspelt = check({ blastRaduis: { global: { max: 1, windowMs: 1000 } } });
    expect(misspelt).toMatchObject({ code: "VIGIL_BAD_CONFIG", details: { field: "guardrails.blastRaduis" } });
    expect(misspelt?.message).toContain('did you mean "blastRadius"');
    expect(check({ blastRadius: { perPolicy: { max: 3, windowMs: 1000 }, perPolcy: { max: 1, windowMs: 1 } } })).toMatchObject({ details: { field: "guardrails.blastRadius.perPolcy" } });
    expect(check({ blastRadius: { global: { max: 3, window: 1000, windowMs: 1000 } } })).toMatchObject({ details: { field: "guardrails.blastRadius.global.window" } });
    expect(check({ blastRadius: { policies: { p: { max: 3, windowMs: 1000, maxPerHour: 2 } } } })).toMatchObject({ details: { field: "guardrails.blastRadius.policies.p.maxPerHour" } });
    expect(check({ protected: { label: { team: "*" } } })).toMatchObject({ details: { field: "guardrails.protected.label" } });
  });

  it("a budget max or windowMs written as a string (YAML \"5\", 1h) is refused showing the value as written and the fix, not as the number it looks like", () => {
    const max = check({ blastRadius: { perPolicy: { max: "5", windowMs: 3_600_000 } } });
    expect(max).toMatchObject({ code: "VIGIL_BAD_CONFIG", details: { field: "guardrails.blastRadius.perPolicy.max" } });
    expect(max?.message).toBe('guardrails.blastRadius.perPolicy.max must be a whole number ≥ 0 (unquoted, e.g. 10), got "5"');
    const window = check({ blastRadius: { global: { max: 5, windowMs: "1h" } } });
    expect(window).toMatchObject({ details: { field: "guardrails.blastRadius.global.windowMs" } });
    expect(window?.message).toBe('guardrails.blastRadius.global.windowMs must be a positive number of milliseconds (unquoted, e.g. 3600000 for an hour), got "1h"');
    expect(check({ blastRadius: { policies: { p: { max: 2.5, windowMs: 1000 } } } })?.message).toBe("guardrails.blastRadius.policies.p.max must be a whole number ≥ 0 (unquoted, e.g. 10), got 2.5");
  });

  it("a protected label whose value is not a string (YAML `true`) is refused naming the field, not left to fail at plan time", () => {
    const config = { protected: { labels: { "vigil.dev/protected": true } } };
    expect(check(config)).toMatchObject({ code: "VIGIL_BAD_CONFIG", details: { field: "guardrails.protected.labels.vigil.dev/protected" } });
  });

  it("protected.names must be a list of globs: a single string is refused (it would be read character by character)", () => {
    expect(check({ protected: { names: "prod-*" } })).toMatchObject({ code: "VIGIL_BAD_CONFIG", details: { field: "guardrails.protected.names" } });
    expect(check({ protected: { names: ["ok", 3] } })).toMatchObject({ code: "VIGIL_BAD_CONFIG", details: { field: "guardrails.protected.names[1]" } });
    expect(check({ protected: "vigil.dev/protected" })).toMatchObject({ code: "VIGIL_BAD_CONFIG", details: { field: "guardrails.protected" } });
    expect(check({ protected: { labels: ["vigil.dev/protected"] } })).toMatchObject({ code: "VIGIL_BAD_CONFIG", details: { field: "guardrails.protected.labels" } });
  });

  it("a budget that is not a map (e.g. `perPolicy:` left empty in YAML) is a VIGIL_BAD_CONFIG naming the field, not a TypeError", () => {
    expect(check({ blastRadius: { perPolicy: null } })).toMatchObject({ code: "VIGIL_BAD_CONFIG", details: { field: "guardrails.blastRadius.perPolicy" } });
    expect(check({ blastRadius: { policies: { p: 5 } } })).toMatchObject({ code: "VIGIL_BAD_CONFIG", details: { field: "guardrails.blastRadius.policies.p" } });
  });

  it("notificationKinds must be a list of kinds and requirePromotion a boolean", () => {
    expect(check({ notificationKinds: "webhook.post" })).toMatchObject({ code: "VIGIL_BAD_CONFIG", details: { field: "guardrails.notificationKinds" } });
    expect(check({ requirePromotion: "false" })).toMatchObject({ code: "VIGIL_BAD_CONFIG", details: { field: "guardrails.requirePromotion" } });
  });
});

describe("protectionVerdict", () => {
  const target = { kind: "bucket", id: "bucket/payroll" };
  it("label values are globs; `*` protects any value", () => {
    const config: GuardrailConfig = { protected: { labels: { team: "*" } } };
    expect(protectionVerdict(config, target, { kind: "bucket", id: "bucket/payroll", attrs: { labels: { team: "finance" } } })).toBe("target bucket/payroll is protected (label team=finance)");
    expect(protectionVerdict(config, target, { kind: "bucket", id: "bucket/payroll", attrs: { labels: { other: "x" } } })).toBeUndefined();
  });

  it("matching ignores case: a tag Vigil.dev/Protected=True, an IAM user or Okta login written in another case, are protected", () => {
    // AWS tag values and keys are free text ("True", "TRUE"); IAM user names and e-mail logins are case-insensitive.
    const tagged = (tags: Record<string, unknown>) => ({ kind: "bucket", id: "bucket/payroll", attrs: { tags } });
    expect(protectionVerdict({}, target, tagged({ "vigil.dev/protected": "True" }))).toBe("target bucket/payroll is protected (tag vigil.dev/protected=True)");
    expect(protectionVerdict({}, target, tagged({ "Vigil.dev/Protected": "TRUE" }))).toBe("target bucket/payroll is protected (tag Vigil.dev/Protected=TRUE)");
    expect(protectionVerdict({}, target, tagged({ "vigil.dev/protected": true }))).toBe("target bucket/payroll is protected (tag vigil.dev/protected=true)");
    expect(protectionVerdict({ protected: { labels: { env: "prod*" } } }, target, tagged({ Env: "Production" }))).toBe("target bucket/payroll is protected (tag Env=Production)");
    expect(protectionVerdict({}, target, tagged({ "vigil.dev/protected": "false" }))).toBeUndefined();
    const names: GuardrailConfig = { protected: { names: ["iam-user/Admin*", "okta/ceo@example.com"] } };
    expect(protectionVerdict(names, { kind: "principal", id: "iam-user/admin-ops" }, undefined)).toBe("target iam-user/admin-ops is protected (name matches iam-user/Admin*)");
    expect(protectionVerdict(names, { kind: "principal", id: "okta/CEO@Example.com" }, undefined)).toBe("target okta/CEO@Example.com is protected (name matches okta/ceo@example.com)");
    expect(protectionVerdict(names, { kind: "principal", id: "iam-user/dev" }, undefined)).toBeUndefined();
  });

  it("tags in AWS's list form ([{Key, Value}], as EC2 and the tagging APIs return them) protect as a map does", () => {
    const listed = (tags: unknown) => ({ kind: "instance", id: "i-0abc", attrs: { tags } });
    const target2 = { kind: "instance", id: "i-0abc" };
    expect(protectionVerdict({}, target2, listed([{ Key: "Name", Value: "db" }, { Key: "vigil.dev/protected", Value: "true" }]))).toBe("target i-0abc is protected (tag vigil.dev/protected=true)");
    expect(protectionVerdict({}, target2, listed([{ key: "vigil.dev/protected", value: "true" }]))).toBe("target i-0abc is protected (tag vigil.dev/protected=true)");
    expect(protectionVerdict({}, target2, listed([{ Key: "vigil.dev/protected", Value: "false" }, "junk", null]))).toBeUndefined();
  });

  it("a protected name matches the target however the policy spelt it: the entity's id or its kind/id key", () => {
    const admin = { kind: "iam-user", id: "admin-ops", attrs: {} };
    const byKey: GuardrailConfig = { protected: { names: ["iam-user/admin*"] } };
    expect(protectionVerdict(byKey, { kind: "iam-user", id: "admin-ops" }, admin)).toBe("target admin-ops is protected (name matches iam-user/admin*)");
    expect(protectionVerdict(byKey, { kind: "iam-user", id: "admin-ops" }, undefined)).toBe("target admin-ops is protected (name matches iam-user/admin*)");
    const byId: GuardrailConfig = { protected: { names: ["admin-*"] } };
    expect(protectionVerdict(byId, { kind: "iam-user", id: "iam-user/admin-ops" }, admin)).toBe("target iam-user/admin-ops is protected (name matches admin-*)");
    expect(protectionVerdict(byKey, { kind: "subject", id: "dev-ops" }, undefined)).toBeUndefined();
    expect(protectionVerdict(byId, { kind: "iam-user", id: "iam-user/dev" }, { ...admin, id: "dev" })).toBeUndefined();
  });

  it("protecting names keeps the default label; only an explicit labels map replaces it", () => {
    const marked = { kind: "bucket", id: "bucket/payroll", attrs: { tags: { "vigil.dev/protected": "true" } } };
    expect(protectionVerdict({}, target, marked)).toBe("target bucket/payroll is protected (tag vigil.dev/protected=true)");
    expect(protectionVerdict({ protected: { names: ["bucket/prod-*"] } }, target, marked)).toBe("target bucket/payroll is protected (tag vigil.dev/protected=true)");
    expect(protectionVerdict({ protected: { names: ["bucket/pay*"] } }, target, undefined)).toBe("target bucket/payroll is protected (name matches bucket/pay*)");
    expect(protectionVerdict({ protected: { names: ["bucket/prod-*"], labels: {} } }, target, marked)).toBeUndefined();
    expect(protectionVerdict({ protected: { labels: { team: "finance" } } }, target, marked)).toBeUndefined();
  });
});

describe("policyBudget", () => {
  it("a policy whose name is a key every object has (constructor) gets the perPolicy budget, not an unlimited one read from the object's prototype", () => {
    const config: GuardrailConfig = { blastRadius: { perPolicy: { max: 2, windowMs: 60_000 }, policies: { "lock-buckets": { max: 5, windowMs: 60_000 } } } };
    expect(policyBudget(config, "lock-buckets")).toEqual({ max: 5, windowMs: 60_000 });
    expect(policyBudget(config, "constructor")).toEqual({ max: 2, windowMs: 60_000 });
    expect(policyBudget({ blastRadius: { policies: {} } }, "constructor")).toEqual(defaultBudgets.perPolicy);
  });
});
