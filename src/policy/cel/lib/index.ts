/**
 * Every function library of the environment (docs/cel.md lists them): the CEL standard library
 * with optional values, and the extension libraries Kubernetes and cel-go provide.
 */
import type { Overload } from "../runtime/functions.js";
import { noOverload } from "../runtime/values.js";
import { listOverloads } from "./lists.js";
import { mathOverloads } from "./math.js";
import { netOverloads } from "./net.js";
import { quantityOverloads } from "./quantity.js";
import { regexOverloads } from "./regex.js";
import { semverOverloads } from "./semver.js";
import { stdOverloads } from "./std.js";
import { stringOverloads } from "./strings.js";
import { urlOverloads } from "./url.js";

/** Kubernetes jsonpatch library: escapes a map key for use in a JSON Patch path (RFC 6901). */
const jsonpatchOverloads: readonly Overload[] = [
  {
    name: "jsonpatch.escapeKey", receiver: false, arity: 1,
    impl: (k) => {
      if (typeof k !== "string") throw noOverload("jsonpatch.escapeKey", k);
      return k.replace(/~/g, "~0").replace(/\//g, "~1");
    },
  },
];

export const allLibraries: readonly Overload[] = [
  ...stdOverloads,
  ...stringOverloads,
  ...listOverloads,
  ...mathOverloads,
  ...regexOverloads,
  ...netOverloads,
  ...quantityOverloads,
  ...semverOverloads,
  ...urlOverloads,
  ...jsonpatchOverloads,
];
