import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { decisionIdFor, replayDecisionIdFor } from "./decision-id.js";

/** The ids as the Hash-object implementation computed them (before the one-shot digest): they must never change. */
describe("decisionIdFor", () => {
  it("gives the same ids as before (pinned)", () => {
    expect(decisionIdFor({ source: "aws.s3", id: "ct-1" })).toBe("57ab5f91-bc05-8eee-ab33-6d805627a79d");
    expect(decisionIdFor({ source: "bücher/ünïcode", id: "événement-∑" })).toBe("5effab6c-3b94-8fff-a4a6-d0cda8a73882");
    expect(replayDecisionIdFor({ source: "aws.s3", id: "ct-1" }, "run-7")).toBe("23bed0f6-206e-8ad9-9689-4dd96fe19c30");
  });

  it("is the UUID-shaped SHA-256 of (source, id) computed with a Hash object", () => {
    for (let i = 0; i < 50; i++) {
      const event = { source: `src-${i % 7}-ß`, id: `id-${i}` };
      const hex = createHash("sha256").update(`vigil-decision\u0000${event.source}\u0000${event.id}`).digest("hex");
      const id = decisionIdFor(event);
      expect(id.replace(/-/g, "").slice(0, 12)).toBe(hex.slice(0, 12));
      expect(id.slice(-12)).toBe(hex.slice(20, 32));
      expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    }
  });
});
