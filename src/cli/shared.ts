import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { loadConfig, type VigilConfig } from "../config.js";
import { VigilError } from "../core/errors.js";
import type { CliIo, CliOption, ParsedArgs } from "./command.js";
import { stringList, stringOption, write } from "./command.js";

export const configOption: Record<string, CliOption> = {
  config: { type: "string", short: "c", value: "<file>", description: "Configuration file (default: ./vigil.yaml when present; env VIGIL_CONFIG)" },
};

export const policiesOption: Record<string, CliOption> = {
  policies: { type: "string", short: "p", multiple: true, value: "<path>", description: "Policy file or directory (repeatable; default: the configured policies, packs/)" },
};

export const outputOption: Record<string, CliOption> = {
  output: { type: "string", short: "o", value: "<format>", description: "Output format: text or json", default: "text" },
};

export function configFrom(args: ParsedArgs, io: CliIo): VigilConfig & { readonly baseDir: string } {
  const file = stringOption(args, "config");
  const config = loadConfig({ ...(file ? { file } : {}), cwd: io.cwd, env: io.env });
  const policies = stringList(args, "policies").map((p) => resolve(io.cwd, p));
  return policies.length ? { ...config, policies } : config;
}

export function outputFormat(args: ParsedArgs): "text" | "json" {
  const value = stringOption(args, "output") ?? "text";
  if (value !== "text" && value !== "json") {
    throw new VigilError("VIGIL_BAD_INPUT", `--output must be "text" or "json", not "${value}"`, { field: "--output" });
  }
  return value;
}

/** Reads a whole file, or stdin for `-`. */
export async function readInput(path: string, io: CliIo): Promise<string> {
  if (path === "-") {
    const chunks: Buffer[] = [];
    for await (const chunk of io.stdin) chunks.push(typeof chunk === "string" ? Buffer.from(chunk) : (chunk as Buffer));
    return Buffer.concat(chunks).toString("utf8");
  }
  try {
    return readFileSync(resolve(io.cwd, path), "utf8");
  } catch (cause) {
    throw new VigilError("VIGIL_BAD_INPUT", `cannot read ${path}: ${(cause as NodeJS.ErrnoException).code ?? (cause as Error).message}; pass an existing file or - for stdin`, { field: "input", file: path }, cause);
  }
}

/** Prints policy load errors (they never stop the command). */
export function reportLoadErrors(errors: readonly VigilError[], io: CliIo): void {
  for (const error of errors) {
    const where = [error.details.file, error.details.line !== undefined ? `${error.details.line}:${error.details.column ?? 0}` : undefined].filter(Boolean).join(":");
    // Some messages already start with their position (the library's callers read only the message).
    const prefix = where && !error.message.startsWith(where) ? `${where}: ` : "";
    write(io.stderr, `policy load error: ${prefix}${error.message} [${error.code}]`);
  }
}
