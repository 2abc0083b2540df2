import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { admissionReviewToEvent } from "./admission.js";
import { parseCloudEvent } from "./cloudevents.js";
import {
  kubernetesManifestsToEvents,
  kubernetesObjectsToEvents,
  readKubernetesManifestDirectory,
} from "./kubernetes.js";
import type { IngestResult } from "./results.js";

const fixtures = fileURLToPath(new URL("../../test/fixtures/", import.meta.url));
type Json = Record<string, unknown>;
const api = (name: string): Json => JSON.parse(readFileSync(`${fixtures}kubernetes-api-testdata/${name}`, "utf8")) as Json;
const manifests = `${fixtures}kyverno-policies-resources/manifests/`;

const event = (result: IngestResult | undefined) => {
  if (result === undefined) throw new Error("no result");
  if (!result.ok) throw result.error;
  return result.event;
};

describe("Kubernetes objects (kubernetes/api testdata)", () => {
  it("maps subject kind/namespace/name, id uid@resourceVersion, data unchanged", () => {
    const deployment = api("apps.v1.Deployment.json");
    const [result] = kubernetesObjectsToEvents([deployment], { source: "/k8s/prod" });
    expect(event(result)).toEqual({
      specversion: "1.0",
      id: "uidValue@resourceVersionValue",
      source: "/k8s/prod",
      type: "io.k8s.resource",
      subject: "Deployment/namespaceValue/nameValue",
      datacontenttype: "application/json",
      data: deployment,
    });
  });

  it("converts each fixture object", () => {
    const names = ["apps.v1.Deployment.json", "core.v1.Pod.json", "core.v1.Service.json", "core.v1.ConfigMap.json", "core.v1.Namespace.json"];
    const results = kubernetesObjectsToEvents(names.map(api));
    expect(results.map((r) => event(r).subject)).toEqual([
      "Deployment/namespaceValue/nameValue",
      "Pod/namespaceValue/nameValue",
      "Service/namespaceValue/nameValue",
      "ConfigMap/namespaceValue/nameValue",
      "Namespace/namespaceValue/nameValue",
    ]);
    expect(results.map((r) => r.index)).toEqual([0, 1, 2, 3, 4]);
  });

  it("uses kind/name for cluster-scoped objects and hashes objects without uid", () => {
    const { namespace: _ns, uid: _uid, ...metadata } = api("core.v1.Namespace.json")["metadata"] as Json;
    const namespace = { ...api("core.v1.Namespace.json"), metadata };
    const e = event(kubernetesObjectsToEvents([namespace])[0]);
    expect(e.subject).toBe("Namespace/nameValue");
    expect(e.id).toMatch(/^sha256:/);
  });

  it("expands List objects", () => {
    const list = { apiVersion: "v1", kind: "List", items: [api("core.v1.Pod.json"), api("core.v1.ConfigMap.json")] };
    expect(kubernetesObjectsToEvents([list]).map((r) => event(r).subject)).toEqual(["Pod/namespaceValue/nameValue", "ConfigMap/namespaceValue/nameValue"]);
  });

  it("a typed list as the API server returns it (PodList, items without apiVersion and kind) gives each item the list's apiVersion and kind", () => {
    const { apiVersion: _a, kind: _k, ...pod } = api("core.v1.Pod.json");
    const { apiVersion: _b, kind: _l, ...deployment } = api("apps.v1.Deployment.json");
    const pods = { apiVersion: "v1", kind: "PodList", metadata: { resourceVersion: "42" }, items: [pod] };
    const deployments = { apiVersion: "apps/v1", kind: "DeploymentList", metadata: {}, items: [deployment] };
    for (const results of [kubernetesObjectsToEvents([pods, deployments]), kubernetesManifestsToEvents(`${JSON.stringify(pods)}\n---\n${JSON.stringify(deployments)}\n`)]) {
      expect(results.map((r) => (r.ok ? r.event.subject : r.problems))).toEqual(["Pod/namespaceValue/nameValue", "Deployment/namespaceValue/nameValue"]);
      expect(results.map((r) => (r.ok ? [(r.event.data as Json)["apiVersion"], (r.event.data as Json)["kind"]] : []))).toEqual([["v1", "Pod"], ["apps/v1", "Deployment"]]);
    }
    // An item that says its own kind keeps it; a plain `List` gives nothing to items.
    const mixed = kubernetesObjectsToEvents([{ apiVersion: "v1", kind: "List", items: [pod] }, { apiVersion: "v1", kind: "PodList", items: [{ ...pod, apiVersion: "v1", kind: "Pod" }] }]);
    expect(mixed.map((r) => r.ok)).toEqual([false, true]);
  });

  it("names a bad item of a List by its place in the list, as manifests do", () => {
    const list = { apiVersion: "v1", kind: "List", items: [api("core.v1.Pod.json"), { apiVersion: "v1", kind: "Pod", metadata: {} }] };
    for (const results of [kubernetesObjectsToEvents([list]), kubernetesManifestsToEvents(JSON.stringify(list))]) {
      expect(results.map((r) => (r.ok ? "ok" : `${r.index} ${r.problems.map((p) => p.field).join(",")}`))).toEqual(["ok", "1 items[1].metadata.name"]);
    }
  });

  it("names apiVersion, kind and metadata.name when they are missing", () => {
    const { apiVersion: _a, kind: _k, ...noType } = api("core.v1.ConfigMap.json");
    const noName = { ...api("core.v1.ConfigMap.json"), metadata: { namespace: "x" } };
    const results = kubernetesObjectsToEvents([noType, noName, { kind: "Pod" }]);
    expect(results.map((r) => (r.ok ? [] : r.problems.map((p) => p.field)))).toEqual([
      ["apiVersion", "kind"],
      ["metadata.name"],
      ["apiVersion", "metadata"],
    ]);
  });
});

describe("manifest files (multi-document YAML from kyverno/policies tests)", () => {
  it("reads every document with the line it starts on", () => {
    const text = readFileSync(`${manifests}disallow-latest-tag.yaml`, "utf8");
    const results = kubernetesManifestsToEvents(text, { file: "disallow-latest-tag.yaml" });
    expect(results).toHaveLength(8);
    expect(results.every((r) => r.ok)).toBe(true);
    expect(event(results[0]).subject).toBe("Pod/myapp-pod");
    expect(event(results[1]).subject).toBe("Pod/badpod01");
    expect(event(results[0]).source).toBe("disallow-latest-tag.yaml");
    expect(results[0]?.line).toBe(1);
    const lines = text.split("\n");
    for (const result of results) {
      expect(lines[(result.line ?? 0) - 1]).toMatch(/^apiVersion:/);
    }
  });

  // kubectl reads manifests with sigs.k8s.io/yaml (go-yaml v2): YAML 1.1 scalars, so 0644 is an
  // octal file mode (420) and an unquoted no is false; timestamps and 1:30 stay strings.
  it("reads manifest scalars as kubectl does (YAML 1.1: octal modes, yes/no booleans)", () => {
    const text = [
      "apiVersion: v1",
      "kind: Pod",
      "metadata:",
      "  name: web",
      "  annotations: {created: 2024-01-01, window: 1:30}",
      "spec:",
      "  automountServiceAccountToken: no",
      "  hostNetwork: off",
      "  volumes: [{name: cfg, configMap: {name: cfg, defaultMode: 0644}}]",
      "  containers: [{name: web, image: nginx}]",
    ].join("\n");
    const data = event(kubernetesManifestsToEvents(text)[0]).data as Json;
    const spec = data["spec"] as Json;
    expect(spec["automountServiceAccountToken"]).toBe(false);
    expect(spec["hostNetwork"]).toBe(false);
    expect(spec["volumes"]).toEqual([{ name: "cfg", configMap: { name: "cfg", defaultMode: 420 } }]);
    expect((data["metadata"] as Json)["annotations"]).toEqual({ created: "2024-01-01", window: "1:30" });
  });

  it("reports a broken document by line and still reads the others", () => {
    const text = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: a\n---\napiVersion: v1\nkind: [oops\n---\napiVersion: v1\nkind: Pod\nmetadata:\n  name: c\n";
    const results = kubernetesManifestsToEvents(text);
    expect(results.map((r) => r.ok)).toEqual([true, false, true]);
    expect(results[1]?.ok === false && results[1].error.code).toBe("VIGIL_BAD_INPUT");
    expect(results[1]?.line).toBeGreaterThanOrEqual(6);
  });

  it("gives manifest objects stable content ids (re-scanning is idempotent)", () => {
    const text = readFileSync(`${manifests}nested/check-deprecated-apis.yaml`, "utf8");
    const first = kubernetesManifestsToEvents(text).map((r) => event(r).id);
    expect(new Set(first).size).toBe(first.length);
    expect(kubernetesManifestsToEvents(text).map((r) => event(r).id)).toEqual(first);
  });

  it("walks a directory recursively in path order, with the file as source", async () => {
    const results = await readKubernetesManifestDirectory(manifests);
    expect(results.map((r) => r.file)).toEqual([
      ...Array(8).fill("disallow-latest-tag.yaml"),
      ...Array(4).fill("nested/check-deprecated-apis.yaml"),
      ...Array(4).fill("nested/disallow-default-namespace.yaml"),
    ]);
    expect(results.map((r) => r.index)).toEqual(results.map((_, i) => i));
    expect(results.every((r) => r.ok && r.event.source === r.file)).toBe(true);
    const cronJob = results.find((r) => r.ok && r.event.subject === "CronJob/bad-cronjob");
    expect(cronJob).toBeDefined();
  });

  // CloudEvents `source` is a URI-reference: a file path with a space or a % must be encoded, or
  // the event Vigil emits fails Vigil's own validation when it is read back (vigil replay).
  it("makes the file path a valid URI-reference source, so the event reads back", async () => {
    const text = readFileSync(`${manifests}disallow-latest-tag.yaml`, "utf8");
    const [first] = kubernetesManifestsToEvents(text, { file: "prod apps/100% latest.yaml" });
    expect(event(first).source).toBe("prod%20apps/100%25%20latest.yaml");
    expect(parseCloudEvent(JSON.parse(JSON.stringify(event(first)))).ok).toBe(true);
    const [windows] = kubernetesManifestsToEvents(text, { file: "prod\\apps\\latest.yaml" });
    expect(event(windows).source).toBe("prod/apps/latest.yaml");
    const directory = mkdtempSync(join(tmpdir(), "vigil-manifests-"));
    try {
      mkdirSync(join(directory, "my app"));
      writeFileSync(join(directory, "my app", "pod #1.yaml"), text);
      const results = await readKubernetesManifestDirectory(directory);
      expect(results[0]?.file).toBe(join("my app", "pod #1.yaml"));
      expect(event(results[0]).source).toBe("my%20app/pod%20%231.yaml");
      expect(results.every((r) => r.ok && parseCloudEvent(JSON.parse(JSON.stringify(r.event))).ok)).toBe(true);
    } finally {
      rmSync(directory, { recursive: true, force: true });
    }
  });

  it("reads manifests saved as UTF-16 with a byte order mark (Windows PowerShell 5's kubectl get -o yaml > file) as the same objects", async () => {
    // Read as UTF-8, such a file was one garbled string: "the record is a string, not an object".
    const text = readFileSync(`${manifests}disallow-latest-tag.yaml`, "utf8").replace(/\n/g, "\r\n");
    const directory = mkdtempSync(join(tmpdir(), "vigil-manifests-"));
    try {
      writeFileSync(join(directory, "le.yaml"), Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(text, "utf16le")]));
      const be = Buffer.from(text, "utf16le").swap16();
      writeFileSync(join(directory, "be.yaml"), Buffer.concat([Buffer.from([0xfe, 0xff]), be]));
      writeFileSync(join(directory, "utf8.yaml"), `\ufeff${text}`);
      const results = await readKubernetesManifestDirectory(directory);
      const expected = kubernetesManifestsToEvents(readFileSync(`${manifests}disallow-latest-tag.yaml`, "utf8")).map((r) => event(r).data);
      expect(expected.length).toBeGreaterThan(1);
      for (const file of ["le.yaml", "be.yaml", "utf8.yaml"]) {
        const ofFile = results.filter((r) => r.file === file);
        expect(ofFile.map((r) => event(r).data), file).toEqual(expected);
      }
    } finally {
      rmSync(directory, { recursive: true, force: true });
    }
  });
});

describe("AdmissionReview v1 and v1beta1", () => {
  const fixed = (name: string): Json => {
    const review = api(name);
    return { ...review, request: { ...(review["request"] as Json), operation: "CREATE" } };
  };

  it.each(["admission.k8s.io.v1.AdmissionReview.json", "admission.k8s.io.v1beta1.AdmissionReview.json"])(
    "%s: the placeholder operation is named as the problem",
    (name) => {
      const result = admissionReviewToEvent(api(name));
      expect(result.ok).toBe(false);
      if (result.ok) return;
      expect(result.problems.map((p) => p.field)).toEqual(["request.operation"]);
      expect(result.error.message).toContain('"operationValue": use one of CREATE, UPDATE, DELETE, CONNECT');
    },
  );

  it.each(["admission.k8s.io.v1.AdmissionReview.json", "admission.k8s.io.v1beta1.AdmissionReview.json"])(
    "%s with a real operation becomes an event",
    (name) => {
      const review = fixed(name);
      const e = event(admissionReviewToEvent(review, { source: "/k8s/prod", receivedAt: new Date("2024-05-01T00:00:00Z") }));
      expect(e).toEqual({
        specversion: "1.0",
        id: "uidValue",
        source: "/k8s/prod",
        type: "io.k8s.admission.review",
        subject: "namespaceValue/nameValue",
        time: "2024-05-01T00:00:00.000Z",
        datacontenttype: "application/json",
        data: review,
      });
    },
  );

  it("names each missing or malformed request field", () => {
    const review = fixed("admission.k8s.io.v1.AdmissionReview.json");
    const request = review["request"] as Json;
    const { uid: _u, userInfo: _i, ...rest } = request;
    const broken = {
      ...review,
      apiVersion: "admission.k8s.io/v2",
      request: { ...rest, kind: { group: "apps", kind: "Deployment" }, resource: "deployments", dryRun: "yes" },
    };
    const result = admissionReviewToEvent(broken);
    expect(result.ok === false && result.problems.map((p) => p.field)).toEqual([
      "apiVersion",
      "request.uid",
      "request.kind.version",
      "request.resource",
      "request.userInfo",
      "request.dryRun",
    ]);
    expect(admissionReviewToEvent({ apiVersion: "admission.k8s.io/v1", kind: "AdmissionReview" }).ok === false).toBe(true);
  });

  it("takes the subject from the object when the request has no name (generateName)", () => {
    const review = fixed("admission.k8s.io.v1.AdmissionReview.json");
    const request = review["request"] as Json;
    const { name: _n, ...rest } = request;
    const withObject = { ...review, request: { ...rest, object: { apiVersion: "v1", kind: "Pod", metadata: { generateName: "web-" } } } };
    expect(event(admissionReviewToEvent(withObject)).subject).toBe("namespaceValue/web-");
  });
});
