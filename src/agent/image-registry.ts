/**
 * The image registry the Kyverno verifyImages / imageRegistry lookups read
 * (`admission.registries`), with Cosign keys held in a KMS fetched for its signature checks:
 * AWS KMS (`admission.kms.aws`, awskms://) and HashiCorp Vault's transit engine
 * (`admission.kms.vault`, hashivault://). One place for the agent and `vigil scan`, so both verify alike.
 */
import type { ImageRegistry } from "../core/context.js";
import type { VigilConfig } from "../config.js";
import { composeKmsKeySources, createAwsKmsKeySource, withKmsKeys } from "../context/kubernetes/kms.js";
import { createVaultKeySource } from "../context/kubernetes/kms-vault.js";
import { createRegistryClient } from "../context/kubernetes/registry-client.js";

/** Undefined when `admission.registries.enabled` is false. */
export function openImageRegistry(config: Pick<VigilConfig, "admission">): ImageRegistry | undefined {
  const registries = config.admission.registries;
  if (!registries.enabled) return undefined;
  const { aws, vault } = config.admission.kms;
  const keys = composeKmsKeySources({
    "awskms://": aws === undefined ? undefined : createAwsKmsKeySource(aws),
    "hashivault://": vault === undefined ? undefined : createVaultKeySource(vault),
  });
  return withKmsKeys(createRegistryClient(registries), keys);
}
