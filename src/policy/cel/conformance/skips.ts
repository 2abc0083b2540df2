/**
 * Conformance cases Vigil does not pass, each with its reason. `known-failure` cases still run
 * and the test suite asserts they still fail (so this list cannot go stale); `not-applicable`
 * cases test a component Vigil does not have and are not run. Printed in docs/cel-conformance.md.
 */
export interface SkipEntry {
  /** A path prefix: `suite`, `suite/section` or `suite/section/name`. */
  readonly path: string;
  readonly kind: "known-failure" | "not-applicable";
  readonly reason: string;
}

export const skips: readonly SkipEntry[] = [];

export function skipReason(path: string): SkipEntry | undefined {
  return skips.find((s) => path === s.path || path.startsWith(`${s.path}/`));
}
