/**
 * Regular expressions with RE2 syntax and semantics. `matches` runs on @bufbuild/re2 (linear
 * time: a hostile input cannot make it backtrack). `find` / `findAll` need match positions, which
 * that engine's matcher does not report: a Pike VM here runs RE2's compiled program to find them,
 * in linear time too, with Go's leftmost-first preferences.
 */
import { RE2JS } from "@bufbuild/re2";
import { chargeSize } from "./cost.js";
import { err } from "./values.js";

export interface CompiledRegex {
  readonly re2: RE2JS;
  readonly source: string;
}

const cache = new Map<string, CompiledRegex>();
const CACHE_LIMIT = 1000;

/** Compiles (and caches) an RE2 pattern; throws CelErr(invalid_argument) on bad syntax. */
export function compileRegex(pattern: string): CompiledRegex {
  const hit = cache.get(pattern);
  if (hit) return hit;
  let re2: RE2JS;
  try {
    re2 = RE2JS.compile(pattern);
  } catch (cause) {
    throw err("invalid_argument", `invalid regular expression '${pattern}': ${(cause as Error).message}`);
  }
  const compiled: CompiledRegex = { re2, source: pattern };
  if (cache.size >= CACHE_LIMIT) cache.delete(cache.keys().next().value as string);
  cache.set(pattern, compiled);
  return compiled;
}

/** Partial match (CEL `matches`): true when the pattern matches anywhere in `text`. */
export function regexMatches(re: CompiledRegex, text: string): boolean {
  chargeSize(text.length);
  return re.re2.test(text);
}

/** The parts of @bufbuild/re2's compiled program (RE2's instruction set) a matcher walks. */
interface Re2Inst {
  readonly op: number;
  readonly out: number;
  readonly arg: number;
  matchRune(rune: number): boolean;
}
interface Re2Program {
  readonly start: number;
  numInst(): number;
  getInst(pc: number): Re2Inst;
}
/** The instruction opcodes, static fields of the package's instruction class. */
interface Re2Ops {
  readonly ALT: number;
  readonly ALT_MATCH: number;
  readonly CAPTURE: number;
  readonly EMPTY_WIDTH: number;
  readonly MATCH: number;
  readonly NOP: number;
  readonly RUNE_ANY: number;
  readonly RUNE_ANY_NOT_NL: number;
}

// RE2's empty-width assertions (the EMPTY_WIDTH instruction's `arg` is a set of these).
const BEGIN_LINE = 0x01;
const END_LINE = 0x02;
const BEGIN_TEXT = 0x04;
const END_TEXT = 0x08;
const WORD_BOUNDARY = 0x10;
const NO_WORD_BOUNDARY = 0x20;

function isWordRune(r: number): boolean {
  return (r >= 0x61 && r <= 0x7a) || (r >= 0x41 && r <= 0x5a) || (r >= 0x30 && r <= 0x39) || r === 0x5f;
}

/** The assertions that hold between rune `before` and rune `after` (-1: start / end of the text). */
function emptyContext(before: number, after: number): number {
  let flags = 0;
  if (before < 0) flags |= BEGIN_TEXT | BEGIN_LINE;
  if (before === 0x0a) flags |= BEGIN_LINE;
  if (after < 0) flags |= END_TEXT | END_LINE;
  if (after === 0x0a) flags |= END_LINE;
  return flags | (isWordRune(before) !== isWordRune(after) ? WORD_BOUNDARY : NO_WORD_BOUNDARY);
}

/** Threads of the matcher for one text position, in priority order, each program counter once. */
class ThreadList {
  readonly pcs: Int32Array;
  readonly starts: Int32Array;
  private readonly slot: Int32Array;
  size = 0;
  constructor(n: number) {
    this.pcs = new Int32Array(n);
    this.starts = new Int32Array(n);
    this.slot = new Int32Array(n);
  }

  has(pc: number): boolean {
    const i = this.slot[pc] as number;
    return i < this.size && this.pcs[i] === pc;
  }

  push(pc: number, start: number): void {
    this.slot[pc] = this.size;
    this.pcs[this.size] = pc;
    this.starts[this.size] = start;
    this.size++;
  }
}

/**
 * A compiled pattern's program with its opcodes, and the matcher's working memory (matching is
 * synchronous and never re-entered): a DFS stack, two thread lists, and the start state's
 * closure per empty-width context (64 at most), most of the work at a position no thread reached.
 */
interface Machine {
  readonly prog: Re2Program;
  readonly ops: Re2Ops;
  /** The program decoded once: opcode, `out` and `arg` of each instruction. */
  readonly op: Int32Array;
  readonly out: Int32Array;
  readonly arg: Int32Array;
  readonly insts: readonly Re2Inst[];
  readonly stack: Int32Array;
  readonly lists: [ThreadList, ThreadList];
  readonly starts: (Int32Array | undefined)[];
}
const machines = new WeakMap<CompiledRegex, Machine>();

function machineOf(re: CompiledRegex): Machine {
  let machine = machines.get(re);
  if (machine === undefined) {
    const prog = re.re2.re2().prog as unknown as Re2Program;
    const n = prog.numInst();
    const insts = Array.from({ length: n }, (_, pc) => prog.getInst(pc));
    machine = {
      prog, ops: prog.getInst(0).constructor as unknown as Re2Ops, insts,
      op: Int32Array.from(insts, (i) => i.op), out: Int32Array.from(insts, (i) => i.out), arg: Int32Array.from(insts, (i) => i.arg),
      stack: new Int32Array(n + 1), lists: [new ThreadList(n), new ThreadList(n)], starts: [],
    };
    machines.set(re, machine);
  }
  return machine;
}

/** Adds the thread at `pc` and everything it reaches without consuming a rune (ALT: `out` first, the preferred branch). */
function addThread(m: Machine, list: ThreadList, pc0: number, start: number, context: number): void {
  const { ops, stack, op: ops_, out, arg } = m;
  let top = 0;
  stack[top++] = pc0;
  while (top > 0) {
    const pc = stack[--top] as number;
    if (list.has(pc)) continue;
    list.push(pc, start);
    const op = ops_[pc] as number;
    if (op === ops.ALT || op === ops.ALT_MATCH) {
      stack[top++] = arg[pc] as number;
      stack[top++] = out[pc] as number;
    } else if (op === ops.NOP || op === ops.CAPTURE) {
      stack[top++] = out[pc] as number;
    } else if (op === ops.EMPTY_WIDTH) {
      if (((arg[pc] as number) & ~context) === 0) stack[top++] = out[pc] as number;
    }
  }
}

/**
 * Adds a thread at the program start: its closure for this context, computed once, minus what the
 * list holds. INVARIANT (why that equals addThread): a program counter in the list has its whole
 * closure in the list already, added in this same position and context.
 */
function addStart(m: Machine, list: ThreadList, start: number, context: number): void {
  let closure = m.starts[context];
  if (closure === undefined) {
    const scratch = new ThreadList(m.stack.length);
    addThread(m, scratch, m.prog.start, 0, context);
    closure = scratch.pcs.slice(0, scratch.size);
    m.starts[context] = closure;
  }
  for (let i = 0; i < closure.length; i++) {
    const pc = closure[i] as number;
    if (!list.has(pc)) list.push(pc, start);
  }
}

function runeAt(text: string, i: number): number {
  return i < text.length ? (text.codePointAt(i) as number) : -1;
}

/** The code point that ends right before offset `i` (-1 at the start). */
function runeBefore(text: string, i: number): number {
  if (i === 0) return -1;
  const low = text.charCodeAt(i - 1);
  const high = i >= 2 ? text.charCodeAt(i - 2) : 0;
  return low >= 0xdc00 && low <= 0xdfff && high >= 0xd800 && high <= 0xdbff ? (text.codePointAt(i - 2) as number) : low;
}

/**
 * The leftmost-first match starting at or after `from` (UTF-16 offsets [start, end)), as RE2 and
 * Go's regexp find it: a Pike VM over RE2's compiled program, so the time is linear in the text
 * (pattern size × text length, charged to the budget) whatever the pattern.
 */
function firstMatch(re: CompiledRegex, text: string, from: number): [number, number] | undefined {
  const m = machineOf(re);
  const { ops } = m;
  let [current, next] = m.lists;
  current.size = 0;
  let match: [number, number] | undefined;
  let pos = from;
  let before = runeBefore(text, from);
  let steps = 0;
  for (;;) {
    const rune = runeAt(text, pos);
    const width = rune < 0 ? 0 : rune > 0xffff ? 2 : 1;
    // A thread starting here has the lowest priority; none once a match is found (leftmost).
    if (match === undefined) addStart(m, current, pos, emptyContext(before, rune));
    const nextContext = rune < 0 ? 0 : emptyContext(rune, runeAt(text, pos + width));
    next.size = 0;
    for (let k = 0; k < current.size; k++) {
      const pc = current.pcs[k] as number;
      const op = m.op[pc] as number;
      if (op === ops.MATCH) {
        // Threads after this one have a lower priority: a match here beats them.
        match = [current.starts[k] as number, pos];
        break;
      }
      if (rune < 0 || op === ops.ALT || op === ops.ALT_MATCH || op === ops.NOP || op === ops.CAPTURE || op === ops.EMPTY_WIDTH) continue;
      const accepts = op === ops.RUNE_ANY ? true : op === ops.RUNE_ANY_NOT_NL ? rune !== 0x0a : (m.insts[pc] as Re2Inst).matchRune(rune);
      if (accepts) addThread(m, next, m.out[pc] as number, current.starts[k] as number, nextContext);
    }
    steps += current.size;
    if (steps >= 4096) { chargeSize(steps); steps = 0; }
    if (rune < 0 || (next.size === 0 && match !== undefined)) break;
    [current, next] = [next, current];
    before = rune;
    pos += width;
  }
  chargeSize(steps);
  return match;
}

/** First match (the whole match text), or "" when none. */
export function regexFind(re: CompiledRegex, text: string): string {
  chargeSize(text.length);
  if (!re.re2.test(text)) return "";
  const match = firstMatch(re, text, 0);
  return match === undefined ? "" : text.slice(match[0], match[1]);
}

/**
 * All non-overlapping matches, at most `limit` (negative = all), as Go's FindAllString: after an
 * empty match the search moves on by one character, and an empty match right where the previous
 * match ended is not reported.
 */
export function regexFindAll(re: CompiledRegex, text: string, limit: number): string[] {
  chargeSize(text.length);
  if (limit === 0 || !re.re2.test(text)) return [];
  const out: string[] = [];
  let pos = 0;
  let previousEnd = -1;
  while (pos <= text.length && (limit < 0 || out.length < limit)) {
    const match = firstMatch(re, text, pos);
    if (match === undefined) break;
    const [start, end] = match;
    let accept = true;
    if (end === pos) {
      // An empty match at pos: step over one character.
      if (start === previousEnd) accept = false;
      const rune = runeAt(text, pos);
      pos += rune < 0 ? 1 : rune > 0xffff ? 2 : 1;
    } else {
      pos = end;
    }
    previousEnd = end;
    if (accept) out.push(text.slice(start, end));
  }
  return out;
}
