import { afterEach, describe, expect, it } from "vitest";
import { createRegistryClient, parseImageReference } from "./registry-client.js";
import { startFakeRegistry, type FakeRegistry } from "./registry-test-server.js";

let registry: FakeRegistry | undefined;
afterEach(async () => {
  await registry?.close();
  registry = undefined;
});

describe("OCI registry client (imageRegistry context entries)", () => {
  it("splits references as registries address them (Docker Hub's short names expanded)", () => {
    expect(parseImageReference("nginx")).toEqual({ host: "registry-1.docker.io", registry: "index.docker.io", repository: "library/nginx", identifier: "latest" });
    expect(parseImageReference("docker.io/bitnami/redis:7.2")).toEqual({ host: "registry-1.docker.io", registry: "index.docker.io", repository: "bitnami/redis", identifier: "7.2" });
    expect(parseImageReference("ghcr.io/kyverno/kyverno:v1.12.0@sha256:abc")).toEqual({ host: "ghcr.io", registry: "ghcr.io", repository: "kyverno/kyverno", identifier: "sha256:abc" });
    expect(parseImageReference("127.0.0.1:5000/team/app:1.0")).toEqual({ host: "127.0.0.1:5000", registry: "127.0.0.1:5000", repository: "team/app", identifier: "1.0" });
  });

  it("answers Kyverno's image data: the token handshake, an index resolved to linux/amd64, the config blob behind a redirect", async () => {
    registry = await startFakeRegistry({ "team/app:1.0": { created: "2021-03-04T05:06:07Z", labels: { maintainer: "team-a" }, annotations: { "org.opencontainers.image.base.name": "docker.io/library/alpine:3.19" }, index: true } }, { token: "pull-token" });
    const client = createRegistryClient({ insecure: [registry.host] });
    const answer = await client.describe(`${registry.host}/team/app:1.0`);
    expect(answer.ok).toBe(true);
    const data = (answer as { body: Record<string, any> }).body;
    expect(data).toMatchObject({
      image: `${registry.host}/team/app:1.0`,
      resolvedImage: `${registry.host}/team/app@${registry.digestOf("team/app:1.0")}`,
      registry: registry.host,
      repository: "team/app",
      identifier: "1.0",
      configData: { created: "2021-03-04T05:06:07Z", config: { Labels: { maintainer: "team-a" } } },
    });
    expect(data["manifest"]["annotations"]).toEqual({ "org.opencontainers.image.base.name": "docker.io/library/alpine:3.19" });
    expect(data["manifest"]["layers"]).toHaveLength(1);
    // the first GET was refused, the token came from the realm, and every later GET carried it
    expect(registry.requests[0]).toMatchObject({ path: "/v2/team/app/manifests/1.0", authorization: undefined });
    expect(registry.requests[1]?.path).toBe("/token?service=fake-registry&scope=repository%3Ateam%2Fapp%3Apull");
    expect(registry.requests.filter((r) => r.path.startsWith("/v2/")).slice(1).every((r) => r.authorization === "Bearer pull-token")).toBe(true);
    // reused within cacheSeconds: no new request
    const before = registry.requests.length;
    expect(await client.describe(`${registry.host}/team/app:1.0`)).toEqual(answer);
    expect(registry.requests.length).toBe(before);
  });

  it("an unknown tag is an error naming the request and the registry's code; failures are not cached", async () => {
    registry = await startFakeRegistry({ "team/app:1.0": { created: "2021-03-04T05:06:07Z" } });
    const client = createRegistryClient({ insecure: [registry.host] });
    const missing = await client.describe(`${registry.host}/team/app:2.0`);
    expect(missing).toEqual({ ok: false, error: `GET ${registry.host}/v2/team/app/manifests/2.0 answered HTTP 404: MANIFEST_UNKNOWN manifest unknown: team/app:2.0` });
    await client.describe(`${registry.host}/team/app:2.0`);
    expect(registry.requests.filter((r) => r.path === "/v2/team/app/manifests/2.0")).toHaveLength(2);
  });
});
