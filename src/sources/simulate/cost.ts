/**
 * `vigil simulate --scenario cost`: a small organisation's cloud spend and utilisation — FOCUS
 * 1.0 cost rows (daily, per resource and per shared service) and hourly CPU / network metrics —
 * over D days, with a ground-truth label per event (scenario.ts).
 *
 * Real problems (label `violation`): a forgotten idle dev instance, an idle critical production
 * instance (stopped only with approval), an idle staging Deployment, and a runaway ML-training
 * spend in the data account from day 20 on.
 * Benign cases a static rule would flag (label `benign`): weekly seasonality of the web spend
 * (weekends at 55%), a planned launch on day 14 announced by a `dev.vigil.posture` event (web
 * spend × 4), a nightly batch instance idle outside its `schedule` (02:00–05:00 UTC), and a
 * month-end batch instance that only runs on the 28th–31st (idle by design the rest of the month).
 * Deterministic for a seed (createRandom); policies never read the truth attributes.
 */
import type { Event } from "../../core/event.js";
import { createVigilEvent } from "../vigil-data.js";
import { focusRowToEvent } from "../focus.js";
import { createRandom, TRUTH_ATTRIBUTE, TRUTH_NOTE_ATTRIBUTE, type Scenario, type ScenarioOptions, type TruthLabel } from "./scenario.js";

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const SOURCE = "/simulate/cost";

interface Machine {
  readonly id: string;
  readonly account: string;
  readonly owner: string;
  readonly dailyCost: number;
  readonly attrs: Record<string, unknown>;
  /** CPU percent at an instant. */
  readonly cpu: (ms: number, noise: number) => number;
  /** Label of this machine's cost rows once the detector can know (after `minDays`). */
  readonly truth: TruthLabel;
  readonly note: string;
  readonly kind: "aws.ec2.instance" | "k8s.Deployment";
}

const accounts = {
  web: { id: "111111111111", name: "acme-web-prod", owner: "team-web" },
  data: { id: "222222222222", name: "acme-data-dev", owner: "team-data" },
} as const;

function hourOfDay(ms: number): number {
  return Math.floor(ms / HOUR) % 24;
}

const machines: readonly Machine[] = [
  { id: "i-0a1b2c3d4e5f60001", account: accounts.web.id, owner: "team-web", dailyCost: 9.6, kind: "aws.ec2.instance", attrs: { environment: "production", criticality: "high" },
    cpu: (ms, n) => (hourOfDay(ms) >= 7 && hourOfDay(ms) < 22 ? 45 : 18) + 10 * n, truth: "benign", note: "busy production web server" },
  { id: "i-0a1b2c3d4e5f60002", account: accounts.data.id, owner: "ana", dailyCost: 4.56, kind: "aws.ec2.instance", attrs: { environment: "dev" },
    cpu: (_ms, n) => 0.6 + 0.4 * n, truth: "violation", note: "forgotten idle dev instance" },
  { id: "i-0a1b2c3d4e5f60003", account: accounts.web.id, owner: "team-web", dailyCost: 2.2, kind: "aws.ec2.instance", attrs: { environment: "production", criticality: "critical" },
    cpu: (_ms, n) => 1.1 + 0.5 * n, truth: "violation", note: "idle critical production instance (needs approval to stop)" },
  { id: "i-0a1b2c3d4e5f60004", account: accounts.data.id, owner: "team-data", dailyCost: 3.1, kind: "aws.ec2.instance", attrs: { environment: "dev", schedule: "0 2 * * * 3h" },
    cpu: (ms, n) => (hourOfDay(ms) >= 2 && hourOfDay(ms) < 5 ? 85 + 10 * n : 0.4 + 0.2 * n), truth: "benign", note: "nightly batch instance, idle outside its schedule by design" },
  { id: "i-0a1b2c3d4e5f60005", account: accounts.data.id, owner: "team-finance", dailyCost: 1.4, kind: "aws.ec2.instance", attrs: { environment: "dev", schedule: "0 0 28-31 * * 24h" },
    cpu: (ms, n) => (new Date(ms).getUTCDate() >= 28 ? 70 + 10 * n : 0.3 + 0.1 * n), truth: "benign", note: "month-end batch instance, idle the rest of the month by design" },
  { id: "Deployment/staging/report-api", account: accounts.data.id, owner: "team-reporting", dailyCost: 3.0, kind: "k8s.Deployment", attrs: { environment: "staging", labels: { team: "team-reporting" } },
    cpu: (_ms, n) => 0.8 + 0.3 * n, truth: "violation", note: "idle staging Deployment" },
];

function label(event: Event, truth: TruthLabel, note: string): Event {
  return { ...event, [TRUTH_ATTRIBUTE]: truth, [TRUTH_NOTE_ATTRIBUTE]: note };
}

function must(result: ReturnType<typeof createVigilEvent>): Event {
  if (!result.ok) throw result.error;
  return result.event;
}

const stamp = (ms: number): string => new Date(ms).toISOString().replace(".000Z", "Z");

function focusRow(day: number, start: number, fields: { account: { id: string; name: string }; service: string; category: string; cost: number; resource?: { id: string; type: string; tags: Record<string, string> } }): Event {
  const from = start + day * DAY;
  const cost = Math.round(fields.cost * 10_000) / 10_000;
  const row: Record<string, unknown> = {
    BilledCost: cost, EffectiveCost: cost, ListCost: cost, ContractedCost: cost, BillingAccountId: "999999999999", BillingAccountName: "acme", BillingCurrency: "USD",
    BillingPeriodStart: stamp(Date.UTC(new Date(from).getUTCFullYear(), new Date(from).getUTCMonth(), 1)), BillingPeriodEnd: stamp(Date.UTC(new Date(from).getUTCFullYear(), new Date(from).getUTCMonth() + 1, 1)),
    ChargeCategory: "Usage", ChargeClass: null, ChargeDescription: `${fields.service} usage`, ChargeFrequency: "Usage-Based", ChargePeriodStart: stamp(from), ChargePeriodEnd: stamp(from + DAY),
    InvoiceIssuerName: "Amazon Web Services", PricingQuantity: 24, PricingUnit: "Hours", ProviderName: "AWS", PublisherName: "Amazon Web Services",
    ServiceCategory: fields.category, ServiceName: fields.service, SubAccountId: fields.account.id, SubAccountName: fields.account.name, RegionId: "eu-west-1",
    ResourceId: fields.resource?.id ?? null, ResourceType: fields.resource?.type ?? null, Tags: fields.resource?.tags ?? {},
  };
  const result = focusRowToEvent(row);
  if (!result.ok) throw result.error;
  return result.event;
}

function* generate(options: ScenarioOptions): Iterable<Event> {
  const random = createRandom(options.seed);
  const start = Math.floor(options.start.getTime() / DAY) * DAY;
  const noise = (): number => random.next() * 2 - 1;
  // Inventory first: owners, environments, schedules (the entity store keeps them).
  for (const m of machines) {
    yield label(must(createVigilEvent("dev.vigil.resource", { kind: m.kind, id: m.id, region: "eu-west-1", owner: m.owner, tags: { owner: m.owner }, attrs: { ...m.attrs, owner: m.owner, account: m.account, state: "running" } }, { source: SOURCE, time: stamp(start) })), "benign", "inventory snapshot");
  }
  for (let day = 0; day < options.days; day++) {
    const dayStart = start + day * DAY;
    const weekday = new Date(dayStart).getUTCDay();
    const weekend = weekday === 0 || weekday === 6;
    if (day === 14) {
      yield label(must(createVigilEvent("dev.vigil.posture", { level: "elevated", reason: "launch: spring sale", scope: `account:${accounts.web.id}`, until: stamp(dayStart + 2 * DAY), by: "pm@acme.example" }, { source: SOURCE, time: stamp(dayStart - HOUR) })), "benign", "launch announcement");
    }
    // Hourly utilisation.
    for (let hour = 0; hour < 24; hour++) {
      const at = dayStart + hour * HOUR + 5 * 60_000;
      for (const m of machines) {
        const cpu = Math.max(0, m.cpu(at, noise()));
        yield label(must(createVigilEvent("dev.vigil.metric", { resource: m.id, metric: "cpu", value: Math.round(cpu * 100) / 100, unit: "percent", ts: stamp(at) }, { source: SOURCE })), "benign", "utilisation sample");
        yield label(must(createVigilEvent("dev.vigil.metric", { resource: m.id, metric: "network_bytes", value: Math.round(cpu * 20_000 * (1 + 0.2 * noise())), unit: "bytes", ts: stamp(at) }, { source: SOURCE })), "benign", "utilisation sample");
      }
    }
    // Daily cost rows, one per resource, sent at the end of the day (billing data lags).
    for (const m of machines) {
      const account = m.account === accounts.web.id ? accounts.web : accounts.data;
      const row = focusRow(day, start, { account, service: m.kind === "k8s.Deployment" ? "Amazon Elastic Kubernetes Service" : "Amazon Elastic Compute Cloud", category: "Compute", cost: m.dailyCost * (1 + 0.03 * noise()), resource: { id: m.id, type: m.kind === "k8s.Deployment" ? "deployment" : "instance", tags: { owner: m.owner, business_unit: m.owner } } });
      // A machine idle for a week is the problem from then on (before that it may just be a quiet week).
      yield label(row, day >= 7 ? m.truth : "benign", day >= 7 ? m.note : "less than a week of history");
    }
    // Shared services: web spend with weekly seasonality and the launch; the data account's ML training runs away from day 20.
    const launch = day === 14;
    const webCost = 220 * (weekend ? 0.55 : 1) * (1 + 0.06 * noise()) * (launch ? 4 : 1);
    yield label(focusRow(day, start, { account: accounts.web, service: "Amazon CloudFront", category: "Networking", cost: webCost, resource: { id: "cdn-acme-web", type: "distribution", tags: { business_unit: "team-web", application: "storefront" } } }),
      "benign", launch ? "planned launch, announced by posture" : weekend ? "weekend trough (weekly seasonality)" : "ordinary web spend");
    const runaway = day >= 20;
    const mlCost = 60 * (1 + 0.08 * noise()) * (runaway ? 9 : 1);
    yield label(focusRow(day, start, { account: accounts.data, service: "Amazon SageMaker", category: "AI and Machine Learning", cost: mlCost, resource: { id: "sagemaker-training-acme", type: "training-job", tags: { business_unit: "team-data", application: "recommendations" } } }),
      runaway ? "violation" : "benign", runaway ? "runaway ML training spend" : "ordinary ML spend");
  }
}

export const costScenario: Scenario = {
  name: "cost",
  description: "Cloud spend (FOCUS rows) and utilisation metrics of a small organisation: idle forgotten instances and a runaway spend, next to weekly seasonality, an announced launch and scheduled batch instances",
  generate,
};
