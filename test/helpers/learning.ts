/**
 * Shared by the learning tests of the runtime and the CLI: a noisy policy (night logins, notify by
 * default, may go down to observe) and ten of its findings labelled false positive by two reviewers.
 */
import type { Agent } from "../../src/agent.js";
import type { Decision } from "../../src/core/decision.js";
import type { Event } from "../../src/core/event.js";

export const nightLoginPolicy = `apiVersion: vigil.dev/v1
kind: Policy
metadata: { name: night-login }
spec:
  on: [dev.vigil.decide]
  rules:
    - name: at-night
      condition: input.hour < 6
      message: "login at {{ input.hour }}h"
      severity: high
      effect: warn
  enforcement: { tier: notify, floor: observe, ceiling: approve }
`;

let n = 0;
/** A decide request of `subject` at `hour` (UTC), with a fresh id. */
export function nightLogin(subject: string, hour: number, time?: string): Event {
  return { specversion: "1.0", id: `r-${++n}`, source: "test", type: "dev.vigil.decide", subject, ...(time ? { time } : {}), data: { hour } };
}

const reviewers = [{ id: "ann", roles: ["approver"] }, { id: "bob", roles: ["approver"] }];

/** Ten night logins of `subject`, each marked false positive by one of two reviewers (ann, bob). */
export async function labelledFalsePositives(agent: Agent, subject: string): Promise<Decision[]> {
  const out: Decision[] = [];
  for (let i = 0; i < 10; i++) {
    const decision = (await agent.decideEvent(nightLogin(subject, 2))) as Decision;
    await agent.feedback.record({ decisionId: decision.id, label: "false_positive" }, reviewers[i % 2] as { id: string; roles: string[] });
    out.push(decision);
  }
  return out;
}
