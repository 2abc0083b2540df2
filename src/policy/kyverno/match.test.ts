import { describe, expect, it } from "vitest";
import { excludeBlockMatches, kindMatches, matchBlockMatches } from "./match.js";
import { resourceInput } from "./request.js";

const deploy = { apiVersion: "apps/v1", kind: "Deployment", metadata: { name: "web-1", namespace: "prod", labels: { tier: "front" }, annotations: { owner: "team-a" } } };
const input = resourceInput(deploy, { userInfo: { username: "system:serviceaccount:ci:deployer", groups: ["devs"] }, clusterRoles: ["admin"], namespaceLabels: { env: "prod" } });

describe("match / exclude", () => {
  it.each([
    ["Deployment", true],
    ["apps/v1/Deployment", true],
    ["v1/Deployment", true],
    ["apps/*/Deployment", true],
    ["batch/v1/Deployment", false],
    ["Deploy*", true],
    ["Deployment/status", false],
    ["Pod", false],
  ])("kind %s matches: %s", (kind, expected) => {
    expect(kindMatches(kind, input)).toBe(expected);
  });

  it("needs every given field of a resource filter to match", () => {
    const resources = { kinds: ["Deployment"], names: ["web-*"], namespaces: ["prod"], operations: ["CREATE"], selector: { matchLabels: { tier: "front" } }, namespaceSelector: { matchExpressions: [{ key: "env", operator: "In", values: ["prod"] }] }, annotations: { owner: "team-*" } };
    expect(matchBlockMatches({ any: [{ resources }] }, input)).toBe(true);
    expect(matchBlockMatches({ any: [{ resources: { ...resources, operations: ["DELETE"] } }] }, input)).toBe(false);
    expect(matchBlockMatches({ any: [{ resources: { ...resources, namespaces: ["dev"] } }] }, input)).toBe(false);
  });

  it("any needs one filter, all needs every filter", () => {
    const yes = { resources: { kinds: ["Deployment"] } };
    const no = { resources: { kinds: ["Pod"] } };
    expect(matchBlockMatches({ any: [no, yes] }, input)).toBe(true);
    expect(matchBlockMatches({ all: [no, yes] }, input)).toBe(false);
    expect(matchBlockMatches({ resources: { kinds: ["Deployment"] } }, input)).toBe(true);
  });

  it("matches subjects, roles and clusterRoles", () => {
    expect(matchBlockMatches({ any: [{ subjects: [{ kind: "ServiceAccount", name: "deployer", namespace: "ci" }] }] }, input)).toBe(true);
    expect(matchBlockMatches({ any: [{ subjects: [{ kind: "Group", name: "devs" }] }] }, input)).toBe(true);
    expect(matchBlockMatches({ any: [{ clusterRoles: ["admin"] }] }, input)).toBe(true);
    expect(matchBlockMatches({ any: [{ roles: ["ci:edit"] }] }, input)).toBe(false);
  });

  it("an exclude block excludes when it matches, and an empty one excludes nothing", () => {
    expect(excludeBlockMatches({ any: [{ resources: { namespaces: ["prod"] } }] }, input)).toBe(true);
    expect(excludeBlockMatches({ any: [{ resources: { namespaces: ["kube-system"] } }] }, input)).toBe(false);
    expect(excludeBlockMatches(undefined, input)).toBe(false);
  });
});
