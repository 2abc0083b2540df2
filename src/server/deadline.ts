/** A deadline for a promise, shared by the admission webhooks. */

export class DeadlineExceeded extends Error {}

/**
 * Resolves with `promise`, or rejects with DeadlineExceeded after `ms` (the promise keeps running).
 * The timer is a macrotask even when `ms <= 0`, so a promise already settled wins the race.
 */
export function withDeadline<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const deadline = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new DeadlineExceeded(`deadline passed`)), Math.max(ms, 0));
  });
  return Promise.race([promise, deadline]).finally(() => clearTimeout(timer));
}
