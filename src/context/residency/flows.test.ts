import { describe, expect, it } from "vitest";
import { shippedRegionCatalog } from "./catalog.js";
import { dataflowPlacements, inventoryPlacements } from "./flows.js";
import { defaultResidencySettings as settings } from "./settings.js";

describe("data flow and inventory placements", () => {
  it("reads the transfer, its labels, flags, purpose, regulation and origin", () => {
    const result = dataflowPlacements({ dataset: "tickets", classification: "personal", regulation: "uk-gdpr", origin: "GB", purpose: "support", anonymized: true, labels: { "data-treatment": "aggregated" }, from: { region: "eu-west-2", provider: "aws" }, to: { region: "us-east-1", provider: "aws" }, bytes: 1024 }, settings);
    expect(result.placements).toEqual([{
      kind: "transfer", resource: "tickets", field: "to.region", region: "us-east-1", provider: "aws",
      from: { region: "eu-west-2", field: "from.region", provider: "aws" },
      data: {
        classification: [{ value: "personal", field: "classification" }],
        treatment: [{ value: "anonymised", field: "anonymized", strict: true }, { value: "support", field: "purpose", strict: false }, { value: "aggregated", field: 'labels["data-treatment"]', strict: true }],
        regulation: { value: "uk-gdpr", field: "regulation" },
        origin: { value: "GB", field: "origin" },
      },
    }]);
  });

  it("names what is missing instead of throwing", () => {
    expect(dataflowPlacements(null, settings).errors[0]?.field).toBe("data");
    expect(dataflowPlacements({ dataset: "x", classification: "pii", from: { region: "eu-west-1" }, to: {} }, settings).errors).toEqual([{ field: "to.region", message: "to.region is missing: give the destination region of the transfer" }]);
    expect(inventoryPlacements({ kind: "iam.role", id: "arn:aws:iam::1:role/x" }, settings).placements).toEqual([]);
  });

  it("infers the provider of an inventory resource from its id", () => {
    const provider = (id: string): string | undefined => inventoryPlacements({ kind: "k", id, region: "x" }, settings).placements[0]?.provider;
    expect(provider("arn:aws:s3:::b")).toBe("aws");
    expect(provider("/subscriptions/0000/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/a")).toBe("azurerm");
    expect(provider("//storage.googleapis.com/projects/_/buckets/b")).toBe("google");
    expect(provider("my-thing")).toBeUndefined();
  });

  it("an Azure storage account's geo-redundant copy is read from its SKU (the paired region) or its secondaryLocation, as Azure Resource Graph lists them", () => {
    const catalog = shippedRegionCatalog();
    const account = (attrs: Record<string, unknown>, region = "brazilsouth") => inventoryPlacements({ kind: "microsoft.storage/storageaccounts", id: "/subscriptions/0000/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/ledger", region, tags: { "data-classification": "personal" }, attrs }, settings, catalog);
    // Brazil South's pair is South Central US: a Brazil-only account with GRS keeps a copy in Texas.
    expect(account({ sku: { name: "Standard_RAGRS", tier: "Standard" } }).placements.map((p) => [p.kind, p.region, p.field, p.from?.region])).toEqual([
      ["inventory", "brazilsouth", "region", undefined],
      ["replica", "southcentralus", "attrs.sku.name", "brazilsouth"],
    ]);
    expect(account({ sku: "Standard_GZRS" }).placements[1]).toMatchObject({ kind: "replica", region: "southcentralus", field: "attrs.sku", note: expect.stringContaining("GZRS") });
    // Azure's own answer wins over the catalog's pair.
    expect(account({ sku: { name: "Standard_GRS" }, properties: { secondaryLocation: "southcentralus", primaryLocation: "brazilsouth" } }).placements[1]).toMatchObject({ region: "southcentralus", field: "attrs.properties.secondaryLocation" });
    expect(account({ sku: { name: "Standard_ZRS" } }).placements.map((p) => p.kind)).toEqual(["inventory"]);
    // A geo-redundant account in a region without a known pair is an error, not a pass.
    const unpaired = account({ sku: { name: "Standard_GRS" } }, "polandcentral");
    expect(unpaired.placements.map((p) => p.kind)).toEqual(["inventory"]);
    expect(unpaired.errors).toEqual([{ field: "attrs.sku.name", message: expect.stringContaining("ZRS or LRS") }]);
  });
});
