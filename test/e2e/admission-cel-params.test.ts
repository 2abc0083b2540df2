/**
 * Kyverno `validate.cel` rules with `paramKind` / `paramRef` (the library's other-cel
 * exclude-namespaces-dynamically and advanced-restrict-image-registries), through the admission
 * webhook with `admission.cluster`: their params are ConfigMaps read from a local stand-in for the
 * Kubernetes API server. The steps of the policies' chainsaw tests: with the policy in Enforce,
 * every object of the `*-good` files is admitted and every object of the `*-bad` files denied.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseAllDocuments } from "yaml";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startFakeKubernetesApi, type FakeKubernetesApi } from "../../src/context/kubernetes/api-test-server.js";
import type { VigilServer } from "../../src/server/app.js";
import { admissionReview, fixtures, startAdmissionAgent, tempDir, type KubeObject } from "./admission-support.js";

const documents = (file: string): KubeObject[] => parseAllDocuments(readFileSync(file, "utf8")).map((d) => d.toJS() as KubeObject).filter((d) => d !== null);

/** The policy file with `validationFailureAction: Enforce`, as the chainsaw test patches it. */
function enforced(dir: string, file: string): string {
  const text = readFileSync(file, "utf8").replace(/validationFailureAction: Audit/, "validationFailureAction: Enforce");
  const out = join(dir, file.split("/").at(-1) as string);
  writeFileSync(out, text);
  return out;
}

for (const name of ["exclude-namespaces-dynamically", "advanced-restrict-image-registries"]) {
  describe(`validate.cel params from the cluster: ${name} (its chainsaw test's steps)`, () => {
    const base = join(fixtures, "kyverno/other-cel", name);
    const steps = join(base, ".chainsaw-test");
    let api: FakeKubernetesApi;
    let running: Awaited<ReturnType<typeof startAdmissionAgent>>;
    let server: VigilServer;

    beforeAll(async () => {
      const objects = [...documents(join(steps, "cm.yaml")), ...documents(join(steps, name === "exclude-namespaces-dynamically" ? "ns.yaml" : "ns-01.yaml")), ...(name === "exclude-namespaces-dynamically" ? [] : documents(join(steps, "ns-02.yaml")))];
      api = await startFakeKubernetesApi({
        token: "sa-token",
        namespaces: [{ metadata: { name: "default" } }, ...objects.filter((o) => o["kind"] === "Namespace")],
        configMaps: objects.filter((o) => o["kind"] === "ConfigMap"),
      });
      running = await startAdmissionAgent({ policies: [enforced(tempDir(), join(base, `${name}.yaml`))], admission: { cluster: { server: api.url, token: "sa-token" } } });
      server = running.server;
    });
    afterAll(async () => {
      await running?.close();
      await api?.close();
    });

    const review = async (object: KubeObject) => {
      const response = await server.app.inject({ method: "POST", url: "/v1/admission/validate", payload: admissionReview(object) });
      expect(response.statusCode).toBe(200);
      const body = response.json() as { response: { allowed: boolean; status?: { message?: string } } };
      return { allowed: body.response.allowed, message: body.response.status?.message ?? "" };
    };
    const label = (o: KubeObject) => `${String(o["kind"])} ${String((o["metadata"] as { name?: string }).name)}`;

    it("admits every object of pod-good.yaml and podcontroller-good.yaml", async () => {
      for (const file of ["pod-good.yaml", "podcontroller-good.yaml"]) {
        for (const object of documents(join(steps, file))) {
          const answer = await review(object);
          expect(answer.allowed, `${file}: ${label(object)}: ${answer.message}`).toBe(true);
        }
      }
    });

    it("refuses pod-bad.yaml and podcontroller-bad.yaml (chainsaw expects each apply to fail), with the message the params fill in", async () => {
      const denied: string[] = [];
      for (const file of ["pod-bad.yaml", "podcontroller-bad.yaml"]) {
        for (const object of documents(join(steps, file))) {
          const answer = await review(object);
          if (answer.allowed) continue;
          denied.push(`${file}: ${label(object)}`);
          if (name === "exclude-namespaces-dynamically") expect(answer.message).toContain("exclude-ns, exclude-ns-2");
          else expect(answer.message).toContain("not from an approved registry");
        }
      }
      // Each denied object, by file. badpod01 of advanced-restrict-image-registries names a ghcr.io image, which the
      // cluster-wide registries ConfigMap allows: it is admitted (the file's apply still fails on the others).
      expect(denied).toEqual(name === "exclude-namespaces-dynamically"
        ? ["pod-bad.yaml: Pod badpod01", "pod-bad.yaml: Pod badpod02", "pod-bad.yaml: Pod badpod03", "podcontroller-bad.yaml: Deployment baddeployment01", "podcontroller-bad.yaml: CronJob badcronjob01"]
        : ["pod-bad.yaml: Pod badpod02", "pod-bad.yaml: Pod badpod03", "pod-bad.yaml: Pod badpod04", "podcontroller-bad.yaml: Deployment baddeploy01", "podcontroller-bad.yaml: CronJob badcronjob01"]);
    });

    it("without the parameter ConfigMap, parameterNotFoundAction Deny denies and says so", async () => {
      api.remove("configmaps", name === "exclude-namespaces-dynamically" ? "namespace-filters" : "clusterregistries", "default");
      // The cache applies the watch event; the next review reads the live API, which answers 404.
      await new Promise((resolve) => setTimeout(resolve, 100));
      const object = documents(join(steps, "pod-good.yaml"))[0] as KubeObject;
      const answer = await review(object);
      expect(answer.allowed).toBe(false);
      expect(answer.message).toContain("no params found");
      expect(answer.message).toContain("parameterNotFoundAction Deny");
    });
  });
}
