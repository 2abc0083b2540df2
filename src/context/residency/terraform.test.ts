import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { shippedRegionCatalog } from "./catalog.js";
import { defaultResidencySettings as settings } from "./settings.js";
import { terraformPlacements } from "./terraform.js";

const fixtures = join(import.meta.dirname, "../../../test/fixtures/residency/terraform");
const plan = (name: string): Record<string, unknown> => JSON.parse(readFileSync(join(fixtures, name), "utf8")) as Record<string, unknown>;
const catalog = shippedRegionCatalog();
const extract = (value: unknown) => terraformPlacements(value, { settings, catalog });

/** A minimal plan around some resource changes (the shape `terraform show -json` prints). */
function planOf(changes: Record<string, unknown>[], configuration: Record<string, unknown> = {}, variables: Record<string, unknown> = {}): Record<string, unknown> {
  return { format_version: "1.2", terraform_version: "1.9.8", variables, resource_changes: changes, configuration };
}
function change(address: string, after: Record<string, unknown>, extra: Record<string, unknown> = {}): Record<string, unknown> {
  const type = address.split(".").slice(-2)[0] as string;
  return { address, mode: "managed", type, name: (address.split(".").pop() as string).replace(/\[.*\]$/, ""), provider_name: `registry.terraform.io/hashicorp/${type.split("_")[0]}`, change: { actions: ["create"], before: null, after, after_unknown: {} }, ...extra };
}

describe("Terraform plan placements", () => {
  it("resolves regions from provider configurations and variables, and follows replication to the destination bucket", () => {
    const result = extract(plan("aws-replication.plan.json"));
    expect(result.errors).toEqual([]);
    const byResource = result.placements.map((p) => [p.kind, p.resource, p.region, p.field, p.from?.region]);
    expect(byResource).toEqual([
      ["storage", "aws_s3_bucket.customer_data", "eu-central-1", 'configuration.provider_config["aws"].expressions.region.constant_value', undefined],
      ["storage", "aws_s3_bucket.customer_data_replica", "us-east-1", "variables.replica_region.value", undefined],
      ["storage", "aws_s3_bucket_versioning.customer_data", "eu-central-1", 'configuration.provider_config["aws"].expressions.region.constant_value', undefined],
      ["replica", "aws_s3_bucket_replication_configuration.customer_data", "us-east-1", "variables.replica_region.value", "eu-central-1"],
      ["storage", "aws_dynamodb_table.sessions", "eu-central-1", 'configuration.provider_config["aws"].expressions.region.constant_value', undefined],
      ["replica", "aws_dynamodb_table.sessions", "eu-west-1", "resource_changes[4].change.after.replica[0].region_name", "eu-central-1"],
    ]);
    // The replication has no tags: it carries the source bucket's classification (tags_all includes the provider's default tags).
    const replication = result.placements.find((p) => p.kind === "replica" && p.resource.startsWith("aws_s3"));
    expect(replication?.data.classification[0]).toEqual({ value: "personal", field: 'resource_changes[0].change.after.tags_all["data-classification"]' });
    // The deleted bucket places nothing.
    expect(result.placements.some((p) => p.resource === "aws_s3_bucket.old_logs")).toBe(false);
  });

  it("reads Azure locations, geo-redundant pairs, Cosmos DB geo-locations and Google locations", () => {
    const result = extract(plan("azure-gcp.plan.json"));
    const replicas = result.placements.filter((p) => p.kind === "replica").map((p) => [p.resource, p.region, p.from?.region]);
    expect(replicas).toEqual([
      ["azurerm_storage_account.patients", "germanynorth", "germanywestcentral"],
      ["azurerm_storage_account.crmbackup", "northeurope", "westeurope"],
      ["azurerm_cosmosdb_account.profiles", "eastus", "westeurope"],
    ]);
    expect(result.placements.find((p) => p.resource === "azurerm_storage_account.patients" && p.kind === "replica")?.note).toContain("GRS geo-redundant storage replicates to the paired region germanynorth");
    // LRS keeps the data in place: no replica for the claims account.
    expect(result.placements.filter((p) => p.resource === "azurerm_storage_account.claims").map((p) => p.kind)).toEqual(["storage"]);
    expect(result.placements.find((p) => p.resource === "google_storage_bucket.exports")).toMatchObject({ region: "US", field: "resource_changes[4].change.after.location" });
    expect(result.placements.find((p) => p.resource === "google_sql_database_instance.orders")?.region).toBe("europe-west3");
  });

  it("a geo-redundant account in a region the catalog pairs with none is an error naming the field, not a silent pass", () => {
    const personal = { tags: { "data-classification": "personal" } };
    const result = extract(planOf([
      change("azurerm_storage_account.ledger", { ...personal, name: "ledger", location: "polandcentral", account_replication_type: "RAGRS" }),
      change("azurerm_storage_account.scratch", { name: "scratch", location: "polandcentral", account_replication_type: "GRS" }),
      change("azurerm_storage_account.local", { ...personal, name: "local", location: "polandcentral", account_replication_type: "ZRS" }),
    ]));
    expect(result.errors.map((e) => e.field)).toEqual(["resource_changes[0].change.after.account_replication_type"]);
    expect(result.errors[0]?.message).toContain("RA-GRS");
    expect(result.errors[0]?.message).toContain("polandcentral");
    expect(result.errors[0]?.message).toContain("ZRS or LRS");
    // The account itself is still placed; the unclassified one needs no answer.
    expect(result.placements.map((p) => [p.kind, p.resource])).toEqual([["storage", "azurerm_storage_account.ledger"], ["storage", "azurerm_storage_account.scratch"], ["storage", "azurerm_storage_account.local"]]);
  });

  it("lists problems with the field and still reads the other resources", () => {
    const result = extract(plan("bad-input.plan.json"));
    expect(result.errors.map((e) => e.field)).toEqual(["resource_changes[4].change.after"]);
    expect(result.errors[0]?.message).toContain("the region of aws_s3_bucket.scratch cannot be determined from the plan");
    expect(result.placements.map((p) => p.region)).toEqual(["eu-central-1", "us-east-1", "eu-central-1", "eu-west-9", "eu-west-1"]);
    expect(result.placements[3]?.field).toBe("resource_changes[3].change.after.region");
  });

  it("rejects an unsupported major format version and reports a malformed plan without throwing", () => {
    expect(extract({ format_version: "2.0", resource_changes: [] }).errors[0]?.message).toContain("Vigil reads plan format versions 0.x and 1.x");
    expect(extract("not a plan").errors[0]?.field).toBe("");
    const partial = extract(planOf([{ address: 1 }, change("aws_s3_bucket.a", { bucket: "a", region: "eu-west-1" })]));
    expect(partial.errors.map((e) => e.field)).toContain("resource_changes[0].address");
    expect(partial.placements.map((p) => p.resource)).toEqual(["aws_s3_bucket.a"]);
  });

  it("judges cross-region read replicas, backup copies, inline replication and module resources", () => {
    const personal = { tags: { "data-classification": "personal" } };
    const result = extract(planOf([
      change("aws_db_instance.reporting", { ...personal, identifier: "reporting", region: "us-east-1", replicate_source_db: "arn:aws:rds:eu-central-1:123456789012:db:orders" }),
      change("aws_backup_plan.nightly", { ...personal, name: "nightly", region: "eu-central-1", rule: [{ rule_name: "daily", copy_action: [{ destination_vault_arn: "arn:aws:backup:us-west-2:123456789012:backup-vault:dr" }] }] }),
      change("aws_s3_bucket.legacy", { ...personal, bucket: "legacy", region: "eu-west-1", replication_configuration: [{ role: "arn:aws:iam::123456789012:role/r", rules: [{ destination: [{ bucket: "arn:aws:s3:::legacy-copy" }] }] }] }),
      change("aws_s3_bucket.legacy_copy", { ...personal, bucket: "legacy-copy", region: "ap-southeast-2" }),
      change("module.eu.aws_s3_bucket.logs[0]", { bucket: "logs", tags: { "data-classification": "internal" } }, { module_address: "module.eu[\"prod\"]", index: 0 }),
    ], {
      provider_config: { "module.eu:aws": { name: "aws", module_address: "module.eu", expressions: { region: { references: ["var.region"] } } } },
      root_module: { module_calls: { eu: { module: { resources: [{ address: "aws_s3_bucket.logs", mode: "managed", type: "aws_s3_bucket", name: "logs", provider_config_key: "module.eu:aws" }] } } } },
    }, { region: { value: "eu-west-3" } }));
    const rows = result.placements.map((p) => [p.kind, p.resource, p.region, p.from?.region]);
    expect(rows).toEqual([
      ["replica", "aws_db_instance.reporting", "us-east-1", "eu-central-1"],
      ["storage", "aws_backup_plan.nightly", "eu-central-1", undefined],
      ["backup", "aws_backup_plan.nightly", "us-west-2", "eu-central-1"],
      ["replica", "aws_s3_bucket.legacy", "ap-southeast-2", "eu-west-1"],
      ["storage", "aws_s3_bucket.legacy", "eu-west-1", undefined],
      ["storage", "aws_s3_bucket.legacy_copy", "ap-southeast-2", undefined],
      ["storage", "module.eu.aws_s3_bucket.logs[0]", "eu-west-3", undefined],
    ]);
  });
});
