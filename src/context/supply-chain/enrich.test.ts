import { readFileSync } from "node:fs";
import { afterEach, describe, expect, it } from "vitest";
import { startWireServer, type WireServer } from "../../act/actuators/test-server.js";
import type { Event } from "../../core/event.js";
import { createAdvisoryDatabase } from "./advisory-db.js";
import { createDependencyEnricher } from "./enrich.js";
import { createGithubLockfileFetcher } from "./github-fetcher.js";
import type { OsvRecord } from "./osv.js";
import { defaultSupplyChainSettings, resolveSupplyChainSettings } from "./settings.js";

const fixtures = new URL("../../../test/fixtures/", import.meta.url);
const read = (path: string): string => readFileSync(new URL(path, fixtures), "utf8");

/** OSV-000-000 / 001 of osv-scalibr's scenarios, plus a critical and a dev-only case. */
const records: { record: OsvRecord }[] = [
  { record: { id: "OSV-000-000", modified: "2024-01-01T00:00:00Z", summary: "baz is broken", database_specific: { severity: "HIGH" }, affected: [{ package: { ecosystem: "npm", name: "baz" }, ranges: [{ type: "SEMVER", events: [{ introduced: "0" }, { fixed: "1.0.1" }, { introduced: "2.0.0" }, { fixed: "2.0.1" }] }] }] } },
  { record: { id: "OSV-000-001", modified: "2024-01-01T00:00:00Z", summary: "vuln is broken", database_specific: { severity: "LOW" }, affected: [{ package: { ecosystem: "npm", name: "vuln" }, ranges: [{ type: "SEMVER", events: [{ introduced: "0" }, { fixed: "2.0.0" }] }] }] } },
];
const db = createAdvisoryDatabase(records);

const basic = read("osv-scalibr-npm/fix/basic/package-lock.json");
const baseLock = JSON.stringify({ name: "pkg", version: "1.0.0", lockfileVersion: 3, packages: { "": { dependencies: { baz: "^2.0.0" } }, "node_modules/baz": { version: "2.0.0" } } });

const event = (data: unknown, type = "dev.vigil.dependency.change"): Event => ({ specversion: "1.0", id: "e1", source: "ci", type, time: "2025-06-01T10:00:00Z", data });

describe("dev.vigil.dependency.change", () => {
  const enricher = createDependencyEnricher({ advisories: db });

  it("summarises what the change introduces: only versions the base did not have", async () => {
    const summary = await enricher.enrich(event({ repo: "acme/web", ref: "0123456789abcdef0123456789abcdef01234567", pullRequest: 42, path: "package-lock.json", base: baseLock, head: basic }));
    expect(summary).toMatchObject({ repo: "acme/web", owner: "acme", repoName: "web", pullRequest: 42, headSha: "0123456789abcdef0123456789abcdef01234567", github: true, merged: false, added: 2, changed: 1, removed: 0, blocking: 1, belowThreshold: 0, preexisting: 1, highestSeverity: "high", threshold: "high", errors: [] });
    // baz@2.0.0 was in the base already (accepted before): only baz@1.0.0 (two paths) is introduced.
    expect(summary?.vulnerable).toEqual([expect.objectContaining({ package: "baz", version: "1.0.0", advisory: "OSV-000-000", severity: "high", change: "changed", from: ["2.0.0"], fixedVersion: "1.0.1", suggestedVersion: "1.0.1", satisfiesRange: true, range: "^1.0.0", blocking: true, pastFix: null, via: ["bar>baz", "foo>baz"] })]);
    expect(summary?.comment).toContain("| `baz` | 1.0.0 | OSV-000-000: baz is broken | high | **1.0.1** (within `^1.0.0`) | yes |");
    expect(summary?.statusDescription).toBe("1 vulnerable dependency introduced (highest high): baz@1.0.0");
    expect(JSON.parse(JSON.stringify(summary))).toEqual(summary);
  });

  it("without a base every head version is introduced; a parsed object is accepted", async () => {
    const summary = await enricher.enrich(event({ repo: "acme/web", ref: "feature", head: JSON.parse(basic) as object }));
    expect(summary?.vulnerable.map((v) => `${v.package}@${v.version}`)).toEqual(["baz@1.0.0", "baz@2.0.0"]);
    expect(summary?.github).toBe(false);
  });

  it("below the threshold is listed, not blocking; the threshold and dev handling come from the settings", async () => {
    const relax = read("osv-scalibr-npm/fix/basicrelax/package-lock.json");
    const summary = await enricher.enrich(event({ repo: "acme/web", head: relax }));
    expect(summary?.vulnerable.map((v) => [v.package, v.severity, v.blocking])).toEqual([["baz", "high", true], ["vuln", "low", false]]);
    const strict = createDependencyEnricher({ advisories: db, settings: resolveSupplyChainSettings({ severityThreshold: "low" }) });
    expect((await strict.enrich(event({ repo: "acme/web", head: relax })))?.blocking).toBe(2);
    const devLock = JSON.stringify({ lockfileVersion: 3, packages: { "": { devDependencies: { baz: "^1.0.0" } }, "node_modules/baz": { version: "1.0.0", dev: true } } });
    const dev = await enricher.enrich(event({ repo: "acme/web", head: devLock }));
    expect(dev?.vulnerable[0]).toMatchObject({ package: "baz", dev: true, blocking: false });
    const blockDev = createDependencyEnricher({ advisories: db, settings: resolveSupplyChainSettings({ devDependencies: "block" }) });
    expect((await blockDev.enrich(event({ repo: "acme/web", head: devLock })))?.blocking).toBe(1);
  });

  it("an unreadable lockfile is reported with file and field, never thrown", async () => {
    const summary = await enricher.enrich(event({ repo: "acme/web", path: "app/package-lock.json", base: "{not json", head: JSON.stringify({ lockfileVersion: 7 }) }));
    expect(summary?.errors).toEqual([
      { file: "app/package-lock.json (head)", field: "lockfileVersion", message: expect.stringContaining("lockfileVersion 7 is not supported") },
      { file: "app/package-lock.json (base)", field: "(root)", message: expect.stringContaining("not valid JSON") },
    ]);
    expect(summary?.lockfiles).toEqual([]);
    expect(summary?.statusDescription).toContain("Could not read the lockfile");
    expect(summary?.comment).toContain("lockfile problems");
    const missing = await enricher.enrich(event({ repo: "acme/web" }));
    expect(missing?.errors).toEqual([expect.objectContaining({ field: "data.head" })]);
    // Empty text is no lockfile either: reported, not read as a change without packages.
    const empty = await enricher.enrich(event({ repo: "acme/web", head: "" }));
    expect(empty?.errors).toEqual([expect.objectContaining({ field: "data.head", message: expect.stringContaining("data.head is empty") })]);
    const bad = await enricher.enrich(event("not an object"));
    expect(bad?.errors).toEqual([expect.objectContaining({ field: "data" })]);
  });

  it("other events get no summary", async () => {
    expect(await enricher.enrich(event({}, "com.amazonaws.cloudtrail"))).toBeUndefined();
  });
});

describe("com.github.pull_request through the contents API", () => {
  let server: WireServer | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  const payload = JSON.parse(read("octokit-webhooks-examples/pull_request/00-opened.json")) as { pull_request: { head: { sha: string }; base: { sha: string } } };
  const headSha = payload.pull_request.head.sha;
  const baseSha = payload.pull_request.base.sha;

  async function github(files: Record<string, Record<string, string>>): Promise<WireServer> {
    const wire = await startWireServer();
    wire.authenticate((request) => (request.header("authorization") === "Bearer ghs_test" ? undefined : "bad credentials"), () => ({ status: 401, body: { message: "Bad credentials", documentation_url: "https://docs.github.com/rest" } }));
    wire.on("GET", "/repos/:owner/:repo/contents/:path", (request) => {
      if (request.header("accept") !== "application/vnd.github.raw+json") return { status: 415, body: { message: "Unsupported media type" } };
      if (request.header("x-github-api-version") !== "2022-11-28") return { status: 400, body: { message: "missing API version" } };
      const text = files[request.query.get("ref") ?? ""]?.[`${request.params["owner"]}/${request.params["repo"]}/${request.params["path"]}`];
      return text === undefined ? { status: 404, body: { message: "Not Found" } } : { status: 200, headers: { "content-type": "application/vnd.github.raw+json; charset=utf-8" }, body: text };
    });
    return wire;
  }

  it("fetches base and head lockfiles at the payload's SHAs with the token and the raw media type", async () => {
    server = await github({ [headSha]: { "Codertocat/Hello-World/package-lock.json": basic }, [baseSha]: { "Codertocat/Hello-World/package-lock.json": baseLock } });
    const enricher = createDependencyEnricher({ advisories: db, fetcher: createGithubLockfileFetcher({ baseUrl: server.url, token: "ghs_test" }) });
    const summary = await enricher.enrich(event(payload, "com.github.pull_request"));
    expect(server.problems).toEqual([]);
    const paths = server.requests.map((r) => `${r.path}?ref=${r.query.get("ref")}`).sort();
    expect(paths).toEqual([
      `/repos/Codertocat/Hello-World/contents/npm-shrinkwrap.json?ref=${baseSha}`,
      `/repos/Codertocat/Hello-World/contents/npm-shrinkwrap.json?ref=${headSha}`,
      `/repos/Codertocat/Hello-World/contents/package-lock.json?ref=${baseSha}`,
      `/repos/Codertocat/Hello-World/contents/package-lock.json?ref=${headSha}`,
      `/repos/Codertocat/Hello-World/contents/yarn.lock?ref=${baseSha}`,
      `/repos/Codertocat/Hello-World/contents/yarn.lock?ref=${headSha}`,
    ].sort());
    expect(summary).toMatchObject({ repo: "Codertocat/Hello-World", pullRequest: 2, headSha, baseSha, action: "opened", github: true, blocking: 1, lockfiles: [{ path: "package-lock.json", format: "package-lock", lockfileVersion: 3, packages: 5 }] });
  });

  it("a rejected token is an error in the summary naming the status and GitHub's message", async () => {
    server = await github({});
    const enricher = createDependencyEnricher({ advisories: db, settings: { ...defaultSupplyChainSettings, lockfiles: ["package-lock.json"] }, fetcher: createGithubLockfileFetcher({ baseUrl: server.url, token: "wrong" }) });
    const summary = await enricher.enrich(event(payload, "com.github.pull_request"));
    expect(summary?.errors).toEqual([{ file: "package-lock.json", field: "github", message: expect.stringMatching(/answered HTTP 401: Bad credentials \(check the token/) }]);
  });

  it("actions that do not change code, and pull requests closed without merging, get no summary; no fetcher, no summary", async () => {
    server = await github({});
    const enricher = createDependencyEnricher({ advisories: db, fetcher: createGithubLockfileFetcher({ baseUrl: server.url, token: "ghs_test" }) });
    expect(await enricher.enrich(event({ ...payload, action: "labeled" }, "com.github.pull_request"))).toBeUndefined();
    expect(await enricher.enrich(event({ ...payload, action: "closed" }, "com.github.pull_request"))).toBeUndefined();
    expect(server.requests).toEqual([]);
    expect(await createDependencyEnricher({ advisories: db }).enrich(event(payload, "com.github.pull_request"))).toBeUndefined();
  });

  it("an unchanged lockfile is not parsed; a JSON-encoded answer (content + base64) is decoded", async () => {
    const wire = await startWireServer();
    server = wire;
    wire.on("GET", "/repos/:owner/:repo/contents/:path", (request) => {
      if (request.params["path"] !== "package-lock.json") return { status: 404, body: { message: "Not Found" } };
      const text = request.query.get("ref") === headSha ? basic : baseLock;
      return { status: 200, body: { type: "file", encoding: "base64", content: Buffer.from(text).toString("base64") } };
    });
    const enricher = createDependencyEnricher({ advisories: db, fetcher: createGithubLockfileFetcher({ baseUrl: wire.url }) });
    const summary = await enricher.enrich(event(payload, "com.github.pull_request"));
    expect(summary?.vulnerable.map((v) => `${v.package}@${v.version}`)).toEqual(["baz@1.0.0"]);
  });
});
