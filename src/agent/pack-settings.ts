/**
 * Pack settings: how the agent finds each pack's `settings.yaml` and merges it under `vigil.yaml`.
 *
 * Discovery (`packs.discover`, default on): for every configured policy directory, a
 * `settings.yaml` in the directory itself, in each folder directly in it (`policies: [packs]` finds
 * `packs/<pack>/settings.yaml`), and in the folder above a directory named `policies`; then the
 * files of `packs.settings`, in order. A file is read once.
 *
 * A settings file holds sections — `context`, `act`, `ladder`, `residency`, `supplyChain`,
 * `actuators` — each with the shape of the `vigil.yaml` key of the same name. A file whose
 * top-level keys are not sections is one module's whole settings when its folder says which:
 * `residency/settings.yaml` is a `residency` section, `supply-chain/settings.yaml` a `supplyChain`
 * section (the shipped packs' layout).
 *
 * Precedence: `vigil.yaml` wins over every pack, key by key (maps merge, lists and values
 * replace). Two packs that set the same key to different values are a configuration error naming
 * both files, unless `vigil.yaml` sets that key. A pack's `act.allow` entries restrict that pack's
 * policies: while `vigil.yaml` sets no `act.allow`, every loaded policy that no entry names keeps
 * running any action kind (as without an allowlist), so one pack's allowlist does not silence the
 * others. Every section is validated per file by the module that owns it, so an error names the
 * file and the key (`packs/cost/settings.yaml: ladder.policies.x.graceBusinessDays must be …`).
 */
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { basename, dirname, join, resolve } from "node:path";
import { parse as parseYaml } from "yaml";
import { VigilError, isVigilError } from "../core/errors.js";
import type { VigilConfig } from "../config.js";
import { resolveContextSettings, type ContextSettingsInput } from "../context/index.js";
import { defaultResidencySettings, resolveResidencySettings, type ResidencySettings } from "../context/residency/index.js";
import { defaultSupplyChainSettings, resolveSupplyChainSettings, type SupplyChainSettings } from "../context/supply-chain/index.js";
import { validateGuardrails, type GuardrailConfig } from "../act/index.js";
import { resolveLadderSettings, type LadderSettings } from "../act/ladder-settings.js";
import { globMatch } from "../decide/exemptions.js";

export const PACK_SECTIONS = ["context", "act", "ladder", "residency", "supplyChain", "actuators"] as const;
export type PackSection = (typeof PACK_SECTIONS)[number];

/** Folders whose settings.yaml is one module's whole settings rather than sections. */
const WHOLE_FILE_FOLDERS: Readonly<Record<string, PackSection>> = { residency: "residency", "supply-chain": "supplyChain" };

export const PACK_SETTINGS_FILE = "settings.yaml";

type Json = Record<string, unknown>;

/** One pack's settings file, read and split into sections. */
export interface PackSettingsFile {
  readonly file: string;
  readonly sections: Partial<Record<PackSection, Json>>;
}

/** The configuration with the packs' settings merged in, and the parts only packs bring. */
export interface EffectiveSettings {
  /** Pack settings files used, in merge order. */
  readonly files: readonly string[];
  readonly context: ContextSettingsInput;
  readonly act: GuardrailConfig;
  readonly actuators: Json;
  /** Undefined when neither a pack nor vigil.yaml sets `ladder`: the ladder does not run. */
  readonly ladder?: LadderSettings;
  /** Undefined when neither a pack nor vigil.yaml sets `residency`: no residency enrichment. */
  readonly residency?: ResidencySettings;
  /** Undefined when neither a pack nor vigil.yaml sets `supplyChain`: no dependency enrichment. */
  readonly supplyChain?: { readonly settings: SupplyChainSettings; readonly github: { readonly token?: string; readonly baseUrl?: string } };
}

const isMap = (value: unknown): value is Json => value !== null && typeof value === "object" && !Array.isArray(value);

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

/** The pack settings files of the policy paths, in merge order (see the module comment). */
export function discoverPackSettings(policyPaths: readonly string[]): string[] {
  const found: string[] = [];
  const add = (dir: string): void => {
    const file = join(dir, PACK_SETTINGS_FILE);
    if (!found.includes(file) && existsSync(file)) found.push(file);
  };
  for (const path of policyPaths) {
    const dir = resolve(path);
    if (!isDirectory(dir)) continue;
    if (basename(dir) === "policies") add(dirname(dir));
    add(dir);
    let children: string[];
    try {
      children = readdirSync(dir).sort();
    } catch {
      continue;
    }
    for (const child of children) if (!child.startsWith(".") && isDirectory(join(dir, child))) add(join(dir, child));
  }
  return found;
}

/** Reads one settings file; VIGIL_BAD_CONFIG naming the file when it is not YAML or not sections. */
export function readPackSettings(file: string): PackSettingsFile {
  let raw: unknown;
  try {
    raw = parseYaml(readFileSync(file, "utf8"));
  } catch (cause) {
    throw new VigilError("VIGIL_BAD_CONFIG", `${file}: cannot read pack settings: ${(cause as Error).message.split("\n")[0]}`, { file }, cause);
  }
  if (raw === null || raw === undefined) return { file, sections: {} };
  if (!isMap(raw)) throw new VigilError("VIGIL_BAD_CONFIG", `${file}: pack settings must be a YAML mapping of sections (${PACK_SECTIONS.join(", ")})`, { file });
  const keys = Object.keys(raw);
  const unknown = keys.filter((k) => !(PACK_SECTIONS as readonly string[]).includes(k));
  if (unknown.length > 0) {
    const whole = WHOLE_FILE_FOLDERS[basename(dirname(file))];
    if (whole !== undefined) return { file, sections: { [whole]: raw } };
    throw new VigilError("VIGIL_BAD_CONFIG", `${file}: ${unknown.map((k) => `"${k}"`).join(", ")} ${unknown.length === 1 ? "is not a section" : "are not sections"} of pack settings; use ${PACK_SECTIONS.join(", ")} (a residency or supply-chain settings file keeps its own keys only in a folder named residency or supply-chain)`, { file, field: unknown[0] as string });
  }
  const sections: Partial<Record<PackSection, Json>> = {};
  for (const key of keys as PackSection[]) {
    const value = raw[key];
    if (value === null || value === undefined) continue;
    if (!isMap(value)) throw new VigilError("VIGIL_BAD_CONFIG", `${file}: ${key} must be a map of settings`, { file, field: key });
    sections[key] = value;
  }
  return { file, sections };
}

/** Runs a module's validation, renaming its errors after the file (or vigil.yaml) they came from. */
function validated<T>(origin: string, section: string, run: () => T): T {
  try {
    return run();
  } catch (error) {
    if (!isVigilError(error)) throw error;
    const message = error.message.startsWith(`${origin}:`) ? error.message : `${origin}: ${error.message}`;
    // Stage validators name guardrail fields `guardrails.*`; in a settings file that section is `act` (message and field alike).
    const actKey = (text: string): string => (section === "act" ? text.replace(/\bguardrails\./g, "act.") : text);
    const field = actKey(error.details.field ?? section);
    throw new VigilError("VIGIL_BAD_CONFIG", actKey(message), { ...error.details, file: origin, field }, error);
  }
}

interface Layer {
  readonly origin: string;
  readonly value: Json;
}

function equal(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/** Whether `own` sets the value at `path` (or a list or value above it). */
function setsPath(own: Json, path: readonly string[]): boolean {
  let node: unknown = own;
  for (const key of path) {
    if (!isMap(node) || !(key in node)) return false;
    node = node[key];
    if (!isMap(node)) return true;
  }
  return true;
}

/**
 * Deep merge of the packs' layers in order, then vigil.yaml's section over them. Maps merge;
 * anything else replaces. Packs that disagree on a key vigil.yaml does not set are an error.
 */
export function mergeSection(section: string, packs: readonly Layer[], own: Json): Json {
  const origins = new Map<string, string>();
  const conflicts: { path: string[]; first: string; second: string }[] = [];
  const into = (target: Json, value: Json, path: string[], origin: string | undefined): void => {
    for (const [key, item] of Object.entries(value)) {
      const at = [...path, key];
      const current = target[key];
      if (isMap(item) && (current === undefined || isMap(current))) {
        if (current === undefined) target[key] = {};
        into(target[key] as Json, item, at, origin);
        continue;
      }
      const id = at.join(".");
      if (origin !== undefined && current !== undefined && !equal(current, item)) conflicts.push({ path: at, first: origins.get(id) ?? "?", second: origin });
      target[key] = isMap(item) ? structuredClone(item) : Array.isArray(item) ? [...(item as unknown[])] : item;
      if (origin !== undefined) origins.set(id, origin);
    }
  };
  const merged: Json = {};
  for (const layer of packs) into(merged, layer.value, [], layer.origin);
  const conflict = conflicts.find((c) => !setsPath(own, c.path));
  if (conflict !== undefined) {
    const key = `${section}.${conflict.path.join(".")}`;
    throw new VigilError("VIGIL_BAD_CONFIG", `${key} is set differently by ${conflict.first} and ${conflict.second}; set it in vigil.yaml (which wins) or make the packs agree`, { field: key, file: conflict.second });
  }
  into(merged, own, [], undefined);
  return merged;
}

function layersOf(files: readonly PackSettingsFile[], section: PackSection): Layer[] {
  return files.flatMap((f) => (f.sections[section] === undefined ? [] : [{ origin: f.file, value: f.sections[section] as Json }]));
}

/**
 * A pack's allowlist restricts its own policies: while vigil.yaml sets no `act.allow`, every
 * loaded policy that no entry names may run any kind (`"*"`), as without an allowlist.
 */
function scopeAllowlist(act: Json, ownSetsAllow: boolean, policyNames: readonly string[]): Json {
  const allow = act["allow"];
  if (ownSetsAllow || !isMap(allow)) return act;
  const patterns = Object.keys(allow);
  const open = policyNames.filter((name) => !patterns.some((pattern) => globMatch(pattern, name)));
  if (open.length === 0) return act;
  return { ...act, allow: { ...allow, ...Object.fromEntries(open.map((name) => [name, ["*"]])) } };
}

/**
 * The effective settings of the agent: `config` (vigil.yaml) over the packs' settings files.
 * `policyNames` are the loaded policies (for the allowlist scoping). Throws VIGIL_BAD_CONFIG
 * naming the file and key of the first invalid setting.
 */
export function resolvePackSettings(config: Pick<VigilConfig, "policies" | "packs" | "context" | "act" | "actuators" | "ladder" | "residency" | "supplyChain">, policyNames: readonly string[] = []): EffectiveSettings {
  const paths = [...(config.packs.discover ? discoverPackSettings(config.policies) : []), ...config.packs.settings.map((p) => resolve(p))];
  const files = [...new Set(paths)].map(readPackSettings);
  const own = "vigil.yaml";

  // Each file's sections alone first, so a bad value is reported with the file that holds it.
  for (const f of files) {
    if (f.sections.context) validated(f.file, "context", () => resolveContextSettings(f.sections.context as ContextSettingsInput));
    if (f.sections.act) validated(f.file, "act", () => validateGuardrails(f.sections.act as GuardrailConfig));
    if (f.sections.ladder) validated(f.file, "ladder", () => resolveLadderSettings(f.sections.ladder));
  }
  validated(own, "context", () => resolveContextSettings(config.context as ContextSettingsInput));
  validated(own, "act", () => validateGuardrails(config.act as GuardrailConfig));

  const context = mergeSection("context", layersOf(files, "context"), config.context);
  validated(`${own} and pack settings`, "context", () => resolveContextSettings(context as ContextSettingsInput));
  const act = scopeAllowlist(mergeSection("act", layersOf(files, "act"), config.act), isMap(config.act["allow"]), policyNames);
  validated(`${own} and pack settings`, "act", () => validateGuardrails(act as GuardrailConfig));
  const actuators = mergeSection("actuators", layersOf(files, "actuators"), config.actuators);

  const ladderLayers = layersOf(files, "ladder");
  const ladder = ladderLayers.length > 0 || Object.keys(config.ladder).length > 0
    ? validated(ladderLayers.length > 0 ? `${own} and pack settings` : own, "ladder", () => resolveLadderSettings(mergeSection("ladder", ladderLayers, config.ladder)))
    : undefined;

  // Module settings: each layer over the previous one, validated by the module with its file.
  const residencyLayers = layersOf(files, "residency");
  let residency: ResidencySettings | undefined;
  if (residencyLayers.length > 0 || Object.keys(config.residency).length > 0) {
    let current: ResidencySettings = defaultResidencySettings;
    for (const layer of residencyLayers) {
      const base: ResidencySettings = current;
      current = validated(layer.origin, "residency", () => resolveResidencySettings(layer.value, { base }));
    }
    const base: ResidencySettings = current;
    residency = validated(own, "residency", () => resolveResidencySettings(config.residency, { base }));
  }

  const supplyLayers = layersOf(files, "supplyChain");
  let supplyChain: EffectiveSettings["supplyChain"];
  if (supplyLayers.length > 0 || Object.keys(config.supplyChain).length > 0) {
    let settings: SupplyChainSettings = defaultSupplyChainSettings;
    for (const layer of supplyLayers) {
      const base: SupplyChainSettings = settings;
      settings = validated(layer.origin, "supplyChain", () => resolveSupplyChainSettings(layer.value, { base, baseDir: dirname(layer.origin) }));
    }
    const { github, ...rest } = config.supplyChain;
    const base: SupplyChainSettings = settings;
    settings = validated(own, "supplyChain", () => resolveSupplyChainSettings(rest, { base }));
    supplyChain = { settings, github: githubAccess(github, actuators["github"]) };
  }

  return {
    files: files.map((f) => f.file),
    context: context as ContextSettingsInput,
    act: act as GuardrailConfig,
    actuators,
    ...(ladder ? { ladder } : {}),
    ...(residency ? { residency } : {}),
    ...(supplyChain ? { supplyChain } : {}),
  };
}

/** `supplyChain.github`, else the GitHub actuator's token and API root. */
function githubAccess(own: unknown, actuator: unknown): { token?: string; baseUrl?: string } {
  if (own !== undefined && !isMap(own)) throw new VigilError("VIGIL_BAD_CONFIG", "vigil.yaml: supplyChain.github must be a map {token, baseUrl}", { field: "supplyChain.github", file: "vigil.yaml" });
  const pick = (from: unknown, key: string): string | undefined => (isMap(from) && typeof from[key] === "string" && from[key] !== "" ? (from[key] as string) : undefined);
  for (const key of Object.keys(own ?? {})) {
    if (key !== "token" && key !== "baseUrl") throw new VigilError("VIGIL_BAD_CONFIG", `vigil.yaml: supplyChain.github.${key} is not a setting; use token or baseUrl`, { field: `supplyChain.github.${key}`, file: "vigil.yaml" });
  }
  const token = pick(own, "token") ?? pick(actuator, "token");
  const baseUrl = pick(own, "baseUrl") ?? pick(actuator, "baseUrl");
  return { ...(token ? { token } : {}), ...(baseUrl ? { baseUrl } : {}) };
}
