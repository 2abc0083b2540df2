/**
 * `{ ...source }` for an object that then takes more properties. V8 (Node 20) makes an object
 * cloned by a spread slow to extend: `{ ...doc, element, elementIndex }` or
 * `{ ...request, ...base }` cost 1-9 µs where a fresh object filled key by key costs 0.1-0.4 µs
 * (measured on the admission path: the per-request variable document, foreach element
 * documents). Same result as a spread for the plain data these are used on: own enumerable
 * string keys in the same order (symbol keys are not copied: documents and rule environments
 * have none), `__proto__` kept as an own property.
 */
export function extendableCopy<T extends object>(source: T): { -readonly [K in keyof T]: T[K] } & Record<string, unknown> {
  const copy: Record<string, unknown> = {};
  const from = source as Record<string, unknown>;
  for (const key of Object.keys(from)) {
    if (key === "__proto__") Object.defineProperty(copy, key, { value: from[key], enumerable: true, writable: true, configurable: true });
    else copy[key] = from[key];
  }
  return copy as { -readonly [K in keyof T]: T[K] } & Record<string, unknown>;
}

/**
 * A foreach element's variable document: `doc` with `element` and `elementIndex`, and the same
 * under the nesting level's names (`element0`, `elementIndex0`, ...), as Kyverno's
 * AddElementToJsonContext sets them.
 */
export function elementDocument<T extends object>(doc: T, element: unknown, index: number, nesting: number): { -readonly [K in keyof T]: T[K] } & Record<string, unknown> {
  const copy = extendableCopy(doc);
  const fields = copy as Record<string, unknown>;
  fields["element"] = element;
  fields["elementIndex"] = index;
  fields[`element${nesting}`] = element;
  fields[`elementIndex${nesting}`] = index;
  return copy;
}
