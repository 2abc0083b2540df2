/**
 * PolicySet: policies of any language, indexed so that evaluation cost grows sublinearly with the
 * number of policies.
 *
 * Index (documented in docs/policies.md):
 * 1. by event type: `spec.on` entries are exact types (a hash map) or globs (`*` = any run of
 *    characters, `io.k8s.*`); a policy without `on` applies to every type. The candidate lists
 *    are built once per event type seen and cached.
 * 2. by IndexKey (CompiledPolicy.indexKeys, from `match`): "the value at `path` is one of
 *    `values`". Per event type, each keyed policy is filed under its most selective key (the
 *    smallest expected bucket: values × entries per distinct value of that path), in a map
 *    value → policies; the other keys are checked before evaluation.
 *    A policy is skipped only when its match could not be true, so the index never changes
 *    violations or errors (property-tested against linear evaluation).
 * 3. by report keys (CompiledPolicy.reportKeys, from the rules): outside explain mode and without
 *    a cost-limit override, a candidate whose value at such a path is present and not one of the
 *    key's values cannot report anything, and is skipped (a policy of global guardrails keyed on
 *    `principal.department == "eng" && ...` in its rule is not evaluated for other departments).
 * A policy selected by the index is evaluated with `evaluateIndexed` when it offers one: its index
 * keys were checked, so a match made of nothing else is not evaluated twice.
 */
import type { CompiledPolicy } from "../core/compiled-policy.js";
import type { Context } from "../core/context.js";
import type { Finding } from "../core/finding.js";
import type { EvaluateOptions, IndexKey } from "../core/policy.js";
import { activationFor, readPath } from "./activation.js";

export interface PolicySetEvaluateOptions extends EvaluateOptions {
  /** Evaluate every policy whose `on` matches, ignoring index keys (explain/what-if; slower). */
  readonly exhaustive?: boolean;
}

export interface PolicySetResult {
  /** Findings in policy order, then each policy's rule order. */
  readonly findings: Finding[];
  /** name → revision of every policy considered (selected by the index and evaluated). */
  readonly policyRevisions: Record<string, string>;
}

export interface PolicySet {
  /** All policies, in the order given. */
  readonly policies: readonly CompiledPolicy[];
  readonly size: number;
  get(name: string): CompiledPolicy | undefined;
  /** The policies the index selects for a context, in policy order. */
  candidates(ctx: Context, options?: PolicySetEvaluateOptions): CompiledPolicy[];
  /** INVARIANT: never throws; a policy that throws yields an `error` finding and the others still run. */
  evaluate(ctx: Context, options?: PolicySetEvaluateOptions): PolicySetResult;
}

interface KeyCheck { readonly path: string; readonly segments: readonly string[]; readonly values: ReadonlySet<unknown>; readonly absentUndecided: boolean }

interface Entry {
  readonly policy: CompiledPolicy;
  readonly keys: readonly KeyCheck[];
  readonly reportKeys: readonly KeyCheck[];
  /** `policy.evaluateIndexed` when it has one, else `policy.evaluate`. */
  readonly evaluateIndexed: (ctx: Context, options?: EvaluateOptions) => Finding[];
}

/**
 * A key check compiled against a plan's path slots; `single` is the value when there is one
 * (compared with ===). `absentPasses`: an absent (undefined) value does not fail the check
 * (IndexKey.absentUndecided).
 */
class SlotCheck {
  readonly single: unknown;
  readonly many: boolean;
  constructor(readonly slot: number, readonly values: ReadonlySet<unknown>, readonly absentPasses = false) {
    this.many = values.size !== 1;
    this.single = this.many ? undefined : values.values().next().value;
  }

  /** The value is one of the key's values (or absent, for an absentPasses check). */
  holds(value: unknown): boolean {
    if (this.many ? this.values.has(value) : value === this.single) return true;
    return value === undefined && this.absentPasses;
  }
}

/** A policy to check before evaluation: `rest` must hold; a present value outside a `quiet` key skips it (report keys). */
interface Candidate { readonly id: number; readonly rest: readonly SlotCheck[]; readonly quiet: readonly SlotCheck[] }

interface PathIndex { readonly slot: number; readonly buckets: Map<unknown, Candidate[]> }

/** Candidates for one event type. */
interface TypePlan {
  readonly all: readonly number[];
  /**
   * Policies filed under no key, in order: without index keys, or with only keys an absent value
   * does not decide (those are their `rest` checks); those with report keys carry them in `quiet`.
   */
  readonly unkeyed: readonly Candidate[];
  readonly unkeyedIds: readonly number[];
  /** Some unkeyed policy has `rest` checks: the unkeyed list cannot be taken whole. */
  readonly unkeyedChecked: boolean;
  /** Some policy of this plan has report keys. */
  readonly quiet: boolean;
  readonly paths: readonly PathIndex[];
  /** Every path the plan reads, once; values are read once per evaluation into slots. */
  readonly slots: readonly (readonly string[])[];
}

const noChecks: readonly SlotCheck[] = Object.freeze([]);

/** True when an event type matches an `on` entry (exact, or a glob where `*` is any run of characters). */
export function eventTypeMatches(pattern: string, type: string): boolean {
  if (!pattern.includes("*")) return pattern === type;
  return globToRegExp(pattern).test(type);
}

function globToRegExp(pattern: string): RegExp {
  return new RegExp(`^${pattern.split("*").map((part) => part.replace(/[.+?^${}()|[\]\\]/g, "\\$&")).join(".*")}$`);
}

function normalize(value: unknown): unknown {
  return typeof value === "bigint" ? Number(value) : value;
}

const MAX_CACHED_TYPES = 4096;

const noIds: readonly number[] = Object.freeze([]);

/** Builds a PolicySet; `index: false` evaluates every policy whose `on` matches (for comparisons). */
export function createPolicySet(policies: readonly CompiledPolicy[], options: { readonly index?: boolean } = {}): PolicySet {
  const useIndex = options.index !== false;
  const keyCheck = (k: IndexKey): KeyCheck => ({ path: k.path, segments: k.path.split("."), values: new Set(k.values.map(normalize)), absentUndecided: k.absentUndecided === true });
  const entries: Entry[] = policies.map((policy) => {
    const keys = (policy.indexKeys ?? []).map(keyCheck);
    // evaluateIndexed needs every key's value present and checked; a key an absent value does
    // not decide lets the index select the policy without that.
    const indexedEvaluation = policy.evaluateIndexed !== undefined && !keys.some((k) => k.absentUndecided);
    return {
      policy,
      keys,
      reportKeys: (policy.reportKeys ?? []).map(keyCheck),
      evaluateIndexed: indexedEvaluation ? (ctx, options) => (policy.evaluateIndexed as NonNullable<CompiledPolicy["evaluateIndexed"]>)(ctx, options) : (ctx, options) => policy.evaluate(ctx, options),
    };
  });
  const byName = new Map(policies.map((p) => [p.meta.name, p] as const));
  const exact = new Map<string, number[]>();
  const globs: { regex: RegExp; id: number }[] = [];
  const everyType: number[] = [];
  entries.forEach((entry, id) => {
    const on = entry.policy.meta.on;
    if (on.length === 0) { everyType.push(id); return; }
    for (const pattern of new Set(on)) {
      if (pattern.includes("*")) globs.push({ regex: globToRegExp(pattern), id });
      else {
        const list = exact.get(pattern);
        if (list === undefined) exact.set(pattern, [id]);
        else if (list[list.length - 1] !== id) list.push(id);
      }
    }
  });
  const plans = new Map<string, TypePlan>();

  function buildPlan(type: string): TypePlan {
    const ids = new Set<number>(everyType);
    for (const id of exact.get(type) ?? []) ids.add(id);
    for (const glob of globs) if (glob.regex.test(type)) ids.add(glob.id);
    const all = [...ids].sort((a, b) => a - b);
    const unkeyed: Candidate[] = [];
    // Selectivity of each path among these policies: entries filed per distinct value.
    const filed = new Map<string, number>();
    const distinct = new Map<string, Set<unknown>>();
    for (const id of all) {
      for (const key of entries[id]?.keys ?? []) {
        filed.set(key.path, (filed.get(key.path) ?? 0) + key.values.size);
        let values = distinct.get(key.path);
        if (values === undefined) distinct.set(key.path, (values = new Set()));
        for (const v of key.values) values.add(v);
      }
    }
    // Expected candidates a policy adds when filed under `key`: its values × the average bucket size of the path.
    const cost = (key: KeyCheck): number => key.values.size * ((filed.get(key.path) ?? 1) / (distinct.get(key.path)?.size ?? 1));
    const slotOf = new Map<string, number>();
    const slots: (readonly string[])[] = [];
    const slot = (key: KeyCheck): number => {
      let index = slotOf.get(key.path);
      if (index === undefined) { index = slots.length; slotOf.set(key.path, index); slots.push(key.segments); }
      return index;
    };
    const paths = new Map<string, PathIndex>();
    const checks = (keys: readonly KeyCheck[]): readonly SlotCheck[] => (keys.length === 0 ? noChecks : keys.map((k) => new SlotCheck(slot(k), k.values, k.absentUndecided)));
    for (const id of all) {
      const entry = entries[id] as Entry;
      const keys = entry.keys;
      if (!useIndex) { unkeyed.push({ id, rest: noChecks, quiet: noChecks }); continue; }
      const quiet = checks(entry.reportKeys);
      // A bucket holds the policies a present value selects: only a key whose absent value rules the policy out can file it.
      const fileable = keys.filter((k) => !k.absentUndecided);
      if (fileable.length === 0) { unkeyed.push({ id, rest: checks(keys), quiet }); continue; }
      // File the policy under its most selective key (smallest expected bucket); the others are checked before evaluation.
      const chosen = [...fileable].sort((a, b) => cost(a) - cost(b) || a.path.localeCompare(b.path))[0] as KeyCheck;
      const rest = checks(keys.filter((k) => k !== chosen));
      let index = paths.get(chosen.path);
      if (index === undefined) { index = { slot: slot(chosen), buckets: new Map() }; paths.set(chosen.path, index); }
      const candidate: Candidate = { id, rest, quiet };
      for (const value of chosen.values) {
        const bucket = index.buckets.get(value);
        if (bucket === undefined) index.buckets.set(value, [candidate]);
        else bucket.push(candidate);
      }
    }
    const quiet = useIndex && all.some((id) => (entries[id] as Entry).reportKeys.length > 0);
    return { all, unkeyed, unkeyedIds: unkeyed.map((c) => c.id), unkeyedChecked: unkeyed.some((c) => c.rest.length > 0), quiet, paths: [...paths.values()], slots };
  }

  let lastType: string | undefined;
  let lastPlan: TypePlan | undefined;

  function planFor(type: string): TypePlan {
    if (type === lastType && lastPlan !== undefined) return lastPlan;
    let plan = plans.get(type);
    if (plan === undefined) {
      plan = buildPlan(type);
      if (plans.size >= MAX_CACHED_TYPES) plans.clear();
      plans.set(type, plan);
    }
    lastType = type;
    lastPlan = plan;
    return plan;
  }

  // Scratch space for path values; select() is synchronous and never re-entered.
  let scratch: unknown[] = [];

  /** The candidate passes its checks: every `rest` key holds; no `quiet` key (when used) rules it out. */
  function passes(candidate: Candidate, values: readonly unknown[], quiet: boolean): boolean {
    const rest = candidate.rest;
    for (let i = 0; i < rest.length; i++) {
      const key = rest[i] as SlotCheck;
      if (!key.holds(values[key.slot])) return false;
    }
    if (quiet) {
      const keys = candidate.quiet;
      for (let i = 0; i < keys.length; i++) {
        const key = keys[i] as SlotCheck;
        const value = values[key.slot];
        if (value !== undefined && !key.holds(value)) return false;
      }
    }
    return true;
  }

  function select(ctx: Context, options: PolicySetEvaluateOptions | undefined): readonly number[] {
    const plan = planFor(ctx.event.type);
    if (options?.exhaustive === true) return plan.all;
    // Report keys only say "nothing to report": not for explain mode, nor under another cost limit.
    const quiet = plan.quiet && options?.includePasses !== true && options?.costLimit === undefined;
    if (plan.paths.length === 0 && !quiet && !plan.unkeyedChecked) return plan.all;
    const activation = activationFor(ctx);
    if (scratch.length < plan.slots.length) scratch = new Array<unknown>(plan.slots.length);
    const values = scratch;
    for (let i = 0; i < plan.slots.length; i++) values[i] = normalize(readPath(activation, plan.slots[i] as readonly string[]));
    let selected: number[] | undefined;
    let sources = 0;
    for (const index of plan.paths) {
      const bucket = index.buckets.get(values[index.slot]);
      if (bucket === undefined) continue;
      const before = selected?.length ?? 0;
      for (let i = 0; i < bucket.length; i++) {
        const candidate = bucket[i] as Candidate;
        if (passes(candidate, values, quiet)) (selected ??= []).push(candidate.id);
      }
      if ((selected?.length ?? 0) > before) sources++;
    }
    const unkeyed = plan.unkeyed;
    if (unkeyed.length > 0) {
      if (selected === undefined && !quiet && !plan.unkeyedChecked) return plan.unkeyedIds;
      const before = selected?.length ?? 0;
      for (let i = 0; i < unkeyed.length; i++) {
        const candidate = unkeyed[i] as Candidate;
        if (passes(candidate, values, quiet)) (selected ??= []).push(candidate.id);
      }
      if ((selected?.length ?? 0) > before) sources++;
    }
    if (selected === undefined) return noIds;
    // INVARIANT: findings come in policy order whatever the index did. Each source is already in
    // order, so an insertion sort over these few, nearly sorted ids is linear in practice.
    if (sources > 1) {
      for (let i = 1; i < selected.length; i++) {
        const id = selected[i] as number;
        let j = i - 1;
        while (j >= 0 && (selected[j] as number) > id) { selected[j + 1] = selected[j] as number; j--; }
        selected[j + 1] = id;
      }
    }
    return selected;
  }

  function guarded(entry: Entry, ctx: Context, options: EvaluateOptions | undefined, indexed: boolean): readonly Finding[] {
    const policy = entry.policy;
    try {
      return indexed ? entry.evaluateIndexed(ctx, options) : policy.evaluate(ctx, options);
    } catch (cause) {
      const message = cause instanceof Error ? cause.message : String(cause);
      return [{
        policy: policy.meta.name, rule: "(policy)", revision: policy.meta.revision, language: policy.meta.language,
        effect: "error", mode: "deny", severity: "high", message: `policy ${policy.meta.name} threw during evaluation: ${message}`,
        trace: [], error: { code: "VIGIL_INTERNAL", message },
        ...(ctx.event.subject === undefined ? {} : { resource: ctx.event.subject }),
      }];
    }
  }

  return {
    policies,
    size: policies.length,
    get: (name) => byName.get(name),
    candidates(ctx, options) {
      return select(ctx, options).map((id) => (entries[id] as Entry).policy);
    },
    evaluate(ctx, options) {
      const findings: Finding[] = [];
      const policyRevisions: Record<string, string> = {};
      // Through the index, every selected policy's index keys were checked.
      const indexed = useIndex && options?.exhaustive !== true;
      const ids = select(ctx, options);
      for (let k = 0; k < ids.length; k++) {
        const entry = entries[ids[k] as number] as Entry;
        const policy = entry.policy;
        policyRevisions[policy.meta.name] = policy.meta.revision;
        const result = guarded(entry, ctx, options, indexed);
        for (let i = 0; i < result.length; i++) findings.push(result[i] as Finding);
      }
      return { findings, policyRevisions };
    },
  };
}
