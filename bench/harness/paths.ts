/**
 * Where the benchmarks run from. `npm run bench` compiles `src/` and `bench/` with tsc
 * (tsconfig.bench.json, the same compiler and options as the shipped `dist/`) into
 * `.bench-build/` and runs the JavaScript; `npx tsx bench/<name>.ts` still runs a benchmark from
 * the TypeScript sources while developing. Child processes a benchmark starts (script
 * benchmarks, the admission server and load generator, the `vigil` command) must run the same
 * way as their parent, so they are started through `nodeArgsFor`.
 */
import { existsSync } from "node:fs";
import { dirname, isAbsolute, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const here = fileURLToPath(import.meta.url);

/** True when this process runs the tsc output in `.bench-build/`, false under tsx. */
export const compiled = here.endsWith(".js");

/** The repository root (the folder with package.json, packs/ and test/fixtures/). */
export const repoRoot = findRoot(dirname(here));

/** The root of the code that runs: `.bench-build/` when compiled, the repository otherwise. */
export const codeRoot = compiled ? join(dirname(here), "..", "..") : repoRoot;

/**
 * Node arguments that run `file` (a .ts path relative to the repository, e.g. "bench/cel.ts" or
 * "src/cli/main.ts") the way this process runs: its compiled .js, or the .ts through tsx (also
 * for a file outside the repository, which the bench build does not compile).
 */
export function nodeArgsFor(file: string): string[] {
  const source = resolve(repoRoot, file);
  const inRepo = relative(repoRoot, source);
  if (compiled && !inRepo.startsWith("..") && !isAbsolute(inRepo)) return [join(codeRoot, inRepo.replace(/\.ts$/, ".js"))];
  return ["--import", "tsx", source];
}

/** "compiled by tsc (.bench-build/)" or "TypeScript through tsx", for the reports. */
export const runningAs = compiled ? "compiled by tsc (.bench-build/, as dist/ ships)" : "TypeScript sources through tsx (development; tsx's esbuild transform names every function, which costs time)";

function findRoot(start: string): string {
  let dir = start;
  for (;;) {
    if (existsSync(join(dir, "package.json")) && existsSync(join(dir, "packs"))) return dir;
    const parent = dirname(dir);
    if (parent === dir) return start;
    dir = parent;
  }
}
