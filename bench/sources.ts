/**
 * Sources stage throughput: how fast wire formats become validated CloudEvents, side by side
 * with the floor each adapter cannot beat (JSON.parse alone, a naive CSV split, HMAC alone).
 *
 *   npx tsx bench/sources.ts [--quick]
 *
 * Inputs are built from the repository's real fixtures (Cloud Custodian CloudTrail records,
 * FOCUS sample rows, octokit's pull_request payload), repeated to a few tens of thousands of
 * items. Each subject runs for a short timed window; the machine is shared, so figures vary.
 */
import { readdirSync, readFileSync } from "node:fs";
import { createHmac } from "node:crypto";
import { pathToFileURL } from "node:url";
import {
  createMemoryDeliveryIdStore,
  readFocusCsv,
  ingestText,
  parseCloudEventBatch,
  readJsonLines,
  receiveGithubWebhook,
  signGithubPayload,
} from "../src/sources/index.js";
import { repoRoot } from "./harness/paths.js";

const quick = process.argv.includes("--quick");
const windowMs = quick ? 300 : 1500;
const fixtures = pathToFileURL(`${repoRoot}/test/fixtures/`);
const read = (path: string): string => readFileSync(new URL(path, fixtures), "utf8");

const cwe = new URL("cloud-custodian/cwe/", fixtures);
const records = readdirSync(cwe)
  .map((name) => JSON.parse(readFileSync(new URL(name, cwe), "utf8")) as Record<string, unknown>)
  .filter((value) => "eventSource" in value && "eventID" in value);
const COUNT = quick ? 5_000 : 20_000;
const events = Array.from({ length: COUNT }, (_, i) => {
  const record = records[i % records.length] as Record<string, unknown>;
  return { specversion: "1.0", id: `e-${i}`, source: "aws.cloudtrail", type: "com.amazonaws.cloudtrail", time: "2016-02-11T15:31:57Z", data: { ...record, eventID: `e-${i}` } };
});
const jsonl = events.map((e) => JSON.stringify(e)).join("\n");
const recordsFile = JSON.stringify({ Records: events.map((e) => e.data) });
const focus = read("focus-sample-data/focus_sample_300.csv").split("\n").filter((l) => l.length > 0);
const focusCsv = [focus[0], ...Array.from({ length: COUNT }, (_, i) => focus[1 + (i % (focus.length - 1))])].join("\n");
const githubBody = readFileSync(new URL("octokit-webhooks-examples/pull_request/00-opened.json", fixtures));

async function* chunksOf(text: string, size: number): AsyncGenerator<string> {
  for (let i = 0; i < text.length; i += size) yield text.slice(i, i + size);
}

/** Runs `run` (which processes `items` items) repeatedly for the window; returns items/s. */
async function rate(items: number, run: () => unknown): Promise<number> {
  await run();
  let done = 0;
  const started = performance.now();
  while (performance.now() - started < windowMs) {
    await run();
    done += items;
  }
  return done / ((performance.now() - started) / 1000);
}

function row(name: string, vigil: number, floorName: string, floor: number, unit: string): void {
  const fmt = (n: number): string => Math.round(n).toLocaleString("en-US").padStart(12);
  console.log(`${name.padEnd(34)} ${fmt(vigil)} ${unit}   ${floorName.padEnd(22)} ${fmt(floor)} ${unit}   ratio ${(vigil / floor).toFixed(2)}`);
}

async function main(): Promise<void> {
  console.log(`sources bench (${COUNT} items per run, ${windowMs} ms windows, shared 2-core machine: figures vary)`);

  const jsonLines = await rate(COUNT, async () => {
    let n = 0;
    for await (const result of readJsonLines([jsonl])) if (result.ok) n++;
    if (n !== COUNT) throw new Error(`expected ${COUNT} events, got ${n}`);
  });
  const parseOnly = await rate(COUNT, () => jsonl.split("\n").map((line) => JSON.parse(line) as unknown));
  row("JSON Lines → CloudEvents", jsonLines, "split + JSON.parse", parseOnly, "ev/s");

  const parsed = events.map((e) => JSON.parse(JSON.stringify(e)) as unknown);
  const batch = await rate(COUNT, () => parseCloudEventBatch(parsed));
  const copy = await rate(COUNT, () => parsed.map((e) => ({ ...(e as object) })));
  row("CloudEvents batch validation", batch, "shallow copy", copy, "ev/s");

  const trail = await rate(COUNT, async () => (await ingestText(recordsFile)).results.length);
  const trailFloor = await rate(COUNT, () => (JSON.parse(recordsFile) as { Records: unknown[] }).Records.length);
  row("CloudTrail Records file → events", trail, "JSON.parse", trailFloor, "ev/s");

  // Streamed in 64 KiB chunks, results consumed as they come (what `vigil ingest` does).
  const csv = await rate(COUNT, async () => {
    let n = 0;
    for await (const result of readFocusCsv(chunksOf(focusCsv, 65_536))) if (result.ok) n++;
    if (n !== COUNT) throw new Error(`expected ${COUNT} rows, got ${n}`);
  });
  const naive = await rate(COUNT, () => focusCsv.split("\n").map((line) => line.split(",")));
  row("FOCUS CSV (streamed) → events", csv, "naive split(',')", naive, "rows/s");

  const secret = "bench-secret";
  const signature = signGithubPayload(secret, githubBody);
  let delivery = 0;
  const deliveries = createMemoryDeliveryIdStore({ capacity: 100_000 });
  const github = await rate(1, async () => {
    const result = await receiveGithubWebhook(
      { headers: { "x-github-event": "pull_request", "x-github-delivery": `d-${delivery++}`, "x-hub-signature-256": signature, "content-type": "application/json" }, body: githubBody },
      { secrets: [secret], deliveries },
    );
    if (!result.ok) throw result.error;
  });
  const hmac = await rate(1, () => createHmac("sha256", secret).update(githubBody).digest());
  row(`GitHub webhook (${Math.round(githubBody.length / 1024)} KB payload)`, github, "HMAC alone", hmac, "req/s");
}

await main();
