import { describe, expect, it } from "vitest";
import { checkPodSecurity, evaluatePodSecurity } from "./pod-security.js";
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
  // escalation, capabilities and seccomp checks (the API rejects those fields for Windows pods).
  it("restricted exempts a Windows pod from privilege escalation, capabilities and seccomp", () => {
    const windows = { os: { name: "windows" }, securityContext: { runAsNonRoot: true }, containers: [{ name: "c", image: "mcr.microsoft.com/windows/nanoserver" }] };
    expect(checkPodSecurity(pod(windows), "restricted")).toEqual([]);
    const linux = { ...windows, os: { name: "linux" } };
    expect(new Set((checkPodSecurity(pod(linux), "restricted") ?? []).map((x) => x.control))).toEqual(new Set(["Privilege Escalation", "Seccomp", "Capabilities"]));
    // The baseline seccomp and capabilities checks are replaced by restricted's for it too; baseline keeps them.
    const loose = { ...windows, containers: [{ name: "c", image: "x", securityContext: { seccompProfile: { type: "Unconfined" }, capabilities: { add: ["SYS_ADMIN"] } } }] };
    expect(checkPodSecurity(pod(loose), "restricted")).toEqual([]);
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
