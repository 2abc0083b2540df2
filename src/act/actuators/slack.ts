import type { ActionPlan, Actuator } from "../../core/index.js";
import { VigilError } from "../../core/index.js";
import { optionalPositiveInteger, requireUrl } from "./config-checks.js";
import { ActuatorApiError, defineActuator } from "./define.js";
import { sendWithRetry } from "./http.js";
import { read } from "./params.js";
import type { ActionKindSpec, ActuatorRuntime, SlackActuatorConfig } from "./types.js";

export const slackMessageSpec: ActionKindSpec = {
  kind: "slack.message",
  provider: "slack",
  summary: "Post a message to a Slack channel through a configured incoming webhook.",
  params: [
    { name: "text", type: "string", required: true, description: "message text (mrkdwn); also the notification fallback when blocks are given" },
    { name: "blocks", type: "array", required: false, description: "Block Kit blocks, sent as given" },
    { name: "webhook", type: "string", required: false, default: "default", description: "name of the incoming webhook under actuators.slack.webhooks" },
  ],
  reversible: false,
  undo: "not reversible: an incoming webhook cannot edit or delete the message it posted",
  dryRun: "sends nothing; returns the message that would be posted",
};

function messageOf(plan: ActionPlan): Record<string, unknown> {
  const blocks = plan.params["blocks"];
  return { text: read.string(plan.params, "text"), ...(Array.isArray(blocks) ? { blocks } : {}) };
}

/**
 * The Slack incoming-webhook actuator (`slack.message`): POSTs `{ text, blocks }` as JSON.
 * Slack answers `ok` or an error code in the body (`invalid_payload`, `channel_is_archived`, …),
 * which a failed result names. The webhook URL is a secret and never appears in results.
 */
export function createSlackActuator(config: SlackActuatorConfig, runtime: ActuatorRuntime): Actuator {
  const names = Object.keys(config.webhooks ?? {});
  if (names.length === 0) {
    throw new VigilError("VIGIL_BAD_CONFIG", "actuators.slack.webhooks must name at least one incoming webhook URL ({ default: https://hooks.slack.com/services/… })", {
      field: "actuators.slack.webhooks",
    });
  }
  for (const name of names) requireUrl(`actuators.slack.webhooks.${name}`, config.webhooks[name], { secret: true });
  optionalPositiveInteger("actuators.slack.maxAttempts", config.maxAttempts);

  const urlOf = (plan: ActionPlan): { name: string; url: string } => {
    const name = read.optionalString(plan.params, "webhook") ?? "default";
    // Own keys only: a name like `constructor` is not a configured webhook.
    const url = Object.hasOwn(config.webhooks, name) ? config.webhooks[name] : undefined;
    if (url === undefined) {
      throw new VigilError("VIGIL_BAD_INPUT", `slack.message: params.webhook "${name}" is not configured; known: ${names.join(", ")}`, { field: "params.webhook" });
    }
    return { name, url };
  };

  return defineActuator(slackMessageSpec, runtime, {
    async preview(plan) {
      const { name } = urlOf(plan);
      return { webhook: name, wouldPost: messageOf(plan) };
    },
    async apply(plan, context) {
      const { name, url } = urlOf(plan);
      const body = JSON.stringify(messageOf(plan));
      const response = await sendWithRetry(
        `Slack webhook "${name}"`,
        () => ({ method: "POST", url, headers: { "content-type": "application/json; charset=utf-8", "user-agent": "vigil-actuator" }, body }),
        config,
        runtime,
        context.signal,
        // Slack cannot deduplicate a repeated message: a request that may have reached it is not sent again.
        { secretPath: true, retry: "unsent", receiver: "Slack" },
      );
      const answer = response.text.trim();
      if (response.status !== 200) {
        const maybePosted = response.status >= 500 ? " (not sent again: Slack cannot tell a repeated message apart, so it may have been posted)" : "";
        throw new ActuatorApiError(`Slack webhook "${name}" answered HTTP ${response.status} ${answer || "(no body)"}${maybePosted}`, {
          status: response.status,
          ...(answer ? { apiCode: answer.slice(0, 100) } : {}),
        });
      }
      return { output: { webhook: name, httpStatus: response.status, response: answer, attempts: response.attempts } };
    },
  });
}
