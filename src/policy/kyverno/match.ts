/**
 * Kyverno `match` / `exclude`: any/all of resource filters (kinds with group/version and
 * subresources, names with wildcards, namespaces, selectors, namespaceSelector, operations,
 * annotations) and user filters (subjects, roles, clusterRoles). Never throws.
 */
import { gvkOf, metadataOf, stringMap, subjectObject, type AdmissionInput, type GroupVersionKind } from "./request.js";
import { hasWildcard, wildcardMatch } from "./wildcard.js";

type Json = Record<string, unknown>;

function isObject(value: unknown): value is Json {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

function strings(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((v): v is string => typeof v === "string") : [];
}

interface KindSpec {
  readonly group: string;
  readonly version: string;
  readonly kind: string;
  readonly subresource: string;
}

const kindSpecs = new Map<string, KindSpec>();

/** Parses `Pod`, `v1/Pod`, `apps/v1/Deployment`, `Pod/exec` once per distinct spelling. */
function kindSpec(spec: string): KindSpec {
  let parsed = kindSpecs.get(spec);
  if (parsed !== undefined) return parsed;
  let text = spec;
  let subresource = "";
  const parts = text.split("/");
  // `Kind/subresource`: last part lower-case and previous part capitalised.
  if (parts.length >= 2) {
    const last = parts[parts.length - 1] as string;
    const prev = parts[parts.length - 2] as string;
    if (/^[a-z]/.test(last) && /^[A-Z*]/.test(prev)) {
      subresource = last;
      parts.pop();
      text = parts.join("/");
    }
  }
  const segments = text.split("/");
  const kind = segments[segments.length - 1] as string;
  let group = "*";
  let version = "*";
  if (segments.length === 2) version = segments[0] as string;
  else if (segments.length >= 3) {
    group = segments[0] as string;
    version = segments[1] as string;
  }
  parsed = { group, version, kind, subresource };
  if (kindSpecs.size > 10_000) kindSpecs.clear();
  kindSpecs.set(spec, parsed);
  return parsed;
}

/** The last input's group/version/kind (cheaper than a WeakMap entry per review, which every review would add and look up). */
let lastGvk: { readonly input: AdmissionInput; readonly gvk: GroupVersionKind } | undefined;

/** The request object's group/version/kind, once per input (its policies and rules run one after the other). */
function inputGvk(input: AdmissionInput): GroupVersionKind {
  if (lastGvk !== undefined && lastGvk.input === input) return lastGvk.gvk;
  const gvk = gvkOf(subjectObject(input));
  lastGvk = { input, gvk };
  return gvk;
}

/** Matches `Pod`, `v1/Pod`, `apps/v1/Deployment`, `Pod/exec`, `*`, `networking.k8s.io/v1/Ingress`. */
export function kindMatches(spec: string, input: AdmissionInput): boolean {
  return kindSpecMatches(kindSpec(spec), input);
}

function kindSpecMatches({ group, version, kind, subresource }: KindSpec, input: AdmissionInput): boolean {
  const gvk = inputGvk(input);
  if (subresource !== "" && subresource !== "*" && subresource !== input.subResource) return false;
  if (subresource === "" && input.subResource !== "" && kind !== "*") return false;
  if (!wildcardMatch(kind, gvk.kind)) return false;
  if (group !== "*" && !wildcardMatch(group, gvk.group)) return false;
  if (version !== "*" && !wildcardMatch(version, gvk.version)) return false;
  return true;
}

/** A Kubernetes label selector (matchLabels with Kyverno wildcards, matchExpressions). */
export function selectorMatches(selector: unknown, labels: Readonly<Record<string, string>>): boolean {
  if (!isObject(selector)) return true;
  const matchLabels = stringMap(selector["matchLabels"]);
  for (const [k, v] of Object.entries(matchLabels)) {
    if (hasWildcard(k)) {
      if (!Object.entries(labels).some(([lk, lv]) => wildcardMatch(k, lk) && wildcardMatch(v, lv))) return false;
    } else if (labels[k] === undefined || !wildcardMatch(v, labels[k] as string)) return false;
  }
  const expressions = Array.isArray(selector["matchExpressions"]) ? selector["matchExpressions"] : [];
  for (const e of expressions) {
    if (!isObject(e)) return false;
    const key = String(e["key"] ?? "");
    const values = strings(e["values"]);
    const has = Object.prototype.hasOwnProperty.call(labels, key);
    switch (e["operator"]) {
      case "In": if (!has || !values.includes(labels[key] as string)) return false; break;
      case "NotIn": if (has && values.includes(labels[key] as string)) return false; break;
      case "Exists": if (!has) return false; break;
      case "DoesNotExist": if (has) return false; break;
      default: return false;
    }
  }
  return true;
}

/** A resource filter's lists, read once per filter object (policies are not mutated after loading). */
interface ResourceFilter {
  readonly kinds: readonly KindSpec[];
  readonly name: string;
  readonly names: readonly string[];
  readonly namespaces: readonly string[];
  readonly operations: readonly string[];
  readonly annotations?: Readonly<Record<string, string>>;
  readonly selector?: unknown;
  readonly namespaceSelector?: unknown;
}

const resourceFilters = new WeakMap<Json, ResourceFilter>();

function resourceFilterOf(description: Json): ResourceFilter {
  let filter = resourceFilters.get(description);
  if (filter === undefined) {
    filter = {
      kinds: strings(description["kinds"]).map(kindSpec),
      name: typeof description["name"] === "string" ? description["name"] : "",
      names: strings(description["names"]),
      namespaces: strings(description["namespaces"]),
      operations: strings(description["operations"]),
      ...(isObject(description["annotations"]) ? { annotations: stringMap(description["annotations"]) } : {}),
      ...(description["selector"] !== undefined ? { selector: description["selector"] } : {}),
      ...(description["namespaceSelector"] !== undefined ? { namespaceSelector: description["namespaceSelector"] } : {}),
    };
    resourceFilters.set(description, filter);
  }
  return filter;
}

/** True when `test(item, arg)` holds for some item: `some` without a closure per call (a hot path). */
function someMatch<T, A>(items: readonly T[], test: (item: T, arg: A) => boolean, arg: A): boolean {
  for (const item of items) if (test(item, arg)) return true;
  return false;
}

function includedIn(value: string, list: readonly string[]): boolean {
  return list.includes(value);
}

function resourceFilterMatches(filter: ResourceFilter, input: AdmissionInput): boolean {
  // Kinds first: most filters fail there, before any metadata is read.
  if (filter.kinds.length > 0 && !someMatch(filter.kinds, kindSpecMatches, input)) return false;
  if (filter.operations.length > 0 && !filter.operations.includes(input.operation)) return false;
  const meta = metadataOf(subjectObject(input));
  const kind = inputGvk(input).kind;
  const name = typeof meta["name"] === "string" ? meta["name"] : typeof meta["generateName"] === "string" ? meta["generateName"] : "";
  if (filter.name !== "" && !wildcardMatch(filter.name, name)) return false;
  if (filter.names.length > 0 && !someMatch(filter.names, wildcardMatch, name)) return false;
  if (filter.namespaces.length > 0) {
    const ns = kind === "Namespace" ? name : typeof meta["namespace"] === "string" ? meta["namespace"] : "";
    if (!someMatch(filter.namespaces, wildcardMatch, ns)) return false;
  }
  if (filter.annotations !== undefined) {
    const annotations = stringMap(meta["annotations"]);
    for (const [k, v] of Object.entries(filter.annotations)) {
      const found = Object.entries(annotations).some(([ak, av]) => wildcardMatch(k, ak) && wildcardMatch(v, av));
      if (!found) return false;
    }
  }
  if (filter.selector !== undefined && !selectorMatches(filter.selector, stringMap(meta["labels"]))) return false;
  if (filter.namespaceSelector !== undefined) {
    const labels = kind === "Namespace" ? stringMap(meta["labels"]) : input.namespaceLabels;
    if (!labels || !selectorMatches(filter.namespaceSelector, labels)) return false;
  }
  return true;
}

function subjectMatches(subject: Json, input: AdmissionInput): boolean {
  const username = input.userInfo.username ?? "";
  const name = String(subject["name"] ?? "");
  switch (subject["kind"]) {
    case "ServiceAccount":
      return username === `system:serviceaccount:${String(subject["namespace"] ?? "")}:${name}`;
    case "Group":
      return (input.userInfo.groups ?? []).some((g) => wildcardMatch(name, g));
    case "User":
      return wildcardMatch(name, username);
    default:
      return false;
  }
}

/** A filter's parts, read once per filter object (policies are not mutated after loading). */
interface Filter {
  readonly resources?: ResourceFilter;
  readonly subjects: readonly Json[];
  readonly roles: readonly string[];
  readonly clusterRoles: readonly string[];
}

const parsedFilters = new WeakMap<Json, Filter>();

function filterOf(filter: Json): Filter {
  let parsed = parsedFilters.get(filter);
  if (parsed === undefined) {
    parsed = {
      ...(isObject(filter["resources"]) ? { resources: resourceFilterOf(filter["resources"]) } : {}),
      subjects: Array.isArray(filter["subjects"]) ? filter["subjects"].filter(isObject) : [],
      roles: strings(filter["roles"]),
      clusterRoles: strings(filter["clusterRoles"]),
    };
    parsedFilters.set(filter, parsed);
  }
  return parsed;
}

/** One filter: `resources` + `subjects`/`roles`/`clusterRoles`; every part given must match. */
export function filterMatches(raw: Json, input: AdmissionInput): boolean {
  const filter = filterOf(raw);
  if (filter.resources !== undefined && !resourceFilterMatches(filter.resources, input)) return false;
  if (filter.subjects.length > 0 && !someMatch(filter.subjects, subjectMatches, input)) return false;
  if (filter.roles.length > 0 && !someMatch(filter.roles, includedIn, input.roles)) return false;
  if (filter.clusterRoles.length > 0 && !someMatch(filter.clusterRoles, includedIn, input.clusterRoles)) return false;
  return true;
}

function allFiltersMatch(list: readonly Json[], input: AdmissionInput): boolean {
  for (const f of list) if (!filterMatches(f, input)) return false;
  return true;
}

function filterIsEmpty(filter: Json): boolean {
  return !isObject(filter["resources"]) && !Array.isArray(filter["subjects"]) && !Array.isArray(filter["roles"]) && !Array.isArray(filter["clusterRoles"]);
}

/** A match/exclude block's filter lists, read once per block object. */
interface Block { readonly any: readonly Json[]; readonly all: readonly Json[]; readonly empty: boolean }

const blocks = new WeakMap<Json, Block>();

function blockOf(block: Json): Block {
  let parsed = blocks.get(block);
  if (parsed === undefined) {
    parsed = {
      any: Array.isArray(block["any"]) ? block["any"].filter(isObject) : [],
      all: Array.isArray(block["all"]) ? block["all"].filter(isObject) : [],
      empty: filterIsEmpty(block),
    };
    blocks.set(block, parsed);
  }
  return parsed;
}

/** True when a match/exclude block (any/all of filters, or one filter inline) selects the request; false for an absent or empty block. */
function blockSelects(block: unknown, input: AdmissionInput): boolean {
  if (!isObject(block)) return false;
  const { any, all, empty } = blockOf(block);
  if (any.length > 0) return someMatch(any, filterMatches, input);
  if (all.length > 0) return allFiltersMatch(all, input);
  if (empty) return false;
  return filterMatches(block, input);
}

/** `match`: true when the block selects the request. */
export function matchBlockMatches(block: unknown, input: AdmissionInput): boolean {
  return blockSelects(block, input);
}

/** `exclude`: true when the block excludes the request (an absent or empty block excludes nothing). */
export function excludeBlockMatches(block: unknown, input: AdmissionInput): boolean {
  return blockSelects(block, input);
}

/** Kinds a match block names (for autogen and index hints). */
export function matchedKinds(block: unknown): string[] {
  if (!isObject(block)) return [];
  const filters = [...(Array.isArray(block["any"]) ? block["any"] : []), ...(Array.isArray(block["all"]) ? block["all"] : []), block];
  const kinds: string[] = [];
  for (const f of filters) if (isObject(f) && isObject(f["resources"])) kinds.push(...strings(f["resources"]["kinds"]));
  return kinds;
}
