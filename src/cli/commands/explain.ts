import { VigilError } from "../../core/errors.js";
import { decisionOutput } from "../../decide/output.js";
import { explainFinding } from "../../policy/explain.js";
import { write, type Command } from "../command.js";
import { configFrom, configOption, openExistingStorage, outputFormat, outputOption } from "../shared.js";

export const explainCommand: Command = {
  path: ["explain"],
  summary: "Explain a recorded decision in plain language",
  args: "<decisionId>",
  options: { ...configOption, ...outputOption },
  examples: ["vigil explain 0193b0c4-…"],
  async run(args, io) {
    const id = args.positionals[0];
    if (!id) throw new VigilError("VIGIL_BAD_INPUT", "missing <decisionId>: pass the id printed by eval/replay or returned by the API", { field: "decisionId" });
    const format = outputFormat(args);
    const storage = await openExistingStorage(configFrom(args, io));
    try {
      const decision = await storage.getDecision(id);
      if (!decision) throw new VigilError("VIGIL_NOT_FOUND", `no decision with id ${id} in the decision record`, { field: "decisionId" });
      if (format === "json") {
        write(io.stdout, JSON.stringify({ ...decisionOutput(decision, { steps: true }), explanation: decision.explanation }, null, 2));
        return 0;
      }
      write(io.stdout, `Decision ${decision.id} (${decision.time}, event ${decision.eventType} ${decision.eventId})`);
      write(io.stdout, `${decision.verdict.toUpperCase()} — tier ${decision.tier}, risk ${decision.risk.score}`);
      write(io.stdout, decision.explanation.summary);
      for (const finding of decision.findings) for (const line of explainFinding(finding)) write(io.stdout, line);
      const other = decision.explanation.steps.filter((s) => s.kind !== "condition");
      if (other.length) {
        write(io.stdout, "Why this tier and risk:");
        for (const step of other) write(io.stdout, `  - ${step.text}`);
      }
      return 0;
    } finally {
      await storage.close();
    }
  },
};
