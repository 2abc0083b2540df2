import { toVigilError, VigilError } from "../core/errors.js";
import type { Storage } from "../core/ports.js";

/** An item the cache keeps: it knows whether it has unsaved changes, and when it was last used. */
export interface Cacheable {
  dirty: boolean;
  /** Cache access stamp (set by the cache). */
  lastUsed: number;
}

export interface DocCodec<T extends Cacheable> {
  readonly collection: string;
  /** A fresh item for a key the store does not know. */
  create(key: string): T;
  decode(key: string, value: unknown): T;
  encode(item: T): unknown;
}

/**
 * An LRU cache of documents of one Storage collection with dirty tracking and batched flush.
 * Recency is an access stamp on the item (no map reordering on reads); when the cache overflows,
 * the least recently used 10% are evicted in one pass.
 * INVARIANTS: a dirty item is never dropped — eviction moves it to a write-back list that the
 * next flush writes, and a lookup finds it there; concurrent loads of one key share one read;
 * the most recently used half of the cache is never evicted (items of builds in flight).
 */
export class DocCache<T extends Cacheable> {
  private readonly items = new Map<string, T>();
  private readonly evicted = new Map<string, T>();
  private readonly dirtyKeys = new Set<string>();
  private readonly loading = new Map<string, Promise<void>>();
  private tick = 0;

  constructor(
    private readonly storage: Storage,
    private readonly codec: DocCodec<T>,
    private maxItems: number,
    private flushBatch: number,
  ) {}

  get size(): number {
    return this.items.size;
  }

  get dirtyCount(): number {
    return this.dirtyKeys.size;
  }

  resize(maxItems: number, flushBatch: number): void {
    this.maxItems = maxItems;
    this.flushBatch = flushBatch;
    this.evictOverflow();
  }

  /** The cached item (marking it recently used), or undefined when it must be loaded first. */
  get(key: string): T | undefined {
    const item = this.items.get(key);
    if (item !== undefined) {
      item.lastUsed = ++this.tick;
      return item;
    }
    const pending = this.evicted.get(key);
    if (pending !== undefined) this.insert(key, pending);
    return pending;
  }

  /**
   * Makes sure the keys are in memory: one `getDocs` for all missing ones. Returns undefined
   * (no await needed) when everything is cached already, the common case on the hot path.
   */
  load(keys: readonly string[]): Promise<void> | undefined {
    let missing: string[] | undefined;
    let waits: Promise<void>[] | undefined;
    for (const key of keys) {
      if (this.items.has(key) || this.evicted.has(key)) continue;
      const inFlight = this.loading.get(key);
      if (inFlight) (waits ??= []).push(inFlight);
      else if (!missing?.includes(key)) (missing ??= []).push(key);
    }
    if (missing) {
      const read = this.read(missing);
      for (const key of missing) this.loading.set(key, read);
      (waits ??= []).push(read);
    }
    if (!waits) return undefined;
    return waits.length === 1 ? (waits[0] as Promise<void>) : Promise.all(waits).then(() => undefined);
  }

  private async read(keys: readonly string[]): Promise<void> {
    try {
      const docs = await this.storage.getDocs<unknown>(this.codec.collection, keys);
      const found = new Map(docs.map((doc) => [doc.id, doc.value]));
      for (const key of keys) {
        // A write that happened while reading wins over the stored copy.
        if (this.items.has(key) || this.evicted.has(key)) continue;
        const value = found.get(key);
        this.insert(key, value === undefined ? this.codec.create(key) : this.codec.decode(key, value));
      }
    } catch (error) {
      throw new VigilError("VIGIL_STORAGE", `context: reading ${this.codec.collection} failed: ${toVigilError(error).message}`, {}, error);
    } finally {
      for (const key of keys) this.loading.delete(key);
    }
  }

  /** The item, created empty when neither memory nor (already loaded) storage has it. */
  ensure(key: string): T {
    const item = this.get(key);
    if (item !== undefined) return item;
    const created = this.codec.create(key);
    this.insert(key, created);
    return created;
  }

  /** Puts an item in the cache (replacing what was there), e.g. after an API write. */
  set(key: string, item: T): void {
    this.items.delete(key);
    this.evicted.delete(key);
    this.insert(key, item);
    if (item.dirty) this.dirtyKeys.add(key);
  }

  markDirty(key: string, item: T): void {
    item.dirty = true;
    this.dirtyKeys.add(key);
    if (!this.items.has(key) && !this.evicted.has(key)) this.insert(key, item);
  }

  private insert(key: string, item: T): void {
    this.evicted.delete(key);
    item.lastUsed = ++this.tick;
    this.items.set(key, item);
    this.evictOverflow();
  }

  private evictOverflow(): void {
    if (this.items.size <= this.maxItems) return;
    const keep = Math.max(1, Math.floor(this.maxItems * 0.9));
    const remove = this.items.size - keep;
    const stamps = new Float64Array(this.items.size);
    let index = 0;
    for (const item of this.items.values()) stamps[index++] = item.lastUsed;
    stamps.sort();
    // Never evict the most recent half, even when asked to remove more (tiny caches).
    const cutoff = Math.min(stamps[remove - 1] ?? 0, this.tick - Math.ceil(this.maxItems / 2));
    let removed = 0;
    for (const [key, item] of this.items) {
      if (removed >= remove) break;
      if (item.lastUsed > cutoff) continue;
      this.items.delete(key);
      removed++;
      if (item.dirty) this.evicted.set(key, item);
    }
  }

  /** Writes every dirty item in batches of `flushBatch`. On failure the items stay dirty. */
  async flush(at: string): Promise<number> {
    if (this.dirtyKeys.size === 0) return 0;
    const keys = [...this.dirtyKeys];
    this.dirtyKeys.clear();
    let written = 0;
    for (let start = 0; start < keys.length; start += this.flushBatch) {
      const batch = keys.slice(start, start + this.flushBatch);
      const docs: { collection: string; id: string; value: unknown }[] = [];
      const flushed: [string, T][] = [];
      for (const key of batch) {
        const item = this.items.get(key) ?? this.evicted.get(key);
        if (!item || !item.dirty) continue;
        docs.push({ collection: this.codec.collection, id: key, value: this.codec.encode(item) });
        item.dirty = false;
        flushed.push([key, item]);
      }
      try {
        if (docs.length > 0) await this.storage.putDocs(docs, at);
      } catch (error) {
        for (const key of keys.slice(start)) {
          const item = this.items.get(key) ?? this.evicted.get(key);
          if (item) this.markDirty(key, item);
        }
        throw new VigilError("VIGIL_STORAGE", `context: writing ${this.codec.collection} failed: ${toVigilError(error).message}`, {}, error);
      }
      for (const [key, item] of flushed) if (!item.dirty && this.evicted.get(key) === item) this.evicted.delete(key);
      written += docs.length;
    }
    return written;
  }
}
