/**
 * The lookups of Kyverno context entries that need the network (live `apiCall` GETs,
 * `imageRegistry`): evaluation is synchronous, so it records what it could not answer
 * (`ctx.kubernetes.unanswered`), and the caller — the pipeline, the mutating webhook — fetches
 * those with `fetchUnanswered` and evaluates again with the answers.
 */
import type { ApiAnswer, ClusterView, Context, ImageRegistry, ImageSignatureCheck, ServiceCall, ServiceCaller } from "../../core/context.js";

/**
 * How many times a decision fetches what its evaluation could not look up and evaluates again. A
 * rule's context entries load in order and stop at the first unanswered one, so a rule with
 * several lookups finds one more per round, and a URL can depend on another call's answer.
 */
export const MAX_LOOKUP_ROUNDS = 10;

/**
 * Fetches what an evaluation asked for and neither the caches nor `fetched` answered — API GETs
 * (Kyverno `apiCall`, keyed by path) from the cluster, service calls (`apiCall.service`, keyed
 * `call:<the call as JSON>`) from the services, images (`imageRegistry`, keyed
 * `image:<reference>`) and signature checks (verifyImages, keyed `verify:<the check as JSON>`)
 * from the registries: the answers so far plus the new ones, or undefined
 * when there is nothing new to fetch (then evaluating again would change nothing). Never rejects.
 */
export async function fetchUnanswered(sources: { readonly cluster?: ClusterView | undefined; readonly registry?: ImageRegistry | undefined; readonly services?: ServiceCaller | undefined }, unanswered: ReadonlySet<string>, fetched: ReadonlyMap<string, ApiAnswer> | undefined): Promise<Map<string, ApiAnswer> | undefined> {
  if (unanswered.size === 0) return undefined;
  const all = new Map(fetched ?? []);
  const keys = [...unanswered].filter((key) => !all.has(key));
  const { cluster, registry, services } = sources;
  const lookup = (key: string): Promise<ApiAnswer> | undefined => {
    if (key.startsWith("image:")) return registry?.describe(key.slice("image:".length));
    if (key.startsWith("verify:")) return registry?.verify?.(JSON.parse(key.slice("verify:".length)) as ImageSignatureCheck);
    if (key.startsWith("call:")) return services?.call(JSON.parse(key.slice("call:".length)) as ServiceCall);
    return cluster?.fetch?.(key);
  };
  const pending = keys.map((key) => [key, lookup(key)] as const).filter((entry): entry is readonly [string, Promise<ApiAnswer>] => entry[1] !== undefined);
  if (pending.length === 0) return undefined;
  const answers = await Promise.all(pending.map(([, answer]) => answer));
  pending.forEach(([key], i) => all.set(key, answers[i] as ApiAnswer));
  return all;
}

/**
 * Evaluates `first`, then, while the evaluation asked for lookups nobody answered
 * (`ctx.kubernetes.unanswered`), fetches them and evaluates again with the answers
 * (MAX_LOOKUP_ROUNDS at most). `copy` makes each new context (the pipeline keeps its built state
 * with `copyContext`). Returns the last context and result.
 */
export async function evaluateWithLookups<R>(first: Context, evaluate: (ctx: Context) => R, copy: (next: Context) => Context = (next) => next): Promise<{ ctx: Context; result: R }> {
  let ctx = first;
  let result = evaluate(ctx);
  for (let round = 0; round < MAX_LOOKUP_ROUNDS; round++) {
    const kubernetes = ctx.kubernetes;
    if (kubernetes?.unanswered === undefined) break;
    const fetched = await fetchUnanswered(kubernetes, kubernetes.unanswered, kubernetes.fetched);
    if (fetched === undefined) break;
    ctx = copy({ ...ctx, kubernetes: { ...kubernetes, fetched, unanswered: new Set<string>() } });
    result = evaluate(ctx);
  }
  return { ctx, result };
}
