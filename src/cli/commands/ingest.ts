import { createAgent } from "../../agent.js";
import { isVigilError, VigilError } from "../../core/errors.js";
import type { Event } from "../../core/event.js";
import { ingestStream, type IngestFailure, type IngestFormat, type IngestResult, type IngestSuccess } from "../../sources/index.js";
import { flag, stringOption, write, type CliIo, type Command, type ParsedArgs } from "../command.js";
import { apiClient, serverOptions, type ApiClient } from "../client.js";
import { configFrom, configOption, openInputFile, outputFormat, outputOption } from "../shared.js";

interface Tally {
  read: number;
  accepted: number;
  duplicates: number;
  rejected: number;
  problems: { index: number; line?: number; row?: number; message: string; code: string; field?: string }[];
  /** Accepted items the adapter had something to say about (a FOCUS row breaking the spec, say). */
  warnings: { index: number; line?: number; row?: number; message: string }[];
}

/** What --format takes: every format detection can name (not "unknown"). */
const INGEST_FORMATS = ["json-lines", "cloudevent", "cloudevents-batch", "cloudtrail-records", "cloudtrail-record", "eventbridge", "okta-log", "okta-event", "focus-csv", "focus-json", "kubernetes", "kubernetes-yaml", "admission-review", "terraform-plan", "json-array"] as const satisfies readonly IngestFormat[];

/** The field of a failure that is the whole input's (no known format, not JSON, a broken .gz): exit 2, not an item rejected. */
const INPUT = "(input)";

const where = (item: { index: number; line?: number | undefined; row?: number | undefined }, field?: string): string =>
  field === INPUT ? "the input" : item.line !== undefined ? `line ${item.line}` : item.row !== undefined ? `row ${item.row}` : `item ${item.index}`;

/** Where an item sits, and only that (a result also carries its event or error). */
const placeOf = (item: { index: number; line?: number | undefined; row?: number | undefined }): { index: number; line?: number; row?: number } =>
  ({ index: item.index, ...(item.line !== undefined ? { line: item.line } : {}), ...(item.row !== undefined ? { row: item.row } : {}) });

function reportProblem(io: CliIo, tally: Tally, json: boolean, item: { index: number; line?: number | undefined; row?: number | undefined }, error: { code: string; message: string; field?: string }): void {
  tally.rejected++;
  tally.problems.push({ ...placeOf(item), message: error.message, code: error.code, ...(error.field ? { field: error.field } : {}) });
  // The place named once: some messages start with it ("line 3 is not valid JSON", "row 2: ...").
  const place = where(item, error.field);
  const named = error.message.startsWith(`${place} `) || error.message.startsWith(`${place}:`);
  if (!json) write(io.stderr, `rejected ${named ? "" : `${place}: `}${error.message} [${error.code}]`);
}

/** A result the adapter rejected, reported with its own message (describeResult would name its place again). */
function reportRejected(io: CliIo, tally: Tally, json: boolean, item: IngestFailure): void {
  reportProblem(io, tally, json, item, { code: item.error.code, message: item.error.message, ...(item.error.details.field ? { field: item.error.details.field } : {}) });
}

/** An item read with warnings is still sent; each warning is reported with its place. */
function reportWarnings(io: CliIo, tally: Tally, json: boolean, item: IngestSuccess): void {
  for (const message of item.warnings ?? []) {
    tally.warnings.push({ ...placeOf(item), message });
    if (!json) write(io.stderr, `warning ${where(item)}: ${message}`);
  }
}

const sleep = (ms: number): Promise<void> => new Promise((done) => setTimeout(done, ms));

interface ItemOutcome { readonly index: number; readonly status: string; readonly error?: { code: string; message: string; field?: string } }

/** Posts one batch; retries on 429 after Retry-After. Returns per-item outcomes in batch order. */
async function postBatch(client: ApiClient, events: readonly Event[], io: CliIo, maxRetries: number): Promise<ItemOutcome[]> {
  for (let attempt = 0; ; attempt++) {
    const response = await client.request<{ results?: ItemOutcome[]; error?: { message: string } }>("POST", "/v1/events", { body: events, contentType: "application/cloudevents-batch+json", accept: [400, 429] });
    if (response.status === 429) {
      if (attempt >= maxRetries) throw new VigilError("VIGIL_BACKPRESSURE", `the server's ingest queue stayed full after ${maxRetries} retries; try again later or send smaller batches (--batch)`, { field: "--batch" });
      const seconds = Number(response.headers.get("retry-after") ?? "1");
      write(io.stderr, `server busy (429): retrying in ${seconds}s`);
      await sleep(Math.max(0.1, Number.isFinite(seconds) ? seconds : 1) * 1000);
      continue;
    }
    if (!response.body.results) throw new VigilError("VIGIL_BAD_INPUT", `the server rejected the batch: ${response.body.error?.message ?? `HTTP ${response.status}`}`);
    return response.body.results;
  }
}

/**
 * Events per API request (--batch), checked before anything is read; an option --direct would
 * ignore (it sends nothing: the configured ingest.batchSize applies) is refused naming it.
 */
function batchSize(args: ParsedArgs): number {
  if (flag(args, "direct")) {
    for (const option of ["batch", "server"]) {
      if (args.values[option] !== undefined) throw new VigilError("VIGIL_BAD_INPUT", `--${option} does not apply with --direct (nothing is sent to a server; ingest.batchSize sets the store's batches): drop one of them`, { field: `--${option}` });
    }
    return 0;
  }
  const size = Number(stringOption(args, "batch") ?? "500");
  if (!Number.isInteger(size) || size < 1) throw new VigilError("VIGIL_BAD_INPUT", "--batch must be a positive whole number", { field: "--batch" });
  return size;
}

async function ingestThroughApi(args: ParsedArgs, io: CliIo, results: AsyncIterable<IngestResult>, tally: Tally, json: boolean, size: number): Promise<void> {
  const client = apiClient(args, io);
  let batch: IngestSuccess[] = [];
  const flush = async (): Promise<void> => {
    if (batch.length === 0) return;
    const sent = batch;
    batch = [];
    const outcomes = await postBatch(client, sent.map((item) => item.event), io, 30);
    outcomes.forEach((outcome, i) => {
      const item = (sent[outcome.index] ?? sent[i]) as IngestSuccess;
      if (outcome.status === "accepted") tally.accepted++;
      else if (outcome.status === "duplicate") tally.duplicates++;
      else reportProblem(io, tally, json, item, outcome.error ?? { code: "VIGIL_BAD_EVENT", message: "rejected by the server" });
    });
  };
  for await (const item of results) {
    tally.read++;
    if (!item.ok) {
      reportRejected(io, tally, json, item);
      continue;
    }
    reportWarnings(io, tally, json, item);
    batch.push(item);
    if (batch.length >= size) await flush();
  }
  await flush();
}

async function ingestDirect(args: ParsedArgs, io: CliIo, results: AsyncIterable<IngestResult>, tally: Tally, json: boolean): Promise<void> {
  const agent = await createAgent(configFrom(args, io), { role: "all" });
  try {
    await agent.start();
    let batch: Event[] = [];
    const flush = async (): Promise<void> => {
      if (batch.length === 0) return;
      const events = batch;
      batch = [];
      for (;;) {
        try {
          const accepted = await agent.ingest(events);
          tally.accepted += accepted.stored.length;
          tally.duplicates += accepted.duplicates.length;
          return;
        } catch (error) {
          if (!isVigilError(error) || error.code !== "VIGIL_BACKPRESSURE") throw error;
          await agent.ingestor.idle();
        }
      }
    };
    for await (const item of results) {
      tally.read++;
      if (!item.ok) {
        reportRejected(io, tally, json, item);
        continue;
      }
      reportWarnings(io, tally, json, item);
      batch.push(item.event);
      if (batch.length >= agent.config.ingest.batchSize) await flush();
    }
    await flush();
    await agent.ingestor.idle();
  } finally {
    await agent.close();
  }
}

export const ingestCommand: Command = {
  path: ["ingest"],
  summary: "Ingest events from a file or stdin (CloudEvents, CloudTrail, EventBridge, Okta, FOCUS CSV/JSON, Kubernetes) through the server's API, or --direct into the store",
  args: "<file | ->",
  description: [
    "The format is detected (gzip too); --format skips detection. Every input item becomes a CloudEvent; bad items are reported with their line/row and the good ones are sent.",
    "By default the events go to the running server (POST /v1/events, token with the ingest role); a full queue (429) is retried after Retry-After.",
    "--direct writes into the configured store and decides the events in this process (when no server runs on that store).",
    "Exit code: 0 all accepted (or duplicates), 1 some items rejected, 2 the input or the server could not be used.",
  ].join("\n"),
  options: {
    ...serverOptions,
    ...configOption,
    ...outputOption,
    direct: { type: "boolean", description: "Write into the configured store and process here instead of calling the server" },
    format: { type: "string", value: "<format>", description: `Input format instead of detection: ${INGEST_FORMATS.join(", ")}`, choices: INGEST_FORMATS },
    batch: { type: "string", value: "<n>", description: "Events per API request (default 500; not with --direct)" },
  },
  examples: ["vigil ingest cloudtrail.json.gz --token $VIGIL_TOKEN", "kubectl get pods -A -o json | vigil ingest -", "vigil ingest --direct focus.csv"],
  async run(args, io) {
    const path = args.positionals[0];
    if (!path) throw new VigilError("VIGIL_BAD_INPUT", "missing <file>: name a file, or - for stdin", { field: "file" });
    const json = outputFormat(args) === "json";
    const size = batchSize(args);
    const format = stringOption(args, "format") as IngestFormat | undefined;
    const input = path === "-" ? io.stdin : await openInputFile(path, io);
    const outcome = await ingestStream(input as AsyncIterable<Uint8Array>, { ...(format ? { format } : {}), ...(path !== "-" ? { file: path } : {}) });
    const tally: Tally = { read: 0, accepted: 0, duplicates: 0, rejected: 0, problems: [], warnings: [] };
    if (flag(args, "direct")) await ingestDirect(args, io, outcome.results, tally, json);
    else await ingestThroughApi(args, io, outcome.results, tally, json, size);
    if (json) write(io.stdout, JSON.stringify({ format: outcome.format, ...tally }, null, 2));
    else write(io.stdout, `ingest (${outcome.format}): ${tally.read} read, ${tally.accepted} accepted, ${tally.duplicates} duplicates, ${tally.rejected} rejected${tally.warnings.length > 0 ? `, ${tally.warnings.length} warnings` : ""}`);
    return tally.problems.some((problem) => problem.field === INPUT) ? 2 : tally.rejected > 0 ? 1 : 0;
  },
};
