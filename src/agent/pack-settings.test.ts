import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { parseConfig } from "../config.js";
import { allowlistVerdict } from "../act/index.js";
import { discoverPackSettings, resolvePackSettings } from "./pack-settings.js";

const packsDir = fileURLToPath(new URL("../../packs/", import.meta.url));

function packs(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), "vigil-packs-"));
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(join(dir, name, ".."), { recursive: true });
    writeFileSync(join(dir, name), text);
  }
  return dir;
}

const config = (raw: Record<string, unknown>) => parseConfig(raw);

describe("pack settings discovery", () => {
  it("finds each pack's settings.yaml under a folder of packs, in a pack folder, and above its policies folder", () => {
    expect(discoverPackSettings([packsDir]).map((f) => f.slice(packsDir.length))).toEqual(["access/settings.yaml", "cost/settings.yaml", "residency/settings.yaml", "supply-chain/settings.yaml"]);
    expect(discoverPackSettings([join(packsDir, "cost")]).map((f) => f.slice(packsDir.length))).toEqual(["cost/settings.yaml"]);
    expect(discoverPackSettings([join(packsDir, "access", "policies")]).map((f) => f.slice(packsDir.length))).toEqual(["access/settings.yaml"]);
    expect(discoverPackSettings([join(packsDir, "missing"), join(packsDir, "access", "policies", "aws-root.yaml")])).toEqual([]);
  });

  it("merges the shipped packs: sections of access and cost, the residency and supply-chain files as their modules' settings", () => {
    const s = resolvePackSettings(config({ policies: [packsDir] }), ["access-aws-root", "cost-idle-ec2-instance"]);
    expect(s.files).toHaveLength(4);
    expect(s.context).toMatchObject({ baselines: { learnDeniedActivity: false }, spend: { costColumn: "EffectiveCost" }, detectors: { idle: { days: 14 }, oddHour: { ratioThreshold: 0.25 } } });
    expect(s.ladder?.policies.map((p) => p.pattern)).toContain("cost-idle-ec2-instance");
    expect(s.residency?.regulations["gdpr"]?.allowed).toEqual(["EEA"]);
    expect(s.supplyChain?.settings.severityThreshold).toBe("high");
    // Advisory sources resolve against the pack's folder.
    expect(s.supplyChain?.settings.advisories[0]).toBe(join(packsDir, "supply-chain", "advisories"));
  });

  it("runs no pack part whose settings nobody gives", () => {
    const s = resolvePackSettings(config({ policies: [join(packsDir, "access")] }));
    expect(s.ladder).toBeUndefined();
    expect(s.residency).toBeUndefined();
    expect(s.supplyChain).toBeUndefined();
    const off = resolvePackSettings(config({ policies: [packsDir], packs: { discover: false } }));
    expect(off.files).toEqual([]);
    expect(off.context).toEqual({});
  });
});

describe("precedence and conflicts", () => {
  it("vigil.yaml wins key by key; maps merge", () => {
    const s = resolvePackSettings(config({ policies: [packsDir], context: { detectors: { idle: { days: 7 } } }, residency: { maxListed: 5 }, supplyChain: { severityThreshold: "critical" } }));
    expect(s.context).toMatchObject({ detectors: { idle: { days: 7, minDays: 3, cpuMean: 5 } } });
    expect(s.residency?.maxListed).toBe(5);
    expect(s.supplyChain?.settings.severityThreshold).toBe("critical");
  });

  it("two packs that disagree on a key are an error naming both files, unless vigil.yaml settles it", () => {
    const dir = packs({
      "a/settings.yaml": "context:\n  detectors:\n    idle: { days: 10 }\n",
      "b/settings.yaml": "context:\n  detectors:\n    idle: { days: 12, minDays: 2 }\n",
    });
    expect(() => resolvePackSettings(config({ policies: [dir] }))).toThrow(/context\.detectors\.idle\.days is set differently by .*a\/settings\.yaml and .*b\/settings\.yaml/);
    const s = resolvePackSettings(config({ policies: [dir], context: { detectors: { idle: { days: 9 } } } }));
    expect(s.context).toMatchObject({ detectors: { idle: { days: 9, minDays: 2 } } });
  });

  it("an invalid value is reported with its file and key", () => {
    const dir = packs({ "p/settings.yaml": "ladder:\n  policies:\n    cost-x: { graceBusinessDays: -1 }\n" });
    expect(() => resolvePackSettings(config({ policies: [dir] }))).toThrow(/p\/settings\.yaml: ladder\.policies\.cost-x\.graceBusinessDays must be a number/);
    const ctx = packs({ "q/settings.yaml": "context:\n  detectors:\n    idle: { days: 90 }\n" });
    expect(() => resolvePackSettings(config({ policies: [ctx] }))).toThrow(/q\/settings\.yaml: context settings: detectors\.idle\.days/);
    const sections = packs({ "r/settings.yaml": "severityThreshold: high\n" });
    expect(() => resolvePackSettings(config({ policies: [sections] }))).toThrow(/r\/settings\.yaml: "severityThreshold" is not a section/);
    const residency = packs({ "residency/settings.yaml": "maxListed: 0\n" });
    expect(() => resolvePackSettings(config({ policies: [residency] }))).toThrow(/residency\/settings\.yaml: .*maxListed/);
    expect(() => resolvePackSettings(config({ policies: [packsDir], residency: { nope: 1 } }))).toThrow(/vigil\.yaml: .*residency\.nope/);
  });

  it("a bad act setting names act.<key> in the message and in the error's field, in a pack file and in vigil.yaml", () => {
    const dir = packs({ "p/settings.yaml": "act:\n  blastRadius:\n    global: { max: -1, windowMs: 60000 }\n" });
    let error: unknown;
    try {
      resolvePackSettings(config({ policies: [dir] }));
    } catch (caught) {
      error = caught;
    }
    expect(error).toMatchObject({ code: "VIGIL_BAD_CONFIG", details: { field: "act.blastRadius.global.max", file: join(dir, "p", "settings.yaml") } });
    expect((error as Error).message).toMatch(/p\/settings\.yaml: act\.blastRadius\.global\.max must be a whole number/);
    expect(() => resolvePackSettings(config({ policies: [], act: { protected: { names: "prod/*" } } }))).toThrow(expect.objectContaining({ details: expect.objectContaining({ field: "act.protected.names", file: "vigil.yaml" }) }));
  });

  it("a pack's act.allow restricts its own policies only, unless vigil.yaml sets an allowlist", () => {
    const names = ["access-aws-key-restricted", "supply-chain-vulnerable-dependency"];
    const s = resolvePackSettings(config({ policies: [packsDir] }), names);
    expect(allowlistVerdict(s.act, "access-aws-key-restricted", "aws.iam.deactivate-access-key")).toBeUndefined();
    expect(allowlistVerdict(s.act, "access-aws-key-restricted", "aws.ec2.stop-instances")).toMatch(/not in the allowlist/);
    expect(allowlistVerdict(s.act, "supply-chain-vulnerable-dependency", "github.commit-status")).toBeUndefined();
    const strict = resolvePackSettings(config({ policies: [packsDir], act: { allow: { "supply-chain-*": ["github.*"] } } }), names);
    expect(allowlistVerdict(strict.act, "supply-chain-vulnerable-dependency", "github.pr-comment")).toBeUndefined();
    expect(allowlistVerdict(strict.act, "supply-chain-vulnerable-dependency", "webhook.post")).toMatch(/not in the allowlist/);
    expect(allowlistVerdict(strict.act, "access-aws-key-restricted", "okta.suspend-user")).toMatch(/not in the allowlist/);
  });

  it("the supply-chain GitHub access comes from supplyChain.github, else the GitHub actuator", () => {
    expect(resolvePackSettings(config({ policies: [packsDir], actuators: { github: { token: "t1", baseUrl: "https://ghe/api/v3" } } })).supplyChain?.github).toEqual({ token: "t1", baseUrl: "https://ghe/api/v3" });
    expect(resolvePackSettings(config({ policies: [packsDir], actuators: { github: { token: "t1" } }, supplyChain: { github: { token: "t2" } } })).supplyChain?.github).toEqual({ token: "t2" });
    expect(() => resolvePackSettings(config({ policies: [packsDir], supplyChain: { github: { user: "x" } } }))).toThrow(/supplyChain\.github\.user is not a setting/);
  });
});
