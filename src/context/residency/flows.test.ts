import { describe, expect, it } from "vitest";
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
});
