/**
 * Exceptions: standing permissions not to enforce, with a justification, an optional ticket and
 * legal basis, and an expiry that is required and bounded. Matching happens in decide/
 * (applyExemptions) on every path; this module creates, revokes and lists them.
 */
import { canonicalJson } from "../core/canonical-json.js";
import { VigilError } from "../core/errors.js";
import type { PolicyException } from "../core/review.js";
import { requireRole, type Actor } from "../act/actor.js";
import { conditionResultType } from "../decide/condition-type.js";
import { exceptionActive } from "../decide/exemptions.js";
import { didYouMean } from "../policy/vigil/suggest.js";
import { EXCEPTIONS_COLLECTION, instantMs, nowIso, refuseAgent, type ReviewDeps } from "./context.js";
import { putWithNextId } from "./ids.js";

/**
 * What a caller gives to create an exception: its fields in core's PolicyException without id,
 * author, time and revocation. `expiresAt` must be in the future and at most `maxExceptionDays`
 * (default 90) away.
 */
export type ExceptionInput = Pick<PolicyException, "policies" | "rules" | "when" | "subjects" | "justification" | "ticket" | "legalBasis" | "expiresAt">;

export interface ExceptionApi {
  /** Creates an exception (approver or admin); throws VIGIL_BAD_INPUT naming the field when invalid. */
  create(input: ExceptionInput, actor: Actor): Promise<PolicyException>;
  /**
   * Imports an exception from an existing register (a scenario setup, another system) under its own
   * id (approver or admin): validated as `create` validates, except that the expiry is not bounded
   * by `maxExceptionDays` (the register's expiry stands; it must still be in the future). A given
   * `createdAt` must be an RFC 3339 time with its offset (VIGIL_BAD_INPUT otherwise); one still to
   * come is not kept (the import time is recorded).
   * Idempotent: importing the same exception again returns the stored one; a different exception
   * under an existing id is VIGIL_CONFLICT.
   */
  import(input: ExceptionInput & { readonly id: string; readonly createdBy?: string; readonly createdAt?: string }, actor: Actor): Promise<PolicyException>;
  /** Revokes it now (approver or admin); it stops applying immediately. */
  revoke(id: string, actor: Actor, reason: string): Promise<PolicyException>;
  get(id: string): Promise<PolicyException | undefined>;
  /** All, or only those in force now (`active: true`) or not (`active: false`). */
  list(query?: { readonly active?: boolean }): Promise<PolicyException[]>;
  /** The exceptions in force now: what the decider takes. */
  active(): Promise<PolicyException[]>;
}

const DAY_MS = 86_400_000;

/** What create takes; import takes these and the register's id, author and creation time. */
const INPUT_FIELDS: readonly string[] = ["policies", "rules", "when", "subjects", "justification", "ticket", "legalBasis", "expiresAt"];
const IMPORT_FIELDS: readonly string[] = [...INPUT_FIELDS, "id", "createdBy", "createdAt"];

/**
 * A field the service does not know is refused, not dropped: a `subject` typo dropped would leave
 * the exception covering every subject. The HTTP schema says so too, but a setup file reaches
 * `import` directly (vigil replay --setup, vigil setup import --direct).
 */
function refuseUnknownFields(input: unknown, known: readonly string[]): void {
  if (input === null || typeof input !== "object" || Array.isArray(input)) throw bad("exception", `must be an object with ${known.slice(0, 8).join(", ")}, got ${JSON.stringify(input)}`);
  for (const key of Object.keys(input)) {
    if (known.includes(key)) continue;
    if (key === "revokedAt") throw bad("revokedAt", "is not taken: a revoked exception is not imported (it would be in force again); leave it out of the register");
    throw new VigilError("VIGIL_BAD_INPUT", `${key} is not a field of an exception${didYouMean(key, known)}; the fields are ${known.join(", ")}`, { field: key });
  }
}

function bad(field: string, message: string): VigilError {
  return new VigilError("VIGIL_BAD_INPUT", `${field} ${message}`, { field });
}

function stringList(value: unknown, field: string, required: boolean): string[] | undefined {
  if (value === undefined && !required) return undefined;
  if (!Array.isArray(value) || value.length === 0 || value.some((v) => typeof v !== "string" || v.trim() === "")) {
    // An empty optional list would read as "unrestricted": say so rather than widen the exception.
    throw bad(field, `must be a non-empty list of non-empty strings${required ? "" : ` (leave ${field} out to cover every one)`}`);
  }
  // Names and globs are compared exactly: "low-risk " would never match a policy, silently.
  const padded = (value as string[]).find((v) => v.trim() !== v);
  if (padded !== undefined) throw bad(field, `entry ${JSON.stringify(padded)} has spaces around it, so it would never match; write ${JSON.stringify(padded.trim())}`);
  return value as string[];
}

/**
 * The register's creation time of an imported exception, as the instant it names; undefined (the
 * import time is recorded) for a time still to come — as the Kubernetes API server ignores a
 * client's creationTimestamp: nothing is recorded as created after it was stored (a replay
 * imports a setup whose register entries date from later in the stream). A time without an
 * offset means another instant on each machine: refused.
 */
function createdAtOf(value: unknown, nowMs: number): string | undefined {
  const ms = typeof value === "string" ? instantMs(value) : Number.NaN;
  if (Number.isNaN(ms)) throw bad("createdAt", `${JSON.stringify(value)} is not an RFC 3339 time with its offset, like 2025-01-10T09:00:00Z; leave createdAt out to record the import time`);
  return ms > nowMs ? undefined : new Date(ms).toISOString();
}

export function createExceptionApi(deps: ReviewDeps): ExceptionApi {
  async function load(id: string): Promise<{ value: PolicyException; version: number }> {
    const doc = await deps.storage.getDoc<PolicyException>(EXCEPTIONS_COLLECTION, id);
    if (doc === undefined) throw new VigilError("VIGIL_NOT_FOUND", `exception ${id} does not exist`, { field: "id" });
    return doc;
  }
  /** What create and import validate; `bounded`: the expiry may be at most maxExceptionDays away. */
  function check(input: ExceptionInput, bounded: boolean): Omit<PolicyException, "id" | "createdBy" | "createdAt"> {
    const now = deps.clock.now().getTime();
    const policies = stringList(input.policies, "policies", true) as string[];
    const rules = stringList(input.rules, "rules", false);
    const subjects = stringList(input.subjects, "subjects", false);
    // Anything else is read as a glob over the subject, which "label:team" would never match.
    // A prefix spelt otherwise (Label:, labels:, TAG:) is no selector either: it would be read as a glob too.
    const selector = subjects?.find((s) => /^(labels?|tags?):/i.test(s) && !/^(label|tag):[^=\s][^=]*=/.test(s));
    if (selector !== undefined) throw bad("subjects", `${JSON.stringify(selector)} is not a selector: write label:key=value or tag:key=value (the value may be a glob)`);
    if (typeof input.justification !== "string" || input.justification.trim().length < 10) throw bad("justification", "is required: say why, in at least 10 characters");
    if (input.ticket !== undefined && (typeof input.ticket !== "string" || input.ticket.trim() === "")) throw bad("ticket", "must be a ticket link or key when given");
    if (input.legalBasis !== undefined && (typeof input.legalBasis !== "string" || input.legalBasis.trim() === "")) throw bad("legalBasis", "must be a non-empty string when given");
    if (typeof input.expiresAt !== "string") throw bad("expiresAt", "is required: exceptions always expire (RFC 3339, e.g. 2025-06-30T00:00:00Z)");
    const expires = instantMs(input.expiresAt);
    const maxDays = deps.settings.maxExceptionDays ?? 90;
    if (Number.isNaN(expires)) throw bad("expiresAt", `"${input.expiresAt}" is not an RFC 3339 time with its offset, like 2025-06-30T00:00:00Z`);
    if (expires <= now) throw bad("expiresAt", `(${input.expiresAt}) is not in the future`);
    if (bounded && expires > now + maxDays * DAY_MS) throw bad("expiresAt", `(${input.expiresAt}) is more than ${maxDays} days away; exceptions are bounded — renew it when it expires`);
    if (input.when !== undefined) {
      if (typeof input.when !== "string" || input.when.trim() === "") throw bad("when", "must be a CEL expression when given");
      const program = deps.conditions.compile(input.when, "when");
      if (program instanceof VigilError) throw new VigilError("VIGIL_BAD_INPUT", `when: ${program.message}`, { field: "when", ...(program.details.hint ? { hint: program.details.hint } : {}) }, program);
      // A `when` that is never true or false would never apply, silently: refuse it while a person is there to fix it.
      const type = conditionResultType(input.when);
      if (type !== "bool" && type !== "dyn") {
        throw bad("when", `must be a boolean condition: ${JSON.stringify(input.when)} is ${/^[aeiou]/.test(type) ? "an" : "a"} ${type}, so the exception would never apply; leave when out to apply wherever the other scopes match, or write a comparison such as resource.name == "web"`);
      }
    }
    return {
      policies,
      ...(rules ? { rules } : {}), ...(input.when ? { when: input.when } : {}), ...(subjects ? { subjects } : {}),
      justification: input.justification.trim(),
      ...(input.ticket ? { ticket: input.ticket.trim() } : {}), ...(input.legalBasis ? { legalBasis: input.legalBasis.trim() } : {}),
      expiresAt: new Date(expires).toISOString(),
    };
  }
  const api: ExceptionApi = {
    async create(input, actor) {
      requireRole(actor, ["approver"], "create an exception");
      refuseAgent(actor, "create an exception");
      refuseUnknownFields(input, INPUT_FIELDS);
      const checked = check(input, true);
      const at = nowIso(deps);
      const exception: PolicyException = await putWithNextId(deps.storage, EXCEPTIONS_COLLECTION, "EX", at, (id) => ({ id, ...checked, createdBy: actor.id, createdAt: at }));
      await deps.storage.appendAudit([{ at, actor: actor.id, action: "exception.create", target: exception.id, detail: { policies: exception.policies, expiresAt: exception.expiresAt, justification: exception.justification, ...(exception.ticket ? { ticket: exception.ticket } : {}) } }]);
      return exception;
    },

    async import(input, actor) {
      requireRole(actor, ["approver"], "import an exception");
      refuseAgent(actor, "import an exception");
      if (typeof input.id !== "string" || !/^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/.test(input.id)) throw bad("id", "must be the exception's id in its register: letters, digits, . _ : - (at most 128)");
      refuseUnknownFields(input, IMPORT_FIELDS);
      const checked = check(input, false);
      const at = nowIso(deps);
      const givenAt = input.createdAt === undefined ? undefined : createdAtOf(input.createdAt, Date.parse(at));
      const givenBy = typeof input.createdBy === "string" && input.createdBy.trim() !== "" ? input.createdBy.trim() : undefined;
      const exception: PolicyException = { id: input.id, ...checked, createdBy: givenBy ?? actor.id, createdAt: givenAt ?? at };
      const existing = await deps.storage.getDoc<PolicyException>(EXCEPTIONS_COLLECTION, input.id);
      if (existing !== undefined) {
        // The same exception: same content, whatever the key order the store keeps (PostgreSQL
        // jsonb reorders keys) and, when the register does not say when and by whom, whenever and
        // by whomever it was imported first.
        const same = { ...exception, createdBy: givenBy ?? existing.value.createdBy, createdAt: givenAt ?? existing.value.createdAt };
        if (canonicalJson(existing.value) === canonicalJson(same)) return existing.value;
        const { revokedAt, ...unrevoked } = existing.value;
        if (revokedAt !== undefined && canonicalJson(unrevoked) === canonicalJson(same)) {
          throw new VigilError("VIGIL_CONFLICT", `exception ${input.id} was revoked at ${revokedAt}; a revoked exception stays revoked: import it under another id to put it in force again`, { field: "id" });
        }
        throw new VigilError("VIGIL_CONFLICT", `exception ${input.id} already exists with other content; revoke it or import under another id`, { field: "id" });
      }
      await deps.storage.putDocs([{ collection: EXCEPTIONS_COLLECTION, id: exception.id, value: exception, expectVersion: 0 }], at);
      await deps.storage.appendAudit([{ at, actor: actor.id, action: "exception.import", target: exception.id, detail: { policies: exception.policies, expiresAt: exception.expiresAt, justification: exception.justification, createdBy: exception.createdBy, ...(exception.ticket ? { ticket: exception.ticket } : {}) } }]);
      return exception;
    },

    async revoke(id, actor, reason) {
      requireRole(actor, ["approver"], `revoke exception ${id}`);
      refuseAgent(actor, `revoke exception ${id}`);
      if (typeof reason !== "string" || reason.trim() === "") throw bad("reason", "is required to revoke an exception");
      const { value, version } = await load(id);
      if (value.revokedAt !== undefined) throw new VigilError("VIGIL_CONFLICT", `exception ${id} was already revoked at ${value.revokedAt}`, { field: "id" });
      const at = nowIso(deps);
      const revoked: PolicyException = { ...value, revokedAt: at };
      await deps.storage.putDocs([{ collection: EXCEPTIONS_COLLECTION, id, value: revoked, expectVersion: version }], at);
      await deps.storage.appendAudit([{ at, actor: actor.id, action: "exception.revoke", target: id, detail: { reason } }]);
      return revoked;
    },

    async get(id) {
      return (await deps.storage.getDoc<PolicyException>(EXCEPTIONS_COLLECTION, id))?.value;
    },

    async list(query = {}) {
      const all = (await deps.storage.listDocs<PolicyException>(EXCEPTIONS_COLLECTION)).map((d) => d.value);
      if (query.active === undefined) return all;
      const now = nowIso(deps);
      return all.filter((e) => exceptionActive(e, now) === query.active);
    },

    active: () => api.list({ active: true }),
  };
  return api;
}
