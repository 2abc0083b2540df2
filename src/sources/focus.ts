import { EventTypes, type Event } from "../core/index.js";
import { CsvParser, type CsvField, type CsvRecord } from "./csv.js";
import { failure, place, position, problem, type Conversion, type FieldProblem, type IngestResult } from "./results.js";
import {
  createContentIdAllocator,
  defineField,
  isRecord,
  kindOf,
  nestingProblem,
  normalizeTimestamp,
  pathSegment,
  type ContentIdAllocator,
  type JsonRecord,
} from "./values.js";

/**
 * FinOps FOCUS 1.0 cost rows (CSV or JSON) → `org.finops.focus.cost`. Mapping: id = content hash
 * of the row (FOCUS rows have no id; identical rows in one input get `#2`, `#3`), source =
 * `/focus/<ProviderName>/<BillingAccountId>`, time = `ChargePeriodStart`, subject =
 * `ResourceId` (absent for rows without a resource, e.g. support fees), data = the row.
 *
 * CSV values are text, so CSV rows are typed as FOCUS defines the columns: an unquoted empty
 * value or unquoted `NULL` (any letter case: the specification's own scenarios write `null`) is null; Decimal columns become numbers; JSON columns (`Tags`,
 * `SkuPriceDetails`) become objects; everything else stays text. JSON rows are kept as sent.
 *
 * Order: the rows of one document are emitted ordered by `ChargePeriodStart` (stable: rows of
 * equal times keep the document's order). Exports come grouped by resource or account, and
 * the context learns spend per period from the events in arrival order: a document in its own
 * order would be learned as single rows, not period totals. A rejected row keeps its place;
 * every result keeps its own `row`/`line`/`index`. A CSV is buffered for this up to
 * `maxDocumentBytes` (256 MiB); a larger one is ordered within each part of that size only,
 * with a warning on the first result.
 */

type ColumnType = "decimal" | "datetime" | "json" | "string";

interface FocusColumn {
  readonly name: string;
  readonly type: ColumnType;
  /** Mandatory in FOCUS 1.0 (must be present in every row). */
  readonly mandatory: boolean;
  /** Mandatory and "Allows nulls: False". */
  readonly notNull: boolean;
  /**
   * Vigil needs a value (the event's time and source, the amounts cost policies read): null is
   * an error. Other not-null columns that are null only give a warning, so a provider's export
   * that bends the rule (Oracle's sample leaves ContractedCost null) is kept, visibly.
   */
  readonly needed: boolean;
}

const NEEDED = new Set(["BilledCost", "EffectiveCost", "BillingAccountId", "BillingCurrency", "ChargePeriodStart", "ChargePeriodEnd", "ProviderName"]);
const column = (name: string, type: ColumnType, mandatory: boolean, notNull = false): FocusColumn => ({ name, type, mandatory, notNull, needed: NEEDED.has(name) });

/**
 * FOCUS 1.0 columns with a type Vigil converts or a requirement Vigil checks. Feature level and
 * nullability per the FOCUS specification's column definitions (Mandatory columns introduced in
 * 0.5, 1.0-preview or 1.0).
 */
export const FOCUS_1_0_COLUMNS: readonly FocusColumn[] = [
  column("BilledCost", "decimal", true, true),
  column("BillingAccountId", "string", true, true),
  column("BillingAccountName", "string", true),
  column("BillingCurrency", "string", true, true),
  column("BillingPeriodEnd", "datetime", true, true),
  column("BillingPeriodStart", "datetime", true, true),
  column("ChargeCategory", "string", true, true),
  column("ChargeClass", "string", true),
  column("ChargeDescription", "string", true),
  column("ChargePeriodEnd", "datetime", true, true),
  column("ChargePeriodStart", "datetime", true, true),
  column("ContractedCost", "decimal", true, true),
  column("EffectiveCost", "decimal", true, true),
  column("InvoiceIssuerName", "string", true, true),
  column("ListCost", "decimal", true, true),
  column("PricingQuantity", "decimal", true),
  column("PricingUnit", "string", true),
  column("ProviderName", "string", true, true),
  column("PublisherName", "string", true, true),
  column("ServiceCategory", "string", true, true),
  column("ServiceName", "string", true, true),
  column("ConsumedQuantity", "decimal", false),
  column("ContractedUnitPrice", "decimal", false),
  column("ListUnitPrice", "decimal", false),
  column("CommitmentDiscountQuantity", "decimal", false),
  column("Tags", "json", false),
  column("SkuPriceDetails", "json", false),
];

/** The names of the FOCUS 1.0 mandatory columns. */
export const FOCUS_1_0_REQUIRED_COLUMNS: readonly string[] = FOCUS_1_0_COLUMNS.filter((c) => c.mandatory).map((c) => c.name);

const byName = new Map(FOCUS_1_0_COLUMNS.map((c) => [c.name, c]));
const DECIMAL = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

export interface FocusOptions {
  readonly ids?: ContentIdAllocator;
  /**
   * CSV: the most text (in characters) buffered to order rows by `ChargePeriodStart`; a larger
   * CSV is ordered within each part of this size. Default 256 MiB.
   */
  readonly maxDocumentBytes?: number;
}

const DEFAULT_MAX_DOCUMENT_BYTES = 256 * 1024 * 1024;

/**
 * The results of one FOCUS document ordered by the event time (`ChargePeriodStart`), stable
 * within equal times; rejected rows stay in their slots. Returns a new array; never throws.
 */
export function orderByChargePeriod(results: readonly IngestResult[]): IngestResult[] {
  const slots: number[] = [];
  const keyed: Array<{ result: IngestResult; at: number }> = [];
  results.forEach((result, i) => {
    if (!result.ok) return;
    slots.push(i);
    const at = result.event.time === undefined ? Number.NaN : Date.parse(result.event.time);
    keyed.push({ result, at: Number.isNaN(at) ? Number.POSITIVE_INFINITY : at });
  });
  keyed.sort((a, b) => (a.at === b.at ? 0 : a.at < b.at ? -1 : 1)); // Array.prototype.sort is stable
  const out = [...results];
  slots.forEach((slot, k) => {
    out[slot] = (keyed[k] as { result: IngestResult }).result;
  });
  return out;
}

/**
 * Checks one FOCUS row (an object of column → value): every mandatory column present, the
 * non-nullable ones Vigil needs not null, Decimal columns numbers (or numeric text), date-time
 * columns timestamps. Problems name the column (with `prefix.` when given); `warnings` list
 * other FOCUS 1.0 conformance gaps (a null in a non-nullable column Vigil does not need).
 * Never throws.
 */
export function checkFocusRow(row: unknown, prefix = ""): { problems: FieldProblem[]; warnings: string[] } {
  const at = (name: string): string => (prefix === "" ? name : `${prefix}.${name}`);
  if (!isRecord(row)) return { problems: [problem(prefix === "" ? "(row)" : prefix, `a FOCUS row is an object of column → value, got ${kindOf(row)}`)], warnings: [] };
  const problems: FieldProblem[] = [];
  const warnings: string[] = [];
  for (const spec of FOCUS_1_0_COLUMNS) {
    const present = Object.hasOwn(row, spec.name);
    const value = row[spec.name];
    if (!present) {
      if (spec.mandatory) problems.push(problem(at(spec.name), `required FOCUS 1.0 column ${spec.name} is missing: add the column to the export${spec.notNull ? " with a value in every row" : " (its value may be null)"}`));
      continue;
    }
    if (value === null || value === "") {
      if (spec.notNull && spec.needed) problems.push(problem(at(spec.name), `FOCUS 1.0 column ${spec.name} is null: it must have a value in every row`));
      else if (spec.notNull) warnings.push(`FOCUS 1.0 column ${spec.name} is null, which FOCUS 1.0 does not allow: the row is kept`);
      continue;
    }
    const decimal = spec.type === "decimal" ? decimalProblem(spec.name, value) : undefined;
    if (decimal !== undefined) problems.push(problem(at(spec.name), decimal));
    if (spec.type === "datetime" && normalizeTimestamp(value) === undefined) {
      problems.push(problem(at(spec.name), `FOCUS 1.0 column ${spec.name} is ${JSON.stringify(value)}, not a date-time: use ISO 8601 UTC, e.g. 2024-09-01T00:00:00Z`));
    }
  }
  return { problems, warnings };
}

/**
 * Why a Decimal column's value is not one, or undefined. A decimal past the range of a number
 * (`1e400`) reads as Infinity, which JSON writes as null: it is named as written (or, when
 * JSON.parse already made it Infinity, as out of range), not as "null".
 */
function decimalProblem(name: string, value: unknown): string | undefined {
  const outOfRange = `past the range of a number (about ±1.8e308): check the export, or scale the unit`;
  if (typeof value === "number") return Number.isFinite(value) ? undefined : `FOCUS 1.0 column ${name} is a number ${outOfRange}`;
  if (typeof value === "string" && DECIMAL.test(value.trim())) {
    return Number.isFinite(Number(value.trim())) ? undefined : `FOCUS 1.0 column ${name} is ${JSON.stringify(value)}, ${outOfRange}`;
  }
  return `FOCUS 1.0 column ${name} is ${JSON.stringify(value)}, not a decimal number: write it like 12.5`;
}

/** The problems of {@link checkFocusRow} (what rejects a row). Never throws. */
export function validateFocusRow(row: unknown, prefix = ""): FieldProblem[] {
  return checkFocusRow(row, prefix).problems;
}

/**
 * `serialized`: the row's deterministic text when the caller has one (CSV rows: JSON in header
 * order), which is cheaper to hash than canonical JSON.
 */
export function convertFocusRow(row: unknown, ids: ContentIdAllocator, extra: readonly FieldProblem[] = [], serialized?: string): Conversion {
  const checked = checkFocusRow(row);
  const deep = nestingProblem(row);
  const problems = [...extra, ...checked.problems, ...(deep === undefined ? [] : [deep])];
  if (problems.length > 0 || !isRecord(row)) return { problems };
  const resourceId = row["ResourceId"];
  const time = normalizeTimestamp(row["ChargePeriodStart"]);
  const event: Event = {
    specversion: "1.0",
    id: serialized === undefined ? ids.idFor(row) : ids.idForText(serialized),
    source: `/focus/${pathSegment(String(row["ProviderName"]))}/${pathSegment(String(row["BillingAccountId"]))}`,
    type: EventTypes.focusCost,
    ...(typeof resourceId === "string" && resourceId.length > 0 ? { subject: resourceId } : {}),
    ...(time === undefined ? {} : { time }),
    datacontenttype: "application/json",
    data: row,
  };
  return { event, warnings: checked.warnings };
}

/** One FOCUS row (a JSON object) → one event (`index` 0). Never throws. */
export function focusRowToEvent(row: unknown, options: FocusOptions = {}): IngestResult {
  return place(convertFocusRow(row, options.ids ?? createContentIdAllocator()), position(0));
}

/** FOCUS rows as a JSON array → one result per row (`row` = index + 1). Never throws. */
export function focusRowsToEvents(rows: readonly unknown[], options: FocusOptions = {}): IngestResult[] {
  const ids = options.ids ?? createContentIdAllocator();
  return orderByChargePeriod(rows.map((row, index) => {
    const conversion = convertFocusRow(row, ids);
    const pos = position(index, undefined, index + 1);
    return "problems" in conversion ? failure(conversion.problems, pos, "VIGIL_BAD_EVENT", `row ${index + 1}: `) : place(conversion, pos);
  }));
}

/**
 * Types one CSV value by its column spec (see module comment); a value that does not fit its
 * type is kept as text and reported in `problems`.
 */
function typedValue(name: string, spec: FocusColumn | undefined, field: CsvField, problems: FieldProblem[]): unknown {
  if (!field.quoted && (field.value === "" || /^null$/i.test(field.value))) return null;
  if (spec === undefined || spec.type === "string" || spec.type === "datetime") return field.value;
  const text = field.value.trim();
  if (text === "") return null;
  if (spec.type === "decimal") {
    // Kept as text when it is no finite number: checkFocusRow names it as written.
    if (DECIMAL.test(text) && Number.isFinite(Number(text))) return Number(text);
    if (!DECIMAL.test(text)) problems.push(problem(name, `FOCUS 1.0 column ${name} is ${JSON.stringify(field.value)}, not a decimal number: write it like 12.5`));
    return field.value;
  }
  try {
    const parsed: unknown = JSON.parse(field.value);
    if (isRecord(parsed)) return parsed;
  } catch {
    // reported below
  }
  problems.push(problem(name, `FOCUS 1.0 column ${name} is not a JSON object (${JSON.stringify(field.value.slice(0, 60))}): write key-value pairs as {"key": "value"}`));
  return field.value;
}

/**
 * Reads FOCUS CSV incrementally: feed text chunks, get one result per data row (`row` is the
 * 1-based data row, `line` the file line where the row starts; the header is line 1). A row
 * with a missing required column (or a malformed CSV record) is reported by row number and
 * column; the rest are processed.
 */
export class FocusCsvReader {
  private readonly parser = new CsvParser();
  private readonly ids: ContentIdAllocator;
  private header: string[] | undefined;
  /** The column spec of each header position (undefined for columns Vigil does not type). */
  private specs: Array<FocusColumn | undefined> = [];
  private headerProblems: FieldProblem[] = [];
  private headerLine = 1;
  private rows = 0;

  constructor(options: FocusOptions = {}) {
    this.ids = options.ids ?? createContentIdAllocator();
  }

  push(chunk: string): IngestResult[] {
    return this.records(this.parser.push(chunk));
  }

  end(): IngestResult[] {
    const out = this.records(this.parser.end());
    // A header with problems and no rows (an unclosed quote in it swallows them all) is reported.
    if (this.rows === 0 && this.headerProblems.length > 0) out.push(failure(this.headerProblems, position(0, this.headerLine)));
    return out;
  }

  private records(records: readonly CsvRecord[]): IngestResult[] {
    const out: IngestResult[] = [];
    for (const record of records) {
      if (this.header === undefined) {
        this.header = record.fields.map((f) => f.value.trim());
        this.specs = this.header.map((name) => byName.get(name));
        this.headerLine = record.line;
        if (record.error !== undefined) this.headerProblems.push(problem("(csv)", `the header on line ${record.line} is malformed CSV: ${record.error}`));
        const seen = new Set<string>();
        for (const name of this.header) {
          if (seen.has(name)) this.headerProblems.push(problem(name, `column ${name} appears twice in the header: keep one`));
          seen.add(name);
        }
        continue;
      }
      this.rows += 1;
      out.push(this.row(record, this.header));
    }
    return out;
  }

  private row(record: CsvRecord, header: readonly string[]): IngestResult {
    const pos = position(this.rows - 1, record.line, this.rows);
    if (record.error !== undefined) return failure([problem("(csv)", `malformed CSV on line ${record.line}: ${record.error}`)], pos);
    const problems: FieldProblem[] = [...this.headerProblems];
    if (record.fields.length > header.length) {
      problems.push(problem("(row)", `row ${this.rows} has ${record.fields.length} values but the header has ${header.length} columns: quote values that contain commas`));
    }
    const row: JsonRecord = {};
    // A short row stops early: its missing required columns are reported by name.
    const count = Math.min(header.length, record.fields.length);
    for (let i = 0; i < count; i++) {
      const name = header[i] as string;
      defineField(row, name, typedValue(name, this.specs[i], record.fields[i] as CsvField, problems));
    }
    // Checked before JSON.stringify, which runs out of stack on a deeply nested Tags value.
    const deep = nestingProblem(row);
    if (deep !== undefined) problems.push(deep);
    const conversion = convertFocusRow(row, this.ids, problems, problems.length === 0 ? JSON.stringify(row) : undefined);
    if ("problems" in conversion) return failure(dedupe(conversion.problems), pos, "VIGIL_BAD_EVENT", `row ${this.rows}: `);
    return place(conversion, pos);
  }
}

function dedupe(problems: readonly FieldProblem[]): FieldProblem[] {
  const seen = new Set<string>();
  return problems.filter((p) => {
    const key = `${p.field}\u0000${p.message}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

/** A whole FOCUS CSV text → one result per data row, ordered by `ChargePeriodStart`. Never throws. */
export function focusCsvToEvents(text: string, options: FocusOptions = {}): IngestResult[] {
  const reader = new FocusCsvReader(options);
  return orderByChargePeriod([...reader.push(text), ...reader.end()]);
}

/**
 * Reads FOCUS CSV (text or UTF-8 bytes, in chunks), yielding one result per data row ordered by
 * `ChargePeriodStart`. The rows are buffered (with the text they came from, up to
 * `maxDocumentBytes`) to be ordered; past that, each buffered part is ordered and yielded, and
 * the first result of the document says so.
 */
export async function* readFocusCsv(chunks: AsyncIterable<string | Uint8Array> | Iterable<string | Uint8Array>, options: FocusOptions = {}): AsyncGenerator<IngestResult> {
  const limit = options.maxDocumentBytes ?? DEFAULT_MAX_DOCUMENT_BYTES;
  const reader = new FocusCsvReader(options);
  const decoder = new TextDecoder("utf-8");
  let buffered: IngestResult[] = [];
  let size = 0;
  let split = false;
  const flush = (): IngestResult[] => {
    const part = orderByChargePeriod(buffered);
    buffered = [];
    size = 0;
    if (!split) {
      split = true;
      const first = part.findIndex((r) => r.ok);
      const result = part[first];
      if (result?.ok === true) {
        const warning = `this FOCUS CSV is larger than maxDocumentBytes (${limit}): its rows are ordered by ChargePeriodStart within each part of that size only, so spend of one period may be split across parts; sort the export by ChargePeriodStart, split it by billing period, or raise maxDocumentBytes`;
        part[first] = { ...result, warnings: [...(result.warnings ?? []), warning] };
      }
    }
    return part;
  };
  const step = Math.max(1, Math.min(64 * 1024, limit));
  const take = function* (text: string): Generator<IngestResult> {
    for (let at = 0; at < text.length; at += step) {
      const piece = text.slice(at, at + step);
      buffered.push(...reader.push(piece));
      size += piece.length;
      if (size > limit) yield* flush();
    }
  };
  for await (const chunk of chunks) yield* take(typeof chunk === "string" ? chunk : decoder.decode(chunk, { stream: true }));
  yield* take(decoder.decode());
  buffered.push(...reader.end());
  yield* orderByChargePeriod(buffered);
}

/** True when a CSV header line names FOCUS columns (at least 3 of the mandatory ones). */
export function looksLikeFocusHeader(line: string): boolean {
  const names = line.split(",").map((n) => n.trim().replace(/^"|"$/g, ""));
  return names.filter((n) => FOCUS_1_0_REQUIRED_COLUMNS.includes(n)).length >= 3;
}

/** True when a JSON object looks like a FOCUS row. */
export function looksLikeFocusRow(value: unknown): boolean {
  return isRecord(value) && FOCUS_1_0_REQUIRED_COLUMNS.filter((n) => Object.hasOwn(value, n)).length >= 3;
}
