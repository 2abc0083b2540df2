/**
 * Protobuf messages are outside Vigil's value model (activations are plain JSON-like values), so
 * the code generator does not handle them. An environment given a protobuf registry runs the
 * expressions that construct or receive messages on @bufbuild/cel's interpreter instead; values
 * cross the boundary through an exact conversion (int ↔ bigint, double, uint, timestamp, ...), so
 * results are the same as they would be natively.
 */
import { CelScalar, celEnv, celFromScalar, celFunc, celList, celUint, isCelError, isCelList, isCelMap, isCelType, isCelUint, plan, type CelValue } from "@bufbuild/cel";
import { strings } from "@bufbuild/cel/ext";
import { create, equals, getExtension, hasExtension, type DescExtension, type Message, type Registry } from "@bufbuild/protobuf";
import { isReflectMessage, reflect, type ReflectMessage } from "@bufbuild/protobuf/reflect";
import { DurationSchema, TimestampSchema } from "@bufbuild/protobuf/wkt";
import { EXT_GET, EXT_HAS, toInterpreterExpr } from "./fallback-expr.js";
import { qualifiedName, forEachChild, type Expr } from "./parser/ast.js";
import { asTimestamp } from "./runtime/equality.js";
import { buildMap, isMap, mapEntries } from "./runtime/maps.js";
import {
  CelDouble, CelDuration, CelErr, CelMap, CelOpaque, CelOptional, CelTimestamp, CelType, CelUint, mkDouble, mkInt, typeIdentifiers,
} from "./runtime/values.js";

/** A protobuf message as a CEL value of the compiled engine (opaque: only equality and conversion). */
export class CelProtoMessage extends CelOpaque {
  readonly typeName: string;
  readonly message: ReflectMessage;
  constructor(message: ReflectMessage) {
    super();
    this.message = message;
    this.typeName = message.desc.typeName;
  }
  equals(other: CelOpaque): boolean {
    return other instanceof CelProtoMessage && other.message.desc === this.message.desc && equals(this.message.desc, this.message.message, other.message.message);
  }
  override toString(): string {
    return `${this.typeName}{...}`;
  }
}

export interface FallbackProgram {
  run(activation: Readonly<Record<string, unknown>>): unknown;
}

function candidates(name: string, container: string): string[] {
  if (name.startsWith(".")) return [name.slice(1)];
  const out: string[] = [];
  const parts = container === "" ? [] : container.split(".");
  for (let i = parts.length; i > 0; i--) out.push(`${parts.slice(0, i).join(".")}.${name}`);
  out.push(name);
  return out;
}

/** True when the expression constructs a message or names a message / enum type of the registry. */
export function needsFallback(expr: Expr, registry: unknown, container: string): boolean {
  const reg = registry as Registry;
  let found = false;
  const visit = (node: Expr): void => {
    if (found) return;
    if (node.kind === "struct") {
      found = true;
      return;
    }
    let q = qualifiedName(node);
    if (node.kind === "call") {
      const target = node.target ? qualifiedName(node.target) : "";
      q = target === undefined ? undefined : target === "" ? node.fn : `${target}.${node.fn}`;
    }
    if (q !== undefined && (node.kind === "ident" || node.kind === "select" || node.kind === "call")) {
      const parts = q.replace(/^\./, "").split(".");
      for (let n = parts.length; n >= 1 && !found; n--) {
        const head = (q.startsWith(".") ? "." : "") + parts.slice(0, n).join(".");
        for (const c of candidates(head, container)) {
          if (typeIdentifiers.has(c)) continue;
          const t = reg.get(c);
          if (t && (t.kind === "message" || t.kind === "enum")) found = true;
        }
      }
    }
    forEachChild(node, visit);
  };
  visit(expr);
  return found;
}

function toInterpreter(v: unknown): unknown {
  switch (typeof v) {
    case "number":
      return Number.isSafeInteger(v) ? BigInt(v) : v;
    case "bigint":
    case "string":
    case "boolean":
      return v;
    case "object":
      break;
    default:
      throw new CelErr("invalid_argument", `unsupported value of type ${typeof v}`);
  }
  if (v === null || v instanceof Uint8Array) return v;
  if (Array.isArray(v)) return v.map(toInterpreter);
  if (v instanceof CelDouble) return v.v;
  if (v instanceof CelUint) return celUint(v.v);
  if (v instanceof CelProtoMessage) return v.message;
  if (v instanceof CelDuration) return create(DurationSchema, { seconds: BigInt(v.s), nanos: v.n });
  const ts = asTimestamp(v);
  if (ts) return create(TimestampSchema, { seconds: BigInt(ts.s), nanos: ts.n });
  if (v instanceof CelOptional || v instanceof CelType) throw new CelErr("invalid_argument", "optional and type values cannot be passed to the protobuf interpreter");
  if ("$typeName" in v) return v;
  if (isMap(v)) {
    const m = new Map<unknown, unknown>();
    for (const [k, x] of mapEntries(v)) m.set(toInterpreter(k), toInterpreter(x));
    return m;
  }
  throw new CelErr("invalid_argument", "unsupported value for the protobuf interpreter");
}

const scalarTypeNames = new Set(["int", "uint", "double", "bool", "string", "bytes", "list", "map", "null_type", "type"]);

/** A value of @bufbuild/cel's interpreter as a Vigil runtime value (exact: int ↔ bigint, uint, double, ...). */
export function fromInterpreterValue(v: unknown): unknown {
  switch (typeof v) {
    case "bigint":
      return mkInt(v);
    case "number":
      return mkDouble(v);
    case "string":
    case "boolean":
      return v;
    default:
      break;
  }
  if (v === null || v === undefined) return null;
  if (v instanceof Uint8Array) return v;
  if (isCelUint(v)) return new CelUint(v.value);
  if (isCelList(v)) return [...v].map(fromInterpreterValue);
  if (isCelMap(v)) return buildMap([...v.entries()].map(([k, x]) => [fromInterpreterValue(k), fromInterpreterValue(x)] as const));
  if (isCelType(v)) return typeIdentifiers.get(v.name) ?? (scalarTypeNames.has(v.name) ? new CelType(v.name) : new CelType(v.name));
  if (isReflectMessage(v)) {
    const name = v.desc.typeName;
    const msg = v.message as unknown as { seconds: bigint; nanos: number };
    if (name === "google.protobuf.Timestamp") return new CelTimestamp(Number(msg.seconds), msg.nanos);
    if (name === "google.protobuf.Duration") return new CelDuration(Number(msg.seconds), msg.nanos);
    return new CelProtoMessage(v);
  }
  if (v instanceof CelMap) return v;
  return v;
}

function extensionOf(registry: Registry, message: unknown, name: string): [Message, DescExtension] {
  if (!isReflectMessage(message)) throw new Error(`extension field ${name} selected on a non-message value`);
  const ext = registry.getExtension(name);
  if (!ext) throw new Error(`unknown extension field ${name}`);
  return [message.message, ext];
}

function extensionValue(ext: DescExtension, v: unknown): unknown {
  const one = (x: unknown): unknown => {
    if (ext.message) return reflect(ext.message, x as Message);
    if (ext.enum) return BigInt(x as number);
    return ext.scalar === undefined ? x : celFromScalar(ext.scalar, x as never);
  };
  return ext.fieldKind === "list" ? celList((v as unknown[]).map(one) as never) : one(v);
}

function extensionFunctions(registry: Registry) {
  return [
    celFunc(EXT_GET, [CelScalar.DYN, CelScalar.STRING], CelScalar.DYN, (msg, name) => {
      const [message, ext] = extensionOf(registry, msg, name);
      return extensionValue(ext, getExtension(message, ext)) as never;
    }),
    celFunc(EXT_HAS, [CelScalar.DYN, CelScalar.STRING], CelScalar.BOOL, (msg, name) => {
      const [message, ext] = extensionOf(registry, msg, name);
      return hasExtension(message, ext);
    }),
  ];
}

/**
 * Enum "constructors" (`TestAllTypes.NestedEnum(1)`, `GlobalEnum('GAZ')`): int or name → the enum
 * number as an int (legacy enum mode: enum values are ints).
 */
function enumFunctions(registry: Registry, container: string) {
  const out = [];
  for (const t of registry) {
    if (t.kind !== "enum") continue;
    const e = t;
    // the interpreter resolves global function names literally: also register the container-relative name
    const names = [e.typeName];
    if (container !== "" && e.typeName.startsWith(`${container}.`)) names.push(e.typeName.slice(container.length + 1));
    for (const name of names) {
      out.push(
        celFunc(name, [CelScalar.INT], CelScalar.INT, (n) => {
          if (n < -2147483648n || n > 2147483647n) throw new Error(`enum value ${n} out of int32 range`);
          return n;
        }),
        celFunc(name, [CelScalar.STRING], CelScalar.INT, (text) => {
          const v = e.values.find((x) => x.name === text);
          if (!v) throw new Error(`invalid enum value name '${text}' for ${e.typeName}`);
          return BigInt(v.number);
        }),
      );
    }
  }
  return out;
}

/** Plans the parsed expression on @bufbuild/cel's interpreter. */
export function compileFallback(expr: Expr, registry: unknown, container: string): FallbackProgram {
  const reg = registry as Registry;
  const env = celEnv({ registry: reg, ...(container ? { namespace: container } : {}), funcs: [...strings, ...extensionFunctions(reg), ...enumFunctions(reg, container)] });
  const run = plan(env, toInterpreterExpr(expr) as never);
  return {
    run(activation) {
      const input: Record<string, unknown> = {};
      for (const k of Object.keys(activation)) input[k] = toInterpreter(activation[k]);
      const result = run(input as never) as CelValue | ReturnType<typeof run>;
      if (isCelError(result)) throw new CelErr("other", result.message);
      return fromInterpreterValue(result);
    },
  };
}

export type { Message };
