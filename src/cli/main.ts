#!/usr/bin/env node
import { realpathSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { isVigilError } from "../core/errors.js";
import { commandHelp, parseCommandArgs, write, type CliIo, type Command } from "./command.js";
import { commands } from "./commands/index.js";
import { didYouMean } from "../policy/vigil/suggest.js";

function findCommand(argv: readonly string[]): { command: Command; rest: string[] } | undefined {
  let best: Command | undefined;
  for (const command of commands) {
    const matches = command.path.every((word, i) => argv[i] === word);
    if (matches && (!best || command.path.length > best.path.length)) best = command;
  }
  return best ? { command: best, rest: argv.slice(best.path.length) } : undefined;
}

/** `  <path>  <summary>` rows, the paths padded to one width. */
function commandList(list: readonly Command[]): string[] {
  const width = Math.max(...list.map((c) => c.path.join(" ").length));
  return list.map((c) => `  ${c.path.join(" ").padEnd(width)}  ${c.summary}`);
}

export function topLevelHelp(): string {
  return [
    "Usage: vigil <command> [options]",
    "",
    "Vigil — policy-as-agent governance: declarative policies plus context, adaptive enforcement,",
    "explanations, human review and learning.",
    "",
    "Commands:",
    ...commandList(commands),
    "",
    "Run `vigil <command> --help` for a command's options.",
  ].join("\n") + "\n";
}

/** `vigil policies --help`: the sub-commands of a group. */
function groupHelp(group: string, list: readonly Command[]): string {
  return [`Usage: vigil ${group} <command> [options]`, "", "Commands:", ...commandList(list), "", `Run \`vigil ${group} <command> --help\` for a command's options.`].join("\n") + "\n";
}

/** Runs the CLI; returns the exit code (never calls process.exit itself). */
export async function runCli(argv: readonly string[], io: CliIo): Promise<number> {
  // `vigil help <command>`: that command's help, as `vigil <command> --help`.
  if (argv[0] === "help" && argv.length > 1) return runCli([...argv.slice(1), "--help"], io);
  if (argv.length === 0 || argv[0] === "--help" || argv[0] === "-h" || argv[0] === "help") {
    write(io.stdout, topLevelHelp());
    return argv.length === 0 ? 2 : 0;
  }
  if (argv[0] === "--version" || argv[0] === "version") {
    write(io.stdout, "vigil 0.1.0");
    return 0;
  }
  const found = findCommand(argv);
  if (!found) {
    const prefix = commands.filter((c) => c.path[0] === argv[0]);
    if (prefix.length && argv.length === 2 && (argv[1] === "--help" || argv[1] === "-h")) {
      write(io.stdout, groupHelp(argv[0] as string, prefix));
      return 0;
    }
    if (prefix.length) {
      const sub = argv[1];
      const unknown = sub === undefined || sub.startsWith("-") ? "" : `unknown command "${sub}"${didYouMean(`${argv[0]} ${sub}`, prefix.map((c) => c.path.join(" ")))}; `;
      write(io.stderr, `vigil ${argv[0]}: ${unknown}expected one of: ${prefix.map((c) => c.path.join(" ")).join(", ")}`);
    } else {
      const names = new Set(commands.map((c) => c.path[0] as string));
      write(io.stderr, `vigil: unknown command "${argv[0]}"${didYouMean(argv[0] as string, names)}. Run \`vigil --help\` for the list.`);
    }
    return 2;
  }
  const { command, rest } = found;
  try {
    const args = parseCommandArgs(command, rest);
    if (args.values["help"] === true) {
      write(io.stdout, commandHelp(command));
      return 0;
    }
    return await command.run(args, io);
  } catch (error) {
    // The reader went away (`vigil replay ... | head -1`): nothing more can be delivered; stop quietly.
    if (isClosedPipe(error)) return 0;
    if (isVigilError(error)) {
      const { file, line, column } = error.details;
      const where = [file, line !== undefined ? `${line}:${column ?? 0}` : undefined].filter(Boolean).join(":");
      // Named once: many messages already name their file ("cannot read the setup x.json: ENOENT") or start with the position.
      const named = where === "" || error.message.startsWith(where) || (line === undefined && file !== undefined && error.message.includes(file));
      write(io.stderr, `vigil ${command.path.join(" ")}: ${named ? "" : `${where}: `}${error.message} [${error.code}]`);
      return 2;
    }
    write(io.stderr, `vigil ${command.path.join(" ")}: internal error: ${(error as Error).stack ?? String(error)}`);
    return 3;
  }
}

/** EPIPE: the other end of stdout (or stderr) was closed. */
function isClosedPipe(error: unknown): boolean {
  return error instanceof Error && (error as NodeJS.ErrnoException).code === "EPIPE";
}

function isMain(): boolean {
  const entry = process.argv[1];
  if (!entry) return false;
  try {
    return realpathSync(entry) === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}

if (isMain()) {
  // A closed pipe is not an error of the command: no unhandled 'error' event's stack trace. The
  // command stops at its next awaited write (writeChunk rejects with EPIPE, runCli returns 0)
  // after its `finally` blocks ran (a replay removes its throwaway store); other writes are dropped.
  for (const stream of [process.stdout, process.stderr]) {
    stream.on("error", (error) => {
      if (!isClosedPipe(error)) throw error;
    });
  }
  const io: CliIo = { stdout: process.stdout, stderr: process.stderr, stdin: process.stdin, env: process.env, cwd: process.cwd() };
  runCli(process.argv.slice(2), io).then(
    (code) => {
      process.exitCode = code;
    },
    (error: unknown) => {
      process.stderr.write(`vigil: ${String(error)}\n`);
      process.exitCode = 3;
    },
  );
}
