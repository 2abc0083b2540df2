import { mkdirSync, renameSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { formatAdvisoryIssue, loadAdvisoryFiles, loadAdvisorySet, shippedAdvisoriesDir, type AdvisoryIssue } from "../../context/supply-chain/index.js";
import { VigilError } from "../../core/errors.js";
import { flag, stringOption, write, type Command } from "../command.js";
import { importedAdvisoriesDir } from "./gate.js";

/** A file name for a record id: `GHSA-xxxx.json`; characters outside [A-Za-z0-9._-] become `_`. */
export function advisoryFileName(id: string): string {
  return `${id.replace(/[^A-Za-z0-9._-]/g, "_")}.json`;
}

function errorCode(cause: unknown): string {
  return (cause as NodeJS.ErrnoException).code ?? (cause as Error).message;
}

export const advisoriesImportCommand: Command = {
  path: ["advisories", "import"],
  summary: "Validate OSV advisories and add them to the set the agent and `vigil gate` use",
  args: "<file|dir>...",
  description: [
    "Reads OSV JSON files (one record, an array of records, or {\"vulns\": [...]}) and directories (recursively, *.json),",
    "validates every record against the OSV schema, and writes each valid record to the imported-advisories directory",
    "as <id>.json (replacing an older copy of the same id). That directory is $VIGIL_ADVISORIES_DIR, else",
    ".vigil/advisories under the working directory, or --dir; the agent and `vigil gate` load it after the shipped set.",
    "Each bad record is reported with its file, position, id and field; the others are still imported.",
    "Exit code: 0 all imported, 2 some records or files were rejected (or nothing to import).",
  ].join("\n"),
  options: {
    dir: { type: "string", value: "<dir>", description: "Imported-advisories directory (default $VIGIL_ADVISORIES_DIR or .vigil/advisories)" },
    strict: { type: "boolean", description: "Reject records that only have warnings (a missing `modified`)" },
    "dry-run": { type: "boolean", description: "Validate and report only; write nothing" },
    output: { type: "string", short: "o", value: "<format>", description: "text or json", default: "text" },
  },
  examples: ["vigil advisories import ./osv/npm", "vigil advisories import GHSA-xxxx-yyyy-zzzz.json --dry-run"],
  async run(args, io) {
    const format = stringOption(args, "output") ?? "text";
    if (format !== "text" && format !== "json") throw new VigilError("VIGIL_BAD_INPUT", `--output must be "text" or "json", not "${format}"`, { field: "--output" });
    if (args.positionals.length === 0) throw new VigilError("VIGIL_BAD_INPUT", "no input: pass OSV files or directories to import", { field: "input" });
    const paths = args.positionals.map((p) => resolve(io.cwd, p));
    const loaded = loadAdvisoryFiles(paths, { strict: flag(args, "strict") });
    const dirOption = stringOption(args, "dir");
    const dir = dirOption === undefined ? importedAdvisoriesDir(io) : resolve(io.cwd, dirOption);
    const dryRun = flag(args, "dry-run");
    const written: string[] = [];
    if (!dryRun && loaded.records.length > 0) {
      const named = dirOption !== undefined ? `--dir ${dirOption}` : io.env["VIGIL_ADVISORIES_DIR"] !== undefined ? `VIGIL_ADVISORIES_DIR ${dir}` : `the default directory ${dir}`;
      const field = dirOption !== undefined ? "--dir" : "VIGIL_ADVISORIES_DIR";
      try {
        mkdirSync(dir, { recursive: true });
      } catch (cause) {
        throw new VigilError("VIGIL_BAD_INPUT", `${named}: cannot create the imported-advisories directory: ${errorCode(cause)}; name a directory (or a path where one can be created) with --dir or VIGIL_ADVISORIES_DIR`, { field }, cause);
      }
      for (const { record } of loaded.records) {
        const target = join(dir, advisoryFileName(record.id));
        const temporary = `${target}.${process.pid}.tmp`;
        try {
          writeFileSync(temporary, JSON.stringify(record, null, 2) + "\n");
          renameSync(temporary, target);
        } catch (cause) {
          throw new VigilError("VIGIL_BAD_INPUT", `${named}: cannot write ${target}: ${errorCode(cause)} (${written.length} of ${loaded.records.length} records written); name a writable directory with --dir or VIGIL_ADVISORIES_DIR`, { field }, cause);
        }
        written.push(target);
      }
    }
    const errors = loaded.issues.filter((i) => i.level === "error");
    const rejected = new Set(errors.map((i: AdvisoryIssue) => `${i.file}#${i.index ?? 0}`)).size;
    const total = dryRun ? undefined : loadAdvisorySet({ sources: [shippedAdvisoriesDir], imported: dir });
    if (format === "json") {
      write(io.stdout, JSON.stringify({ files: loaded.files, imported: loaded.records.map((r) => r.record.id), rejected, written: dryRun ? [] : written, dir, issues: loaded.issues, advisories: total?.db.size ?? null }, null, 2));
    } else {
      for (const issue of loaded.issues) write(issue.level === "error" ? io.stderr : io.stdout, formatAdvisoryIssue(issue));
      write(io.stdout, `${loaded.files} files, ${loaded.records.length} valid records ${dryRun ? "(dry run: nothing written)" : `imported into ${dir}`}, ${rejected} rejected${total ? `; the agent's set now holds ${total.db.size} advisories` : ""}`);
    }
    if (loaded.files === 0 && errors.length === 0) write(io.stderr, `nothing to import: no .json file in ${args.positionals.join(", ")}; pass OSV JSON files or directories that hold them`);
    return errors.length > 0 || loaded.files === 0 ? 2 : 0;
  },
};
