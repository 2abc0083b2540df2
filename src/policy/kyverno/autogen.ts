/**
 * Kyverno auto-generation of Pod rules for pod controllers: a rule that matches only Pods gets
 * `autogen-<rule>` (Deployment, DaemonSet, StatefulSet, Job, ReplicaSet, ReplicationController;
 * pattern under `spec.template`) and `autogen-cronjob-<rule>` (CronJob; under
 * `spec.jobTemplate.spec.template`), as Kyverno does unless the
 * `pod-policies.kyverno.io/autogen-controllers` annotation says otherwise.
 */
type Json = Record<string, unknown>;

const defaultControllers = ["DaemonSet", "Deployment", "Job", "StatefulSet", "ReplicaSet", "ReplicationController", "CronJob"];

function isObject(value: unknown): value is Json {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

function descriptions(block: unknown): Json[] {
  if (!isObject(block)) return [];
  const out: Json[] = [];
  for (const f of [...(Array.isArray(block["any"]) ? block["any"] : []), ...(Array.isArray(block["all"]) ? block["all"] : []), block]) {
    if (isObject(f) && isObject(f["resources"])) out.push(f["resources"]);
  }
  return out;
}

function canAutogen(rule: Json): boolean {
  const match = descriptions(rule["match"]);
  if (match.length === 0) return false;
  let hasPod = false;
  for (const d of [...match, ...descriptions(rule["exclude"])]) {
    if ((typeof d["name"] === "string" && d["name"] !== "") || Array.isArray(d["names"]) && d["names"].length > 0 || d["selector"] !== undefined || d["annotations"] !== undefined) return false;
    const kinds = Array.isArray(d["kinds"]) ? d["kinds"].map(String) : [];
    if (kinds.some((k) => k !== "Pod")) return false;
    if (kinds.includes("Pod")) hasPod = true;
  }
  if (!hasPod) return false;
  if (rule["generate"] !== undefined) return false;
  // verifyImages rules carry over unchanged: images are read from pod templates as from pods.
  if (Array.isArray(rule["verifyImages"])) return true;
  const mutate = rule["mutate"];
  if (isObject(mutate)) {
    // Kyverno does not rewrite JSON patches (their paths name Pod fields) nor mutate.targets.
    if (typeof mutate["patchesJson6902"] === "string" && mutate["patchesJson6902"] !== "") return false;
    return !(Array.isArray(mutate["targets"]) && mutate["targets"].length > 0);
  }
  return isObject(rule["validate"]);
}

function replaceKinds(block: unknown, kinds: readonly string[]): unknown {
  if (!isObject(block)) return block;
  const mapFilter = (f: unknown): unknown => {
    if (!isObject(f) || !isObject(f["resources"])) return f;
    const resources = { ...f["resources"] };
    if (Array.isArray(resources["kinds"])) resources["kinds"] = [...kinds];
    return { ...f, resources };
  };
  const out: Json = { ...(mapFilter(block) as Json) };
  if (Array.isArray(block["any"])) out["any"] = block["any"].map(mapFilter);
  if (Array.isArray(block["all"])) out["all"] = block["all"].map(mapFilter);
  return out;
}

function rewriteJmes(value: unknown, cron: boolean): unknown {
  const spec = cron ? "spec.jobTemplate.spec.template.spec" : "spec.template.spec";
  const meta = cron ? "spec.jobTemplate.spec.template.metadata" : "spec.template.metadata";
  const text = JSON.stringify(value)
    .replace(/request\.object\.spec\b/g, `request.object.${spec}`)
    .replace(/request\.oldObject\.spec\b/g, `request.oldObject.${spec}`)
    .replace(/request\.object\.metadata\b/g, `request.object.${meta}`)
    .replace(/request\.oldObject\.metadata\b/g, `request.oldObject.${meta}`);
  return JSON.parse(text) as unknown;
}

function rewriteCel(value: unknown, cron: boolean): unknown {
  const spec = cron ? "spec.jobTemplate.spec.template.spec" : "spec.template.spec";
  const meta = cron ? "spec.jobTemplate.spec.template.metadata" : "spec.template.metadata";
  const text = JSON.stringify(value)
    .replace(/(^|[^.\w])(object|oldObject)\.spec\b/g, `$1$2.${spec}`)
    .replace(/(^|[^.\w])(object|oldObject)\.metadata\b/g, `$1$2.${meta}`);
  return JSON.parse(text) as unknown;
}

function wrapPattern(pattern: unknown, cron: boolean): unknown {
  const template = { spec: { template: pattern } };
  return cron ? { spec: { jobTemplate: template } } : template;
}

/** A mutate block for the controller: strategic-merge overlays (also per foreach entry) go under the pod template. */
function generateMutate(mutate: Json, cron: boolean): Json {
  const out: Json = { ...mutate };
  if (mutate["patchStrategicMerge"] !== undefined) out["patchStrategicMerge"] = wrapPattern(mutate["patchStrategicMerge"], cron);
  if (Array.isArray(mutate["foreach"])) out["foreach"] = mutate["foreach"].map((f) => (isObject(f) && f["patchStrategicMerge"] !== undefined ? { ...f, patchStrategicMerge: wrapPattern(f["patchStrategicMerge"], cron) } : f));
  return out;
}

function generate(rule: Json, name: string, kinds: readonly string[], cron: boolean): Json {
  if (Array.isArray(rule["verifyImages"])) {
    const { match, exclude, ...rest } = rule;
    const out = rewriteJmes(rest, cron) as Json;
    out["name"] = name;
    out["match"] = replaceKinds(match, kinds);
    if (exclude !== undefined) out["exclude"] = replaceKinds(exclude, kinds);
    out["autogen"] = true;
    return out;
  }
  if (isObject(rule["mutate"])) {
    const { mutate, match, exclude, ...rest } = rule;
    const out = rewriteJmes({ ...rest, mutate: generateMutate(mutate as Json, cron) }, cron) as Json;
    out["name"] = name;
    out["match"] = replaceKinds(match, kinds);
    if (exclude !== undefined) out["exclude"] = replaceKinds(exclude, kinds);
    out["autogen"] = true;
    return out;
  }
  const { validate: rawValidate, match, exclude, ...rest } = rule;
  const validate = { ...(rawValidate as Json) };
  const cel = validate["cel"];
  delete validate["cel"];
  if (validate["pattern"] !== undefined) validate["pattern"] = wrapPattern(validate["pattern"], cron);
  if (Array.isArray(validate["anyPattern"])) validate["anyPattern"] = validate["anyPattern"].map((p) => wrapPattern(p, cron));
  const { celPreconditions, ...others } = rest;
  const out = rewriteJmes({ ...others, validate }, cron) as Json;
  if (cel !== undefined) (out["validate"] as Json)["cel"] = rewriteCel(cel, cron);
  if (celPreconditions !== undefined) out["celPreconditions"] = rewriteCel(celPreconditions, cron);
  out["name"] = name;
  out["match"] = replaceKinds(match, kinds);
  if (exclude !== undefined) out["exclude"] = replaceKinds(exclude, kinds);
  out["autogen"] = true;
  return out;
}

/** The rules of a policy plus the auto-generated controller rules, in Kyverno's order. */
export function withAutogenRules(rules: readonly Json[], annotations: Readonly<Record<string, string>>): Json[] {
  const setting = annotations["pod-policies.kyverno.io/autogen-controllers"];
  if (setting !== undefined && setting.trim().toLowerCase() === "none") return [...rules];
  const controllers = setting === undefined ? defaultControllers : setting.split(",").map((s) => s.trim()).filter(Boolean);
  const plain = controllers.filter((c) => c !== "CronJob");
  const cron = controllers.includes("CronJob");
  const out: Json[] = [...rules];
  const generatedPlain: Json[] = [];
  const generatedCron: Json[] = [];
  for (const rule of rules) {
    if (!canAutogen(rule)) continue;
    const name = String(rule["name"] ?? "");
    if (plain.length > 0) generatedPlain.push(generate(rule, `autogen-${name}`, plain, false));
    if (cron) generatedCron.push(generate(rule, `autogen-cronjob-${name}`, ["CronJob"], true));
  }
  return [...out, ...generatedPlain, ...generatedCron];
}
