/**
 * `vigil tokens create|list|revoke`: through the server's API (admin token), or `--direct` on the
 * configured store (recovery: the admin token was lost; needs access to the database).
 */
import { isRfc3339 } from "../../sources/values.js";
import { createTokenService, openStorage, parseRoles, type TokenInfo, type TokenService } from "../../agent.js";
import { systemClock } from "../../core/ports.js";
import { VigilError } from "../../core/errors.js";
import { flag, stringList, stringOption, write, type CliIo, type Command, type ParsedArgs } from "../command.js";
import { apiClient, serverOptions } from "../client.js";
import { configFrom, configOption, outputFormat, outputOption, timeOption } from "../shared.js";

const directOption = { direct: { type: "boolean" as const, description: "Use the configured store directly instead of the server (recovery; needs database access)" } };

async function withDirect<T>(args: ParsedArgs, io: CliIo, work: (tokens: TokenService) => Promise<T>): Promise<T> {
  const storage = await openStorage(configFrom(args, io));
  try {
    return await work(createTokenService({ storage, clock: systemClock }));
  } finally {
    await storage.close();
  }
}

const describe = (t: TokenInfo): string => `${t.id}  ${t.name}  roles=${t.roles.join(",")}  created ${t.createdAt} by ${t.createdBy}${t.expiresAt ? `  expires ${t.expiresAt}` : ""}${t.revokedAt ? `  REVOKED ${t.revokedAt}${t.revokedBy ? ` by ${t.revokedBy}` : ""}` : ""}`;

export const tokensCreateCommand: Command = {
  path: ["tokens", "create"],
  summary: "Create an API token with roles; the secret is printed once",
  description: "Roles: admin (everything), approver (reviews, exceptions, overrides, feedback, promotion), operator (kill switch, undo, posture), ingest (events, decide), viewer (read). Approver and operator may also read.",
  options: {
    ...serverOptions,
    ...configOption,
    ...outputOption,
    ...directOption,
    name: { type: "string", value: "<name>", description: "A label, e.g. ci-ingest or alice" },
    role: { type: "string", short: "r", multiple: true, value: "<role>", description: "Role (repeatable or comma-separated)" },
    expires: { type: "string", value: "<time>", description: "RFC 3339 expiry (default: never)" },
  },
  examples: ["vigil tokens create --name ci --role ingest", "vigil tokens create --name alice --role approver,viewer --expires 2027-12-31T00:00:00Z"],
  async run(args, io) {
    const name = stringOption(args, "name");
    if (!name) throw new VigilError("VIGIL_BAD_INPUT", "--name is required: a label such as ci-ingest", { field: "--name" });
    const roles = parseRoles(stringList(args, "role").join(","), "--role");
    const expires = stringOption(args, "expires");
    if (expires !== undefined && !isRfc3339(expires)) throw new VigilError("VIGIL_BAD_INPUT", `--expires must be an RFC 3339 time such as 2027-01-01T00:00:00Z, not ${JSON.stringify(expires)}`, { field: "--expires" });
    const expiresAt = expires === undefined ? undefined : timeOption(expires);
    const input = { name, roles, ...(expiresAt ? { expiresAt } : {}) };
    const created = flag(args, "direct")
      ? await withDirect(args, io, (tokens) => tokens.create(input, `cli:${io.env["USER"] ?? "direct"}`))
      : (await apiClient(args, io).request<{ token: string; record: TokenInfo }>("POST", "/v1/tokens", { body: input })).body;
    if (outputFormat(args) === "json") write(io.stdout, JSON.stringify(created, null, 2));
    else {
      write(io.stdout, created.token);
      write(io.stderr, `created ${describe(created.record)}\nThe token above is shown only now; store it in a secret manager.`);
    }
    return 0;
  },
};

export const tokensListCommand: Command = {
  path: ["tokens", "list"],
  summary: "List API tokens (never the secrets)",
  options: { ...serverOptions, ...configOption, ...outputOption, ...directOption },
  examples: ["vigil tokens list"],
  async run(args, io) {
    const tokens = flag(args, "direct")
      ? await withDirect(args, io, (service) => service.list())
      : (await apiClient(args, io).request<{ tokens: TokenInfo[] }>("GET", "/v1/tokens")).body.tokens;
    if (outputFormat(args) === "json") write(io.stdout, JSON.stringify({ tokens }, null, 2));
    else if (tokens.length === 0) write(io.stdout, "no tokens");
    else for (const token of tokens) write(io.stdout, describe(token));
    return 0;
  },
};

export const tokensRevokeCommand: Command = {
  path: ["tokens", "revoke"],
  summary: "Revoke an API token by id (tok_…)",
  args: "<tokenId>",
  options: { ...serverOptions, ...configOption, ...outputOption, ...directOption },
  examples: ["vigil tokens revoke tok_3f9a0c1d2e4b5a6f"],
  async run(args, io) {
    const id = args.positionals[0];
    if (!id) throw new VigilError("VIGIL_BAD_INPUT", "missing <tokenId>: list them with `vigil tokens list`", { field: "tokenId" });
    const revoked = flag(args, "direct")
      ? await withDirect(args, io, (tokens) => tokens.revoke(id, `cli:${io.env["USER"] ?? "direct"}`))
      : (await apiClient(args, io).request<TokenInfo>("DELETE", `/v1/tokens/${encodeURIComponent(id)}`)).body;
    write(io.stdout, outputFormat(args) === "json" ? JSON.stringify(revoked, null, 2) : `revoked ${describe(revoked)}`);
    return 0;
  },
};
