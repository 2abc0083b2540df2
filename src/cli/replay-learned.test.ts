import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { createManualClock } from "../agent/clock.js";
import { createAgent } from "../agent/runtime.js";
import { parseConfig } from "../config.js";
import type { Event } from "../core/event.js";
import { LEARN_COLLECTION, versionId } from "../learn/index.js";
import { openStorage } from "../agent.js";
import { vigil } from "../../test/cli/support.js";
import { labelledFalsePositives, nightLogin, nightLoginPolicy } from "../../test/helpers/learning.js";


const request = (subject: string, hour: number): Event => nightLogin(subject, hour, "2025-03-04T02:00:00Z");

let dir: string;
const env = () => ({ VIGIL_STORE_PATH: join(dir, "v.db") });

beforeAll(async () => {
  // A store whose learned state says: night logins of svc/batch are false positives (10 of 10, 2 reviewers).
  dir = mkdtempSync(join(tmpdir(), "vigil-replay-learned-"));
  writeFileSync(join(dir, "p.yaml"), nightLoginPolicy);
  const agent = await createAgent(parseConfig({ policies: [join(dir, "p.yaml")], store: { path: join(dir, "v.db") } }), {
    clock: createManualClock("2025-03-03T10:00:00Z"), onProblem: () => undefined,
  });
  try {
    await labelledFalsePositives(agent, "svc/batch");
    await agent.learning.update({ id: "ann", roles: ["approver"] });
  } finally {
    await agent.close();
  }
  writeFileSync(join(dir, "events.jsonl"), [request("svc/batch", 3), request("svc/other", 3)].map((e) => JSON.stringify(e)).join("\n") + "\n");
});

/** A replayed decision line (src/decide/output.ts). */
interface Line { readonly tier: string; readonly explanation: { readonly steps?: readonly string[] } }

function decisions(stdout: string): Line[] {
  return stdout.trim().split("\n").map((line) => JSON.parse(line) as Line);
}

describe("vigil replay --learned", () => {
  it("without it nothing learned applies: the declared tiers", async () => {
    const run = await vigil(["replay", "-p", "p.yaml", "events.jsonl"], { cwd: dir, env: env() });
    expect(run.code, run.stderr).toBe(0);
    expect(decisions(run.stdout).map((d) => d.tier)).toEqual(["notify", "notify"]);
    expect(run.stderr).not.toContain("learned state:");
  });

  it("applies the configured store's learned state, cited, only where it was learned", async () => {
    const run = await vigil(["replay", "-p", "p.yaml", "--learned", "--explain", "events.jsonl"], { cwd: dir, env: env() });
    expect(run.code, run.stderr).toBe(0);
    const [batch, other] = decisions(run.stdout);
    expect(batch?.tier).toBe("observe");
    expect(batch?.explanation.steps).toContainEqual(expect.stringMatching(/risk lowered by [\d.]+, tier shifted -1 .*: 10 of 10 similar findings for subject\/svc\/batch were marked false positive/));
    expect(other?.tier).toBe("notify");
    expect(run.stderr).toMatch(/learned state: version 1 of the configured store applied/);
  });

  it("a corrupt learned state is reported and not applied (declared tiers), and the replay never writes it", async () => {
    const storage = await openStorage(parseConfig({ store: { path: join(dir, "v.db") } }));
    try {
      const doc = await storage.getDoc<{ state: { entries: { tierShift?: number }[] } }>(LEARN_COLLECTION, versionId(1));
      const entries = (doc?.value.state.entries ?? []).map((e) => ({ ...e, tierShift: -2 }));
      await storage.putDocs([{ collection: LEARN_COLLECTION, id: versionId(1), value: { ...doc?.value, state: { ...doc?.value.state, entries } } }], "2025-03-05T00:00:00Z");
    } finally {
      await storage.close();
    }
    const run = await vigil(["replay", "-p", "p.yaml", "--learned", "events.jsonl"], { cwd: dir, env: env() });
    expect(run.code, run.stderr).toBe(0);
    expect(decisions(run.stdout).map((d) => d.tier)).toEqual(["notify", "notify"]);
    expect(run.stderr).toMatch(/learned state: CORRUPT in the configured store, not applied \(declared tiers\)/);
    const after = await openStorage(parseConfig({ store: { path: join(dir, "v.db") } }));
    try {
      expect(await after.getDoc(LEARN_COLLECTION, versionId(2))).toBeUndefined();
    } finally {
      await after.close();
    }
  });
});
