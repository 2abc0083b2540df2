import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { bucketPolicy, tempDir, vigil } from "./support.js";

// A policy that does not load (an unknown field): in CI an allow without it would pass what the policy was written to stop.
const broken = "apiVersion: vigil.dev/v1\nkind: Policy\nmetadata: { name: broken }\nspec:\n  rulez: []\n";
const pod = "apiVersion: v1\nkind: Pod\nmetadata: { name: p }\nspec:\n  containers: [{ name: c, image: nginx }]\n";

describe("a policy that fails to load fails the command, as conftest and kyverno apply do", () => {
  it("vigil eval: an allow with a policy missing is exit 2 (still printed, the load error named on stderr)", async () => {
    const dir = tempDir({ "p.yaml": bucketPolicy, "broken.yaml": broken, "in.json": "{}" });
    const run = await vigil(["eval", "-p", "p.yaml", "-p", "broken.yaml", "in.json"], { cwd: dir });
    expect(run.stderr).toMatch(/policy load error: .*broken\.yaml/);
    expect(run.stderr).toMatch(/1 policy failed to load/);
    expect(JSON.parse(run.stdout)).toMatchObject({ verdict: "allow" });
    expect(run.code).toBe(2);
    const clean = await vigil(["eval", "-p", "p.yaml", "in.json"], { cwd: dir });
    expect(clean.code).toBe(0);
  });

  it("vigil scan: counted in the summary and exit 1, as a manifest error is", async () => {
    const dir = tempDir({ "p.yaml": bucketPolicy, "broken.yaml": broken });
    mkdirSync(join(dir, "k8s"), { recursive: true });
    writeFileSync(join(dir, "k8s", "pod.yaml"), pod);
    const run = await vigil(["scan", "-p", "p.yaml", "-p", "broken.yaml", "k8s"], { cwd: dir });
    expect(run.stderr).toMatch(/policy load error: .*broken\.yaml/);
    expect(run.stdout).toMatch(/1 policy load error/);
    expect(run.code).toBe(1);
    const json = await vigil(["scan", "-p", "p.yaml", "-p", "broken.yaml", "-o", "json", "k8s"], { cwd: dir });
    expect(JSON.parse(json.stdout).summary).toMatchObject({ policyErrors: 1 });
    expect(json.code).toBe(1);
  });
});
