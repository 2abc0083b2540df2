import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parseCloudEvent } from "./cloudevents.js";
import { ingestText } from "./ingest.js";
import { looksLikeTerraformPlan, terraformPlanTextToEvent, terraformPlanToEvent, validateTerraformPlan } from "./terraform.js";

const fixtures = join(import.meta.dirname, "../../test/fixtures/residency/terraform");
const text = (name: string): string => readFileSync(join(fixtures, name), "utf8");

describe("Terraform plan adapter", () => {
  it("wraps a `terraform show -json` plan into one com.hashicorp.terraform.plan event, unchanged", () => {
    const plan = JSON.parse(text("aws-replication.plan.json")) as Record<string, unknown>;
    const result = terraformPlanToEvent(plan, { file: "plans/prod/aws-replication.plan.json" });
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.event).toMatchObject({ type: "com.hashicorp.terraform.plan", subject: "aws-replication.plan.json", source: "plans/prod/aws-replication.plan.json", time: "2026-01-07T09:12:44Z" });
    expect(result.event.data).toBe(plan);
    const again = terraformPlanToEvent(JSON.parse(text("aws-replication.plan.json")));
    expect(again.ok && again.event.id).toBe(result.event.id); // a content hash: the same plan, the same id
    expect(result.event.id).toMatch(/^sha256:[0-9a-f]{32}$/);
    expect(looksLikeTerraformPlan(plan)).toBe(true);
    expect(looksLikeTerraformPlan({ format_version: "1.0", values: {} })).toBe(false); // a state file
  });

  it("makes a file path with spaces a valid URI-reference source, so the event reads back", () => {
    const plan = JSON.parse(text("aws-replication.plan.json")) as Record<string, unknown>;
    const result = terraformPlanToEvent(plan, { file: "plans/prod eu/plan 1.json" });
    expect(result.ok && result.event.source).toBe("plans/prod%20eu/plan%201.json");
    expect(result.ok && result.event.subject).toBe("plan 1.json");
    expect(result.ok && parseCloudEvent(JSON.parse(JSON.stringify(result.event))).ok).toBe(true);
  });

  it("the event's time is the plan's timestamp as RFC 3339; a timestamp that is not one is a warning and no time, never copied as is", () => {
    const plan = JSON.parse(text("aws-replication.plan.json")) as Record<string, unknown>;
    const spaced = terraformPlanToEvent({ ...plan, timestamp: "2026-01-07 09:12:44" });
    expect(spaced.ok && spaced.event.time).toBe("2026-01-07T09:12:44Z");
    const broken = terraformPlanToEvent({ ...plan, timestamp: "last tuesday" });
    expect(broken.ok).toBe(true);
    if (!broken.ok) return;
    expect(broken.event.time).toBeUndefined();
    expect(broken.warnings?.[0]).toContain("timestamp");
    expect(broken.event.data).toMatchObject({ timestamp: "last tuesday" });
  });

  it("rejects an unsupported major version, a state file and broken resource changes, naming the field", () => {
    expect(validateTerraformPlan({ format_version: "2.0", resource_changes: [] })[0]).toMatchObject({ field: "format_version" });
    expect(validateTerraformPlan({ format_version: "1.0", terraform_version: "1.9.8", values: { root_module: {} } })[0]?.message).toContain("neither resource_changes nor planned_values");
    const problems = validateTerraformPlan({ format_version: "1.2", resource_changes: [{ address: "a.b", type: "a", change: { actions: "create" } }, 7] });
    expect(problems.map((p) => p.field)).toEqual(["resource_changes[0].change.actions", "resource_changes[1]"]);
    const bad = terraformPlanTextToEvent("{ not json", { file: "plan.json" });
    expect(bad.ok).toBe(false);
    if (!bad.ok) expect(bad.error.message).toContain("plan.json is not valid JSON");
  });

  it("is detected by `vigil ingest`", async () => {
    const { format, results } = await ingestText(text("azure-gcp.plan.json"), { file: "azure-gcp.plan.json" });
    expect(format).toBe("terraform-plan");
    expect(results).toHaveLength(1);
    expect(results[0]?.ok && results[0].event.type).toBe("com.hashicorp.terraform.plan");
    expect(results[0]?.ok && results[0].event.subject).toBe("azure-gcp.plan.json");
    const line = JSON.stringify(JSON.parse(text("bad-input.plan.json")));
    const lines = await ingestText(`${line}\n${line.replace('"format_version":"1.2"', '"format_version":"9.0"')}\n`);
    expect(lines.format).toBe("json-lines");
    expect(lines.results.map((r) => r.ok)).toEqual([true, false]);
    expect(lines.results[1]?.ok === false && lines.results[1].error.details.field).toBe("format_version");
  });
});
