import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { formatLintWarning, lintPolicies } from "./lint.js";

const roots: string[] = [];
afterAll(() => { for (const root of roots) rmSync(root, { recursive: true, force: true }); });
function tree(files: Record<string, string>): string {
  const root = mkdtempSync(join(tmpdir(), "vigil-lint-"));
  roots.push(root);
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(join(root, path, ".."), { recursive: true });
    writeFileSync(join(root, path), text);
  }
  return root;
}

describe("lintPolicies", () => {
  it("the fixture policies are clean", () => {
    const result = lintPolicies("test/fixtures/policies");
    expect(result.errors).toEqual([]);
    expect(result.warnings.map(formatLintWarning)).toEqual([]);
    expect(result.policies).toBe(6);
  });

  it("warns about missing tests, unused variables, no `on`, static messages and constant conditions", () => {
    const root = tree({
      "p.yaml": `apiVersion: vigil.dev/v1
kind: Policy
metadata: { name: sloppy }
spec:
  variables:
    - name: unused
      expression: "1"
    - name: used
      expression: "2"
    - name: forLater
      expression: "3"
  rules:
    - name: a
      condition: variables.used > 1
    - name: b
      condition: "true"
      message: a fixed message
  remediation:
    - action: webhook
      params: { n: "{{ variables.forLater }}" }
`,
      "broken.yaml": "apiVersion: vigil.dev/v1\nkind: Policy\nmetadata: { name: broken }\nspec: { rules: [] }\n",
    });
    const result = lintPolicies(root);
    expect(result.errors).toHaveLength(1);
    expect(result.warnings.map((w) => [w.code, w.field ?? ""])).toEqual([
      ["no-tests", ""],
      ["no-on", "spec.on"],
      ["unused-variable", "spec.variables[0]"],
      ["static-message", "spec.rules[0].message"],
      ["static-message", "spec.rules[1].message"],
      ["constant-condition", "spec.rules[1].condition"],
    ]);
    expect(formatLintWarning(result.warnings[2] as never)).toBe(`${join(root, "p.yaml")}: policy "sloppy": spec.variables[0]: variable "unused" is not used by any expression or message; remove it or use it [unused-variable]`);
  });

  it("a PolicyTest file covering the policy satisfies no-tests", () => {
    const root = tree({
      "policies/p.yaml": "apiVersion: vigil.dev/v1\nkind: Policy\nmetadata: { name: p }\nspec:\n  on: [x]\n  rules: [{ name: r, condition: a == 1, message: \"a is {{ a }}\" }]\n",
      "tests/p.test.yaml": "apiVersion: vigil.dev/v1\nkind: PolicyTest\nmetadata: { name: t }\nspec:\n  policies: [../policies]\n  cases: []\n",
    });
    expect(lintPolicies(root).warnings).toEqual([]);
  });

  it("warns about a Kyverno PolicyException that excepts nothing: an unknown policy, a rule name matching no rule", () => {
    const root = tree({
      "policy.yaml": "apiVersion: kyverno.io/v1\nkind: ClusterPolicy\nmetadata: { name: require-team }\nspec:\n  rules:\n  - name: team\n    match: { any: [{ resources: { kinds: [Pod] } }] }\n    validate: { pattern: { metadata: { labels: { team: \"?*\" } } } }\n",
      "exceptions.yaml": [
        "apiVersion: kyverno.io/v2\nkind: PolicyException\nmetadata: { name: ok, namespace: ops }\nspec:\n  exceptions: [{ policyName: require-team, ruleNames: [team, \"autogen-*\"] }]\n  match: { any: [{ resources: { names: [\"tool-*\"] } }] }\n",
        "apiVersion: kyverno.io/v2\nkind: PolicyException\nmetadata: { name: typos, namespace: ops }\nspec:\n  exceptions: [{ policyName: require-teem, ruleNames: [team] }, { policyName: require-team, ruleNames: [taem] }]\n  match: { any: [{ resources: { names: [\"tool-*\"] } }] }\n",
      ].join("---\n"),
    });
    const result = lintPolicies(root);
    expect(result.errors).toEqual([]);
    expect(result.warnings.map((w) => [w.code, w.policy, w.field])).toEqual([
      ["exception-no-match", "typos", "spec.exceptions[0].policyName"],
      ["exception-no-match", "typos", "spec.exceptions[1].ruleNames[0]"],
    ]);
    expect(formatLintWarning(result.warnings[1] as never)).toBe(`${join(root, "exceptions.yaml")}: PolicyException "typos": spec.exceptions[1].ruleNames[0]: rule "taem" matches no rule of policy "require-team" (its rules: team, autogen-team, autogen-cronjob-team), so it excepts nothing [exception-no-match]`);
  });

  it("cluster-actions: a cleanup policy or a mutate-existing rule that cannot act with the configuration", () => {
    const root = tree({
      "cleanup.yaml": `apiVersion: kyverno.io/v2
kind: ClusterCleanupPolicy
metadata:
  name: bare-pods
spec:
  schedule: "*/5 * * * *"
  match: {any: [{resources: {kinds: [Pod]}}]}
`,
      "existing.yaml": `apiVersion: kyverno.io/v1
kind: ClusterPolicy
metadata:
  name: label-namespaces
spec:
  rules:
  - name: label
    match: {any: [{resources: {kinds: [Namespace]}}]}
    mutate:
      targets: [{apiVersion: v1, kind: Namespace}]
      patchStrategicMerge: {metadata: {labels: {a: b}}}
`,
      "mpol.yaml": `apiVersion: policies.kyverno.io/v1
kind: MutatingPolicy
metadata:
  name: mpol-namespaces
spec:
  evaluation: {mutateExisting: {enabled: true}}
  matchConstraints: {resourceRules: [{apiGroups: [""], apiVersions: [v1], operations: [UPDATE], resources: [namespaces]}]}
  mutations: [{patchType: ApplyConfiguration, applyConfiguration: {expression: "Object{}"}}]
`,
      "generate.yaml": `apiVersion: kyverno.io/v1
kind: ClusterPolicy
metadata:
  name: netpol
spec:
  rules:
  - name: default-deny
    match: {any: [{resources: {kinds: [Namespace]}}]}
    generate: {apiVersion: networking.k8s.io/v1, kind: NetworkPolicy, name: default-deny, namespace: "{{request.object.metadata.name}}", data: {spec: {podSelector: {}}}}
`,
    });
    const codes = (clusterActions: { cluster: boolean; actuator: boolean; cleanup: boolean }) => lintPolicies(root, { clusterActions }).warnings.filter((w) => w.code === "cluster-actions").map((w) => [w.policy, w.field, w.message.split("; ").at(-1)]);
    expect(codes({ cluster: true, actuator: true, cleanup: true })).toEqual([]);
    expect(codes({ cluster: false, actuator: true, cleanup: true })).toEqual([
      ["bare-pods", "spec.schedule", "set admission.cluster"],
      ["label-namespaces", "spec.rules", "set admission.cluster"],
      ["mpol-namespaces", "spec.evaluation.mutateExisting", "set admission.cluster"],
    ]);
    expect(codes({ cluster: true, actuator: false, cleanup: false })).toEqual([
      ["bare-pods", "spec.schedule", "set cleanup.enabled: true"],
      ["bare-pods", "spec", "configure actuators.kubernetes (server, token)"],
      ["label-namespaces", "spec.rules", "configure actuators.kubernetes (server, token)"],
      ["netpol", "spec.rules", "configure actuators.kubernetes (server, token)"],
      ["mpol-namespaces", "spec.evaluation.mutateExisting", "configure actuators.kubernetes (server, token)"],
    ]);
    expect(lintPolicies(root, {}).warnings.filter((w) => w.code === "cluster-actions")).toEqual([]);
  });

  it("verify-images-trust: a verifyImages rule that cannot verify anything with the image-verification settings", () => {
    const root = mkdtempSync(join(tmpdir(), "vigil-lint-verify-"));
    writeFileSync(join(root, "images.yaml"), `apiVersion: kyverno.io/v1
kind: ClusterPolicy
metadata:
  name: signed
spec:
  rules:
  - name: check
    match: {any: [{resources: {kinds: [Pod]}}]}
    verifyImages:
    - imageReferences: ["ghcr.io/acme/*"]
      attestors:
      - entries:
        - keys:
            publicKeys: "-----BEGIN PUBLIC KEY-----\\nMFkw\\n-----END PUBLIC KEY-----"
        - keys:
            publicKeys: "-----BEGIN PUBLIC KEY-----\\nMFkw\\n-----END PUBLIC KEY-----"
            rekor: {ignoreTlog: true}
        - keyless:
            subject: "https://github.com/acme/*"
            issuer: https://token.actions.githubusercontent.com
        - keys:
            kms: gcpkms://projects/acme/locations/global/keyRings/r/cryptoKeys/k
`);
    const codes = (settings: Parameters<typeof lintPolicies>[1]) => lintPolicies(root, settings).warnings.map((w) => [w.code, w.field]);
    // registries off: one warning for the rule
    expect(codes({ verifyImages: { enabled: false } })).toEqual([["verify-images-trust", "spec.rules[0].verifyImages"]]);
    // on, with no trust material: the tlog of the first key and of the keyless entry, its roots and CT log, the KMS key
    expect(codes({ verifyImages: { enabled: true } })).toEqual([
      ["verify-images-trust", "spec.rules[0].verifyImages[0].attestors[0].entries[0].keys.rekor"],
      ["verify-images-trust", "spec.rules[0].verifyImages[0].attestors[0].entries[2].keyless.rekor"],
      ["verify-images-trust", "spec.rules[0].verifyImages[0].attestors[0].entries[2].keyless.roots"],
      ["verify-images-trust", "spec.rules[0].verifyImages[0].attestors[0].entries[2].keyless.ctlog"],
      ["verify-images-trust", "spec.rules[0].verifyImages[0].attestors[0].entries[3].keys.kms"],
    ]);
    // with the configuration's keys and roots only the KMS key is left
    expect(codes({ verifyImages: { enabled: true, rekorPublicKey: "pem", fulcioRoots: "pem", ctLogPublicKey: "pem" } })).toEqual([["verify-images-trust", "spec.rules[0].verifyImages[0].attestors[0].entries[3].keys.kms"]]);
    // without settings (the library call): not checked
    expect(codes({})).toEqual([]);
    // an AWS KMS key is verified once admission.kms.aws is set; before, the warning says to set it
    const aws = tree({ "aws.yaml": `apiVersion: kyverno.io/v1
kind: ClusterPolicy
metadata: {name: aws-signed}
spec:
  rules:
  - name: signed
    match: {any: [{resources: {kinds: [Pod]}}]}
    verifyImages:
    - imageReferences: ["ghcr.io/acme/*"]
      attestors:
      - entries:
        - keys:
            kms: awskms:///arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab
            rekor: {ignoreTlog: true}
` });
    const awsWarnings = (awsKms: boolean) => lintPolicies(aws, { verifyImages: { enabled: true, awsKms } }).warnings.map((w) => w.message);
    expect(awsWarnings(false)).toEqual([expect.stringContaining("set admission.kms.aws in vigil.yaml")]);
    expect(awsWarnings(true)).toEqual([]);
    // a Google Cloud KMS key warns only while admission.kms.gcp is not set (the other KMS settings do not count)
    const gcpWarning = (settings: { awsKms?: boolean; vault?: boolean; gcpKms?: boolean; azureKeyVault?: boolean }) => lintPolicies(root, { verifyImages: { enabled: true, rekorPublicKey: "pem", fulcioRoots: "pem", ctLogPublicKey: "pem", ...settings } }).warnings.find((w) => w.field?.endsWith("keys.kms"))?.message;
    expect(gcpWarning({ awsKms: true, vault: true, azureKeyVault: true })).toBe("the public key is read from Google Cloud KMS: set admission.kms.gcp in vigil.yaml (credentialsFile or accessToken), or the images this attestor checks report unsupported; or put the public key in keys.publicKeys");
    expect(gcpWarning({ gcpKms: true })).toBeUndefined();
    // a HashiCorp Vault key warns only while admission.kms.vault is not set (AWS KMS settings do not count)
    const vault = tree({ "vault.yaml": `apiVersion: kyverno.io/v1
kind: ClusterPolicy
metadata: {name: vault-signed}
spec:
  rules:
  - name: signed
    match: {any: [{resources: {kinds: [Pod]}}]}
    verifyImages:
    - imageReferences: ["ghcr.io/acme/*"]
      attestors:
      - entries:
        - keys:
            kms: hashivault://release
            rekor: {ignoreTlog: true}
` });
    const vaultWarnings = (settings: { awsKms?: boolean; vault?: boolean }) => lintPolicies(vault, { verifyImages: { enabled: true, ...settings } }).warnings.map((w) => [w.field, w.message]);
    expect(vaultWarnings({ awsKms: true })).toEqual([["spec.rules[0].verifyImages[0].attestors[0].entries[0].keys.kms", expect.stringContaining("the public key is read from HashiCorp Vault's transit engine: set admission.kms.vault in vigil.yaml (address, token), or the images this attestor checks report unsupported")]]);
    expect(vaultWarnings({ vault: true })).toEqual([]);
    // an Azure Key Vault key warns only while admission.kms.azure is not set
    const azure = tree({ "azure.yaml": `apiVersion: kyverno.io/v1
kind: ClusterPolicy
metadata: {name: azure-signed}
spec:
  rules:
  - name: signed
    match: {any: [{resources: {kinds: [Pod]}}]}
    verifyImages:
    - imageReferences: ["ghcr.io/acme/*"]
      attestors:
      - entries:
        - keys:
            kms: azurekms://acme.vault.azure.net/release
            rekor: {ignoreTlog: true}
` });
    const azureWarnings = (settings: { gcpKms?: boolean; azureKeyVault?: boolean }) => lintPolicies(azure, { verifyImages: { enabled: true, ...settings } }).warnings.map((w) => [w.field, w.message]);
    expect(azureWarnings({ gcpKms: true })).toEqual([["spec.rules[0].verifyImages[0].attestors[0].entries[0].keys.kms", "the public key is read from Azure Key Vault: set admission.kms.azure in vigil.yaml (tenantId, clientId, clientSecret), or the images this attestor checks report unsupported; or put the public key in keys.publicKeys"]]);
    expect(azureWarnings({ azureKeyVault: true })).toEqual([]);
  });

  it("verify-images-trust for an ImageValidatingPolicy's attestors", () => {
    const root = tree({ "ivpol.yaml": `apiVersion: policies.kyverno.io/v1
kind: ImageValidatingPolicy
metadata:
  name: signed
spec:
  matchConstraints: {resourceRules: [{apiGroups: [""], apiVersions: [v1], operations: [CREATE], resources: [pods]}]}
  attestors:
  - name: key
    cosign:
      key: {data: "-----BEGIN PUBLIC KEY-----"}
      ctlog: {insecureIgnoreTlog: true}
  - name: ci
    cosign:
      keyless:
        identities: [{issuer: "https://token.actions.githubusercontent.com", subject: "https://github.com/acme/*"}]
  validations: [{expression: "true"}]
` });
    const codes = (settings: Parameters<typeof lintPolicies>[1]) => lintPolicies(root, settings).warnings.map((w) => [w.code, w.field]);
    expect(codes({ verifyImages: { enabled: false } })).toEqual([["verify-images-trust", "spec.attestors"]]);
    expect(codes({ verifyImages: { enabled: true } })).toEqual([
      ["verify-images-trust", "spec.attestors[1].cosign.ctlog"],
      ["verify-images-trust", "spec.attestors[1].cosign.keyless.roots"],
      ["verify-images-trust", "spec.attestors[1].cosign.ctlog.ctLogPubKey"],
    ]);
    expect(codes({ verifyImages: { enabled: true, rekorPublicKey: "pem", fulcioRoots: "pem", ctLogPublicKey: "pem" } })).toEqual([]);
  });
});
