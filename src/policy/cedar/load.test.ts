import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { loadPolicies } from "../load.js";
import type { CompiledCedarPolicySet } from "./compile.js";
import { decideContext } from "./test-helpers.js";

describe("Cedar through the policy loader", () => {
  const root = mkdtempSync(join(tmpdir(), "vigil-cedar-load-"));
  afterAll(() => rmSync(root, { recursive: true, force: true }));
  const app = join(root, "photos");
  mkdirSync(app);
  writeFileSync(join(app, "schema.cedarschema.json"), JSON.stringify({
    "": {
      entityTypes: { User: { shape: { type: "Record", attributes: { level: { type: "Long" } } } }, Photo: {} },
      actions: { view: { appliesTo: { principalTypes: ["User"], resourceTypes: ["Photo"] } } },
    },
  }));
  writeFileSync(join(app, "entities.json"), JSON.stringify([{ uid: { type: "User", id: "kim" }, attrs: { level: 5 }, parents: [] }]));
  writeFileSync(join(app, "policies.cedar"), '@id("levels")\npermit(principal, action == Action::"view", resource) when { principal.level >= 3 };\n');
  writeFileSync(join(root, "native.yaml"), [
    "apiVersion: vigil.dev/v1",
    "kind: Policy",
    "metadata: { name: native-one }",
    "spec:",
    "  rules:",
    "    - name: r",
    "      condition: \"false\"",
    "",
  ].join("\n"));
  writeFileSync(join(root, "other.json"), "{}");

  it("loads a directory with Cedar and native policies side by side", () => {
    const result = loadPolicies(root);
    expect(result.errors).toEqual([]);
    expect(result.policies.map((p) => `${p.meta.language}:${p.meta.name}`).sort()).toEqual(["cedar:photos", "vigil:native-one"]);
    const cedar = result.policies.find((p) => p.meta.language === "cedar") as CompiledCedarPolicySet;
    // the schema (JSON, read from disk next to the .cedar file) and entities.json are in effect
    expect(cedar.evaluate(decideContext({ principal: 'User::"kim"', action: "view", resource: 'Photo::"p"' }))).toEqual([]);
    const denied = cedar.evaluate(decideContext({ principal: { type: "User", id: "kim", level: 1 }, action: "view", resource: 'Photo::"p"' }));
    expect(denied.map((f) => f.rule)).toEqual(["default-deny"]);
  });

  it("reports a broken .cedar file as a load error naming the file and position", () => {
    const broken = join(root, "broken");
    mkdirSync(broken);
    writeFileSync(join(broken, "bad.cedar"), "permit(principal, action, resource)\nwhen { principal.level >= };\n");
    const result = loadPolicies(broken);
    expect(result.policies).toEqual([]);
    expect(result.errors).toHaveLength(1);
    expect(result.errors[0]?.message).toContain(`${join(broken, "bad.cedar")}:2:27:`);
  });
});
