import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { applyEnvOverrides, configReference, expandEnvReferences, parseConfig, renderConfigReference } from "./config.js";

const docsFile = join(import.meta.dirname, "..", "docs", "configuration.md");
const START = "<!-- config-keys:start -->\n";
const END = "\n<!-- config-keys:end -->";

describe("configuration reference", () => {
  it("docs/configuration.md lists exactly the keys of the schema (regenerate with VIGIL_UPDATE_DOCS=1)", () => {
    const docs = readFileSync(docsFile, "utf8");
    const from = docs.indexOf(START);
    const to = docs.indexOf(END);
    expect(from, "docs/configuration.md needs the config-keys markers").toBeGreaterThan(0);
    const generated = renderConfigReference();
    if (process.env["VIGIL_UPDATE_DOCS"] === "1") writeFileSync(docsFile, docs.slice(0, from + START.length) + generated + docs.slice(to));
    else expect(docs.slice(from + START.length, to)).toBe(generated);
  });

  it("every key has a description and an environment variable named after its path", () => {
    const keys = configReference();
    expect(keys.length).toBeGreaterThan(30);
    for (const key of keys) {
      expect(key.description, key.path).not.toBe("");
      expect(key.env).toBe(`VIGIL_${key.path.replace(/([a-z0-9])([A-Z])/g, "$1_$2").replace(/\./g, "_").toUpperCase()}`);
    }
    expect(keys.map((k) => k.path)).toEqual(expect.arrayContaining(["server.port", "store.url", "ingest.queueCapacity", "webhooks.github.secrets", "clock.mode", "actuators"]));
  });
});

describe("environment overrides", () => {
  it("sets nested keys, lists (comma-separated or JSON), maps (JSON) and keys without defaults", () => {
    const raw = applyEnvOverrides({ server: { host: "0.0.0.0" } }, {
      VIGIL_SERVER_PORT: "9000", VIGIL_POLICIES: "a, b", VIGIL_BUS_SERVERS: '["nats://x:4222"]', VIGIL_STORE_URL: "postgres://db/v",
      VIGIL_ACT: '{"requirePromotion": false}', VIGIL_DECISION_LOG_MASK_MODE: "redact", VIGIL_WEBHOOKS_GITHUB_SECRETS: "s1,s2",
    });
    const config = parseConfig(raw);
    expect(config.server).toMatchObject({ host: "0.0.0.0", port: 9000 });
    expect(config.policies).toEqual(["a", "b"]);
    expect(config.bus.servers).toEqual(["nats://x:4222"]);
    expect(config.store.url).toBe("postgres://db/v");
    expect(config.act).toEqual({ requirePromotion: false });
    expect(config.decisionLog.maskMode).toBe("redact");
    expect(config.webhooks.github.secrets).toEqual(["s1", "s2"]);
  });

  it("names the key of a bad value and of an unknown key", () => {
    expect(() => parseConfig(applyEnvOverrides({}, { VIGIL_SERVER_PORT: "high" }))).toThrow(/server\.port/);
    expect(() => parseConfig({ server: { prot: 1 } })).toThrow(/unknown key\(s\) "prot"/);
    // A cron schedule is checked when the configuration loads, not at the first run.
    expect(() => parseConfig({ cleanup: { ttl: { schedule: "every minute" } } })).toThrow(/cleanup\.ttl\.schedule/);
    expect(parseConfig({ cleanup: { ttl: { schedule: "*/2 * * * *" } } }).cleanup.ttl.schedule).toBe("*/2 * * * *");
  });

  it("expands ${NAME} from the environment, keeps $${ literal, and names a missing variable's key", () => {
    const expanded = expandEnvReferences({ actuators: { webhook: { endpoints: { default: { url: "https://h", secret: "${HOOK_SECRET}" } } } }, note: "$${NOT_A_VAR}" }, { HOOK_SECRET: "s3cret" }, "vigil.yaml");
    expect(expanded).toEqual({ actuators: { webhook: { endpoints: { default: { url: "https://h", secret: "s3cret" } } } }, note: "${NOT_A_VAR}" });
    expect(() => expandEnvReferences({ a: ["${MISSING_ONE}"] }, {}, "vigil.yaml")).toThrow(/a\[0\] refers to environment variable MISSING_ONE/);
  });
});
