/**
 * The one import of `@cedar-policy/cedar-wasm` (its Node build, which loads the wasm module
 * synchronously). Everything else in Vigil talks to Cedar through this module.
 */
import * as cedar from "@cedar-policy/cedar-wasm/nodejs";

export const cedarWasm = cedar;

export type {
  AuthorizationAnswer,
  CedarValueJson,
  DetailedError,
  EntityJson,
  EntityUidJson,
  Schema,
  SchemaJson,
  TypeAndId,
} from "@cedar-policy/cedar-wasm/nodejs";

/** Cedar's own version string, for docs and bench output. */
export function cedarVersion(): string {
  return cedar.getCedarVersion();
}
