/** `vigil reviews list|approve|deny` and `vigil exceptions add|list|revoke`, through the server's API. */
import { VigilError } from "../../core/errors.js";
import { stringList, stringOption, write, type Command } from "../command.js";
import { apiClient, serverOptions } from "../client.js";
import { outputFormat, outputOption, timeOption } from "../shared.js";

interface ReviewView { readonly id: string; readonly status: string; readonly policy: string; readonly decisionId: string; readonly summary: string; readonly level: number; readonly dueAt?: string; readonly createdAt: string; readonly actionIds: readonly string[] }

const reviewLine = (r: ReviewView): string => `${r.id}  ${r.status}  ${r.policy}  level ${r.level}${r.dueAt ? ` due ${r.dueAt}` : ""}  ${r.actionIds.length} action(s)  decision ${r.decisionId}\n    ${r.summary}`;

export const reviewsListCommand: Command = {
  path: ["reviews", "list"],
  summary: "List reviews (default: the open ones) with their decision's explanation summary",
  options: {
    ...serverOptions,
    ...outputOption,
    status: { type: "string", value: "<status>", description: "open (pending and escalated: the default), pending, escalated, approved, denied or expired", choices: ["open", "pending", "escalated", "approved", "denied", "expired"] },
    policy: { type: "string", value: "<name>", description: "Only this policy's reviews" },
  },
  examples: ["vigil reviews list", "vigil reviews list --status approved --output json"],
  async run(args, io) {
    const status = stringOption(args, "status");
    const policy = stringOption(args, "policy");
    const query = new URLSearchParams({ status: status ?? "open", ...(policy ? { policy } : {}) }).toString();
    const response = await apiClient(args, io).request<{ reviews: ReviewView[] }>("GET", `/v1/reviews?${query}`);
    if (outputFormat(args) === "json") write(io.stdout, JSON.stringify(response.body, null, 2));
    else if (response.body.reviews.length === 0) write(io.stdout, "no reviews");
    else for (const review of response.body.reviews) write(io.stdout, reviewLine(review));
    return 0;
  },
};

function answerCommand(word: "approve" | "deny"): Command {
  return {
    path: ["reviews", word],
    summary: word === "approve" ? "Approve a review: its actions run (approver role)" : "Deny a review: its actions do not run (approver role; reason required)",
    args: "<reviewId>",
    options: {
      ...serverOptions,
      ...outputOption,
      reason: { type: "string", value: "<text>", description: word === "approve" ? "Why (recorded)" : "Why (required; recorded as feedback)" },
      ...(word === "deny" ? { label: { type: "string" as const, value: "<label>", description: "Feedback label: false_positive (default), true_positive or incident" } } : {}),
    },
    examples: [`vigil reviews ${word} RV-12 --reason "${word === "approve" ? "confirmed with the bucket owner" : "bucket is a public website"}"`],
    async run(args, io) {
      const id = args.positionals[0];
      if (!id) throw new VigilError("VIGIL_BAD_INPUT", "missing <reviewId>: list them with `vigil reviews list`", { field: "reviewId" });
      const reason = stringOption(args, "reason");
      if (word === "deny" && !reason) throw new VigilError("VIGIL_BAD_INPUT", "--reason is required to deny a review", { field: "--reason" });
      const label = stringOption(args, "label");
      const response = await apiClient(args, io).request<{ review?: ReviewView; status?: string; id?: string } & Partial<ReviewView>>("POST", `/v1/reviews/${encodeURIComponent(id)}/${word}`, { body: { ...(reason ? { reason } : {}), ...(label ? { label } : {}) } });
      if (outputFormat(args) === "json") write(io.stdout, JSON.stringify(response.body, null, 2));
      else {
        const review = (response.body.review ?? response.body) as ReviewView;
        write(io.stdout, `${review.id}: ${review.status}`);
      }
      return 0;
    },
  };
}

export const reviewsApproveCommand = answerCommand("approve");
export const reviewsDenyCommand = answerCommand("deny");

interface ExceptionView { readonly id: string; readonly policies: readonly string[]; readonly rules?: readonly string[]; readonly subjects?: readonly string[]; readonly when?: string; readonly justification: string; readonly ticket?: string; readonly expiresAt: string; readonly revokedAt?: string; readonly createdBy: string }

const exceptionLine = (e: ExceptionView): string => `${e.id}  ${e.policies.join(",")}${e.rules ? `/${e.rules.join(",")}` : ""}${e.subjects ? `  subjects=${e.subjects.join(",")}` : ""}${e.when ? `  when ${e.when}` : ""}  expires ${e.expiresAt}${e.revokedAt ? `  REVOKED ${e.revokedAt}` : ""}  by ${e.createdBy}\n    ${e.justification}${e.ticket ? ` (${e.ticket})` : ""}`;

/** `30d`, `12h`, `90m` from now, or an RFC 3339 time. */
export function expiryFrom(value: string, now = Date.now()): string {
  const relative = /^(\d+)([dhm])$/.exec(value);
  if (relative) {
    const unit = { d: 86_400_000, h: 3_600_000, m: 60_000 }[relative[2] as "d" | "h" | "m"];
    return new Date(now + Number(relative[1]) * unit).toISOString();
  }
  const time = timeOption(value);
  if (Number.isNaN(Date.parse(time))) throw new VigilError("VIGIL_BAD_INPUT", `--expires must be an RFC 3339 time or a duration like 30d, 12h; got "${value}"`, { field: "--expires" });
  return time;
}

export const exceptionsAddCommand: Command = {
  path: ["exceptions", "add"],
  summary: "Add an exception: a standing permission not to enforce, with justification and expiry (approver role)",
  description: "Scope: --policy (globs), optionally --rule, --subject (globs, or label:key=value / tag:key=value) and --when (CEL over the same variables as policies). Exceptions always expire.",
  options: {
    ...serverOptions,
    ...outputOption,
    policy: { type: "string", multiple: true, value: "<name>", description: "Policy name or glob (repeatable)" },
    rule: { type: "string", multiple: true, value: "<rule>", description: "Only these rules (repeatable)" },
    subject: { type: "string", multiple: true, value: "<selector>", description: "Subject glob or label:key=value (repeatable)" },
    when: { type: "string", value: "<cel>", description: "CEL condition; the exception applies when it is true" },
    justification: { type: "string", value: "<text>", description: "Why (required)" },
    ticket: { type: "string", value: "<ref>", description: "Ticket link or key" },
    "legal-basis": { type: "string", value: "<text>", description: "Legal basis (data transfers)" },
    expires: { type: "string", value: "<when>", description: "RFC 3339 time or duration from now (30d, 12h); required" },
  },
  examples: ['vigil exceptions add --policy no-public-bucket --subject "arn:aws:s3:::www-*" --justification "static website" --ticket SEC-88 --expires 30d'],
  async run(args, io) {
    const policies = stringList(args, "policy");
    if (policies.length === 0) throw new VigilError("VIGIL_BAD_INPUT", "--policy is required (repeatable; globs allowed)", { field: "--policy" });
    const justification = stringOption(args, "justification");
    if (!justification) throw new VigilError("VIGIL_BAD_INPUT", "--justification is required", { field: "--justification" });
    const expires = stringOption(args, "expires");
    if (!expires) throw new VigilError("VIGIL_BAD_INPUT", "--expires is required: exceptions always expire (e.g. 30d)", { field: "--expires" });
    const rules = stringList(args, "rule");
    const subjects = stringList(args, "subject");
    const when = stringOption(args, "when");
    const ticket = stringOption(args, "ticket");
    const legalBasis = stringOption(args, "legal-basis");
    const body = { policies, justification, expiresAt: expiryFrom(expires), ...(rules.length ? { rules } : {}), ...(subjects.length ? { subjects } : {}), ...(when ? { when } : {}), ...(ticket ? { ticket } : {}), ...(legalBasis ? { legalBasis } : {}) };
    const response = await apiClient(args, io).request<ExceptionView>("POST", "/v1/exceptions", { body });
    write(io.stdout, outputFormat(args) === "json" ? JSON.stringify(response.body, null, 2) : `added ${exceptionLine(response.body)}`);
    return 0;
  },
};

export const exceptionsListCommand: Command = {
  path: ["exceptions", "list"],
  summary: "List exceptions (default: those in force)",
  options: { ...serverOptions, ...outputOption, all: { type: "boolean", description: "Include expired and revoked ones" } },
  examples: ["vigil exceptions list", "vigil exceptions list --all --output json"],
  async run(args, io) {
    const response = await apiClient(args, io).request<{ exceptions: ExceptionView[] }>("GET", `/v1/exceptions${args.values["all"] === true ? "" : "?active=true"}`);
    if (outputFormat(args) === "json") write(io.stdout, JSON.stringify(response.body, null, 2));
    else if (response.body.exceptions.length === 0) write(io.stdout, "no exceptions");
    else for (const exception of response.body.exceptions) write(io.stdout, exceptionLine(exception));
    return 0;
  },
};

export const exceptionsRevokeCommand: Command = {
  path: ["exceptions", "revoke"],
  summary: "Revoke an exception now (approver role; reason required)",
  args: "<exceptionId>",
  options: { ...serverOptions, ...outputOption, reason: { type: "string", value: "<text>", description: "Why (required)" } },
  examples: ['vigil exceptions revoke EX-4 --reason "website moved to CloudFront"'],
  async run(args, io) {
    const id = args.positionals[0];
    if (!id) throw new VigilError("VIGIL_BAD_INPUT", "missing <exceptionId>: list them with `vigil exceptions list`", { field: "exceptionId" });
    const reason = stringOption(args, "reason");
    if (!reason) throw new VigilError("VIGIL_BAD_INPUT", "--reason is required", { field: "--reason" });
    const response = await apiClient(args, io).request<ExceptionView>("POST", `/v1/exceptions/${encodeURIComponent(id)}/revoke`, { body: { reason } });
    write(io.stdout, outputFormat(args) === "json" ? JSON.stringify(response.body, null, 2) : `revoked ${exceptionLine(response.body)}`);
    return 0;
  },
};
