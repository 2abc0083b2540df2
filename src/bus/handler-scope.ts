import { AsyncLocalStorage } from "node:async_hooks";

/**
 * Which subscription's handler the current code runs in, and on what. A handler that
 * unsubscribes its own subscription and awaits it must not wait for itself: unsubscribe waits
 * for the subscription's running handlers, and this one cannot return before the await does.
 * Both buses run each handler inside `runAsHandlerOf(subscription, delivery, ...)` and ask
 * `currentHandler()` in unsubscribe to leave the caller (and its delivery) out.
 */
const scope = new AsyncLocalStorage<{ readonly owner: object; readonly delivery: unknown }>();

export function runAsHandlerOf<T>(owner: object, delivery: unknown, fn: () => T): T {
  return scope.run({ owner, delivery }, fn);
}

/** The subscription whose handler (directly, or in what it awaits) runs here, with the delivery it handles; undefined outside handlers. */
export function currentHandler(): { readonly owner: object; readonly delivery: unknown } | undefined {
  return scope.getStore();
}
