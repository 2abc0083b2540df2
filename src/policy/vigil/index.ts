/** The native policy language (`apiVersion: vigil.dev/v1`, `kind: Policy` / `PolicyTest`). */
export { vigilPolicyLanguage } from "./plugin.js";
export { compileNativeDocuments, isNativePolicy, revisionOf, canonicalJson, type NativeCompiledPolicy, type CompiledExpression, type CompiledRule, type NativePolicyPlan } from "./compile.js";
export { evaluateNativePolicy, isMissingAttributeError } from "./evaluate.js";
export { parsePolicyDocument, VIGIL_API_VERSION, POLICY_KIND, type NativePolicySpec, type RuleSpec, type VariableSpec, type ExceptionSpec } from "./schema.js";
export { parsePolicyTestDocument, POLICY_TEST_KIND, type TestCaseSpec, type TestExpectation, type FindingExpectation, type PolicyTestSpec, type TestContextSpec } from "./test-schema.js";
export { runNativeTests, runInlineTests, runPolicyTestFile, runCase, findPolicyTestFiles, contextForTest, defaultEventType, DEFAULT_TEST_TIME } from "./test-runner.js";
export { closest, didYouMean, editDistance } from "./suggest.js";
