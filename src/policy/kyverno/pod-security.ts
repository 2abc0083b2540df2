/**
 * Kyverno `validate.podSecurity`: the Kubernetes Pod Security Standards (baseline and
 * restricted) implemented from pod-security-admission's checks, at the rule's `version`, with
 * Kyverno's `exclude` entries (controlName, images, restrictedField, values). Works on Pods and on
 * pod controllers (template specs). Never throws.
 *
 * Versions follow Kyverno's pss.evaluatePSS: with `latest` each check runs its newest definition;
 * with a pinned `v1.<minor>` every definition whose MinimumVersion is at or below that minor runs
 * (so a relaxation added by a later definition, e.g. the sysctls added in 1.27, is still refused by
 * the 1.0 one), and a check whose first definition is newer does not run.
 */
import type { TraceStep } from "../../core/finding.js";
import { subjectObject, type AdmissionInput } from "./request.js";
import type { RuleResponse } from "./rule-env.js";
import { wildcardMatch } from "./wildcard.js";

type Json = Record<string, unknown>;

function isObject(value: unknown): value is Json {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

function obj(value: unknown): Json {
  return isObject(value) ? value : {};
}

function list(value: unknown): Json[] {
  return Array.isArray(value) ? value.filter(isObject) : [];
}

/** One PSS violation: which control, which field, which value, and the container when container-level. */
export interface PssViolation {
  readonly control: string;
  readonly field: string;
  readonly value: unknown;
  readonly container?: { readonly name: string; readonly image: string };
}

const baselineCapabilities = new Set(["AUDIT_WRITE", "CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID", "KILL", "MKNOD", "NET_BIND_SERVICE", "SETFCAP", "SETGID", "SETPCAP", "SETUID", "SYS_CHROOT"]);
/** pod-security-admission's check_sysctls.go: the 1.0 set (sysctls_allowed_1_0), which every pinned version still applies. */
const safeSysctls1Dot0 = new Set(["kernel.shm_rmid_forced", "net.ipv4.ip_local_port_range", "net.ipv4.ip_unprivileged_port_start", "net.ipv4.tcp_syncookies", "net.ipv4.ping_group_range"]);
/** check_sysctls.go, latest set (sysctlsAllowedV1Dot32: 1.27's ip_local_reserved_ports, 1.29's four tcp_* and 1.32's tcp_rmem and tcp_wmem). */
const safeSysctls = new Set(["kernel.shm_rmid_forced", "net.ipv4.ip_local_port_range", "net.ipv4.ip_unprivileged_port_start", "net.ipv4.tcp_syncookies", "net.ipv4.ping_group_range", "net.ipv4.ip_local_reserved_ports", "net.ipv4.tcp_keepalive_time", "net.ipv4.tcp_fin_timeout", "net.ipv4.tcp_keepalive_intvl", "net.ipv4.tcp_keepalive_probes", "net.ipv4.tcp_rmem", "net.ipv4.tcp_wmem"]);
/** check_restrictedVolumes.go: the allow-list of its single 1.0 definition, with the image source it gained in 1.33 (so every version allows it). */
const restrictedVolumes = new Set(["configMap", "csi", "downwardAPI", "emptyDir", "ephemeral", "image", "persistentVolumeClaim", "projected", "secret"]);
/** check_seLinuxOptions.go: selinux_allowed_types_1_0, and 1.31's which adds container_engine_t (latest only, as sysctls). */
const seLinuxTypes1Dot0 = new Set(["", "container_t", "container_init_t", "container_kvm_t"]);
const seLinuxTypes = new Set([...seLinuxTypes1Dot0, "container_engine_t"]);

/** A `validate.podSecurity.version`: `latest`, or the minor of a pinned Kubernetes 1 version. */
export type PssVersion = "latest" | number;

/** The accepted forms, for error messages. */
export const pssVersionForms = 'must be "latest" or "v1.<minor>" (e.g. v1.29), as Kyverno and pod-security-admission accept';

/**
 * Reads `version` as Kyverno does (pss.ParseVersion, then pod-security-admission's api.ParseVersion):
 * absent, empty or "latest" is latest; "v1.<minor>" (no leading zero) is that minor; anything else
 * is undefined (invalid).
 */
export function parsePssVersion(value: unknown): PssVersion | undefined {
  if (value === undefined || value === null || value === "" || value === "latest") return "latest";
  if (typeof value !== "string") return undefined;
  const match = /^v1\.(0|[1-9][0-9]*)$/.exec(value);
  const minor = match ? Number(match[1]) : NaN;
  return Number.isSafeInteger(minor) ? minor : undefined;
}

/** Whether a check definition with this minimum minor runs at `version` (latest runs the newest definitions). */
function runsAt(version: PssVersion, minimumMinor: number): boolean {
  return version === "latest" || version >= minimumMinor;
}

interface PodParts {
  readonly metadata: Json;
  readonly spec: Json;
}

function podParts(object: Json): PodParts | undefined {
  const kind = object["kind"];
  if (kind === "Pod") return { metadata: obj(object["metadata"]), spec: obj(object["spec"]) };
  let template: unknown = obj(object["spec"])["template"];
  if (kind === "CronJob") template = obj(obj(obj(object["spec"])["jobTemplate"])["spec"])["template"];
  if (!isObject(template)) return undefined;
  return { metadata: obj(template["metadata"]), spec: obj(template["spec"]) };
}

type ContainerField = "containers" | "initContainers" | "ephemeralContainers";
const containerFields: readonly ContainerField[] = ["containers", "initContainers", "ephemeralContainers"];

function eachContainer(spec: Json, visit: (c: Json, field: ContainerField, who: { name: string; image: string }) => void): void {
  for (const field of containerFields) for (const c of list(spec[field])) visit(c, field, { name: String(c["name"] ?? ""), image: String(c["image"] ?? "") });
}

const seccompPodAnnotation = "seccomp.security.alpha.kubernetes.io/pod";
const seccompContainerAnnotation = "container.seccomp.security.alpha.kubernetes.io/";

/** check_seccompProfile_baseline.go seccompProfileBaseline_1_0: the alpha annotations of the pod and of its containers. */
function seccompAnnotationChecks(pod: PodParts, out: PssViolation[]): void {
  const annotations = obj(pod.metadata["annotations"]);
  const allowed = (v: unknown): boolean => v === "runtime/default" || v === "docker/default" || String(v).startsWith("localhost/");
  if (annotations[seccompPodAnnotation] !== undefined && !allowed(annotations[seccompPodAnnotation])) {
    out.push({ control: "Seccomp", field: `metadata.annotations[${seccompPodAnnotation}]`, value: annotations[seccompPodAnnotation] });
  }
  eachContainer(pod.spec, (_c, _field, who) => {
    const value = annotations[seccompContainerAnnotation + who.name];
    if (value !== undefined && !allowed(value)) out.push({ control: "Seccomp", field: `metadata.annotations[${seccompContainerAnnotation}*]`, value, container: who });
  });
}

/** The Host Probes / Lifecycle Hooks control (check_hostProbesAndhostLifecycle.go, from 1.34): Kyverno requires images to exclude it. */
export const hostProbesControl = "Host Probes / Lifecycle Hooks";

/** A non-empty httpGet or tcpSocket host on a container's probes or lifecycle handlers. */
function hostProbeChecks(c: Json, field: ContainerField, who: { name: string; image: string }, out: PssViolation[]): void {
  const handlers: [string, unknown][] = [["livenessProbe", c["livenessProbe"]], ["readinessProbe", c["readinessProbe"]], ["startupProbe", c["startupProbe"]], ["lifecycle.postStart", obj(c["lifecycle"])["postStart"]], ["lifecycle.preStop", obj(c["lifecycle"])["preStop"]]];
  for (const [at, handler] of handlers) {
    for (const kind of ["httpGet", "tcpSocket"]) {
      const host = obj(obj(handler)[kind])["host"];
      if (host !== undefined && host !== null && host !== "") out.push({ control: hostProbesControl, field: `spec.${field}[*].${at}.${kind}.host`, value: host, container: who });
    }
  }
}

function baselineChecks(pod: PodParts, version: PssVersion, out: PssViolation[]): void {
  const { spec, metadata } = pod;
  const pinned = version !== "latest";
  // seccompProfile_baseline: the annotations (1.0) run at every pinned version, the fields from 1.19.
  const seccompFields = runsAt(version, 19);
  if (pinned) seccompAnnotationChecks(pod, out);
  const selinuxTypes = pinned ? seLinuxTypes1Dot0 : seLinuxTypes;
  const hostProbes = runsAt(version, 34);
  const psc = obj(spec["securityContext"]);
  if (obj(psc["windowsOptions"])["hostProcess"] === true) out.push({ control: "HostProcess", field: "spec.securityContext.windowsOptions.hostProcess", value: true });
  for (const f of ["hostNetwork", "hostPID", "hostIPC"]) if (spec[f] === true) out.push({ control: "Host Namespaces", field: `spec.${f}`, value: true });
  for (const v of list(spec["volumes"])) if (v["hostPath"] !== undefined) out.push({ control: "HostPath Volumes", field: "spec.volumes[*].hostPath", value: String(v["name"] ?? "") });
  const psel = obj(psc["seLinuxOptions"]);
  checkSeLinux(psel, "spec.securityContext.seLinuxOptions", undefined, selinuxTypes, out);
  const pseccomp = obj(psc["seccompProfile"])["type"];
  if (seccompFields && pseccomp !== undefined && pseccomp !== "RuntimeDefault" && pseccomp !== "Localhost") out.push({ control: "Seccomp", field: "spec.securityContext.seccompProfile.type", value: pseccomp });
  const pApparmor = obj(psc["appArmorProfile"])["type"];
  if (pApparmor !== undefined && pApparmor !== "RuntimeDefault" && pApparmor !== "Localhost") out.push({ control: "AppArmor", field: "spec.securityContext.appArmorProfile.type", value: pApparmor });
  const sysctls = pinned ? safeSysctls1Dot0 : safeSysctls;
  for (const s of list(psc["sysctls"])) if (!sysctls.has(String(s["name"] ?? ""))) out.push({ control: "Sysctls", field: "spec.securityContext.sysctls[*].name", value: s["name"] });
  for (const [k, v] of Object.entries(obj(metadata["annotations"]))) {
    if (k.startsWith("container.apparmor.security.beta.kubernetes.io/") && v !== "runtime/default" && !String(v).startsWith("localhost/")) {
      out.push({ control: "AppArmor", field: "metadata.annotations[container.apparmor.security.beta.kubernetes.io/*]", value: v });
    }
  }
  eachContainer(spec, (c, field, who) => {
    const sc = obj(c["securityContext"]);
    const at = `spec.${field}[*].securityContext`;
    if (hostProbes) hostProbeChecks(c, field, who, out);
    if (obj(sc["windowsOptions"])["hostProcess"] === true) out.push({ control: "HostProcess", field: `${at}.windowsOptions.hostProcess`, value: true, container: who });
    if (sc["privileged"] === true) out.push({ control: "Privileged Containers", field: `${at}.privileged`, value: true, container: who });
    for (const cap of Array.isArray(obj(sc["capabilities"])["add"]) ? (obj(sc["capabilities"])["add"] as unknown[]) : []) {
      if (!baselineCapabilities.has(String(cap))) out.push({ control: "Capabilities", field: `${at}.capabilities.add`, value: cap, container: who });
    }
    for (const p of list(c["ports"])) if (p["hostPort"] !== undefined && p["hostPort"] !== 0) out.push({ control: "Host Ports", field: `spec.${field}[*].ports[*].hostPort`, value: p["hostPort"], container: who });
    checkSeLinux(obj(sc["seLinuxOptions"]), `${at}.seLinuxOptions`, who, selinuxTypes, out);
    if (sc["procMount"] !== undefined && sc["procMount"] !== "Default") out.push({ control: "/proc Mount Type", field: `${at}.procMount`, value: sc["procMount"], container: who });
    const seccomp = obj(sc["seccompProfile"])["type"];
    if (seccompFields && seccomp !== undefined && seccomp !== "RuntimeDefault" && seccomp !== "Localhost") out.push({ control: "Seccomp", field: `${at}.seccompProfile.type`, value: seccomp, container: who });
    const apparmor = obj(sc["appArmorProfile"])["type"];
    if (apparmor !== undefined && apparmor !== "RuntimeDefault" && apparmor !== "Localhost") out.push({ control: "AppArmor", field: `${at}.appArmorProfile.type`, value: apparmor, container: who });
  });
}

function checkSeLinux(options: Json, at: string, who: PssViolation["container"], types: ReadonlySet<string>, out: PssViolation[]): void {
  const push = (field: string, value: unknown): void => {
    out.push(who ? { control: "SELinux", field, value, container: who } : { control: "SELinux", field, value });
  };
  if (options["type"] !== undefined && !types.has(String(options["type"]))) push(`${at}.type`, options["type"]);
  if (options["user"] !== undefined && options["user"] !== "") push(`${at}.user`, options["user"]);
  if (options["role"] !== undefined && options["role"] !== "") push(`${at}.role`, options["role"]);
}

function isWindows(pod: PodParts): boolean {
  return obj(pod.spec["os"])["name"] === "windows";
}

/** Whether the 1.25 Windows exemption holds: only the newest definitions have it, a pinned version also runs the older ones. */
function windowsExempt(pod: PodParts, version: PssVersion): boolean {
  return version === "latest" && isWindows(pod);
}

function restrictedChecks(pod: PodParts, version: PssVersion, out: PssViolation[]): void {
  const { spec } = pod;
  const windows = windowsExempt(pod, version);
  const runAsUser = runsAt(version, 23);
  const privilegeEscalation = runsAt(version, 8);
  const seccompRequired = runsAt(version, 19);
  const dropAll = runsAt(version, 22);
  const psc = obj(spec["securityContext"]);
  for (const v of list(spec["volumes"])) {
    const type = Object.keys(v).find((k) => k !== "name");
    if (type !== undefined && !restrictedVolumes.has(type)) out.push({ control: "Volume Types", field: `spec.volumes[*].${type}`, value: String(v["name"] ?? "") });
  }
  const podNonRoot = psc["runAsNonRoot"];
  const podSeccomp = obj(psc["seccompProfile"])["type"];
  if (runAsUser && psc["runAsUser"] === 0) out.push({ control: "Running as Non-root user", field: "spec.securityContext.runAsUser", value: 0 });
  if (podNonRoot === false) out.push({ control: "Running as Non-root", field: "spec.securityContext.runAsNonRoot", value: false });
  eachContainer(spec, (c, field, who) => {
    const sc = obj(c["securityContext"]);
    const at = `spec.${field}[*].securityContext`;
    if (privilegeEscalation && !windows && (field !== "ephemeralContainers" || sc["allowPrivilegeEscalation"] !== undefined)) {
      if (sc["allowPrivilegeEscalation"] !== false) out.push({ control: "Privilege Escalation", field: `${at}.allowPrivilegeEscalation`, value: sc["allowPrivilegeEscalation"] ?? null, container: who });
    }
    const nonRoot = sc["runAsNonRoot"];
    if (nonRoot === false || (nonRoot === undefined && podNonRoot !== true)) out.push({ control: "Running as Non-root", field: `${at}.runAsNonRoot`, value: nonRoot ?? null, container: who });
    if (runAsUser && sc["runAsUser"] === 0) out.push({ control: "Running as Non-root user", field: `${at}.runAsUser`, value: 0, container: who });
    const seccomp = obj(sc["seccompProfile"])["type"];
    if (seccompRequired && !windows && seccomp === undefined && podSeccomp !== "RuntimeDefault" && podSeccomp !== "Localhost") out.push({ control: "Seccomp", field: `${at}.seccompProfile.type`, value: null, container: who });
    if (windows || !dropAll) return;
    const caps = obj(sc["capabilities"]);
    const drop = Array.isArray(caps["drop"]) ? caps["drop"].map(String) : [];
    if (!drop.includes("ALL")) out.push({ control: "Capabilities", field: `${at}.capabilities.drop`, value: drop, container: who });
    for (const cap of Array.isArray(caps["add"]) ? caps["add"].map(String) : []) {
      if (cap !== "NET_BIND_SERVICE") out.push({ control: "Capabilities", field: `${at}.capabilities.add`, value: cap, container: who });
    }
  });
}

/** Checks a pod (or pod template) against a level at a version. `privileged` allows everything. */
export function checkPodSecurity(object: Json, level: string, version: PssVersion = "latest"): PssViolation[] | undefined {
  const pod = podParts(object);
  if (!pod) return undefined;
  const out: PssViolation[] = [];
  if (level === "privileged") return out;
  baselineChecks(pod, version, out);
  // Kyverno's pss.evaluatePSS runs every check of policy.DefaultChecks() at restricted, baseline's
  // included (pod-security-admission's overrides are not applied), so the 1.25 Windows exemption of
  // the restricted checks leaves baseline's seccomp and capabilities checks in force.
  if (level === "restricted") restrictedChecks(pod, version, out);
  // Restricted Capabilities supersedes baseline's list for `add`: keep one violation per (field, value, container).
  const seen = new Set<string>();
  return out.filter((v) => {
    const key = `${v.control}|${v.field}|${JSON.stringify(v.value)}|${v.container?.name ?? ""}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

function normalizeField(field: string): string {
  return field.replace(/\[\d+\]/g, "[*]");
}

/**
 * What Kyverno checks for an exclusion without `images` (pss.GetPodWithMatchingContainers): the pod
 * with its containers replaced by one empty container named "fake". A container-level violation
 * is excluded by such an entry only when that fake container fails the same control on the same
 * field (e.g. restricted "Running as Non-root" when the pod level does not set runAsNonRoot); so
 * an entry without images never reaches init or ephemeral containers.
 */
function fakePodViolations(object: Json, level: string, version: PssVersion): readonly PssViolation[] {
  const pod = podParts(object);
  if (!pod) return [];
  const spec: Json = { ...pod.spec, containers: [{ name: "fake" }] };
  delete spec["initContainers"];
  delete spec["ephemeralContainers"];
  return checkPodSecurity({ kind: "Pod", metadata: pod.metadata, spec }, level, version) ?? [];
}

function excluded(v: PssViolation, exclusions: readonly Json[], fake: () => readonly PssViolation[]): boolean {
  return exclusions.some((e) => {
    if (String(e["controlName"] ?? "") !== v.control) return false;
    const images = Array.isArray(e["images"]) ? e["images"].map(String) : [];
    if (v.container) {
      if (images.length === 0) {
        if (!fake().some((f) => f.container !== undefined && f.control === v.control && f.field === v.field)) return false;
      } else if (!images.some((i) => wildcardMatch(i, v.container?.image ?? ""))) return false;
    } else if (images.length > 0 && e["restrictedField"] === undefined) {
      return false;
    }
    if (typeof e["restrictedField"] === "string" && normalizeField(e["restrictedField"]) !== normalizeField(v.field)) {
      if (normalizeField(e["restrictedField"]) !== normalizeField(v.field)) return false;
    }
    if (Array.isArray(e["values"])) {
      const values = e["values"].map(String);
      const found = Array.isArray(v.value) ? v.value.map(String) : [String(v.value)];
      if (!found.every((x) => values.includes(x))) return false;
    }
    return true;
  });
}

/** Evaluates a `validate.podSecurity` block against the request's object. */
export function evaluatePodSecurity(spec: unknown, input: AdmissionInput, rule: string): RuleResponse {
  const s = obj(spec);
  const level = String(s["level"] ?? "baseline");
  if (level !== "baseline" && level !== "restricted" && level !== "privileged") return { status: "error", message: `podSecurity level ${level} is not one of baseline, restricted, privileged`, trace: [] };
  const version = parsePssVersion(s["version"]);
  if (version === undefined) return { status: "error", message: `podSecurity rule ${rule}: validate.podSecurity.version ${JSON.stringify(s["version"])} ${pssVersionForms}`, trace: [] };
  const violations = checkPodSecurity(subjectObject(input), level, version);
  if (!violations) return { status: "error", message: `podSecurity rule ${rule}: the resource has no pod spec`, trace: [] };
  const exclusions = list(s["exclude"]);
  let fake: readonly PssViolation[] | undefined;
  const fakeOf = (): readonly PssViolation[] => (fake ??= fakePodViolations(subjectObject(input), level, version));
  const remaining = violations.filter((v) => !excluded(v, exclusions, fakeOf));
  const trace: TraceStep[] = remaining.map((v) => ({ kind: "condition", expr: `${v.control}: ${v.field}`, value: false, inputs: { value: v.value as never, ...(v.container ? { container: v.container.name } : {}) } }));
  if (remaining.length === 0) return { status: "pass", message: `Validation rule '${rule}' passed.`, trace: [{ kind: "condition", expr: `podSecurity ${level}`, value: true }] };
  const controls = [...new Set(remaining.map((v) => v.control))];
  return { status: "fail", message: `Validation rule '${rule}' failed. It violates PodSecurity "${level}:${String(s["version"] ?? "latest")}": ${controls.map((c) => `(${c})`).join(", ")}`, trace };
}
