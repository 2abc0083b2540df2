import { convertCloudEvent, type CloudEventOptions } from "./cloudevents.js";
import { failure, place, position, problem, type Conversion, type IngestResult } from "./results.js";
import { decodeUtf16 } from "./utf16.js";

/**
 * JSON Lines (one JSON value per line) for `vigil replay` and `vigil ingest`: streaming, one
 * result per non-blank line with its line number, never stopping at a bad line.
 */

export interface LineOfText {
  /** The line without its line break (LF, CRLF or CR-less). */
  readonly text: string;
  /** 1-based line number. */
  readonly line: number;
  /** True when the line was longer than the limit and was skipped (text is empty). */
  readonly tooLong?: boolean;
}

export interface LineReaderOptions {
  /** Longest line kept, in UTF-16 code units; longer lines are reported and skipped. Default 16 MiB. */
  readonly maxLineLength?: number;
}

/** A stream (e.g. a Node Readable), an iterable of chunks, or one whole string. */
export type TextChunks = AsyncIterable<string | Uint8Array> | Iterable<string | Uint8Array> | string;

/**
 * Splits a stream of text or UTF-8 bytes (UTF-16 when they start with its BOM) into lines. Chunk boundaries may fall anywhere
 * (inside a multi-byte character, between CR and LF). Memory is bounded by the longest line
 * kept plus one chunk. A leading BOM is dropped.
 */
export async function* readLines(chunks: TextChunks, options: LineReaderOptions = {}): AsyncGenerator<LineOfText> {
  const max = options.maxLineLength ?? 16 * 1024 * 1024;
  const decoder = new TextDecoder("utf-8");
  // INVARIANT: `parts` hold the current line's text so far (no newline in them); keeping parts
  // instead of one growing string keeps a long line linear to read.
  let parts: string[] = [];
  let partLength = 0;
  let line = 1;
  let discarding = false;
  let first = true;
  const finish = (tail: string): LineOfText => {
    let text = parts.length === 0 ? tail : parts.join("") + tail;
    if (text.endsWith("\r")) text = text.slice(0, -1);
    const tooLong = discarding || text.length > max;
    parts = [];
    partLength = 0;
    discarding = false;
    return tooLong ? { text: "", line: line++, tooLong: true } : { text, line: line++ };
  };
  const take = function* (input: string): Generator<LineOfText> {
    let text = input;
    if (first && text.length > 0) {
      first = false;
      if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
    }
    let start = 0;
    for (;;) {
      const newline = text.indexOf("\n", start);
      if (newline === -1) break;
      yield finish(text.slice(start, newline));
      start = newline + 1;
    }
    const rest = start === 0 ? text : text.slice(start);
    if (rest.length === 0) return;
    if (discarding) return;
    partLength += rest.length;
    if (partLength > max) {
      discarding = true;
      parts = [];
    } else {
      parts.push(rest);
    }
  };
  // UTF-16 with its BOM (Windows PowerShell 5's `>`) is decoded; anything else is read as UTF-8.
  for await (const chunk of typeof chunks === "string" ? [chunks] : await decodeUtf16(chunks)) {
    yield* take(typeof chunk === "string" ? chunk : decoder.decode(chunk, { stream: true }));
  }
  yield* take(decoder.decode());
  if (parts.length > 0 || discarding) yield finish("");
}

/**
 * Converts one parsed JSON line into an event (e.g. a CloudEvent validator, or auto-detection),
 * or into several when the line holds a whole document (a compact CloudTrail file, a List).
 */
export type LineConverter = (value: unknown, line: number) => Conversion | readonly Conversion[];

export interface JsonLinesOptions extends LineReaderOptions, CloudEventOptions {
  /** Default: each line is a structured-mode CloudEvent (what `vigil replay` reads). */
  readonly convert?: LineConverter;
}

/**
 * Reads JSON Lines: yields one result per non-blank line (one per item of a line the converter
 * expands), in order, with `line` (1-based) and `index` (0-based among the results). A line that is not JSON, too long, or not a valid
 * event is a failure for that line only; reading always continues. Never throws for bad
 * content (a failing stream rejects the iteration).
 */
export async function* readJsonLines(chunks: TextChunks, options: JsonLinesOptions = {}): AsyncGenerator<IngestResult> {
  const convert: LineConverter = options.convert ?? ((value) => convertCloudEvent(value, options));
  let index = 0;
  for await (const { text, line, tooLong } of readLines(chunks, options)) {
    if (tooLong === true) {
      yield failure([problem("(line)", `line ${line} is longer than ${options.maxLineLength ?? 16 * 1024 * 1024} characters and was skipped: split the record or raise the limit`)], position(index++, line), "VIGIL_BAD_INPUT");
      continue;
    }
    if (text.trim().length === 0) continue;
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (cause) {
      const reason = cause instanceof Error ? cause.message : String(cause);
      yield failure([problem("(line)", `line ${line} is not valid JSON (${reason}): each line must hold one complete JSON object`)], position(index++, line), "VIGIL_BAD_INPUT");
      continue;
    }
    const converted = convert(value, line);
    for (const conversion of isConversionList(converted) ? converted : [converted]) yield place(conversion, position(index++, line));
  }
}

function isConversionList(value: Conversion | readonly Conversion[]): value is readonly Conversion[] {
  return Array.isArray(value);
}
