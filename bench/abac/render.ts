/**
 * Renders an ABAC scenario as Cedar policies and as Vigil native policies
 * (`apiVersion: vigil.dev/v1, kind: Policy`), one policy for one policy.
 *
 * Cedar permits grant; Vigil rules deny. A Cedar permit scoped to (project, actions) becomes a Vigil
 * policy with the same scope in `match` whose rule is violated when the permit's condition is NOT
 * met. That is equivalent because the generator grants every (project, action) pair through exactly
 * one permit (scenario.ts), so "no permit matched" is "the one permit for this pair did not hold".
 * Cedar forbids become Vigil rules violated when the forbid's condition holds.
 */
import type { AbacPolicy, AbacScenario, Condition, Literal } from "./scenario.js";

const str = (value: string): string => JSON.stringify(value);
const literal = (value: Literal): string => (typeof value === "string" ? str(value) : String(value));

/** The condition in Cedar syntax. */
export function toCedarExpression(condition: Condition): string {
  switch (condition.op) {
    case "true":
      return "true";
    case "eq":
      if (typeof condition.value === "boolean") return condition.value ? condition.attr : `!${condition.attr}`;
      return `${condition.attr} == ${literal(condition.value)}`;
    case "ne":
      return `${condition.attr} != ${literal(condition.value)}`;
    case "lt":
      return `${condition.attr} < ${condition.value}`;
    case "ge":
      return `${condition.attr} >= ${condition.value}`;
    case "attr-ge":
      return `${condition.attr} >= ${condition.other}`;
    case "attr-lt":
      return `${condition.attr} < ${condition.other}`;
    case "attr-eq":
      return `${condition.attr} == ${condition.other}`;
    case "attr-ne":
      return `${condition.attr} != ${condition.other}`;
    case "one-of":
      return `[${condition.values.map(str).join(", ")}].contains(${condition.attr})`;
    case "has-tag":
      return `resource.tags.contains(${str(condition.tag)})`;
    case "is-owner":
      return "resource.owner == principal";
    case "and":
      return condition.parts.map((part) => `(${toCedarExpression(part)})`).join(" && ");
    case "or":
      return condition.parts.map((part) => `(${toCedarExpression(part)})`).join(" || ");
    case "not":
      return `!(${toCedarExpression(condition.part)})`;
  }
}

/** The condition in CEL over Vigil's activation (`principal`, `resource`, `action`, `context`). */
export function toCelExpression(condition: Condition): string {
  switch (condition.op) {
    case "true":
      return "true";
    case "eq":
      if (typeof condition.value === "boolean") return condition.value ? condition.attr : `!${condition.attr}`;
      return `${condition.attr} == ${literal(condition.value)}`;
    case "ne":
      return `${condition.attr} != ${literal(condition.value)}`;
    case "lt":
      return `${condition.attr} < ${condition.value}`;
    case "ge":
      return `${condition.attr} >= ${condition.value}`;
    case "attr-ge":
      return `${condition.attr} >= ${condition.other}`;
    case "attr-lt":
      return `${condition.attr} < ${condition.other}`;
    case "attr-eq":
      return `${condition.attr} == ${condition.other}`;
    case "attr-ne":
      return `${condition.attr} != ${condition.other}`;
    case "one-of":
      return `${condition.attr} in [${condition.values.map(str).join(", ")}]`;
    case "has-tag":
      return `${str(condition.tag)} in resource.tags`;
    case "is-owner":
      return "resource.owner == principal.id";
    case "and":
      return condition.parts.map((part) => `(${toCelExpression(part)})`).join(" && ");
    case "or":
      return condition.parts.map((part) => `(${toCelExpression(part)})`).join(" || ");
    case "not":
      return `!(${toCelExpression(condition.part)})`;
  }
}

/** One Cedar policy. Project scope is idiomatic Cedar: `resource in Project::"p7"`. */
export function toCedarPolicy(policy: AbacPolicy): string {
  const action = policy.actions === undefined
    ? "action"
    : policy.actions.length === 1
      ? `action == Action::${str(policy.actions[0] as string)}`
      : `action in [${policy.actions.map((a) => `Action::${str(a)}`).join(", ")}]`;
  const resource = policy.project === undefined ? "resource" : `resource in Project::${str(policy.project)}`;
  return `// ${policy.description}\n@id(${str(policy.id)})\n${policy.effect} (principal, ${action}, ${resource})\nwhen { ${toCedarExpression(policy.condition)} };\n`;
}

/** The whole scenario as one Cedar policy file. */
export function toCedarText(scenario: AbacScenario): string {
  return scenario.policies.map(toCedarPolicy).join("\n");
}

/** The `match` expression of a scoped policy (indexable equality/membership), or undefined. */
export function vigilMatch(policy: AbacPolicy): string | undefined {
  const parts: string[] = [];
  if (policy.project !== undefined) parts.push(`resource.project == ${str(policy.project)}`);
  if (policy.actions !== undefined) {
    parts.push(policy.actions.length === 1 ? `action == ${str(policy.actions[0] as string)}` : `action in [${policy.actions.map(str).join(", ")}]`);
  }
  return parts.length === 0 ? undefined : parts.join(" && ");
}

/** Policy name in Vigil (a Kubernetes-style name). */
export function vigilPolicyName(policy: AbacPolicy): string {
  return `abac-${policy.id}`;
}

/** One Vigil native policy document (YAML). */
export function toVigilPolicy(policy: AbacPolicy): string {
  const condition = toCelExpression(policy.condition);
  const rule = policy.effect === "permit" ? `!(${condition})` : condition;
  const match = vigilMatch(policy);
  const message = policy.effect === "permit" ? `not granted: ${policy.description}` : `forbidden: ${policy.description}`;
  return [
    "apiVersion: vigil.dev/v1",
    "kind: Policy",
    "metadata:",
    `  name: ${vigilPolicyName(policy)}`,
    `  description: ${str(policy.description)}`,
    "spec:",
    "  on: [\"dev.vigil.decide\"]",
    ...(match === undefined ? [] : [`  match: ${str(match)}`]),
    "  rules:",
    `    - name: ${policy.effect}`,
    `      condition: ${str(rule)}`,
    "      effect: deny",
    "      severity: high",
    `      message: ${str(message)}`,
    "",
  ].join("\n");
}

/** The whole scenario as one multi-document YAML file. */
export function toVigilYaml(scenario: AbacScenario): string {
  return scenario.policies.map(toVigilPolicy).join("---\n");
}

