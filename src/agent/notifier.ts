/**
 * Review notifications (created, escalated, safe default, resolved) delivered through the
 * configured actuators. Targets as policies name them in `spec.escalation[].notify`:
 *
 * - `slack:<name>`: the Slack incoming webhook `<name>` (actuators.slack.webhooks);
 * - `#<channel>`: the Slack webhook named `<channel>` if configured, else `default`;
 * - `webhook:<endpoint>`: a signed POST to actuators.webhook.endpoints.<endpoint>
 *   (event `vigil.review.<reason>`, the review in the payload);
 * - anything else (`oncall:team`, a user): no channel — reported as undelivered, which the review
 *   service records (the review itself always shows who was to be told).
 *
 * Notifications are messages to people, not enforcement actions: they bypass the executor's
 * guardrails (a kill switch must not silence escalations).
 */
import { randomUUID } from "node:crypto";
import type { ActionPlan, Actuator } from "../core/action.js";
import type { Notifier, ReviewNotification } from "../review/index.js";

export function createActuatorNotifier(actuators: readonly Actuator[], options: { readonly slackWebhooks?: readonly string[] } = {}): Notifier {
  const byKind = new Map(actuators.map((a) => [a.kind, a] as const));
  const slackNames = new Set(options.slackWebhooks ?? []);

  const send = async (kind: string, params: Record<string, unknown>, review: ReviewNotification["review"]): Promise<void> => {
    const actuator = byKind.get(kind);
    if (!actuator) throw new Error(`${kind} is not configured`);
    const id = `notify-${randomUUID()}`;
    const plan: ActionPlan = { id, decisionId: review.decisionId, policy: review.policy, actuator: kind, target: { kind: "review", id: review.id }, params, idempotencyKey: id, dryRun: false, reason: "review notification" };
    const result = await actuator.apply(plan, { dryRun: false });
    if (result.status === "failed") throw new Error(`${kind}: ${result.error ?? "failed"}`);
    // A preview actuator (actuators.preview) answers dry-run: nobody was told.
    if (result.status !== "applied") {
      const note = typeof result.output?.["note"] === "string" ? `: ${result.output["note"]}` : result.error ? `: ${result.error}` : "";
      throw new Error(`${kind}: ${result.status}, nothing was sent${note}`);
    }
  };

  return {
    async notify(notification) {
      const { review, reason, level, targets } = notification;
      const text = `[vigil] review ${review.id} ${reason}${reason === "escalated" ? ` to level ${level}` : ""}: ${review.summary} (policy ${review.policy}, decision ${review.decisionId}, status ${review.status})`;
      const undelivered: string[] = [];
      for (const target of targets) {
        try {
          if (target.startsWith("slack:")) await send("slack.message", { text, webhook: target.slice(6) }, review);
          else if (target.startsWith("#")) await send("slack.message", { text: `${target} ${text}`, webhook: slackNames.has(target.slice(1)) ? target.slice(1) : "default" }, review);
          else if (target.startsWith("webhook:")) await send("webhook.post", { endpoint: target.slice(8), event: `vigil.review.${reason}`, payload: { reason, level, review: { id: review.id, decisionId: review.decisionId, policy: review.policy, status: review.status, summary: review.summary, dueAt: review.dueAt ?? null } } }, review);
          else undelivered.push(`${target} (no channel for this kind of target)`);
        } catch (error) {
          undelivered.push(`${target} (${error instanceof Error ? error.message : String(error)})`);
        }
      }
      if (undelivered.length > 0) throw new Error(`not delivered to ${undelivered.join(", ")}`);
    },
  };
}
