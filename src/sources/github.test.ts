import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { deliveryIdStoreContract } from "./delivery-id-store-contract.js";
import {
  createMemoryDeliveryIdStore,
  receiveGithubWebhook,
  signGithubPayload,
  verifyGithubSignature,
  type DeliveryIdStore,
} from "./github.js";

const fixtures = fileURLToPath(new URL("../../test/fixtures/octokit-webhooks-examples/", import.meta.url));
const payload = (path: string): Buffer => readFileSync(`${fixtures}${path}`);
const SECRET = "test-secret-do-not-use";

function delivery(path: string, event: string, id: string, secret = SECRET, extra: Record<string, string> = {}) {
  const body = payload(path);
  return {
    headers: {
      "Content-Type": "application/json",
      "X-GitHub-Event": event,
      "X-GitHub-Delivery": id,
      "X-Hub-Signature-256": signGithubPayload(secret, body),
      ...extra,
    },
    body,
  };
}

const config = (deliveries: DeliveryIdStore = createMemoryDeliveryIdStore()) => ({ secrets: [SECRET], deliveries });

describe("GitHub webhooks on octokit's example payloads", () => {
  it.each([
    ["pull_request/00-opened.json", "pull_request", "Codertocat/Hello-World#2", "https://github.com/Codertocat/Hello-World"],
    ["pull_request/22-synchronize.json", "pull_request", "Codertocat/Hello-World#2", "https://github.com/Codertocat/Hello-World"],
    ["pull_request_review/00-submitted.json", "pull_request_review", "Codertocat/Hello-World#2", "https://github.com/Codertocat/Hello-World"],
    ["push/00-none.json", "push", "Codertocat/Hello-World", "https://github.com/Codertocat/Hello-World"],
    ["check_run/00-created.json", "check_run", "Codertocat/Hello-World", "https://github.com/Codertocat/Hello-World"],
    ["repository/01-created.json", "repository", "Octocoders/Hello-World", "https://github.com/Octocoders/Hello-World"],
    ["workflow_run/00-completed.json", "workflow_run", "Codertocat/Hello-World", "https://github.com/Codertocat/Hello-World"],
    ["organization/00-member_added.json", "organization", "Octocoders", "https://github.com/Octocoders"],
    ["installation/01-created.json", "installation", undefined, "https://github.com"],
    // Discussions share the repository's issue and pull request numbers (owner/repo#n).
    ["discussion/03-created.json", "discussion", "Codertocat/Hello-World#4", "https://github.com/Codertocat/Hello-World"],
    ["discussion_comment/01-created.json", "discussion_comment", "Codertocat/Hello-World#4", "https://github.com/Codertocat/Hello-World"],
  ])("%s → com.github.%s, subject %s", async (path, event, subject, source) => {
    const receivedAt = new Date("2024-05-01T12:00:00Z");
    const result = await receiveGithubWebhook({ ...delivery(path, event, `id-${path}`), receivedAt }, config());
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.event.type).toBe(`com.github.${event}`);
    expect(result.event.id).toBe(`id-${path}`);
    expect(result.event.subject).toBe(subject);
    expect(result.event.source).toBe(source);
    expect(result.event.time).toBe("2024-05-01T12:00:00.000Z");
    expect(result.event.data).toEqual(JSON.parse(payload(path).toString("utf8")));
  });

  it("rejects a wrong secret, a tampered body and a missing or malformed signature", async () => {
    const wrong = await receiveGithubWebhook(delivery("push/00-none.json", "push", "d1", "another-secret"), config());
    expect(wrong.ok === false && wrong.reason).toBe("signature");
    expect(wrong.ok === false && wrong.error.code).toBe("VIGIL_UNAUTHENTICATED");

    const good = delivery("push/00-none.json", "push", "d2");
    const tampered = Buffer.from(good.body.toString("utf8").replace("Codertocat", "Attacker"));
    const result = await receiveGithubWebhook({ ...good, body: tampered }, config());
    expect(result.ok === false && result.error.details.field).toBe("x-hub-signature-256");

    const { "X-Hub-Signature-256": _sig, ...unsigned } = good.headers;
    const missing = await receiveGithubWebhook({ headers: unsigned, body: good.body }, config());
    expect(missing.ok === false && missing.error.message).toContain("header is missing");

    const sha1 = await receiveGithubWebhook({ ...good, headers: { ...good.headers, "X-Hub-Signature-256": "sha1=abcdef" } }, config());
    expect(sha1.ok === false && sha1.reason).toBe("signature");
  });

  // The signature covers the bytes GitHub sent: a body a framework already parsed (express.json())
  // cannot be verified, and re-serializing it gives other bytes. Say so; never throw.
  it("names a parsed body instead of throwing, and does not verify re-serialized JSON", async () => {
    const good = delivery("push/00-none.json", "push", "p1");
    const parsed = JSON.parse(good.body.toString("utf8")) as unknown;
    expect(verifyGithubSignature([SECRET], parsed as string, good.headers["X-Hub-Signature-256"])).toBe(-1);
    const result = await receiveGithubWebhook({ headers: good.headers, body: parsed as string }, config());
    expect(result.ok === false && [result.reason, result.error.details.field]).toEqual(["bad-request", "body"]);
    expect(result.ok === false && result.error.message).toContain("raw body");
    const reserialized = await receiveGithubWebhook({ headers: good.headers, body: JSON.stringify(parsed) }, config());
    expect(reserialized.ok === false && reserialized.reason).toBe("signature");
  });

  it("never records the delivery id of a request that fails verification", async () => {
    const deliveries = createMemoryDeliveryIdStore();
    await receiveGithubWebhook(delivery("push/00-none.json", "push", "d-forged", "attacker"), config(deliveries));
    expect(deliveries.size).toBe(0);
    const real = await receiveGithubWebhook(delivery("push/00-none.json", "push", "d-forged"), config(deliveries));
    expect(real.ok).toBe(true);
  });

  it("accepts any configured secret during rotation and says which matched", async () => {
    const rotating = { secrets: ["new-secret", SECRET], deliveries: createMemoryDeliveryIdStore() };
    const old = await receiveGithubWebhook(delivery("push/00-none.json", "push", "r1", SECRET), rotating);
    expect(old.ok && old.secretIndex).toBe(1);
    const fresh = await receiveGithubWebhook(delivery("push/00-none.json", "push", "r2", "new-secret"), rotating);
    expect(fresh.ok && fresh.secretIndex).toBe(0);
  });

  it("refuses to run with no secret configured", async () => {
    const result = await receiveGithubWebhook(delivery("push/00-none.json", "push", "x"), { secrets: [""], deliveries: createMemoryDeliveryIdStore() });
    expect(result.ok === false && result.error.details.field).toBe("secrets");
  });

  it("rejects a replayed delivery id, and accepts it again after forget()", async () => {
    const deliveries = createMemoryDeliveryIdStore();
    const first = await receiveGithubWebhook(delivery("pull_request/00-opened.json", "pull_request", "72d3162e"), config(deliveries));
    expect(first.ok).toBe(true);
    const replay = await receiveGithubWebhook(delivery("pull_request/00-opened.json", "pull_request", "72d3162e"), config(deliveries));
    expect(replay.ok === false && replay.reason).toBe("replay");
    expect(replay.ok === false && replay.error.code).toBe("VIGIL_CONFLICT");
    await deliveries.forget("72d3162e");
    const redelivered = await receiveGithubWebhook(delivery("pull_request/00-opened.json", "pull_request", "72d3162e"), config(deliveries));
    expect(redelivered.ok).toBe(true);
  });

  it("lets exactly one of two concurrent deliveries of the same id through", async () => {
    const deliveries = createMemoryDeliveryIdStore();
    const results = await Promise.all([1, 2, 3].map(() => receiveGithubWebhook(delivery("push/00-none.json", "push", "same"), config(deliveries))));
    expect(results.filter((r) => r.ok)).toHaveLength(1);
  });

  it("reads form-encoded deliveries (payload=...) and verifies the raw form body", async () => {
    const json = payload("push/00-none.json").toString("utf8");
    const body = Buffer.from(new URLSearchParams({ payload: json }).toString());
    const result = await receiveGithubWebhook(
      {
        headers: {
          "content-type": "application/x-www-form-urlencoded",
          "x-github-event": "push",
          "x-github-delivery": "form-1",
          "x-hub-signature-256": signGithubPayload(SECRET, body),
        },
        body,
      },
      config(),
    );
    expect(result.ok && result.event.data).toEqual(JSON.parse(json));
  });

  it("names the missing header or bad body of a signed but malformed request", async () => {
    const good = delivery("push/00-none.json", "push", "m1");
    const { "X-GitHub-Event": _e, ...noEvent } = good.headers;
    const a = await receiveGithubWebhook({ headers: noEvent, body: good.body }, config());
    expect(a.ok === false && [a.reason, a.error.details.field]).toEqual(["bad-request", "x-github-event"]);
    const { "X-GitHub-Delivery": _d, ...noDelivery } = good.headers;
    const b = await receiveGithubWebhook({ headers: noDelivery, body: good.body }, config());
    expect(b.ok === false && b.error.details.field).toBe("x-github-delivery");
    const text = "not json";
    const c = await receiveGithubWebhook({ headers: { ...good.headers, "X-Hub-Signature-256": signGithubPayload(SECRET, text) }, body: text }, config());
    expect(c.ok === false && c.error.details.field).toBe("body");
    const deep = JSON.stringify({ ...(JSON.parse(good.body.toString("utf8")) as Record<string, unknown>), hook: "DEEP" }).replace('"DEEP"', `${"[".repeat(20_000)}${"]".repeat(20_000)}`);
    const d = await receiveGithubWebhook({ headers: { ...good.headers, "X-Hub-Signature-256": signGithubPayload(SECRET, deep) }, body: deep }, config());
    expect(d.ok === false && [d.reason, d.error.details.field]).toEqual(["bad-request", "hook"]);
  });
});

describe("signature verification", () => {
  it("matches GitHub's documented example", () => {
    // From GitHub's "Validating webhook deliveries" docs: secret "It's a Secret to Everybody", payload "Hello, World!".
    const signature = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17";
    expect(signGithubPayload("It's a Secret to Everybody", "Hello, World!")).toBe(signature);
    expect(verifyGithubSignature(["It's a Secret to Everybody"], Buffer.from("Hello, World!"), signature)).toBe(0);
    expect(verifyGithubSignature(["It's a Secret to Everybody"], "Hello, World?", signature)).toBe(-1);
    expect(verifyGithubSignature(["It's a Secret to Everybody"], "Hello, World!", signature.toUpperCase().replace("SHA256", "sha256"))).toBe(0);
  });
});

deliveryIdStoreContract("memory", () => createMemoryDeliveryIdStore());

describe("memory delivery id store", () => {
  it("is bounded: the oldest id is evicted past capacity", () => {
    const store = createMemoryDeliveryIdStore({ capacity: 3 });
    for (const id of ["a", "b", "c", "d"]) expect(store.remember(id)).toBe(true);
    expect(store.size).toBe(3);
    expect(store.remember("a")).toBe(true); // evicted, so new again
    expect(store.remember("d")).toBe(false);
  });

  it("forgets ids after the TTL, on an injected clock", () => {
    let now = 1_000;
    const store = createMemoryDeliveryIdStore({ ttlMs: 60_000, now: () => now });
    expect(store.remember("x")).toBe(true);
    now += 59_999;
    expect(store.remember("x")).toBe(false);
    now += 60_000;
    expect(store.remember("x")).toBe(true);
  });
});
