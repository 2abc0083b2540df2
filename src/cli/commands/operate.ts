/**
 * Operator commands that talk to the running server (the source of truth): kill switch, undo,
 * posture. Each needs a token with the role the route asks for (docs/api.md).
 */
import { postureLevels } from "../../core/entity.js";
import { VigilError } from "../../core/errors.js";
import { didYouMean } from "../../policy/vigil/suggest.js";
import { isRfc3339 } from "../../sources/values.js";
import { stringOption, write, type Command } from "../command.js";
import { apiClient, serverOptions } from "../client.js";
import { outputFormat, outputOption, timeOption } from "../shared.js";

interface KillSwitchState { readonly on: boolean; readonly by?: string; readonly at?: string; readonly reason?: string }

const killLine = (state: KillSwitchState): string => `kill switch ${state.on ? "ON" : "off"}${state.by ? ` (set by ${state.by} at ${state.at ?? "?"}${state.reason ? `: ${state.reason}` : ""})` : ""}`;

function killSwitchCommand(word: "on" | "off" | "status"): Command {
  return {
    path: ["killswitch", word],
    summary: word === "status" ? "Show whether the global kill switch is on" : `Turn the global kill switch ${word}${word === "on" ? " (no action is applied while it is on)" : ""}`,
    description: "The kill switch is persisted and shared by every worker. While on, planned actions are recorded as blocked and approvals wait. Needs the operator role (status: viewer).",
    options: { ...serverOptions, ...outputOption, ...(word === "status" ? {} : { reason: { type: "string", value: "<text>", description: "Why (recorded in the audit trail)" } }) },
    examples: [`vigil killswitch ${word}${word === "on" ? ' --reason "incident INC-42"' : ""}`],
    async run(args, io) {
      const client = apiClient(args, io);
      const reason = stringOption(args, "reason");
      const response = word === "status"
        ? await client.request<KillSwitchState>("GET", "/v1/killswitch")
        : await client.request<KillSwitchState>("PUT", "/v1/killswitch", { body: { on: word === "on", ...(reason ? { reason } : {}) } });
      write(io.stdout, outputFormat(args) === "json" ? JSON.stringify(response.body, null, 2) : killLine(response.body));
      return 0;
    },
  };
}

export const killSwitchCommands: readonly Command[] = [killSwitchCommand("on"), killSwitchCommand("off"), killSwitchCommand("status")];

export const undoCommand: Command = {
  path: ["undo"],
  summary: "Undo an applied action through its actuator (from the recorded undo data)",
  args: "<actionId>",
  description: "Needs the operator role. Fails when the action was not applied or is not reversible (a sent message).",
  options: { ...serverOptions, ...outputOption, reason: { type: "string", value: "<text>", description: "Why (recorded with the action and in the audit trail)" } },
  examples: ['vigil undo act-3f2a… --reason "false positive, bucket is meant to be public"'],
  async run(args, io) {
    const id = args.positionals[0];
    if (!id) throw new VigilError("VIGIL_BAD_INPUT", "missing <actionId>: list actions with GET /v1/actions", { field: "actionId" });
    const reason = stringOption(args, "reason");
    const response = await apiClient(args, io).request<{ id: string; status: string; actuator: string }>("POST", `/v1/actions/${encodeURIComponent(id)}/undo`, { body: reason ? { reason } : {} });
    write(io.stdout, outputFormat(args) === "json" ? JSON.stringify(response.body, null, 2) : `action ${response.body.id} (${response.body.actuator}) is ${response.body.status}`);
    return 0;
  },
};

interface PostureView { readonly level: string; readonly scope: string; readonly reason?: string; readonly setBy?: string; readonly since?: string; readonly until?: string }

const postureLine = (p: PostureView): string => `${p.scope}: ${p.level}${p.until ? ` until ${p.until}` : ""}${p.reason ? ` — ${p.reason}` : ""}${p.setBy ? ` (set by ${p.setBy}${p.since ? ` at ${p.since}` : ""})` : ""}`;

export const postureSetCommand: Command = {
  path: ["posture", "set"],
  summary: "Set the posture of a scope: normal, elevated, incident or freeze",
  args: "<level>",
  description: "Scope org (default), account:<id>, namespace:<ns> or repo:<owner>/<name>. Policies see it as context.posture; adaptive rules may raise tiers with it. Needs the operator role.",
  options: {
    ...serverOptions,
    ...outputOption,
    scope: { type: "string", value: "<scope>", description: "Scope (default org)" },
    reason: { type: "string", value: "<text>", description: "Why" },
    until: { type: "string", value: "<time>", description: "RFC 3339 expiry in the future, e.g. 2030-06-01T18:00:00Z" },
  },
  examples: ['vigil posture set incident --reason "INC-42 credential leak" --until "$(date -u -d +6hours +%FT%TZ)"', "vigil posture set freeze --scope repo:acme/payments"],
  async run(args, io) {
    const level = args.positionals[0];
    if (!level) throw new VigilError("VIGIL_BAD_INPUT", "missing <level>: normal, elevated, incident or freeze", { field: "level" });
    // Checked here, not only by the server: without a reachable server the mistake was reported as "cannot reach the Vigil server".
    if (!(postureLevels as readonly string[]).includes(level)) throw new VigilError("VIGIL_BAD_INPUT", `<level> must be normal, elevated, incident or freeze, not "${level}"${didYouMean(level, postureLevels)}`, { field: "level" });
    const scope = stringOption(args, "scope");
    const reason = stringOption(args, "reason");
    const given = stringOption(args, "until");
    if (given !== undefined && !isRfc3339(given)) throw new VigilError("VIGIL_BAD_INPUT", `--until must be an RFC 3339 time such as 2030-06-01T18:00:00Z, not "${given}"`, { field: "--until" });
    const until = given === undefined ? undefined : timeOption(given);
    const response = await apiClient(args, io).request<PostureView>("PUT", "/v1/posture", { body: { level, ...(scope ? { scope } : {}), ...(reason ? { reason } : {}), ...(until ? { until } : {}) } });
    write(io.stdout, outputFormat(args) === "json" ? JSON.stringify(response.body, null, 2) : postureLine(response.body));
    return 0;
  },
};

export const postureShowCommand: Command = {
  path: ["posture", "show"],
  summary: "Show the postures in force",
  options: { ...serverOptions, ...outputOption },
  examples: ["vigil posture show"],
  async run(args, io) {
    const response = await apiClient(args, io).request<{ postures: PostureView[] }>("GET", "/v1/posture");
    if (outputFormat(args) === "json") write(io.stdout, JSON.stringify(response.body, null, 2));
    else if (response.body.postures.length === 0) write(io.stdout, "org: normal (nothing set)");
    else for (const posture of response.body.postures) write(io.stdout, postureLine(posture));
    return 0;
  },
};
