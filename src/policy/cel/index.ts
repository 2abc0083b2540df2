export * from "./api.js";
export { createCelEnvironment, celToJson, raiseCelError } from "./environment.js";
/**
 * CEL runtime value classes, for extension functions declared with `raw: true` (docs/cel.md,
 * "Adding functions"): they receive and return these instead of plain JS.
 */
export {
  CelDouble, CelDuration, CelErr, CelMap, CelOptional, CelTimestamp, CelType, CelUint, NONE as CEL_NONE, typeOf as celTypeOf,
} from "./runtime/values.js";
