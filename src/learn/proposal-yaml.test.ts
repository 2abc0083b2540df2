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
