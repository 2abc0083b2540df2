/**
 * Residency pack, end to end on Terraform plans (`terraform show -json` shape, hand-written
 * fixtures: test/fixtures/residency/SOURCE): ingest → context (residency enrichment) → the pack's
 * policies → decision, including a plan with bad input whose other resources are still checked.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import type { PolicyException } from "../../src/core/review.js";
import { ingestText } from "../../src/sources/index.js";
import { fixtures, residencyHarness, violations } from "./residency-support.js";

async function planEvent(name: string) {
  const file = join(fixtures, "residency/terraform", name);
  const { format, results } = await ingestText(readFileSync(file, "utf8"), { file: name });
  expect(format).toBe("terraform-plan");
  const [result] = results;
  if (!result?.ok) throw new Error(`plan did not convert: ${JSON.stringify(result)}`);
  return result.event;
}

describe("residency of Terraform plans", () => {
  it("blocks replication of personal data to us-east-1 with a reroute to the nearest allowed region", async () => {
    const { draft, residency } = await residencyHarness().decide(await planEvent("aws-replication.plan.json"));
    expect(draft.verdict).toBe("deny");
    expect(draft.tier).toBe("block");
    expect(violations(draft)).toEqual(["residency-infrastructure/region-not-allowed", "residency-infrastructure/replication-not-allowed"]);
    const replication = draft.findings.find((f) => f.rule === "replication-not-allowed");
    expect(replication?.message).toBe(
      "1 copy of restricted data outside the allowed regions: aws_s3_bucket_replication_configuration.customer_data (personal data under GDPR) is replicated from eu-central-1 to us-east-1 (US East (N. Virginia), US) (destination bucket aws_s3_bucket.customer_data_replica), outside EEA; reroute to eu-west-1 (Europe (Ireland), IE), the nearest allowed AWS region to us-east-1, 5,462 km away",
    );
    expect(draft.findings.find((f) => f.rule === "region-not-allowed")?.message).toContain("aws_s3_bucket.customer_data_replica (personal data under GDPR) is placed in us-east-1");
    // The DynamoDB replica in eu-west-1 and the source bucket in eu-central-1 are fine.
    expect(residency?.placements.filter((p) => p.verdict === "allowed").map((p) => p.resource)).toEqual(["aws_s3_bucket.customer_data", "aws_dynamodb_table.sessions", "aws_dynamodb_table.sessions"]);
    // The explanation shows the decisive conditions with the values they saw.
    expect(draft.explanation.steps.filter((s) => s.kind === "condition").map((s) => s.text.split(" was ")[0])).toEqual(["size(variables.placed) > 0", "size(variables.copied) > 0"]);
  });

  it("judges Azure geo-redundancy pairs, Cosmos DB geo-locations and Google multi-regions", async () => {
    const { draft, residency } = await residencyHarness().decide(await planEvent("azure-gcp.plan.json"));
    expect(draft.verdict).toBe("deny");
    expect(residency?.blocked.map((p) => [p.resource, p.region, p.suggestion?.region])).toEqual([
      ["azurerm_storage_account.claims", "uksouth", "germanywestcentral"],
      ["azurerm_cosmosdb_account.profiles", "eastus", "northeurope"],
      ["google_storage_bucket.exports", "US", "EU"],
    ]);
    // GRS on germanywestcentral replicates to germanynorth: still Germany, so health data with origin DE may go there.
    expect(residency?.placements.find((p) => p.resource === "azurerm_storage_account.patients" && p.kind === "replica")?.verdict).toBe("allowed");
    expect(violations(draft)).toEqual(["residency-infrastructure/region-not-allowed", "residency-infrastructure/replication-not-allowed"]);
  });

  it("reports an unknown region with the plan field and the known regions, and still blocks the rest", async () => {
    const { draft, residency } = await residencyHarness().decide(await planEvent("bad-input.plan.json"));
    expect(violations(draft)).toEqual(["residency-infrastructure/region-not-allowed", "residency-input/input-problem", "residency-input/unknown-region"]);
    const unknown = draft.findings.find((f) => f.rule === "unknown-region");
    expect(unknown?.mode).toBe("warn");
    expect(unknown?.message).toMatch(/^resource_changes\[3\]\.change\.after\.region: unknown region "eu-west-9" \(did you mean "eu-west-1"\?\); known AWS regions are us-east-1, us-east-2, us-west-1, us-west-2, af-south-1, /);
    expect(draft.findings.find((f) => f.rule === "input-problem")?.message).toContain('resource_changes[5].change.after.tags_all["data-classification"]: unknown data class "confidentail"');
    expect(draft.findings.find((f) => f.rule === "input-problem")?.message).toContain("the region of aws_s3_bucket.scratch cannot be determined");
    expect(residency?.blocked.map((p) => p.resource)).toEqual(["aws_s3_bucket.support_tickets"]);
    expect(residency?.counts).toMatchObject({ unknownRegions: 1, errors: 2 });
  });

  it("lets an approved replication through an exception with a legal basis, naming the mechanism and its expiry", async () => {
    const h = residencyHarness();
    const scc: PolicyException = {
      id: "EX-2026-007", policies: ["residency-infrastructure"], rules: ["replication-not-allowed", "region-not-allowed"],
      when: 'context.residency.blocked.all(p, p.resource.startsWith("aws_s3_bucket") && p.region == "us-east-1")',
      justification: "disaster-recovery copy operated by Acme Inc. (US) under the intra-group agreement",
      legalBasis: "SCC 2021/914 module 1", ticket: "PRIV-311", createdBy: "dpo@acme.example", createdAt: "2026-01-02T09:00:00Z", expiresAt: "2026-07-01T00:00:00Z",
    };
    const event = await planEvent("aws-replication.plan.json");
    const { draft } = await h.decide(event, { exceptions: [scc] });
    expect(draft.verdict).toBe("allow");
    expect(draft.explanation.summary).toBe("Allowed: residency-infrastructure/region-not-allowed allowed by exception EX-2026-007: SCC 2021/914 module 1 disaster-recovery copy operated by Acme Inc. (US) under the intra-group agreement (PRIV-311), expires 2026-07-01T00:00:00Z (and 1 more).");
    expect(draft.explanation.steps.filter((s) => s.kind === "exception").map((s) => s.text)).toEqual([
      expect.stringContaining("residency-infrastructure/region-not-allowed allowed by exception EX-2026-007: SCC 2021/914 module 1"),
      expect.stringContaining("residency-infrastructure/replication-not-allowed allowed by exception EX-2026-007: SCC 2021/914 module 1"),
    ]);
    // Once it expires, the same plan is blocked again.
    h.clock.set("2026-07-01T00:00:01Z");
    expect((await h.decide(event, { exceptions: [scc] })).draft.verdict).toBe("deny");
  });
});
