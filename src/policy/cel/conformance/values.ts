/**
 * Conformance support: cel-spec `cel.expr.Value` messages → Vigil CEL runtime values (for
 * bindings and expected results), and a type-strict comparison of two runtime values (unlike CEL
 * `==`, `1 != 1.0` here: the test checks the result's type too).
 */
import { toJson, type Registry } from "@bufbuild/protobuf";
import { reflect } from "@bufbuild/protobuf/reflect";
import { anyUnpack } from "@bufbuild/protobuf/wkt";
import type { Value } from "@bufbuild/cel-spec/cel/expr/value_pb.js";
import { CelProtoMessage } from "../fallback.js";
import { asTimestamp } from "../runtime/equality.js";
import { buildMap, isMap, mapGet, mapKeys, mapSize } from "../runtime/maps.js";
import {
  CelDouble, CelDuration, CelOptional, CelTimestamp, CelType, CelUint, dbl, mkDouble, mkInt, typeIdentifiers, typeOf,
} from "../runtime/values.js";

function fromJsonValue(v: unknown): unknown {
  if (v === null || typeof v === "string" || typeof v === "boolean") return v;
  if (typeof v === "number") return mkDouble(v);
  if (Array.isArray(v)) return v.map(fromJsonValue);
  const o = v as Record<string, unknown>;
  return buildMap(Object.keys(o).map((k) => [k, fromJsonValue(o[k])] as const));
}

const wrappers = new Set([
  "google.protobuf.BoolValue", "google.protobuf.StringValue", "google.protobuf.BytesValue", "google.protobuf.DoubleValue",
  "google.protobuf.FloatValue", "google.protobuf.Int32Value", "google.protobuf.Int64Value", "google.protobuf.UInt32Value", "google.protobuf.UInt64Value",
]);

/** A message (from an Any) as the CEL value the spec says it denotes. */
function fromMessage(message: { $typeName: string } & Record<string, unknown>, registry: Registry): unknown {
  const name = message.$typeName;
  if (wrappers.has(name)) {
    const v = message["value"];
    if (name.endsWith("UInt32Value") || name.endsWith("UInt64Value")) return new CelUint(BigInt(v as number | bigint));
    if (name.endsWith("Int32Value") || name.endsWith("Int64Value")) return mkInt(BigInt(v as number | bigint));
    if (name.endsWith("DoubleValue") || name.endsWith("FloatValue")) return mkDouble(v as number);
    return v;
  }
  if (name === "google.protobuf.Timestamp") return new CelTimestamp(Number(message["seconds"]), Number(message["nanos"]));
  if (name === "google.protobuf.Duration") return new CelDuration(Number(message["seconds"]), Number(message["nanos"]));
  if (name === "google.protobuf.Value" || name === "google.protobuf.Struct" || name === "google.protobuf.ListValue") {
    const desc = registry.getMessage(name);
    if (desc) return fromJsonValue(toJson(desc, message as never));
  }
  const desc = registry.getMessage(name);
  return desc ? new CelProtoMessage(reflect(desc, message as never)) : message;
}

/** A cel-spec Value as a runtime value. */
export function valueToRuntime(value: Value, registry: Registry): unknown {
  const k = value.kind;
  switch (k.case) {
    case "nullValue":
      return null;
    case "boolValue":
    case "stringValue":
    case "bytesValue":
      return k.value;
    case "int64Value":
      return mkInt(k.value);
    case "uint64Value":
      return new CelUint(k.value);
    case "doubleValue":
      return mkDouble(k.value);
    case "enumValue":
      return mkInt(BigInt(k.value.value));
    case "listValue":
      return k.value.values.map((v) => valueToRuntime(v, registry));
    case "mapValue":
      return buildMap(k.value.entries.map((e) => [valueToRuntime(e.key as Value, registry), valueToRuntime(e.value as Value, registry)] as const));
    case "typeValue":
      return typeIdentifiers.get(k.value) ?? new CelType(k.value);
    case "objectValue": {
      const unpacked = anyUnpack(k.value, registry);
      if (!unpacked) throw new Error(`cannot unpack ${k.value.typeUrl}`);
      return fromMessage(unpacked as never, registry);
    }
    default:
      throw new Error(`unsupported Value kind ${String(k.case)}`);
  }
}

/** Type-strict structural equality (doubles: NaN equals NaN, 0 equals -0). */
export function sameValue(a: unknown, b: unknown): boolean {
  let ta: string;
  let tb: string;
  try {
    ta = typeOf(a).name;
    tb = typeOf(b).name;
  } catch {
    return false;
  }
  if (ta !== tb) return false;
  switch (ta) {
    case "int":
      return BigInt(a as number | bigint) === BigInt(b as number | bigint);
    case "uint":
      return (a as CelUint).v === (b as CelUint).v;
    case "double": {
      const x = dbl(a);
      const y = dbl(b);
      return x === y || (Number.isNaN(x) && Number.isNaN(y));
    }
    case "bytes": {
      const x = a as Uint8Array;
      const y = b as Uint8Array;
      return x.length === y.length && x.every((v, i) => v === y[i]);
    }
    case "list": {
      const x = a as unknown[];
      const y = b as unknown[];
      return x.length === y.length && x.every((v, i) => sameValue(v, y[i]));
    }
    case "map": {
      if (!isMap(a) || !isMap(b) || mapSize(a) !== mapSize(b)) return false;
      return mapKeys(a).every((k) => {
        const vb = mapGet(b, k);
        return vb !== undefined && sameValue(mapGet(a, k), vb);
      });
    }
    case "type":
      return (a as CelType).name === (b as CelType).name;
    case "google.protobuf.Timestamp": {
      const x = asTimestamp(a);
      const y = asTimestamp(b);
      return x !== undefined && y !== undefined && x.s === y.s && x.n === y.n;
    }
    case "google.protobuf.Duration":
      return (a as CelDuration).s === (b as CelDuration).s && (a as CelDuration).n === (b as CelDuration).n;
    case "optional_type": {
      const x = a as CelOptional;
      const y = b as CelOptional;
      return x.has === y.has && (!x.has || sameValue(x.v, y.v));
    }
    default:
      if (a instanceof CelProtoMessage) return a.equals(b as CelProtoMessage);
      return a === b || (a instanceof CelDouble && b instanceof CelDouble && a.v === b.v);
  }
}
