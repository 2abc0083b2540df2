/**
 * Compressed request bodies (`Content-Encoding: gzip` or `deflate`, as log shippers send their
 * batches): decompressed before any route reads them. `server.bodyLimit` applies to the
 * decompressed body, so a small compressed body cannot expand past it. Another coding is 415, a
 * body that does not decompress 400, both naming `content-encoding` (errors.ts).
 */
import type { Readable } from "node:stream";
import { createGunzip, createInflate, type Gunzip, type Inflate } from "node:zlib";
import type { FastifyRequest } from "fastify";

const decoders: Readonly<Record<string, () => Gunzip | Inflate>> = { gzip: createGunzip, "x-gzip": createGunzip, deflate: createInflate };

/** The codes of the errors raised here (errors.ts maps them to field `content-encoding`). */
export const ENCODING_UNSUPPORTED = "VIGIL_CONTENT_ENCODING_UNSUPPORTED";
export const ENCODING_INVALID = "VIGIL_CONTENT_ENCODING_INVALID";

function requestError(statusCode: number, code: string, message: string): Error {
  return Object.assign(new Error(message), { statusCode, code });
}

/** The body as the route reads it: `payload` itself (also when there is no body), or a stream decompressing it. Throws the 415. */
export function decodedBody(request: FastifyRequest, payload: Readable): Readable {
  // No body, nothing to decode: a client that sets Content-Encoding on every call (a session
  // header meant for its uploads) had each GET refused with 415.
  const length = request.headers["content-length"];
  if (request.headers["transfer-encoding"] === undefined && (length === undefined || length === "0")) return payload;
  const header = request.headers["content-encoding"];
  const codings = (header ?? "").split(",").map((c) => c.trim().toLowerCase()).filter((c) => c !== "" && c !== "identity");
  if (codings.length === 0) return payload;
  const coding = codings.join(", ");
  const decoder = codings.length === 1 ? decoders[coding]?.() : undefined;
  if (decoder === undefined) throw requestError(415, ENCODING_UNSUPPORTED, `Content-Encoding ${coding} is not accepted: send the body uncompressed, or gzip or deflate it (Content-Encoding: gzip)`);
  // Content-Length counts the compressed bytes: fastify compares it with receivedEncodedLength.
  const decoded = decoder as typeof decoder & { receivedEncodedLength: number };
  decoded.receivedEncodedLength = 0;
  payload.on("data", (chunk: Buffer) => { decoded.receivedEncodedLength += chunk.length; });
  payload.on("error", (error) => decoder.destroy(error));
  // Listens before fastify does: the error it answers with names the coding and the fix.
  decoder.on("error", (error: Error & { statusCode?: number; code?: string }) => {
    if (error.statusCode !== undefined) return;
    Object.assign(error, { statusCode: 400, code: ENCODING_INVALID, message: `the body is not ${coding} data as Content-Encoding says (${error.message}): compress it as ${coding}, or send it uncompressed without Content-Encoding` });
  });
  return payload.pipe(decoder);
}
