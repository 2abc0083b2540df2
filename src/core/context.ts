import type { Entity, Posture, Signal } from "./entity.js";
import type { Event } from "./event.js";

/** Summary of an entity's history that decide/explain and policies may use. */
export interface EntityHistory {
  /** Violations recorded for this entity in the last 30 days. */
  readonly violations30d: number;
  /** Most recent findings (newest first), at most a handful. */
  readonly recent: readonly { readonly policy: string; readonly rule: string; readonly time: string; readonly effect: string }[];
}

/**
 * Read access to a Kubernetes cluster's state for policies being evaluated: a cache kept current
 * by list and watch (src/context/kubernetes). Synchronous, so evaluation never waits on the
 * network; `undefined` when the object is not (or not yet) known.
 */
export interface ClusterView {
  namespace(name: string): Readonly<Record<string, unknown>> | undefined;
  configMap(namespace: string, name: string): Readonly<Record<string, unknown>> | undefined;
  /**
   * The roles bound to a requester, as Kyverno computes them for `roles` / `clusterRoles` (match
   * and exclude blocks, `request.roles`): `<namespace>:<role>` for RoleBindings to a Role,
   * ClusterRole names for ClusterRoleBindings and RoleBindings to a ClusterRole; sorted, without
   * repeats; subjects matched by user name, group, or service
   * account (`system:serviceaccount:<ns>:<name>`).
   */
  rolesOf(user: { readonly username?: string; readonly groups?: readonly string[] }): { readonly roles: readonly string[]; readonly clusterRoles: readonly string[] };
  /**
   * A live GET of an API path (`/api/...`, `/apis/...`, query allowed) for Kyverno `apiCall`
   * entries the cache cannot answer. Never rejects: a failure is `{ ok: false, error }`.
   */
  fetch?(path: string): Promise<ApiAnswer>;
  /**
   * The Kyverno PolicyExceptions the cluster holds (kyverno.io and policies.kyverno.io documents),
   * with a version that changes whenever they do; absent when they are not read.
   */
  policyExceptions?(): { readonly version: number; readonly documents: readonly Readonly<Record<string, unknown>>[] };
}

/** The answer to one API GET: the parsed body, or why there is none. */
export type ApiAnswer = { readonly ok: true; readonly body: unknown } | { readonly ok: false; readonly error: string };

/**
 * Image metadata from OCI registries (Kyverno `imageRegistry` context entries): Kyverno's image
 * data (`image`, `resolvedImage`, `registry`, `repository`, `identifier`, `manifest`,
 * `configData`). Never rejects.
 */
export interface ImageRegistry {
  describe(reference: string): Promise<ApiAnswer>;
  /**
   * Checks an image's Cosign signatures (or attestations) against one public key: the answer's
   * body is `{ digest, verified, statements? }`, or why no signature verified. Never rejects.
   */
  verify?(check: ImageSignatureCheck): Promise<ApiAnswer>;
}

/** A keyless signer (Kyverno `keyless` attestor): who the Fulcio certificate must name, and the trust to check it against. */
export interface KeylessIdentity {
  /** The certificate's subject alternative name (URI or email); `*` and `?` are wildcards. */
  readonly subject?: string;
  readonly subjectRegExp?: string;
  /** The OIDC issuer in Fulcio's certificate extension; `*` and `?` are wildcards. */
  readonly issuer?: string;
  readonly issuerRegExp?: string;
  /** Fulcio's GitHub workflow extensions by Kyverno's names (githubWorkflowRepository, githubWorkflowRef, ...). */
  readonly extensions?: Readonly<Record<string, string>>;
  /** PEM Fulcio root (and intermediates) instead of admission.registries.fulcioRoots (Kyverno `roots`). */
  readonly roots?: string;
  /** PEM key of the CT log whose SCTs are accepted, instead of admission.registries.ctLogPublicKey (Kyverno `ctlog.pubkey`). */
  readonly ctLogPublicKey?: string;
  /** Skip the embedded-SCT check (Kyverno `ctlog.ignoreSCT`). */
  readonly ignoreSCT?: boolean;
}

/** One check of one image against one signer: a public key or a keyless identity (a Kyverno verifyImages attestor entry). */
export interface ImageSignatureCheck {
  /** The image as the resource names it (tag or digest). */
  readonly image: string;
  /** Where the signatures are stored, when not in the image's own repository (`<registry>/<repository>`). */
  readonly repository?: string;
  /** One PEM public key (ECDSA, RSA or Ed25519); absent for a keyless check. */
  readonly key?: string;
  /** Keyless: the identity the signature's Fulcio certificate must name. */
  readonly keyless?: KeylessIdentity;
  /**
   * A certificate attestor (Kyverno `certificates`): the signature verifies with `cert`'s key (or,
   * without `cert`, the certificate shipped with the signature), which must chain to `chain` when given.
   */
  readonly certificate?: { readonly cert?: string; readonly chain?: string };
  /** Notary Project (notation) signatures instead of Cosign's: the PEM certificates a signature's chain must lead to. */
  readonly notary?: { readonly certificates: string };
  /** `sha256` (default) or `sha512`: the digest the signature was made over. */
  readonly signatureAlgorithm?: string;
  /** Skip the transparency-log check (Kyverno `rekor.ignoreTlog`). */
  readonly ignoreTlog?: boolean;
  /** PEM public key of the Rekor log whose bundles are accepted (Kyverno `rekor.pubkey`). */
  readonly rekorPublicKey?: string;
  /** Annotations every accepted signature's payload must carry in `optional`. */
  readonly annotations?: Readonly<Record<string, string>>;
  /** Check attestations of this predicate type instead of signatures. */
  readonly predicateType?: string;
}

/** One call to a service outside the cluster API (Kyverno `apiCall.service`). */
export interface ServiceCall {
  readonly method: "GET" | "POST";
  readonly url: string;
  /** The JSON body of a POST (Kyverno's `data` key/value list as an object). */
  readonly data?: unknown;
  /** PEM CA bundle for an https URL (`service.caBundle`). */
  readonly caBundle?: string;
  readonly headers?: Readonly<Record<string, string>>;
}

/** HTTP calls to services for Kyverno `apiCall.service` entries; the answer is the parsed JSON body. Never rejects. */
export interface ServiceCaller {
  call(request: ServiceCall): Promise<ApiAnswer>;
}

/** What the context stage adds to a Kubernetes event (admission review, resource) when a cluster view or image registries are configured. */
export interface KubernetesContext {
  /** The Namespace object of the event's object, when known: Kyverno/VAP namespaceSelector and CEL `namespaceObject` read it. */
  readonly namespaceObject?: Readonly<Record<string, unknown>>;
  /** The cluster, for Kyverno `configMap` context entries (and `apiCall` GETs of what the view holds). */
  readonly cluster?: ClusterView;
  /** Image registries, for Kyverno `imageRegistry` context entries (admission.registries). */
  readonly registry?: ImageRegistry;
  /** Services outside the cluster API, for Kyverno `apiCall.service` entries (admission.services). */
  readonly services?: ServiceCaller;
  /** The requester's roles and cluster roles (admission reviews with a userInfo). */
  readonly roles?: readonly string[];
  readonly clusterRoles?: readonly string[];
  /**
   * Lookups evaluation asked for that neither the cache nor `fetched` answered — API GETs
   * (Kyverno `apiCall`, keyed by path), service calls (`apiCall.service`, keyed `call:<the call
   * as JSON>`) and images (`imageRegistry`, keyed `image:<reference>`):
   * filled while the policies are evaluated, so the pipeline can fetch them and evaluate again
   * (the one field of a context that changes after it is built).
   */
  readonly unanswered?: Set<string>;
  /** Answers the pipeline fetched for this event's `unanswered` lookups, by key. */
  readonly fetched?: ReadonlyMap<string, ApiAnswer>;
}

/**
 * What the context stage hands to evaluation. Policies see it through CEL as:
 * `input` (the event data or decide request input, and each of its top-level keys as a variable),
 * `event` (the CloudEvent envelope), `context` (signals, posture, entities, history, and the
 * request's own `input.context` fields when present), `now`.
 */
export interface Context {
  readonly event: Event;
  /** The document policies see as `input`. For events this is `event.data`. */
  readonly input: unknown;
  /** Entities involved, by role: `principal`, `resource`, `repo`, `account`, `dataset`... */
  readonly entities: Readonly<Record<string, Entity>>;
  /** Detector outputs by detector name. */
  readonly signals: Readonly<Record<string, Signal>>;
  readonly posture: Posture;
  /** History of the primary entity (the event's subject), when the store knows it. */
  readonly history?: EntityHistory;
  /** Entity features (baseline summaries) by role, JSON-safe, for `context.features.<role>`. */
  readonly features?: Readonly<Record<string, Readonly<Record<string, unknown>>>>;
  /**
   * The supply-chain summary of a dependency change (lockfile diff, vulnerable dependencies, fix
   * suggestions), JSON-safe; policies read it as `context.dependencies`. Set by the context stage
   * for `dev.vigil.dependency.change` and `com.github.pull_request` events (src/context/supply-chain).
   */
  readonly dependencies?: Readonly<Record<string, unknown>>;
  /**
   * The residency check of an event (where the data it places or moves may be stored, what is
   * outside, suggestions), JSON-safe; policies read it as `context.residency`. Set by the
   * residency enrichment (src/context/residency) for Kubernetes, Terraform plan, dataflow and
   * inventory events.
   */
  readonly residency?: Readonly<Record<string, unknown>>;
  /**
   * The cluster around a Kubernetes event: its namespace object and a view of the cluster. Set by
   * the Kubernetes enrichment (src/context/kubernetes) when `kubernetes.cluster` is configured;
   * Kyverno and ValidatingAdmissionPolicies read it, native policies do not see it.
   */
  readonly kubernetes?: KubernetesContext;
  /** Evaluation time (RFC 3339) from the injected clock. */
  readonly now: string;
}
