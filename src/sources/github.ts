import { createHmac, timingSafeEqual } from "node:crypto";
import { EventTypes, VigilError, type Event } from "../core/index.js";
import { mediaTypeEssence, normalizeHeaders, singleHeader, type HeaderBag } from "./headers.js";
import { isRecord, kindOf, nestingProblem, type JsonRecord } from "./values.js";

/**
 * GitHub webhooks → `com.github.<X-GitHub-Event>`. The HMAC-SHA256 signature
 * (`X-Hub-Signature-256`) is verified against every configured secret (rotation), compared in
 * constant time; then the delivery id is checked against a seen-set so a replayed delivery is
 * rejected. Order matters: an unsigned request never touches the seen-set.
 */

/**
 * Remembers delivery ids. The runtime may back it with storage; {@link createMemoryDeliveryIdStore}
 * is a bounded in-memory implementation.
 */
export interface DeliveryIdStore {
  /**
   * Records `id` and resolves true when it was not seen before; false when it was (a replay).
   * INVARIANT: check-and-record is atomic, so two concurrent deliveries of one id cannot both win.
   */
  remember(id: string): boolean | Promise<boolean>;
  /** Forgets `id`, so a redelivery is accepted: call it when the event could not be persisted. */
  forget(id: string): void | Promise<void>;
}

export interface MemoryDeliveryIdStoreOptions {
  /** Most ids kept; the oldest is evicted past it. Default 10,000. */
  readonly capacity?: number;
  /** Forget ids older than this many milliseconds (default: never, only by capacity). */
  readonly ttlMs?: number;
  /** Milliseconds clock for the TTL; default Date.now. */
  readonly now?: () => number;
}

/** A bounded in-memory {@link DeliveryIdStore}: memory is O(capacity). */
export function createMemoryDeliveryIdStore(options: MemoryDeliveryIdStoreOptions = {}): DeliveryIdStore & { readonly size: number } {
  const capacity = Math.max(1, options.capacity ?? 10_000);
  const now = options.now ?? Date.now;
  // Map keeps insertion order: the first key is the oldest.
  const seen = new Map<string, number>();
  const expired = (at: number): boolean => options.ttlMs !== undefined && now() - at >= options.ttlMs;
  return {
    get size() {
      return seen.size;
    },
    remember(id) {
      const at = seen.get(id);
      if (at !== undefined && !expired(at)) return false;
      seen.delete(id);
      seen.set(id, now());
      while (seen.size > capacity) {
        const oldest = seen.keys().next().value as string;
        seen.delete(oldest);
      }
      return true;
    },
    forget(id) {
      seen.delete(id);
    },
  };
}

export interface GithubWebhookConfig {
  /** Webhook secrets; any one verifying is enough (put the new one first while rotating). */
  readonly secrets: readonly string[];
  /** Replay protection for `X-GitHub-Delivery`. */
  readonly deliveries: DeliveryIdStore;
}

export interface GithubWebhookRequest {
  readonly headers: HeaderBag;
  /** The raw request body exactly as received: the signature covers these bytes. */
  readonly body: Uint8Array | string;
  /** When Vigil received the delivery; becomes the event's `time` (GitHub sends no timestamp). */
  readonly receivedAt?: Date;
}

export type GithubWebhookResult =
  | { readonly ok: true; readonly event: Event; readonly deliveryId: string; readonly secretIndex: number }
  | { readonly ok: false; readonly reason: "signature" | "bad-request"; readonly error: VigilError }
  /**
   * The delivery id was seen before. `event` is what it maps to: a caller whose earlier attempt
   * failed to persist it and also failed to `forget` the id (the store was down for both) finds
   * the event missing from its store and may accept it after all.
   */
  | { readonly ok: false; readonly reason: "replay"; readonly error: VigilError; readonly event: Event; readonly deliveryId: string };

const SIGNATURE = /^sha256=([0-9a-f]{64})$/i;

/** `sha256=<hex>` of `body` under `secret` (what GitHub sends in X-Hub-Signature-256). */
export function signGithubPayload(secret: string, body: Uint8Array | string): string {
  return `sha256=${createHmac("sha256", secret).update(body).digest("hex")}`;
}

/**
 * Verifies `signature` (`sha256=<hex>`) over the raw body with each secret in turn, in constant
 * time per comparison. Returns the index of the secret that matched, or -1. Never throws.
 */
export function verifyGithubSignature(secrets: readonly string[], body: Uint8Array | string, signature: string | undefined): number {
  const match = signature === undefined ? null : SIGNATURE.exec(signature.trim());
  if (!match || !isRawBody(body)) return -1;
  const given = Buffer.from((match[1] as string).toLowerCase(), "hex");
  let found = -1;
  secrets.forEach((secret, index) => {
    if (secret.length === 0) return;
    const expected = createHmac("sha256", secret).update(body).digest();
    // Both are 32-byte digests, so timingSafeEqual never sees unequal lengths.
    if (timingSafeEqual(expected, given) && found === -1) found = index;
  });
  return found;
}

/** True for the raw bytes or text a signature can cover (not a body a framework parsed). */
function isRawBody(body: unknown): body is Uint8Array | string {
  return typeof body === "string" || body instanceof Uint8Array;
}

/**
 * The subject of a GitHub event: `owner/repo#n` for pull requests, issues and discussions (and
 * their reviews and comments), `owner/repo` for other repository events, the organization login for
 * organization events, else undefined.
 */
export function githubSubject(payload: JsonRecord): string | undefined {
  const repository = payload["repository"];
  const fullName = isRecord(repository) && typeof repository["full_name"] === "string" ? repository["full_name"] : undefined;
  // Issues, pull requests and discussions share one number sequence per repository.
  const numbered = [payload["pull_request"], payload["issue"], payload["discussion"]].find(
    (item) => isRecord(item) && typeof item["number"] === "number",
  ) as JsonRecord | undefined;
  const number = numbered?.["number"] ?? (typeof payload["number"] === "number" ? payload["number"] : undefined);
  if (fullName !== undefined) return number === undefined ? fullName : `${fullName}#${String(number)}`;
  const organization = payload["organization"];
  if (isRecord(organization) && typeof organization["login"] === "string") return organization["login"];
  return undefined;
}

/** Where the event comes from: the repository's URL, else the organization's, else github.com. */
export function githubSource(payload: JsonRecord): string {
  const repository = payload["repository"];
  if (isRecord(repository) && typeof repository["html_url"] === "string") return repository["html_url"];
  const organization = payload["organization"];
  if (isRecord(organization) && typeof organization["login"] === "string") {
    return `https://github.com/${encodeURIComponent(organization["login"])}`;
  }
  return "https://github.com";
}

/**
 * Maps an already-verified GitHub payload to a CloudEvent. `eventName` is X-GitHub-Event and
 * `deliveryId` X-GitHub-Delivery. Never throws.
 */
export function githubPayloadToEvent(eventName: string, deliveryId: string, payload: JsonRecord, receivedAt?: Date): Event {
  const subject = githubSubject(payload);
  return {
    specversion: "1.0",
    id: deliveryId,
    source: githubSource(payload),
    type: `${EventTypes.githubPrefix}${eventName}`,
    ...(subject === undefined ? {} : { subject }),
    ...(receivedAt === undefined ? {} : { time: receivedAt.toISOString() }),
    datacontenttype: "application/json",
    data: payload,
  };
}

function bad(reason: "signature" | "bad-request", code: "VIGIL_UNAUTHENTICATED" | "VIGIL_BAD_INPUT", field: string, message: string): GithubWebhookResult {
  return { ok: false, reason, error: new VigilError(code, message, { field }) };
}

/** Parses the body as JSON, or as a form with a `payload` field (GitHub's form content type). */
function parsePayload(body: Uint8Array | string, contentType: string | undefined): { payload?: unknown; error?: string } {
  const text = typeof body === "string" ? body : Buffer.from(body).toString("utf8");
  try {
    if (mediaTypeEssence(contentType) === "application/x-www-form-urlencoded") {
      const payload = new URLSearchParams(text).get("payload");
      if (payload === null) return { error: "the form body has no `payload` field" };
      return { payload: JSON.parse(payload) };
    }
    return { payload: JSON.parse(text) };
  } catch (cause) {
    return { error: `the body is not valid JSON (${cause instanceof Error ? cause.message : String(cause)})` };
  }
}

/**
 * Verifies and maps one GitHub webhook delivery. Steps: signature (401-style `signature`
 * failure, `VIGIL_UNAUTHENTICATED`), required headers and JSON body (`bad-request`,
 * `VIGIL_BAD_INPUT`), then replay check (`replay`, `VIGIL_CONFLICT`). The delivery id is
 * remembered only for a delivery that passed every other check; if the caller then fails to
 * persist the event it must call `deliveries.forget(deliveryId)`. Never throws for bad input; a
 * failing `deliveries` store rejects the returned promise (a storage failure the runtime must see).
 */
export async function receiveGithubWebhook(request: GithubWebhookRequest, config: GithubWebhookConfig): Promise<GithubWebhookResult> {
  const headers = normalizeHeaders(request.headers);
  const signature = singleHeader(headers, "x-hub-signature-256").value;
  if (config.secrets.filter((secret) => secret.length > 0).length === 0) {
    return bad("signature", "VIGIL_UNAUTHENTICATED", "secrets", "no GitHub webhook secret is configured: set one so deliveries can be verified");
  }
  if (!isRawBody(request.body)) {
    return bad("bad-request", "VIGIL_BAD_INPUT", "body", `the body is ${kindOf(request.body)}, not the raw body as received: the signature covers the bytes GitHub sent, and parsed or re-serialized JSON differs from them; pass the raw body (e.g. express.raw() instead of express.json())`);
  }
  if (signature === undefined) {
    return bad("signature", "VIGIL_UNAUTHENTICATED", "x-hub-signature-256", "the X-Hub-Signature-256 header is missing: set a secret on the GitHub webhook so GitHub signs its deliveries");
  }
  const secretIndex = verifyGithubSignature(config.secrets, request.body, signature);
  if (secretIndex < 0) {
    return bad("signature", "VIGIL_UNAUTHENTICATED", "x-hub-signature-256", "the X-Hub-Signature-256 signature does not match any configured secret: check that the webhook's secret equals Vigil's and that the body reaches Vigil unmodified");
  }
  const eventName = singleHeader(headers, "x-github-event").value;
  if (eventName === undefined || !/^[a-z0-9_]+$/.test(eventName)) {
    return bad("bad-request", "VIGIL_BAD_INPUT", "x-github-event", `the X-GitHub-Event header is ${eventName === undefined ? "missing" : JSON.stringify(eventName)}: GitHub names the event there, e.g. "pull_request"`);
  }
  const deliveryId = singleHeader(headers, "x-github-delivery").value;
  if (deliveryId === undefined || deliveryId.trim().length === 0) {
    return bad("bad-request", "VIGIL_BAD_INPUT", "x-github-delivery", "the X-GitHub-Delivery header is missing: GitHub sends a unique delivery id there; replay protection needs it");
  }
  const parsed = parsePayload(request.body, singleHeader(headers, "content-type").value);
  if (parsed.error !== undefined || !isRecord(parsed.payload)) {
    return bad("bad-request", "VIGIL_BAD_INPUT", "body", `${parsed.error ?? `the payload is ${kindOf(parsed.payload)}, not a JSON object`}: send the webhook with content type application/json`);
  }
  const deep = nestingProblem(parsed.payload);
  if (deep !== undefined) return bad("bad-request", "VIGIL_BAD_INPUT", deep.field, deep.message);
  const event = githubPayloadToEvent(eventName, deliveryId, parsed.payload, request.receivedAt);
  if (!(await config.deliveries.remember(deliveryId))) {
    const message = `delivery ${deliveryId} was already received: a replayed delivery is rejected (redeliver from GitHub only if Vigil failed to store it)`;
    return { ok: false, reason: "replay", error: new VigilError("VIGIL_CONFLICT", message, { field: "x-github-delivery" }), event, deliveryId };
  }
  return { ok: true, event, deliveryId, secretIndex };
}
