import { describe, expect, it } from "vitest";
import { reviewWithoutSecretValues, secretWithoutValues } from "./request.js";

describe("a Secret without its values (the generate events Vigil stores)", () => {
  const lastApplied = "kubectl.kubernetes.io/last-applied-configuration";
  const secret = (data: string) => ({
    apiVersion: "v1", kind: "Secret", type: "Opaque",
    metadata: { name: "regcred", namespace: "default", labels: { team: "a" }, annotations: { [lastApplied]: `{"data":{"token":"${data}"}}`, owner: "platform" } },
    data: { token: data }, stringData: { plain: "hunter2" },
  });

  it("drops data, stringData and kubectl's last-applied annotation, keeps everything else; other kinds and values are returned as they are", () => {
    expect(secretWithoutValues(secret("c2VjcmV0"))).toEqual({ apiVersion: "v1", kind: "Secret", type: "Opaque", metadata: { name: "regcred", namespace: "default", labels: { team: "a" }, annotations: { owner: "platform" } } });
    const configMap = { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "c" }, data: { a: "b" } };
    expect(secretWithoutValues(configMap)).toBe(configMap);
    const custom = { apiVersion: "example.com/v1", kind: "Secret", data: { a: "b" } };
    expect(secretWithoutValues(custom)).toBe(custom);
    expect(secretWithoutValues(null)).toBeNull();
  });

  it("an AdmissionReview of a core Secret loses the values of object and oldObject; the original is not changed; other reviews are returned as they are", () => {
    const review = { apiVersion: "admission.k8s.io/v1", kind: "AdmissionReview", request: { uid: "u1", kind: { group: "", version: "v1", kind: "Secret" }, operation: "UPDATE", object: secret("bmV3"), oldObject: secret("b2xk") } };
    const stripped = reviewWithoutSecretValues(review);
    expect(JSON.stringify(stripped)).not.toMatch(/bmV3|b2xk|hunter2/);
    expect(stripped).toMatchObject({ request: { uid: "u1", operation: "UPDATE", object: { metadata: { name: "regcred" } }, oldObject: { kind: "Secret" } } });
    expect(review.request.object.data).toEqual({ token: "bmV3" });
    const deletion = { ...review, request: { ...review.request, operation: "DELETE", object: null } };
    expect(reviewWithoutSecretValues(deletion)).toMatchObject({ request: { object: null, oldObject: { kind: "Secret" } } });
    const pod = { request: { kind: { group: "", version: "v1", kind: "Pod" }, object: { kind: "Pod", data: 1 } } };
    expect(reviewWithoutSecretValues(pod)).toBe(pod);
  });
});
