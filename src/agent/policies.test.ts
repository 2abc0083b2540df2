import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { parseConfig } from "../config.js";
import type { Storage } from "../core/ports.js";
import { openStorage } from "./adapters.js";
import { createManualClock } from "./clock.js";
import { createPolicyCatalog, loadPolicySet } from "./policies.js";

const shadowPolicy = `apiVersion: vigil.dev/v1
kind: Policy
metadata: { name: big-transfer }
spec:
  on: [com.example.transfer]
  rules:
    - name: too-big
      condition: input.amount > 1000
      message: "transfer of {{ input.amount }}"
      severity: high
      effect: deny
  enforcement: { mode: shadow }
`;

let storage: Storage | undefined;
afterEach(async () => {
  await storage?.close();
  storage = undefined;
});

describe("policy catalog", () => {
  it("promoteShadow refuses Vigil's own identities (vigil:*), whatever path calls it (vigil policies promote --direct)", async () => {
    const dir = mkdtempSync(join(tmpdir(), "vigil-catalog-"));
    writeFileSync(join(dir, "p.yaml"), shadowPolicy);
    storage = await openStorage(parseConfig({ store: { path: ":memory:" } }));
    const { policySet, load, env } = loadPolicySet([join(dir, "p.yaml")]);
    const catalog = createPolicyCatalog({ policySet, env, loadErrors: load.errors, storage, clock: createManualClock("2025-03-03T10:00:00Z") });
    await catalog.refresh();
    for (const id of ["vigil:learner", " Vigil:Escalation"]) {
      await expect(catalog.promoteShadow("big-transfer", id, "learned")).rejects.toMatchObject({ code: "VIGIL_FORBIDDEN", details: { field: "actor.id" } });
    }
    expect(catalog.summary("big-transfer")).toMatchObject({ mode: "shadow" });
    expect(await storage.listAudit({ limit: 10 })).toEqual([]);
    expect(await catalog.promoteShadow("big-transfer", "alice", "reviewed")).toMatchObject({ mode: "enforce" });
  });
});
