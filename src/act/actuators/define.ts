import { VigilError, isVigilError } from "../../core/index.js";
import type { ActionPlan, ActionResult, Actuator, ActuatorApplyOptions } from "../../core/index.js";
import { validateParams } from "./params.js";
import type { ActionKindSpec, ActuatorRuntime } from "./types.js";

type Output = Record<string, unknown>;

/** An error answered by a remote API: the HTTP status and the API's own error code, when it has one. */
export class ActuatorApiError extends VigilError {
  readonly status: number | undefined;
  readonly apiCode: string | undefined;

  constructor(message: string, options: { status?: number; apiCode?: string; cause?: unknown } = {}) {
    super("VIGIL_ACTUATOR", message, {}, options.cause);
    this.status = options.status;
    this.apiCode = options.apiCode;
  }
}

export interface OperationContext {
  readonly signal?: AbortSignal;
}

/** The provider-specific part of an actuator; `defineActuator` adds validation, results and error capture. */
export interface ActuatorOperations {
  /** Cross-param checks the param specs cannot express; throws VigilError(VIGIL_BAD_INPUT). */
  checkParams?(params: Readonly<Record<string, unknown>>): void;
  /**
   * Read-only: what `apply` would do. May read remote state (the state undo would need) but must
   * never send a mutating request.
   */
  preview(plan: ActionPlan, context: OperationContext): Promise<Output>;
  /** Performs the mutation. `undo` is what `revert` needs; omit it when there is nothing to reverse. */
  apply(plan: ActionPlan, context: OperationContext): Promise<{ readonly output: Output; readonly undo?: Output }>;
  /** Reverses from the recorded undo params. Absent for kinds that are not reversible. */
  revert?(plan: ActionPlan, undo: Readonly<Output>, context: OperationContext): Promise<Output>;
}

function errorMessage(error: unknown): string {
  if (error instanceof Error) return error.message;
  return String(error);
}

function errorOutput(error: unknown): Output {
  if (error instanceof ActuatorApiError) {
    return {
      ...(error.status === undefined ? {} : { status: error.status }),
      ...(error.apiCode === undefined ? {} : { apiCode: error.apiCode }),
    };
  }
  if (isVigilError(error)) return { code: error.code, ...(error.details.field === undefined ? {} : { field: error.details.field }) };
  return {};
}

/**
 * Builds an Actuator for one action kind. Contract of the result:
 * - `validate` throws VigilError(VIGIL_BAD_INPUT) naming the param;
 * - `apply` and `undo` never reject: every failure (bad params, API error, timeout, abort) is a
 *   result with status `failed` and an `error` naming the API error;
 * - `apply` with `dryRun` (option or plan flag) calls only `preview`: no mutating request;
 * - an applied reversible action records `undo: { actuator: kind, params }`; `undo` of a result
 *   that was not applied, or of a kind that is not reversible, is `skipped` with the reason.
 */
export function defineActuator(spec: ActionKindSpec, runtime: ActuatorRuntime, operations: ActuatorOperations): Actuator {
  const now = (): string => runtime.clock.now().toISOString();
  const failed = (plan: ActionPlan, error: unknown, stage: string): ActionResult => ({
    actionId: plan.id,
    status: "failed",
    at: now(),
    error: `${spec.kind} ${stage} failed: ${errorMessage(error)}`,
    output: errorOutput(error),
  });
  const checkPlan = (plan: ActionPlan): void => {
    if (plan.actuator !== spec.kind) {
      throw new VigilError("VIGIL_BAD_INPUT", `plan.actuator is "${plan.actuator}" but this actuator is ${spec.kind}; route the plan to the actuator of its kind`, {
        field: "actuator",
      });
    }
    validateParams(spec, plan.params);
    operations.checkParams?.(plan.params);
  };

  return {
    kind: spec.kind,
    description: spec.summary,
    validate(params) {
      validateParams(spec, params);
      operations.checkParams?.(params);
    },
    async apply(plan: ActionPlan, options: ActuatorApplyOptions): Promise<ActionResult> {
      const context: OperationContext = options.signal === undefined ? {} : { signal: options.signal };
      try {
        checkPlan(plan);
        if (options.dryRun || plan.dryRun) {
          const output = await operations.preview(plan, context);
          return { actionId: plan.id, status: "dry-run", at: now(), output: { dryRun: true, ...output } };
        }
        const { output, undo } = await operations.apply(plan, context);
        const result: ActionResult = { actionId: plan.id, status: "applied", at: now(), output };
        return spec.reversible && undo !== undefined ? { ...result, undo: { actuator: spec.kind, params: undo } } : result;
      } catch (error) {
        return failed(plan, error, options.dryRun || plan.dryRun ? "dry-run" : "apply");
      }
    },
    async undo(plan: ActionPlan, result: ActionResult): Promise<ActionResult> {
      const skipped = (reason: string): ActionResult => ({
        actionId: plan.id,
        status: "skipped",
        at: now(),
        error: `${spec.kind} undo skipped: ${reason}`,
        output: { reversible: spec.reversible },
      });
      if (!spec.reversible || operations.revert === undefined) return skipped(`not reversible (${spec.undo})`);
      if (result.status !== "applied") return skipped(`the action's status is "${result.status}"; only an applied action can be undone`);
      if (result.undo === undefined) return skipped("the result records no undo data");
      if (result.undo.actuator !== spec.kind) {
        return failed(plan, new VigilError("VIGIL_BAD_INPUT", `undo data belongs to ${result.undo.actuator}, not ${spec.kind}`), "undo");
      }
      try {
        const output = await operations.revert(plan, result.undo.params, {});
        return { actionId: plan.id, status: "undone", at: now(), output };
      } catch (error) {
        return failed(plan, error, "undo");
      }
    },
  };
}

/** A sleep that honours an AbortSignal; the default of `ActuatorRuntime.sleep`. */
export function sleepFor(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason instanceof Error ? signal.reason : new Error("aborted"));
      return;
    }
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal?.reason instanceof Error ? signal.reason : new Error("aborted"));
    };
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

/** Combines an optional caller signal with a per-request timeout. */
export function withTimeout(timeoutMs: number, signal?: AbortSignal): AbortSignal {
  const timeout = AbortSignal.timeout(timeoutMs);
  return signal === undefined ? timeout : AbortSignal.any([signal, timeout]);
}
