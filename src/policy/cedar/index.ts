/** Cedar policies for authorization requests (docs/cedar.md). */
export { cedarLanguage, createCedarLanguage, compileCedarDocuments, cedarFileRole, cedarSetName } from "./plugin.js";
export { compileCedarPolicySet, type CedarPolicySetSources, type CompiledCedarPolicySet, type CedarCompileResult } from "./compile.js";
export { mapAuthorizationInput, parseEntityUid, formatEntityUid, toCedarValue, type CedarRequest, type RequestEntity, type RequestMapping } from "./request.js";
export { DEFAULT_DENY_RULE, REQUEST_RULE } from "./findings.js";
export type { CedarSourceFile } from "./sources.js";
export { cedarVersion } from "./wasm.js";
