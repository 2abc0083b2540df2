/**
 * How request bodies are read, before any route sees them (the event intake replaces the parsers
 * with its own in its plugin; the decompression applies to it too).
 */
import { isUtf8 } from "node:buffer";
import type { FastifyInstance } from "fastify";
import { decodedBody } from "./content-encoding.js";

/** The code of the 415 for a JSON body declared in a charset other than UTF-8 (errors.ts maps it to field `content-type`). */
export const JSON_CHARSET_UNSUPPORTED = "VIGIL_JSON_CHARSET_UNSUPPORTED";

const REPLACEMENT_CHARACTER_BYTES = Buffer.from("\uFFFD", "utf8");

/** True for a charset label that names UTF-8 (`utf-8`, `UTF8`, `unicode-1-1-utf-8`...). */
function isUtf8Label(label: string): boolean {
  try {
    return new TextDecoder(label).encoding === "utf-8";
  } catch {
    return false;
  }
}

/** The offset of the first byte that is not part of a UTF-8 character, or undefined when all are. */
function firstInvalidUtf8Byte(bytes: Buffer): number | undefined {
  if (isUtf8(bytes)) return undefined;
  // Decoding puts U+FFFD where a sequence is invalid: the first one not sent as U+FFFD itself is it.
  let offset = 0;
  for (const character of bytes.toString("utf8")) {
    if (character === "\uFFFD" && !bytes.subarray(offset, offset + 3).equals(REPLACEMENT_CHARACTER_BYTES)) return offset;
    offset += Buffer.byteLength(character, "utf8");
  }
  return 0;
}

export function installBodyReading(app: FastifyInstance): void {
  // A compressed body (Content-Encoding gzip, deflate) is decompressed first (content-encoding.ts).
  app.addHook("preParsing", async (request, _reply, payload) => decodedBody(request, payload));

  // JSON as JSON.parse reads it (`__proto__` and `constructor` are ordinary keys of the data Vigil
  // judges; a byte order mark is skipped). An empty body sent with Content-Type: application/json
  // (`curl -X POST -H 'Content-Type: application/json'`) is no body, as when the header is left
  // out: where the body is optional the call goes through, where it is needed route() names the
  // fields to send. Invalid JSON is a 400 saying where it breaks, as on POST /v1/events.
  // JSON is UTF-8 (RFC 8259 8.1): other bytes were decoded with U+FFFD in their place and stored
  // so ("caf\uFFFD"); a body in another charset, or not UTF-8 at all, is refused naming the fix.
  app.removeContentTypeParser("application/json");
  app.addContentTypeParser("application/json", { parseAs: "buffer" }, (request, body, done) => {
    const bytes = body as Buffer;
    const charset = /;\s*charset\s*=\s*"?([^";\s]+)/i.exec(request.headers["content-type"] ?? "")?.[1];
    if (charset !== undefined && !isUtf8Label(charset)) {
      const message = `Content-Type application/json; charset=${charset} is not read here: send the JSON as UTF-8 (charset=utf-8, or no charset)`;
      return done(Object.assign(new Error(message), { statusCode: 415, code: JSON_CHARSET_UNSUPPORTED }), undefined);
    }
    const invalidAt = firstInvalidUtf8Byte(bytes);
    if (invalidAt !== undefined) {
      const message = `the body is not UTF-8 text (byte ${invalidAt} is 0x${bytes[invalidAt]?.toString(16).padStart(2, "0")}, not part of a UTF-8 character): send the JSON as UTF-8`;
      return done(Object.assign(new Error(message), { statusCode: 400, code: "FST_ERR_CTP_INVALID_JSON_BODY" }), undefined);
    }
    const text = bytes.toString("utf8");
    if (text.length === 0) return done(null, undefined);
    try {
      done(null, JSON.parse(text.charCodeAt(0) === 0xfeff ? text.slice(1) : text));
    } catch (error) {
      const message = `the body is not valid JSON (${error instanceof Error ? error.message : String(error)}): send a JSON object, as /openapi.json describes for the route`;
      done(Object.assign(new Error(message), { statusCode: 400, code: "FST_ERR_CTP_INVALID_JSON_BODY" }), undefined);
    }
  });

  // Every route but the event intake (its own parsers) reads JSON: a text/plain body was handed to
  // the schema as a string ("body must be object"); it is now 415 naming the Content-Type to send.
  app.removeContentTypeParser("text/plain");
}
