/**
 * Ingestion routes: CloudEvents (structured, binary, batch) and GitHub webhooks. Both read the
 * raw body (the webhook signature covers the exact bytes; binary mode keeps non-JSON data), so
 * they live in their own encapsulated plugin with a buffer body parser for every content type.
 */
import type { FastifyInstance, FastifyReply } from "fastify";
import { decisionIdFor, type Agent } from "../../agent.js";
import { isVigilError, VigilError } from "../../core/errors.js";
import type { Event } from "../../core/event.js";
import { oktaEventHookToEvents, parseHttpCloudEvents, receiveGithubWebhook, type IngestResult } from "../../sources/index.js";
import { route, schemas } from "../route.js";

/** One per input item, in input order. */
export interface ItemResult {
  readonly index: number;
  readonly status: "accepted" | "duplicate" | "rejected";
  readonly id?: string;
  readonly source?: string;
  readonly type?: string;
  /** The id the item's decision will have (GET /v1/decisions/:id once processed). */
  readonly decisionId?: string;
  readonly error?: ReturnType<VigilError["toJSON"]> & { readonly problems?: readonly { readonly field: string; readonly message: string }[] };
  readonly warnings?: readonly string[];
}

const itemResultSchema = {
  type: "object",
  required: ["index", "status"],
  properties: {
    index: { type: "integer" },
    status: { enum: ["accepted", "duplicate", "rejected"] },
    id: { type: "string" }, source: { type: "string" }, type: { type: "string" }, decisionId: { type: "string" },
    error: schemas.error.properties.error,
    warnings: { type: "array", items: { type: "string" } },
  },
} as const;

export const ingestResponseSchema = {
  type: "object",
  required: ["accepted", "duplicates", "rejected", "results"],
  properties: { mode: { type: "string" }, accepted: { type: "integer" }, duplicates: { type: "integer" }, rejected: { type: "integer" }, results: { type: "array", items: itemResultSchema } },
} as const;

function retryAfter(reply: FastifyReply, agent: Agent, error: unknown): void {
  if (isVigilError(error) && error.code === "VIGIL_BACKPRESSURE") reply.header("retry-after", String(agent.config.ingest.retryAfterSeconds));
}

/** Persists the good items (before answering) and reports every item by index. */
export async function acceptItems(agent: Agent, items: readonly IngestResult[], reply: FastifyReply): Promise<{ accepted: number; duplicates: number; rejected: number; results: ItemResult[] }> {
  const max = agent.config.ingest.maxRequestEvents;
  if (items.length > max) throw new VigilError("VIGIL_BAD_INPUT", `the request holds ${items.length} events; send at most ${max} per request (ingest.maxRequestEvents)`, { field: "body" });
  const events: Event[] = [];
  for (const item of items) if (item.ok) events.push(item.event);
  // How many copies of each (source, id) this request stored: the first copy of an event that
  // repeats within the request is accepted, the others are duplicates.
  const keyOf = (event: Event): string => JSON.stringify([event.source, event.id]);
  const storedCopies = new Map<string, number>();
  try {
    const result = await agent.ingest(events);
    for (const stored of result.stored) storedCopies.set(keyOf(stored.event), (storedCopies.get(keyOf(stored.event)) ?? 0) + 1);
  } catch (error) {
    retryAfter(reply, agent, error);
    throw error;
  }
  const results: ItemResult[] = items.map((item) => {
    if (!item.ok) return { index: item.index, status: "rejected", error: { ...item.error.toJSON(), problems: item.problems } };
    const { event } = item;
    const copies = storedCopies.get(keyOf(event)) ?? 0;
    if (copies > 0) storedCopies.set(keyOf(event), copies - 1);
    const duplicate = copies === 0;
    return {
      index: item.index, status: duplicate ? "duplicate" : "accepted", id: event.id, source: event.source, type: event.type, decisionId: decisionIdFor(event),
      ...(item.warnings && item.warnings.length > 0 ? { warnings: item.warnings } : {}),
    };
  });
  const count = (status: ItemResult["status"]): number => results.filter((r) => r.status === status).length;
  return { accepted: count("accepted"), duplicates: count("duplicate"), rejected: count("rejected"), results };
}

export function eventRoutes(app: FastifyInstance, agent: Agent): void {
  app.removeAllContentTypeParsers();
  app.addContentTypeParser("*", { parseAs: "buffer" }, (_request, body, done) => done(null, body));

  route(app, agent, {
    method: "POST",
    url: "/v1/events",
    access: "ingest",
    audit: false,
    summary: "Ingest CloudEvents (structured, binary or batch mode)",
    description: "Structured: `Content-Type: application/cloudevents+json`, one event. Batch: `application/cloudevents-batch+json`, a JSON array. Binary: `ce-*` headers with the data as the body. Events are persisted before the answer; each item gets a result by index (bad items are rejected, the good ones kept). 202 when every item was accepted (or was a duplicate), 207 when some were rejected, 400 when all were. 429 with Retry-After when the ingest queue is full: nothing of that request was stored, send it again later.",
    tags: ["events"],
    consumes: ["application/cloudevents+json", "application/cloudevents-batch+json", "application/json", "*/*"],
    headers: [
      { name: "ce-specversion", required: false, description: "Binary mode: the event's specversion (1.0); its presence selects binary mode." },
      { name: "ce-id", required: false, description: "Binary mode: the event's id." },
      { name: "ce-source", required: false, description: "Binary mode: the event's source." },
      { name: "ce-type", required: false, description: "Binary mode: the event's type. Other attributes as ce-<name>." },
    ],
    responses: {
      202: { description: "Every item accepted (or already stored).", schema: ingestResponseSchema },
      207: { description: "Some items rejected; the others were accepted.", schema: ingestResponseSchema },
      400: { description: "Every item was rejected (each result says why), or the body could not be read as CloudEvents (`error.field` names the part).", schema: { oneOf: [ingestResponseSchema, schemas.error] } },
      429: { description: "The ingest queue is full; retry after the Retry-After delay.", schema: schemas.error, headers: { "Retry-After": { description: "Seconds to wait.", schema: { type: "integer" } } } },
    },
    async handler(request, reply, { agent: a }) {
      // Node joins a repeated header into one value ("a, b"); headersDistinct keeps each, so a
      // ce- attribute sent twice is refused instead of stored as "a, b" (inject has no such field).
      const distinct = (request.raw as { headersDistinct?: Record<string, string[]> }).headersDistinct;
      const parsed = parseHttpCloudEvents({ headers: distinct ?? request.headers, body: request.body });
      if (!parsed.ok) throw parsed.error;
      const body = await acceptItems(a, parsed.results, reply);
      const status = body.rejected === 0 ? 202 : body.accepted + body.duplicates > 0 ? 207 : 400;
      return reply.code(status).send({ mode: parsed.mode, ...body });
    },
  });

  route(app, agent, {
    method: "POST",
    url: "/v1/webhooks/github",
    access: "github-signature",
    audit: false,
    summary: "Receive a GitHub webhook delivery",
    description: "Verifies X-Hub-Signature-256 against `webhooks.github.secrets` (constant time; several secrets for rotation) and rejects a delivery id seen before (kept in the store, so across restarts and workers). The payload becomes a `com.github.<X-GitHub-Event>` event, persisted before the answer.",
    tags: ["events"],
    consumes: ["application/json", "application/x-www-form-urlencoded"],
    headers: [
      { name: "X-Hub-Signature-256", required: true, description: "sha256=<HMAC of the body with the webhook's secret>; checked against webhooks.github.secrets." },
      { name: "X-GitHub-Event", required: true, description: "The event name (pull_request, push...): the event type is com.github.<it>." },
      { name: "X-GitHub-Delivery", required: true, description: "The delivery id; one seen before is a replay (409)." },
    ],
    responses: {
      202: { description: "Stored; the decision follows.", schema: { type: "object", properties: { id: { type: "string" }, type: { type: "string" }, decisionId: { type: "string" } } } },
      400: { description: "The payload is not a JSON object (or a form without a `payload` field), or a header GitHub sends is missing.", schema: schemas.error },
      409: { description: "The delivery id was already received and its event stored (replay).", schema: schemas.error },
      429: { description: "The ingest queue is full; GitHub redelivers on request.", schema: schemas.error },
    },
    async handler(request, reply, { agent: a }) {
      const raw = Buffer.isBuffer(request.body) ? request.body : Buffer.from(typeof request.body === "string" ? request.body : "");
      const received = await receiveGithubWebhook({ headers: request.headers, body: raw, receivedAt: a.clock.now() }, { secrets: a.config.webhooks.github.secrets, deliveries: a.deliveries });
      if (!received.ok && received.reason !== "replay") throw received.error;
      const { event } = received;
      try {
        const accepted = await a.ingest([event]);
        // A delivery id seen before is a replay unless its event never reached the store (the
        // earlier attempt failed to store it and to forget the id): then this redelivery is it.
        if (!received.ok && accepted.stored.length === 0) throw received.error;
      } catch (error) {
        // Not stored: let GitHub's redelivery through.
        if (received.ok) await a.deliveries.forget(received.deliveryId);
        retryAfter(reply, a, error);
        throw error;
      }
      return reply.code(202).send({ id: event.id, type: event.type, decisionId: decisionIdFor(event) });
    },
  });

  route(app, agent, {
    method: "GET",
    url: "/v1/webhooks/okta",
    access: "ingest",
    audit: false,
    summary: "Answer Okta's one-time event hook verification",
    description: "When an event hook is created or verified in Okta, Okta sends a GET with `X-Okta-Verification-Challenge` (and the Authorization header configured on the hook: a token with the ingest role); the answer echoes the challenge as `{ \"verification\": ... }`, which activates the hook.",
    tags: ["events"],
    headers: [{ name: "X-Okta-Verification-Challenge", required: true, description: "The one-time value Okta sends; echoed back as `verification`." }],
    responses: {
      200: { description: "The challenge echoed back.", schema: { type: "object", properties: { verification: { type: "string" } } } },
      400: { description: "The request carries no X-Okta-Verification-Challenge header (it is not Okta's verification).", schema: schemas.error },
    },
    async handler(request) {
      const challenge = request.headers["x-okta-verification-challenge"];
      if (typeof challenge !== "string" || challenge === "") throw new VigilError("VIGIL_BAD_INPUT", "X-Okta-Verification-Challenge is missing: this endpoint answers Okta's event hook verification; deliveries are POSTed", { field: "x-okta-verification-challenge" });
      return { verification: challenge };
    },
  });

  route(app, agent, {
    method: "POST",
    url: "/v1/webhooks/okta",
    access: "ingest",
    audit: false,
    summary: "Receive an Okta event hook delivery",
    description: "The body Okta POSTs to an event hook (`eventType: com.okta.event_hook`, the System Log events in `data.events`). Each System Log event becomes a `com.okta.system.log` event, as from the System Log API (same ids: an event both polled and pushed is stored once), persisted before the answer; a bad event is rejected by its index in `data.events`, the others kept. Configure the hook's Authorization header with a token that has the ingest role.",
    tags: ["events"],
    consumes: ["application/json"],
    responses: {
      200: { description: "The delivery was read: each event accepted, a duplicate or rejected (by index in data.events). Okta does not resend a delivery answered 200.", schema: ingestResponseSchema },
      400: { description: "The body is not JSON or not an Okta event hook delivery (`error.field` names the part).", schema: schemas.error },
      429: { description: "The ingest queue is full; Okta retries the delivery once.", schema: schemas.error, headers: { "Retry-After": { description: "Seconds to wait.", schema: { type: "integer" } } } },
    },
    async handler(request, reply, { agent: a }) {
      const raw = Buffer.isBuffer(request.body) ? request.body.toString("utf8") : typeof request.body === "string" ? request.body : "";
      let body: unknown;
      try {
        body = JSON.parse(raw);
      } catch (cause) {
        throw new VigilError("VIGIL_BAD_INPUT", `the body is not JSON (${(cause as Error).message}); Okta posts its event hook delivery as JSON`, { field: "body" }, cause);
      }
      const items = oktaEventHookToEvents(body);
      // Not a delivery at all (no com.okta.event_hook envelope, no data.events): nothing to accept.
      if (items.length === 1 && !items[0]!.ok && ["eventType", "data.events"].includes(String(items[0]!.error.details.field))) throw items[0]!.error;
      return reply.code(200).send(await acceptItems(a, items, reply));
    },
  });
}
