/**
 * The image registry the Kyverno verifyImages / imageRegistry lookups read
 * (`admission.registries`), with Cosign keys held in a KMS fetched for its signature checks:
 * AWS KMS (`admission.kms.aws`, awskms://), HashiCorp Vault's transit engine
 * (`admission.kms.vault`, hashivault://), Google Cloud KMS (`admission.kms.gcp`, gcpkms://) and
 * Azure Key Vault (`admission.kms.azure`, azurekms://).
 * One place for the agent and `vigil scan`, so both verify alike.
 */
import type { ImageRegistry } from "../core/context.js";
import type { VigilConfig } from "../config.js";
import { composeKmsKeySources, withKmsKeys } from "../context/kubernetes/kms.js";
import { createAwsKmsKeySource } from "../context/kubernetes/kms-aws.js";
import { createAzureKeyVaultKeySource } from "../context/kubernetes/kms-azure.js";
import { createGcpKmsKeySource } from "../context/kubernetes/kms-gcp.js";
import { createVaultKeySource } from "../context/kubernetes/kms-vault.js";
import { createRegistryClient } from "../context/kubernetes/registry-client.js";

/** Undefined when `admission.registries.enabled` is false. */
export function openImageRegistry(config: Pick<VigilConfig, "admission">): ImageRegistry | undefined {
  const registries = config.admission.registries;
  if (!registries.enabled) return undefined;
  const { aws, vault, gcp, azure } = config.admission.kms;
  const keys = composeKmsKeySources({
    "awskms://": aws === undefined ? undefined : createAwsKmsKeySource(aws),
    "hashivault://": vault === undefined ? undefined : createVaultKeySource(vault),
    "gcpkms://": gcp === undefined ? undefined : createGcpKmsKeySource(gcp),
    "azurekms://": azure === undefined ? undefined : createAzureKeyVaultKeySource(azure),
  });
  return withKmsKeys(createRegistryClient(registries), keys);
}
