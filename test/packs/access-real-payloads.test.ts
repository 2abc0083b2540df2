/**
 * The access pack on real CloudTrail and Okta payload shapes and their near misses: Panther's
 * labelled test logs (test/fixtures/panther-analysis-rules, Apache-2.0, see SOURCE), changed only
 * where the test says how, to the form the CloudTrail and Okta APIs send. Each event goes through
 * the source adapter, the context stage (no history), the pack and the decider.
 */
import { describe, expect, it } from "vitest";
import type { DecisionDraft } from "../../src/core/decision.js";
import { cloudTrailRecordToEvent } from "../../src/sources/cloudtrail.js";
import { oktaEventToEvent } from "../../src/sources/okta.js";
import { apiCasing, createDecideLoop, readPantherCases, violations } from "./access-support.js";

const loop = createDecideLoop({ clock: { now: () => new Date("2026-01-15T12:00:00Z") } });

/** A Panther test log by rule and test name, with the API's casing of the top-level fields (a fresh copy). */
function pantherLog(rule: string, test: string): Record<string, unknown> {
  const item = readPantherCases().find((c) => c.rule === rule && c.test === test);
  if (item === undefined) throw new Error(`no Panther test ${rule} :: ${test}`);
  return structuredClone(apiCasing(item.log, item.source).log);
}

async function decideOkta(log: Record<string, unknown>): Promise<DecisionDraft> {
  const converted = oktaEventToEvent(log);
  if (!converted.ok) throw new Error("the Okta log did not convert");
  return (await loop.decide(converted.event, { learn: false })).draft;
}

async function decideCloudTrail(log: Record<string, unknown>): Promise<DecisionDraft> {
  const converted = cloudTrailRecordToEvent(log);
  if (!converted.ok) throw new Error("the CloudTrail record did not convert");
  return (await loop.decide(converted.event, { learn: false })).draft;
}

/** Every finding's message, with what a person must never read in one. */
function unreadable(draft: DecisionDraft): string[] {
  return draft.findings.map((f) => f.message ?? "").filter((m) => /<error|\bnull\b|\bundefined\b|\{\{|\(\)/.test(m));
}

describe("access pack: Okta fields the System Log API sends as null", () => {
  // Okta's System Log API writes absent values as JSON null: `"outcome": {"result": "SUCCESS",
  // "reason": null}`, `"client": {"ipAddress": null, ...}`. Panther's test logs leave such keys out.
  it("a factor removed with outcome.reason null is reported with a readable message", async () => {
    const log = pantherLog("Standard.MFADisabled", "Okta - User disables MFA");
    log["outcome"] = { result: "SUCCESS", reason: null };
    const draft = await decideOkta(log);
    expect(violations(draft)).toEqual(["access-okta-sensitive-actions/mfa-factor-removed"]);
    expect(draft.findings[0]?.message).toBe("homer@springfield.gov removed an MFA factor of homer@springfield.gov");
    expect(unreadable(draft)).toEqual([]);
  });

  it("a ThreatInsight detection with outcome.reason null says no reason was given", async () => {
    const log = pantherLog("Okta.ThreatInsight.Security.Threat.Detected", "Threat Detected Event - Deny");
    (log["outcome"] as Record<string, unknown>)["reason"] = null;
    const draft = await decideOkta(log);
    expect(violations(draft)).toEqual(["access-okta-sensitive-actions/threat-detected"]);
    expect(draft.findings[0]?.message).toBe("Okta ThreatInsight flagged a request (no reason given, outcome DENY)");
  });

  it("a sign-in through an anonymizing proxy with client.ipAddress null names no null address", async () => {
    const item = readPantherCases().find((c) => c.rule === "Okta.Anonymizing.VPN.Login" && c.expected);
    if (item === undefined) throw new Error("no labelled anonymizing-proxy sign-in");
    const log = structuredClone(apiCasing(item.log, item.source).log);
    (log["client"] as Record<string, unknown>)["ipAddress"] = null;
    const draft = await decideOkta(log);
    expect(violations(draft)).toContain("access-okta-sensitive-actions/anonymizing-proxy-sign-in");
    expect(draft.findings.find((f) => f.rule === "anonymizing-proxy-sign-in")?.message).toContain("(unknown address, outcome ");
    expect(unreadable(draft)).toEqual([]);
  });
});

describe("access pack: messages say what happened", () => {
  it("a sign-in through an anonymizing proxy that failed is reported as an attempt, not as a sign-in", async () => {
    const log = pantherLog("Okta.Anonymizing.VPN.Login", "Anonymizing Proxy Used");
    expect(log["eventType"]).toBe("user.session.start");
    expect(log["outcome"]).toMatchObject({ result: "FAILURE" });
    const failed = await decideOkta(log);
    expect(violations(failed)).toContain("access-okta-sensitive-actions/anonymizing-proxy-sign-in");
    expect(failed.findings.find((f) => f.rule === "anonymizing-proxy-sign-in")?.message).toBe("homer.simpson@duff.com tried to sign in through an anonymizing proxy (1.3.2.4, outcome FAILURE)");
    const signedIn = await decideOkta({ ...log, outcome: { result: "SUCCESS" } });
    expect(signedIn.findings.find((f) => f.rule === "anonymizing-proxy-sign-in")?.message).toBe("homer.simpson@duff.com signed in through an anonymizing proxy (1.3.2.4, outcome SUCCESS)");
  });

  it("a restricted Okta operation that failed is judged as an attempt and said to have failed", async () => {
    // Panther's log: group.privilege.grant at 00:58 UTC (the night window without history), outcome FAILURE.
    const log = pantherLog("Okta.Group.Admin.Role.Assigned", "Group Privilege Grant");
    expect(log["outcome"]).toMatchObject({ result: "FAILURE" });
    const failed = await decideOkta(log);
    expect(violations(failed)).toEqual(["access-okta-restricted/odd-hour"]);
    expect(failed.findings.find((f) => f.rule === "odd-hour")?.message).toBe("homer.simpson@duff.com attempted group.privilege.grant (outcome FAILURE) at an odd hour (UTC hour 0 is in the night window; less than a week of their history) from a known location and device");
    const granted = await decideOkta({ ...log, outcome: { result: "SUCCESS" } });
    expect(granted.findings.find((f) => f.rule === "odd-hour")?.message).toBe("homer.simpson@duff.com performed group.privilege.grant at an odd hour (UTC hour 0 is in the night window; less than a week of their history) from a known location and device");
  });
});

describe("access pack: role sessions and federated users on restricted services", () => {
  // Panther's FederatedUser CloudTrail record, with the federation name a person's email (GetFederationToken
  // accepts "@" in Name) and the call moved to KMS at 02:10 UTC: judged by the static night window.
  function federated(): Record<string, unknown> {
    const log = pantherLog("AWS.Lambda.UpdateFunctionCode", "FederatedUser Updates Lambda Code");
    const identity = log["userIdentity"] as Record<string, unknown>;
    expect(identity["type"]).toBe("FederatedUser");
    identity["arn"] = "arn:aws:sts::123456789012:federated-user/dana@acme.example";
    return { ...log, eventSource: "kms.amazonaws.com", eventName: "Decrypt", eventTime: "2026-01-14T02:10:00Z", readOnly: true, requestParameters: null, responseElements: null };
  }

  it("a federated user's message names the federation, not an empty role", async () => {
    const draft = await decideCloudTrail(federated());
    expect(violations(draft)).toEqual(["access-aws-session-restricted/odd-hour"]);
    expect(draft.findings[0]?.message).toBe("dana@acme.example (federated user) called kms:Decrypt at an odd hour (UTC hour 2 is in the night window; less than a week of their history) from a known location and device");
    expect(unreadable(draft)).toEqual([]);
  });
});

describe("access pack: administrator access attached, in every AWS partition", () => {
  const attach = (policyArn: string, region: string): Record<string, unknown> => {
    const log = pantherLog("AWS.IAM.AttachAdminUserPolicy", "IAM User Policy Attached with Administrator Access");
    (log["requestParameters"] as Record<string, unknown>)["policyArn"] = policyArn;
    return { ...log, awsRegion: region };
  };

  it("AdministratorAccess in the aws partition is reported (Panther's labelled log)", async () => {
    expect(violations(await decideCloudTrail(attach("arn:aws:iam::aws:policy/AdministratorAccess", "us-east-1")))).toContain("access-aws-sensitive-actions/admin-policy-attached");
  });

  it("AdministratorAccess in GovCloud and China (arn:aws-us-gov, arn:aws-cn) is reported too", async () => {
    for (const [arn, region] of [["arn:aws-us-gov:iam::aws:policy/AdministratorAccess", "us-gov-west-1"], ["arn:aws-cn:iam::aws:policy/IAMFullAccess", "cn-north-1"]] as const) {
      const draft = await decideCloudTrail(attach(arn, region));
      expect(violations(draft), arn).toContain("access-aws-sensitive-actions/admin-policy-attached");
      expect(draft.findings.find((f) => f.rule === "admin-policy-attached")?.message, arn).toContain(`gave new-user administrator access: AttachUserPolicy ${arn}`);
    }
  });

  it("a read-only managed policy, a customer policy named like an AWS one, or a failed attach is not", async () => {
    const quiet = [
      attach("arn:aws-us-gov:iam::aws:policy/ReadOnlyAccess", "us-gov-west-1"),
      attach("arn:aws:iam::123456789012:policy/AdministratorAccess", "us-east-1"),
      { ...attach("arn:aws:iam::aws:policy/AdministratorAccess", "us-east-1"), errorCode: "AccessDenied", errorMessage: "User is not authorized to perform: iam:AttachUserPolicy" },
    ];
    for (const log of quiet) expect(violations(await decideCloudTrail(log))).not.toContain("access-aws-sensitive-actions/admin-policy-attached");
  });
});

describe("access pack: restricted-service near misses on a real access-key record", () => {
  // Panther's "Access Key Action Success" record (an IAM user's AKIA key), moved to IAM at 02:10
  // UTC: with no history, the static night window decides (docs/packs/access.md).
  function keyCall(changes: Record<string, unknown> = {}): Record<string, unknown> {
    const log = pantherLog("AWS.CloudTrail.UserAccessKeyAuth", "Access Key Action Success");
    const identity = log["userIdentity"] as Record<string, unknown>;
    expect(identity["type"]).toBe("IAMUser");
    expect(String(identity["accessKeyId"])).toMatch(/^AKIA/);
    return { ...log, eventSource: "iam.amazonaws.com", eventName: "ListUsers", readOnly: true, eventTime: "2026-01-14T02:10:00Z", ...changes };
  }
  const keyRules = (draft: DecisionDraft): string[] => violations(draft).filter((v) => v.startsWith("access-aws-key-restricted/") || v.startsWith("access-aws-session-restricted/"));

  it("an IAM user's key on IAM at night is an odd-hour finding (notify), named with the user and key", async () => {
    const draft = await decideCloudTrail(keyCall());
    expect(keyRules(draft)).toEqual(["access-aws-key-restricted/odd-hour"]);
    expect(draft.tier).toBe("notify");
    expect(draft.findings[0]?.message).toMatch(/^exposed\.user used access key AKIA[A-Z0-9]+ for iam:ListUsers at an odd hour \(UTC hour 2 is in the night window/);
    expect(unreadable(draft)).toEqual([]);
  });

  it("the same call at 14:00 UTC, or on a service that is not restricted, raises nothing", async () => {
    expect(keyRules(await decideCloudTrail(keyCall({ eventTime: "2026-01-14T14:10:00Z" })))).toEqual([]);
    expect(keyRules(await decideCloudTrail(keyCall({ eventSource: "sts.amazonaws.com", eventName: "GetCallerIdentity" })))).toEqual([]);
  });

  it("a denied call (errorCode AccessDenied) is still judged (probing), but is not a change that suspends", async () => {
    const draft = await decideCloudTrail(keyCall({ readOnly: false, eventName: "CreateUser", errorCode: "AccessDenied", errorMessage: "not authorized" }));
    expect(keyRules(draft)).toEqual(["access-aws-key-restricted/odd-hour"]);
    expect(draft.tier).toBe("notify");
    expect(violations(draft).filter((v) => v.startsWith("access-aws-sensitive-actions/"))).toEqual([]);
  });

  it("an assumed-role session named after a person is the session policy's, a machine session nobody's", async () => {
    const session = (arn: string): Record<string, unknown> => keyCall({ userIdentity: { type: "AssumedRole", arn, principalId: "AROAEXAMPLE:x", accountId: "187901811700", accessKeyId: "ASIAEXAMPLE00000001" } });
    const person = await decideCloudTrail(session("arn:aws:sts::187901811700:assumed-role/AWSReservedSSO_DevAdmin_635426549a280cc6/nicholas@acme.example"));
    expect(keyRules(person)).toEqual(["access-aws-session-restricted/odd-hour"]);
    expect(person.findings[0]?.message).toMatch(/^nicholas@acme\.example \(AWSReservedSSO_DevAdmin_635426549a280cc6\) called iam:ListUsers at an odd hour/);
    expect(keyRules(await decideCloudTrail(session("arn:aws:sts::187901811700:assumed-role/batch/i-0abc123def4567890")))).toEqual([]);
  });
});

describe("access pack: Okta near misses", () => {
  it("an admin role granted at night is restricted (odd hour) and reported as a grant; a failed grant is not a grant", async () => {
    const item = readPantherCases().find((c) => c.rule === "Okta.AdminRoleAssigned" && c.expected);
    if (item === undefined) throw new Error("no labelled admin role grant");
    const log = { ...structuredClone(apiCasing(item.log, item.source).log), published: "2026-01-14T02:10:00.000Z" };
    const granted = await decideOkta(log);
    expect(violations(granted)).toEqual(expect.arrayContaining(["access-okta-restricted/odd-hour", "access-okta-sensitive-actions/admin-privilege-granted"]));
    expect(unreadable(granted)).toEqual([]);
    const failed = await decideOkta({ ...log, outcome: { result: "FAILURE", reason: null } });
    expect(violations(failed)).not.toContain("access-okta-sensitive-actions/admin-privilege-granted");
  });

  it("an Okta event of another type at night (a rate-limit warning) raises nothing", async () => {
    const item = readPantherCases().find((c) => c.source === "okta" && (c.log["eventType"] ?? c.log["eventtype"]) === "system.org.rate_limit.warning");
    if (item === undefined) throw new Error("no rate-limit warning");
    const draft = await decideOkta({ ...structuredClone(apiCasing(item.log, item.source).log), published: "2026-01-14T02:10:00.000Z" });
    expect(violations(draft)).toEqual([]);
  });
});

describe("access pack: IAM Identity Center sessions whose user name is not an email", () => {
  // Panther's real IAM Identity Center session (role AWSReservedSSO_DevAdmin_…, session name
  // "nicholas.hakmiller", an Identity Center user name, not an email), its call moved to IAM at 02:10 UTC.
  function ssoCall(arn?: string): Record<string, unknown> {
    const log = pantherLog("AWS.CloudTrail.UserAccessKeyAuth", "Console Login");
    const identity = log["userIdentity"] as Record<string, unknown>;
    expect(identity["arn"]).toBe("arn:aws:sts::187901811700:assumed-role/AWSReservedSSO_DevAdmin_635426549a280cc6/nicholas.hakmiller");
    if (arn !== undefined) identity["arn"] = arn;
    return { ...log, eventSource: "iam.amazonaws.com", eventName: "ListUsers", eventType: "AwsApiCall", readOnly: true, eventTime: "2026-01-14T02:10:00Z", additionalEventData: null, responseElements: null };
  }

  it("is a person's session: judged by the session policy and suspended by that user name", async () => {
    const draft = await decideCloudTrail(ssoCall());
    expect(violations(draft)).toEqual(["access-aws-session-restricted/odd-hour"]);
    expect(draft.findings[0]?.message).toMatch(/^nicholas\.hakmiller \(AWSReservedSSO_DevAdmin_635426549a280cc6\) called iam:ListUsers at an odd hour/);
  });

  it("a role that is not Identity Center's, with a session name that is not an email, is still a machine's", async () => {
    expect(violations(await decideCloudTrail(ssoCall("arn:aws:sts::187901811700:assumed-role/DevAdmin/nicholas.hakmiller")))).toEqual([]);
  });
});

describe("access pack: Okta actions that weaken access are reported (notify) whatever their risk score", () => {
  // Panther's labelled Okta logs at 10:10 UTC (a usual hour, no history): each is a medium-severity
  // warn finding (risk 0.175), which the decider's risk movement alone would lower to observe.
  const cases: [string, string, string][] = [
    ["Okta.User.MFA.Reset.All", "Reset All Event", "mfa-factors-reset"],
    ["Standard.MFADisabled", "Okta - User disables MFA", "mfa-factor-removed"],
    ["Okta.User.MFA.Factor.Suspend", "Suspend Event", "mfa-factor-suspended"],
    ["Okta.APIKeyCreated", "API Key Created", "api-token-created"],
  ];
  for (const [rule, test, packRule] of cases) {
    it(`${packRule} (${rule}) is at tier notify, so the flag goes out`, async () => {
      const draft = await decideOkta({ ...pantherLog(rule, test), published: "2026-01-14T10:10:00.000Z" });
      expect(violations(draft)).toEqual([`access-okta-sensitive-actions/${packRule}`]);
      expect(draft.tier).toBe("notify");
    });
  }

  it("in incident posture they still step up to approve", async () => {
    const converted = oktaEventToEvent({ ...pantherLog("Okta.User.MFA.Reset.All", "Reset All Event"), published: "2026-01-14T10:10:00.000Z" });
    if (!converted.ok) throw new Error("the Okta log did not convert");
    const incident = createDecideLoop({ clock: { now: () => new Date("2026-01-15T12:00:00Z") } });
    const ctx = await incident.stage.build(converted.event);
    const { findings, policyRevisions } = incident.pack.policySet.evaluate({ ...ctx, posture: { level: "incident", scope: "org", since: "2026-01-14T00:00:00Z" } });
    const draft = incident.decider.decide({ ...ctx, posture: { level: "incident", scope: "org", since: "2026-01-14T00:00:00Z" } }, findings, policyRevisions, { id: "d-incident", now: "2026-01-15T12:00:00Z", enforced: true, policy: (name) => incident.pack.policySet.get(name) });
    expect(draft.tier).toBe("approve");
  });
});
