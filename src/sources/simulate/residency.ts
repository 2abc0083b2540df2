/**
 * `vigil simulate --scenario residency`: an EU organisation (Acme, home country DE) over D days —
 * Kubernetes admission reviews of its deployments, Terraform plans, data flows between regions and
 * daily inventory snapshots — with a ground-truth label per event (scenario.ts).
 *
 * Real problems (label `violation`): personal data replicated to us-east-1 by a Terraform plan, a
 * personal-data deployment pinned to us-east-1, customer contacts synced to a US marketing tool
 * with no transfer mechanism, clinic (health) data copied out of Germany to Ireland, and a loyalty
 * database still running in us-west-2 (every inventory snapshot).
 * Benign cases a static "nothing outside the EU" rule would flag (label `benign`): anonymised
 * product analytics exported to us-east-1, aggregated KPI roll-ups sent to us-east-2, support
 * tickets sent to the US helpdesk vendor under SCCs (an exception with a legal basis, in the
 * setup), public datasets replicated to us-east-1 and ap-southeast-1, the public website and
 * internal tooling running in US regions. Plus ordinary traffic inside the EU.
 * Deterministic for a seed (createRandom); policies never read the truth attributes.
 */
import type { Entity } from "../../core/entity.js";
import type { Event } from "../../core/event.js";
import type { PolicyException } from "../../core/review.js";
import { admissionReviewToEvent } from "../admission.js";
import type { IngestResult } from "../results.js";
import { terraformPlanToEvent } from "../terraform.js";
import { createVigilEvent } from "../vigil-data.js";
import { createRandom, TRUTH_ATTRIBUTE, TRUTH_NOTE_ATTRIBUTE, type Scenario, type ScenarioOptions, type ScenarioSetup, type TruthLabel } from "./scenario.js";

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const SOURCE = "/simulate/residency";
const ADMISSION_SOURCE = "/k8s/admission/eu-prod";
const ACCOUNT = "123456789012";
const REGION_LABEL = "topology.kubernetes.io/region";

type Random = ReturnType<typeof createRandom>;
type Json = Record<string, unknown>;

interface Item {
  readonly at: number;
  readonly event: Event;
}

function must(result: IngestResult): Event {
  if (!result.ok) throw result.error;
  return result.event;
}

function label(event: Event, truth: TruthLabel, note: string): Event {
  return { ...event, [TRUTH_ATTRIBUTE]: truth, [TRUTH_NOTE_ATTRIBUTE]: note };
}

const stamp = (ms: number): string => new Date(ms).toISOString().replace(".000Z", "Z");

function uuid(random: Random): string {
  const hex = (n: number): string => Array.from({ length: n }, () => Math.floor(random.next() * 16).toString(16)).join("");
  return `${hex(8)}-${hex(4)}-4${hex(3)}-${"89ab"[random.int(0, 3)] ?? "8"}${hex(3)}-${hex(12)}`;
}

// ----- Kubernetes deployments (admission reviews) -----

interface Workload {
  readonly namespace: string;
  readonly name: string;
  readonly dataClass?: string;
  readonly image: string;
  readonly pin?: { readonly nodeSelector?: string; readonly affinity?: readonly string[] };
}

function deploymentObject(w: Workload, replicas: number): Json {
  const labels: Record<string, string> = { "app.kubernetes.io/name": w.name, "app.kubernetes.io/part-of": w.namespace, ...(w.dataClass ? { "vigil.dev/data-class": w.dataClass } : {}) };
  const podSpec: Json = { containers: [{ name: w.name, image: w.image, ports: [{ containerPort: 8080 }], resources: { requests: { cpu: "250m", memory: "256Mi" } } }], serviceAccountName: w.name };
  if (w.pin?.nodeSelector !== undefined) podSpec["nodeSelector"] = { [REGION_LABEL]: w.pin.nodeSelector, "kubernetes.io/os": "linux" };
  if (w.pin?.affinity !== undefined) {
    podSpec["affinity"] = { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchExpressions: [{ key: REGION_LABEL, operator: "In", values: [...w.pin.affinity] }] }] } } };
  }
  return {
    apiVersion: "apps/v1", kind: "Deployment",
    metadata: { name: w.name, namespace: w.namespace, labels },
    spec: { replicas, selector: { matchLabels: { "app.kubernetes.io/name": w.name } }, template: { metadata: { labels }, spec: podSpec } },
  };
}

function deploy(random: Random, w: Workload, at: number): Event {
  const object = deploymentObject(w, random.int(2, 6));
  const review = {
    apiVersion: "admission.k8s.io/v1", kind: "AdmissionReview",
    request: {
      uid: uuid(random), kind: { group: "apps", version: "v1", kind: "Deployment" }, resource: { group: "apps", version: "v1", resource: "deployments" },
      requestKind: { group: "apps", version: "v1", kind: "Deployment" }, requestResource: { group: "apps", version: "v1", resource: "deployments" },
      name: w.name, namespace: w.namespace, operation: random.chance(0.3) ? "CREATE" : "UPDATE",
      userInfo: { username: "system:serviceaccount:argocd:argocd-application-controller", groups: ["system:serviceaccounts", "system:serviceaccounts:argocd", "system:authenticated"] },
      object, dryRun: false, options: { apiVersion: "meta.k8s.io/v1", kind: "PatchOptions", fieldManager: "argocd-controller" },
    },
  };
  return must(admissionReviewToEvent(review, { receivedAt: new Date(at), source: ADMISSION_SOURCE }));
}

const workloads = {
  checkout: { namespace: "shop", name: "checkout", dataClass: "personal", image: "registry.acme.example/shop/checkout:2.14.1", pin: { nodeSelector: "eu-central-1" } },
  orders: { namespace: "shop", name: "orders", dataClass: "personal", image: "registry.acme.example/shop/orders:5.2.0", pin: { affinity: ["eu-central-1", "eu-west-1"] } },
  website: { namespace: "web", name: "website", dataClass: "public", image: "registry.acme.example/web/website:2026.1.3", pin: { nodeSelector: "us-east-1" } },
  buildCache: { namespace: "tools", name: "build-cache", dataClass: "internal", image: "registry.acme.example/tools/build-cache:1.8.0", pin: { nodeSelector: "us-west-2" } },
  recommendations: { namespace: "shop", name: "recommendations", dataClass: "personal", image: "registry.acme.example/shop/recommendations:0.9.0", pin: { nodeSelector: "us-east-1" } },
} as const satisfies Record<string, Workload>;

// ----- Terraform plans -----

interface Bucket {
  readonly name: string;
  readonly region: string;
  readonly dataClass: string;
}

/** A plan creating a bucket and its replica in another region, with the replication between them (the `terraform show -json` shape). */
function replicationPlan(source: Bucket, replica: Bucket, at: number): Event {
  const address = (b: Bucket): string => `aws_s3_bucket.${b.name.replace(/-/g, "_")}`;
  const bucketChange = (b: Bucket): Json => {
    const tags = { "data-classification": b.dataClass, "managed-by": "terraform" };
    return {
      address: address(b), mode: "managed", type: "aws_s3_bucket", name: b.name.replace(/-/g, "_"), provider_name: "registry.terraform.io/hashicorp/aws",
      change: { actions: ["create"], before: null, after: { bucket: `acme-${b.name}`, force_destroy: false, tags, tags_all: tags, timeouts: null }, after_unknown: { arn: true, id: true, region: true, tags: {}, tags_all: {} }, before_sensitive: false, after_sensitive: { tags: {}, tags_all: {} } },
    };
  };
  const replication: Json = {
    address: `aws_s3_bucket_replication_configuration.${source.name.replace(/-/g, "_")}`, mode: "managed", type: "aws_s3_bucket_replication_configuration", name: source.name.replace(/-/g, "_"), provider_name: "registry.terraform.io/hashicorp/aws",
    change: { actions: ["create"], before: null, after: { rule: [{ id: "replicate-all", status: "Enabled", filter: [{ prefix: "" }], destination: [{ storage_class: "STANDARD" }] }], token: null }, after_unknown: { bucket: true, id: true, role: true, rule: [{ destination: [{ bucket: true }] }] }, before_sensitive: false, after_sensitive: { rule: [] } },
  };
  const changes = [bucketChange(source), bucketChange(replica), replication];
  const config = (change: Json, expressions: Json): Json => ({ address: change["address"], mode: "managed", type: change["type"], name: change["name"], provider_config_key: change === changes[1] ? "aws.replica" : "aws", expressions, schema_version: 0 });
  const plan = {
    format_version: "1.2", terraform_version: "1.9.8",
    variables: { replica_region: { value: replica.region } },
    planned_values: { root_module: { resources: changes.map((c) => ({ address: c["address"], mode: "managed", type: c["type"], name: c["name"], provider_name: c["provider_name"], schema_version: 0, values: (c["change"] as Json)["after"], sensitive_values: {} })) } },
    resource_changes: changes,
    configuration: {
      provider_config: {
        aws: { name: "aws", full_name: "registry.terraform.io/hashicorp/aws", version_constraint: "~> 5.80", expressions: { region: { constant_value: source.region } } },
        "aws.replica": { name: "aws", full_name: "registry.terraform.io/hashicorp/aws", alias: "replica", version_constraint: "~> 5.80", expressions: { region: { references: ["var.replica_region"] } } },
      },
      root_module: {
        resources: [
          config(changes[0] as Json, { bucket: { constant_value: `acme-${source.name}` } }),
          config(changes[1] as Json, { bucket: { constant_value: `acme-${replica.name}` } }),
          config(replication, { bucket: { references: [`${address(source)}.id`, address(source)] }, rule: [{ destination: [{ bucket: { references: [`${address(replica)}.arn`, address(replica)] } }] }] }),
        ],
        variables: { replica_region: { description: "Region of the replica" } },
      },
    },
    timestamp: stamp(at), applyable: true, complete: true, errored: false,
  };
  return must(terraformPlanToEvent(plan, { source: `${SOURCE}/terraform`, subject: `infra/${source.name}`, time: stamp(at) }));
}

// ----- data flows and inventory -----

function dataflow(data: Json, at: number, id: string): Event {
  return must(createVigilEvent("dev.vigil.dataflow", data, { source: `${SOURCE}/airflow`, time: stamp(at), id }));
}

function snapshot(data: Json, at: number, id: string): Event {
  return must(createVigilEvent("dev.vigil.resource", data, { source: `${SOURCE}/aws-config`, time: stamp(at), id }));
}

/** The exception the organisation has for its helpdesk vendor (SCCs with a transfer impact assessment). */
function helpdeskException(options: ScenarioOptions): PolicyException {
  const start = options.start.getTime();
  return {
    id: "EX-RES-001", policies: ["residency-dataflow"], rules: ["transfer-not-allowed"],
    when: 'input.dataset == "support-tickets" && input.to.region == "us-east-1"',
    justification: "support tickets exported to the helpdesk vendor (processor) in the US",
    legalBasis: "SCC 2021/914 module 2 + TIA-2025-19", ticket: "PRIV-402",
    createdBy: "dpo@acme.example", createdAt: stamp(start - 30 * DAY), expiresAt: stamp(start + 365 * DAY),
  };
}

function setup(options: ScenarioOptions): ScenarioSetup {
  const namespace = (id: string, dataClass: string): Entity => ({ kind: "namespace", id, attrs: { labels: { "vigil.dev/data-class": dataClass }, owner: `team-${id}` } });
  return { entities: [namespace("shop", "personal"), namespace("clinic", "health"), namespace("web", "public"), namespace("tools", "internal")], exceptions: [helpdeskException(options)] };
}

function* generate(options: ScenarioOptions): Generator<Event> {
  const random = createRandom(options.seed ^ 0x7e51d);
  const start = options.start.getTime();
  for (let day = 0; day < options.days; day++) {
    const base = start + day * DAY;
    const items: Item[] = [];
    const at = (fromHour: number, toHour: number): number => base + random.int(fromHour * 60, toHour * 60 - 1) * 60_000 + random.int(0, 59) * 1000;
    const push = (event: Event, time: number, truth: TruthLabel, note: string): void => {
      items.push({ at: time, event: label(event, truth, note) });
    };

    // Deployments: two or three a working day, inside the EU for personal data.
    const weekday = new Date(base).getUTCDay() % 6 !== 0;
    for (let i = 0; i < (weekday ? random.int(2, 3) : random.int(0, 1)); i++) {
      const w = random.pick([workloads.checkout, workloads.orders, workloads.checkout, workloads.website, workloads.buildCache]);
      const t = at(8, 19);
      const note = w === workloads.website ? "public website served from us-east-1 (public data may be anywhere)"
        : w === workloads.buildCache ? "internal build cache in us-west-2 (internal data may be anywhere)"
        : `personal-data ${w.name} deployed to EU regions`;
      push(deploy(random, w, t), t, "benign", note);
    }
    if (day === Math.min(2, options.days - 1) || (day > 2 && day % 11 === 2)) {
      const t = at(13, 17);
      push(deploy(random, workloads.recommendations, t), t, "violation", "personal-data deployment pinned to us-east-1 (non-EU region)");
    }

    // Terraform plans: every other day; one replicates personal data to the US.
    if (day % 2 === 1) {
      const t = at(9, 18);
      if (random.chance(0.5)) push(replicationPlan({ name: `orders-${day}`, region: "eu-central-1", dataClass: "personal" }, { name: `orders-${day}-dr`, region: "eu-west-1", dataClass: "personal" }, t), t, "benign", "personal data replicated inside the EU (eu-central-1 → eu-west-1)");
      else push(replicationPlan({ name: `open-data-${day}`, region: "eu-central-1", dataClass: "public" }, { name: `open-data-${day}-mirror`, region: random.pick(["us-east-1", "ap-southeast-1"]), dataClass: "public" }, t), t, "benign", "public dataset replicated globally");
    }
    if (day === Math.min(4, options.days - 1) || (day > 4 && day % 13 === 4)) {
      const t = at(10, 16);
      push(replicationPlan({ name: `customer-data-${day}`, region: "eu-central-1", dataClass: "personal" }, { name: `customer-data-${day}-replica`, region: "us-east-1", dataClass: "personal" }, t), t, "violation", "personal data replicated to us-east-1");
    }

    // Data flows: nightly jobs.
    const flow = (n: number, data: Json, truth: TruthLabel, note: string, from = 1, to = 5): void => {
      const t = at(from, to);
      push(dataflow({ bytes: random.int(2_000_000, 900_000_000), ...data }, t, `${SOURCE}/flow/${day}/${n}`), t, truth, note);
    };
    flow(0, { dataset: "crm-contacts", classification: "personal", from: { region: "eu-central-1" }, to: { region: "eu-west-1" }, purpose: "nightly CRM replica" }, "benign", "personal data copied inside the EU");
    flow(1, { dataset: "web-analytics", classification: "personal", from: { region: "eu-central-1" }, to: { region: "us-east-1" }, purpose: "anonymised product analytics", anonymised: true }, "benign", "anonymised analytics export to us-east-1");
    flow(2, { dataset: "support-tickets", classification: "personal", from: { region: "eu-central-1" }, to: { region: "us-east-1" }, purpose: "helpdesk sync" }, "benign", "transfer under an approved mechanism (SCCs, exception EX-RES-001)");
    if (weekday) flow(3, { dataset: "kpi-rollup", classification: "personal", from: { region: "eu-central-1" }, to: { region: "us-east-2" }, purpose: "board reporting", aggregated: true }, "benign", "aggregated KPI roll-up to us-east-2", 6, 7);
    if (day % 3 === 0) flow(4, { dataset: "product-catalog", classification: "public", from: { region: "eu-central-1" }, to: { region: "ap-southeast-2" }, purpose: "storefront mirror" }, "benign", "public catalog mirrored to Sydney");
    if (random.chance(0.15) || day === Math.min(3, options.days - 1)) flow(5, { dataset: "crm-contacts", classification: "personal", from: { region: "eu-central-1" }, to: { region: "us-east-1" }, purpose: "marketing automation sync" }, "violation", "personal data sent to a US region with no transfer mechanism", 10, 16);
    if (day % 9 === 6) flow(6, { dataset: "patient-records", classification: "health", from: { region: "eu-central-1" }, to: { region: "eu-west-1" }, purpose: "reporting copy" }, "violation", "health data copied out of its country of origin (DE → IE)", 11, 15);

    // Inventory: a daily snapshot of the data stores.
    const inventory = (n: number, data: Json, truth: TruthLabel, note: string): void => {
      const t = at(23, 24);
      push(snapshot(data, t, `${SOURCE}/inventory/${day}/${n}`), t, truth, note);
    };
    inventory(0, { kind: "rds.instance", id: `arn:aws:rds:eu-central-1:${ACCOUNT}:db:orders`, region: "eu-central-1", owner: "team-shop", tags: { "data-classification": "personal" }, attrs: { engine: "postgres", replicaRegions: ["eu-west-1"] } }, "benign", "orders database in the EU with an EU replica");
    inventory(1, { kind: "rds.instance", id: `arn:aws:rds:us-west-2:${ACCOUNT}:db:loyalty`, region: "us-west-2", owner: "team-loyalty", tags: { "data-classification": "personal" }, attrs: { engine: "postgres" } }, "violation", "personal-data database still in us-west-2");
    inventory(2, { kind: "s3.bucket", id: "arn:aws:s3:::acme-open-data", region: "us-east-1", owner: "team-data", tags: { "data-classification": "public" } }, "benign", "public dataset bucket in us-east-1");

    items.sort((a, b) => a.at - b.at);
    for (const item of items) yield { ...item.event, time: stamp(item.at) };
  }
}

export const residencyScenario: Scenario = {
  name: "residency",
  description: "An EU organisation's deployments (admission reviews), Terraform plans, data flows and inventory: personal data replicated or deployed to US regions and health data leaving Germany, next to anonymised and aggregated exports, SCC-covered transfers and public data that a static rule would flag",
  generate,
  setup,
};
