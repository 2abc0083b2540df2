/**
 * How request bodies are read, before any route sees them (the event intake replaces the parsers
 * with its own in its plugin; the decompression applies to it too).
 */
import type { FastifyInstance } from "fastify";
import { decodedBody } from "./content-encoding.js";

export function installBodyReading(app: FastifyInstance): void {
  // A compressed body (Content-Encoding gzip, deflate) is decompressed first (content-encoding.ts).
  app.addHook("preParsing", async (request, _reply, payload) => decodedBody(request, payload));

  // JSON as JSON.parse reads it (`__proto__` and `constructor` are ordinary keys of the data Vigil
  // judges; a byte order mark is skipped). An empty body sent with Content-Type: application/json
  // (`curl -X POST -H 'Content-Type: application/json'`) is no body, as when the header is left
  // out: where the body is optional the call goes through, where it is needed route() names the
  // fields to send. Invalid JSON is a 400 saying where it breaks, as on POST /v1/events.
  app.removeContentTypeParser("application/json");
  app.addContentTypeParser("application/json", { parseAs: "string" }, (_request, body, done) => {
    const text = String(body);
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
