import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { rmSync } from "node:fs";
import type { CompiledPolicy } from "../core/compiled-policy.js";
import { VigilError } from "../core/errors.js";
import { isTestFileName, loadPolicies } from "./load.js";
import { policyLanguages, type PolicyLanguageRegistration } from "./languages.js";

const fixtures = "test/fixtures/policies";
const roots: string[] = [];
function tree(files: Record<string, string>): string {
  const root = mkdtempSync(join(tmpdir(), "vigil-load-"));
  roots.push(root);
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(join(root, path, ".."), { recursive: true });
    writeFileSync(join(root, path), text);
  }
  return root;
}
afterAll(() => { for (const root of roots) rmSync(root, { recursive: true, force: true }); });

const policy = (name: string, condition = "true"): string =>
  `apiVersion: vigil.dev/v1\nkind: Policy\nmetadata:\n  name: ${name}\nspec:\n  rules:\n    - name: r\n      condition: "${condition}"\n`;

describe("loadPolicies", () => {
  it("loads the fixture directory recursively, skipping Kubernetes data files and test files", () => {
    const result = loadPolicies(fixtures);
    expect(result.errors.map((e) => e.message)).toEqual([]);
    expect(result.policies.map((p) => p.meta.name).sort()).toEqual(["abac-clearance", "abac-destructive-actions", "abac-project-p7", "abac-residency", "pod-security-baseline", "s3-public-access"]);
    expect(result.skipped.map((s) => s.file).sort()).toEqual([`${fixtures}/kubernetes/pods-image-tags.yaml`, `${fixtures}/kubernetes/pods-privileged.yaml`]);
    expect(result.files.some((f) => f.endsWith(".test.yaml"))).toBe(false);
  });

  it("keeps file order, then document order", () => {
    const root = tree({ "b.yaml": policy("b1") + "---\n" + policy("b2"), "a/z.yml": policy("a1"), "c.yaml": "" });
    expect(loadPolicies(root).policies.map((p) => p.meta.name)).toEqual(["a1", "b1", "b2"]);
  });

  it("a document no language accepts: error for an explicit file, naming file, document, apiVersion/kind and known kinds", () => {
    const file = `${fixtures}/kubernetes/pods-privileged.yaml`;
    const result = loadPolicies(file);
    expect(result.policies).toEqual([]);
    expect(result.errors).toHaveLength(11);
    expect(result.errors[1]?.message).toMatch(/pods-privileged\.yaml:\d+:1: document 1: no policy language accepts apiVersion v1 kind Pod; Vigil knows: vigil\.dev\/v1 Policy/);
    expect(result.errors[1]?.code).toBe("VIGIL_POLICY_UNSUPPORTED");
  });

  it("in a directory, documents of policy API groups and kind typos are errors, other documents are data", () => {
    const root = tree({
      "v2.yaml": policy("x").replace("vigil.dev/v1", "vigil.dev/v2"),
      "typo.yaml": policy("y").replace("kind: Policy", "kind: Polcy"),
      "kyverno.yaml": "apiVersion: kyverno.io/v1\nkind: ClusterPolicy\nmetadata:\n  name: k\n",
      "values.yaml": "replicas: 3\n",
      "deploy.yaml": "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: d\n",
      "ok.yaml": policy("ok"),
    });
    const result = loadPolicies(root, { languages: policyLanguages.filter((l) => l.plugin.name === "vigil") });
    expect(result.policies.map((p) => p.meta.name)).toEqual(["ok"]);
    const messages = result.errors.map((e) => e.message).sort();
    expect(messages).toHaveLength(3);
    expect(messages[0]).toContain("kyverno.yaml:1:1: document 0: no policy language accepts apiVersion kyverno.io/v1 kind ClusterPolicy");
    expect(messages[1]).toContain('kind Polcy (did you mean "vigil.dev/v1 Policy"?)');
    expect(messages[2]).toContain("apiVersion vigil.dev/v2 kind Policy");
    expect(result.skipped.map((s) => s.file).sort()).toEqual([join(root, "deploy.yaml"), join(root, "values.yaml")]);
  });

  it("skips dot-directories, node_modules and test files in scans", () => {
    const root = tree({
      ".kyverno-test/p.yaml": policy("hidden"),
      "node_modules/pkg/p.yaml": policy("dep"),
      "x.test.yaml": policy("test"),
      "kyverno-test.yaml": policy("ktest"),
      "real.yaml": policy("real"),
    });
    expect(loadPolicies(root).policies.map((p) => p.meta.name)).toEqual(["real"]);
    expect(isTestFileName("a/b.test.yml")).toBe(true);
    expect(isTestFileName("a/b.yaml")).toBe(false);
  });

  it("reports a missing path, a YAML syntax error and duplicate names while loading the rest", () => {
    const root = tree({
      "bad.yaml": "apiVersion: vigil.dev/v1\nkind: Policy\nmetadata: { name: [\n",
      "a.yaml": policy("dup"),
      "b.yaml": policy("dup") + "---\n" + policy("fine"),
    });
    const result = loadPolicies([root, join(root, "missing")]);
    expect(result.policies.map((p) => p.meta.name)).toEqual(["dup", "fine"]);
    const codes = result.errors.map((e) => e.code).sort();
    expect(codes).toEqual(["VIGIL_NOT_FOUND", "VIGIL_POLICY_LOAD", "VIGIL_POLICY_LOAD"]);
    const yamlError = result.errors.find((e) => e.message.includes("YAML error"));
    expect(yamlError?.details.file).toBe(join(root, "bad.yaml"));
    expect(yamlError?.details.line).toBeGreaterThanOrEqual(3);
    const duplicate = result.errors.find((e) => e.message.includes("already used"));
    expect(duplicate?.message).toContain(`policy name "dup" is already used by ${join(root, "a.yaml")} (document 0)`);
    // Where the second one is, as every other load error says: the file, line and column of its name.
    expect(duplicate?.details).toMatchObject({ file: join(root, "b.yaml"), policy: "dup", field: "metadata.name", line: 4, column: 9 });
    expect(duplicate?.message).toMatch(new RegExp(`^${join(root, "b.yaml").replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}:4:9: `));
  });

  it("offers files of registered extensions to their language, and survives a plugin that throws", () => {
    const seen: string[] = [];
    const fake: PolicyLanguageRegistration = {
      kinds: ["example.dev/v1 Fake"],
      extensions: [".fake"],
      plugin: {
        name: "fake",
        accepts: (doc) => doc.file.endsWith(".fake"),
        compile: (docs) => {
          for (const d of docs) seen.push((d.value as { text: string }).text);
          const policies: CompiledPolicy[] = docs.map((d, i) => ({ meta: { name: `fake-${i}`, language: "cedar", revision: "r", on: [] }, evaluate: () => [] }));
          return { policies, errors: [] };
        },
      },
    };
    const thrower: PolicyLanguageRegistration = {
      kinds: ["example.dev/v1 Boom"],
      plugin: { name: "boom", accepts: (doc) => (doc.value as { kind?: string }).kind === "Boom", compile: () => { throw new Error("kaput"); } },
    };
    const root = tree({ "a.fake": "permit(principal, action, resource);", "notes.txt": "ignored", "boom.yaml": "apiVersion: example.dev/v1\nkind: Boom\n", "p.yaml": policy("native") });
    const result = loadPolicies(root, { languages: [...policyLanguages, fake, thrower] });
    expect(seen).toEqual(["permit(principal, action, resource);"]);
    expect(result.policies.map((p) => p.meta.name).sort()).toEqual(["fake-0", "native"]);
    expect(result.errors).toHaveLength(1);
    expect(result.errors[0]).toBeInstanceOf(VigilError);
    expect(result.errors[0]?.message).toContain("the boom language failed");
  });
});
