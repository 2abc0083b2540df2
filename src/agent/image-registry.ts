/**
 * The image registry the Kyverno verifyImages / imageRegistry lookups read
 * (`admission.registries`), with Cosign keys held in AWS KMS fetched for its signature checks
 * (`admission.kms.aws`). One place for the agent and `vigil scan`, so both verify alike.
 */
import type { ImageRegistry } from "../core/context.js";
import type { VigilConfig } from "../config.js";
import { createAwsKmsKeySource, withKmsKeys } from "../context/kubernetes/kms.js";
import { createRegistryClient } from "../context/kubernetes/registry-client.js";

/** Undefined when `admission.registries.enabled` is false. */
export function openImageRegistry(config: Pick<VigilConfig, "admission">): ImageRegistry | undefined {
  const registries = config.admission.registries;
  if (!registries.enabled) return undefined;
  const kms = config.admission.kms.aws;
  return withKmsKeys(createRegistryClient(registries), kms === undefined ? undefined : createAwsKmsKeySource(kms));
}
