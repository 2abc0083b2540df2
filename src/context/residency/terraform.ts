/**
 * Where a Terraform plan (`terraform show -json`) puts data. For each managed resource the plan
 * creates or updates: its region (`after.region`, `after.location`, a Google `zone`, else the
 * region of its provider configuration, read from `configuration.provider_config` and
 * `variables`), its data class (tags / labels, including the AWS provider's default_tags), and
 * the copies it makes elsewhere:
 * - aws_s3_bucket_replication_configuration (and the legacy inline replication_configuration):
 *   the destination bucket's region (found by bucket name or by the configuration's references);
 * - aws_dynamodb_table replicas (`replica[].region_name`); aws_db_instance read replicas of a
 *   source in another region (`replicate_source_db` ARN); aws_backup_plan copy actions
 *   (`destination_vault_arn`);
 * - azurerm_storage_account geo-redundancy (GRS, RA-GRS, GZRS, RA-GZRS → the paired region);
 *   azurerm_cosmosdb_account `geo_location`; google_storage_bucket custom dual-regions.
 * Deleted, read and unchanged resources place nothing. Never throws.
 */
import { validateTerraformPlan } from "../../sources/terraform.js";
import type { RegionCatalog } from "./catalog.js";
import type { Extraction, PlacementCandidate, PlacementKind } from "./model.js";
import { readLabel, readLabels, type DataLabels, type InputProblem, type LabelValue } from "./rules.js";
import type { ResidencySettings } from "./settings.js";

type Json = Record<string, unknown>;
const isObject = (value: unknown): value is Json => value !== null && typeof value === "object" && !Array.isArray(value);
const str = (value: unknown): string | undefined => (typeof value === "string" && value.trim() !== "" ? value.trim() : undefined);
const list = (value: unknown): unknown[] => (Array.isArray(value) ? value : []);
const q = (key: string): string => `[${JSON.stringify(key)}]`;

interface Located {
  readonly value: string;
  readonly field: string;
}

interface ResourceInfo {
  readonly index: number;
  readonly address: string;
  readonly type: string;
  readonly provider: string;
  readonly after: Json;
  readonly base: string;
  readonly region?: Located;
  readonly data: DataLabels;
  readonly configKey: string;
}

const GEO_REDUNDANT: Readonly<Record<string, string>> = { GRS: "GRS", RAGRS: "RA-GRS", GZRS: "GZRS", RAGZRS: "RA-GZRS" };

/** The provider of a resource type: `aws_s3_bucket` → aws, `azurerm_...` → azurerm, `google_...` → google. */
function providerOf(type: string, providerName: unknown): string {
  const name = str(providerName);
  if (name !== undefined) {
    const last = name.split("/").pop() ?? name;
    if (last !== "") return last;
  }
  return type.split("_")[0] ?? type;
}

/** Region in an ARN (`arn:aws:s3:::bucket` has none; `arn:aws:rds:eu-west-1:...` has one). */
function arnRegion(arn: unknown): string | undefined {
  const match = typeof arn === "string" ? /^arn:[^:]+:[^:]*:([a-z0-9-]+):/.exec(arn) : null;
  return match?.[1];
}

/** `module.a[0].module.b["x"]` → `module.a.module.b` (configuration addresses have no instance keys). */
function moduleConfigPath(moduleAddress: unknown): string {
  return typeof moduleAddress === "string" ? moduleAddress.replace(/\[[^\]]*\]/g, "") : "";
}

/** The configuration's resources by module path + address, with their provider key and expressions. */
function configResources(configuration: unknown): Map<string, Json> {
  const out = new Map<string, Json>();
  const walk = (module: unknown, prefix: string, depth: number): void => {
    if (!isObject(module) || depth > 20) return;
    for (const resource of list(module["resources"])) {
      if (isObject(resource) && typeof resource["address"] === "string") out.set(`${prefix}${resource["address"]}`, resource);
    }
    if (isObject(module["module_calls"])) {
      for (const [name, call] of Object.entries(module["module_calls"])) {
        if (isObject(call)) walk(call["module"], `${prefix}module.${name}.`, depth + 1);
      }
    }
  };
  if (isObject(configuration)) walk(configuration["root_module"], "", 0);
  return out;
}

/** A constant or a `var.x` reference of an expression, with where it was read. */
function expressionValue(expression: unknown, field: string, variables: Json): Located | undefined {
  if (!isObject(expression)) return undefined;
  const constant = str(expression["constant_value"]);
  if (constant !== undefined) return { value: constant, field: `${field}.constant_value` };
  for (const reference of list(expression["references"])) {
    const match = typeof reference === "string" ? /^var\.([A-Za-z0-9_-]+)$/.exec(reference) : null;
    const name = match?.[1];
    if (name === undefined) continue;
    const variable = variables[name];
    const value = isObject(variable) ? str(variable["value"]) : undefined;
    if (value !== undefined) return { value, field: `variables.${name}.value` };
  }
  return undefined;
}

export interface TerraformExtractOptions {
  readonly settings: ResidencySettings;
  readonly catalog: RegionCatalog;
}

/** Placements of a plan. Shape problems are listed in `errors` and the rest is still read. */
export function terraformPlacements(plan: unknown, options: TerraformExtractOptions): Extraction {
  const { settings, catalog } = options;
  const errors: InputProblem[] = validateTerraformPlan(plan).map((p) => ({ field: p.field, message: p.message }));
  const placements: PlacementCandidate[] = [];
  if (!isObject(plan) || errors.some((e) => e.field === "format_version")) return { input: "terraform-plan", placements, unconstrained: [], errors };
  const variables = isObject(plan["variables"]) ? plan["variables"] : {};
  const configuration = isObject(plan["configuration"]) ? plan["configuration"] : {};
  const providerConfigs = isObject(configuration["provider_config"]) ? configuration["provider_config"] : {};
  const configs = configResources(configuration);
  const providerRegion = new Map<string, Located | undefined>();
  const providerTags = new Map<string, { map: unknown; field: string } | undefined>();
  const regionOfProvider = (key: string): Located | undefined => {
    if (!providerRegion.has(key)) {
      const config = providerConfigs[key];
      const expressions = isObject(config) && isObject(config["expressions"]) ? config["expressions"] : {};
      providerRegion.set(key, expressionValue(expressions["region"], `configuration.provider_config${q(key)}.expressions.region`, variables));
      const defaultTags = list(expressions["default_tags"])[0];
      const tags = isObject(defaultTags) && isObject(defaultTags["tags"]) ? defaultTags["tags"]["constant_value"] : undefined;
      providerTags.set(key, isObject(tags) ? { map: tags, field: `configuration.provider_config${q(key)}.expressions.default_tags[0].tags.constant_value` } : undefined);
    }
    return providerRegion.get(key);
  };

  const labelsOf = (maps: { map: unknown; field: string }[]): DataLabels => {
    const classification: LabelValue[] = [];
    for (const map of maps) {
      const hit = readLabel([map], settings.labels.classification);
      if (hit) classification.push(hit);
    }
    const regulation = readLabel(maps, settings.labels.regulation);
    const origin = readLabel(maps, settings.labels.origin);
    return { classification, ...(regulation ? { regulation } : {}), treatment: readLabels(maps, settings.labels.treatment).map((t) => ({ ...t, strict: true })), ...(origin ? { origin } : {}) };
  };

  // First pass: every managed resource the plan creates or updates, with its region and labels.
  const resources: ResourceInfo[] = [];
  const byAddress = new Map<string, ResourceInfo>();
  list(plan["resource_changes"]).forEach((rc, index) => {
    if (!isObject(rc) || rc["mode"] === "data") return;
    const change = isObject(rc["change"]) ? rc["change"] : {};
    const actions = list(change["actions"]);
    if (!actions.includes("create") && !actions.includes("update")) return;
    const after = change["after"];
    const address = str(rc["address"]);
    const type = str(rc["type"]);
    if (!isObject(after) || address === undefined || type === undefined) return;
    const base = `resource_changes[${index}].change.after`;
    const provider = providerOf(type, rc["provider_name"]);
    const configKey = `${moduleConfigPath(rc["module_address"])}${moduleConfigPath(rc["module_address"]) === "" ? "" : "."}${type}.${str(rc["name"]) ?? address.split(".").pop()}`;
    const config = configs.get(configKey);
    const providerKey = str(config?.["provider_config_key"]) ?? (Object.hasOwn(providerConfigs, provider) ? provider : undefined);
    let region: Located | undefined;
    const own = str(after["region"]) ?? str(after["location"]);
    if (own !== undefined) region = { value: own, field: `${base}.${str(after["region"]) !== undefined ? "region" : "location"}` };
    else if (str(after["zone"]) !== undefined) region = { value: (after["zone"] as string).replace(/-[a-z]$/, ""), field: `${base}.zone` };
    else if (providerKey !== undefined) region = regionOfProvider(providerKey);
    const tagMaps: { map: unknown; field: string }[] = [];
    // tags_all holds tags plus the provider's default tags, effective_labels labels plus defaults: the first present of each group.
    for (const group of [["tags_all", "tags"], ["effective_labels", "labels", "terraform_labels"]]) {
      const name = group.find((n) => isObject(after[n]));
      if (name !== undefined) tagMaps.push({ map: after[name], field: `${base}.${name}` });
    }
    if (providerKey !== undefined) {
      regionOfProvider(providerKey);
      const defaults = providerTags.get(providerKey);
      if (defaults) tagMaps.push(defaults);
    }
    const info: ResourceInfo = { index, address, type, provider, after, base, ...(region ? { region } : {}), data: labelsOf(tagMaps), configKey };
    resources.push(info);
    byAddress.set(address, info);
  });

  const bucketByName = new Map<string, ResourceInfo>();
  for (const r of resources) if (r.type === "aws_s3_bucket" && str(r.after["bucket"]) !== undefined) bucketByName.set(r.after["bucket"] as string, r);

  /** The S3 bucket resource an expression refers to (by ARN/name in `after`, else by configuration references). */
  const bucketOf = (value: unknown, expression: unknown, modulePrefix: string): ResourceInfo | undefined => {
    const text = str(value);
    if (text !== undefined) {
      const name = text.startsWith("arn:") ? text.split(":::")[1] ?? text : text;
      const found = bucketByName.get(name);
      if (found) return found;
    }
    for (const reference of isObject(expression) ? list(expression["references"]) : []) {
      const match = typeof reference === "string" ? /^(aws_s3_bucket\.[A-Za-z0-9_-]+)$/.exec(reference) : null;
      const found = match?.[1] === undefined ? undefined : byAddress.get(`${modulePrefix}${match[1]}`) ?? byAddress.get(match[1]);
      if (found) return found;
    }
    return undefined;
  };

  const push = (kind: PlacementKind, resource: ResourceInfo, region: Located, data: DataLabels, from?: Located, note?: string): void => {
    placements.push({ kind, resource: resource.address, field: region.field, region: region.value, provider: resource.provider, ...(from ? { from: { region: from.value, field: from.field } } : {}), data, ...(note ? { note } : {}) });
  };
  const unresolved = (resource: ResourceInfo): void => {
    if (resource.data.classification.length === 0) return; // unlabelled resources: nothing says the region matters
    errors.push({ field: resource.base, message: `${resource.base}: the region of ${resource.address} cannot be determined from the plan (known only after apply, and its provider configuration sets no region): set region in the provider block or on the resource` });
  };

  for (const r of resources) {
    const modulePrefix = r.address.includes("module.") ? r.address.slice(0, r.address.lastIndexOf(`${r.type}.`)) : "";
    const expressions = configs.get(r.configKey)?.["expressions"];
    if (r.type === "aws_s3_bucket_replication_configuration" || (r.type === "aws_s3_bucket" && list(r.after["replication_configuration"]).length > 0)) {
      const inline = r.type === "aws_s3_bucket";
      const source = inline ? r : bucketOf(r.after["bucket"], isObject(expressions) ? expressions["bucket"] : undefined, modulePrefix);
      const sourceRegion = source?.region ?? r.region;
      const data = source?.data ?? r.data;
      const rules = inline ? list((list(r.after["replication_configuration"])[0] as Json | undefined)?.["rules"]) : list(r.after["rule"]);
      const ruleExpressions = inline ? [] : list(isObject(expressions) ? expressions["rule"] : undefined);
      rules.forEach((rule, j) => {
        list(isObject(rule) ? rule["destination"] : undefined).forEach((destination, k) => {
          const destExpression = list((ruleExpressions[j] as Json | undefined)?.["destination"])[k];
          const target = bucketOf(isObject(destination) ? destination["bucket"] : undefined, isObject(destExpression) ? destExpression["bucket"] : undefined, modulePrefix);
          const field = `${r.base}.${inline ? "replication_configuration[0].rules" : "rule"}[${j}].destination[${k}].bucket`;
          if (target?.region === undefined) {
            if (data.classification.length > 0) errors.push({ field, message: `${field}: the destination bucket of ${r.address} is not created by this plan and its ARN does not say its region: add the destination bucket to the plan or check it with an inventory event` });
            return;
          }
          push("replica", r, target.region, data, sourceRegion, `destination bucket ${target.address}`);
        });
      });
      if (inline) {
        if (r.region) push("storage", r, r.region, r.data);
        else unresolved(r);
      }
      continue;
    }
    if (r.region === undefined) {
      unresolved(r);
      continue;
    }
    push("storage", r, r.region, r.data);
    if (r.type === "aws_dynamodb_table") {
      list(r.after["replica"]).forEach((replica, k) => {
        const region = isObject(replica) ? str(replica["region_name"]) : undefined;
        if (region !== undefined) push("replica", r, { value: region, field: `${r.base}.replica[${k}].region_name` }, r.data, r.region);
      });
    } else if (r.type === "aws_db_instance" || r.type === "aws_rds_cluster") {
      const sourceArn = r.after["replicate_source_db"] ?? r.after["replication_source_identifier"];
      const sourceRegion = arnRegion(sourceArn);
      if (sourceRegion !== undefined && sourceRegion !== r.region.value) {
        placements.pop(); // the instance is a copy: judge it as a replica of its source
        push("replica", r, r.region, r.data, { value: sourceRegion, field: `${r.base}.${r.after["replicate_source_db"] !== undefined ? "replicate_source_db" : "replication_source_identifier"}` }, "cross-region read replica");
      }
    } else if (r.type === "aws_backup_plan") {
      list(r.after["rule"]).forEach((rule, j) => {
        list(isObject(rule) ? rule["copy_action"] : undefined).forEach((copy, k) => {
          const region = arnRegion(isObject(copy) ? copy["destination_vault_arn"] : undefined);
          if (region !== undefined) push("backup", r, { value: region, field: `${r.base}.rule[${j}].copy_action[${k}].destination_vault_arn` }, r.data, r.region);
        });
      });
    } else if (r.type === "azurerm_storage_account") {
      const replication = str(r.after["account_replication_type"])?.toUpperCase().replace(/[^A-Z]/g, "");
      const redundancy = replication === undefined ? undefined : GEO_REDUNDANT[replication];
      const pair = redundancy === undefined ? undefined : catalog.lookup(r.region.value, "azure")?.pair;
      const field = `${r.base}.account_replication_type`;
      if (redundancy !== undefined && pair !== undefined) {
        push("replica", r, { value: pair, field }, r.data, r.region, `${redundancy} geo-redundant storage replicates to the paired region ${pair}; ZRS or LRS keeps the data in ${r.region.value}`);
      } else if (redundancy !== undefined && r.data.classification.length > 0) {
        // Without a pair the copy's region is unknown: saying nothing passed a copy that may leave the allowed places.
        errors.push({ field, message: `${field}: ${r.address} is ${redundancy}, which copies its data to the region Azure pairs with ${r.region.value}, and the region catalog names no pair for it (a nonpaired region, or one missing from regions.yaml): use ZRS or LRS to keep the data in ${r.region.value}, or add its pair to the region catalog` });
      }
    } else if (r.type === "azurerm_cosmosdb_account") {
      list(r.after["geo_location"]).forEach((geo, k) => {
        const location = isObject(geo) ? str(geo["location"]) : undefined;
        if (location !== undefined && location.toLowerCase().replace(/\s+/g, "") !== r.region?.value.toLowerCase().replace(/\s+/g, "")) {
          push("replica", r, { value: location, field: `${r.base}.geo_location[${k}].location` }, r.data, r.region);
        }
      });
    } else if (r.type === "google_storage_bucket") {
      list(r.after["custom_placement_config"]).forEach((config, j) => {
        list(isObject(config) ? config["data_locations"] : undefined).forEach((location, k) => {
          if (typeof location === "string" && location !== "") push("storage", r, { value: location, field: `${r.base}.custom_placement_config[${j}].data_locations[${k}]` }, r.data);
        });
      });
    }
  }
  return { input: "terraform-plan", placements, unconstrained: [], errors };
}
