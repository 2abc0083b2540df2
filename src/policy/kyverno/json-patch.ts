/**
 * RFC 6902 JSON Patch over plain JSON values: apply (add, remove, replace, move, copy, test, with
 * RFC 6901 pointers) and diff (the operations that turn one document into another, as an
 * AdmissionResponse `patch` carries them). Used by Kyverno `patchesJson6902`, MutatingPolicy
 * `JSONPatch` mutations and the admission mutate endpoint.
 *
 * INVARIANT: `applyJsonPatch` never modifies its input; it copies the containers it changes.
 */

export type JsonPatchOperation =
  | { readonly op: "add" | "replace" | "test"; readonly path: string; readonly value: unknown }
  | { readonly op: "remove"; readonly path: string }
  | { readonly op: "move" | "copy"; readonly from: string; readonly path: string };

type Container = Record<string, unknown> | unknown[];

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

/** A pointer's reference tokens, unescaped (`~1` → `/`, `~0` → `~`). Throws on a pointer not starting with `/`. */
export function parsePointer(pointer: string): string[] {
  if (pointer === "") return [];
  if (!pointer.startsWith("/")) throw new Error(`JSON pointer "${pointer}" must be empty or start with "/"`);
  return pointer.slice(1).split("/").map((t) => t.replace(/~1/g, "/").replace(/~0/g, "~"));
}

/** Escapes one reference token (RFC 6901). */
export function escapePointerToken(token: string): string {
  return token.replace(/~/g, "~0").replace(/\//g, "~1");
}

function arrayIndex(token: string, length: number, allowEnd: boolean, pointer: string): number {
  if (allowEnd && token === "-") return length;
  if (!/^(0|[1-9][0-9]*)$/.test(token)) throw new Error(`"${token}" in "${pointer}" is not an array index`);
  const index = Number(token);
  if (index > length || (!allowEnd && index === length)) throw new Error(`index ${index} in "${pointer}" is out of range (length ${length})`);
  return index;
}

function shallowCopy(value: Container): Container {
  return Array.isArray(value) ? value.slice() : { ...value };
}

/** Reads the value at a pointer; undefined when any step is missing. */
export function getAtPointer(doc: unknown, pointer: string): unknown {
  let current: unknown = doc;
  for (const token of parsePointer(pointer)) {
    if (Array.isArray(current)) {
      if (!/^(0|[1-9][0-9]*)$/.test(token)) return undefined;
      current = current[Number(token)];
    } else if (isObject(current)) {
      current = Object.prototype.hasOwnProperty.call(current, token) ? current[token] : undefined;
    } else return undefined;
  }
  return current;
}

/**
 * Returns a copy of `doc` with `change` applied to the parent container of `pointer`
 * (copy-on-write along the path). `change` receives the copied parent and the last token.
 */
function updateParent(doc: unknown, pointer: string, change: (parent: Container, token: string) => void): unknown {
  const tokens = parsePointer(pointer);
  if (tokens.length === 0) throw new Error("the root cannot be the target of this operation");
  const root: Container = Array.isArray(doc) ? doc.slice() : isObject(doc) ? { ...doc } : (() => { throw new Error(`"${pointer}": the document is not an object or array`); })();
  let parent: Container = root;
  for (let i = 0; i < tokens.length - 1; i++) {
    const token = tokens[i] as string;
    const next: unknown = Array.isArray(parent) ? parent[arrayIndex(token, parent.length, false, pointer)] : Object.prototype.hasOwnProperty.call(parent, token) ? parent[token] : undefined;
    if (!Array.isArray(next) && !isObject(next)) throw new Error(`path "${pointer}" does not exist (no container at "${tokens.slice(0, i + 1).join("/")}")`);
    const copy = shallowCopy(next);
    if (Array.isArray(parent)) parent[Number(token)] = copy;
    else parent[token] = copy;
    parent = copy;
  }
  change(parent, tokens[tokens.length - 1] as string);
  return root;
}

function add(doc: unknown, pointer: string, value: unknown): unknown {
  if (pointer === "") return value;
  return updateParent(doc, pointer, (parent, token) => {
    if (Array.isArray(parent)) parent.splice(arrayIndex(token, parent.length, true, pointer), 0, value);
    else parent[token] = value;
  });
}

function remove(doc: unknown, pointer: string): unknown {
  return updateParent(doc, pointer, (parent, token) => {
    if (Array.isArray(parent)) parent.splice(arrayIndex(token, parent.length, false, pointer), 1);
    else {
      if (!Object.prototype.hasOwnProperty.call(parent, token)) throw new Error(`path "${pointer}" does not exist`);
      delete parent[token];
    }
  });
}

function replace(doc: unknown, pointer: string, value: unknown): unknown {
  if (pointer === "") return value;
  return updateParent(doc, pointer, (parent, token) => {
    if (Array.isArray(parent)) parent[arrayIndex(token, parent.length, false, pointer)] = value;
    else {
      if (!Object.prototype.hasOwnProperty.call(parent, token)) throw new Error(`path "${pointer}" does not exist`);
      parent[token] = value;
    }
  });
}

/** Deep equality of JSON values (object key order ignored). */
export function jsonEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!jsonEqual(a[i], b[i])) return false;
    return true;
  }
  if (isObject(a)) {
    if (!isObject(b)) return false;
    const keys = Object.keys(a);
    if (keys.length !== Object.keys(b).length) return false;
    for (const k of keys) if (!Object.prototype.hasOwnProperty.call(b, k) || !jsonEqual(a[k], b[k])) return false;
    return true;
  }
  return false;
}

/**
 * Applies the operations in order and returns the new document. Throws an Error naming the
 * operation's index and path when an operation cannot apply (RFC 6902: the whole patch fails).
 */
export function applyJsonPatch(doc: unknown, operations: readonly unknown[]): unknown {
  let current = doc;
  operations.forEach((raw, index) => {
    if (!isObject(raw)) throw new Error(`patch operation ${index} is not an object`);
    const op = raw["op"];
    const path = raw["path"];
    if (typeof path !== "string") throw new Error(`patch operation ${index} (${String(op)}) has no string "path"`);
    try {
      switch (op) {
        case "add":
          if (!("value" in raw)) throw new Error(`"add" needs a "value"`);
          current = add(current, path, raw["value"]);
          break;
        case "remove":
          current = remove(current, path);
          break;
        case "replace":
          if (!("value" in raw)) throw new Error(`"replace" needs a "value"`);
          current = replace(current, path, raw["value"]);
          break;
        case "move":
        case "copy": {
          const from = raw["from"];
          if (typeof from !== "string") throw new Error(`"${op}" needs a string "from"`);
          if (op === "move" && (path === from || path.startsWith(`${from}/`))) {
            if (path === from) break;
            throw new Error(`cannot move "${from}" into its own child "${path}"`);
          }
          const value = getAtPointer(current, from);
          if (value === undefined) throw new Error(`"from" path "${from}" does not exist`);
          if (op === "move") current = remove(current, from);
          current = add(current, path, value);
          break;
        }
        case "test": {
          const actual = getAtPointer(current, path);
          if (!jsonEqual(actual, raw["value"])) throw new Error(`test failed: the value at "${path}" is ${JSON.stringify(actual)}, expected ${JSON.stringify(raw["value"])}`);
          break;
        }
        default:
          throw new Error(`unknown op ${JSON.stringify(op)} (use add, remove, replace, move, copy or test)`);
      }
    } catch (cause) {
      throw new Error(`patch operation ${index} (${String(op)} ${path}): ${cause instanceof Error ? cause.message : String(cause)}`);
    }
  });
  return current;
}

/**
 * The operations that turn `before` into `after`: objects are compared key by key (removals,
 * then replacements and additions, in key order); arrays of equal length element by element;
 * arrays whose length changed are extended or shortened at the end when the common prefix is
 * equal, otherwise replaced whole. `applyJsonPatch(before, diffJsonPatch(before, after))`
 * equals `after`.
 */
export function diffJsonPatch(before: unknown, after: unknown, path = ""): JsonPatchOperation[] {
  const out: JsonPatchOperation[] = [];
  diffInto(before, after, path, out);
  return out;
}

function diffInto(before: unknown, after: unknown, path: string, out: JsonPatchOperation[]): void {
  if (jsonEqual(before, after)) return;
  if (isObject(before) && isObject(after)) {
    for (const key of Object.keys(before)) {
      if (!Object.prototype.hasOwnProperty.call(after, key)) out.push({ op: "remove", path: `${path}/${escapePointerToken(key)}` });
    }
    for (const key of Object.keys(after)) {
      const child = `${path}/${escapePointerToken(key)}`;
      if (!Object.prototype.hasOwnProperty.call(before, key)) out.push({ op: "add", path: child, value: after[key] });
      else diffInto(before[key], after[key], child, out);
    }
    return;
  }
  if (Array.isArray(before) && Array.isArray(after)) {
    const common = Math.min(before.length, after.length);
    if (before.length === after.length) {
      for (let i = 0; i < common; i++) diffInto(before[i], after[i], `${path}/${i}`, out);
      return;
    }
    let prefixEqual = true;
    for (let i = 0; i < common && prefixEqual; i++) prefixEqual = jsonEqual(before[i], after[i]);
    if (prefixEqual) {
      for (let i = common; i < after.length; i++) out.push({ op: "add", path: `${path}/-`, value: after[i] });
      for (let i = before.length - 1; i >= common; i--) out.push({ op: "remove", path: `${path}/${i}` });
      return;
    }
  }
  out.push(path === "" || before === undefined ? { op: "add", path, value: after } : { op: "replace", path, value: after });
}
