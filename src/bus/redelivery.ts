/**
 * How long a message whose handler threw waits before it is delivered again: 100 ms after the
 * first failure, doubling with each further delivery, at most 30 s. A batch that keeps failing
 * (storage down, an event the pipeline cannot decide) is retried at a bounded rate instead of
 * spinning through the whole batch and its error log line as fast as the bus can redeliver.
 */
export const REDELIVERY_BASE_MS = 100;
export const REDELIVERY_MAX_MS = 30_000;

/** `deliveries`: how many times the message has been delivered so far (1 on the first delivery). */
export function redeliveryDelayMs(deliveries: number): number {
  const exponent = Math.min(Math.max(0, deliveries - 1), 20);
  return Math.min(REDELIVERY_MAX_MS, REDELIVERY_BASE_MS * 2 ** exponent);
}
