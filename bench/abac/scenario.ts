/**
 * The ABAC workload: a seeded generator of an access-control scenario (docs/benchmarks.md).
 *
 * Policies are generated as one small condition language (`Condition`) that render.ts prints both
 * as Cedar and as Vigil native policies, so the two renderings say the same thing by construction;
 * the benchmark then checks that they also DECIDE the same on seeded requests.
 *
 * Shape of a policy set of size N:
 * - about 5% global forbids (guardrails that apply to every project: MFA for secret data,
 *   no internal data on public networks, no deletes out of hours, data residency, contractors,
 *   PII sharing; beyond those six, narrow department/tag/action rules);
 * - the rest is scoped to one project: for each project, permits that partition the actions
 *   (each action of a project is granted by exactly one permit, with ABAC conditions) and 0-2
 *   forbids for some of its actions.
 * Requests: a user (role, department, clearance, region) does an action on a document of a
 * project (owner, classification, region, tags) in a context (mfa, network, hour).
 */
import { createRandom, type Random } from "./random.js";

export const actions = ["read", "list", "write", "delete", "share"] as const;
export type AbacAction = (typeof actions)[number];

export const roles = ["engineer", "analyst", "manager", "contractor", "admin", "auditor"] as const;
export const departments = ["eng", "sales", "finance", "legal", "ops", "hr", "research", "support"] as const;
export const regions = ["us", "eu", "apac"] as const;
export const networks = ["corp", "vpn", "public"] as const;
export const tagPool = ["internal", "public", "pii", "residency", "legal-hold", "finance", "draft", "customer"] as const;

/** Attribute paths the condition language may read (same names in Cedar and CEL). */
export type Attribute =
  | "principal.role" | "principal.department" | "principal.clearance" | "principal.region"
  | "resource.classification" | "resource.region" | "resource.tags"
  | "context.mfa" | "context.network" | "context.hour";

export type Literal = string | number | boolean;

/** The condition language both renderings are printed from. */
export type Condition =
  | { readonly op: "true" }
  | { readonly op: "eq" | "ne"; readonly attr: Attribute; readonly value: Literal }
  | { readonly op: "lt" | "ge"; readonly attr: Attribute; readonly value: number }
  | { readonly op: "attr-ge" | "attr-lt" | "attr-eq" | "attr-ne"; readonly attr: Attribute; readonly other: Attribute }
  | { readonly op: "one-of"; readonly attr: Attribute; readonly values: readonly string[] }
  | { readonly op: "has-tag"; readonly tag: string }
  | { readonly op: "is-owner" }
  | { readonly op: "and" | "or"; readonly parts: readonly Condition[] }
  | { readonly op: "not"; readonly part: Condition };

export interface AbacPolicy {
  readonly id: string;
  readonly effect: "permit" | "forbid";
  /** Scope: the resource's project; undefined = every project. */
  readonly project?: string;
  /** Scope: the actions; undefined = every action. */
  readonly actions?: readonly AbacAction[];
  readonly condition: Condition;
  readonly description: string;
}

export interface AbacProject {
  readonly id: string;
  readonly department: string;
  readonly region: string;
}

export interface AbacScenario {
  readonly seed: number;
  readonly size: number;
  readonly policies: readonly AbacPolicy[];
  readonly projects: readonly AbacProject[];
}

const and = (...parts: Condition[]): Condition => ({ op: "and", parts });
const or = (...parts: Condition[]): Condition => ({ op: "or", parts });
const not = (part: Condition): Condition => ({ op: "not", part });
const eq = (attr: Attribute, value: Literal): Condition => ({ op: "eq", attr, value });

function globalForbid(random: Random, index: number): Omit<AbacPolicy, "id"> {
  if (index >= 6) {
    // beyond the six classic guardrails: narrow cross-cutting rules (a department, a tag, an action, off the corporate network without MFA)
    const department = random.pick(departments);
    const tag = random.pick(tagPool);
    const action = random.pick(actions);
    return {
      effect: "forbid",
      actions: [action],
      condition: and(eq("principal.department", department), { op: "has-tag", tag }, { op: "ne", attr: "context.network", value: "corp" }, not(eq("context.mfa", true))),
      description: `${department} does not ${action} ${tag} data off the corporate network without MFA`,
    };
  }
  switch (index) {
    case 0: {
      const level = random.int(2, 3);
      return { effect: "forbid", condition: and({ op: "ge", attr: "resource.classification", value: level }, not(eq("context.mfa", true))), description: `classification >= ${level} needs MFA` };
    }
    case 1:
      return { effect: "forbid", condition: and(eq("context.network", "public"), { op: "has-tag", tag: "internal" }), description: "internal data never on a public network" };
    case 2: {
      const start = random.int(5, 8);
      const end = random.int(18, 22);
      return { effect: "forbid", actions: ["delete"], condition: or({ op: "lt", attr: "context.hour", value: start }, { op: "ge", attr: "context.hour", value: end }), description: `deletes only between ${start}:00 and ${end}:00` };
    }
    case 3:
      return { effect: "forbid", condition: and({ op: "has-tag", tag: "residency" }, { op: "attr-ne", attr: "principal.region", other: "resource.region" }), description: "residency data stays in its region" };
    case 4:
      return { effect: "forbid", actions: ["write", "delete", "share"], condition: and(eq("principal.role", "contractor"), { op: "ge", attr: "resource.classification", value: 2 }), description: "contractors do not change classified data" };
    default:
      return { effect: "forbid", actions: ["share"], condition: and({ op: "has-tag", tag: "pii" }, not(eq("context.network", "corp"))), description: "PII is shared only from the corporate network" };
  }
}

/** An ABAC permit condition for one project's action group. */
function permitCondition(random: Random, project: AbacProject, group: readonly AbacAction[]): Condition {
  const readOnly = group.every((a) => a === "read" || a === "list");
  const other = random.pick(departments.filter((d) => d !== project.department));
  const options: Condition[] = [
    or(eq("principal.department", project.department), { op: "is-owner" }),
    and({ op: "one-of", attr: "principal.department", values: [project.department, other] }, { op: "attr-ge", attr: "principal.clearance", other: "resource.classification" }),
    and({ op: "one-of", attr: "principal.role", values: ["engineer", "analyst", "manager", "admin"] }, eq("principal.department", project.department)),
    and({ op: "attr-eq", attr: "principal.region", other: "resource.region" }, or(eq("principal.department", project.department), { op: "ge", attr: "principal.clearance", value: random.int(2, 3) })),
    or({ op: "is-owner" }, and(eq("principal.role", "admin"), eq("context.mfa", true))),
  ];
  if (readOnly) {
    options.push(or({ op: "has-tag", tag: "public" }, eq("principal.department", project.department)));
    options.push(or({ op: "one-of", attr: "principal.role", values: ["auditor", "admin"] }, { op: "attr-ge", attr: "principal.clearance", other: "resource.classification" }));
  }
  return random.pick(options);
}

function scopedForbid(random: Random): { condition: Condition; description: string; actions: AbacAction[] } {
  switch (random.int(0, 3)) {
    case 0:
      return { actions: ["delete", "share"], condition: eq("principal.role", "contractor"), description: "no contractor deletes or shares here" };
    case 1:
      return { actions: ["write", "delete"], condition: and(not(eq("context.mfa", true)), { op: "ge", attr: "resource.classification", value: 1 }), description: "changes need MFA here" };
    case 2:
      return { actions: ["read", "write"], condition: and({ op: "ne", attr: "context.network", value: "corp" }, { op: "lt", attr: "principal.clearance", value: 2 }), description: "low clearance only from corp network" };
    default:
      return { actions: ["delete"], condition: { op: "has-tag", tag: "legal-hold" }, description: "nothing on legal hold is deleted" };
  }
}

/** Splits the actions into 1-3 groups (each action in exactly one group). */
function partitionActions(random: Random): AbacAction[][] {
  const groups: AbacAction[][] = Array.from({ length: random.int(1, 3) }, () => []);
  for (const action of actions) (groups[random.int(0, groups.length - 1)] as AbacAction[]).push(action);
  return groups.filter((g) => g.length > 0);
}

/**
 * Generates a scenario with exactly `size` policies (size >= 4). Deterministic for (seed, size).
 */
export function generateScenario(size: number, seed = 42): AbacScenario {
  if (size < 4) throw new Error(`ABAC scenario size must be at least 4, got ${size}`);
  const random = createRandom(seed ^ (size * 2654435761));
  const policies: AbacPolicy[] = [];
  const projects: AbacProject[] = [];
  const globalCount = Math.max(2, Math.round(size * 0.05));
  for (let i = 0; i < globalCount; i++) policies.push({ id: `global-${i}`, ...globalForbid(random, i) });
  let projectIndex = 0;
  while (policies.length < size) {
    const project: AbacProject = { id: `p${projectIndex}`, department: random.pick(departments), region: random.pick(regions) };
    projectIndex++;
    const room = size - policies.length;
    // INVARIANT: every action of a project is granted by exactly one permit; a project that
    // cannot fit its permits is not created (the remaining room goes to forbids of earlier projects).
    const groups = projects.length === 0 && room < 3 ? [[...actions]] : partitionActions(random);
    if (groups.length > room) {
      while (policies.length < size) {
        const target = random.pick(projects);
        const forbid = scopedForbid(random);
        policies.push({ id: `${target.id}-forbid-${policies.length}`, effect: "forbid", project: target.id, ...forbid });
      }
      break;
    }
    projects.push(project);
    groups.forEach((group, g) => {
      policies.push({ id: `${project.id}-permit-${g}`, effect: "permit", project: project.id, actions: group, condition: permitCondition(random, project, group), description: `${group.join("/")} on ${project.id}` });
    });
    const forbids = Math.min(random.int(0, 2), size - policies.length);
    for (let f = 0; f < forbids; f++) {
      const forbid = scopedForbid(random);
      policies.push({ id: `${project.id}-forbid-${f}`, effect: "forbid", project: project.id, ...forbid });
    }
  }
  return { seed, size, policies, projects };
}
