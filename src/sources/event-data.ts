import { EventTypes } from "../core/index.js";
import { validateAdmissionReview } from "./admission.js";
import { validateCloudTrailRecord } from "./cloudtrail.js";
import { validateFocusRow } from "./focus.js";
import { validateKubernetesObject } from "./kubernetes.js";
import { validateOktaEvent } from "./okta.js";
import { problem, type FieldProblem } from "./results.js";
import { isRecord, kindOf } from "./values.js";
import { isVigilDataType, vigilDataValidators } from "./vigil-data.js";

type DataValidator = (data: unknown, prefix: string) => FieldProblem[];

const validators = new Map<string, DataValidator>([
  [EventTypes.cloudTrail, validateCloudTrailRecord],
  [EventTypes.oktaSystemLog, validateOktaEvent],
  [EventTypes.admissionReview, validateAdmissionReview],
  [EventTypes.kubernetesResource, validateKubernetesObject],
  [EventTypes.focusCost, validateFocusRow],
]);

/** True when Vigil knows the `data` shape of this event type (EVENTS.md). */
export function isKnownEventType(type: string): boolean {
  return validators.has(type) || isVigilDataType(type) || type.startsWith(EventTypes.githubPrefix);
}

/**
 * Validates `data` for the well-known event types (EVENTS.md); problems name the field as
 * `data.<path>`. Unknown types return no problems: they are accepted unchanged, never dropped.
 * `binary` is true when the event carries `data_base64` instead of `data`. Never throws.
 */
export function validateEventData(type: string, data: unknown, binary = false): FieldProblem[] {
  if (!isKnownEventType(type)) return [];
  if (binary) {
    return [problem("data_base64", `events of type ${type} carry a JSON object in \`data\`, not binary \`data_base64\`: send the JSON with datacontenttype application/json`)];
  }
  if (data === undefined) {
    return [problem("data", `\`data\` is missing: events of type ${type} carry their record in \`data\` (see docs/events.md)`)];
  }
  if (type.startsWith(EventTypes.githubPrefix)) {
    return isRecord(data) ? [] : [problem("data", `\`data\` is ${kindOf(data)}: GitHub events carry the webhook payload object`)];
  }
  if (isVigilDataType(type)) return vigilDataValidators[type](data, "data");
  const validator = validators.get(type);
  return validator === undefined ? [] : validator(data, "data");
}
