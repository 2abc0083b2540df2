import { describe, expect, it } from "vitest";
import { createRuleBook, placeAllowed, readLabel, type DataLabels } from "./rules.js";
import { defaultResidencySettings, resolveResidencySettings } from "./settings.js";

const rules = createRuleBook(defaultResidencySettings);
const labels = (classification: string[], extra: Partial<DataLabels> = {}): DataLabels => ({
  classification: classification.map((value, i) => ({ value, field: `labels[${i}]` })),
  treatment: [],
  ...extra,
});

describe("reading labels", () => {
  it("takes the first configured key present, case-insensitively, in map order", () => {
    const maps = [
      { map: { app: "web" }, field: "spec.template.metadata.labels" },
      { map: { "Data-Classification": "pii" }, field: "metadata.labels" },
      { map: { classification: "public" }, field: "namespace" },
    ];
    expect(readLabel(maps, ["vigil.dev/data-class", "data-classification", "classification"])).toEqual({ value: "pii", field: 'metadata.labels["Data-Classification"]' });
    expect(readLabel([{ map: ["not", "a", "map"], field: "x" }], ["classification"])).toBeUndefined();
  });
});

describe("classification", () => {
  it("recognises classes by name and alias, and treatments among the words", () => {
    expect(rules.classify(labels(["pii"])).dataClass).toBe("personal");
    const treated = rules.classify(labels(["personal, anonymised"]));
    expect(treated.dataClass).toBe("personal");
    expect(treated.treatment).toEqual({ name: "anonymised", reason: "anonymised data is not personal data (GDPR Recital 26)", field: "labels[0]" });
    expect(rules.classify(labels(["PHI"])).regulation).toBe("gdpr");
  });

  it("falls back to the next candidate and reports a value it does not know", () => {
    const result = rules.classify(labels(["confidentail", "health"]));
    expect(result.dataClass).toBe("health");
    expect(result.source).toBe("labels[1]");
    expect(result.problems).toEqual([{ field: "labels[0]", message: 'labels[0]: unknown data class "confidentail"; known: public, internal, confidential, personal, sensitive, health, financial (aliases in the residency settings)' }]);
    const none = rules.classify(labels([]));
    expect(none.dataClass).toBe("internal");
    expect(none.source).toBeUndefined();
  });

  it("takes a labelled regulation over the class's, and reports an unknown one", () => {
    expect(rules.classify(labels(["personal"], { regulation: { value: "UK-GDPR", field: "r" } })).regulationTitle).toBe("UK GDPR");
    const unknown = rules.classify(labels(["personal"], { regulation: { value: "ccpa", field: "r" } }));
    expect(unknown.regulation).toBe("gdpr");
    expect(unknown.problems[0]?.message).toContain('unknown regulation "ccpa"');
  });

  it("reads treatments from labels and purposes; a treatment label must name a known treatment", () => {
    expect(rules.classify(labels(["personal"], { treatment: [{ value: "aggregated", field: "t", strict: true }] })).treatment?.name).toBe("aggregated");
    expect(rules.classify(labels(["personal"], { treatment: [{ value: "daily aggregate report", field: "purpose", strict: false }] })).treatment?.name).toBe("aggregated");
    expect(rules.classify(labels(["personal"], { treatment: [{ value: "marketing", field: "purpose", strict: false }] })).treatment).toBeUndefined();
    const wrong = rules.classify(labels(["personal"], { treatment: [{ value: "pseudonymised", field: "t", strict: true }] }));
    expect(wrong.treatment).toBeUndefined();
    expect(wrong.problems[0]?.message).toContain('unknown treatment "pseudonymised"');
  });
});

describe("allowed places", () => {
  it("follows the regulation, the class limits and the country of origin", () => {
    const personal = rules.allowed(rules.classify(labels(["personal"])), undefined);
    expect(personal.text).toBe("EEA");
    expect(personal.rule).toBe("personal data under GDPR may be stored only in EEA");
    expect(placeAllowed(personal, ["NO"])).toBe(true);
    expect(placeAllowed(personal, ["GB"])).toBe(false);
    expect(placeAllowed(personal, ["BE", "US"])).toBe(false); // a multi-country location must be inside for every country

    const health = rules.allowed(rules.classify(labels(["health"])), "DE");
    expect(health.text).toBe("DE (country of origin)");
    expect([...health.countries]).toEqual(["DE"]);

    const financial = rules.allowed(rules.classify(labels(["financial"])), undefined);
    expect(financial.text).toBe("EEA, CH, UK");
    expect(placeAllowed(financial, ["CH"])).toBe(true);
    expect(rules.allowed(rules.classify(labels(["public"])), undefined).any).toBe(true);
  });

  it("adds adequacy countries only when configured", () => {
    const adequate = createRuleBook(resolveResidencySettings({ regulations: { gdpr: { useAdequacy: true } } }));
    const places = adequate.allowed(adequate.classify(labels(["personal"])), undefined);
    expect(placeAllowed(places, ["JP"])).toBe(true);
    expect(placeAllowed(places, ["US"])).toBe(false);
    expect(places.text).toBe("EEA, GDPR-ADEQUATE");
    // A class limit narrower than the regulation: both apply.
    const narrow = createRuleBook(resolveResidencySettings({ regulations: { gdpr: { useAdequacy: true } }, dataClasses: { personal: { allowed: ["EU", "CH"] } } }));
    const both = narrow.allowed(narrow.classify(labels(["personal"])), undefined);
    expect(placeAllowed(both, ["CH"])).toBe(true);
    expect(placeAllowed(both, ["JP"])).toBe(false);
    expect(both.text).toBe("EU, CH");
  });
});
