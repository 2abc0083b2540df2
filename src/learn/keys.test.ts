import { describe, expect, it } from "vitest";
import type { Context } from "../core/context.js";
import type { Decision } from "../core/decision.js";
import { context } from "../decide/test-support.js";
import { decisionKeys, learningKeys, learningLabels } from "./keys.js";

/** A context whose principal is `id`, with an oddHour signal that fired. */
function firedFor(id: string): Context {
  const signals = { oddHour: { detector: "oddHour", score: 0.8, confidence: 1, factors: [], values: { ratio: 0.01 } } } as unknown as Context["signals"];
  return context({ who: id }, { subject: id, entities: { principal: { kind: "principal", id, attrs: {} } }, signals });
}

const recorded = (labels: Record<string, string>, subject: string): Pick<Decision, "labels" | "risk" | "subject"> => ({ labels, risk: { score: 0, factors: [] }, subject });

describe("decisionKeys reads back the keys learningLabels recorded", () => {
  it.each([
    ["an LDAP distinguished name (commas and equals signs)", "cn=ana,ou=people,dc=acme,dc=io"],
    ["a percent sign and a literal escape-looking text", "svc%2Cbot 100%"],
    ["an e-mail address", "ana@acme.io"],
  ])("a principal named by %s keeps its detector's owner whole", (_what, id) => {
    const ctx = firedFor(id);
    const keys = decisionKeys(recorded(learningLabels(ctx), id));
    expect(keys).toEqual(learningKeys(ctx));
    expect(keys.detectors).toEqual({ oddHour: `principal/${id}` });
  });

  it("labels recorded before owners were escaped read as they always did", () => {
    const keys = decisionKeys(recorded({ "learn.bucket": "any/any/normal", "learn.entity": "principal/ana", "learn.signals": "spike=resource/i-1,oddHour=principal/ana" }, "ana"));
    expect(keys.detectors).toEqual({ spike: "resource/i-1", oddHour: "principal/ana" });
  });
});
