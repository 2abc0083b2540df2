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

describe("registry client caches: least recently used dropped first, bounded", () => {
  const images = { "team/a:1": { created: "2021-01-01T00:00:00Z" }, "team/b:1": { created: "2021-01-02T00:00:00Z" }, "team/c:1": { created: "2021-01-03T00:00:00Z" }, "team/d:1": { created: "2021-01-04T00:00:00Z" }, "team/a:2": { created: "2021-01-05T00:00:00Z" }, "team/c:2": { created: "2021-01-06T00:00:00Z" } };
  const manifestGets = (r: FakeRegistry, reference: string) => r.requests.filter((q) => q.path === `/v2/${reference.replace(":", "/manifests/")}`).length;

  it("an image read again within cacheSeconds is kept over images not read since", async () => {
    registry = await startFakeRegistry(images);
    const r = registry;
    const client = createRegistryClient({ insecure: [r.host], maxCachedAnswers: 3 });
    for (const image of ["team/a:1", "team/b:1", "team/c:1"]) expect((await client.describe(`${r.host}/${image}`)).ok).toBe(true);
    await client.describe(`${r.host}/team/a:1`); // a hit: a is now the most recently used
    await client.describe(`${r.host}/team/d:1`); // drops b, the least recently used
    await client.describe(`${r.host}/team/a:1`);
    expect(manifestGets(r, "team/a:1")).toBe(1);
    await client.describe(`${r.host}/team/b:1`);
    expect(manifestGets(r, "team/b:1")).toBe(2);
    expect(client.stats().cached).toBe(3);
  });

  it("an answer refreshed after cacheSeconds moves to the back", async () => {
    registry = await startFakeRegistry(images);
    const r = registry;
    const client = createRegistryClient({ insecure: [r.host], maxCachedAnswers: 3, cacheSeconds: 0.05 });
    await client.describe(`${r.host}/team/a:1`);
    await client.describe(`${r.host}/team/b:1`);
    await new Promise((resolve) => setTimeout(resolve, 80));
    await client.describe(`${r.host}/team/a:1`); // expired: fetched again, now the newest
    expect(manifestGets(r, "team/a:1")).toBe(2);
    await client.describe(`${r.host}/team/c:1`);
    await client.describe(`${r.host}/team/d:1`); // full: drops b (stale and oldest), not the refreshed a
    await client.describe(`${r.host}/team/a:1`);
    expect(manifestGets(r, "team/a:1")).toBe(2);
  });

  it("registry tokens are kept for a bounded number of repositories, least recently used dropped first", async () => {
    registry = await startFakeRegistry(images, { token: "pull-token" });
    const r = registry;
    const client = createRegistryClient({ insecure: [r.host], maxTokens: 2 });
    for (const image of ["team/a:1", "team/b:1", "team/c:1"]) expect((await client.describe(`${r.host}/${image}`)).ok).toBe(true);
    const firstGet = (reference: string) => r.requests.find((q) => q.path === `/v2/${reference.replace(":", "/manifests/")}`);
    await client.describe(`${r.host}/team/c:2`); // c's token is kept
    expect(firstGet("team/c:2")?.authorization).toBe("Bearer pull-token");
    await client.describe(`${r.host}/team/a:2`); // a's was dropped when c's came: asked for again
    expect(firstGet("team/a:2")?.authorization).toBeUndefined();
    expect(r.requests.filter((q) => q.path.startsWith("/token?") && q.path.includes("team%2Fa")).length).toBe(2);
  });
});
