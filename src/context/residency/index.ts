/**
 * The residency part of the context stage: the region catalog (AWS, Azure, Google Cloud plus custom
 * regions), the pack settings (data classes, regulations, treatments), the extractors that find
 * where an input puts data (Kubernetes objects and admission reviews, Terraform plans, data flows,
 * inventory), and the enrichment that exposes the result to policies as `context.residency`.
 * See docs/packs/residency.md.
 */
export {
  createRegionCatalog, loadRegionCatalog, shippedRegionCatalog, shippedRegionsFile, residencyPackDir,
  distanceKm, jurisdictionOf, regionKey, catalogProvider, EU_COUNTRIES, EEA_ONLY_COUNTRIES,
  type Region, type RegionKind, type RegionCatalog, type CustomRegion, type NearestRegion, type NearestOptions,
} from "./catalog.js";
export {
  defaultResidencySettings, resolveResidencySettings, loadResidencySettings, residencySettingsFile, builtinGeographies,
  type ResidencySettings, type DataClassRule, type RegulationRule, type TreatmentRule,
} from "./settings.js";
export { createRuleBook, placeAllowed, readLabel, readLabels, type RuleBook, type Classification, type AllowedPlaces, type DataLabels, type LabelValue, type InputProblem } from "./rules.js";
export { createAssessor, type Assessor } from "./assess.js";
export { kubernetesPlacements, admissionPlacements, type KubernetesExtractOptions } from "./kubernetes.js";
export { terraformPlacements, type TerraformExtractOptions } from "./terraform.js";
export { dataflowPlacements, inventoryPlacements } from "./flows.js";
export { createResidencyEnricher, RESIDENCY_EVENT_TYPES, type ResidencyEnricher, type ResidencyEnricherOptions } from "./enrich.js";
export type {
  ResidencySummary, ResidencyInput, Placement, PlacementCandidate, PlacementKind, PlacementVerdict, Suggestion, RegionView,
  UnknownRegion, UnpinnedWorkload, Extraction,
} from "./model.js";
