import { writeFileSync } from "node:fs";
import { join } from "node:path";
import Database from "better-sqlite3";
import { describe, expect, it } from "vitest";
import { bucketPolicy, privateRequest, publicRequest, tempDir, vigil } from "./support.js";

function event(id: string, data: unknown): string {
  return JSON.stringify({ specversion: "1.0", id, source: "test", type: "dev.vigil.decide", data });
}

describe("vigil eval", () => {
  it("denies with exit 1 and prints the decision JSON", async () => {
    const dir = tempDir({ "p.yaml": bucketPolicy, "in.json": JSON.stringify(publicRequest) });
    const run = await vigil(["eval", "-p", "p.yaml", "in.json"], { cwd: dir });
    expect(run.code).toBe(1);
    const decision = JSON.parse(run.stdout);
    expect(decision.verdict).toBe("deny");
    expect(decision.tier).toBe("block");
    expect(decision.findings).toEqual([expect.objectContaining({ policy: "no-public-bucket", rule: "public-acl", effect: "violation", message: "bucket b1 made public by alice" })]);
  });

  it("allows with exit 0 from stdin", async () => {
    const dir = tempDir({ "p.yaml": bucketPolicy });
    const run = await vigil(["eval", "-p", "p.yaml", "-"], { cwd: dir, stdin: JSON.stringify(privateRequest) });
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout).verdict).toBe("allow");
  });

  it("--explain says which condition held and with which values", async () => {
    const dir = tempDir({ "p.yaml": bucketPolicy });
    const run = await vigil(["eval", "-p", "p.yaml", "--explain", "--input", JSON.stringify(publicRequest)], { cwd: dir });
    expect(run.stdout).toContain('resource.acl = "public-read"');
    expect(run.stdout).toContain("principal.admin = false");
    expect(run.stdout).toMatch(/^DENY/m);
  });

  // The help said "-o text (default: text)", but -o text printed the decision JSON unless --explain was given.
  it("-o text prints the verdict and findings in words; the help says JSON is the default without --explain", async () => {
    const dir = tempDir({ "p.yaml": bucketPolicy });
    const run = await vigil(["eval", "-p", "p.yaml", "-o", "text", "--input", JSON.stringify(publicRequest)], { cwd: dir });
    expect(run.code).toBe(1);
    expect(run.stdout).toMatch(/^DENY \(tier block, risk [\d.]+\): /);
    expect(run.stdout).toContain("bucket b1 made public by alice");
    expect(run.stdout).not.toContain("{");
    const help = await vigil(["eval", "--help"]);
    expect(help.stdout).toMatch(/-o, --output <format> +json \(the decision; the default without --explain\) or text/);
    expect(help.stdout).not.toContain("(default: text)");
  });

  it("rejects invalid JSON input naming the field, exit 2", async () => {
    const dir = tempDir({ "p.yaml": bucketPolicy });
    const run = await vigil(["eval", "-p", "p.yaml", "--input", "{nope"], { cwd: dir });
    expect(run.code).toBe(2);
    expect(run.stderr).toContain("input is not valid JSON");
  });

  it("rejects an unknown --output format, exit 2 naming the option and the formats", async () => {
    const dir = tempDir({ "p.yaml": bucketPolicy });
    const run = await vigil(["eval", "-p", "p.yaml", "-o", "yaml", "--input", JSON.stringify(publicRequest)], { cwd: dir });
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('--output must be "text" or "json", not "yaml"');
    expect(run.stdout).toBe("");
  });

  it("names the line and column of invalid JSON, in a file and on stdin", async () => {
    const bad = '{\n  "action": "s3:PutBucketAcl",\n  "resource": }\n';
    const dir = tempDir({ "p.yaml": bucketPolicy, "bad.json": bad });
    const file = await vigil(["eval", "-p", "p.yaml", "bad.json"], { cwd: dir });
    expect(file.code).toBe(2);
    expect(file.stderr).toContain("bad.json:3:15: input is not valid JSON");
    const stdin = await vigil(["eval", "-p", "p.yaml", "-"], { cwd: dir, stdin: bad });
    expect(stdin.code).toBe(2);
    expect(stdin.stderr).toContain("stdin:3:15: input is not valid JSON");
  });

  it("refuses --input together with an input file (one of them was ignored)", async () => {
    const dir = tempDir({ "p.yaml": bucketPolicy, "in.json": JSON.stringify(publicRequest) });
    const run = await vigil(["eval", "-p", "p.yaml", "--input", JSON.stringify(privateRequest), "in.json"], { cwd: dir });
    expect(run.code).toBe(2);
    expect(run.stderr).toContain("--input");
    expect(run.stderr).toContain("in.json");
    expect(run.stdout).toBe("");
  });

  it("reads a file that starts with a byte order mark", async () => {
    const dir = tempDir({ "p.yaml": bucketPolicy, "in.json": `\ufeff${JSON.stringify(publicRequest)}` });
    const run = await vigil(["eval", "-p", "p.yaml", "in.json"], { cwd: dir });
    expect(run.stderr).toBe("");
    expect(run.code).toBe(1);
    expect(JSON.parse(run.stdout).verdict).toBe("deny");
  });

  it("reports a broken policy without stopping the others", async () => {
    const broken = bucketPolicy.replace("name: no-public-bucket", "name: broken").replace('condition: resource.acl in', "condition: resource.acl in in");
    const dir = tempDir({ "p.yaml": bucketPolicy, "broken.yaml": broken });
    const run = await vigil(["eval", "-p", ".", "--input", JSON.stringify(publicRequest)], { cwd: dir });
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/broken\.yaml:\d+:\d+/);
  });
});

describe("vigil test", () => {
  it("runs spec.tests and ends with the summary line", async () => {
    const dir = tempDir({ "p.yaml": bucketPolicy });
    const run = await vigil(["test", "."], { cwd: dir });
    expect(run.code).toBe(0);
    expect(run.stdout.trim().split("\n").at(-1)).toBe("2 passed, 0 failed");
  });

  it("fails with exit 1 when an expectation is wrong, and --output json lists the case", async () => {
    const wrong = bucketPolicy.replace("expect: { violations: [] }", "expect: { violations: [public-acl] }");
    const dir = tempDir({ "p.yaml": wrong });
    const run = await vigil(["test", ".", "--output", "json"], { cwd: dir });
    expect(run.code).toBe(1);
    const report = JSON.parse(run.stdout);
    expect(report.summary).toMatchObject({ passed: 1, failed: 1 });
    expect(report.results.find((r: { status: string }) => r.status === "fail").name).toBe("private acl is allowed");
    expect(run.stderr.trim()).toBe("1 passed, 1 failed");
  });
  it("a path that does not exist is a usage error naming it, reported once (was two failed tests)", async () => {
    const dir = tempDir({ "p.yaml": bucketPolicy });
    const run = await vigil(["test", ".", "missing/"], { cwd: dir });
    expect(run.code).toBe(2);
    expect(run.stderr.match(/missing/g)).toHaveLength(1);
    expect(run.stderr).toContain("ENOENT");
    expect(run.stdout).not.toContain("failed");
  });
});

describe("vigil replay, explain and audit verify", () => {
  it("replays JSON Lines, reports a bad line by number, records, explains and verifies", async () => {
    const lines = [event("e1", publicRequest), "{ not json", event("e2", privateRequest), JSON.stringify({ specversion: "1.0", id: "e3" })].join("\n");
    const dir = tempDir({ "p.yaml": bucketPolicy, "events.jsonl": lines });
    const env = { VIGIL_STORE_PATH: join(dir, "vigil.db") };
    const run = await vigil(["replay", "-p", "p.yaml", "events.jsonl", "--record"], { cwd: dir, env });
    // The good lines are decided and recorded; the exit says some lines were not (as ingest's does).
    expect(run.code).toBe(1);
    const decisions = run.stdout.trim().split("\n").map((l) => JSON.parse(l));
    expect(decisions.map((d) => [d.eventId, d.verdict])).toEqual([["e1", "deny"], ["e2", "allow"]]);
    // Each bad line named once: "bad event: line 2 is not valid JSON …", "bad event: line 4: …".
    expect(run.stderr).toContain("bad event: line 2 is not valid JSON");
    expect(run.stderr).not.toContain("line 2: line 2");
    expect(run.stderr).toContain("bad event: line 4:");
    expect(run.stderr).toMatch(/replay: 2 events, 2 decisions \(1 deny; .*\), 2 bad lines/);

    const explained = await vigil(["explain", decisions[0].decisionId], { cwd: dir, env });
    expect(explained.code).toBe(0);
    expect(explained.stdout).toContain("no-public-bucket/public-acl violated");

    const intact = await vigil(["audit", "verify"], { cwd: dir, env });
    expect(intact.code).toBe(0);
    expect(intact.stdout).toContain("2 records verified");

    // Tamper with the first record behind the adapter's back.
    const db = new Database(join(dir, "vigil.db"));
    const triggers = db.prepare("SELECT name FROM sqlite_master WHERE type = 'trigger'").all() as { name: string }[];
    for (const t of triggers) db.exec(`DROP TRIGGER "${t.name}"`);
    const tables = (db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name LIKE '%decision%'").all() as { name: string }[]).map((t) => t.name);
    const table = tables.find((t) => (db.prepare(`PRAGMA table_info("${t}")`).all() as { name: string }[]).some((c) => c.name === "body")) as string;
    db.prepare(`UPDATE "${table}" SET body = replace(body, '"deny"', '"allow"') WHERE seq = 1`).run();
    db.close();

    const tampered = await vigil(["audit", "verify"], { cwd: dir, env });
    expect(tampered.code).toBe(1);
    expect(tampered.stdout).toContain(`record ${decisions[0].decisionId} (seq 1) was modified`);
  });
});

describe("vigil replay --no-context --record", () => {
  for (const thread of ["worker", "caller"] as const) {
    it(`records every decision in one verifiable chain, appending from the ${thread} thread`, async () => {
      const lines = Array.from({ length: 30 }, (_unused, i) => event(`n${i}`, i % 3 === 0 ? publicRequest : privateRequest)).join("\n");
      const dir = tempDir({ "p.yaml": bucketPolicy, "events.jsonl": lines });
      const env = { VIGIL_STORE_PATH: join(dir, "vigil.db") };
      const run = await vigil(["replay", "--no-context", "-p", "p.yaml", "events.jsonl", "--record", "--record-thread", thread], { cwd: dir, env });
      expect(run.code, run.stderr).toBe(0);
      expect(run.stderr).toMatch(/replay: 30 events, 30 decisions \(10 deny; .*recorded/);
      const verified = await vigil(["audit", "verify"], { cwd: dir, env });
      expect(verified.stdout).toContain("30 records verified");
    });
  }

  it("rejects an unknown --record-thread, naming the option and the choices", async () => {
    const dir = tempDir({ "p.yaml": bucketPolicy, "events.jsonl": event("x", publicRequest) });
    const run = await vigil(["replay", "--no-context", "-p", "p.yaml", "events.jsonl", "--record", "--record-thread", "both"], { cwd: dir, env: { VIGIL_STORE_PATH: join(dir, "vigil.db") } });
    expect(run.code).not.toBe(0);
    expect(run.stderr).toContain("--record-thread");
    expect(run.stderr).toContain("use worker or caller");
  });
});

describe("vigil policies lint and help", () => {
  it("names file, line and column and suggests the field", async () => {
    const typo = bucketPolicy.replace("severity: high", "severty: high");
    const dir = tempDir({ "p.yaml": typo });
    const run = await vigil(["policies", "lint", "p.yaml"], { cwd: dir });
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/p\.yaml:\d+:\d+/);
    expect(run.stderr).toContain("severity");
  });

  it("every command has --help", async () => {
    const { commands } = await import("../../src/cli/commands/index.js");
    for (const command of commands) {
      const run = await vigil([...command.path, "--help"]);
      expect(run.code).toBe(0);
      expect(run.stdout).toContain(`Usage: vigil ${command.path.join(" ")}`);
    }
  });

  it("rejects an argument the command does not take, naming it (vigil report manifests/ read the store instead)", async () => {
    const dir = tempDir({ "p.yaml": bucketPolicy, "in.json": JSON.stringify(publicRequest) });
    const report = await vigil(["report", "manifests/"], { cwd: dir, env: { VIGIL_STORE_PATH: join(dir, "vigil.db") } });
    expect(report.code).toBe(2);
    expect(report.stderr).toContain('unexpected argument "manifests/"');
    expect(report.stdout).toBe("");
    const evaluated = await vigil(["eval", "-p", "p.yaml", "in.json", "other.json"], { cwd: dir });
    expect(evaluated.code).toBe(2);
    expect(evaluated.stderr).toContain('unexpected argument "other.json"');
    expect(evaluated.stdout).toBe("");
    // [path...] takes any number.
    expect((await vigil(["test", "p.yaml", "p.yaml"], { cwd: dir })).code).toBe(0);
  });

  it("vigil help <command> prints that command's help, as <command> --help does", async () => {
    const run = await vigil(["help", "audit", "verify"]);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain("Usage: vigil audit verify");
    const unknown = await vigil(["help", "nope"]);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('unknown command "nope"');
  });

  it("rejects an unknown flag naming it", async () => {
    const run = await vigil(["eval", "--nope"]);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain("--nope");
  });
});

describe("vigil ingest", () => {
  it("rejects an unknown --format before reading anything, naming the option and the formats", async () => {
    const run = await vigil(["ingest", "--format", "bogus", "-"], { stdin: event("e1", publicRequest), env: { VIGIL_SERVER: "http://127.0.0.1:9", VIGIL_TOKEN: "t" } });
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('--format must be "json-lines"');
    expect(run.stderr).toContain('not "bogus"');
    expect(run.stdout).toBe("");
  });
});

describe("config", () => {
  it("rejects an unknown key in vigil.yaml naming it", async () => {
    const dir = tempDir({ "vigil.yaml": "server:\n  prot: 1\n", "p.yaml": bucketPolicy });
    writeFileSync(join(dir, "in.json"), "{}");
    const run = await vigil(["eval", "-p", "p.yaml", "in.json"], { cwd: dir });
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('server: unknown key(s) "prot"');
  });
});
