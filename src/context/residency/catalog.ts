/**
 * The region catalog: every AWS, Azure and Google Cloud region (packs/residency/regions.yaml) with
 * its country, jurisdiction and coordinates, plus custom regions (on-premises sites) from the
 * pack settings. Lookups accept the spellings the providers use (`eu-west-1`, `West Europe`,
 * `EUROPE-WEST1`); `nearest` ranks regions by great-circle distance, same provider first.
 */
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { parse as parseYaml } from "yaml";
import { VigilError } from "../../core/errors.js";

/** packs/residency/ of this installation (works from src/ and dist/). */
export const residencyPackDir = fileURLToPath(new URL("../../../packs/residency/", import.meta.url));
/** The shipped region catalog. */
export const shippedRegionsFile = fileURLToPath(new URL("../../../packs/residency/regions.yaml", import.meta.url));

export type RegionKind = "region" | "multi-region" | "dual-region";

export interface Region {
  /** The provider's own code: `eu-west-1`, `westeurope`, `europe-west1`, `EU`. */
  readonly code: string;
  /** `aws`, `azure`, `gcp`, or a custom provider name (`onprem`). */
  readonly provider: string;
  readonly providerTitle: string;
  /** Display name: `Europe (Ireland)`, `West Europe`, `Belgium`. */
  readonly name: string;
  readonly kind: RegionKind;
  /** ISO 3166-1 alpha-2 codes of every country the data may be stored in (one for a region). */
  readonly countries: readonly string[];
  /** The single country, or the countries joined with `/` for multi-country locations. */
  readonly country: string;
  /** `EU`, `EEA` (IS, LI, NO), `UK`, or the country code; for multi-country locations `EU` when all are EU members, else the countries joined with `/`. */
  readonly jurisdiction: string;
  readonly lat: number;
  readonly lon: number;
  /** Azure paired region (where geo-redundant storage replicates). */
  readonly pair?: string;
  /** Government, China or access-restricted region: never suggested. */
  readonly restricted: boolean;
}

/** A region the organisation adds (an on-premises data centre, a sovereign cloud). */
export interface CustomRegion {
  readonly code: string;
  readonly provider: string;
  readonly name: string;
  readonly country: string;
  readonly lat: number;
  readonly lon: number;
}

export interface NearestRegion {
  readonly region: Region;
  readonly distanceKm: number;
  /** True when the region belongs to the provider asked for. */
  readonly sameProvider: boolean;
}

export interface NearestOptions {
  /** Preferred provider: its regions win when any is acceptable. */
  readonly provider?: string;
  /** Preferred kind (a multi-region suggests a multi-region when one is acceptable). Default `region`. */
  readonly kind?: RegionKind;
  /** Codes never suggested (e.g. a replica's source region). */
  readonly exclude?: readonly string[];
}

export interface RegionCatalog {
  /** Provider names in catalog order (`aws`, `azure`, `gcp`, then custom ones). */
  readonly providers: readonly string[];
  /** The region for a code in any provider spelling, or undefined. With `provider`, only that provider's regions. */
  lookup(code: string, provider?: string): Region | undefined;
  /** Every region, or one provider's, in catalog order. */
  regions(provider?: string): readonly Region[];
  /**
   * The nearest acceptable region to `from` by great-circle distance. Restricted regions are never
   * suggested. Preference: the provider asked for, then the kind asked for, then distance.
   */
  nearest(from: { readonly lat: number; readonly lon: number }, accept: (region: Region) => boolean, options?: NearestOptions): NearestRegion | undefined;
  /** A known code close in spelling to `code` (edit distance ≤ 2), for "did you mean". */
  similar(code: string, provider?: string): string | undefined;
  /** Display title of a provider (`AWS` → "Amazon Web Services"). */
  title(provider: string): string;
}

/** The 27 member states of the European Union (ISO 3166-1 alpha-2). */
export const EU_COUNTRIES: readonly string[] = [
  "AT", "BE", "BG", "HR", "CY", "CZ", "DK", "EE", "FI", "FR", "DE", "GR", "HU", "IE",
  "IT", "LV", "LT", "LU", "MT", "NL", "PL", "PT", "RO", "SK", "SI", "ES", "SE",
];
/** EEA members outside the EU. */
export const EEA_ONLY_COUNTRIES: readonly string[] = ["IS", "LI", "NO"];
const euSet = new Set(EU_COUNTRIES);
const eeaOnlySet = new Set(EEA_ONLY_COUNTRIES);

/** `EU` for EU members, `EEA` for Iceland, Liechtenstein and Norway, `UK` for GB, else the code. */
export function jurisdictionOf(country: string): string {
  if (euSet.has(country)) return "EU";
  if (eeaOnlySet.has(country)) return "EEA";
  if (country === "GB") return "UK";
  return country;
}

const EARTH_RADIUS_KM = 6371.0088;

/** Great-circle (haversine) distance in kilometres. */
export function distanceKm(a: { readonly lat: number; readonly lon: number }, b: { readonly lat: number; readonly lon: number }): number {
  const rad = Math.PI / 180;
  const dLat = (b.lat - a.lat) * rad;
  const dLon = (b.lon - a.lon) * rad;
  const h = Math.sin(dLat / 2) ** 2 + Math.cos(a.lat * rad) * Math.cos(b.lat * rad) * Math.sin(dLon / 2) ** 2;
  return 2 * EARTH_RADIUS_KM * Math.asin(Math.min(1, Math.sqrt(h)));
}

/** The lookup key of a code: lower case, without spaces or underscores (`West Europe` → `westeurope`). */
/**
 * The region codes a zone name may belong to, most specific first: AWS availability zones
 * (`us-east-1a` → `us-east-1`), Local and Wavelength Zones (`us-east-1-bos-1a` → `us-east-1`),
 * Google Cloud zones (`us-central1-a` → `us-central1`). Only tried when the code itself is no
 * region; Azure's zones are numbers beside the region, never part of its name.
 */
export function zoneParents(key: string): string[] {
  const out: string[] = [];
  let rest = key;
  for (let i = 0; i < 4; i++) {
    const next = /^(.*\d)[a-z]$/.test(rest) ? rest.slice(0, -1) : rest.includes("-") ? rest.slice(0, rest.lastIndexOf("-")) : undefined;
    if (next === undefined || next === "" || !/\d/.test(next)) break;
    out.push(next);
    rest = next;
  }
  return out;
}

export function regionKey(code: string): string {
  return code.trim().toLowerCase().replace(/[\s_]+/g, "");
}

/** Terraform / Kubernetes provider names → catalog provider (`azurerm` → `azure`, `google-beta` → `gcp`). */
export function catalogProvider(name: string): string {
  const lower = name.toLowerCase();
  if (lower === "azurerm" || lower === "azure" || lower === "microsoft") return "azure";
  if (lower === "google" || lower === "google-beta" || lower === "gcp" || lower === "gcs") return "gcp";
  if (lower === "aws" || lower === "amazon") return "aws";
  return lower;
}

function levenshtein(a: string, b: string, max: number): number {
  if (Math.abs(a.length - b.length) > max) return max + 1;
  let previous = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    let best = i;
    for (let j = 1; j <= b.length; j++) {
      const value = Math.min((previous[j] as number) + 1, (current[j - 1] as number) + 1, (previous[j - 1] as number) + (a[i - 1] === b[j - 1] ? 0 : 1));
      current.push(value);
      if (value < best) best = value;
    }
    if (best > max) return max + 1;
    previous = current;
  }
  return previous[b.length] as number;
}

type Json = Record<string, unknown>;
const isObject = (value: unknown): value is Json => value !== null && typeof value === "object" && !Array.isArray(value);
const COUNTRY = /^[A-Z]{2}$/;
const kinds: readonly RegionKind[] = ["region", "multi-region", "dual-region"];

function bad(field: string, message: string, file: string | undefined): never {
  throw new VigilError("VIGIL_BAD_CONFIG", `${file ? `${file}: ` : ""}${field}: ${message}`, { field, ...(file ? { file } : {}) });
}

function readRegion(code: string, value: unknown, provider: string, providerTitle: string, field: string, file: string | undefined): Region {
  if (!isObject(value)) bad(field, "must be a map {name, country, lat, lon}", file);
  const name = value["name"];
  if (typeof name !== "string" || name === "") bad(`${field}.name`, "must be the region's display name", file);
  const kind = value["kind"] ?? "region";
  if (!kinds.includes(kind as RegionKind)) bad(`${field}.kind`, `must be one of ${kinds.join(", ")}; got ${JSON.stringify(kind)}`, file);
  const list = value["countries"] ?? (value["country"] === undefined ? undefined : [value["country"]]);
  if (!Array.isArray(list) || list.length === 0 || !list.every((c) => typeof c === "string" && COUNTRY.test(c))) {
    bad(`${field}.${value["countries"] === undefined ? "country" : "countries"}`, `must be ISO 3166-1 alpha-2 country code${value["countries"] === undefined ? "" : "s"} (upper case, e.g. "DE"); got ${JSON.stringify(value["countries"] ?? value["country"])}`, file);
  }
  const countries = list as string[];
  for (const axis of ["lat", "lon"] as const) {
    const n = value[axis];
    const limit = axis === "lat" ? 90 : 180;
    if (typeof n !== "number" || !Number.isFinite(n) || Math.abs(n) > limit) bad(`${field}.${axis}`, `must be a number between -${limit} and ${limit}; got ${JSON.stringify(n)}`, file);
  }
  const pair = value["pair"];
  if (pair !== undefined && typeof pair !== "string") bad(`${field}.pair`, "must be a region code", file);
  const restricted = value["restricted"] ?? false;
  if (typeof restricted !== "boolean") bad(`${field}.restricted`, "must be true or false", file);
  const jurisdictions = [...new Set(countries.map(jurisdictionOf))];
  const jurisdiction = jurisdictions.length === 1 ? (jurisdictions[0] as string) : countries.join("/");
  return {
    code, provider, providerTitle, name, kind: kind as RegionKind, countries, country: countries.join("/"), jurisdiction,
    lat: value["lat"] as number, lon: value["lon"] as number, ...(typeof pair === "string" ? { pair } : {}), restricted,
  };
}

/**
 * Builds a catalog from parsed catalog data (`{<provider>: {title, regions: {<code>: {...}}}}`) and
 * custom regions. Throws VigilError(VIGIL_BAD_CONFIG) naming the entry and field
 * (`aws.regions.eu-west-1.lat`). Later entries with the same provider and code replace earlier ones.
 */
export function createRegionCatalog(data: unknown, custom: readonly CustomRegion[] = [], file?: string): RegionCatalog {
  if (!isObject(data)) bad("(catalog)", "must be a map of providers {aws: {title, regions}, ...}", file);
  const all: Region[] = [];
  const titles = new Map<string, string>();
  for (const [provider, section] of Object.entries(data)) {
    if (!isObject(section) || !isObject(section["regions"])) bad(`${provider}.regions`, "must be a map of region code → {name, country, lat, lon}", file);
    const title = typeof section["title"] === "string" ? section["title"] : provider;
    titles.set(provider, title);
    for (const [code, value] of Object.entries(section["regions"] as Json)) all.push(readRegion(code, value, provider, title, `${provider}.regions.${code}`, file));
  }
  custom.forEach((region, index) => {
    const field = `customRegions[${index}]`;
    const provider = catalogProvider(region.provider);
    if (!titles.has(provider)) titles.set(provider, provider);
    all.push(readRegion(region.code, { name: region.name, country: region.country, lat: region.lat, lon: region.lon }, provider, titles.get(provider) as string, field, file));
  });
  const byKey = new Map<string, Region[]>();
  for (const region of all) {
    const key = regionKey(region.code);
    const list = (byKey.get(key) ?? []).filter((r) => r.provider !== region.provider);
    list.push(region);
    byKey.set(key, list);
  }
  const regions = [...byKey.values()].flat();
  const providers = [...titles.keys()];
  const byProvider = new Map<string, Region[]>(providers.map((p) => [p, regions.filter((r) => r.provider === p)]));
  for (const region of regions) {
    if (region.pair !== undefined && !byKey.get(regionKey(region.pair))?.some((r) => r.provider === region.provider)) {
      bad(`${region.provider}.regions.${region.code}.pair`, `names ${JSON.stringify(region.pair)}, which is not a region of ${region.provider} in the catalog`, file);
    }
  }

  return {
    providers,
    lookup(code, provider) {
      if (typeof code !== "string" || code.trim() === "") return undefined;
      const wanted = provider === undefined ? undefined : catalogProvider(provider);
      // A zone is in its region: the code itself, then the regions it names (zoneParents).
      for (const key of [regionKey(code), ...zoneParents(regionKey(code))]) {
        const list = byKey.get(key);
        const found = list === undefined ? undefined : wanted === undefined ? list[0] : list.find((r) => r.provider === wanted);
        if (found !== undefined) return found;
      }
      return undefined;
    },
    regions(provider) {
      return provider === undefined ? regions : byProvider.get(catalogProvider(provider)) ?? [];
    },
    nearest(from, accept, options = {}) {
      const exclude = new Set((options.exclude ?? []).map(regionKey));
      const kind = options.kind ?? "region";
      const provider = options.provider === undefined ? undefined : catalogProvider(options.provider);
      let best: { region: Region; rank: number; distance: number } | undefined;
      for (const region of regions) {
        if (region.restricted || exclude.has(regionKey(region.code)) || !accept(region)) continue;
        // Rank: provider preference first, then kind, so a nearer region of another provider never beats one of the same provider.
        const rank = (provider !== undefined && region.provider !== provider ? 2 : 0) + (region.kind === kind ? 0 : 1);
        const distance = distanceKm(from, region);
        if (best === undefined || rank < best.rank || (rank === best.rank && distance < best.distance)) best = { region, rank, distance };
      }
      if (best === undefined) return undefined;
      return { region: best.region, distanceKm: Math.round(best.distance), sameProvider: provider === undefined || best.region.provider === provider };
    },
    similar(code, provider) {
      const key = regionKey(code);
      let best: { code: string; distance: number } | undefined;
      for (const region of provider === undefined ? regions : byProvider.get(catalogProvider(provider)) ?? []) {
        const distance = levenshtein(key, regionKey(region.code), 2);
        if (distance <= 2 && (best === undefined || distance < best.distance)) best = { code: region.code, distance };
      }
      return best?.code;
    },
    title(provider) {
      return titles.get(catalogProvider(provider)) ?? provider;
    },
  };
}

/** Reads and validates a catalog file (default: the shipped one) plus custom regions. Throws VigilError(VIGIL_BAD_CONFIG). */
export function loadRegionCatalog(file: string = shippedRegionsFile, custom: readonly CustomRegion[] = []): RegionCatalog {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (cause) {
    throw new VigilError("VIGIL_BAD_CONFIG", `cannot read the region catalog ${file}: ${(cause as NodeJS.ErrnoException).code ?? (cause as Error).message}`, { file }, cause);
  }
  let data: unknown;
  try {
    data = parseYaml(text);
  } catch (cause) {
    throw new VigilError("VIGIL_BAD_CONFIG", `${file} is not valid YAML: ${(cause as Error).message.split("\n")[0]}`, { file }, cause);
  }
  return createRegionCatalog(data, custom, file);
}

let shipped: RegionCatalog | undefined;

/** The shipped catalog without custom regions, loaded once. */
export function shippedRegionCatalog(): RegionCatalog {
  return (shipped ??= loadRegionCatalog());
}
