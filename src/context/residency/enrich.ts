/**
 * The residency enrichment the context stage runs for each event (ContextStageOptions.enrichers):
 * for Kubernetes admission reviews and objects, Terraform plans, data flows and inventory
 * snapshots it builds the ResidencySummary that policies read as `context.residency`. Other
 * events get nothing (and cost one set lookup).
 */
import type { Context } from "../../core/context.js";
import { EventTypes, type Event } from "../../core/event.js";
import { createAssessor } from "./assess.js";
import { loadRegionCatalog, shippedRegionsFile, type RegionCatalog } from "./catalog.js";
import { dataflowPlacements, inventoryPlacements } from "./flows.js";
import { admissionPlacements, kubernetesPlacements } from "./kubernetes.js";
import type { Extraction, ResidencyInput, ResidencySummary } from "./model.js";
import { createRuleBook } from "./rules.js";
import { defaultResidencySettings, type ResidencySettings } from "./settings.js";
import { terraformPlacements } from "./terraform.js";

/** Event types the residency pack checks. */
export const RESIDENCY_EVENT_TYPES: ReadonlySet<string> = new Set([
  EventTypes.admissionReview, EventTypes.kubernetesResource, EventTypes.terraformPlan, EventTypes.dataflow, EventTypes.resource,
]);

const inputOf: Readonly<Record<string, ResidencyInput>> = {
  [EventTypes.admissionReview]: "admission",
  [EventTypes.kubernetesResource]: "kubernetes",
  [EventTypes.terraformPlan]: "terraform-plan",
  [EventTypes.dataflow]: "dataflow",
  [EventTypes.resource]: "inventory",
};

export interface ResidencyEnricherOptions {
  /** Pack settings (default: the shipped defaults; see loadResidencySettings). */
  readonly settings?: ResidencySettings;
  /** Region catalog (default: the shipped catalog plus the settings' customRegions). */
  readonly catalog?: RegionCatalog;
}

export interface ResidencyEnricher {
  readonly name: "residency";
  readonly settings: ResidencySettings;
  readonly catalog: RegionCatalog;
  /**
   * The residency summary of an event, or undefined for events the pack does not check (and for
   * admission DELETE / CONNECT). `ctx` gives the namespace entity (its `labels` and
   * `classification` attributes classify the workloads in it). Never throws: an internal failure
   * is an entry of `errors`.
   */
  summarize(event: Event, ctx?: Pick<Context, "entities">): ResidencySummary | undefined;
  /** The context stage hook (a ContextEnricher): `{ residency }` for checked events. */
  enrich(event: Event, ctx: Pick<Context, "entities">): { readonly residency: Readonly<Record<string, unknown>> } | undefined;
}

/** Creates the enrichment. Throws VigilError(VIGIL_BAD_CONFIG) only when the catalog cannot be loaded or a custom region is invalid. */
export function createResidencyEnricher(options: ResidencyEnricherOptions = {}): ResidencyEnricher {
  const settings = options.settings ?? defaultResidencySettings;
  const catalog = options.catalog ?? loadRegionCatalog(shippedRegionsFile, settings.customRegions);
  const assessor = createAssessor(createRuleBook(settings), catalog);

  function extract(event: Event, ctx: Pick<Context, "entities"> | undefined): Extraction | undefined {
    const data = event.data;
    const namespaceAttrs = ctx?.entities["namespace"]?.attrs;
    switch (event.type) {
      case EventTypes.admissionReview:
        return data !== null && typeof data === "object" && !Array.isArray(data) ? admissionPlacements(data as Record<string, unknown>, { settings, ...(namespaceAttrs ? { namespaceAttrs } : {}) }) : undefined;
      case EventTypes.kubernetesResource:
        return data !== null && typeof data === "object" && !Array.isArray(data) ? { input: "kubernetes", ...kubernetesPlacements(data as Record<string, unknown>, { settings, prefix: "", ...(namespaceAttrs ? { namespaceAttrs } : {}) }) } : undefined;
      case EventTypes.terraformPlan:
        return terraformPlacements(data, { settings, catalog });
      case EventTypes.dataflow:
        return dataflowPlacements(data, settings);
      case EventTypes.resource:
        return inventoryPlacements(data, settings, catalog);
      default:
        return undefined;
    }
  }

  function summarize(event: Event, ctx?: Pick<Context, "entities">): ResidencySummary | undefined {
    if (!RESIDENCY_EVENT_TYPES.has(event.type)) return undefined;
    try {
      const extraction = extract(event, ctx);
      return extraction === undefined ? undefined : assessor.assess(extraction, { source: event.source });
    } catch (error) {
      // INVARIANT: enrichment never fails the pipeline; the problem is shown to policies.
      const message = `residency check failed: ${error instanceof Error ? error.message : String(error)}`;
      return {
        input: inputOf[event.type] ?? "dataflow", placements: [], blocked: [], treated: [], unpinned: [], unknownRegions: [],
        errors: [{ field: "(enrichment)", message }],
        counts: { placements: 0, blocked: 0, treated: 0, unpinned: 0, unknownRegions: 0, errors: 1 },
        summary: message,
      };
    }
  }

  return {
    name: "residency",
    settings,
    catalog,
    summarize,
    enrich(event, ctx) {
      const residency = summarize(event, ctx);
      // A ResidencySummary is plain JSON; Context keeps it as an open record.
      return residency === undefined ? undefined : { residency: residency as unknown as Readonly<Record<string, unknown>> };
    },
  };
}
