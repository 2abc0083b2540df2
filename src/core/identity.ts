/**
 * Vigil's own identities: actors whose id starts with `vigil:` (vigil:learner, vigil:escalation,
 * vigil:ladder ...), compared without case or surrounding spaces. Humans stay in charge: such an
 * identity never approves, overrides, excepts, accepts a proposal or promotes a policy, whatever
 * roles it holds.
 */
export function isVigilIdentity(id: string): boolean {
  return id.trim().toLowerCase().startsWith("vigil:");
}
