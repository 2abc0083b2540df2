/**
 * What `build` leaves on a context for `observe`, and how a copy of a context keeps it.
 *
 * The state rides on the context as a non-enumerable symbol-keyed property (cheaper than a
 * WeakMap, invisible to copies, equality checks and serialisers). A copy made with
 * `copyContext` carries it too, so the copy is observed; a plain copy (`{ ...ctx, input }`) is
 * not. The stage used to remember its last 256 contexts to recognise plain copies: at admission
 * rates that kept every review's parsed body alive across young-generation collections (copied,
 * then promoted: longer pauses, a growing old generation). WeakRefs would not do: V8's
 * young-generation collector keeps their targets alive.
 */
import type { Context } from "../core/context.js";

export const BUILT = Symbol("vigil.context.built");

/** The built state of a context (undefined for a context no stage built, or a plain copy). */
export function builtStateOf<S>(ctx: Context): S | undefined {
  return (ctx as unknown as { readonly [BUILT]?: S })[BUILT];
}

/** Attaches a stage's state to a context it built (non-enumerable). */
export function attachBuiltState<C extends Context>(ctx: C, state: unknown): C {
  Object.defineProperty(ctx, BUILT, { value: state });
  return ctx;
}

/**
 * `copy` (a copy of `from` with some fields changed, e.g. `{ ...ctx, input }`) with `from`'s
 * built state, so the context stage observes the copy as it would the original.
 */
export function copyContext<C extends Context>(from: Context, copy: C): C {
  const state = builtStateOf<unknown>(from);
  return state === undefined ? copy : attachBuiltState(copy, state);
}
