import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { VigilError } from "../../core/errors.js";
import { defaultResidencySettings, loadResidencySettings, resolveResidencySettings } from "./settings.js";

function failure(input: unknown): VigilError {
  try {
    resolveResidencySettings(input);
  } catch (error) {
    if (error instanceof VigilError) return error;
    throw error;
  }
  throw new Error("expected a VigilError");
}

describe("residency settings", () => {
  it("ships a settings file equal to the defaults", () => {
    expect(loadResidencySettings()).toEqual(defaultResidencySettings);
  });

  it("merges maps by key, resolves geographies through each other and replaces lists", () => {
    const settings = resolveResidencySettings({
      geographies: { DACH: ["DE", "AT", "CH"], "DACH-PLUS": ["DACH", "LI"] },
      dataClasses: { personal: { allowed: ["DACH-PLUS"] }, research: { title: "research data", allowed: ["EU"] } },
      regionLabels: ["example.com/region"],
      homeCountry: "AT",
    });
    expect([...(settings.geographies["DACH-PLUS"] ?? [])].sort()).toEqual(["AT", "CH", "DE", "LI"]);
    expect(settings.geographies["EEA"]).toHaveLength(30);
    expect(settings.dataClasses["personal"]).toEqual({ ...defaultResidencySettings.dataClasses["personal"], allowed: ["DACH-PLUS"] });
    expect(settings.dataClasses["health"]).toEqual(defaultResidencySettings.dataClasses["health"]);
    expect(settings.dataClasses["research"]?.local).toBe(false);
    expect(settings.regionLabels).toEqual(["example.com/region"]);
    expect(settings.homeCountry).toBe("AT");
  });

  it("names the setting of every bad value", () => {
    expect(failure({ dataClass: {} }).details.field).toBe("residency.dataClass");
    expect(failure({ dataClasses: { personal: { allowed: ["Europe"] } } }).details.field).toBe("residency.dataClasses.personal.allowed[0]");
    expect(failure({ dataClasses: { personal: { regulation: "ccpa" } } }).message).toContain('unknown regulation "ccpa"');
    expect(failure({ dataClasses: { x: { title: "x" } } }).message).toContain("needs `allowed` or `regulation`");
    expect(failure({ dataClasses: { x: { allowed: ["any"], aliases: ["pii"] } } }).message).toContain('"pii", which already means the class "personal"');
    expect(failure({ geographies: { A: ["B"], B: ["A"] } }).message).toContain("refers to itself");
    expect(failure({ homeCountry: "Germany" }).details.field).toBe("residency.homeCountry");
    expect(failure({ unclassified: "secret" }).message).toContain('unknown data class "secret"');
    expect(failure({ treatments: { masked: { values: ["public"], reason: "r" } } }).message).toContain("data class word");
    expect(failure({ kubernetes: { clusters: [{ source: "/k8s/*" }] } }).details.field).toBe("residency.kubernetes.clusters[0].region");
    expect(failure({ regulations: { gdpr: { allowed: ["any", "EU"] } } }).message).toContain('mixes "any"');
    // Custom regions are checked here, naming the setting (not later by the catalog, as an entry of the shipped regions.yaml).
    const site = { code: "fra-dc1", provider: "onprem", name: "Frankfurt DC", country: "DE", lat: 50.1, lon: 8.7 };
    expect(resolveResidencySettings({ customRegions: [site] }).customRegions).toEqual([site]);
    expect(failure({ customRegions: [{ ...site, country: "de" }] }).details.field).toBe("residency.customRegions[0].country");
    expect(failure({ customRegions: [site, { ...site, country: "Germany" }] }).message).toContain('residency.customRegions[1].country must be an ISO 3166-1 alpha-2 country code (upper case, e.g. "DE"); got "Germany"');
    expect(failure({ customRegions: [{ ...site, lat: 123 }] }).details.field).toBe("residency.customRegions[0].lat");
    expect(failure({ customRegions: [{ ...site, lon: -200 }] }).details.field).toBe("residency.customRegions[0].lon");
    expect(failure({ customRegions: [{ ...site, lon: Number.NaN }] }).details.field).toBe("residency.customRegions[0].lon");
  });

  it("reports the file of a bad settings file", () => {
    const dir = mkdtempSync(join(tmpdir(), "vigil-residency-"));
    const file = join(dir, "settings.yaml");
    writeFileSync(file, "maxListed: 0\n");
    expect(() => loadResidencySettings(file)).toThrowError(/settings\.yaml: residency\.maxListed must be a positive integer/);
    writeFileSync(file, "labels: [\n");
    expect(() => loadResidencySettings(file)).toThrowError(/is not valid YAML/);
  });
});
