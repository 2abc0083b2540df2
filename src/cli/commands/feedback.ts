/**
 * `vigil feedback <decisionId> --label … --reason …`: through the server's API (`POST
 * /v1/feedback`, approver token), or with `--direct` straight into the configured store (the
 * token is then verified against the store's tokens; the same approver rule applies).
 * Also the helpers the learn and proposals commands share for direct store access.
 */
import { createTokenService } from "../../agent.js";
import type { Actor } from "../../act/actor.js";
import { VigilError } from "../../core/errors.js";
import { feedbackLabels } from "../../core/feedback.js";
import { systemClock, type Storage } from "../../core/ports.js";
import { recordFeedback } from "../../learn/index.js";
import { flag, stringOption, write, type CliIo, type CliOption, type Command, type ParsedArgs } from "../command.js";
import { apiClient, serverOptions } from "../client.js";
import { configFrom, configOption, openExistingStorage, outputFormat, outputOption } from "../shared.js";

export const directOption: Record<string, CliOption> = {
  direct: { type: "boolean", description: "Work on the configured store directly instead of through the server (the --token is verified against the store)" },
};

/** The person behind `--token` / VIGIL_TOKEN, verified against the store's tokens. */
export async function directActor(args: ParsedArgs, io: Pick<CliIo, "env">, storage: Storage): Promise<Actor> {
  const token = stringOption(args, "token") ?? io.env["VIGIL_TOKEN"];
  if (!token) throw new VigilError("VIGIL_UNAUTHENTICATED", "no API token: pass --token or set VIGIL_TOKEN (an admin creates tokens with `vigil tokens create`)", { field: "--token" });
  const principal = await createTokenService({ storage, clock: systemClock }).verify(token);
  if (principal === undefined) throw new VigilError("VIGIL_UNAUTHENTICATED", "the token is unknown, revoked or expired in this store", { field: "--token" });
  return { id: principal.name, roles: principal.roles };
}

/**
 * Opens the configured store for the duration of `work`. Every user (learn, proposals, shadow,
 * feedback --direct) reads what the agent stored: a missing SQLite file is VIGIL_NOT_FOUND, not
 * an empty store created at a mistyped path.
 */
export async function withStore<T>(args: ParsedArgs, io: CliIo, work: (storage: Storage) => Promise<T>): Promise<T> {
  const storage = await openExistingStorage(configFrom(args, io));
  try {
    return await work(storage);
  } finally {
    await storage.close();
  }
}

export const feedbackCommand: Command = {
  path: ["feedback"],
  summary: "Label a decision true_positive, false_positive or incident (approver role); learning reads it",
  args: "<decisionId>",
  description: "Through the server's API by default (--server, --token); --direct writes to the configured store after verifying the token there. Approvals, denials and overrides record feedback by themselves.",
  options: {
    ...serverOptions,
    ...configOption,
    ...directOption,
    ...outputOption,
    label: { type: "string", value: "<label>", description: `One of ${feedbackLabels.join(", ")} (required)` },
    reason: { type: "string", value: "<text>", description: "Why (recorded with the label)" },
  },
  examples: ['vigil feedback 0b5e…9c --label false_positive --reason "on-call engineer, expected"', "vigil feedback 0b5e…9c --label incident --direct --token $VIGIL_TOKEN"],
  async run(args, io) {
    const decisionId = args.positionals[0];
    if (!decisionId) throw new VigilError("VIGIL_BAD_INPUT", "missing <decisionId>: the id of a recorded decision (vigil explain <id> shows one)", { field: "decisionId" });
    const label = stringOption(args, "label");
    if (!label) throw new VigilError("VIGIL_BAD_INPUT", `--label is required: one of ${feedbackLabels.join(", ")}`, { field: "--label" });
    if (!(feedbackLabels as readonly string[]).includes(label)) throw new VigilError("VIGIL_BAD_INPUT", `--label must be one of ${feedbackLabels.join(", ")}, got "${label}"`, { field: "--label" });
    const reason = stringOption(args, "reason");
    const body = { decisionId, label, ...(reason ? { reason } : {}) };
    const feedback = flag(args, "direct")
      ? await withStore(args, io, async (storage) => recordFeedback({ storage, clock: systemClock }, { ...body, via: "cli" }, await directActor(args, io, storage)))
      : (await apiClient(args, io).request<Record<string, unknown>>("POST", "/v1/feedback", { body })).body;
    if (outputFormat(args) === "json") write(io.stdout, JSON.stringify(feedback, null, 2));
    else write(io.stdout, `recorded ${String(feedback["label"])} on decision ${String(feedback["decisionId"])} by ${String(feedback["by"])}`);
    return 0;
  },
};
