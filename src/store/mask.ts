import { VigilError } from "../core/index.js";
import type { DecisionDraft } from "../core/index.js";

/**
 * Decision-record masking, after OPA's decision-log masking (`system.log.mask`): configured
 * paths in the draft's `input` are erased, or replaced with a fixed marker, before the record
 * is hashed and stored. The paths that were touched are recorded on the draft
 * (`masking.erased` / `masking.redacted`, like OPA's `erased` / `masked` event fields), so a
 * reader can tell "was never there" from "was removed".
 */

/** `remove`: delete the field (OPA's `remove`/erase). `redact`: keep the field, replace its value with the marker (OPA's `upsert`, applied only where the field exists). */
export type MaskMode = "remove" | "redact";

export interface MaskRule {
  /**
   * A JSON Pointer rooted at the draft (`/input/password`, `/input/user/ssn`) or a dotted path
   * (`input.headers.authorization`, a key that is not a name in brackets as CEL writes it:
   * `input.metadata.labels["app.kubernetes.io/name"]`). A `*` segment matches every item of an
   * array or every key of an object. A number segment indexes an array. Paths that do not exist
   * are ignored.
   */
  readonly path: string;
  /** Overrides the config's mode for this path. */
  readonly mode?: MaskMode;
}

export interface MaskConfig {
  readonly paths: readonly (string | MaskRule)[];
  /** Default `remove` (OPA's default). */
  readonly mode?: MaskMode;
  /** What `redact` writes in place of the value. Default `**REDACTED**`. */
  readonly marker?: string;
  /**
   * Also replace the masked values wherever else they appear in the draft — finding traces,
   * explanation text, actions, other input fields — with the marker. Default true: Vigil's
   * traces and explanations quote input values, so masking only `input` would leak them.
   * String values of at least `minScrubLength` characters (default 4) are scrubbed wherever they
   * appear; numbers, booleans and shorter strings where a trace step or explanation names their
   * path (numbers of at least `minScrubLength` digits also wherever they appear): see Scalars.
   */
  readonly scrubValues?: boolean;
  readonly minScrubLength?: number;
}

export const DEFAULT_MASK_MARKER = "**REDACTED**";

export interface MaskResult {
  /** The masked copy; unchanged subtrees are shared with the original, which is never mutated. */
  readonly input: unknown;
  /** JSON Pointers (from the draft root) of removed fields, in rule order. */
  readonly erased: readonly string[];
  /** JSON Pointers (from the draft root) of fields whose value was replaced by the marker. */
  readonly redacted: readonly string[];
  /** The original values at those pointers (for scrubbing their copies elsewhere). */
  readonly values: readonly unknown[];
  /** The pointer of each of `values` (same order). */
  readonly pointers: readonly string[];
}

export interface CompiledMask {
  readonly rules: readonly { readonly path: string; readonly mode: MaskMode }[];
  readonly marker: string;
  /** 0 when value scrubbing is off. */
  readonly minScrubLength: number;
  /** Masks an input value. Never throws, never mutates `input`. */
  apply(input: unknown): MaskResult;
}

interface ParsedRule {
  readonly path: string;
  readonly mode: MaskMode;
  /** Segments below `input`; `null` is the `*` wildcard. */
  readonly segments: readonly (string | null)[];
}

/**
 * Validates and compiles a mask configuration once. Throws VigilError(VIGIL_BAD_CONFIG) naming
 * the offending path (field `mask.paths[i]`) when a path is not rooted at `input` or is
 * malformed.
 */
export function compileMask(config: MaskConfig): CompiledMask {
  const defaultMode = config.mode ?? "remove";
  const marker = config.marker ?? DEFAULT_MASK_MARKER;
  if (defaultMode !== "remove" && defaultMode !== "redact") {
    throw new VigilError("VIGIL_BAD_CONFIG", `mask.mode must be "remove" or "redact", got ${JSON.stringify(defaultMode)}`, { field: "mask.mode" });
  }
  const rules: ParsedRule[] = config.paths.map((entry, index) => {
    const rule = typeof entry === "string" ? { path: entry } : entry;
    const mode = rule.mode ?? defaultMode;
    if (mode !== "remove" && mode !== "redact") {
      throw new VigilError("VIGIL_BAD_CONFIG", `mask.paths[${index}].mode must be "remove" or "redact", got ${JSON.stringify(mode)}`, { field: `mask.paths[${index}].mode` });
    }
    return { path: rule.path, mode, segments: parseMaskPath(rule.path, `mask.paths[${index}]`) };
  });
  return {
    rules: rules.map(({ path, mode }) => ({ path, mode })),
    marker,
    minScrubLength: config.scrubValues === false ? 0 : Math.max(1, config.minScrubLength ?? 4),
    apply(input: unknown): MaskResult {
      const erased: string[] = [];
      const redacted: string[] = [];
      const values: unknown[] = [];
      const pointers: string[] = [];
      let current = input;
      for (const rule of rules) {
        if (rule.segments.length === 0) {
          // The whole input.
          if (current === undefined) continue;
          values.push(current);
          pointers.push("/input");
          if (rule.mode === "remove") {
            erased.push("/input");
            current = undefined;
          } else {
            redacted.push("/input");
            current = marker;
          }
          continue;
        }
        current = applyRule(current, rule, 0, "/input", marker, { touched: rule.mode === "remove" ? erased : redacted, values, pointers });
      }
      // Removed array items held their place until every rule ran; now they leave their arrays.
      return { input: compactRemoved(current, input), erased, redacted, values, pointers };
    },
  };
}

/**
 * Returns the draft with its `input` masked and `masking` set, or the same draft when nothing
 * matched. With value scrubbing on (the default), copies of the masked string values elsewhere
 * in the draft (traces, explanation, actions, risk, labels, other input fields) are replaced with the
 * marker and counted in `masking.scrubbed`. Never mutates the caller's draft.
 */
export function maskDraft(draft: DecisionDraft, mask: CompiledMask | undefined): DecisionDraft {
  return maskForRecord(draft, mask, (value) => JSON.stringify(value)).draft;
}

/**
 * maskDraft plus the draft's serialization (`serialize`, e.g. canonical JSON), computed once:
 * the text is searched for copies of the masked values, and the slow scrubbing walk runs only
 * when one is there.
 */
export function maskForRecord(draft: DecisionDraft, mask: CompiledMask | undefined, serialize: (draft: DecisionDraft) => string): { readonly draft: DecisionDraft; readonly text: string } {
  if (mask === undefined || mask.rules.length === 0 || draft.input === undefined) return { draft, text: serialize(draft) };
  const result = mask.apply(draft.input);
  if (result.erased.length === 0 && result.redacted.length === 0) return { draft, text: serialize(draft) };
  const masking = {
    ...(result.erased.length > 0 ? { erased: result.erased } : {}),
    ...(result.redacted.length > 0 ? { redacted: result.redacted } : {}),
  };
  // Object spread of the whole draft stays on V8's fast clone path; rest destructuring does not.
  const masked: DecisionDraft = result.input === undefined ? withoutInput(draft, masking) : { ...draft, input: result.input, masking };
  const text = serialize(masked);
  const secrets = mask.minScrubLength > 0 ? withEscapedForms(collectSecrets(result.values, mask.minScrubLength)) : [];
  const scalars = mask.minScrubLength > 0 ? collectScalars(result.pointers, result.values, mask.minScrubLength) : NO_SCALARS;
  // Secrets appear in the text JSON-escaped; no hit means no copy survived anywhere.
  if (!containsAny(text, secrets, Math.max(mask.minScrubLength, 4)) && !scalars.appearIn(text)) return { draft: masked, text };
  const scrubber: Scrubber = { secrets, scalars: withPatterns(scalars), marker: mask.marker, quotedMarker: JSON.stringify(mask.marker), count: 0, minPrefix: Math.max(mask.minScrubLength, 4) };
  const replaced: Record<string, unknown> = {};
  for (const field of ["input", "findings", "explanation", "actions", "risk", "labels"] as const) {
    const value = masked[field];
    if (value === undefined) continue;
    const next = scrub(value, scrubber);
    if (next !== value) replaced[field] = next;
  }
  if (scrubber.count === 0) return { draft: masked, text }; // the hit was in a key or an id field
  const scrubbed = { ...masked, ...replaced, masking: { ...masking, scrubbed: scrubber.count } } as DecisionDraft;
  return { draft: scrubbed, text: serialize(scrubbed) };
}

function withoutInput(draft: DecisionDraft, masking: DecisionDraft["masking"]): DecisionDraft {
  const { input: _removed, ...rest } = draft;
  return { ...rest, ...(masking === undefined ? {} : { masking }) };
}

const MAX_SECRETS = 256;

/** String leaves of the masked values, longest first (so a longer secret is replaced before a shorter one inside it). */
function collectSecrets(values: readonly unknown[], minLength: number): string[] {
  const found: string[] = [];
  const stack: { value: unknown; depth: number }[] = [];
  for (const value of values) {
    // The common case — a password, a token — is a string at the masked path: no walk needed.
    if (typeof value === "string") {
      if (value.length >= minLength && !found.includes(value)) found.push(value);
    } else if (typeof value === "object" && value !== null) {
      stack.push({ value, depth: 0 });
    }
  }
  while (stack.length > 0 && found.length < MAX_SECRETS) {
    const { value, depth } = stack.pop()!;
    if (typeof value === "string") {
      if (value.length >= minLength && !found.includes(value)) found.push(value);
    } else if (typeof value === "object" && value !== null && depth < 64) {
      for (const item of Array.isArray(value) ? value : Object.values(value)) stack.push({ value: item, depth: depth + 1 });
    }
  }
  return found.length > 1 ? found.sort((a, b) => b.length - a.length) : found;
}

const NEEDS_ESCAPE = /["\\\u0000-\u001f\ud800-\udfff]/;

/**
 * The secrets plus, for each one JSON escapes (a quote, backslash, control character, lone
 * surrogate), its escaped form: explanations and messages quote values as JSON
 * (`input.password = "pa\"ss"`), so that is how the copy appears inside a string. Longest first.
 */
function withEscapedForms(secrets: readonly string[]): string[] {
  const all = [...secrets];
  for (const secret of secrets) {
    if (!NEEDS_ESCAPE.test(secret)) continue;
    const escaped = JSON.stringify(secret).slice(1, -1);
    if (escaped !== secret && !all.includes(escaped)) all.push(escaped);
  }
  return all.length > secrets.length ? all.sort((a, b) => b.length - a.length) : all;
}

/**
 * Does the serialized record still contain one of the secrets (as JSON-escaped text), or the start
 * of one followed by `...` (an explanation shortens a long value: `"eyJhbGciOi...`)?
 */
function containsAny(text: string, secrets: readonly string[], minPrefix: number): boolean {
  const forms: string[] = [];
  for (const secret of secrets) {
    const escaped = NEEDS_ESCAPE.test(secret) ? JSON.stringify(secret).slice(1, -1) : secret;
    if (text.includes(escaped)) return true;
    if (escaped.length > minPrefix) forms.push(escaped);
  }
  // A shortened copy ends right before "...": the characters there are a piece of a secret.
  if (forms.length === 0) return false;
  for (let at = text.indexOf("..."); at >= 0; at = text.indexOf("...", at + 3)) {
    if (at < minPrefix) continue;
    const tail = text.slice(at - minPrefix, at);
    if (forms.some((form) => form.includes(tail))) return true;
  }
  return false;
}

/** Replaces each shortened copy of `secret` in `text`: a start of it (at least `minPrefix` characters) right before `...`. */
function scrubShortened(text: string, secret: string, scrubber: { readonly marker: string; count: number; readonly minPrefix: number }): string {
  let out = text;
  let at = out.indexOf("...");
  while (at >= 0) {
    let length = Math.min(secret.length - 1, at);
    while (length >= scrubber.minPrefix && out.slice(at - length, at) !== secret.slice(0, length)) length--;
    if (length >= scrubber.minPrefix) {
      out = `${out.slice(0, at - length)}${scrubber.marker}${out.slice(at)}`;
      scrubber.count++;
      at = at - length + scrubber.marker.length;
    }
    at = out.indexOf("...", at + 3);
  }
  return out;
}

/** Copy-on-write replacement of every occurrence of a secret inside string leaves (and object keys' values, not keys). */
function scrub(value: unknown, scrubber: Scrubber): unknown {
  if (typeof value === "number") {
    if (scrubber.scalars.numbers.includes(value)) {
      scrubber.count++;
      return scrubber.marker;
    }
    return value;
  }
  if (typeof value === "string") {
    let text = value;
    for (const secret of scrubber.secrets) {
      if (text.includes(secret)) {
        const parts = text.split(secret);
        scrubber.count += parts.length - 1;
        text = parts.join(scrubber.marker);
      }
      if (secret.length > scrubber.minPrefix && text.includes("...") && text.includes(secret.slice(0, scrubber.minPrefix))) text = scrubShortened(text, secret, scrubber);
    }
    for (const { alias, pattern } of scrubber.scalars.named) {
      if (!text.includes(alias)) continue;
      text = text.replace(pattern, (_match, before: string, verb: string) => {
        scrubber.count++;
        return `${before}${alias}${verb}${scrubber.quotedMarker}`;
      });
    }
    for (const pattern of scrubber.scalars.numberPatterns) {
      text = text.replace(pattern, () => {
        scrubber.count++;
        return scrubber.marker;
      });
    }
    return text;
  }
  if (Array.isArray(value)) {
    let copy: unknown[] | undefined;
    for (let index = 0; index < value.length; index++) {
      const item: unknown = value[index];
      const next = scrub(item, scrubber);
      if (next !== item) {
        copy ??= value.slice();
        copy[index] = next;
      }
    }
    return copy ?? value;
  }
  if (isPlainObject(value)) {
    let copy: Record<string, unknown> | undefined;
    if (scrubber.scalars.byAlias.size > 0 && typeof value["expr"] === "string" && typeof value["kind"] === "string") copy = scrubTraceStep(value, scrubber);
    const source = copy ?? value;
    for (const key of Object.keys(source)) {
      const item = source[key];
      const next = scrub(item, scrubber);
      if (next !== item) {
        copy ??= { ...value };
        copy[key] = next;
      }
    }
    return copy ?? value;
  }
  return value;
}

interface Scrubber {
  readonly secrets: readonly string[];
  readonly scalars: ScalarPatterns;
  readonly marker: string;
  /** The marker as a JSON string, as explanation text quotes a value. */
  readonly quotedMarker: string;
  count: number;
  readonly minPrefix: number;
}

/**
 * Masked numbers, booleans and short strings: text search cannot find their copies (a 0, a
 * `true` or a 2-digit PIN appear everywhere), so they are scrubbed where a trace step or an
 * explanation line names their path — a step whose `expr` is the path, a trace `inputs` key, an
 * explanation's `path = value` / `path is value` / `path was value` / `path: value`. Numbers of at
 * least minScrubLength characters are copies wherever they appear (a number leaf equal to one, or
 * the number in text between non-digits), as long strings are.
 */
interface Scalars {
  /** Alias (`input.account`, `account`, `items[0].n`) → the masked value at that path. */
  readonly byAlias: ReadonlyMap<string, unknown>;
  readonly numbers: readonly number[];
  appearIn(text: string): boolean;
}

/** Scalars with their text patterns, compiled only when a record needs the walk (a RegExp per record costs more than the rest). */
interface ScalarPatterns extends Scalars {
  readonly named: readonly { readonly alias: string; readonly pattern: RegExp }[];
  readonly numberPatterns: readonly RegExp[];
}

const NO_SCALARS: Scalars = { byAlias: new Map(), numbers: [], appearIn: () => false };

function withPatterns(scalars: Scalars): ScalarPatterns {
  const named = [...scalars.byAlias].map(([alias, value]) => ({
    alias,
    // After a separator (start, space, bracket, comma), the path, the verb, the value as JSON, and no more of a number or a word.
    pattern: new RegExp(`(^|[\\s(\\[{,;])${escapeRegExp(alias)}( = | is | was |: )${escapeRegExp(JSON.stringify(value))}(?![\\w"]|\\.\\d)`, "g"),
  }));
  const numberPatterns = scalars.numbers.map((n) => new RegExp(`(?<![\\d.])${escapeRegExp(String(n))}(?!\\d|\\.\\d)`, "g"));
  return { ...scalars, named, numberPatterns };
}

/** Activation roots an input key cannot shadow (policy/activation.ts): `input.x` only, never `x`. */
const RESERVED_ROOTS = new Set(["input", "event", "context", "now", "variables"]);
const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;
const INDEX = /^(0|[1-9][0-9]*)$/;

/**
 * How a trace or an explanation spells the path below `input`: `input.a.b[0]`, `input.a.b.0`, and
 * `a.b[0]` (input keys are activation roots too); a key that is not a name as CEL indexes it,
 * `input.labels["app.kubernetes.io/name"]`.
 */
function pathAliases(segments: readonly string[]): string[] {
  if (segments.length === 0) return ["input"];
  const own: string[] = [];
  if (segments.every((segment) => IDENTIFIER.test(segment) || INDEX.test(segment))) own.push(segments.join("."));
  const bracketed = segments.map((segment, i) => (INDEX.test(segment) ? `[${segment}]` : !IDENTIFIER.test(segment) ? `[${JSON.stringify(segment)}]` : i === 0 ? segment : `.${segment}`)).join("");
  if (!own.includes(bracketed)) own.push(bracketed);
  const aliases = own.map((path) => (path.startsWith("[") ? `input${path}` : `input.${path}`));
  if (!RESERVED_ROOTS.has(segments[0]!) && IDENTIFIER.test(segments[0]!)) aliases.push(...own);
  return aliases;
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/** Aliases by pointer: the masked pointers repeat from record to record. */
const aliasCache = new Map<string, readonly string[]>();

function aliasesOf(pointer: string, segments: () => readonly string[]): readonly string[] {
  let aliases = aliasCache.get(pointer);
  if (aliases === undefined) {
    if (aliasCache.size >= 4096) aliasCache.clear();
    aliases = pathAliases(segments());
    aliasCache.set(pointer, aliases);
  }
  return aliases;
}

function collectScalars(pointers: readonly string[], values: readonly unknown[], minLength: number): Scalars {
  const byAlias = new Map<string, unknown>();
  const numbers: number[] = [];
  const stack: { value: unknown; pointer: string; depth: number }[] = [];
  for (let i = 0; i < values.length; i++) {
    const pointer = pointers[i];
    if (pointer !== undefined) stack.push({ value: values[i], pointer, depth: 0 });
  }
  while (stack.length > 0 && byAlias.size < MAX_SECRETS) {
    const { value, pointer, depth } = stack.pop()!;
    if (typeof value === "number" || typeof value === "boolean" || (typeof value === "string" && value.length < minLength)) {
      const segments = () => pointer.split("/").slice(2).map((segment) => segment.replace(/~1/g, "/").replace(/~0/g, "~"));
      for (const alias of aliasesOf(pointer, segments)) byAlias.set(alias, value);
      if (typeof value === "number" && Number.isFinite(value) && String(value).length >= minLength && !numbers.includes(value)) numbers.push(value);
    } else if (typeof value === "object" && value !== null && depth < 64) {
      for (const [key, item] of Array.isArray(value) ? value.entries() : Object.entries(value)) stack.push({ value: item, pointer: `${pointer}/${escapePointer(String(key))}`, depth: depth + 1 });
    }
  }
  if (byAlias.size === 0) return NO_SCALARS;
  const texts = numbers.map(String);
  // What a copy looks like in the serialized record: a trace step's expr, a trace inputs entry,
  // an explanation's `path = value` (JSON-escaped there: a string value's quotes are \").
  const appears = (text: string, alias: string, value: unknown): boolean => {
    const quoted = JSON.stringify(alias);
    // Inside a JSON string (an explanation line), the quotes of a bracketed key are escaped.
    const aliasInText = quoted.slice(1, -1);
    if (!text.includes(aliasInText)) return false;
    const json = JSON.stringify(value);
    const inText = typeof value === "string" ? JSON.stringify(json).slice(1, -1) : json;
    return text.includes(`"expr":${quoted}`) || text.includes(`${quoted}:${json}`)
      || text.includes(`${aliasInText} = ${inText}`) || text.includes(`${aliasInText} is ${inText}`) || text.includes(`${aliasInText} was ${inText}`) || text.includes(`${aliasInText}: ${inText}`);
  };
  return {
    byAlias, numbers,
    appearIn: (text) => {
      for (const [alias, value] of byAlias) if (appears(text, alias, value)) return true;
      return texts.some((n) => text.includes(n));
    },
  };
}

/** A trace step's own value when its expression is a masked path, and its `inputs` entries named by one; a copy when something changed. */
function scrubTraceStep(step: Record<string, unknown>, scrubber: Scrubber): Record<string, unknown> | undefined {
  const { byAlias } = scrubber.scalars;
  let copy: Record<string, unknown> | undefined;
  const expr = (step["expr"] as string).trim();
  if (byAlias.has(expr) && "value" in step && Object.is(step["value"], byAlias.get(expr))) {
    copy = { ...step, value: scrubber.marker };
    scrubber.count++;
  }
  const inputs = step["inputs"];
  if (isPlainObject(inputs)) {
    let replaced: Record<string, unknown> | undefined;
    for (const key of Object.keys(inputs)) {
      if (byAlias.has(key) && Object.is(inputs[key], byAlias.get(key))) {
        replaced ??= { ...inputs };
        replaced[key] = scrubber.marker;
        scrubber.count++;
      }
    }
    if (replaced !== undefined) copy = { ...(copy ?? step), inputs: replaced };
  }
  return copy;
}

/** Parses `/input/a/b`, `input.a.b`, `/input` or `input` into the segments below `input`. */
export function parseMaskPath(path: string, field = "mask.paths"): (string | null)[] {
  let raw: string[];
  if (path.startsWith("/")) {
    raw = path.slice(1).split("/").map((segment) => {
      if (/~[^01]|~$/.test(segment)) {
        throw new VigilError("VIGIL_BAD_CONFIG", `mask path ${JSON.stringify(path)}: "~" must be followed by 0 or 1 in a JSON Pointer (~0 is "~", ~1 is "/")`, { field });
      }
      return segment.replace(/~1/g, "/").replace(/~0/g, "~");
    });
  } else {
    const dotted = parseDottedPath(path, field);
    if (dotted[0] !== "input") {
      throw new VigilError("VIGIL_BAD_CONFIG", `mask path ${JSON.stringify(path)} must start with /input (JSON Pointer) or input. (dotted): only the decision's input is masked`, { field });
    }
    return dotted.slice(1);
  }
  if (raw[0] !== "input") {
    throw new VigilError("VIGIL_BAD_CONFIG", `mask path ${JSON.stringify(path)} must start with /input (JSON Pointer) or input. (dotted): only the decision's input is masked`, { field });
  }
  return raw.slice(1).map((segment) => (segment === "*" ? null : segment));
}

/**
 * The dotted form, with brackets as CEL spells a key that is not a name:
 * `input.metadata.labels["app.kubernetes.io/name"]` (a JSON string, or single-quoted with `\'`
 * and `\\`), `input.items[0]`, `input.items[*]` (every item). A bare `*` segment is the wildcard,
 * a quoted one (`["*"]`) the key `*`. Before brackets were read, `labels["app.kubernetes.io/name"]`
 * split at its dots into keys no input has, so the path masked nothing; anything this grammar
 * does not read is refused.
 */
function parseDottedPath(path: string, field: string): (string | null)[] {
  const refuse = (problem: string, at: number): never => {
    throw new VigilError("VIGIL_BAD_CONFIG", `mask path ${JSON.stringify(path)}: ${problem} at character ${at + 1}; write a key holding a dot, slash, bracket or quote in brackets (input.metadata.labels["app.kubernetes.io/name"]) or use a JSON Pointer (/input/metadata/labels/app.kubernetes.io~1name)`, { field });
  };
  const segments: (string | null)[] = [];
  let at = 0;
  const readName = (): void => {
    const start = at;
    while (at < path.length && path[at] !== "." && path[at] !== "[") at++;
    const name = path.slice(start, at);
    if (name === "") refuse("an empty segment", start);
    if (name.includes("]")) refuse(`"]" without its "["`, start + name.indexOf("]"));
    if (name.startsWith('"') || name.startsWith("'")) refuse("a quoted key outside brackets", start);
    segments.push(name === "*" ? null : name);
  };
  readName();
  while (at < path.length) {
    const char = path[at];
    if (char === ".") {
      at++;
      readName();
      continue;
    }
    if (char !== "[") refuse(`${JSON.stringify(char)} after a bracket (expected ".", "[" or the end)`, at);
    const open = at;
    at++;
    const quote = path[at];
    if (quote === '"' || quote === "'") {
      segments.push(readQuoted(path, at, quote, () => refuse(`an unterminated or malformed ${quote === '"' ? "JSON" : "single-quoted"} string`, at)));
      at = quotedEnd(path, at, quote);
    } else {
      const close = path.indexOf("]", at);
      const inner = close < 0 ? "" : path.slice(at, close);
      if (inner === "*") segments.push(null);
      else if (/^(0|[1-9][0-9]*)$/.test(inner)) segments.push(inner);
      else refuse('a bracket that holds neither an index (0, 1, ...), * nor a quoted key ("...")', open);
      at = close;
    }
    if (path[at] !== "]") refuse('a bracket without its "]"', open);
    at++;
  }
  return segments;
}

/** Index just past the closing `quote` of the string opening at `start` (`path.length` when unterminated). */
function quotedEnd(path: string, start: number, quote: string): number {
  let at = start + 1;
  while (at < path.length && path[at] !== quote) at += path[at] === "\\" ? 2 : 1;
  return Math.min(at + 1, path.length + 1);
}

/** The key a quoted string (JSON's double quotes, or single quotes with \' and \\) stands for; `fail` when malformed. */
function readQuoted(path: string, start: number, quote: string, fail: () => never): string {
  const end = quotedEnd(path, start, quote);
  if (end > path.length || path[end - 1] !== quote) return fail();
  const body = path.slice(start + 1, end - 1);
  if (quote === '"') {
    try {
      return JSON.parse(`"${body}"`) as string;
    } catch {
      return fail();
    }
  }
  if (/\\[^'\\]/.test(body)) return fail();
  return body.replace(/\\(['\\])/g, "$1");
}

function escapePointer(segment: string): string {
  return segment.replace(/~/g, "~0").replace(/\//g, "~1");
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** Copy-on-write: returns `node` itself when nothing under it changed. */
interface Touched {
  readonly touched: string[];
  readonly values: unknown[];
  readonly pointers: string[];
}

function applyRule(node: unknown, rule: ParsedRule, depth: number, pointer: string, marker: string, out: Touched): unknown {
  const { touched } = out;
  const segment = rule.segments[depth];
  if (segment === undefined) return node;
  const last = depth === rule.segments.length - 1;
  if (Array.isArray(node)) {
    const indices = matchingIndices(node, segment);
    if (indices.length === 0) return node;
    if (last && rule.mode === "remove") {
      // The item keeps its place (REMOVED) until every rule has run, so that the indices later
      // rules name are the original input's (removing /x/0 must not make /x/1 name the third item).
      const copy = node.slice();
      for (const index of indices) {
        touched.push(`${pointer}/${index}`);
        out.values.push(node[index]);
        out.pointers.push(`${pointer}/${index}`);
        copy[index] = REMOVED;
      }
      return copy;
    }
    let copy: unknown[] | undefined;
    for (const index of indices) {
      const childPointer = `${pointer}/${index}`;
      const next = last ? marker : applyRule(node[index], rule, depth + 1, childPointer, marker, out);
      if (last) {
        touched.push(childPointer);
        out.values.push(node[index]);
        out.pointers.push(childPointer);
      }
      if (next !== node[index] || last) {
        copy ??= node.slice();
        copy[index] = next;
      }
    }
    return copy ?? node;
  }
  if (!isPlainObject(node)) return node;
  const keys = segment === null ? Object.keys(node) : Object.hasOwn(node, segment) ? [segment] : [];
  if (keys.length === 0) return node;
  let copy: Record<string, unknown> | undefined;
  for (const key of keys) {
    const childPointer = `${pointer}/${escapePointer(key)}`;
    if (last) {
      touched.push(childPointer);
      out.values.push(node[key]);
      out.pointers.push(childPointer);
      copy ??= { ...node };
      if (rule.mode === "remove") delete copy[key];
      else copy[key] = marker;
      continue;
    }
    const next = applyRule(node[key], rule, depth + 1, childPointer, marker, out);
    if (next !== node[key]) {
      copy ??= { ...node };
      copy[key] = next;
    }
  }
  return copy ?? node;
}

/** Stands in for an array item a `remove` rule took out, until compactRemoved drops it. */
const REMOVED: unique symbol = Symbol("removed by a mask rule");

/** Indices a segment names, never one already removed. */
function matchingIndices(array: readonly unknown[], segment: string | null): number[] {
  if (segment === null) {
    const indices: number[] = [];
    for (let index = 0; index < array.length; index++) if (array[index] !== REMOVED) indices.push(index);
    return indices;
  }
  if (!/^(0|[1-9][0-9]*)$/.test(segment)) return [];
  const index = Number(segment);
  return index < array.length && array[index] !== REMOVED ? [index] : [];
}

/**
 * Drops the REMOVED placeholders. Walks only what the rules copied: a subtree identical to the
 * original's (`original`, same place) was not touched and holds none.
 */
function compactRemoved(node: unknown, original: unknown): unknown {
  if (node === original || typeof node !== "object" || node === null) return node;
  if (Array.isArray(node)) {
    const before = Array.isArray(original) ? original : undefined;
    let changed = false;
    const out: unknown[] = [];
    for (let index = 0; index < node.length; index++) {
      const item: unknown = node[index];
      if (item === REMOVED) {
        changed = true;
        continue;
      }
      const next = compactRemoved(item, before?.[index]);
      if (next !== item) changed = true;
      out.push(next);
    }
    return changed ? out : node;
  }
  // The rules' copies are this call's own: write into them.
  const before = isPlainObject(original) ? original : undefined;
  const record = node as Record<string, unknown>;
  for (const key of Object.keys(record)) {
    const item = record[key];
    const next = compactRemoved(item, before !== undefined && Object.hasOwn(before, key) ? before[key] : undefined);
    if (next !== item) record[key] = next;
  }
  return record;
}
