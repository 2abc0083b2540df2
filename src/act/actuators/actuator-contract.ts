/**
 * The Actuator port's contract suite (test helper, like store/storage-contract.ts): every actuator
 * — built-in or added later — runs it. It needs no remote system: the actuators under test point
 * at an endpoint where nothing listens, so every remote call fails, and the suite checks that
 * failures are results, never rejections.
 */
import { describe, expect, it } from "vitest";
import { isVigilError } from "../../core/index.js";
import type { ActionPlan, ActionResult, Actuator } from "../../core/index.js";
import type { ActionKindSpec } from "./types.js";

export interface ActuatorContractCase {
  readonly actuator: Actuator;
  readonly spec: ActionKindSpec;
  /** Params that pass validation. */
  readonly validParams: Readonly<Record<string, unknown>>;
}

const plan = (kind: string, params: Readonly<Record<string, unknown>>, overrides: Partial<ActionPlan> = {}): ActionPlan => ({
  id: "contract-action",
  decisionId: "contract-decision",
  policy: "contract-policy",
  actuator: kind,
  target: { kind: "resource", id: "contract-target" },
  params,
  idempotencyKey: "contract-key",
  dryRun: false,
  ...overrides,
});

function expectBadInput(run: () => void, field: string): void {
  try {
    run();
  } catch (error) {
    expect(isVigilError(error) && error.code).toBe("VIGIL_BAD_INPUT");
    expect(isVigilError(error) && error.details.field).toBe(field);
    return;
  }
  expect.unreachable(`expected VIGIL_BAD_INPUT for ${field}`);
}

export function actuatorContract(name: string, makeCases: () => readonly ActuatorContractCase[]): void {
  describe(`Actuator contract: ${name}`, () => {
    const cases = makeCases();

    it.each(cases.map((item) => [item.spec.kind, item] as const))("%s: kind and description come from its spec", (_kind, { actuator, spec }) => {
      expect(actuator.kind).toBe(spec.kind);
      expect(actuator.description).toBe(spec.summary);
      expect(spec.summary.length).toBeGreaterThan(10);
      expect(spec.undo.length).toBeGreaterThan(10);
    });

    it.each(cases.map((item) => [item.spec.kind, item] as const))("%s: validate accepts valid params and names a missing or unknown one", (_kind, { actuator, spec, validParams }) => {
      expect(() => actuator.validate(validParams)).not.toThrow();
      expectBadInput(() => actuator.validate({ ...validParams, notAParam: 1 }), "params.notAParam");
      for (const param of spec.params.filter((item) => item.required)) {
        const { [param.name]: _removed, ...rest } = validParams;
        expectBadInput(() => actuator.validate(rest), `params.${param.name}`);
      }
    });

    it.each(cases.map((item) => [item.spec.kind, item] as const))("%s: apply never rejects (bad params, wrong kind, unreachable API)", async (_kind, { actuator, spec, validParams }) => {
      const badParams = await actuator.apply(plan(spec.kind, { ...validParams, notAParam: true }), { dryRun: false });
      expect(badParams).toMatchObject({ actionId: "contract-action", status: "failed" });
      expect(badParams.error).toMatch(/params\.notAParam/);

      const wrongKind = await actuator.apply(plan("other.kind", validParams), { dryRun: false });
      expect(wrongKind.status).toBe("failed");
      expect(wrongKind.error).toMatch(/plan\.actuator is "other\.kind"/);

      const unreachable = await actuator.apply(plan(spec.kind, validParams), { dryRun: false });
      expect(unreachable.status).toBe("failed");
      expect(unreachable.error).toMatch(new RegExp(`^${spec.kind.replace(/\./g, "\\.")} apply failed: `));
      expect(unreachable.undo).toBeUndefined();
      expect(Number.isNaN(Date.parse(unreachable.at))).toBe(false);

      const controller = new AbortController();
      controller.abort(new Error("executor shut down"));
      const aborted = await actuator.apply(plan(spec.kind, validParams), { dryRun: false, signal: controller.signal });
      expect(aborted.status).toBe("failed");
    });

    it.each(cases.map((item) => [item.spec.kind, item] as const))("%s: dry-run is a dry-run result or a failed read, never a rejection", async (_kind, { actuator, spec, validParams }) => {
      const viaOption = await actuator.apply(plan(spec.kind, validParams), { dryRun: true });
      const viaPlan = await actuator.apply(plan(spec.kind, validParams, { dryRun: true }), { dryRun: false });
      for (const result of [viaOption, viaPlan]) {
        expect(["dry-run", "failed"]).toContain(result.status);
        if (result.status === "dry-run") expect(result.output?.["dryRun"]).toBe(true);
        else expect(result.error).toMatch(/dry-run failed/);
        expect(result.undo).toBeUndefined();
      }
    });

    it.each(cases.map((item) => [item.spec.kind, item] as const))("%s: undo skips what was not applied, or what cannot be reversed", async (_kind, { actuator, spec, validParams }) => {
      const planned = plan(spec.kind, validParams);
      const dry: ActionResult = { actionId: planned.id, status: "dry-run", at: "2025-03-01T12:00:00.000Z", output: { dryRun: true } };
      const failed: ActionResult = { actionId: planned.id, status: "failed", at: "2025-03-01T12:00:00.000Z", error: "x" };
      const appliedWithoutUndo: ActionResult = { actionId: planned.id, status: "applied", at: "2025-03-01T12:00:00.000Z" };
      for (const result of [dry, failed, appliedWithoutUndo]) {
        const undone = await actuator.undo(planned, result);
        expect(undone.status).toBe("skipped");
        expect(undone.output).toEqual({ reversible: spec.reversible });
        if (!spec.reversible) expect(undone.error).toMatch(/not reversible/);
      }
      if (spec.reversible) {
        const foreign = await actuator.undo(planned, { ...appliedWithoutUndo, undo: { actuator: "other.kind", params: {} } });
        expect(foreign.status).toBe("failed");
      }
    });
  });
}
