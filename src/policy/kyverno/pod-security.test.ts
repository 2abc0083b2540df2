import { describe, expect, it } from "vitest";
import { createCelEnvironment } from "../cel/index.js";
import { loadPolicyText } from "../load.js";
import { checkPodSecurity, evaluatePodSecurity, parsePssVersion } from "./pod-security.js";
import { resourceInput } from "./request.js";

const restrictedContainer = { name: "c", image: "nginx", securityContext: { allowPrivilegeEscalation: false, runAsNonRoot: true, seccompProfile: { type: "RuntimeDefault" }, capabilities: { drop: ["ALL"] } } };
const pod = (spec: Record<string, unknown>) => ({ apiVersion: "v1", kind: "Pod", metadata: { name: "p" }, spec });

describe("Pod Security Standards", () => {
  it("baseline flags host namespaces, privileged, hostPath, host ports and unsafe capabilities", () => {
    const v = checkPodSecurity(pod({ hostNetwork: true, volumes: [{ name: "h", hostPath: { path: "/" } }], containers: [{ name: "c", image: "x", ports: [{ hostPort: 80 }], securityContext: { privileged: true, capabilities: { add: ["SYS_ADMIN", "CHOWN"] } } }] }), "baseline") ?? [];
    expect(v.map((x) => x.control).sort()).toEqual(["Capabilities", "Host Namespaces", "Host Ports", "HostPath Volumes", "Privileged Containers"]);
  });

  // pod-security-admission policy/check_sysctls.go: the latest allowed set (sysctlsAllowedV1Dot32)
  // adds net.ipv4.tcp_rmem and net.ipv4.tcp_wmem to the 1.29 set; any other name is still forbidden.
  it("baseline allows the latest safe sysctls, tcp_rmem and tcp_wmem included, and flags others", () => {
    const sysctls = (names: string[]) => pod({ securityContext: { sysctls: names.map((name) => ({ name, value: "4096 87380 6291456" })) }, containers: [{ name: "c", image: "x" }] });
    expect(checkPodSecurity(sysctls(["net.ipv4.tcp_rmem", "net.ipv4.tcp_wmem", "net.ipv4.tcp_keepalive_time", "kernel.shm_rmid_forced"]), "baseline")).toEqual([]);
    expect(checkPodSecurity(sysctls(["net.ipv4.tcp_rmem", "net.core.somaxconn"]), "baseline")).toEqual([{ control: "Sysctls", field: "spec.securityContext.sysctls[*].name", value: "net.core.somaxconn" }]);
  });

  it("restricted passes a hardened pod and flags a default one", () => {
    expect(checkPodSecurity(pod({ containers: [restrictedContainer] }), "restricted")).toEqual([]);
    const v = checkPodSecurity(pod({ containers: [{ name: "c", image: "x" }] }), "restricted") ?? [];
    expect(new Set(v.map((x) => x.control))).toEqual(new Set(["Privilege Escalation", "Running as Non-root", "Seccomp", "Capabilities"]));
  });

  // Since Kubernetes 1.25 a pod with spec.os.name windows is exempt from the restricted privilege
  // escalation, capabilities and seccomp checks (the API rejects those fields for Windows pods):
  // check_allowPrivilegeEscalation.go, check_capabilities_restricted.go and
  // check_seccompProfile_restricted.go, each in its 1.25 definition.
  it("restricted exempts a Windows pod from restricted privilege escalation, capabilities and seccomp, not from baseline's", () => {
    const windows = { os: { name: "windows" }, securityContext: { runAsNonRoot: true }, containers: [{ name: "c", image: "mcr.microsoft.com/windows/nanoserver" }] };
    expect(checkPodSecurity(pod(windows), "restricted")).toEqual([]);
    const linux = { ...windows, os: { name: "linux" } };
    expect(new Set((checkPodSecurity(pod(linux), "restricted") ?? []).map((x) => x.control))).toEqual(new Set(["Privilege Escalation", "Seccomp", "Capabilities"]));
    // Kyverno's pss.evaluatePSS runs every check of policy.DefaultChecks() at restricted, baseline's
    // included (it ignores pod-security-admission's overrides), and the baseline seccomp and
    // capabilities checks have no Windows exemption: a Windows pod that sets Unconfined or adds
    // SYS_ADMIN still fails them; only the restricted drop ALL / seccomp-required parts are exempt.
    const loose = { ...windows, containers: [{ name: "c", image: "x", securityContext: { seccompProfile: { type: "Unconfined" }, capabilities: { add: ["SYS_ADMIN"] } } }] };
    const who = { name: "c", image: "x" };
    expect(checkPodSecurity(pod(loose), "restricted")).toEqual([
      { control: "Capabilities", field: "spec.containers[*].securityContext.capabilities.add", value: "SYS_ADMIN", container: who },
      { control: "Seccomp", field: "spec.containers[*].securityContext.seccompProfile.type", value: "Unconfined", container: who },
    ]);
    expect(new Set((checkPodSecurity(pod(loose), "baseline") ?? []).map((x) => x.control))).toEqual(new Set(["Seccomp", "Capabilities"]));
    // Running as non-root still applies to Windows pods.
    expect((checkPodSecurity(pod({ ...windows, securityContext: {} }), "restricted") ?? []).map((x) => x.control)).toEqual(["Running as Non-root"]);
  });

  it("honours exclusions by control and image, and works on pod controllers", () => {
    const deployment = { apiVersion: "apps/v1", kind: "Deployment", metadata: { name: "d" }, spec: { template: { spec: { containers: [{ ...restrictedContainer, securityContext: { ...restrictedContainer.securityContext, capabilities: { drop: ["ALL"], add: ["SYS_TIME"] } } }] } } } };
    const spec = { level: "restricted", version: "latest" };
    expect(evaluatePodSecurity(spec, resourceInput(deployment), "r").status).toBe("fail");
    expect(evaluatePodSecurity({ ...spec, exclude: [{ controlName: "Capabilities", images: ["nginx*"] }] }, resourceInput(deployment), "r").status).toBe("pass");
    expect(evaluatePodSecurity({ ...spec, exclude: [{ controlName: "Capabilities", images: ["redis*"] }] }, resourceInput(deployment), "r").status).toBe("fail");
  });

  it("an exclusion without images reaches a container field only where an empty container fails the same control too (Kyverno's fake container)", () => {
    const spec = { level: "restricted", version: "latest" };
    const rootContainer = { ...restrictedContainer, securityContext: { ...restrictedContainer.securityContext, runAsNonRoot: false } };
    const nonRoot = { ...spec, exclude: [{ controlName: "Running as Non-root" }] };
    // the pod level does not set runAsNonRoot, so an empty container fails it: the exclusion applies to the containers
    expect(evaluatePodSecurity(nonRoot, resourceInput(pod({ containers: [rootContainer] })), "r").status).toBe("pass");
    // ... but not to init containers (the fake pod has none), as in Kyverno
    expect(evaluatePodSecurity(nonRoot, resourceInput(pod({ containers: [restrictedContainer], initContainers: [{ ...rootContainer, name: "init" }] })), "r").status).toBe("fail");
    // an empty container adds no capability: excluding Capabilities without images leaves an added one failing
    const sysTime = { ...restrictedContainer, securityContext: { ...restrictedContainer.securityContext, capabilities: { drop: ["ALL"], add: ["SYS_TIME"] } } };
    expect(evaluatePodSecurity({ ...spec, exclude: [{ controlName: "Capabilities" }] }, resourceInput(pod({ containers: [sysTime] })), "r").status).toBe("fail");
    // while a missing drop ALL, which the empty container shares, is excluded
    const noDrop = { ...restrictedContainer, securityContext: { ...restrictedContainer.securityContext, capabilities: {} } };
    expect(evaluatePodSecurity({ ...spec, exclude: [{ controlName: "Capabilities" }] }, resourceInput(pod({ containers: [noDrop] })), "r").status).toBe("pass");
  });
});

// validate.podSecurity.version, as Kyverno's pss.evaluatePSS applies it (pkg/pss/evaluate.go): with
// `latest` (or no version) each pod-security-admission check runs its newest definition; with a
// pinned v1.<minor> every definition whose MinimumVersion is at or below that minor runs, and a
// check none of whose definitions is that old does not run.
describe("Pod Security Standards version", () => {
  const run = (spec: Record<string, unknown>, level: string, version: unknown) => evaluatePodSecurity({ level, ...(version === undefined ? {} : { version }) }, resourceInput(pod(spec)), "r");
  const status = (spec: Record<string, unknown>, level: string, version: unknown) => run(spec, level, version).status;

  it("runAsUser=0 fails restricted only from v1.23 (check_runAsUser.go: MinimumVersion 1.23)", () => {
    const root = { securityContext: { runAsUser: 0 }, containers: [restrictedContainer] };
    expect(status(root, "restricted", "v1.22")).toBe("pass");
    expect(status(root, "restricted", "v1.23")).toBe("fail");
    expect(status(root, "restricted", "latest")).toBe("fail");
  });

  it("restricted seccomp is required only from v1.19, capabilities drop ALL from v1.22, allowPrivilegeEscalation from v1.8", () => {
    const noSeccomp = { containers: [{ ...restrictedContainer, securityContext: { ...restrictedContainer.securityContext, seccompProfile: undefined } }] };
    expect(status(noSeccomp, "restricted", "v1.18")).toBe("pass");
    expect(status(noSeccomp, "restricted", "v1.19")).toBe("fail");
    const noDrop = { containers: [{ ...restrictedContainer, securityContext: { ...restrictedContainer.securityContext, capabilities: {} } }] };
    expect(status(noDrop, "restricted", "v1.21")).toBe("pass");
    expect(status(noDrop, "restricted", "v1.22")).toBe("fail");
    const escalating = { containers: [{ ...restrictedContainer, securityContext: { ...restrictedContainer.securityContext, allowPrivilegeEscalation: true } }] };
    expect(status(escalating, "restricted", "v1.7")).toBe("pass");
    expect(status(escalating, "restricted", "v1.8")).toBe("fail");
  });

  it("sysctls: a pinned version keeps the 1.0 safe set (its definition still runs); latest adds 1.27, 1.29 and 1.32's", () => {
    const sysctl = (name: string) => ({ securityContext: { sysctls: [{ name, value: "1" }] }, containers: [{ name: "c", image: "x" }] });
    for (const name of ["net.ipv4.ip_local_reserved_ports", "net.ipv4.tcp_keepalive_time", "net.ipv4.tcp_rmem"]) {
      expect(status(sysctl(name), "baseline", "latest")).toBe("pass");
      expect(status(sysctl(name), "baseline", "v1.32")).toBe("fail");
    }
    expect(status(sysctl("net.ipv4.ip_unprivileged_port_start"), "baseline", "v1.0")).toBe("pass");
  });

  it("SELinux container_engine_t (allowed by the 1.31 definition) passes only with latest", () => {
    const engine = { securityContext: { seLinuxOptions: { type: "container_engine_t" } }, containers: [{ name: "c", image: "x" }] };
    expect(status(engine, "baseline", "latest")).toBe("pass");
    expect(status(engine, "baseline", "v1.31")).toBe("fail");
  });

  it("seccomp baseline: a pinned version also checks the alpha annotations; the fields only from v1.19", () => {
    const annotated = { apiVersion: "v1", kind: "Pod", metadata: { name: "p", annotations: { "seccomp.security.alpha.kubernetes.io/pod": "unconfined" } }, spec: { containers: [{ name: "c", image: "x" }] } };
    expect(evaluatePodSecurity({ level: "baseline", version: "v1.25" }, resourceInput(annotated), "r").status).toBe("fail");
    expect(evaluatePodSecurity({ level: "baseline", version: "latest" }, resourceInput(annotated), "r").status).toBe("pass");
    const container = { ...annotated, metadata: { name: "p", annotations: { "container.seccomp.security.alpha.kubernetes.io/c": "docker/default", "container.seccomp.security.alpha.kubernetes.io/other": "unconfined" } } };
    expect(evaluatePodSecurity({ level: "baseline", version: "v1.18" }, resourceInput(container), "r").status).toBe("pass");
    const unconfined = { securityContext: { seccompProfile: { type: "Unconfined" } }, containers: [{ name: "c", image: "x" }] };
    expect(status(unconfined, "baseline", "v1.18")).toBe("pass");
    expect(status(unconfined, "baseline", "v1.19")).toBe("fail");
  });

  it("the Windows exemption of the 1.25 definitions applies only with latest (a pinned version still runs the older ones)", () => {
    const windows = { os: { name: "windows" }, securityContext: { runAsNonRoot: true }, containers: [{ name: "c", image: "mcr.microsoft.com/windows/nanoserver" }] };
    expect(status(windows, "restricted", "latest")).toBe("pass");
    expect(new Set((checkPodSecurity(pod(windows), "restricted", 29) ?? []).map((x) => x.control))).toEqual(new Set(["Privilege Escalation", "Seccomp", "Capabilities"]));
  });

  // check_restrictedVolumes.go (pod-security-admission 1.33+, vendored by Kyverno): restrictedVolumes
  // has a single 1.0 definition whose allow-list gained the image volume source, so an image volume
  // passes restricted at every version, pinned ones included; other sources still fail.
  it("an image volume passes restricted Volume Types with latest and any pinned version; an nfs one does not", () => {
    const withVolume = (volume: Record<string, unknown>) => ({ securityContext: { runAsNonRoot: true, seccompProfile: { type: "RuntimeDefault" } }, volumes: [volume], containers: [restrictedContainer] });
    const image = withVolume({ name: "data", image: { reference: "registry.example/data:1", pullPolicy: "IfNotPresent" } });
    for (const version of ["latest", "v1.0", "v1.25", "v1.36"]) expect(status(image, "restricted", version)).toBe("pass");
    expect(checkPodSecurity(pod(withVolume({ name: "n", nfs: { server: "s", path: "/" } })), "restricted")).toEqual([{ control: "Volume Types", field: "spec.volumes[*].nfs", value: "n" }]);
  });

  it("accepts latest, no version and v1.<minor>; anything else is an error naming the field", () => {
    expect(parsePssVersion(undefined)).toBe("latest");
    expect(parsePssVersion("latest")).toBe("latest");
    expect(parsePssVersion("v1.29")).toBe(29);
    expect(parsePssVersion("v1.0")).toBe(0);
    for (const bad of ["1.29", "v1.29.0", "v2.0", "v1.029", "Latest", 1.29, "v1."]) expect(parsePssVersion(bad)).toBeUndefined();
    const r = run({ containers: [restrictedContainer] }, "restricted", "v1.x");
    expect(r.status).toBe("error");
    expect(r.message).toContain("validate.podSecurity.version");
  });

  it("an invalid version is a load error naming the policy, the rule and the field", () => {
    const text = (version: string) => `apiVersion: kyverno.io/v1
kind: ClusterPolicy
metadata:
  name: pss
spec:
  rules:
  - name: restricted
    match:
      any:
      - resources:
          kinds: [Pod]
    validate:
      podSecurity:
        level: restricted
        version: ${version}
`;
    const loaded = loadPolicyText(text('"1.29"'), "pss.yaml", { env: createCelEnvironment() });
    expect(loaded.errors).toHaveLength(1);
    const error = loaded.errors[0];
    expect(error?.code).toBe("VIGIL_POLICY_LOAD");
    expect(error?.message).toContain("pss");
    expect(error?.message).toContain("restricted");
    expect(error?.message).toContain('"latest" or "v1.<minor>"');
    expect(error?.details.field).toBe("spec.rules[0].validate.podSecurity.version");
    expect(loadPolicyText(text("v1.24"), "pss.yaml", { env: createCelEnvironment() }).errors).toEqual([]);
  });
});

// pod-security-admission check_hostProbesAndhostLifecycle.go (MinimumVersion 1.34) and Kyverno's
// pkg/pss/hostprobes_test.go: control "Host Probes / Lifecycle Hooks", enforced with latest and from
// v1.34, not at v1.33; an exclusion of it must name images.
describe("Host Probes / Lifecycle Hooks", () => {
  const probing = (container: Record<string, unknown>) => pod({ containers: [{ name: "agent", image: "eks/pod-identity-agent:0.1.0", ...container }] });
  const status = (object: Record<string, unknown>, version?: string, exclude?: unknown[]) => evaluatePodSecurity({ level: "baseline", ...(version ? { version } : {}), ...(exclude ? { exclude } : {}) }, resourceInput(object), "r").status;

  it("a probe or lifecycle handler host fails baseline with latest and from v1.34", () => {
    const liveness = probing({ livenessProbe: { httpGet: { host: "localhost", path: "/healthz", port: 2703 } } });
    for (const version of [undefined, "latest", "v1.34", "v1.35"]) expect(status(liveness, version)).toBe("fail");
    for (const version of ["v1.33", "v1.29"]) expect(status(liveness, version)).toBe("pass");
    expect(checkPodSecurity(probing({ lifecycle: { preStop: { tcpSocket: { host: "10.0.0.1", port: 1 } } } }), "baseline")).toEqual([
      { control: "Host Probes / Lifecycle Hooks", field: "spec.containers[*].lifecycle.preStop.tcpSocket.host", value: "10.0.0.1", container: { name: "agent", image: "eks/pod-identity-agent:0.1.0" } },
    ]);
    expect(status(probing({ readinessProbe: { tcpSocket: { host: "", port: 1 } }, startupProbe: { httpGet: { path: "/", port: 1 } } }))).toBe("pass");
  });

  it("is excluded by an entry naming the container's image, and an entry without images fails to load", () => {
    const liveness = probing({ livenessProbe: { httpGet: { host: "localhost", port: 1 } } });
    expect(status(liveness, "latest", [{ controlName: "Host Probes / Lifecycle Hooks", images: ["eks/pod-identity-agent:*"] }])).toBe("pass");
    const text = `apiVersion: kyverno.io/v1
kind: ClusterPolicy
metadata:
  name: pss
spec:
  rules:
  - name: baseline
    match:
      any:
      - resources:
          kinds: [Pod]
    validate:
      podSecurity:
        level: baseline
        exclude:
        - controlName: Host Probes / Lifecycle Hooks
`;
    const loaded = loadPolicyText(text, "pss.yaml", { env: createCelEnvironment() });
    expect(loaded.errors).toHaveLength(1);
    expect(loaded.errors[0]?.details.field).toBe("spec.rules[0].validate.podSecurity.exclude[0].images");
    expect(loaded.errors[0]?.message).toContain("images");
  });
});
