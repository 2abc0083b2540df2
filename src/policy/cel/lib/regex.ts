/** The Kubernetes regex library: `s.find(re)`, `s.findAll(re)`, `s.findAll(re, limit)` (RE2 syntax). */
import type { Overload } from "../runtime/functions.js";
import { compileRegex, regexFind, regexFindAll } from "../runtime/regex.js";
import { isInt, noOverload } from "../runtime/values.js";

const onString = (args: readonly unknown[]): boolean => typeof args[0] === "string" && typeof args[1] === "string";

export const regexOverloads: readonly Overload[] = [
  {
    name: "find", receiver: true, arity: 1, accepts: onString,
    impl: (s, re) => regexFind(compileRegex(re as string), s as string),
  },
  {
    name: "findAll", receiver: true, arity: 1, accepts: onString,
    impl: (s, re) => regexFindAll(compileRegex(re as string), s as string, -1),
  },
  {
    name: "findAll", receiver: true, arity: 2, accepts: onString,
    impl: (s, re, limit) => {
      if (!isInt(limit)) throw noOverload("findAll", s, re, limit);
      return regexFindAll(compileRegex(re as string), s as string, Number(limit));
    },
  },
];
