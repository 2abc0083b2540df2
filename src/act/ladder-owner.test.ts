import { describe, expect, it } from "vitest";
import { context } from "../decide/test-support.js";
import { ownerOf } from "./ladder-owner.js";

describe("ownerOf (the owner on record of a ladder target, who may snooze or release its mark)", () => {
  const withEntities = (entities: Record<string, { kind: string; id: string; attrs: Record<string, unknown> }>) => context({}, { entities });

  it("is the target entity's owner, matched by kind and id", () => {
    const ctx = withEntities({ resource: { kind: "dns-record", id: "vm-4", attrs: { owner: "mallory" } }, vm: { kind: "vm", id: "vm-4", attrs: { owner: "olga" } } });
    expect(ownerOf(ctx, { kind: "vm", id: "vm-4" })).toBe("olga");
  });

  it("a target of a known kind that no entity of the context is has no owner: another entity's owner (the event's resource) is not taken", () => {
    const ctx = withEntities({ resource: { kind: "dns-record", id: "vm-4", attrs: { owner: "mallory" } } });
    expect(ownerOf(ctx, { kind: "vm", id: "vm-4" })).toBeUndefined();
    expect(ownerOf(withEntities({ resource: { kind: "vm", id: "vm-9", attrs: { owner: "mallory" } } }), { kind: "vm", id: "vm-4" })).toBeUndefined();
  });

  it("a target of unknown kind (the event's subject) still falls back to the event's resource", () => {
    const ctx = withEntities({ resource: { kind: "vm", id: "i-0abc", attrs: { owner: "olga" } } });
    expect(ownerOf(ctx, { kind: "subject", id: "arn:aws:ec2:eu-west-1:123456789012:instance/i-0abc" })).toBe("olga");
  });

  it("reads an owner tag in AWS's list form ([{Key, Value}], as EC2 returns tags) as in a map", () => {
    const tagged = (tags: unknown) => withEntities({ resource: { kind: "vm", id: "i-0abc", attrs: { tags } } });
    expect(ownerOf(tagged([{ Key: "Name", Value: "db" }, { Key: "Owner", Value: "olga" }]), { kind: "vm", id: "i-0abc" })).toBe("olga");
    expect(ownerOf(tagged([{ Key: "owner", Value: "olga" }]), { kind: "vm", id: "i-0abc" })).toBe("olga");
    expect(ownerOf(tagged({ owner: "olga" }), { kind: "vm", id: "i-0abc" })).toBe("olga");
    expect(ownerOf(tagged([{ Key: "team", Value: "x" }]), { kind: "vm", id: "i-0abc" })).toBeUndefined();
  });
});
