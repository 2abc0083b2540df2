/**
 * The objects an action acts on through its params, beside its declared target: the instances of
 * `aws.ec2.stop-instances` (instanceIds), the Kubernetes object of `kubernetes.*`
 * (kind, namespace, name), the Okta user (userId), the IAM user and key (userName, accessKeyId),
 * the S3 bucket (bucket). Each goes through the same protection check as the target, at plan time
 * and again when a held or approved action runs: an action that would touch a protected object is
 * blocked, naming the param and the object. Notification kinds and kinds Vigil does not know
 * name no object beyond their target, unless their actuator declares what it touches
 * (`Actuator.touches`, for custom actuators).
 */
import type { Actuator, TouchedObject } from "../core/action.js";
import { entityKey, type Entity } from "../core/entity.js";
import { VigilError } from "../core/errors.js";
import { protectionCause, type CurrentEntityLookup, type GuardrailConfig } from "./guardrails.js";

export type { TouchedObject } from "../core/action.js";

/** An action as far as protection of what it touches goes: its kind, its params and the actuator that will run it. */
export interface TouchingAction {
  readonly kind: string;
  readonly params: Readonly<Record<string, unknown>>;
  readonly actuator?: Actuator | undefined;
}

type Params = Readonly<Record<string, unknown>>;

const text = (value: unknown): string | undefined => (typeof value === "string" && value !== "" ? value : undefined);
const record = (value: unknown): Params | undefined => (value !== null && typeof value === "object" && !Array.isArray(value) ? (value as Params) : undefined);

function kubernetesObject(param: string, kind: string | undefined, namespace: unknown, name: unknown): TouchedObject[] {
  const objectName = text(name);
  if (kind === undefined || objectName === undefined) return [];
  const ns = text(namespace);
  const id = ns === undefined ? objectName : `${ns}/${objectName}`;
  return [{ param, kind: `k8s.${kind}`, id, aliases: [`${kind}/${id}`] }];
}

/**
 * What `kind`'s params act on: what Vigil knows of the built-in kinds (params of the wrong shape
 * name nothing: the actuator refuses them), and what `actuator.touches` declares. Throws only when
 * `touches` throws or names an object without kind or id.
 */
export function touchedObjects(kind: string, params: Params, actuator?: Actuator): TouchedObject[] {
  const declared = actuator?.touches?.(params) ?? [];
  declared.forEach((object, i) => {
    if (typeof object?.kind !== "string" || object.kind === "" || typeof object.id !== "string" || object.id === "") {
      throw new VigilError("VIGIL_BAD_INPUT", `touches()[${i}] must have a non-empty kind and id, got ${JSON.stringify(object) ?? String(object)}`, { field: `touches[${i}]` });
    }
  });
  return [...builtinTouched(kind, params), ...declared.map((object, i) => ({ ...object, param: typeof object.param === "string" && object.param !== "" ? object.param : `touches[${i}]` }))];
}

function builtinTouched(kind: string, params: Params): TouchedObject[] {
  switch (kind) {
    case "aws.ec2.stop-instances": {
      const ids = params["instanceIds"];
      if (!Array.isArray(ids)) return [];
      return ids.flatMap((id: unknown, i) => (text(id) === undefined ? [] : [{ param: `instanceIds[${i}]`, kind: "aws.ec2.instance", id: id as string }]));
    }
    case "aws.s3.block-public-access": {
      const bucket = text(params["bucket"]);
      return bucket === undefined ? [] : [{ param: "bucket", kind: "aws.s3.bucket", id: bucket, aliases: [`arn:aws:s3:::${bucket}`] }];
    }
    case "aws.iam.deactivate-access-key": {
      const user = text(params["userName"]);
      const key = text(params["accessKeyId"]);
      return [...(user === undefined ? [] : [{ param: "userName", kind: "aws.iam.user", id: user }]), ...(key === undefined ? [] : [{ param: "accessKeyId", kind: "aws.iam.access-key", id: key }])];
    }
    case "okta.suspend-user":
    case "okta.unsuspend-user": {
      const user = text(params["userId"]);
      return user === undefined ? [] : [{ param: "userId", kind: "okta.user", id: user }];
    }
    case "kubernetes.scale-to-zero":
      return kubernetesObject("namespace/name", text(params["kind"]) ?? "Deployment", params["namespace"], params["name"]);
    case "kubernetes.delete-pod":
      return kubernetesObject("namespace/name", "Pod", params["namespace"], params["name"]);
    case "kubernetes.label":
    case "kubernetes.annotate":
    case "kubernetes.delete":
    case "kubernetes.patch":
      return kubernetesObject("namespace/name", text(params["kind"]), params["namespace"], params["name"]);
    case "kubernetes.create": {
      const manifest = record(params["manifest"]);
      const metadata = record(manifest?.["metadata"]);
      return kubernetesObject("manifest.metadata", text(manifest?.["kind"]), metadata?.["namespace"], metadata?.["name"]);
    }
    default:
      return [];
  }
}

/** The ARN resource part (`instance/i-…`, `user/path/alice`, a bucket) that names the object, when AWS names it by ARN. */
function arnResource(object: TouchedObject, resource: string): boolean {
  const id = object.id.toLowerCase();
  if (object.kind === "aws.ec2.instance") return resource === `instance/${id}`;
  if (object.kind === "aws.iam.user") return resource.startsWith("user/") && resource.endsWith(`/${id}`);
  return false;
}

/** Whether `entity` is the object: its id or `kind/id` key is one of the object's ids, or an ARN naming it. Case is ignored (fail safe). */
function isEntityOf(object: TouchedObject, entity: Entity): boolean {
  const names = new Set([object.id, `${object.kind}/${object.id}`, ...(object.aliases ?? [])].map((n) => n.toLowerCase()));
  const id = entity.id.toLowerCase();
  if (names.has(id) || names.has(entityKey(entity).toLowerCase())) return true;
  return id.startsWith("arn:") && arnResource(object, id.split(":").slice(5).join(":"));
}

/** Why one object is protected, judged on every entity that is it: the candidates that are, and the one a lookup found. */
function objectProtection(config: GuardrailConfig, object: TouchedObject, candidates: readonly (Entity | undefined)[], extra: Entity | undefined): string | undefined {
  const found = candidates.filter((e): e is Entity => e !== undefined && isEntityOf(object, e));
  const entities = extra === undefined ? found : [...found, extra];
  const spellings = [object.id, `${object.kind}/${object.id}`, ...(object.aliases ?? [])];
  for (const entity of entities.length > 0 ? entities : [undefined]) {
    const why = protectionCause(config, spellings, entity);
    if (why !== undefined) return `params.${object.param} ${object.id} (${object.kind}) is protected (${why})`;
  }
  return undefined;
}

/** The objects an action touches, or why they are unknown (its actuator's `touches` failed): a guardrail errs on the side of not acting. */
function objectsOf(action: TouchingAction): TouchedObject[] | string {
  try {
    return touchedObjects(action.kind, action.params, action.actuator);
  } catch (error) {
    return `actuator ${action.kind} could not name the objects its params touch (${error instanceof Error ? error.message : String(error)}), so their protection is unknown`;
  }
}

/**
 * Why an action's params touch a protected object (or why what they touch is unknown), or
 * undefined. `candidates` are the entities at hand (the context's); `lookup` finds others. Every
 * entity that is the object is judged: one protected is enough. Never throws.
 */
export function touchedProtection(config: GuardrailConfig, action: TouchingAction, candidates: readonly (Entity | undefined)[], lookup?: (object: TouchedObject) => Entity | undefined): string | undefined {
  const objects = objectsOf(action);
  if (typeof objects === "string") return objects;
  for (const object of objects) {
    const why = objectProtection(config, object, candidates, lookup?.(object));
    if (why !== undefined) return why;
  }
  return undefined;
}

/**
 * touchedProtection with a lookup that answers asynchronously (the entity store as it is now), for
 * a plan judged again when it runs. Rejects only when the lookup does.
 */
export async function currentTouchedProtection(config: GuardrailConfig, action: TouchingAction, lookup: CurrentEntityLookup): Promise<string | undefined> {
  const objects = objectsOf(action);
  if (typeof objects === "string") return objects;
  for (const object of objects) {
    const why = objectProtection(config, object, [], await lookup({ kind: object.kind, id: object.id }));
    if (why !== undefined) return why;
  }
  return undefined;
}
