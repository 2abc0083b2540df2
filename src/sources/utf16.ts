/**
 * Input bytes that start with a UTF-16 byte order mark (`FF FE` little-endian, `FE FF`
 * big-endian: what Windows PowerShell 5's `>` and Out-File write) become text chunks; any other
 * input is handed on unchanged, its first bytes joined into one chunk (at least two, for the
 * callers that sniff a gzip header). Text chunks are already decoded and pass through.
 */
export async function decodeUtf16(input: AsyncIterator<string | Uint8Array> | AsyncIterable<string | Uint8Array> | Iterable<string | Uint8Array>): Promise<AsyncIterableIterator<string | Uint8Array>> {
  const source = iteratorOf(input);
  const head: Uint8Array[] = [];
  let size = 0;
  let done = false;
  while (size < 2) {
    const next = await source.next();
    if (next.done === true) {
      done = true;
      break;
    }
    if (typeof next.value === "string") return replayChunks([...head, next.value], source);
    head.push(next.value);
    size += next.value.byteLength;
  }
  const first = Buffer.concat(head);
  const encoding = first[0] === 0xff && first[1] === 0xfe ? "utf-16le" : first[0] === 0xfe && first[1] === 0xff ? "utf-16be" : undefined;
  const rest = done ? emptyChunks() : source;
  if (encoding === undefined) return replayChunks(first.byteLength > 0 ? [first] : [], rest);
  return decoded(first, rest, new TextDecoder(encoding));
}

/**
 * The text of a whole file's bytes: UTF-16 (little- or big-endian) when it starts with that byte
 * order mark, else UTF-8; the byte order mark is dropped either way.
 */
export function decodeTextBytes(bytes: Uint8Array): string {
  const encoding = bytes[0] === 0xff && bytes[1] === 0xfe ? "utf-16le" : bytes[0] === 0xfe && bytes[1] === 0xff ? "utf-16be" : "utf-8";
  return new TextDecoder(encoding).decode(bytes);
}

async function* replayChunks(head: ReadonlyArray<string | Uint8Array>, rest: AsyncIterator<string | Uint8Array>): AsyncGenerator<string | Uint8Array> {
  yield* head;
  for (;;) {
    const next = await rest.next();
    if (next.done === true) return;
    yield next.value;
  }
}

/** The text of UTF-16 bytes, chunk by chunk (a character split across chunks is kept whole; the BOM is dropped). */
async function* decoded(first: Uint8Array, rest: AsyncIterator<string | Uint8Array>, decoder: { decode(bytes?: Uint8Array, options?: { stream?: boolean }): string }): AsyncGenerator<string> {
  const text = decoder.decode(first, { stream: true });
  if (text.length > 0) yield text;
  for (;;) {
    const next = await rest.next();
    if (next.done === true) break;
    const chunk = typeof next.value === "string" ? next.value : decoder.decode(next.value, { stream: true });
    if (chunk.length > 0) yield chunk;
  }
  const tail = decoder.decode();
  if (tail.length > 0) yield tail;
}

async function* emptyChunks(): AsyncGenerator<string | Uint8Array> {
  // the input has ended
}

function iteratorOf(input: AsyncIterator<string | Uint8Array> | AsyncIterable<string | Uint8Array> | Iterable<string | Uint8Array>): AsyncIterator<string | Uint8Array> {
  if (Symbol.asyncIterator in input) return (input as AsyncIterable<string | Uint8Array>)[Symbol.asyncIterator]();
  if (Symbol.iterator in input) {
    const iterator = (input as Iterable<string | Uint8Array>)[Symbol.iterator]();
    return { next: async () => iterator.next() };
  }
  return input as AsyncIterator<string | Uint8Array>;
}
