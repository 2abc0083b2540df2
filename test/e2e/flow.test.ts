/**
 * The whole loop in a real server process: real CloudTrail records (Panther's test events) in →
 * a decision with its explanation → a review → approval (after the kill switch held it) → the
 * action against a wire-protocol S3 endpoint (SigV4 checked) → undo; clock-driven escalation to
 * the safe default; an exception that stops applying when it expires; wrong roles refused. The
 * CLI commands (ingest, reviews, killswitch, undo, posture, exceptions) talk to the same server.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { playS3, AWS_KEYS, type PublicAccessBlock } from "../../src/act/actuators/aws-fakes.js";
import { startWireServer, type WireServer } from "../../src/act/actuators/test-server.js";
import { decisionIdFor } from "../../src/agent.js";
import { vigil } from "../cli/support.js";
import { ADMIN_TOKEN, api, createToken, eventually, fixtures, startVigil, tempDir, writeConfig, type Api, type VigilProcess } from "./harness.js";

const POLICY = "s3-public-access-block-removed";
const record = (() => {
  for (const line of readFileSync(join(fixtures, "panther-analysis-rules", "cloudtrail-tests.jsonl"), "utf8").split("\n")) {
    if (!line) continue;
    const item = JSON.parse(line) as { rule: string; test: string; log: Record<string, unknown> };
    if (item.rule === "AWS.S3.DeletePublicAccessBlock" && item.test === "Public Access Block Deleted Successfully") return item.log;
  }
  throw new Error("fixture missing");
})();

/** The same CloudTrail record for another bucket and event id. */
function deletion(eventID: string, bucket: string): Record<string, unknown> {
  return { ...record, eventID, requestParameters: { ...(record["requestParameters"] as object), bucketName: bucket } };
}

let wire: WireServer;
let slackServer: WireServer;
let server: VigilProcess;
let dir: string;
const buckets = new Map<string, PublicAccessBlock | null>([["corporate-documents", null], ["finance-reports", null], ["www-site", null]]);
const slack: string[] = [];
let admin: Api, ingest: Api, approver: Api, operator: Api, viewer: Api;
let tokens: Record<string, string>;

const cli = (argv: string[], role: string) => vigil(argv, { env: { VIGIL_SERVER: server.url, VIGIL_TOKEN: tokens[role] as string }, cwd: dir });
const allOn: PublicAccessBlock = { BlockPublicAcls: true, IgnorePublicAcls: true, BlockPublicPolicy: true, RestrictPublicBuckets: true };

async function ingestRecords(records: Record<string, unknown>[]): Promise<string[]> {
  const file = join(dir, `records-${records.map((r) => r["eventID"]).join("_")}.json`);
  writeFileSync(file, JSON.stringify({ Records: records }));
  const run = await cli(["ingest", file], "ingest");
  expect(run.stderr).toBe("");
  expect(run.stdout).toContain(`${records.length} accepted`);
  return records.map((r) => decisionIdFor({ source: "aws.s3", id: String(r["eventID"]) }));
}

const decided = (id: string) => eventually(async () => {
  const response = await viewer.request("GET", `/v1/decisions/${id}/explain`);
  return response.status === 200 ? response.body : undefined;
}, 30_000, `decision ${id}`);

async function openReview(decisionId: string): Promise<{ id: string; actionIds: string[]; level: number; dueAt?: string; status: string }> {
  return eventually(async () => (await viewer.request("GET", `/v1/reviews?decisionId=${decisionId}`)).body.reviews[0], 10_000, `review of ${decisionId}`);
}

beforeAll(async () => {
  wire = await startWireServer();
  playS3(wire, "us-east-1", buckets);
  slackServer = await startWireServer();
  slackServer.on("POST", "/slack", (request) => {
    slack.push(request.json<{ text: string }>().text);
    return { status: 200, body: "ok" };
  });
  dir = tempDir();
  const configFile = writeConfig(dir, {
    policies: [join(fixtures, "e2e-policies")],
    clock: { mode: "manual", start: "2024-01-15T11:00:00Z" },
    actuators: {
      aws: { region: "us-east-1", credentials: AWS_KEYS, endpoint: wire.url, maxAttempts: 1 },
      slack: { webhooks: { default: `${slackServer.url}/slack` }, maxAttempts: 1 },
    },
  });
  server = await startVigil(configFile);
  tokens = {
    ingest: await createToken(server.url, "ci-loader", ["ingest"]),
    approver: await createToken(server.url, "alice-approver", ["approver"]),
    operator: await createToken(server.url, "bob-operator", ["operator"]),
    viewer: await createToken(server.url, "carol-viewer", ["viewer"]),
  };
  admin = api(server.url, ADMIN_TOKEN);
  ingest = api(server.url, tokens["ingest"]);
  approver = api(server.url, tokens["approver"]);
  operator = api(server.url, tokens["operator"]);
  viewer = api(server.url, tokens["viewer"]);
}, 120_000);

afterAll(async () => {
  if (server && server.child.exitCode === null) await server.stop();
  await wire?.close();
  await slackServer?.close();
});

describe("end to end, in a real server process", () => {
  it("starts with the e2e policies in dry-run until promoted; promotion needs the approver role", async () => {
    const policies = (await viewer.request("GET", "/v1/policies")).body;
    expect(policies.loadErrors).toEqual([]);
    expect(policies.policies.find((p: { name: string }) => p.name === POLICY)).toMatchObject({ dryRun: true, mode: "enforce" });
    expect((await operator.request("POST", `/v1/policies/${POLICY}/promote`, { reason: "e2e" })).status).toBe(403);
    const promoted = await approver.request("POST", `/v1/policies/${POLICY}/promote`, { reason: "reviewed the policy" });
    expect(promoted.status).toBe(200);
    expect(promoted.body.dryRun).toBe(false);
  });

  it("CloudTrail record in → decision with explanation → review → approval → S3 action → undo", { timeout: 60_000 }, async () => {
    const [decisionId] = await ingestRecords([record]);
    const explained = await decided(decisionId as string);
    expect(explained).toMatchObject({ verdict: "deny", tier: "approve" });
    expect(explained.explanation.summary).toContain("S3 Block Public Access removed from bucket corporate-documents");
    const steps = explained.explanation.steps.map((s: { text: string }) => s.text).join("\n");
    expect(steps).toContain('!("errorCode" in input) was true');
    expect(steps).toMatch(/aws\.s3\.block-public-access/);

    const review = await openReview(decisionId as string);
    expect(review.status).toBe("pending");
    expect(review.actionIds).toHaveLength(1);
    const actionId = review.actionIds[0] as string;
    expect(buckets.get("corporate-documents")).toBeNull();

    // Wrong roles are refused; the kill switch holds the approval.
    expect((await viewer.request("POST", `/v1/reviews/${review.id}/approve`, {})).status).toBe(403);
    expect((await approver.request("PUT", "/v1/killswitch", { on: true })).status).toBe(403);
    const on = await cli(["killswitch", "on", "--reason", "e2e drill"], "operator");
    expect(on.stdout).toContain("kill switch ON");
    expect((await approver.request("POST", `/v1/reviews/${review.id}/approve`, { reason: "confirmed" })).status).toBe(423);
    expect(buckets.get("corporate-documents")).toBeNull();
    expect((await cli(["killswitch", "off"], "operator")).stdout).toContain("kill switch off");

    const listed = await cli(["reviews", "list"], "viewer");
    expect(listed.stdout).toContain(review.id);
    const approved = await cli(["reviews", "approve", review.id, "--reason", "confirmed with the bucket owner"], "approver");
    expect(approved.code).toBe(0);
    expect(buckets.get("corporate-documents")).toEqual(allOn);
    const put = wire.requests.find((r) => r.method === "PUT" && r.query.has("publicAccessBlock"));
    expect(put?.header("authorization")).toMatch(/^AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE\//);
    expect(wire.problems).toEqual([]);
    const action = (await viewer.request("GET", `/v1/actions/${actionId}`)).body;
    expect(action).toMatchObject({ status: "applied", approvedBy: "alice-approver" });
    expect(action.result.undo.actuator).toBe("aws.s3.block-public-access");

    expect((await ingest.request("POST", `/v1/actions/${actionId}/undo`, {})).status).toBe(403);
    const undone = await cli(["undo", actionId, "--reason", "bucket owner restores it"], "operator");
    expect(undone.stdout).toContain("undone");
    expect(buckets.get("corporate-documents")).toBeNull();
    expect(wire.requests.some((r) => r.method === "DELETE" && r.query.has("publicAccessBlock"))).toBe(true);

    const audit = (await admin.request("GET", "/v1/audit?limit=1000")).body.entries as { actor: string; action: string }[];
    expect(audit).toContainEqual(expect.objectContaining({ actor: "bob-operator", action: "killswitch.on" }));
    expect(audit).toContainEqual(expect.objectContaining({ actor: "bob-operator", action: "action.undo" }));
    expect(audit.some((e) => e.actor === "alice-approver" && e.action.startsWith("review."))).toBe(true);
    expect(audit).toContainEqual(expect.objectContaining({ actor: "carol-viewer", action: "api.forbidden" }));
  });

  it("escalates on the clock and applies the policy's safe default after the last level (no sleeping)", { timeout: 60_000 }, async () => {
    const [decisionId] = await ingestRecords([deletion("esc-1", "finance-reports")]);
    await decided(decisionId as string);
    const review = await openReview(decisionId as string);
    expect(review).toMatchObject({ status: "pending", level: 0 });
    expect(slack.some((text) => text.includes(review.id) && text.includes("created"))).toBe(true);

    expect((await operator.request("PUT", "/v1/clock", { advanceMs: 31 * 60_000 })).status).toBe(403);
    await admin.request("PUT", "/v1/clock", { advanceMs: 31 * 60_000 });
    const escalated = (await viewer.request("GET", `/v1/reviews/${review.id}`)).body;
    expect(escalated).toMatchObject({ status: "escalated", level: 1 });
    // Level 1 notifies `oncall:cloud-security`: no channel is configured for it, and the review says so.
    expect(escalated.notifications).toContainEqual(expect.objectContaining({ reason: "escalated", level: 1, targets: ["oncall:cloud-security"], error: expect.stringContaining("no channel") }));
    expect(buckets.get("finance-reports")).toBeNull();

    await admin.request("PUT", "/v1/clock", { advanceMs: 61 * 60_000 });
    const settled = (await viewer.request("GET", `/v1/reviews/${review.id}`)).body;
    expect(settled.outcome).toBe("safe-default");
    expect(buckets.get("finance-reports")).toEqual(allOn);
  });

  it("applies an exception until it expires, then enforces again", { timeout: 60_000 }, async () => {
    const now = (await admin.request("PUT", "/v1/clock", { advanceMs: 0 })).body.now as string;
    const expires = new Date(Date.parse(now) + 60 * 60_000).toISOString();
    const added = await cli(["exceptions", "add", "--policy", POLICY, "--when", 'variables.bucket == "www-site"', "--justification", "static website bucket", "--ticket", "SEC-88", "--expires", expires], "approver");
    expect(added.code).toBe(0);
    const exceptionId = /EX-\d+/.exec(added.stdout)?.[0];
    expect(exceptionId).toBeDefined();

    const [excepted] = await ingestRecords([deletion("exc-1", "www-site")]);
    const allowed = await decided(excepted as string);
    expect(allowed.verdict).toBe("allow");
    expect(allowed.explanation.steps.some((s: { kind: string; ref?: string }) => s.kind === "exception" && s.ref === exceptionId)).toBe(true);
    expect((await viewer.request("GET", `/v1/reviews?decisionId=${excepted}`)).body.reviews).toEqual([]);

    await admin.request("PUT", "/v1/clock", { advanceMs: 2 * 60 * 60_000 });
    expect((await cli(["exceptions", "list"], "viewer")).stdout).not.toContain(exceptionId as string);
    const [enforced] = await ingestRecords([deletion("exc-2", "www-site")]);
    const denied = await decided(enforced as string);
    expect(denied).toMatchObject({ verdict: "deny", tier: "approve" });
    expect((await openReview(enforced as string)).status).toBe("pending");
  });

  it("posture set/show through the CLI; the chain verifies; SIGTERM stops cleanly", async () => {
    expect((await cli(["posture", "set", "incident", "--reason", "INC-9"], "viewer")).code).toBe(2);
    expect((await cli(["posture", "set", "incident", "--reason", "INC-9"], "operator")).stdout).toContain("org: incident");
    expect((await cli(["posture", "show"], "viewer")).stdout).toContain("INC-9");
    const health = await api(server.url, undefined).request("GET", "/healthz");
    expect(health.body).toMatchObject({ status: "ok", policyErrors: 0 });
    expect(await server.stop()).toBe(0);
    const verified = await vigil(["audit", "verify", "--config", join(dir, "vigil.yaml")]);
    expect(verified.code).toBe(0);
  });
});
