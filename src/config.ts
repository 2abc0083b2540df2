/**
 * `vigil.yaml`: the agent's configuration, validated once where it enters (file + environment).
 * Every key can be overridden by an environment variable named after its path:
 * `server.port` → `VIGIL_SERVER_PORT`, `store.path` → `VIGIL_STORE_PATH`,
 * `policies` → `VIGIL_POLICIES` (comma-separated). Values are parsed as JSON when they parse,
 * else taken as strings. String values in the file may name environment variables as `${NAME}`
 * (secrets stay out of the file); `$${` writes a literal `${`.
 *
 * docs/configuration.md lists every key; its table is generated from this schema
 * (`configReference()`), and a test fails when the two differ.
 */
import { existsSync, readFileSync } from "node:fs";
import { dirname, isAbsolute, resolve } from "node:path";
import { parse as parseYaml } from "yaml";
import { z } from "zod";
import { parseCron } from "./core/cron.js";
import { VigilError } from "./core/errors.js";

const maskRule = z.union([z.string(), z.strictObject({ path: z.string(), mode: z.enum(["remove", "redact"]).optional() })]);

/** A free-form section validated by the stage that owns it (its errors name `<section>.<field>`). */
const section = (description: string) => z.record(z.string(), z.unknown()).default({}).describe(description);

export const configSchema = z.strictObject({
  policies: z.array(z.string()).default(["packs"]).describe("Policy files and directories, loaded recursively. A missing directory is reported, never fatal."),
  packs: z.strictObject({
    discover: z.boolean().default(true).describe("Read the settings.yaml of the packs in the policy directories (the directory itself, each folder directly in it, the folder above a `policies` directory) and merge their sections under this file's (docs/configuration.md#pack-settings)."),
    settings: z.array(z.string()).default([]).describe("More pack settings files, merged after the discovered ones (same sections; this file still wins)."),
  }).prefault({}),
  store: z.strictObject({
    kind: z.enum(["sqlite", "postgres"]).default("sqlite").describe("Storage adapter: embedded SQLite, or PostgreSQL for scale-out."),
    path: z.string().default(".vigil/vigil.db").describe("SQLite database file (kind sqlite); its folder is created."),
    url: z.string().optional().describe("PostgreSQL URL (kind postgres), e.g. postgres://vigil@db:5432/vigil."),
    schema: z.string().default("vigil").describe("PostgreSQL schema holding Vigil's tables."),
  }).prefault({}),
  bus: z.strictObject({
    kind: z.enum(["memory", "nats"]).default("memory").describe("Bus adapter: in-process, or NATS JetStream for scale-out (api and worker roles)."),
    servers: z.array(z.string()).default(["nats://127.0.0.1:4222"]).describe("NATS server URLs."),
    stream: z.string().default("VIGIL_EVENTS").describe("JetStream stream (created when missing)."),
    ackWaitMs: z.number().int().positive().default(30_000).describe("A bus message not acknowledged within this time is redelivered to another worker."),
    concurrency: z.number().int().positive().default(2).describe("Bus messages (event batches) one worker processes at once."),
    maxAgeMs: z.number().int().min(0).default(86_400_000).describe("NATS: the stream Vigil creates drops messages older than this (0 = keep until the server's limits). Events are in the store; one lost from the bus is decided by the sweep. An existing stream keeps its own setting."),
  }).prefault({}),
  server: z.strictObject({
    host: z.string().default("127.0.0.1").describe("Listen address."),
    port: z.number().int().min(0).max(65535).default(8181).describe("Listen port (0 = any free port)."),
    tls: z.strictObject({ cert: z.string(), key: z.string() }).optional().describe("HTTPS: PEM certificate and key files. Plain HTTP when absent (local use)."),
    bodyLimit: z.number().int().positive().default(5 * 1024 * 1024).describe("Largest request body accepted, in bytes."),
    requestTimeoutMs: z.number().int().min(0).default(60_000).describe("A request whose headers and body have not all arrived within this time is answered 408 and its connection closed (slow clients cannot hold connections open); 0 = no limit."),
    role: z.enum(["all", "api", "worker"]).default("all").describe("all: API and processing in one process; api: persist and publish to the bus; worker: process events from the bus (bus.kind nats)."),
    metricsAuth: z.boolean().default(true).describe("true: /metrics needs a token with the viewer role; false: open (scrapers without a token)."),
  }).prefault({}),
  ingest: z.strictObject({
    queueCapacity: z.number().int().positive().default(10_000).describe("Accepted events waiting to be processed; past it the API answers 429 with Retry-After."),
    batchSize: z.number().int().positive().default(256).describe("Events processed (and decisions appended) per storage transaction."),
    maxRequestEvents: z.number().int().positive().default(5_000).describe("Most events in one HTTP request (batch) or webhook."),
    retryAfterSeconds: z.number().int().positive().default(1).describe("Retry-After sent with 429 when the queue is full."),
    contextFlushEvents: z.number().int().positive().default(5_000).describe("Baselines and entity records are written after this many processed events (and when idle, and at shutdown)."),
    sweepIntervalMs: z.number().int().positive().default(30_000).describe("Scale-out: how often a worker looks for accepted events that no worker processed (lost bus messages)."),
    staleAfterMs: z.number().int().positive().default(120_000).describe("Scale-out: an accepted event unprocessed for this long is processed by the sweep."),
    claimMs: z.number().int().positive().default(60_000).describe("Scale-out: a worker claims a batch's events before deciding them; another worker takes them only after this long (a failed or stalled batch). Keep it above the time a batch takes."),
  }).prefault({}),
  webhooks: z.strictObject({
    github: z.strictObject({
      secrets: z.array(z.string()).default([]).describe("GitHub webhook secrets (rotation: the new one first). Deliveries are rejected until one is set."),
    }).prefault({}),
  }).prefault({}),
  decisionLog: z.strictObject({
    mask: z.array(maskRule).default([]).describe("Input paths masked before a decision is hashed and stored (OPA-style), e.g. /input/password."),
    maskMode: z.enum(["remove", "redact"]).default("remove").describe("Default masking mode: remove the field, or replace its value with **REDACTED**."),
  }).prefault({}),
  admission: z.strictObject({
    failurePolicy: z.enum(["fail", "ignore"]).default("fail").describe("fail: deny when Vigil fails internally (fail-closed); ignore: allow (fail-open)."),
    timeoutMs: z.number().int().positive().default(2000).describe("Per-request deadline of admission reviews, in milliseconds."),
    awaitRecord: z.boolean().default(true).describe("true: answer a review once its decision is durable in the decision record (failurePolicy applies when it cannot be recorded); false: answer once decided and append right after (lower latency; a crash can lose the last decisions answered)."),
    cluster: z.strictObject({
      server: z.string().describe("Kubernetes API server URL (https://host:6443; http://127.0.0.1:8001 for kubectl proxy). Namespaces, ConfigMaps, RoleBindings and ClusterRoleBindings are listed and watched into a cache: Kyverno namespaceSelector, configMap context entries, roles/clusterRoles and CEL namespaceObject then work as in Kyverno (docs/admission.md)."),
      token: z.string().optional().describe("Bearer token of a service account allowed to list and watch namespaces, configmaps, rolebindings and clusterrolebindings."),
      caData: z.string().optional().describe("Base64 PEM CA bundle of the API server (kubeconfig certificate-authority-data)."),
      skipTlsVerify: z.boolean().default(false).describe("Do not verify the API server's certificate (test clusters only)."),
      timeoutMs: z.number().int().positive().default(10_000).describe("Timeout of one LIST request, in milliseconds."),
      syncTimeoutMs: z.number().int().min(0).default(5_000).describe("How long start-up waits for the first LISTs before serving (then the cache fills in the background)."),
      configMapSelector: z.string().optional().describe("Label selector of the ConfigMaps kept in memory (e.g. cache.kyverno.io/enabled=true, as Kyverno caches); others are read with a live GET when a policy asks. Default: every ConfigMap."),
      apiCallTimeoutMs: z.number().int().positive().default(1_000).describe("Timeout of one live GET for a Kyverno apiCall context entry the cache cannot answer (the review's deadline, admission.timeoutMs, still applies)."),
      policyExceptions: z.boolean().default(true).describe("Also list and watch the cluster's Kyverno PolicyExceptions (kyverno.io v2/v2beta1 and the CEL ones of policies.kyverno.io) and apply them as those loaded from files, as Kyverno's enablePolicyException does; when the CRDs are not installed, nothing is applied (checked again every minute)."),
      exceptionNamespace: z.string().optional().describe("Only the cluster's PolicyExceptions in this namespace apply (Kyverno's --exceptionNamespace); default: every namespace."),
    }).optional(),
    registries: z.strictObject({
      enabled: z.boolean().default(false).describe("Answer Kyverno imageRegistry context entries from the images' registries (OCI distribution API: manifest, config blob) and check verifyImages signatures there (Cosign, public keys), fetched while a review is decided and reused cacheSeconds (docs/admission.md). false: such rules error and their failurePolicy decides."),
      insecure: z.array(z.string()).default([]).describe("Registries (host[:port]) reached over plain HTTP, e.g. a registry on 127.0.0.1."),
      timeoutMs: z.number().int().positive().default(2_000).describe("Timeout of one registry request, in milliseconds."),
      cacheSeconds: z.number().int().min(0).default(60).describe("How long the metadata of an image reference is reused (tags move); 0: never."),
      platform: z.string().default("linux/amd64").describe("The platform picked from a multi-platform image index."),
      credentials: z.record(z.string(), z.strictObject({ username: z.string(), password: z.string() })).default({}).describe("Credentials by registry host, e.g. {\"ghcr.io\": {\"username\": \"bot\", \"password\": \"${GHCR_TOKEN}\"}}."),
      rekorPublicKey: z.string().optional().describe("PEM public key of the Rekor transparency log whose offline bundles Kyverno verifyImages rules accept when a keys attestor names no rekor.pubkey (Vigil does not fetch the public Rekor key from Sigstore's TUF root). Without either, a keys attestor that does not set rekor.ignoreTlog: true fails."),
      fulcioRoots: z.string().optional().describe("PEM bundle of the Fulcio root (and intermediate) certificates keyless verifyImages attestors accept when they name no roots (e.g. the public-good instance's, from Sigstore's trusted_root.json). Without either, keyless attestors fail."),
      ctLogPublicKey: z.string().optional().describe("PEM public key of the certificate-transparency log whose embedded SCTs keyless attestors accept when they name no ctlog.pubkey. Without either, a keyless attestor that does not set ctlog.ignoreSCT: true fails."),
    }).prefault({}),
    kms: z.strictObject({
      aws: z.strictObject({
        region: z.string().optional().describe("AWS KMS for Cosign keys: with admission.kms.aws set (any of its fields, or {}), the public keys of Kyverno verifyImages keys.kms and ImageValidatingPolicy cosign.key.kms references awskms://... are fetched with KMS GetPublicKey and the signatures verified locally, as cosign does (needs admission.registries; credentials from the standard AWS chain: environment, profile, web identity, instance role; the key policy must allow kms:GetPublicKey). Unset: such keys report unsupported. This field: the region of the keys (default: the SDK's chain, AWS_REGION or the profile)."),
        endpoint: z.string().optional().describe("KMS endpoint URL for references without their own (awskms:///<key>), e.g. http://127.0.0.1:4566 for LocalStack; a reference awskms://<host:port>/<key> is asked at https://<host:port>, as cosign does. Default: AWS's regional endpoint."),
        cacheSeconds: z.number().int().min(0).default(300).describe("How long a fetched public key is reused (cosign keeps it 5 minutes); 0: never."),
        timeoutMs: z.number().int().positive().default(5_000).describe("Timeout of one KMS request, in milliseconds."),
      }).optional(),
      vault: z.strictObject({
        address: z.string().optional().describe("HashiCorp Vault for Cosign keys: with admission.kms.vault set (any of its fields, or {}), the public keys of Kyverno verifyImages keys.kms and ImageValidatingPolicy cosign.key.kms references hashivault://<key name> are read from Vault's transit engine (GET /v1/<mountPath>/keys/<name>, the latest_version's public_key, as cosign) and the signatures verified locally (needs admission.registries; ECDSA and RSA transit keys). Unset: such keys report unsupported. This field: Vault's address, e.g. https://vault.example:8200 (default: the environment's VAULT_ADDR, as cosign)."),
        token: z.string().optional().describe("The Vault token keys are read with (header X-Vault-Token; its policy needs read on <mountPath>/keys/<name>). Keep it out of the file: write \"${VAULT_TOKEN}\" (any environment variable) or set VIGIL_ADMISSION_KMS_VAULT_TOKEN. Default: the environment's VAULT_TOKEN, as cosign."),
        mountPath: z.string().default("transit").describe("Where the transit secrets engine is mounted (cosign's TRANSIT_SECRET_ENGINE_PATH)."),
        cacheSeconds: z.number().int().min(0).default(300).describe("How long a fetched public key is reused (cosign keeps it 5 minutes); 0: never. A rotated key is used once the cached one expires."),
        timeoutMs: z.number().int().positive().default(5_000).describe("Timeout of one Vault request, in milliseconds."),
      }).optional(),
      gcp: z.strictObject({
        credentialsFile: z.string().optional().describe("Google Cloud KMS for Cosign keys: with admission.kms.gcp set (any of its fields, or {}), the public keys of Kyverno verifyImages keys.kms and ImageValidatingPolicy cosign.key.kms references gcpkms://projects/<p>/locations/<l>/keyRings/<r>/cryptoKeys/<k>[/cryptoKeyVersions/<v>] are read from Cloud KMS (GET /v1/<version>/publicKey; without a version, the latest ENABLED one, as cosign) and the signatures verified locally with the hash of the version's algorithm (needs admission.registries; EC_SIGN_P256_SHA256, EC_SIGN_P384_SHA384 and RSA_SIGN_PKCS1_* versions; the identity needs cloudkms.cryptoKeyVersions.list and viewPublicKey, e.g. roles/cloudkms.publicKeyViewer plus roles/cloudkms.viewer). Unset: such keys report unsupported. This field: a service-account key file (JSON) whose key signs an RS256 JWT exchanged at its token_uri for a token (scope cloudkms), reused until a minute before it expires (default: the environment's GOOGLE_APPLICATION_CREDENTIALS). Workload identity federation outside Google Cloud is not read; on GCE or GKE see metadataServer."),
        accessToken: z.string().optional().describe("An OAuth 2 access token (scope cloudkms) sent as Authorization: Bearer instead of a key file's (it is not refreshed: when it expires, reads fail until it is replaced). Keep it out of the file: write \"${GOOGLE_OAUTH_ACCESS_TOKEN}\" or set VIGIL_ADMISSION_KMS_GCP_ACCESS_TOKEN. Default: the environment's GOOGLE_OAUTH_ACCESS_TOKEN when no credentialsFile is configured."),
        metadataServer: z.boolean().optional().describe("true: when neither accessToken nor a key file is set, ask the metadata server of GCE or GKE for the token of the instance's service account (on GKE with Workload Identity, the Google service account bound to Vigil's Kubernetes one): GET http://<metadataHost>/computeMetadata/v1/instance/service-accounts/default/token with Metadata-Flavor: Google, reused until a minute before it expires. Default: true when the environment sets GCE_METADATA_HOST."),
        metadataHost: z.string().optional().describe("The metadata server's host[:port] (default: the environment's GCE_METADATA_HOST, else metadata.google.internal)."),
        endpoint: z.string().default("https://cloudkms.googleapis.com").describe("Cloud KMS's URL (another one for a private endpoint or a local stand-in)."),
        cacheSeconds: z.number().int().min(0).default(300).describe("How long a fetched public key is reused (cosign keeps it 5 minutes); 0: never. A newly enabled version is used once the cached key expires."),
        timeoutMs: z.number().int().positive().default(5_000).describe("Timeout of one request (Cloud KMS or the token endpoint), in milliseconds."),
      }).optional(),
      azure: z.strictObject({
        tenantId: z.string().optional().describe("Azure Key Vault for Cosign keys: with admission.kms.azure set (any of its fields, or {}), the public keys of Kyverno verifyImages keys.kms and ImageValidatingPolicy cosign.key.kms references azurekms://<vault host>/<key name>[/<version>] are read from Key Vault (GET https://<vault host>/keys/<name>[/<version>]?api-version=7.4, the current version when none is given, as cosign) and the signatures verified locally with the hash the key implies (needs admission.registries; EC P-256/P-384/P-521 and RSA 2048/3072/4096 keys; the app needs the keys get permission, e.g. the Key Vault Crypto User role). Unset: such keys report unsupported. Write the vault's full host, as cosign reads it (azurekms://myvault.vault.azure.net/release). This field: the Microsoft Entra tenant of the app registration whose client-credentials token (scope https://vault.azure.net/.default) is sent, reused until a minute before it expires (default: the environment's AZURE_TENANT_ID). Without a client secret: AKS Workload Identity (federatedTokenFile), then, when allowed, the managed identity (managedIdentity). Azure CLI credentials are not read."),
        clientId: z.string().optional().describe("The app registration's client (application) id (default: the environment's AZURE_CLIENT_ID)."),
        clientSecret: z.string().optional().describe("The app registration's client secret. Keep it out of the file: write \"${AZURE_CLIENT_SECRET}\" or set VIGIL_ADMISSION_KMS_AZURE_CLIENT_SECRET. Default: the environment's AZURE_CLIENT_SECRET."),
        authorityHost: z.string().optional().describe("The Microsoft Entra authority tokens are asked at: <authorityHost>/<tenantId>/oauth2/v2.0/token (default: the environment's AZURE_AUTHORITY_HOST, else https://login.microsoftonline.com)."),
        federatedTokenFile: z.string().optional().describe("AKS Workload Identity: a file holding the pod's service account token, sent (read again for every token) as the client assertion of the client-credentials request instead of a client secret, with tenantId and clientId (default: the environment's AZURE_FEDERATED_TOKEN_FILE, which the workload identity webhook sets with AZURE_TENANT_ID, AZURE_CLIENT_ID and AZURE_AUTHORITY_HOST)."),
        managedIdentity: z.boolean().optional().describe("true: when there is neither a client secret nor a federated token, ask the instance metadata service for the token of the VM's or node's managed identity (GET <managedIdentityEndpoint>?api-version=2018-02-01&resource=https://vault.azure.net, header Metadata: true; clientId names a user-assigned identity). Default false."),
        managedIdentityEndpoint: z.string().optional().describe("The managed identity token endpoint (default http://169.254.169.254/metadata/identity/oauth2/token)."),
        endpoint: z.string().optional().describe("A URL every key is read at instead of https://<vault host> from the reference (a private endpoint or a local stand-in). Default: the reference's host."),
        cacheSeconds: z.number().int().min(0).default(300).describe("How long a fetched public key is reused (cosign keeps it 5 minutes); 0: never. A key's new current version is used once the cached one expires."),
        timeoutMs: z.number().int().positive().default(5_000).describe("Timeout of one request (Key Vault or the token endpoint), in milliseconds."),
      }).optional(),
    }).prefault({}),
    services: z.strictObject({
      enabled: z.boolean().default(false).describe("Answer Kyverno apiCall entries with a `service` (GET, or POST with `data`, to a URL outside the cluster API, e.g. Kubecost), called while a review is decided (docs/admission.md). false: such rules error and their failurePolicy decides."),
      allow: z.array(z.string()).default([]).describe("URL prefixes services may be called at; empty: any URL."),
      timeoutMs: z.number().int().positive().default(2_000).describe("Timeout of one service call, in milliseconds."),
    }).prefault({}),
  }).prefault({}),
  cel: z.strictObject({
    costLimit: z.number().int().positive().default(1_000_000).describe("CEL cost budget per evaluation; a policy past it gets an error finding."),
  }).prefault({}),
  log: z.strictObject({
    level: z.enum(["debug", "info", "warn", "error", "silent"]).default("info").describe("Structured JSON log level (stdout)."),
  }).prefault({}),
  clock: z.strictObject({
    mode: z.enum(["system", "manual", "events"]).default("system").describe("manual: time stands still until an admin moves it (PUT /v1/clock); events: time follows the events processed (the latest event time seen), for replaying recorded or simulated streams into a server. Both for tests and demos, never production."),
    start: z.string().optional().describe("RFC 3339 start time of the manual or events clock (default: the time the agent started)."),
  }).prefault({}),
  cleanup: z.strictObject({
    enabled: z.boolean().default(true).describe("Run the loaded Kyverno cleanup policies (ClusterCleanupPolicy, CleanupPolicy, DeletingPolicy) on their cron schedules against the cluster of admission.cluster: each object due for deletion becomes a decision whose kubernetes.delete runs through the guardrails (dry-run until the policy is promoted; docs/cleanup.md). Needs admission.cluster (to list) and actuators.kubernetes (to delete)."),
    maxCandidatesPerRun: z.number().int().positive().default(1000).describe("Objects one scheduled run of a cleanup policy hands to the pipeline at most; the rest wait for the next run (the blast-radius budget still limits real deletions)."),
    redecideAfterMinutes: z.number().int().positive().default(60).describe("A promoted cleanup policy decides the same object again after this many minutes at the earliest: an object whose delete keeps failing (no actuator, RBAC, a budget, the kill switch) is not decided at every run (the TTL label runs every minute). The first run after a promotion, and a run on demand (POST /v1/cleanup/{policy}/run), decide at once; a dry-run policy decides each object once per revision."),
    ttl: z.strictObject({
      enabled: z.boolean().default(true).describe("Kyverno's TTL label: objects labelled cleanup.kyverno.io/ttl (a duration from creation such as 4h, or a date such as 2026-10-04) are deleted once due, by the built-in cleanup policy kyverno-ttl-label (dry-run until promoted, like any policy). Runs with the other cleanup policies (cleanup.enabled, admission.cluster)."),
      schedule: z.string().default("* * * * *").superRefine((value, ctx) => {
        try {
          parseCron(value, "cleanup.ttl.schedule");
        } catch (error) {
          ctx.addIssue({ code: "custom", message: error instanceof Error ? error.message : String(error) });
        }
      }).describe("Cron schedule of the TTL label's sweep (Kyverno's ttlReconciliationInterval is 1m: every minute). Each run lists every resource the API server can list and delete, with the label selector cleanup.kyverno.io/ttl."),
    }).prefault({}),
  }).prefault({}),
  scheduler: z.strictObject({
    tickMs: z.number().int().positive().default(5_000).describe("How often escalation timeouts and expiries are checked."),
  }).prefault({}),
  learn: z.strictObject({
    enabled: z.boolean().default(true).describe("Learn from feedback (docs/learning.md): lessons lower or raise risk and tiers within each policy's floor..ceiling and calibrate detector thresholds, cited in explanations. false: the agent decides on the policies' declared tiers, writes no learned version and mines no proposals (`vigil learn` still works on the store)."),
    leader: z.enum(["auto", "always", "never"]).default("auto").describe("Which processes write learned versions and mine proposals: auto = role all or api (workers only re-read the stored version); always; never. Two leaders are safe (a version is written under the head's document version), only wasteful."),
    updateIntervalMs: z.number().int().positive().default(3_600_000).describe("The leader learns a new version this long after the current one was written (agent clock), when feedback arrived since; `POST /v1/learn/update` learns at once."),
    refreshIntervalMs: z.number().int().positive().default(60_000).describe("How often every process re-reads the current learned version (another process's update, a reset); checked on the scheduler tick."),
    proposalsIntervalMs: z.number().int().min(0).default(21_600_000).describe("How often the leader mines repeated overrides and exceptions into policy proposals (never applied; `vigil proposals`); 0 = never."),
    settings: section("Learner settings over the defaults (docs/learning.md#the-learners-model): prior {alpha, beta}, credible, maxPerReviewer, minReviewers, criticalMinReviewers, agreement, minEntities, minEvidence, lowerTierBelow, lowerRiskBelow, raiseOnIncidents, maxRiskDelta, halfLifeDays, calibrateDetectors, ignoreActors. Checked at start."),
  }).prefault({}),
  context: section("Context stage settings: baselines, detectors, cache (docs/context.md). Validated by the context stage."),
  decide: section("Decide stage settings: risk weights, tier thresholds. Validated by the decider."),
  act: section("Executor guardrails: allowlists, protected entities, blast-radius budgets (docs/actuators.md)."),
  review: section("Review settings: escalation defaults, two-person rule."),
  actuators: section("Actuator providers: webhook, slack, github, kubernetes, aws, okta (docs/actuators.md)."),
  ladder: section("Enforcement ladder: business-day calendar and per-policy grace periods, snoozes, cooldowns (docs/packs/cost.md). Merged over the packs' ladder sections; the ladder runs when a pack or this file sets it."),
  residency: section("Residency pack settings over the pack's settings.yaml (docs/packs/residency.md); the residency enrichment runs when a pack or this file sets them."),
  supplyChain: section("Supply-chain pack settings over the pack's settings.yaml (docs/packs/supply-chain.md), plus `github: {token, baseUrl}` to fetch pull requests' lockfiles (default: actuators.github)."),
});

export type VigilConfig = z.infer<typeof configSchema>;

export function camelToEnv(path: readonly string[]): string {
  return "VIGIL_" + path.map((p) => p.replace(/([a-z0-9])([A-Z])/g, "$1_$2").toUpperCase()).join("_");
}

function parseEnvValue(raw: string, isArray: boolean): unknown {
  if (isArray && !raw.trim().startsWith("[")) return raw.split(",").map((s) => s.trim()).filter(Boolean);
  try {
    return JSON.parse(raw);
  } catch {
    return raw;
  }
}

/** One configuration key as documented: dotted path, type, default, env variable, description. */
export interface ConfigKey {
  readonly path: string;
  readonly type: string;
  readonly default?: unknown;
  readonly env: string;
  readonly description: string;
}

interface SchemaNode {
  readonly _zod: { readonly def: { readonly type: string; readonly innerType?: SchemaNode; readonly defaultValue?: unknown; readonly entries?: Record<string, string>; readonly element?: SchemaNode; readonly options?: readonly SchemaNode[] } };
  readonly description?: string;
  readonly shape?: Record<string, SchemaNode>;
}

function unwrap(node: SchemaNode): { inner: SchemaNode; defaultValue?: unknown; optional: boolean; description: string | undefined } {
  let inner = node;
  let defaultValue: unknown;
  let optional = false;
  const description = node.description;
  for (;;) {
    const def = inner._zod.def;
    if (def.type === "default") defaultValue = def.defaultValue;
    else if (def.type === "optional") optional = true;
    else if (def.type !== "prefault") break;
    inner = def.innerType as SchemaNode;
  }
  return { inner, ...(defaultValue === undefined ? {} : { defaultValue }), optional, description: description ?? inner.description };
}

function typeName(node: SchemaNode): string {
  const def = node._zod.def;
  switch (def.type) {
    case "enum": return Object.values(def.entries ?? {}).map((v) => `\`${v}\``).join(" \\| ");
    case "array": return `list of ${typeName(unwrap(def.element as SchemaNode).inner)}`;
    case "record": return "map";
    case "object": return "object";
    case "union": return (def.options ?? []).map((o) => typeName(unwrap(o).inner)).join(" or ");
    default: return def.type;
  }
}

/** Every leaf key of the schema, in schema order (what docs/configuration.md documents). */
export function configReference(): ConfigKey[] {
  const keys: ConfigKey[] = [];
  const walk = (node: SchemaNode, path: string[]): void => {
    const { inner, defaultValue, description } = unwrap(node);
    if (inner._zod.def.type === "object" && inner.shape && description === undefined) {
      for (const [name, child] of Object.entries(inner.shape)) walk(child, [...path, name]);
      return;
    }
    keys.push({ path: path.join("."), type: typeName(inner), ...(defaultValue === undefined ? {} : { default: defaultValue }), env: camelToEnv(path), description: description ?? "" });
  };
  walk(configSchema as unknown as SchemaNode, []);
  return keys;
}

/** The key table of docs/configuration.md, as markdown. */
export function renderConfigReference(): string {
  const cell = (text: string): string => text.replace(/\|/g, "\\|").replace(/\n/g, " ");
  const lines = ["| key | type | default | environment | description |", "|---|---|---|---|---|"];
  for (const key of configReference()) {
    const defaultText = key.default === undefined ? "" : `\`${JSON.stringify(key.default)}\``;
    lines.push(`| \`${key.path}\` | ${key.type} | ${defaultText} | \`${key.env}\` | ${cell(key.description)} |`);
  }
  return lines.join("\n");
}

/** Applies VIGIL_* overrides for every documented key. Exported for tests. */
export function applyEnvOverrides(raw: Record<string, unknown>, env: Readonly<Record<string, string | undefined>>): Record<string, unknown> {
  const out: Record<string, unknown> = structuredClone(raw);
  for (const key of configReference()) {
    const value = env[key.env];
    if (value === undefined) continue;
    const path = key.path.split(".");
    let target = out;
    for (const part of path.slice(0, -1)) {
      const next = target[part];
      target = (next !== null && typeof next === "object" && !Array.isArray(next) ? next : (target[part] = {})) as Record<string, unknown>;
    }
    target[path[path.length - 1] as string] = parseEnvValue(value, key.type.startsWith("list of"));
  }
  return out;
}

/** Replaces `${NAME}` in every string of the raw file with the environment variable; `$${` is a literal `${`. */
export function expandEnvReferences(raw: unknown, env: Readonly<Record<string, string | undefined>>, origin: string, path = ""): unknown {
  if (typeof raw === "string") {
    if (!raw.includes("${")) return raw;
    return raw.replace(/\$?\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g, (match, name: string) => {
      if (match.startsWith("$$")) return match.slice(1);
      const value = env[name];
      if (value === undefined) throw new VigilError("VIGIL_BAD_CONFIG", `${origin}: ${path || "value"} refers to environment variable ${name}, which is not set; set it or write the value in the file`, { field: path, file: origin });
      return value;
    });
  }
  if (Array.isArray(raw)) return raw.map((item, index) => expandEnvReferences(item, env, origin, `${path}[${index}]`));
  if (raw !== null && typeof raw === "object") {
    const out: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(raw)) out[key] = expandEnvReferences(value, env, origin, path ? `${path}.${key}` : key);
    return out;
  }
  return raw;
}

function formatIssuePath(path: readonly PropertyKey[]): string {
  return path.map((p) => (typeof p === "number" ? `[${p}]` : `.${String(p)}`)).join("").replace(/^\./, "");
}

/** Validates a raw configuration object; errors name the field and the fix. */
export function parseConfig(raw: unknown, origin = "vigil.yaml"): VigilConfig {
  const result = configSchema.safeParse(raw ?? {});
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const field = issue ? formatIssuePath(issue.path) : "";
  const message = issue ? (issue.code === "unrecognized_keys" ? `unknown key(s) ${issue.keys.map((k) => `"${k}"`).join(", ")}; see docs/configuration.md for the keys` : issue.message) : "invalid configuration";
  throw new VigilError("VIGIL_BAD_CONFIG", `${origin}: ${field ? `${field}: ` : ""}${message}`, { field, file: origin });
}

/**
 * Loads the configuration: `file` when given (it must exist), else `./vigil.yaml` when present,
 * else defaults; then `${NAME}` references and environment overrides. Relative paths in the file
 * resolve against its folder.
 */
export function loadConfig(options: { readonly file?: string; readonly cwd?: string; readonly env?: Readonly<Record<string, string | undefined>> } = {}): VigilConfig & { readonly baseDir: string } {
  const cwd = options.cwd ?? process.cwd();
  const env = options.env ?? process.env;
  const explicit = options.file ?? env["VIGIL_CONFIG"];
  const file = explicit ? resolve(cwd, explicit) : resolve(cwd, "vigil.yaml");
  let raw: Record<string, unknown> = {};
  let baseDir = cwd;
  if (existsSync(file)) {
    try {
      raw = (parseYaml(readFileSync(file, "utf8")) ?? {}) as Record<string, unknown>;
    } catch (cause) {
      throw new VigilError("VIGIL_BAD_CONFIG", `${file}: not valid YAML: ${(cause as Error).message}`, { file }, cause);
    }
    if (raw === null || typeof raw !== "object" || Array.isArray(raw)) throw new VigilError("VIGIL_BAD_CONFIG", `${file}: the configuration must be a YAML mapping of keys (see docs/configuration.md)`, { file });
    raw = expandEnvReferences(raw, env, file) as Record<string, unknown>;
    baseDir = dirname(file);
  } else if (explicit) {
    throw new VigilError("VIGIL_BAD_CONFIG", `configuration file ${file} does not exist; pass an existing file with --config or drop the flag`, { field: "--config", file });
  }
  const config = parseConfig(applyEnvOverrides(raw, env), existsSync(file) ? file : "configuration");
  const abs = (p: string): string => (isAbsolute(p) ? p : resolve(baseDir, p));
  return {
    ...config,
    policies: config.policies.map(abs),
    packs: { ...config.packs, settings: config.packs.settings.map(abs) },
    store: { ...config.store, path: config.store.path === ":memory:" ? config.store.path : abs(config.store.path) },
    baseDir,
  };
}
