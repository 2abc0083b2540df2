import { createReadStream, createWriteStream, existsSync, fstatSync, mkdirSync, readFileSync, readSync, statSync, writeFileSync, type ReadStream, type WriteStream } from "node:fs";
import { dirname, resolve, sep } from "node:path";
import { openStorage } from "../agent.js";
import { loadConfig, type VigilConfig } from "../config.js";
import { VigilError } from "../core/errors.js";
import type { Storage } from "../core/ports.js";
import { isRfc3339, normalizeTimestamp } from "../sources/values.js";
import type { CliIo, CliOption, ParsedArgs } from "./command.js";
import { stringList, stringOption, write } from "./command.js";

export const configOption: Record<string, CliOption> = {
  config: { type: "string", short: "c", value: "<file>", description: "Configuration file (default: ./vigil.yaml when present; env VIGIL_CONFIG)" },
};

export const policiesOption: Record<string, CliOption> = {
  policies: { type: "string", short: "p", multiple: true, value: "<path>", description: "Policy file or directory (repeatable; default: the configured policies, packs/)" },
};

export const outputOption: Record<string, CliOption> = {
  output: { type: "string", short: "o", value: "<format>", description: "Output format: text or json", default: "text", choices: ["text", "json"] },
};

export function configFrom(args: ParsedArgs, io: CliIo): VigilConfig & { readonly baseDir: string } {
  const file = stringOption(args, "config");
  const config = loadConfig({ ...(file ? { file } : {}), cwd: io.cwd, env: io.env });
  const policies = existingPaths(args, "policies", io);
  return policies.length ? { ...config, policies } : config;
}

/**
 * The paths of a repeatable path option (`--policies`, `--compare`), resolved: one that does not
 * exist is VIGIL_BAD_INPUT naming the option and the path (a typo loaded no policy, and every
 * input was then allowed with exit 0).
 */
export function existingPaths(args: ParsedArgs, name: string, io: Pick<CliIo, "cwd">): string[] {
  return stringList(args, name).map((path) => {
    const target = resolve(io.cwd, path);
    if (!existsSync(target)) throw new VigilError("VIGIL_BAD_INPUT", `--${name} ${path}: no such file or directory; pass a policy file or directory that exists`, { field: `--${name}` });
    return target;
  });
}

/** The error for paths that held no policy: `--policies x.yaml: no policy found there …` (`x.yaml: …` for positional paths). */
export function noPolicyError(paths: readonly string[], option: string | undefined): VigilError {
  return new VigilError("VIGIL_BAD_INPUT", `${option ? `${option} ` : ""}${paths.join(", ")}: no policy found there (an empty file, or no policy document in it or under it); pass a policy file or directory that holds policies`, { field: option ?? "path" });
}

/**
 * Each given `--policies` path must yield a policy or a load error: one that yields neither (an
 * empty file, an empty directory) loaded nothing and said nothing, and `vigil eval` then allowed
 * every input with exit 0. VIGIL_BAD_INPUT naming the first such path.
 */
export function requirePolicies(args: ParsedArgs, io: Pick<CliIo, "cwd">, load: { readonly policies: readonly { readonly meta: { readonly source?: string } }[]; readonly errors: readonly VigilError[] }, option = "policies"): void {
  const origins = [...load.policies.map((p) => p.meta.source ?? ""), ...load.errors.map((e) => e.details.file ?? "")];
  for (const path of stringList(args, option)) {
    const target = resolve(io.cwd, path);
    // A source is `<file> (document N)` or `<file>#N`; a directory's files are under `<dir>/`.
    const from = (origin: string): boolean => origin.startsWith(target) && (origin.length === target.length || [" ", "#", sep].includes(origin[target.length] ?? ""));
    if (!origins.some(from)) throw noPolicyError([path], `--${option}`);
  }
}

export function outputFormat(args: ParsedArgs): "text" | "json" {
  const value = stringOption(args, "output") ?? "text";
  if (value !== "text" && value !== "json") {
    throw new VigilError("VIGIL_BAD_INPUT", `--output must be "text" or "json", not "${value}"`, { field: "--output" });
  }
  return value;
}

/**
 * A time option (`--expires`, `--until`) as the sources read times: a leap second (`23:59:60`,
 * valid RFC 3339, which Date.parse reads as NaN) becomes `23:59:59.999`; anything else is unchanged.
 */
export function timeOption(value: string): string {
  return isRfc3339(value) ? normalizeTimestamp(value) ?? value : value;
}

/** The text without a leading byte order mark (editors on Windows write one). */
export function withoutBom(text: string): string {
  return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
}

/** Reads a whole file, or stdin for `-`, as text (a leading byte order mark dropped). */
export async function readInput(path: string, io: CliIo): Promise<string> {
  if (path === "-") {
    const chunks: Buffer[] = [];
    for await (const chunk of io.stdin) chunks.push(typeof chunk === "string" ? Buffer.from(chunk) : (chunk as Buffer));
    return withoutBom(Buffer.concat(chunks).toString("utf8"));
  }
  try {
    return withoutBom(readFileSync(resolve(io.cwd, path), "utf8"));
  } catch (cause) {
    throw new VigilError("VIGIL_BAD_INPUT", `cannot read ${path}: ${(cause as NodeJS.ErrnoException).code ?? (cause as Error).message}; pass an existing file or - for stdin`, { field: "input", file: path }, cause);
  }
}

/** Prints policy load errors (they never stop the command). */
export function reportLoadErrors(errors: readonly VigilError[], io: CliIo): void {
  for (const error of errors) {
    const where = [error.details.file, error.details.line !== undefined ? `${error.details.line}:${error.details.column ?? 0}` : undefined].filter(Boolean).join(":");
    write(io.stderr, `policy load error: ${positioned(where, error.message)} [${error.code}]`);
  }
}

/**
 * `<where>: <message>`, the position named once: some messages already start with it, or with
 * the file alone (the library's callers read only the message).
 */
export function positioned(where: string, message: string, file?: string): string {
  if (!where || message.startsWith(where)) return message;
  const rest = file !== undefined && message.startsWith(`${file}: `) ? message.slice(file.length + 2) : message;
  return `${where}: ${rest}`;
}

function cannotWrite(path: string, option: string, cause: unknown): VigilError {
  return new VigilError("VIGIL_BAD_INPUT", `${option} ${path}: cannot write it: ${(cause as NodeJS.ErrnoException).code ?? (cause as Error).message}; name a file in a writable directory`, { field: option }, cause);
}

/** Creates the directory an output file goes in (`--out reports/x.json`), as needed. */
function makeParent(target: string, path: string, option: string): void {
  try {
    mkdirSync(dirname(target), { recursive: true });
  } catch (cause) {
    throw cannotWrite(path, option, cause);
  }
}

/**
 * Opens an output file (`--out`) for streaming, creating missing directories; resolves once it
 * is open. VIGIL_BAD_INPUT naming the option when it cannot be created.
 */
export async function openOutputFile(path: string, io: Pick<CliIo, "cwd">, option = "--out"): Promise<WriteStream> {
  const target = resolve(io.cwd, path);
  makeParent(target, path, option);
  const stream = createWriteStream(target);
  await new Promise<void>((ready, fail) => {
    stream.once("open", () => ready());
    stream.once("error", (cause) => fail(cannotWrite(path, option, cause)));
  });
  return stream;
}

/** `--out` opened (stdout when absent), for a command that has already opened `input`: closed again if the output cannot be. */
export async function openOutputOrStdout(outPath: string | undefined, io: Pick<CliIo, "cwd" | "stdout">, input: { destroy(): void } | undefined): Promise<NodeJS.WritableStream> {
  try {
    return outPath ? await openOutputFile(outPath, io) : io.stdout;
  } catch (error) {
    input?.destroy();
    throw error;
  }
}

/** Writes a whole output file (`--out`, `--setup`), creating missing directories. */
export function writeOutputFile(path: string, text: string, io: Pick<CliIo, "cwd">, option = "--out"): void {
  const target = resolve(io.cwd, path);
  makeParent(target, path, option);
  try {
    writeFileSync(target, text);
  } catch (cause) {
    throw cannotWrite(path, option, cause);
  }
}

/** Largest file read up front to see whether it holds only whitespace (a bigger one is not empty in practice). */
const BLANK_CHECK_BYTES = 4096;

/** The same file (by path, or by device and inode when both exist: links). */
export function sameFile(a: string, b: string): boolean {
  if (a === b) return true;
  try {
    const [x, y] = [statSync(a), statSync(b)];
    return x.dev === y.dev && x.ino === y.ino;
  } catch {
    return false;
  }
}

/** Whether the open file holds nothing but whitespace (and a byte order mark); read with an explicit position, so the stream's own reads are unaffected. */
function isBlankFile(fd: number): boolean {
  const size = fstatSync(fd).size;
  if (size > BLANK_CHECK_BYTES) return false;
  const buffer = Buffer.alloc(size);
  const read = readSync(fd, buffer, 0, size, 0);
  return withoutBom(buffer.subarray(0, read).toString("utf8")).trim() === "";
}

/**
 * Opens an input file for streaming; resolves once it is open. VIGIL_BAD_INPUT naming the file
 * when it cannot be read (missing, a directory) or is empty (or only whitespace): such a file
 * was replayed or ingested as "0 events" with exit 0.
 */
export async function openInputFile(path: string, io: Pick<CliIo, "cwd">): Promise<ReadStream> {
  const cannotRead = (cause: unknown): VigilError =>
    new VigilError("VIGIL_BAD_INPUT", `cannot read ${path}: ${(cause as NodeJS.ErrnoException).code ?? (cause as Error).message}; pass an existing file or - for stdin`, { field: "input", file: path }, cause);
  const stream = createReadStream(resolve(io.cwd, path));
  await new Promise<void>((ready, fail) => {
    stream.once("open", (fd: number) => {
      // A directory opens on Linux and fails at the first read: refuse it here, by name.
      if (fstatSync(fd).isDirectory()) {
        stream.destroy();
        fail(cannotRead(Object.assign(new Error("is a directory"), { code: "EISDIR" })));
      } else if (isBlankFile(fd)) {
        stream.destroy();
        fail(new VigilError("VIGIL_BAD_INPUT", `cannot read ${path}: it is empty; pass a file that holds events, or - for stdin`, { field: "input", file: path }));
      } else ready();
    });
    stream.once("error", (cause) => fail(cannotRead(cause)));
  });
  return stream;
}

/**
 * Opens the configured store to read what the agent recorded (audit verify, explain, report): an
 * SQLite file that does not exist is VIGIL_NOT_FOUND naming it — not an empty store created on
 * the spot and reported as an intact record of 0 decisions.
 */
export async function openExistingStorage(config: VigilConfig): Promise<Storage> {
  const { kind, path } = config.store;
  if (kind === "sqlite" && path !== ":memory:" && !existsSync(path)) {
    throw new VigilError("VIGIL_NOT_FOUND", `no store at ${path} (store.path): run where the agent keeps its store, pass --config, or set VIGIL_STORE_PATH`, { field: "store.path" });
  }
  return openStorage(config);
}

/** A JSON Lines item that could not be read, in words: `bad event: line 4: …`, the line named once. */
export function badEventText(item: { readonly line?: number | undefined; readonly error: { readonly message: string } }): string {
  const where = `line ${item.line ?? "?"}`;
  return item.error.message.startsWith(`${where} `) ? `bad event: ${item.error.message}` : `bad event: ${where}: ${item.error.message}`;
}

/** Writes a line to stderr; on a terminal, first clears the progress line drawn there with `\r`. */
export function stderrLine(io: Pick<CliIo, "stderr">, text: string): void {
  write(io.stderr, (io.stderr as { isTTY?: boolean }).isTTY === true ? `\r\x1b[K${text}` : text);
}

/** A file option that takes `-` for stdout, as input positionals take it for stdin: undefined for `-` or absent. */
export function fileOption(args: ParsedArgs, name: string): string | undefined {
  const value = stringOption(args, name);
  return value === "-" ? undefined : value;
}

/** The error a write to a closed output gives (EPIPE: main stops the command quietly). */
function closedOutput(): Error {
  return Object.assign(new Error("the output was closed"), { code: "EPIPE" });
}

/**
 * Writes a chunk with backpressure: waits for `drain` when the stream is full; rejects (EPIPE)
 * when the stream was closed meanwhile — a destroyed stream never drains — so the command
 * unwinds through its `finally` blocks instead of waiting forever.
 */
export async function writeChunk(stream: NodeJS.WritableStream, text: string): Promise<void> {
  if ((stream as { destroyed?: boolean }).destroyed === true) throw closedOutput();
  if (stream.write(text)) return;
  await new Promise<void>((done, fail) => {
    const settle = (error?: Error): void => {
      stream.off("drain", onDrain);
      stream.off("close", onClose);
      stream.off("error", onError);
      if (error) fail(error);
      else done();
    };
    const onDrain = (): void => settle();
    const onClose = (): void => settle(closedOutput());
    const onError = (error: Error): void => settle(error);
    stream.on("drain", onDrain);
    stream.on("close", onClose);
    stream.on("error", onError);
  });
}
