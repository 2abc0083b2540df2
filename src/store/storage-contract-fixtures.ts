import type { DecisionDraft, Event, Finding } from "../core/index.js";

/** Builders for the storage contract suite and the store benchmark: realistic, deterministic records. */

export function makeEvent(index: number, overrides: Partial<Event> = {}): Event {
  return {
    specversion: "1.0",
    id: `evt-${index}`,
    source: "aws.cloudtrail/123456789012",
    type: "com.amazonaws.cloudtrail",
    subject: `arn:aws:iam::123456789012:user/user-${index % 3}`,
    time: new Date(Date.UTC(2024, 0, 1, 0, 0, index)).toISOString(),
    datacontenttype: "application/json",
    data: { eventName: "PutBucketPolicy", awsRegion: "eu-west-1", requestParameters: { bucketName: `bucket-${index}` } },
    ...overrides,
  };
}

export function makeFinding(policy: string, effect: Finding["effect"] = "violation"): Finding {
  return {
    policy,
    rule: "main",
    revision: `rev-${policy}`,
    language: "vigil",
    effect,
    mode: "deny",
    severity: "high",
    message: `${policy} was violated`,
    trace: [
      { kind: "condition", expr: 'resource.region == "us-east-1"', value: false, inputs: { "resource.region": "eu-west-1" } },
      { kind: "conjunct", expr: "request.mfa", value: true },
    ],
  };
}

export interface DraftOptions {
  readonly policies?: readonly string[];
  readonly subject?: string;
  readonly eventId?: string;
  readonly time?: string;
  readonly input?: unknown;
}

export function makeDraft(index: number, options: DraftOptions = {}): DecisionDraft {
  const policies = options.policies ?? ["s3-public-access", "region-allowlist"];
  const subject = options.subject ?? `arn:aws:iam::123456789012:user/user-${index % 3}`;
  return {
    id: `dec-${String(index).padStart(6, "0")}`,
    eventId: options.eventId ?? `evt-${index}`,
    eventType: "com.amazonaws.cloudtrail",
    subject,
    time: options.time ?? new Date(Date.UTC(2024, 0, 1, 0, 0, index)).toISOString(),
    verdict: index % 2 === 0 ? "deny" : "allow",
    tier: index % 2 === 0 ? "block" : "observe",
    risk: { score: 0.72, factors: [{ name: "severity", contribution: 0.5 }, { name: "first-seen-region", contribution: 0.22 }] },
    findings: policies.map((policy) => makeFinding(policy)),
    actions: [],
    explanation: {
      summary: `Blocked PutBucketPolicy by user-${index % 3} in eu-west-1: the bucket would become public.`,
      steps: [
        { kind: "condition", text: 'resource.region == "us-east-1" was false (resource.region = "eu-west-1")', policy: policies[0] ?? "none", rule: "main" },
        { kind: "factor", text: "first time this principal used eu-west-1", contribution: 0.22 },
        { kind: "tier", text: "high severity and risk 0.72 move the tier to block" },
      ],
    },
    policyRevisions: Object.fromEntries(policies.map((policy) => [policy, `rev-${policy}`])),
    input: options.input ?? { principal: { id: `user-${index % 3}`, roles: ["dev"] }, action: "s3:PutBucketPolicy", resource: { id: `bucket-${index}`, region: "eu-west-1" } },
    enforced: true,
    labels: { source: "cloudtrail", pack: "aws" },
  };
}

/** `count` drafts of which only the oldest `denied` are denies (tier block), the rest allows (observe): newest-first pages of allows hide the denies. */
export function oldestDenied(count: number, denied: number): DecisionDraft[] {
  return Array.from({ length: count }, (_unused, index) => {
    const draft = makeDraft(index + 1);
    return index < denied ? { ...draft, verdict: "deny", tier: "block" } : { ...draft, verdict: "allow", tier: "observe" };
  });
}

/** `length` characters that do not compress (a long id or subject as PostgreSQL's index sees it), the same for the same seed. */
export function noise(length: number, seed = 1): string {
  const alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
  let state = seed >>> 0 || 1;
  let out = "";
  for (let index = 0; index < length; index++) {
    state = (Math.imul(state, 1103515245) + 12345) >>> 0;
    out += alphabet[(state >>> 16) % alphabet.length];
  }
  return out;
}
