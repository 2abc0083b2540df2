/**
 * `kubernetes.patch`: an RFC 6902 JSON Patch of an object of any kind the API server serves,
 * led by a `test` of the resourceVersion it was computed from; undo restores the changed paths
 * behind a test of the version the patch left. Registered by createKubernetesActuators
 * (kubernetes.ts); the object lookup is shared with kubernetes.delete (kubernetes-generic.ts).
 */
import type { Actuator } from "../../core/index.js";
import { VigilError } from "../../core/index.js";
import { applyJsonPatch, escapePointerToken, getAtPointer, jsonEqual, parsePointer } from "../../policy/kyverno/json-patch.js";
import type { JsonPatchOperation } from "../../policy/kyverno/json-patch.js";
import { ActuatorApiError, defineActuator, type OperationContext } from "./define.js";
import type { KubernetesClient } from "./kubernetes-client.js";
import type { KubernetesObject, ResourceRef } from "./kubernetes-objects.js";
import { read } from "./params.js";
import type { ActionKindSpec, ActuatorRuntime } from "./types.js";
import { asRecord, describeTarget, kubernetesDeleteSpec, resolveTarget, SERVER_OWNED_METADATA, targetOf, type ObjectTarget } from "./kubernetes-generic.js";
import { checkSourceParam, contentFields, readSource, sourceOf } from "./kubernetes-clone.js";

const PATCH_OPS = ["add", "remove", "replace", "move", "copy", "test"] as const;
type PatchOp = (typeof PATCH_OPS)[number];
/** The members each operation takes (RFC 6902 §4); any other member is refused, so a typo (`vaule`) is not ignored. */
const PATCH_MEMBERS: Readonly<Record<PatchOp, readonly string[]>> = {
  add: ["op", "path", "value"],
  replace: ["op", "path", "value"],
  test: ["op", "path", "value"],
  remove: ["op", "path"],
  move: ["op", "from", "path"],
  copy: ["op", "from", "path"],
};
/** The API server's limit (maxJSONPatchOperations), less the resourceVersion test Vigil adds. */
const MAX_PATCH_OPERATIONS = 9_999;
/**
 * Paths a patch may not change (tests may read them): the root, the object's identity, metadata the
 * server owns, and status (a PATCH of the object does not change it; the status subresource does).
 * INVARIANT: undo restores only fields outside these, which is why `before` may omit status and
 * server-owned metadata.
 */
const PROTECTED_PATHS = ["/apiVersion", "/kind", "/metadata/name", "/metadata/namespace", ...SERVER_OWNED_METADATA.map((field) => `/metadata/${field}`), "/status"];
const isProtectedPath = (pointer: string): boolean => pointer === "" || pointer === "/metadata" || PROTECTED_PATHS.some((path) => pointer === path || pointer.startsWith(`${path}/`));
/** RFC 6901: empty, or "/"-separated tokens in which "~" is only "~0" or "~1". */
const JSON_POINTER = /^(\/([^~/]|~[01])*)*$/;
const RESOURCE_VERSION_PATH = "/metadata/resourceVersion";

export const kubernetesPatchSpec: ActionKindSpec = {
  kind: "kubernetes.patch",
  provider: "kubernetes",
  summary:
    "Apply an RFC 6902 JSON Patch to one object of any kind the API server serves (resource and scope from its discovery document), only while it is still at the resourceVersion the patch was computed from; e.g. for Kyverno mutate-existing rules.",
  params: [
    ...kubernetesDeleteSpec.params.filter((param) => ["apiVersion", "kind", "namespace", "name"].includes(param.name)),
    {
      name: "patch",
      type: "array",
      required: false,
      description:
        "an array of RFC 6902 operations: op add|remove|replace|move|copy|test, path (a JSON pointer), value (add, replace, test), from (move, copy); no operation may change the root, apiVersion, kind, metadata (whole), metadata.name, metadata.namespace, server-owned metadata or status; required and non-empty unless copyFrom is given",
    },
    {
      name: "copyFrom",
      type: "object",
      required: false,
      description:
        "bring the object's content back to a copy of this object of the same apiVersion and kind, read when the action applies: namespace (absent for a cluster-scoped kind), name, and uid (optional: refuse a source deleted and re-created since). Each top-level field of the source but apiVersion, kind, metadata and status replaces the object's (fields the source lacks stay), after the patch's operations; the copied values are in neither the plan nor the action record (a Kyverno clone of a Secret, synchronized)",
    },
    {
      name: "resourceVersion",
      type: "string",
      required: false,
      description: "precondition: the metadata.resourceVersion the patch was computed from (sent as a leading test operation); default: the resourceVersion read just before the PATCH",
    },
  ],
  reversible: true,
  undo: "restores the fields the patch (and copyFrom) changed to their values read before it, with a JSON Patch whose leading test requires the object to be still at the resourceVersion the patch left: if anything wrote to the object since (another client, a controller updating its status or metadata), the undo fails and restores nothing; a whole array is restored when the patch changed an element of it; a patched Secret records no undo data, so it cannot be undone",
  dryRun: "reads the object (and the copyFrom source) and applies the patch locally: lists the fields that would change, whether every operation applies, and whether the object is still at params.resourceVersion; no PATCH is sent",
};

function badPatch(field: string, message: string): VigilError {
  return new VigilError("VIGIL_BAD_INPUT", `${kubernetesPatchSpec.kind}: params.${field} ${message}`, { field: `params.${field}` });
}

function checkPointer(value: unknown, field: string, mutates: boolean): void {
  if (typeof value !== "string") throw badPatch(field, `must be a JSON pointer string such as "/data/mode"; got ${JSON.stringify(value) ?? "nothing"}`);
  if (!JSON_POINTER.test(value)) throw badPatch(field, `"${value}" is not a JSON pointer (RFC 6901): empty or starting with "/", with "~" only as "~0" or "~1"`);
  if (mutates && isProtectedPath(value)) {
    throw badPatch(
      field,
      `"${value}" is not a path kubernetes.patch changes: the root, apiVersion, kind, metadata as a whole, metadata.name/namespace, server-owned metadata (${SERVER_OWNED_METADATA.join(", ")}) and status are refused; patch the fields beneath them, or the status subresource by other means`,
    );
  }
}

/** Checks each operation of params.patch; errors name the index (`params.patch[2].path`). */
function checkPatchParams(params: Readonly<Record<string, unknown>>): void {
  const patch = params["patch"] ?? (params["copyFrom"] === undefined ? undefined : []);
  checkSourceParam(kubernetesPatchSpec.kind, params, "copyFrom", "copy the content from");
  if (!Array.isArray(patch) || (patch.length === 0 && params["copyFrom"] === undefined)) throw badPatch("patch", "must be a non-empty array of RFC 6902 operations, e.g. [{\"op\":\"replace\",\"path\":\"/data/mode\",\"value\":\"strict\"}] (or give copyFrom)");
  if (patch.length > MAX_PATCH_OPERATIONS) throw badPatch("patch", `has ${patch.length} operations; the API server takes at most ${MAX_PATCH_OPERATIONS + 1}, one of them the resourceVersion test`);
  patch.forEach((operation: unknown, index) => {
    const at = `patch[${index}]`;
    const item = asRecord(operation);
    if (item === undefined) throw badPatch(at, "must be an object with op and path (an RFC 6902 operation)");
    const op = item["op"];
    if (typeof op !== "string" || !(PATCH_OPS as readonly string[]).includes(op)) throw badPatch(`${at}.op`, `must be one of ${PATCH_OPS.join(", ")}; got ${JSON.stringify(op) ?? "nothing"}`);
    const members = PATCH_MEMBERS[op as PatchOp];
    const extra = Object.keys(item).find((member) => !members.includes(member));
    if (extra !== undefined) throw badPatch(`${at}.${extra}`, `is not a member of a ${op} operation (it takes ${members.join(", ")})`);
    checkPointer(item["path"], `${at}.path`, op !== "test");
    if (members.includes("value") && !("value" in item && item["value"] !== undefined)) throw badPatch(`${at}.value`, `is required by a ${op} operation (null is a value)`);
    if (members.includes("from")) checkPointer(item["from"], `${at}.from`, op === "move");
  });
}

const patchOf = (params: Readonly<Record<string, unknown>>): readonly JsonPatchOperation[] => (params["patch"] as readonly JsonPatchOperation[] | undefined) ?? [];

/** The operations that give `object` the content of `source` (copyFrom): add or replace each content field of the source that differs. */
export function copyOperations(object: KubernetesObject, source: KubernetesObject): JsonPatchOperation[] {
  return contentFields(source).flatMap((field): JsonPatchOperation[] => {
    const path = `/${escapePointerToken(field)}`;
    if (object[field] === undefined) return [{ op: "add", path, value: source[field] }];
    return jsonEqual(object[field], source[field]) ? [] : [{ op: "replace", path, value: source[field] }];
  });
}
const resourceVersionOf = (object: KubernetesObject): string | undefined => {
  const version = asRecord(object["metadata"])?.["resourceVersion"];
  return typeof version === "string" && version !== "" ? version : undefined;
};
const isSecret = (ref: ResourceRef): boolean => ref.api.apiVersion === "v1" && ref.api.kind === "Secret";
const pointerOf = (tokens: readonly string[]): string => tokens.map((token) => `/${escapePointerToken(token)}`).join("");
const parentOf = (pointer: string): string => pointerOf(parsePointer(pointer).slice(0, -1));
const describeOperation = (operation: JsonPatchOperation): string => ("from" in operation ? `${operation.op} ${operation.from} -> ${operation.path}` : `${operation.op} ${operation.path}`);

/** Keeps each path once, and none under another kept path (restoring `/a` restores `/a/b`). */
function outermost(paths: readonly string[]): string[] {
  const unique = [...new Set(paths)].sort();
  return unique.filter((path) => !unique.some((other) => other !== path && path.startsWith(`${other}/`)));
}

/**
 * The paths to restore after `operations` turned `before` into `after`: each path an operation
 * changed (both ends of a move), or the outermost array it lies in (an add or remove inside an
 * array shifts the elements after it, so the array is restored whole).
 */
export function restorePaths(operations: readonly JsonPatchOperation[], before: unknown, after: unknown): string[] {
  const changed = operations.flatMap((operation) => (operation.op === "test" ? [] : operation.op === "move" ? [operation.from, operation.path] : [operation.path]));
  return outermost(
    changed.map((pointer) => {
      const tokens = parsePointer(pointer);
      for (let depth = 1; depth < tokens.length; depth++) {
        const container = pointerOf(tokens.slice(0, depth));
        if (Array.isArray(getAtPointer(before, container)) || Array.isArray(getAtPointer(after, container))) return container;
      }
      return pointer;
    }),
  );
}

/**
 * The operations that put `paths` of `current` back to their values in `before`: add, replace or
 * remove; a path whose parent is gone from `current` is restored from its outermost missing
 * ancestor. No operation for a path that already has its `before` value.
 */
export function restoreOperations(paths: readonly string[], before: unknown, current: unknown): JsonPatchOperation[] {
  const targets = outermost(
    paths.map((path) => {
      let target = path;
      while (parentOf(target) !== "" && getAtPointer(current, parentOf(target)) === undefined) target = parentOf(target);
      return target;
    }),
  );
  return targets.flatMap((path): JsonPatchOperation[] => {
    const was = getAtPointer(before, path);
    const is = getAtPointer(current, path);
    if (was === undefined) return is === undefined ? [] : [{ op: "remove", path }];
    if (is === undefined) return [{ op: "add", path, value: was }];
    return jsonEqual(was, is) ? [] : [{ op: "replace", path, value: was }];
  });
}

/**
 * The object read, as undo data: without status and the metadata the server owns, except
 * resourceVersion (kept so the record says which version the patch was applied to).
 */
function beforeForUndo(object: KubernetesObject): KubernetesObject {
  const { status: _status, ...kept } = structuredClone(object);
  const metadata = asRecord(kept["metadata"]);
  if (metadata) for (const field of SERVER_OWNED_METADATA) if (field !== "resourceVersion") delete metadata[field];
  return kept;
}

/** Applies the patch locally, operation by operation, so a failure names its index; a Secret's values stay out of the message. */
function applyLocally(object: KubernetesObject, operations: readonly JsonPatchOperation[], secret: boolean): { readonly after: unknown } | { readonly problem: string } {
  let document: unknown = object;
  for (const [index, operation] of operations.entries()) {
    try {
      document = applyJsonPatch(document, [operation]);
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      const prefix = `patch operation 0 (${operation.op} ${operation.path}): `;
      const reason = secret && operation.op === "test" ? "the value differs (a Secret's values are not shown)" : message.startsWith(prefix) ? message.slice(prefix.length) : message;
      return { problem: `operation ${index} (${describeOperation(operation)}) does not apply: ${reason}` };
    }
  }
  return { after: document };
}

export function patchActuator(client: KubernetesClient, runtime: ActuatorRuntime): Actuator {
  const kind = kubernetesPatchSpec.kind;
  const versionTest = (version: string): JsonPatchOperation => ({ op: "test", path: RESOURCE_VERSION_PATH, value: version });
  /** A failed test operation (422) as a clear error: `situation` says what the resourceVersion test failing means here. */
  const testFailed = (outcome: { readonly path: string; readonly failure: ActuatorApiError }, version: string, situation: string): ActuatorApiError =>
    new ActuatorApiError(
      `${outcome.failure.message}; ${outcome.path === RESOURCE_VERSION_PATH ? `${situation} (its resourceVersion is no longer ${version})` : `the patch's test operation on ${outcome.path} failed`}: nothing was changed`,
      { ...(outcome.failure.status === undefined ? {} : { status: outcome.failure.status }), ...(outcome.failure.apiCode === undefined ? {} : { apiCode: outcome.failure.apiCode }), cause: outcome.failure },
    );
  const absent = (target: ObjectTarget, what: string): ActuatorApiError =>
    new ActuatorApiError(`${describeTarget(target)} does not exist (the API server answered 404 NotFound): nothing was ${what}`, { status: 404, apiCode: "NotFound" });
  const copySource = (ref: ResourceRef, copy: NonNullable<ReturnType<typeof sourceOf>>, context: OperationContext): Promise<KubernetesObject> =>
    readSource(client, ref, copy, { kind, param: "copyFrom", unchanged: "nothing was patched" }, context);

  return defineActuator(kubernetesPatchSpec, runtime, {
    checkParams: checkPatchParams,
    async preview(plan, context) {
      const target = targetOf(plan.params);
      const ref = await resolveTarget(client, target, kind, context);
      const live = await client.getObject(ref, context);
      if (live === undefined) return { object: target, absent: true, wouldDo: `nothing: ${describeTarget(target)} does not exist, so the PATCH would fail (404)` };
      const copy = sourceOf(plan.params, "copyFrom", target);
      const operations = [...patchOf(plan.params), ...(copy === undefined ? [] : copyOperations(live, await copySource(ref, copy, context)))];
      const current = resourceVersionOf(live);
      const expected = read.optionalString(plan.params, "resourceVersion");
      const secret = isSecret(ref);
      const local = applyLocally(live, operations, secret);
      const changes =
        "after" in local
          ? restorePaths(operations, live, local.after).flatMap((path) => {
              const was = getAtPointer(live, path);
              const will = getAtPointer(local.after, path);
              if (jsonEqual(was, will)) return [];
              const change = was === undefined ? "add" : will === undefined ? "remove" : "replace";
              return [{ path, change, ...(secret ? {} : { ...(was === undefined ? {} : { before: was }), ...(will === undefined ? {} : { after: will }) }) }];
            })
          : [];
      const stale = expected !== undefined && expected !== current;
      return {
        object: target,
        resourceVersion: current ?? null,
        expectedResourceVersion: expected ?? null,
        resourceVersionMatches: expected === undefined ? null : !stale,
        operations: operations.map(describeOperation),
        ...(copy === undefined ? {} : { copyFrom: copy.source }),
        appliesCleanly: "after" in local,
        ...("problem" in local ? { problem: local.problem } : {}),
        changes,
        wouldDo: stale
          ? `nothing: ${describeTarget(target)} is at resourceVersion ${current ?? "(none)"}, not ${expected} the patch was computed from, so its resourceVersion test would fail and the API server would change nothing`
          : "problem" in local
            ? `nothing: ${local.problem}, and the API server applies a patch whole or not at all`
            : changes.length === 0
              ? "nothing: the operations apply but change nothing"
              : `patch ${describeTarget(target)} at resourceVersion ${current ?? "(none)"} (${changes.map((item) => `${item.change} ${item.path}`).join(", ")})`,
      };
    },
    async apply(plan, context) {
      const target = targetOf(plan.params);
      const ref = await resolveTarget(client, target, kind, context);
      // INVARIANT: the object undo restores from is read before the PATCH, and the PATCH applies only to that version.
      const live = await client.getObject(ref, context);
      if (live === undefined) throw absent(target, "patched");
      const copy = sourceOf(plan.params, "copyFrom", target);
      const operations = [...patchOf(plan.params), ...(copy === undefined ? [] : copyOperations(live, await copySource(ref, copy, context)))];
      const current = resourceVersionOf(live);
      const given = read.optionalString(plan.params, "resourceVersion");
      if (given !== undefined && given !== current) {
        throw new ActuatorApiError(
          `${describeTarget(target)} changed since the patch was computed: it is at resourceVersion ${current ?? "(none)"}, the patch was computed from ${given}; nothing was patched (compute the patch again from the current object)`,
        );
      }
      if (current === undefined) throw new ActuatorApiError(`Kubernetes API answered ${describeTarget(target)} without metadata.resourceVersion; refusing to patch it without a resourceVersion test`);
      const secret = isSecret(ref);
      const local = applyLocally(live, operations, secret);
      // Idempotent: a patch that changes nothing is not sent (one that fails locally is, and the API server decides).
      if ("after" in local && jsonEqual(local.after, live)) return { output: { object: target, patched: false, resourceVersion: current, reason: copy === undefined ? "the operations change nothing" : `the operations change nothing and the content matches ${describeTarget(copy.source)}` } };

      let outcome: Awaited<ReturnType<typeof client.jsonPatchObject>>;
      let note: { note?: string } = {};
      try {
        outcome = await client.jsonPatchObject(ref, [versionTest(current), ...operations], context);
      } catch (error) {
        // The API server may have stored the patch and answered 504 Timeout, or the answer was lost:
        // a second read that finds every changed path as the patch makes it (at a newer version)
        // means it took effect, and the read before stays the undo data. A refusal (4xx) stands.
        if (!(error instanceof ActuatorApiError) || (error.status !== undefined && error.status < 500) || !("after" in local)) throw error;
        const now = await client.getObject(ref, context).catch(() => undefined);
        const changed = restorePaths(operations, live, local.after);
        if (now === undefined || resourceVersionOf(now) === current || !changed.every((path) => jsonEqual(getAtPointer(now, path), getAtPointer(local.after, path)))) throw error;
        outcome = { status: "patched", object: now };
        note = { note: `the PATCH failed (${error.message}), but a second read finds the patched values: it took effect` };
      }
      if (outcome.status === "test-failed") {
        throw testFailed(outcome, current, given === undefined ? `${describeTarget(target)} changed between the read and the PATCH` : `${describeTarget(target)} changed since the patch was computed`);
      }
      const after = resourceVersionOf(outcome.object);
      const output = { object: target, patched: true, ...(copy === undefined ? {} : { copiedFrom: copy.source }), resourceVersion: after ?? null, ...note };
      // A Secret's data must not be copied into the action record (results never hold secrets).
      if (secret) return { output: { ...output, undoRecorded: false, undoWithheld: "a Secret's data is never copied into the action record" } };
      if (after === undefined) return { output: { ...output, undoRecorded: false, undoWithheld: "the API server answered the patched object without a resourceVersion, which undo's test needs" } };
      return { output, undo: { ...target, before: beforeForUndo(live), afterResourceVersion: after, paths: restorePaths(operations, live, outcome.object) } };
    },
    async revert(_plan, undo, context) {
      const target = targetOf(undo);
      const before = asRecord(undo["before"]);
      const afterVersion = undo["afterResourceVersion"];
      const paths = undo["paths"];
      if (before === undefined || typeof afterVersion !== "string" || !Array.isArray(paths) || !paths.every((path) => typeof path === "string")) {
        throw new VigilError("VIGIL_BAD_INPUT", `${kind}: the undo data needs before (an object), afterResourceVersion (a string) and paths (strings) to restore ${describeTarget(target)}`, { field: "undo" });
      }
      const ref = await resolveTarget(client, target, kind, context);
      const live = await client.getObject(ref, context);
      if (live === undefined) throw absent(target, "restored");
      const current = resourceVersionOf(live);
      if (current !== afterVersion) {
        throw new ActuatorApiError(
          `${describeTarget(target)} changed since the patch was applied: it is at resourceVersion ${current ?? "(none)"}, the patch left ${afterVersion}; nothing was restored, so that later change is not overwritten (the undo data's before holds the previous values)`,
        );
      }
      const operations = restoreOperations(paths as string[], before, live);
      if (operations.length === 0) return { object: target, restored: false, resourceVersion: current, reason: "the fields the patch changed already have their previous values" };
      const outcome = await client.jsonPatchObject(ref, [versionTest(afterVersion), ...operations], context);
      if (outcome.status === "test-failed") throw testFailed(outcome, afterVersion, `${describeTarget(target)} changed since the patch was applied, so the later change is not overwritten`);
      return { object: target, restored: true, operations: operations.map(describeOperation), resourceVersion: resourceVersionOf(outcome.object) ?? null };
    },
  });
}
