/**
 * The public surface of the policy stage: load → compile once → index → evaluate → explain,
 * plus the native test runner and lint. Other stages and the CLI/server import from here.
 */
export { loadPolicies, loadPolicyText, compilePolicyDocuments, parseYamlDocuments, listPolicyFiles, isTestFileName, defaultCelEnvironment, type LoadOptions, type LoadResult, type SkippedDocument } from "./load.js";
export { policyLanguages, nonPolicyKinds, policyApiGroups, type PolicyLanguageRegistration } from "./languages.js";
export type { PolicyDocument, PolicyLanguagePlugin, CompileResult } from "./language.js";
export { createPolicySet, eventTypeMatches, type PolicySet, type PolicySetResult, type PolicySetEvaluateOptions } from "./policy-set.js";
export { buildActivation, activationFor, withVariables, readPath, reservedActivationNames, isPlainObject, type Activation } from "./activation.js";
export { explainFinding, explainFindings, explainTrace, explanationSteps, describeStep, findingHeadline, formatValue, formatExpression } from "./explain.js";
export { lintPolicies, formatLintWarning, type LintResult, type LintWarning, type LintCode } from "./lint.js";
export { summarize, summaryLine, type TestCaseResult, type TestRunSummary, type TestStatus } from "./testing.js";
export {
  runNativeTests, runInlineTests, runPolicyTestFile, findPolicyTestFiles, contextForTest,
  isNativePolicy, vigilPolicyLanguage, VIGIL_API_VERSION, type NativeCompiledPolicy,
} from "./vigil/index.js";
