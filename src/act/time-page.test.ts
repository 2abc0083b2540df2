import { afterEach, describe, expect, it } from "vitest";
import { createSqliteStorage } from "../store/sqlite/index.js";
import { createTempStore, type TempStore } from "./test-support.js";
import { listDocsByTime, pageOf, timeCursor } from "./time-page.js";

interface Note {
  readonly id: string;
  readonly kind: string;
  readonly at: string;
}

describe("listDocsByTime", () => {
  let store: TempStore;
  afterEach(async () => { await store.dispose(); });

  /** More notes than one read of the store (500): ids in id order are the oldest first, `kind` alternates. */
  async function notes(count: number, extra: readonly Note[] = []): Promise<Note[]> {
    store = await createTempStore(createSqliteStorage);
    const all: Note[] = Array.from({ length: count }, (_, i) => ({ id: `n-${String(i).padStart(5, "0")}`, kind: i % 2 === 0 ? "even" : "odd", at: new Date(Date.parse("2025-01-01T00:00:00.000Z") + i * 1000).toISOString() }));
    await store.storage.putDocs([...all, ...extra].map((note) => ({ collection: "notes", id: note.id, value: note })), "2025-01-02T00:00:00.000Z");
    return all;
  }
  const list = (query: { limit?: number; after?: string; where?: Record<string, string>; order?: "newest" | "oldest" }) =>
    listDocsByTime<Note>(store.storage, "notes", { order: query.order ?? "newest", timeOf: (doc) => doc.value.at, ...query });

  it("finds the newest past the store's first read, and pages on from a cursor to the last one", async () => {
    const all = await notes(1203);
    const newestFirst = all.map((n) => n.id).reverse();
    expect((await list({ limit: 3 })).map((n) => n.id)).toEqual(newestFirst.slice(0, 3));
    const seen: string[] = [];
    for (let page = await list({ limit: 250 }); page.length > 0; page = await list({ limit: 250, after: timeCursor(page.at(-1)!.at, page.at(-1)!.id) })) seen.push(...page.map((n) => n.id));
    expect(seen).toEqual(newestFirst);
    expect((await list({ order: "oldest", limit: 2, where: { kind: "odd" } })).map((n) => n.id)).toEqual(["n-00001", "n-00003"]);
  });

  it("orders equal times by id and a time that does not parse as the oldest, dropping nothing", async () => {
    await notes(2, [{ id: "n-tie", kind: "even", at: "2025-01-01T00:00:01.000Z" }, { id: "n-bad", kind: "even", at: "yesterday" }]);
    expect((await list({})).map((n) => n.id)).toEqual(["n-tie", "n-00001", "n-00000", "n-bad"]);
    expect((await list({ order: "oldest" })).map((n) => n.id)).toEqual(["n-bad", "n-00000", "n-00001", "n-tie"]);
  });

  it("refuses a cursor it did not give, naming the field given", async () => {
    await notes(1);
    await expect(listDocsByTime<Note>(store.storage, "notes", { order: "newest", timeOf: (doc) => doc.value.at, after: "n-00000", cursorField: "after" }))
      .rejects.toMatchObject({ code: "VIGIL_BAD_INPUT", details: { field: "after" } });
  });
});

describe("pageOf", () => {
  it("gives a cursor after the page's last item only when a further item was read", () => {
    const cursorOf = (n: number) => `c${n}`;
    expect(pageOf([1, 2, 3], 2, cursorOf)).toEqual({ items: [1, 2], nextCursor: "c2" });
    expect(pageOf([1, 2], 2, cursorOf)).toEqual({ items: [1, 2] });
    expect(pageOf([], 2, cursorOf)).toEqual({ items: [] });
  });
});
