/**
 * `vigil simulate --scenario supply-chain`: an organisation's dependency changes over D days, as
 * `dev.vigil.dependency.change` events carrying the base and head package-lock.json of each pull
 * request, with a ground-truth label per event.
 *
 * Acme runs eight repositories. On working days a few pull requests change dependencies:
 * - violation: a production dependency moves to a version with a known high or critical advisory
 *   (real records of the shipped set: axios 0.21.1 / CVE-2021-3749, handlebars 4.0.11, ...). The
 *   author then pushes the fix to the same pull request and it merges — two benign follow-ups that
 *   also feed the past-fix memory;
 * - benign, and a static "any vulnerable version in the lockfile" rule would flag it: a change that
 *   keeps an already-accepted vulnerable version of a legacy repository; a dev-only tool with an
 *   advisory (reported, not blocked); a vulnerable version below the blocking severity; an upgrade
 *   that fixes an accepted vulnerability;
 * - benign: routine upgrades and dev tooling bumps.
 * Deterministic for a seed (mulberry32); events in time order.
 */
import type { Event } from "../../core/event.js";
import { createRandom, TRUTH_ATTRIBUTE, TRUTH_NOTE_ATTRIBUTE, type Scenario, type ScenarioOptions } from "./scenario.js";

type Rng = ReturnType<typeof createRandom>;

/** A version of a package and what the shipped advisory set says about it. */
interface Risky {
  readonly name: string;
  readonly vulnerable: string;
  readonly safe: string;
  readonly range: string;
  readonly note: string;
}

/** High/critical at the vulnerable version, clean at the safe one (shipped advisory set). */
const blocking: readonly Risky[] = [
  { name: "axios", vulnerable: "0.21.1", safe: "0.21.4", range: "^0.21.1", note: "axios 0.21.1: CVE-2021-3749 ReDoS (high)" },
  { name: "handlebars", vulnerable: "4.0.11", safe: "4.7.8", range: "^4.0.11", note: "handlebars 4.0.11: prototype pollution (high)" },
  { name: "jsonwebtoken", vulnerable: "4.2.1", safe: "9.0.2", range: "^4.2.1", note: "jsonwebtoken 4.2.1: verification bypass (high)" },
  { name: "shell-quote", vulnerable: "1.6.0", safe: "1.8.1", range: "^1.6.0", note: "shell-quote 1.6.0: command injection (high)" },
  { name: "validator", vulnerable: "3.22.0", safe: "13.11.0", range: "^3.22.0", note: "validator 3.22.0: XSS filter bypass (high)" },
  { name: "ws", vulnerable: "1.1.0", safe: "8.14.2", range: "^1.1.0", note: "ws 1.1.0: DoS (high)" },
  { name: "marked", vulnerable: "0.3.2", safe: "4.3.0", range: "^0.3.2", note: "marked 0.3.2: ReDoS (high)" },
  { name: "tar", vulnerable: "1.0.3", safe: "6.2.0", range: "^1.0.3", note: "tar 1.0.3: arbitrary file write (high)" },
];

/** Medium/low at the vulnerable version: listed, below the default blocking severity (high). */
const belowThreshold: readonly Risky[] = [
  { name: "lodash", vulnerable: "4.17.15", safe: "4.17.21", range: "^4.17.15", note: "lodash 4.17.15: prototype pollution (medium)" },
  { name: "moment", vulnerable: "2.19.1", safe: "2.29.4", range: "^2.19.1", note: "moment 2.19.1: ReDoS (low)" },
  { name: "express", vulnerable: "4.4.0", safe: "4.18.2", range: "^4.4.0", note: "express 4.4.0: missing charset (medium)" },
  { name: "hosted-git-info", vulnerable: "2.8.8", safe: "2.8.9", range: "^2.8.8", note: "hosted-git-info 2.8.8: ReDoS (medium)" },
];

/** Production packages and versions without known advisories in the shipped set. */
const cleanProd: readonly (readonly [string, readonly string[]])[] = [
  ["react", ["18.1.0", "18.2.0"]], ["react-dom", ["18.1.0", "18.2.0"]], ["chalk", ["5.2.0", "5.3.0"]], ["commander", ["10.0.1", "11.0.0", "11.1.0"]],
  ["uuid", ["9.0.0", "9.0.1"]], ["dayjs", ["1.11.9", "1.11.10"]], ["zod", ["3.21.4", "3.22.2", "3.22.4"]], ["pino", ["8.14.1", "8.15.0", "8.16.0"]],
  ["dotenv", ["16.3.1", "16.4.1"]], ["cors", ["2.8.5"]], ["date-fns", ["2.29.3", "2.30.0"]], ["classnames", ["2.3.2"]], ["nanoid", ["4.0.2", "5.0.1"]],
];

/** Dev-only tooling: bumps are routine; the last entry is a dev-only tool version with a high advisory. */
const devTools: readonly (readonly [string, readonly string[]])[] = [
  ["eslint", ["8.47.0", "8.48.0", "8.49.0"]], ["prettier", ["3.0.1", "3.0.2", "3.0.3"]], ["typescript", ["5.1.6", "5.2.2"]], ["vitest", ["0.34.1", "0.34.3", "0.34.6"]], ["tsx", ["3.12.7", "3.13.0"]],
];
const vulnerableDevTool: Risky = { name: "marked", vulnerable: "0.3.2", safe: "4.3.0", range: "^0.3.2", note: "dev-only doc generator marked 0.3.2 with a high advisory: reported, not blocked" };

const repos = ["acme/web", "acme/api", "acme/payments", "acme/admin", "acme/mobile-bff", "acme/docs", "acme/worker", "acme/auth"];
/** Legacy repositories run with an accepted vulnerable version (a risk acceptance from before Vigil). */
const legacy: Readonly<Record<string, Risky>> = { "acme/docs": blocking[6] as Risky, "acme/worker": blocking[7] as Risky };

interface Dep {
  readonly version: string;
  readonly range: string;
  readonly dev: boolean;
}
type LockState = Map<string, Dep>;

interface RepoState {
  readonly name: string;
  deps: LockState;
  nextPr: number;
}

/** A package-lock.json (lockfileVersion 3) for a dependency set. */
export function renderLockfile(repo: string, deps: LockState): string {
  const names = [...deps.keys()].sort();
  const root: Record<string, unknown> = { name: repo.split("/")[1], version: "1.0.0" };
  const prod = names.filter((n) => !deps.get(n)?.dev);
  const dev = names.filter((n) => deps.get(n)?.dev);
  if (prod.length) root["dependencies"] = Object.fromEntries(prod.map((n) => [n, deps.get(n)?.range]));
  if (dev.length) root["devDependencies"] = Object.fromEntries(dev.map((n) => [n, deps.get(n)?.range]));
  const packages: Record<string, unknown> = { "": root };
  for (const name of names) {
    const dep = deps.get(name) as Dep;
    packages[`node_modules/${name}`] = { version: dep.version, resolved: `https://registry.npmjs.org/${name}/-/${name.split("/").pop()}-${dep.version}.tgz`, ...(dep.dev ? { dev: true } : {}) };
  }
  return JSON.stringify({ name: root["name"], version: "1.0.0", lockfileVersion: 3, requires: true, packages }, null, 2);
}

function initialRepo(name: string, rng: Rng): RepoState {
  const deps: LockState = new Map();
  for (const [pkg, versions] of cleanProd) if (rng.chance(0.45)) deps.set(pkg, { version: versions[0] as string, range: `^${versions[0]}`, dev: false });
  for (const [pkg, versions] of devTools) if (rng.chance(0.7)) deps.set(pkg, { version: versions[0] as string, range: `^${versions[0]}`, dev: true });
  const accepted = legacy[name];
  if (accepted) deps.set(accepted.name, { version: accepted.vulnerable, range: accepted.range, dev: false });
  return { name, deps, nextPr: 100 + rng.int(0, 400) };
}

const hex = (rng: Rng, length: number): string => Array.from({ length }, () => "0123456789abcdef"[rng.int(0, 15)]).join("");

interface Planned {
  readonly at: number;
  readonly repo: RepoState;
  readonly kind: "violation-fix" | "violation-merge";
  readonly pr: number;
  readonly risky: Risky;
  readonly base: LockState;
  readonly head: LockState;
}

export const supplyChainScenario: Scenario = {
  name: "supply-chain",
  description: "Dependency changes of an organisation's pull requests (package-lock.json before and after), labelled: vulnerable introductions vs. fixes, dev-only tools, accepted versions and below-threshold findings",
  *generate(options: ScenarioOptions): Iterable<Event> {
    const rng = createRandom(options.seed);
    const start = options.start.getTime();
    const state = repos.map((name) => initialRepo(name, rng));
    let sequence = 0;
    const pending: Planned[] = [];

    const emit = (at: number, repo: RepoState, pr: number, base: LockState, head: LockState, label: "violation" | "benign", note: string, extra: Record<string, unknown> = {}): Event => ({
      specversion: "1.0",
      id: `supply-chain-${options.seed}-${++sequence}`,
      source: "https://github.com/acme",
      type: "dev.vigil.dependency.change",
      subject: `${repo.name}#${pr}`,
      time: new Date(at).toISOString(),
      datacontenttype: "application/json",
      data: { repo: repo.name, ref: `deps/pr-${pr}`, pullRequest: pr, sha: hex(rng, 40), baseSha: hex(rng, 40), path: "package-lock.json", base: renderLockfile(repo.name, base), head: renderLockfile(repo.name, head), ...extra },
      [TRUTH_ATTRIBUTE]: label,
      [TRUTH_NOTE_ATTRIBUTE]: note,
    });

    for (let day = 0; day < options.days; day++) {
      const dayStart = start + day * 86_400_000;
      const weekday = new Date(dayStart).getUTCDay();
      const workday = weekday !== 0 && weekday !== 6;
      const todays: Event[] = [];
      for (const repo of state) {
        if (!rng.chance(workday ? 0.55 : 0.05)) continue;
        const at = dayStart + (9 + rng.int(0, 8)) * 3_600_000 + rng.int(0, 59) * 60_000;
        const pr = repo.nextPr++;
        const base = repo.deps;
        const head: LockState = new Map(base);
        const accepted = [...base].find(([name, dep]) => blocking.some((r) => r.name === name && r.vulnerable === dep.version));
        const roll = rng.next();
        if (roll < 0.16) {
          const risky = rng.pick(blocking.filter((r) => !base.has(r.name)));
          if (risky) {
            head.set(risky.name, { version: risky.vulnerable, range: risky.range, dev: false });
            todays.push(emit(at, repo, pr, base, head, "violation", `introduces ${risky.note}`));
            const fixed: LockState = new Map(head).set(risky.name, { version: risky.safe, range: `^${risky.safe}`, dev: false });
            const fixAt = at + (2 + rng.int(0, 20)) * 3_600_000;
            pending.push({ at: fixAt, repo, kind: "violation-fix", pr, risky, base, head: fixed });
            pending.push({ at: fixAt + (1 + rng.int(0, 5)) * 3_600_000, repo, kind: "violation-merge", pr, risky, base, head: fixed });
            continue;
          }
        }
        if (roll < 0.3 && accepted) {
          const risky = blocking.find((r) => r.name === accepted[0]) as Risky;
          if (rng.chance(0.5)) {
            head.set(risky.name, { version: risky.safe, range: `^${risky.safe}`, dev: false });
            todays.push(emit(at, repo, pr, base, head, "benign", `upgrade that fixes an accepted vulnerability: ${risky.name} ${risky.vulnerable} → ${risky.safe}`));
            repo.deps = head;
          } else {
            const [pkg, versions] = rng.pick(cleanProd);
            head.set(pkg, { version: versions[versions.length - 1] as string, range: `^${versions[versions.length - 1]}`, dev: false });
            todays.push(emit(at, repo, pr, base, head, "benign", `keeps the already-accepted ${risky.note.split(":")[0]} while bumping ${pkg}`));
            repo.deps = head;
          }
          continue;
        }
        if (roll < 0.42) {
          const risky = rng.pick(belowThreshold.filter((r) => !base.has(r.name)));
          if (risky) {
            head.set(risky.name, { version: risky.vulnerable, range: risky.range, dev: false });
            todays.push(emit(at, repo, pr, base, head, "benign", `below the blocking severity: ${risky.note}`));
            repo.deps = head;
            continue;
          }
        }
        if (roll < 0.62) {
          if (rng.chance(0.2) && !base.has(vulnerableDevTool.name)) {
            head.set(vulnerableDevTool.name, { version: vulnerableDevTool.vulnerable, range: vulnerableDevTool.range, dev: true });
            todays.push(emit(at, repo, pr, base, head, "benign", vulnerableDevTool.note));
          } else {
            const [tool, versions] = rng.pick(devTools);
            const version = rng.pick(versions);
            head.set(tool, { version, range: `^${version}`, dev: true });
            todays.push(emit(at, repo, pr, base, head, "benign", `dev-only tooling bump: ${tool} ${version}`));
          }
          repo.deps = head;
          continue;
        }
        const [pkg, versions] = rng.pick(cleanProd);
        const version = rng.pick(versions);
        head.set(pkg, { version, range: `^${version}`, dev: false });
        todays.push(emit(at, repo, pr, base, head, "benign", `routine upgrade: ${pkg} ${version}, no known vulnerability`));
        repo.deps = head;
      }
      // Follow-ups due today (fixes pushed to blocked pull requests, then their merges).
      const due = pending.filter((p) => p.at < dayStart + 86_400_000).sort((a, b) => a.at - b.at);
      for (const item of due) {
        pending.splice(pending.indexOf(item), 1);
        if (item.kind === "violation-fix") {
          todays.push(emit(item.at, item.repo, item.pr, item.base, item.head, "benign", `fix pushed to the blocked pull request: ${item.risky.name} ${item.risky.vulnerable} → ${item.risky.safe}`));
        } else {
          todays.push(emit(item.at, item.repo, item.pr, item.base, item.head, "benign", `fixed pull request merged (${item.risky.name} ${item.risky.safe})`, { merged: true }));
          item.repo.deps = new Map([...item.repo.deps, [item.risky.name, { version: item.risky.safe, range: `^${item.risky.safe}`, dev: false }]]);
        }
      }
      yield* todays.sort((a, b) => (a.time as string).localeCompare(b.time as string));
    }
  },
};
