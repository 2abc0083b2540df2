import { describe, expect, it } from "vitest";
import type { Event } from "../../core/event.js";
import { createPolicySet, loadPolicyText } from "../../policy/index.js";
import { createContextStage } from "../stage.js";
import { createManualClock, createMemoryDocStorage } from "../test-support.js";
import { createResidencyEnricher } from "./enrich.js";
import { resolveResidencySettings } from "./settings.js";

const enricher = createResidencyEnricher();
let counter = 0;
const event = (type: string, data: unknown, source = "test"): Event => ({ specversion: "1.0", id: `e-${++counter}`, source, type, data });
const flow = (data: Record<string, unknown>): Event => event("dev.vigil.dataflow", { dataset: "crm-contacts", classification: "personal", from: { region: "eu-central-1" }, to: { region: "us-east-1" }, ...data });

describe("the residency summary of a data flow", () => {
  it("blocks a transfer leaving the allowed geography and suggests the nearest allowed destination", () => {
    const summary = enricher.summarize(flow({}));
    expect(summary?.counts).toEqual({ placements: 1, blocked: 1, treated: 0, unpinned: 0, unknownRegions: 0, errors: 0 });
    expect(summary?.blocked[0]).toMatchObject({
      kind: "transfer", resource: "crm-contacts", region: "us-east-1", country: "US", from: { region: "eu-central-1", country: "DE" },
      dataClass: "personal", regulation: "gdpr", allowedIn: "EEA", verdict: "blocked",
      suggestion: { region: "eu-west-1", provider: "aws", country: "IE", sameProvider: true },
    });
    expect(summary?.blocked[0]?.message).toBe("dataset crm-contacts (personal data under GDPR) is transferred from eu-central-1 to us-east-1 (US East (N. Virginia), US), outside EEA; reroute to eu-west-1 (Europe (Ireland), IE), the nearest allowed AWS region to us-east-1, 5,462 km away");
    expect(summary?.summary).toBe("1 of 1 placement of restricted data outside the allowed regions");
  });

  it("allows anonymised and aggregated data, naming the treatment and where it was read", () => {
    const flagged = enricher.summarize(flow({ anonymised: true }));
    expect(flagged?.blocked).toEqual([]);
    expect(flagged?.treated[0]).toMatchObject({ verdict: "treated", treatment: "anonymised", treatmentReason: "anonymised data is not personal data (GDPR Recital 26)" });
    expect(flagged?.treated[0]?.message).toContain("allowed because it is anonymised (anonymised)");
    expect(enricher.summarize(flow({ purpose: "weekly aggregate reporting" }))?.treated[0]?.treatment).toBe("aggregated");
    expect(enricher.summarize(flow({ classification: "personal/aggregated" }))?.treated[0]?.message).toContain("allowed because it is aggregated (classification)");
    // Public data goes anywhere and is not even listed.
    expect(enricher.summarize(flow({ classification: "public" }))?.counts.placements).toBe(0);
  });

  it("keeps health data in its country of origin: the source region's country, a label, or the home country", () => {
    const toIreland = enricher.summarize(flow({ classification: "health", to: { region: "eu-west-1" } }));
    expect(toIreland?.blocked[0]).toMatchObject({ allowedIn: "DE (country of origin)", suggestion: { region: "eu-central-1" } });
    const labelled = enricher.summarize(flow({ classification: "health", origin: "IE", to: { region: "eu-west-1" } }));
    expect(labelled?.blocked).toEqual([]);
    const unknownOrigin = enricher.summarize(flow({ classification: "health", from: { region: "on-prem" }, to: { region: "eu-west-1" } }));
    expect(unknownOrigin?.errors[0]?.message).toContain("health data may stay only in its country of origin, but none is known");
    const home = createResidencyEnricher({ settings: resolveResidencySettings({ homeCountry: "FR" }) });
    expect(home.summarize(flow({ classification: "health", from: { region: "on-prem" }, to: { region: "eu-west-1" } }))?.blocked[0]?.suggestion?.country).toBe("FR");
  });

  it("reports an unknown region with its field and the provider's known regions, and still checks the rest", () => {
    const summary = enricher.summarize(event("dev.vigil.resource", { kind: "s3.bucket", id: "arn:aws:s3:::exports", region: "us-east-1", tags: { "data-classification": "personal" }, attrs: { replicaRegions: ["eu-west-9", "eu-north-1"] } }));
    expect(summary?.unknownRegions).toHaveLength(1);
    expect(summary?.unknownRegions[0]?.message).toMatch(/^attrs\.replicaRegions\[0\]: unknown region "eu-west-9" \(did you mean "eu-west-1"\?\); known AWS regions are us-east-1, us-east-2, .*eu-north-1/);
    expect(summary?.unknownRegions[0]?.message).not.toContain("cn-north-1"); // restricted regions are not offered
    expect(summary?.placements.map((p) => [p.kind, p.region, p.verdict])).toEqual([["inventory", "us-east-1", "blocked"], ["replica", "eu-north-1", "allowed"]]);
    expect(summary?.summary).toBe("1 of 2 placements of restricted data outside the allowed regions; 1 unknown region");
  });

  it("judges unpinned workloads by the cluster's configured region, else reports them as unpinned", () => {
    const deployment = { apiVersion: "apps/v1", kind: "Deployment", metadata: { name: "api", namespace: "shop", labels: { "data-classification": "pii" } }, spec: { template: { spec: { containers: [{ name: "api", image: "api:1" }] } } } };
    const unpinned = enricher.summarize(event("io.k8s.resource", deployment, "/k8s/us-prod"));
    expect(unpinned?.unpinned[0]?.message).toContain("has no region constraint and its cluster's region is unknown: pin it with nodeSelector topology.kubernetes.io/region: <a region in EEA>");
    const clusters = createResidencyEnricher({ settings: resolveResidencySettings({ kubernetes: { clusters: [{ source: "/k8s/eu-*", region: "eu-central-1" }, { source: "/k8s/us-*", region: "us-east-1" }] } }) });
    expect(clusters.summarize(event("io.k8s.resource", deployment, "/k8s/eu-prod"))?.counts).toMatchObject({ placements: 1, blocked: 0, unpinned: 0 });
    const us = clusters.summarize(event("io.k8s.resource", deployment, "/k8s/us-prod"));
    expect(us?.blocked[0]).toMatchObject({ field: "residency.kubernetes.clusters[1].region", region: "us-east-1", suggestion: { region: "eu-west-1" } });
  });

  it("ignores event types it does not check, and caps the lists while keeping exact counts", () => {
    expect(enricher.summarize(event("com.okta.system.log", {}))).toBeUndefined();
    const capped = createResidencyEnricher({ settings: resolveResidencySettings({ maxListed: 2 }) });
    const replicas = ["us-east-1", "us-east-2", "us-west-1", "us-west-2"];
    const summary = capped.summarize(event("dev.vigil.resource", { kind: "dynamodb.table", id: "sessions", region: "eu-central-1", tags: { classification: "personal" }, attrs: { provider: "aws", replicas: replicas.map((region) => ({ region })) } }));
    expect(summary?.blocked).toHaveLength(2);
    expect(summary?.counts.blocked).toBe(4);
    expect(summary?.blocked[0]?.field).toBe("attrs.replicas[0].region");
  });
});

describe("the enrichment in the context stage", () => {
  const stage = () => createContextStage({ storage: createMemoryDocStorage(), clock: createManualClock("2026-01-05T09:00:00Z"), enrichers: [enricher] });

  it("sets context.residency for checked events only, and classifies workloads by their namespace entity", async () => {
    const s = stage();
    expect((await s.build(flow({}))).residency?.["counts"]).toMatchObject({ blocked: 1 });
    expect((await s.build(event("com.okta.system.log", { actor: { alternateId: "a" } }))).residency).toBeUndefined();
    await s.entities.upsert({ kind: "namespace", id: "payments", attrs: { labels: { "vigil.dev/data-class": "financial" } } }, "test");
    const pod = { apiVersion: "v1", kind: "Pod", metadata: { name: "ledger", namespace: "payments" }, spec: { nodeSelector: { "topology.kubernetes.io/region": "us-east-1" }, containers: [{ name: "x", image: "x" }] } };
    const ctx = await s.build(event("io.k8s.resource", pod));
    const blocked = ctx.residency?.["blocked"] as { classifiedBy: string; allowedIn: string }[];
    expect(blocked[0]).toMatchObject({ classifiedBy: 'context.entities.namespace.attrs.labels["vigil.dev/data-class"]', allowedIn: "EEA, CH, UK" });
  });

  it("reports a failing enricher and still builds the context", async () => {
    const s = createContextStage({ storage: createMemoryDocStorage(), enrichers: [{ name: "broken", enrich: () => { throw new Error("boom"); } }, enricher] });
    const ctx = await s.build(flow({}));
    expect(ctx.residency).toBeDefined();
    expect(s.stats().enrichErrors).toEqual([expect.stringContaining("enricher broken: boom")]);
  });

  it("exposes the check to policies as context.residency, which a request cannot spoof", async () => {
    const { policies, errors } = loadPolicyText(`
apiVersion: vigil.dev/v1
kind: Policy
metadata: { name: residency-probe }
spec:
  rules:
    - name: blocked
      condition: has(context.residency) && size(context.residency.blocked) > 0
      message: "{{ context.residency.blocked[0].suggestion.region }}"
`, "probe.yaml");
    expect(errors).toEqual([]);
    const set = createPolicySet(policies);
    const s = stage();
    const found = set.evaluate(await s.build(flow({}))).findings;
    expect(found.map((f) => [f.rule, f.message])).toEqual([["blocked", "eu-west-1"]]);
    const spoof = await s.build(event("dev.vigil.decide", { action: "x", context: { residency: { blocked: [{ suggestion: { region: "us-east-1" } }] } } }));
    expect(set.evaluate(spoof).findings).toEqual([]);
  });
});

describe("the residency summary of a zone-pinned volume", () => {
  it("judges a CSI volume in us-east-1a as a placement in us-east-1", () => {
    const pv = {
      apiVersion: "v1", kind: "PersistentVolume", metadata: { name: "pvc-1", labels: { "data-classification": "personal", "vigil.dev/regulation": "gdpr" } },
      spec: { csi: { driver: "ebs.csi.aws.com", volumeHandle: "vol-0a1b2c3d4e5f67890" }, nodeAffinity: { required: { nodeSelectorTerms: [{ matchExpressions: [{ key: "topology.ebs.csi.aws.com/zone", operator: "In", values: ["us-east-1a"] }] }] } } },
    };
    const summary = enricher.summarize(event("io.k8s.resource", pv));
    expect(summary?.counts).toMatchObject({ placements: 1, blocked: 1, unknownRegions: 0 });
    expect(summary?.blocked[0]).toMatchObject({ kind: "volume", region: "us-east-1", country: "US", suggestion: { provider: "aws" } });
  });
});
