/**
 * A small streaming CSV parser (RFC 4180): comma-separated fields, double-quoted fields may hold
 * commas, line breaks and `""` (an escaped quote); records end at LF, CRLF or CR; a leading
 * UTF-8 BOM is dropped; blank lines are skipped. Feed it text chunks of any size (a chunk may
 * end inside a field, a quote or a CRLF). Each record tells whether each field was quoted, so
 * callers can tell `NULL` from `"NULL"`.
 */

export interface CsvField {
  readonly value: string;
  readonly quoted: boolean;
}

export type CsvRecord =
  | { readonly fields: readonly CsvField[]; readonly line: number; readonly error?: undefined }
  /** A malformed record (text after a closing quote, or a quote left open at the end). */
  | { readonly fields: readonly CsvField[]; readonly line: number; readonly error: string };

type State = "fieldStart" | "unquoted" | "quoted" | "quoteInQuoted";

export class CsvParser {
  private state: State = "fieldStart";
  private value = "";
  private quoted = false;
  private fields: CsvField[] = [];
  private error: string | undefined;
  /** 1-based line of the next character. */
  private line = 1;
  /** 1-based line where the current record started. */
  private recordLine = 1;
  private pendingCr = false;
  /** Inside a quoted field: the last character counted was a CR (its LF is not a new line). */
  private quotedCr = false;
  private started = false;

  /** Parses a chunk; returns the records it completed. */
  push(chunk: string): CsvRecord[] {
    const out: CsvRecord[] = [];
    let text = chunk;
    if (!this.started && text.length > 0) {
      this.started = true;
      if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
    }
    for (let i = 0; i < text.length; i++) {
      const char = text[i] as string;
      if (this.pendingCr) {
        this.pendingCr = false;
        if (char === "\n") continue; // the LF of a CRLF that ended the previous record
      }
      switch (this.state) {
        case "fieldStart":
          if (char === '"') {
            this.state = "quoted";
            this.quoted = true;
            this.quotedCr = false;
          } else if (char === ",") {
            this.endField();
          } else if (char === "\r" || char === "\n") {
            this.endRecord(out, char);
          } else {
            this.value += char;
            this.state = "unquoted";
          }
          break;
        case "unquoted": {
          // Fast path: take the run of ordinary characters at once.
          let j = i;
          while (j < text.length) {
            const c = text.charCodeAt(j);
            if (c === 44 || c === 10 || c === 13) break;
            j++;
          }
          this.value += text.slice(i, j);
          i = j - 1;
          if (j < text.length) {
            const stop = text[j] as string;
            i = j;
            if (stop === ",") this.endField();
            else this.endRecord(out, stop);
          }
          break;
        }
        case "quoted": {
          const close = text.indexOf('"', i);
          const end = close === -1 ? text.length : close;
          const run = text.slice(i, end);
          this.value += run;
          this.countLines(run);
          i = end;
          if (close !== -1) this.state = "quoteInQuoted";
          break;
        }
        case "quoteInQuoted":
          if (char === '"') {
            this.value += '"';
            this.state = "quoted";
            this.quotedCr = false;
          } else if (char === ",") {
            this.endField();
          } else if (char === "\r" || char === "\n") {
            this.endRecord(out, char);
          } else {
            this.error ??= `unexpected ${JSON.stringify(char)} after a closing quote: quote the whole field and write a quote inside it as ""`;
            this.value += char;
            this.state = "unquoted";
          }
          break;
      }
    }
    return out;
  }

  /** Ends the input; returns the last record, if any. */
  end(): CsvRecord[] {
    const out: CsvRecord[] = [];
    if (this.state === "quoted") {
      this.error ??= `a quoted field opened on line ${this.recordLine} is never closed: add the closing quote`;
    }
    if (this.state !== "fieldStart" || this.fields.length > 0) {
      this.endField();
      this.flush(out);
    }
    return out;
  }

  private countLines(run: string): void {
    for (let k = 0; k < run.length; k++) {
      const c = run.charCodeAt(k);
      if (c === 10) {
        if (!this.quotedCr) this.line++;
        this.quotedCr = false;
      } else if (c === 13) {
        this.line++;
        this.quotedCr = true;
      } else {
        this.quotedCr = false;
      }
    }
  }

  private endField(): void {
    this.fields.push({ value: this.value, quoted: this.quoted });
    this.value = "";
    this.quoted = false;
    this.state = "fieldStart";
  }

  private endRecord(out: CsvRecord[], newline: string): void {
    const blank = this.fields.length === 0 && this.state === "fieldStart";
    if (!blank) {
      this.endField();
      this.flush(out);
    }
    this.line++;
    this.recordLine = this.line;
    this.state = "fieldStart";
    if (newline === "\r") this.pendingCr = true;
  }

  private flush(out: CsvRecord[]): void {
    const fields = this.fields;
    out.push(this.error === undefined ? { fields, line: this.recordLine } : { fields, line: this.recordLine, error: this.error });
    this.fields = [];
    this.error = undefined;
  }
}

/** Parses a whole CSV text. */
export function parseCsv(text: string): CsvRecord[] {
  const parser = new CsvParser();
  return [...parser.push(text), ...parser.end()];
}

/** Parses CSV from a stream of text or bytes (UTF-8), yielding records as they complete. */
export async function* parseCsvStream(chunks: AsyncIterable<string | Uint8Array>): AsyncGenerator<CsvRecord> {
  const parser = new CsvParser();
  const decoder = new TextDecoder("utf-8");
  for await (const chunk of chunks) {
    const text = typeof chunk === "string" ? chunk : decoder.decode(chunk, { stream: true });
    yield* parser.push(text);
  }
  const rest = decoder.decode();
  if (rest.length > 0) yield* parser.push(rest);
  yield* parser.end();
}
