import { describe, expect, it } from "vitest";
import { truthOf } from "./scenario.js";
import { renderLockfile, supplyChainScenario } from "./supply-chain.js";

const options = { seed: 7, days: 28, start: new Date("2026-01-05T00:00:00Z") };

describe("supply-chain simulation", () => {
  const events = [...supplyChainScenario.generate(options)];

  it("is deterministic for a seed and differs across seeds", () => {
    expect([...supplyChainScenario.generate(options)]).toEqual(events);
    expect([...supplyChainScenario.generate({ ...options, seed: 8 })].map((e) => e.subject)).not.toEqual(events.map((e) => e.subject));
  });

  it("emits dependency-change CloudEvents in time order, each with a ground-truth label and note", () => {
    expect(events.length).toBeGreaterThan(60);
    for (let i = 1; i < events.length; i++) expect((events[i]?.time as string) >= (events[i - 1]?.time as string)).toBe(true);
    for (const event of events) {
      expect(event).toMatchObject({ specversion: "1.0", type: "dev.vigil.dependency.change", source: "https://github.com/acme" });
      expect(truthOf(event)?.note).toBeTruthy();
      const data = event.data as { repo: string; pullRequest: number; base: string; head: string; sha: string };
      expect(event.subject).toBe(`${data.repo}#${data.pullRequest}`);
      expect(data.sha).toMatch(/^[0-9a-f]{40}$/);
      expect(JSON.parse(data.head).lockfileVersion).toBe(3);
    }
    expect(new Set(events.map((e) => e.id)).size).toBe(events.length);
  });

  it("mixes violations with the benign cases a static rule would flag", () => {
    const notes = events.map((e) => `${truthOf(e)?.label} ${truthOf(e)?.note}`);
    const count = (pattern: RegExp): number => notes.filter((n) => pattern.test(n)).length;
    expect(count(/^violation introduces /)).toBeGreaterThan(3);
    expect(count(/^benign fix pushed to the blocked pull request/)).toBeGreaterThan(0);
    expect(count(/^benign fixed pull request merged/)).toBeGreaterThan(0);
    expect(count(/^benign keeps the already-accepted/) + count(/^benign upgrade that fixes an accepted/)).toBeGreaterThan(0);
    expect(count(/^benign below the blocking severity/)).toBeGreaterThan(0);
    expect(count(/^benign dev-only/)).toBeGreaterThan(0);
    expect(count(/^benign routine upgrade/)).toBeGreaterThan(0);
    const violations = count(/^violation/);
    expect(violations / events.length).toBeLessThan(0.3);
  });

  it("renders dev dependencies with dev: true and the declared ranges in the root entry", () => {
    const text = renderLockfile("acme/web", new Map([["eslint", { version: "8.48.0", range: "^8.48.0", dev: true }], ["axios", { version: "0.21.4", range: "^0.21.4", dev: false }]]));
    const lock = JSON.parse(text) as { packages: Record<string, Record<string, unknown>> };
    expect(lock.packages[""]).toMatchObject({ dependencies: { axios: "^0.21.4" }, devDependencies: { eslint: "^8.48.0" } });
    expect(lock.packages["node_modules/eslint"]).toMatchObject({ version: "8.48.0", dev: true });
  });
});
