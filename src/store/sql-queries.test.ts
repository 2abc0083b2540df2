import { describe, expect, it } from "vitest";
import { isVigilError } from "../core/index.js";
import type { DecisionDraft } from "../core/index.js";
import { compileMask } from "./mask.js";
import { prepareDecisions } from "./sql-queries.js";
import { makeDraft } from "./storage-contract-fixtures.js";

function refusal(fn: () => unknown): { code: string; message: string; field: unknown } {
  try {
    fn();
  } catch (error) {
    expect(isVigilError(error), String(error)).toBe(true);
    const vigil = error as { code: string; message: string; details: { field?: unknown } };
    return { code: vigil.code, message: vigil.message, field: vigil.details.field };
  }
  return expect.fail("expected prepareDecisions to throw");
}

describe("prepareDecisions", () => {
  it("refuses a draft without an event type naming the draft and its id (the column is NOT NULL)", () => {
    const bad = { ...makeDraft(2), eventType: undefined } as unknown as DecisionDraft;
    const refused = refusal(() => prepareDecisions([makeDraft(1), bad], undefined));
    expect(refused).toMatchObject({ code: "VIGIL_BAD_INPUT", field: "drafts[1].eventType" });
    expect(refused.message).toContain("dec-000002");
  });

  it("names the draft and its id when its content cannot be canonicalized (circular), masked or not", () => {
    const input: Record<string, unknown> = { a: 1 };
    input["self"] = input;
    for (const mask of [undefined, compileMask({ paths: ["/input/a"] })]) {
      const refused = refusal(() => prepareDecisions([makeDraft(1), makeDraft(2, { input })], mask));
      expect(refused.code).toBe("VIGIL_BAD_INPUT");
      // Masked, the input's top object is a copy whose "self" is the original: the cycle closes one level further.
      expect(refused.field).toMatch(/^drafts\[1\]\.input\.self/);
      expect(refused.message).toContain("drafts[1]");
      expect(refused.message).toContain("dec-000002");
      expect(refused.message).toContain("circular reference at $.input.self");
      expect(refused.message.indexOf("dec-000002")).toBeLessThan(refused.message.indexOf("circular"));
    }
  });
});
