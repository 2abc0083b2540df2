import { GENESIS_HASH, verifyRecord, type VerifyOptions } from "../../agent.js";
import { VigilError } from "../../core/errors.js";
import { stringOption, write, type Command, type ParsedArgs } from "../command.js";
import { configFrom, configOption, openExistingStorage, outputFormat, outputOption } from "../shared.js";

export const auditVerifyCommand: Command = {
  path: ["audit", "verify"],
  summary: "Verify the decision record's hash chain; report the first modified, deleted or reordered record",
  description: "Re-hashes every decision in order. Exit code: 0 intact, 1 tampered (the first problem is printed with the record's seq and id), 2 no store at the configured path or a bad option.",
  options: {
    ...configOption,
    ...outputOption,
    "expected-head": { type: "string", value: "<seq>:<hash>", description: "A head noted earlier (printed by a previous verify): the chain must still reach it, with that hash at that seq (detects a truncated or re-hashed record)" },
    start: { type: "string", value: "<seq>:<hash>", description: "Verify only the records after this checkpoint (a head verified earlier)" },
  },
  examples: ["vigil audit verify", "vigil audit verify --config prod.yaml --output json", "vigil audit verify --expected-head 1842:3f2a…"],
  async run(args, io) {
    const format = outputFormat(args);
    const options: VerifyOptions = { ...headOption(args, "expected-head", "expectedHead"), ...headOption(args, "start", "start") };
    const storage = await openExistingStorage(configFrom(args, io));
    try {
      const result = await verifyRecord(storage, options);
      if (format === "json") write(io.stdout, JSON.stringify(result, null, 2));
      else if (result.ok) write(io.stdout, `decision record intact: ${result.checked} records verified (head seq ${result.head.seq}, hash ${result.head.hash})`);
      else write(io.stdout, `decision record TAMPERED: ${recordName(result.problem)} was ${result.problem?.kind ?? "changed"}: ${result.problem?.detail ?? ""}\n${result.checked} records before it verified.`);
      return result.ok ? 0 : 1;
    } finally {
      await storage.close();
    }
  },
};

/** `record <id> (seq N)`; `record at seq N` when no record is there to name (a checkpoint past the end). */
function recordName(problem: { readonly id?: string; readonly seq?: number } | undefined): string {
  const seq = problem?.seq ?? "?";
  return problem?.id ? `record ${problem.id} (seq ${seq})` : `record at seq ${seq}`;
}

/** `--<flag> <seq>:<hash>` as a chain head; VIGIL_BAD_INPUT naming the flag when malformed. */
function headOption(args: ParsedArgs, flag: string, key: "expectedHead" | "start"): Partial<VerifyOptions> {
  const value = stringOption(args, flag);
  if (value === undefined) return {};
  const match = /^(\d+):([0-9a-f]{64})$/.exec(value.trim());
  if (match === null) throw new VigilError("VIGIL_BAD_INPUT", `--${flag} is "${value}": give <seq>:<hash>, the seq and the 64-hex hash a verify printed (head seq N, hash H)`, { field: `--${flag}` });
  const seq = Number(match[1]);
  const hash = match[2] as string;
  if (seq === 0 && hash !== GENESIS_HASH) {
    throw new VigilError("VIGIL_BAD_INPUT", `--${flag} 0:${hash}: seq 0 is the start of the chain, whose hash is the genesis hash ${GENESIS_HASH}; give a head a verify printed, or leave --${flag} out`, { field: `--${flag}` });
  }
  return { [key]: { seq, hash } };
}
