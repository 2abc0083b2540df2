/**
 * The shapes of the residency check: what extractors find in an input (placements of data in
 * regions), and the JSON-safe summary policies read as `context.residency`.
 */
import type { DataLabels, InputProblem } from "./rules.js";

export type { InputProblem } from "./rules.js";

/** Which input the summary describes. */
export type ResidencyInput = "admission" | "kubernetes" | "terraform-plan" | "dataflow" | "inventory";

/**
 * What data sits (or goes) where: `workload` (pods may run there), `volume` (a PersistentVolume or
 * StorageClass topology), `storage` (a bucket, database, storage account), `replica` (a copy kept in
 * another region: replication, read replica, geo-redundancy), `backup` (a backup copy), `transfer`
 * (a data flow), `inventory` (an existing resource).
 */
export type PlacementKind = "workload" | "volume" | "storage" | "replica" | "backup" | "transfer" | "inventory";

/** One placement an extractor found, before the rules are applied. */
export interface PlacementCandidate {
  readonly kind: PlacementKind;
  /** The resource or dataset: `aws_s3_bucket.customers`, `Deployment/shop/api`, `crm-contacts`. */
  readonly resource: string;
  /** Where the region value sits in the input: `resource_changes[3].change.after.region`. */
  readonly field: string;
  /** The region as written in the input. */
  readonly region: string;
  /** Provider hint (`aws`, `azurerm`, `google`), when the input tells. */
  readonly provider?: string;
  /** For replicas, backups and transfers: where the data comes from. */
  readonly from?: { readonly region: string; readonly field: string; readonly provider?: string };
  readonly data: DataLabels;
  /** Why the data goes there, when it is not obvious ("geo-redundant storage (GRS) replicates to the paired region"). */
  readonly note?: string;
}

/** A region as shown in the summary. */
export interface RegionView {
  readonly region: string;
  readonly name: string;
  readonly provider: string;
  readonly country: string;
  readonly jurisdiction: string;
}

export interface Suggestion extends RegionView {
  /** Great-circle distance from the requested region, km. */
  readonly distanceKm: number;
  /** False when no region of the requested provider is allowed and another provider's is suggested. */
  readonly sameProvider: boolean;
}

export type PlacementVerdict = "allowed" | "blocked" | "treated";

/** One placement, judged. JSON-safe; `message` is the sentence policies print. */
export interface Placement extends RegionView {
  readonly kind: PlacementKind;
  readonly resource: string;
  readonly field: string;
  readonly from?: RegionView | { readonly region: string };
  readonly dataClass: string;
  readonly dataTitle: string;
  /** Field the classification was read from; absent for unclassified data. */
  readonly classifiedBy?: string;
  readonly regulation?: string;
  /** Where this data may be stored ("EEA", "DE (country of origin)"). */
  readonly allowedIn: string;
  /** "personal data under GDPR may be stored only in EEA". */
  readonly rule: string;
  readonly verdict: PlacementVerdict;
  /** For `treated`: the treatment (anonymised, aggregated) and why it lifts the rule. */
  readonly treatment?: string;
  readonly treatmentReason?: string;
  /** For `blocked`: the nearest allowed region (the reroute destination for replicas and transfers). */
  readonly suggestion?: Suggestion;
  readonly message: string;
}

/** A regulated Kubernetes workload with no region constraint, in a cluster of unknown region. */
export interface UnpinnedWorkload {
  readonly resource: string;
  readonly field: string;
  readonly dataClass: string;
  readonly allowedIn: string;
  readonly message: string;
}

/** A region value the catalog does not know. */
export interface UnknownRegion {
  readonly resource: string;
  readonly field: string;
  readonly region: string;
  readonly provider?: string;
  readonly message: string;
}

/** `context.residency`: the residency check of one event. */
export interface ResidencySummary {
  readonly input: ResidencyInput;
  /** Placements of data whose class restricts where it may be stored, judged (at most `maxListed`). */
  readonly placements: readonly Placement[];
  /** Placements outside the allowed places, with a suggestion (at most `maxListed`). */
  readonly blocked: readonly Placement[];
  /** Placements outside the allowed places that a treatment (anonymised, aggregated) allows. */
  readonly treated: readonly Placement[];
  readonly unpinned: readonly UnpinnedWorkload[];
  readonly unknownRegions: readonly UnknownRegion[];
  /** Other problems of the input (unknown data class, a region that cannot be determined, a bad plan). */
  readonly errors: readonly InputProblem[];
  /** Exact counts (the lists above are capped). */
  readonly counts: {
    readonly placements: number;
    readonly blocked: number;
    readonly treated: number;
    readonly unpinned: number;
    readonly unknownRegions: number;
    readonly errors: number;
  };
  /** One line: "1 of 3 placements outside the allowed regions; 1 unknown region". */
  readonly summary: string;
}

/** What an extractor returns for one input. */
export interface Extraction {
  readonly input: ResidencyInput;
  readonly placements: readonly PlacementCandidate[];
  /** Regulated workloads without a region constraint (Kubernetes), before cluster regions are applied. */
  readonly unconstrained: readonly { readonly resource: string; readonly field: string; readonly data: DataLabels }[];
  readonly errors: readonly InputProblem[];
}
