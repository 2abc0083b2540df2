/**
 * Overrides: a person allows a denied request once, or for a window, with a reason; recorded as
 * feedback with who. With the two-person rule on, an override of a high or critical violation
 * waits for a second, different approver before it applies. Matching happens in decide/.
 */
import type { DecisionDraft } from "../core/decision.js";
import { VigilError } from "../core/errors.js";
import type { FeedbackLabel } from "../core/feedback.js";
import { severities, type Severity, type Tier, tiers } from "../core/policy.js";
import type { Override } from "../core/review.js";
import { requireRole, type Actor } from "../act/actor.js";
import { appliedRefs } from "../decide/decider.js";
import { overrideActive } from "../decide/exemptions.js";
import { OVERRIDES_COLLECTION, instantMs, nowIso, refuseAgent, samePerson, twoPersonSeverities, type ReviewDeps } from "./context.js";
import { checkLabel, storeFeedback } from "./feedback.js";
import { nextId } from "./ids.js";

export interface OverrideInput {
  readonly decisionId: string;
  /** Which policy of the decision to override; required when several policies were violated. */
  readonly policy?: string;
  readonly scope: "once" | "window";
  /**
   * RFC 3339 end of a window (required for `window`, at most `maxOverrideDays` away). Not taken for
   * `once`: a once override ends `maxOverrideDays` after its creation (stored as its `until`).
   */
  readonly until?: string;
  readonly reason: string;
  /** Record the allowed decision at this tier (e.g. notify), instead of observe. */
  readonly tier?: Tier;
  /** Feedback label recorded with the override (default false_positive). */
  readonly label?: FeedbackLabel;
}

export interface OverrideApi {
  /** Creates an override (approver or admin). Two-person rule: inactive until `confirm` by someone else. */
  create(input: OverrideInput, actor: Actor): Promise<Override>;
  /** The second approver confirms (must differ from the first): the override applies from now. */
  confirm(id: string, actor: Actor, reason?: string): Promise<Override>;
  revoke(id: string, actor: Actor, reason: string): Promise<Override>;
  get(id: string): Promise<Override | undefined>;
  list(query?: { readonly active?: boolean; readonly decisionId?: string }): Promise<Override[]>;
  /** The overrides that can apply now: what the decider takes. */
  active(): Promise<Override[]>;
  /**
   * After recording a decision: marks the `once` overrides it applied as used. Returns their ids.
   * A decision that is not enforced (dry run, shadow, replay) uses none: the real request still gets its pass;
   * nor does a denied one (another violation still denied it): the request was not let through; nor
   * one where the override excused only violations that do not deny (warn, audit): it would have passed anyway.
   */
  markUsed(draft: Pick<DecisionDraft, "explanation" | "enforced" | "findings"> & Partial<Pick<DecisionDraft, "verdict">>): Promise<string[]>;
  /**
   * At start: marks used the active `once` overrides that an enforced decision in the record
   * already applied (the process died after recording it, before marking them). Scans at most
   * `maxScan` decisions of the override's policy since its creation. Returns the ids marked.
   */
  reconcileUsed(options?: { readonly maxScan?: number }): Promise<string[]>;
}

const DAY_MS = 86_400_000;

/**
 * The overrides a decision applied to a violation of a `deny` rule: those that let the request
 * through. One that excused only warn or audit violations let through nothing that was not
 * allowed anyway, so a `once` override keeps its pass for the retried denied request.
 */
function overridesLettingThrough(decision: Pick<DecisionDraft, "explanation" | "findings">): string[] {
  const applied = appliedRefs(decision).overrides;
  if (applied.length === 0) return [];
  const excusedDenials = new Set<string>();
  for (const finding of decision.findings) {
    if (finding.effect !== "skip" || finding.mode !== "deny") continue;
    for (const step of finding.trace) if (step.kind === "exception") excusedDenials.add(step.expr);
  }
  return applied.filter((id) => excusedDenials.has(id));
}

function bad(field: string, message: string): VigilError {
  return new VigilError("VIGIL_BAD_INPUT", `${field} ${message}`, { field });
}

/**
 * What an override of `policy` in this decision is scoped to: the decision's subject, else the one
 * resource its violations of the policy name. Undefined when neither exists — decide applies an
 * override without a subject to every request of the policy, so none may be created then.
 */
export function overrideSubject(decision: Pick<DecisionDraft, "subject" | "findings">, policy: string): string | undefined {
  if (decision.subject !== undefined) return decision.subject;
  const resources = new Set(decision.findings.filter((f) => f.policy === policy && f.effect === "violation").map((f) => f.resource));
  return resources.size === 1 ? [...resources][0] : undefined;
}

/**
 * Creates an override record without role checks or feedback (approvals use it for "allow the
 * retried request"). A `once` override gets `until` = creation + `maxOverrideDays` (default 7): a
 * dormant one stops applying then, as a window would, instead of letting a request through months later.
 */
export async function storeOverride(deps: ReviewDeps, fields: Omit<Override, "id" | "at">, action: string): Promise<Override> {
  const at = nowIso(deps);
  const onceUntil = fields.scope === "once" && fields.until === undefined ? new Date(Date.parse(at) + (deps.settings.maxOverrideDays ?? 7) * DAY_MS).toISOString() : undefined;
  const override: Override = { id: await nextId(deps.storage, "OV", at), at, ...fields, ...(onceUntil ? { until: onceUntil } : {}) };
  await deps.storage.putDocs([{ collection: OVERRIDES_COLLECTION, id: override.id, value: override, expectVersion: 0 }], at);
  await deps.storage.appendAudit([{ at, actor: override.by, action, target: override.id, detail: { decisionId: override.decisionId, policy: override.policy, scope: override.scope, reason: override.reason, ...(override.until ? { until: override.until } : {}), ...(override.confirmationRequired ? { confirmationRequired: true } : {}) } }]);
  return override;
}

export function createOverrideApi(deps: ReviewDeps): OverrideApi {
  async function load(id: string): Promise<{ value: Override; version: number }> {
    const doc = await deps.storage.getDoc<Override>(OVERRIDES_COLLECTION, id);
    if (doc === undefined) throw new VigilError("VIGIL_NOT_FOUND", `override ${id} does not exist`, { field: "id" });
    return doc;
  }

  const api: OverrideApi = {
    async create(input, actor) {
      requireRole(actor, ["approver"], "override a decision");
      refuseAgent(actor, "override a decision");
      if (typeof input.decisionId !== "string" || input.decisionId.trim() === "") throw bad("decisionId", `is required: the id of the recorded decision to override (GET /v1/decisions), got ${JSON.stringify(input.decisionId)}`);
      if (typeof input.reason !== "string" || input.reason.trim() === "") throw bad("reason", "is required: say why this is allowed");
      if (input.scope !== "once" && input.scope !== "window") throw bad("scope", `must be "once" or "window", got ${JSON.stringify(input.scope)}`);
      if (input.tier !== undefined && !tiers.includes(input.tier)) throw bad("tier", `must be one of ${tiers.join(", ")}`);
      const label = input.label === undefined ? "false_positive" : checkLabel(input.label);
      const now = deps.clock.now().getTime();
      let until: string | undefined;
      if (input.scope === "window") {
        const end = typeof input.until === "string" ? instantMs(input.until) : Number.NaN;
        const maxDays = deps.settings.maxOverrideDays ?? 7;
        if (typeof input.until === "string" && Number.isNaN(end)) throw bad("until", `"${input.until}" is not an RFC 3339 time with its offset, like 2025-01-31T18:00:00Z`);
        if (Number.isNaN(end)) throw bad("until", "is required for a window override: an RFC 3339 end time like 2025-01-31T18:00:00Z");
        if (end <= now) throw bad("until", `(${input.until}) is not in the future`);
        if (end > now + maxDays * DAY_MS) throw bad("until", `(${input.until}) is more than ${maxDays} days away; use an exception for standing permissions`);
        until = new Date(end).toISOString();
      }
      const decision = await deps.storage.getDecision(input.decisionId);
      if (decision === undefined) throw new VigilError("VIGIL_NOT_FOUND", `decision ${input.decisionId} is not in the decision record; check the id`, { field: "decisionId" });
      const violated = [...new Set(decision.findings.filter((f) => f.effect === "violation").map((f) => f.policy))];
      let policy = input.policy;
      if (policy === undefined) {
        if (violated.length !== 1) throw bad("policy", `is required: decision ${decision.id} violated ${violated.length === 0 ? "no policy" : violated.join(", ")}`);
        policy = violated[0] as string;
      } else if (!violated.includes(policy)) {
        throw bad("policy", `${policy} was not violated by decision ${decision.id}${violated.length > 0 ? ` (violated: ${violated.join(", ")})` : ""}`);
      }
      const subject = overrideSubject(decision, policy);
      if (subject === undefined) {
        throw bad("decisionId", `decision ${decision.id} has no subject nor a single resource for ${policy}: an override of it would allow every request of ${policy}; use an exception whose when condition says which requests (review.exceptions.create)`);
      }
      let severity: Severity = "info";
      for (const f of decision.findings) if (f.policy === policy && f.effect === "violation" && severities.indexOf(f.severity) > severities.indexOf(severity)) severity = f.severity;
      const twoPerson = twoPersonSeverities(deps.settings).includes(severity);
      const override = await storeOverride(deps, {
        decisionId: decision.id, policy, subject, ...(input.tier ? { tier: input.tier } : {}),
        scope: input.scope, ...(until ? { until } : {}), reason: input.reason.trim(), by: actor.id, severity, ...(twoPerson ? { confirmationRequired: true } : {}),
      }, "override.create");
      await storeFeedback(deps, { decisionId: decision.id, label, reason: input.reason.trim(), via: "override" }, actor.id);
      return override;
    },

    async confirm(id, actor, reason) {
      requireRole(actor, ["approver"], `confirm override ${id}`);
      refuseAgent(actor, `confirm override ${id}`);
      const { value, version } = await load(id);
      if (value.confirmationRequired !== true) throw new VigilError("VIGIL_CONFLICT", `override ${id} does not need a second approver`, { field: "id" });
      if (value.secondBy !== undefined) throw new VigilError("VIGIL_CONFLICT", `override ${id} was already confirmed by ${value.secondBy}`, { field: "id" });
      if (value.revokedAt !== undefined) throw new VigilError("VIGIL_CONFLICT", `override ${id} was revoked`, { field: "id" });
      if (samePerson(value.by, actor.id)) throw new VigilError("VIGIL_FORBIDDEN", `override ${id}: the two-person rule needs a second, different approver; ${actor.id} created it`, { field: "actor.id" });
      const at = nowIso(deps);
      const confirmed: Override = { ...value, secondBy: actor.id };
      // A confirmation that could never apply (the override ended while it waited) is refused, not recorded as if it allowed something.
      if (!overrideActive(confirmed, at)) throw new VigilError("VIGIL_CONFLICT", `override ${id} ended at ${value.until ?? "its end"} before it was confirmed; create a new override if the request should still be allowed`, { field: "id" });
      await deps.storage.putDocs([{ collection: OVERRIDES_COLLECTION, id, value: confirmed, expectVersion: version }], at);
      await deps.storage.appendAudit([{ at, actor: actor.id, action: "override.confirm", target: id, ...(reason ? { detail: { reason } } : {}) }]);
      return confirmed;
    },

    async revoke(id, actor, reason) {
      requireRole(actor, ["approver"], `revoke override ${id}`);
      refuseAgent(actor, `revoke override ${id}`);
      if (typeof reason !== "string" || reason.trim() === "") throw bad("reason", "is required to revoke an override");
      const { value, version } = await load(id);
      if (value.revokedAt !== undefined) throw new VigilError("VIGIL_CONFLICT", `override ${id} was already revoked at ${value.revokedAt}`, { field: "id" });
      const at = nowIso(deps);
      const revoked: Override = { ...value, revokedAt: at };
      await deps.storage.putDocs([{ collection: OVERRIDES_COLLECTION, id, value: revoked, expectVersion: version }], at);
      await deps.storage.appendAudit([{ at, actor: actor.id, action: "override.revoke", target: id, detail: { reason } }]);
      return revoked;
    },

    async get(id) {
      return (await deps.storage.getDoc<Override>(OVERRIDES_COLLECTION, id))?.value;
    },

    async list(query = {}) {
      const docs = await deps.storage.listDocs<Override>(OVERRIDES_COLLECTION, query.decisionId === undefined ? {} : { where: { decisionId: query.decisionId } });
      const all = docs.map((d) => d.value);
      if (query.active === undefined) return all;
      const now = nowIso(deps);
      return all.filter((o) => overrideActive(o, now) === query.active);
    },

    active: () => api.list({ active: true }),

    async markUsed(draft) {
      const used: string[] = [];
      if (!draft.enforced || draft.verdict === "deny") return used;
      for (const id of overridesLettingThrough(draft)) {
        const doc = await deps.storage.getDoc<Override>(OVERRIDES_COLLECTION, id);
        if (doc === undefined || doc.value.scope !== "once" || doc.value.used === true) continue;
        try {
          await deps.storage.putDocs([{ collection: OVERRIDES_COLLECTION, id, value: { ...doc.value, used: true }, expectVersion: doc.version }], nowIso(deps));
          used.push(id);
        } catch (error) {
          if (!(error instanceof VigilError && error.code === "VIGIL_CONFLICT")) throw error;
        }
      }
      return used;
    },

    async reconcileUsed(options = {}) {
      const maxScan = options.maxScan ?? 50_000;
      const page = 500;
      const marked: string[] = [];
      for (const override of await api.active()) {
        if (override.scope !== "once" || marked.includes(override.id)) continue;
        let afterSeq = 0;
        for (let scanned = 0; scanned < maxScan;) {
          const decisions = await deps.storage.listDecisions({ policy: override.policy, since: override.at, afterSeq, limit: page });
          const applied = decisions.find((d) => d.enforced && d.verdict !== "deny" && overridesLettingThrough(d).includes(override.id));
          if (applied !== undefined) {
            marked.push(...(await api.markUsed(applied)));
            break;
          }
          if (decisions.length < page) break;
          scanned += decisions.length;
          afterSeq = decisions[decisions.length - 1]!.seq;
        }
      }
      return marked;
    },
  };
  return api;
}
