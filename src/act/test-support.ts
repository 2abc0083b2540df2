/**
 * Test helpers of the act and review stages: an in-memory Actuator implementing the port (the
 * real actuators are tested against wire-protocol servers in ./actuators) and a throwaway
 * file-backed Storage (the test passes the adapter factory, e.g. createSqliteStorage, since a stage
 * never imports an adapter). Used by tests only.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { ActionPlan, ActionResult, Actuator, ActuatorApplyOptions } from "../core/action.js";
import { VigilError } from "../core/errors.js";
import type { Clock, Storage } from "../core/ports.js";

/**
 * `fake.set-state`: sets `state[target.id] = params.value`; undo restores the previous value.
 * `fake.notify`: appends to `sent`; not reversible. Records every call.
 */
export interface FakeActuators {
  readonly actuators: Actuator[];
  readonly state: Map<string, unknown>;
  readonly sent: { target: string; text: unknown }[];
  readonly calls: { kind: string; op: "apply" | "undo"; dryRun: boolean; actionId: string; key: string }[];
  /** Make the next apply of set-state fail with this error. */
  failNext: string | undefined;
  /** Make the next undo of set-state fail with this error. */
  failNextUndo: string | undefined;
}

export function createFakeActuators(clock: Clock): FakeActuators {
  const fake: FakeActuators = { actuators: [], state: new Map(), sent: [], calls: [], failNext: undefined, failNextUndo: undefined };
  const result = (plan: ActionPlan, fields: Omit<ActionResult, "actionId" | "at">): ActionResult => ({ actionId: plan.id, at: clock.now().toISOString(), ...fields });
  const setState: Actuator = {
    kind: "fake.set-state",
    description: "sets a value in memory",
    validate(params) {
      if (typeof params["value"] !== "string") throw new VigilError("VIGIL_BAD_INPUT", "params.value must be a string", { field: "params.value" });
    },
    async apply(plan: ActionPlan, options: ActuatorApplyOptions) {
      fake.calls.push({ kind: this.kind, op: "apply", dryRun: options.dryRun, actionId: plan.id, key: plan.idempotencyKey });
      const previous = fake.state.get(plan.target.id) ?? null;
      if (options.dryRun || plan.dryRun) return result(plan, { status: "dry-run", output: { dryRun: true, from: previous, to: plan.params["value"] } });
      if (fake.failNext !== undefined) {
        const error = fake.failNext;
        fake.failNext = undefined;
        return result(plan, { status: "failed", error });
      }
      fake.state.set(plan.target.id, plan.params["value"]);
      return result(plan, { status: "applied", output: { from: previous }, undo: { actuator: "fake.set-state", params: { target: plan.target.id, previous } } });
    },
    async undo(plan, applied) {
      fake.calls.push({ kind: this.kind, op: "undo", dryRun: false, actionId: plan.id, key: plan.idempotencyKey });
      if (applied.status !== "applied" || applied.undo === undefined) return result(plan, { status: "skipped", error: "nothing to undo" });
      if (fake.failNextUndo !== undefined) {
        const error = fake.failNextUndo;
        fake.failNextUndo = undefined;
        return result(plan, { status: "failed", error });
      }
      const previous = applied.undo.params["previous"];
      if (previous === null) fake.state.delete(plan.target.id);
      else fake.state.set(plan.target.id, previous);
      return result(plan, { status: "undone" });
    },
  };
  const notify: Actuator = {
    kind: "fake.notify",
    description: "records a message",
    validate() {},
    async apply(plan, options) {
      fake.calls.push({ kind: this.kind, op: "apply", dryRun: options.dryRun, actionId: plan.id, key: plan.idempotencyKey });
      if (options.dryRun || plan.dryRun) return result(plan, { status: "dry-run", output: { dryRun: true } });
      fake.sent.push({ target: plan.target.id, text: plan.params["text"] });
      return result(plan, { status: "applied" });
    },
    async undo(plan) {
      return result(plan, { status: "skipped", error: "a sent message cannot be unsent", output: { reversible: false } });
    },
  };
  fake.actuators.push(setState, notify);
  return fake;
}

export interface TempStore {
  storage: Storage;
  readonly path: string;
  /** Closes and opens the same file again (a restart). */
  reopen(): Promise<Storage>;
  dispose(): Promise<void>;
}

export async function createTempStore(factory: (options: { path: string }) => Storage): Promise<TempStore> {
  const dir = mkdtempSync(join(tmpdir(), "vigil-act-"));
  const path = join(dir, "vigil.db");
  const open = async (): Promise<Storage> => {
    const storage = factory({ path });
    await storage.init();
    return storage;
  };
  const store: TempStore = {
    storage: await open(),
    path,
    async reopen() {
      await store.storage.close();
      store.storage = await open();
      return store.storage;
    },
    async dispose() {
      await store.storage.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return store;
}

/** A native policy whose remediation scales `target` (an expression or a JSON target) to zero through fake.set-state. */
export const scaleDownPolicy = (target: string): string => `apiVersion: vigil.dev/v1
kind: Policy
metadata: { name: idle-web }
spec:
  rules:
    - name: idle
      condition: input.idle == true
      message: "shop/web is idle"
      effect: deny
  remediation:
    - action: fake.set-state
      params: { value: "scaled-to-zero" }
      target: '${target}'
  enforcement:
    tier: remediate
`;

