/**
 * `{ ...base, ...fields }`: a copy of `base` with `fields` set (added or replaced), built the way
 * V8 in Node 20 makes fast. An object literal that defines properties after a spread
 * (`{ ...base, seq }`, or `{ a, ...(x ? { x } : {}), b }`) takes V8's slow path for every property
 * after the spread: measured on this machine (node 20.20), a 15-field decision draft copied with
 * three fields added cost 6-9 µs as `{ ...draft, seq, prevHash, hash }` and 0.3-0.7 µs through
 * `Object.assign({}, draft, extra)`; a 3-field object 0.8-1.0 µs against 0.06 µs. Spreads placed
 * last in a literal (`{ a, b, ...(x ? { x } : {}) }`) stay fast (0.03-0.11 µs).
 *
 * `Object.assign` sets where a spread defines: for an own `__proto__` key (JSON.parse makes
 * one) it would run the prototype setter, so such an object takes the spread.
 */
export function withFields<T extends object, F extends object>(base: T, fields: F): Omit<T, keyof F> & F {
  if (Object.hasOwn(base, "__proto__") || Object.hasOwn(fields, "__proto__")) return { ...base, ...fields };
  return Object.assign({}, base, fields);
}
