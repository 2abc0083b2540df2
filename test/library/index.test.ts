import { mkdtempSync, readFileSync, writeFileSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import * as vigil from "../../src/index.js";

const root = join(import.meta.dirname, "..", "..");

describe("the library entry point (package exports)", () => {
  it("package.json main, types and exports name the compiled src/index.ts", () => {
    const pkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as { main: string; types: string; exports: { ".": { import: string; types: string } } };
    for (const target of [pkg.main, pkg.types, pkg.exports["."].import, pkg.exports["."].types]) {
      const source = target.replace(/^\.\//, "").replace(/^dist\//, "src/").replace(/\.d\.ts$|\.js$/, ".ts");
      expect(existsSync(join(root, source)), `${target} is built from ${source}`).toBe(true);
    }
  });

  it("runs an agent from configuration: decides, records, explains and verifies", async () => {
    const dir = mkdtempSync(join(tmpdir(), "vigil-lib-"));
    writeFileSync(join(dir, "p.yaml"), `apiVersion: vigil.dev/v1
kind: Policy
metadata: { name: no-root }
spec:
  on: [dev.vigil.decide]
  rules:
    - name: root
      condition: input.user == "root"
      message: "{{ input.user }} may not log in"
      severity: high
      effect: deny
`);
    const config = vigil.parseConfig({ policies: [join(dir, "p.yaml")], store: { path: join(dir, "v.db") } });
    const agent = await vigil.createAgent(config, { onProblem: () => undefined });
    try {
      const event: vigil.Event = { specversion: "1.0", id: "e1", source: "lib-test", type: "dev.vigil.decide", data: { user: "root" } };
      const decision = (await agent.decideEvent(event)) as vigil.Decision;
      expect(decision.verdict).toBe("deny");
      expect(decision.explanation.summary).toContain("root may not log in");
      expect((await vigil.verifyRecord(agent.storage)).ok).toBe(true);
    } finally {
      await agent.close();
    }
  });

  it("evaluates a policy set without an agent", () => {
    const { policySet, load } = vigil.loadPolicySet([join(root, "packs", "supply-chain", "policies")]);
    expect(load.errors).toEqual([]);
    expect(policySet.size).toBeGreaterThan(0);
  });
});
