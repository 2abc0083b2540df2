/**
 * Where a Kubernetes object puts data: the regions its pods may be scheduled in (nodeSelector and
 * required nodeAffinity on the region labels), the topology of PersistentVolumes and
 * StorageClasses, and the region of cloud resources managed from Kubernetes (Crossplane
 * `spec.forProvider.region|location`, Config Connector `spec.location`, ACK's region annotation).
 * The data class comes from the labels and annotations of the pod template, the object and its
 * namespace (the namespace entity's `labels` and `classification` attributes).
 */
import type { Extraction, PlacementCandidate } from "./model.js";
import { readLabel, readLabels, type DataLabels, type InputProblem, type LabelValue } from "./rules.js";
import type { ResidencySettings } from "./settings.js";

type Json = Record<string, unknown>;
const isObject = (value: unknown): value is Json => value !== null && typeof value === "object" && !Array.isArray(value);
const str = (value: unknown): string | undefined => (typeof value === "string" && value.trim() !== "" ? value.trim() : undefined);
const key = (k: string): string => `[${JSON.stringify(k)}]`;

const workloadKinds: ReadonlySet<string> = new Set(["Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "ReplicationController", "Job"]);

/** Where the pod spec and pod template metadata of a workload kind sit. */
function podTemplate(object: Json): { spec: Json; specPath: string; metadata?: Json; metadataPath?: string } | undefined {
  const kind = object["kind"];
  const spec = isObject(object["spec"]) ? object["spec"] : undefined;
  if (kind === "Pod") return spec ? { spec, specPath: "spec" } : undefined;
  if (kind === "PodTemplate") {
    const template = isObject(object["template"]) ? object["template"] : undefined;
    return template && isObject(template["spec"]) ? { spec: template["spec"], specPath: "template.spec", ...(isObject(template["metadata"]) ? { metadata: template["metadata"], metadataPath: "template.metadata" } : {}) } : undefined;
  }
  if (kind === "CronJob") {
    const jobTemplate = spec && isObject(spec["jobTemplate"]) ? spec["jobTemplate"] : undefined;
    const jobSpec = jobTemplate && isObject(jobTemplate["spec"]) ? jobTemplate["spec"] : undefined;
    const template = jobSpec && isObject(jobSpec["template"]) ? jobSpec["template"] : undefined;
    return template && isObject(template["spec"]) ? { spec: template["spec"], specPath: "spec.jobTemplate.spec.template.spec", ...(isObject(template["metadata"]) ? { metadata: template["metadata"], metadataPath: "spec.jobTemplate.spec.template.metadata" } : {}) } : undefined;
  }
  const template = spec && isObject(spec["template"]) ? spec["template"] : undefined;
  // Workload kinds, and any other kind whose spec.template is a pod template (custom workloads).
  if (template && isObject(template["spec"]) && (workloadKinds.has(String(kind)) || Array.isArray(template["spec"]["containers"]))) {
    return { spec: template["spec"], specPath: "spec.template.spec", ...(isObject(template["metadata"]) ? { metadata: template["metadata"], metadataPath: "spec.template.metadata" } : {}) };
  }
  return undefined;
}

/**
 * Zone labels: a pod or volume pinned only to a zone is in that zone's region (the catalog resolves
 * `us-east-1a` to `us-east-1`, `europe-west3-b` to `europe-west3`). CSI drivers put only the zone
 * in a PersistentVolume's nodeAffinity and set no region label.
 */
const zoneLabels: readonly string[] = ["topology.kubernetes.io/zone", "failure-domain.beta.kubernetes.io/zone", "topology.ebs.csi.aws.com/zone", "topology.gke.io/zone"];

interface RegionValue {
  readonly region: string;
  readonly field: string;
}

/**
 * Regions a node selector term list pins: `undefined` when some term does not constrain the
 * region (terms are ORed: the pod may land anywhere that term allows), else every region named.
 */
function termRegions(terms: unknown, path: string, regionLabels: readonly string[]): RegionValue[] | undefined {
  if (!Array.isArray(terms) || terms.length === 0) return undefined;
  const out: RegionValue[] = [];
  for (let t = 0; t < terms.length; t++) {
    const term = terms[t];
    if (!isObject(term)) return undefined;
    const expressions = Array.isArray(term["matchExpressions"]) ? term["matchExpressions"] : Array.isArray(term["matchLabelExpressions"]) ? term["matchLabelExpressions"] : [];
    const listName = Array.isArray(term["matchExpressions"]) ? "matchExpressions" : "matchLabelExpressions";
    const pinnedBy = (labels: readonly string[]): RegionValue[] | undefined => {
      let pinned: RegionValue[] | undefined;
      expressions.forEach((expression, e) => {
        if (!isObject(expression) || !labels.includes(String(expression["key"]))) return;
        const operator = expression["operator"] ?? "In"; // StorageClass topology expressions have no operator: they list allowed values.
        if (operator !== "In" || !Array.isArray(expression["values"])) return;
        const values: RegionValue[] = [];
        (expression["values"] as unknown[]).forEach((value, v) => {
          if (typeof value === "string" && value !== "") values.push({ region: value, field: `${path}[${t}].${listName}[${e}].values[${v}]` });
        });
        // Several In expressions on the region in one term: only their common regions can match.
        pinned = pinned === undefined ? values : pinned.filter((p) => values.some((v) => v.region === p.region));
      });
      return pinned;
    };
    // The region when the term names one; else its zones (each in its region).
    const pinned = pinnedBy(regionLabels) ?? pinnedBy(zoneLabels.filter((label) => !regionLabels.includes(label)));
    if (pinned === undefined) return undefined;
    out.push(...pinned);
  }
  return out;
}

/** Regions a pod spec pins, or `undefined` when the pod may run in any region of its cluster. */
function podRegions(spec: Json, specPath: string, regionLabels: readonly string[]): RegionValue[] | undefined {
  const selector = isObject(spec["nodeSelector"]) ? spec["nodeSelector"] : undefined;
  for (const label of [...regionLabels, ...zoneLabels]) {
    const value = str(selector?.[label]);
    if (value !== undefined) return [{ region: value, field: `${specPath}.nodeSelector${key(label)}` }];
  }
  const affinity = isObject(spec["affinity"]) ? spec["affinity"] : undefined;
  const nodeAffinity = affinity && isObject(affinity["nodeAffinity"]) ? affinity["nodeAffinity"] : undefined;
  const required = nodeAffinity && isObject(nodeAffinity["requiredDuringSchedulingIgnoredDuringExecution"]) ? nodeAffinity["requiredDuringSchedulingIgnoredDuringExecution"] : undefined;
  if (!required) return undefined;
  return termRegions(required["nodeSelectorTerms"], `${specPath}.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms`, regionLabels);
}

/** Provider of a Kubernetes-managed cloud resource, from its API group. */
function providerOfApiVersion(apiVersion: unknown): string | undefined {
  const group = typeof apiVersion === "string" ? apiVersion.split("/")[0] ?? "" : "";
  if (/(^|\.)aws(\.|$)|services\.k8s\.aws$/.test(group)) return "aws";
  if (/(^|\.)azure(\.|$)/.test(group)) return "azurerm";
  if (/(^|\.)gcp(\.|$)|cnrm\.cloud\.google\.com$/.test(group)) return "google";
  return undefined;
}

export interface KubernetesExtractOptions {
  readonly settings: ResidencySettings;
  /** JSON path prefix of the object in the event data (`request.object` for admission). */
  readonly prefix: string;
  /** The namespace entity's attributes (`labels`, `classification`...), from the entity store. */
  readonly namespaceAttrs?: Readonly<Record<string, unknown>>;
  /** Namespace of the object when its metadata lacks one (admission: `request.namespace`). */
  readonly namespace?: string;
}

/** Placements of one Kubernetes object. Never throws: odd shapes give no placements. */
export function kubernetesPlacements(object: Json, options: KubernetesExtractOptions): Omit<Extraction, "input"> {
  const { settings } = options;
  const at = (path: string): string => (options.prefix === "" ? path : `${options.prefix}.${path}`);
  const metadata = isObject(object["metadata"]) ? object["metadata"] : {};
  const kind = str(object["kind"]) ?? "Object";
  const name = str(metadata["name"]) ?? str(metadata["generateName"]) ?? "(unnamed)";
  const namespace = str(metadata["namespace"]) ?? options.namespace;
  const resource = namespace === undefined ? `${kind}/${name}` : `${kind}/${namespace}/${name}`;
  const template = podTemplate(object);
  const maps: { map: unknown; field: string }[] = [];
  if (template?.metadata) {
    maps.push({ map: template.metadata["labels"], field: at(`${template.metadataPath}.labels`) }, { map: template.metadata["annotations"], field: at(`${template.metadataPath}.annotations`) });
  }
  maps.push({ map: metadata["labels"], field: at("metadata.labels") }, { map: metadata["annotations"], field: at("metadata.annotations") });
  if (options.namespaceAttrs) {
    maps.push({ map: options.namespaceAttrs["labels"], field: "context.entities.namespace.attrs.labels" }, { map: options.namespaceAttrs, field: "context.entities.namespace.attrs" });
  }
  const classification: LabelValue[] = [];
  for (const map of maps) {
    const hit = readLabel([map], settings.labels.classification);
    if (hit) classification.push(hit);
  }
  const regulation = readLabel(maps, settings.labels.regulation);
  const origin = readLabel(maps, settings.labels.origin);
  const data: DataLabels = {
    classification,
    ...(regulation ? { regulation } : {}),
    treatment: readLabels(maps, settings.labels.treatment).map((t) => ({ ...t, strict: true })),
    ...(origin ? { origin } : {}),
  };
  const placements: PlacementCandidate[] = [];
  const unconstrained: Extraction["unconstrained"][number][] = [];
  const errors: InputProblem[] = [];
  if (template) {
    const regions = podRegions(template.spec, at(template.specPath), settings.regionLabels);
    if (regions === undefined) unconstrained.push({ resource, field: at(`${template.specPath}.nodeSelector`), data });
    else for (const r of regions) placements.push({ kind: "workload", resource, field: r.field, region: r.region, data });
    return { placements, unconstrained, errors };
  }
  const labels = isObject(metadata["labels"]) ? metadata["labels"] : undefined;
  if (kind === "Node") return { placements, unconstrained, errors }; // a node holds no data of its own
  const spec = isObject(object["spec"]) ? object["spec"] : undefined;
  if (kind === "PersistentVolume" || kind === "StorageClass") {
    const seen = new Set<string>();
    const add = (r: RegionValue): void => {
      if (seen.has(r.region)) return;
      seen.add(r.region);
      placements.push({ kind: "volume", resource, field: r.field, region: r.region, data });
    };
    for (const label of settings.regionLabels) {
      const value = str(labels?.[label]);
      if (value !== undefined) add({ region: value, field: at(`metadata.labels${key(label)}`) });
    }
    if (seen.size === 0) {
      const label = zoneLabels.find((name) => str(labels?.[name]) !== undefined);
      if (label !== undefined) add({ region: str(labels?.[label]) as string, field: at(`metadata.labels${key(label)}`) });
    }
    if (kind === "PersistentVolume") {
      const nodeAffinity = spec && isObject(spec["nodeAffinity"]) ? spec["nodeAffinity"] : undefined;
      const required = nodeAffinity && isObject(nodeAffinity["required"]) ? nodeAffinity["required"] : undefined;
      for (const r of termRegions(required?.["nodeSelectorTerms"], at("spec.nodeAffinity.required.nodeSelectorTerms"), settings.regionLabels) ?? []) add(r);
    } else {
      for (const r of termRegions(object["allowedTopologies"], at("allowedTopologies"), settings.regionLabels) ?? []) add(r);
    }
    return { placements, unconstrained, errors };
  }
  // Cloud resources managed from Kubernetes (Crossplane, Config Connector, ACK).
  const provider = providerOfApiVersion(object["apiVersion"]);
  const forProvider = spec && isObject(spec["forProvider"]) ? spec["forProvider"] : undefined;
  const annotations = isObject(metadata["annotations"]) ? metadata["annotations"] : undefined;
  const candidates: [unknown, string][] = [
    [forProvider?.["region"], "spec.forProvider.region"],
    [forProvider?.["location"], "spec.forProvider.location"],
    [spec?.["region"], "spec.region"],
    [spec?.["location"], "spec.location"],
    [annotations?.["services.k8s.aws/region"], `metadata.annotations${key("services.k8s.aws/region")}`],
    ...settings.regionLabels.map((label): [unknown, string] => [labels?.[label], `metadata.labels${key(label)}`]),
  ];
  const found = candidates.find(([value]) => str(value) !== undefined);
  if (found) placements.push({ kind: "storage", resource, field: at(found[1]), region: str(found[0]) as string, ...(provider ? { provider } : {}), data });
  return { placements, unconstrained, errors };
}

/** Placements of an AdmissionReview: the object being created or updated (DELETE and CONNECT place nothing). */
export function admissionPlacements(review: Json, options: Omit<KubernetesExtractOptions, "prefix">): Extraction | undefined {
  const request = isObject(review["request"]) ? review["request"] : undefined;
  if (!request) return undefined;
  const operation = request["operation"];
  if (operation === "DELETE" || operation === "CONNECT") return undefined;
  const object = request["object"];
  if (!isObject(object)) return { input: "admission", placements: [], unconstrained: [], errors: [{ field: "request.object", message: "request.object is missing: a CREATE or UPDATE review carries the object" }] };
  const namespace = str(request["namespace"]) ?? options.namespace;
  return { input: "admission", ...kubernetesPlacements(object, { ...options, prefix: "request.object", ...(namespace === undefined ? {} : { namespace }) }) };
}
