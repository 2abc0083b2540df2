/**
 * Planning: from a decision and its policies' remediation references to ActionPlans, with the
 * static guardrails (allowlist, protected entities, tier, dry-run) already judged. No storage and
 * no remote call: the executor applies the result.
 *
 * Which actions a finding's tier plans:
 * - observe: none;
 * - notify, block: notification kinds only (webhook, Slack, GitHub status/check/comment);
 * - approve: every kind; non-notification kinds wait for a person's approval;
 * - remediate: every kind.
 * Params are rendered: a string holding `{{ cel }}` parts is filled in against the policy's
 * activation (its `variables` included) plus `finding` and `decision`; a string that is a single
 * `{{ cel }}` keeps the value's type (a list stays a list).
 */
import type { ActionPlan, Actuator } from "../core/action.js";
import type { Context } from "../core/context.js";
import type { DecisionDraft } from "../core/decision.js";
import type { Entity } from "../core/entity.js";
import { entityKey } from "../core/entity.js";
import { VigilError } from "../core/errors.js";
import type { Finding } from "../core/finding.js";
import { tierRank, type PolicyMeta, type RemediationRef, type Tier } from "../core/policy.js";
import { activationForPolicy, metaOf, type ConditionCache, type PolicyLookup } from "../decide/conditions.js";
import { splitTemplate, renderValue } from "../policy/vigil/template.js";
import { allowlistVerdict, defaultNotificationKinds, protectionVerdict, type GuardrailConfig } from "./guardrails.js";
import { actionIdOf, idempotencyKey, type BlockCause } from "./records.js";
import { touchedProtection } from "./touched.js";

/** What the executor should do with a plan. */
export type Disposition = "apply" | "dry-run" | "approval" | "blocked";

export interface PlannedAction {
  readonly plan: ActionPlan;
  readonly disposition: Disposition;
  /** The tier of the finding that asked for it. */
  readonly tier: Tier;
  readonly blockedBy?: BlockCause;
  /**
   * Set on a plan that runs for real only because its policy was promoted: the executor checks the
   * promotion again when it applies the plan (a plan held for later, e.g. by the ladder, of a policy
   * demoted meanwhile only dry-runs).
   */
  readonly promoted?: true;
}

export interface PlanInput {
  readonly draft: DecisionDraft;
  readonly ctx: Context;
  readonly policy?: PolicyLookup | undefined;
  readonly guardrails: GuardrailConfig;
  readonly actuators: ReadonlyMap<string, Actuator>;
  /** Whether a person promoted the policy out of dry-run. */
  readonly promoted: (policy: string) => boolean;
  readonly programs: ConditionCache;
  /** Extra entity lookup for targets the context does not hold (e.g. the entity store). */
  readonly entity?: ((target: { readonly kind: string; readonly id: string }) => Entity | undefined) | undefined;
  /** Policies whose references skipped at this tier still get their target resolved (the enforcement ladder's). */
  readonly targetsWhenSkipped?: ((policy: string) => boolean) | undefined;
}

export interface NotPlanned {
  readonly policy: string;
  readonly action: string;
  readonly reason: string;
  /** For `targetsWhenSkipped` policies: the target the reference would have acted on, when it resolved. */
  readonly target?: { readonly kind: string; readonly id: string };
}

export interface PlanOutput {
  readonly planned: readonly PlannedAction[];
  /** Remediation references not planned at this tier (for the explanation). */
  readonly notPlanned: readonly NotPlanned[];
}

/** Tier per (policy, rule) from the draft's tier steps; the draft's tier when a step has none. */
function findingTiers(draft: DecisionDraft): (finding: Finding) => Tier {
  const byKey = new Map<string, Tier>();
  for (const step of draft.explanation.steps) {
    if (step.kind === "tier" && step.tier !== undefined && step.policy !== undefined && step.rule !== undefined) {
      const key = `${step.policy}\u0000${step.rule}`;
      const current = byKey.get(key);
      if (current === undefined || tierRank(step.tier) > tierRank(current)) byKey.set(key, step.tier);
    }
  }
  return (f) => byKey.get(`${f.policy}\u0000${f.rule}`) ?? draft.tier;
}

type Activation = Readonly<Record<string, unknown>>;

function evaluateExpression(programs: ConditionCache, source: string, origin: string, activation: Activation): unknown {
  const program = programs.compile(source, origin);
  if (program instanceof VigilError) throw program;
  const outcome = program.evaluate(activation);
  if (!outcome.ok) throw new VigilError("VIGIL_BAD_INPUT", `${origin}: ${outcome.error.message}`, { field: origin });
  return outcome.value;
}

/** Renders `{{ cel }}` templates in a params value, recursively. Throws VigilError naming the param. */
export function renderParams(value: unknown, programs: ConditionCache, activation: Activation, origin: string): unknown {
  if (typeof value === "string") {
    if (!value.includes("{{")) return value;
    const parts = splitTemplate(value);
    const only = parts[0];
    if (parts.length === 1 && only?.expression !== undefined) return evaluateExpression(programs, only.expression, origin, activation);
    return parts.map((p) => (p.text !== undefined ? p.text : renderValue(evaluateExpression(programs, p.expression ?? "", origin, activation)))).join("");
  }
  if (Array.isArray(value)) return value.map((item, i) => renderParams(item, programs, activation, `${origin}[${i}]`));
  if (value !== null && typeof value === "object") {
    const out: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(value)) out[key] = renderParams(item, programs, activation, `${origin}.${key}`);
    return out;
  }
  return value;
}

/**
 * The context entity a target names. A target of a known kind matches that kind too: two entities
 * may share an id (a Service and a Deployment both `shop/web`), and the protected one must not be
 * missed because the other came first. A target whose kind is unknown (`""` while resolving it, or
 * `subject` when no entity had its id) matches the id alone, first entity first.
 */
function targetEntity(ctx: Context, target: { kind: string; id: string }): Entity | undefined {
  const anyKind = target.kind === "" || target.kind === "subject";
  for (const role in ctx.entities) {
    const entity = ctx.entities[role];
    if (entity === undefined || (!anyKind && entity.kind !== target.kind)) continue;
    if (entity.id === target.id || entityKey(entity) === target.id) return entity;
  }
  return undefined;
}

const REGION = /^[a-z]{2}(?:-[a-z]+)+-\d{1,2}$/;
const ARN_REGION = /^arn:aws(?:-[a-z]+)*:[a-z0-9-]+:([a-z]{2}(?:-[a-z]+)+-\d{1,2}):/;

/**
 * A regional action (aws.ec2.stop-instances) must run in its target's region. When the policy set
 * no `region` param, the target entity's `region` attribute (or the region of its ARN id) fills it,
 * for an actuator that takes a `region` param (its validation accepts one): the plan records where
 * the action runs. An actuator without such a param, or an entity without a region, is left as is.
 */
function withTargetRegion(actuator: Actuator, params: Record<string, unknown>, entity: Entity | undefined): Record<string, unknown> {
  if (entity === undefined) return params;
  const attr = entity.attrs["region"];
  const region = typeof attr === "string" && REGION.test(attr) ? attr : ARN_REGION.exec(entity.id)?.[1];
  if (region === undefined) return params;
  const filled = { ...params, region };
  try {
    actuator.validate(filled);
    return filled;
  } catch {
    return params;
  }
}

/** A resolved target; `guessed` when the policy gave a bare id and its kind is the first entity's with that id. */
type ResolvedTarget = { kind: string; id: string; guessed?: true };

function resolveTarget(ref: RemediationRef, ctx: Context, finding: Finding, programs: ConditionCache, activation: Activation, origin: string): ResolvedTarget {
  let value: unknown = ctx.event.subject ?? finding.resource;
  if (ref.target !== undefined) value = evaluateExpression(programs, ref.target, `${origin}.target`, activation);
  if (value !== null && typeof value === "object" && typeof (value as { id?: unknown }).id === "string") {
    const t = value as { kind?: unknown; id: string };
    return { kind: typeof t.kind === "string" ? t.kind : "subject", id: t.id };
  }
  if (typeof value !== "string" || value === "") {
    throw new VigilError("VIGIL_BAD_INPUT", `${origin}.target gave no target (${JSON.stringify(value) ?? "nothing"}); set remediation target or send events with a subject`, { field: `${origin}.target` });
  }
  const entity = targetEntity(ctx, { kind: "", id: value });
  return entity === undefined ? { kind: "subject", id: value } : { kind: entity.kind, id: value, guessed: true };
}

/**
 * Why a target, or an object the params act on (touched.ts), is protected, if one is. A target
 * whose kind was guessed (a bare id) is judged on every entity of the context with that id: two
 * may share it (a Service and a Deployment both `shop/web`), and the actuator may act on either,
 * so a protected one is never missed.
 */
function protection(input: PlanInput, resolved: ResolvedTarget, ref: RemediationRef, params: Readonly<Record<string, unknown>>): string | undefined {
  const target = { kind: resolved.kind, id: resolved.id };
  const entities = resolved.guessed === true
    ? Object.values(input.ctx.entities).filter((e): e is Entity => e !== undefined && (e.id === target.id || entityKey(e) === target.id))
    : [targetEntity(input.ctx, target) ?? input.entity?.(target)];
  for (const entity of entities.length > 0 ? entities : [undefined]) {
    const guarded = protectionVerdict(input.guardrails, target, entity, ref.targetLabels);
    if (guarded !== undefined) return guarded;
  }
  // What the params act on (instanceIds, namespace/name, userId, ...) is judged as the target is.
  return touchedProtection(input.guardrails, { kind: ref.action, params, actuator: input.actuators.get(ref.action) }, Object.values(input.ctx.entities), input.entity);
}

function needsPromotion(meta: PolicyMeta | undefined, input: PlanInput): boolean {
  return input.guardrails.requirePromotion !== false || meta?.enforcement?.dryRun === true;
}

/** The reason a dry-run policy gives (the executor gives it too when a policy was demoted since planning). */
export function notPromotedReason(policy: string): string {
  return `policy ${policy} acts in dry-run until a person promotes it`;
}

function dryRunReason(draft: DecisionDraft, meta: PolicyMeta | undefined, policy: string, input: PlanInput): string | undefined {
  if (!draft.enforced) return "decision not enforced (dry run, shadow evaluation or replay)";
  if (meta?.enforcement?.mode === "shadow") return `policy ${policy} is in shadow mode`;
  if (needsPromotion(meta, input) && !input.promoted(policy)) return notPromotedReason(policy);
  return undefined;
}

/**
 * Plans the actions of a decision. Never throws: a bad template, an unknown kind or invalid
 * params give a plan with disposition `blocked` and the reason.
 */
export function planActions(input: PlanInput): PlanOutput {
  const { draft, ctx } = input;
  const tierOf = findingTiers(draft);
  const notification = new Set(input.guardrails.notificationKinds ?? defaultNotificationKinds);
  const planned = new Map<string, PlannedAction>();
  /** The remediation entry (policy, index) each planned id came from: another finding's same entry is the same action. */
  const entryOf = new Map<string, string>();
  const notPlanned: NotPlanned[] = [];
  for (const finding of draft.findings) {
    if (finding.effect !== "violation") continue;
    const handle = input.policy?.(finding.policy);
    const meta = metaOf(handle);
    const refs = meta?.remediation ?? finding.remediation ?? [];
    if (refs.length === 0) continue;
    const tier = tierOf(finding);
    refs.forEach((ref, index) => {
      const origin = `policy ${finding.policy} spec.remediation[${index}]`;
      const notifies = notification.has(ref.action);
      const sources = [ref.target ?? "", ...Object.values(ref.params ?? {}).map((v) => JSON.stringify(v) ?? "")];
      const activationOf = () => ({
        ...activationForPolicy(handle, ctx, sources),
        finding: { policy: finding.policy, rule: finding.rule, severity: finding.severity, message: finding.message, ...(finding.resource ? { resource: finding.resource } : {}) },
        decision: { id: draft.id, tier: draft.tier, verdict: draft.verdict, risk: draft.risk.score },
      });
      if (tier === "observe" || (!notifies && (tier === "notify" || tier === "block"))) {
        const skipped: NotPlanned = { policy: finding.policy, action: ref.action, reason: `tier ${tier} does not run ${ref.action}` };
        let target: { kind: string; id: string } | undefined;
        if (input.targetsWhenSkipped?.(finding.policy) === true) {
          try { const { kind, id } = resolveTarget(ref, ctx, finding, input.programs, activationOf(), origin); target = { kind, id }; } catch { target = undefined; }
        }
        notPlanned.push(target === undefined ? skipped : { ...skipped, target });
        return;
      }
      let resolved: ResolvedTarget;
      let params: Record<string, unknown> = {};
      let problem: { cause: BlockCause; reason: string } | undefined;
      try {
        const activation = activationOf();
        resolved = resolveTarget(ref, ctx, finding, input.programs, activation, origin);
        params = renderParams(ref.params ?? {}, input.programs, activation, `${origin}.params`) as Record<string, unknown>;
      } catch (error) {
        resolved = { kind: "subject", id: ctx.event.subject ?? finding.resource ?? "" };
        problem = { cause: "template", reason: error instanceof Error ? error.message : String(error) };
      }
      const target = { kind: resolved.kind, id: resolved.id };
      const entry = `${finding.policy}\u0000${index}`;
      let key = idempotencyKey(draft.id, finding.policy, ref.action, target);
      // Several findings of a policy plan its entry once. Another entry of the same kind and target
      // (a webhook.post to a second receiver) is another action: its key carries the entry's index.
      if (planned.has(actionIdOf(key)) && entryOf.get(actionIdOf(key)) !== entry) key = idempotencyKey(draft.id, finding.policy, `${ref.action}#${index}`, target);
      const id = actionIdOf(key);
      if (planned.has(id)) return;
      entryOf.set(id, entry);
      const actuator = input.actuators.get(ref.action);
      if (problem === undefined && actuator !== undefined && params["region"] === undefined) params = withTargetRegion(actuator, params, targetEntity(ctx, target) ?? input.entity?.(target));
      if (problem === undefined && actuator === undefined) problem = { cause: "no-actuator", reason: `no actuator is configured for ${ref.action}; configure its provider under actuators:` };
      if (problem === undefined && actuator !== undefined) {
        try { actuator.validate(params); } catch (error) { problem = { cause: "invalid", reason: error instanceof Error ? error.message : String(error) }; }
      }
      if (problem === undefined) {
        const denied = allowlistVerdict(input.guardrails, finding.policy, ref.action);
        if (denied !== undefined) problem = { cause: "allowlist", reason: denied };
      }
      if (problem === undefined) {
        const guarded = protection(input, resolved, ref, params);
        if (guarded !== undefined) problem = { cause: "protected", reason: `${guarded}: never acted on` };
      }
      const dryRun = problem === undefined ? dryRunReason(draft, meta, finding.policy, input) : undefined;
      const approval = problem === undefined && dryRun === undefined && tier === "approve" && !notifies;
      const reason = problem?.reason ?? dryRun ?? (approval ? `tier approve: a person approves ${ref.action} before it runs` : `tier ${tier}: ${finding.policy}/${finding.rule}`);
      const plan: ActionPlan = {
        id, decisionId: draft.id, policy: finding.policy, actuator: ref.action, target, params, idempotencyKey: key,
        dryRun: dryRun !== undefined, ...(approval ? { requiresApproval: true } : {}), reason,
      };
      const disposition: Disposition = problem !== undefined ? "blocked" : dryRun !== undefined ? "dry-run" : approval ? "approval" : "apply";
      const gated = (disposition === "apply" || disposition === "approval") && needsPromotion(meta, input);
      planned.set(id, { plan, disposition, tier, ...(problem ? { blockedBy: problem.cause } : {}), ...(gated ? { promoted: true as const } : {}) });
    });
  }
  return { planned: [...planned.values()], notPlanned };
}
