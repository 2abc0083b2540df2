/**
 * Kyverno's wildcard matching: `*` matches any run of characters (including none), `?` exactly
 * one character (rune). Used in patterns, match names/namespaces/kinds, and `pattern_match`.
 */
const cache = new Map<string, RegExp>();

export function hasWildcard(text: string): boolean {
  return text.includes("*") || text.includes("?");
}

/** True when `value` matches the wildcard `pattern` in full. Never throws. */
export function wildcardMatch(pattern: string, value: string): boolean {
  if (!hasWildcard(pattern)) return pattern === value;
  let re = cache.get(pattern);
  if (!re) {
    const source = pattern.replace(/[.+^${}()|[\]\\]/g, "\\$&").replace(/\*/g, "[\\s\\S]*").replace(/\?/g, "[\\s\\S]");
    // "u": `?` is one character (a Go rune), not one UTF-16 unit.
    re = new RegExp(`^${source}$`, "u");
    if (cache.size > 10_000) cache.clear();
    cache.set(pattern, re);
  }
  return re.test(value);
}
