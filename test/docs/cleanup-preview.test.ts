import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { tempDir, vigil } from "../cli/support.js";

/** The `vigil cleanup` example of docs/cleanup.md ("Previewing"), run over the policy and manifests it describes. */
const policy = `apiVersion: kyverno.io/v2
kind: ClusterCleanupPolicy
metadata: { name: clean-bare-pods }
spec:
  schedule: "*/5 * * * *"
  match:
    any:
      - resources: { kinds: [Pod] }
  conditions:
    all:
      - key: "{{ target.metadata.ownerReferences || \`[]\` | length(@) }}"
        operator: Equals
        value: 0
`;
const manifests = `apiVersion: v1
kind: Pod
metadata: { name: bare-pod, namespace: default }
spec: { containers: [{ name: c, image: nginx }] }
---
apiVersion: v1
kind: Pod
metadata: { name: web-5d9c-x7k2p, namespace: shop, ownerReferences: [{ apiVersion: apps/v1, kind: ReplicaSet, name: web-5d9c, uid: "1" }] }
spec: { containers: [{ name: c, image: nginx }] }
`;

/** The console block under "## Previewing: `vigil cleanup`": the command line and its output. */
function documentedExample(): { argv: string[]; output: string } {
  const page = readFileSync(join(import.meta.dirname, "../../docs/cleanup.md"), "utf8");
  const section = page.slice(page.indexOf("## Previewing: `vigil cleanup`"));
  const block = /```\n([\s\S]*?)```/.exec(section)?.[1];
  if (block === undefined) throw new Error("docs/cleanup.md: no example block under Previewing");
  const [command, ...output] = block.trimEnd().split("\n");
  const argv = (command ?? "").replace(/^\$ vigil /, "").split(" ");
  return { argv, output: output.join("\n") };
}

describe("docs/cleanup.md: the vigil cleanup preview", () => {
  it("prints what the page shows", async () => {
    const dir = tempDir();
    mkdirSync(join(dir, "policies"));
    mkdirSync(join(dir, "manifests"));
    writeFileSync(join(dir, "policies", "clean-bare-pods.yaml"), policy);
    writeFileSync(join(dir, "manifests", "pods.yaml"), manifests);
    const { argv, output } = documentedExample();
    const run = await vigil(argv, { cwd: dir });
    expect(run.stderr).toBe("");
    expect(run.code).toBe(0);
    expect(run.stdout.trimEnd()).toBe(output);
  });
});
