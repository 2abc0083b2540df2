/**
 * The registry of policy languages the loader knows. Each language adds ONE entry here: its plugin,
 * the `apiVersion kind` pairs it accepts (for "Vigil knows: ..." messages), and the non-YAML file
 * extensions it reads (e.g. `.cedar`), if any.
 */
import type { PolicyLanguagePlugin } from "./language.js";
import { vigilPolicyLanguage } from "./vigil/plugin.js";
import { cedarLanguage } from "./cedar/plugin.js";
import { createKyvernoLanguage, kyvernoLanguage } from "./kyverno/plugin.js";
import type { ExternalExceptionSource } from "./kyverno/policy-exception.js";
import { vapLanguage } from "./vap/plugin.js";

export interface PolicyLanguageRegistration {
  readonly plugin: PolicyLanguagePlugin;
  /** `apiVersion kind` pairs, e.g. `vigil.dev/v1 Policy`. */
  readonly kinds: readonly string[];
  /** Non-YAML file extensions (with the dot) whose files are offered to this plugin as `{ text }`. */
  readonly extensions?: readonly string[];
}

export const policyLanguages: readonly PolicyLanguageRegistration[] = [
  { plugin: vigilPolicyLanguage, kinds: ["vigil.dev/v1 Policy"] },
  { plugin: cedarLanguage, kinds: [], extensions: [".cedar", ".cedarschema"] },
  { plugin: kyvernoLanguage, kinds: ["kyverno.io/v1 ClusterPolicy", "kyverno.io/v1 Policy", "kyverno.io/v2beta1 ClusterPolicy", "kyverno.io/v2beta1 Policy", "kyverno.io/v2 ClusterCleanupPolicy", "kyverno.io/v2 CleanupPolicy", "kyverno.io/v2 PolicyException", "policies.kyverno.io/v1 ValidatingPolicy", "policies.kyverno.io/v1 NamespacedValidatingPolicy", "policies.kyverno.io/v1 MutatingPolicy", "policies.kyverno.io/v1 NamespacedMutatingPolicy", "policies.kyverno.io/v1 GeneratingPolicy", "policies.kyverno.io/v1 NamespacedGeneratingPolicy", "policies.kyverno.io/v1 ImageValidatingPolicy", "policies.kyverno.io/v1 NamespacedImageValidatingPolicy", "policies.kyverno.io/v1 DeletingPolicy", "policies.kyverno.io/v1 NamespacedDeletingPolicy", "policies.kyverno.io/v1 PolicyException", "kyverno.io/v2alpha1 GlobalContextEntry"] },
  { plugin: vapLanguage, kinds: ["admissionregistration.k8s.io/v1 ValidatingAdmissionPolicy", "admissionregistration.k8s.io/v1 ValidatingAdmissionPolicyBinding", "admissionregistration.k8s.io/v1beta1 ValidatingAdmissionPolicy", "admissionregistration.k8s.io/v1beta1 ValidatingAdmissionPolicyBinding", "admissionregistration.k8s.io/v1beta1 MutatingAdmissionPolicy", "admissionregistration.k8s.io/v1beta1 MutatingAdmissionPolicyBinding"] },
];

/** The languages, with the Kyverno plugin also reading PolicyExceptions from `exceptions` (the cluster's). */
export function policyLanguagesWith(options: { readonly exceptions: Omit<ExternalExceptionSource, "env"> }): readonly PolicyLanguageRegistration[] {
  const kyverno = createKyvernoLanguage({ exceptions: options.exceptions });
  return policyLanguages.map((registration) => (registration.plugin === kyvernoLanguage ? { ...registration, plugin: kyverno } : registration));
}

/**
 * Documents that belong next to policies but are not policies (test suites): the loader passes
 * over them silently; their runners read them.
 */
export const nonPolicyKinds: readonly string[] = ["vigil.dev/v1 PolicyTest", "cli.kyverno.io/v1alpha1 Test"];

/**
 * API groups of policy languages. In a directory scan, a document of one of these groups that no
 * plugin accepts is an error (a typo or an unsupported kind); documents of other groups (a Pod,
 * a values file) are data and are skipped.
 */
export const policyApiGroups: readonly string[] = ["vigil.dev", "kyverno.io", "policies.kyverno.io", "admissionregistration.k8s.io", "cedar-policy.com"];
