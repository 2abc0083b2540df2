/**
 * `vigil proposals mine | list | show | accept | reject` on the configured store. Proposals are
 * never applied: `accept --write` writes `<policy file>.<id>.proposed` and `.patch` next to the
 * policy for a person to review and commit; without `--write` it records the decision and prints
 * the diff.
 */
import { loadPolicySet } from "../../agent.js";
import { VigilError } from "../../core/errors.js";
import { systemClock } from "../../core/ports.js";
import { acceptProposal, getProposal, listProposals, mineProposals, rejectProposal, type Proposal, type ProposalStatus } from "../../learn/index.js";
import { flag, stringOption, write, type Command } from "../command.js";
import { serverOptions } from "../client.js";
import { configFrom, configOption, outputFormat, outputOption, policiesOption } from "../shared.js";
import { directActor, withStore } from "./feedback.js";

const line = (p: Proposal): string => `${p.id}  ${p.status}  ${p.policy}${p.rule ? `/${p.rule}` : ""}  when ${p.exception.when}\n    ${p.summary}`;

function details(p: Proposal): string {
  const lines = [line(p), `created ${p.createdAt} by ${p.createdBy}${p.decidedBy ? `; ${p.status} ${p.decidedAt} by ${p.decidedBy}${p.note ? `: ${p.note}` : ""}` : ""}`];
  if (p.source.overrides.length) lines.push(`from overrides ${p.source.overrides.join(", ")} (decisions ${p.source.decisions.join(", ")})`);
  if (p.source.exceptions.length) lines.push(`from exceptions ${p.source.exceptions.join(", ")}`);
  if (p.source.reasons.length) lines.push(`reasons given: ${p.source.reasons.map((r) => JSON.stringify(r)).join("; ")}`);
  const r = p.replay;
  if (r) lines.push(`replay evidence: ${r.note}; the change turns ${r.changed} violation(s) off: ${r.changedOverridden} overridden, ${r.changedFalsePositive} labelled false positive, ${r.changedConfirmed} confirmed, ${r.changedUnlabelled} unlabelled (violations ${r.violationsBefore} → ${r.violationsAfter})`);
  lines.push(`tests: ${p.tests.generated} generated; ${p.tests.passed} passed, ${p.tests.failed} failed${p.tests.failures.length ? `: ${p.tests.failures.join("; ")}` : ""}`);
  if (p.written?.length) lines.push(`written: ${p.written.join(", ")}`);
  lines.push("", p.diff ?? `(policy file not found; add to the policy:)\n${p.snippet}`);
  return lines.join("\n");
}

const idArg = (args: Parameters<Command["run"]>[0]): string => {
  const id = args.positionals[0];
  if (!id) throw new VigilError("VIGIL_BAD_INPUT", "missing <proposalId>: list them with `vigil proposals list`", { field: "proposalId" });
  return id;
};

export const proposalsMineCommand: Command = {
  path: ["proposals", "mine"],
  summary: "Mine repeated overrides and exceptions into proposed policy changes (never applied)",
  options: { ...configOption, ...policiesOption, ...outputOption, "min-overrides": { type: "string", value: "<n>", description: "Overridden decisions of one rule before proposing (default 3)" } },
  async run(args, io) {
    const config = configFrom(args, io);
    const { policySet } = loadPolicySet(config.policies, { costLimit: config.cel.costLimit });
    const min = Number(stringOption(args, "min-overrides") ?? "3");
    if (!Number.isInteger(min) || min < 1) throw new VigilError("VIGIL_BAD_INPUT", "--min-overrides must be a positive whole number", { field: "--min-overrides" });
    return withStore(args, io, async (storage) => {
      const created = await mineProposals({ storage, clock: systemClock, policySet, paths: config.policies, minOverrides: min });
      if (outputFormat(args) === "json") write(io.stdout, JSON.stringify(created, null, 2));
      else write(io.stdout, created.length === 0 ? "no new proposals" : created.map(line).join("\n"));
      return 0;
    });
  },
};

export const proposalsListCommand: Command = {
  path: ["proposals", "list"],
  summary: "List policy proposals (default: open ones)",
  options: { ...configOption, ...outputOption, status: { type: "string", value: "<status>", description: "open (default), accepted, rejected or all" }, policy: { type: "string", value: "<name>", description: "Only this policy's" } },
  async run(args, io) {
    const status = stringOption(args, "status") ?? "open";
    if (!["open", "accepted", "rejected", "all"].includes(status)) throw new VigilError("VIGIL_BAD_INPUT", `--status must be open, accepted, rejected or all, got "${status}"`, { field: "--status" });
    const policy = stringOption(args, "policy");
    return withStore(args, io, async (storage) => {
      const list = await listProposals(storage, { ...(status === "all" ? {} : { status: status as ProposalStatus }), ...(policy ? { policy } : {}) });
      if (outputFormat(args) === "json") write(io.stdout, JSON.stringify(list, null, 2));
      else write(io.stdout, list.length === 0 ? "no proposals" : list.map(line).join("\n"));
      return 0;
    });
  },
};

export const proposalsShowCommand: Command = {
  path: ["proposals", "show"],
  summary: "Show a proposal: its evidence, generated tests and YAML diff",
  args: "<proposalId>",
  options: { ...configOption, ...outputOption },
  async run(args, io) {
    const id = idArg(args);
    return withStore(args, io, async (storage) => {
      const proposal = await getProposal(storage, id);
      write(io.stdout, outputFormat(args) === "json" ? JSON.stringify(proposal, null, 2) : details(proposal));
      return 0;
    });
  },
};

export const proposalsAcceptCommand: Command = {
  path: ["proposals", "accept"],
  summary: "Accept a proposal (approver role): --write puts <file>.<id>.proposed and .patch next to the policy for you to commit",
  args: "<proposalId>",
  options: { ...configOption, ...outputOption, token: serverOptions["token"] as never, write: { type: "boolean", description: "Write the proposed file and the patch next to the policy" }, note: { type: "string", value: "<text>", description: "Recorded with the decision" } },
  examples: ["vigil proposals accept PROP-3 --write --token $VIGIL_TOKEN && git apply policies/buckets.yaml.PROP-3.patch"],
  async run(args, io) {
    const id = idArg(args);
    return withStore(args, io, async (storage) => {
      const note = stringOption(args, "note");
      const proposal = await acceptProposal({ storage, clock: systemClock }, id, await directActor(args, io, storage), { write: flag(args, "write"), ...(note ? { note } : {}) });
      if (outputFormat(args) === "json") write(io.stdout, JSON.stringify(proposal, null, 2));
      else write(io.stdout, `${proposal.id} accepted by ${proposal.decidedBy ?? "?"}; the policy is unchanged until a person commits it.\n${proposal.written?.length ? `written: ${proposal.written.join(", ")}` : proposal.diff ?? proposal.snippet}`);
      return 0;
    });
  },
};

export const proposalsRejectCommand: Command = {
  path: ["proposals", "reject"],
  summary: "Reject a proposal (approver role; reason required); the same change is not proposed again",
  args: "<proposalId>",
  options: { ...configOption, ...outputOption, token: serverOptions["token"] as never, reason: { type: "string", value: "<text>", description: "Why (required)" } },
  async run(args, io) {
    const id = idArg(args);
    const reason = stringOption(args, "reason");
    if (!reason) throw new VigilError("VIGIL_BAD_INPUT", "--reason is required to reject a proposal", { field: "--reason" });
    return withStore(args, io, async (storage) => {
      const proposal = await rejectProposal({ storage, clock: systemClock }, id, await directActor(args, io, storage), reason);
      write(io.stdout, outputFormat(args) === "json" ? JSON.stringify(proposal, null, 2) : `${proposal.id} rejected by ${proposal.decidedBy ?? "?"}: ${reason}`);
      return 0;
    });
  },
};

export const proposalsCommands: readonly Command[] = [proposalsMineCommand, proposalsListCommand, proposalsShowCommand, proposalsAcceptCommand, proposalsRejectCommand];
