/**
 * Kyverno validate `pattern` matching with every anchor: conditional `(k)`, equality `=(k)`,
 * existence `^(k)`, negation `X(k)`, global `<(k)`. Follows the semantics of Kyverno's
 * validate engine: anchors are evaluated before plain keys; a failing conditional or global
 * anchor makes the rule not apply (skip); inside an array of maps, elements whose conditions do
 * not hold are skipped, and the array is skipped only when no element applied.
 */
import { matchValue } from "./pattern-value.js";
import { wildcardMatch, hasWildcard } from "./wildcard.js";

export type AnchorKind = "condition" | "equality" | "existence" | "negation" | "global" | "add";

export interface ParsedKey {
  readonly key: string;
  readonly anchor?: AnchorKind;
}

const anchorPrefixes: readonly [string, AnchorKind][] = [["=(", "equality"], ["^(", "existence"], ["X(", "negation"], ["<(", "global"], ["+(", "add"], ["(", "condition"]];

/** Splits an anchored pattern key (`=(name)`) into its key and anchor kind. */
export function parseKey(raw: string): ParsedKey {
  if (raw.endsWith(")")) {
    for (const [prefix, anchor] of anchorPrefixes) {
      if (raw.startsWith(prefix) && raw.length > prefix.length + 1) return { key: raw.slice(prefix.length, -1), anchor };
    }
  }
  return { key: raw };
}

const parsedKeys = new Map<string, ParsedKey>();

/** parseKey, once per distinct key (pattern keys come from a bounded set of policies). */
function parsedKey(raw: string): ParsedKey {
  let parsed = parsedKeys.get(raw);
  if (parsed === undefined) {
    parsed = parseKey(raw);
    if (parsedKeys.size > 50_000) parsedKeys.clear();
    parsedKeys.set(raw, parsed);
  }
  return parsed;
}

/** One key of a pattern map, parsed, in the order Kyverno checks them. */
interface PlannedKey extends ParsedKey {
  readonly raw: string;
  readonly value: unknown;
}

/**
 * How a pattern map is checked, in Kyverno's validateMap order: the condition, existence and negation
 * anchors in key order; then (getSortedNestedAnchorResource) the global anchors and the keys whose
 * value holds an anchor, in reverse key order; then the other keys in key order.
 */
interface MapPlan {
  /** Some key has a wildcard: the plan depends on the resource (see expandWildcardKeys). */
  readonly wildcard: boolean;
  readonly order: readonly PlannedKey[];
  /** Keys whose presence is tracked to tell "missing" errors from failures. */
  readonly tracked: readonly PlannedKey[];
}

const mapPlans = new WeakMap<object, MapPlan>();

/** Kyverno's hasNestedAnchors: a map with a condition, existence, equality, negation or global anchor key, at any depth. */
function hasNestedAnchors(pattern: unknown): boolean {
  if (Array.isArray(pattern)) return pattern.some(hasNestedAnchors);
  if (!isMap(pattern)) return false;
  for (const [key, value] of Object.entries(pattern)) {
    const anchor = parsedKey(key).anchor;
    if (anchor !== undefined && anchor !== "add") return true;
    if (hasNestedAnchors(value)) return true;
  }
  return false;
}

function buildPlan(pattern: Record<string, unknown>): MapPlan {
  const anchored: PlannedKey[] = [];
  const front: PlannedKey[] = [];
  const back: PlannedKey[] = [];
  let wildcard = false;
  for (const raw of Object.keys(pattern).sort()) {
    const parsed = parsedKey(raw);
    if (hasWildcard(parsed.key)) wildcard = true;
    const entry: PlannedKey = { raw, key: parsed.key, ...(parsed.anchor ? { anchor: parsed.anchor } : {}), value: pattern[raw] };
    const anchor = parsed.anchor;
    if (anchor === "condition" || anchor === "existence" || anchor === "negation") anchored.push(entry);
    else if (anchor === "global" || hasNestedAnchors(pattern[raw])) front.unshift(entry);
    else back.push(entry);
  }
  return { wildcard, order: [...anchored, ...front, ...back], tracked: anchored };
}

/** The plan of a pattern map, cached per map. INVARIANT: policy patterns are not mutated after loading. */
function planOf(pattern: Record<string, unknown>): MapPlan {
  let plan = mapPlans.get(pattern);
  if (plan === undefined) {
    plan = buildPlan(pattern);
    mapPlans.set(pattern, plan);
  }
  return plan;
}

/** Why a pattern did not match. `skip` kinds make the rule not apply. */
export type PatternFailureKind = "condition" | "global" | "negation" | "plain";

export interface PatternFailure {
  readonly kind: PatternFailureKind;
  /** Kyverno-style path, e.g. `/spec/containers/0/image/`. */
  readonly path: string;
  readonly message: string;
  /** The value found in the resource at the path (absent when missing). */
  readonly found?: unknown;
  readonly expected?: unknown;
}

export interface PatternResult {
  readonly outcome: "pass" | "fail" | "skip" | "error";
  readonly failure?: PatternFailure;
}

interface AnchorTracker {
  /** Anchored keys met so far and whether the resource had them (created on the first). */
  seen: Map<string, boolean> | undefined;
  /**
   * The path being checked, as keys and indexes (pushed on the way down, popped on the way up):
   * the path string is only built for a failure.
   */
  readonly segments: (string | number)[];
}

/** The Kyverno-style path of the current position (`/spec/containers/0/`), without its last `drop` segments. */
function pathOf(tracker: AnchorTracker, drop = 0): string {
  let path = "/";
  const end = tracker.segments.length - drop;
  for (let i = 0; i < end; i++) path += `${tracker.segments[i] as string | number}/`;
  return path;
}

type Failure = PatternFailure | undefined;

function isMap(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

function typeName(value: unknown): string {
  if (value === undefined || value === null) return "nil";
  if (Array.isArray(value)) return "array";
  return typeof value === "object" ? "map" : typeof value;
}

/** Matches a whole resource against a pattern. Never throws. */
export function matchPattern(resource: unknown, pattern: unknown): PatternResult {
  const tracker: AnchorTracker = { seen: undefined, segments: [] };
  const failure = validateElement(resource, pattern, tracker);
  if (!failure) return { outcome: "pass" };
  if (failure.kind === "condition" || failure.kind === "global") return { outcome: "skip", failure };
  if (failure.kind === "negation") return { outcome: "fail", failure };
  const missing = tracker.seen !== undefined && [...tracker.seen.values()].some((present) => !present);
  if (missing) return { outcome: "error", failure: { ...failure, path: "" } };
  return { outcome: "fail", failure };
}

function validateElement(resource: unknown, pattern: unknown, tracker: AnchorTracker): Failure {
  if (isMap(pattern)) {
    if (!isMap(resource)) {
      const path = pathOf(tracker);
      return { kind: "plain", path, message: `pattern and resource have different structures. Path: ${path}. Expected map, found ${typeName(resource)}`, found: resource, expected: pattern };
    }
    const plan = planOf(pattern);
    if (plan.tracked.length > 0) trackAnchors(plan, resource, tracker);
    return validateMap(resource, pattern, plan, tracker);
  }
  if (Array.isArray(pattern)) {
    if (!Array.isArray(resource)) {
      const path = pathOf(tracker);
      return { kind: "plain", path, message: `pattern and resource have different structures. Path: ${path}. Expected array, found ${typeName(resource)}`, found: resource, expected: pattern };
    }
    return validateArray(resource, pattern, tracker);
  }
  if (Array.isArray(resource)) {
    for (const item of resource) {
      if (!matchValue(item, pattern)) {
        const path = pathOf(tracker);
        return { kind: "plain", path, message: `resource value '${JSON.stringify(item)}' does not match '${String(pattern)}' at path ${path}`, found: item, expected: pattern };
      }
    }
    return undefined;
  }
  if (!matchValue(resource, pattern)) {
    const path = pathOf(tracker);
    return { kind: "plain", path, message: `resource value '${resource === undefined ? "nil" : JSON.stringify(resource)}' does not match '${String(pattern)}' at path ${path}`, found: resource, expected: pattern };
  }
  return undefined;
}

function trackAnchors(plan: MapPlan, resource: Record<string, unknown>, tracker: AnchorTracker): void {
  const seen = (tracker.seen ??= new Map());
  for (const { raw, key } of plan.tracked) {
    if (seen.get(raw) === true) continue;
    seen.set(raw, key in resource);
  }
}

/**
 * True when the map being checked is `metadata.labels` or `metadata.annotations` (anchored or not):
 * the only maps whose wildcard keys Kyverno expands (ExpandInMetadata); elsewhere they are literal.
 */
function isMetadataLabelsOrAnnotations(tracker: AnchorTracker): boolean {
  const n = tracker.segments.length;
  const last = tracker.segments[n - 1];
  return n >= 2 && tracker.segments[n - 2] === "metadata" && (last === "labels" || last === "annotations");
}

/** Replaces wildcard keys (`app.kubernetes.io/*`) by the resource keys they match. */
function expandWildcardKeys(pattern: Record<string, unknown>, resource: Record<string, unknown>): Record<string, unknown> {
  if (!Object.keys(pattern).some((k) => hasWildcard(parsedKey(k).key))) return pattern;
  const out: Record<string, unknown> = {};
  for (const [raw, value] of Object.entries(pattern)) {
    const { key, anchor } = parsedKey(raw);
    if (!hasWildcard(key)) {
      out[raw] = value;
      continue;
    }
    const matches = Object.keys(resource).filter((k) => wildcardMatch(key, k));
    if (matches.length === 0) {
      out[raw] = value;
      continue;
    }
    for (const k of matches) out[anchor ? raw.replace(key, k) : k] = value;
  }
  return out;
}

function validateMap(resource: Record<string, unknown>, rawPattern: Record<string, unknown>, rawPlan: MapPlan, tracker: AnchorTracker): Failure {
  // Wildcard keys expand against this resource: plan the expanded map afresh (not cached).
  const plan = rawPlan.wildcard && isMetadataLabelsOrAnnotations(tracker) ? buildPlan(expandWildcardKeys(rawPattern, resource)) : rawPlan;
  for (const entry of plan.order) {
    tracker.segments.push(entry.key);
    const failure = handleKey(entry, entry.value, resource, tracker);
    tracker.segments.pop();
    if (failure) return failure;
  }
  return undefined;
}

/** Checks one key of a pattern map; the key is the last of `tracker.segments`. */
function handleKey({ key, anchor }: ParsedKey, pattern: unknown, resource: Record<string, unknown>, tracker: AnchorTracker): Failure {
  const present = Object.prototype.hasOwnProperty.call(resource, key);
  const value = resource[key];
  switch (anchor) {
    case "negation": {
      if (!present) return undefined;
      const current = pathOf(tracker);
      return { kind: "negation", path: current, message: `${current} is not allowed`, found: value };
    }
    case "equality":
    case "add":
      return present ? validateElement(value, pattern, tracker) : undefined;
    case "condition": {
      if (!present) return { kind: "condition", path: pathOf(tracker), message: "conditional anchor key doesn't exist in the resource" };
      const failure = validateElement(value, pattern, tracker);
      return failure ? { ...failure, kind: "condition" } : undefined;
    }
    case "global": {
      if (!present) return undefined;
      const failure = validateElement(value, pattern, tracker);
      return failure ? { ...failure, kind: "global" } : undefined;
    }
    case "existence": {
      if (!present) return undefined;
      if (!Array.isArray(value)) return { kind: "plain", path: pathOf(tracker), message: `invalid resource type ${typeName(value)}: Existence ^ () anchor can be used only on list/array type resource`, found: value };
      if (!Array.isArray(pattern)) return { kind: "plain", path: pathOf(tracker), message: "invalid pattern type: Pattern has to be of list to compare against resource" };
      for (const item of pattern) {
        if (!isMap(item)) return { kind: "plain", path: pathOf(tracker), message: "invalid pattern type: Pattern has to be of type map to compare against items in resource" };
        let ok = false;
        for (let i = 0; i < value.length && !ok; i++) {
          tracker.segments.push(i);
          ok = validateElement(value[i], item, tracker) === undefined;
          tracker.segments.pop();
        }
        if (!ok) {
          const current = pathOf(tracker);
          return { kind: "plain", path: current, message: `existence anchor validation failed at path ${current}`, found: value, expected: pattern };
        }
      }
      return undefined;
    }
    default:
      if (pattern === "*") {
        if (value !== undefined && value !== null) return undefined;
        const path = pathOf(tracker, 1);
        return { kind: "plain", path, message: `${path}/${key} not found`, expected: "*" };
      }
      return validateElement(value, pattern, tracker);
  }
}

function validateArray(resource: unknown[], pattern: unknown[], tracker: AnchorTracker): Failure {
  if (pattern.length === 0) return { kind: "plain", path: pathOf(tracker), message: "pattern Array empty" };
  const first = pattern[0];
  if (isMap(first)) {
    let applied = 0;
    let skipped: Failure;
    for (let i = 0; i < resource.length; i++) {
      tracker.segments.push(i);
      const failure = validateElement(resource[i], first, tracker);
      tracker.segments.pop();
      if (failure) {
        if (failure.kind === "condition" || failure.kind === "global") {
          skipped ??= failure;
          continue;
        }
        return failure;
      }
      applied++;
    }
    if (applied === 0 && skipped) return { ...skipped, path: pathOf(tracker) };
    return undefined;
  }
  if (!Array.isArray(first)) return validateElement(resource, first, tracker);
  if (resource.length < pattern.length) {
    return { kind: "plain", path: pathOf(tracker), message: `validate Array failed, array length mismatch, resource Array len is ${resource.length} and pattern Array len is ${pattern.length}` };
  }
  for (let i = 0; i < pattern.length; i++) {
    tracker.segments.push(i);
    const failure = validateElement(resource[i], pattern[i], tracker);
    tracker.segments.pop();
    if (failure && failure.kind !== "condition" && failure.kind !== "global") return failure;
  }
  return undefined;
}
