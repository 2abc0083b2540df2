/**
 * 32-bit FNV-1a over the UTF-16 code units of a string. Seen-sets store this hash instead of
 * the value so an entity's memory does not grow with long values (user agents, ARNs).
 * Collisions are possible but rare at the set sizes used (a few dozen values per entity).
 */
export function fnv1a32(value: string): number {
  let hash = 0x811c9dc5;
  for (let index = 0; index < value.length; index++) {
    hash ^= value.charCodeAt(index);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}
