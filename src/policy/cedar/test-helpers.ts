/**
 * Test helpers for the Cedar plugin: a decide-request Context around an input, and a document
 * shaped the way the policy loader hands files to a language plugin.
 */
import type { Context } from "../../core/context.js";
import { EventTypes } from "../../core/event.js";
import type { PolicyDocument } from "../language.js";

/** A Context for a direct authorization request with this input. */
export function decideContext(input: unknown): Context {
  return {
    event: { specversion: "1.0", id: "e1", source: "test", type: EventTypes.decideRequest, data: input },
    input,
    entities: {},
    signals: {},
    posture: { level: "normal", scope: "org", since: "2025-01-01T00:00:00Z" },
    now: "2025-01-01T00:00:00Z",
  };
}

/** A whole-file document, as the loader gives non-YAML files to plugins. */
export function fileDocument(file: string, text: string): PolicyDocument {
  return { file, index: 0, value: { text }, text, position: () => undefined };
}
