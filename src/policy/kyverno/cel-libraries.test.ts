import { describe, expect, it } from "vitest";
import { createCelEnvironment } from "../cel/index.js";
import { kyvernoCelActivation, kyvernoCelFunctions } from "./cel-libraries.js";
import { baseDocument } from "./context.js";
import { resourceInput } from "./request.js";

const env = createCelEnvironment().extend({ functions: kyvernoCelFunctions });
const pod = { apiVersion: "v1", kind: "Pod", metadata: { name: "p", namespace: "default" }, spec: { containers: [{ name: "c", image: "ghcr.io/acme/app:1.0" }] } };
const input = resourceInput(pod, { userInfo: { username: "system:serviceaccount:team:builder" } });
const activation = kyvernoCelActivation(input, baseDocument(input), {
  clusterResources: [{ apiVersion: "v1", kind: "ConfigMap", metadata: { name: "cfg", namespace: "default" }, data: { registries: "ghcr.io" } }],
  imageMetadata: [{ image: "ghcr.io/acme/app:1.0", manifest: { annotations: { base: "distroless" } } }],
});
const run = (expr: string) => env.compile(expr).evaluate(activation);

describe("Kyverno CEL libraries", () => {
  it("reads cluster resources with resource.Get / resource.List", () => {
    expect(run("resource.Get('v1', 'configmaps', 'default', 'cfg').data.registries")).toEqual({ ok: true, value: "ghcr.io" });
    expect(run("size(resource.List('v1', 'configmaps', 'default').items)")).toEqual({ ok: true, value: 1 });
    expect(run("resource.Get('v1', 'configmaps', 'default', 'missing')").ok).toBe(false);
  });

  it("parses images and service accounts, and reads image metadata from the test context", () => {
    expect(run("image(object.spec.containers[0].image).registry()")).toEqual({ ok: true, value: "ghcr.io" });
    expect(run("parseServiceAccount(request.userInfo.username).Namespace")).toEqual({ ok: true, value: "team" });
    expect(run("image.GetMetadata(object.spec.containers[0].image).manifest.annotations.base")).toEqual({ ok: true, value: "distroless" });
    expect(run("image.GetMetadata('nginx')").ok).toBe(false);
  });

  it("accepts orValue on a value that is not an optional, as Kyverno does", () => {
    expect(run("object.spec.containers.orValue([]).size()")).toEqual({ ok: true, value: 1 });
    expect(run("object.spec.?volumes.orValue([]).size()")).toEqual({ ok: true, value: 0 });
  });
});
