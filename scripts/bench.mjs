#!/usr/bin/env node
/**
 * `npm run bench [-- args]`: compiles src/ and bench/ with tsc (tsconfig.bench.json: the same
 * compiler and options as the shipped dist/) into .bench-build/, links the data folders the code
 * finds relative to itself (packs/, test/), then runs .bench-build/bench/run.js with the
 * arguments. The benchmarks measure the JavaScript that ships, not tsx's on-the-fly transform
 * (which wraps every function in a naming call and costs the hot paths up to 2x).
 * `npx tsx bench/run.ts ...` still runs them from the TypeScript sources while developing.
 */
import { spawnSync } from "node:child_process";
import { existsSync, lstatSync, mkdirSync, symlinkSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const out = join(root, ".bench-build");
const tsc = createRequire(import.meta.url).resolve("typescript/bin/tsc");

process.stderr.write("bench: compiling src/ and bench/ with tsc into .bench-build/ ...\n");
const build = spawnSync(process.execPath, [tsc, "-p", join(root, "tsconfig.bench.json")], { stdio: "inherit", cwd: root });
if (build.status !== 0) {
  process.stderr.write("bench: the TypeScript build failed (see above); nothing was run\n");
  process.exit(build.status ?? 1);
}
mkdirSync(out, { recursive: true });
for (const folder of ["packs", "test"]) {
  const link = join(out, folder);
  if (!existsSync(link) && !isLink(link)) symlinkSync(join("..", folder), link, "dir");
}
const run = spawnSync(process.execPath, [join(out, "bench", "run.js"), ...process.argv.slice(2)], { stdio: "inherit", cwd: root });
process.exit(run.status ?? 1);

function isLink(path) {
  try {
    return lstatSync(path).isSymbolicLink();
  } catch {
    return false;
  }
}
