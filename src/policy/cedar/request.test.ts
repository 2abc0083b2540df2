import { describe, expect, it } from "vitest";
import { formatEntityUid, mapAuthorizationInput, parseEntityUid, toCedarValue } from "./request.js";

describe("mapAuthorizationInput", () => {
  it("maps principal/resource objects to UIDs plus entities with their attributes", () => {
    const mapped = mapAuthorizationInput({
      principal: { type: "User", id: "alice", role: "admin", tags: ["a"], parents: ['Group::"ops"'] },
      action: "read",
      resource: { type: "Doc", id: "d1", attrs: { type: "spreadsheet" }, size: 2.5, note: null },
      context: { mfa: true, hour: 9, ip: null },
    }, "Action");
    expect(mapped.ok).toBe(true);
    if (!mapped.ok) return;
    const { request } = mapped;
    expect(request.principal).toEqual({ type: "User", id: "alice" });
    expect(request.action).toEqual({ type: "Action", id: "read" });
    expect(request.context).toEqual({ mfa: true, hour: 9 });
    expect(request.entities).toEqual([
      { uid: { type: "User", id: "alice" }, attrs: { role: "admin", tags: ["a"] }, parents: [{ type: "Group", id: "ops" }] },
      // `attrs` holds attributes whose names are reserved keys; non-integers become decimals; null is absent
      { uid: { type: "Doc", id: "d1" }, attrs: { type: "spreadsheet", size: { __extn: { fn: "decimal", arg: "2.5" } } } },
    ]);
  });

  it("keeps the resource's attributes when the resource is the principal (a user acting on their own profile)", () => {
    const mapped = mapAuthorizationInput({ principal: { type: "User", id: "alice" }, action: "edit", resource: { type: "User", id: "alice", locked: false } }, "Action");
    expect(mapped.ok && mapped.request.entities).toEqual([{ uid: { type: "User", id: "alice" }, attrs: { locked: false } }]);
    const both = mapAuthorizationInput({ principal: { type: "User", id: "alice", role: "admin" }, action: "edit", resource: { type: "User", id: "alice", locked: true } }, "Action");
    expect(both.ok && both.request.entities).toEqual([{ uid: { type: "User", id: "alice" }, attrs: { role: "admin", locked: true } }]);
  });

  it("accepts UIDs as strings, namespaced actions and explicit entity escapes", () => {
    const mapped = mapAuthorizationInput({ principal: 'User::"a\\"b"', action: 'Ns::Action::"read"', resource: { __entity: { type: "Doc", id: "d" } } }, "Action");
    expect(mapped.ok && mapped.request.principal).toEqual({ type: "User", id: 'a"b' });
    expect(mapped.ok && mapped.request.action).toEqual({ type: "Ns::Action", id: "read" });
    expect(mapped.ok && mapped.request.resource).toEqual({ type: "Doc", id: "d" });
    expect(mapped.ok && mapped.request.entities).toEqual([]);
  });

  it("uses the given action type for bare action names", () => {
    const mapped = mapAuthorizationInput({ principal: 'U::"a"', action: "read", resource: 'D::"d"' }, "Acme::Action");
    expect(mapped.ok && mapped.request.action).toEqual({ type: "Acme::Action", id: "read" });
  });

  it("names the field and the fix for malformed input, and flags non-authorization input", () => {
    const noResource = mapAuthorizationInput({ principal: 'U::"a"', action: "read" }, "Action");
    expect(noResource).toMatchObject({ ok: false, notAuthorization: false, field: "input.resource" });
    const badId = mapAuthorizationInput({ principal: { type: "U", id: 7 }, action: "read", resource: 'D::"d"' }, "Action");
    expect(badId).toMatchObject({ ok: false, field: "input.principal.id" });
    const badNumber = mapAuthorizationInput({ principal: 'U::"a"', action: "read", resource: 'D::"d"', context: { x: 1.23456 } }, "Action");
    expect(badNumber).toMatchObject({ ok: false, field: "input.context.x" });
    expect(mapAuthorizationInput({ kind: "Pod" }, "Action")).toMatchObject({ ok: false, notAuthorization: true });
    expect(mapAuthorizationInput("text", "Action")).toMatchObject({ ok: false, notAuthorization: true });
  });
});

describe("value helpers", () => {
  it("parses Cedar UID strings", () => {
    expect(parseEntityUid('A::B::"x"')).toEqual({ type: "A::B", id: "x" });
    expect(parseEntityUid("alice")).toBeUndefined();
    expect(parseEntityUid('User::alice')).toBeUndefined();
  });

  it("reads Cedar's string escapes in UIDs, as Cedar does, and refuses the ones Cedar refuses", () => {
    // Cedar string literals take Rust's escapes: \u{...}, \', \0, \x41 (ASCII); not JSON's \u0041, \/ or \b.
    expect(parseEntityUid(String.raw`User::"\u{1F600}"`)).toEqual({ type: "User", id: "\u{1F600}" });
    expect(parseEntityUid(String.raw`User::"it\'s"`)).toEqual({ type: "User", id: "it's" });
    expect(parseEntityUid(String.raw`User::"a\0b"`)).toEqual({ type: "User", id: "a\0b" });
    expect(parseEntityUid(String.raw`User::"\x41\n\t\\"`)).toEqual({ type: "User", id: "A\n\t\\" });
    expect(parseEntityUid('Ns :: User :: "ws"')).toEqual({ type: "Ns::User", id: "ws" });
    expect(parseEntityUid(String.raw`User::"\u0041"`)).toBeUndefined();
    expect(parseEntityUid(String.raw`User::"\/"`)).toBeUndefined();
    expect(parseEntityUid(String.raw`User::"\x80"`)).toBeUndefined();
    // Printed UIDs read back as Cedar reads them (Cedar prints a control character as \u{1}).
    expect(formatEntityUid({ type: "User", id: 'a\u0001"\n\\b' })).toBe(String.raw`User::"a\u{1}\"\n\\b"`);
    expect(parseEntityUid(formatEntityUid({ type: "User", id: 'a\u0001"\n\\b' }))).toEqual({ type: "User", id: 'a\u0001"\n\\b' });
  });

  it("converts integers, decimals and sets", () => {
    expect(toCedarValue(3, "v")).toBe(3);
    expect(toCedarValue(-0.25, "v")).toEqual({ __extn: { fn: "decimal", arg: "-0.25" } });
    expect(toCedarValue([1, "a", [true]], "v")).toEqual([1, "a", [true]]);
    expect(() => toCedarValue([null], "v")).toThrow(/v\[0\] is null/);
    // an integer JSON cannot carry exactly is an input error naming the field, not a decimal that overflows in Cedar
    expect(() => toCedarValue(9007199254740993, "context.accountId")).toThrow(/context\.accountId is the integer 9007199254740992.*send it as a string/);
    expect(toCedarValue(9007199254740991, "v")).toBe(9007199254740991);
  });
});
