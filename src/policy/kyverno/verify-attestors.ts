/**
 * The attestors of a Kyverno verifyImages rule (attestor sets, `count`, nested sets; keys,
 * keyless identities, certificates, KMS keys, keys from Secrets), each entry checked through the
 * evaluation's `imageSignature` lookups (verify-images.ts uses them per image and attestation).
 */
import type { KeylessIdentity } from "../../core/context.js";
import type { TraceStep } from "../../core/finding.js";
import { kmsFailureKind, kmsReferenceProblem, type KmsSignatureCheck } from "../../context/kubernetes/kms.js";
import { UnresolvedContext, type Doc } from "./context.js";
import type { RuleEnv } from "./rule-env.js";

type Json = Record<string, unknown>;

function isObject(value: unknown): value is Json {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

/** What one attestor entry or set came to. */
export type Check =
  | { readonly kind: "ok"; readonly digest: string; readonly statements?: readonly Json[] }
  | { readonly kind: "fail" | "error" | "unsupported" | "pending"; readonly message: string };

export interface VerifyEnv {
  readonly env: RuleEnv;
  readonly doc: Doc;
  readonly trace: TraceStep[];
}

export const strings = (value: unknown): string[] => (Array.isArray(value) ? value.filter((v): v is string => typeof v === "string") : typeof value === "string" && value !== "" ? [value] : []);

export function stringRecord(value: unknown): Record<string, string> | undefined {
  if (!isObject(value)) return undefined;
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, String(v)]));
}

/** Kyverno's ExpandStaticKeys: a `publicKeys` with several PEM keys becomes one entry per key. */
export function expandEntries(entries: readonly Json[]): Json[] {
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
export interface CheckScope {
  readonly image: string;
  readonly repository?: string;
  readonly annotations?: Record<string, string>;
  readonly predicateType?: string;
  /** `type: Notary`: notation signatures, checked with `certificates` attestors. */
  readonly notary?: boolean;
}

/** Kyverno `keyless` → the identity a Fulcio certificate must name (and its trust, when the attestor sets it). */
export function keylessIdentity(keyless: Json): KeylessIdentity {
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
export function checkSignerEntry(entry: Json, scope: CheckScope, path: string, venv: VerifyEnv): Check {
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
export function checkAttestorSet(set: Json, scope: CheckScope, path: string, venv: VerifyEnv, depth = 0): Check {
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

export function attestorSets(value: unknown): Json[] {
  return Array.isArray(value) ? value.filter(isObject) : [];
}
