/**
 * CloudTrail records and Okta System Log events of the `access` scenario, shaped like the real ones
 * (field names, nesting and value formats of CloudTrail 1.09 records and Okta LogEvents). CloudTrail
 * records carry the ipinfo enrichment a Panther data lake adds (`p_enrichment`), which is where
 * Vigil finds the country and network of a CloudTrail call.
 */
import { ACCOUNT_ID, type Device, type Place, type Random } from "./access-org.js";

type Json = Record<string, unknown>;

/** A stable id from text (FNV-1a), for ids that must not change between runs: principal ids, role ids. */
export function stableId(prefix: string, text: string, length: number): string {
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
  let hash = 0x811c9dc5;
  let out = prefix;
  for (let i = 0; out.length < prefix.length + length; i++) {
    hash ^= text.charCodeAt(i % Math.max(1, text.length)) + i;
    hash = Math.imul(hash, 0x01000193) >>> 0;
    out += alphabet[hash % 32];
  }
  return out;
}

export function uuid(random: Random): string {
  const h = (n: number): string => Array.from({ length: n }, () => "0123456789abcdef"[random.int(0, 15)]).join("");
  return `${h(8)}-${h(4)}-4${h(3)}-${"89ab"[random.int(0, 3)]}${h(3)}-${h(12)}`;
}

export function ipOf(place: Place, host: number): string {
  return `${place.prefix}.${host}`;
}

/** CloudTrail time: second precision, `Z`. */
export function cloudTrailTime(ms: number): string {
  return new Date(Math.floor(ms / 1000) * 1000).toISOString().replace(".000Z", "Z");
}

export type CloudTrailIdentity = Json;

export function iamUserIdentity(userName: string, accessKeyId: string): CloudTrailIdentity {
  return { type: "IAMUser", principalId: stableId("AIDA", userName, 17), arn: `arn:aws:iam::${ACCOUNT_ID}:user/${userName}`, accountId: ACCOUNT_ID, accessKeyId, userName };
}

export function ssoIdentity(role: string, login: string, sessionKey: string, since: string): CloudTrailIdentity {
  const roleId = stableId("AROA", role, 17);
  return {
    type: "AssumedRole",
    principalId: `${roleId}:${login}`,
    arn: `arn:aws:sts::${ACCOUNT_ID}:assumed-role/${role}/${login}`,
    accountId: ACCOUNT_ID,
    accessKeyId: sessionKey,
    sessionContext: {
      sessionIssuer: { type: "Role", principalId: roleId, arn: `arn:aws:iam::${ACCOUNT_ID}:role/aws-reserved/sso.amazonaws.com/eu-west-1/${role}`, accountId: ACCOUNT_ID, userName: role },
      webIdFederationData: {},
      attributes: { creationDate: since, mfaAuthenticated: "false" },
    },
  };
}

export interface CallSpec {
  readonly timeMs: number;
  readonly service: string;
  readonly eventName: string;
  readonly readOnly: boolean;
  readonly identity: CloudTrailIdentity;
  readonly place: Place;
  readonly host: number;
  readonly userAgent: string;
  readonly region?: string;
  readonly requestParameters?: Json | null;
  readonly responseElements?: Json | null;
  readonly errorCode?: string;
  readonly errorMessage?: string;
}

/** One CloudTrail management event record. */
export function cloudTrailRecord(random: Random, call: CallSpec): Json {
  const ip = ipOf(call.place, call.host);
  const record: Json = {
    eventVersion: "1.09",
    userIdentity: call.identity,
    eventTime: cloudTrailTime(call.timeMs),
    eventSource: call.service,
    eventName: call.eventName,
    awsRegion: call.region ?? "eu-west-1",
    sourceIPAddress: ip,
    userAgent: call.userAgent,
  };
  if (call.errorCode !== undefined) {
    record["errorCode"] = call.errorCode;
    record["errorMessage"] = call.errorMessage ?? `User: ${String(call.identity["arn"])} is not authorized to perform: ${call.service.replace(".amazonaws.com", "")}:${call.eventName}`;
  }
  Object.assign(record, {
    requestParameters: call.requestParameters ?? null,
    responseElements: call.errorCode === undefined ? call.responseElements ?? null : null,
    requestID: uuid(random),
    eventID: uuid(random),
    readOnly: call.readOnly,
    eventType: "AwsApiCall",
    managementEvent: true,
    recipientAccountId: ACCOUNT_ID,
    eventCategory: "Management",
    tlsDetails: { tlsVersion: "TLSv1.3", cipherSuite: "TLS_AES_128_GCM_SHA256", clientProvidedHostHeader: `${call.service.replace(".amazonaws.com", "")}.${call.region ?? "eu-west-1"}.amazonaws.com` },
    p_enrichment: {
      ipinfo_location: { sourceIPAddress: { city: call.place.city, country: call.place.iso, lat: String(call.place.lat), lng: String(call.place.lon), p_match: ip, region: call.place.state } },
      ipinfo_asn: { sourceIPAddress: { asn: `AS${call.place.asn}`, domain: call.place.domain, name: call.place.asOrg, p_match: ip, route: `${call.place.prefix}.0/24`, type: call.place.hosting ? "hosting" : "isp" } },
    },
  });
  return record;
}

export interface OktaActor {
  readonly id: string;
  readonly login: string;
  readonly name: string;
}

export interface OktaSpec {
  readonly timeMs: number;
  readonly eventType: string;
  readonly legacyEventType?: string;
  readonly displayMessage: string;
  readonly severity?: "INFO" | "WARN";
  readonly actor: OktaActor;
  readonly place: Place;
  readonly host: number;
  readonly device: Device;
  readonly sessionId: string;
  readonly outcome?: { readonly result: string; readonly reason?: string };
  readonly targets?: readonly Json[];
  readonly debugData?: Json;
  readonly requestUri?: string;
}

/** One Okta System Log event (the LogEvent of GET /api/v1/logs). */
export function oktaEvent(random: Random, spec: OktaSpec): Json {
  const ip = ipOf(spec.place, spec.host);
  const geo = { city: spec.place.city, state: spec.place.state, country: spec.place.country, postalCode: null, geolocation: { lat: spec.place.lat, lon: spec.place.lon } };
  const uri = spec.requestUri ?? "/api/v1/authn";
  return {
    uuid: uuid(random),
    published: new Date(spec.timeMs).toISOString(),
    eventType: spec.eventType,
    version: "0",
    severity: spec.severity ?? "INFO",
    legacyEventType: spec.legacyEventType ?? null,
    displayMessage: spec.displayMessage,
    actor: { id: spec.actor.id, type: "User", alternateId: spec.actor.login, displayName: spec.actor.name, detailEntry: null },
    client: {
      userAgent: { rawUserAgent: spec.device.browserAgent, os: spec.device.os, browser: spec.device.browser },
      zone: "null",
      device: "Computer",
      id: null,
      ipAddress: ip,
      geographicalContext: geo,
    },
    device: null,
    authenticationContext: { authenticationProvider: null, credentialProvider: null, credentialType: null, issuer: null, interface: null, authenticationStep: 0, externalSessionId: spec.sessionId },
    outcome: { result: spec.outcome?.result ?? "SUCCESS", reason: spec.outcome?.reason ?? null },
    target: spec.targets ?? [],
    transaction: { type: "WEB", id: uuid(random).replace(/-/g, "").slice(0, 24), detail: {} },
    debugContext: { debugData: { requestId: uuid(random).replace(/-/g, "").slice(0, 24), requestUri: uri, url: `${uri}?`, ...spec.debugData } },
    securityContext: { asNumber: spec.place.asn, asOrg: spec.place.asOrg, isp: spec.place.asOrg, domain: spec.place.domain, isProxy: false },
    request: { ipChain: [{ ip, geographicalContext: geo, version: "V4", source: null }] },
  };
}

export function appTarget(id: string, name: string): Json {
  return { id, type: "AppInstance", alternateId: name, displayName: name, detailEntry: { signOnModeType: "SAML_2_0" } };
}

export function userTarget(id: string, login: string, name: string): Json {
  return { id, type: "User", alternateId: login, displayName: name, detailEntry: null };
}

/** Okta's sign-on behaviour string as debugData.behaviors carries it. */
export function behaviours(flags: { readonly geo: boolean; readonly device: boolean; readonly ip: boolean }): string {
  const v = (b: boolean): string => (b ? "POSITIVE" : "NEGATIVE");
  return `{New Geo-Location=${v(flags.geo)}, New Device=${v(flags.device)}, New IP=${v(flags.ip)}, New State=${v(flags.geo)}, New Country=${v(flags.geo)}, Velocity=${v(flags.geo)}, New City=${v(flags.geo)}}`;
}
