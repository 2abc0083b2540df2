import { createHmac, timingSafeEqual } from "node:crypto";

/** `sha256=<hex>`: HMAC-SHA256 over `<timestamp>.<raw body>` with the endpoint secret. */
export const WEBHOOK_SIGNATURE_HEADER = "X-Vigil-Signature-256";
/** Unix time in seconds when the request was signed; covered by the signature. */
export const WEBHOOK_TIMESTAMP_HEADER = "X-Vigil-Timestamp";
/** Stable id of one delivery (the action id; `<id>:undo` for its undo), the same on every retry. */
export const WEBHOOK_DELIVERY_HEADER = "X-Vigil-Delivery";
/** The plan's idempotency key: a receiver that has seen it must not act again. */
export const WEBHOOK_IDEMPOTENCY_HEADER = "Idempotency-Key";

/**
 * Signs a webhook body. The signed content is `${timestamp}.${rawBody}`, so a receiver that
 * checks the timestamp window also stops replays of an old, validly signed request.
 */
export function signWebhook(secret: string, timestamp: number, rawBody: string): string {
  return `sha256=${createHmac("sha256", secret).update(`${timestamp}.${rawBody}`).digest("hex")}`;
}

export interface WebhookVerification {
  readonly ok: boolean;
  /** Why verification failed; absent when ok. */
  readonly reason?: string;
}

/**
 * Verifies a Vigil webhook as a receiver should: the signature (constant-time compare) over
 * `<timestamp>.<raw body>`, and the timestamp within `toleranceSeconds` (default 300) of `now`.
 * Never throws. Use the raw request bytes, not re-serialised JSON.
 */
export function verifyWebhookSignature(input: {
  readonly secret: string;
  readonly rawBody: string;
  readonly signature: string | undefined;
  readonly timestamp: string | undefined;
  readonly now: Date;
  readonly toleranceSeconds?: number;
}): WebhookVerification {
  if (input.signature === undefined || !input.signature.startsWith("sha256=")) return { ok: false, reason: `missing or malformed ${WEBHOOK_SIGNATURE_HEADER}` };
  if (input.timestamp === undefined || !/^\d+$/.test(input.timestamp)) return { ok: false, reason: `missing or malformed ${WEBHOOK_TIMESTAMP_HEADER}` };
  const timestamp = Number(input.timestamp);
  const skew = Math.abs(input.now.getTime() / 1000 - timestamp);
  if (skew > (input.toleranceSeconds ?? 300)) return { ok: false, reason: `timestamp is ${Math.round(skew)} s away from now (replay or clock skew)` };
  const expected = Buffer.from(signWebhook(input.secret, timestamp, input.rawBody));
  const given = Buffer.from(input.signature);
  if (expected.length !== given.length || !timingSafeEqual(expected, given)) return { ok: false, reason: "signature does not match the body" };
  return { ok: true };
}
