/**
 * `vigil setup import <file>`: what the organisation already knows — the JSON `vigil simulate
 * --setup` writes: entities (teams, on-call schedules, namespace data classes) and exceptions
 * (travel notices, transfer mechanisms) under their own ids — into the running server
 * (PUT /v1/entities/:kind/:id with the operator role, PUT /v1/exceptions/:id with the approver
 * role: an admin token has both), or with --direct into the configured store.
 */
import { createAgent, type SetupImportResult } from "../../agent.js";
import { isVigilError, VigilError } from "../../core/errors.js";
import { flag, write, type Command } from "../command.js";
import { apiClient, serverOptions } from "../client.js";
import { readSetupFile } from "../replay-context.js";
import { configFrom, configOption, outputFormat, outputOption } from "../shared.js";

export const setupImportCommand: Command = {
  path: ["setup", "import"],
  summary: "Import entities and exceptions (a vigil simulate --setup file) into the running server, or --direct into the store",
  args: "<setup.json>",
  description: [
    "Entities are merged into the entity store (operator role); exceptions keep their ids and are idempotent (approver role).",
    "A bad item is reported with its index and the rest is imported; exit code 1 when some item was not imported.",
    "--direct writes into the configured store (when no server runs on it).",
  ].join("\n"),
  options: { ...serverOptions, ...configOption, ...outputOption, direct: { type: "boolean", description: "Write into the configured store instead of calling the server" } },
  examples: ["vigil simulate --scenario all --days 7 --setup setup.json --out events.jsonl && vigil setup import setup.json", "vigil setup import --direct setup.json"],
  async run(args, io) {
    const path = args.positionals[0];
    if (!path) throw new VigilError("VIGIL_BAD_INPUT", "missing <setup.json>: write one with vigil simulate --setup <file>", { field: "setup" });
    const setup = readSetupFile(path, io);
    let result: SetupImportResult;
    if (flag(args, "direct")) {
      const agent = await createAgent(configFrom(args, io), { role: "all" });
      try {
        result = await agent.importSetup(setup, { id: "vigil-cli", roles: ["admin"] });
      } finally {
        await agent.close();
      }
    } else {
      const client = apiClient(args, io);
      const problems: { item: string; code: string; message: string }[] = [];
      let entities = 0, exceptions = 0;
      const attempt = async (item: string, call: () => Promise<unknown>): Promise<boolean> => {
        try {
          await call();
          return true;
        } catch (error) {
          // Wrong role, no server, no token: nothing else will work either.
          if (!isVigilError(error) || !["VIGIL_BAD_INPUT", "VIGIL_CONFLICT"].includes(error.code) || error.details.field === "--server") throw error;
          problems.push({ item, code: error.code, message: error.message });
          return false;
        }
      };
      for (const [index, entity] of setup.entities.entries()) {
        const { kind, id, attrs, relations } = entity;
        const ok = await attempt(`entities[${index}] ${String(kind)}/${String(id)}`, () => client.request("PUT", `/v1/entities/${encodeURIComponent(String(kind))}/${encodeURIComponent(String(id))}`, { body: { ...(attrs ? { attrs } : {}), ...(relations ? { relations } : {}) } }));
        if (ok) entities++;
      }
      for (const [index, exception] of setup.exceptions.entries()) {
        // Sent as written: the service refuses revokedAt (a revoked exception is not put back in
        // force), as on the --direct path, and the entry is reported not imported.
        const { id, ...body } = exception as Record<string, unknown> & { id: string };
        const ok = await attempt(`exceptions[${index}] ${String(id)}`, () => client.request("PUT", `/v1/exceptions/${encodeURIComponent(String(id))}`, { body }));
        if (ok) exceptions++;
      }
      result = { entities, exceptions, problems };
    }
    if (outputFormat(args) === "json") write(io.stdout, JSON.stringify(result, null, 2));
    else {
      write(io.stdout, `imported ${result.entities} entities and ${result.exceptions} exceptions`);
      for (const p of result.problems) write(io.stderr, `not imported: ${p.item}: ${p.message} [${p.code}]`);
    }
    return result.problems.length > 0 ? 1 : 0;
  },
};
