import { describe, expect, it } from "vitest";
import { createCelEnvironment } from "../cel/index.js";
import { loadPolicyText } from "../load.js";
import { UnresolvedContext, type ExternalContextRequest } from "./context.js";
import type { KyvernoPolicy } from "./policy.js";
import { resourceInput } from "./request.js";

const env = createCelEnvironment();

function load(text: string): KyvernoPolicy {
  const loaded = loadPolicyText(text, "generate.yaml", { env });
  expect(loaded.errors).toEqual([]);
  return loaded.policies[0] as KyvernoPolicy;
}

const rule = (generate: string, kind = "ClusterPolicy", namespace = ""): string => `apiVersion: kyverno.io/v1
kind: ${kind}
metadata:
  name: copy-config
${namespace === "" ? "" : `  namespace: ${namespace}\n`}spec:
  rules:
  - name: copy
    match:
      any:
      - resources:
          kinds: [Namespace]
    generate:
${generate}`;

/** The labels of an object copy-config's rule `copy` cloned for Namespace ns-uid-1 (generate.ts, as Kyverno labels it). */
const cloneLabels = (kind: string, namespace: string, name: string, uid: string): Record<string, string> => ({
  "app.kubernetes.io/managed-by": "kyverno", "generate.kyverno.io/policy-name": "copy-config", "generate.kyverno.io/policy-namespace": "", "generate.kyverno.io/rule-name": "copy",
  "generate.kyverno.io/trigger-group": "", "generate.kyverno.io/trigger-version": "v1", "generate.kyverno.io/trigger-kind": "Namespace", "generate.kyverno.io/trigger-namespace": "", "generate.kyverno.io/trigger-uid": "ns-uid-1",
  "generate.kyverno.io/clone-source": "",
  "generate.kyverno.io/source-group": "", "generate.kyverno.io/source-version": "v1", "generate.kyverno.io/source-kind": kind, "generate.kyverno.io/source-namespace": namespace,
  "generate.kyverno.io/source-uid": uid, "generate.kyverno.io/source-name": name,
});

/** The library's sync-secrets rule: a synchronized clone of Secret default/regcred into each new namespace. */
const syncSecrets = rule(`      apiVersion: v1
      kind: Secret
      name: regcred
      namespace: "{{request.object.metadata.name}}"
      synchronize: true
      clone:
        namespace: default
        name: regcred
`);

const data = { apiVersion: "v1", kind: "Namespace", metadata: { name: "team-a" } };
const trigger = (type = "dev.vigil.generate") => ({ event: { specversion: "1.0", id: "g1", source: "vigil/generate", type, subject: "team-a", data }, input: data, entities: {}, signals: {}, posture: { level: "normal" } }) as never;

/** The dev.vigil.generate event (and its context) of an AdmissionReview of a core (v1) object, as the webhook hands it over. */
function reviewEvent(uid: string, kind: string, operation: "UPDATE" | "DELETE", namespace: string, name: string, object: unknown, oldObject: unknown): never {
  const body = { apiVersion: "admission.k8s.io/v1", kind: "AdmissionReview", request: { uid, kind: { group: "", version: "v1", kind }, operation, namespace, name, object, oldObject, userInfo: { username: "someone" } } };
  return ({ event: { specversion: "1.0", id: `${uid}/generate`, source: "vigil/generate", type: "dev.vigil.generate", subject: namespace, data: body }, input: body, entities: {}, signals: {}, posture: { level: "normal" } }) as never;
}

describe("generate triggers (dev.vigil.generate): one kubernetes.create per generated object", () => {
  it("a clone source is read from the cluster through the resolver (GET), copied into the new namespace; a missing source is an error naming it", () => {
    const policy = load(rule(`      apiVersion: v1
      kind: ConfigMap
      name: defaults
      namespace: "{{request.object.metadata.name}}"
      clone:
        namespace: platform
        name: defaults
`));
    expect(policy.meta.on).toContain("dev.vigil.generate");
    expect(policy.meta.enforcement).toEqual({ tier: "remediate" });
    expect(policy.generates?.(resourceInput(data, { operation: "CREATE" }))).toBe(true);
    expect(policy.generates?.(resourceInput({ apiVersion: "v1", kind: "Pod", metadata: { name: "p", namespace: "a" } }, { operation: "CREATE" }))).toBe(false);
    const asked: string[] = [];
    let targetExists = false;
    const resolver = (request: ExternalContextRequest): unknown => {
      const path = String(request.spec["urlPath"]);
      asked.push(path);
      if (path === "/api/v1/namespaces/team-a/configmaps/defaults") return targetExists ? { metadata: { name: "defaults", namespace: "team-a" } } : new UnresolvedContext(`GET ${path}: 404 Not Found`);
      return { metadata: { name: "defaults", namespace: "platform", uid: "u-1", resourceVersion: "9" }, data: { mode: "strict" } };
    };
    const findings = policy.evaluate(trigger(), { resolver } as never);
    // The source, then whether the object to generate exists already.
    expect(asked).toEqual(["/api/v1/namespaces/platform/configmaps/defaults", "/api/v1/namespaces/team-a/configmaps/defaults"]);
    expect(findings).toHaveLength(1);
    expect(findings[0]).toMatchObject({ effect: "violation", resource: "ConfigMap/team-a/defaults", rule: "copy", message: "copy: generate ConfigMap/team-a/defaults" });
    const manifest = findings[0]?.remediation?.[0]?.params?.["manifest"] as Record<string, unknown>;
    expect(findings[0]?.remediation?.[0]?.action).toBe("kubernetes.create");
    expect(manifest).toMatchObject({ apiVersion: "v1", kind: "ConfigMap", metadata: { name: "defaults", namespace: "team-a", labels: { "generate.kyverno.io/clone-source": "" } }, data: { mode: "strict" } });
    expect((manifest["metadata"] as Record<string, unknown>)["uid"]).toBeUndefined();
    // Existing already: nothing to create (a pass, in explain mode only).
    targetExists = true;
    expect(policy.evaluate(trigger(), { resolver } as never)).toEqual([]);
    expect(policy.evaluate(trigger(), { resolver, includePasses: true } as never).map((f) => [f.effect, f.message])).toContainEqual(["pass", "copy: ConfigMap/team-a/defaults exists already; it is left as it is"]);
    const missing = policy.evaluate(trigger(), { resolver: () => new UnresolvedContext("GET /api/v1/namespaces/platform/configmaps/defaults: 404 Not Found") } as never);
    expect(missing).toMatchObject([{ effect: "error", message: expect.stringContaining("source resource v1/ConfigMap platform/defaults not found") }]);
    // Other events decide nothing for the generate rule (admission results: nothing to validate).
    expect(policy.evaluate(trigger("io.k8s.admission.review"), { resolver } as never)).toEqual([]);
  });

  it("cloneList sources are LISTed from the cluster in the source namespace, the selector sent and checked again", () => {
    const policy = load(rule(`      namespace: "{{request.object.metadata.name}}"
      cloneList:
        namespace: platform
        kinds: [v1/ConfigMap]
        selector:
          matchLabels:
            share: "true"
`));
    const asked: string[] = [];
    const resolver = (request: ExternalContextRequest): unknown => {
      const path = String(request.spec["urlPath"]);
      if (path.startsWith("/api/v1/namespaces/team-a/")) return new UnresolvedContext(`GET ${path}: 404 Not Found`);
      asked.push(path);
      // A cache may ignore the query: the unlabelled item is dropped here.
      return { apiVersion: "v1", kind: "ConfigMapList", items: [{ metadata: { name: "ca", namespace: "platform", labels: { share: "true" } }, data: { pem: "x" } }, { metadata: { name: "private", namespace: "platform" }, data: { k: "v" } }] };
    };
    const findings = policy.evaluate(trigger(), { resolver } as never);
    expect(asked).toEqual(["/api/v1/namespaces/platform/configmaps?labelSelector=share%3Dtrue"]);
    expect(findings.map((f) => [f.effect, f.resource])).toEqual([["violation", "ConfigMap/team-a/ca"]]);
  });

  it("a cloned Secret (sync-secrets): a create that names its source and carries metadata only; its data is in no finding", () => {
    const policy = load(syncSecrets);
    const resolver = (request: ExternalContextRequest): unknown => {
      const path = String(request.spec["urlPath"]);
      if (path === "/api/v1/namespaces/default/secrets/regcred") return { apiVersion: "v1", kind: "Secret", type: "kubernetes.io/dockerconfigjson", metadata: { name: "regcred", namespace: "default", uid: "src-uid-1", resourceVersion: "3", annotations: { "kubectl.kubernetes.io/last-applied-configuration": '{"data":{".dockerconfigjson":"c2VjcmV0"}}' } }, data: { ".dockerconfigjson": "c2VjcmV0" } };
      return new UnresolvedContext(`GET ${path}: 404 Not Found`);
    };
    const findings = policy.evaluate(trigger(), { resolver } as never);
    expect(findings.map((f) => [f.effect, f.resource, f.message])).toEqual([["violation", "Secret/team-a/regcred", "copy: generate Secret/team-a/regcred (a copy of Secret/default/regcred, read when it applies)"]]);
    expect(findings[0]?.remediation?.[0]?.params).toEqual({
      manifest: { apiVersion: "v1", kind: "Secret", metadata: { name: "regcred", namespace: "team-a", labels: expect.objectContaining({ "generate.kyverno.io/policy-name": "copy-config", "generate.kyverno.io/source-name": "regcred", "generate.kyverno.io/source-uid": "src-uid-1" }) } },
      cloneFrom: { namespace: "default", name: "regcred", uid: "src-uid-1" },
    });
    expect(JSON.stringify(findings)).not.toContain("c2VjcmV0");
  });

  it("a generated Secret is an error finding, never a create (the action record would hold its data)", () => {
    const policy = load(rule(`      apiVersion: v1
      kind: Secret
      name: registry
      namespace: "{{request.object.metadata.name}}"
      data:
        data:
          token: dG9rZW4=
`));
    const findings = policy.evaluate(trigger(), {} as never);
    expect(findings).toMatchObject([{ effect: "error", resource: "Secret/team-a/registry", error: { code: "VIGIL_POLICY_UNSUPPORTED" } }]);
    expect(findings[0]?.remediation).toBeUndefined();
  });

  it("a namespaced Policy generating outside its namespace is an error finding, not a create", () => {
    const policy = load(rule(`      apiVersion: v1
      kind: ConfigMap
      name: defaults
      namespace: elsewhere
      data:
        data:
          mode: strict
`, "Policy", "team-a"));
    const findings = policy.evaluate(trigger(), {} as never);
    expect(findings).toMatchObject([{ effect: "error", message: "ConfigMap defaults would be generated in namespace elsewhere; a namespaced Policy generates into its own namespace team-a only" }]);
  });

  it("generateExisting names the trigger kinds the agent lists when the policy is installed: a rule's, a policy's, a GeneratingPolicy's resources", () => {
    const data = `      apiVersion: v1
      kind: ConfigMap
      name: defaults
      namespace: "{{request.object.metadata.name}}"
      data:
        data:
          mode: strict
`;
    expect(load(rule(data)).generateExisting).toBeUndefined();
    expect(load(rule(`${data}      generateExisting: true
`)).generateExisting).toEqual({ triggers: [{ kind: "Namespace" }] });
    expect(load(rule(data).replace("spec:\n", "spec:\n  generateExisting: true\n")).generateExisting).toEqual({ triggers: [{ kind: "Namespace" }] });
    const gpol = load(`apiVersion: policies.kyverno.io/v1
kind: GeneratingPolicy
metadata:
  name: defaults
spec:
  evaluation:
    generateExisting:
      enabled: true
  matchConstraints:
    resourceRules:
    - apiGroups: [""]
      apiVersions: [v1]
      operations: [CREATE]
      resources: [namespaces]
  generate:
  - expression: 'generator.Apply(object.metadata.name, [{"kind": dyn("ConfigMap"), "apiVersion": dyn("v1"), "metadata": dyn({"name": "defaults"})}])'
`);
    expect(gpol.generateExisting).toEqual({ triggers: [{ group: "", version: "v1", resource: "namespaces" }] });
  });

  it("synchronize: a deleted trigger deletes only the live objects labelled as this policy's, for this trigger; without synchronize nothing", () => {
    const gpol = (sync: boolean) => load(`apiVersion: policies.kyverno.io/v1
kind: GeneratingPolicy
metadata:
  name: defaults
spec:
  evaluation:
    synchronize:
      enabled: ${sync}
  matchConstraints:
    resourceRules:
    - apiGroups: [""]
      apiVersions: [v1]
      operations: [CREATE]
      resources: [namespaces]
  generate:
  - expression: 'generator.Apply(object.metadata.name, [{"kind": dyn("ConfigMap"), "apiVersion": dyn("v1"), "metadata": dyn({"name": "defaults"})}])'
`);
    const deleted = { apiVersion: "v1", kind: "Namespace", metadata: { name: "team-a", uid: "ns-uid-1" } };
    const deletion = { event: { specversion: "1.0", id: "d1", source: "vigil/generate", type: "dev.vigil.generate", subject: "team-a", data: { apiVersion: "admission.k8s.io/v1", kind: "AdmissionReview", request: { uid: "r1", operation: "DELETE", namespace: "team-a", object: null, oldObject: deleted } } }, input: { apiVersion: "admission.k8s.io/v1", kind: "AdmissionReview", request: { uid: "r1", operation: "DELETE", namespace: "team-a", object: null, oldObject: deleted } }, entities: {}, signals: {}, posture: { level: "normal" } } as never;
    const live = (labels: Record<string, string>) => (): unknown => ({ apiVersion: "v1", kind: "ConfigMap", metadata: { name: "defaults", namespace: "team-a", uid: "cm-uid-7", labels } });
    const synced = gpol(true);
    expect(synced.generates?.(resourceInput(deleted, { operation: "DELETE", object: null, oldObject: deleted }))).toBe(true);
    expect(synced.evaluate(deletion, { resolver: live({ "generate.kyverno.io/policy-name": "defaults", "generate.kyverno.io/trigger-uid": "ns-uid-1" }) } as never)).toMatchObject([
      { effect: "violation", resource: "ConfigMap/team-a/defaults", remediation: [{ action: "kubernetes.delete", params: { apiVersion: "v1", kind: "ConfigMap", namespace: "team-a", name: "defaults", uid: "cm-uid-7" } }] },
    ]);
    // Another trigger's object of the same name, or someone else's: left alone (a pass in explain mode).
    expect(synced.evaluate(deletion, { resolver: live({ "generate.kyverno.io/policy-name": "defaults", "generate.kyverno.io/trigger-uid": "ns-uid-2" }) } as never)).toEqual([]);
    expect(synced.evaluate(deletion, { resolver: live({}), includePasses: true } as never).map((f) => f.effect)).toEqual(["pass"]);
    // Already gone: nothing.
    expect(synced.evaluate(deletion, { resolver: () => new UnresolvedContext("404 not found") } as never)).toEqual([]);
    const unsynced = gpol(false);
    expect(unsynced.generates?.(resourceInput(deleted, { operation: "DELETE", object: null, oldObject: deleted }))).toBe(false);
    expect(unsynced.evaluate(deletion, { resolver: live({ "generate.kyverno.io/policy-name": "defaults" }) } as never)).toEqual([]);
  });
});

describe("generate triggers: a deleted generated object of a synchronized rule is re-created", () => {
  const policyText = (synchronize: boolean) => `apiVersion: kyverno.io/v1
kind: ClusterPolicy
metadata:
  name: quota
spec:
  rules:
  - name: default-quota
    match:
      any:
      - resources:
          kinds: [Namespace]
    exclude:
      any:
      - resources:
          selector:
            matchLabels:
              quota: none
    generate:
      synchronize: ${synchronize}
      apiVersion: v1
      kind: ResourceQuota
      name: default
      namespace: "{{request.object.metadata.name}}"
      data:
        spec:
          hard:
            pods: "10"
`;
  const labels = (overrides: Record<string, string> = {}) => ({
    "app.kubernetes.io/managed-by": "kyverno", "generate.kyverno.io/policy-name": "quota", "generate.kyverno.io/policy-namespace": "", "generate.kyverno.io/rule-name": "default-quota",
    "generate.kyverno.io/trigger-group": "", "generate.kyverno.io/trigger-version": "v1", "generate.kyverno.io/trigger-kind": "Namespace", "generate.kyverno.io/trigger-namespace": "", "generate.kyverno.io/trigger-uid": "ns-uid-1", ...overrides,
  });
  const quota = (labelSet: Record<string, string>) => ({ apiVersion: "v1", kind: "ResourceQuota", metadata: { name: "default", namespace: "team-a", uid: "q-1", labels: labelSet }, spec: { hard: { pods: "10" } } });
  const deleted = (object: Record<string, unknown>) => resourceInput(object, { operation: "DELETE", object: null, oldObject: object });
  /** The dev.vigil.generate event of the deletion's AdmissionReview. */
  const context = (input: ReturnType<typeof resourceInput>) => reviewEvent("r1", "ResourceQuota", "DELETE", "team-a", "default", null, input.oldObject);
  const cluster = (namespaceLabels: Record<string, string> = {}) => {
    const asked: string[] = [];
    const resolver = (request: ExternalContextRequest): unknown => {
      const path = String(request.spec["urlPath"]);
      asked.push(path);
      if (path === "/api/v1/namespaces") return { kind: "NamespaceList", apiVersion: "v1", items: [{ metadata: { name: "other", uid: "ns-uid-2" } }, { metadata: { name: "team-a", uid: "ns-uid-1", labels: namespaceLabels } }] };
      if (path === "/api/v1/namespaces/team-a/resourcequotas/default") return new UnresolvedContext(`GET ${path}: 404 Not Found`);
      return new UnresolvedContext(`GET ${path}: unexpected`);
    };
    return { asked, resolver };
  };

  it("a trigger updated out of a synchronized rule (now excluded) deletes what the rule generated for it; still selected, or without synchronize, nothing is deleted", () => {
    const before = { apiVersion: "v1", kind: "Namespace", metadata: { name: "team-a", uid: "ns-uid-1" } };
    const after = { ...before, metadata: { ...before.metadata, labels: { quota: "none" } } };
    const update = (object: Record<string, unknown>) => reviewEvent("r3", "Namespace", "UPDATE", "team-a", "team-a", object, before);
    const resolver = (request: ExternalContextRequest): unknown => {
      const path = String(request.spec["urlPath"]);
      if (path === "/api/v1/namespaces/team-a/resourcequotas/default") return quota(labels());
      return new UnresolvedContext(`GET ${path}: unexpected`);
    };
    const policy = load(policyText(true));
    expect(policy.generates?.(resourceInput(after, { operation: "UPDATE", oldObject: before }))).toBe(true);
    const findings = policy.evaluate(update(after), { resolver } as never);
    expect(findings.map((f) => [f.effect, f.resource, f.message])).toEqual([["violation", "ResourceQuota/team-a/default", "default-quota: delete ResourceQuota/team-a/default: its trigger no longer matches the rule and the rule synchronizes"]]);
    expect(findings[0]?.remediation?.[0]).toMatchObject({ action: "kubernetes.delete", params: { apiVersion: "v1", kind: "ResourceQuota", namespace: "team-a", name: "default", uid: "q-1" } });
    // Still selected (another label): the object exists, nothing to do.
    const relabelled = { ...before, metadata: { ...before.metadata, labels: { team: "a" } } };
    expect(policy.evaluate(update(relabelled), { resolver } as never)).toEqual([]);
    // Without synchronize the object stays.
    const unsynced = load(policyText(false));
    expect(unsynced.evaluate(update(after), { resolver } as never)).toEqual([]);
  });

  it("a GeneratingPolicy with synchronize deletes its objects when an update of the trigger takes it out of the policy (matchConditions)", () => {
    const policy = load(`apiVersion: policies.kyverno.io/v1
kind: GeneratingPolicy
metadata:
  name: quota
spec:
  evaluation:
    synchronize:
      enabled: true
  matchConstraints:
    resourceRules:
    - apiGroups: [""]
      apiVersions: [v1]
      operations: [CREATE]
      resources: [namespaces]
  matchConditions:
  - name: wants-quota
    expression: "!has(object.metadata.labels) || !('quota' in object.metadata.labels) || object.metadata.labels['quota'] != 'none'"
  generate:
  - expression: >-
      generator.Apply(object.metadata.name, [{"kind": dyn("ResourceQuota"), "apiVersion": dyn("v1"), "metadata": dyn({"name": "default"}), "spec": dyn({"hard": dyn({"pods": "10"})})}])
`);
    const before = { apiVersion: "v1", kind: "Namespace", metadata: { name: "team-a", uid: "ns-uid-1" } };
    const after = { ...before, metadata: { ...before.metadata, labels: { quota: "none" } } };
    const ctx = reviewEvent("r4", "Namespace", "UPDATE", "team-a", "team-a", after, before);
    const gpolLabels = labels();
    delete (gpolLabels as Record<string, string>)["generate.kyverno.io/rule-name"];
    const resolver = (request: ExternalContextRequest): unknown => String(request.spec["urlPath"]) === "/api/v1/namespaces/team-a/resourcequotas/default" ? quota(gpolLabels) : new UnresolvedContext("unexpected");
    // The update matches no operation of the policy (CREATE only): handed over because the old object, as a creation, did.
    expect(policy.generates?.(resourceInput(after, { operation: "UPDATE", oldObject: before }))).toBe(true);
    expect(policy.evaluate(ctx, { resolver } as never).map((f) => [f.effect, f.resource, f.message])).toEqual([["violation", "ResourceQuota/team-a/default", "quota: delete ResourceQuota/team-a/default: its trigger no longer matches the policy and the rule synchronizes"]]);
  });

  it("names the kinds its synchronized rules generate, for the policy-update sweep; none without synchronize", () => {
    expect(load(policyText(true)).synchronizedDownstream).toEqual({ kinds: [{ kind: "v1/ResourceQuota" }], labelSelector: "generate.kyverno.io/policy-name=quota" });
    expect(load(policyText(false)).synchronizedDownstream).toBeUndefined();
    // A kind chosen by a variable is not known before a trigger.
    expect(load(policyText(true).replace("kind: ResourceQuota", "kind: \"{{request.object.metadata.labels.kind}}\"")).synchronizedDownstream).toBeUndefined();
  });

  it("finds the live trigger by its uid label and plans the object's creation again", () => {
    const policy = load(policyText(true));
    const input = deleted(quota(labels()));
    expect(policy.generates?.(input)).toBe(true);
    const { asked, resolver } = cluster();
    const findings = policy.evaluate(context(input), { resolver } as never);
    expect(asked).toEqual(["/api/v1/namespaces", "/api/v1/namespaces/team-a/resourcequotas/default"]);
    expect(findings.map((f) => [f.effect, f.resource, f.message])).toEqual([["violation", "ResourceQuota/team-a/default", "default-quota: re-create ResourceQuota/team-a/default: it was deleted, and the rule synchronizes it for its trigger Namespace team-a"]]);
    expect(findings[0]?.remediation?.[0]).toMatchObject({ action: "kubernetes.create", params: { manifest: { kind: "ResourceQuota", metadata: { name: "default", namespace: "team-a", labels: { "generate.kyverno.io/trigger-uid": "ns-uid-1" } }, spec: { hard: { pods: "10" } } } } });
  });

  it("plans nothing when the rule no longer generates it for its trigger (now excluded), or the trigger is gone; says why in explain mode", () => {
    const policy = load(policyText(true));
    const input = deleted(quota(labels()));
    expect(policy.evaluate(context(input), { resolver: cluster({ quota: "none" }).resolver } as never)).toEqual([]);
    const explained = policy.evaluate(context(input), { resolver: cluster({ quota: "none" }).resolver, includePasses: true } as never);
    expect(explained.map((f) => [f.effect, f.message])).toEqual([["pass", "default-quota: ResourceQuota/team-a/default was deleted; the rule no longer generates it for its trigger Namespace team-a, so it is not re-created"]]);
    const gone = deleted(quota(labels({ "generate.kyverno.io/trigger-uid": "ns-uid-9" })));
    expect(policy.evaluate(context(gone), { resolver: cluster().resolver } as never)).toEqual([]);
    expect(policy.evaluate(context(gone), { resolver: cluster().resolver, includePasses: true } as never).map((f) => f.message)).toEqual(["default-quota: ResourceQuota/team-a/default was deleted; its Namespace trigger (uid ns-uid-9) no longer exists, so it is not re-created"]);
  });

  it("a GeneratingPolicy with synchronize re-creates its deleted object the same way (its labels name no rule)", () => {
    const gpol = (enabled: boolean) => load(`apiVersion: policies.kyverno.io/v1
kind: GeneratingPolicy
metadata:
  name: quota
spec:
  evaluation:
    synchronize:
      enabled: ${enabled}
  matchConstraints:
    resourceRules:
    - apiGroups: [""]
      apiVersions: [v1]
      operations: [CREATE]
      resources: [namespaces]
  generate:
  - expression: >-
      generator.Apply(object.metadata.name, [{
        "kind": dyn("ResourceQuota"),
        "apiVersion": dyn("v1"),
        "metadata": dyn({"name": "default"}),
        "spec": dyn({"hard": dyn({"pods": "10"})})
      }])
`);
    const gpolLabels = labels();
    delete (gpolLabels as Record<string, string>)["generate.kyverno.io/rule-name"];
    const input = deleted(quota(gpolLabels));
    const policy = gpol(true);
    expect(policy.generates?.(input)).toBe(true);
    const findings = policy.evaluate(context(input), { resolver: cluster().resolver } as never);
    expect(findings.map((f) => [f.effect, f.resource, f.message])).toEqual([["violation", "ResourceQuota/team-a/default", "quota: re-create ResourceQuota/team-a/default: it was deleted, and the rule synchronizes it for its trigger Namespace team-a"]]);
    expect(findings[0]?.remediation?.[0]).toMatchObject({ action: "kubernetes.create", params: { manifest: { metadata: { namespace: "team-a", labels: { "generate.kyverno.io/policy-name": "quota", "generate.kyverno.io/trigger-uid": "ns-uid-1" } } } } });
    expect(gpol(false).generates?.(input)).toBe(false);
    // Its kinds come from CEL: the policy-update sweep lists the kinds its creates made.
    expect(policy.synchronizedDownstream).toEqual({ kinds: [], labelSelector: "generate.kyverno.io/policy-name=quota", createdKinds: true });
    expect(gpol(false).synchronizedDownstream).toBeUndefined();
  });

  it("a modified generated object is reverted to what the rule generates: a kubernetes.patch of the live object, tested against its resourceVersion; one that matches plans nothing", () => {
    const policy = load(policyText(true));
    // The review of the change came first; the live object (read while deciding) holds it, plus a field the rule does not generate.
    const changed = { ...quota(labels()), spec: { hard: { pods: "50" } } };
    const updated = resourceInput(changed, { operation: "UPDATE", oldObject: quota(labels()) });
    expect(policy.generates?.(updated)).toBe(true);
    const liveChanged = { ...changed, metadata: { ...changed.metadata, resourceVersion: "7", labels: { ...labels(), team: "a" } }, spec: { hard: { pods: "50" }, scopes: ["BestEffort"] } };
    let live: Record<string, unknown> = liveChanged;
    const asked: string[] = [];
    const resolver = (request: ExternalContextRequest): unknown => {
      const path = String(request.spec["urlPath"]);
      asked.push(path);
      if (path === "/api/v1/namespaces") return { kind: "NamespaceList", apiVersion: "v1", items: [{ metadata: { name: "team-a", uid: "ns-uid-1" } }] };
      if (path === "/api/v1/namespaces/team-a/resourcequotas/default") return live;
      return new UnresolvedContext(`GET ${path}: unexpected`);
    };
    const review = (input: ReturnType<typeof resourceInput>) => reviewEvent("r2", "ResourceQuota", "UPDATE", "team-a", "default", input.object, input.oldObject);
    const findings = policy.evaluate(review(updated), { resolver } as never);
    expect(asked).toEqual(["/api/v1/namespaces", "/api/v1/namespaces/team-a/resourcequotas/default"]);
    expect(findings.map((f) => [f.effect, f.resource, f.message])).toEqual([["violation", "ResourceQuota/team-a/default", "default-quota: revert ResourceQuota/team-a/default: it was modified, and the rule synchronizes it for its trigger Namespace team-a (2 changes)"]]);
    expect(findings[0]?.remediation?.[0]).toEqual({
      action: "kubernetes.patch",
      params: { apiVersion: "v1", kind: "ResourceQuota", namespace: "team-a", name: "default", resourceVersion: "7", patch: [{ op: "remove", path: "/spec/scopes" }, { op: "replace", path: "/spec/hard/pods", value: "10" }] },
      target: JSON.stringify("ResourceQuota/team-a/default"),
      targetLabels: { ...labels(), team: "a" },
    });
    // After the revert: the update it makes comes back, and matches.
    live = { ...liveChanged, spec: { hard: { pods: "10" } } };
    expect(policy.evaluate(review(resourceInput(live, { operation: "UPDATE", oldObject: liveChanged })), { resolver } as never)).toEqual([]);
    expect(policy.evaluate(review(resourceInput(live, { operation: "UPDATE", oldObject: liveChanged })), { resolver, includePasses: true } as never).map((f) => [f.effect, f.message])).toEqual([["pass", "ResourceQuota/team-a/default matches what the rule generates"]]);
    // Without synchronize, an update of the generated object is nobody's business.
    expect(load(policyText(false)).generates?.(updated)).toBe(false);
  });

  it("an object without a trigger-uid label is an error finding (the trigger cannot be told); another policy's object, or a rule without synchronize, triggers nothing", () => {
    const policy = load(policyText(true));
    const noUid = labels();
    delete (noUid as Record<string, string>)["generate.kyverno.io/trigger-uid"];
    const findings = policy.evaluate(context(deleted(quota(noUid))), { resolver: cluster().resolver } as never);
    expect(findings.map((f) => [f.effect, f.message])).toEqual([["error", "default-quota: ResourceQuota/team-a/default was deleted and the rule synchronizes, but its generate.kyverno.io/trigger-uid label is missing, so its Namespace trigger cannot be told apart; it is not re-created"]]);
    expect(policy.generates?.(deleted(quota(labels({ "generate.kyverno.io/policy-name": "someone-else" }))))).toBe(false);
    expect(load(policyText(false)).generates?.(deleted(quota(labels())))).toBe(false);
  });
});

describe("generate triggers: a synchronized clone source changed", () => {
  const policy = () => load(rule(`      apiVersion: v1
      kind: ConfigMap
      name: defaults
      namespace: "{{request.object.metadata.name}}"
      synchronize: true
      clone:
        namespace: platform
        name: defaults
`));
  const source = (mode: string) => ({ apiVersion: "v1", kind: "ConfigMap", metadata: { name: "defaults", namespace: "platform", uid: "src-1", resourceVersion: "4" }, data: { mode } });
  const copyLabels = cloneLabels("ConfigMap", "platform", "defaults", "src-1");
  const copy = { metadata: { name: "defaults", namespace: "team-a", uid: "copy-1", resourceVersion: "9", labels: copyLabels }, data: { mode: "strict" } };
  const review = (operation: "UPDATE" | "DELETE", object: Record<string, unknown> | null, oldObject: Record<string, unknown>) => reviewEvent("r5", "ConfigMap", operation, "platform", "defaults", object, oldObject);
  const cluster = (current: Record<string, unknown> | undefined) => {
    const asked: string[] = [];
    const resolver = (request: ExternalContextRequest): unknown => {
      const path = String(request.spec["urlPath"]);
      asked.push(path);
      if (path.startsWith("/api/v1/configmaps?labelSelector=")) return { apiVersion: "v1", kind: "ConfigMapList", items: [copy] };
      if (path === "/api/v1/namespaces") return { apiVersion: "v1", kind: "NamespaceList", items: [{ metadata: { name: "team-a", uid: "ns-uid-1" } }] };
      if (path === "/api/v1/namespaces/platform/configmaps/defaults") return current ?? new UnresolvedContext(`GET ${path}: 404 Not Found`);
      if (path === "/api/v1/namespaces/team-a/configmaps/defaults") return { apiVersion: "v1", kind: "ConfigMap", ...copy };
      return new UnresolvedContext(`GET ${path}: unexpected`);
    };
    return { asked, resolver };
  };

  it("a modified source: each copy (listed by the policy's and rule's labels) is patched to the source's new data", () => {
    const changed = source("relaxed");
    expect(policy().generates?.(resourceInput(changed, { operation: "UPDATE", oldObject: source("strict") }))).toBe(true);
    const { asked, resolver } = cluster(changed);
    const findings = policy().evaluate(review("UPDATE", changed, source("strict")), { resolver } as never);
    expect(asked[0]).toBe(`/api/v1/configmaps?labelSelector=${encodeURIComponent("generate.kyverno.io/policy-name=copy-config,generate.kyverno.io/rule-name=copy")}`);
    expect(findings.map((f) => [f.effect, f.resource, f.message])).toEqual([["violation", "ConfigMap/team-a/defaults", "copy: revert ConfigMap/team-a/defaults: its clone source ConfigMap/platform/defaults was modified, and the rule synchronizes it for its trigger Namespace team-a (1 change)"]]);
    expect(findings[0]?.remediation?.[0]).toMatchObject({ action: "kubernetes.patch", params: { namespace: "team-a", name: "defaults", resourceVersion: "9", patch: [{ op: "replace", path: "/data/mode", value: "relaxed" }] } });
    // Another object of that kind is nobody's source.
    expect(policy().generates?.(resourceInput({ ...changed, metadata: { ...changed.metadata, name: "other" } }, { operation: "UPDATE", oldObject: source("strict") }))).toBe(false);
  });

  it("a deleted source: each copy is deleted, with its uid as precondition", () => {
    const { resolver } = cluster(undefined);
    const findings = policy().evaluate(review("DELETE", null, source("strict")), { resolver } as never);
    expect(findings.map((f) => [f.effect, f.resource, f.message])).toEqual([["violation", "ConfigMap/team-a/defaults", "copy: delete ConfigMap/team-a/defaults: its clone source ConfigMap/platform/defaults was deleted and the rule synchronizes"]]);
    expect(findings[0]?.remediation?.[0]).toMatchObject({ action: "kubernetes.delete", params: { kind: "ConfigMap", namespace: "team-a", name: "defaults", uid: "copy-1" } });
  });
});

describe("generate triggers: a synchronized Secret copy (sync-secrets), brought back without its data in any finding", () => {
  const policy = () => load(syncSecrets);
  const SOURCE_DATA = "c291cmNlLW5ldw==";
  const COPY_DATA = "Y29weS1vbGQ=";
  const source = (data: string) => ({ apiVersion: "v1", kind: "Secret", type: "kubernetes.io/dockerconfigjson", metadata: { name: "regcred", namespace: "default", uid: "src-uid-1", resourceVersion: "3" }, data: { ".dockerconfigjson": data } });
  const copyLabels = cloneLabels("Secret", "default", "regcred", "src-uid-1");
  const copy = (data: string, labels: Record<string, string> = copyLabels) => ({ apiVersion: "v1", kind: "Secret", type: "kubernetes.io/dockerconfigjson", metadata: { name: "regcred", namespace: "team-a", uid: "copy-1", resourceVersion: "9", labels }, data: { ".dockerconfigjson": data } });
  const cluster = (live: { source: Record<string, unknown>; copy: Record<string, unknown> }) => (request: ExternalContextRequest): unknown => {
    const path = String(request.spec["urlPath"]);
    if (path.startsWith("/api/v1/secrets?labelSelector=")) return { apiVersion: "v1", kind: "SecretList", items: [live.copy] };
    if (path === "/api/v1/namespaces") return { apiVersion: "v1", kind: "NamespaceList", items: [{ metadata: { name: "team-a", uid: "ns-uid-1" } }] };
    if (path === "/api/v1/namespaces/default/secrets/regcred") return live.source;
    if (path === "/api/v1/namespaces/team-a/secrets/regcred") return live.copy;
    return new UnresolvedContext(`GET ${path}: unexpected`);
  };
  const copyFrom = { namespace: "default", name: "regcred", uid: "src-uid-1" };

  it("a modified source: the copy is planned as a kubernetes.patch with copyFrom (the data copied when it applies), tested against the copy's resourceVersion", () => {
    const resolver = cluster({ source: source(SOURCE_DATA), copy: copy(COPY_DATA) });
    const findings = policy().evaluate(reviewEvent("r6", "Secret", "UPDATE", "default", "regcred", source(SOURCE_DATA), source(COPY_DATA)), { resolver } as never);
    expect(findings.map((f) => [f.effect, f.resource, f.message])).toEqual([["violation", "Secret/team-a/regcred", "copy: revert Secret/team-a/regcred: its clone source Secret/default/regcred was modified, and the rule synchronizes it for its trigger Namespace team-a (its content differs from Secret/default/regcred's, copied again when the patch applies (values not shown))"]]);
    expect(findings[0]?.remediation?.[0]).toEqual({
      action: "kubernetes.patch",
      params: { apiVersion: "v1", kind: "Secret", namespace: "team-a", name: "regcred", copyFrom, resourceVersion: "9" },
      target: JSON.stringify("Secret/team-a/regcred"),
      targetLabels: copyLabels,
    });
    // The review of the source carries its data (mask it in the decision record); nothing Vigil derives from it does.
    expect(JSON.stringify(findings)).not.toMatch(new RegExp(`${SOURCE_DATA}|${COPY_DATA}`));
  });

  it("a modified copy: its data is copied again from the source; a label change alone is a plain patch; a copy that matches plans nothing", () => {
    const tampered = copy("dGFtcGVyZWQ=");
    const review = (object: Record<string, unknown>) => reviewEvent("r7", "Secret", "UPDATE", "team-a", "regcred", object, copy(SOURCE_DATA));
    const findings = policy().evaluate(review(tampered), { resolver: cluster({ source: source(SOURCE_DATA), copy: tampered }) } as never);
    expect(findings.map((f) => f.effect)).toEqual(["violation"]);
    expect(findings[0]?.remediation?.[0]?.params).toEqual({ apiVersion: "v1", kind: "Secret", namespace: "team-a", name: "regcred", copyFrom, resourceVersion: "9" });
    expect(JSON.stringify(findings)).not.toContain("dGFtcGVyZWQ=");
    // A Kyverno label removed: the data still matches, so only the label comes back.
    const { "app.kubernetes.io/managed-by": _gone, ...fewer } = copyLabels;
    const relabelled = copy(SOURCE_DATA, fewer);
    const labelOnly = policy().evaluate(review(relabelled), { resolver: cluster({ source: source(SOURCE_DATA), copy: relabelled }) } as never);
    expect(labelOnly[0]?.remediation?.[0]?.params).toEqual({ apiVersion: "v1", kind: "Secret", namespace: "team-a", name: "regcred", patch: [{ op: "add", path: "/metadata/labels/app.kubernetes.io~1managed-by", value: "kyverno" }], resourceVersion: "9" });
    const same = copy(SOURCE_DATA);
    expect(policy().evaluate(review(same), { resolver: cluster({ source: source(SOURCE_DATA), copy: same }) } as never)).toEqual([]);
  });

  it("a Secret the rule writes itself (data, not a clone), modified: an error finding, no patch (it would carry the data)", () => {
    const written = load(rule(`      apiVersion: v1
      kind: Secret
      name: regcred
      namespace: "{{request.object.metadata.name}}"
      synchronize: true
      data:
        data:
          token: c2VjcmV0
`));
    const { "generate.kyverno.io/clone-source": _c, "generate.kyverno.io/source-group": _g, "generate.kyverno.io/source-version": _v, "generate.kyverno.io/source-kind": _k, "generate.kyverno.io/source-namespace": _n, "generate.kyverno.io/source-uid": _u, "generate.kyverno.io/source-name": _s, ...plain } = copyLabels;
    const changed = { ...copy(COPY_DATA, plain), data: { token: "dGFtcGVyZWQ=" } };
    const findings = written.evaluate(reviewEvent("r8", "Secret", "UPDATE", "team-a", "regcred", changed, copy(COPY_DATA, plain)), { resolver: cluster({ source: source(SOURCE_DATA), copy: changed }) } as never);
    expect(findings.map((f) => [f.effect, f.message])).toEqual([["error", "copy: Secret/team-a/regcred is a Secret the rule writes itself, not a copy of another: Vigil does not revert it (the action record would hold its data)"]]);
    expect(findings[0]?.remediation).toBeUndefined();
  });
});

describe("generate triggers: a synchronized cloneList source changed", () => {
  const policy = () => load(rule(`      namespace: "{{request.object.metadata.name}}"
      synchronize: true
      cloneList:
        namespace: platform
        kinds: [v1/ConfigMap]
        selector:
          matchLabels:
            sync: "true"
`));
  const source = (name: string, mode: string, labels: Record<string, string> = { sync: "true" }) => ({ apiVersion: "v1", kind: "ConfigMap", metadata: { name, namespace: "platform", uid: `src-${name}`, resourceVersion: "4", labels }, data: { mode } });
  const copy = (name: string, mode: string) => ({ apiVersion: "v1", kind: "ConfigMap", metadata: { name, namespace: "team-a", uid: `copy-${name}`, resourceVersion: "9", labels: { ...cloneLabels("ConfigMap", "platform", name, `src-${name}`), sync: "true" } }, data: { mode } });
  const cluster = (sources: Record<string, unknown>[]) => {
    const asked: string[] = [];
    const resolver = (request: ExternalContextRequest): unknown => {
      const path = String(request.spec["urlPath"]);
      asked.push(path);
      if (path.startsWith("/api/v1/configmaps?labelSelector=")) return { apiVersion: "v1", kind: "ConfigMapList", items: [copy("defaults", "strict"), copy("limits", "low")] };
      if (path === "/api/v1/namespaces") return { apiVersion: "v1", kind: "NamespaceList", items: [{ metadata: { name: "team-a", uid: "ns-uid-1" } }] };
      if (path.startsWith("/api/v1/namespaces/platform/configmaps")) return { apiVersion: "v1", kind: "ConfigMapList", items: sources };
      if (path === "/api/v1/namespaces/team-a/configmaps/defaults") return copy("defaults", "strict");
      if (path === "/api/v1/namespaces/team-a/configmaps/limits") return copy("limits", "low");
      return new UnresolvedContext(`GET ${path}: unexpected`);
    };
    return { asked, resolver };
  };
  const review = (operation: "UPDATE" | "DELETE", name: string, object: Record<string, unknown> | null, oldObject: Record<string, unknown>) => reviewEvent("r9", "ConfigMap", operation, "platform", name, object, oldObject);

  it("a modified source selected by the list: only its own copy (by its source labels) is patched to the new data", () => {
    const changed = source("defaults", "relaxed");
    expect(policy().generates?.(resourceInput(changed, { operation: "UPDATE", oldObject: source("defaults", "strict") }))).toBe(true);
    const { resolver } = cluster([changed, source("limits", "low")]);
    const findings = policy().evaluate(review("UPDATE", "defaults", changed, source("defaults", "strict")), { resolver } as never);
    expect(findings.map((f) => [f.effect, f.resource, f.message])).toEqual([["violation", "ConfigMap/team-a/defaults", "copy: revert ConfigMap/team-a/defaults: its clone source ConfigMap/platform/defaults was modified, and the rule synchronizes it for its trigger Namespace team-a (1 change)"]]);
    expect(findings[0]?.remediation?.[0]).toMatchObject({ action: "kubernetes.patch", params: { namespace: "team-a", name: "defaults", resourceVersion: "9", patch: [{ op: "replace", path: "/data/mode", value: "relaxed" }] } });
    // An object of the kind the selector does not select, before or after, is nobody's source; one that loses the label still is.
    expect(policy().generates?.(resourceInput(source("misc", "x", {}), { operation: "UPDATE", oldObject: source("misc", "y", {}) }))).toBe(false);
    expect(policy().generates?.(resourceInput(source("defaults", "x", {}), { operation: "UPDATE", oldObject: source("defaults", "strict") }))).toBe(true);
  });

  it("a deleted source: its copy is deleted with its uid as precondition; the other copies stay", () => {
    const { resolver } = cluster([source("limits", "low")]);
    const findings = policy().evaluate(review("DELETE", "defaults", null, source("defaults", "strict")), { resolver } as never);
    expect(findings.map((f) => [f.effect, f.resource, f.message])).toEqual([["violation", "ConfigMap/team-a/defaults", "copy: delete ConfigMap/team-a/defaults: its clone source ConfigMap/platform/defaults was deleted and the rule synchronizes"]]);
    expect(findings[0]?.remediation?.[0]).toMatchObject({ action: "kubernetes.delete", params: { kind: "ConfigMap", namespace: "team-a", name: "defaults", uid: "copy-defaults" } });
  });
});
