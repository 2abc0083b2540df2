/**
 * Runs the whole Kyverno policy library (`npm run compat:kyverno -- <corpus path> [--json]`)
 * through Vigil's kyverno-test runner and prints per-category pass/fail/unsupported counts and
 * the failures grouped by cause. Categories come from the corpus INDEX.json when present.
 */
import { existsSync, readFileSync } from "node:fs";
import { join, relative, resolve } from "node:path";
import { createCelEnvironment } from "../src/policy/cel/index.js";
import { runKyvernoTestFile, type KyvernoTestCase } from "../src/policy/kyverno/test-runner.js";
import { discoverTestFiles } from "../src/policy/kyverno/test-files.js";

const args = process.argv.slice(2);
const json = args.includes("--json");
const corpus = args.find((a) => !a.startsWith("--"));
if (!corpus) {
  console.error("usage: npm run compat:kyverno -- <path to kyverno policies> [--json] [--filter <substring>]");
  process.exit(2);
}
const filterIndex = args.indexOf("--filter");
const filter = filterIndex >= 0 ? args[filterIndex + 1] : undefined;
const root = resolve(corpus);
const categories = new Map<string, string>();
const indexPath = join(root, "INDEX.json");
if (existsSync(indexPath)) {
  for (const entry of JSON.parse(readFileSync(indexPath, "utf8")) as { test: string; category: string }[]) categories.set(entry.test, entry.category);
}
const validateFamily = (c: string): boolean => !/mutat|generat/i.test(c);

const env = createCelEnvironment();
const started = Date.now();
const rows: (KyvernoTestCase & { category: string })[] = [];
for (const file of discoverTestFiles([root])) {
  const rel = relative(root, file);
  if (filter && !rel.includes(filter)) continue;
  const category = categories.get(rel) ?? "uncategorised";
  for (const r of runKyvernoTestFile(file, { celEnv: env })) rows.push({ ...r, suite: rel, category });
}
const seconds = (Date.now() - started) / 1000;

interface Counts { pass: number; fail: number; unsupported: number; error: number; total: number }
const byCategory = new Map<string, Counts>();
const add = (key: string, r: KyvernoTestCase): void => {
  const c = byCategory.get(key) ?? { pass: 0, fail: 0, unsupported: 0, error: 0, total: 0 };
  c.total++;
  if (r.status === "pass") c.pass++;
  else if (r.status === "unsupported") c.unsupported++;
  else if (r.status === "error") c.error++;
  else c.fail++;
  byCategory.set(key, c);
};
for (const r of rows) add(r.category, r);

const cause = (r: KyvernoTestCase): string => {
  if (r.status === "error") return `error: ${(r.message ?? "").replace(/\/[^\s:]*\//g, "…/").slice(0, 120)}`;
  if (r.status === "unsupported") return `unsupported: ${(r.message ?? "").replace(/^[^:]*: /, "").slice(0, 100)}`;
  return `expected ${r.expected}, got ${r.actual}`;
};
const failures = rows.filter((r) => r.status !== "pass");
const causes = new Map<string, (KyvernoTestCase & { category: string })[]>();
for (const r of failures) causes.set(cause(r), [...(causes.get(cause(r)) ?? []), r]);

const excludedPasses = rows.filter((r) => r.status === "pass" && r.actual === "excluded").length;
let famPass = 0, famTotal = 0;
for (const [cat, c] of byCategory) if (validateFamily(cat)) { famPass += c.pass; famTotal += c.total; }

if (json) {
  console.log(JSON.stringify({
    corpus: root, seconds, total: rows.length,
    validateFamily: { pass: famPass, total: famTotal, percent: famTotal ? (100 * famPass) / famTotal : 0 },
    excludedPasses,
    categories: Object.fromEntries(byCategory),
    failures: failures.map((r) => ({ category: r.category, test: r.suite, policy: r.policy, rule: r.rule, resource: r.resource, kind: r.kind, expected: r.expected, actual: r.actual, status: r.status, message: r.message })),
  }, null, 2));
} else {
  console.log(`Kyverno policy library: ${rows.length} expectations in ${seconds.toFixed(1)}s\n`);
  console.log("category".padEnd(44) + "pass".padStart(6) + "fail".padStart(6) + "error".padStart(7) + "unsup".padStart(7) + "total".padStart(7) + "   %");
  for (const [cat, c] of [...byCategory].sort()) {
    console.log(cat.padEnd(44) + String(c.pass).padStart(6) + String(c.fail).padStart(6) + String(c.error).padStart(7) + String(c.unsupported).padStart(7) + String(c.total).padStart(7) + `   ${((100 * c.pass) / c.total).toFixed(1)}`);
  }
  console.log(`\nvalidate family: ${famPass}/${famTotal} = ${famTotal ? ((100 * famPass) / famTotal).toFixed(2) : "0"}%`);
  console.log(`(of all passes, ${excludedPasses} are resources the rule does not select, which kyverno test also counts as passed)\n`);
  console.log("failures by cause:");
  for (const [c, list] of [...causes].sort((a, b) => b[1].length - a[1].length)) {
    console.log(`${String(list.length).padStart(5)}  ${c}`);
    for (const r of list.slice(0, args.includes("--verbose") ? 50 : 3)) console.log(`         ${r.suite} :: ${r.policy}/${r.rule ?? ""} ${r.kind}/${r.resource}${r.message && r.status === "fail" ? ` — ${r.message.slice(0, 160)}` : ""}`);
  }
}
