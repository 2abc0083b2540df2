/**
 * Conformance cases Vigil does not pass, each with its reason. `known-failure` cases still run
 * and the test suite asserts they still fail (so this list cannot go stale); `not-applicable`
 * cases test a component Vigil does not have and are not run. Printed in docs/cel-conformance.md.
 */
export interface SkipEntry {
  /** A path prefix: `suite`, `suite/section` or `suite/section/name`. */
  readonly path: string;
  readonly kind: "known-failure" | "not-applicable";
  readonly reason: string;
}

const strongEnums =
  "strong enum typing: these cases expect type(enum value) to be the enum type, while the legacy_proto2/legacy_proto3 sections " +
  "of the same suite expect int. Vigil implements the legacy mode (enum values are ints), as cel-go does by default; cel-go, " +
  "cel-cpp and cel-java skip the strong_* sections entirely";

const optionalMessages =
  "optional values combined with protobuf messages: message expressions run on @bufbuild/cel's interpreter, which has no " +
  "optional type (optionals over plain values are compiled natively and pass)";

export const skips: readonly SkipEntry[] = [
  { path: "enums/strong_proto2/type_global", kind: "known-failure", reason: strongEnums },
  { path: "enums/strong_proto2/type_nested", kind: "known-failure", reason: strongEnums },
  { path: "enums/strong_proto2/field_type", kind: "known-failure", reason: strongEnums },
  { path: "enums/strong_proto3/type_global", kind: "known-failure", reason: strongEnums },
  { path: "enums/strong_proto3/type_nested", kind: "known-failure", reason: strongEnums },
  { path: "enums/strong_proto3/field_type", kind: "known-failure", reason: strongEnums },
  { path: "block_ext/basic/optional_message", kind: "known-failure", reason: optionalMessages },
  { path: "optionals/optionals/has_optional_ofNonZeroValue_struct_optional_ofNonZeroValue_map_optindex_field", kind: "known-failure", reason: optionalMessages },
  { path: "optionals/optionals/optional_ofNonZeroValue_struct_optional_ofNonZeroValue_map_optindex_field", kind: "known-failure", reason: optionalMessages },
  { path: "optionals/optionals/struct_optional_ofNonZeroValue_map_optindex_field", kind: "known-failure", reason: optionalMessages },
  { path: "optionals/optionals/empty_struct_optindex_hasValue", kind: "known-failure", reason: optionalMessages },
  { path: "optionals/optionals/optional_empty_struct_optindex_hasValue", kind: "known-failure", reason: optionalMessages },
  { path: "optionals/optionals/struct_optindex_value", kind: "known-failure", reason: optionalMessages },
  { path: "optionals/optionals/optional_struct_optindex_value", kind: "known-failure", reason: optionalMessages },
  { path: "optionals/optionals/optional_struct_optindex_index_value", kind: "known-failure", reason: optionalMessages },
];

/** Reason for cases that only check the deduced type (no value): Vigil has no static type checker. */
export const typeOnlyReason =
  "type-check-only case (expects a deduced type, or needs declared function signatures): Vigil compiles without a static type checker";

export function skipReason(path: string): SkipEntry | undefined {
  return skips.find((s) => path === s.path || path.startsWith(`${s.path}/`));
}
