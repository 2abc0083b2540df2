import { describe, expect, it } from "vitest";
import type { CompiledPolicy } from "../../core/compiled-policy.js";
import { createCelEnvironment } from "../cel/index.js";
import type { CelEnvironment } from "../cel/api.js";
import { loadPolicyText } from "../load.js";
import { policyContext } from "../../../test/helpers/policy-context.js";

const env = createCelEnvironment();

function policy(match: string | undefined, conditions: readonly string[], options: { env?: CelEnvironment; variables?: string } = {}): CompiledPolicy {
  const rules = conditions.map((c, i) => `    - name: r${i}\n      condition: ${JSON.stringify(c)}\n      effect: deny`).join("\n");
  const text = `apiVersion: vigil.dev/v1\nkind: Policy\nmetadata: { name: p }\nspec:\n${match === undefined ? "" : `  match: ${JSON.stringify(match)}\n`}${options.variables ?? ""}  rules:\n${rules}\n`;
  const { policies, errors } = loadPolicyText(text, "p.yaml", { env: options.env ?? env });
  expect(errors).toEqual([]);
  return policies[0] as CompiledPolicy;
}

describe("report keys", () => {
  it("come from the first && operand of every rule condition", () => {
    expect(policy(undefined, ['principal.department == "eng" && "pii" in resource.tags']).reportKeys).toEqual([{ path: "principal.department", values: ["eng"] }]);
    expect(policy('action == "share"', ['principal.role in ["contractor", "guest"] && context.mfa != true']).reportKeys).toEqual([{ path: "principal.role", values: ["contractor", "guest"] }]);
    // a condition that is one constraint and nothing else
    expect(policy(undefined, ['principal.role == "contractor"']).reportKeys).toEqual([{ path: "principal.role", values: ["contractor"] }]);
    // several rules on the same path: the union of their values
    expect(policy(undefined, ['resource.kind == "Pod" && x > 1', 'resource.kind in ["Job", "Pod"] && y > 1']).reportKeys).toEqual([{ path: "resource.kind", values: ["Pod", "Job"] }]);
  });

  it("are not reported when they cannot be proven", () => {
    // the constraint is not the first operand (an earlier one could fail)
    expect(policy(undefined, ['"pii" in resource.tags && principal.department == "eng"']).reportKeys).toBeUndefined();
    // a disjunction, a negation
    expect(policy(undefined, ['principal.department == "eng" || x > 1']).reportKeys).toBeUndefined();
    expect(policy(undefined, ['!(principal.department == "eng")']).reportKeys).toBeUndefined();
    // rules constraining different paths, or one rule without a constraint
    expect(policy(undefined, ['a == "x" && y > 1', 'b == "x" && y > 1']).reportKeys).toBeUndefined();
    expect(policy(undefined, ['a == "x" && y > 1', "y > 2"]).reportKeys).toBeUndefined();
    // a match that is more than index keys could fail with an error finding of its own
    expect(policy('resource.kind == "Pod" && size(resource.name) > 3', ['a == "x"']).reportKeys).toBeUndefined();
    // policy variables and `now` are not in the shared activation
    expect(policy(undefined, ['variables.kind == "x"'], { variables: "  variables:\n    - name: kind\n      expression: resource.kind\n" }).reportKeys).toBeUndefined();
    // a condition longer than the cost limit fails before its first operand runs
    expect(policy(undefined, ['a == "x" && b == 1 && c == 2 && d == 3'], { env: createCelEnvironment({ costLimit: 3 }) }).reportKeys).toBeUndefined();
  });
});

describe("evaluateIndexed", () => {
  const contexts = [
    { resource: { project: "p7" }, action: "read", principal: { department: "eng" } },
    { resource: { project: "p7" }, action: "list", principal: { department: "sales" } },
  ];

  it("gives the findings of evaluate when the index keys hold (explain mode too)", () => {
    const pure = policy('resource.project == "p7" && action in ["read", "list"]', ['principal.department != "eng"', 'principal.missing == 1']);
    const mixed = policy('resource.project == "p7" && principal.department != "none"', ['principal.department == "sales"']);
    for (const p of [pure, mixed]) {
      expect(p.evaluateIndexed).toBeTypeOf("function");
      for (const input of contexts) {
        for (const options of [undefined, { includePasses: true }]) {
          const ctx = policyContext(input);
          expect(JSON.parse(JSON.stringify(p.evaluateIndexed?.(ctx, options)))).toEqual(JSON.parse(JSON.stringify(p.evaluate(ctx, options))));
        }
      }
    }
    // the violation's trace still shows the match step the index stood in for
    const finding = pure.evaluateIndexed?.(policyContext(contexts[1]))[0];
    expect(finding?.trace[0]).toMatchObject({ kind: "match", value: true });
  });

  it("skips a match made of index keys only: a context that breaks them is the caller's error", () => {
    const pure = policy('resource.project == "p7"', ["true"]);
    const mixed = policy('resource.project == "p7" && action != "x"', ["true"]);
    const wrong = policyContext({ resource: { project: "p9" }, action: "read" });
    expect(pure.evaluate(wrong)).toEqual([]);
    expect(pure.evaluateIndexed?.(wrong)).toHaveLength(1);
    expect(mixed.evaluateIndexed?.(wrong)).toEqual([]);
  });
});
