/**
 * Every baseline keeps all its numbers in ONE Uint16Array (its "block"): one typed array costs
 * ~190 bytes of engine overhead, so a block per entity instead of one array per histogram,
 * series and ring keeps an entity under its memory budget. Sections (activity, series, idle
 * days) are appended as the entity needs them; 64-bit floats are stored as 4 u16 words.
 * INVARIANT: appending a section replaces the block; holders must re-read `block` after it.
 */

export interface BlockHolder {
  block: Uint16Array;
}

export const emptyBlock: Uint16Array = new Uint16Array(0);

/** Appends `length` zeroed words; returns the section's offset. */
export function appendSection(holder: BlockHolder, length: number): number {
  const offset = holder.block.length;
  const grown = new Uint16Array(offset + length);
  grown.set(holder.block);
  holder.block = grown;
  return offset;
}

const scratch = new Float64Array(1);
const scratchWords = new Uint16Array(scratch.buffer);

export function readF64(block: Uint16Array, at: number): number {
  scratchWords[0] = block[at] ?? 0;
  scratchWords[1] = block[at + 1] ?? 0;
  scratchWords[2] = block[at + 2] ?? 0;
  scratchWords[3] = block[at + 3] ?? 0;
  return scratch[0] ?? 0;
}

export function writeF64(block: Uint16Array, at: number, value: number): void {
  scratch[0] = value;
  block[at] = scratchWords[0] ?? 0;
  block[at + 1] = scratchWords[1] ?? 0;
  block[at + 2] = scratchWords[2] ?? 0;
  block[at + 3] = scratchWords[3] ?? 0;
}

const scratch32 = new Float32Array(1);
const scratch32Words = new Uint16Array(scratch32.buffer);

export function readF32(block: Uint16Array, at: number): number {
  scratch32Words[0] = block[at] ?? 0;
  scratch32Words[1] = block[at + 1] ?? 0;
  return scratch32[0] ?? 0;
}

export function writeF32(block: Uint16Array, at: number, value: number): void {
  scratch32[0] = value;
  block[at] = scratch32Words[0] ?? 0;
  block[at + 1] = scratch32Words[1] ?? 0;
}

export function readU32(block: Uint16Array, at: number): number {
  return ((block[at] ?? 0) | ((block[at + 1] ?? 0) << 16)) >>> 0;
}

export function writeU32(block: Uint16Array, at: number, value: number): void {
  block[at] = value & 0xffff;
  block[at + 1] = (value >>> 16) & 0xffff;
}
