/** Canonical JSON lives in core (pure; policy revisions, content ids and learned state use it too). */
export { canonicalJson } from "../core/canonical-json.js";
