/**
 * The one error type of Vigil. `code` is stable (clients may switch on it); `message` names
 * the field and the fix. HTTP status mapping lives in one place (server/errors.ts).
 */
export type VigilErrorCode =
  | "VIGIL_BAD_INPUT"
  | "VIGIL_BAD_EVENT"
  | "VIGIL_BAD_CONFIG"
  | "VIGIL_POLICY_LOAD"
  | "VIGIL_POLICY_COMPILE"
  | "VIGIL_POLICY_UNSUPPORTED"
  | "VIGIL_CEL_COST"
  | "VIGIL_NOT_FOUND"
  | "VIGIL_CONFLICT"
  | "VIGIL_UNAUTHENTICATED"
  | "VIGIL_FORBIDDEN"
  | "VIGIL_BACKPRESSURE"
  | "VIGIL_KILL_SWITCH"
  | "VIGIL_GUARDRAIL"
  | "VIGIL_ACTUATOR"
  | "VIGIL_STORAGE"
  | "VIGIL_AUDIT_CHAIN"
  | "VIGIL_LEARNED_STATE"
  | "VIGIL_INTERNAL";

export interface VigilErrorDetails {
  /** Where the problem is: a JSON path (`spec.rules[0].condition`), a CLI flag, an HTTP field. */
  readonly field?: string;
  /** File the problem was found in, when it came from a file. */
  readonly file?: string;
  /** 1-based line and column in that file, when known. */
  readonly line?: number;
  readonly column?: number;
  /** Policy name, when the problem belongs to one. */
  readonly policy?: string;
  /** Anything else worth showing (e.g. a "did you mean" suggestion). */
  readonly hint?: string;
}

export class VigilError extends Error {
  override readonly name = "VigilError";
  readonly code: VigilErrorCode;
  readonly details: VigilErrorDetails;

  constructor(code: VigilErrorCode, message: string, details: VigilErrorDetails = {}, cause?: unknown) {
    super(message, cause === undefined ? undefined : { cause });
    this.code = code;
    this.details = details;
  }

  /** A JSON shape for APIs and `--output json`. */
  toJSON(): { code: VigilErrorCode; message: string } & VigilErrorDetails {
    return { code: this.code, message: this.message, ...this.details };
  }
}

export function isVigilError(value: unknown): value is VigilError {
  return value instanceof VigilError;
}

/** Wraps anything thrown into a VigilError without losing the original. */
export function toVigilError(value: unknown, code: VigilErrorCode = "VIGIL_INTERNAL"): VigilError {
  if (value instanceof VigilError) return value;
  const message = value instanceof Error ? value.message : String(value);
  return new VigilError(code, message, {}, value);
}
