/**
 * The organisation of the `access` scenario: teams with day and night hours, an on-call rotation,
 * travellers (most with a travel notice), scheduled jobs, and a few compromises, all drawn from the
 * seed. Addresses come from documentation (RFC 5737) and shared (RFC 6598) ranges; the scenario
 * states each address's country and network the way an IP-intelligence enrichment would.
 */
import { createRandom } from "./scenario.js";

export type Random = ReturnType<typeof createRandom>;

export const ACCOUNT_ID = "111122223333";
export const DOMAIN = "acme.example";
export const OKTA_ORG = "https://acme.okta.com";

/** A network location: what Okta's geographicalContext / securityContext and ipinfo would say. */
export interface Place {
  readonly iso: string;
  readonly country: string;
  readonly city: string;
  readonly state: string;
  readonly lat: number;
  readonly lon: number;
  readonly asn: number;
  readonly asOrg: string;
  readonly domain: string;
  /** First three octets; hosts are drawn in .10–.250. */
  readonly prefix: string;
  readonly hosting?: boolean;
}

const place = (iso: string, country: string, city: string, state: string, lat: number, lon: number, asn: number, asOrg: string, domain: string, prefix: string, hosting = false): Place =>
  ({ iso, country, city, state, lat, lon, asn, asOrg, domain, prefix, ...(hosting ? { hosting } : {}) });

export const places = {
  office: place("DE", "Germany", "Berlin", "Land Berlin", 52.52, 13.405, 3320, "Deutsche Telekom AG", "telekom.de", "198.51.100"),
  homes: [
    place("DE", "Germany", "Hamburg", "Hamburg", 53.551, 9.994, 3209, "Vodafone GmbH", "vodafone.de", "100.64.21"),
    place("DE", "Germany", "Munich", "Bavaria", 48.137, 11.575, 6805, "Telefonica Germany", "telefonica.de", "100.65.34"),
    place("DE", "Germany", "Berlin", "Land Berlin", 52.5, 13.39, 3320, "Deutsche Telekom AG", "telekom.de", "100.66.47"),
  ],
  singapore: place("SG", "Singapore", "Singapore", "Singapore", 1.352, 103.82, 9506, "Singtel Fibre Broadband", "singtel.com", "100.70.12"),
  travel: [
    { place: place("JP", "Japan", "Tokyo", "Tokyo", 35.676, 139.65, 2516, "KDDI Corporation", "kddi.com", "192.0.2"), utcOffset: 9 },
    { place: place("US", "United States", "New York", "New York", 40.713, -74.006, 7922, "Comcast Cable Communications", "comcast.net", "100.80.5"), utcOffset: -5 },
    { place: place("GB", "United Kingdom", "London", "England", 51.507, -0.128, 2856, "British Telecommunications PLC", "bt.com", "100.81.9"), utcOffset: 0 },
  ],
  attackers: [
    place("RU", "Russia", "Moscow", "Moscow", 55.752, 37.615, 9009, "M247 Europe SRL", "m247.com", "203.0.113", true),
    place("NL", "Netherlands", "Amsterdam", "North Holland", 52.37, 4.895, 14061, "DigitalOcean, LLC", "digitalocean.com", "203.0.113", true),
    place("BR", "Brazil", "Sao Paulo", "Sao Paulo", -23.55, -46.633, 16509, "Amazon.com, Inc.", "amazon.com", "203.0.113", true),
    place("NG", "Nigeria", "Lagos", "Lagos", 6.524, 3.379, 37148, "Globacom Limited", "gloworld.com", "203.0.113", true),
  ],
} as const;

/** A device as Okta (client) and CloudTrail (userAgent) show it. */
export interface Device {
  readonly os: string;
  readonly browser: string;
  readonly browserAgent: string;
  readonly cliAgent: string;
}

export const devices = {
  mac: { os: "Mac OS X", browser: "CHROME", browserAgent: "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/121.0.0.0 Safari/537.36", cliAgent: "aws-cli/2.15.30 Python/3.11.8 Darwin/23.3.0 exe/x86_64 prompt/off" },
  windows: { os: "Windows 10", browser: "EDGE", browserAgent: "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/121.0.0.0 Safari/537.36 Edg/121.0.2277.83", cliAgent: "aws-cli/2.15.30 Python/3.11.8 Windows/10 exe/AMD64 prompt/off" },
  linux: { os: "Linux", browser: "FIREFOX", browserAgent: "Mozilla/5.0 (X11; Linux x86_64; rv:122.0) Gecko/20100101 Firefox/122.0", cliAgent: "aws-cli/2.15.30 Python/3.11.8 Linux/6.5.0 exe/x86_64.ubuntu.22 prompt/off" },
  attacker: { os: "Linux", browser: "FIREFOX", browserAgent: "Mozilla/5.0 (X11; Linux x86_64; rv:115.0) Gecko/20100101 Firefox/115.0", cliAgent: "Boto3/1.34.34 md/Botocore#1.34.34 ua/2.0 os/linux#6.1.0-kali9-amd64 md/arch#x86_64 lang/python#3.11.8 md/pyimpl#CPython cfg/retry-mode#legacy Botocore/1.34.34" },
} as const satisfies Record<string, Device>;

export type TeamName = "platform" | "security" | "developers" | "support" | "it" | "business";

/** How a person reaches AWS: an IAM user with a long-term key, an SSO role session, or not at all. */
export type AwsAccess = { readonly kind: "key"; readonly userName: string; readonly accessKeyId: string } | { readonly kind: "sso"; readonly role: string } | { readonly kind: "none" };

export interface Person {
  readonly name: string;
  readonly login: string;
  readonly oktaId: string;
  readonly team: TeamName;
  readonly home: Place;
  readonly device: Device;
  readonly aws: AwsAccess;
  /** Working hours in UTC, [start, end) in hours; end may pass 24 (night shift). */
  readonly hours: readonly [number, number];
  /** Share of AWS calls on restricted services. */
  readonly restrictedShare: number;
  /** AWS calls on a working day (0 for Okta-only people). */
  readonly callsPerDay: number;
}

export interface Job {
  readonly name: string;
  readonly userName: string;
  readonly accessKeyId: string;
  /** UTC hours it runs at, every day. */
  readonly hours: readonly number[];
  readonly calls: readonly (readonly [string, string])[];
}

export interface Trip {
  readonly person: Person;
  readonly place: Place;
  readonly utcOffset: number;
  readonly firstDay: number;
  readonly lastDay: number;
  readonly notice: boolean;
}

export type CompromiseKind = "stolen-key" | "okta-takeover" | "session-hijack";

export interface Compromise {
  readonly kind: CompromiseKind;
  readonly victim: Person;
  readonly day: number;
  readonly hour: number;
  readonly attacker: Place;
}

export interface Organisation {
  readonly people: readonly Person[];
  readonly jobs: readonly Job[];
  /** Per week index, the platform engineer on call (Monday 09:00 UTC to Monday 09:00 UTC). */
  readonly onCall: (week: number) => Person;
  readonly trips: readonly Trip[];
  readonly compromises: readonly Compromise[];
}

const firstNames = [
  "ada", "ben", "carla", "dana", "emil", "fatima", "gus", "hana", "ivan", "jonas", "kira", "lena", "milo", "nina", "omar", "paula",
  "quinn", "rosa", "sami", "tara", "ugo", "vera", "wen", "xavi", "yara", "zeno", "aiko", "bruno", "chen", "dev", "elif", "farid",
];

const hex = (random: Random, n: number): string => Array.from({ length: n }, () => "0123456789abcdef"[random.int(0, 15)]).join("");
const upper = (random: Random, n: number): string => Array.from({ length: n }, () => "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"[random.int(0, 31)]).join("");

export function accessKeyId(random: Random): string {
  return `AKIA${upper(random, 16)}`;
}

export function oktaId(random: Random): string {
  return `00u${hex(random, 17)}`;
}

const teamPlan: readonly { team: TeamName; count: number; hours: [number, number]; aws: "key" | "sso" | "none"; role: string; restrictedShare: number; callsPerDay: number }[] = [
  { team: "platform", count: 6, hours: [7, 16], aws: "sso", role: "PlatformAdmin", restrictedShare: 0.45, callsPerDay: 30 },
  { team: "security", count: 3, hours: [7, 16], aws: "sso", role: "SecurityAudit", restrictedShare: 0.7, callsPerDay: 16 },
  { team: "developers", count: 10, hours: [8, 17], aws: "key", role: "", restrictedShare: 0.15, callsPerDay: 24 },
  { team: "support", count: 4, hours: [1, 9], aws: "sso", role: "SupportReadOnly", restrictedShare: 0.3, callsPerDay: 14 },
  { team: "it", count: 2, hours: [7, 16], aws: "none", role: "", restrictedShare: 0, callsPerDay: 0 },
  { team: "business", count: 6, hours: [8, 17], aws: "none", role: "", restrictedShare: 0, callsPerDay: 0 },
];

/** Builds the organisation for a seed and a number of days. Pure and deterministic. */
export function createOrganisation(seed: number, days: number): Organisation {
  const random = createRandom(seed ^ 0x5eed_acce);
  const people: Person[] = [];
  let n = 0;
  for (const plan of teamPlan) {
    const ssoSuffix = hex(random, 16);
    for (let i = 0; i < plan.count; i++) {
      const name = firstNames[n++ % firstNames.length] as string;
      const login = `${name}@${DOMAIN}`;
      const aws: AwsAccess = plan.aws === "key" ? { kind: "key", userName: name, accessKeyId: accessKeyId(random) }
        : plan.aws === "sso" ? { kind: "sso", role: `AWSReservedSSO_${plan.role}_${ssoSuffix}` } : { kind: "none" };
      const device = random.chance(0.7) ? devices.mac : random.chance(0.5) ? devices.windows : devices.linux;
      const home = plan.team === "support" ? places.singapore : random.chance(0.5) ? places.office : random.pick(places.homes);
      const shift = plan.team === "support" ? 0 : random.int(-1, 1);
      people.push({ name, login, oktaId: oktaId(random), team: plan.team, home, device, aws, hours: [plan.hours[0] + shift, plan.hours[1] + shift], restrictedShare: plan.restrictedShare, callsPerDay: plan.callsPerDay });
    }
  }
  const jobs: Job[] = [
    { name: "ci-deployer", userName: "ci-deployer", accessKeyId: accessKeyId(random), hours: Array.from({ length: 24 }, (_, h) => h), calls: [["kms.amazonaws.com", "Decrypt"], ["secretsmanager.amazonaws.com", "GetSecretValue"], ["s3.amazonaws.com", "PutObject"], ["lambda.amazonaws.com", "UpdateFunctionCode20150331v2"]] },
    { name: "nightly-backup", userName: "backup-runner", accessKeyId: accessKeyId(random), hours: [2], calls: [["kms.amazonaws.com", "GenerateDataKey"], ["dynamodb.amazonaws.com", "ExportTableToPointInTime"], ["s3.amazonaws.com", "PutObject"], ["kms.amazonaws.com", "Decrypt"]] },
  ];
  const platform = people.filter((p) => p.team === "platform");
  const rotation = [...platform];
  for (let i = rotation.length - 1; i > 0; i--) {
    const j = random.int(0, i);
    [rotation[i], rotation[j]] = [rotation[j] as Person, rotation[i] as Person];
  }
  const onCall = (week: number): Person => rotation[((week % rotation.length) + rotation.length) % rotation.length] as Person;

  // Travel: a trip starting every 3-5 days after the first few, most with a travel notice.
  // Developers (who use AWS keys) travel most, then security and business people.
  const developers = people.filter((p) => p.team === "developers");
  const travellers = [...developers, ...developers, ...people.filter((p) => p.team === "business" || p.team === "security")];
  const trips: Trip[] = [];
  for (let start = 2 + random.int(0, 2); start < days - 1; start += random.int(3, 5)) {
    const destination = random.pick(places.travel);
    const length = random.int(3, 5);
    const busy = new Set(trips.filter((t) => t.lastDay >= start - 1).map((t) => t.person));
    const free = travellers.filter((p) => !busy.has(p));
    trips.push({ person: random.pick(free.length > 0 ? free : travellers), place: destination.place, utcOffset: destination.utcOffset, firstDay: start, lastDay: Math.min(days - 1, start + length - 1), notice: random.chance(0.75) });
  }

  // Compromises: one every 3-4 days, never on day 0; victims and attackers drawn from the seed.
  const kinds: CompromiseKind[] = ["stolen-key", "okta-takeover", "session-hijack"];
  const count = Math.max(1, Math.round(days / 3.5));
  const compromises: Compromise[] = [];
  const used = new Set<string>();
  const firstKind = random.int(0, kinds.length - 1);
  for (let i = 0; i < count; i++) {
    const kind = kinds[(firstKind + i) % kinds.length] as CompromiseKind;
    const pool = kind === "stolen-key" ? people.filter((p) => p.aws.kind === "key")
      : kind === "session-hijack" ? people.filter((p) => p.team === "platform" || p.team === "security")
        : people.filter((p) => p.team === "it" || p.team === "platform");
    const candidates = pool.filter((p) => !used.has(p.login));
    const victim = random.pick(candidates.length > 0 ? candidates : pool);
    used.add(victim.login);
    const day = Math.min(days - 1, Math.max(1, Math.floor(((i + 0.5) * days) / count) + random.int(-1, 1)));
    compromises.push({ kind, victim, day, hour: random.int(0, 4), attacker: random.pick(places.attackers) });
  }
  return { people, jobs, onCall, trips, compromises };
}

/** Principal ids of a person as the context stage keys them (Okta login, IAM user ARN, SSO session ARN). */
export function principalIds(person: Person): string[] {
  const ids = [person.login];
  if (person.aws.kind === "key") ids.push(`arn:aws:iam::${ACCOUNT_ID}:user/${person.aws.userName}`);
  if (person.aws.kind === "sso") ids.push(`arn:aws:sts::${ACCOUNT_ID}:assumed-role/${person.aws.role}/${person.login}`);
  return ids;
}
