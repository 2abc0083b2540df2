/**
 * OSV records (https://ossf.github.io/osv-schema/) and their validation against the shape of the
 * OSV JSON schema (validation/schema.json of ossf/osv-schema): required fields, types, enums,
 * the event rules (one kind per event, at least one `introduced`, no `fixed` together with
 * `last_affected`), GIT ranges need a repo, timestamps in RFC 3339 UTC, no unknown top-level
 * fields. Each problem names the JSON path of the field.
 *
 * One deliberate leniency: a missing `modified` (required by the schema, unused for matching) is a
 * warning, so hand-written and test records still load; `strict` makes it an error.
 */

export interface OsvEvent {
  readonly introduced?: string;
  readonly fixed?: string;
  readonly last_affected?: string;
  readonly limit?: string;
}

export interface OsvRange {
  readonly type: "GIT" | "SEMVER" | "ECOSYSTEM";
  readonly repo?: string;
  readonly events: readonly OsvEvent[];
  readonly database_specific?: Readonly<Record<string, unknown>>;
}

export interface OsvSeverity {
  readonly type: "CVSS_V2" | "CVSS_V3" | "CVSS_V4" | "Ubuntu";
  readonly score: string;
}

export interface OsvAffected {
  readonly package?: { readonly ecosystem: string; readonly name: string; readonly purl?: string };
  readonly severity?: readonly OsvSeverity[] | null;
  readonly ranges?: readonly OsvRange[];
  readonly versions?: readonly string[];
  readonly ecosystem_specific?: Readonly<Record<string, unknown>>;
  readonly database_specific?: Readonly<Record<string, unknown>>;
}

export interface OsvRecord {
  readonly schema_version?: string;
  readonly id: string;
  readonly modified?: string;
  readonly published?: string;
  readonly withdrawn?: string;
  readonly aliases?: readonly string[] | null;
  readonly related?: readonly string[];
  readonly upstream?: readonly string[];
  readonly summary?: string;
  readonly details?: string;
  readonly severity?: readonly OsvSeverity[] | null;
  readonly affected?: readonly OsvAffected[] | null;
  readonly references?: readonly { readonly type: string; readonly url: string }[] | null;
  readonly credits?: readonly { readonly name: string; readonly contact?: readonly string[]; readonly type?: string }[];
  readonly database_specific?: Readonly<Record<string, unknown>>;
}

export interface OsvIssue {
  /** JSON path inside the record, e.g. `affected[0].ranges[1].events[2]`. */
  readonly field: string;
  readonly message: string;
  readonly level: "error" | "warning";
}

const topLevelFields = new Set(["schema_version", "id", "modified", "published", "withdrawn", "aliases", "related", "upstream", "summary", "details", "severity", "affected", "references", "credits", "database_specific"]);
const rangeTypes = new Set(["GIT", "SEMVER", "ECOSYSTEM"]);
const severityTypes = new Set(["CVSS_V2", "CVSS_V3", "CVSS_V4", "Ubuntu"]);
const referenceTypes = new Set(["ADVISORY", "ARTICLE", "DETECTION", "DISCUSSION", "REPORT", "FIX", "INTRODUCED", "GIT", "PACKAGE", "EVIDENCE", "WEB"]);
const creditTypes = new Set(["FINDER", "REPORTER", "ANALYST", "COORDINATOR", "REMEDIATION_DEVELOPER", "REMEDIATION_REVIEWER", "REMEDIATION_VERIFIER", "TOOL", "SPONSOR", "OTHER"]);
const eventKinds = ["introduced", "fixed", "last_affected", "limit"] as const;
const ecosystems = "AlmaLinux|Alpaquita|Alpine|Android|Azure Linux|BellSoft Hardened Containers|Bioconductor|Bitnami|Chainguard|CleanStart|ConanCenter|CRAN|crates\\.io|Debian|Docker Hardened Images|Echo|FreeBSD|GHC|GitHub Actions|Go|Hackage|Hex|Julia|Kubernetes|Linux|Mageia|Maven|MinimOS|npm|NuGet|opam|openEuler|openSUSE|OSS-Fuzz|Packagist|Photon OS|Pub|PyPI|Red Hat|Rocky Linux|Root|RubyGems|SUSE|SwiftURL|TuxCare|Ubuntu|VSCode|Wolfi|GIT";
const ecosystemPattern = new RegExp(`^(${ecosystems})(:.+)?$`);
/** Home-database prefixes the schema accepts for `id` (plus `x_` for private databases). */
const idPattern = /^(x_|(ASB-A|PUB-A|ALPINE|ALSA|ALBA|ALEA|AZL|BELL|BIT|CGA|CLEANSTART|CLSA|CURL|CVE|DEBIAN|DHI|DRUPAL|DSA|DLA|ELA|DTSA|ECHO|EEF|FreeBSD|GHSA|GO|GSD|HSEC|JLSEC|KUBE|LBSEC|LSN|MAL|MINI|MGASA|OESA|OSEC|OSV|openSUSE-SU|PHSA|PSF|PYSEC|RHBA|RHEA|RHSA|RLSA|RXSA|RSEC|ROOT|RUSTSEC|SUSE-[SRFO]U|UBUNTU|USN|V8)-)/;
const timestampPattern = /^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?Z$/;
const gitCommit = /^(0|[a-f0-9]{40}|[a-f0-9]{64})$/;
const cvss3 = /^CVSS:3[.][01]\/((AV:[NALP]|AC:[LH]|PR:[NLH]|UI:[NR]|S:[UC]|[CIA]:[NLH]|E:[XUPFH]|RL:[XOTWU]|RC:[XURC]|[CIA]R:[XLMH]|MAV:[XNALP]|MAC:[XLH]|MPR:[XNLH]|MUI:[XNR]|MS:[XUC]|M[CIA]:[XNLH])\/)*(AV:[NALP]|AC:[LH]|PR:[NLH]|UI:[NR]|S:[UC]|[CIA]:[NLH]|E:[XUPFH]|RL:[XOTWU]|RC:[XURC]|[CIA]R:[XLMH]|MAV:[XNALP]|MAC:[XLH]|MPR:[XNLH]|MUI:[XNR]|MS:[XUC]|M[CIA]:[XNLH])$/;
const cvss4 = /^CVSS:4[.]0\/AV:[NALP]\/AC:[LH]\/AT:[NP]\/PR:[NLH]\/UI:[NPA]\/VC:[HLN]\/VI:[HLN]\/VA:[HLN]\/SC:[HLN]\/SI:[HLN]\/SA:[HLN]/;
const cvss2Part = "(AV:[NAL]|AC:[LMH]|Au:[MSN]|[CIA]:[NPC]|E:(U|POC|F|H|ND)|RL:(OF|TF|W|U|ND)|RC:(UC|UR|C|ND)|CDP:(N|L|LM|MH|H|ND)|TD:(N|L|M|H|ND)|[CIA]R:(L|M|H|ND))";
const cvss2 = new RegExp(`^(${cvss2Part}/)*${cvss2Part}$`);
const ubuntuScores = new Set(["negligible", "low", "medium", "high", "critical"]);

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

function typeName(value: unknown): string {
  return value === null ? "null" : Array.isArray(value) ? "an array" : typeof value;
}

/**
 * Validates one OSV record. Returns the problems found (empty when valid), each with the JSON path
 * of the field. Never throws.
 */
export function validateOsvRecord(value: unknown, options: { readonly strict?: boolean } = {}): OsvIssue[] {
  const issues: OsvIssue[] = [];
  const error = (field: string, message: string): void => void issues.push({ field, message, level: "error" });
  if (!isObject(value)) {
    error("(record)", `an OSV record must be a JSON object, not ${typeName(value)}`);
    return issues;
  }
  for (const key of Object.keys(value)) if (!topLevelFields.has(key)) error(key, `unknown field "${key}" (OSV records allow only the fields of the OSV schema; move custom data to database_specific)`);
  const id = value["id"];
  if (typeof id !== "string" || id === "") error("id", `id is required and must be a string, got ${typeName(id)}`);
  else if (!idPattern.test(id)) error("id", `id "${id}" does not start with a known database prefix (GHSA-, CVE-, OSV-, ...) or x_ for a private database`);
  if (value["modified"] === undefined) issues.push({ field: "modified", message: "modified is required by the OSV schema (RFC 3339 UTC timestamp, e.g. 2024-01-31T00:00:00Z)", level: options.strict ? "error" : "warning" });
  for (const field of ["modified", "published", "withdrawn"]) {
    const stamp = value[field];
    if (stamp !== undefined && (typeof stamp !== "string" || !timestampPattern.test(stamp))) error(field, `${field} must be an RFC 3339 UTC timestamp like 2024-01-31T00:00:00Z, got ${JSON.stringify(stamp)}`);
  }
  for (const field of ["schema_version", "summary", "details"]) if (value[field] !== undefined && typeof value[field] !== "string") error(field, `${field} must be a string, got ${typeName(value[field])}`);
  for (const field of ["aliases", "related", "upstream"]) stringList(value[field], field, field === "aliases", error);
  if (isObject(value["database_specific"]) === false && value["database_specific"] !== undefined) error("database_specific", `database_specific must be an object, got ${typeName(value["database_specific"])}`);
  const topSeverity = value["severity"];
  severityList(topSeverity, "severity", error);
  const affected = value["affected"];
  if (affected !== undefined && affected !== null) {
    if (!Array.isArray(affected)) error("affected", `affected must be an array, got ${typeName(affected)}`);
    else affected.forEach((entry, i) => validateAffected(entry, `affected[${i}]`, topSeverity !== undefined && topSeverity !== null, error));
  }
  const references = value["references"];
  if (references !== undefined && references !== null) {
    if (!Array.isArray(references)) error("references", `references must be an array, got ${typeName(references)}`);
    else references.forEach((reference, i) => {
      const at = `references[${i}]`;
      if (!isObject(reference)) return error(at, `a reference must be an object, got ${typeName(reference)}`);
      if (typeof reference["type"] !== "string" || !referenceTypes.has(reference["type"])) error(`${at}.type`, `type must be one of ${[...referenceTypes].join(", ")}, got ${JSON.stringify(reference["type"])}`);
      if (typeof reference["url"] !== "string" || !/^[a-zA-Z][a-zA-Z0-9+.-]*:/.test(reference["url"])) error(`${at}.url`, `url must be an absolute URI, got ${JSON.stringify(reference["url"])}`);
    });
  }
  const credits = value["credits"];
  if (credits !== undefined) {
    if (!Array.isArray(credits)) error("credits", `credits must be an array, got ${typeName(credits)}`);
    else credits.forEach((credit, i) => {
      const at = `credits[${i}]`;
      if (!isObject(credit)) return error(at, `a credit must be an object, got ${typeName(credit)}`);
      if (typeof credit["name"] !== "string") error(`${at}.name`, `name is required and must be a string`);
      if (credit["type"] !== undefined && (typeof credit["type"] !== "string" || !creditTypes.has(credit["type"]))) error(`${at}.type`, `type must be one of ${[...creditTypes].join(", ")}, got ${JSON.stringify(credit["type"])}`);
      stringList(credit["contact"], `${at}.contact`, false, error);
    });
  }
  return issues;
}

function stringList(value: unknown, field: string, nullable: boolean, error: (field: string, message: string) => void): void {
  if (value === undefined || (nullable && value === null)) return;
  if (!Array.isArray(value)) return error(field, `${field} must be an array of strings, got ${typeName(value)}`);
  value.forEach((item, i) => {
    if (typeof item !== "string") error(`${field}[${i}]`, `must be a string, got ${typeName(item)}`);
  });
}

function severityList(value: unknown, field: string, error: (field: string, message: string) => void): void {
  if (value === undefined || value === null) return;
  if (!Array.isArray(value)) return error(field, `${field} must be an array of {type, score}, got ${typeName(value)}`);
  value.forEach((item, i) => {
    const at = `${field}[${i}]`;
    if (!isObject(item)) return error(at, `must be an object {type, score}, got ${typeName(item)}`);
    const type = item["type"];
    const score = item["score"];
    if (typeof type !== "string" || !severityTypes.has(type)) return error(`${at}.type`, `type must be one of ${[...severityTypes].join(", ")}, got ${JSON.stringify(type)}`);
    if (typeof score !== "string") return error(`${at}.score`, `score is required and must be a string, got ${typeName(score)}`);
    const ok = type === "CVSS_V3" ? cvss3.test(score) : type === "CVSS_V4" ? cvss4.test(score) : type === "CVSS_V2" ? cvss2.test(score) : ubuntuScores.has(score);
    if (!ok) error(`${at}.score`, `"${score}" is not a valid ${type} ${type === "Ubuntu" ? "priority" : "vector"}`);
  });
}

function validateAffected(entry: unknown, at: string, topSeverity: boolean, error: (field: string, message: string) => void): void {
  if (!isObject(entry)) return error(at, `an affected entry must be an object, got ${typeName(entry)}`);
  const pkg = entry["package"];
  if (pkg !== undefined) {
    if (!isObject(pkg)) error(`${at}.package`, `package must be an object {ecosystem, name}, got ${typeName(pkg)}`);
    else {
      if (typeof pkg["ecosystem"] !== "string" || !ecosystemPattern.test(pkg["ecosystem"])) error(`${at}.package.ecosystem`, `ecosystem must be a known OSV ecosystem (npm, PyPI, Go, ...), got ${JSON.stringify(pkg["ecosystem"])}`);
      if (typeof pkg["name"] !== "string") error(`${at}.package.name`, `name is required and must be a string, got ${typeName(pkg["name"])}`);
      if (pkg["purl"] !== undefined && typeof pkg["purl"] !== "string") error(`${at}.package.purl`, `purl must be a string`);
    }
  }
  if (topSeverity && entry["severity"] !== undefined && entry["severity"] !== null) error(`${at}.severity`, "severity may be set on the record or on affected entries, not both");
  severityList(entry["severity"], `${at}.severity`, error);
  stringList(entry["versions"], `${at}.versions`, false, error);
  for (const field of ["ecosystem_specific", "database_specific"]) if (entry[field] !== undefined && !isObject(entry[field])) error(`${at}.${field}`, `${field} must be an object, got ${typeName(entry[field])}`);
  const ranges = entry["ranges"];
  if (ranges === undefined) return;
  if (!Array.isArray(ranges)) return error(`${at}.ranges`, `ranges must be an array, got ${typeName(ranges)}`);
  ranges.forEach((range, r) => {
    const where = `${at}.ranges[${r}]`;
    if (!isObject(range)) return error(where, `a range must be an object {type, events}, got ${typeName(range)}`);
    const type = range["type"];
    if (typeof type !== "string" || !rangeTypes.has(type)) error(`${where}.type`, `type must be GIT, SEMVER or ECOSYSTEM, got ${JSON.stringify(type)}`);
    if (type === "GIT" && typeof range["repo"] !== "string") error(`${where}.repo`, "GIT ranges require a repo");
    if (range["repo"] !== undefined && typeof range["repo"] !== "string") error(`${where}.repo`, "repo must be a string");
    if (range["database_specific"] !== undefined && !isObject(range["database_specific"])) error(`${where}.database_specific`, "database_specific must be an object");
    const events = range["events"];
    if (!Array.isArray(events) || events.length === 0) return error(`${where}.events`, `events must be a non-empty array with an introduced event, got ${Array.isArray(events) ? "[]" : typeName(events)}`);
    let introduced = false, fixed = false, lastAffected = false;
    events.forEach((event, e) => {
      const eventAt = `${where}.events[${e}]`;
      if (!isObject(event)) return error(eventAt, `an event must be an object like {"introduced": "1.0.0"}, got ${typeName(event)}`);
      const kinds = eventKinds.filter((kind) => event[kind] !== undefined);
      if (kinds.length !== 1) return error(eventAt, kinds.length === 0 ? `an event needs exactly one of introduced, fixed, last_affected, limit; got ${JSON.stringify(Object.keys(event))}` : `an event holds exactly one of introduced, fixed, last_affected, limit; got ${kinds.join(" and ")} (split them into separate events)`);
      const kind = kinds[0] as (typeof eventKinds)[number];
      const version = event[kind];
      if (typeof version !== "string") return error(`${eventAt}.${kind}`, `${kind} must be a version string, got ${typeName(version)}`);
      if (type === "GIT" && !gitCommit.test(version)) error(`${eventAt}.${kind}`, `GIT ranges use full-length commit hashes, got "${version}"`);
      if (kind === "introduced") introduced = true;
      if (kind === "fixed") fixed = true;
      if (kind === "last_affected") lastAffected = true;
    });
    if (!introduced) error(`${where}.events`, "events must contain an introduced event (use {\"introduced\": \"0\"} for all versions before the first fix)");
    if (fixed && lastAffected) error(`${where}.events`, "fixed and last_affected events are mutually exclusive in one range; use two ranges");
  });
}
