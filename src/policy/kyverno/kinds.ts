/**
 * Which built-in Kubernetes kinds are cluster-scoped: every other kind is namespaced (custom
 * resources included). Where an object, a target or a parameter resource names no namespace, this
 * decides whether it gets one (the request's, or `default`).
 */
const clusterScoped: ReadonlySet<string> = new Set([
  "Namespace", "Node", "PersistentVolume", "ClusterRole", "ClusterRoleBinding", "StorageClass", "CSIDriver", "CSINode",
  "CustomResourceDefinition", "APIService", "PriorityClass", "RuntimeClass", "IngressClass", "VolumeAttachment",
  "MutatingWebhookConfiguration", "ValidatingWebhookConfiguration", "ValidatingAdmissionPolicy", "ValidatingAdmissionPolicyBinding",
  "MutatingAdmissionPolicy", "MutatingAdmissionPolicyBinding", "CertificateSigningRequest", "FlowSchema", "PriorityLevelConfiguration",
  "ClusterPolicy", "ClusterPolicyReport", "ClusterCleanupPolicy", "ComponentStatus",
]);

/** True for the built-in cluster-scoped kinds. */
export function isClusterScopedKind(kind: string): boolean {
  return clusterScoped.has(kind);
}
