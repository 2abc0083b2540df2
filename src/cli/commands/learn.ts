/**
 * `vigil learn show | update | reset | history` on the configured store, and shadow-mode
 * promotion: `vigil policies shadow <name>` (the figures) and `vigil policies promote <name>`
 * (figures first; `--yes` promotes through the server's API, or `--direct` in the store).
 */
import { createPolicyCatalog, loadPolicySet } from "../../agent.js";
import { VigilError } from "../../core/errors.js";
import { systemClock } from "../../core/ports.js";
import { createLearner, formatShadowReport, loadLearnedState, shadowReport, type LearnedEntry, type LearnedState } from "../../learn/index.js";
import { flag, stringOption, write, type Command } from "../command.js";
import { apiClient, serverOptions } from "../client.js";
import { configFrom, configOption, outputFormat, outputOption, policiesOption } from "../shared.js";
import { directActor, directOption, withStore } from "./feedback.js";

/** Signed, to 4 decimals at most (a learned -0.3 is stored as the double -0.30000000000000004). */
const signed = (n: number): string => `${n > 0 ? "+" : ""}${Number(n.toFixed(4))}`;

function entryLine(entry: LearnedEntry): string {
  const change = [entry.riskDelta ? `risk ${signed(entry.riskDelta)}` : "", entry.tierShift ? `tier ${signed(entry.tierShift)}` : ""].filter(Boolean).join(", ") || (entry.held ? "held" : "hold");
  const p = entry.precision;
  // An entity lesson applies in the context bucket it was learned in (one stored before buckets were kept: in every bucket).
  const where = entry.scope === "entity" ? ` in ${entry.bucket ?? "every bucket"}` : "";
  return `${entry.id}  ${entry.policy}/${entry.rule}  ${entry.scope} ${entry.key}${where}  ${change}\n    ${entry.citation}${entry.held ? `; ${entry.held}` : ""}\n    precision ${p.mean} (90% ${p.lower}–${p.upper}); labels TP ${entry.labels.truePositive} FP ${entry.labels.falsePositive} incident ${entry.labels.incident}; ${entry.reviewers} reviewer(s), ${entry.entities} entit${entry.entities === 1 ? "y" : "ies"}`;
}

export function formatState(state: LearnedState, policy?: string, all = false): string {
  const entries = state.entries.filter((e) => (policy === undefined || e.policy === policy) && (all || (e.riskDelta ?? 0) !== 0 || (e.tierShift ?? 0) !== 0));
  const lines = [
    `learned state version ${state.version} (parent ${state.parent ?? "none"}), ${state.kind} ${state.createdAt} by ${state.createdBy}: ${state.reason}`,
    `${state.feedbackUsed} feedback record(s) from ${state.reviewers} reviewer(s)${state.feedbackSince ? ` since ${state.feedbackSince}` : ""}; ${state.entries.length} slice(s) with evidence`,
    ...entries.map(entryLine),
  ];
  if (entries.length === 0) lines.push(all ? "no slices" : "no lessons that change anything (--all lists held ones too)");
  for (const [key, t] of Object.entries(state.calibration.entities ?? {})) lines.push(`detector thresholds for ${key}: ${JSON.stringify({ ...t, reason: undefined })} (${t.reason ?? ""})`);
  for (const [key, t] of Object.entries(state.calibration.peers ?? {})) lines.push(`detector thresholds for peer group ${key}: ${JSON.stringify({ ...t, reason: undefined })} (${t.reason ?? ""})`);
  return lines.join("\n");
}

export const learnShowCommand: Command = {
  path: ["learn", "show"],
  summary: "Show the learned state: version, lessons per policy/rule/slice with citations, detector thresholds",
  description: "Reads the configured store and verifies the state's checksum. Exit code 1 when the stored state is corrupt (the agent then runs on the declared tiers).",
  options: { ...configOption, ...outputOption, policy: { type: "string", value: "<name>", description: "Only this policy's lessons" }, all: { type: "boolean", description: "Include slices that change nothing (held back or confirmed)" } },
  examples: ["vigil learn show", "vigil learn show --policy access-okta-restricted --all"],
  async run(args, io) {
    return withStore(args, io, async (storage) => {
      const loaded = await loadLearnedState(storage);
      if (outputFormat(args) === "json") write(io.stdout, JSON.stringify(loaded, null, 2));
      else if (loaded.status === "none") write(io.stdout, "nothing learned yet (no learned state in this store)");
      else if (loaded.status === "corrupt") write(io.stdout, `learned state is CORRUPT: ${loaded.problem ?? ""}\nthe agent runs on the policies' declared tiers; \`vigil learn update\` or \`vigil learn reset\` writes a fresh version`);
      else write(io.stdout, formatState(loaded.state as LearnedState, stringOption(args, "policy"), flag(args, "all")));
      return loaded.status === "corrupt" ? 1 : 0;
    });
  },
};

export const learnUpdateCommand: Command = {
  path: ["learn", "update"],
  summary: "Learn a new version from all feedback now (approver role; the agent also does it on its timer)",
  options: { ...configOption, ...policiesOption, ...outputOption, token: serverOptions["token"] as never },
  examples: ["vigil learn update --token $VIGIL_TOKEN"],
  async run(args, io) {
    const config = configFrom(args, io);
    const { policySet } = loadPolicySet(config.policies, { costLimit: config.cel.costLimit });
    return withStore(args, io, async (storage) => {
      const actor = await directActor(args, io, storage);
      if (!actor.roles.includes("approver") && !actor.roles.includes("admin")) throw new VigilError("VIGIL_FORBIDDEN", `learn update needs the approver or admin role; ${actor.id} has ${actor.roles.join(", ")}`, { field: "--token" });
      const learner = createLearner({ storage, clock: systemClock, policy: (name) => policySet.get(name) });
      const result = await learner.update({ by: actor.id });
      if (outputFormat(args) === "json") write(io.stdout, JSON.stringify(result, null, 2));
      else {
        write(io.stdout, formatState(result.state));
        const skipped = Object.entries(result.skipped).map(([why, n]) => `${n} ${why}`).join(", ");
        if (skipped) write(io.stdout, `feedback not used: ${skipped}`);
      }
      return 0;
    });
  },
};

export const learnResetCommand: Command = {
  path: ["learn", "reset"],
  summary: "Reset learning: a new empty version; feedback given until now is no longer used (approver role)",
  options: { ...configOption, ...outputOption, token: serverOptions["token"] as never, reason: { type: "string", value: "<text>", description: "Why (recorded in the version and the audit trail)" } },
  examples: ['vigil learn reset --reason "detector settings changed" --token $VIGIL_TOKEN'],
  async run(args, io) {
    return withStore(args, io, async (storage) => {
      const actor = await directActor(args, io, storage);
      const reason = stringOption(args, "reason");
      const state = await createLearner({ storage, clock: systemClock }).reset(actor, reason);
      write(io.stdout, outputFormat(args) === "json" ? JSON.stringify(state, null, 2) : `learned state reset: version ${state.version} (parent ${state.parent ?? "none"}) by ${state.createdBy}; feedback before ${state.feedbackSince ?? "now"} is no longer used`);
      return 0;
    });
  },
};

export const learnHistoryCommand: Command = {
  path: ["learn", "history"],
  summary: "List learned-state versions, newest first, with their parent and checksum check",
  options: { ...configOption, ...outputOption, limit: { type: "string", value: "<n>", description: "How many (default 20)" } },
  async run(args, io) {
    const limit = Number(stringOption(args, "limit") ?? "20");
    if (!Number.isInteger(limit) || limit < 1) throw new VigilError("VIGIL_BAD_INPUT", "--limit must be a positive whole number", { field: "--limit" });
    return withStore(args, io, async (storage) => {
      const versions = await createLearner({ storage, clock: systemClock }).history(limit);
      if (outputFormat(args) === "json") write(io.stdout, JSON.stringify(versions, null, 2));
      else if (versions.length === 0) write(io.stdout, "no versions");
      else for (const v of versions) write(io.stdout, `v${v.version}  parent ${v.parent ?? "-"}  ${v.kind}  ${v.createdAt}  ${v.createdBy}  ${v.entries} slice(s)  checksum ${v.checksumOk ? "ok" : "BAD"}  ${v.reason}`);
      return 0;
    });
  },
};

async function figures(args: Parameters<Command["run"]>[0], io: Parameters<Command["run"]>[1], name: string) {
  const config = configFrom(args, io);
  const { policySet, env } = loadPolicySet(config.policies, { costLimit: config.cel.costLimit });
  const policy = policySet.get(name);
  if (policy === undefined) throw new VigilError("VIGIL_NOT_FOUND", `no policy named ${name} under ${config.policies.join(", ")}`, { field: "name" });
  const report = await withStore(args, io, (storage) => shadowReport(storage, name, { policy: policy.meta }));
  return { policySet, env, report };
}

export const policiesShadowCommand: Command = {
  path: ["policies", "shadow"],
  summary: "What a shadow-mode policy would have changed if enforced, and how people labelled those decisions",
  args: "<name>",
  options: { ...configOption, ...policiesOption, ...outputOption },
  async run(args, io) {
    const name = args.positionals[0];
    if (!name) throw new VigilError("VIGIL_BAD_INPUT", "missing <name>: the policy's metadata.name", { field: "name" });
    const { report } = await figures(args, io, name);
    write(io.stdout, outputFormat(args) === "json" ? JSON.stringify(report, null, 2) : formatShadowReport(report));
    return 0;
  },
};

export const policiesPromoteCommand: Command = {
  path: ["policies", "promote"],
  summary: "Promote a policy to enforcing (out of shadow mode and dry-run) after showing the shadow period's figures (approver role)",
  args: "<name>",
  description: "Prints what the policy would have changed (read from the configured store). Nothing changes without --yes: then through the server's API (POST /v1/policies/<name>/promote), or --direct in the store (shadow promotion only).",
  options: { ...configOption, ...policiesOption, ...serverOptions, ...directOption, ...outputOption, reason: { type: "string", value: "<text>", description: "Why (recorded)" }, yes: { type: "boolean", description: "Promote after showing the figures" } },
  examples: ["vigil policies promote access-okta-restricted", 'vigil policies promote access-okta-restricted --yes --reason "2 weeks in shadow, 1 FP of 40"'],
  async run(args, io) {
    const name = args.positionals[0];
    if (!name) throw new VigilError("VIGIL_BAD_INPUT", "missing <name>: the policy's metadata.name", { field: "name" });
    const { policySet, env, report } = await figures(args, io, name);
    const json = outputFormat(args) === "json";
    if (!json) write(io.stdout, formatShadowReport(report));
    if (!flag(args, "yes")) {
      if (json) write(io.stdout, JSON.stringify({ shadow: report, promoted: false }, null, 2));
      else write(io.stdout, "not promoted: re-run with --yes to promote");
      return 0;
    }
    const reason = stringOption(args, "reason");
    let state: unknown;
    if (flag(args, "direct")) {
      state = await withStore(args, io, async (storage) => {
        const actor = await directActor(args, io, storage);
        if (!actor.roles.includes("approver") && !actor.roles.includes("admin")) throw new VigilError("VIGIL_FORBIDDEN", `promoting policy ${name} needs the approver or admin role; ${actor.id} has ${actor.roles.join(", ")}`, { field: "--token" });
        const catalog = createPolicyCatalog({ policySet, env, loadErrors: [], storage, clock: systemClock });
        await catalog.refresh();
        return catalog.promoteShadow(name, actor.id, reason);
      });
    } else {
      state = (await apiClient(args, io).request("POST", `/v1/policies/${encodeURIComponent(name)}/promote`, { body: reason ? { reason } : {} })).body;
    }
    write(io.stdout, json ? JSON.stringify({ shadow: report, promoted: true, state }, null, 2) : `promoted ${name}: ${JSON.stringify(state)}`);
    return 0;
  },
};

export const learnCommands: readonly Command[] = [learnShowCommand, learnUpdateCommand, learnResetCommand, learnHistoryCommand, policiesShadowCommand, policiesPromoteCommand];
