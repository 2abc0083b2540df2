/**
 * End-to-end harness of the learn stage: policies from a temporary directory (so proposals find
 * their YAML file), a real SQLite store, the review service for overrides and exceptions, and
 * decisions recorded with their input like the pipeline records them.
 */
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Decision } from "../../src/core/decision.js";
import type { Event } from "../../src/core/event.js";
import { createExecutor } from "../../src/act/executor.js";
import { createTempStore, type TempStore } from "../../src/act/test-support.js";
import { createDecider } from "../../src/decide/decider.js";
import { manualClock, type ManualClock } from "../../src/decide/test-support.js";
import { loadPolicies } from "../../src/policy/load.js";
import { createPolicySet, type PolicySet } from "../../src/policy/policy-set.js";
import { createReviewService, type ReviewService } from "../../src/review/index.js";
import { createReplaySide } from "../../src/learn/compare.js";
import { createSqliteStorage } from "../../src/store/sqlite/index.js";

export const approvers = ["ann", "bob", "cai"].map((id) => ({ id, roles: ["approver"] }));

export interface Harness {
  readonly dir: string;
  readonly file: string;
  readonly store: TempStore;
  readonly clock: ManualClock;
  readonly set: PolicySet;
  readonly review: ReviewService;
  /** Decides and records an event (input recorded, enforced). */
  record(input: Record<string, unknown>, options?: { readonly subject?: string; readonly id?: string }): Promise<Decision>;
  dispose(): Promise<void>;
}

export async function createHarness(policyYaml: string, fileName = "policy.yaml"): Promise<Harness> {
  const dir = mkdtempSync(join(tmpdir(), "vigil-learn-"));
  const file = join(dir, fileName);
  writeFileSync(file, policyYaml);
  const load = loadPolicies([dir]);
  if (load.errors.length > 0) throw load.errors[0];
  const set = createPolicySet(load.policies);
  const store = await createTempStore((options) => createSqliteStorage(options));
  const clock = manualClock("2026-02-02T10:00:00.000Z");
  const executor = createExecutor({ storage: store.storage, clock, actuators: [], guardrails: { notificationKinds: [] } });
  const review = createReviewService({ storage: store.storage, clock, executor, policy: (n) => set.get(n), maxExceptionDays: 90 });
  const decider = createDecider();
  let n = 0;
  return {
    dir, file, store, clock, set, review,
    async record(input, options = {}) {
      n++;
      const event: Event = { specversion: "1.0", id: options.id ?? `evt-${n}`, source: "test", type: "dev.vigil.decide", time: clock.iso(), ...(options.subject ? { subject: options.subject } : {}), data: input };
      const side = createReplaySide({ policySet: set, decider, id: () => `dec-${n}` });
      const draft = await side.decide(event);
      const [decision] = await store.storage.appendDecisions([{ ...draft, enforced: true, input }]);
      clock.advance(60_000);
      return decision as Decision;
    },
    dispose: () => store.dispose(),
  };
}

/** A shadow-mode native policy `new-guard` (rule no-delete: input.action == "delete", high), for the shadow-figure tests. */
export const shadowGuardPolicy = `apiVersion: vigil.dev/v1
kind: Policy
metadata: { name: new-guard }
spec:
  on: [dev.vigil.decide]
  rules:
    - name: no-delete
      condition: input.action == "delete"
      message: "delete by {{ input.who }}"
      severity: high
  enforcement:
    mode: shadow
`;

/** A native policy `public-bucket` (rule no-public, high) with this condition, for the proposal tests. */
export const publicBucketPolicy = (condition = `input.acl == "public-read"`): string => `apiVersion: vigil.dev/v1
kind: Policy
metadata: { name: public-bucket }
spec:
  on: [dev.vigil.decide]
  rules:
    - name: no-public
      condition: ${condition}
      message: "bucket {{ input.bucket }} is public"
      severity: high
`;
