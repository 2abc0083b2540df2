/**
 * The one import of `@cedar-policy/cedar-wasm` (its Node build, which loads the wasm module
 * synchronously). Everything else in Vigil talks to Cedar through this module.
 */
import { setFlagsFromString } from "node:v8";
import * as cedar from "@cedar-policy/cedar-wasm/nodejs";

/**
 * Node 20's V8 (11.3) can crash the process ("Fatal error ... unreachable code" in
 * Deoptimizer::DoComputeBuiltinContinuation) when TurboFan code that inlined a JS→Wasm call into
 * cedar-wasm deoptimizes; reproduced in the ABAC benchmark after Vigil and Cedar decisions ran in
 * one process. Turning that one inlining off avoids it and costs nothing measurable here (a Cedar
 * decision spends its time inside wasm). It applies to code optimized from now on, which is why it
 * is set before anything calls Cedar. Newer V8 versions are left alone.
 */
const v8Major = Number(process.versions.v8.split(".")[0]);
if (v8Major > 0 && v8Major < 12) setFlagsFromString("--no-turbo-inline-js-wasm-calls");

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
