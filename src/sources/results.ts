import { VigilError, type Event } from "../core/index.js";

/**
 * One thing wrong with an input item: the field (a JSON path such as `data.request.uid`, an
 * HTTP header such as `ce-id`, or a column name such as `BilledCost`) and a sentence that
 * names the problem and the fix.
 */
export interface FieldProblem {
  readonly field: string;
  readonly message: string;
}

/** Where an item sits in its input. `index` is 0-based; `line` and `row` are 1-based. */
export interface ItemPosition {
  /** 0-based position among the items of the input (batch element, line, row, document). */
  readonly index: number;
  /** 1-based line in the file or stream where the item starts, for line-oriented inputs. */
  readonly line?: number;
  /** 1-based data row (header excluded), for CSV inputs. */
  readonly row?: number;
}

/** An item that became an event. `warnings` say what was adjusted (never silently). */
export interface IngestSuccess extends ItemPosition {
  readonly ok: true;
  readonly event: Event;
  readonly warnings?: readonly string[];
}

/**
 * An item that was rejected. `error` is a `VIGIL_BAD_EVENT` (or `VIGIL_BAD_INPUT` for input that
 * is not parseable at all) whose `details.field` is the first problem's field; `problems` lists
 * every problem found so a sender can fix them all at once.
 */
export interface IngestFailure extends ItemPosition {
  readonly ok: false;
  readonly error: VigilError;
  readonly problems: readonly FieldProblem[];
}

/** The outcome for one input item: good items are kept, bad items are reported, none dropped. */
export type IngestResult = IngestSuccess | IngestFailure;

/** What a single-item converter produces before it is given a position. */
export type Conversion =
  | { readonly event: Event; readonly warnings: readonly string[] }
  | { readonly problems: readonly FieldProblem[]; readonly code?: "VIGIL_BAD_EVENT" | "VIGIL_BAD_INPUT" };

export function problem(field: string, message: string): FieldProblem {
  return { field, message };
}

/** Position fields without `undefined` values (exactOptionalPropertyTypes). */
export function position(index: number, line?: number, row?: number): ItemPosition {
  return {
    index,
    ...(line === undefined ? {} : { line }),
    ...(row === undefined ? {} : { row }),
  };
}

/** Builds the VigilError for a list of problems (at least one). */
export function problemsToError(
  problems: readonly FieldProblem[],
  where: { line?: number; file?: string; prefix?: string } = {},
  code: "VIGIL_BAD_EVENT" | "VIGIL_BAD_INPUT" = "VIGIL_BAD_EVENT",
): VigilError {
  const first = problems[0] ?? problem("(input)", "the input was rejected");
  const message = `${where.prefix ?? ""}${problems.map((p) => p.message).join("; ")}`;
  return new VigilError(code, message, {
    field: first.field,
    ...(where.line === undefined ? {} : { line: where.line }),
    ...(where.file === undefined ? {} : { file: where.file }),
  });
}

export function failure(
  problems: readonly FieldProblem[],
  pos: ItemPosition,
  code: "VIGIL_BAD_EVENT" | "VIGIL_BAD_INPUT" = "VIGIL_BAD_EVENT",
  prefix?: string,
): IngestFailure {
  const where = { ...(pos.line === undefined ? {} : { line: pos.line }), ...(prefix === undefined ? {} : { prefix }) };
  const error = problemsToError(problems, where, code);
  return { ok: false, ...pos, error, problems };
}

export function success(event: Event, pos: ItemPosition, warnings: readonly string[] = []): IngestSuccess {
  return { ok: true, ...pos, event, ...(warnings.length > 0 ? { warnings } : {}) };
}

/** Gives a conversion its position in the input. */
export function place(conversion: Conversion, pos: ItemPosition): IngestResult {
  if ("event" in conversion) return success(conversion.event, pos, conversion.warnings);
  return failure(conversion.problems, pos, conversion.code ?? "VIGIL_BAD_EVENT");
}

/**
 * A one-line description of a result for logs and CLI output, e.g.
 * `item 3 (line 4): \`id\` is missing: ...`. Never throws.
 */
export function describeResult(result: IngestResult): string {
  const where = [
    result.row !== undefined ? `row ${result.row}` : undefined,
    result.line !== undefined ? `line ${result.line}` : undefined,
  ].filter((part) => part !== undefined);
  const prefix = `item ${result.index}${where.length > 0 ? ` (${where.join(", ")})` : ""}`;
  if (result.ok) {
    const notes = result.warnings && result.warnings.length > 0 ? ` [${result.warnings.join("; ")}]` : "";
    return `${prefix}: ${result.event.type} ${result.event.id}${notes}`;
  }
  return `${prefix}: ${result.error.message}`;
}
