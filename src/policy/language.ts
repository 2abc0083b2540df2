import type { CompiledPolicy } from "../core/compiled-policy.js";
import type { VigilError } from "../core/errors.js";
import type { CelEnvironment } from "./cel/api.js";

/** One document read from a policy file (YAML documents, or a whole non-YAML file such as `.cedar`). */
export interface PolicyDocument {
  /** Path as given/found (relative to the load root when loaded from a directory). */
  readonly file: string;
  /** 0-based index of the document within the file. */
  readonly index: number;
  /** Parsed value (plain JSON-like). For non-YAML files, `{ text }`. */
  readonly value: unknown;
  /** Source text of the whole file, for error positions. */
  readonly text: string;
  /**
   * Maps a JSON path inside `value` (e.g. `["spec","rules",0,"condition"]`) to a 1-based line
   * and column in `file`, when known.
   */
  position(path: readonly (string | number)[]): { line: number; column: number } | undefined;
}

export interface CompileResult {
  readonly policies: CompiledPolicy[];
  /** One error per broken policy; a broken policy never stops the others from loading. */
  readonly errors: VigilError[];
}

/**
 * A policy language plugin (native Vigil, Kyverno, VAP, Cedar). The loader reads files, hands each
 * language the documents it accepts, and collects compiled policies and errors.
 */
export interface PolicyLanguagePlugin {
  readonly name: string;
  /** True when this plugin handles the document (by apiVersion/kind, or by file extension). */
  accepts(document: PolicyDocument): boolean;
  /** Compiles all accepted documents at once (some languages pair documents, e.g. VAP + binding). */
  compile(documents: readonly PolicyDocument[], env: CelEnvironment): CompileResult;
}
