import { resolve } from "node:path";
import type { Entity } from "../../core/entity.js";
import { VigilError } from "../../core/errors.js";
import type { Event } from "../../core/event.js";
import type { PolicyException } from "../../core/review.js";
import { scenarios, truthOf, type Scenario, type ScenarioOptions, type ScenarioSetup } from "../../sources/simulate/index.js";
import { stringOption, write, type CliIo, type Command } from "../command.js";
import { fileOption, openOutputFile, sameFile, writeChunk, writeOutputFile } from "../shared.js";

const DEFAULT_START = "2026-01-05T00:00:00Z";

function knownNames(registry: readonly Scenario[]): string {
  return [...registry.map((s) => s.name), "all"].join(", ");
}

/** The scenarios a `--scenario` value names; VIGIL_BAD_INPUT listing the known ones otherwise. */
export function chooseScenarios(name: string | undefined, registry: readonly Scenario[] = scenarios): Scenario[] {
  if (name === undefined || name === "") {
    throw new VigilError("VIGIL_BAD_INPUT", `--scenario is required: one of ${knownNames(registry)}`, { field: "--scenario" });
  }
  if (name === "all") {
    if (registry.length === 0) throw new VigilError("VIGIL_BAD_INPUT", "--scenario all: no scenario is registered", { field: "--scenario" });
    return [...registry];
  }
  const found = registry.find((s) => s.name === name);
  if (found === undefined) {
    throw new VigilError("VIGIL_BAD_INPUT", `unknown scenario "${name}"; known scenarios: ${knownNames(registry)}`, { field: "--scenario", hint: `vigil simulate --scenario ${registry[0]?.name ?? "access"}` });
  }
  return [found];
}

function integer(args: Parameters<Command["run"]>[0], name: string, fallback: number, min: number, max: number): number {
  const text = stringOption(args, name);
  if (text === undefined) return fallback;
  const value = Number(text);
  if (!/^\d+$/.test(text.trim()) || !Number.isSafeInteger(value) || value < min || value > max) {
    throw new VigilError("VIGIL_BAD_INPUT", `--${name} must be a whole number from ${min} to ${max}, not "${text}"`, { field: `--${name}` });
  }
  return value;
}

/** Parses and checks the flags; every problem names its flag. */
export function simulateOptions(args: Parameters<Command["run"]>[0]): ScenarioOptions {
  const startText = stringOption(args, "start") ?? DEFAULT_START;
  const start = new Date(startText);
  if (!/^\d{4}-\d{2}-\d{2}(T|$)/.test(startText) || Number.isNaN(start.getTime())) {
    throw new VigilError("VIGIL_BAD_INPUT", `--start must be an ISO 8601 date or time such as ${DEFAULT_START}, not "${startText}"`, { field: "--start" });
  }
  return { seed: integer(args, "seed", 1, 0, 0xffff_ffff), days: integer(args, "days", 7, 1, 366), start };
}

function timeOf(event: Event): number {
  const ms = event.time === undefined ? Number.NaN : Date.parse(event.time);
  return Number.isNaN(ms) ? Number.POSITIVE_INFINITY : ms;
}

/**
 * Events of several scenarios in time order (each scenario's stream is already in order); on equal
 * times, the scenario listed first goes first. Deterministic.
 */
export function* interleave(streams: readonly Iterable<Event>[]): Generator<Event> {
  const iterators = streams.map((s) => s[Symbol.iterator]());
  const heads = iterators.map((it) => it.next());
  for (;;) {
    let best = -1;
    let bestTime = Number.POSITIVE_INFINITY;
    heads.forEach((head, i) => {
      if (head.done) return;
      const t = timeOf(head.value);
      if (best < 0 || t < bestTime) {
        best = i;
        bestTime = t;
      }
    });
    if (best < 0) return;
    const head = heads[best] as IteratorYieldResult<Event>;
    yield head.value;
    heads[best] = (iterators[best] as Iterator<Event>).next();
  }
}

/** The setups of the chosen scenarios, merged. */
export function mergedSetup(chosen: readonly Scenario[], options: ScenarioOptions): ScenarioSetup {
  const entities: Entity[] = [];
  const exceptions: PolicyException[] = [];
  for (const scenario of chosen) {
    const setup = scenario.setup?.(options);
    if (setup === undefined) continue;
    entities.push(...setup.entities);
    exceptions.push(...setup.exceptions);
  }
  return { entities, exceptions };
}

async function writeLines(stream: NodeJS.WritableStream, events: Iterable<Event>, counts: { events: number; violation: number; benign: number }): Promise<void> {
  let buffer = "";
  for (const event of events) {
    counts.events++;
    const truth = truthOf(event)?.label;
    if (truth === "violation") counts.violation++;
    else if (truth === "benign") counts.benign++;
    buffer += `${JSON.stringify(event)}\n`;
    if (buffer.length > 1 << 16) {
      const chunk = buffer;
      buffer = "";
      await writeChunk(stream, chunk);
    }
  }
  if (buffer !== "") await writeChunk(stream, buffer);
}

export const simulateCommand: Command = {
  path: ["simulate"],
  summary: "Write a simulated organisation's event stream with ground truth (JSON Lines CloudEvents)",
  description: [
    "Each event is a structured-mode CloudEvent whose `vigiltruth` attribute says violation or benign and `vigiltruthnote` why",
    "(e.g. \"on-call engineer paged at night\"). Same seed, days and start: byte-identical output. `all` interleaves every",
    "registered scenario in time order. --setup writes what the stream assumes is known (entity attributes such as teams and",
    "on-call schedules, exceptions such as travel notices) as JSON for the entity store and the review service.",
  ].join("\n"),
  options: {
    scenario: { type: "string", value: "<name>", description: `Scenario: ${knownNames(scenarios)}` },
    seed: { type: "string", value: "<n>", description: "Seed of the generator", default: "1" },
    days: { type: "string", value: "<n>", description: "Simulated days (1-366)", default: "7" },
    start: { type: "string", value: "<iso>", description: `First simulated instant (default ${DEFAULT_START}, a Monday)` },
    out: { type: "string", value: "<file>", description: "Write the events to this file instead of stdout (missing directories are created; - is stdout)" },
    setup: { type: "string", value: "<file>", description: "Also write the scenario setup (entities, exceptions) as JSON to this file (- is stdout, with --out a file)" },
  },
  examples: [
    "vigil simulate --scenario access --days 7 | vigil replay -p packs/access",
    "vigil simulate --scenario all --seed 42 --days 28 --out stream.jsonl --setup setup.json",
  ],
  async run(args, io: CliIo) {
    const chosen = chooseScenarios(stringOption(args, "scenario"));
    const options = simulateOptions(args);
    const setupPath = stringOption(args, "setup");
    const outPath = fileOption(args, "out");
    if (setupPath === "-" && !outPath) throw new VigilError("VIGIL_BAD_INPUT", "--setup - and the events would both go to stdout: name a file with --out or --setup", { field: "--setup" });
    if (setupPath !== undefined && setupPath !== "-" && outPath !== undefined && sameFile(resolve(io.cwd, setupPath), resolve(io.cwd, outPath))) {
      throw new VigilError("VIGIL_BAD_INPUT", `--setup ${setupPath} is the --out file: the events and the setup would overwrite each other; name two files`, { field: "--setup" });
    }
    const setupText = setupPath === undefined ? undefined : `${JSON.stringify(mergedSetup(chosen, options), null, 2)}\n`;
    if (setupPath === "-") write(io.stdout, setupText ?? "");
    else if (setupPath !== undefined) writeOutputFile(setupPath, setupText ?? "", io, "--setup");
    const stream = outPath ? await openOutputFile(outPath, io) : io.stdout;
    const counts = { events: 0, violation: 0, benign: 0 };
    try {
      await writeLines(stream, interleave(chosen.map((s) => s.generate(options))), counts);
    } finally {
      if (outPath) await new Promise<void>((done) => (stream as NodeJS.WritableStream).end(done));
    }
    write(io.stderr, `simulate: ${chosen.map((s) => s.name).join(", ")}, seed ${options.seed}, ${options.days} day(s) from ${options.start.toISOString()}: ${counts.events} events (${counts.violation} violation, ${counts.benign} benign)${outPath ? ` → ${outPath}` : ""}${setupPath ? `; setup → ${setupPath}` : ""}`);
    return 0;
  },
};
