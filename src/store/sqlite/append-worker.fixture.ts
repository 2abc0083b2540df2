/**
 * Test helper, run as a child process by sqlite-store.test.ts.
 *   decisions <dbPath> <firstIndex> <batches> <batchSize>: appends decision batches (several
 *     processes at once prove they keep one chain).
 *   events <dbPath> <count>: appends events one batch of 5 at a time and prints `acked <id>` for
 *     each once appendEvents resolved (the parent kills the process mid-way with SIGKILL).
 */
import { makeDraft, makeEvent } from "../storage-contract-fixtures.js";
import { createSqliteStorage } from "./index.js";

const [mode, path, ...rest] = process.argv.slice(2);
const storage = createSqliteStorage({ path: path ?? "", busyTimeoutMs: 20_000 });
await storage.init();
if (mode === "decisions") {
  const [first, batches, batchSize] = rest.map(Number);
  let index = first ?? 0;
  for (let batch = 0; batch < (batches ?? 0); batch++) {
    await storage.appendDecisions(Array.from({ length: batchSize ?? 1 }, () => makeDraft(index++)));
  }
} else if (mode === "events") {
  const count = Number(rest[0]);
  for (let index = 0; index < count; index += 5) {
    const events = Array.from({ length: 5 }, (_unused, offset) => makeEvent(index + offset));
    await storage.appendEvents(events, new Date().toISOString());
    process.stdout.write(events.map((event) => `acked ${event.id}\n`).join(""));
  }
}
await storage.close();
