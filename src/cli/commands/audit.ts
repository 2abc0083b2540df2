import { openStorage, verifyRecord } from "../../agent.js";
import { write, type Command } from "../command.js";
import { configFrom, configOption, outputFormat, outputOption } from "../shared.js";

export const auditVerifyCommand: Command = {
  path: ["audit", "verify"],
  summary: "Verify the decision record's hash chain; report the first modified, deleted or reordered record",
  description: "Re-hashes every decision in order. Exit code: 0 intact, 1 tampered (the first problem is printed with the record's seq and id).",
  options: { ...configOption, ...outputOption },
  examples: ["vigil audit verify", "vigil audit verify --config prod.yaml --output json"],
  async run(args, io) {
    const format = outputFormat(args);
    const storage = await openStorage(configFrom(args, io));
    try {
      const result = await verifyRecord(storage);
      if (format === "json") write(io.stdout, JSON.stringify(result, null, 2));
      else if (result.ok) write(io.stdout, `decision record intact: ${result.checked} records verified (head seq ${result.head.seq}, hash ${result.head.hash})`);
      else write(io.stdout, `decision record TAMPERED: record ${result.problem?.id ?? "?"} (seq ${result.problem?.seq ?? "?"}) was ${result.problem?.kind ?? "changed"}: ${result.problem?.detail ?? ""}\n${result.checked} records before it verified.`);
      return result.ok ? 0 : 1;
    } finally {
      await storage.close();
    }
  },
};
