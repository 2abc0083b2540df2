import type { FastifyReply } from "fastify";
import { isVigilError, type VigilErrorCode } from "../core/errors.js";

/** The one place where VigilError codes become HTTP statuses. */
export const httpStatusOf: Readonly<Record<VigilErrorCode, number>> = {
  VIGIL_BAD_INPUT: 400,
  VIGIL_BAD_EVENT: 400,
  VIGIL_BAD_CONFIG: 500,
  VIGIL_POLICY_LOAD: 400,
  VIGIL_POLICY_COMPILE: 400,
  VIGIL_POLICY_UNSUPPORTED: 400,
  VIGIL_CEL_COST: 422,
  VIGIL_NOT_FOUND: 404,
  VIGIL_CONFLICT: 409,
  VIGIL_UNAUTHENTICATED: 401,
  VIGIL_FORBIDDEN: 403,
  VIGIL_BACKPRESSURE: 429,
  VIGIL_KILL_SWITCH: 423,
  VIGIL_GUARDRAIL: 409,
  VIGIL_ACTUATOR: 502,
  VIGIL_STORAGE: 503,
  VIGIL_AUDIT_CHAIN: 500,
  VIGIL_LEARNED_STATE: 500,
  VIGIL_INTERNAL: 500,
};

/** Sends an error as `{ error: { code, message, field, ... } }` with the mapped status. */
export function sendError(reply: FastifyReply, error: unknown): FastifyReply {
  if (isVigilError(error)) return reply.code(httpStatusOf[error.code]).send({ error: error.toJSON() });
  const fastifyError = error as { statusCode?: number; message?: string; validation?: unknown; code?: string };
  if (typeof fastifyError.statusCode === "number" && fastifyError.statusCode < 500) {
    return reply.code(fastifyError.statusCode).send({ error: { code: "VIGIL_BAD_INPUT", message: fastifyError.message ?? "bad request" } });
  }
  return reply.code(500).send({ error: { code: "VIGIL_INTERNAL", message: "internal error; see the server log" } });
}
