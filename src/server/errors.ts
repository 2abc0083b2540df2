import { STATUS_CODES } from "node:http";
import type { Socket } from "node:net";
import type { FastifyReply } from "fastify";
import { isVigilError, type VigilErrorCode } from "../core/errors.js";
import { JSON_CHARSET_UNSUPPORTED } from "./body.js";
import { ENCODING_INVALID, ENCODING_UNSUPPORTED } from "./content-encoding.js";

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

interface FastifyLikeError {
  readonly statusCode?: number;
  readonly message?: string;
  readonly code?: string;
  readonly validation?: readonly { readonly keyword?: string; readonly instancePath?: string; readonly params?: Readonly<Record<string, unknown>>; readonly message?: string }[];
  readonly validationContext?: string;
}

/** Fastify's request-reading errors, by code: the part of the request at fault. */
const requestErrorField: Readonly<Record<string, string>> = {
  FST_ERR_CTP_INVALID_JSON_BODY: "body",
  FST_ERR_CTP_EMPTY_JSON_BODY: "body",
  FST_ERR_CTP_BODY_TOO_LARGE: "body",
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: "content-length",
  FST_ERR_CTP_INVALID_MEDIA_TYPE: "content-type",
  FST_ERR_BAD_URL: "url",
  FST_ERR_MAX_PARAM_LENGTH: "url",
  [ENCODING_UNSUPPORTED]: "content-encoding",
  [JSON_CHARSET_UNSUPPORTED]: "content-type",
  [ENCODING_INVALID]: "content-encoding",
};

/** The longest value one path parameter may hold (the router's maxParamLength): ARNs and e-mail addresses fit. */
export const MAX_PATH_VALUE_LENGTH = 4096;

/** The start of a URL, for messages (a refused URL may be very long). */
function urlStart(url: string): string {
  return url.length <= 120 ? url : `${url.slice(0, 120)}… (${url.length} characters)`;
}

/** `body.input`, `querystring.limit`: where a JSON Schema validation failed (or the body could not be read). */
function validationField(error: FastifyLikeError): string | undefined {
  const first = error.validation?.[0];
  if (!first) return error.code === undefined ? undefined : requestErrorField[error.code];
  const path = (first.instancePath ?? "").split("/").filter(Boolean);
  const missing = first.params?.["missingProperty"] ?? first.params?.["additionalProperty"];
  if (typeof missing === "string") path.push(missing);
  return path.length > 0 ? path.join(".") : error.validationContext;
}

/** What to do about a body fastify could not read (its own messages do not say). */
function requestErrorMessage(reply: FastifyReply, error: FastifyLikeError): string | undefined {
  if (error.code === "FST_ERR_CTP_BODY_TOO_LARGE") {
    const limit = reply.request.routeOptions.bodyLimit;
    return `the request body is larger than ${limit === undefined ? "server.bodyLimit" : `${limit} bytes (server.bodyLimit)`}: send less per request (split a batch) or raise server.bodyLimit`;
  }
  if (error.code === "FST_ERR_CTP_INVALID_MEDIA_TYPE") {
    const contentType = reply.request.headers["content-type"];
    return `Content-Type ${contentType === undefined || contentType === "" ? "is absent" : `${contentType} is not accepted here`}: send the body as JSON with Content-Type: application/json`;
  }
  if (error.code === "FST_ERR_BAD_URL") {
    return `the URL ${urlStart(reply.request.url)} cannot be decoded: percent-encode each byte of a path or query value as %XY (a % sign itself as %25)`;
  }
  if (error.code === "FST_ERR_MAX_PARAM_LENGTH") {
    return `a value in the path of ${urlStart(reply.request.url)} is longer than ${MAX_PATH_VALUE_LENGTH} characters: put only the id there (percent-encoded), not a document or a query`;
  }
  return undefined;
}

/** What a value of the wrong type or format should be, in words with an example (ajv says only "must be boolean"). */
function expectedValue(failure: NonNullable<FastifyLikeError["validation"]>[number], context: string | undefined): string | undefined {
  const json = context === "body";
  if (failure.keyword === "format" && failure.params?.["format"] === "date-time") return "an RFC 3339 date-time with its offset, like 2025-01-31T18:00:00Z";
  if (failure.keyword !== "type") return undefined;
  const type = failure.params?.["type"];
  if (type === "boolean") return `true or false${json ? " (a JSON boolean, not text)" : ""}`;
  if (type === "integer") return `a whole number${json ? " (a JSON number, not text)" : ""}`;
  if (type === "number") return `a number${json ? " (a JSON number, not text)" : ""}`;
  if (type === "string") return "text (a JSON string)";
  if (type === "object") return "a JSON object";
  if (type === "array") return "a JSON array";
  return undefined;
}

/** The value the request sent at `instancePath` of its body, query or path, shown short. */
function sentValue(reply: FastifyReply, context: string | undefined, instancePath: string | undefined): string {
  const request = reply.request;
  let value: unknown = context === "body" ? request.body : context === "querystring" ? request.query : context === "params" ? request.params : undefined;
  for (const key of (instancePath ?? "").split("/").filter(Boolean)) value = typeof value === "object" && value !== null ? (value as Record<string, unknown>)[key] : undefined;
  // JSON.stringify shows a number past the largest double (1e400 reads as Infinity) as `null`.
  const text = typeof value === "object" && value !== null ? (Array.isArray(value) ? "an array" : "an object") : value === undefined ? "nothing" : typeof value === "number" ? String(value) : JSON.stringify(value);
  return text.length <= 100 ? text : `${text.slice(0, 100)}…`;
}

/** Sends an error as `{ error: { code, message, field, ... } }` with the mapped status. */
export function sendError(reply: FastifyReply, error: unknown): FastifyReply {
  if (isVigilError(error)) return reply.code(httpStatusOf[error.code]).send({ error: error.toJSON() });
  const fastifyError = error as FastifyLikeError;
  if (typeof fastifyError.statusCode === "number" && fastifyError.statusCode < 500) {
    const field = validationField(fastifyError);
    const first = fastifyError.validation?.[0];
    const unknown = first?.params?.["additionalProperty"];
    const allowed = first?.keyword === "enum" ? first.params?.["allowedValues"] : undefined;
    const where = `${fastifyError.validationContext ?? "the request"}${first?.instancePath ?? ""}`;
    const empty = first?.keyword === "minLength" && first.params?.["limit"] === 1;
    const expected = first === undefined || field === undefined ? undefined : expectedValue(first, fastifyError.validationContext);
    const message = typeof unknown === "string"
      ? `${fastifyError.validationContext ?? "the request"} has an unknown property \`${unknown}\`: remove it or correct its name (see /openapi.json for the ones allowed)`
      : Array.isArray(allowed) ? `${where} must be one of ${allowed.map(String).join(", ")}`
      : empty ? `${where} is empty: give a value${fastifyError.validationContext === "querystring" ? " or leave the parameter out" : ""}`
      : expected !== undefined ? `${field} must be ${expected}; got ${sentValue(reply, fastifyError.validationContext, first?.instancePath)}`
      : fastifyError.validation ? `${fastifyError.message ?? "invalid request"}; see /openapi.json for the schema` : requestErrorMessage(reply, fastifyError) ?? fastifyError.message ?? "bad request";
    return reply.code(fastifyError.statusCode).send({ error: { code: "VIGIL_BAD_INPUT", message, ...(field ? { field } : {}) } });
  }
  reply.log.error({ err: error }, "internal error");
  return reply.code(500).send({ error: { code: "VIGIL_INTERNAL", message: "internal error; see the server log" } });
}

/** Node's HTTP parser codes (llhttp), by the part of the request at fault and what to send instead. */
const parserFaults: Readonly<Record<string, { readonly field: string; readonly fix: string }>> = {
  HPE_UNEXPECTED_CONTENT_LENGTH: { field: "content-length", fix: "send one Content-Length (the body's length in bytes), or Transfer-Encoding: chunked without it" },
  HPE_INVALID_CONTENT_LENGTH: { field: "content-length", fix: "send one Content-Length (the body's length in bytes, digits only), or Transfer-Encoding: chunked without it" },
  HPE_INVALID_TRANSFER_ENCODING: { field: "transfer-encoding", fix: "send Transfer-Encoding: chunked with well-formed chunks, or a Content-Length" },
  HPE_INVALID_CHUNK_SIZE: { field: "transfer-encoding", fix: "send each chunk as its size in hexadecimal, CRLF, the bytes, CRLF, and end with a 0 chunk" },
  HPE_INVALID_HEADER_TOKEN: { field: "headers", fix: "send each header as `Name: value`, names without spaces, values of visible characters" },
  HPE_INVALID_METHOD: { field: "method", fix: "use a method the route takes (see /openapi.json)" },
  HPE_INVALID_URL: { field: "url", fix: "percent-encode spaces and other reserved characters in the URL" },
  HPE_INVALID_CONSTANT: { field: "url", fix: "percent-encode spaces and other reserved characters in the URL" },
  HPE_INVALID_VERSION: { field: "version", fix: "send HTTP/1.1 (or HTTP/1.0)" },
};

/**
 * Answers a request Node's HTTP server refused before any route saw it (fastify's
 * `clientErrorHandler`): malformed HTTP, headers over Node's limit, a body not received within
 * server.requestTimeoutMs. The body has the shape of every other error (fastify's default was
 * `{"error":"Bad Request","message":"Client Error"}`, saying neither what nor how to fix it).
 */
export function writeClientError(error: Error & { readonly code?: string; readonly reason?: string }, socket: Socket, requestTimeoutMs: number): void {
  // A reset connection has no one to answer (Node's own clientError handling does the same).
  if (error.code === "ECONNRESET" || socket.destroyed) return;
  const reason = error.reason ?? error.message;
  const fault = error.code === undefined ? undefined : parserFaults[error.code];
  const [status, field, message] = error.code === "ERR_HTTP_REQUEST_TIMEOUT"
    ? [408, "body", `the request did not arrive in full within ${requestTimeoutMs} ms (server.requestTimeoutMs): send the headers and the whole body at once, or raise server.requestTimeoutMs`]
    : error.code === "HPE_HEADER_OVERFLOW"
      ? [431, "headers", "the request headers are larger than the server reads (16 KB by default, Node's --max-http-header-size): send fewer or shorter headers"]
      : [400, fault?.field ?? "request", `the request is not well-formed HTTP (${reason})${fault ? `: ${fault.fix}` : ": send a well-formed HTTP/1.1 request"}`];
  const body = JSON.stringify({ error: { code: "VIGIL_BAD_INPUT", message, field } });
  if (socket.writable) {
    socket.write(`HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ""}\r\nContent-Length: ${Buffer.byteLength(body)}\r\nContent-Type: application/json; charset=utf-8\r\nConnection: close\r\n\r\n${body}`);
  }
  socket.destroy(error);
}
