import { describe, expect, it } from "vitest";
import { loadPolicyText } from "../policy/load.js";
import { addToSpec } from "./proposal-yaml.js";

const policy = (exceptions: string): string => `apiVersion: vigil.dev/v1
kind: Policy
metadata:
  name: p
spec:
  on: [dev.vigil.decide]
  rules:
    - name: r
      condition: input.acl == "public-read"
      message: public
      severity: high
  exceptions:
${exceptions}`;

const added = { name: "learned-r-1", when: 'input.owner == "web"', rules: ["r"] };

describe("addToSpec: appending to an existing block list", () => {
  for (const [layout, items] of [
    ["one space after the dash", '    - name: old\n      when: input.owner == "ops"\n'],
    ["several spaces after the dash", '    -   name: old\n        when: input.owner == "ops"\n'],
    ["the item on the line after its dash", '    -\n      name: old\n      when: input.owner == "ops"\n'],
  ] as const) {
    it(`adds the item as a sibling of the list's items (${layout})`, () => {
      const text = policy(items);
      const loaded = loadPolicyText(addToSpec({ file: "p.yaml", text, index: 0 }, { exceptions: [added] }), "p.yaml");
      expect(loaded.errors.map((e) => e.message)).toEqual([]);
      const spec = (loaded.policies[0] as unknown as { spec: { exceptions: { name: string }[] } }).spec;
      expect(spec.exceptions.map((e) => e.name)).toEqual(["old", "learned-r-1"]);
    });
  }
});

describe("addToSpec: line endings", () => {
  it("a file with CRLF line endings gets its new lines with CRLF too", () => {
    const text = policy('    - name: old\n      when: input.owner == "ops"\n').replace(/\n/g, "\r\n").replace("  exceptions:", "  tests:\r\n    - name: t\r\n      input: { acl: private }\r\n      expect: { violations: [] }\r\n  exceptions:");
    const out = addToSpec({ file: "p.yaml", text, index: 0 }, { exceptions: [added], tests: [{ name: "learned", input: { acl: "public-read", owner: "web" }, expect: { violations: [] } }] });
    expect(out.replace(/\r\n/g, "")).not.toContain("\n");
    expect(out.replace(/\r\n/g, "")).not.toContain("\r");
    const loaded = loadPolicyText(out, "p.yaml");
    expect(loaded.errors.map((e) => e.message)).toEqual([]);
    const spec = (loaded.policies[0] as unknown as { spec: { exceptions: { name: string }[]; tests: { name: string }[] } }).spec;
    expect([spec.exceptions.map((e) => e.name), spec.tests.map((t) => t.name)]).toEqual([["old", "learned-r-1"], ["t", "learned"]]);
  });
});

describe("addToSpec: a key left empty", () => {
  for (const [layout, value] of [
    ["nothing after the colon", ""],
    ["a tilde", " ~"],
    ["null and a comment", " null   # none yet"],
    ["only a comment", "   # none yet"],
  ] as const) {
    it(`spec.exceptions with ${layout} (null, which the loader accepts) becomes a block list holding the new item`, () => {
      const text = `${policy("").replace(/\n {2}exceptions:\n$/, "")}\n  exceptions:${value}\n  tests: []\n`;
      expect(loadPolicyText(text, "p.yaml").errors).toEqual([]);
      const out = addToSpec({ file: "p.yaml", text, index: 0 }, { exceptions: [added] });
      const loaded = loadPolicyText(out, "p.yaml");
      expect(loaded.errors.map((e) => e.message)).toEqual([]);
      const spec = (loaded.policies[0] as unknown as { spec: { exceptions: { name: string }[] } }).spec;
      expect(spec.exceptions.map((e) => e.name)).toEqual(["learned-r-1"]);
      expect(out.startsWith(text.slice(0, text.indexOf("  exceptions:")))).toBe(true);
    });
  }
});

describe("addToSpec: a spec written as a flow mapping", () => {
  const flow = (rest: string): string => `apiVersion: vigil.dev/v1
kind: Policy
metadata: { name: p }
spec: { on: [dev.vigil.decide], rules: [{ name: r, condition: 'input.acl == "public-read"', message: public, severity: high }]${rest} }
`;
  const test = { name: "learned", input: { acl: "public-read", owner: "web" }, expect: { violations: [] } };
  for (const [layout, text] of [
    ["without exceptions or tests", flow("")],
    ["with lists holding items", flow(`, exceptions: [{ name: old, when: 'input.owner == "ops"' }], tests: [{ name: t, input: { acl: private }, expect: { violations: [] } }]`)],
    ["with empty lists", flow(", exceptions: [], tests: []")],
    ["over several lines, a trailing comma", `apiVersion: vigil.dev/v1
kind: Policy
metadata: { name: p }
spec: {
    on: [dev.vigil.decide],
    rules: [{ name: r, condition: 'input.acl == "public-read"', message: public, severity: high }],
  }
`],
  ] as const) {
    it(`gets the new items inside it, and the rest of the file stays as it was (${layout})`, () => {
      expect(loadPolicyText(text, "p.yaml").errors).toEqual([]);
      const out = addToSpec({ file: "p.yaml", text, index: 0 }, { exceptions: [added], tests: [test] });
      const loaded = loadPolicyText(out, "p.yaml");
      expect(loaded.errors.map((e) => e.message)).toEqual([]);
      const spec = (loaded.policies[0] as unknown as { spec: { exceptions: { name: string }[]; tests: { name: string }[] } }).spec;
      expect(spec.exceptions.map((e) => e.name).at(-1)).toBe("learned-r-1");
      expect(spec.tests.map((t) => t.name).at(-1)).toBe("learned");
      expect(out.startsWith(text.slice(0, text.indexOf("spec:")))).toBe(true);
      expect(out.split("\n").length).toBe(text.split("\n").length);
    });
  }
});

describe("addToSpec: a flow list with a comment after it", () => {
  it("keeps the comment on the key's line, not after the last new item (where it would describe that item)", () => {
    const text = `${policy('    - name: old\n      when: input.owner == "ops"\n')}  tests: [] # none yet\n`;
    const out = addToSpec({ file: "p.yaml", text, index: 0 }, { tests: [{ name: "learned", input: { acl: "public-read", owner: "web" }, expect: { violations: [] } }] });
    expect(loadPolicyText(out, "p.yaml").errors).toEqual([]);
    const lines = out.trimEnd().split("\n");
    expect(lines.find((line) => line.startsWith("  tests:"))).toBe("  tests: # none yet");
    expect(lines.at(-1)).toBe("        violations: []");
  });
});
