/**
 * Applies the residency rules to what an extractor found: resolves each region in the catalog,
 * classifies the data, decides allowed / blocked / treated, and for blocked placements suggests
 * the nearest allowed region (for replicas and transfers: the nearest allowed destination, never
 * the source itself for a replica). Pure; never throws.
 */
import { catalogProvider, type Region, type RegionCatalog } from "./catalog.js";
import type { Extraction, Placement, PlacementCandidate, PlacementKind, RegionView, ResidencySummary, Suggestion, UnknownRegion, UnpinnedWorkload } from "./model.js";
import { placeAllowed, type Classification, type DataLabels, type InputProblem, type RuleBook } from "./rules.js";

const COUNTRY = /^[A-Z]{2}$/;

const km = (n: number): string => n.toLocaleString("en-US");

const view = (region: Region): RegionView => ({ region: region.code, name: region.name, provider: region.provider, country: region.country, jurisdiction: region.jurisdiction });

const describe = (region: Region): string => `${region.code} (${region.name}, ${region.countries.length > 1 ? region.jurisdiction : region.country})`;

const moving: ReadonlySet<PlacementKind> = new Set(["replica", "backup", "transfer"]);

function phrase(kind: PlacementKind, from: string | undefined): string {
  const source = from === undefined ? "" : ` from ${from}`;
  switch (kind) {
    case "workload": return "would run in";
    case "volume": return "has its volume in";
    case "storage": return "is placed in";
    case "inventory": return "is stored in";
    case "replica": return `is replicated${source} to`;
    case "backup": return `has backups copied${source} to`;
    case "transfer": return `is transferred${source} to`;
  }
}

function globMatch(pattern: string, value: string): boolean {
  if (!pattern.includes("*")) return pattern === value;
  return new RegExp(`^${pattern.split("*").map((p) => p.replace(/[.+?^${}()|[\]\\]/g, "\\$&")).join(".*")}$`, "s").test(value);
}

function plural(n: number, word: string, suffix = "s"): string {
  return `${n} ${word}${n === 1 ? "" : suffix}`;
}

export interface Assessor {
  /** Judges every placement of an extraction. `source` is the event's source (cluster regions). Never throws. */
  assess(extraction: Extraction, options?: { readonly source?: string }): ResidencySummary;
}

export function createAssessor(rules: RuleBook, catalog: RegionCatalog): Assessor {
  const { settings } = rules;

  function unknownMessage(field: string, value: string, provider: string | undefined): string {
    const similar = catalog.similar(value, provider);
    const hint = similar === undefined ? "" : ` (did you mean ${JSON.stringify(similar)}?)`;
    if (provider !== undefined && catalog.regions(provider).length > 0) {
      const codes = catalog.regions(provider).filter((r) => !r.restricted).map((r) => r.code);
      return `${field}: unknown region ${JSON.stringify(value)}${hint}; known ${catalog.title(provider)} regions are ${codes.join(", ")}`;
    }
    return `${field}: unknown region ${JSON.stringify(value)}${hint}; the catalog knows the regions of ${catalog.providers.map((p) => catalog.title(p)).join(", ")} (e.g. eu-west-1, westeurope, europe-west1) and customRegions from the residency settings`;
  }

  return {
    assess(extraction, options = {}) {
      const placements: Placement[] = [];
      const unknownRegions: UnknownRegion[] = [];
      const unpinned: UnpinnedWorkload[] = [];
      const errors: InputProblem[] = [...extraction.errors];
      const seenErrors = new Set(errors.map((e) => e.message));
      const addError = (problem: InputProblem): void => {
        if (seenErrors.has(problem.message)) return;
        seenErrors.add(problem.message);
        errors.push(problem);
      };
      const classifications = new WeakMap<DataLabels, Classification>();
      const classify = (data: DataLabels): Classification => {
        let known = classifications.get(data);
        if (known === undefined) {
          known = rules.classify(data);
          classifications.set(data, known);
          for (const problem of known.problems) addError(problem);
        }
        return known;
      };
      /** `sibling`: the other end of a transfer, whose provider hints at this one's. */
      const resolve = (resource: string, field: string, value: string, provider: string | undefined, sibling?: string): Region | undefined => {
        // A provider the catalog has no regions for (a Terraform provider for another cloud) gives no hint.
        const hint = provider !== undefined && catalog.regions(provider).length > 0 ? provider : undefined;
        const region = catalog.lookup(value, hint);
        if (region === undefined && !unknownRegions.some((u) => u.field === field)) {
          // Without a provider, the one whose codes look like the value (`eu-west-9` → AWS) lists its regions.
          const similar = hint ?? (sibling === undefined ? undefined : catalog.lookup(sibling, undefined)?.provider) ?? catalog.lookup(catalog.similar(value) ?? "", undefined)?.provider;
          unknownRegions.push({ resource, field, region: value, ...(similar === undefined ? {} : { provider: catalogProvider(similar) }), message: unknownMessage(field, value, similar) });
        }
        return region;
      };
      const originOf = (data: DataLabels, from: Region | undefined, cls: Classification, resource: string): string | undefined => {
        if (data.origin !== undefined) {
          const value = data.origin.value.toUpperCase();
          if (COUNTRY.test(value)) return value;
          addError({ field: data.origin.field, message: `${data.origin.field}: ${JSON.stringify(data.origin.value)} is not an ISO 3166-1 alpha-2 country code (e.g. "DE")` });
        }
        if (from !== undefined && from.countries.length === 1) return from.countries[0];
        if (settings.homeCountry !== undefined) return settings.homeCountry;
        if (settings.dataClasses[cls.dataClass]?.local === true) {
          addError({ field: cls.source ?? resource, message: `${resource}: ${cls.title} may stay only in its country of origin, but none is known: label it ${settings.labels.origin[0] ?? "vigil.dev/data-country"} (ISO code) or set homeCountry in the residency settings; checked against ${cls.regulationTitle ?? "its class"} limits only` });
        }
        return undefined;
      };

      function judge(candidate: PlacementCandidate, region: Region, from: Region | undefined, cls: Classification, origin: string | undefined): Placement | undefined {
        const allowed = rules.allowed(cls, origin);
        if (allowed.any) return undefined;
        const ok = placeAllowed(allowed, region.countries);
        const under = cls.regulationTitle === undefined ? "" : ` under ${cls.regulationTitle}`;
        const head = `${candidate.kind === "transfer" ? "dataset " : ""}${candidate.resource} (${cls.title}${under}) ${phrase(candidate.kind, from?.code ?? candidate.from?.region)} ${describe(region)}`;
        const note = candidate.note === undefined ? "" : ` (${candidate.note})`;
        const base = {
          kind: candidate.kind, resource: candidate.resource, field: candidate.field, ...view(region),
          ...(candidate.from === undefined ? {} : { from: from === undefined ? { region: candidate.from.region } : view(from) }),
          dataClass: cls.dataClass, dataTitle: cls.title, ...(cls.source === undefined ? {} : { classifiedBy: cls.source }),
          ...(cls.regulation === undefined ? {} : { regulation: cls.regulation }), allowedIn: allowed.text, rule: allowed.rule,
        };
        if (ok) return { ...base, verdict: "allowed", message: `${head}${note}, inside ${allowed.text}` };
        if (cls.treatment !== undefined) {
          return { ...base, verdict: "treated", treatment: cls.treatment.name, treatmentReason: cls.treatment.reason, message: `${head}${note}, outside ${allowed.text}, allowed because it is ${cls.treatment.name} (${cls.treatment.field}): ${cls.treatment.reason}` };
        }
        const exclude = moving.has(candidate.kind) && candidate.kind !== "transfer" && from !== undefined ? [from.code] : [];
        const nearest = catalog.nearest(region, (r) => placeAllowed(allowed, r.countries), { provider: region.provider, kind: region.kind, exclude });
        let suggestion: Suggestion | undefined;
        let advice: string;
        if (nearest === undefined) advice = `no region in the catalog is allowed for this data`;
        else {
          suggestion = { ...view(nearest.region), distanceKm: nearest.distanceKm, sameProvider: nearest.sameProvider };
          const which = nearest.sameProvider ? `${catalog.title(region.provider)} region` : `region (no ${catalog.title(region.provider)} region is allowed)`;
          advice = moving.has(candidate.kind)
            ? `reroute to ${describe(nearest.region)}, the nearest allowed ${which} to ${region.code}, ${km(nearest.distanceKm)} km away`
            : `nearest allowed ${which}: ${describe(nearest.region)}, ${km(nearest.distanceKm)} km away`;
        }
        return { ...base, verdict: "blocked", ...(suggestion === undefined ? {} : { suggestion }), message: `${head}${note}, outside ${allowed.text}; ${advice}` };
      }

      for (const candidate of extraction.placements) {
        const cls = classify(candidate.data);
        const region = resolve(candidate.resource, candidate.field, candidate.region, candidate.provider, candidate.from?.region);
        const from = candidate.from === undefined ? undefined : resolve(candidate.resource, candidate.from.field, candidate.from.region, candidate.from.provider ?? candidate.provider, candidate.region);
        if (region === undefined) continue;
        const placement = judge(candidate, region, from, cls, originOf(candidate.data, from, cls, candidate.resource));
        if (placement !== undefined) placements.push(placement);
      }

      for (const workload of extraction.unconstrained) {
        const cls = classify(workload.data);
        const origin = originOf(workload.data, undefined, cls, workload.resource);
        const allowed = rules.allowed(cls, origin);
        if (allowed.any) continue;
        const index = options.source === undefined ? -1 : settings.kubernetes.clusters.findIndex((c) => globMatch(c.source, options.source as string));
        const cluster = index < 0 ? undefined : settings.kubernetes.clusters[index];
        if (cluster !== undefined) {
          const field = `residency.kubernetes.clusters[${index}].region`;
          const region = resolve(workload.resource, field, cluster.region, undefined);
          const placement = region === undefined ? undefined : judge({ kind: "workload", resource: workload.resource, field, region: cluster.region, data: workload.data }, region, undefined, cls, origin);
          if (placement !== undefined) placements.push(placement);
          continue;
        }
        const under = cls.regulationTitle === undefined ? "" : ` under ${cls.regulationTitle}`;
        unpinned.push({
          resource: workload.resource, field: workload.field, dataClass: cls.dataClass, allowedIn: allowed.text,
          message: `${workload.resource} (${cls.title}${under}) has no region constraint and its cluster's region is unknown: pin it with nodeSelector ${settings.regionLabels[0] ?? "topology.kubernetes.io/region"}: <a region in ${allowed.text}>, or name the cluster's region in the residency settings (kubernetes.clusters)`,
        });
      }

      const blocked = placements.filter((p) => p.verdict === "blocked");
      const treated = placements.filter((p) => p.verdict === "treated");
      const cap = settings.maxListed;
      const parts: string[] = [];
      if (placements.length === 0) parts.push("no placement of restricted data");
      else if (blocked.length === 0) parts.push(`${placements.length === 1 ? "the placement" : `all ${placements.length} placements`} of restricted data inside the allowed regions`);
      else parts.push(`${blocked.length} of ${plural(placements.length, "placement")} of restricted data outside the allowed regions`);
      if (treated.length > 0) parts.push(`${treated.length} allowed as ${[...new Set(treated.map((t) => t.treatment))].join("/")}`);
      if (unpinned.length > 0) parts.push(`${plural(unpinned.length, "restricted workload")} not pinned to a region`);
      if (unknownRegions.length > 0) parts.push(plural(unknownRegions.length, "unknown region"));
      if (errors.length > 0) parts.push(plural(errors.length, "input problem"));
      return {
        input: extraction.input,
        placements: placements.slice(0, cap),
        blocked: blocked.slice(0, cap),
        treated: treated.slice(0, cap),
        unpinned: unpinned.slice(0, cap),
        unknownRegions: unknownRegions.slice(0, cap),
        errors: errors.slice(0, cap),
        counts: { placements: placements.length, blocked: blocked.length, treated: treated.length, unpinned: unpinned.length, unknownRegions: unknownRegions.length, errors: errors.length },
        summary: parts.join("; "),
      };
    },
  };
}
