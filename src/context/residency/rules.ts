/**
 * The residency rules: which data class, regulation and treatment a piece of data has (from the
 * labels, tags and fields an input carries), and where it may therefore be stored. Pure and
 * cached per (class, regulation, origin): an input with thousands of resources resolves each
 * rule once.
 */
import type { ResidencySettings } from "./settings.js";

/** A label value and where it was read (`metadata.labels["vigil.dev/data-class"]`). */
export interface LabelValue {
  readonly value: string;
  readonly field: string;
  /** Treatments: true when the value must name a known treatment (a treatment label or flag), false for free text (a purpose). */
  readonly strict?: boolean;
}

/** What an input says about its data; extractors fill it in. */
export interface DataLabels {
  /** Classification candidates, most specific first (the workload before its namespace). */
  readonly classification: readonly LabelValue[];
  readonly regulation?: LabelValue;
  /** Treatment labels, flags (`anonymised: true`) and purpose words. */
  readonly treatment: readonly LabelValue[];
  /** The data's country of origin (ISO code), when labelled. */
  readonly origin?: LabelValue;
}

export interface InputProblem {
  /** Where in the input (a JSON path, a label key). */
  readonly field: string;
  readonly message: string;
}

export interface Classification {
  readonly dataClass: string;
  /** "personal data". */
  readonly title: string;
  /** Field the class was read from; absent for unclassified data. */
  readonly source?: string;
  readonly regulation?: string;
  readonly regulationTitle?: string;
  readonly treatment?: { readonly name: string; readonly reason: string; readonly field: string };
  readonly problems: readonly InputProblem[];
}

/** Where data may be stored: anywhere, or a set of countries, with the words for messages. */
export interface AllowedPlaces {
  readonly any: boolean;
  readonly countries: ReadonlySet<string>;
  /** "EEA", "EEA, CH, UK", "DE (country of origin)". */
  readonly text: string;
  /** "personal data under GDPR may be stored in EEA". */
  readonly rule: string;
}

const SPLIT = /[\s,;/|+]+/;

/** Reads the first of `keys` present in any of `maps` (in order; keys compared case-insensitively). */
export function readLabel(maps: readonly { readonly map: unknown; readonly field: string }[], keys: readonly string[]): LabelValue | undefined {
  for (const { map, field } of maps) {
    if (map === null || typeof map !== "object" || Array.isArray(map)) continue;
    const entries = Object.entries(map as Record<string, unknown>);
    for (const key of keys) {
      const lower = key.toLowerCase();
      const hit = entries.find(([k, v]) => k.toLowerCase() === lower && (typeof v === "string" || typeof v === "boolean") && String(v).trim() !== "");
      if (hit) return { value: String(hit[1]).trim(), field: `${field}[${JSON.stringify(hit[0])}]` };
    }
  }
  return undefined;
}

/** Every value of `keys` present in `maps` (all of them; for treatments, which may be given in several places). */
export function readLabels(maps: readonly { readonly map: unknown; readonly field: string }[], keys: readonly string[]): LabelValue[] {
  const out: LabelValue[] = [];
  for (const entry of maps) {
    const hit = readLabel([entry], keys);
    if (hit) out.push(hit);
  }
  return out;
}

export interface RuleBook {
  readonly settings: ResidencySettings;
  /** Class, regulation and treatment of labelled data. Never throws; problems are listed. */
  classify(labels: DataLabels): Classification;
  /** Where data of this classification (and origin country) may be stored. */
  allowed(classification: Classification, origin: string | undefined): AllowedPlaces;
}

export function createRuleBook(settings: ResidencySettings): RuleBook {
  const classWords = new Map<string, string>();
  for (const [name, rule] of Object.entries(settings.dataClasses)) {
    classWords.set(name.toLowerCase(), name);
    for (const alias of rule.aliases) classWords.set(alias.toLowerCase(), name);
  }
  const treatmentWords = new Map<string, string>();
  for (const [name, rule] of Object.entries(settings.treatments)) for (const word of rule.values) treatmentWords.set(word.toLowerCase(), name);
  const knownClasses = Object.keys(settings.dataClasses).join(", ");
  const expanded = new Map<string, ReadonlySet<string> | "any">();
  const cache = new Map<string, AllowedPlaces>();

  function expand(places: readonly string[]): ReadonlySet<string> | "any" {
    const key = places.join(",");
    const known = expanded.get(key);
    if (known !== undefined) return known;
    let result: ReadonlySet<string> | "any";
    if (places.includes("any")) result = "any";
    else {
      const set = new Set<string>();
      for (const place of places) for (const c of settings.geographies[place] ?? [place]) set.add(c);
      result = set;
    }
    expanded.set(key, result);
    return result;
  }

  function intersect(a: ReadonlySet<string> | "any", b: ReadonlySet<string> | "any"): ReadonlySet<string> | "any" {
    if (a === "any") return b;
    if (b === "any") return a;
    return new Set([...a].filter((c) => b.has(c)));
  }

  const sameSet = (a: ReadonlySet<string>, b: ReadonlySet<string> | "any"): boolean => b !== "any" && a.size === b.size && [...a].every((c) => b.has(c));

  function classify(labels: DataLabels): Classification {
    const problems: InputProblem[] = [];
    let dataClass: string | undefined;
    let source: string | undefined;
    let treatment: Classification["treatment"];
    const noteTreatment = (word: string, field: string): boolean => {
      const name = treatmentWords.get(word);
      if (name === undefined) return false;
      treatment ??= { name, reason: settings.treatments[name]?.reason ?? name, field };
      return true;
    };
    for (const candidate of labels.classification) {
      let recognised = false;
      for (const token of candidate.value.toLowerCase().split(SPLIT)) {
        if (token === "") continue;
        if (noteTreatment(token, candidate.field)) {
          recognised = true;
          continue;
        }
        const name = classWords.get(token);
        if (name !== undefined) {
          recognised = true;
          if (dataClass === undefined) {
            dataClass = name;
            source = candidate.field;
          }
        }
      }
      if (!recognised) problems.push({ field: candidate.field, message: `${candidate.field}: unknown data class ${JSON.stringify(candidate.value)}; known: ${knownClasses} (aliases in the residency settings)` });
      if (dataClass !== undefined) break;
    }
    for (const label of labels.treatment) {
      const value = label.value.toLowerCase();
      if (value === "false" || value === "none" || value === "") continue;
      const tokens = value.split(/[^a-z0-9]+/).filter((t) => t !== "");
      const found = tokens.filter((token) => noteTreatment(token, label.field)).length > 0;
      if (!found && label.strict === true) {
        problems.push({ field: label.field, message: `${label.field}: unknown treatment ${JSON.stringify(label.value)}; known: ${[...treatmentWords.keys()].join(", ")}` });
      }
    }
    const name = dataClass ?? settings.unclassified;
    const rule = settings.dataClasses[name];
    let regulation = rule?.regulation;
    if (labels.regulation !== undefined) {
      const wanted = labels.regulation.value.toLowerCase();
      if (settings.regulations[wanted] !== undefined) regulation = wanted;
      else problems.push({ field: labels.regulation.field, message: `${labels.regulation.field}: unknown regulation ${JSON.stringify(labels.regulation.value)}; known: ${Object.keys(settings.regulations).join(", ")}` });
    }
    return {
      dataClass: name,
      title: rule?.title ?? `${name} data`,
      ...(source === undefined ? {} : { source }),
      ...(regulation === undefined ? {} : { regulation, regulationTitle: settings.regulations[regulation]?.title ?? regulation }),
      ...(treatment === undefined ? {} : { treatment }),
      problems,
    };
  }

  function allowed(classification: Classification, origin: string | undefined): AllowedPlaces {
    const rule = settings.dataClasses[classification.dataClass];
    const local = rule?.local === true && origin !== undefined;
    const key = `${classification.dataClass}|${classification.regulation ?? ""}|${local ? origin : ""}`;
    const known = cache.get(key);
    if (known !== undefined) return known;
    const regulation = classification.regulation === undefined ? undefined : settings.regulations[classification.regulation];
    const regulationPlaces = regulation === undefined ? undefined : regulation.useAdequacy ? [...regulation.allowed, ...regulation.adequacy] : regulation.allowed;
    const regSet = regulationPlaces === undefined ? "any" : expand(regulationPlaces);
    const classSet = rule?.allowed === undefined ? "any" : expand(rule.allowed);
    let set = intersect(regSet, classSet);
    let text: string;
    if (local) {
      set = intersect(set, new Set([origin as string]));
      text = `${origin} (country of origin)`;
    } else if (set === "any") text = "any region";
    else if (sameSet(set, classSet)) text = (rule?.allowed ?? []).join(", ");
    else if (regulationPlaces !== undefined && sameSet(set, regSet)) text = regulationPlaces.join(", ");
    else text = set.size <= 8 ? [...set].sort().join(", ") : `${set.size} countries`;
    const under = classification.regulationTitle === undefined ? "" : ` under ${classification.regulationTitle}`;
    const places: AllowedPlaces = {
      any: set === "any",
      countries: set === "any" ? new Set() : set,
      text,
      rule: set === "any" ? `${classification.title}${under} may be stored anywhere` : set.size === 0 ? `${classification.title}${under} may be stored nowhere (the rules exclude every country)` : `${classification.title}${under} may be stored only in ${text}`,
    };
    cache.set(key, places);
    return places;
  }

  return { settings, classify, allowed };
}

/** True when every country a region may hold data in is allowed. */
export function placeAllowed(places: AllowedPlaces, countries: readonly string[]): boolean {
  return places.any || countries.every((c) => places.countries.has(c));
}
