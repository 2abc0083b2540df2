/**
 * Kyverno `verifyImages` rules (Cosign signatures and attestations checked with public keys or
 * keyless, against Fulcio certificates),
 * following Kyverno's image verifier (pkg/engine/internal/imageverifier.go):
 *
 * - the images of a Pod or pod template (containers, initContainers, ephemeralContainers) that
 *   match `imageReferences` (wildcards; the deprecated `image`) and no `skipImageReferences`;
 * - `attestors`: every attestor set must hold; in a set, `count` entries (default all) must
 *   verify; a `keys.publicKeys` holding several PEM keys is one entry per key; nested `attestor`
 *   sets; entry `repository` / `annotations` override the rule's;
 * - `attestations`: for each predicate type, each attestor set's `count` entries must have signed
 *   attestations of that type, and every such statement must satisfy `conditions` (any/all,
 *   evaluated with the statement's predicate merged into the variable document);
 * - `mutateDigest` (default true): in the mutating webhook, a verified image named by tag is
 *   rewritten to `<image>@<digest>`, and the `kyverno.io/verify-images` annotation records the
 *   verified images;
 * - `verifyDigest` (default true): in validation, an image without a digest fails.
 *
 * Where Kyverno's validating webhook trusts the `kyverno.io/verify-images` annotation its
 * mutating webhook wrote (`required`), Vigil checks the signatures again (the registry client
 * keeps answers `cacheSeconds`), so a validating-only deployment, a background scan and
 * `vigil decide` give the same verdict. Signature checks are lookups (`imageSignature`) answered
 * by the registries the context carries (admission.registries), fetched between evaluation rounds
 * like Kyverno's other external context.
 *
 * Signatures are read from the `.sig` / `.att` tags of cosign up to v2 and from the Sigstore
 * bundles cosign v3 attaches as OCI referrers (registry-client.ts), for `type: Cosign` and
 * `type: SigstoreBundle` alike. Keys may come from a Secret (`keys.secret` or `publicKeys:
 * k8s://<namespace>/<name>`, read from the cluster);
 * `certificates` attestors check the signature with the given certificate (or the one shipped
 * with it) chained to `certChain`. `type: Notary` checks notation signatures (JWS referrers,
 * notary.ts) against the `certificates` of its attestors, and its attestations are referrer
 * artifacts of the attestation's type (an SBOM) signed by notation, their JSON content the
 * predicate the conditions read. `keys.kms`: an AWS KMS key (`awskms://`, cosign's format) is
 * sent with the check and fetched by the context layer (context/kubernetes/kms.ts), which
 * answers `unsupported` when no KMS is configured and `error` when the key cannot be fetched;
 * other KMS schemes report `unsupported`, naming the field.
 */
import type { TraceStep } from "../../core/finding.js";
import { loadContextEntries, UnresolvedContext, type Doc } from "./context.js";
import { imageSlots, kyvernoImageString, type ImageSlot } from "./image-slots.js";
import { attestorSets, checkAttestorSet, checkSignerEntry, expandEntries, stringRecord, strings, type Check, type CheckScope, type VerifyEnv } from "./verify-attestors.js";
import type { RuleEnv } from "./rule-env.js";
import { evaluateConditions, preconditionsNotMet } from "./validate.js";
import { substituteAll } from "./variables.js";
import { wildcardMatch } from "./wildcard.js";

type Json = Record<string, unknown>;

function isObject(value: unknown): value is Json {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

export type VerifyStatus = "pass" | "fail" | "error" | "skip" | "unsupported";

export interface VerifyImagesOutcome {
  /** undefined when no image of the resource is selected by the rule (Kyverno reports nothing). */
  readonly status: VerifyStatus | undefined;
  readonly message: string;
  readonly trace: readonly TraceStep[];
  /** Images to rewrite to their digest (mutateDigest). */
  readonly digests: readonly { readonly slot: ImageSlot; readonly value: string }[];
  /** `kyverno.io/verify-images` entries: the image (with its digest) → verified. */
  readonly verified: Readonly<Record<string, boolean>>;
}

/** Kyverno's ImageVerification.Convert(): the deprecated `image`, `key`, `roots`/`subject`/`issuer` and `annotations` forms. */
function normalize(entry: Json): Json {
  const out: Json = { ...entry };
  if (out["imageReferences"] === undefined && typeof entry["image"] === "string") out["imageReferences"] = [entry["image"]];
  if (out["attestors"] === undefined && typeof entry["key"] === "string" && entry["key"] !== "") {
    out["attestors"] = [{ entries: [{ keys: { publicKeys: entry["key"] }, ...(entry["annotations"] ? { annotations: entry["annotations"] } : {}) }] }];
  } else if (out["attestors"] === undefined && (entry["issuer"] !== undefined || entry["subject"] !== undefined || entry["roots"] !== undefined)) {
    out["attestors"] = [{ entries: [{ keyless: { issuer: entry["issuer"], subject: entry["subject"], roots: entry["roots"] } }] }];
  }
  return out;
}

/** Verifies one selected image against one verifyImages entry: the digest when it holds, else why not. */
function verifyImage(entry: Json, image: string, venv: VerifyEnv): Check | undefined {
  const attestors = attestorSets(entry["attestors"]);
  const attestations = Array.isArray(entry["attestations"]) ? entry["attestations"].filter(isObject) : [];
  if (attestors.length === 0 && attestations.length === 0) return undefined;
  const scope: CheckScope = {
    image,
    ...(entry["type"] === "Notary" ? { notary: true } : {}),
    ...(typeof entry["repository"] === "string" && entry["repository"] !== "" ? { repository: entry["repository"] } : {}),
    ...(stringRecord(entry["annotations"]) ? { annotations: stringRecord(entry["annotations"]) as Record<string, string> } : {}),
  };
  let digest = "";
  for (const [i, set] of attestors.entries()) {
    const outcome = checkAttestorSet(set, scope, `.attestors[${i}]`, venv);
    if (outcome.kind !== "ok") return outcome.kind === "fail" ? { kind: "fail", message: `failed to verify image ${image}: ${outcome.message}` } : outcome;
    digest = outcome.digest;
  }
  for (const [i, attestation] of attestations.entries()) {
    const path = `.attestations[${i}]`;
    const predicateType = typeof attestation["type"] === "string" && attestation["type"] !== "" ? attestation["type"] : typeof attestation["predicateType"] === "string" ? attestation["predicateType"] : "";
    if (predicateType === "") return { kind: "fail", message: `${path}: missing predicateType` };
    const sets = attestorSets(attestation["attestors"]);
    if (sets.length === 0) return { kind: "unsupported", message: `${path}.attestors: an attestation without attestors is checked against Sigstore's public-good defaults by Kyverno; name its keys or keyless attestors` };
    for (const [j, set] of sets.entries()) {
      const setPath = `${path}.attestors[${j}]`;
      const entries = expandEntries(Array.isArray(set["entries"]) ? set["entries"].filter(isObject) : []);
      const required = typeof set["count"] === "number" && set["count"] > 0 ? set["count"] : entries.length;
      let verified = 0;
      for (const [k, attestor] of entries.entries()) {
        const at = `${setPath}.entries[${k}]`;
        if (!isObject(attestor["keys"]) && !isObject(attestor["keyless"]) && !isObject(attestor["certificates"])) {
          return { kind: "unsupported", message: `${at}.attestor: nested attestor sets are not verified by Vigil for attestations; list keys, keyless or certificates entries` };
        }
        const outcome = checkSignerEntry(attestor, { ...scope, predicateType }, at, venv);
        if (outcome.kind !== "ok") return outcome.kind === "fail" ? { kind: "fail", message: `failed to verify image ${image}: ${outcome.message}` } : outcome;
        digest ||= outcome.digest;
        const statements = outcome.statements ?? [];
        const field = isObject(attestor["keys"]) ? "keys" : isObject(attestor["keyless"]) ? "keyless" : "certificates";
        if (statements.length === 0) return { kind: "fail", message: `${at}.${field}: attestations not found for predicate type ${predicateType}` };
        for (const statement of statements) {
          const conditions = attestation["conditions"];
          if (conditions === undefined || (Array.isArray(conditions) && conditions.length === 0)) continue;
          const predicate = statement["predicate"];
          if (!isObject(predicate)) return { kind: "fail", message: `${at}.${field}: failed to extract predicate from statement` };
          // Kyverno merges the predicate into the context; several condition blocks must all hold.
          const doc: Doc = { ...venv.doc, ...predicate };
          for (const block of Array.isArray(conditions) ? conditions : [conditions]) {
            const outcome2 = evaluateConditions(block, doc, venv.env, "empty");
            venv.trace.push({ kind: "condition", expr: `${path}.conditions (${predicateType})`, value: outcome2.ok ? outcome2.value : false, ...(outcome2.error ? { error: outcome2.error } : {}), children: outcome2.trace });
            if (!outcome2.ok) return { kind: "fail", message: `${at}.${field}: failed to check attestations: ${outcome2.error ?? ""}` };
            if (!outcome2.value) return { kind: "fail", message: `${at}.${field}: attestation checks failed for ${image} and predicate ${predicateType}` };
          }
        }
        verified++;
        if (verified >= required) break;
      }
      if (verified < required) return { kind: "fail", message: `image attestations verification failed, verifiedCount: ${verified}, requiredCount: ${required}` };
    }
  }
  return { kind: "ok", digest };
}

/** Substitutes variables in the verifyImages entries, leaving attestation conditions for later (they read the predicate). */
function substituteEntries(list: readonly Json[], doc: Doc, env: RuleEnv): { ok: true; entries: Json[] } | { ok: false; error: string } {
  const held = list.map((entry) => (Array.isArray(entry["attestations"]) ? entry["attestations"].map((a) => (isObject(a) ? a["conditions"] : undefined)) : []));
  const stripped = list.map((entry) => (Array.isArray(entry["attestations"]) ? { ...entry, attestations: entry["attestations"].map((a) => (isObject(a) ? { ...a, conditions: undefined } : a)) } : entry));
  const substituted = substituteAll(stripped, doc, { deleteRequest: env.deleteRequest });
  if (!substituted.ok) return { ok: false, error: substituted.error };
  const entries = (substituted.value as Json[]).map((entry, i) => {
    if (!Array.isArray(entry["attestations"])) return entry;
    return { ...entry, attestations: entry["attestations"].map((a, j) => (isObject(a) ? { ...a, conditions: held[i]?.[j] } : a)) };
  });
  return { ok: true, entries };
}

/**
 * Runs a verifyImages rule on an object: context entries, preconditions, then each entry on each
 * selected image. `phase`: `mutate` computes digest rewrites; `validate` applies verifyDigest.
 * Never throws.
 */
export function verifyImagesBlock(list: unknown, object: Json, doc: Doc, env: RuleEnv, context: readonly unknown[], preconditions: unknown, phase: "mutate" | "validate", imageExtractors?: unknown): VerifyImagesOutcome {
  const none = { digests: [], verified: {} };
  const loaded = loadContextEntries(context, doc, { mocked: env.mocked, ...(env.resolver ? { resolver: env.resolver } : {}), deleteRequest: env.deleteRequest });
  if (!loaded.ok) return { status: "error", message: `failed to load context: ${loaded.error}`, trace: [{ kind: "note", expr: "context", error: loaded.error }], ...none };
  const pre = evaluateConditions(preconditions, doc, env, "empty");
  if (!pre.ok) return { status: "error", message: `failed to evaluate preconditions: ${pre.error ?? ""}`, trace: pre.trace, ...none };
  if (!pre.value) return { status: "skip", message: preconditionsNotMet(pre), trace: [{ kind: "precondition", expr: "preconditions", value: false, children: pre.trace }], ...none };
  const raw = Array.isArray(list) ? list.filter(isObject) : [];
  const substituted = substituteEntries(raw.map(normalize), doc, env);
  if (!substituted.ok) return { status: "error", message: `failed to substitute variables: ${substituted.error}`, trace: [], ...none };
  const slots = imageSlots(object, imageExtractors);
  const trace: TraceStep[] = [];
  const venv: VerifyEnv = { env, doc, trace };
  const failures: string[] = [];
  const passes: string[] = [];
  let stop: { status: VerifyStatus; message: string } | undefined;
  const digests: { slot: ImageSlot; value: string }[] = [];
  const verified: Record<string, boolean> = {};
  let selected = 0;
  for (const entry of substituted.entries) {
    const type = typeof entry["type"] === "string" ? entry["type"] : "Cosign";
    const references = strings(entry["imageReferences"]);
    const skips = strings(entry["skipImageReferences"]);
    for (const slot of slots) {
      const image = kyvernoImageString(slot.image);
      if (!references.some((pattern) => wildcardMatch(pattern, image.text)) || skips.some((pattern) => wildcardMatch(pattern, image.text))) continue;
      selected++;
      // Cosign signatures are read from both places cosign stores them (.sig tags, and Sigstore bundles attached as referrers).
      if (type !== "Cosign" && type !== "SigstoreBundle" && type !== "Notary") {
        stop ??= { status: "unsupported", message: `verifyImages type ${type} is not supported by Vigil (Cosign, SigstoreBundle and Notary are)` };
        continue;
      }
      if (phase === "validate" && entry["verifyDigest"] !== false && image.digest === "") {
        failures.push(`missing digest for ${image.text}`);
        trace.push({ kind: "condition", expr: `verifyDigest: ${image.text} names a digest`, value: false });
        continue;
      }
      const outcome = verifyImage(entry, image.text, venv);
      if (outcome !== undefined && outcome.kind !== "ok") {
        if (outcome.kind === "fail") {
          failures.push(outcome.message);
          verified[image.text] = false;
        } else if (outcome.kind === "pending") stop ??= { status: "error", message: outcome.message };
        else stop ??= { status: outcome.kind, message: outcome.message };
        continue;
      }
      if (outcome !== undefined) passes.push(image.text);
      let digest = outcome?.digest ?? "";
      if (phase === "mutate" && entry["mutateDigest"] !== false && image.digest === "" && slot.transformed !== true) {
        if (digest === "") {
          // No attestors: the digest comes from the registry (Kyverno's FetchImageDescriptor).
          const described = env.resolver?.({ kind: "imageRegistry", name: "mutateDigest", spec: { reference: image.text } });
          if (described === undefined || described instanceof UnresolvedContext) {
            stop ??= { status: "error", message: `failed to update digest: ${described instanceof UnresolvedContext ? described.reason : `no answer for ${image.text}: resolving digests needs image registries (admission.registries in vigil.yaml)`}` };
            continue;
          }
          const resolved = isObject(described) ? String(described["resolvedImage"] ?? "") : "";
          digest = resolved.slice(resolved.indexOf("@") + 1);
        }
        if (digest !== "") {
          digests.push({ slot, value: `${image.withTag}@${digest}` });
          if (outcome !== undefined) verified[`${image.withTag.slice(0, image.withTag.lastIndexOf(":"))}@${digest}`] = true;
        }
      } else if (outcome !== undefined) verified[image.text] = true;
    }
  }
  if (selected === 0) return { status: undefined, message: "", trace, digests: [], verified: {} };
  if (failures.length > 0) return { status: "fail", message: [...new Set(failures)].join("; "), trace, digests: [], verified };
  if (stop !== undefined) return { status: stop.status, message: stop.message, trace, digests: [], verified: {} };
  const message = passes.length > 0 ? `verified image signatures for ${passes.join(", ")}` : digests.length > 0 ? "mutated image digest" : "image verified";
  return { status: "pass", message, trace, digests, verified };
}

/** The object with the rule's digest rewrites and the `kyverno.io/verify-images` annotation applied (a copy; the input is unchanged). */
export function applyVerifyImages(object: Json, outcome: VerifyImagesOutcome): Json {
  if (outcome.digests.length === 0 && Object.keys(outcome.verified).length === 0) return object;
  const copy = structuredClone(object);
  for (const { slot, value } of outcome.digests) {
    let node: unknown = copy;
    for (const key of slot.path.slice(0, -1)) node = (node as Record<string | number, unknown>)[key];
    (node as Record<string | number, unknown>)[slot.path[slot.path.length - 1] as string | number] = value;
  }
  if (Object.keys(outcome.verified).length > 0) {
    const metadata = isObject(copy["metadata"]) ? copy["metadata"] : (copy["metadata"] = {});
    const annotations = isObject(metadata["annotations"]) ? metadata["annotations"] : (metadata["annotations"] = {});
    let previous: Json = {};
    try {
      const parsed = JSON.parse(String(annotations["kyverno.io/verify-images"] ?? "{}")) as unknown;
      if (isObject(parsed)) previous = parsed;
    } catch { /* replaced below */ }
    const merged: Json = { ...previous };
    for (const [image, ok] of Object.entries(outcome.verified)) merged[image] = ok ? "pass" : "fail";
    annotations["kyverno.io/verify-images"] = JSON.stringify(merged);
  }
  return copy;
}
