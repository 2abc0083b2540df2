/**
 * Settings of the residency pack (packs/residency/settings.yaml): data classes, regulations,
 * geographies, treatments that lift the rules (anonymised, aggregated), the label keys read on
 * every input, Kubernetes cluster regions and custom regions. Validated once where they enter;
 * an unknown key or a bad value is a VigilError(VIGIL_BAD_CONFIG) naming the setting.
 */
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { parse as parseYaml } from "yaml";
import { VigilError } from "../../core/errors.js";
import { EEA_ONLY_COUNTRIES, EU_COUNTRIES, type CustomRegion } from "./catalog.js";

/** The shipped settings file. */
export const residencySettingsFile = fileURLToPath(new URL("../../../packs/residency/settings.yaml", import.meta.url));

/** A data class: where data of this class may be stored. */
export interface DataClassRule {
  /** Words shown in messages: "personal data". */
  readonly title: string;
  /** Other label values meaning this class (`pii`, `phi`). */
  readonly aliases: readonly string[];
  /** The regulation that applies unless the data is labelled with another one. */
  readonly regulation?: string;
  /** Allowed places: `any`, ISO country codes, geography names. Absent: the regulation's. */
  readonly allowed?: readonly string[];
  /** True: only the data's country of origin (and inside the other limits). */
  readonly local: boolean;
}

/** A regulation: where data under it may go without a transfer mechanism. */
export interface RegulationRule {
  readonly title: string;
  readonly allowed: readonly string[];
  /** Places with an adequacy decision, allowed too when `useAdequacy` is true. */
  readonly adequacy: readonly string[];
  readonly useAdequacy: boolean;
}

/** A treatment (anonymised, aggregated) under which the class's limits do not apply. */
export interface TreatmentRule {
  /** Label / classification / purpose words meaning this treatment. */
  readonly values: readonly string[];
  /** Why the data may go anywhere, quoted in explanations. */
  readonly reason: string;
}

export interface ResidencySettings {
  /** Label, annotation and tag keys read (first present wins), compared case-insensitively. */
  readonly labels: {
    readonly classification: readonly string[];
    readonly regulation: readonly string[];
    readonly treatment: readonly string[];
    readonly origin: readonly string[];
  };
  /** Kubernetes node label keys that name a region. */
  readonly regionLabels: readonly string[];
  /** Data class of data without a classification. */
  readonly unclassified: string;
  /** Country of origin of data that names none (for `local` classes). */
  readonly homeCountry?: string;
  /** Geography name → countries (built-ins EU, EEA, UK, GDPR-ADEQUATE plus the configured ones), resolved. */
  readonly geographies: Readonly<Record<string, readonly string[]>>;
  readonly regulations: Readonly<Record<string, RegulationRule>>;
  readonly dataClasses: Readonly<Record<string, DataClassRule>>;
  readonly treatments: Readonly<Record<string, TreatmentRule>>;
  /** Where workloads without a region constraint run: event `source` glob → region. */
  readonly kubernetes: { readonly clusters: readonly { readonly source: string; readonly region: string }[] };
  readonly customRegions: readonly CustomRegion[];
  /** Most entries listed per list of `context.residency` (counts stay exact). */
  readonly maxListed: number;
}

/**
 * Built-in geographies. GDPR-ADEQUATE: the countries and territories with a European Commission
 * adequacy decision (GDPR Art. 45), without the United States, whose EU-US Data Privacy
 * Framework decision covers only certified organisations (add it per transfer, as an exception).
 */
export const builtinGeographies: Readonly<Record<string, readonly string[]>> = {
  EU: EU_COUNTRIES,
  EEA: [...EU_COUNTRIES, ...EEA_ONLY_COUNTRIES],
  UK: ["GB"],
  "GDPR-ADEQUATE": ["AD", "AR", "CA", "CH", "FO", "GB", "GG", "IL", "IM", "JE", "JP", "KR", "NZ", "UY"],
};

export const defaultResidencySettings: ResidencySettings = {
  labels: {
    classification: ["vigil.dev/data-class", "data-classification", "dataClassification", "data_classification", "classification"],
    regulation: ["vigil.dev/regulation", "data-regulation", "regulation"],
    treatment: ["vigil.dev/data-treatment", "data-treatment"],
    origin: ["vigil.dev/data-country", "data-country"],
  },
  regionLabels: ["topology.kubernetes.io/region", "failure-domain.beta.kubernetes.io/region"],
  unclassified: "internal",
  geographies: builtinGeographies,
  regulations: {
    gdpr: { title: "GDPR", allowed: ["EEA"], adequacy: ["GDPR-ADEQUATE"], useAdequacy: false },
    "uk-gdpr": { title: "UK GDPR", allowed: ["UK", "EEA"], adequacy: [], useAdequacy: false },
    "swiss-fadp": { title: "Swiss FADP", allowed: ["CH", "EEA"], adequacy: [], useAdequacy: false },
  },
  dataClasses: {
    public: { title: "public data", aliases: ["open"], allowed: ["any"], local: false },
    internal: { title: "internal data", aliases: [], allowed: ["any"], local: false },
    confidential: { title: "confidential data", aliases: [], allowed: ["any"], local: false },
    personal: { title: "personal data", aliases: ["pii", "personal-data", "customer-data"], regulation: "gdpr", local: false },
    sensitive: { title: "special-category personal data", aliases: ["special-category", "sensitive-personal"], regulation: "gdpr", allowed: ["EEA"], local: false },
    health: { title: "health data", aliases: ["phi", "medical"], regulation: "gdpr", local: true },
    financial: { title: "financial data", aliases: ["pci", "payment"], allowed: ["EEA", "CH", "UK"], local: false },
  },
  treatments: {
    anonymised: { values: ["anonymised", "anonymized", "anonymous"], reason: "anonymised data is not personal data (GDPR Recital 26)" },
    aggregated: { values: ["aggregated", "aggregate", "statistical"], reason: "aggregated statistics identify no one" },
  },
  kubernetes: { clusters: [] },
  customRegions: [],
  maxListed: 50,
};

type Json = Record<string, unknown>;
const isObject = (value: unknown): value is Json => value !== null && typeof value === "object" && !Array.isArray(value);
const COUNTRY = /^[A-Z]{2}$/;

class Reader {
  constructor(private readonly prefix: string) {}
  fail(field: string, message: string): never {
    const at = field === "" ? this.prefix : `${this.prefix}.${field}`;
    throw new VigilError("VIGIL_BAD_CONFIG", `${at} ${message}`, { field: at });
  }
  map(value: unknown, field: string, known?: readonly string[]): Json {
    if (!isObject(value)) this.fail(field, `must be a map; got ${Array.isArray(value) ? "a list" : JSON.stringify(value)}`);
    if (known) for (const key of Object.keys(value)) if (!known.includes(key)) this.fail(`${field}.${key}`.replace(/^\./, ""), `is not a setting; known: ${known.join(", ")}`);
    return value;
  }
  strings(value: unknown, field: string, allowEmpty = true): string[] {
    if (!Array.isArray(value) || !value.every((v) => typeof v === "string" && v.trim() !== "") || (!allowEmpty && value.length === 0)) {
      this.fail(field, `must be a list of ${allowEmpty ? "" : "at least one "}non-empty string${allowEmpty ? "s" : ""}; got ${JSON.stringify(value)}`);
    }
    return value as string[];
  }
  string(value: unknown, field: string): string {
    if (typeof value !== "string" || value.trim() === "") this.fail(field, `must be a non-empty string; got ${JSON.stringify(value)}`);
    return value;
  }
  bool(value: unknown, field: string): boolean {
    if (typeof value !== "boolean") this.fail(field, `must be true or false; got ${JSON.stringify(value)}`);
    return value;
  }
}

const topKeys = ["labels", "regionLabels", "unclassified", "homeCountry", "geographies", "regulations", "dataClasses", "treatments", "kubernetes", "customRegions", "maxListed"];

function resolveGeographies(raw: Readonly<Record<string, readonly string[]>>, r: Reader): Record<string, readonly string[]> {
  const out: Record<string, readonly string[]> = {};
  const visiting = new Set<string>();
  const resolve = (name: string, path: string): readonly string[] => {
    const known = out[name];
    if (known) return known;
    if (visiting.has(name)) r.fail(path, `refers to itself through ${[...visiting].join(" → ")}`);
    const members = raw[name];
    if (members === undefined) r.fail(path, `names the unknown geography ${JSON.stringify(name)}`);
    visiting.add(name);
    const countries = new Set<string>();
    members.forEach((member, index) => {
      if (COUNTRY.test(member)) countries.add(member);
      else for (const c of resolve(member, `geographies.${name}[${index}]`)) countries.add(c);
    });
    visiting.delete(name);
    return (out[name] = [...countries]);
  };
  for (const name of Object.keys(raw)) resolve(name, `geographies.${name}`);
  return out;
}

/** Checks a list of allowed places: `any`, country codes, geography names. */
function places(values: readonly string[], field: string, geographies: Readonly<Record<string, readonly string[]>>, r: Reader): readonly string[] {
  values.forEach((value, index) => {
    if (value === "any" || COUNTRY.test(value) || geographies[value] !== undefined) return;
    r.fail(`${field}[${index}]`, `is ${JSON.stringify(value)}: give "any", an ISO 3166-1 alpha-2 country code (upper case) or a geography (${Object.keys(geographies).join(", ")})`);
  });
  if (values.includes("any") && values.length > 1) r.fail(field, `mixes "any" with other places; "any" alone allows everywhere`);
  return values;
}

/**
 * Validates settings over a base (default: the defaults). Maps (`geographies`, `regulations`,
 * `dataClasses`, `treatments`) merge by key; lists replace. Throws VigilError(VIGIL_BAD_CONFIG)
 * naming the setting (`residency.dataClasses.health.allowed[0]`).
 */
export function resolveResidencySettings(input: unknown, options: { readonly base?: ResidencySettings; readonly prefix?: string } = {}): ResidencySettings {
  const base = options.base ?? defaultResidencySettings;
  const r = new Reader(options.prefix ?? "residency");
  if (input === undefined || input === null) return base;
  const raw = r.map(input, "", topKeys);
  const labelsRaw = raw["labels"] === undefined ? {} : r.map(raw["labels"], "labels", ["classification", "regulation", "treatment", "origin"]);
  const labels = {
    classification: labelsRaw["classification"] === undefined ? base.labels.classification : r.strings(labelsRaw["classification"], "labels.classification", false),
    regulation: labelsRaw["regulation"] === undefined ? base.labels.regulation : r.strings(labelsRaw["regulation"], "labels.regulation"),
    treatment: labelsRaw["treatment"] === undefined ? base.labels.treatment : r.strings(labelsRaw["treatment"], "labels.treatment"),
    origin: labelsRaw["origin"] === undefined ? base.labels.origin : r.strings(labelsRaw["origin"], "labels.origin"),
  };
  const geographyInput: Record<string, readonly string[]> = { ...base.geographies };
  if (raw["geographies"] !== undefined) {
    for (const [name, members] of Object.entries(r.map(raw["geographies"], "geographies"))) {
      if (name === "any" || COUNTRY.test(name)) r.fail(`geographies.${name}`, "cannot be named like a country code or \"any\"; use a longer name");
      geographyInput[name] = r.strings(members, `geographies.${name}`, false);
    }
  }
  const geographies = resolveGeographies(geographyInput, r);

  const regulations: Record<string, RegulationRule> = { ...base.regulations };
  if (raw["regulations"] !== undefined) {
    for (const [name, value] of Object.entries(r.map(raw["regulations"], "regulations"))) {
      const at = `regulations.${name}`;
      const v = r.map(value, at, ["title", "allowed", "adequacy", "useAdequacy"]);
      const previous = base.regulations[name];
      regulations[name] = {
        title: v["title"] === undefined ? previous?.title ?? name : r.string(v["title"], `${at}.title`),
        allowed: v["allowed"] === undefined ? previous?.allowed ?? r.fail(`${at}.allowed`, "is required: where data under this regulation may be stored") : r.strings(v["allowed"], `${at}.allowed`, false),
        adequacy: v["adequacy"] === undefined ? previous?.adequacy ?? [] : r.strings(v["adequacy"], `${at}.adequacy`),
        useAdequacy: v["useAdequacy"] === undefined ? previous?.useAdequacy ?? false : r.bool(v["useAdequacy"], `${at}.useAdequacy`),
      };
    }
  }
  for (const [name, rule] of Object.entries(regulations)) {
    places(rule.allowed, `regulations.${name}.allowed`, geographies, r);
    places(rule.adequacy, `regulations.${name}.adequacy`, geographies, r);
  }

  const dataClasses: Record<string, DataClassRule> = { ...base.dataClasses };
  if (raw["dataClasses"] !== undefined) {
    for (const [name, value] of Object.entries(r.map(raw["dataClasses"], "dataClasses"))) {
      const at = `dataClasses.${name}`;
      const v = r.map(value, at, ["title", "aliases", "regulation", "allowed", "local"]);
      const previous = base.dataClasses[name];
      const regulation = v["regulation"] === undefined ? previous?.regulation : v["regulation"] === null ? undefined : r.string(v["regulation"], `${at}.regulation`);
      const allowed = v["allowed"] === undefined ? previous?.allowed : v["allowed"] === null ? undefined : r.strings(v["allowed"], `${at}.allowed`, false);
      dataClasses[name] = {
        title: v["title"] === undefined ? previous?.title ?? `${name} data` : r.string(v["title"], `${at}.title`),
        aliases: v["aliases"] === undefined ? previous?.aliases ?? [] : r.strings(v["aliases"], `${at}.aliases`).map((a) => a.toLowerCase()),
        ...(regulation === undefined ? {} : { regulation }),
        ...(allowed === undefined ? {} : { allowed }),
        local: v["local"] === undefined ? previous?.local ?? false : r.bool(v["local"], `${at}.local`),
      };
    }
  }
  const classWords = new Map<string, string>();
  for (const [name, rule] of Object.entries(dataClasses)) {
    if (rule.regulation !== undefined && regulations[rule.regulation] === undefined) r.fail(`dataClasses.${name}.regulation`, `names the unknown regulation ${JSON.stringify(rule.regulation)}; known: ${Object.keys(regulations).join(", ")}`);
    if (rule.allowed === undefined && rule.regulation === undefined) r.fail(`dataClasses.${name}`, "needs `allowed` or `regulation`: otherwise nothing says where the data may be stored");
    if (rule.allowed !== undefined) places(rule.allowed, `dataClasses.${name}.allowed`, geographies, r);
    for (const word of [name.toLowerCase(), ...rule.aliases]) {
      const other = classWords.get(word);
      if (other !== undefined && other !== name) r.fail(`dataClasses.${name}.aliases`, `repeats ${JSON.stringify(word)}, which already means the class ${JSON.stringify(other)}`);
      classWords.set(word, name);
    }
  }

  const treatments: Record<string, TreatmentRule> = { ...base.treatments };
  if (raw["treatments"] !== undefined) {
    for (const [name, value] of Object.entries(r.map(raw["treatments"], "treatments"))) {
      const at = `treatments.${name}`;
      if (value === null) {
        delete treatments[name];
        continue;
      }
      const v = r.map(value, at, ["values", "reason"]);
      treatments[name] = {
        values: r.strings(v["values"] ?? base.treatments[name]?.values, `${at}.values`, false).map((w) => w.toLowerCase()),
        reason: r.string(v["reason"] ?? base.treatments[name]?.reason, `${at}.reason`),
      };
    }
  }
  for (const [name, rule] of Object.entries(treatments)) {
    for (const word of rule.values) if (classWords.has(word)) r.fail(`treatments.${name}.values`, `repeats ${JSON.stringify(word)}, which is a data class word`);
  }

  const unclassified = raw["unclassified"] === undefined ? base.unclassified : r.string(raw["unclassified"], "unclassified");
  if (dataClasses[unclassified] === undefined) r.fail("unclassified", `names the unknown data class ${JSON.stringify(unclassified)}; known: ${Object.keys(dataClasses).join(", ")}`);
  let homeCountry = base.homeCountry;
  if (raw["homeCountry"] === null) homeCountry = undefined;
  else if (raw["homeCountry"] !== undefined) {
    const value = r.string(raw["homeCountry"], "homeCountry");
    if (!COUNTRY.test(value)) r.fail("homeCountry", `must be an ISO 3166-1 alpha-2 country code (upper case, e.g. "DE"); got ${JSON.stringify(value)}`);
    homeCountry = value;
  }

  let clusters = base.kubernetes.clusters;
  if (raw["kubernetes"] !== undefined) {
    const k = r.map(raw["kubernetes"], "kubernetes", ["clusters"]);
    if (k["clusters"] !== undefined) {
      if (!Array.isArray(k["clusters"])) r.fail("kubernetes.clusters", "must be a list of {source, region}");
      clusters = (k["clusters"] as unknown[]).map((entry, i) => {
        const e = r.map(entry, `kubernetes.clusters[${i}]`, ["source", "region"]);
        return { source: r.string(e["source"], `kubernetes.clusters[${i}].source`), region: r.string(e["region"], `kubernetes.clusters[${i}].region`) };
      });
    }
  }

  let customRegions = base.customRegions;
  if (raw["customRegions"] !== undefined) {
    if (!Array.isArray(raw["customRegions"])) r.fail("customRegions", "must be a list of {code, provider, name, country, lat, lon}");
    customRegions = (raw["customRegions"] as unknown[]).map((entry, i) => {
      const at = `customRegions[${i}]`;
      const e = r.map(entry, at, ["code", "provider", "name", "country", "lat", "lon"]);
      for (const axis of ["lat", "lon"] as const) {
        const limit = axis === "lat" ? 90 : 180;
        const n = e[axis];
        if (typeof n !== "number" || !Number.isFinite(n) || Math.abs(n) > limit) r.fail(`${at}.${axis}`, `must be a number of degrees between -${limit} and ${limit}; got ${JSON.stringify(n)}`);
      }
      const country = r.string(e["country"], `${at}.country`);
      if (!COUNTRY.test(country)) r.fail(`${at}.country`, `must be an ISO 3166-1 alpha-2 country code (upper case, e.g. "DE"); got ${JSON.stringify(country)}`);
      return { code: r.string(e["code"], `${at}.code`), provider: r.string(e["provider"], `${at}.provider`), name: r.string(e["name"], `${at}.name`), country, lat: e["lat"] as number, lon: e["lon"] as number };
    });
  }
  const maxListed = raw["maxListed"] === undefined ? base.maxListed : typeof raw["maxListed"] === "number" && Number.isInteger(raw["maxListed"]) && raw["maxListed"] > 0 ? raw["maxListed"] : r.fail("maxListed", `must be a positive integer; got ${JSON.stringify(raw["maxListed"])}`);

  return {
    labels,
    regionLabels: raw["regionLabels"] === undefined ? base.regionLabels : r.strings(raw["regionLabels"], "regionLabels", false),
    unclassified,
    ...(homeCountry === undefined ? {} : { homeCountry }),
    geographies,
    regulations,
    dataClasses,
    treatments,
    kubernetes: { clusters },
    customRegions,
    maxListed,
  };
}

/** Reads a settings YAML file (default: the shipped one). Throws VigilError(VIGIL_BAD_CONFIG) naming the file and setting. */
export function loadResidencySettings(file: string = residencySettingsFile): ResidencySettings {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (cause) {
    throw new VigilError("VIGIL_BAD_CONFIG", `cannot read residency settings ${file}: ${(cause as NodeJS.ErrnoException).code ?? (cause as Error).message}`, { file }, cause);
  }
  let value: unknown;
  try {
    value = parseYaml(text);
  } catch (cause) {
    throw new VigilError("VIGIL_BAD_CONFIG", `${file} is not valid YAML: ${(cause as Error).message.split("\n")[0]}`, { file }, cause);
  }
  try {
    return resolveResidencySettings(value);
  } catch (error) {
    if (error instanceof VigilError) throw new VigilError(error.code, `${file}: ${error.message}`, { ...error.details, file }, error);
    throw error;
  }
}
