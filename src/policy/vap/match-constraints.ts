/**
 * Kubernetes admission `matchConstraints` / `matchResources`: resourceRules (apiGroups,
 * apiVersions, resources incl. `pods/status` and `*`, operations), excludeResourceRules,
 * namespaceSelector and objectSelector. Kinds map to resources with the built-in table below
 * (lower-case plural otherwise). Never throws.
 */

export interface MatchTarget {
  readonly group: string;
  readonly version: string;
  readonly kind: string;
  /** The resource (plural) when the request names it (AdmissionRequest.resource); else derived from `kind`. */
  readonly resource?: string;
  readonly subResource: string;
  readonly operation: string;
  readonly labels: Readonly<Record<string, string>>;
  /** Labels of the oldObject when the request has both an object and an oldObject (UPDATE): objectSelector matches either. */
  readonly oldLabels?: Readonly<Record<string, string>>;
  /** Labels of the object's namespace, when known. */
  readonly namespaceLabels?: Readonly<Record<string, string>>;
  readonly namespace: string;
  readonly name: string;
}

const irregular: Readonly<Record<string, string>> = {
  Endpoints: "endpoints",
  PodSecurityPolicy: "podsecuritypolicies",
  NetworkPolicy: "networkpolicies",
  Ingress: "ingresses",
  IngressClass: "ingressclasses",
  StorageClass: "storageclasses",
  PriorityClass: "priorityclasses",
  RuntimeClass: "runtimeclasses",
  IPAddress: "ipaddresses",
};

/** `Deployment` → `deployments`, `NetworkPolicy` → `networkpolicies`, `Ingress` → `ingresses`. */
export function resourceForKind(kind: string): string {
  const known = irregular[kind];
  if (known) return known;
  const lower = kind.toLowerCase();
  if (/[^aeiou]y$/.test(lower)) return `${lower.slice(0, -1)}ies`;
  if (/(s|x|z|ch|sh)$/.test(lower)) return `${lower}es`;
  return `${lower}s`;
}

type Json = Record<string, unknown>;

function isObject(value: unknown): value is Json {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

function strings(value: unknown): string[] {
  return Array.isArray(value) ? value.map(String) : [];
}

function listMatches(list: readonly string[], value: string): boolean {
  return list.includes("*") || list.includes(value);
}

/** True when the target is a core v1 Namespace (resource `namespaces`). */
export function isNamespaceResource(target: MatchTarget): boolean {
  return target.group === "" && target.version === "v1" && (target.resource ?? resourceForKind(target.kind)) === "namespaces";
}

const admissionPolicyResources = new Set(["validatingadmissionpolicies", "validatingadmissionpolicybindings", "mutatingadmissionpolicies", "mutatingadmissionpolicybindings"]);

/**
 * True for the admission policies and their bindings (admissionregistration.k8s.io), which the
 * API server never sends through ValidatingAdmissionPolicies or MutatingAdmissionPolicies (a
 * policy could otherwise lock itself in).
 */
export function isAdmissionPolicyResource(target: MatchTarget): boolean {
  return target.group === "admissionregistration.k8s.io" && admissionPolicyResources.has(target.resource ?? resourceForKind(target.kind));
}

function ruleMatches(rule: Json, target: MatchTarget): boolean {
  if (!listMatches(strings(rule["apiGroups"]), target.group)) return false;
  if (!listMatches(strings(rule["apiVersions"]), target.version)) return false;
  const operations = strings(rule["operations"]);
  if (operations.length > 0 && !listMatches(operations, target.operation)) return false;
  const resource = target.resource ?? resourceForKind(target.kind);
  // As the API server's rule matcher: `res/sub` matches when each part is `*` or equal, a missing
  // part is "" (so `*` is no subresource, and `pods/*` is pods itself and all its subresources).
  const ok = strings(rule["resources"]).some((r) => {
    const slash = r.indexOf("/");
    const res = slash < 0 ? r : r.slice(0, slash);
    const sub = slash < 0 ? "" : r.slice(slash + 1);
    return (res === "*" || res === resource) && (sub === "*" || sub === target.subResource);
  });
  if (!ok) return false;
  const names = strings(rule["resourceNames"]);
  if (names.length > 0 && !names.includes(target.name)) return false;
  // A Namespace is cluster-scoped, though the API server gives its request the namespace's own name as namespace.
  const clusterScoped = target.namespace === "" || isNamespaceResource(target);
  const scope = rule["scope"];
  if (scope === "Namespaced" && clusterScoped) return false;
  if (scope === "Cluster" && !clusterScoped) return false;
  return true;
}

/**
 * A label selector as a `labelSelector` query (metav1.LabelSelectorAsSelector's text): `k=v`,
 * `k in (a,b)`, `k notin (a,b)`, `k`, `!k`. An empty selector selects everything: "".
 */
export function selectorQuery(selector: Json): string {
  const terms: string[] = [];
  for (const [key, value] of Object.entries(isObject(selector["matchLabels"]) ? selector["matchLabels"] : {})) terms.push(`${key}=${String(value)}`);
  for (const e of Array.isArray(selector["matchExpressions"]) ? selector["matchExpressions"].filter(isObject) : []) {
    const key = String(e["key"] ?? "");
    const values = Array.isArray(e["values"]) ? e["values"].map(String) : [];
    if (e["operator"] === "In") terms.push(`${key} in (${values.join(",")})`);
    else if (e["operator"] === "NotIn") terms.push(`${key} notin (${values.join(",")})`);
    else if (e["operator"] === "Exists") terms.push(key);
    else if (e["operator"] === "DoesNotExist") terms.push(`!${key}`);
  }
  return terms.join(",");
}

/** A Kubernetes LabelSelector (matchLabels + matchExpressions). */
export function labelSelectorMatches(selector: unknown, labels: Readonly<Record<string, string>>): boolean {
  if (!isObject(selector)) return true;
  const matchLabels = isObject(selector["matchLabels"]) ? selector["matchLabels"] : {};
  for (const [k, v] of Object.entries(matchLabels)) if (labels[k] !== String(v)) return false;
  const expressions = Array.isArray(selector["matchExpressions"]) ? selector["matchExpressions"].filter(isObject) : [];
  for (const e of expressions) {
    const key = String(e["key"] ?? "");
    const values = strings(e["values"]);
    const has = Object.prototype.hasOwnProperty.call(labels, key);
    if (e["operator"] === "In" && !(has && values.includes(labels[key] as string))) return false;
    if (e["operator"] === "NotIn" && has && values.includes(labels[key] as string)) return false;
    if (e["operator"] === "Exists" && !has) return false;
    if (e["operator"] === "DoesNotExist" && has) return false;
  }
  return true;
}

const requiredRuleLists = ["operations", "apiGroups", "apiVersions", "resources"] as const;

/**
 * The first problem the API server's validation finds in match resources: a resourceRules /
 * excludeResourceRules entry that lacks one of operations, apiGroups, apiVersions, resources
 * (each a non-empty list; without it a rule matches nothing or, for operations here, everything),
 * or a bad objectSelector / namespaceSelector expression. `prefix` is the field path of the match
 * resources, e.g. `spec.matchConstraints`. Undefined when there is none.
 */
export function matchResourcesProblem(constraints: unknown, prefix: string): { readonly field: string; readonly message: string } | undefined {
  if (!isObject(constraints)) return undefined;
  for (const list of ["resourceRules", "excludeResourceRules"] as const) {
    const rules = Array.isArray(constraints[list]) ? constraints[list] : [];
    for (const [index, rule] of rules.entries()) {
      const missing = requiredRuleLists.find((key) => !isObject(rule) || !Array.isArray(rule[key]) || rule[key].length === 0);
      if (missing === undefined) continue;
      const field = `${prefix}.${list}[${index}].${missing}`;
      const example = missing === "operations" ? '["CREATE", "UPDATE"] or ["*"]' : missing === "apiGroups" ? '[""] (core), ["apps"] or ["*"]' : missing === "apiVersions" ? '["v1"] or ["*"]' : '["pods"] or ["*"]';
      return { field, message: `${field} is required (the API server rejects a rule without it): list at least one, e.g. ${example}` };
    }
  }
  for (const name of ["objectSelector", "namespaceSelector"] as const) {
    const problem = selectorProblem(constraints[name], `${prefix}.${name}`);
    if (problem) return problem;
  }
  return undefined;
}

/**
 * A matchExpressions entry the API server's label selector validation rejects (an unknown
 * operator, In/NotIn without values, Exists/DoesNotExist with values): labelSelectorMatches would
 * otherwise ignore it and select more than was meant.
 */
export function selectorProblem(selector: unknown, prefix: string): { readonly field: string; readonly message: string } | undefined {
  if (!isObject(selector) || !Array.isArray(selector["matchExpressions"])) return undefined;
  for (const [index, e] of selector["matchExpressions"].entries()) {
    const at = `${prefix}.matchExpressions[${index}]`;
    const operator = isObject(e) ? e["operator"] : undefined;
    const values = isObject(e) && Array.isArray(e["values"]) ? e["values"] : [];
    if (operator !== "In" && operator !== "NotIn" && operator !== "Exists" && operator !== "DoesNotExist") {
      return { field: `${at}.operator`, message: `${at}.operator must be In, NotIn, Exists or DoesNotExist (case-sensitive), got ${JSON.stringify(operator)}` };
    }
    if ((operator === "In" || operator === "NotIn") && values.length === 0) {
      return { field: `${at}.values`, message: `${at}.values must list at least one value for operator ${operator}` };
    }
    if ((operator === "Exists" || operator === "DoesNotExist") && values.length > 0) {
      return { field: `${at}.values`, message: `${at}.values must be empty for operator ${operator}` };
    }
  }
  return undefined;
}

/** True when `matchConstraints` selects the target. */
export function matchConstraintsMatch(constraints: unknown, target: MatchTarget): boolean {
  if (!isObject(constraints)) return false;
  const rules = Array.isArray(constraints["resourceRules"]) ? constraints["resourceRules"].filter(isObject) : [];
  if (!rules.some((r) => ruleMatches(r, target))) return false;
  const excluded = Array.isArray(constraints["excludeResourceRules"]) ? constraints["excludeResourceRules"].filter(isObject) : [];
  if (excluded.some((r) => ruleMatches(r, target))) return false;
  if (constraints["objectSelector"] !== undefined && !labelSelectorMatches(constraints["objectSelector"], target.labels)
    && !(target.oldLabels !== undefined && labelSelectorMatches(constraints["objectSelector"], target.oldLabels))) return false;
  if (constraints["namespaceSelector"] !== undefined && isObject(constraints["namespaceSelector"]) && Object.keys(constraints["namespaceSelector"]).length > 0) {
    if (target.namespace === "" && target.kind !== "Namespace") return true;
    const labels = target.kind === "Namespace" ? target.labels : target.namespaceLabels ?? {};
    if (!labelSelectorMatches(constraints["namespaceSelector"], labels)) return false;
  }
  return true;
}

/** A binding's `matchResources` without `resourceRules` matches every resource (the API server's default). */
export function bindingMatchResources(matchResources: unknown): unknown {
  if (!isObject(matchResources) || Array.isArray(matchResources["resourceRules"])) return matchResources;
  return { ...matchResources, resourceRules: [{ apiGroups: ["*"], apiVersions: ["*"], resources: ["*", "*/*"], operations: ["*"] }] };
}
