/** Every function library of the environment (docs/cel.md lists them). */
import type { Overload } from "../runtime/functions.js";
import { stdOverloads } from "./std.js";

export const allLibraries: readonly Overload[] = [...stdOverloads];
