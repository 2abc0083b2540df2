/**
 * Residency pack: a plan or an inventory with more restricted placements than `maxListed` (50)
 * lists at most 50 in `context.residency.blocked` while `counts.blocked` stays exact; the
 * decision's message must not understate how many there are. The plan is the fixture
 * aws-replication.plan.json (test/fixtures/residency/SOURCE) with its first bucket copied 60 times
 * into us-east-1.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ingestText } from "../../src/sources/index.js";
import { fixtures, residencyHarness, violations } from "./residency-support.js";

type Json = Record<string, unknown>;

async function bigPlan(count: number) {
  const plan = JSON.parse(readFileSync(join(fixtures, "residency/terraform/aws-replication.plan.json"), "utf8")) as Json;
  const first = (plan["resource_changes"] as Json[])[0] as Json;
  const changes: Json[] = [];
  for (let i = 0; i < count; i++) {
    const change = structuredClone(first);
    const after = (change["change"] as Json)["after"] as Json;
    change["address"] = `aws_s3_bucket.exports_${i}`;
    change["name"] = `exports_${i}`;
    after["bucket"] = `acme-exports-${i}`;
    after["region"] = "us-east-1";
    changes.push(change);
  }
  plan["resource_changes"] = changes;
  delete plan["planned_values"];
  delete plan["configuration"];
  const { results } = await ingestText(JSON.stringify(plan), { file: "big.plan.json" });
  const [result] = results;
  if (!result?.ok) throw new Error(`plan did not convert: ${JSON.stringify(result)}`);
  return result.event;
}

describe("residency pack: more blocked placements than listed", () => {
  it("a plan placing 60 personal-data buckets in us-east-1 says at least 50 and 10 more, not just 50", async () => {
    const { draft, residency } = await residencyHarness().decide(await bigPlan(60));
    expect(residency?.counts.blocked).toBe(60);
    expect(residency?.blocked).toHaveLength(50);
    expect(violations(draft)).toEqual(["residency-infrastructure/region-not-allowed"]);
    const message = draft.findings.find((f) => f.rule === "region-not-allowed")?.message ?? "";
    expect(message).toMatch(/^at least 50 resource placements outside the allowed regions: aws_s3_bucket\.exports_0 /);
    expect(message).toMatch(/\(and 10 more\)$/);
  });

  it("a plan within the listing limit reads as before, with no count appended", async () => {
    const { draft } = await residencyHarness().decide(await bigPlan(2));
    const message = draft.findings.find((f) => f.rule === "region-not-allowed")?.message ?? "";
    expect(message).toMatch(/^2 resource placements outside the allowed regions: aws_s3_bucket\.exports_0 \(personal data under GDPR\) is placed in us-east-1/);
    expect(message).not.toContain("more)");
  });
});
