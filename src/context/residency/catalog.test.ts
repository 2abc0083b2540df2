import { describe, expect, it } from "vitest";
import { VigilError } from "../../core/errors.js";
import { createRegionCatalog, distanceKm, jurisdictionOf, loadRegionCatalog, shippedRegionCatalog, type Region } from "./catalog.js";

const catalog = shippedRegionCatalog();

function code(region: Region | undefined): string | undefined {
  return region === undefined ? undefined : `${region.provider}:${region.code}`;
}

describe("the shipped region catalog", () => {
  it("holds the public regions of AWS, Azure and Google Cloud with valid countries and coordinates", () => {
    expect(catalog.providers).toEqual(["aws", "azure", "gcp"]);
    expect(catalog.regions("aws").length).toBeGreaterThanOrEqual(34);
    expect(catalog.regions("azure").length).toBeGreaterThanOrEqual(55);
    expect(catalog.regions("gcp").length).toBeGreaterThanOrEqual(40);
    for (const region of catalog.regions()) {
      expect(region.countries.every((c) => /^[A-Z]{2}$/.test(c)), region.code).toBe(true);
      expect(Math.abs(region.lat) <= 90 && Math.abs(region.lon) <= 180, region.code).toBe(true);
    }
  });

  it("looks regions up in each provider's spelling", () => {
    expect(code(catalog.lookup("eu-west-1"))).toBe("aws:eu-west-1");
    expect(code(catalog.lookup("West Europe"))).toBe("azure:westeurope");
    expect(code(catalog.lookup("EUROPE-WEST1"))).toBe("gcp:europe-west1");
    expect(code(catalog.lookup("eu", "google"))).toBe("gcp:EU");
    expect(catalog.lookup("westeurope", "aws")).toBeUndefined();
    expect(code(catalog.lookup("westeurope", "azurerm"))).toBe("azure:westeurope");
    expect(catalog.lookup("eu-west-9")).toBeUndefined();
    // Zones are in their region.
    expect(code(catalog.lookup("us-east-1a"))).toBe("aws:us-east-1");
    expect(code(catalog.lookup("eu-west-1c", "aws"))).toBe("aws:eu-west-1");
    expect(code(catalog.lookup("us-east-1-bos-1a"))).toBe("aws:us-east-1");
    expect(code(catalog.lookup("us-central1-a"))).toBe("gcp:us-central1");
    expect(code(catalog.lookup("europe-west3-b", "google"))).toBe("gcp:europe-west3");
    expect(catalog.lookup("eu-west-9a")).toBeUndefined();
    expect(catalog.lookup("westeurope-1")).toBeUndefined();
    expect(catalog.lookup("")).toBeUndefined();
  });

  it("gives each region its jurisdiction: EU members, EEA-only members, UK, and the others by country", () => {
    expect(catalog.lookup("eu-central-1")?.jurisdiction).toBe("EU");
    expect(catalog.lookup("norwayeast")?.jurisdiction).toBe("EEA");
    expect(catalog.lookup("eu-west-2")?.jurisdiction).toBe("UK");
    expect(catalog.lookup("eu-central-2")?.jurisdiction).toBe("CH");
    expect(catalog.lookup("us-east-1")?.jurisdiction).toBe("US");
    expect(catalog.lookup("EU", "gcp")?.jurisdiction).toBe("EU");
    expect(catalog.lookup("ASIA", "gcp")?.countries).toContain("JP");
    expect(jurisdictionOf("IS")).toBe("EEA");
    expect(jurisdictionOf("JP")).toBe("JP");
  });

  it("keeps Azure region pairs (where geo-redundant storage replicates)", () => {
    expect(catalog.lookup("westeurope")?.pair).toBe("northeurope");
    expect(catalog.lookup("brazilsouth")?.pair).toBe("southcentralus");
    expect(catalog.lookup("polandcentral")?.pair).toBeUndefined();
    // The sovereign clouds' pairs, as Microsoft's region-pair table lists them.
    expect(catalog.lookup("usgovvirginia")?.pair).toBe("usgovtexas");
    expect(catalog.lookup("usgovarizona")?.pair).toBe("usgovtexas");
    for (const [north, east] of [["chinanorth", "chinaeast"], ["chinanorth2", "chinaeast2"], ["chinanorth3", "chinaeast3"]] as const) {
      expect(catalog.lookup(north)?.pair).toBe(east);
      expect(catalog.lookup(east)?.pair).toBe(north);
    }
  });
});

describe("distances and the nearest allowed region", () => {
  it("measures great-circle distances (Frankfurt to Dublin is about 1,090 km)", () => {
    const frankfurt = catalog.lookup("eu-central-1") as Region;
    const dublin = catalog.lookup("eu-west-1") as Region;
    expect(distanceKm(frankfurt, dublin)).toBeGreaterThan(1050);
    expect(distanceKm(frankfurt, dublin)).toBeLessThan(1120);
    expect(distanceKm(dublin, frankfurt)).toBeCloseTo(distanceKm(frankfurt, dublin), 6);
    expect(distanceKm(dublin, dublin)).toBe(0);
  });

  const eea = new Set(["AT", "BE", "BG", "HR", "CY", "CZ", "DK", "EE", "FI", "FR", "DE", "GR", "HU", "IE", "IT", "LV", "LT", "LU", "MT", "NL", "PL", "PT", "RO", "SK", "SI", "ES", "SE", "IS", "LI", "NO"]);
  const inEea = (r: Region): boolean => r.countries.every((c) => eea.has(c));

  it("suggests the nearest allowed region of the same provider, and no allowed region is nearer", () => {
    const virginia = catalog.lookup("us-east-1") as Region;
    const nearest = catalog.nearest(virginia, inEea, { provider: "aws" });
    expect(nearest?.region.code).toBe("eu-west-1");
    expect(nearest?.sameProvider).toBe(true);
    for (const other of catalog.regions("aws").filter((r) => inEea(r) && !r.restricted)) {
      expect(distanceKm(virginia, other)).toBeGreaterThanOrEqual((nearest?.distanceKm ?? 0) - 1);
    }
  });

  it("excludes regions it is told to (a replica's source) and never suggests restricted regions", () => {
    const virginia = catalog.lookup("us-east-1") as Region;
    const next = catalog.nearest(virginia, inEea, { provider: "aws", exclude: ["eu-west-1"] });
    expect(next?.region.code).not.toBe("eu-west-1");
    expect(inEea(next?.region as Region)).toBe(true);
    // China's regions are all restricted: nothing can be suggested for data that must stay in CN.
    expect(catalog.nearest(virginia, (r) => r.countries.includes("CN"))).toBeUndefined();
    // Azure: Switzerland West is access-restricted, so Switzerland North is suggested even from Geneva's side.
    const france = catalog.lookup("francecentral") as Region;
    expect(catalog.nearest(france, (r) => r.countries.includes("CH"), { provider: "azure" })?.region.code).toBe("switzerlandnorth");
  });

  it("prefers a region of the same kind (a multi-region for a multi-region) and falls back to another provider", () => {
    const us = catalog.lookup("US", "gcp") as Region;
    expect(catalog.nearest(us, inEea, { provider: "gcp", kind: us.kind })?.region.code).toBe("EU");
    const onprem = createRegionCatalog({ onprem: { title: "On-premises", regions: { "fra-dc1": { name: "Frankfurt DC 1", country: "DE", lat: 50.11, lon: 8.68 } } } });
    const site = onprem.lookup("fra-dc1") as Region;
    expect(onprem.nearest(site, (r) => r.countries.includes("FR"), { provider: "onprem" })).toBeUndefined();
    const both = loadRegionCatalog(undefined, [{ code: "fra-dc1", provider: "onprem", name: "Frankfurt DC 1", country: "DE", lat: 50.11, lon: 8.68 }]);
    const fallback = both.nearest(both.lookup("fra-dc1") as Region, (r) => r.countries.includes("FR"), { provider: "onprem" });
    expect(fallback?.sameProvider).toBe(false);
    expect(fallback?.region.country).toBe("FR");
  });

  it("finds a known code close in spelling", () => {
    expect(catalog.similar("eu-west-9", "aws")).toBe("eu-west-1");
    expect(catalog.similar("westeurop")).toBe("westeurope");
    expect(catalog.similar("mars-north-1")).toBeUndefined();
  });
});

describe("catalog validation", () => {
  const attempt = (data: unknown): VigilError => {
    try {
      createRegionCatalog(data);
    } catch (error) {
      return error as VigilError;
    }
    throw new Error("expected a VigilError");
  };

  it("names the entry and field of a bad value", () => {
    const lat = attempt({ aws: { regions: { "eu-west-1": { name: "Ireland", country: "IE", lat: 123, lon: -6 } } } });
    expect(lat.code).toBe("VIGIL_BAD_CONFIG");
    expect(lat.details.field).toBe("aws.regions.eu-west-1.lat");
    expect(attempt({ aws: { regions: { x: { name: "X", country: "ireland", lat: 1, lon: 1 } } } }).details.field).toBe("aws.regions.x.country");
    expect(attempt({ azure: { regions: { a: { name: "A", country: "IE", lat: 1, lon: 1, pair: "nowhere" } } } }).message).toContain("not a region of azure in the catalog");
    expect(attempt([]).message).toContain("map of providers");
  });
});
