import type { ActionRecord } from "./records.js";

/** One explanation line for an action record, e.g. "aws.s3.block-public-access on bucket arn:aws:s3:::logs: applied". */
export function describeRecord(record: ActionRecord): string {
  const on = `${record.actuator} on ${record.plan.target.kind} ${record.plan.target.id}`;
  switch (record.status) {
    case "applied": return `${on}: applied (action ${record.id})`;
    case "dry-run": return `${on}: dry-run only — ${record.reason ?? record.plan.reason ?? "not promoted"}`;
    case "pending-approval": return `${on}: waiting for approval — ${record.reason ?? "approval required"}`;
    case "blocked": return `${on}: blocked — ${record.reason ?? "guardrail"}`;
    case "failed": return `${on}: failed — ${record.result?.error ?? record.reason ?? "unknown error"}`;
    case "skipped": return `${on}: skipped — ${record.reason ?? record.result?.error ?? "nothing to do"}`;
    case "undone": return `${on}: applied, then undone by ${record.undoneBy ?? "?"}`;
    case "planned": return `${on}: planned (not finished; never re-applied automatically)`;
  }
}
