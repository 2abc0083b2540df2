/**
 * Kyverno `policies.kyverno.io` ImageValidatingPolicy: a ValidatingPolicy over the images of a
 * resource, whose CEL validations verify signatures and attestations.
 *
 * - `images`: the images of a Pod or pod template (`images.containers`, `initContainers`,
 *   `ephemeralContainers`: lists of references), or the policy's own `images` expressions; only
 *   those `matchImageReferences` select (globs, or CEL expressions on the reference `ref`; none
 *   selected: the policy does not apply).
 * - `attestors` (`cosign`: `key.data`, `keyless.identities`, `certificate`, `ctlog`, `source`,
 *   `annotations`; `notary`: `certs`) and `attestations` (`intoto.type`; `referrer.type`: an
 *   artifact of that type attached to the image and signed by notation) are CEL variables of the
 *   same names, used with Kyverno's functions:
 *   - `verifyImageSignatures(image, [attestors.x, ...])`: how many of the attestors verified a
 *     signature of the image;
 *   - `verifyAttestationSignatures(image, attestations.y, [attestors.x, ...])`: how many verified a
 *     signed attestation of that type;
 *   - `extractPayload(image, attestations.y)`: the predicate of that verified attestation (for a
 *     `referrer` attestation, the JSON content of the signed artifact).
 *   Checks are lookups answered by the image registries (admission.registries), fetched between
 *   evaluation rounds like the verifyImages rules' (verify-images.ts); an evaluation that is still
 *   waiting for answers is an `error`, never a pass.
 * - `validationConfigurations`: `verifyDigest` (default true: an image named without a digest
 *   fails), `mutateDigest` (default true: the mutating webhook pins verified images).
 * - validationActions, failurePolicy, matchConstraints (with pod-controller autogen),
 *   matchConditions, variables and CEL PolicyExceptions as for ValidatingPolicy.
 *
 * Not supported (fails to load naming the field): `evaluation.mode: JSON`. KMS keys error when a validation uses them; `cosign.key.secretRef`
 * reads the key from the Secret's `cosign.pub` in the cluster.
 */
import type { Context, ImageSignatureCheck, KeylessIdentity } from "../../core/context.js";
import { VigilError } from "../../core/errors.js";
import type { Finding, TraceStep } from "../../core/finding.js";
import type { EvaluateOptions } from "../../core/policy.js";
import { kmsFailureKind, kmsReferenceProblem, type KmsSignatureCheck } from "../../context/kubernetes/kms.js";
import type { CelActivation, CelEnvironment, CelFunctionDefinition, CelProgram } from "../cel/api.js";
import { kyvernoCelActivation, withGlobalContextReader } from "./cel-libraries.js";
import { globalContextReader, type GlobalContextSet } from "./global-context.js";
import { celPolicyIdentity, celPolicyMeta, compileExpression, kyvernoSeverity, scopeOf } from "./cel-policy-common.js";
import { clusterContextResolver, sharedBaseDocument, UnresolvedContext, type ExternalContextResolver } from "./context.js";
import { diffJsonPatch } from "./json-patch.js";
import type { KyvernoEvaluateOptions, KyvernoPolicy, MutationOutcome } from "./policy.js";
import { exceptionMessage, matchingCelPolicyException, type PolicyExceptionSet } from "./policy-exception.js";
import { admissionInputFor, stringMap, subjectObject, type AdmissionInput } from "./request.js";
import { resultToFinding, type RuleResult } from "./results.js";
import { compileWithAutogen } from "./validating-policy.js";
import { ImageMatchError, imageMatcher, imageSlots, kyvernoImageString } from "./image-slots.js";
import { secretValue } from "./verify-attestors.js";

type Json = Record<string, unknown>;

function isObject(value: unknown): value is Json {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

const ATTESTOR = "__vigilAttestor";
const ATTESTATION = "__vigilAttestation";

/** What one evaluation of an ImageValidatingPolicy's validations looked up and learned. */
interface ImageScope {
  readonly resolver: ExternalContextResolver | undefined;
  readonly attestors: ReadonlyMap<string, Json>;
  readonly attestations: ReadonlyMap<string, Json>;
  /** image → the digest a verification answered (for mutateDigest). */
  readonly digests: Map<string, string>;
  /** image + attestation name → the predicate of its verified statement. */
  readonly payloads: Map<string, unknown>;
  readonly trace: TraceStep[];
  /** Why the evaluation could not finish (a check nobody answered yet). */
  pending: string | undefined;
}

/** The evaluation in progress: CEL functions are plain functions, so they reach it here (evaluation is synchronous). */
let current: ImageScope | undefined;

const text = (value: unknown): string | undefined => (typeof value === "string" && value.trim() !== "" ? value : undefined);

/** The PEM text of `{ value }` (Kyverno's StringOrExpression; expressions are not evaluated here). */
function valueOf(field: unknown): string | undefined {
  return typeof field === "string" ? text(field) : isObject(field) ? text(field["value"]) : undefined;
}

/** The signature checks one attestor stands for (any of them verifying counts the attestor). */
const pendingSecret = "\u0000pending";

/**
 * `cosign.key.secretRef` ({name, namespace}): the public key is the Secret's `cosign.pub`, read
 * with a live GET of the cluster API (admission.cluster) through the lookup rounds, as Kyverno
 * reads it. `pendingSecret` while the GET is not answered yet (the scope records why).
 */
function secretKey(ref: unknown, scope: ImageScope | undefined): string | undefined {
  if (!isObject(ref) || !text(ref["name"]) || !text(ref["namespace"])) throw new Error("cosign.key.secretRef needs name and namespace");
  const where = `${String(ref["namespace"])}/${String(ref["name"])}`;
  const secret = scope?.resolver?.({ kind: "apiCall", name: "cosign.key.secretRef", spec: { urlPath: `/api/v1/namespaces/${String(ref["namespace"])}/secrets/${String(ref["name"])}`, method: "GET" } });
  if (secret === undefined) {
    if (scope) scope.pending ??= `no answer for the Secret ${where} (cosign.key.secretRef): reading keys from Secrets needs the cluster (admission.cluster in vigil.yaml)`;
    return pendingSecret;
  }
  if (secret instanceof UnresolvedContext) throw new Error(`cosign.key.secretRef: ${secret.reason}`);
  const pem = (secretValue(secret, "cosign.pub") ?? "").trim();
  if (pem === "") throw new Error(`cosign.key.secretRef: the Secret ${where} has no cosign.pub`);
  return pem;
}

function checksOf(attestor: Json, image: string, predicateType: string | undefined, imageScope?: ImageScope): ImageSignatureCheck[] | string {
  const scope = { image, ...(predicateType !== undefined ? { predicateType } : {}) };
  if (isObject(attestor["notary"])) {
    const certs = valueOf(attestor["notary"]["certs"]);
    if (certs === undefined) return "notary.certs has no value";
    return [{ ...scope, notary: { certificates: certs } }];
  }
  if (!isObject(attestor["cosign"])) return "an attestor needs cosign or notary";
  const cosign = attestor["cosign"];
  const ctlog = isObject(cosign["ctlog"]) ? cosign["ctlog"] : {};
  const source = isObject(cosign["source"]) ? cosign["source"] : {};
  const annotations = isObject(cosign["annotations"]) ? Object.fromEntries(Object.entries(cosign["annotations"]).map(([k, v]) => [k, String(v)])) : undefined;
  const common = {
    ...scope,
    ...(text(source["repository"]) ? { repository: source["repository"] as string } : {}),
    ...(ctlog["insecureIgnoreTlog"] === true ? { ignoreTlog: true } : {}),
    ...(text(ctlog["rekorPubKey"]) ? { rekorPublicKey: ctlog["rekorPubKey"] as string } : {}),
    ...(annotations !== undefined && Object.keys(annotations).length > 0 ? { annotations } : {}),
  };
  if (isObject(cosign["key"])) {
    const key = cosign["key"];
    if (text(key["kms"])) return kmsChecks(String(key["kms"]).trim(), common);
    const data = key["secretRef"] !== undefined ? secretKey(key["secretRef"], imageScope) : text(key["data"]);
    if (data === pendingSecret) return [];
    if (data === undefined) return "cosign.key.data is empty";
    return [{ ...common, key: data, ...(text(key["hashAlgorithm"]) ? { signatureAlgorithm: key["hashAlgorithm"] as string } : {}) }];
  }
  if (isObject(cosign["keyless"])) {
    const keyless = cosign["keyless"];
    const identities = Array.isArray(keyless["identities"]) ? keyless["identities"].filter(isObject) : [];
    if (identities.length === 0) return "cosign.keyless.identities is empty";
    return identities.map((identity) => {
      const fields: Record<string, unknown> = {
        subject: text(identity["subject"]), subjectRegExp: text(identity["subjectRegExp"]), issuer: text(identity["issuer"]), issuerRegExp: text(identity["issuerRegExp"]),
        roots: valueOf(keyless["roots"]), ctLogPublicKey: text(ctlog["ctLogPubKey"]), ...(ctlog["insecureIgnoreSCT"] === true ? { ignoreSCT: true } : {}),
      };
      return { ...common, keyless: Object.fromEntries(Object.entries(fields).filter(([, v]) => v !== undefined)) as KeylessIdentity };
    });
  }
  if (isObject(cosign["certificate"])) {
    const certificate = cosign["certificate"];
    const cert = valueOf(certificate["cert"]);
    const chain = valueOf(certificate["certChain"]);
    if (cert === undefined && chain === undefined) return "cosign.certificate needs cert or certChain";
    return [{ ...common, certificate: { ...(cert ? { cert } : {}), ...(chain ? { chain } : {}) } }];
  }
  return "cosign needs key, keyless or certificate";
}

/** How many of `attestors` verified `image` (signatures, or attestations of `predicateType`). */
function countVerified(scope: ImageScope, image: string, attestors: unknown, attestationName: string | undefined, predicateType: string | undefined): number {
  if (!Array.isArray(attestors)) throw new Error("the attestors argument must be a list of attestors (e.g. [attestors.release])");
  let count = 0;
  for (const ref of attestors) {
    const name = isObject(ref) && typeof ref[ATTESTOR] === "string" ? ref[ATTESTOR] : undefined;
    const attestor = name === undefined ? undefined : scope.attestors.get(name);
    if (name === undefined || attestor === undefined) throw new Error("unknown attestor: pass attestors.<name> of this policy");
    const checks = checksOf(attestor, image, predicateType, scope);
    if (typeof checks === "string") throw new Error(`attestor ${name}: ${checks}`);
    let verified = false;
    for (const check of checks) {
      const answer = scope.resolver?.({ kind: "imageSignature", name: `attestors.${name}`, spec: check as unknown as Json });
      if (answer === undefined) {
        scope.pending ??= `no answer for ${image} from attestor ${name}: verifying images needs image registries (admission.registries in vigil.yaml)`;
        continue;
      }
      if (answer instanceof UnresolvedContext) {
        const kmsProblem = kmsKeyProblem(check, answer.reason);
        if (kmsProblem !== undefined) throw new Error(`attestor ${name}: ${kmsProblem}`);
        scope.trace.push({ kind: "condition", expr: `attestors.${name} signed ${image}${predicateType ? ` (${predicateType})` : ""}`, value: false, error: answer.reason });
        continue;
      }
      const body = isObject(answer) ? answer : {};
      const statements = Array.isArray(body["statements"]) ? body["statements"].filter(isObject) : [];
      if (predicateType !== undefined && statements.length === 0) {
        scope.trace.push({ kind: "condition", expr: `attestors.${name} attested ${image} (${predicateType})`, value: false, error: `attestations not found for predicate type ${predicateType}` });
        continue;
      }
      verified = true;
      if (typeof body["digest"] === "string") scope.digests.set(image, body["digest"]);
      if (attestationName !== undefined) scope.payloads.set(`${image}\u0000${attestationName}`, statements[0]?.["predicate"]);
      scope.trace.push({ kind: "condition", expr: `attestors.${name} ${predicateType ? "attested" : "signed"} ${image}${predicateType ? ` (${predicateType})` : ""}`, value: true, inputs: { digest: body["digest"] } });
      break;
    }
    if (verified) count++;
  }
  return count;
}

function activeScope(fn: string): ImageScope {
  if (current === undefined) throw new Error(`${fn} is available in ImageValidatingPolicy validations only`);
  return current;
}

function attestationOf(scope: ImageScope, value: unknown): { name: string; spec: Json } {
  const name = isObject(value) && typeof value[ATTESTATION] === "string" ? value[ATTESTATION] : undefined;
  const spec = name === undefined ? undefined : scope.attestations.get(name);
  if (name === undefined || spec === undefined) throw new Error("unknown attestation: pass attestations.<name> of this policy");
  return { name, spec };
}

/** Kyverno's image verification functions for ImageValidatingPolicy validations. */
export const imageVerificationCelFunctions: readonly CelFunctionDefinition[] = [
  { name: "verifyImageSignatures", arity: 2, impl: (image, attestors) => countVerified(activeScope("verifyImageSignatures"), String(image), attestors, undefined, undefined) },
  {
    name: "verifyAttestationSignatures",
    arity: 3,
    impl: (image, attestation, attestors) => {
      const scope = activeScope("verifyAttestationSignatures");
      const { name, spec } = attestationOf(scope, attestation);
      // An in-toto statement (cosign attest), or a referrer artifact of that type signed by notation (an SBOM).
      const type = isObject(spec["intoto"]) ? text(spec["intoto"]["type"]) : isObject(spec["referrer"]) ? text(spec["referrer"]["type"]) : undefined;
      if (type === undefined) throw new Error(`attestation ${name}: needs intoto.type or referrer.type`);
      return countVerified(scope, String(image), attestors, name, type);
    },
  },
  {
    name: "extractPayload",
    arity: 2,
    impl: (image, attestation) => {
      const scope = activeScope("extractPayload");
      const { name } = attestationOf(scope, attestation);
      const key = `${String(image)}\u0000${name}`;
      if (!scope.payloads.has(key)) throw new Error(`extractPayload: attestation ${name} of ${String(image)} was not verified (call verifyAttestationSignatures first)`);
      return scope.payloads.get(key);
    },
  },
];

/** Compiles an ImageValidatingPolicy or NamespacedImageValidatingPolicy document. Throws VigilError on a missing name, a CEL syntax error or an unsupported field. */
export function compileImageValidatingPolicy(document: Json, env: CelEnvironment, options: { readonly source?: string; readonly exceptions?: PolicyExceptionSet; readonly globals?: GlobalContextSet } = {}): KyvernoPolicy {
  const metadata = isObject(document["metadata"]) ? document["metadata"] : {};
  const where = options.source ? { file: options.source } : {};
  // A NamespacedImageValidatingPolicy checks the requests of its namespace only; it is named `namespace/name`.
  const id = celPolicyIdentity(document, options.source);
  const name = id.key;
  const spec = isObject(document["spec"]) ? document["spec"] : {};
  const unsupported = (field: string, what: string): VigilError => new VigilError("VIGIL_POLICY_UNSUPPORTED", `${id.origin}: ${what} is not supported by Vigil.`, { policy: name, field, ...where });
  const evaluation = isObject(spec["evaluation"]) ? spec["evaluation"] : {};
  if (evaluation["mode"] === "JSON") throw unsupported("spec.evaluation.mode", "evaluation mode JSON (payloads that are not Kubernetes resources)");
  const references = Array.isArray(spec["matchImageReferences"]) ? spec["matchImageReferences"].filter(isObject) : [];
  const matchers = references.map((ref, i) => imageMatcher(ref, i, env, id.origin));
  const attestors = new Map<string, Json>();
  for (const a of Array.isArray(spec["attestors"]) ? spec["attestors"].filter(isObject) : []) attestors.set(String(a["name"] ?? ""), a);
  const attestations = new Map<string, Json>();
  for (const a of Array.isArray(spec["attestations"]) ? spec["attestations"].filter(isObject) : []) attestations.set(String(a["name"] ?? ""), a);
  const imageExpressions: { name: string; program: CelProgram }[] = (Array.isArray(spec["images"]) ? spec["images"].filter(isObject) : []).map((img, i) => ({
    name: String(img["name"] ?? ""),
    program: compileExpression(env, img["expression"], `${id.origin} images[${i}]`, `spec.images[${i}].expression`),
  }));
  const config = isObject(spec["validationConfigurations"]) ? spec["validationConfigurations"] : {};
  const verifyDigest = config["verifyDigest"] !== false;
  const mutateDigest = config["mutateDigest"] !== false;
  const programFor = compileWithAutogen(spec, env, id.origin);
  const actions = Array.isArray(spec["validationActions"]) ? spec["validationActions"].map(String) : ["Deny"];
  const mode = actions.includes("Deny") ? "deny" : "warn";
  const annotations = stringMap(metadata["annotations"]);
  const severity = kyvernoSeverity(annotations);
  const meta = celPolicyMeta(document, name, annotations, options.source);
  const exceptions = options.exceptions;
  const attestorValues = Object.fromEntries([...attestors.keys()].map((n) => [n, { [ATTESTOR]: n }]));
  const attestationValues = Object.fromEntries([...attestations.keys()].map((n) => [n, { [ATTESTATION]: n }]));
  /** Whether matchImageReferences select `image` (all when there are none); throws ImageMatchError when an expression fails. */
  const selected = (image: string): boolean => matchers.length === 0 || matchers.some((matches) => matches(image));

  /** The policy's verdict on `input` and what its evaluation verified; undefined when it does not apply. */
  const run = (input: AdmissionInput, evalOptions: KyvernoEvaluateOptions, phase: "validate" | "mutate"): { result: RuleResult; scope: ImageScope } | undefined => {
    const base = { policy: name, rule: "", ruleType: "verifyImages", mode, severity } as const;
    const program = id.inScope(input) ? programFor(input) : undefined;
    if (!program) return undefined;
    const doc = sharedBaseDocument(input);
    const activation: CelActivation = kyvernoCelActivation(input, doc, evalOptions);
    const object = subjectObject(input) as Json;
    const images: Record<string, string[]> = {};
    // A matchImageReferences expression that fails makes the policy's result an error (Kyverno: the match's error).
    let matchError: string | undefined;
    const pick = (image: string): boolean => {
      try {
        return selected(image);
      } catch (error) {
        if (!(error instanceof ImageMatchError)) throw error;
        matchError ??= error.message;
        return false;
      }
    };
    if (imageExpressions.length > 0) {
      for (const expression of imageExpressions) {
        const r = expression.program.evaluate(activation);
        if (!r.ok) return { result: { ...base, status: "error", message: `images.${expression.name}: ${r.error.message}`, trace: [] }, scope: emptyScope() };
        images[expression.name] = (Array.isArray(r.value) ? r.value : []).map(String).filter(pick);
      }
    } else {
      const podPath = imageSlots(object);
      for (const slot of podPath) {
        const field = String(slot.path[slot.path.length - 3]);
        if (pick(slot.image)) (images[field] ??= []).push(slot.image);
      }
      for (const field of ["containers", "initContainers", "ephemeralContainers"]) images[field] ??= [];
    }
    if (matchError !== undefined) return { result: { ...base, status: "error", message: matchError, trace: [] }, scope: emptyScope() };
    const all = Object.values(images).flat();
    if (all.length === 0) return undefined;
    const candidates = exceptions?.celCandidates(id.name, id.kind);
    const excepted = candidates === undefined || candidates.length === 0 ? undefined : matchingCelPolicyException(candidates, activation);
    if (excepted) return { result: { ...base, status: "skip", message: exceptionMessage(excepted), trace: excepted.trace }, scope: emptyScope() };
    if (phase === "validate" && verifyDigest) {
      const undigested = all.filter((image) => kyvernoImageString(image).digest === "");
      if (undigested.length > 0) return { result: { ...base, status: "fail", message: undigested.map((image) => `missing digest for ${kyvernoImageString(image).text}`).join("; "), trace: [{ kind: "condition", expr: "validationConfigurations.verifyDigest", value: false, inputs: { images: undigested } }] }, scope: emptyScope() };
    }
    const resolver = evalOptions.resolver;
    const scope: ImageScope = { resolver, attestors, attestations, digests: new Map(), payloads: new Map(), trace: [], pending: undefined };
    current = scope;
    let r;
    try {
      r = withGlobalContextReader(evalOptions.globalContext ?? globalContextReader(resolver, options.globals), () => program.evaluate({ ...activation, images, attestors: attestorValues, attestations: attestationValues }));
    } finally {
      current = undefined;
    }
    const trace = [...scope.trace, ...r.trace];
    // A verification nobody answered (yet): the verdict is not known, whatever the validations said.
    if (scope.pending !== undefined) return { result: { ...base, status: "error", message: scope.pending, trace }, scope };
    return { result: { ...base, status: r.status, message: r.status === "pass" ? `verified images: ${all.join(", ")}` : r.message, trace }, scope };
  };

  function emptyScope(): ImageScope {
    return { resolver: undefined, attestors, attestations, digests: new Map(), payloads: new Map(), trace: [], pending: undefined };
  }

  const evaluateAdmission = (input: AdmissionInput, evalOptions: KyvernoEvaluateOptions = {}): RuleResult[] => {
    try {
      const outcome = run(input, evalOptions, "validate");
      if (outcome === undefined) return evalOptions.includeNoMatch ? [{ policy: name, rule: "", ruleType: "verifyImages", mode, severity, status: "nomatch", message: "policy does not match the resource or its images", trace: [] }] : [];
      return [outcome.result];
    } catch (cause) {
      return [{ policy: name, rule: "", ruleType: "verifyImages", mode, severity, status: "error", message: `internal error: ${cause instanceof Error ? cause.message : String(cause)}`, trace: [] }];
    }
  };

  /** The mutating webhook: verified images named by tag are pinned to the digest their verification answered. */
  const mutateAdmission = (input: AdmissionInput, evalOptions: KyvernoEvaluateOptions = {}): MutationOutcome => {
    const original = subjectObject(input) as Json;
    try {
      const outcome = run(input, evalOptions, "mutate");
      if (outcome === undefined) return { results: [], patched: original, patch: [] };
      const results = [outcome.result];
      if (!mutateDigest || outcome.result.status !== "pass") return { results, patched: original, patch: [] };
      let patched: Json | undefined;
      for (const slot of imageSlots(original)) {
        const digest = outcome.scope.digests.get(slot.image);
        const info = kyvernoImageString(slot.image);
        if (digest === undefined || info.digest !== "") continue;
        patched ??= structuredClone(original);
        let node: unknown = patched;
        for (const key of slot.path.slice(0, -1)) node = (node as Record<string | number, unknown>)[key];
        (node as Record<string | number, unknown>)[slot.path[slot.path.length - 1] as string | number] = `${info.withTag}@${digest}`;
      }
      return patched === undefined ? { results, patched: original, patch: [] } : { results, patched, patch: diffJsonPatch(original, patched) };
    } catch (cause) {
      return { results: [{ policy: name, rule: "", ruleType: "verifyImages", mode, severity, status: "error", message: `internal error: ${cause instanceof Error ? cause.message : String(cause)}`, trace: [] }], patched: original, patch: [] };
    }
  };

  return {
    meta,
    ...scopeOf(id),
    rules: [{ name: "", type: "verifyImages" }],
    evaluateAdmission,
    ...(mutateDigest ? { mutateAdmission } : {}),
    evaluate(ctx: Context, evalOptions?: EvaluateOptions): Finding[] {
      const input = admissionInputFor(ctx);
      if (!input) return [];
      const base: KyvernoEvaluateOptions = evalOptions ?? {};
      const options2 = ctx.kubernetes !== undefined && base.resolver === undefined ? { ...base, resolver: clusterContextResolver(ctx.kubernetes) } : base;
      return evaluateAdmission(input, options2)
        .filter((r) => evalOptions?.includePasses || r.status === "fail" || r.status === "error" || (r.status === "skip" && r.trace[0]?.kind === "exception"))
        .map((r) => resultToFinding({ ...r, rule: r.rule || id.name }, meta, input));
    },
  };
}

/**
 * `cosign.key.kms`: the check names the key by its KMS reference and the context layer fetches
 * it (context/kubernetes/kms.ts: AWS KMS, Vault, Google Cloud KMS, Azure Key Vault), or why the reference cannot be used.
 */
function kmsChecks(kms: string, common: Omit<ImageSignatureCheck, "key">): KmsSignatureCheck[] | string {
  const problem = kmsReferenceProblem(kms);
  if (problem !== undefined) return `cosign.key.kms: ${problem.message}${problem.kind === "unsupported" ? "; put the public key in key.data" : ""}`;
  return [{ ...common, kms }];
}

/** Why a KMS-keyed check could not be made (no KMS configured, the key not fetched), naming the field; undefined when its signatures simply did not verify. */
function kmsKeyProblem(check: KmsSignatureCheck, reason: string): string | undefined {
  return check.kms !== undefined && kmsFailureKind(reason) !== undefined ? `cosign.key.kms: ${reason}` : undefined;
}
