/**
 * Policy proposals: repeated overrides of one rule, and exceptions created again and again for
 * one policy, mined into a proposed change of the native policy — an exception clause in
 * `spec.exceptions` — with a YAML diff, generated test cases and replay evidence. Stored in the
 * `learn.proposals` collection. NEVER applied automatically: a person lists, reads, accepts or
 * rejects them; accepting writes the proposed file and a patch NEXT TO the policy
 * (`<file>.<id>.proposed`, `<file>.<id>.patch`, names the policy loader never loads) for a person
 * to review and commit. The agent never edits its own policies.
 */
import { existsSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { isAbsolute, relative, resolve } from "node:path";
import type { CompiledPolicy } from "../core/compiled-policy.js";
import type { Decision } from "../core/decision.js";
import { VigilError } from "../core/errors.js";
import { isVigilIdentity } from "../core/identity.js";
import { sha256Hex as sha256 } from "../core/hash.js";
import type { Clock, Storage } from "../core/ports.js";
import type { Override, PolicyException } from "../core/review.js";
import { requireRole, type Actor } from "../act/actor.js";
import { loadPolicyText } from "../policy/load.js";
import { isNativePolicy } from "../policy/vigil/compile.js";
import type { PolicySet } from "../policy/policy-set.js";
import { runInlineTests } from "../policy/vigil/test-runner.js";
import { EXCEPTIONS_COLLECTION, OVERRIDES_COLLECTION } from "../review/context.js";
import { nextId } from "../review/ids.js";
import { globMatch } from "../decide/exemptions.js";
import { ignoredActor, latestFeedback, listAll } from "./observations.js";
import { resetCutoff } from "./state-store.js";
import { generateTests, replayEvidence, type ReplayEvidence } from "./proposal-evidence.js";
import { bestCondition, exceptionCondition, exceptionScopeKey, testViolations } from "./proposal-mine.js";
import { addToSpec, locatePolicy, renderItems } from "./proposal-yaml.js";
import { unifiedDiff } from "./text-diff.js";
import { defaultLearnerSettings } from "./types.js";

export const PROPOSALS_COLLECTION = "learn.proposals";

export type ProposalStatus = "open" | "accepted" | "rejected";

export interface Proposal {
  readonly id: string;
  readonly status: ProposalStatus;
  readonly kind: "add-exception";
  readonly policy: string;
  /** The rule the exception is for; absent when it covers every rule. */
  readonly rule?: string;
  readonly revision: string;
  readonly createdAt: string;
  readonly createdBy: string;
  /** One sentence: what and why. */
  readonly summary: string;
  /** What it was mined from. */
  readonly source: { readonly overrides: readonly string[]; readonly exceptions: readonly string[]; readonly decisions: readonly string[]; readonly reasons: readonly string[] };
  /** The clause added to `spec.exceptions`. */
  readonly exception: { readonly name: string; readonly when: string; readonly rules?: readonly string[] };
  /** The same as YAML, for a person to paste when the file was not found. */
  readonly snippet: string;
  /** The policy file and the proposed change (absent when the file was not found under the policy paths). */
  readonly file?: string;
  /** sha256 of the file text the diff applies to. */
  readonly fileChecksum?: string;
  readonly diff?: string;
  readonly proposedText?: string;
  /** Generated test cases (added to `spec.tests` in the diff) and every inline test of the proposed policy run. */
  readonly tests: { readonly generated: number; readonly passed: number; readonly failed: number; readonly failures: readonly string[] };
  readonly replay?: ReplayEvidence;
  /** policy | rule | condition: the same change is never proposed twice (whatever its fate). */
  readonly signature: string;
  readonly decidedBy?: string;
  readonly decidedAt?: string;
  readonly note?: string;
  readonly written?: readonly string[];
}

export interface MineOptions {
  readonly storage: Storage;
  readonly clock: Clock;
  readonly policySet: PolicySet;
  /** Policy files and directories (where the proposed diff's file is looked for). */
  readonly paths: readonly string[];
  /** Distinct overridden decisions of one rule before a change is proposed (default 3). */
  readonly minOverrides?: number;
  /** Times the same exception scope was created before it is proposed as a policy exception (default 2). */
  readonly minExceptions?: number;
  /** Recorded decisions of a policy read for evidence (default 5000, newest); confirmed violations are read whatever their age. */
  readonly maxDecisions?: number;
  /** Overrides and feedback by these actors (globs) are not mined: Vigil's own (default `vigil:*`, as the learner). */
  readonly ignoreActors?: readonly string[];
}


async function policyDecisions(storage: Storage, policy: string, max: number): Promise<Decision[]> {
  return storage.listDecisions({ policy, limit: max, newestFirst: true });
}

interface Draft {
  readonly policy: CompiledPolicy;
  readonly rule?: string;
  readonly when: string;
  readonly summary: string;
  readonly source: Proposal["source"];
  readonly overridden: readonly Decision[];
}

async function build(options: MineOptions, draft: Draft, decisions: readonly Decision[], labels: { overridden: Set<string>; falsePositive: Set<string>; confirmed: Set<string> }): Promise<Omit<Proposal, "id" | "status" | "createdAt" | "createdBy">> {
  const location = locatePolicy(options.paths, draft.policy.meta.name);
  // The diff applies to the file as it is now: its tests and replay compare against that revision
  // (the running policy set may hold an older one when the file was edited since it was loaded).
  const policy = (location === undefined ? undefined : loadPolicyText(location.text, location.file).policies.find((p) => p.meta.name === draft.policy.meta.name)) ?? draft.policy;
  const name = uniqueName(policy, draft.rule);
  const exception = { name, when: draft.when, ...(draft.rule === undefined ? {} : { rules: [draft.rule] }) };
  const snippet = `spec:\n  exceptions:\n${renderItems([exception], 4)}\n`;
  const signature = `${policy.meta.name}|${draft.rule ?? "*"}|${draft.when}`;
  const base = { kind: "add-exception" as const, policy: policy.meta.name, ...(draft.rule === undefined ? {} : { rule: draft.rule }), revision: policy.meta.revision, summary: draft.summary, source: draft.source, exception, snippet, signature };
  if (location === undefined) return { ...base, tests: { generated: 0, passed: 0, failed: 0, failures: ["the policy's YAML file was not found under the policy paths: paste the snippet by hand"] } };
  const withException = addToSpec(location, { exceptions: [exception] });
  const compiledWith = loadPolicyText(withException, location.file).policies.find((p) => p.meta.name === policy.meta.name);
  if (compiledWith === undefined) {
    const problem = loadPolicyText(withException, location.file).errors.map((e) => e.message).join("; ");
    return { ...base, file: location.file, tests: { generated: 0, passed: 0, failed: 1, failures: [`the proposed policy does not compile: ${problem}`] } };
  }
  const rule = draft.rule;
  // The "still violated" case: a confirmed violation, else an unlabelled one — never one a person marked false positive.
  const keep = decisions.filter((d) => !labels.overridden.has(d.id) && labels.confirmed.has(d.id)).concat(decisions.filter((d) => !labels.overridden.has(d.id) && !labels.confirmed.has(d.id) && !labels.falsePositive.has(d.id)));
  const tests = rule === undefined ? [] : generateTests(policy, compiledWith, rule, draft.overridden, keep);
  const proposedText = addToSpec(location, { exceptions: [exception], tests });
  const compiled = loadPolicyText(proposedText, location.file);
  const proposed = compiled.policies.find((p) => p.meta.name === policy.meta.name);
  const results = proposed === undefined ? [] : runInlineTests([proposed]);
  const failures = [...compiled.errors.map((e) => e.message), ...results.filter((r) => r.status !== "pass").map((r) => `${r.name}: ${r.message ?? r.status}`)];
  const replay = proposed === undefined ? undefined : replayEvidence(policy, proposed, rule, decisions, labels);
  return {
    ...base, file: location.file, fileChecksum: sha256(location.text), diff: unifiedDiff(location.text, proposedText, diffPath(location.file)), proposedText,
    tests: { generated: tests.length, passed: results.filter((r) => r.status === "pass").length, failed: failures.length, failures },
    ...(replay ? { replay } : {}),
  };
}

/** The path in the patch: relative to the working directory when the file is under it (`git apply` from the repository root). */
function diffPath(file: string): string {
  const rel = relative(process.cwd(), resolve(file));
  return rel.startsWith("..") || isAbsolute(rel) ? resolve(file).replace(/^\/+/, "") : rel;
}

function uniqueName(policy: CompiledPolicy, rule: string | undefined): string {
  const spec = (policy as { spec?: { exceptions?: readonly { name?: string }[] } }).spec;
  const taken = new Set((spec?.exceptions ?? []).map((e) => e.name));
  const base = `learned-${rule ?? "all-rules"}`;
  for (let n = 1; ; n++) if (!taken.has(`${base}-${n}`)) return `${base}-${n}`;
}

/**
 * Mines overrides and repeated exceptions into new open proposals (returned). A change already
 * proposed — open, accepted or rejected — is not proposed again; an open one whose policy file
 * changed since is built again for the file as it is now (same id, returned too). Only native
 * (`vigil`) policies.
 */
export async function mineProposals(options: MineOptions): Promise<Proposal[]> {
  const { storage, policySet } = options;
  const minOverrides = options.minOverrides ?? 3;
  const existing = new Map((await listAll<Proposal>(storage, PROPOSALS_COLLECTION)).map((p) => [p.signature, p]));
  // The agent's own overrides (the escalation ladder's safe default) and labels are not a person's judgement.
  const ignore = options.ignoreActors ?? defaultLearnerSettings.ignoreActors;
  // Feedback as the learner reads it: each person's latest label per decision, none a reset discarded.
  const since = await resetCutoff(storage);
  const feedback = await latestFeedback(storage, { ...(since === undefined ? {} : { since }), ignoreActors: ignore });
  const falsePositive = new Set(feedback.filter((f) => f.label === "false_positive").map((f) => f.decisionId));
  const confirmed = new Set(feedback.filter((f) => f.label !== "false_positive").map((f) => f.decisionId));
  // An approval's "allow the retried request" (`review` set) is a yes to one request, not a vote against the rule.
  // One approver's override still waiting for the two-person rule's second approver never applied: not a vote yet.
  // An override made before the last reset is feedback the reset discarded (it records a label too): not mined.
  const overrides = (await listAll<Override>(storage, OVERRIDES_COLLECTION)).filter((o) => o.revokedAt === undefined && o.review === undefined && !(since !== undefined && !(o.at >= since)) && !(o.confirmationRequired === true && o.secondBy === undefined) && !(typeof o.by === "string" && ignoredActor(o.by, ignore)));
  const drafts: Draft[] = [];
  const byPolicy = new Map<string, Override[]>();
  for (const override of overrides) byPolicy.set(override.policy, [...(byPolicy.get(override.policy) ?? []), override]);
  const decisionsOf = new Map<string, Decision[]>();
  const decisionsFor = async (name: string): Promise<Decision[]> => {
    let list = decisionsOf.get(name);
    if (list === undefined) decisionsOf.set(name, (list = await policyDecisions(storage, name, options.maxDecisions ?? 5000)));
    return list;
  };

  // Confirmed violations are never exempted, however old: the ones outside the decisions read for evidence are read by id (once per run).
  let confirmedDecisions: Decision[] | undefined;
  const confirmedOutside = async (window: readonly Decision[]): Promise<Decision[]> => {
    if (confirmedDecisions === undefined) {
      confirmedDecisions = [];
      for (const id of confirmed) {
        const decision = await storage.getDecision(id);
        if (decision !== undefined) confirmedDecisions.push(decision);
      }
    }
    const read = new Set(window.map((d) => d.id));
    return confirmedDecisions.filter((d) => !read.has(d.id));
  };

  for (const [name, list] of byPolicy) {
    const policy = policySet.get(name);
    if (policy === undefined || policy.meta.language !== "vigil") continue;
    // An overridden decision a person confirmed (true positive, incident) is a confirmed violation, not a vote against the rule.
    const overriddenIds = new Set(list.map((o) => o.decisionId).filter((id) => !confirmed.has(id)));
    const decisions = await decisionsFor(name);
    const byRule = new Map<string, Decision[]>();
    for (const id of overriddenIds) {
      const decision = decisions.find((d) => d.id === id) ?? (await storage.getDecision(id));
      if (decision === undefined) continue;
      for (const rule of new Set(decision.findings.filter((f) => f.policy === name && f.effect === "violation").map((f) => f.rule))) byRule.set(rule, [...(byRule.get(rule) ?? []), decision]);
    }
    for (const [rule, overridden] of byRule) {
      if (overridden.length < minOverrides) continue;
      const violates = (d: Decision): boolean => !overriddenIds.has(d.id) && d.findings.some((f) => f.policy === name && f.rule === rule && f.effect === "violation");
      const others = [...decisions, ...(await confirmedOutside(decisions))].filter(violates);
      const tested = isNativePolicy(policy) ? testViolations(policy.spec.tests, name, rule).map((decision) => ({ decision, confirmed: true })) : [];
      const condition = bestCondition({ overridden: overridden.map((decision) => ({ decision, refs: [], reasons: [] })), others: [...others.map((decision) => ({ decision, confirmed: confirmed.has(decision.id) })), ...tested] });
      if (condition === undefined) continue;
      const used = list.filter((o) => overridden.some((d) => d.id === o.decisionId));
      drafts.push({
        policy, rule, when: condition.when, overridden,
        summary: `${overridden.length} decisions of ${name}/${rule} were overridden and all have ${condition.describe}; ${condition.collateral} other violation(s) share it, none confirmed: add an exception for it`,
        source: { overrides: used.map((o) => o.id), exceptions: [], decisions: overridden.map((d) => d.id), reasons: [...new Set(used.map((o) => o.reason))].slice(0, 10) },
      });
    }
  }

  const exceptions = await listAll<PolicyException>(storage, EXCEPTIONS_COLLECTION);
  const byScope = new Map<string, PolicyException[]>();
  for (const exception of exceptions) {
    // A revoked exception is a person's "this was wrong", not a vote for making it permanent.
    if (exception.revokedAt !== undefined) continue;
    if (exception.policies.length !== 1 || (exception.policies[0] as string).includes("*") || (exception.rules?.length ?? 0) > 1) continue;
    byScope.set(exceptionScopeKey(exception), [...(byScope.get(exceptionScopeKey(exception)) ?? []), exception]);
  }
  for (const group of byScope.values()) {
    if (group.length < (options.minExceptions ?? 2)) continue;
    const sample = group[0] as PolicyException;
    const policy = policySet.get(sample.policies[0] as string);
    const when = exceptionCondition(sample);
    if (policy === undefined || !isNativePolicy(policy) || when === undefined) continue;
    // The exception's rule is a glob (review matches rules by glob); a native exception names rules.
    const pattern = sample.rules?.[0];
    const names = policy.spec.rules.map((r) => r.name);
    const covered = pattern === undefined ? names : names.filter((n) => globMatch(pattern, n));
    // None: it never applied to anything. Several: one rule's exception cannot say so (unless "*", every rule, as no rules says).
    if (covered.length === 0 || (covered.length > 1 && pattern !== undefined && pattern !== "*")) continue;
    const rule = pattern !== undefined && covered.length === 1 ? covered[0] : undefined;
    drafts.push({
      policy, ...(rule === undefined ? {} : { rule }), when, overridden: [],
      summary: `the same exception to ${policy.meta.name}${rule ? `/${rule}` : ""} was created ${group.length} times (${group.map((e) => e.id).join(", ")}): make it part of the policy`,
      source: { overrides: [], exceptions: group.map((e) => e.id), decisions: [], reasons: [...new Set(group.map((e) => e.justification))].slice(0, 10) },
    });
  }

  const created: Proposal[] = [];
  const handled = new Set<string>();
  for (const draft of drafts) {
    const signature = `${draft.policy.meta.name}|${draft.rule ?? "*"}|${draft.when}`;
    if (handled.has(signature)) continue;
    handled.add(signature);
    const previous = existing.get(signature);
    if (previous !== undefined && !outdated(previous)) continue;
    const decisions = await decisionsFor(draft.policy.meta.name);
    const built = await build(options, draft, decisions, { overridden: new Set(draft.overridden.map((d) => d.id)), falsePositive, confirmed });
    const at = options.clock.now().toISOString();
    if (previous !== undefined) {
      const refreshed = await refresh(storage, previous.id, built, at);
      if (refreshed !== undefined) created.push(refreshed);
      continue;
    }
    const proposal: Proposal = { id: await nextId(storage, "PROP", at), status: "open", createdAt: at, createdBy: "vigil:learner", ...built };
    await storage.putDocs([{ collection: PROPOSALS_COLLECTION, id: proposal.id, value: proposal, expectVersion: 0 }], at);
    await storage.appendAudit([{ at, actor: "vigil:learner", action: "proposal.create", target: proposal.id, detail: { policy: proposal.policy, ...(proposal.rule ? { rule: proposal.rule } : {}), when: proposal.exception.when } }]);
    created.push(proposal);
  }
  return created;
}

/**
 * An open proposal whose policy file changed since it was made: its diff no longer applies and
 * accepting it with `--write` is refused, so mining builds it again (`refresh`) — the same change,
 * never proposed twice, with a diff and evidence for the file as it is now.
 */
function outdated(proposal: Proposal): boolean {
  if (proposal.status !== "open" || proposal.file === undefined || proposal.fileChecksum === undefined) return false;
  try {
    return sha256(readFileSync(proposal.file, "utf8")) !== proposal.fileChecksum;
  } catch {
    return true;
  }
}

/** Replaces an open proposal's change and evidence (same id, still open); undefined when a person decided it meanwhile. */
async function refresh(storage: Storage, id: string, built: Omit<Proposal, "id" | "status" | "createdAt" | "createdBy">, at: string): Promise<Proposal | undefined> {
  const doc = await storage.getDoc<Proposal>(PROPOSALS_COLLECTION, id);
  if (doc === undefined || doc.value.status !== "open") return undefined;
  const { status, createdAt, createdBy } = doc.value;
  const proposal: Proposal = { id, status, createdAt, createdBy, ...built };
  try {
    await storage.putDocs([{ collection: PROPOSALS_COLLECTION, id, value: proposal, expectVersion: doc.version }], at);
  } catch (error) {
    if (error instanceof VigilError && error.code === "VIGIL_CONFLICT") return undefined;
    throw error;
  }
  await storage.appendAudit([{ at, actor: "vigil:learner", action: "proposal.refresh", target: id, detail: { policy: proposal.policy, why: "the policy file changed since the proposal was made", ...(proposal.fileChecksum ? { fileChecksum: proposal.fileChecksum } : {}) } }]);
  return proposal;
}

export async function listProposals(storage: Storage, query: { readonly status?: ProposalStatus; readonly policy?: string } = {}): Promise<Proposal[]> {
  return (await listAll<Proposal>(storage, PROPOSALS_COLLECTION)).filter((p) => (query.status === undefined || p.status === query.status) && (query.policy === undefined || p.policy === query.policy));
}

export async function getProposal(storage: Storage, id: string): Promise<Proposal> {
  const doc = await storage.getDoc<Proposal>(PROPOSALS_COLLECTION, id);
  if (doc === undefined) throw new VigilError("VIGIL_NOT_FOUND", `proposal ${id} does not exist; list them with \`vigil proposals list\``, { field: "id" });
  return doc.value;
}

/** The agent proposes, a person decides: Vigil's own identities (`vigil:*`) may not accept or reject, whatever role they hold. */
function refuseAgent(actor: Actor, what: string): void {
  if (isVigilIdentity(actor.id)) {
    throw new VigilError("VIGIL_FORBIDDEN", `${actor.id} may not ${what}: Vigil never edits its own policies; it proposes and a person accepts or rejects`, { field: "actor.id" });
  }
}

/** The stored proposal with its document version; VIGIL_NOT_FOUND, or VIGIL_CONFLICT when a person already decided it. */
async function openProposal(storage: Storage, id: string): Promise<{ readonly value: Proposal; readonly version: number }> {
  const doc = await storage.getDoc<Proposal>(PROPOSALS_COLLECTION, id);
  if (doc === undefined) throw new VigilError("VIGIL_NOT_FOUND", `proposal ${id} does not exist; list them with \`vigil proposals list\``, { field: "id" });
  if (doc.value.status !== "open") throw new VigilError("VIGIL_CONFLICT", `proposal ${id} was already ${doc.value.status} by ${doc.value.decidedBy ?? "someone"}`, { field: "id" });
  return doc;
}

/**
 * Records the decision on the proposal as it was read (`doc`): when another person decided it (or
 * mining rebuilt it) since, VIGIL_CONFLICT — this decision was made on what is no longer there.
 */
async function decide(storage: Storage, clock: Clock, doc: { readonly value: Proposal; readonly version: number }, actor: Actor, status: "accepted" | "rejected", extra: Partial<Proposal>): Promise<Proposal> {
  const id = doc.value.id;
  const at = clock.now().toISOString();
  const next: Proposal = { ...doc.value, ...extra, status, decidedBy: actor.id, decidedAt: at };
  try {
    await storage.putDocs([{ collection: PROPOSALS_COLLECTION, id, value: next, expectVersion: doc.version }], at);
  } catch (error) {
    if (!(error instanceof VigilError && error.code === "VIGIL_CONFLICT")) throw error;
    await openProposal(storage, id);
    throw new VigilError("VIGIL_CONFLICT", `proposal ${id} changed while it was being ${status}: mining built it again for its changed policy file; read it again (\`vigil proposals show ${id}\`)`, { field: "id" });
  }
  await storage.appendAudit([{ at, actor: actor.id, action: `proposal.${status === "accepted" ? "accept" : "reject"}`, target: id, detail: { policy: next.policy, ...(extra.note ? { note: extra.note } : {}), ...(extra.written ? { written: extra.written } : {}) } }]);
  return next;
}

/**
 * Accepts a proposal (approver or admin). With `write`, writes `<file>.<id>.proposed` (the whole
 * proposed file) and `<file>.<id>.patch` (unified diff, `git apply`) next to the policy — only
 * when the policy file is unchanged since the proposal was made (VIGIL_CONFLICT otherwise). The
 * policy itself is never modified: a person reviews and commits the change. When another person
 * decided the proposal meanwhile, VIGIL_CONFLICT, and the files written are removed.
 */
export async function acceptProposal(deps: { readonly storage: Storage; readonly clock: Clock }, id: string, actor: Actor, options: { readonly write?: boolean; readonly note?: string } = {}): Promise<Proposal> {
  requireRole(actor, ["approver"], `accept proposal ${id}`);
  refuseAgent(actor, `accept proposal ${id}`);
  const doc = await openProposal(deps.storage, id);
  const proposal = doc.value;
  // A person accepts after a replay showed the change's effect. Without a policy file there is nothing to replay: the snippet is applied by hand.
  if (proposal.file !== undefined && proposal.replay === undefined) {
    const why = proposal.tests.failures.length > 0 ? ` (${proposal.tests.failures.join("; ")})` : "";
    throw new VigilError("VIGIL_CONFLICT", `proposal ${id} has no replay evidence${why}: its effect on the recorded decisions is unknown, so it cannot be accepted; reject it, or apply its snippet by hand after \`vigil replay --compare\` shows the effect`, { field: "replay" });
  }
  const written: string[] = [];
  if (options.write) {
    if (proposal.file === undefined || proposal.proposedText === undefined || proposal.diff === undefined) throw new VigilError("VIGIL_CONFLICT", `proposal ${id} has no file to write (the policy's YAML was not found): accept it without writing and paste its snippet`, { field: "write" });
    if (!existsSync(proposal.file) || sha256(readFileSync(proposal.file, "utf8")) !== proposal.fileChecksum) {
      throw new VigilError("VIGIL_CONFLICT", `${proposal.file} changed since proposal ${id} was made; run \`vigil proposals mine\` to build it again for the file as it is now`, { field: "file", file: proposal.file });
    }
    writeFileSync(`${proposal.file}.${id}.proposed`, proposal.proposedText);
    writeFileSync(`${proposal.file}.${id}.patch`, proposal.diff);
    written.push(`${proposal.file}.${id}.proposed`, `${proposal.file}.${id}.patch`);
  }
  try {
    return await decide(deps.storage, deps.clock, doc, actor, "accepted", { ...(options.note ? { note: options.note } : {}), ...(written.length > 0 ? { written } : {}) });
  } catch (error) {
    // Not accepted (another person decided it meanwhile): its change must not wait next to the policy for a `git apply`.
    for (const file of written) rmSync(file, { force: true });
    throw error;
  }
}

/** Rejects a proposal (approver or admin; reason required). The same change is not proposed again. */
export async function rejectProposal(deps: { readonly storage: Storage; readonly clock: Clock }, id: string, actor: Actor, reason: string): Promise<Proposal> {
  requireRole(actor, ["approver"], `reject proposal ${id}`);
  refuseAgent(actor, `reject proposal ${id}`);
  if (typeof reason !== "string" || reason.trim() === "") throw new VigilError("VIGIL_BAD_INPUT", "a reason is required to reject a proposal", { field: "reason" });
  return decide(deps.storage, deps.clock, await openProposal(deps.storage, id), actor, "rejected", { note: reason });
}
