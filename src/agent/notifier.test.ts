/**
 * Review notifications through the actuators: a notification counts as delivered only when the
 * actuator sent it.
 */
import { describe, expect, it } from "vitest";
import type { Actuator } from "../core/action.js";
import type { ReviewRecord } from "../review/index.js";
import { createManualClock } from "./clock.js";
import { createActuatorNotifier } from "./notifier.js";
import { createPreviewActuators } from "./preview-actuators.js";

const clock = createManualClock("2025-03-03T10:00:00Z");

const review: ReviewRecord = {
  id: "RV-1", decisionId: "d-1", policy: "s3-public-access", actionIds: [], status: "pending", createdAt: "2025-03-03T10:00:00.000Z", level: 0,
  summary: "Bucket reports was given the ACL public-read", explanation: { summary: "deny", steps: [] }, verdict: "deny", tier: "approve", severity: "high",
  escalation: [], safeDefault: "notify", notifications: [],
};

/** slack.message that records what it sent and answers applied, as the real actuator does on HTTP 200. */
function sendingSlack(sent: unknown[]): Actuator {
  return {
    kind: "slack.message", description: "sends", validate() {},
    async apply(plan) { sent.push(plan.params); return { actionId: plan.id, status: "applied", at: clock.now().toISOString() }; },
    async undo(plan) { return { actionId: plan.id, status: "skipped", at: clock.now().toISOString() }; },
  };
}

describe("createActuatorNotifier", () => {
  it("a notification through a preview actuator (actuators.preview: nothing is sent) is reported undelivered, naming the target and why", async () => {
    const notifier = createActuatorNotifier(createPreviewActuators(clock, "previewed only: no provider is configured for this kind (actuators.preview)"));
    await expect(notifier.notify({ reason: "created", level: 0, targets: ["slack:oncall", "webhook:pager"], review }))
      .rejects.toThrow("not delivered to slack:oncall (slack.message: dry-run, nothing was sent: previewed only: no provider is configured for this kind (actuators.preview)), webhook:pager (webhook.post: dry-run, nothing was sent: previewed only: no provider is configured for this kind (actuators.preview))");
  });

  it("a notification the actuator sent is delivered", async () => {
    const sent: unknown[] = [];
    await createActuatorNotifier([sendingSlack(sent)], { slackWebhooks: ["security"] }).notify({ reason: "created", level: 0, targets: ["#security"], review });
    expect(sent).toEqual([{ text: "#security [vigil] review RV-1 created: Bucket reports was given the ACL public-read (policy s3-public-access, decision d-1, status pending)", webhook: "security" }]);
  });
});
