import { describe, expect, it } from "vitest";
import { isVigilError } from "../core/index.js";
import type { DecisionDraft } from "../core/index.js";
import { formatValue } from "../policy/explain.js";
import { compileMask, DEFAULT_MASK_MARKER, maskDraft, parseMaskPath } from "./mask.js";

const input = () => ({
  user: { name: "bob", ssn: "123-45-6789" },
  password: "passw0rd",
  headers: { authorization: "Bearer abc", accept: "json" },
  items: [{ id: 1, secret: "s1" }, { id: 2, secret: "s2" }, { id: 3 }],
  tokens: ["t1", "t2"],
  "a/b": { "c~d": 1 },
});

function draftWith(value: unknown): DecisionDraft {
  return {
    id: "d1", eventId: "e1", eventType: "dev.vigil.decide", time: "2024-01-01T00:00:00Z", verdict: "allow", tier: "observe",
    risk: { score: 0, factors: [] }, findings: [], actions: [], explanation: { summary: "ok", steps: [] }, policyRevisions: {},
    input: value, enforced: true,
  };
}

describe("parseMaskPath", () => {
  it("reads JSON Pointers with ~0/~1 escapes and dotted paths", () => {
    expect(parseMaskPath("/input/user/ssn")).toEqual(["user", "ssn"]);
    expect(parseMaskPath("input.headers.authorization")).toEqual(["headers", "authorization"]);
    expect(parseMaskPath("/input/a~1b/c~0d")).toEqual(["a/b", "c~d"]);
    expect(parseMaskPath("/input/items/*/secret")).toEqual(["items", null, "secret"]);
    expect(parseMaskPath("input")).toEqual([]);
  });

  it("reads bracketed keys in the dotted form, as CEL spells them: a key holding a dot or a slash, an index, a literal * and the * wildcard", () => {
    expect(parseMaskPath('input.metadata.labels["app.kubernetes.io/name"]')).toEqual(["metadata", "labels", "app.kubernetes.io/name"]);
    expect(parseMaskPath("input.metadata.annotations['kubectl.kubernetes.io/last-applied-configuration']")).toEqual(["metadata", "annotations", "kubectl.kubernetes.io/last-applied-configuration"]);
    expect(parseMaskPath('input["a.b"].c')).toEqual(["a.b", "c"]);
    expect(parseMaskPath('input.k["say \\"hi\\"\\\\"]')).toEqual(["k", 'say "hi"\\']);
    expect(parseMaskPath("input.k['it\\'s']")).toEqual(["k", "it's"]);
    expect(parseMaskPath("input.items[0].secret")).toEqual(["items", "0", "secret"]);
    expect(parseMaskPath("input.items[*].secret")).toEqual(["items", null, "secret"]);
    expect(parseMaskPath('input.labels["*"]')).toEqual(["labels", "*"]);
    expect(parseMaskPath('input[""]')).toEqual([""]);
  });

  it.each([
    ['input.metadata.labels["app.kubernetes.io/name"'], ["input.labels[app.kubernetes.io]"], ['input.labels["a"]x'], ["input.items[]"], ['input.labels."x"'],
    ["input.labels.a]b"], ["input.x[-1]"], ["input.x[01]"], ["input.labels['unterminated]"], ['input.labels["bad \\q"]'],
  ])("rejects the malformed bracketed path %s with VIGIL_BAD_CONFIG naming it (before, it was split at its dots and masked nothing)", (path) => {
    try {
      compileMask({ paths: ["/input/password", path] });
      expect.unreachable();
    } catch (error) {
      expect(isVigilError(error) && error.code).toBe("VIGIL_BAD_CONFIG");
      expect(isVigilError(error) && error.details.field).toBe("mask.paths[1]");
      expect((error as Error).message).toContain(JSON.stringify(path));
    }
  });

  it("masks a Kubernetes annotation and label by their dotted keys, in both forms, and the record keeps no copy", () => {
    // An AdmissionReview of a Secret applied with kubectl: the last-applied annotation holds the Secret's data.
    const secret = { kind: "Secret", apiVersion: "v1", metadata: { name: "db", labels: { "app.kubernetes.io/name": "payments-db", app: "payments" }, annotations: { "kubectl.kubernetes.io/last-applied-configuration": '{"apiVersion":"v1","data":{"password":"aHVudGVyMg=="},"kind":"Secret"}' } }, data: { password: "aHVudGVyMg==" } };
    const review = { kind: "AdmissionReview", apiVersion: "admission.k8s.io/v1", request: { uid: "705ab4f5-6393-11e8-b7cc-42010a800002", operation: "CREATE", object: secret } };
    const mask = compileMask({ paths: [
      "input.request.object.data.password",
      "input.request.object.metadata.annotations['kubectl.kubernetes.io/last-applied-configuration']",
      { path: '/input/request/object/metadata/labels/app.kubernetes.io~1name', mode: "redact" },
    ] });
    const masked = maskDraft(draftWith(review), mask);
    const object = (masked.input as typeof review).request.object;
    expect(object.metadata.annotations).toEqual({});
    expect(object.metadata.labels).toEqual({ "app.kubernetes.io/name": DEFAULT_MASK_MARKER, app: "payments" });
    expect(masked.masking).toEqual({
      erased: ["/input/request/object/data/password", "/input/request/object/metadata/annotations/kubectl.kubernetes.io~1last-applied-configuration"],
      redacted: ["/input/request/object/metadata/labels/app.kubernetes.io~1name"],
    });
    expect(JSON.stringify(masked)).not.toContain("aHVudGVyMg==");
  });

  it.each([["/result/x"], ["password"], ["input..x"], ["/input/bad~2"], ["/input/trailing~"]])("rejects %s with VIGIL_BAD_CONFIG", (path) => {
    try {
      compileMask({ paths: [path] });
      expect.unreachable();
    } catch (error) {
      expect(isVigilError(error) && error.code).toBe("VIGIL_BAD_CONFIG");
      expect(isVigilError(error) && error.details.field).toBe("mask.paths[0]");
    }
  });
});

describe("compileMask().apply", () => {
  it("removes configured paths and lists them as erased pointers", () => {
    const original = input();
    const result = compileMask({ paths: ["/input/password", "/input/user/ssn", "input.headers.authorization"] }).apply(original);
    const masked = result.input as ReturnType<typeof input>;
    expect(masked.password).toBeUndefined();
    expect("password" in masked).toBe(false);
    expect(masked.user).toEqual({ name: "bob" });
    expect(masked.headers).toEqual({ accept: "json" });
    expect(result.erased).toEqual(["/input/password", "/input/user/ssn", "/input/headers/authorization"]);
    expect(result.redacted).toEqual([]);
  });

  it("redacts with the default marker, or a configured one", () => {
    const result = compileMask({ paths: ["/input/password"], mode: "redact" }).apply(input());
    expect((result.input as { password: string }).password).toBe(DEFAULT_MASK_MARKER);
    expect(result.redacted).toEqual(["/input/password"]);
    const custom = compileMask({ paths: ["/input/password"], mode: "redact", marker: "xxx" }).apply(input());
    expect((custom.input as { password: string }).password).toBe("xxx");
  });

  it("mixes per-path modes", () => {
    const result = compileMask({ paths: ["/input/password", { path: "/input/user/ssn", mode: "redact" }] }).apply(input());
    expect(result.erased).toEqual(["/input/password"]);
    expect(result.redacted).toEqual(["/input/user/ssn"]);
    expect((result.input as { user: unknown }).user).toEqual({ name: "bob", ssn: DEFAULT_MASK_MARKER });
  });

  it("applies * over array items and only where the key exists", () => {
    const result = compileMask({ paths: ["/input/items/*/secret"] }).apply(input());
    expect((result.input as { items: unknown }).items).toEqual([{ id: 1 }, { id: 2 }, { id: 3 }]);
    expect(result.erased).toEqual(["/input/items/0/secret", "/input/items/1/secret"]);
  });

  it("applies * over map keys", () => {
    const result = compileMask({ paths: ["input.headers.*"], mode: "redact" }).apply(input());
    expect((result.input as { headers: unknown }).headers).toEqual({ authorization: DEFAULT_MASK_MARKER, accept: DEFAULT_MASK_MARKER });
  });

  it("removes or redacts array items by index or wildcard", () => {
    expect((compileMask({ paths: ["/input/tokens/0"] }).apply(input()).input as { tokens: unknown }).tokens).toEqual(["t2"]);
    expect((compileMask({ paths: ["/input/tokens/*"] }).apply(input()).input as { tokens: unknown }).tokens).toEqual([]);
    expect((compileMask({ paths: ["/input/tokens/*"], mode: "redact" }).apply(input()).input as { tokens: unknown }).tokens).toEqual([DEFAULT_MASK_MARKER, DEFAULT_MASK_MARKER]);
    expect(compileMask({ paths: ["/input/tokens/7", "/input/tokens/x"] }).apply(input()).erased).toEqual([]);
  });

  it("resolves every path against the original input: removing an array item does not shift what later paths name", () => {
    const cards = { cards: ["4111-1111-1111-1111", "5500-0000-0000-0004", "public"], items: [{ secret: "s-zero" }, { secret: "s-one" }, { secret: "s-two" }] };
    const result = compileMask({ paths: ["/input/cards/0", "/input/cards/1", "/input/items/0", "/input/items/1/secret"] }).apply(cards);
    // Removing cards/0 first shifted "5500-..." to index 0, so /input/cards/1 removed "public" and the second card was kept.
    expect(result.input).toEqual({ cards: ["public"], items: [{}, { secret: "s-two" }] });
    expect(result.erased).toEqual(["/input/cards/0", "/input/cards/1", "/input/items/0", "/input/items/1/secret"]);
    expect(result.values).toEqual(["4111-1111-1111-1111", "5500-0000-0000-0004", { secret: "s-zero" }, "s-one"]);
    // A path through an item already removed, or a wildcard over the array, does not see the removed item.
    const again = compileMask({ paths: ["/input/items/1", "/input/items/1/secret", { path: "/input/items/*/secret", mode: "redact" }] }).apply(cards);
    expect(again.input).toEqual({ cards: cards.cards, items: [{ secret: DEFAULT_MASK_MARKER }, { secret: DEFAULT_MASK_MARKER }] });
    expect(again.erased).toEqual(["/input/items/1"]);
    expect(again.redacted).toEqual(["/input/items/0/secret", "/input/items/2/secret"]);
    expect((again.input as typeof cards).cards).toBe(cards.cards);
  });

  it("escapes keys in the reported pointers", () => {
    const result = compileMask({ paths: ["/input/a~1b/c~0d"] }).apply(input());
    expect(result.erased).toEqual(["/input/a~1b/c~0d"]);
    expect((result.input as Record<string, unknown>)["a/b"]).toEqual({});
  });

  it("ignores paths that do not exist (OPA: undefined pointers are ignored)", () => {
    const original = input();
    const result = compileMask({ paths: ["/input/nope", "/input/user/name/first", "/input/password/x"] }).apply(original);
    expect(result.input).toBe(original);
    expect(result.erased).toEqual([]);
  });

  it("never mutates the caller's object and shares untouched subtrees", () => {
    const original = input();
    const snapshot = structuredClone(original);
    const result = compileMask({ paths: ["/input/user/ssn", "/input/items/*/secret", "/input/tokens/*"] }).apply(original);
    expect(original).toEqual(snapshot);
    expect((result.input as typeof original).headers).toBe(original.headers);
    expect((result.input as typeof original).user).not.toBe(original.user);
  });

  it("masks the whole input", () => {
    const whole = compileMask({ paths: ["/input"] }).apply(input());
    expect(whole).toMatchObject({ input: undefined, erased: ["/input"], redacted: [] });
    expect(whole.values).toEqual([input()]);
    expect(compileMask({ paths: ["input"], mode: "redact" }).apply(input()).input).toBe(DEFAULT_MASK_MARKER);
  });
});

describe("maskDraft", () => {
  const mask = compileMask({ paths: ["/input/password", { path: "/input/user/ssn", mode: "redact" }] });

  it("masks the input and records erased/redacted pointers on the draft", () => {
    const draft = draftWith(input());
    const masked = maskDraft(draft, mask);
    expect((masked.input as { password?: string }).password).toBeUndefined();
    expect(masked.masking).toEqual({ erased: ["/input/password"], redacted: ["/input/user/ssn"] });
    expect((draft.input as { password: string }).password).toBe("passw0rd");
    expect(draft.masking).toBeUndefined();
  });

  it("returns the same draft when nothing matches or nothing is configured", () => {
    const draft = draftWith({ other: 1 });
    expect(maskDraft(draft, mask)).toBe(draft);
    expect(maskDraft(draft, undefined)).toBe(draft);
    const noInput = draftWith(undefined);
    expect(maskDraft(noInput, mask)).toBe(noInput);
  });

  it("drops the input key when the whole input is removed", () => {
    const masked = maskDraft(draftWith({ a: 1 }), compileMask({ paths: ["/input"] }));
    expect("input" in masked).toBe(false);
    expect(masked.masking).toEqual({ erased: ["/input"] });
  });

  it("scrubs copies of masked values from traces, explanation text and other fields", () => {
    const draft: DecisionDraft = {
      ...draftWith({ user: { name: "bob", ssn: "123-45-6789" }, password: "hunter2", note: "pw is hunter2", pin: "12" }),
      findings: [{
        policy: "p", rule: "r", revision: "1", language: "vigil", effect: "violation", mode: "deny", severity: "high",
        message: "password hunter2 is weak",
        trace: [{ kind: "condition", expr: 'input.password == "x"', value: false, inputs: { "input.password": "hunter2" }, children: [{ kind: "note", expr: "input.user.ssn", value: "123-45-6789" }] }],
      }],
      explanation: { summary: "denied", steps: [{ kind: "condition", text: 'input.password == "x" was false (input.password = "hunter2")' }] },
    };
    const snapshot = structuredClone(draft);
    const masked = maskDraft(draft, compileMask({ paths: ["/input/password", "/input/user/ssn", "/input/pin"], mode: "redact" }));
    const text = JSON.stringify(masked);
    expect(text).not.toContain("hunter2");
    expect(text).not.toContain("123-45-6789");
    expect(masked.findings[0]?.trace[0]?.inputs).toEqual({ "input.password": DEFAULT_MASK_MARKER });
    expect(masked.findings[0]?.message).toBe(`password ${DEFAULT_MASK_MARKER} is weak`);
    expect(masked.explanation.steps[0]?.text).toBe(`input.password == "x" was false (input.password = "${DEFAULT_MASK_MARKER}")`);
    expect((masked.input as { note: string }).note).toBe(`pw is ${DEFAULT_MASK_MARKER}`);
    // 5 copies: message, trace inputs, trace child value, explanation text, input.note.
    expect(masked.masking).toEqual({ redacted: ["/input/password", "/input/user/ssn", "/input/pin"], scrubbed: 5 });
    // "12" is shorter than minScrubLength: masked at its path, not hunted elsewhere.
    expect((masked.input as { pin: string }).pin).toBe(DEFAULT_MASK_MARKER);
    expect(draft).toEqual(snapshot);
    expect(masked.id).toBe(draft.id);
  });

  it("scrubs JSON-escaped copies too (explanations quote values as JSON: a quote, backslash or newline in the secret is escaped there)", () => {
    const secrets = ['pa"ss\\word', "line1\nline2", "tab\there", "lone\ud800x"];
    for (const secret of secrets) {
      const quoted = JSON.stringify(secret);
      const draft: DecisionDraft = {
        ...draftWith({ password: secret }),
        findings: [{
          policy: "p", rule: "r", revision: "1", language: "vigil", effect: "violation", mode: "deny", severity: "high",
          message: `password ${quoted} is weak`,
          trace: [{ kind: "condition", expr: 'input.password == "x"', value: false, inputs: { "input.password": secret } }],
        }],
        explanation: { summary: "denied", steps: [{ kind: "condition", text: `input.password == "x" was false (input.password = ${quoted})` }] },
      };
      const snapshot = structuredClone(draft);
      const masked = maskDraft(draft, compileMask({ paths: ["/input/password"] }));
      const text = JSON.stringify(masked);
      expect(text, secret).not.toContain(JSON.stringify(secret).slice(1, -1));
      expect(text, secret).not.toContain(JSON.stringify(quoted).slice(1, -1));
      expect(masked.explanation.steps[0]?.text).toBe(`input.password == "x" was false (input.password = "${DEFAULT_MASK_MARKER}")`);
      expect(masked.findings[0]?.message).toBe(`password "${DEFAULT_MASK_MARKER}" is weak`);
      expect(masked.findings[0]?.trace[0]?.inputs).toEqual({ "input.password": DEFAULT_MASK_MARKER });
      expect(masked.masking).toEqual({ erased: ["/input/password"], scrubbed: 3 });
      expect(draft).toEqual(snapshot);
    }
  });

  it("scrubs copies in the labels too (anything but keys and the id fields)", () => {
    const draft: DecisionDraft = { ...draftWith({ token: "tok-123456" }), labels: { source: "webhook", note: "caller sent tok-123456" } };
    const masked = maskDraft(draft, compileMask({ paths: ["/input/token"] }));
    expect(JSON.stringify(masked)).not.toContain("tok-123456");
    expect(masked.labels).toEqual({ source: "webhook", note: `caller sent ${DEFAULT_MASK_MARKER}` });
    expect(masked.masking).toEqual({ erased: ["/input/token"], scrubbed: 1 });
    expect(draft.labels?.["note"]).toBe("caller sent tok-123456");
  });

  it("scrubs the shortened copies explanations make of long values (the start of the secret, then ...)", () => {
    const token = `eyJhbGciOiJSUzI1NiJ9.${"x".repeat(120)}`;
    const shortened = formatValue(token);
    expect(shortened.endsWith("...")).toBe(true);
    const inObject = formatValue({ user: "bob", token });
    const draft: DecisionDraft = { ...draftWith({ token }), explanation: { summary: "s", steps: [{ kind: "condition", text: `input.token == "x" was false (input.token = ${shortened})` }, { kind: "condition", text: `input was ${inObject}` }] } };
    const masked = maskDraft(draft, compileMask({ paths: ["/input/token"] }));
    const text = JSON.stringify(masked);
    expect(text).not.toContain("eyJhbGciOi");
    expect(masked.explanation.steps[0]?.text).toBe(`input.token == "x" was false (input.token = "${DEFAULT_MASK_MARKER}...)`);
    expect(masked.explanation.steps[1]?.text).toBe(`input was {"user":"bob","token":"${DEFAULT_MASK_MARKER}...`);
    expect(masked.masking).toEqual({ erased: ["/input/token"], scrubbed: 2 });
    // Three characters before "..." are not a copy; other text ending in "..." is left alone.
    const short = maskDraft({ ...draftWith({ token }), explanation: { summary: "eyJ... and loading...", steps: [] } }, compileMask({ paths: ["/input/token"] }));
    expect(short.explanation.summary).toBe("eyJ... and loading...");
  });

  it("scrubs masked numbers and booleans where a trace step or explanation names their path, and long numbers wherever they appear", () => {
    const finding = (trace: DecisionDraft["findings"][number]["trace"], message: string): DecisionDraft["findings"][number] => ({
      policy: "p", rule: "r", revision: "1", language: "vigil", effect: "violation", mode: "deny", severity: "high", message, trace,
    });
    const draft: DecisionDraft = {
      ...draftWith({ account: 12345678, vip: true, resource: { pin: 7, count: 7 }, copy: 12345678, other: 123456789 }),
      findings: [finding([
        { kind: "condition", expr: "input.account == 1", value: false, inputs: { "input.account": 12345678 } },
        { kind: "condition", expr: "resource.pin == 7", value: true, inputs: { "resource.pin": 7, "resource.count": 7 } },
        { kind: "variable", expr: "input.vip", value: true },
        { kind: "variable", expr: "input.account", value: 12345678 },
        { kind: "note", expr: "total", value: 12345678 },
      ], "account 12345678 is not allowed (limit 1, other 123456789, 7 items)")],
      explanation: { summary: "denied", steps: [
        { kind: "condition", text: "input.account == 1 was false (input.account = 12345678)" },
        { kind: "condition", text: "resource.pin == 7 was true (resource.pin = 7, resource.count = 7)" },
        { kind: "condition", text: "input.vip is true; input.vip == true was true (input.vip = true)" },
      ] },
    };
    const snapshot = structuredClone(draft);
    const masked = maskDraft(draft, compileMask({ paths: ["/input/account", "/input/vip", "/input/resource/pin"], mode: "redact" }));
    const text = JSON.stringify(masked);
    expect(text).not.toContain("12345678,");
    expect(text).not.toMatch(/[^0-9]12345678[^0-9]/);
    const trace = masked.findings[0]!.trace;
    expect(trace[0]?.inputs).toEqual({ "input.account": DEFAULT_MASK_MARKER });
    expect(trace[0]?.value).toBe(false);
    // the masked 7 at resource.pin goes; resource.count's 7 and the step's own value stay.
    expect(trace[1]?.inputs).toEqual({ "resource.pin": DEFAULT_MASK_MARKER, "resource.count": 7 });
    expect(trace[1]?.value).toBe(true);
    expect(trace[2]?.value).toBe(DEFAULT_MASK_MARKER);
    expect(trace[3]?.value).toBe(DEFAULT_MASK_MARKER);
    // a long number is a copy wherever it is (a value, a message); 123456789 is another number.
    expect(trace[4]?.value).toBe(DEFAULT_MASK_MARKER);
    expect(masked.findings[0]?.message).toBe(`account ${DEFAULT_MASK_MARKER} is not allowed (limit 1, other 123456789, 7 items)`);
    expect(masked.explanation.steps.map((step) => step.text)).toEqual([
      `input.account == 1 was false (input.account = "${DEFAULT_MASK_MARKER}")`,
      `resource.pin == 7 was true (resource.pin = "${DEFAULT_MASK_MARKER}", resource.count = 7)`,
      `input.vip is "${DEFAULT_MASK_MARKER}"; input.vip == true was true (input.vip = "${DEFAULT_MASK_MARKER}")`,
    ]);
    expect(masked.input).toEqual({ account: DEFAULT_MASK_MARKER, vip: DEFAULT_MASK_MARKER, resource: { pin: DEFAULT_MASK_MARKER, count: 7 }, copy: DEFAULT_MASK_MARKER, other: 123456789 });
    // trace: 1 + 1 + 1 + 1 + 1, message 1, explanation 1 + 1 + 2, input.copy 1
    expect(masked.masking).toEqual({ redacted: ["/input/account", "/input/vip", "/input/resource/pin"], scrubbed: 11 });
    expect(draft).toEqual(snapshot);
  });

  it("scrubs a masked short value under a key that is not a name where a trace step or explanation indexes it as CEL does", () => {
    const key = "billing.example.com/tier";
    const draft: DecisionDraft = {
      ...draftWith({ labels: { [key]: 7, app: "web" } }),
      findings: [{
        policy: "p", rule: "r", revision: "1", language: "vigil", effect: "violation", mode: "deny", severity: "high", message: "tier too low",
        trace: [{ kind: "condition", expr: `input.labels["${key}"] < 9`, value: true, inputs: { [`input.labels["${key}"]`]: 7 } }],
      }],
      explanation: { summary: "denied", steps: [{ kind: "condition", text: `input.labels["${key}"] < 9 was true (input.labels["${key}"] = 7)` }] },
    };
    const masked = maskDraft(draft, compileMask({ paths: [`input.labels["${key}"]`], mode: "redact" }));
    expect(masked.findings[0]?.trace[0]?.inputs).toEqual({ [`input.labels["${key}"]`]: DEFAULT_MASK_MARKER });
    expect(masked.explanation.steps[0]?.text).toBe(`input.labels["${key}"] < 9 was true (input.labels["${key}"] = "${DEFAULT_MASK_MARKER}")`);
    expect(masked.masking).toEqual({ redacted: ["/input/labels/billing.example.com~1tier"], scrubbed: 2 });
  });

  it("leaves a record with a masked number alone when no copy of it is left", () => {
    const draft = { ...draftWith({ account: 12345678, n: 1 }), explanation: { summary: "1 of 1 passed", steps: [{ kind: "condition", text: "input.n == 1 was true (input.n = 1)" }] } };
    const masked = maskDraft(draft, compileMask({ paths: ["/input/account"] }));
    expect(masked.explanation).toEqual(draft.explanation);
    expect(masked.masking).toEqual({ erased: ["/input/account"] });
  });

  it("can turn value scrubbing off", () => {
    const draft = { ...draftWith({ password: "hunter2" }), explanation: { summary: "pw hunter2", steps: [] } };
    const masked = maskDraft(draft, compileMask({ paths: ["/input/password"], scrubValues: false }));
    expect(masked.explanation.summary).toBe("pw hunter2");
    expect(masked.masking).toEqual({ erased: ["/input/password"] });
  });
});

