import { describe, expect, it } from "vitest";
import { compileCedarPolicySet, type CompiledCedarPolicySet } from "./compile.js";
import { DEFAULT_DENY_RULE } from "./findings.js";
import { mapAuthorizationInput } from "./request.js";
import { buildDecision } from "../../decide/decision.js";
import { decideContext } from "./test-helpers.js";

const policies = `// documents: owners and editors may write; nobody reads without MFA
@id("owner-write")
permit(principal, action in [Action::"read", Action::"write"], resource)
when { resource has owner && resource.owner == principal.name };

@id("editors")
permit(principal in Group::"editors", action == Action::"write", resource);

permit(principal, action == Action::"read", resource)
when { principal.department == resource.department };

@id("mfa-for-secret")
@severity("critical")
@message("Secret documents need MFA")
forbid(principal, action, resource)
when { resource.classification >= 3 && !context.mfa };
`;

const entities = JSON.stringify([
  { uid: { type: "User", id: "erin" }, attrs: { name: "erin", department: "ops" }, parents: [{ type: "Group", id: "editors" }] },
  { uid: { type: "Group", id: "editors" }, attrs: {}, parents: [] },
]);

function compile(): CompiledCedarPolicySet {
  const result = compileCedarPolicySet({
    name: "docs",
    policies: [{ file: "docs/policies.cedar", text: policies }],
    entities: [{ file: "docs/entities.json", text: entities }],
  });
  expect(result.errors).toEqual([]);
  if (!result.policy) throw new Error("no policy");
  return result.policy;
}

const alice = { type: "User", id: "alice", name: "alice", department: "eng" };
const doc = (attrs: Record<string, unknown>) => ({ type: "Document", id: "d1", department: "eng", classification: 1, ...attrs });

describe("compileCedarPolicySet", () => {
  it("names policies by @id, else policy<N> counted in file order", () => {
    expect(compile().policyIds).toEqual(["owner-write", "editors", "policy2", "mfa-for-secret"]);
  });

  it("allows with no findings on the hot path, and explains the permits in explain mode", () => {
    const set = compile();
    const ctx = decideContext({ principal: alice, action: "read", resource: doc({ owner: "alice" }), context: { mfa: false } });
    expect(set.evaluate(ctx)).toEqual([]);
    const explained = set.evaluate(ctx, { includePasses: true });
    expect(explained.map((f) => [f.effect, f.rule]).sort()).toEqual([["pass", "owner-write"], ["pass", "policy2"]]);
    expect(explained[0]?.language).toBe("cedar");
    expect(explained[0]?.resource).toBe('Document::"d1"');
  });

  it("reports each forbid that determined a deny as a violation naming the Cedar policy", () => {
    const set = compile();
    const findings = set.evaluate(decideContext({ principal: alice, action: "read", resource: doc({ classification: 3 }), context: { mfa: false } }));
    expect(findings).toHaveLength(1);
    expect(findings[0]).toMatchObject({ effect: "violation", mode: "deny", rule: "mfa-for-secret", severity: "critical", message: "Secret documents need MFA", policy: "docs" });
    expect(findings[0]?.trace[0]?.expr).toContain("forbid(principal, action, resource)");
  });

  it("reports a deny with no satisfied permit as one default-deny violation", () => {
    const set = compile();
    const findings = set.evaluate(decideContext({ principal: alice, action: "write", resource: doc({}), context: { mfa: true } }));
    expect(findings).toHaveLength(1);
    expect(findings[0]).toMatchObject({ effect: "violation", mode: "deny", rule: DEFAULT_DENY_RULE });
    expect(findings[0]?.message).toContain('User::"alice" Action::"write" Document::"d1"');
  });

  it("uses entities from the entities file (group membership) and merges request attributes over them", () => {
    const set = compile();
    // erin is in Group::"editors" only through entities.json
    const write = set.evaluate(decideContext({ principal: { type: "User", id: "erin" }, action: "write", resource: doc({}), context: { mfa: true } }));
    expect(write).toEqual([]);
    // request attrs override the stored department; parents stay from the file
    const read = set.evaluate(decideContext({ principal: { type: "User", id: "erin", department: "eng" }, action: "read", resource: doc({}), context: { mfa: true } }));
    expect(read).toEqual([]);
    const readOps = set.evaluate(decideContext({ principal: { type: "User", id: "erin" }, action: "read", resource: doc({}), context: { mfa: true } }));
    expect(readOps.map((f) => f.rule)).toEqual([DEFAULT_DENY_RULE]);
  });

  it("keeps the stored parents of an input.entities entry that gives no parents (only its attributes are merged)", () => {
    const set = compile();
    // erin is an editor through entities.json; the request only adds an attribute
    const write = set.evaluate(decideContext({ principal: 'User::"erin"', action: "write", resource: doc({}), context: { mfa: true }, entities: [{ uid: { type: "User", id: "erin" }, attrs: { name: "erin", department: "ops", note: "x" } }] }));
    expect(write).toEqual([]);
    // parents given: they replace the stored ones
    const dropped = set.evaluate(decideContext({ principal: 'User::"erin"', action: "write", resource: doc({}), context: { mfa: true }, entities: [{ uid: { type: "User", id: "erin" }, attrs: {}, parents: [] }] }));
    expect(dropped.map((f) => f.rule)).toEqual([DEFAULT_DENY_RULE]);
  });

  it("passes the tags of input.entities to Cedar, merged over the stored entity's tags", () => {
    const text = '@id("prod-only") permit(principal, action, resource) when { resource.hasTag("env") && resource.getTag("env") == "prod" && resource.getTag("team") == "web" };';
    const stored = JSON.stringify([{ uid: { type: "Doc", id: "d" }, attrs: {}, parents: [], tags: { env: "dev", team: "web" } }]);
    const result = compileCedarPolicySet({ name: "tags", policies: [{ file: "tags/p.cedar", text }], entities: [{ file: "tags/entities.json", text: stored }] });
    const set = result.policy;
    if (!set) throw new Error(JSON.stringify(result.errors));
    const request = (entities: unknown[]) => set.evaluate(decideContext({ principal: 'User::"a"', action: "read", resource: 'Doc::"d"', entities })).map((f) => f.rule);
    expect(request([])).toEqual([DEFAULT_DENY_RULE]);
    expect(request([{ uid: 'Doc::"d"', attrs: {}, tags: { env: "prod" } }])).toEqual([]);
    expect(request([{ uid: 'Doc::"other"', attrs: {}, tags: { env: "prod" } }])).toEqual([DEFAULT_DENY_RULE]);
    expect(mapAuthorizationInput({ principal: 'User::"a"', action: "read", resource: 'Doc::"d"', entities: [{ uid: 'Doc::"d"', tags: ["prod"] }] }, "Action")).toMatchObject({ ok: false, field: "input.entities[0].tags" });
  });

  it("turns a policy that errs into an error finding (mode audit) and keeps Cedar's decision", () => {
    const set = compile();
    // context.mfa is missing: the forbid errs, Cedar skips it, the owner permit still allows
    const findings = set.evaluate(decideContext({ principal: alice, action: "read", resource: doc({ owner: "alice", classification: 3 }) }));
    expect(findings).toHaveLength(1);
    expect(findings[0]).toMatchObject({ effect: "error", mode: "audit", rule: "mfa-for-secret", error: { code: "CEDAR_EVALUATION" } });
    // the error message points into the file: the forbid's `context.mfa` is on line 16, column 41
    expect(findings[0]?.message).toMatch(/docs\/policies\.cedar:16:41/);
  });

  it("points an evaluation error at its own policy when an identical policy text comes earlier in the file (inside an annotated one)", () => {
    const text = '@id("a")\npermit(principal, action, resource) when { resource.x };\npermit(principal, action, resource) when { resource.x };\n';
    const result = compileCedarPolicySet({ name: "s", policies: [{ file: "s/p.cedar", text }] });
    expect(result.errors).toEqual([]);
    const findings = result.policy?.evaluate(decideContext({ principal: 'User::"a"', action: "read", resource: { type: "Doc", id: "d", y: 1 } })) ?? [];
    const messages = Object.fromEntries(findings.filter((f) => f.effect === "error").map((f) => [f.rule, f.message]));
    expect(messages["a"]).toContain("(s/p.cedar:2:44)");
    expect(messages["policy1"]).toContain("(s/p.cedar:3:44)");
  });

  it("keeps default ids in file order past ten policies", () => {
    const text = Array.from({ length: 12 }, (_, i) => `permit(principal, action, resource) when { context.n == ${i} };`).join("\n");
    const result = compileCedarPolicySet({ name: "many", policies: [{ file: "many.cedar", text }] });
    const set = result.policy;
    expect(set?.policyIds).toEqual(Array.from({ length: 12 }, (_, i) => `policy${i}`));
    const passes = set?.evaluate(decideContext({ principal: 'User::"a"', action: "read", resource: 'Doc::"d"', context: { n: 11 } }), { includePasses: true }) ?? [];
    expect(passes.map((f) => f.rule)).toEqual(["policy11"]);
    expect(passes[0]?.trace[0]?.expr).toContain("context.n == 11");
  });

  it("fails closed with an error finding naming the field for a malformed request, and returns nothing for non-authorization input", () => {
    const set = compile();
    const bad = set.evaluate(decideContext({ principal: { id: "alice" }, action: "read", resource: doc({}) }));
    expect(bad.map((f) => [f.effect, f.rule])).toEqual([["error", "request"], ["violation", DEFAULT_DENY_RULE]]);
    expect(bad[0]).toMatchObject({ mode: "deny", error: { code: "VIGIL_BAD_INPUT" } });
    expect(bad[0]?.message).toContain("input.principal.type");
    // fail closed: decide's verdict counts violations, so the request is denied
    expect(bad[1]).toMatchObject({ mode: "deny" });
    expect(bad[1]?.message).toContain("Cedar gave no decision");
    expect(set.evaluate(decideContext({ kind: "Pod", metadata: {} }))).toEqual([]);
    expect(set.evaluate(decideContext({ kind: "Pod" }), { includePasses: true })[0]?.effect).toBe("skip");
  });

  it("applies only to decide requests and changes revision with the source", () => {
    const set = compile();
    expect(set.meta.on).toEqual(["dev.vigil.decide"]);
    const other = compileCedarPolicySet({ name: "docs", policies: [{ file: "docs/policies.cedar", text: `${policies}\n` }] });
    expect(other.policy?.meta.revision).not.toBe(set.meta.revision);
  });
});

describe("load errors", () => {
  it("names the file, line and column of a parse error", () => {
    const result = compileCedarPolicySet({
      name: "bad",
      policies: [{ file: "bad/a.cedar", text: 'permit(principal, action, resource);\n\npermit(principal, action, resource)\n  when { principal.x == };\n' }],
    });
    expect(result.policy).toBeUndefined();
    expect(result.errors).toHaveLength(1);
    expect(result.errors[0]?.message).toMatch(/^bad\/a\.cedar:4:25: /);
    expect(result.errors[0]?.details).toMatchObject({ file: "bad/a.cedar", line: 4, column: 25 });
  });

  it("loads the set whole or not at all: one broken file fails the set", () => {
    const result = compileCedarPolicySet({
      name: "mixed",
      policies: [
        { file: "m/ok.cedar", text: "permit(principal, action, resource);" },
        { file: "m/broken.cedar", text: "forbid(principal, action, resource) when { ) };" },
      ],
    });
    expect(result.policy).toBeUndefined();
    expect(result.errors.map((e) => e.details.file)).toEqual(["m/broken.cedar"]);
  });

  it("rejects duplicate @id annotations", () => {
    const text = '@id("a")\npermit(principal, action, resource);\n@id("a")\nforbid(principal, action, resource);\n';
    const result = compileCedarPolicySet({ name: "dup", policies: [{ file: "dup.cedar", text }] });
    expect(result.errors[0]?.message).toContain('two Cedar policies have the id "a"');
    expect(result.errors[0]?.details.line).toBe(3);
  });

  it("rejects a template with the unsupported-template error, not as a file that does not parse", () => {
    const text = 'permit(principal, action, resource);\n\npermit(principal == ?principal, action, resource);\n';
    const result = compileCedarPolicySet({ name: "t", policies: [{ file: "t/p.cedar", text }] });
    expect(result.policy).toBeUndefined();
    expect(result.errors).toHaveLength(1);
    expect(result.errors[0]?.code).toBe("VIGIL_POLICY_UNSUPPORTED");
    expect(result.errors[0]?.message).toContain("t/p.cedar: Cedar policy templates (policies with ?principal/?resource slots) are not supported");
  });

  it("reports a bad entities file with its position", () => {
    const result = compileCedarPolicySet({
      name: "e",
      policies: [{ file: "e/p.cedar", text: "permit(principal, action, resource);" }],
      entities: [{ file: "e/entities.json", text: '[\n  { "uid": { "type": "User", "id": "a" } },\n  oops\n]' }],
    });
    expect(result.errors).toHaveLength(1);
    expect(result.errors[0]?.message).toMatch(/^e\/entities\.json:3:3: /);
  });
});

describe("through decide", () => {
  it("gives buildDecision Cedar's verdict: allow, forbid deny, default deny, fail-closed deny", () => {
    const set = compile();
    const verdict = (input: unknown) => {
      const ctx = decideContext(input);
      return buildDecision(ctx, set.evaluate(ctx), { [set.meta.name]: set.meta.revision }, { id: "d", now: ctx.now, enforced: true }).verdict;
    };
    expect(verdict({ principal: alice, action: "read", resource: doc({}), context: { mfa: true } })).toBe("allow");
    expect(verdict({ principal: alice, action: "read", resource: doc({ classification: 3 }), context: { mfa: false } })).toBe("deny");
    expect(verdict({ principal: alice, action: "write", resource: doc({}), context: { mfa: true } })).toBe("deny");
    expect(verdict({ principal: alice, action: "read", resource: "not a uid", context: { mfa: true } })).toBe("deny");
    // an erring forbid is skipped (Cedar's decision stands), reported but not enforced
    expect(verdict({ principal: alice, action: "read", resource: doc({ owner: "alice", classification: 3 }) })).toBe("allow");
  });
});
