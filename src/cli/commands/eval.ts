import { createEvaluator, loadExemptions, loadPolicySet } from "../../agent.js";
import { VigilError } from "../../core/errors.js";
import type { Event } from "../../core/event.js";
import { decisionOutput } from "../../decide/output.js";
import { jsonErrorIndex, positionAtCharIndex } from "../../policy/cedar/positions.js";
import { explainFinding } from "../../policy/explain.js";
import { convertCloudEvent, looksLikeCloudEvent } from "../../sources/cloudevents.js";
import { flag, stringOption, write, type Command } from "../command.js";
import { configFrom, configOption, policiesOption, readInput, reportLoadErrors, requirePolicies } from "../shared.js";

/**
 * An input with `specversion` is a structured-mode CloudEvent, validated as `vigil replay` and the
 * API validate it (an event they reject was decided here): VIGIL_BAD_INPUT naming each field.
 */
function cloudEventInput(value: unknown, input: string): Event | undefined {
  if (!looksLikeCloudEvent(value)) return undefined;
  const converted = convertCloudEvent(value);
  if ("event" in converted) return converted.event;
  throw new VigilError("VIGIL_BAD_INPUT", `${input} is not a valid CloudEvent: ${converted.problems.map((p) => p.message).join("; ")}`, { field: converted.problems[0]?.field ?? "input" });
}

export const evalCommand: Command = {
  path: ["eval"],
  summary: "Evaluate policies against one input and print the decision",
  args: "[input.json | -]",
  description: "The input is a decide request document (what policies see as `input`) or a structured-mode CloudEvent (one with `specversion`, validated as `vigil replay` and the API validate it).\nExit code: 0 allow, 1 deny, 2 bad usage or input, or an allow while a policy failed to load (the decision is printed; it was made without that policy).",
  options: {
    ...policiesOption,
    ...configOption,
    // Not the shared text/json option: its default, text, was not what eval printed without --explain.
    output: { type: "string", short: "o", value: "<format>", description: "json (the decision; the default without --explain) or text (the verdict and each finding in words; the default with --explain)", choices: ["text", "json"] },
    "event-type": { type: "string", value: "<type>", description: "Event type for `on` matching when the input is not a CloudEvent (default dev.vigil.decide)" },
    explain: { type: "boolean", description: "Print every condition evaluated, with its value, in words" },
    input: { type: "string", short: "i", value: "<json>", description: "The input as inline JSON instead of a file" },
    exceptions: { type: "boolean", description: "Apply the exceptions and overrides in force in the configured store, as the running agent does" },
  },
  examples: [
    "vigil eval -p packs/ request.json",
    "echo '{\"principal\":{\"role\":\"dev\"},\"action\":\"read\"}' | vigil eval -p policies/ --explain -",
  ],
  async run(args, io) {
    const config = configFrom(args, io);
    const inline = stringOption(args, "input");
    const path = args.positionals[0];
    if (inline === undefined && path === undefined) throw new VigilError("VIGIL_BAD_INPUT", "no input: pass a JSON file, - for stdin, or --input '<json>'", { field: "input" });
    if (inline !== undefined && path !== undefined) throw new VigilError("VIGIL_BAD_INPUT", `two inputs: --input and ${path}; pass one of them`, { field: "--input" });
    const text = inline ?? (await readInput(path as string, io));
    const source = inline !== undefined ? "--input" : path === "-" ? "stdin" : (path as string);
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (cause) {
      // Node's messages often carry no position: find where the text stops being JSON.
      const { line, column } = positionAtCharIndex(text, jsonErrorIndex(text) ?? text.length);
      throw new VigilError("VIGIL_BAD_INPUT", `input is not valid JSON: ${(cause as Error).message.replace(/\s+/g, " ")}; fix the JSON there`, { field: "input", file: source, line, column }, cause);
    }
    const cloudEvent = cloudEventInput(value, source);
    const eventType = stringOption(args, "event-type");
    if (cloudEvent !== undefined && eventType !== undefined) {
      throw new VigilError("VIGIL_BAD_INPUT", `--event-type applies to an input that is not a CloudEvent; this one has type ${JSON.stringify(cloudEvent.type)}: drop --event-type or change the event's type`, { field: "--event-type" });
    }
    const { policySet, load } = loadPolicySet(config.policies, { costLimit: config.cel.costLimit });
    reportLoadErrors(load.errors, io);
    requirePolicies(args, io, load);
    const exemptions = flag(args, "exceptions") ? await loadExemptions(config) : undefined;
    const evaluator = createEvaluator(policySet, exemptions ? { exemptions } : {});
    const explain = flag(args, "explain");
    const event = cloudEvent ?? evaluator.eventForInput(value, eventType);
    const decision = evaluator.decideEvent(event, { explain, record: false });
    const format = stringOption(args, "output") ?? (explain ? "text" : "json");
    if (format === "json") {
      write(io.stdout, JSON.stringify(decisionOutput(decision, { steps: explain }), null, 2));
    } else {
      write(io.stdout, `${decision.verdict.toUpperCase()} (tier ${decision.tier}, risk ${decision.risk.score}): ${decision.explanation.summary}`);
      for (const finding of decision.findings) for (const line of explainFinding(finding)) write(io.stdout, line);
      for (const step of decision.explanation.steps.filter((s) => s.kind === "factor" || s.kind === "tier")) write(io.stdout, `  ${step.kind}: ${step.text}`);
    }
    if (decision.verdict === "deny") return 1;
    if (load.errors.length > 0) {
      // An allow without a policy that did not load would pass in CI what that policy was written to stop.
      write(io.stderr, `${load.errors.length} ${load.errors.length === 1 ? "policy" : "policies"} failed to load: the decision was made without ${load.errors.length === 1 ? "it" : "them"} (exit 2)`);
      return 2;
    }
    return 0;
  },
};
