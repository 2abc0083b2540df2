/**
 * Merges an apply configuration (the value of a MutatingPolicy / MutatingAdmissionPolicy
 * `applyConfiguration.expression`) into an object with server-side-apply (structured merge)
 * semantics, without OpenAPI schemas: the list types come from a table of the Kubernetes
 * built-in list fields, looked up by field name.
 *
 * - maps: merged key by key, recursively;
 * - scalars: replaced;
 * - lists of known `listType=map` fields (`containers` by `name`, `volumeMounts` by `mountPath`,
 *   container `ports` by `containerPort` + `protocol`, ...): items merged by key, recursively;
 *   items of the object keep their order, new items are appended in the configuration's order;
 * - lists of known `listType=set` fields (`finalizers`): union, new values appended;
 * - every other list (atomic): replaced (Kubernetes rejects an apply configuration that sets an
 *   atomic list; Vigil, not knowing every schema, replaces it instead);
 * - a `null` value removes the field (Vigil's choice: apply configurations have no other way to).
 *
 * INVARIANT: never modifies its inputs; unchanged subtrees of the object are shared, not copied.
 */

type Json = Record<string, unknown>;

function isObject(value: unknown): value is Json {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

/** `listType=map` fields of the Kubernetes built-in types, by field name: their `listMapKey`s. */
const listMapKeys: ReadonlyMap<string, readonly string[]> = new Map([
  ["containers", ["name"]],
  ["initContainers", ["name"]],
  ["ephemeralContainers", ["name"]],
  ["volumes", ["name"]],
  ["env", ["name"]],
  ["imagePullSecrets", ["name"]],
  ["resourceClaims", ["name"]],
  ["schedulingGates", ["name"]],
  ["volumeMounts", ["mountPath"]],
  ["volumeDevices", ["devicePath"]],
  ["hostAliases", ["ip"]],
  ["topologySpreadConstraints", ["topologyKey", "whenUnsatisfiable"]],
  ["ownerReferences", ["uid"]],
  ["conditions", ["type"]],
]);

/** `listType=set` fields: lists of scalars merged as a union. */
const listSets: ReadonlySet<string> = new Set(["finalizers"]);

/** Keys defaulted by the API server, so an item without them still matches. */
const keyDefaults: Readonly<Record<string, unknown>> = { protocol: "TCP" };

function keysFor(field: string, items: readonly unknown[]): readonly string[] | undefined {
  if (field === "ports") {
    // container ports are keyed by containerPort, Service ports by port (both with protocol)
    return items.some((i) => isObject(i) && i["containerPort"] !== undefined) ? ["containerPort", "protocol"] : ["port", "protocol"];
  }
  return listMapKeys.get(field);
}

function itemKey(item: unknown, keys: readonly string[]): string | undefined {
  if (!isObject(item)) return undefined;
  const parts: unknown[] = [];
  for (const k of keys) {
    const v = item[k] ?? keyDefaults[k];
    if (v === undefined) return undefined;
    parts.push(v);
  }
  return JSON.stringify(parts);
}

/** The object with `config` applied. Never throws on JSON values. */
export function mergeApplyConfiguration(object: unknown, config: unknown): unknown {
  return mergeValue(object, config, "");
}

function mergeValue(live: unknown, applied: unknown, field: string): unknown {
  if (isObject(applied)) return isObject(live) ? mergeMaps(live, applied) : mergeMaps({}, applied);
  if (Array.isArray(applied)) return Array.isArray(live) ? mergeLists(live, applied, field) : applied.map((v) => stripNulls(v));
  return applied === live ? live : applied;
}

function mergeMaps(live: Json, applied: Json): Json {
  let out: Json | undefined;
  for (const key of Object.keys(applied)) {
    const value = applied[key];
    if (value === null) {
      if (Object.prototype.hasOwnProperty.call(live, key)) {
        out ??= { ...live };
        delete out[key];
      }
      continue;
    }
    const merged = mergeValue(live[key], value, key);
    if (merged === live[key]) continue;
    out ??= { ...live };
    // INVARIANT: own data property, also for a key named __proto__
    Object.defineProperty(out, key, { value: merged, enumerable: true, writable: true, configurable: true });
  }
  return out ?? live;
}

function mergeLists(live: readonly unknown[], applied: readonly unknown[], field: string): readonly unknown[] {
  if (listSets.has(field)) {
    const out = live.slice();
    for (const v of applied) if (!out.some((x) => x === v)) out.push(v);
    return out.length === live.length ? live : out;
  }
  const keys = keysFor(field, [...live, ...applied]);
  if (keys === undefined) return applied.map((v) => stripNulls(v));
  const appliedKeys = applied.map((item) => itemKey(item, keys));
  const liveKeys = live.map((item) => itemKey(item, keys));
  // an item without its key cannot be associated: the list is replaced (atomic)
  if (appliedKeys.includes(undefined) || liveKeys.includes(undefined)) return applied.map((v) => stripNulls(v));
  const byKey = new Map<string, unknown>();
  appliedKeys.forEach((k, i) => byKey.set(k as string, applied[i]));
  const out: unknown[] = [];
  const seen = new Set<string>();
  let changed = false;
  live.forEach((item, i) => {
    const k = liveKeys[i] as string;
    seen.add(k);
    const merged = byKey.has(k) ? mergeValue(item, byKey.get(k), "") : item;
    if (merged !== item) changed = true;
    out.push(merged);
  });
  appliedKeys.forEach((k, i) => {
    if (seen.has(k as string)) return;
    seen.add(k as string);
    changed = true;
    out.push(stripNulls(applied[i]));
  });
  return changed ? out : live;
}

/** A new subtree from the configuration: its null-valued fields are dropped (nothing to remove). */
function stripNulls(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(stripNulls);
  if (!isObject(value)) return value;
  return mergeMaps({}, value);
}
