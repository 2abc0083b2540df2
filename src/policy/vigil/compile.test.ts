import { describe, expect, it } from "vitest";
import { loadPolicyText } from "../load.js";
import { isNativePolicy } from "./compile.js";

const header = "apiVersion: vigil.dev/v1\nkind: Policy\nmetadata:\n  name: p\n";

function errorsOf(text: string): { message: string; details: Record<string, unknown> }[] {
  return loadPolicyText(text, "policies/p.yaml").errors.map((e) => ({ message: e.message, details: { ...e.details } }));
}

describe("native policy validation", () => {
  it("rejects an unknown field with a suggestion, naming file, policy, field and line/column", () => {
    const [e, ...rest] = errorsOf(`${header}spec:\n  rules:\n    - name: r\n      condtion: "true"\n`);
    expect(rest).toEqual([]);
    // The position is the unknown key's (the value may be lines below it).
    expect(e?.message).toContain('policies/p.yaml:8:7: policy "p": spec.rules[0].condtion unknown field "condtion"; did you mean "condition"?');
    expect(e?.message).toContain("spec.rules[0].condition is required");
    expect(e?.details).toMatchObject({ file: "policies/p.yaml", policy: "p", field: "spec.rules[0].condtion", line: 8, column: 7 });
  });

  it("places an unknown field at its key, whatever its value: a block list below, nothing, a flow map, a quoted key", () => {
    const text = `${header}spec:\n  rules:\n    - name: r\n      condition: "true"\n  exeptions:\n    - "true"\n  tests:\n    - name: t\n      expect: { allow: true, violatons: [] }\n      "inptu": {}\n      contxt:\n`;
    const where = [...(errorsOf(text)[0]?.message ?? "").matchAll(/p\.yaml:(\d+:\d+): policy "p": (\S+) unknown/g)].map((m) => `${m[2]} ${m[1]}`);
    expect(where.sort()).toEqual(["spec.exeptions 9:3", "spec.tests[0].contxt 15:7", "spec.tests[0].expect.violatons 13:30", "spec.tests[0].inptu 14:7"]);
  });

  it("reports bad enum values with a suggestion and every problem of the document", () => {
    const [e] = errorsOf(`${header}spec:\n  on: com.example\n  rules:\n    - name: r\n      condition: "true"\n      severity: hgh\n      effect: block\n`);
    expect(e?.message).toContain('spec.on must be a list, got the string "com.example"');
    expect(e?.message).toContain('spec.rules[0].severity must be one of info, low, medium, high, critical, got the string "hgh"; did you mean "high"?');
    expect(e?.message).toContain("spec.rules[0].effect must be one of deny, warn, audit");
    expect(e?.message.split("\n")).toHaveLength(3);
  });

  it("validates names, duplicates and the document header", () => {
    const [e] = errorsOf(`apiVersion: vigil.dev/v1\nkind: Policy\nmetadata:\n  name: Bad_Name\n  team: x\nspec:\n  rules:\n    - name: r\n      condition: "true"\n    - name: r\n      condition: "false"\n`);
    expect(e?.message).toContain("metadata.name \"Bad_Name\" is not valid");
    expect(e?.message).toContain('metadata.team unknown field "team"; known fields here: name, labels, description, owner');
    expect(e?.message).toContain('rule "r" is declared twice');
  });

  it("a YAML boolean or number where text is expected (condition: true) says to quote it", () => {
    const [e] = errorsOf(`${header}spec:\n  match: true\n  rules:\n    - name: 2024\n      condition: false\n`);
    const m = e?.message ?? "";
    expect(m).toContain('spec.match must be a string, got boolean true; quote it ("true") so YAML reads it as text');
    expect(m).toContain('spec.rules[0].name must be a string, got number 2024; quote it ("2024") so YAML reads it as text');
    expect(m).toContain('spec.rules[0].condition must be a string, got boolean false; quote it ("false")');
    expect(e?.details["hint"]).toBe('quote it ("true") so YAML reads it as text');
  });

  it("validates exceptions, remediation, enforcement and escalation", () => {
    const [e] = errorsOf(`${header}spec:
  rules:
    - name: r
      condition: "true"
  exceptions:
    - name: x
      when: "true"
      rules: [nope]
  remediation:
    - params: {}
  enforcement:
    floor: block
    ceiling: notify
    minConfidence: 2
    mode: shadowed
  escalation:
    - notify: []
      after: soon
`);
    const m = e?.message ?? "";
    expect(m).toContain('spec.exceptions[0].rules[0] names rule "nope", which this policy does not have');
    expect(m).toContain("spec.remediation[0].action is required");
    expect(m).toContain('spec.enforcement.floor floor "block" is above ceiling "notify"');
    expect(m).toContain("spec.enforcement.minConfidence must be a number between 0 and 1");
    expect(m).toContain('spec.enforcement.mode must be one of enforce, shadow, got the string "shadowed"; did you mean "shadow"?');
    expect(m).toContain("spec.escalation[0].notify must name at least one recipient");
    expect(m).toContain("spec.escalation[0].after \"soon\" is not valid");
  });

  it("an exception naming a rule the policy lacks says which rule was meant, or lists the rules", () => {
    const [e] = errorsOf(`${header}spec:
  rules:
    - name: no-public-acl
      condition: "true"
    - name: owner-tag
      condition: "true"
  exceptions:
    - name: x
      when: "true"
      rules: [no-publc-acl, zzz]
`);
    const m = e?.message ?? "";
    expect(m).toContain('spec.exceptions[0].rules[0] names rule "no-publc-acl", which this policy does not have; did you mean "no-public-acl"?');
    expect(m).toContain('spec.exceptions[0].rules[1] names rule "zzz", which this policy does not have; its rules: no-public-acl, owner-tag');
  });

  it("a test expecting a rule the policy lacks (it could never pass) says which rule was meant, at its line", () => {
    const [e] = errorsOf(`${header}spec:
  rules:
    - name: no-public-acl
      condition: "true"
  tests:
    - name: t
      input: {}
      expect:
        violations: [no-publc-acl, p/no-public-acl, other/no-public-acl]
        errors: [zzz]
        findings: [{ rule: no-public-ac }, { policy: q, rule: no-public-acl }]
`);
    const m = e?.message ?? "";
    expect(m).toContain('policies/p.yaml:13:22: policy "p": spec.tests[0].expect.violations[0] names rule "no-publc-acl", which this policy does not have; did you mean "no-public-acl"?');
    expect(m).toContain('spec.tests[0].expect.violations[2] names policy "other", but a test inside policy "p" runs p alone; write no-public-acl or p/no-public-acl');
    expect(m).toContain('spec.tests[0].expect.errors[0] names rule "zzz", which this policy does not have; its rules: no-public-acl');
    expect(m).toContain('spec.tests[0].expect.findings[0].rule names rule "no-public-ac", which this policy does not have; did you mean "no-public-acl"?');
    expect(m).toContain('spec.tests[0].expect.findings[1].policy names policy "q", but a test inside policy "p" runs p alone; leave policy out');
    expect(m.split("\n")).toHaveLength(5);
  });

  it("an exception with an empty rules list (it would except nothing) is an error", () => {
    const [e] = errorsOf(`${header}spec:\n  rules:\n    - name: r\n      condition: "true"\n  exceptions:\n    - name: x\n      when: "true"\n      rules: []\n`);
    expect(e?.message).toContain("spec.exceptions[0].rules must name at least one rule; leave rules out for an exception that applies to every rule");
  });

  it("validates inline tests", () => {
    const [e] = errorsOf(`${header}spec:\n  rules:\n    - name: r\n      condition: "true"\n  tests:\n    - name: t\n      input: {}\n      expect: {}\n    - name: u\n      expect: { violation: [r] }\n`);
    expect(e?.message).toContain("spec.tests[0].expect must say what is expected");
    expect(e?.message).toContain('spec.tests[1].expect.violation unknown field "violation"; did you mean "violations"?');
  });

  it("rejects a test case whose now names a time that does not exist (it ran at 1970-01-01, or a day later)", () => {
    const cases = (now: string): string => `${header}spec:\n  rules:\n    - name: r\n      condition: "true"\n  tests:\n    - name: t\n      now: "${now}"\n      expect: { allow: false }\n`;
    for (const now of ["2024-13-01T00:00:00Z", "2024-02-30T00:00:00Z", "2023-02-29T12:00:00Z", "2024-01-01T24:00:00Z", "2024-01-01T12:60:00Z", "2024-01-01T12:00:00+24:00"]) {
      const [e] = errorsOf(cases(now));
      expect({ now, message: e?.message }).toEqual({ now, message: expect.stringContaining(`spec.tests[0].now "${now}" is not valid: an RFC 3339 time such as 2024-05-01T12:00:00Z`) });
    }
    for (const now of ["2024-02-29T23:59:59.5Z", "2024-12-31T00:00:00-05:30"]) expect(errorsOf(cases(now))).toEqual([]);
  });

  it("places a CEL syntax error at its line and column inside a literal block", () => {
    const text = `${header}spec:\n  rules:\n    - name: r\n      condition: |\n        principal.role == "dev" &&\n          resource.kind == == "Pod"\n`;
    const [e] = errorsOf(text);
    expect(e?.details).toMatchObject({ file: "policies/p.yaml", policy: "p", field: "spec.rules[0].condition" });
    const line = text.split("\n")[(e?.details["line"] as number) - 1] ?? "";
    expect(line).toContain("resource.kind == == ");
    const column = e?.details["column"] as number;
    expect(column).toBeGreaterThan(line.indexOf("resource"));
    expect(column).toBeLessThanOrEqual(line.length);
    expect(e?.message).toMatch(/^policies\/p\.yaml:10:\d+: policy "p": spec\.rules\[0\]\.condition has a CEL error/);
  });

  it("places an unfinished expression in a literal block after its last character, not on the next line of the file", () => {
    // The block's value ends with a line break, so CEL's "end of expression" is line 3, column 1 of
    // the value: a line the block does not have (the file's next line is the next rule).
    const text = `${header}spec:\n  rules:\n    - name: r\n      condition: |\n        principal.role == "dev" &&\n          resource.kind ==\n    - name: s\n      condition: "true"\n`;
    const [e] = errorsOf(text);
    expect(e?.message).toContain("spec.rules[0].condition has a CEL error");
    const lines = text.split("\n");
    expect(e?.details).toMatchObject({ field: "spec.rules[0].condition", line: 10, column: (lines[9] as string).length + 1 });
  });

  it("places a CEL error in a literal block with an indentation indicator (|2: content two columns in from its key)", () => {
    // The value is "  true &&\n   )\n": its first line keeps two of its spaces, so the block's indentation is not the first line's.
    const text = `${header}spec:\n  rules:\n    - name: r\n      condition: |2\n          true &&\n           )\n    - condition: |2-\n          true &&\n           )\n      name: s\n`;
    const where = [...(errorsOf(text)[0]?.message ?? "").matchAll(/p\.yaml:(\d+:\d+): policy "p": (\S+) has a CEL error/g)].map((m) => `${m[2]} ${m[1]}`);
    expect(where).toEqual(["spec.rules[0].condition 10:12", "spec.rules[1].condition 13:12"]);
  });

  it("places a CEL error of a plain scalar on its line", () => {
    const [e] = errorsOf(`${header}spec:\n  match: resource.kind == )\n  rules:\n    - name: r\n      condition: "true"\n`);
    expect(e?.details).toMatchObject({ field: "spec.match", line: 6 });
    expect(e?.details["column"] as number).toBeGreaterThanOrEqual(10);
  });

  it("places a CEL error exactly inside quoted scalars with escapes and inside multi-line flow scalars", () => {
    // Each condition has one unexpected ')' (marked by the test as the first ')' after the marker `@`).
    const cases = [
      '      condition: "resource.kind == \\"Pod\\" && \\u0061 == @)"',
      "      condition: 'resource.kind == ''Pod'' && a == @)'",
      "      condition: resource.kind == 'Pod' &&\n        a == 1 &&\n        b == @)",
      '      condition: "resource.kind == \\"Pod\\" &&\n        a == @)"',
      '      condition: "resource.kind == \\"Pod\\" && \\\n        a == @)"',
      '      condition: "true"\n      message: "kind \\"{{ resource.kind }}\\" and {{ a == @) }}"',
      '      condition: "true"\n      message: "\u{1F600} kind {{ \'\u{1F600}\' == @) }}"',
      "      condition: \"'\u{1F600}' == \\\"x\\\" && @)\"",
    ];
    for (const rule of cases) {
      const text = `${header}spec:\n  rules:\n    - name: r\n${rule.replace("@", "")}\n`;
      const [e] = errorsOf(text);
      const marker = `${header}spec:\n  rules:\n    - name: r\n${rule}`.indexOf("@");
      const lines = text.slice(0, marker).split("\n");
      // Columns count code points, as CEL's do.
      expect({ rule, line: e?.details["line"], column: e?.details["column"] }).toEqual({ rule, line: lines.length, column: [...(lines[lines.length - 1] as string)].length + 1 });
    }
  });

  it("places CEL errors in a file with CRLF line breaks where they are in the same file with LF", () => {
    const text = `${header}spec:\n  match: resource.kind == )\n  rules:\n    - name: r\n      condition: "a == \\"x\\" && )"\n    - name: s\n      condition: 'a ==\n        b == )'\n    - name: t\n      condition: "true"\n      message: "{{ a. }}"\n`;
    const where = (source: string): unknown[] => loadPolicyText(source, "policies/p.yaml").errors.flatMap((e) => [...e.message.matchAll(/p\.yaml:(\d+:\d+)/g)].map((m) => m[1]));
    const lf = where(text);
    expect(lf).toEqual(["6:27", "9:33", "12:14", "15:22"]);
    expect(where(text.replace(/\n/g, "\r\n"))).toEqual(lf);
  });

  it("reports CEL errors inside message templates and remediation params", () => {
    const [e] = errorsOf(`${header}spec:\n  rules:\n    - name: r\n      condition: "true"\n      message: "bad {{ a. }} end"\n  remediation:\n    - action: webhook\n      params: { url: "{{ ) }}" }\n`);
    expect(e?.message).toContain("spec.rules[0].message has a CEL error");
    expect(e?.message).toContain("spec.remediation[0].params.url has a CEL error");
  });

  it("a template part opened with {{ and never closed is a load error at the {{, not literal text in every message", () => {
    const [e] = errorsOf(`${header}spec:\n  rules:\n    - name: r\n      condition: "true"\n      message: "Bucket {{ resource.name } is public"\n  remediation:\n    - action: webhook\n      params: { url: "https://x/{{ resource.id" }\n`);
    const m = e?.message ?? "";
    expect(m).toContain("policies/p.yaml:9:24: policy \"p\": spec.rules[0].message has '{{' without a closing '}}'; close the part, or write a literal {{ as {{ '{{' }}");
    expect(m).toContain("spec.remediation[0].params.url has '{{' without a closing '}}'");
    // A literal {{ written as a CEL string, and }} alone, are fine.
    expect(errorsOf(`${header}spec:\n  rules:\n    - name: r\n      condition: "true"\n      message: "use {{ '{{' }} .Values }} in Helm"\n`)).toEqual([]);
  });

  it("compiles templates nested in remediation params (lists and maps) at load, as the runtime renders them", () => {
    const [e] = errorsOf(`${header}spec:\n  rules:\n    - name: r\n      condition: "true"\n  remediation:\n    - action: webhook\n      params:\n        tags: ["ok", "{{ ) }}"]\n        body: { text: "{{ variables.nope }}", inner: [{ x: "{{ 1 + }}" }] }\n`);
    const m = e?.message ?? "";
    expect(m).toContain("spec.remediation[0].params.tags[1] has a CEL error");
    expect(m).toContain("spec.remediation[0].params.body.text uses variables.nope, which is not declared");
    expect(m).toContain("spec.remediation[0].params.body.inner[0].x has a CEL error");
    expect(m).toMatch(/policies\/p\.yaml:12:26: policy "p": spec\.remediation\[0\]\.params\.tags\[1\]/);
  });

  it("checks variable references: declared, and earlier only", () => {
    const [e] = errorsOf(`${header}spec:
  variables:
    - name: first
      expression: variables.second + 1
    - name: second
      expression: "1"
  rules:
    - name: r
      condition: variables.secnd > 0 && variables["first"] > 0 && "variables.ignored" != ""
`);
    const m = e?.message ?? "";
    expect(m).toContain("spec.variables[0].expression uses variables.second, declared at or after this point");
    expect(m).toContain('spec.rules[0].condition uses variables.secnd, which is not declared (did you mean "second"?)');
    expect(m).not.toContain("ignored");
    expect(m).not.toContain("variables.first,");
  });

  it("finds variable references in the parsed expression: optional syntax, whole-map reads; not in comments, strings or shadowing names", () => {
    const ok = loadPolicyText(`${header}spec:
  variables:
    - name: first
      expression: "1"
    - name: second
      expression: variables.?first.orValue(0) + size(variables)
  rules:
    - name: r
      condition: |-
        variables[?"second"].hasValue() // not variables.nope
          && 'variables["nope"]' != "variables.nope"
          && [{"x": 1}].exists(variables, variables.x == 1)
          && variables.all(k, k != "")
`, "policies/p.yaml");
    expect(ok.errors.map((e) => e.message)).toEqual([]);
    const [e] = errorsOf(`${header}spec:
  variables:
    - name: first
      expression: variables.?second.orValue(1)
    - name: second
      expression: variables[?"second"].orValue(2)
  rules:
    - name: r
      condition: variables.?secnd.hasValue()
`);
    const m = e?.message ?? "";
    expect(m).toContain("spec.variables[0].expression uses variables.second, declared at or after this point");
    expect(m).toContain("spec.variables[1].expression uses variables.second, declared at or after this point");
    expect(m).toContain('spec.rules[0].condition uses variables.secnd, which is not declared (did you mean "second"?)');
  });

  it("rejects __proto__ as a variable or output name (it would set the prototype of the map holding it)", () => {
    const [e] = errorsOf(`${header}spec:
  variables:
    - name: __proto__
      expression: "{'a': 5}"
  outputs:
    - name: __proto__
      expression: "1"
  rules:
    - name: r
      condition: "true"
`);
    expect(e?.message).toContain('spec.variables[0].name "__proto__" is not valid');
    expect(e?.message).toContain('spec.outputs[0].name "__proto__" is not valid');
  });

  it("a broken policy does not stop the others", () => {
    const text = `${header}spec:\n  rules:\n    - name: r\n      condition: "(("\n---\napiVersion: vigil.dev/v1\nkind: Policy\nmetadata:\n  name: ok\nspec:\n  rules:\n    - name: r\n      condition: "true"\n`;
    const result = loadPolicyText(text, "two.yaml");
    expect(result.policies.map((p) => p.meta.name)).toEqual(["ok"]);
    expect(result.errors).toHaveLength(1);
    expect(result.errors[0]?.code).toBe("VIGIL_POLICY_COMPILE");
  });

  it("fills PolicyMeta from the document, enforcement and escalation included", () => {
    const result = loadPolicyText(`apiVersion: vigil.dev/v1
kind: Policy
metadata:
  name: meta-check
  owner: team-a
  description: d
  labels: { pack: aws, tier: 1 }
spec:
  on: [com.amazonaws.cloudtrail]
  rules:
    - name: r
      condition: "true"
  enforcement:
    tier: block
    floor: notify
    ceiling: remediate
    adaptive:
      - when: context.posture.level == "incident"
        tier: remediate
        reason: incident
    minConfidence: 0.7
    mode: shadow
    dryRun: true
    safeDefault: approve
  escalation:
    - notify: [alice]
      after: 15m
`, "m.yaml");
    expect(result.errors).toEqual([]);
    const p = result.policies[0];
    expect(p?.meta).toMatchObject({
      name: "meta-check", language: "vigil", owner: "team-a", description: "d", labels: { pack: "aws", tier: "1" },
      on: ["com.amazonaws.cloudtrail"], source: "m.yaml (document 0)",
      enforcement: { tier: "block", floor: "notify", ceiling: "remediate", adaptive: [{ when: 'context.posture.level == "incident"', tier: "remediate", reason: "incident" }], minConfidence: 0.7, mode: "shadow", dryRun: true, safeDefault: "approve" },
      escalation: [{ notify: ["alice"], after: "15m" }],
    });
    expect(p !== undefined && isNativePolicy(p)).toBe(true);
  });

  it("the revision follows content, not formatting", () => {
    const a = loadPolicyText(`${header}spec:\n  rules:\n    - name: r\n      condition: "true"\n`).policies[0]?.meta.revision;
    const b = loadPolicyText(`${header}spec:\n  rules: [{ condition: "true", name: r }]\n`).policies[0]?.meta.revision;
    const c = loadPolicyText(`${header}spec:\n  rules: [{ condition: "false", name: r }]\n`).policies[0]?.meta.revision;
    expect(a).toBe(b);
    expect(a).not.toBe(c);
  });
});
