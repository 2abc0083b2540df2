/**
 * The parts of Kyverno's CEL libraries the policy library uses, on top of the shared CEL
 * environment: `resource.Get` / `resource.List` (fed by test context resources or a resolver),
 * `parseServiceAccount`, `image(ref)` with `.registry()`. Anything needing a cluster or a registry
 * without data errors at evaluation (the rule reports `error`, never a silent pass).
 */
import type { CelActivation, CelFunctionDefinition } from "../cel/api.js";
import { imageInfo, type Doc } from "./context.js";
import { searchJmes } from "./jmespath.js";
import type { KyvernoEvaluateOptions } from "./policy.js";
import type { AdmissionInput } from "./request.js";

type Json = Record<string, unknown>;

function isObject(value: unknown): value is Json {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

const resourcesKey = "__vigilResources";
const imagesKey = "__vigilImages";
const timeKey = "__vigilTime";
const globalContextKey = "__vigilGlobalContext";
/**
 * The GlobalContextEntry reader of the evaluation in progress (CEL `globalContext.Get`).
 * INVARIANT: set only around a synchronous evaluation (withGlobalContextReader).
 */
let activeGlobalContext: ((name: string) => unknown) | undefined;

/** Runs `evaluate` with `reader` answering `globalContext.Get` (none: Get errors). */
export function withGlobalContextReader<T>(reader: ((name: string) => unknown) | undefined, evaluate: () => T): T {
  const previous = activeGlobalContext;
  activeGlobalContext = reader;
  try {
    return evaluate();
  } finally {
    activeGlobalContext = previous;
  }
}

function resourcesOf(receiver: unknown): Json[] {
  if (!isObject(receiver) || !Array.isArray(receiver[resourcesKey])) throw new Error("resource library: no cluster resources available (provide them in the test context)");
  return receiver[resourcesKey].filter(isObject);
}

function matchesResource(object: Json, apiVersion: string, resource: string, namespace: string): boolean {
  const kind = String(object["kind"] ?? "");
  const plural = kind.toLowerCase().endsWith("s") ? `${kind.toLowerCase()}es` : kind.toLowerCase().endsWith("y") ? `${kind.toLowerCase().slice(0, -1)}ies` : `${kind.toLowerCase()}s`;
  const meta = isObject(object["metadata"]) ? object["metadata"] : {};
  return object["apiVersion"] === apiVersion && plural === resource.toLowerCase() && (namespace === "" || meta["namespace"] === namespace);
}

/** Functions to add to the CEL environment for Kyverno policies. */
export const kyvernoCelFunctions: readonly CelFunctionDefinition[] = [
  {
    name: "parseServiceAccount",
    arity: 1,
    impl: (username) => {
      const m = /^system:serviceaccount:([^:]+):([^:]+)$/.exec(String(username));
      return { Namespace: m?.[1] ?? "", Name: m?.[2] ?? "" };
    },
  },
  {
    name: "Get",
    receiver: true,
    arity: 4,
    impl: (receiver, apiVersion, resource, namespace, name) => {
      const found = resourcesOf(receiver).find((o) => matchesResource(o, String(apiVersion), String(resource), String(namespace)) && isObject(o["metadata"]) && o["metadata"]["name"] === name);
      if (!found) throw new Error(`resource ${String(apiVersion)}/${String(resource)} ${String(namespace)}/${String(name)} not found`);
      return found;
    },
  },
  {
    name: "List",
    receiver: true,
    arity: 3,
    impl: (receiver, apiVersion, resource, namespace) => ({ items: resourcesOf(receiver).filter((o) => matchesResource(o, String(apiVersion), String(resource), String(namespace))) }),
  },
  // The corpus' policies call `.orValue()` on values that are not optionals (`object.spec.volumes.orValue([])`)
  // and Kyverno accepts them: a non-optional receiver is returned as is (null → the default).
  { name: "orValue", receiver: true, arity: 1, impl: (value, fallback) => value ?? fallback },
  {
    name: "GetMetadata",
    receiver: true,
    arity: 1,
    impl: (receiver, ref) => {
      if (!isObject(receiver) || !Array.isArray(receiver[imagesKey])) throw new Error("image library: no image metadata available (provide it in the test context images)");
      const found = receiver[imagesKey].filter(isObject).find((i) => i["image"] === ref);
      if (!found) throw new Error(`image library: no metadata for image ${String(ref)}`);
      const { image, ...metadata } = found;
      return { resolvedImage: image, ...metadata };
    },
  },
  {
    // globalContext.Get(entry, jmesPath): a GlobalContextEntry's data ("" = all of it), as Kyverno's CEL global context library.
    name: "Get",
    receiver: true,
    arity: 2,
    impl: (receiver, name, path) => {
      if (!isObject(receiver) || receiver[globalContextKey] !== true) throw new Error("Get(name, path) is globalContext.Get");
      if (activeGlobalContext === undefined) throw new Error("globalContext: no GlobalContextEntry is loaded with the policies");
      const data: unknown = activeGlobalContext(String(name));
      if (typeof path !== "string" || path === "") return data;
      const found = searchJmes(path, data);
      if (!found.ok) throw new Error(`globalContext.Get(${JSON.stringify(name)}, ${JSON.stringify(path)}): ${found.error}`);
      return found.value;
    },
  },
  { name: "now", receiver: true, arity: 0, impl: (receiver) => (isObject(receiver) && receiver[timeKey] === true ? new Date() : undefined) },
  { name: "image", arity: 1, impl: (ref) => ({ ...imageInfo(String(ref)), __vigilImage: true }) },
  { name: "registry", receiver: true, arity: 0, impl: (img) => (isObject(img) ? img["registry"] : undefined) },
  { name: "repository", receiver: true, arity: 0, impl: (img) => (isObject(img) ? img["path"] : undefined) },
  { name: "tag", receiver: true, arity: 0, impl: (img) => (isObject(img) ? img["tag"] : undefined) },
  { name: "digest", receiver: true, arity: 0, impl: (img) => (isObject(img) ? img["digest"] : undefined) },
];

/** The activation for Kyverno CEL (ValidatingPolicy, validate.cel). */
export function kyvernoCelActivation(input: AdmissionInput, doc: Doc, options: KyvernoEvaluateOptions): CelActivation {
  return {
    object: input.object,
    oldObject: input.oldObject,
    request: doc["request"] ?? {},
    params: null,
    namespaceObject: input.namespaceObject ?? null,
    resource: { [resourcesKey]: options.clusterResources ?? null },
    image: { [imagesKey]: options.imageMetadata ?? null },
    time: { [timeKey]: true },
    globalContext: { [globalContextKey]: true },
  };
}
