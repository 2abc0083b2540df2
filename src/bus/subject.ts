import { VigilError } from "../core/index.js";

/**
 * Bus subjects follow NATS rules so every adapter accepts the same names: tokens separated by
 * `.`, no whitespace, no empty token. Subscriptions may use `*` (exactly one token) and `>` (one
 * or more tokens, last position only); published subjects may not.
 */
const TOKEN = /^[^\s.*>]+$/;

/** Throws VigilError(VIGIL_BAD_INPUT) naming `field` when `subject` is not a valid (pattern when `pattern`) subject. */
export function checkSubject(subject: string, field: string, pattern: boolean): void {
  const tokens = typeof subject === "string" && subject !== "" ? subject.split(".") : [];
  const valid = tokens.length > 0 && tokens.every((token, index) => TOKEN.test(token) || (pattern && (token === "*" || (token === ">" && index === tokens.length - 1))));
  if (!valid) {
    const rules = pattern ? "dot-separated tokens; `*` matches one token, `>` (last) matches the rest" : "dot-separated tokens without spaces or the wildcards * and >";
    throw new VigilError("VIGIL_BAD_INPUT", `${field} ${JSON.stringify(subject)} is not a valid bus subject: use ${rules}, e.g. vigil.events.ingested`, { field });
  }
}

/** Does `subject` fall under the subscription `pattern`? */
export function subjectMatches(pattern: string, subject: string): boolean {
  if (pattern === subject) return true;
  const wanted = pattern.split(".");
  const actual = subject.split(".");
  for (let index = 0; index < wanted.length; index++) {
    const token = wanted[index];
    if (token === ">") return actual.length > index;
    if (index >= actual.length) return false;
    if (token !== "*" && token !== actual[index]) return false;
  }
  return wanted.length === actual.length;
}

/** Does the subscription pattern `outer` match every subject `inner` (a subject or pattern) matches? */
export function patternCovers(outer: string, inner: string): boolean {
  const wide = outer.split(".");
  const narrow = inner.split(".");
  for (let index = 0; index < wide.length; index++) {
    const token = wide[index];
    if (token === ">") return narrow.length > index;
    const other = narrow[index];
    if (other === undefined || other === ">") return false;
    if (token !== "*" && (other === "*" || token !== other)) return false;
  }
  return wide.length === narrow.length;
}

/** Group names become durable consumer names: letters, digits, `-` and `_`. */
export function checkGroup(group: string): void {
  if (typeof group !== "string" || !/^[A-Za-z0-9_-]{1,64}$/.test(group)) {
    throw new VigilError("VIGIL_BAD_INPUT", `bus group ${JSON.stringify(group)} must be 1-64 letters, digits, '-' or '_' (it names a durable consumer), e.g. decide-workers`, { field: "group" });
  }
}
