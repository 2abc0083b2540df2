import { parseArgs, type ParseArgsConfig } from "node:util";
import { VigilError } from "../core/errors.js";
import { didYouMean } from "../policy/vigil/suggest.js";

/** What a command reads and writes; tests pass their own. */
export interface CliIo {
  readonly stdout: NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
  readonly stderr: NodeJS.WritableStream;
  readonly stdin: NodeJS.ReadableStream;
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly cwd: string;
}

export interface CliOption {
  readonly type: "string" | "boolean";
  readonly short?: string;
  readonly multiple?: boolean;
  /** Placeholder shown in help, e.g. `<dir>`. */
  readonly value?: string;
  readonly description: string;
  readonly default?: string | boolean;
  /** The only values a string option takes; anything else is a usage error before the command runs. */
  readonly choices?: readonly string[];
}

export interface ParsedArgs {
  readonly values: Readonly<Record<string, string | boolean | string[] | boolean[] | undefined>>;
  readonly positionals: readonly string[];
}

/** One `vigil` command (or sub-command: `audit verify`, `policies lint`). */
export interface Command {
  /** Words after `vigil`, e.g. `["audit", "verify"]`. */
  readonly path: readonly string[];
  readonly summary: string;
  /** Positional arguments shown in usage, e.g. `<decisionId>`. */
  readonly args?: string;
  readonly description?: string;
  readonly options: Readonly<Record<string, CliOption>>;
  readonly examples?: readonly string[];
  /** Returns the exit code. Errors thrown are printed by main with their code. */
  run(args: ParsedArgs, io: CliIo): Promise<number>;
}

export function parseCommandArgs(command: Command, argv: readonly string[]): ParsedArgs {
  const options: NonNullable<ParseArgsConfig["options"]> = { help: { type: "boolean", short: "h" } };
  for (const [name, option] of Object.entries(command.options)) {
    options[name] = {
      type: option.type,
      ...(option.short ? { short: option.short } : {}),
      ...(option.multiple ? { multiple: true } : {}),
      ...(option.default !== undefined ? { default: option.default as string & boolean } : {}),
    };
  }
  let parsed: ParsedArgs;
  try {
    const result = parseArgs({ args: [...argv], options, allowPositionals: true, strict: true });
    parsed = { values: result.values as ParsedArgs["values"], positionals: result.positionals };
  } catch (cause) {
    const { text, flag } = optionError(command, (cause as Error).message, argv);
    throw new VigilError("VIGIL_BAD_INPUT", `${text}. Run \`vigil ${command.path.join(" ")} --help\` for the options.`, flag ? { field: flag } : {}, cause);
  }
  const limit = positionalLimit(command.args);
  const extra = parsed.positionals[limit];
  if (extra !== undefined) {
    const takes = command.args ? `takes ${command.args}` : "takes no arguments";
    throw new VigilError("VIGIL_BAD_INPUT", `unexpected argument "${extra}": vigil ${command.path.join(" ")} ${takes}. Run \`vigil ${command.path.join(" ")} --help\` for the usage.`, { field: extra });
  }
  // Checked here, before the command does anything (a command that calls the server must not act and then refuse its output format).
  for (const [name, option] of Object.entries(command.options)) {
    if (!option.choices) continue;
    const given = parsed.values[name];
    for (const value of Array.isArray(given) ? given : [given]) {
      if (typeof value === "string" && !option.choices.includes(value)) {
        throw new VigilError("VIGIL_BAD_INPUT", `--${name} must be ${alternatives(option.choices)}, not "${value}"`, { field: `--${name}` });
      }
    }
  }
  return parsed;
}

/** Node's parseArgs message in our words: the option named, with the fix (the nearest option, the value it takes). */
function optionError(command: Command, message: string, argv: readonly string[]): { text: string; flag?: string } {
  // `--seed -1`: Node refuses a value that looks like an option, in three lines of its own.
  const ambiguous = /^Option '(--?[\w-]+)' argument is ambiguous/.exec(message)?.[1];
  if (ambiguous !== undefined) {
    const value = argv[argv.indexOf(ambiguous) + 1] ?? "";
    const long = ambiguous.startsWith("--") ? ambiguous : `--${Object.entries(command.options).find(([, o]) => `-${o.short ?? ""}` === ambiguous)?.[0] ?? ambiguous.slice(1)}`;
    return { text: `${ambiguous} ${value}: the value starts with a dash, so it reads as an option; write ${long}=${value} if it is the value, or give ${ambiguous} a value`, flag: long };
  }
  const unknown = /^Unknown option '(--?[^']+)'/.exec(message)?.[1];
  if (unknown !== undefined) {
    const names = ["help", ...Object.keys(command.options)].map((name) => `--${name}`);
    return { text: `unknown option ${unknown}${unknown.startsWith("--") ? didYouMean(unknown, names) : ""}`, flag: unknown };
  }
  const missing = /^Option '(?:-(\w), )?--([\w-]+) <value>' argument missing/.exec(message);
  if (missing !== null) {
    const [, short, name = ""] = missing;
    return { text: `${short ? `-${short}, ` : ""}--${name} needs a value: ${short ? `-${short}` : `--${name}`} ${command.options[name]?.value ?? "<value>"}`, flag: `--${name}` };
  }
  const valued = /^Option '(?:-\w, )?--([\w-]+)' does not take an argument/.exec(message)?.[1];
  if (valued !== undefined) return { text: `--${valued} takes no value: write --${valued} alone`, flag: `--${valued}` };
  const flag = /'(--?[\w-]+)/.exec(message)?.[1];
  return { text: message.replace(/\.+$/, ""), ...(flag ? { flag } : {}) };
}

/** How many positional arguments a usage such as `<dir>`, `[input.json | -]` or `[path...]` takes. */
function positionalLimit(usage: string | undefined): number {
  if (usage === undefined) return 0;
  if (usage.includes("...")) return Number.POSITIVE_INFINITY;
  return usage.match(/<[^>]*>|\[[^\]]*\]/g)?.length ?? 0;
}

/** `"a" or "b"`, `"a", "b" or "c"`. */
function alternatives(choices: readonly string[]): string {
  const quoted = choices.map((c) => `"${c}"`);
  return quoted.length <= 1 ? quoted.join("") : `${quoted.slice(0, -1).join(", ")} or ${quoted[quoted.length - 1] ?? ""}`;
}

export function commandHelp(command: Command): string {
  const lines = [`Usage: vigil ${command.path.join(" ")}${Object.keys(command.options).length ? " [options]" : ""}${command.args ? ` ${command.args}` : ""}`, "", command.summary];
  if (command.description) lines.push("", command.description);
  const entries = Object.entries(command.options);
  if (entries.length) {
    lines.push("", "Options:");
    const rendered = entries.map(([name, o]) => [`${o.short ? `-${o.short}, ` : "    "}--${name}${o.type === "string" ? ` ${o.value ?? "<value>"}` : ""}`, `${o.description}${o.default !== undefined && o.default !== false ? ` (default: ${String(o.default)})` : ""}`] as const);
    const width = Math.max(...rendered.map(([left]) => left.length));
    for (const [left, right] of rendered) lines.push(`  ${left.padEnd(width)}  ${right}`);
    lines.push(`  ${"-h, --help".padEnd(width)}  Show this help`);
  }
  if (command.examples?.length) lines.push("", "Examples:", ...command.examples.map((e) => `  ${e}`));
  return lines.join("\n") + "\n";
}

export function stringOption(args: ParsedArgs, name: string): string | undefined {
  const value = args.values[name];
  return typeof value === "string" ? value : undefined;
}

export function stringList(args: ParsedArgs, name: string): string[] {
  const value = args.values[name];
  if (Array.isArray(value)) return value.filter((v): v is string => typeof v === "string");
  return typeof value === "string" ? [value] : [];
}

export function flag(args: ParsedArgs, name: string): boolean {
  return args.values[name] === true;
}

export function write(stream: NodeJS.WritableStream, text: string): void {
  stream.write(text.endsWith("\n") ? text : `${text}\n`);
}
