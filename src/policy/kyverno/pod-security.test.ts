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

  it("restricted passes a hardened pod and flags a default one", () => {
    expect(checkPodSecurity(pod({ containers: [restrictedContainer] }), "restricted")).toEqual([]);
    const v = checkPodSecurity(pod({ containers: [{ name: "c", image: "x" }] }), "restricted") ?? [];
    expect(new Set(v.map((x) => x.control))).toEqual(new Set(["Privilege Escalation", "Running as Non-root", "Seccomp", "Capabilities"]));
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
