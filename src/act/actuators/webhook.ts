import type { ActionPlan, Actuator } from "../../core/index.js";
import { VigilError } from "../../core/index.js";
import { optionalPositiveInteger, requireText, requireUrl } from "./config-checks.js";
import { ActuatorApiError, defineActuator } from "./define.js";
import type { OperationContext } from "./define.js";
import { parseJson, sendWithRetry } from "./http.js";
import type { HttpRequest } from "./http.js";
import { read } from "./params.js";
import type { ActionKindSpec, ActuatorRuntime, WebhookActuatorConfig, WebhookEndpointConfig } from "./types.js";
import {
  WEBHOOK_DELIVERY_HEADER,
  WEBHOOK_IDEMPOTENCY_HEADER,
  WEBHOOK_SIGNATURE_HEADER,
  WEBHOOK_TIMESTAMP_HEADER,
  signWebhook,
} from "./webhook-signature.js";

export const webhookPostSpec: ActionKindSpec = {
  kind: "webhook.post",
  provider: "webhook",
  summary: "POST a signed JSON notification of the action to a configured receiver (HMAC-SHA256, timestamp, idempotency key; retries 5xx with backoff).",
  params: [
    { name: "endpoint", type: "string", required: false, default: "default", description: "name of the receiver under actuators.webhook.endpoints" },
    { name: "event", type: "string", required: false, default: "vigil.action", pattern: /^[A-Za-z0-9._-]{1,100}$/, description: "event name sent as X-Vigil-Event and in the body" },
    { name: "payload", type: "object", required: false, description: "JSON object sent as the body's `payload`" },
    { name: "reversible", type: "boolean", required: false, default: false, description: "true when the receiver understands `vigil.action.undo`; only then does undo send one" },
  ],
  reversible: true,
  undo: "with params.reversible: POSTs a signed `vigil.action.undo` message naming the original delivery; otherwise not reversible",
  dryRun: "sends nothing; returns the body that would be posted",
};

type Phase = "apply" | "undo";

function chooseEndpoint(config: WebhookActuatorConfig, name: string): WebhookEndpointConfig {
  // Own keys only: a name like `constructor` is not a configured endpoint.
  const endpoint = Object.hasOwn(config.endpoints, name) ? config.endpoints[name] : undefined;
  if (endpoint === undefined) {
    throw new VigilError("VIGIL_BAD_INPUT", `webhook.post: params.endpoint "${name}" is not configured; known endpoints: ${Object.keys(config.endpoints).join(", ")}`, {
      field: "params.endpoint",
    });
  }
  return endpoint;
}

function messageBody(plan: ActionPlan, phase: Phase): string {
  const event = read.optionalString(plan.params, "event") ?? "vigil.action";
  return JSON.stringify({
    type: `vigil.action.${phase}`,
    event,
    action: {
      id: plan.id,
      decisionId: plan.decisionId,
      policy: plan.policy,
      target: plan.target,
      idempotencyKey: plan.idempotencyKey,
      ...(plan.reason === undefined ? {} : { reason: plan.reason }),
    },
    payload: read.optionalObject(plan.params, "payload") ?? {},
    ...(phase === "undo" ? { undoes: { delivery: plan.id } } : {}),
  });
}

function checkConfig(config: WebhookActuatorConfig): void {
  if (typeof config.endpoints !== "object" || config.endpoints === null || Object.keys(config.endpoints).length === 0) {
    throw new VigilError("VIGIL_BAD_CONFIG", "actuators.webhook.endpoints must name at least one receiver ({ default: { url, secret } })", {
      field: "actuators.webhook.endpoints",
    });
  }
  for (const [name, endpoint] of Object.entries(config.endpoints)) {
    requireUrl(`actuators.webhook.endpoints.${name}.url`, endpoint.url, { secret: true });
    requireText(`actuators.webhook.endpoints.${name}.secret`, endpoint.secret);
  }
  optionalPositiveInteger("actuators.webhook.maxAttempts", config.maxAttempts);
  optionalPositiveInteger("actuators.webhook.timeoutMs", config.timeoutMs);
}

/**
 * The generic webhook actuator (`webhook.post`). Every request carries
 * `X-Vigil-Signature-256: sha256=<hex>` (HMAC-SHA256 of `<timestamp>.<raw body>`),
 * `X-Vigil-Timestamp`, `X-Vigil-Delivery` and `Idempotency-Key`; 5xx, 429 and network errors
 * are retried with backoff, re-signed each attempt with the same delivery id and key.
 */
export function createWebhookActuator(config: WebhookActuatorConfig, runtime: ActuatorRuntime): Actuator {
  checkConfig(config);

  async function post(plan: ActionPlan, phase: Phase, context: OperationContext): Promise<Record<string, unknown>> {
    const name = read.optionalString(plan.params, "endpoint") ?? "default";
    const endpoint = chooseEndpoint(config, name);
    const event = read.optionalString(plan.params, "event") ?? "vigil.action";
    const body = messageBody(plan, phase);
    const delivery = phase === "apply" ? plan.id : `${plan.id}:undo`;
    const build = (): HttpRequest => {
      const timestamp = Math.floor(runtime.clock.now().getTime() / 1000);
      return {
        method: "POST",
        url: endpoint.url,
        headers: {
          // Header names are case-insensitive: a configured `Content-Type` next to Vigil's
          // `content-type` would be sent as one header holding both values. Vigil's own win.
          ...Object.fromEntries(Object.entries(endpoint.headers ?? {}).map(([name, value]) => [name.toLowerCase(), value])),
          "content-type": "application/json",
          "user-agent": "vigil-actuator",
          "x-vigil-event": event,
          [WEBHOOK_DELIVERY_HEADER.toLowerCase()]: delivery,
          [WEBHOOK_TIMESTAMP_HEADER.toLowerCase()]: String(timestamp),
          [WEBHOOK_SIGNATURE_HEADER.toLowerCase()]: signWebhook(endpoint.secret, timestamp, body),
          [WEBHOOK_IDEMPOTENCY_HEADER.toLowerCase()]: phase === "apply" ? plan.idempotencyKey : `${plan.idempotencyKey}:undo`,
        },
        body,
      };
    };
    // Some receivers take the URL path (or query) as their secret: errors never name it.
    const response = await sendWithRetry(`webhook endpoint "${name}"`, build, config, runtime, context.signal, { secretPath: true });
    if (response.status < 200 || response.status >= 300) {
      const detail = response.text.trim().slice(0, 200);
      throw new ActuatorApiError(
        `webhook endpoint "${name}" answered HTTP ${response.status} after ${response.attempts} attempt(s)${detail ? `: ${detail}` : ""}`,
        { status: response.status },
      );
    }
    const answer = parseJson(response.text);
    return { endpoint: name, delivery, httpStatus: response.status, attempts: response.attempts, ...(answer === undefined ? {} : { response: answer }) };
  }

  return defineActuator(webhookPostSpec, runtime, {
    async preview(plan) {
      const name = read.optionalString(plan.params, "endpoint") ?? "default";
      chooseEndpoint(config, name);
      return { endpoint: name, wouldPost: JSON.parse(messageBody(plan, "apply")) as unknown };
    },
    async apply(plan, context) {
      const output = await post(plan, "apply", context);
      return read.boolean(plan.params, "reversible", false) ? { output, undo: { delivery: plan.id } } : { output };
    },
    async revert(plan, _undo, context) {
      return post(plan, "undo", context);
    },
  });
}
