import { describe, expect, it } from "vitest";
import { checkSigV4, parseAuthorization } from "./sigv4-check.js";
import type { WireRequest } from "./test-server.js";

// The "get-vanilla" case of AWS's published Signature Version 4 test suite: it proves the
// verifier that guards the AWS fakes computes signatures the way AWS does, independently of the SDK.
const VECTOR = {
  accessKeyId: "AKIDEXAMPLE",
  secretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
  region: "us-east-1",
  service: "service",
};
const SIGNED_AT = new Date("2015-08-30T12:36:00Z");
const AUTHORIZATION =
  "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31";

function request(overrides: { headers?: Record<string, string>; body?: string; method?: string; rawQuery?: string } = {}): WireRequest {
  const headers: Record<string, string> = { host: "example.amazonaws.com", "x-amz-date": "20150830T123600Z", authorization: AUTHORIZATION, ...overrides.headers };
  const rawBody = Buffer.from(overrides.body ?? "");
  return {
    method: overrides.method ?? "GET",
    rawPath: "/",
    path: "/",
    query: new URLSearchParams(overrides.rawQuery ?? ""),
    rawQuery: overrides.rawQuery ?? "",
    headers,
    rawBody,
    text: rawBody.toString(),
    params: {},
    json: <T>() => JSON.parse(rawBody.toString()) as T,
    header: (name: string) => headers[name.toLowerCase()],
  };
}

describe("checkSigV4", () => {
  it("accepts AWS's get-vanilla test vector", () => {
    expect(checkSigV4(request(), VECTOR, SIGNED_AT)).toBeUndefined();
  });

  it("rejects a wrong secret, a changed method, query or body", () => {
    expect(checkSigV4(request(), { ...VECTOR, secretAccessKey: "other" }, SIGNED_AT)).toMatch(/signature does not match/);
    expect(checkSigV4(request({ method: "POST" }), VECTOR, SIGNED_AT)).toMatch(/signature does not match/);
    expect(checkSigV4(request({ rawQuery: "Action=StopInstances" }), VECTOR, SIGNED_AT)).toMatch(/signature does not match/);
    expect(checkSigV4(request({ body: "x" }), VECTOR, SIGNED_AT)).toMatch(/signature does not match/);
  });

  it("checks the credential scope, the signed headers and the clock", () => {
    expect(checkSigV4(request(), { ...VECTOR, region: "eu-west-1" }, SIGNED_AT)).toMatch(/region us-east-1 is not eu-west-1/);
    expect(checkSigV4(request(), { ...VECTOR, service: "s3" }, SIGNED_AT)).toMatch(/service service is not s3/);
    expect(checkSigV4(request(), { ...VECTOR, mustSign: ["x-amz-content-sha256"] }, SIGNED_AT)).toMatch(/SignedHeaders lacks x-amz-content-sha256/);
    expect(checkSigV4(request(), VECTOR, new Date("2015-08-30T13:00:00Z"))).toMatch(/RequestTimeTooSkewed/);
    expect(checkSigV4(request({ headers: { authorization: "Bearer x" } }), VECTOR, SIGNED_AT)).toMatch(/not an AWS4-HMAC-SHA256 header/);
    expect(checkSigV4(request({ headers: { "x-amz-content-sha256": "0".repeat(64) } }), VECTOR, SIGNED_AT)).toMatch(/is not the SHA-256 of the body/);
  });

  it("parses the Authorization header", () => {
    expect(parseAuthorization(AUTHORIZATION)).toEqual({
      accessKeyId: "AKIDEXAMPLE",
      date: "20150830",
      region: "us-east-1",
      service: "service",
      signedHeaders: ["host", "x-amz-date"],
      signature: "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31",
    });
  });
});
