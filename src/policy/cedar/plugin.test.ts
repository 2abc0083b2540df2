import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { createCelEnvironment } from "../cel/index.js";
import type { CompiledCedarPolicySet } from "./compile.js";
import { cedarFileRole, cedarSetName, compileCedarDocuments, createCedarLanguage } from "./plugin.js";
import { decideContext, fileDocument } from "./test-helpers.js";

const env = createCelEnvironment();
// In-memory documents only: these tests must not pick up files from disk.
const cedarLanguage = createCedarLanguage({ readSiblings: false });

const schema = `namespace Acme {
  entity User = { department: String, clearance: Long };
  entity Document = { department: String, classification: Long };
  action read, write appliesTo {
    principal: User,
    resource: Document,
    context: { mfa: Bool }
  };
}
`;

describe("file conventions", () => {
  it("recognises policy, schema and entities files by name", () => {
    expect(cedarFileRole("a/app.cedar")).toBe("policy");
    expect(cedarFileRole("a/app.cedarschema")).toBe("schema");
    expect(cedarFileRole("a/app.cedarschema.json")).toBe("schema");
    expect(cedarFileRole("a/entities.json")).toBe("entities");
    expect(cedarFileRole("a/users.entities.json")).toBe("entities");
    expect(cedarFileRole("a/policy.yaml")).toBeUndefined();
    expect(cedarFileRole("a/config.json")).toBeUndefined();
    expect(cedarLanguage.accepts(fileDocument("x/p.cedar", ""))).toBe(true);
    expect(cedarLanguage.accepts(fileDocument("x/p.yaml", ""))).toBe(false);
  });

  it("names a set after its directory's base name", () => {
    expect(cedarSetName(".")).toBe("cedar");
    expect(cedarSetName("packs/access/docs")).toBe("docs");
    expect(cedarSetName("/tmp/x/")).toBe("x");
  });
});

describe("cedarLanguage.compile", () => {
  it("makes one policy set per directory, with Cedar semantics across its files", () => {
    const result = cedarLanguage.compile([
      fileDocument("app/permits.cedar", 'permit(principal, action == Action::"read", resource);'),
      fileDocument("app/forbids.cedar", 'forbid(principal, action, resource) when { resource.secret };'),
      fileDocument("other/all.cedar", "permit(principal, action, resource);"),
    ], env);
    expect(result.errors).toEqual([]);
    expect(result.policies.map((p) => p.meta.name)).toEqual(["app", "other"]);
    const app = result.policies[0] as CompiledCedarPolicySet;
    // files sorted by name: forbids.cedar first, so its policy is policy0
    expect(app.policyIds).toEqual(["policy0", "policy1"]);
    const allowed = app.evaluate(decideContext({ principal: "User::\"a\"", action: "read", resource: { type: "Doc", id: "d", secret: false } }));
    expect(allowed).toEqual([]);
    const denied = app.evaluate(decideContext({ principal: "User::\"a\"", action: "read", resource: { type: "Doc", id: "d", secret: true } }));
    expect(denied.map((f) => [f.effect, f.rule])).toEqual([["violation", "policy0"]]);
  });

  it("validates policies against the schema at load, naming file, line, column and policy", () => {
    const result = cedarLanguage.compile([
      fileDocument("acme/schema.cedarschema", schema),
      fileDocument("acme/p.cedar", 'permit(principal, action == Acme::Action::"read", resource)\nwhen { principal.departmnt == resource.department };\n'),
    ], env);
    expect(result.policies).toEqual([]);
    expect(result.errors).toHaveLength(1);
    const error = result.errors[0];
    expect(error?.message).toMatch(/^acme\/p\.cedar:2:8: Cedar policy "policy0" does not validate against the schema acme\/schema\.cedarschema/);
    expect(error?.message).toContain("departmnt");
    expect(error?.details).toMatchObject({ file: "acme/p.cedar", line: 2, column: 8, policy: "policy0" });
  });

  it("reports a broken schema with its position", () => {
    const result = cedarLanguage.compile([
      fileDocument("s/schema.cedarschema", "entity User = { age: Lng };\n"),
      fileDocument("s/p.cedar", "permit(principal, action, resource);"),
    ], env);
    expect(result.errors).toHaveLength(1);
    expect(result.errors[0]?.message).toMatch(/^s\/schema\.cedarschema:1:22: /);
  });

  it("takes the action namespace from the schema and validates requests against it", () => {
    const result = cedarLanguage.compile([
      fileDocument("acme/schema.cedarschema", schema),
      fileDocument("acme/p.cedar", 'permit(principal, action == Acme::Action::"read", resource)\nwhen { principal.department == resource.department && principal.clearance >= resource.classification };\n'),
    ], env);
    expect(result.errors).toEqual([]);
    const set = result.policies[0] as CompiledCedarPolicySet;
    expect(set.actionType).toBe("Acme::Action");
    const input = {
      principal: { type: "Acme::User", id: "alice", department: "eng", clearance: 2 },
      action: "read",
      resource: { type: "Acme::Document", id: "d1", department: "eng", classification: 2 },
      context: { mfa: true },
    };
    expect(set.evaluate(decideContext(input))).toEqual([]);
    const wrongContext = set.evaluate(decideContext({ ...input, context: { mfa: "yes" } }));
    expect(wrongContext.map((f) => f.effect)).toEqual(["error", "violation"]);
    expect(wrongContext[0]).toMatchObject({ effect: "error", mode: "deny", error: { code: "CEDAR_REQUEST" } });
  });

  it("refuses two schemas in one directory and a schema without policies", () => {
    const two = cedarLanguage.compile([
      fileDocument("d/a.cedarschema", schema),
      fileDocument("d/b.cedarschema.json", "{}"),
      fileDocument("d/p.cedar", "permit(principal, action, resource);"),
    ], env);
    expect(two.errors[0]?.message).toContain("has 2: d/a.cedarschema, d/b.cedarschema.json");
    const lonely = cedarLanguage.compile([fileDocument("e/entities.json", "[]")], env);
    expect(lonely.errors[0]?.message).toContain("needs .cedar policy files next to it");
  });
});

describe("a .cedar file loaded on its own", () => {
  const dir = mkdtempSync(join(tmpdir(), "vigil-cedar-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("reads the schema and entities next to it from disk", () => {
    writeFileSync(join(dir, "schema.cedarschema"), schema);
    writeFileSync(join(dir, "entities.json"), JSON.stringify([{ uid: { type: "Acme::User", id: "bob" }, attrs: { department: "eng", clearance: 1 }, parents: [] }]));
    const file = join(dir, "p.cedar");
    const text = 'permit(principal, action == Acme::Action::"read", resource) when { principal.department == resource.department };';
    writeFileSync(file, text);
    const result = compileCedarDocuments([fileDocument(file, text)]);
    expect(result.errors).toEqual([]);
    const set = result.policies[0] as CompiledCedarPolicySet;
    expect(set.meta.name).toBe(cedarSetName(dir));
    expect(set.actionType).toBe("Acme::Action");
    // bob's department comes from entities.json
    const input = { principal: "Acme::User::\"bob\"", action: "read", resource: { type: "Acme::Document", id: "d", department: "eng", classification: 0 }, context: { mfa: false } };
    expect(set.evaluate(decideContext(input))).toEqual([]);
  });

  it("does not read a schema the documents already brought again when their paths are spelled differently (./, //)", () => {
    const file = join(dir, "p.cedar");
    const text = 'permit(principal, action == Acme::Action::"read", resource);';
    writeFileSync(join(dir, "schema.cedarschema"), schema);
    writeFileSync(file, text);
    const result = compileCedarDocuments([fileDocument(`${dir}/./p.cedar`, text), fileDocument(`${dir}//schema.cedarschema`, schema)]);
    expect(result.errors).toEqual([]);
    expect(result.policies.map((p) => p.meta.name)).toEqual([cedarSetName(dir)]);
  });
});
