import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { extraRoutes } from "../../src/server/plugins.js";
import { bucketPolicy, startTestServer, type TestServer } from "./support.js";

let t: TestServer;

beforeAll(async () => {
  t = await startTestServer({ files: { "p.yaml": bucketPolicy }, routes: extraRoutes });
});

afterAll(async () => {
  await t.close();
});

/** A ConfigMap whose data has the key `__proto__`: a valid Kubernetes object (keys match [-._a-zA-Z0-9]+). */
const configMapReview = {
  apiVersion: "admission.k8s.io/v1",
  kind: "AdmissionReview",
  request: {
    uid: "uid-proto",
    kind: { group: "", version: "v1", kind: "ConfigMap" },
    resource: { group: "", version: "v1", resource: "configmaps" },
    name: "settings", namespace: "default", operation: "CREATE",
    userInfo: { username: "alice" },
    object: { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "settings", namespace: "default" }, data: { __proto__: "x", mode: "fast" } },
  },
};

describe("JSON objects with a key named __proto__ or constructor are data, not a reason to refuse the request", () => {
  it("the admission webhook answers a review whose object has such a key (a 400 lets the API server apply the webhook's failurePolicy: no policy evaluated)", async () => {
    const text = JSON.stringify(configMapReview).replace('"data":{"mode"', '"data":{"__proto__":"x","mode"');
    expect(text).toContain('"__proto__":"x"');
    for (const url of ["/v1/admission/validate", "/v1/admission/mutate"]) {
      const response = await t.server.app.inject({ method: "POST", url, headers: { "content-type": "application/json" }, payload: text });
      expect(response.statusCode, `${url}: ${response.body}`).toBe(200);
      expect(response.json().response).toMatchObject({ uid: "uid-proto", allowed: true });
    }
    expect(({} as Record<string, unknown>)["x"]).toBeUndefined();
  });

  it("a decide input with a __proto__ key is decided on what it says, and changes no prototype", async () => {
    const text = '{"input": {"action": "s3:PutBucketAcl", "resource": {"name": "b1", "acl": "public-read"}, "principal": {"id": "alice", "admin": false, "__proto__": {"admin": true}}, "constructor": {"prototype": {"polluted": true}}}}';
    const response = await t.as("ingest", { method: "POST", url: "/v1/decide", headers: { "content-type": "application/json" }, payload: text });
    expect(response.statusCode, response.body).toBe(200);
    expect(response.json().verdict).toBe("deny");
    expect(({} as Record<string, unknown>)["admin"]).toBeUndefined();
    expect(({} as Record<string, unknown>)["polluted"]).toBeUndefined();
  });
});
