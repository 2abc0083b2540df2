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
import type { KeylessIdentity } from "../../core/context.js";
import type { TraceStep } from "../../core/finding.js";
import { kmsFailureKind, kmsReferenceProblem, type KmsSignatureCheck } from "../../context/kubernetes/kms.js";
import { imageInfo, loadContextEntries, UnresolvedContext, type Doc } from "./context.js";
import type { RuleEnv } from "./rule-env.js";
import { searchJmes } from "./jmespath.js";
import { evaluateConditions } from "./validate.js";
import { substituteAll } from "./variables.js";
import { wildcardMatch } from "./wildcard.js";

type Json = Record<string, unknown>;

function isObject(value: unknown): value is Json {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

export type VerifyStatus = "pass" | "fail" | "error" | "skip" | "unsupported";

/** An image of the resource, where it is written, and Kyverno's view of it. */
export interface ImageSlot {
  /** Path to the `image` field in the object (`spec`, `containers`, 0, `image`). */
  readonly path: readonly (string | number)[];
  /** The image (as written, or as an extractor's jmesPath made it). */
  readonly image: string;
  /** Made by an extractor's jmesPath: checked, never rewritten. */
  readonly transformed?: boolean;
}

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

/** What one attestor entry or set came to. */
type Check =
  | { readonly kind: "ok"; readonly digest: string; readonly statements?: readonly Json[] }
  | { readonly kind: "fail" | "error" | "unsupported" | "pending"; readonly message: string };

interface VerifyEnv {
  readonly env: RuleEnv;
  readonly doc: Doc;
  readonly trace: TraceStep[];
}

const strings = (value: unknown): string[] => (Array.isArray(value) ? value.filter((v): v is string => typeof v === "string") : typeof value === "string" && value !== "" ? [value] : []);

function stringRecord(value: unknown): Record<string, string> | undefined {
  if (!isObject(value)) return undefined;
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, String(v)]));
}

/** Kyverno's ExpandStaticKeys: a `publicKeys` with several PEM keys becomes one entry per key. */
function expandEntries(entries: readonly Json[]): Json[] {
  const out: Json[] = [];
  for (const entry of entries) {
    const keys = isObject(entry["keys"]) ? entry["keys"] : undefined;
    const pem = typeof keys?.["publicKeys"] === "string" ? keys["publicKeys"] : "";
    const parts = pem.split("-----END PUBLIC KEY-----").slice(0, -1);
    if (keys !== undefined && parts.length > 1) {
      for (const part of parts) out.push({ ...entry, keys: { ...keys, publicKeys: `${part.trim()}\n-----END PUBLIC KEY-----\n` } });
    } else out.push(entry);
  }
  return out;
}

/** The rule-level options an entry's check inherits. */
interface CheckScope {
  readonly image: string;
  readonly repository?: string;
  readonly annotations?: Record<string, string>;
  readonly predicateType?: string;
  /** `type: Notary`: notation signatures, checked with `certificates` attestors. */
  readonly notary?: boolean;
}

/** Kyverno `keyless` → the identity a Fulcio certificate must name (and its trust, when the attestor sets it). */
function keylessIdentity(keyless: Json): KeylessIdentity {
  const ctlog = isObject(keyless["ctlog"]) ? keyless["ctlog"] : {};
  const text = (value: unknown): string | undefined => (typeof value === "string" && value !== "" ? value : undefined);
  const extensions = stringRecord(keyless["additionalExtensions"]);
  const fields: Record<string, unknown> = {
    subject: text(keyless["subject"]),
    subjectRegExp: text(keyless["subjectRegExp"]),
    issuer: text(keyless["issuer"]),
    issuerRegExp: text(keyless["issuerRegExp"]),
    roots: text(keyless["roots"]),
    ctLogPublicKey: text(ctlog["pubkey"]),
    ...(ctlog["ignoreSCT"] === true ? { ignoreSCT: true } : {}),
    ...(extensions !== undefined && Object.keys(extensions).length > 0 ? { extensions } : {}),
  };
  return Object.fromEntries(Object.entries(fields).filter(([, v]) => v !== undefined)) as KeylessIdentity;
}

/** What a Kubernetes Secret holds under `key` (base64 `data`, or `stringData`), or undefined. */
export function secretValue(secret: unknown, key: string): string | undefined {
  if (!isObject(secret)) return undefined;
  const data = isObject(secret["data"]) ? secret["data"][key] : undefined;
  if (typeof data === "string") return Buffer.from(data, "base64").toString("utf8");
  const text = isObject(secret["stringData"]) ? secret["stringData"][key] : undefined;
  return typeof text === "string" ? text : undefined;
}

/** One `keys`, `keyless` or `certificates` entry: the lookup of its signatures (or attestations). */
function checkSignerEntry(entry: Json, scope: CheckScope, path: string, venv: VerifyEnv): Check {
  let signer: { key: string } | { kms: string } | { keyless: KeylessIdentity } | { certificate: { cert?: string; chain?: string } } | { notary: { certificates: string } };
  let rekor: Json = {};
  let field: "keys" | "keyless" | "certificates";
  let algorithm: unknown;
  if (scope.notary === true) {
    // Notary: the certificates are the trust store a signature's x5c chain must lead to.
    if (!isObject(entry["certificates"])) return { kind: "error", message: `${path}: Notary signatures are checked with certificates attestors (cert, certChain)` };
    field = "certificates";
    const certificates = entry["certificates"];
    const trusted = [certificates["cert"], certificates["certChain"]].filter((v): v is string => typeof v === "string" && v.trim() !== "").join("\n");
    if (trusted === "") return { kind: "error", message: `${path}.certificates: cert or certChain is required` };
    signer = { notary: { certificates: trusted } };
  } else if (isObject(entry["keys"]) && typeof entry["keys"]["kms"] === "string" && entry["keys"]["kms"].trim() !== "") {
    // cosign fetches the public key from the KMS and verifies locally: the context layer fetches it (kms.ts).
    const keys = entry["keys"];
    field = "keys";
    const kms = String(keys["kms"]).trim();
    const problem = kmsReferenceProblem(kms);
    if (problem !== undefined) return { kind: problem.kind, message: `${path}.keys.kms: ${problem.message}${problem.kind === "unsupported" ? "; put the public key in keys.publicKeys" : ""}` };
    signer = { kms };
    rekor = isObject(keys["rekor"]) ? keys["rekor"] : {};
  } else if (isObject(entry["keys"])) {
    const keys = entry["keys"];
    field = "keys";
    let pem = typeof keys["publicKeys"] === "string" ? keys["publicKeys"].trim() : "";
    // cosign's `k8s://<namespace>/<name>` in publicKeys names the same Secret as keys.secret.
    const k8sRef = /^k8s:\/\/([^/\s]+)\/([^/\s]+)$/.exec(pem);
    if (pem.startsWith("k8s://") && k8sRef === null) return { kind: "error", message: `${path}.keys.publicKeys: ${JSON.stringify(pem)} is not k8s://<namespace>/<secret name>` };
    const secretRef = isObject(keys["secret"]) ? { name: String(keys["secret"]["name"] ?? ""), namespace: String(keys["secret"]["namespace"] ?? ""), field: "keys.secret" } : k8sRef ? { namespace: k8sRef[1] as string, name: k8sRef[2] as string, field: "keys.publicKeys" } : undefined;
    if (secretRef !== undefined) {
      // Kyverno reads the public key from a Secret's `cosign.pub` (a live GET of the cluster API, admission.cluster).
      const { name, namespace, field: from } = secretRef;
      const urlPath = `/api/v1/namespaces/${namespace}/secrets/${name}`;
      const secret = venv.env.resolver?.({ kind: "apiCall", name: `${path}.${from}`, spec: { urlPath, method: "GET" } });
      if (secret === undefined) return { kind: "pending", message: `${path}.${from}: no answer for the Secret ${namespace}/${name}: reading keys from Secrets needs the cluster (admission.cluster in vigil.yaml)` };
      if (secret instanceof UnresolvedContext) return { kind: "error", message: `${path}.${from}: ${secret.reason}` };
      pem = (secretValue(secret, "cosign.pub") ?? "").trim();
      if (pem === "") return { kind: "error", message: `${path}.${from}: the Secret ${namespace}/${name} has no cosign.pub` };
    }
    if (pem === "") return { kind: "error", message: `${path}.keys: publicKeys is empty` };
    signer = { key: pem };
    rekor = isObject(keys["rekor"]) ? keys["rekor"] : {};
    algorithm = keys["signatureAlgorithm"];
  } else if (isObject(entry["certificates"])) {
    const certificates = entry["certificates"];
    field = "certificates";
    const cert = typeof certificates["cert"] === "string" && certificates["cert"].trim() !== "" ? certificates["cert"] : undefined;
    const chain = typeof certificates["certChain"] === "string" && certificates["certChain"].trim() !== "" ? certificates["certChain"] : undefined;
    if (cert === undefined && chain === undefined) return { kind: "error", message: `${path}.certificates: cert or certChain is required` };
    signer = { certificate: { ...(cert ? { cert } : {}), ...(chain ? { chain } : {}) } };
    rekor = isObject(certificates["rekor"]) ? certificates["rekor"] : {};
  } else {
    const keyless = entry["keyless"] as Json;
    field = "keyless";
    const identity = keylessIdentity(keyless);
    if (identity.subject === undefined && identity.subjectRegExp === undefined) return { kind: "error", message: `${path}.keyless: subject or subjectRegExp is required` };
    if (identity.issuer === undefined && identity.issuerRegExp === undefined) return { kind: "error", message: `${path}.keyless: issuer or issuerRegExp is required` };
    signer = { keyless: identity };
    rekor = isObject(keyless["rekor"]) ? keyless["rekor"] : {};
  }
  const repository = typeof entry["repository"] === "string" && entry["repository"] !== "" ? entry["repository"] : scope.repository;
  const annotations = stringRecord(entry["annotations"]) ?? scope.annotations;
  const check: KmsSignatureCheck = {
    image: scope.image,
    ...signer,
    ...(repository !== undefined && repository !== "" ? { repository } : {}),
    ...(typeof algorithm === "string" && algorithm !== "" ? { signatureAlgorithm: algorithm } : {}),
    ...(rekor["ignoreTlog"] === true ? { ignoreTlog: true } : {}),
    ...(typeof rekor["pubkey"] === "string" && rekor["pubkey"] !== "" ? { rekorPublicKey: rekor["pubkey"] } : {}),
    ...(annotations !== undefined && Object.keys(annotations).length > 0 ? { annotations } : {}),
    ...(scope.predicateType !== undefined ? { predicateType: scope.predicateType } : {}),
  };
  const answer = venv.env.resolver?.({ kind: "imageSignature", name: path, spec: check as unknown as Json });
  const subject = `${path}.${field}`;
  if (answer === undefined) return { kind: "pending", message: `${subject}: no answer for ${scope.image}: verifying images needs image registries (admission.registries in vigil.yaml)` };
  if (answer instanceof UnresolvedContext) {
    venv.trace.push({ kind: "condition", expr: `${subject} signed ${scope.image}`, value: false, error: answer.reason });
    // A KMS key that could not be had is not a signature that failed: unsupported (no KMS configured) or error.
    const kmsKind = "kms" in signer ? kmsFailureKind(answer.reason) : undefined;
    if (kmsKind !== undefined) return { kind: kmsKind, message: `${subject}.kms: ${answer.reason}` };
    return { kind: "fail", message: `${subject}: ${answer.reason}` };
  }
  const body = isObject(answer) ? answer : {};
  const digest = String(body["digest"] ?? "");
  venv.trace.push({ kind: "condition", expr: `${subject} signed ${scope.image}`, value: true, inputs: { digest, verified: body["verified"] } });
  return { kind: "ok", digest, ...(Array.isArray(body["statements"]) ? { statements: body["statements"].filter(isObject) } : {}) };
}

/** An attestor set: `count` of its entries (default all) must verify. */
function checkAttestorSet(set: Json, scope: CheckScope, path: string, venv: VerifyEnv, depth = 0): Check {
  const entries = expandEntries(Array.isArray(set["entries"]) ? set["entries"].filter(isObject) : []);
  const count = typeof set["count"] === "number" && set["count"] > 0 ? set["count"] : entries.length;
  const failures: string[] = [];
  let pending: Check | undefined;
  let undecided: Check | undefined;
  let verified = 0;
  let last: Check | undefined;
  for (const [i, entry] of entries.entries()) {
    const at = `${path}.entries[${i}]`;
    let outcome: Check;
    if (entry["attestor"] !== undefined) {
      outcome = !isObject(entry["attestor"]) || depth > 5 ? { kind: "error", message: `${at}.attestor: a nested attestor set must be an object with entries` } : checkAttestorSet(entry["attestor"], scope, `${at}.attestor`, venv, depth + 1);
    } else if (isObject(entry["keys"]) || isObject(entry["keyless"]) || isObject(entry["certificates"])) outcome = checkSignerEntry(entry, scope, at, venv);
    else outcome = { kind: "error", message: `${at}: an attestor entry needs keys, keyless, certificates or attestor` };
    if (outcome.kind === "ok") {
      verified++;
      last = outcome;
      if (verified >= count) return outcome;
    } else if (outcome.kind === "pending") pending ??= outcome;
    // An entry Vigil cannot check (unsupported) or that is broken (error) decides the set only if the others do not reach `count`.
    else if (outcome.kind === "unsupported" || outcome.kind === "error") undecided = undecided?.kind === "unsupported" ? undecided : outcome;
    else failures.push(outcome.message);
  }
  if (pending !== undefined) return pending;
  if (entries.length === 0) return { kind: "error", message: `${path}: the attestor set has no entries` };
  if (undecided !== undefined) return undecided;
  if (last !== undefined && failures.length === 0) return last;
  return { kind: "fail", message: failures.join("; ") };
}

function attestorSets(value: unknown): Json[] {
  return Array.isArray(value) ? value.filter(isObject) : [];
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
  if (!pre.value) return { status: "skip", message: pre.message ?? "preconditions not met", trace: [{ kind: "precondition", expr: "preconditions", value: false, children: pre.trace }], ...none };
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
