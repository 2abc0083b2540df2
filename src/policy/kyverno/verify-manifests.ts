/**
 * Kyverno `validate.manifests` (Kyverno 1.8+): the admitted object must match a YAML manifest
 * signed with sigstore/k8s-manifest-sigstore (`kubectl sigstore sign`), checked as Kyverno's
 * validate_manifest.go does with that library:
 *
 * - `<domain>/message` = base64(gzip(blob)); the blob is a tar.gz of the signed YAML files (or,
 *   from newer signers, the YAML itself). `<domain>/signature`, `signature_1`, ... = base64 of
 *   the signature over the blob (cosign sign-blob: SHA-256; ECDSA/RSA PKCS#1 v1.5/Ed25519).
 * - The manifest for the object is the one of the same kind with the same group/name (then
 *   namespace), else the most similar ones (cosine similarity >= 0.5, at most 3).
 * - "Direct match": every leaf field that differs between manifest and object (added, removed or
 *   changed) is a difference unless an ignore field matches it; Kyverno's and the library's
 *   default ignore fields plus the rule's `ignoreFields` apply. Kyverno never sets the library's
 *   inclusion ("mutating resource") match, so an extra field is a difference too.
 * - Per attestor set, `count` entries (default: all, after splitting a multi-key PEM) must verify.
 *
 * Outcomes follow Kyverno: no message / no signature / a difference is `fail`; a signature that
 * does not verify with the key, or an annotation that does not decode, is an `error`. What Vigil
 * cannot decide offline is an `error` naming why (never a pass): a Rekor bundle or certificate on
 * a signature, an OCI resource bundle, a difference when `dryRun.enable` asks for a server-side
 * dry-run. Never throws at evaluation.
 *
 * The library's own parts (message decoding, manifest lookup, direct match) are in
 * manifest-sigstore.ts; this file holds the rule: load-time checks, attestors, outcomes.
 */
import { createPublicKey, verify as verifySignature, type KeyObject } from "node:crypto";
import type { TraceStep } from "../../core/finding.js";
import type { VigilError } from "../../core/errors.js";
import type { Doc } from "./context.js";
import type { RuleResponse } from "./rule-env.js";
import { diffJson, directMatch, findManifests, ignoreFieldsFor, metadata, ravel, readMessage, strictBase64, type Difference, type FieldBinding, type ObjectReference } from "./manifest-sigstore.js";

type Json = Record<string, unknown>;

function isObject(value: unknown): value is Json {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

const DEFAULT_DOMAIN = "cosign.sigstore.dev";
const PEM_KEY_HEADER = "-----BEGIN PUBLIC KEY-----";
const PEM_KEY_FOOTER = "-----END PUBLIC KEY-----";
const manifestsKeys = new Set(["attestors", "annotationDomain", "ignoreFields", "dryRun", "repository"]);
const entryKeys = new Set(["keys", "attestor", "annotations"]);
const keysKeys = new Set(["publicKeys", "signatureAlgorithm", "rekor", "ctlog"]);
const signatureAlgorithms = new Set(["", "sha224", "sha256", "sha384", "sha512"]);

// ---------------------------------------------------------------------------------------------
// Load time
// ---------------------------------------------------------------------------------------------

/** Kyverno's splitPEM: a `publicKeys` string holding several PEM keys is one entry per key. */
function splitPem(text: string): string[] {
  const parts = text.split(PEM_KEY_FOOTER);
  if (parts.length <= 2) return [text];
  return parts.slice(0, -1).map((p) => `${p}${PEM_KEY_FOOTER}`);
}

type Fail = (feature: string, field: string) => VigilError;
type Invalid = (message: string, field: string) => VigilError;

function checkAttestorSet(set: unknown, at: string, fail: Fail, invalid: Invalid): void {
  if (!isObject(set)) throw invalid("an attestor set must be an object with `entries` (and optional `count`)", at);
  const count = set["count"];
  if (count !== undefined && (typeof count !== "number" || !Number.isInteger(count) || count < 0)) throw invalid("`count` must be a positive integer", `${at}.count`);
  const entries = set["entries"];
  if (!Array.isArray(entries) || entries.length === 0) throw invalid("an attestor set needs at least one entry in `entries`", `${at}.entries`);
  entries.forEach((entry, i) => {
    const here = `${at}.entries[${i}]`;
    if (!isObject(entry)) throw invalid("an attestor entry must be an object", here);
    for (const key of Object.keys(entry)) {
      if (key === "certificates" || key === "keyless") throw fail(`validate.manifests ${key} attestors (keyless / certificate signatures need Fulcio roots and Rekor, which Vigil does not use for manifests; use keys.publicKeys)`, `${here}.${key}`);
      if (key === "repository") throw fail("validate.manifests attestor repository (manifests in an OCI image)", `${here}.repository`);
      if (!entryKeys.has(key)) throw fail(`validate.manifests attestor field '${key}'`, `${here}.${key}`);
    }
    if (entry["attestor"] !== undefined) {
      checkAttestorSet(entry["attestor"], `${here}.attestor`, fail, invalid);
      return;
    }
    const keys = entry["keys"];
    if (!isObject(keys)) throw invalid("an attestor entry needs `keys.publicKeys` (or a nested `attestor`)", `${here}.keys`);
    for (const key of Object.keys(keys)) {
      if (key === "secret" || key === "kms") throw fail(`validate.manifests keys.${key} (only PEM keys in keys.publicKeys are read)`, `${here}.keys.${key}`);
      if (!keysKeys.has(key)) throw fail(`validate.manifests keys field '${key}'`, `${here}.keys.${key}`);
    }
    const algorithm = keys["signatureAlgorithm"] ?? "";
    if (typeof algorithm !== "string" || !signatureAlgorithms.has(algorithm)) throw invalid("`signatureAlgorithm` must be sha224, sha256, sha384 or sha512", `${here}.keys.signatureAlgorithm`);
    const text = keys["publicKeys"];
    if (typeof text !== "string" || text.trim() === "") throw invalid("`keys.publicKeys` must hold a PEM public key", `${here}.keys.publicKeys`);
    if (!text.trim().startsWith(PEM_KEY_HEADER)) throw fail("validate.manifests keys.publicKeys that is not a PEM public key (a PGP key, a k8s:// secret, a KMS or file reference)", `${here}.keys.publicKeys`);
    for (const pem of splitPem(text)) {
      try {
        createPublicKey(pem.trim());
      } catch (cause) {
        throw invalid(`keys.publicKeys does not parse as a PEM public key (${(cause as Error).message}); paste the key as printed by \`cosign public-key\``, `${here}.keys.publicKeys`);
      }
    }
  });
}

/**
 * Load-time check of `validate.manifests`: throws `fail(...)` (VIGIL_POLICY_UNSUPPORTED) for what
 * Vigil cannot evaluate offline (keyless/certificate attestors, OCI repositories, keys that are
 * references) and `invalid(...)` for a malformed block. `dryRun` loads (see the module comment).
 */
export function checkManifestsSupported(manifests: unknown, fail: Fail, invalid: Invalid): void {
  const at = "validate.manifests";
  if (!isObject(manifests)) throw invalid("validate.manifests must be an object with `attestors`", at);
  for (const key of Object.keys(manifests)) {
    if (key === "repository" && manifests[key] !== "") throw fail("validate.manifests.repository (manifests in an OCI image)", `${at}.repository`);
    if (!manifestsKeys.has(key)) throw fail(`validate.manifests.${key}`, `${at}.${key}`);
  }
  const attestors = manifests["attestors"];
  if (!Array.isArray(attestors) || attestors.length === 0) throw invalid("validate.manifests needs at least one attestor set in `attestors`", `${at}.attestors`);
  attestors.forEach((set, i) => checkAttestorSet(set, `${at}.attestors[${i}]`, fail, invalid));
  const domain = manifests["annotationDomain"];
  if (domain !== undefined && typeof domain !== "string") throw invalid("`annotationDomain` must be a string", `${at}.annotationDomain`);
  const ignore = manifests["ignoreFields"];
  if (ignore !== undefined && !Array.isArray(ignore)) throw invalid("`ignoreFields` must be a list of { objects, fields }", `${at}.ignoreFields`);
  const dryRun = manifests["dryRun"];
  if (dryRun !== undefined && !isObject(dryRun)) throw invalid("`dryRun` must be an object { enable, namespace }", `${at}.dryRun`);
}

// ---------------------------------------------------------------------------------------------
// Compiled spec (once per policy object)
// ---------------------------------------------------------------------------------------------

type Entry =
  | { readonly kind: "key"; readonly key: KeyObject; readonly path: string; readonly annotations: Readonly<Record<string, string>> | undefined }
  | { readonly kind: "nested"; readonly set: AttestorSet; readonly path: string };
interface AttestorSet {
  readonly required: number;
  readonly entries: readonly Entry[];
}
interface CompiledManifests {
  readonly sets: readonly AttestorSet[];
  readonly domain: string;
  readonly ignore: readonly FieldBinding[];
  readonly dryRun: boolean;
}

const text = (value: unknown): string => (typeof value === "string" ? value : "");

function references(list: unknown): ObjectReference[] {
  return (Array.isArray(list) ? list : []).filter(isObject).map((o) => ({ group: text(o["group"]), version: text(o["version"]), kind: text(o["kind"]), name: text(o["name"]), namespace: text(o["namespace"]) }));
}

function bindings(list: unknown): FieldBinding[] {
  return (Array.isArray(list) ? list : []).filter(isObject).map((b) => ({ objects: references(b["objects"]), fields: (Array.isArray(b["fields"]) ? b["fields"] : []).map(String) }));
}

const anyKind = [{ kind: "*" }];
/** k8s-manifest-sigstore pkg/k8smanifest/resources/default-config.yaml (AddDefaultConfig). */
const libraryDefaults = bindings([
  { objects: anyKind, fields: ["metadata.annotations.cosign.sigstore.dev/resourceBundleRef", "metadata.annotations.cosign.sigstore.dev/signature", "metadata.annotations.cosign.sigstore.dev/message", "metadata.annotations.cosign.sigstore.dev/certificate", "metadata.annotations.cosign.sigstore.dev/bundle"] },
  { objects: anyKind, fields: ["metadata.managedFields.*", "metadata.resourceVersion", "metadata.selfLink", "metadata.annotations.kubectl.kubernetes.io/last-applied-configuration", "metadata.annotations.namespace", "metadata.creationTimestamp", "metadata.generation", "metadata.uid", "metadata.finalizers", "metadata.labels.app.kubernetes.io/instance", "status"] },
  { objects: [{ kind: "ServiceAccount" }], fields: ["secrets.*.name", "imagePullSecrets.*.name"] },
  { objects: [{ kind: "Service" }], fields: ["spec.ports.*.nodePort", "spec.clusterIP", "spec.clusterIPs.0"] },
  { objects: [{ kind: "Deployment" }], fields: ["metadata.annotations.deployment.kubernetes.io/revision"] },
  { objects: [{ kind: "DaemonSet" }], fields: ["metadata.annotations.deprecated.daemonset.template.generation"] },
  { objects: [{ kind: "Route", group: "route.openshift.io" }], fields: ["spec.host"] },
]);
/** Kyverno pkg/engine/resources/default-config.yaml (addDefaultConfig). */
const kyvernoDefaults = bindings([
  { objects: anyKind, fields: ["metadata.namespace", "spec.containers.*.imagePullPolicy", "spec.containers.*.terminationMessagePath", "spec.containers.*.terminationMessagePolicy", "spec.dnsPolicy", "spec.restartPolicy", "spec.schedulerName", "spec.terminationGracePeriodSeconds", "metadata.labels.app.kubernetes.io/instance", "metadata.managedFields.*", "metadata.resourceVersion", "metadata.selfLink", "metadata.annotations.control-plane.alpha.kubernetes.io/leader", "metadata.annotations.kubectl.kubernetes.io/last-applied-configuration", "metadata.finalizers*", "metadata.annotations.namespace", "metadata.annotations.deprecated.daemonset.template.generation", "metadata.creationTimestamp", "metadata.uid", "metadata.generation", "status", "metadata.annotations.deployment.kubernetes.io/revision"] },
  { objects: [{ kind: "Pod" }], fields: ["spec.volumes.*.name", "spec.volumes.*.projected.*", "spec.volumes.*.configMap.defaultMode", "spec.containers.*.volumeMounts.*", "spec.tolerations.*", "spec.enableServiceLinks", "spec.preemptionPolicy", "spec.priority", "spec.serviceAccount"] },
  { objects: [{ kind: "Deployment" }], fields: ["spec.progressDeadlineSeconds", "spec.revisionHistoryLimit", "spec.strategy.*", "spec.template.metadata.creationTimestamp", "spec.containers.*.ports.*.protocol", "spec.containers.*.resources", "spec.securityContext"] },
  { objects: [{ kind: "CustomResourceDefinition" }], fields: ["spec.conversion.strategy", "spec.names.listKind"] },
  { objects: [{ kind: "Service" }], fields: ["spec.ports.*.nodePort", "spec.clusterIP", "spec.clusterIPs.0", "spec.sessionAffinity", "spec.type", "spec.ipFamilies.*", "spec.ipFamilyPolicy", "spec.internalTrafficPolicy"] },
  { objects: [{ kind: "ClusterPolicy" }, { kind: "Policy" }], fields: ["metadata.annotations.pod-policies.kyverno.io/autogen-controllers", "spec.failurePolicy", "spec.background", "spec.validationFailureAction"] },
  { objects: [{ kind: "ServiceAccount" }], fields: ["secrets.*.name", "imagePullSecrets.*.name"] },
]);

function compileSet(set: Json, path: string): AttestorSet {
  // Kyverno's ExpandStaticKeys first: each key of a multi-key PEM is its own entry, and paths
  // (`.attestors[0].entries[i]`) and the default count use the expanded list.
  const expanded: Json[] = [];
  for (const entry of (set["entries"] as unknown[]).filter(isObject)) {
    const keys = entry["keys"];
    if (entry["attestor"] === undefined && isObject(keys)) for (const pem of splitPem(String(keys["publicKeys"]))) expanded.push({ ...entry, keys: { ...keys, publicKeys: pem } });
    else expanded.push(entry);
  }
  const entries: Entry[] = expanded.map((entry, i): Entry => {
    const here = `${path}.entries[${i}]`;
    if (isObject(entry["attestor"])) return { kind: "nested", set: compileSet(entry["attestor"], `${here}.attestor`), path: `${here}.attestor` };
    const annotations = isObject(entry["annotations"]) ? Object.fromEntries(Object.entries(entry["annotations"]).map(([k, v]) => [k, String(v)])) : undefined;
    return { kind: "key", key: createPublicKey(String((entry["keys"] as Json)["publicKeys"]).trim()), path: here, annotations };
  });
  const count = typeof set["count"] === "number" && set["count"] > 0 ? set["count"] : entries.length;
  return { required: count, entries };
}

const compiledSpecs = new WeakMap<object, CompiledManifests>();

function compile(spec: Json): CompiledManifests {
  let compiled = compiledSpecs.get(spec);
  if (compiled === undefined) {
    const domain = text(spec["annotationDomain"]) || DEFAULT_DOMAIN;
    const base = `metadata.annotations.${domain}/`;
    // AnnotationConfig.AnnotationKeyMask: the signature annotations themselves never count as a difference.
    const annotationMask: FieldBinding = { objects: references(anyKind), fields: ["message*", "signature*", "certificate*", "bundle*", "resourceBundleRef*"].map((n) => base + n) };
    compiled = {
      sets: (spec["attestors"] as unknown[]).filter(isObject).map((set, i) => compileSet(set, `.attestors[${i}]`)),
      domain,
      ignore: [...libraryDefaults, ...kyvernoDefaults, ...bindings(spec["ignoreFields"]), annotationMask],
      dryRun: isObject(spec["dryRun"]) && spec["dryRun"]["enable"] === true,
    };
    compiledSpecs.set(spec, compiled);
  }
  return compiled;
}

// ---------------------------------------------------------------------------------------------
// Evaluation
// ---------------------------------------------------------------------------------------------

/** What does not depend on the key: the manifest lookup, the match, the signature sets. */
interface Analysis {
  /** An error (Kyverno: a rule error) or a missing message (Kyverno: a failure), before any key is tried. */
  readonly stop?: { readonly status: "fail" | "error"; readonly reason: string };
  readonly blob: Buffer;
  readonly diff: readonly Difference[] | undefined;
  readonly signatures: readonly { readonly annotation: string; readonly value: string; readonly offline: boolean }[];
}

function analyse(object: Json, spec: CompiledManifests): Analysis {
  const annotations = isObject(metadata(object)["annotations"]) ? (metadata(object)["annotations"] as Json) : {};
  const key = (name: string, i = 0): string => `${spec.domain}/${name}${i > 0 ? `_${i}` : ""}`;
  const none = { blob: Buffer.alloc(0), diff: undefined, signatures: [] };
  if (typeof annotations[key("resourceBundleRef")] === "string") return { ...none, stop: { status: "error", reason: `the object names an OCI resource bundle in annotation ${key("resourceBundleRef")}; Vigil reads signed manifests from the ${key("message")} annotation only` } };
  const message = annotations[key("message")];
  if (typeof message !== "string") return { ...none, stop: { status: "fail", reason: "YAML manifest not found for this resource: message not found" } };
  const read = readMessage(key("message"), message);
  if (!read.ok) return { ...none, stop: { status: "error", reason: `YAML manifest not found for this resource: ${read.error}` } };
  const ignore = ignoreFieldsFor(object, spec.ignore);
  const candidates = findManifests(read.docs, object, ignore);
  if (candidates.length === 0) return { ...none, stop: { status: "fail", reason: "YAML manifest not found for this resource: failed to find a YAML manifest in the gzipped message" } };
  const leaves = ravel(object, "", new Map());
  let diff: Difference[] | undefined;
  for (const candidate of candidates) {
    const d = directMatch(candidate, leaves, ignore);
    if (d.length === 0) {
      diff = [];
      break;
    }
    diff ??= d;
  }
  const signatures: { annotation: string; value: string; offline: boolean }[] = [];
  for (let i = 0; typeof annotations[key("signature", i)] === "string"; i++) {
    signatures.push({ annotation: key("signature", i), value: annotations[key("signature", i)] as string, offline: annotations[key("certificate", i)] === undefined && annotations[key("bundle", i)] === undefined });
  }
  return { blob: read.blob, diff, signatures };
}

function signatureHolds(key: KeyObject, blob: Buffer, signature: Buffer): boolean {
  try {
    // cosign's key verifiers: ECDSA and RSA (PKCS#1 v1.5) over SHA-256 whatever signatureAlgorithm says (Kyverno passes crypto.SHA256); Ed25519 over the message.
    return verifySignature(key.asymmetricKeyType === "ed25519" ? null : "sha256", blob, key, signature);
  } catch {
    return false;
  }
}

type EntryOutcome = { readonly status: "verified" | "failed" | "error"; readonly message: string; readonly trace: TraceStep[] };

function verifyKeyEntry(entry: Extract<Entry, { kind: "key" }>, object: Json, analysis: Analysis, spec: CompiledManifests): EntryOutcome {
  const at = `${entry.path}.keys`;
  const step = (status: string, detail?: string): TraceStep[] => [{ kind: "note", expr: at, value: status, ...(detail ? { error: detail } : {}) }];
  const annotations = isObject(metadata(object)["annotations"]) ? (metadata(object)["annotations"] as Json) : {};
  for (const [k, v] of Object.entries(entry.annotations ?? {})) {
    if (annotations[k] !== v) {
      const reason = `annotations mismatch: ${text(annotations[k])} does not match expected value ${v} for key ${k}`;
      return { status: "error", message: reason, trace: step("error", reason) };
    }
  }
  if (analysis.stop) {
    const message = `${at}: ${analysis.stop.reason}`;
    return { status: analysis.stop.status === "fail" ? "failed" : "error", message, trace: step(analysis.stop.status, analysis.stop.reason) };
  }
  if (analysis.signatures.length === 0) return { status: "failed", message: `${at}: failed to verify signature: signature not found`, trace: step("fail", "signature not found") };
  const problems: string[] = [];
  let verified = false;
  for (const sig of analysis.signatures) {
    if (!sig.offline) {
      problems.push(`${sig.annotation} comes with a certificate or Rekor bundle annotation: checking its transparency-log entry needs Rekor, which Vigil does not query for manifests`);
      continue;
    }
    const raw = strictBase64(sig.value);
    if (raw === undefined) problems.push(`${sig.annotation} is not base64`);
    else if (signatureHolds(entry.key, analysis.blob, raw)) {
      verified = true;
      break;
    } else problems.push(`${sig.annotation}: invalid signature for this key`);
  }
  if (!verified) {
    const reason = `failed to verify signature: signature verification failed: ${problems.join("; ")}`;
    return { status: "error", message: `${at}: ${reason}`, trace: step("error", reason) };
  }
  if (analysis.diff !== undefined && analysis.diff.length > 0) {
    if (spec.dryRun) {
      const reason = `the object differs from the signed manifest and validate.manifests.dryRun.enable asks Kyverno to compare a server-side dry-run of the manifest instead; Vigil has no API server for that (diff: ${diffJson(analysis.diff)}); set dryRun.enable: false, ignore the defaulted fields in ignoreFields, or evaluate the rule with Kyverno`;
      return { status: "error", message: `${at}: ${reason}`, trace: step("error", reason) };
    }
    const reason = `failed to verify signature. diff found; ${diffJson(analysis.diff)}`;
    return { status: "failed", message: `${at}: ${reason}`, trace: [{ kind: "note", expr: at, value: "fail", inputs: { diff: analysis.diff.map((d) => d.key) }, error: reason }] };
  }
  // Kyverno's text, typo included ("singed"); a key attestor has no signer name.
  return { status: "verified", message: "singed by a valid signer: ", trace: step("verified") };
}

/** verifyManifestAttestorSet: entries in order until `required` verified; an entry error makes an unmet set an error. */
function verifySet(set: AttestorSet, object: Json, analysis: Analysis, spec: CompiledManifests, path: string): EntryOutcome {
  let verifiedCount = 0;
  const verified: string[] = [];
  const failed: string[] = [];
  const errors: string[] = [];
  const trace: TraceStep[] = [];
  for (const entry of set.entries) {
    const outcome = entry.kind === "key" ? verifyKeyEntry(entry, object, analysis, spec) : verifySet(entry.set, object, analysis, spec, entry.path);
    trace.push(...outcome.trace);
    if (outcome.status === "error") errors.push(entry.kind === "nested" ? `failed to verify signature; ${entry.path}: ${outcome.message}` : outcome.message);
    else if (outcome.status === "verified") {
      verifiedCount++;
      verified.push(outcome.message);
    } else failed.push(outcome.message);
    if (verifiedCount >= set.required) {
      return { status: "verified", message: `manifest verification succeeded; verifiedCount ${verifiedCount}; requiredCount ${set.required}; message ${verified.join(",")}`, trace: [{ kind: "condition", expr: path, value: true, children: trace }] };
    }
  }
  if (errors.length > 0) return { status: "error", message: errors.join("; "), trace: [{ kind: "condition", expr: path, value: "error", children: trace }] };
  return { status: "failed", message: `manifest verification failed; verifiedCount ${verifiedCount}; requiredCount ${set.required}; message ${failed.join(",")}`, trace: [{ kind: "condition", expr: path, value: false, children: trace }] };
}

/**
 * Evaluates `validate.manifests` for the admitted object (`resource`, request.object); `doc` gives
 * the request's operation and dryRun flag. Never throws: a malformed annotation is an `error`
 * result naming the annotation and the fix.
 */
export function verifyManifests(spec: unknown, doc: Doc, resource: unknown): RuleResponse {
  const request = isObject(doc["request"]) ? doc["request"] : {};
  // Kyverno builds no manifest handler for DELETE requests.
  if (request["operation"] === "DELETE") return { status: "skip", message: "manifest verification does not apply to DELETE requests", trace: [] };
  if (request["dryRun"] === true) return { status: "pass", message: "allowed because of DryRun request", trace: [] };
  try {
    if (!isObject(spec)) return { status: "error", message: "invalid validate.manifests: an object with `attestors` expected", trace: [] };
    const compiled = compile(spec);
    const object = isObject(resource) ? resource : {};
    const analysis = analyse(object, compiled);
    const verified: string[] = [];
    const trace: TraceStep[] = [];
    for (let i = 0; i < compiled.sets.length; i++) {
      const outcome = verifySet(compiled.sets[i] as AttestorSet, object, analysis, compiled, `.attestors[${i}]`);
      trace.push(...outcome.trace);
      if (outcome.status === "error") return { status: "error", message: `error occurred during manifest verification: ${outcome.message}`, trace };
      if (outcome.status === "failed") return { status: "fail", message: outcome.message, trace };
      verified.push(outcome.message);
    }
    return { status: "pass", message: `verified manifest signatures; ${verified.join(",")}`, trace };
  } catch (cause) {
    return { status: "error", message: `error occurred during manifest verification: ${(cause as Error).message}`, trace: [] };
  }
}
