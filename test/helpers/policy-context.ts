/** Test helper: a Context for policy tests, with the defaults a quiet, normal organisation has. */
import type { Context } from "../../src/core/context.js";
import type { Posture, Signal, Entity } from "../../src/core/entity.js";

export interface ContextOptions {
  readonly type?: string;
  readonly subject?: string;
  readonly posture?: Partial<Posture>;
  readonly signals?: Record<string, Signal>;
  readonly entities?: Record<string, Entity>;
  readonly now?: string;
  readonly features?: Record<string, Record<string, unknown>>;
}

export function policyContext(input: unknown, options: ContextOptions = {}): Context {
  return {
    event: {
      specversion: "1.0",
      id: "evt-1",
      source: "test",
      type: options.type ?? "dev.vigil.decide",
      ...(options.subject === undefined ? {} : { subject: options.subject }),
      data: input,
    },
    input,
    entities: options.entities ?? {},
    signals: options.signals ?? {},
    posture: { level: "normal", scope: "org", since: "2024-01-01T00:00:00Z", ...options.posture },
    now: options.now ?? "2024-05-01T12:00:00Z",
    ...(options.features === undefined ? {} : { features: options.features }),
  };
}
