/**
 * `kyverno test` compatible runner: discovers kyverno-test.yaml files, loads their policies,
 * resources, Values (per-resource values, context mocks, namespace labels, globalValues),
 * UserInfo and Context files, PolicyException files (`exceptions`), evaluates, and compares every `results` entry for every listed
 * resource. A missing policy or resource file is reported with its path; the other tests run.
 */
import type { TestCaseResult } from "../testing.js";
import type { CelEnvironment } from "../cel/api.js";
import type { ExternalContextResolver } from "./context.js";
import { compilePolicyDocuments, type LoadedPolicy } from "./load.js";
import { createGlobalContextSet } from "./global-context.js";
import { createPolicyExceptionSet } from "./policy-exception.js";
import { resourceInput, type AdmissionInput, type UserInfo } from "./request.js";
import type { GenerateOutcome, MutationOutcome } from "./policy.js";
import type { RuleResult } from "./results.js";
import { comparePatchedResource, discoverTestFiles, fixupGenerateLabels, emptyValues, findExpectedResource, isObject, parseValues, readYamlDocuments, relativeTo, type Json, type TestValues } from "./test-files.js";

export interface KyvernoTestOptions {
  /** CEL environment (defaults to the shared one from createCelEnvironment()). */
  readonly celEnv: CelEnvironment;
  /** Answers configMap/apiCall entries the test values do not mock. */
  readonly resolver?: ExternalContextResolver;
}

/** Per-entry JSON-able detail: what `vigil test --output json` prints. */
export interface KyvernoTestCase extends TestCaseResult {
  readonly kind: string;
  /** Kyverno's message for the actual result, when there is one. */
  readonly detail?: string;
}

interface TestContext {
  readonly file: string;
  readonly policies: Map<string, LoadedPolicy>;
  readonly resources: Json[];
  readonly values: TestValues;
  readonly userInfo: { userInfo: UserInfo; roles: string[]; clusterRoles: string[] };
  readonly clusterResources: Json[];
  readonly imageMetadata: Json[];
  readonly loadErrors: string[];
  /** The test's files that could not be read (missing, not YAML): each is an error of the test. */
  readonly fileErrors: string[];
}

const clusterScopedKinds = new Set([
  "Namespace", "Node", "PersistentVolume", "ClusterRole", "ClusterRoleBinding", "StorageClass", "CustomResourceDefinition",
  "PriorityClass", "ValidatingWebhookConfiguration", "MutatingWebhookConfiguration", "ValidatingAdmissionPolicy",
  "ValidatingAdmissionPolicyBinding", "APIService", "CSIDriver", "CSINode", "IngressClass", "RuntimeClass", "PodSecurityPolicy",
  "VolumeAttachment", "CertificateSigningRequest", "ClusterPolicy", "ClusterIssuer", "SecurityContextConstraints", "FlowSchema",
  "PriorityLevelConfiguration", "ComponentStatus", "ClusterPolicyReport", "ClusterSecretStore", "ClusterServingRuntime",
]);

/** `kyverno test` puts namespaced resources without a namespace into `default`. */
export function withDefaultNamespace(resource: Json): Json {
  const kind = String(resource["kind"] ?? "");
  const m = meta(resource);
  if (clusterScopedKinds.has(kind) || kind.startsWith("Cluster") || (typeof m["namespace"] === "string" && m["namespace"] !== "")) return resource;
  return { ...resource, metadata: { ...m, namespace: "default" } };
}

function meta(o: Json): Json {
  return isObject(o["metadata"]) ? o["metadata"] : {};
}

function loadTest(file: string, test: Json, env: CelEnvironment): TestContext {
  const loadErrors: string[] = [];
  const fileErrors: string[] = [];
  const unreadable = (message: string): void => {
    loadErrors.push(message);
    fileErrors.push(message);
  };
  const policies = new Map<string, LoadedPolicy>();
  // `exceptions`: PolicyException files, applied to this test's policies (as `kyverno test` does);
  // a PolicyException in a policy file applies too.
  const exceptions = createPolicyExceptionSet();
  // GlobalContextEntries in the test's policy files: their policies' globalReference entries read them (or test values mock them).
  const globals = createGlobalContextSet();
  const files = [
    ...(Array.isArray(test["policies"]) ? test["policies"].map((p) => ({ what: "policy", path: String(p) })) : []),
    ...(Array.isArray(test["exceptions"]) ? test["exceptions"].map((p) => ({ what: "exception", path: String(p) })) : []),
  ];
  for (const { what, path: p } of files) {
    const path = relativeTo(file, p);
    const read = readYamlDocuments(path);
    if (!read.ok) {
      unreadable(`${what} ${p}: ${read.error}`);
      continue;
    }
    for (const loaded of compilePolicyDocuments(read.documents, env, path, undefined, exceptions, globals)) {
      if (loaded.kind === "PolicyException") loadErrors.push(`exception ${p}: ${loaded.error?.message ?? "not loaded"}`);
      else {
        policies.set(loaded.name, loaded);
        // A namespaced CEL policy is `namespace/name` (newer kyverno CLIs name it so in results); older CLIs name it by its name.
        const bare = loaded.name.slice(loaded.name.indexOf("/") + 1);
        if (bare !== loaded.name && !policies.has(bare)) policies.set(bare, loaded);
      }
    }
  }
  const resources: Json[] = [];
  for (const r of Array.isArray(test["resources"]) ? test["resources"].map(String) : []) {
    const read = readYamlDocuments(relativeTo(file, r));
    if (!read.ok) unreadable(`resource ${r}: ${read.error}`);
    else resources.push(...read.documents.map(withDefaultNamespace));
  }
  let values = emptyValues;
  if (typeof test["variables"] === "string") {
    const read = readYamlDocuments(relativeTo(file, test["variables"]));
    if (!read.ok) unreadable(`variables ${test["variables"]}: ${read.error}`);
    else values = parseValues(read.documents);
  }
  const userInfo = { userInfo: {} as UserInfo, roles: [] as string[], clusterRoles: [] as string[] };
  if (typeof test["userinfo"] === "string") {
    const read = readYamlDocuments(relativeTo(file, test["userinfo"]));
    if (!read.ok) unreadable(`userinfo ${test["userinfo"]}: ${read.error}`);
    else {
      const doc = read.documents[0] ?? {};
      if (isObject(doc["userInfo"])) userInfo.userInfo = doc["userInfo"] as UserInfo;
      if (Array.isArray(doc["roles"])) userInfo.roles = doc["roles"].map(String);
      if (Array.isArray(doc["clusterRoles"])) userInfo.clusterRoles = doc["clusterRoles"].map(String);
    }
  }
  const clusterResources: Json[] = [];
  const imageMetadata: Json[] = [];
  if (typeof test["context"] === "string") {
    const read = readYamlDocuments(relativeTo(file, test["context"]));
    if (!read.ok) unreadable(`context ${test["context"]}: ${read.error}`);
    else {
      for (const doc of read.documents) {
        if (!isObject(doc["spec"])) continue;
        if (Array.isArray(doc["spec"]["resources"])) clusterResources.push(...doc["spec"]["resources"].filter(isObject));
        if (Array.isArray(doc["spec"]["images"])) imageMetadata.push(...doc["spec"]["images"].filter(isObject));
      }
    }
  }
  return { file, policies, resources, values, userInfo, clusterResources, imageMetadata, loadErrors, fileErrors };
}

function findResources(ctx: TestContext, kind: string, ref: string, namespace: string | undefined): Json[] {
  const slash = ref.indexOf("/");
  const ns = slash >= 0 ? ref.slice(0, slash) : namespace;
  const name = slash >= 0 ? ref.slice(slash + 1) : ref;
  return ctx.resources.filter((r) => {
    const m = meta(r);
    if (String(m["name"] ?? "") !== name) return false;
    if (kind !== "" && r["kind"] !== kind) return false;
    if (ns !== undefined && ns !== "" && String(m["namespace"] ?? "") !== ns) return false;
    return true;
  });
}

function inputFor(ctx: TestContext, policy: string, resource: Json): { input: AdmissionInput; values: Record<string, unknown> } {
  const m = meta(resource);
  const name = String(m["name"] ?? "");
  const values: Record<string, unknown> = { ...ctx.values.globalValues, ...(ctx.values.resourceValues.get(policy)?.get(name) ?? {}) };
  const operation = String(values["request.operation"] ?? "CREATE").toUpperCase() as AdmissionInput["operation"];
  const namespace = typeof m["namespace"] === "string" ? m["namespace"] : "";
  const namespaceLabels = ctx.values.namespaceLabels.get(namespace);
  const namespaceObject = namespace === "" ? undefined : ctx.values.namespaces.get(namespace) ?? { apiVersion: "v1", kind: "Namespace", metadata: { name: namespace, ...(namespaceLabels ? { labels: namespaceLabels } : {}) } };
  const input = resourceInput(resource, {
    operation,
    object: operation === "DELETE" ? null : resource,
    oldObject: operation === "DELETE" || operation === "UPDATE" ? resource : null,
    userInfo: ctx.userInfo.userInfo,
    roles: ctx.userInfo.roles,
    clusterRoles: ctx.userInfo.clusterRoles,
    ...(namespaceLabels ? { namespaceLabels } : {}),
    ...(namespaceObject ? { namespaceObject } : {}),
  });
  return { input, values };
}

function actualOf(results: readonly RuleResult[], rule: string | undefined): { actual: string; detail?: string; unsupported: boolean; result?: RuleResult } {
  const matching = rule ? results.filter((r) => r.rule === rule || r.rule === `autogen-${rule}` || r.rule === `autogen-cronjob-${rule}`) : results;
  if (matching.length === 0) return { actual: "excluded", unsupported: false };
  const unsupported = matching.find((r) => r.status === "unsupported");
  if (unsupported) return { actual: "unsupported", detail: unsupported.message, unsupported: true };
  // `vigil test` reaches no image registry: a signature check it could not make is not computed (Kyverno's CLI would pull).
  const unverified = matching.find((r) => r.ruleType === "verifyImages" && r.status === "error");
  if (unverified) return { actual: "unsupported", detail: `${unverified.message} (vigil test does not reach image registries)`, unsupported: true };
  const real = matching.filter((r) => r.status !== "nomatch");
  if (real.length === 0) return { actual: "excluded", unsupported: false };
  const worst = real.find((r) => r.status === "error") ?? real.find((r) => r.status === "fail") ?? real.find((r) => r.status === "pass") ?? real[0];
  return { actual: worst?.status ?? "excluded", detail: worst?.message ?? "", unsupported: false, ...(worst ? { result: worst } : {}) };
}

interface Evaluated {
  readonly results: RuleResult[];
  readonly mutation?: MutationOutcome;
  readonly generation?: GenerateOutcome;
}

/**
 * The policy's results for one resource: its validation results plus, when it mutates or
 * generates, its mutation and generation results (which replace any validation entry for the
 * same rule), the patched object and the generated objects.
 */
function evaluate(ctx: TestContext, policy: LoadedPolicy, policyName: string, resource: Json, options: KyvernoTestOptions, cloneSources: readonly Json[] = []): Evaluated {
  const { input, values } = inputFor(ctx, policyName, resource);
  const ruleValues = ctx.values.ruleValues.get(policyName) ?? {};
  const clusterResources = cloneSources.length === 0 ? ctx.clusterResources : [...ctx.clusterResources, ...cloneSources];
  const evalOptions = { values, ruleValues, includeNoMatch: true, clusterResources, imageMetadata: ctx.imageMetadata, ...(options.resolver ? { resolver: options.resolver } : {}) };
  let results = policy.policy?.evaluateAdmission(input, evalOptions) ?? [];
  const mutation = policy.policy?.mutateAdmission?.(input, evalOptions);
  const generation = policy.policy?.generateAdmission?.(input, evalOptions);
  for (const outcome of [mutation, generation]) {
    if (!outcome) continue;
    const rules = new Set(outcome.results.map((r) => r.rule));
    results = [...results.filter((r) => !rules.has(r.rule)), ...outcome.results];
  }
  return { results, ...(mutation ? { mutation } : {}), ...(generation ? { generation } : {}) };
}

/** The objects a rule generated (`generate.kyverno.io/rule-name`); every object for a rule-less policy (GeneratingPolicy). */
function generatedBy(generation: GenerateOutcome | undefined, result: RuleResult): Json[] {
  if (!generation || !generation.results.includes(result)) return [];
  if (result.rule === "") return generation.resources;
  return generation.resources.filter((r) => {
    const labels = meta(r)["labels"];
    return isObject(labels) && labels["generate.kyverno.io/rule-name"] === result.rule;
  });
}

/**
 * Compares a patched (or generated) resource with its document in the expected file. Generated
 * resources are compared as Kyverno's FixupGenerateLabels leaves both sides: `generate.kyverno.io/*`
 * labels dropped, `app.kubernetes.io/managed-by: kyverno` set.
 */
function compareWithExpectedFile(testFile: string, expectedFile: string, actual: Json, what: "patched" | "generated" = "patched"): { ok: true } | { ok: false; detail: string } {
  const read = readYamlDocuments(relativeTo(testFile, expectedFile));
  if (!read.ok) return { ok: false, detail: `${what} resource file ${expectedFile}: ${read.error}` };
  const documents = what === "generated" ? read.documents : read.documents.map(withDefaultNamespace);
  const expected = findExpectedResource(documents, actual);
  if (!expected) return { ok: false, detail: `${what} resource file ${expectedFile} has no ${String(actual["kind"] ?? "")} ${String(meta(actual)["name"] ?? "")} in namespace ${String(meta(actual)["namespace"] ?? "")}` };
  const diff = what === "generated" ? comparePatchedResource(fixupGenerateLabels(actual), fixupGenerateLabels(expected)) : comparePatchedResource(actual, expected);
  return diff === undefined ? { ok: true } : { ok: false, detail: `${what} resource differs from ${expectedFile}: ${diff}` };
}

/** Runs one test file. Never throws. */
export function runKyvernoTestFile(file: string, options: KyvernoTestOptions): KyvernoTestCase[] {
  const read = readYamlDocuments(file);
  const out: KyvernoTestCase[] = [];
  if (!read.ok || !read.documents[0]) {
    return [{ suite: file, name: file, kind: "", expected: "", actual: "error", status: "error", message: read.ok ? `${file}: empty test file` : read.error }];
  }
  const test = read.documents[0];
  const ctx = loadTest(file, test, options.celEnv);
  const cache = new Map<string, Evaluated>();
  const entries = Array.isArray(test["results"]) ? test["results"].filter(isObject) : [];
  for (const entry of entries) {
    const policyName = String(entry["policy"] ?? "");
    const rule = typeof entry["rule"] === "string" && entry["rule"] !== "" ? entry["rule"] : undefined;
    const kind = String(entry["kind"] ?? "");
    const expected = String(entry["result"] ?? entry["status"] ?? "");
    const namespace = typeof entry["namespace"] === "string" ? entry["namespace"] : undefined;
    const refs = Array.isArray(entry["resources"]) ? entry["resources"].map(String) : typeof entry["resource"] === "string" ? [entry["resource"]] : [];
    const patchedFile = typeof entry["patchedResources"] === "string" ? entry["patchedResources"] : typeof entry["patchedResource"] === "string" ? entry["patchedResource"] : undefined;
    const generatedFile = typeof entry["generatedResource"] === "string" ? entry["generatedResource"] : undefined;
    const generateExpectation = entry["generatedResource"] !== undefined;
    // `cloneSourceResource`: the clone source of a generate rule, in a file of its own (the CLI
    // puts it in its fake cluster); added to the context file's resources for this entry.
    const cloneSourceFile = typeof entry["cloneSourceResource"] === "string" && entry["cloneSourceResource"] !== "" ? entry["cloneSourceResource"] : undefined;
    const cloneSources = cloneSourceFile === undefined ? { ok: true as const, documents: [] as Json[] } : readYamlDocuments(relativeTo(file, cloneSourceFile));
    for (const ref of refs) {
      const base = { suite: file, name: `${policyName}/${rule ?? ""}/${ref}`, policy: policyName, ...(rule ? { rule } : {}), resource: ref, kind, expected };
      const policy = ctx.policies.get(policyName);
      if (!policy) {
        out.push({ ...base, actual: "error", status: "error", message: ctx.loadErrors.length > 0 ? ctx.loadErrors.join("; ") : `policy ${policyName} not found in ${file}` });
        continue;
      }
      if (policy.error) {
        const status = policy.error.code === "VIGIL_POLICY_UNSUPPORTED" || patchedFile !== undefined || generateExpectation ? "unsupported" : "error";
        out.push({ ...base, actual: status, status, message: policy.error.message });
        continue;
      }
      if (policy.cleanup) {
        out.push({ ...base, actual: "unsupported", status: "unsupported", message: `${policy.kind} ${policyName} is a cleanup policy: the agent runs it on its schedule against a cluster (docs/cleanup.md); vigil test has no result for it` });
        continue;
      }
      if (rule !== undefined && policy.policy?.mutateExisting?.rules.includes(rule)) {
        out.push({ ...base, actual: "unsupported", status: "unsupported", message: `rule ${rule} of ${policyName} mutates existing resources (mutate.targets): the agent patches the targets in a cluster; vigil test does not compare them` });
        continue;
      }
      if (generateExpectation && !policy.policy?.generateAdmission) {
        out.push({ ...base, actual: "unsupported", status: "unsupported", message: `${policy.kind} ${policyName} has no generate rules: Vigil computes generated resources for generate rules and GeneratingPolicy only` });
        continue;
      }
      if (patchedFile !== undefined && !policy.policy?.mutateAdmission) {
        out.push({ ...base, actual: "unsupported", status: "unsupported", message: `mutate results of ${policy.kind} ${policyName} are not computed by Vigil` });
        continue;
      }
      if (!cloneSources.ok) {
        out.push({ ...base, actual: "error", status: "error", message: `cloneSourceResource ${cloneSourceFile ?? ""}: ${cloneSources.error}` });
        continue;
      }
      const found = findResources(ctx, kind, ref, namespace);
      if (found.length === 0) {
        out.push({ ...base, actual: "error", status: "error", message: `resource ${kind}/${ref} not found${ctx.loadErrors.length > 0 ? ` (${ctx.loadErrors.join("; ")})` : ""}` });
        continue;
      }
      for (const resource of found) {
        const key = `${policyName}\u0000${ctx.resources.indexOf(resource)}\u0000${cloneSourceFile ?? ""}`;
        let evaluated = cache.get(key);
        if (!evaluated) {
          evaluated = evaluate(ctx, policy, policyName, resource, options, cloneSources.documents);
          cache.set(key, evaluated);
        }
        const { actual, detail, unsupported, result } = actualOf(evaluated.results, rule);
        // INVARIANT: like `kyverno test`, a resource the rule does not select ("excluded") counts as passed.
        let status: KyvernoTestCase["status"] = unsupported ? "unsupported" : actual === expected || actual === "excluded" ? "pass" : "fail";
        let message = detail;
        if (status === "pass" && actual !== "excluded" && patchedFile !== undefined) {
          // `kyverno test` compares the policy's patched resource for a mutate rule, the resource itself otherwise.
          const actualResource = result !== undefined && evaluated.mutation?.results.includes(result) ? evaluated.mutation.patched : resource;
          const comparison = compareWithExpectedFile(file, patchedFile, actualResource);
          if (!comparison.ok) {
            status = "fail";
            message = comparison.detail;
          }
        }
        if (status === "pass" && actual !== "excluded" && generatedFile !== undefined) {
          // `kyverno test` compares the rule's first generated resource; a rule that generated nothing is "not found".
          const generated = result ? generatedBy(evaluated.generation, result)[0] : undefined;
          const comparison = generated ? compareWithExpectedFile(file, generatedFile, generated, "generated") : { ok: false as const, detail: `the rule generated no resource to compare with ${generatedFile}` };
          if (!comparison.ok) {
            status = "fail";
            message = comparison.detail;
          }
        }
        // A failure next to a file that did not load (an exceptions file, say) names it.
        if (status === "fail" && ctx.loadErrors.length > 0) message = [message, ...ctx.loadErrors].filter((m) => m !== undefined && m !== "").join("; ");
        out.push({ ...base, actual, status, ...(detail ? { detail } : {}), ...(message ? { message } : {}) });
      }
    }
  }
  // A file of the test that could not be read fails the test even when no result names what it
  // held (the results that do are errors already, naming it).
  for (const error of ctx.fileErrors) {
    if (out.some((row) => row.message?.includes(error))) continue;
    out.push({ suite: file, name: `${file}: ${error}`, kind: "", expected: "", actual: "error", status: "error", message: error });
  }
  return out;
}

/** Discovers and runs every kyverno-test.yaml under `paths`, in path order. Never throws. */
export function runKyvernoTests(paths: readonly string[], options: KyvernoTestOptions): KyvernoTestCase[] {
  const out: KyvernoTestCase[] = [];
  for (const file of discoverTestFiles(paths)) {
    try {
      out.push(...runKyvernoTestFile(file, options));
    } catch (cause) {
      out.push({ suite: file, name: file, kind: "", expected: "", actual: "error", status: "error", message: `internal error: ${cause instanceof Error ? cause.message : String(cause)}` });
    }
  }
  return out;
}
