import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PassThrough, Readable } from "node:stream";
import { runCli } from "../../src/cli/main.js";

export interface CliRun {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs `vigil <argv>` in-process with captured output. */
export async function vigil(argv: readonly string[], options: { readonly cwd?: string; readonly stdin?: string; readonly env?: Record<string, string> } = {}): Promise<CliRun> {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = "";
  let err = "";
  stdout.on("data", (c: Buffer) => (out += c.toString()));
  stderr.on("data", (c: Buffer) => (err += c.toString()));
  const code = await runCli(argv, {
    stdout,
    stderr,
    stdin: Readable.from([Buffer.from(options.stdin ?? "")]),
    env: { ...options.env },
    cwd: options.cwd ?? process.cwd(),
  });
  return { code, stdout: out, stderr: err };
}

export function tempDir(files: Readonly<Record<string, string>> = {}): string {
  const dir = mkdtempSync(join(tmpdir(), "vigil-cli-"));
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  return dir;
}

export const bucketPolicy = `apiVersion: vigil.dev/v1
kind: Policy
metadata:
  name: no-public-bucket
spec:
  on: ["dev.vigil.decide", "com.amazonaws.cloudtrail"]
  match: action == "s3:PutBucketAcl"
  rules:
    - name: public-acl
      condition: resource.acl in ["public-read", "public-read-write"] && !principal.admin
      message: "bucket {{ resource.name }} made public by {{ principal.id }}"
      severity: high
      effect: deny
  tests:
    - name: public acl by a developer is denied
      input: { action: "s3:PutBucketAcl", resource: { name: b1, acl: public-read }, principal: { id: alice, admin: false } }
      expect: { violations: [public-acl] }
    - name: private acl is allowed
      input: { action: "s3:PutBucketAcl", resource: { name: b1, acl: private }, principal: { id: alice, admin: false } }
      expect: { violations: [] }
`;

export const publicRequest = { action: "s3:PutBucketAcl", resource: { name: "b1", acl: "public-read" }, principal: { id: "alice", admin: false } };
export const privateRequest = { action: "s3:PutBucketAcl", resource: { name: "b1", acl: "private" }, principal: { id: "alice", admin: false } };
