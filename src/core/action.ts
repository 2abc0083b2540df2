/** A planned action: what an actuator will do, to what, with which parameters. */
export interface ActionPlan {
  readonly id: string;
  readonly decisionId: string;
  readonly policy: string;
  /** Actuator kind, e.g. `aws.s3.block-public-access`. */
  readonly actuator: string;
  readonly target: { readonly kind: string; readonly id: string };
  readonly params: Readonly<Record<string, unknown>>;
  /** Same key → the action runs at most once. */
  readonly idempotencyKey: string;
  readonly dryRun: boolean;
  /** Set when guardrails (blast radius, confidence, protected entity) route it to a person. */
  readonly requiresApproval?: boolean;
  readonly reason?: string;
}

export type ActionStatus = "planned" | "pending-approval" | "applied" | "dry-run" | "skipped" | "failed" | "undone" | "blocked";

/** What happened, and what `undo` needs. */
export interface ActionResult {
  readonly actionId: string;
  readonly status: ActionStatus;
  readonly at: string;
  /** Actuator's response summary (ids, status codes). */
  readonly output?: Readonly<Record<string, unknown>>;
  readonly error?: string;
  /** Everything needed to reverse it; absent when the action is not reversible. */
  readonly undo?: { readonly actuator: string; readonly params: Readonly<Record<string, unknown>> };
}

/** An object an action acts on through its params, beside its declared target (an instance in a list, a named user). */
export interface TouchedObject {
  /** The param that names it (`instanceIds[1]`, `namespace/name`), for the reason a plan is blocked. */
  readonly param: string;
  /** Its entity kind (`aws.ec2.instance`, `k8s.Deployment`, `db`): protected names match `kind/id`, and the entity store is looked up by it. */
  readonly kind: string;
  /** As the API names it: `i-0abc…`, a bucket or user name, `namespace/name`. */
  readonly id: string;
  /** Other ids that name it (`arn:aws:s3:::bucket`), matched by protected names and against entity ids. */
  readonly aliases?: readonly string[];
}

export interface ActuatorApplyOptions {
  readonly dryRun: boolean;
  readonly signal?: AbortSignal;
}

/**
 * Actuator port. `plan` validates and describes, `apply` acts (or only simulates with dryRun),
 * `undo` reverses an applied action from its recorded undo data. Implementations are idempotent
 * per `plan.idempotencyKey` as far as the remote API allows.
 */
export interface Actuator {
  readonly kind: string;
  /** One line per action kind this actuator offers, for docs and `--help`. */
  readonly description: string;
  /** Checks params; throws VigilError(VIGIL_BAD_INPUT) naming the param when invalid. */
  validate(params: Readonly<Record<string, unknown>>): void;
  apply(plan: ActionPlan, options: ActuatorApplyOptions): Promise<ActionResult>;
  undo(plan: ActionPlan, result: ActionResult): Promise<ActionResult>;
  /**
   * Optional: the objects valid `params` make the action act on beyond its target, each judged as
   * protected entities are (at plan time and when the plan runs). Without it only the target is
   * judged (the built-in kinds are known to Vigil). A throw, or an object without kind or id,
   * blocks the action: what it touches is unknown.
   */
  touches?(params: Readonly<Record<string, unknown>>): readonly TouchedObject[];
}
