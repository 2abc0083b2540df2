import { describe, expect, it } from "vitest";
import { conditionResultType } from "./condition-type.js";

describe("conditionResultType", () => {
  it("knows the type of literals, operators, macros and standard functions", () => {
    const known: [string, string][] = [
      ['"yes"', "string"], ["1", "int"], ["-1", "int"], ["2u", "uint"], ["1.5", "double"], ["b'x'", "bytes"], ["null", "null_type"], ["true", "bool"],
      ["[1]", "list"], ["{}", "map"], ["a == 1", "bool"], ["a in b", "bool"], ["!a", "bool"], ["a && b", "bool"], ["has(a.b)", "bool"],
      ["a.all(x, x)", "bool"], ["a.map(x, x)", "list"], ["a + [1]", "list"], ['"a" + a', "string"], ["size(a)", "int"], ["a.size()", "int"],
      ['a.b.startsWith("x")', "bool"], ["string(a)", "string"], ["a ? 1 : 2", "int"], ["cel.bind(x, a, x == 1)", "bool"],
    ];
    for (const [source, type] of known) expect([source, conditionResultType(source)]).toEqual([source, type]);
  });

  it("is dyn for whatever only evaluation knows: variables, indexes, extension functions, mixed branches, time arithmetic, unparsable text", () => {
    for (const source of ["resource.name", "a[0]", "a.?b", "math.greatest(1, 2)", "vigil.join(a)", "x.lowerAscii()", "a ? 1 : b", "a + b", "timestamp(a) - timestamp(b)", "dyn(1)", "a ==", "1 + 1.0"]) {
      expect([source, conditionResultType(source)]).toEqual([source, "dyn"]);
    }
  });
});
