/**
 * Day-by-day activity of the `access` scenario's organisation: working sessions (Okta sign-ins and
 * app SSO, AWS calls by key or SSO session), IT admin operations, on-call pages at night, travel,
 * scheduled jobs, and the compromises. Each item carries its ground truth.
 */
import {
  devices, type Compromise, type Device, type Organisation, type Person, type Place, type Random, type Trip,
} from "./access-org.js";
import {
  appTarget, behaviours, cloudTrailRecord, iamUserIdentity, oktaEvent, ssoIdentity, stableId, userTarget, type CloudTrailIdentity,
} from "./access-records.js";
import type { TruthLabel } from "./scenario.js";

export interface Item {
  readonly timeMs: number;
  readonly kind: "cloudtrail" | "okta";
  readonly record: Record<string, unknown>;
  readonly label: TruthLabel;
  readonly note: string;
}

const HOUR = 3_600_000;
const MINUTE = 60_000;

type Call = readonly [service: string, eventName: string, readOnly: boolean];

const everyday: readonly Call[] = [
  ["ec2.amazonaws.com", "DescribeInstances", true], ["s3.amazonaws.com", "ListBuckets", true], ["s3.amazonaws.com", "GetObject", true],
  ["s3.amazonaws.com", "PutObject", false], ["lambda.amazonaws.com", "ListFunctions20150331", true], ["lambda.amazonaws.com", "GetFunction20150331v2", true],
  ["dynamodb.amazonaws.com", "DescribeTable", true], ["dynamodb.amazonaws.com", "Query", true], ["logs.amazonaws.com", "FilterLogEvents", true],
  ["monitoring.amazonaws.com", "GetMetricData", true], ["ecs.amazonaws.com", "DescribeServices", true], ["sts.amazonaws.com", "GetCallerIdentity", true],
];

const restrictedByTeam: Readonly<Record<string, readonly Call[]>> = {
  platform: [
    ["iam.amazonaws.com", "ListRoles", true], ["iam.amazonaws.com", "GetRole", true], ["iam.amazonaws.com", "ListAttachedRolePolicies", true],
    ["iam.amazonaws.com", "PutRolePolicy", false], ["kms.amazonaws.com", "Decrypt", true], ["kms.amazonaws.com", "DescribeKey", true],
    ["secretsmanager.amazonaws.com", "GetSecretValue", true], ["secretsmanager.amazonaws.com", "PutSecretValue", false], ["cloudtrail.amazonaws.com", "LookupEvents", true],
  ],
  security: [
    ["iam.amazonaws.com", "ListUsers", true], ["iam.amazonaws.com", "GetAccountAuthorizationDetails", true], ["iam.amazonaws.com", "ListAccessKeys", true],
    ["cloudtrail.amazonaws.com", "LookupEvents", true], ["organizations.amazonaws.com", "ListAccounts", true], ["kms.amazonaws.com", "ListKeys", true],
  ],
  developers: [["secretsmanager.amazonaws.com", "GetSecretValue", true], ["kms.amazonaws.com", "Decrypt", true]],
  support: [["secretsmanager.amazonaws.com", "GetSecretValue", true], ["kms.amazonaws.com", "Decrypt", true], ["iam.amazonaws.com", "GetRole", true]],
};

const apps = ["Slack", "Jira Software", "GitHub Enterprise Cloud", "Google Workspace", "Salesforce.com", "Workday"] as const;
const AWS_APP = "AWS IAM Identity Center";
const ADMIN_APP = "Okta Admin Console";

function requestFor(random: Random, service: string, eventName: string, who: string): Record<string, unknown> | null {
  const app = random.pick(["billing", "orders", "search", "payments", "web"]);
  switch (`${service}:${eventName}`) {
    case "secretsmanager.amazonaws.com:GetSecretValue": case "secretsmanager.amazonaws.com:PutSecretValue": case "secretsmanager.amazonaws.com:DescribeSecret":
      return { secretId: `prod/${app}/database` };
    case "kms.amazonaws.com:Decrypt": case "kms.amazonaws.com:GenerateDataKey": case "kms.amazonaws.com:DescribeKey":
      return { keyId: `arn:aws:kms:eu-west-1:111122223333:alias/${app}`, encryptionAlgorithm: "SYMMETRIC_DEFAULT" };
    case "iam.amazonaws.com:GetRole": case "iam.amazonaws.com:ListAttachedRolePolicies": return { roleName: `${app}-service` };
    case "iam.amazonaws.com:PutRolePolicy":
      return { roleName: `${app}-service`, policyName: `${app}-s3`, policyDocument: `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:GetObject"],"Resource":"arn:aws:s3:::acme-${app}/*"}]}` };
    case "iam.amazonaws.com:ListAccessKeys": return { userName: who };
    case "s3.amazonaws.com:GetObject": case "s3.amazonaws.com:PutObject": return { bucketName: `acme-${app}`, key: `exports/${random.int(1000, 9999)}.json` };
    case "dynamodb.amazonaws.com:DescribeTable": case "dynamodb.amazonaws.com:Query": return { tableName: `${app}-table` };
    case "lambda.amazonaws.com:GetFunction20150331v2": case "lambda.amazonaws.com:UpdateFunctionCode20150331v2": return { functionName: `${app}-api` };
    case "ecs.amazonaws.com:DescribeServices": return { cluster: "prod", services: [`${app}-svc`] };
    default: return null;
  }
}

/** Builds the items of one simulated day. */
export class DayPlan {
  readonly items: Item[] = [];
  private truth: { label: TruthLabel; note: string } = { label: "benign", note: "routine" };

  constructor(private readonly random: Random, private readonly org: Organisation, private readonly dayStartMs: number, private readonly day: number, private readonly weekday: number) {}

  private add(kind: Item["kind"], timeMs: number, record: Record<string, unknown>): void {
    // CloudTrail records times to the second: order by the time the record shows.
    this.items.push({ timeMs: kind === "cloudtrail" ? Math.floor(timeMs / 1000) * 1000 : timeMs, kind, record, label: this.truth.label, note: this.truth.note });
  }

  private labelled(label: TruthLabel, note: string, body: () => void): void {
    const before = this.truth;
    this.truth = { label, note };
    try { body(); } finally { this.truth = before; }
  }

  private actor(p: Person): { id: string; login: string; name: string } {
    return { id: p.oktaId, login: p.login, name: p.name[0]?.toUpperCase() + p.name.slice(1) };
  }

  private okta(timeMs: number, p: Person, place: Place, host: number, device: Device, eventType: string, displayMessage: string, extra: { targets?: Record<string, unknown>[]; debugData?: Record<string, unknown>; outcome?: { result: string; reason?: string } } = {}): void {
    this.add("okta", timeMs, oktaEvent(this.random, { timeMs, eventType, displayMessage, actor: this.actor(p), place, host, device, sessionId: `102${stableId("", `${p.login}${this.day}${place.iso}`, 22)}`, ...extra }));
  }

  private signIn(timeMs: number, p: Person, place: Place, host: number, device: Device): void {
    this.okta(timeMs, p, place, host, device, "user.session.start", "User login to Okta", { targets: [appTarget("0oa1dash0000000000", "Okta Dashboard")] });
  }

  /** App SSO; restricted apps get the sign-on policy evaluation with Okta's behaviour flags first. */
  private sso(timeMs: number, p: Person, place: Place, host: number, device: Device, app: string, newFlags?: { geo: boolean; device: boolean; ip: boolean }): void {
    const target = appTarget(`0oa${stableId("", app, 17).toLowerCase()}`, app);
    if (app === AWS_APP || app === ADMIN_APP) {
      this.okta(timeMs - 2_000, p, place, host, device, "policy.evaluate_sign_on", "Evaluation of sign-on policy", {
        targets: [target], outcome: { result: "ALLOW", reason: "Sign-on policy evaluation resulted in ALLOW" },
        debugData: { behaviors: behaviours(newFlags ?? { geo: false, device: false, ip: false }) },
      });
    }
    if (app === ADMIN_APP) this.okta(timeMs, p, place, host, device, "user.session.access_admin_app", "User accessing Okta admin app", { targets: [target] });
    else this.okta(timeMs, p, place, host, device, "user.authentication.sso", `User single sign on to app`, { targets: [target, userTarget(`0ua${stableId("", p.login, 17).toLowerCase()}`, p.login, p.name)] });
  }

  private identity(p: Person, timeMs: number): { identity: CloudTrailIdentity; agent: (d: Device) => string } {
    if (p.aws.kind === "key") return { identity: iamUserIdentity(p.aws.userName, p.aws.accessKeyId), agent: (d) => d.cliAgent };
    const role = p.aws.kind === "sso" ? p.aws.role : "none";
    const since = new Date(Math.floor(timeMs / HOUR) * HOUR).toISOString().replace(".000Z", "Z");
    return { identity: ssoIdentity(role, p.login, stableId("ASIA", `${p.login}${this.day}`, 16), since), agent: (d) => (this.random.chance(0.5) ? d.browserAgent : d.cliAgent) };
  }

  private call(timeMs: number, identity: CloudTrailIdentity, call: Call, place: Place, host: number, userAgent: string, who: string, over: { requestParameters?: Record<string, unknown>; errorCode?: string; responseElements?: Record<string, unknown> } = {}): void {
    const [service, eventName, readOnly] = call;
    this.add("cloudtrail", timeMs, cloudTrailRecord(this.random, {
      timeMs, service, eventName, readOnly, identity, place, host, userAgent,
      requestParameters: over.requestParameters ?? requestFor(this.random, service, eventName, who),
      ...(over.responseElements ? { responseElements: over.responseElements } : {}),
      ...(over.errorCode ? { errorCode: over.errorCode } : {}),
    }));
  }

  /** AWS calls in bursts between two instants. */
  private awsCalls(p: Person, count: number, fromMs: number, toMs: number, place: Place, host: number, device: Device, restrictedShare = p.restrictedShare): void {
    if (p.aws.kind === "none" || count <= 0) return;
    const restricted = restrictedByTeam[p.team] ?? [];
    let left = count;
    while (left > 0) {
      const burst = Math.min(left, this.random.int(2, 8));
      let t = fromMs + this.random.next() * Math.max(MINUTE, toMs - fromMs - 20 * MINUTE);
      const { identity, agent } = this.identity(p, t);
      const userAgent = agent(device);
      for (let i = 0; i < burst; i++) {
        const pick = restricted.length > 0 && this.random.chance(restrictedShare) ? this.random.pick(restricted) : this.random.pick(everyday);
        this.call(t, identity, pick, place, host, userAgent, p.name);
        t += this.random.int(5, 90) * 1000;
      }
      left -= burst;
    }
  }

  /** A working day (or a short weekend session) of one person, at home or on a trip. */
  person(p: Person, trip: Trip | undefined): void {
    const workday = this.weekday >= 1 && this.weekday <= 5;
    if (!workday && !this.random.chance(0.06)) return;
    const place = trip?.place ?? p.home;
    const host = trip ? 10 + (this.random.int(0, 200)) : 10 + (p.oktaId.charCodeAt(5) % 200);
    const [start, end] = trip ? [9 - trip.utcOffset, 18 - trip.utcOffset] : p.hours;
    const fromMs = this.dayStartMs + start * HOUR + this.random.int(0, 50) * MINUTE;
    const toMs = this.dayStartMs + (workday ? end : start + 3) * HOUR;
    const note = trip ? `traveller ${trip.notice ? "with" : "without"} a travel notice (${trip.place.country})` : p.team === "support" ? "night-shift team in its usual hours (Singapore)" : "routine";
    this.labelled("benign", note, () => {
      const firstTripDay = trip !== undefined && trip.firstDay === this.day;
      this.signIn(fromMs, p, place, host, p.device);
      for (let i = 0; i < this.random.int(2, 4); i++) this.sso(fromMs + this.random.next() * (toMs - fromMs), p, place, host, p.device, this.random.pick(p.team === "business" ? apps : apps.slice(0, 4)));
      if (p.aws.kind === "sso") this.sso(fromMs + 5 * MINUTE, p, place, host, p.device, AWS_APP, { geo: firstTripDay, device: false, ip: trip !== undefined });
      this.awsCalls(p, Math.round(p.callsPerDay * (workday ? 0.7 + this.random.next() * 0.6 : 0.3)), fromMs + 10 * MINUTE, toMs, place, host, p.device);
      if (p.team === "it") this.itAdmin(p, fromMs, toMs, place, host);
      if (workday && !trip && p.aws.kind !== "none" && this.random.chance(0.05)) {
        this.labelled("benign", "working late", () => this.awsCalls(p, this.random.int(2, 6), toMs + 2 * HOUR, toMs + 4 * HOUR, place, host, p.device));
      }
    });
  }

  private itAdmin(p: Person, fromMs: number, toMs: number, place: Place, host: number): void {
    const staff = this.org.people.filter((x) => x !== p);
    const when = (): number => fromMs + this.random.next() * (toMs - fromMs);
    for (let i = 0; i < this.random.int(2, 4); i++) this.sso(when(), p, place, host, p.device, ADMIN_APP);
    this.labelled("benign", "IT admin routine operation", () => {
      const other = this.random.pick(staff);
      const target = [userTarget(other.oktaId, other.login, other.name)];
      if (this.random.chance(0.3)) this.okta(when(), p, place, host, p.device, "group.user_membership.add", "Add user to group membership", { targets: target });
      if (this.random.chance(0.15)) this.okta(when(), p, place, host, p.device, "user.mfa.factor.reset_all", "Reset all factors for user", { targets: target });
      if (this.random.chance(0.1)) this.okta(when(), p, place, host, p.device, "user.lifecycle.activate", "Activate Okta user", { targets: target });
      if (this.random.chance(0.04)) this.okta(when(), p, place, host, p.device, "user.account.privilege.grant", "Grant user privilege", { targets: target, debugData: { privilegeGranted: "Help Desk administrator" } });
    });
  }

  /** A page at night for the on-call engineer: sign in from home, SSO to AWS, restricted calls. */
  onCallPage(onCallAt: (timeMs: number) => Person): void {
    const at = this.dayStartMs + (this.random.chance(0.5) ? this.random.int(0, 4) : this.random.int(22, 23)) * HOUR + this.random.int(0, 59) * MINUTE;
    const p = onCallAt(at);
    const host = 10 + (p.oktaId.charCodeAt(5) % 200);
    this.labelled("benign", "on-call engineer paged at night", () => {
      this.signIn(at, p, p.home, host, p.device);
      this.sso(at + 3 * MINUTE, p, p.home, host, p.device, AWS_APP);
      this.awsCalls(p, this.random.int(6, 14), at + 5 * MINUTE, at + 70 * MINUTE, p.home, host, p.device, 0.7);
    });
  }

  job(name: string, userName: string, keyId: string, hours: readonly number[], calls: readonly (readonly [string, string])[]): void {
    const aws: Place = { iso: "IE", country: "Ireland", city: "Dublin", state: "Leinster", lat: 53.35, lon: -6.26, asn: 16509, asOrg: "Amazon.com, Inc.", domain: "amazon.com", prefix: "100.90.1", hosting: true };
    const identity = iamUserIdentity(userName, keyId);
    const agent = "aws-sdk-go-v2/1.25.2 os/linux lang/go#1.22.1 md/GOOS#linux md/GOARCH#amd64";
    this.labelled("benign", hours.length > 1 ? "deployment pipeline, around the clock" : "scheduled job at night", () => {
      for (const hour of hours) {
        if (hours.length > 1 && !this.random.chance(0.6)) continue;
        let t = this.dayStartMs + hour * HOUR + this.random.int(1, 10) * MINUTE;
        for (const [service, eventName] of calls) {
          this.call(t, identity, [service, eventName, !eventName.startsWith("Put") && !eventName.startsWith("Update") && !eventName.startsWith("Export")], aws, 20, agent, name);
          t += this.random.int(2, 30) * 1000;
        }
      }
    });
  }

  compromise(c: Compromise): void {
    const v = c.victim;
    const host = this.random.int(20, 240);
    let t = this.dayStartMs + c.hour * HOUR + this.random.int(0, 59) * MINUTE;
    const step = (): number => (t += this.random.int(20, 120) * 1000);
    const note = c.kind === "stolen-key" ? `compromise: stolen access key of ${v.name} used from ${c.attacker.country}`
      : c.kind === "okta-takeover" ? `compromise: Okta account of ${v.name} taken over from ${c.attacker.country}`
        : `compromise: AWS session of ${v.name} hijacked from ${c.attacker.country}`;
    const backdoor = `svc-${this.random.pick(["sync", "backup", "audit", "metrics"])}-${this.random.int(10, 99)}`;
    this.labelled("violation", note, () => {
      if (c.kind === "okta-takeover") {
        const d = devices.attacker;
        this.signIn(t, v, c.attacker, host, d);
        this.sso(step(), v, c.attacker, host, d, ADMIN_APP, { geo: true, device: true, ip: true });
        this.okta(step(), v, c.attacker, host, d, "user.mfa.factor.deactivate", "Reset factor for user", { targets: [userTarget(v.oktaId, v.login, v.name)], outcome: { result: "SUCCESS", reason: "User reset PUSH factor" } });
        this.okta(step(), v, c.attacker, host, d, "system.api_token.create", "Create API token", { targets: [{ id: `00T${stableId("", backdoor, 17).toLowerCase()}`, type: "Token", alternateId: "unknown", displayName: backdoor, detailEntry: null }] });
        const mate = this.random.pick(this.org.people.filter((x) => x !== v));
        this.okta(step(), v, c.attacker, host, d, "user.account.privilege.grant", "Grant user privilege", { targets: [userTarget(mate.oktaId, mate.login, mate.name)], debugData: { privilegeGranted: "Super administrator" } });
        if (v.aws.kind === "sso") this.sso(step(), v, c.attacker, host, d, AWS_APP, { geo: true, device: true, ip: true });
        return;
      }
      const { identity } = this.identity(v, t);
      const userAgent = c.kind === "stolen-key" ? devices.attacker.cliAgent : devices.attacker.browserAgent;
      const recon: Call[] = [["iam.amazonaws.com", "GetUser", true], ["iam.amazonaws.com", "ListAttachedUserPolicies", true], ["iam.amazonaws.com", "ListUsers", true], ["secretsmanager.amazonaws.com", "ListSecrets", true]];
      for (const call of recon) this.call(step(), identity, call, c.attacker, host, userAgent, v.name, { requestParameters: call[1] === "ListUsers" || call[1] === "ListSecrets" ? {} : { userName: v.name } });
      for (let i = 0; i < this.random.int(2, 4); i++) this.call(step(), identity, ["secretsmanager.amazonaws.com", "GetSecretValue", true], c.attacker, host, userAgent, v.name);
      this.call(step(), identity, ["kms.amazonaws.com", "Decrypt", true], c.attacker, host, userAgent, v.name);
      this.call(step(), identity, ["iam.amazonaws.com", "CreateUser", false], c.attacker, host, userAgent, v.name, { requestParameters: { userName: backdoor }, responseElements: { user: { userName: backdoor, path: "/", arn: `arn:aws:iam::111122223333:user/${backdoor}` } } });
      this.call(step(), identity, ["iam.amazonaws.com", "CreateAccessKey", false], c.attacker, host, userAgent, v.name, { requestParameters: { userName: backdoor }, responseElements: { accessKey: { userName: backdoor, status: "Active", accessKeyId: stableId("AKIA", backdoor, 16) } } });
      this.call(step(), identity, ["iam.amazonaws.com", "AttachUserPolicy", false], c.attacker, host, userAgent, v.name, { requestParameters: { userName: backdoor, policyArn: "arn:aws:iam::aws:policy/AdministratorAccess" } });
      this.call(step(), identity, ["organizations.amazonaws.com", "ListAccounts", true], c.attacker, host, userAgent, v.name, { requestParameters: {}, errorCode: "AccessDeniedException" });
    });
  }
}

