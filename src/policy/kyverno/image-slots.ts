/**
 * The images a Kyverno verifyImages rule or ImageValidatingPolicy checks in a resource: the
 * containers of a Pod or pod template (initContainers, containers, ephemeralContainers; a
 * CronJob's job template), or the rule's `imageExtractors` for the resource's kind; and Kyverno's
 * string form of an image reference; and which images an ImageValidatingPolicy's
 * `matchImageReferences` select.
 */
import { VigilError } from "../../core/errors.js";
import type { CelEnvironment } from "../cel/api.js";
import { compileExpression } from "./cel-policy-common.js";
import { imageInfo } from "./context.js";
import { wildcardMatch } from "./wildcard.js";
import { searchJmes } from "./jmespath.js";

type Json = Record<string, unknown>;

function isObject(value: unknown): value is Json {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

/** An image of the resource, where it is written, and Kyverno's view of it. */
export interface ImageSlot {
  /** Path to the `image` field in the object (`spec`, `containers`, 0, `image`). */
  readonly path: readonly (string | number)[];
  /** The image (as written, or as an extractor's jmesPath made it). */
  readonly image: string;
  /** Made by an extractor's jmesPath: checked, never rewritten. */
  readonly transformed?: boolean;
}

/** Where the pod spec of a Pod or of a pod template lives. */
function podSpecPath(object: Json): string[] | undefined {
  const spec = object["spec"];
  if (!isObject(spec)) return undefined;
  if (object["kind"] === "Pod") return ["spec"];
  if (object["kind"] === "CronJob") {
    const jt = spec["jobTemplate"];
    const template = isObject(jt) && isObject(jt["spec"]) ? jt["spec"]["template"] : undefined;
    return isObject(template) && isObject(template["spec"]) ? ["spec", "jobTemplate", "spec", "template", "spec"] : undefined;
  }
  const template = spec["template"];
  return isObject(template) && isObject(template["spec"]) ? ["spec", "template", "spec"] : undefined;
}

/** Every container image of a Pod or pod template (Kyverno's default image extractors). */
function defaultSlots(object: Json): ImageSlot[] {
  const base = podSpecPath(object);
  if (base === undefined) return [];
  let podSpec: unknown = object;
  for (const key of base) podSpec = (podSpec as Json)[key];
  const slots: ImageSlot[] = [];
  for (const field of ["initContainers", "containers", "ephemeralContainers"]) {
    const list = (podSpec as Json)[field];
    if (!Array.isArray(list)) continue;
    list.forEach((container, index) => {
      if (isObject(container) && typeof container["image"] === "string") slots.push({ path: [...base, field, index, "image"], image: container["image"] });
    });
  }
  return slots;
}

/**
 * Kyverno `imageExtractors` for the object's kind: each `path` (slash-separated, `*` expanding
 * a list or an object) leads to objects whose `value` field (default `image`) holds an image;
 * `jmesPath` turns that field into the image reference (such an image is checked, never rewritten).
 */
function extractedSlots(object: Json, extractors: readonly Json[]): ImageSlot[] {
  const slots: ImageSlot[] = [];
  for (const extractor of extractors) {
    const segments = String(extractor["path"] ?? "").split("/").filter((s) => s !== "");
    const field = typeof extractor["value"] === "string" && extractor["value"] !== "" ? extractor["value"] : "image";
    const jmesPath = typeof extractor["jmesPath"] === "string" && extractor["jmesPath"] !== "" ? extractor["jmesPath"] : undefined;
    const walk = (node: unknown, at: number, path: (string | number)[]): void => {
      if (at === segments.length) {
        if (!isObject(node) || typeof node[field] !== "string") return;
        let image = node[field] as string;
        if (jmesPath !== undefined) {
          const found = searchJmes(jmesPath, image);
          if (!found.ok || typeof found.value !== "string") return;
          image = found.value;
        }
        slots.push({ path: [...path, field], image, ...(jmesPath !== undefined ? { transformed: true } : {}) });
        return;
      }
      const segment = segments[at] as string;
      if (segment === "*") {
        if (Array.isArray(node)) node.forEach((item, i) => walk(item, at + 1, [...path, i]));
        else if (isObject(node)) for (const [key, item] of Object.entries(node)) walk(item, at + 1, [...path, key]);
      } else if (isObject(node)) walk(node[segment], at + 1, [...path, segment]);
      else if (Array.isArray(node) && /^\d+$/.test(segment)) walk(node[Number(segment)], at + 1, [...path, Number(segment)]);
    };
    walk(object, 0, []);
  }
  return slots;
}

/** The images a rule checks: its `imageExtractors` for the object's kind, else the pod's containers. */
export function imageSlots(object: Json, imageExtractors?: unknown): ImageSlot[] {
  const kind = typeof object["kind"] === "string" ? object["kind"] : "";
  const custom = isObject(imageExtractors) && Array.isArray(imageExtractors[kind]) ? (imageExtractors[kind] as unknown[]).filter(isObject) : undefined;
  return custom !== undefined ? extractedSlots(object, custom) : defaultSlots(object);
}

/** Kyverno's ImageInfo.String(): `<registry>/<path>@<digest>`, else `<registry>/<path>:<tag>`. */
export function kyvernoImageString(image: string): { readonly text: string; readonly digest: string; readonly withTag: string } {
  const info = imageInfo(image);
  const base = `${info["registry"]}/${info["path"]}`;
  const withTag = `${base}:${info["tag"] === "" ? "latest" : info["tag"]}`;
  return { text: info["digest"] !== "" ? `${base}@${info["digest"]}` : withTag, digest: info["digest"] ?? "", withTag };
}

/** A matchImageReferences expression that failed on an image (the policy's result is then an error). */
export class ImageMatchError extends Error {}

/**
 * One `matchImageReferences` entry as a test of an image reference: `glob` (Kyverno's wildcards,
 * on the reference as written or as Kyverno normalizes it), or `expression`: CEL with the
 * reference as the string `ref` (as Kyverno evaluates it), true to select the image; a failure or
 * a result that is not a bool throws ImageMatchError. An entry with neither fails to load.
 */
export function imageMatcher(ref: Readonly<Record<string, unknown>>, index: number, env: CelEnvironment, origin: string): (image: string) => boolean {
  const field = `spec.matchImageReferences[${index}]`;
  const glob = typeof ref["glob"] === "string" ? ref["glob"] : undefined;
  if (glob !== undefined && glob !== "") return (image) => wildcardMatch(glob, image) || wildcardMatch(glob, kyvernoImageString(image).text);
  if (ref["expression"] === undefined) throw new VigilError("VIGIL_POLICY_LOAD", `${origin}: ${field} needs glob or expression (as Kyverno: either must be set).`, { field });
  const program = compileExpression(env, ref["expression"], origin, `${field}.expression`);
  return (image) => {
    const r = program.evaluate({ ref: image });
    if (!r.ok) throw new ImageMatchError(`${field}.expression on ${image}: ${r.error.message}`);
    if (typeof r.value !== "boolean") throw new ImageMatchError(`${field}.expression on ${image}: the result must be a bool, got ${JSON.stringify(r.value)}`);
    return r.value;
  };
}
