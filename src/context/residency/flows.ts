/**
 * Where data flows and inventory put data.
 * - `dev.vigil.dataflow` `{ dataset, classification, from: {region, provider?}, to: {region, provider?},
 *   bytes?, purpose?, regulation?, origin?, treatment?, anonymised?|anonymized?|aggregated?, labels? }`:
 *   one transfer to `to.region`. Treatments come from the classification words, the boolean flags,
 *   `treatment` and the words of `purpose`.
 * - `dev.vigil.resource` `{ kind, id, region?, tags?, attrs?, owner? }`: the resource's region, and
 *   its copies in `attrs.replicaRegions` / `attrs.replicas` (strings or `{region}`); for an Azure
 *   resource, the geo-redundant copy its storage SKU makes (`attrs.sku` or `attrs.sku.name`
 *   `Standard_GRS`, `_RAGRS`, `_GZRS`, `_RAGZRS`, as Azure Resource Graph lists them): in
 *   `attrs.properties.secondaryLocation` / `attrs.secondaryLocation` when given, else the region
 *   the catalog pairs with it.
 * Fields are JSON paths inside the event data (`to.region`). Never throws.
 */
import type { RegionCatalog } from "./catalog.js";
import type { Extraction, InputProblem, PlacementCandidate } from "./model.js";
import { readLabel, readLabels, type DataLabels, type LabelValue } from "./rules.js";
import type { ResidencySettings } from "./settings.js";

type Json = Record<string, unknown>;
const isObject = (value: unknown): value is Json => value !== null && typeof value === "object" && !Array.isArray(value);
const str = (value: unknown): string | undefined => (typeof value === "string" && value.trim() !== "" ? value.trim() : undefined);

const TREATMENT_FLAGS = ["anonymised", "anonymized", "aggregated"] as const;

function labelsFrom(maps: { map: unknown; field: string }[], settings: ResidencySettings, first: LabelValue[], extraTreatments: LabelValue[]): DataLabels {
  const classification = [...first];
  for (const map of maps) {
    const hit = readLabel([map], settings.labels.classification);
    if (hit) classification.push(hit);
  }
  const regulation = readLabel(maps, settings.labels.regulation);
  const origin = readLabel(maps, settings.labels.origin);
  return {
    classification,
    ...(regulation ? { regulation } : {}),
    treatment: [...extraTreatments, ...readLabels(maps, settings.labels.treatment).map((t) => ({ ...t, strict: true }))],
    ...(origin ? { origin } : {}),
  };
}

/** The transfer a dataflow event describes. */
export function dataflowPlacements(data: unknown, settings: ResidencySettings): Extraction {
  const out: Extraction = { input: "dataflow", placements: [], unconstrained: [], errors: [] };
  if (!isObject(data)) return { ...out, errors: [{ field: "data", message: "a dev.vigil.dataflow event needs data {dataset, classification, from: {region}, to: {region}}" }] };
  const dataset = str(data["dataset"]) ?? "(unnamed dataset)";
  const from = isObject(data["from"]) ? data["from"] : {};
  const to = isObject(data["to"]) ? data["to"] : {};
  const toRegion = str(to["region"]);
  if (toRegion === undefined) return { ...out, errors: [{ field: "to.region", message: "to.region is missing: give the destination region of the transfer" }] };
  const first: LabelValue[] = str(data["classification"]) === undefined ? [] : [{ value: data["classification"] as string, field: "classification" }];
  const treatments: LabelValue[] = [];
  for (const flag of TREATMENT_FLAGS) if (data[flag] === true) treatments.push({ value: flag === "anonymized" ? "anonymised" : flag, field: flag, strict: true });
  if (str(data["treatment"]) !== undefined) treatments.push({ value: data["treatment"] as string, field: "treatment", strict: true });
  if (str(data["purpose"]) !== undefined) treatments.push({ value: data["purpose"] as string, field: "purpose", strict: false });
  const labels = labelsFrom([{ map: data["labels"], field: "labels" }], settings, first, treatments);
  const regulation = labels.regulation ?? (str(data["regulation"]) === undefined ? undefined : { value: data["regulation"] as string, field: "regulation" });
  const originValue = str(data["origin"]) ?? str(data["country"]);
  const origin = labels.origin ?? (originValue === undefined ? undefined : { value: originValue, field: str(data["origin"]) !== undefined ? "origin" : "country" });
  const fromRegion = str(from["region"]);
  const placement: PlacementCandidate = {
    kind: "transfer",
    resource: dataset,
    field: "to.region",
    region: toRegion,
    ...(str(to["provider"]) ? { provider: to["provider"] as string } : {}),
    ...(fromRegion === undefined ? {} : { from: { region: fromRegion, field: "from.region", ...(str(from["provider"]) ? { provider: from["provider"] as string } : {}) } }),
    data: { ...labels, ...(regulation ? { regulation } : {}), ...(origin ? { origin } : {}) },
  };
  return { ...out, placements: [placement] };
}

/** Provider of an inventory resource: `attrs.provider`, else from the id's shape (ARN, Azure id, Google resource name). */
function inventoryProvider(data: Json, attrs: Json): string | undefined {
  const named = str(attrs["provider"]) ?? str(attrs["cloud"]);
  if (named !== undefined) return named;
  const id = str(data["id"]) ?? "";
  if (id.startsWith("arn:")) return "aws";
  if (id.startsWith("/subscriptions/")) return "azurerm";
  if (id.startsWith("//") || id.startsWith("projects/")) return "google";
  return undefined;
}

const GEO_REDUNDANT_SKU = /_(RA)?(G|GZ)RS$/i;

/**
 * The geo-redundant copy of an Azure storage account in inventory: where Azure says it is
 * (`secondaryLocation`), else the region the catalog pairs with the account's; an account whose
 * copy cannot be placed is an error when its data is classified, never a silent pass.
 */
function azureGeoCopy(attrs: Json, region: string, labels: DataLabels, catalog: RegionCatalog | undefined): { readonly copy?: { readonly region: string; readonly field: string; readonly note: string }; readonly error?: InputProblem } {
  const sku = isObject(attrs["sku"]) ? { value: str(attrs["sku"]["name"]), field: "attrs.sku.name" } : { value: str(attrs["sku"]) ?? str(attrs["skuName"]), field: str(attrs["sku"]) !== undefined ? "attrs.sku" : "attrs.skuName" };
  if (sku.value === undefined || !GEO_REDUNDANT_SKU.test(sku.value)) return {};
  const redundancy = (sku.value.split("_").pop() ?? sku.value).toUpperCase().replace(/^RA/, "RA-");
  const properties = isObject(attrs["properties"]) ? attrs["properties"] : {};
  const secondary = str(properties["secondaryLocation"]) !== undefined ? { value: str(properties["secondaryLocation"]) as string, field: "attrs.properties.secondaryLocation" } : str(attrs["secondaryLocation"]) !== undefined ? { value: str(attrs["secondaryLocation"]) as string, field: "attrs.secondaryLocation" } : undefined;
  if (secondary !== undefined) return { copy: { region: secondary.value, field: secondary.field, note: `${redundancy} geo-redundant storage keeps a copy in its secondary region ${secondary.value}; ZRS or LRS keeps the data in ${region}` } };
  const pair = catalog?.lookup(region, "azure")?.pair;
  if (pair !== undefined) return { copy: { region: pair, field: sku.field, note: `${redundancy} geo-redundant storage replicates to the paired region ${pair}; ZRS or LRS keeps the data in ${region}` } };
  if (labels.classification.length === 0) return {};
  return { error: { field: sku.field, message: `${sku.field}: ${sku.value} copies the data to the region Azure pairs with ${region}, and neither attrs.properties.secondaryLocation nor the region catalog names it: use ZRS or LRS to keep the data in ${region}, or send secondaryLocation with the inventory` } };
}

/** The placement (and copies) of an inventory snapshot; `catalog` places Azure geo-redundant copies by region pair. */
export function inventoryPlacements(data: unknown, settings: ResidencySettings, catalog?: RegionCatalog): Extraction {
  const out: Extraction = { input: "inventory", placements: [], unconstrained: [], errors: [] };
  if (!isObject(data)) return { ...out, errors: [{ field: "data", message: "a dev.vigil.resource event needs data {kind, id, region?, tags?, attrs?}" }] };
  const attrs = isObject(data["attrs"]) ? data["attrs"] : {};
  const resource = str(data["id"]) ?? "(unnamed resource)";
  const region = str(data["region"]);
  if (region === undefined) return out; // a global resource: nothing to place
  const labels = labelsFrom([{ map: data["tags"], field: "tags" }, { map: attrs["labels"], field: "attrs.labels" }, { map: attrs, field: "attrs" }], settings, [], []);
  const provider = inventoryProvider(data, attrs);
  const placements: PlacementCandidate[] = [{ kind: "inventory", resource, field: "region", region, ...(provider ? { provider } : {}), data: labels }];
  const replicaList = Array.isArray(attrs["replicaRegions"]) ? { list: attrs["replicaRegions"] as unknown[], name: "replicaRegions" } : Array.isArray(attrs["replicas"]) ? { list: attrs["replicas"] as unknown[], name: "replicas" } : undefined;
  replicaList?.list.forEach((replica, index) => {
    const value = str(replica) ?? (isObject(replica) ? str(replica["region"]) : undefined);
    if (value === undefined || value === region) return;
    const field = `attrs.${replicaList.name}[${index}]${isObject(replica) ? ".region" : ""}`;
    placements.push({ kind: "replica", resource, field, region: value, ...(provider ? { provider } : {}), from: { region, field: "region" }, data: labels });
  });
  const errors: InputProblem[] = [];
  if (provider !== undefined && ["azurerm", "azure"].includes(provider.toLowerCase())) {
    const { copy, error } = azureGeoCopy(attrs, region, labels, catalog);
    if (copy !== undefined && copy.region !== region && !placements.some((p) => p.kind === "replica" && p.region === copy.region)) {
      placements.push({ kind: "replica", resource, field: copy.field, region: copy.region, provider, from: { region, field: "region" }, data: labels, note: copy.note });
    }
    if (error !== undefined) errors.push(error);
  }
  return { ...out, placements, errors };
}
