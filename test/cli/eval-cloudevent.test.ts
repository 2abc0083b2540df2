import { describe, expect, it } from "vitest";
import { bucketPolicy, publicRequest, tempDir, vigil } from "./support.js";

describe("vigil eval of a CloudEvent", () => {
  // `{"specversion":"1.0","type":...}` without id and source was decided (exit 0/1, no eventId),
  // while `vigil replay` and the API reject the same event as a bad event.
  it("an invalid CloudEvent is exit 2 naming each field, as replay and the API reject it", async () => {
    const dir = tempDir({ "p.yaml": bucketPolicy });
    const run = await vigil(["eval", "-p", "p.yaml", "--input", JSON.stringify({ specversion: "1.0", type: "dev.vigil.decide", time: "yesterday", data: publicRequest })], { cwd: dir });
    expect(run.code).toBe(2);
    expect(run.stdout).toBe("");
    expect(run.stderr).toContain("not a valid CloudEvent");
    expect(run.stderr).toContain("`id` is missing");
    expect(run.stderr).toContain("`source` is missing");
    expect(run.stderr).toContain("`time` is \"yesterday\"");
    expect(run.stderr).toContain("[VIGIL_BAD_INPUT]");
    const other = await vigil(["eval", "-p", "p.yaml", "--input", JSON.stringify({ specversion: "0.3", id: "e1", source: "test", type: "dev.vigil.decide", data: publicRequest })], { cwd: dir });
    expect(other.code).toBe(2);
    expect(other.stderr).toContain("only CloudEvents \"1.0\" is supported");
  });

  it("a valid CloudEvent is decided on its data", async () => {
    const dir = tempDir({ "p.yaml": bucketPolicy });
    const run = await vigil(["eval", "-p", "p.yaml", "--input", JSON.stringify({ specversion: "1.0", id: "e1", source: "test", type: "dev.vigil.decide", data: publicRequest })], { cwd: dir });
    expect(run.code).toBe(1);
    expect(JSON.parse(run.stdout)).toMatchObject({ eventId: "e1", verdict: "deny" });
  });
});

describe("vigil eval --event-type with a CloudEvent", () => {
  // Ignored: the CloudEvent's own type was used, so `on` matching was not what the option asked for.
  it("is refused naming the option and the event's type", async () => {
    const dir = tempDir({ "p.yaml": bucketPolicy });
    const run = await vigil(["eval", "-p", "p.yaml", "--event-type", "com.amazonaws.cloudtrail", "--input", JSON.stringify({ specversion: "1.0", id: "e1", source: "test", type: "dev.vigil.decide", data: publicRequest })], { cwd: dir });
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('--event-type applies to an input that is not a CloudEvent; this one has type "dev.vigil.decide"');
  });
});
