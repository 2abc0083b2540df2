/**
 * The context keys a lesson is filed under, computed the same way at decision time (from the
 * Context, for the lookup and for the decision's labels) and at learning time (from the recorded
 * decision's labels): bucket, entity, peer group and the detectors that fired.
 */
import type { Context } from "../core/context.js";
import type { Decision } from "../core/decision.js";
import { contextBucket } from "../decide/risk.js";

/** Decision label names the learner reads back (`DecisionDraft.labels`). */
export const LEARN_LABELS = {
  bucket: "learn.bucket",
  entity: "learn.entity",
  peer: "learn.peer",
  /** `detector=entity` pairs joined by `,` for the detectors that fired (`,` and `%` in the entity escaped as `%2C`, `%25`). */
  signals: "learn.signals",
} as const;

/**
 * An owner in the signals label: entity ids may hold commas (an LDAP or X.509 name such as
 * `cn=ana,ou=people`), which would split the pair list, so `%` and `,` are percent-escaped.
 */
const escapeOwner = (owner: string): string => owner.replace(/%/g, "%25").replace(/,/g, "%2C");
/** Reverses `escapeOwner`; a label recorded before owners were escaped has no `%2C` / `%25` to undo. */
const unescapeOwner = (owner: string): string => owner.replace(/%2C|%25/g, (escape) => (escape === "%2C" ? "," : "%"));

export interface LearningKeys {
  readonly bucket: string;
  readonly entity?: string;
  readonly peer?: string;
  readonly detectors: Readonly<Record<string, string>>;
}

const str = (value: unknown): string | undefined => (typeof value === "string" && value !== "" ? value : undefined);

/**
 * Keys of a context: the bucket (decide's `contextBucket`), the entity (the principal, else the
 * resource, else `subject/<event subject>`), the principal's peer group, and each detector that
 * fired (score > 0) with the entity it scored. Pure.
 */
export function learningKeys(ctx: Context): LearningKeys {
  const principal = ctx.entities["principal"];
  const resource = ctx.entities["resource"];
  const principalKey = principal ? `${principal.kind}/${principal.id}` : undefined;
  const entity = principalKey ?? (resource ? `${resource.kind}/${resource.id}` : ctx.event.subject !== undefined ? `subject/${ctx.event.subject}` : undefined);
  const peer = str(ctx.signals["oddHour"]?.values?.["peer"]) ?? str(ctx.features?.["principal"]?.["peer"]);
  const detectors: Record<string, string> = {};
  for (const name in ctx.signals) {
    const signal = ctx.signals[name];
    if (signal === undefined || !(signal.score > 0)) continue;
    const scored = name === "spike" ? str(signal.values?.["entity"]) : undefined;
    // The principal's key when there is a principal, else the entity (the principal's key is the entity then too).
    const owner = scored ?? entity;
    if (owner !== undefined) detectors[signal.detector || name] = owner;
  }
  // Built field by field (no spread copies): bucket, entity, peer, detectors.
  const keys: { bucket: string; entity?: string; peer?: string; detectors: Record<string, string> } = { bucket: contextBucket(ctx) } as { bucket: string; detectors: Record<string, string> };
  if (entity !== undefined) keys.entity = entity;
  if (peer !== undefined) keys.peer = peer;
  keys.detectors = detectors;
  return keys;
}

/** The keys as decision labels (merge them into `DecideOptions.labels`), so learning can read them back. */
export function learningLabels(ctx: Context): Record<string, string> {
  const keys = learningKeys(ctx);
  const labels: Record<string, string> = {};
  labels[LEARN_LABELS.bucket] = keys.bucket;
  if (keys.entity !== undefined) labels[LEARN_LABELS.entity] = keys.entity;
  if (keys.peer !== undefined) labels[LEARN_LABELS.peer] = keys.peer;
  // `detector=owner` pairs joined by "," in the detectors' order (no entries/map/join arrays).
  let fired: string | undefined;
  for (const detector in keys.detectors) {
    const pair = `${detector}=${escapeOwner(keys.detectors[detector] as string)}`;
    fired = fired === undefined ? pair : `${fired},${pair}`;
  }
  if (fired !== undefined) labels[LEARN_LABELS.signals] = fired;
  return labels;
}

const environmentOf = /is in \S+ \((production|staging|development)\)\s*$/;
const criticalityOf = /is (low|medium|high|critical) criticality\s*$/;
const postureOf = /^organisation posture is (normal|elevated|incident|freeze)\b/;

/**
 * Keys of a recorded decision: from its learning labels when present; else reconstructed from
 * its risk factors (`asset.environment`, `asset.criticality`, `posture`, `signal.*`) and subject.
 * The reconstruction cannot tell `low` criticality (weight 0, no factor) from unknown: such
 * decisions land in `…/any/…` — wire `learningLabels` into decisions to avoid it.
 */
export function decisionKeys(decision: Pick<Decision, "labels" | "risk" | "subject">): LearningKeys {
  const labels = decision.labels ?? {};
  const labelled = labels[LEARN_LABELS.bucket];
  if (labelled !== undefined) {
    const detectors: Record<string, string> = {};
    for (const pair of (labels[LEARN_LABELS.signals] ?? "").split(",")) {
      const at = pair.indexOf("=");
      if (at > 0) detectors[pair.slice(0, at)] = unescapeOwner(pair.slice(at + 1));
    }
    const entity = labels[LEARN_LABELS.entity];
    const peer = labels[LEARN_LABELS.peer];
    return { bucket: labelled, detectors, ...(entity ? { entity } : {}), ...(peer ? { peer } : {}) };
  }
  let environment = "any";
  let criticality = "any";
  let posture = "normal";
  const detectors: Record<string, string> = {};
  const entity = decision.subject !== undefined ? `subject/${decision.subject}` : undefined;
  for (const factor of decision.risk.factors) {
    const detail = factor.detail ?? "";
    if (factor.name === "asset.environment") environment = environmentOf.exec(detail)?.[1] ?? environment;
    else if (factor.name === "asset.criticality") criticality = criticalityOf.exec(detail)?.[1] ?? criticality;
    else if (factor.name === "posture") posture = postureOf.exec(detail)?.[1] ?? posture;
    else if (factor.name.startsWith("signal.") && entity !== undefined) detectors[factor.name.slice("signal.".length)] = entity;
  }
  return { bucket: `${environment}/${criticality}/${posture}`, detectors, ...(entity === undefined ? {} : { entity }) };
}
