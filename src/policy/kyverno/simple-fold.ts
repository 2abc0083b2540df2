/**
 * Unicode simple case folding orbits, as Go's unicode.SimpleFold walks them (k, K and the Kelvin
 * sign U+212A; s, S and long s U+017F; ß and ẞ U+1E9E; σ, ς and Σ; ...), for translating RE2's
 * (?i) where it covers only part of a pattern (JS has no scoped flags). The orbits are JS's own:
 * a regular expression with the i and u flags compares characters by simple case folding, the same
 * relation. Computed on first use, per character.
 */

let cased: string | undefined;
let casedPoints: readonly number[] = [];
const orbits = new Map<number, readonly number[]>();

/** Every character with a case mapping: each member of an orbit of two or more has one. */
function casedCharacters(): string {
  if (cased === undefined) {
    const points: number[] = [];
    for (let cp = 0; cp < 0x20000; cp++) {
      if (cp >= 0xd800 && cp <= 0xdfff) continue;
      const c = String.fromCodePoint(cp);
      if (c.toLowerCase() !== c || c.toUpperCase() !== c) points.push(cp);
    }
    casedPoints = points;
    cased = String.fromCodePoint(...points);
  }
  return cased;
}

/** The code points that fold together with `cp` (itself included), in ascending order. */
export function foldOrbit(cp: number): readonly number[] {
  const known = orbits.get(cp);
  if (known !== undefined) return known;
  const all = casedCharacters();
  const hex = cp.toString(16);
  const members = new Set<number>([cp]);
  for (const m of all.matchAll(new RegExp(`\\u{${hex}}`, "giu"))) members.add(m[0].codePointAt(0) as number);
  const orbit = [...members].sort((a, b) => a - b);
  for (const member of orbit) orbits.set(member, orbit);
  return orbit;
}

/** The characters outside [lo, hi] that fold together with one inside it. */
export function foldedOutside(lo: number, hi: number): readonly number[] {
  casedCharacters();
  const out = new Set<number>();
  for (const cp of casedPoints) {
    if (cp < lo) continue;
    if (cp > hi) break;
    for (const member of foldOrbit(cp)) if (member < lo || member > hi) out.add(member);
  }
  return [...out];
}
