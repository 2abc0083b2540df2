/**
 * Test helper (run as a child process by sqlite-store.test.ts): appends decisions to a SQLite
 * file in small batches, to prove that separate processes keep one chain.
 * Usage: node --import tsx append-worker.fixture.ts <dbPath> <firstIndex> <batches> <batchSize>
 */
import { makeDraft } from "../storage-contract-fixtures.js";
import { createSqliteStorage } from "./index.js";

const [path, first, batches, batchSize] = process.argv.slice(2);
const storage = createSqliteStorage({ path: path ?? "", busyTimeoutMs: 20_000 });
await storage.init();
let index = Number(first);
for (let batch = 0; batch < Number(batches); batch++) {
  await storage.appendDecisions(Array.from({ length: Number(batchSize) }, () => makeDraft(index++)));
}
await storage.close();
