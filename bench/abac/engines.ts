/**
 * The deciders the ABAC benchmark compares, each called once per request with inputs prepared in
 * advance:
 * - Vigil: the scenario's native policies, loaded with `loadPolicyText` into a `createPolicySet`
 *   (indexed), evaluated the way decide evaluates them (PolicySet + verdict; and, as a second
 *   figure, + the full decision draft of `buildDecision`), one fresh Context per request;
 * - Cedar: `statefulIsAuthorized` on the policy set preparsed once, with pre-built entities
 *   (the fastest way cedar-wasm offers), and plain `isAuthorized` (policy text per call);
 * - Vigil's Cedar plugin (the same Cedar policies through Vigil's decide path), to check it agrees.
 */
import type { AuthorizationAnswer } from "@cedar-policy/cedar-wasm/nodejs";
import type { Context } from "../../src/core/context.js";
import { EventTypes } from "../../src/core/event.js";
import type { Finding } from "../../src/core/finding.js";
import { compileCedarPolicySet } from "../../src/policy/cedar/index.js";
// through Vigil's one import of cedar-wasm, which also carries the Node 20 V8 workaround
import { cedarWasm as cedar } from "../../src/policy/cedar/wasm.js";
import { buildDecision } from "../../src/decide/decision.js";
import { createPolicySet, loadPolicyText, type PolicySet } from "../../src/policy/index.js";
import type { CedarAbacCall } from "./requests.js";

export type Verdict = "allow" | "deny";

/** A decider: prepared input in, verdict out. */
export type Decide = (input: unknown) => Verdict;

const posture = Object.freeze({ level: "normal" as const, scope: "org", since: "2025-01-01T00:00:00Z" });
const empty = Object.freeze({});
const NOW = "2025-06-01T12:00:00Z";

/**
 * A fresh Context per request, as the decide API builds one: the activation cache is keyed by the
 * Context object, so reusing one would let Vigil skip work a real request does.
 */
export function decideContext(input: unknown): Context {
  return {
    event: { specversion: "1.0", id: "bench", source: "bench", type: EventTypes.decideRequest, data: input },
    input,
    entities: empty,
    signals: empty,
    posture,
    now: NOW,
  };
}

/**
 * The verdict of a PolicySet result, by decide's rule (src/decide/decision.ts): deny iff some
 * violation has mode `deny` and its policy is not in shadow mode. The equivalence check also runs
 * `buildDecision` itself on every verified request, so this cannot drift from decide unnoticed.
 */
export function verdictOf(findings: readonly Finding[], policies: PolicySet): Verdict {
  for (const finding of findings) {
    if (finding.effect === "violation" && finding.mode === "deny" && policies.get(finding.policy)?.meta.enforcement?.mode !== "shadow") return "deny";
  }
  return "allow";
}

export interface VigilDeciders {
  /** PolicySet evaluation + verdict: what the benchmark times as "vigil". */
  readonly decide: Decide;
  /** PolicySet evaluation + the full decision draft (verdict, tier, risk, explanation) of decide/. */
  readonly decision: Decide;
  readonly policies: number;
  /** How many policies the PolicySet's index selects for an input (not timed; for the notes). */
  readonly candidates: (input: unknown) => number;
}

/** Loads the native YAML into a PolicySet; throws with the first load errors when any policy fails to load. */
export function createVigilDecider(yaml: string): VigilDeciders {
  const loaded = loadPolicyText(yaml, "abac.yaml");
  if (loaded.errors.length > 0) {
    throw new Error(`the Vigil rendering does not load:\n${loaded.errors.slice(0, 5).map((e) => e.message).join("\n")}`);
  }
  const set = createPolicySet(loaded.policies);
  const meta = (name: string) => set.get(name)?.meta;
  let counter = 0;
  return {
    policies: set.size,
    candidates: (input) => set.candidates(decideContext(input)).length,
    decide: (input) => verdictOf(set.evaluate(decideContext(input)).findings, set),
    decision: (input) => {
      const ctx = decideContext(input);
      const result = set.evaluate(ctx);
      return buildDecision(ctx, result.findings, result.policyRevisions, { id: `d${++counter}`, now: NOW, enforced: true, policy: meta }).verdict;
    },
  };
}

/** Vigil's Cedar plugin on the same Cedar text, through a PolicySet; input as `toCedarPluginInput` makes it. */
export function createCedarPluginDecider(policyText: string): Decide {
  const compiled = compileCedarPolicySet({ name: "abac", policies: [{ file: "abac.cedar", text: policyText }] });
  if (!compiled.policy) throw new Error(`the Cedar plugin does not load the rendering: ${compiled.errors.map((e) => e.message).join("; ")}`);
  const set = createPolicySet([compiled.policy]);
  return (input) => verdictOf(set.evaluate(decideContext(input)).findings, set);
}

let setCounter = 0;

/** Cedar on a preparsed policy set; input is a CedarAbacCall (entities pre-built). */
export function createCedarDecider(policyText: string): { decide: Decide; plain: Decide; policies: number } {
  const id = `bench-abac-${++setCounter}`;
  const parsed = cedar.preparsePolicySet(id, { staticPolicies: policyText });
  if (parsed.type === "failure") throw new Error(`the Cedar rendering does not parse: ${parsed.errors.map((e) => e.message).join("; ")}`);
  const parts = cedar.policySetTextToParts(policyText);
  const count = parts.type === "success" ? parts.policies.length : 0;
  const answerOf = (answer: AuthorizationAnswer): Verdict => {
    if (answer.type === "failure") throw new Error(`Cedar failed: ${answer.errors.map((e) => e.message).join("; ")}`);
    if (answer.response.diagnostics.errors.length > 0) {
      throw new Error(`Cedar policy errors (the workload must not produce any): ${answer.response.diagnostics.errors.map((e) => `${e.policyId}: ${e.error.message}`).join("; ")}`);
    }
    return answer.response.decision;
  };
  return {
    policies: count,
    decide: (input) => {
      const call = input as CedarAbacCall;
      return answerOf(cedar.statefulIsAuthorized({
        principal: call.principal,
        action: call.action,
        resource: call.resource,
        context: call.context,
        entities: call.entities,
        preparsedPolicySetId: id,
      }));
    },
    plain: (input) => {
      const call = input as CedarAbacCall;
      return answerOf(cedar.isAuthorized({
        principal: call.principal,
        action: call.action,
        resource: call.resource,
        context: call.context,
        entities: call.entities,
        policies: { staticPolicies: policyText },
      }));
    },
  };
}
