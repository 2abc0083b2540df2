/**
 * Seeded authorization requests for an ABAC scenario, as the JSON a caller sends to Vigil
 * (`{ principal, action, resource, context }`, docs/cedar.md) — plus the same request as Cedar
 * entities, built ahead of time (the Cedar side of the benchmark gets its entities pre-built).
 */
import type { EntityJson } from "@cedar-policy/cedar-wasm/nodejs";
import { createRandom } from "./random.js";
import { actions, departments, networks, regions, roles, tagPool, type AbacAction, type AbacScenario } from "./scenario.js";

export interface AbacPrincipal {
  readonly type: "User";
  readonly id: string;
  readonly role: string;
  readonly department: string;
  readonly clearance: number;
  readonly region: string;
}

export interface AbacResource {
  readonly type: "Document";
  readonly id: string;
  /** User id of the owner. */
  readonly owner: string;
  readonly classification: number;
  readonly region: string;
  readonly project: string;
  readonly tags: readonly string[];
}

export interface AbacRequest {
  readonly principal: AbacPrincipal;
  readonly action: AbacAction;
  readonly resource: AbacResource;
  readonly context: { readonly mfa: boolean; readonly network: string; readonly hour: number };
}

/** The request as Cedar sees it: UIDs, context and the two entities (owner as an entity reference, project as parent). */
export interface CedarAbacCall {
  readonly principal: { type: string; id: string };
  readonly action: { type: string; id: string };
  readonly resource: { type: string; id: string };
  readonly context: { mfa: boolean; network: string; hour: number };
  readonly entities: EntityJson[];
}

const USERS = 400;

function users(seed: number): AbacPrincipal[] {
  const random = createRandom(seed ^ 0x5eed);
  return Array.from({ length: USERS }, (_, i) => ({
    type: "User" as const,
    id: `u${i}`,
    role: random.pick(roles),
    department: random.pick(departments),
    clearance: random.int(0, 3),
    region: random.pick(regions),
  }));
}

/**
 * `count` requests for the scenario; deterministic for (scenario, seed). Every resource belongs to a
 * project of the scenario (see docs/benchmarks.md on why).
 */
export function generateRequests(scenario: AbacScenario, count: number, seed = 7): AbacRequest[] {
  const random = createRandom(seed * 7919 + scenario.size);
  const people = users(seed);
  const requests: AbacRequest[] = [];
  for (let i = 0; i < count; i++) {
    const project = random.pick(scenario.projects);
    let principal = random.pick(people);
    // most requests come from the project's own department, as in real traffic
    if (random.chance(0.6)) {
      const insiders = people.filter((p) => p.department === project.department);
      if (insiders.length > 0) principal = random.pick(insiders);
    }
    const owner = random.chance(0.15) ? principal.id : random.pick(people).id;
    const tags = tagPool.filter(() => random.chance(0.2));
    requests.push({
      principal,
      action: random.pick(actions),
      resource: {
        type: "Document",
        id: `${project.id}-d${random.int(0, 99)}`,
        owner,
        // most documents are unclassified or internal; few are secret
        classification: random.pick([0, 0, 0, 0, 1, 1, 1, 2, 2, 3]),
        region: random.chance(0.8) ? project.region : random.pick(regions),
        project: project.id,
        tags,
      },
      context: { mfa: random.chance(0.7), network: random.chance(0.6) ? "corp" : random.pick(networks), hour: random.int(0, 23) },
    });
  }
  return requests;
}

/** The Cedar rendering of a request (entities pre-built, as a Cedar deployment would hold them). */
export function toCedarCall(request: AbacRequest): CedarAbacCall {
  const { principal, resource } = request;
  return {
    principal: { type: "User", id: principal.id },
    action: { type: "Action", id: request.action },
    resource: { type: "Document", id: resource.id },
    context: { ...request.context },
    entities: [
      {
        uid: { type: "User", id: principal.id },
        attrs: { role: principal.role, department: principal.department, clearance: principal.clearance, region: principal.region },
        parents: [],
      },
      {
        uid: { type: "Document", id: resource.id },
        attrs: {
          owner: { __entity: { type: "User", id: resource.owner } },
          classification: resource.classification,
          region: resource.region,
          project: resource.project,
          tags: [...resource.tags],
        },
        parents: [{ type: "Project", id: resource.project }],
      },
    ],
  };
}

/**
 * The request as input for Vigil's Cedar plugin (docs/cedar.md): like the native input, but the
 * owner is an entity reference and the project a parent, as the Cedar policies expect.
 */
export function toCedarPluginInput(request: AbacRequest): unknown {
  const { resource } = request;
  return {
    principal: request.principal,
    action: request.action,
    resource: { ...resource, owner: { __entity: { type: "User", id: resource.owner } }, parents: [`Project::${JSON.stringify(resource.project)}`] },
    context: request.context,
  };
}
