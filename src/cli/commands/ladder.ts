/**
 * `vigil ladder list|show|snooze|release|undo`: the enforcement ladder (the cost pack's idle
 * resources: notified, marked for a grace period in business days, acted on), through the server.
 * Snooze and release: the item's owner (a token named like the owner), an operator or an approver;
 * undo: an operator.
 */
import { VigilError } from "../../core/errors.js";
import { stringOption, write, type CliIo, type Command, type ParsedArgs } from "../command.js";
import { apiClient, serverOptions } from "../client.js";
import { outputFormat, outputOption } from "../shared.js";
import type { LadderStatus } from "../../act/ladder-item.js";

const ladderStatuses = ["notified", "waiting", "pending-approval", "applied", "previewed", "failed", "released", "lapsed", "undone", "closed"] as const satisfies readonly LadderStatus[];

interface ItemView {
  readonly id: string; readonly policy: string; readonly target: { readonly id: string }; readonly status: string; readonly owner?: string;
  readonly dueAt?: string; readonly openedAt: string; readonly violations: number; readonly snoozes: readonly { readonly by: string; readonly reason: string }[];
  readonly held: readonly { readonly plan: { readonly actuator: string } }[];
}

const line = (i: ItemView): string => `${i.id}  ${i.status}  ${i.policy}  ${i.target.id}${i.owner ? `  owner ${i.owner}` : ""}${i.dueAt && i.status === "waiting" ? `  due ${i.dueAt}` : ""}${i.held.length > 0 ? `  holds ${[...new Set(i.held.map((h) => h.plan.actuator))].join(", ")}` : ""}${i.snoozes.length > 0 ? `  snoozed ${i.snoozes.length}×` : ""}  (${i.violations} violation(s) since ${i.openedAt})`;

function idOf(args: ParsedArgs): string {
  const id = args.positionals[0];
  if (!id) throw new VigilError("VIGIL_BAD_INPUT", "missing <itemId>: list them with `vigil ladder list`", { field: "itemId" });
  return id;
}

function show(args: ParsedArgs, io: CliIo, item: ItemView): void {
  write(io.stdout, outputFormat(args) === "json" ? JSON.stringify(item, null, 2) : line(item));
}

export const ladderListCommand: Command = {
  path: ["ladder", "list"],
  summary: "List enforcement ladder items (marks waiting for their grace period, notifications, applied actions)",
  options: {
    ...serverOptions, ...outputOption,
    status: { type: "string", value: "<status>", description: "notified, waiting, pending-approval, applied, previewed (its actions only dry-ran), failed, released, lapsed, undone or closed", choices: ladderStatuses },
    policy: { type: "string", value: "<name>", description: "Only this policy's items" },
  },
  examples: ["vigil ladder list --status waiting"],
  async run(args, io) {
    const status = stringOption(args, "status");
    const policy = stringOption(args, "policy");
    const query = new URLSearchParams({ ...(status ? { status } : {}), ...(policy ? { policy } : {}) }).toString();
    const response = await apiClient(args, io).request<{ items: ItemView[] }>("GET", `/v1/ladder${query ? `?${query}` : ""}`);
    if (outputFormat(args) === "json") write(io.stdout, JSON.stringify(response.body, null, 2));
    else if (response.body.items.length === 0) write(io.stdout, "no ladder items");
    else for (const item of response.body.items) write(io.stdout, line(item));
    return 0;
  },
};

export const ladderShowCommand: Command = {
  path: ["ladder", "show"],
  summary: "Show one ladder item with its held actions, snoozes and history",
  args: "<itemId>",
  options: { ...serverOptions, ...outputOption },
  async run(args, io) {
    const response = await apiClient(args, io).request<ItemView>("GET", `/v1/ladder/${encodeURIComponent(idOf(args))}`);
    write(io.stdout, JSON.stringify(response.body, null, 2));
    return 0;
  },
};

function changeCommand(word: "snooze" | "release" | "undo"): Command {
  const summaries = {
    snooze: "Snooze a mark: its held actions wait more business days (owner, operator or approver; --reason required)",
    release: "Release a mark: its held actions never run (owner, operator or approver; --reason required)",
    undo: "Undo what the ladder applied: start the stopped instance, restore the replicas (operator)",
  } as const;
  return {
    path: ["ladder", word],
    summary: summaries[word],
    args: "<itemId>",
    options: {
      ...serverOptions, ...outputOption,
      reason: { type: "string", value: "<text>", description: word === "undo" ? "Why (recorded)" : "Why (required; recorded in the item and the audit trail)" },
      ...(word === "snooze" ? { days: { type: "string" as const, value: "<n>", description: "Business days (default: the policy's snoozeBusinessDays)" } } : {}),
    },
    examples: [word === "snooze" ? 'vigil ladder snooze lad-3f… --reason "benchmark rerun on Wednesday" --days 2' : `vigil ladder ${word} lad-3f… --reason "…"`],
    async run(args, io) {
      const id = idOf(args);
      const reason = stringOption(args, "reason");
      if (word !== "undo" && !reason) throw new VigilError("VIGIL_BAD_INPUT", `--reason is required to ${word} a mark`, { field: "--reason" });
      const days = stringOption(args, "days");
      if (days !== undefined && !(Number(days) > 0)) throw new VigilError("VIGIL_BAD_INPUT", `--days must be a positive number of business days, not "${days}"`, { field: "--days" });
      const body = { ...(reason ? { reason } : {}), ...(days !== undefined ? { businessDays: Number(days) } : {}) };
      const response = await apiClient(args, io).request<ItemView & { item?: ItemView; failed?: readonly { actionId: string; actuator: string; error: string }[] }>("POST", `/v1/ladder/${encodeURIComponent(id)}/${word}`, { body });
      show(args, io, response.body.item ?? response.body);
      // A partial undo: the others were undone, these were not (the mark stays applied; undo again retries them).
      const failed = response.body.failed ?? [];
      for (const failure of failed) write(io.stderr, `undo of ${failure.actionId} (${failure.actuator}) failed: ${failure.error}`);
      return failed.length > 0 ? 1 : 0;
    },
  };
}

export const ladderCommands: readonly Command[] = [ladderListCommand, ladderShowCommand, changeCommand("snooze"), changeCommand("release"), changeCommand("undo")];
