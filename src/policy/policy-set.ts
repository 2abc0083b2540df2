/**
 * PolicySet: policies of any language, indexed so that evaluation cost grows sublinearly with the
 * number of policies.
 *
 * Index (documented in docs/policies.md):
 * 1. by event type: `spec.on` entries are exact types (a hash map) or globs (`*` = any run of
 *    characters, `io.k8s.*`); a policy without `on` applies to every type. The candidate lists
 *    are built once per event type seen and cached.
 * 2. by IndexKey (CompiledPolicy.indexKeys, from `match`): "the value at `path` is one of
 *    `values`". Per event type, each keyed policy is filed under one of its keys (the path most
 *    policies share), in a map value → policies; the other keys are checked before evaluation.
 *    A policy is skipped only when its match could not be true, so the index never changes
 *    violations or errors (property-tested against linear evaluation).
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

interface KeyCheck { readonly path: string; readonly segments: readonly string[]; readonly values: ReadonlySet<unknown> }

interface Entry {
  readonly policy: CompiledPolicy;
  readonly keys: readonly KeyCheck[];
}

interface PathIndex { readonly segments: readonly string[]; readonly buckets: Map<unknown, { id: number; rest: readonly KeyCheck[] }[]> }

/** Candidates for one event type. */
interface TypePlan {
  readonly all: readonly number[];
  readonly unkeyed: readonly number[];
  readonly paths: readonly PathIndex[];
}

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

/** Builds a PolicySet; `index: false` evaluates every policy whose `on` matches (for comparisons). */
export function createPolicySet(policies: readonly CompiledPolicy[], options: { readonly index?: boolean } = {}): PolicySet {
  const useIndex = options.index !== false;
  const entries: Entry[] = policies.map((policy) => ({
    policy,
    keys: (policy.indexKeys ?? []).map((k: IndexKey) => ({ path: k.path, segments: k.path.split("."), values: new Set(k.values.map(normalize)) })),
  }));
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
    const unkeyed: number[] = [];
    const frequency = new Map<string, number>();
    for (const id of all) for (const key of entries[id]?.keys ?? []) frequency.set(key.path, (frequency.get(key.path) ?? 0) + 1);
    const paths = new Map<string, PathIndex>();
    for (const id of all) {
      const keys = (entries[id] as Entry).keys;
      if (!useIndex || keys.length === 0) { unkeyed.push(id); continue; }
      // File the policy under the key whose path most policies share (fewest lookups), then fewest values.
      const chosen = [...keys].sort((a, b) => (frequency.get(b.path) ?? 0) - (frequency.get(a.path) ?? 0) || a.values.size - b.values.size)[0] as KeyCheck;
      const rest = keys.filter((k) => k !== chosen);
      let index = paths.get(chosen.path);
      if (index === undefined) { index = { segments: chosen.segments, buckets: new Map() }; paths.set(chosen.path, index); }
      for (const value of chosen.values) {
        const bucket = index.buckets.get(value);
        if (bucket === undefined) index.buckets.set(value, [{ id, rest }]);
        else bucket.push({ id, rest });
      }
    }
    return { all, unkeyed, paths: [...paths.values()] };
  }

  function planFor(type: string): TypePlan {
    let plan = plans.get(type);
    if (plan === undefined) {
      plan = buildPlan(type);
      if (plans.size >= MAX_CACHED_TYPES) plans.clear();
      plans.set(type, plan);
    }
    return plan;
  }

  function select(ctx: Context, options: PolicySetEvaluateOptions | undefined): readonly number[] {
    const plan = planFor(ctx.event.type);
    if (options?.exhaustive === true || plan.paths.length === 0) return plan.all;
    const activation = activationFor(ctx);
    let selected: number[] | undefined;
    for (const index of plan.paths) {
      const bucket = index.buckets.get(normalize(readPath(activation, index.segments)));
      if (bucket === undefined) continue;
      for (const { id, rest } of bucket) {
        let ok = true;
        for (const key of rest) {
          if (!key.values.has(normalize(readPath(activation, key.segments)))) { ok = false; break; }
        }
        if (ok) (selected ??= []).push(id);
      }
    }
    if (selected === undefined) return plan.unkeyed;
    for (const id of plan.unkeyed) selected.push(id);
    // INVARIANT: findings come in policy order whatever the index did.
    return selected.sort((a, b) => a - b);
  }

  function guarded(policy: CompiledPolicy, ctx: Context, options: EvaluateOptions | undefined): readonly Finding[] {
    try {
      return policy.evaluate(ctx, options);
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
      for (const id of select(ctx, options)) {
        const policy = (entries[id] as Entry).policy;
        policyRevisions[policy.meta.name] = policy.meta.revision;
        const result = guarded(policy, ctx, options);
        for (let i = 0; i < result.length; i++) findings.push(result[i] as Finding);
      }
      return { findings, policyRevisions };
    },
  };
}
