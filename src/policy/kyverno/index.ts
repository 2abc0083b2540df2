/** Public API of the Kyverno language: plugins, the kyverno-test runner, PolicyReports. */
export { createKyvernoLanguage, kyvernoLanguage } from "./plugin.js";
export { runKyvernoTests, runKyvernoTestFile, type KyvernoTestCase, type KyvernoTestOptions } from "./test-runner.js";
export { buildPolicyReports, type PolicyReportObject, type PolicyReportResult, type ScannedResource, type PolicyReportOptions } from "./policy-report.js";
export { compileKyvernoPolicy, type KyvernoPolicy, type KyvernoEvaluateOptions } from "./policy.js";
export { compileValidatingPolicy } from "./validating-policy.js";
export type { ExternalContextResolver, ExternalContextRequest } from "./context.js";
export { toAdmissionInput, resourceInput, type AdmissionInput } from "./request.js";
export type { RuleResult, RuleResultStatus } from "./results.js";
