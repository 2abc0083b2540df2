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
});
