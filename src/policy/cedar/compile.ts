/**
 * Compiles one Cedar policy set (its `.cedar` files + optional schema + optional entities) into a
 * single CompiledPolicy. One set is one CompiledPolicy because Cedar's decision is a property of
 * the whole set (default deny, any forbid wins over any permit); its findings name the individual
 * Cedar policies.
 */
import { createHash } from "node:crypto";
import type { CompiledPolicy } from "../../core/compiled-policy.js";
import type { Context } from "../../core/context.js";
import { VigilError } from "../../core/errors.js";
import { EventTypes } from "../../core/event.js";
import type { Finding } from "../../core/finding.js";
import type { EvaluateOptions, PolicyMeta } from "../../core/policy.js";
import { failClosedFindings, findingsForAnswer, type FindingContext } from "./findings.js";
import { mapAuthorizationInput, type CedarRequest, type RequestEntity, type RequestMapping } from "./request.js";
import {
  actionTypeOf,
  readEntities,
  readPolicyFiles,
  readSchema,
  validatePolicies,
  type CedarPolicyEntry,
  type CedarSourceFile,
  type ParsedSchema,
} from "./sources.js";
import { cedarWasm, type AuthorizationAnswer, type EntityJson } from "./wasm.js";

/** The files of one Cedar policy set. */
export interface CedarPolicySetSources {
  /** Policy name in findings and the decision record. */
  readonly name: string;
  /** `.cedar` files, in the order their default ids (`policy0`, `policy1`...) are counted. */
  readonly policies: readonly CedarSourceFile[];
  /** `.cedarschema` (Cedar syntax) or `.cedarschema.json`; when given, policies are validated at load and requests at evaluation. */
  readonly schema?: CedarSourceFile;
  /** Cedar entities JSON files (lists of `{ uid, attrs, parents }`), passed to every request. */
  readonly entities?: readonly CedarSourceFile[];
  readonly description?: string;
}

/** A compiled Cedar policy set: a CompiledPolicy plus what tests and tools want to see. */
export interface CompiledCedarPolicySet extends CompiledPolicy {
  /** Cedar policy ids in file order. */
  readonly policyIds: readonly string[];
  /** Entity type of bare action names (`Action`, or `Ns::Action` from the schema). */
  readonly actionType: string;
  /** Maps an input to the Cedar request Vigil sends (for explain and tests); never throws. */
  readonly toRequest: (input: unknown) => RequestMapping;
}

export interface CedarCompileResult {
  /** Undefined when any file failed to load: a Cedar set is loaded whole or not at all (dropping one forbid would widen access). */
  readonly policy?: CompiledCedarPolicySet;
  readonly errors: VigilError[];
}

function entityKey(uid: { type: string; id: string }): string {
  return `${uid.type}::${JSON.stringify(uid.id)}`;
}

function revisionOf(sources: CedarPolicySetSources): string {
  const hash = createHash("sha256");
  for (const file of [...sources.policies, ...(sources.schema ? [sources.schema] : []), ...(sources.entities ?? [])]) {
    hash.update(file.file).update("\0").update(file.text).update("\0");
  }
  return hash.digest("hex").slice(0, 16);
}

/**
 * Entities for one request: the entities files' entities, with the request's own entities
 * merged over them (request attributes and tags over stored ones; request parents replace stored
 * parents when the request gives any).
 */
function requestEntities(stored: readonly EntityJson[], storedIndex: ReadonlyMap<string, number>, extra: readonly RequestEntity[]): EntityJson[] {
  if (extra.length === 0) return stored as EntityJson[];
  const merged = stored.slice();
  const added = new Map<string, number>();
  for (const entity of extra) {
    const key = entityKey(entity.uid);
    const at = added.get(key) ?? storedIndex.get(key);
    const previous = at === undefined ? undefined : merged[at];
    const next: EntityJson = {
      uid: entity.uid,
      attrs: previous ? { ...previous.attrs, ...entity.attrs } : entity.attrs,
      parents: entity.parents ?? previous?.parents ?? [],
      ...(previous?.tags || entity.tags ? { tags: { ...previous?.tags, ...entity.tags } } : {}),
    };
    if (at === undefined) {
      added.set(key, merged.length);
      merged.push(next);
    } else {
      merged[at] = next;
      added.set(key, at);
    }
  }
  return merged;
}

/**
 * Compiles a Cedar policy set. Never throws: every problem is a VigilError in `errors` naming the
 * file and, where Cedar gives a span, the line and column.
 */
export function compileCedarPolicySet(sources: CedarPolicySetSources): CedarCompileResult {
  const errors: VigilError[] = [];
  if (sources.policies.length === 0) {
    const file = sources.schema?.file ?? sources.entities?.[0]?.file ?? sources.name;
    return { errors: [new VigilError("VIGIL_POLICY_LOAD", `${file}: a Cedar schema or entities file needs .cedar policy files next to it (in the same directory)`, { file })] };
  }
  const { policies, errors: policyErrors } = readPolicyFiles(sources.policies);
  errors.push(...policyErrors);
  const texts = new Map(sources.policies.map((file) => [file.file, file.text]));
  let schema: ParsedSchema | undefined;
  if (sources.schema) {
    const read = readSchema(sources.schema);
    errors.push(...read.errors);
    schema = read.schema;
  }
  if (schema && policyErrors.length === 0) errors.push(...validatePolicies(policies, schema, texts));
  const { entities, errors: entityErrors } = readEntities(sources.entities ?? [], schema);
  errors.push(...entityErrors);
  if (errors.length > 0) return { errors };

  const revision = revisionOf(sources);
  const setId = `vigil:${sources.name}:${revision}`;
  const staticPolicies: Record<string, string> = {};
  for (const policy of policies) staticPolicies[policy.id] = policy.text;
  const preparsed = cedarWasm.preparsePolicySet(setId, { staticPolicies });
  if (preparsed.type === "failure") {
    return { errors: preparsed.errors.map((error) => new VigilError("VIGIL_POLICY_COMPILE", `${sources.policies[0]?.file ?? sources.name}: Cedar could not prepare the policy set: ${error.message}`, { policy: sources.name })) };
  }
  if (schema) {
    const prepared = cedarWasm.preparseSchema(setId, schema.schema);
    if (prepared.type === "failure") {
      return { errors: prepared.errors.map((error) => new VigilError("VIGIL_POLICY_COMPILE", `${schema.file}: Cedar could not prepare the schema: ${error.message}`, { file: schema.file })) };
    }
  }
  const meta: PolicyMeta = {
    name: sources.name,
    language: "cedar",
    revision,
    source: sources.policies.map((file) => file.file).join(", "),
    on: [EventTypes.decideRequest],
    ...(sources.description ? { description: sources.description } : {}),
  };
  return { policy: createCompiledCedarSet(meta, policies, texts, entities, schema, setId), errors: [] };
}

function createCompiledCedarSet(
  meta: PolicyMeta,
  policies: readonly CedarPolicyEntry[],
  texts: ReadonlyMap<string, string>,
  entities: readonly EntityJson[],
  schema: ParsedSchema | undefined,
  setId: string,
): CompiledCedarPolicySet {
  const actionType = actionTypeOf(schema);
  const storedIndex = new Map(entities.map((entity, index) => [entityKey(entity.uid as { type: string; id: string }), index]));
  const findingContext: FindingContext = { meta, policies: new Map(policies.map((policy) => [policy.id, policy])), texts };
  const toRequest = (input: unknown) => mapAuthorizationInput(input, actionType);

  function authorize(request: CedarRequest): AuthorizationAnswer {
    return cedarWasm.statefulIsAuthorized({
      principal: request.principal,
      action: request.action,
      resource: request.resource,
      context: request.context,
      preparsedPolicySetId: setId,
      ...(schema ? { preparsedSchemaName: setId, validateRequest: true } : {}),
      entities: requestEntities(entities, storedIndex, request.entities),
    });
  }

  return {
    meta,
    policyIds: policies.map((policy) => policy.id),
    actionType,
    toRequest,
    evaluate(ctx: Context, options?: EvaluateOptions): Finding[] {
      const includePasses = options?.includePasses === true;
      const mapped = toRequest(ctx.input);
      if (!mapped.ok) {
        if (!mapped.notAuthorization) return failClosedFindings(findingContext, "VIGIL_BAD_INPUT", mapped.message);
        if (!includePasses) return [];
        return [{
          policy: meta.name, rule: "request", revision: meta.revision, language: "cedar", effect: "skip", mode: "deny",
          severity: "info", message: mapped.message, trace: [], skipReason: mapped.message,
        }];
      }
      try {
        return findingsForAnswer(findingContext, mapped.request, authorize(mapped.request), includePasses);
      } catch (cause) {
        // INVARIANT: evaluate never throws; the wasm call is the only thing here that could.
        const message = `Cedar failed on the request: ${cause instanceof Error ? cause.message : String(cause)}`;
        return failClosedFindings(findingContext, "CEDAR_INTERNAL", message, mapped.request);
      }
    },
  };
}
