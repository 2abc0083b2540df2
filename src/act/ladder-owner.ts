/** Who owns a ladder target (ladder.ts): the person who may snooze or release its mark without a role. */
import type { Context } from "../core/context.js";
import { tagMap } from "../decide/risk.js";

/**
 * The owner on record of a target: its entity's (`attrs.owner`, tag `owner`/`Owner` in a map or AWS's list form, `attrs.team`).
 * A target that names its kind is matched by kind and id: an entity of another kind with the same
 * id, or the event's other entities, are not the target, and their owners may not snooze or release
 * its mark (such a target has no owner on record: an operator or approver decides). Only a target
 * of unknown kind (the event's subject, which no entity's id spells) falls back to the event's
 * resource entity.
 */
export function ownerOf(ctx: Context, target: { readonly kind: string; readonly id: string }): string | undefined {
  const entities = Object.values(ctx.entities);
  const anyKind = target.kind === "" || target.kind === "subject";
  const entity = entities.find((e) => (anyKind || e.kind === target.kind) && (e.id === target.id || `${e.kind}/${e.id}` === target.id)) ?? (anyKind ? ctx.entities["resource"] : undefined);
  const attrs = entity?.attrs ?? {};
  // Tags as a map or in AWS's list form ([{Key, Value}], as EC2 returns them).
  const tags = tagMap(attrs["tags"]) ?? {};
  for (const value of [attrs["owner"], tags["owner"], tags["Owner"], attrs["team"]]) if (typeof value === "string" && value !== "") return value;
  return undefined;
}
