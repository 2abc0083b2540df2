import { mkdtempSync, writeFileSync, mkdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import type { InjectOptions, LightMyRequestResponse } from "fastify";
import { createAgent, createManualClock, type Agent, type AgentOptions, type Role } from "../../src/agent.js";
import { parseConfig } from "../../src/config.js";
import { buildServer, type RoutePlugin, type VigilServer } from "../../src/server/app.js";

export interface TestServer {
  readonly agent: Agent;
  readonly server: VigilServer;
  readonly dir: string;
  /** A token per role (plus `admin`). */
  readonly tokens: Readonly<Record<Role, string>>;
  /** `inject` with `Authorization: Bearer <token of role>`. */
  as(role: Role, options: InjectOptions): Promise<LightMyRequestResponse>;
  close(): Promise<void>;
}

export function tempDir(files: Readonly<Record<string, string>> = {}): string {
  const dir = mkdtempSync(join(tmpdir(), "vigil-server-"));
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, name)), { recursive: true });
    writeFileSync(join(dir, name), text);
  }
  return dir;
}

/**
 * An agent on a temp SQLite store with the given policy files, a server around it (not listening;
 * use `inject`), and one token per role. `start: true` runs the ingest loop.
 */
export async function startTestServer(options: { readonly files?: Readonly<Record<string, string>>; readonly config?: Record<string, unknown>; readonly start?: boolean; readonly routes?: readonly RoutePlugin[]; readonly agent?: AgentOptions } = {}): Promise<TestServer> {
  const dir = tempDir(options.files ?? {});
  const policies = Object.keys(options.files ?? {}).filter((f) => f.endsWith(".yaml")).map((f) => join(dir, f));
  const config = parseConfig({ policies, store: { path: join(dir, "vigil.db") }, log: { level: "silent" }, ...options.config });
  // A test clock unless the config chooses one (clock.mode manual also registers PUT /v1/clock).
  const clock = options.config?.["clock"] ? {} : { clock: createManualClock("2025-03-03T10:00:00Z") };
  const agent = await createAgent(config, { ...clock, onProblem: () => undefined, ...options.agent });
  const server = buildServer({ agent, ...(options.routes ? { routes: options.routes } : {}) });
  await server.app.ready();
  const tokens = {} as Record<Role, string>;
  for (const role of ["admin", "approver", "operator", "ingest", "viewer"] as const) {
    tokens[role] = (await agent.tokens.create({ name: `${role}-token`, roles: [role] }, "test")).token;
  }
  if (options.start) await agent.start();
  return {
    agent,
    server,
    dir,
    tokens,
    as: (role, inject) => server.app.inject({ ...inject, headers: { ...(inject.headers ?? {}), authorization: `Bearer ${tokens[role]}` } }),
    async close() {
      await server.app.close();
      await agent.close();
    },
  };
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
`;

export const publicRequest = { action: "s3:PutBucketAcl", resource: { name: "b1", acl: "public-read" }, principal: { id: "alice", admin: false } };
