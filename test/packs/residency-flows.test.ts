/**
 * Residency pack, end to end on data flows (dev.vigil.dataflow) and inventory
 * (dev.vigil.resource): events built by the Vigil data source (validated like ingestion does),
 * enriched, evaluated and decided — blocked transfers with reroutes, anonymised and aggregated
 * data allowed with the reason, transfers under an approved mechanism (an exception with a legal
 * basis) allowed with the mechanism and expiry named, and inventory reported to the owner.
 */
import { describe, expect, it } from "vitest";
import type { PolicyException } from "../../src/core/review.js";
import { createVigilEvent } from "../../src/sources/index.js";
import { residencyHarness, violations } from "./residency-support.js";

function flow(data: Record<string, unknown>) {
  const result = createVigilEvent("dev.vigil.dataflow", { dataset: "crm-contacts", classification: "personal", from: { region: "eu-central-1" }, to: { region: "us-east-1" }, bytes: 48_213_004, purpose: "sync to marketing automation", ...data }, { source: "/dataflows/airflow", time: "2026-01-12T09:30:00Z" });
  if (!result.ok) throw new Error(result.error.message);
  return result.event;
}

function resource(data: Record<string, unknown>) {
  const result = createVigilEvent("dev.vigil.resource", data, { source: "/inventory/aws-config" });
  if (!result.ok) throw new Error(result.error.message);
  return result.event;
}

const scc: PolicyException = {
  id: "EX-2026-014", policies: ["residency-dataflow"], rules: ["transfer-not-allowed"],
  when: 'input.dataset == "support-tickets" && input.to.region == "us-east-1"',
  justification: "ticket export to the helpdesk vendor (processor)",
  legalBasis: "SCC 2021/914 module 2 + TIA-2025-19", ticket: "PRIV-402",
  createdBy: "dpo@acme.example", createdAt: "2026-01-05T08:00:00Z", expiresAt: "2026-12-31T23:59:59Z",
};

describe("residency of data flows", () => {
  it("blocks personal data leaving EEA and suggests rerouting to the nearest allowed destination", async () => {
    const { draft } = await residencyHarness().decide(flow({}));
    expect(draft.verdict).toBe("deny");
    expect(violations(draft)).toEqual(["residency-dataflow/transfer-not-allowed"]);
    expect(draft.explanation.summary).toBe("Denied (block) by 1 deny violation: residency-dataflow/transfer-not-allowed: dataset crm-contacts (personal data under GDPR) is transferred from eu-central-1 to us-east-1 (US East (N. Virginia), US), outside EEA; reroute to eu-west-1 (Europe (Ireland), IE), the nearest allowed AWS region to us-east-1, 5,462 km away.");
  });

  it("reroutes a Google Cloud transfer to a Google region and an Azure one to an Azure region", async () => {
    const h = residencyHarness();
    const gcp = await h.decide(flow({ from: { region: "europe-west3" }, to: { region: "us-central1" } }));
    expect(gcp.residency?.blocked[0]?.suggestion).toMatchObject({ provider: "gcp", sameProvider: true });
    const azure = await h.decide(flow({ from: { region: "westeurope" }, to: { region: "Brazil South" } }));
    expect(azure.residency?.blocked[0]?.suggestion).toMatchObject({ provider: "azure", sameProvider: true });
    expect(azure.residency?.blocked[0]?.region).toBe("brazilsouth");
  });

  it("allows anonymised and aggregated exports and explains why", async () => {
    const h = residencyHarness();
    const anonymised = await h.decide(flow({ dataset: "web-analytics", purpose: "anonymised product analytics" }));
    expect(anonymised.draft.verdict).toBe("allow");
    expect(anonymised.draft.tier).toBe("observe");
    expect(violations(anonymised.draft)).toEqual(["residency-treated-data/allowed-as-treated"]);
    expect(anonymised.draft.explanation.summary).toContain("allowed because it is anonymised (purpose): anonymised data is not personal data (GDPR Recital 26)");
    const aggregated = await h.decide(flow({ dataset: "kpi-rollup", aggregated: true, purpose: "board reporting" }));
    expect(aggregated.draft.verdict).toBe("allow");
    expect(aggregated.draft.explanation.summary).toContain("allowed because it is aggregated (aggregated): aggregated statistics identify no one");
    // Pseudonymised data is still personal data: no treatment, blocked.
    expect((await h.decide(flow({ dataset: "events", purpose: "pseudonymised event stream" }))).draft.verdict).toBe("deny");
  });

  it("allows a transfer covered by an approved mechanism, naming it and its expiry, and only that transfer", async () => {
    const h = residencyHarness();
    const covered = await h.decide(flow({ dataset: "support-tickets", purpose: "helpdesk sync" }), { exceptions: [scc] });
    expect(covered.draft.verdict).toBe("allow");
    expect(covered.draft.explanation.summary).toBe("Allowed: residency-dataflow/transfer-not-allowed allowed by exception EX-2026-014: SCC 2021/914 module 2 + TIA-2025-19 ticket export to the helpdesk vendor (processor) (PRIV-402), expires 2026-12-31T23:59:59Z.");
    const other = await h.decide(flow({ dataset: "crm-contacts" }), { exceptions: [scc] });
    expect(other.draft.verdict).toBe("deny");
    const elsewhere = await h.decide(flow({ dataset: "support-tickets", to: { region: "ap-south-1" } }), { exceptions: [scc] });
    expect(elsewhere.draft.verdict).toBe("deny");
    h.clock.set("2027-01-01T00:00:00Z");
    expect((await h.decide(flow({ dataset: "support-tickets" }), { exceptions: [scc] })).draft.verdict).toBe("deny");
  });

  it("passes public data anywhere and reports an unknown destination region without blocking", async () => {
    const h = residencyHarness();
    const open = await h.decide(flow({ dataset: "product-catalog", classification: "public", to: { region: "ap-southeast-2" } }));
    expect(open.draft.verdict).toBe("allow");
    expect(violations(open.draft)).toEqual([]);
    const typo = await h.decide(flow({ to: { region: "us-est-1" } }));
    expect(typo.draft.verdict).toBe("allow");
    expect(violations(typo.draft)).toEqual(["residency-input/unknown-region"]);
    expect(typo.draft.findings[0]?.message).toMatch(/^to\.region: unknown region "us-est-1" \(did you mean "us-east-1"\?\); known AWS regions are /);
  });
});

describe("residency of inventory", () => {
  it("reports a personal-data database outside EEA to its owner, with the region to move to", async () => {
    const { draft } = await residencyHarness().decide(resource({
      kind: "rds.instance", id: "arn:aws:rds:us-west-2:123456789012:db:loyalty", region: "us-west-2", owner: "team-loyalty",
      tags: { "data-classification": "personal", environment: "production" }, attrs: { engine: "postgres", replicaRegions: ["eu-west-1"] },
    }));
    expect(draft.verdict).toBe("deny");
    expect(draft.tier).toBe("notify");
    expect(violations(draft)).toEqual(["residency-inventory/region-not-allowed"]);
    expect(draft.findings[0]?.message).toContain("arn:aws:rds:us-west-2:123456789012:db:loyalty (personal data under GDPR) is stored in us-west-2 (US West (Oregon), US), outside EEA; nearest allowed AWS region: eu-west-1");
  });

  it("reports a replica outside the allowed regions on its own rule, and passes a compliant resource", async () => {
    const h = residencyHarness();
    const replicated = await h.decide(resource({ kind: "dynamodb.table", id: "arn:aws:dynamodb:eu-west-1:123456789012:table/sessions", region: "eu-west-1", tags: { classification: "pii" }, attrs: { replicas: [{ region: "eu-central-1" }, { region: "us-east-1" }] } }));
    expect(violations(replicated.draft)).toEqual(["residency-inventory/replica-not-allowed"]);
    // Ireland is the nearest EEA region to us-east-1, but it is the table's own region: a replica goes elsewhere (Paris, 6,186 km).
    expect(replicated.draft.findings[0]?.message).toContain("is replicated from eu-west-1 to us-east-1 (US East (N. Virginia), US), outside EEA; reroute to eu-west-3 (Europe (Paris), FR), the nearest allowed AWS region to us-east-1, 6,186 km away");
    const fine = await h.decide(resource({ kind: "s3.bucket", id: "arn:aws:s3:::acme-invoices", region: "eu-central-1", tags: { "data-classification": "financial" } }));
    expect(fine.draft.verdict).toBe("allow");
  });
});
