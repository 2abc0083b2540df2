/** The native language plugin: `apiVersion: vigil.dev/v1`, `kind: Policy`. */
import type { PolicyDocument, PolicyLanguagePlugin } from "../language.js";
import { compileNativeDocuments } from "./compile.js";
import { POLICY_KIND, VIGIL_API_VERSION } from "./schema.js";

function header(document: PolicyDocument): { apiVersion?: unknown; kind?: unknown } {
  const value = document.value;
  return value !== null && typeof value === "object" ? (value as { apiVersion?: unknown; kind?: unknown }) : {};
}

export const vigilPolicyLanguage: PolicyLanguagePlugin = {
  name: "vigil",
  accepts(document) {
    const { apiVersion, kind } = header(document);
    return apiVersion === VIGIL_API_VERSION && kind === POLICY_KIND;
  },
  compile(documents, env) {
    return compileNativeDocuments(documents, env);
  },
};
