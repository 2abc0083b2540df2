import { bootstrapAdminToken, createAgent, type AgentRole } from "../../agent.js";
import { VigilError } from "../../core/errors.js";
import { buildServer } from "../../server/app.js";
import { extraRoutes } from "../../server/plugins.js";
import { stringOption, write, type Command } from "../command.js";
import { configFrom, configOption, policiesOption, reportLoadErrors } from "../shared.js";

const roles: readonly AgentRole[] = ["all", "api", "worker"];

export const serveCommand: Command = {
  path: ["serve"],
  summary: "Run the Vigil agent and its HTTP API (what `npm start` runs)",
  description: [
    "Embedded SQLite store and in-process bus by default; PostgreSQL/NATS when configured (docs/configuration.md, docs/scale-out.md).",
    "Pending events (accepted before a crash, not yet decided) are processed first. Logs are JSON lines on stdout.",
    "First start: VIGIL_ADMIN_TOKEN becomes the admin token; without it one is generated and printed once (stderr).",
    "Roles: all (API + processing), api (persist and publish to NATS), worker (process from NATS; serves /healthz and /metrics only).",
    "Stops cleanly on SIGINT/SIGTERM (the running batch finishes; learned baselines are written).",
  ].join("\n"),
  options: {
    ...configOption,
    ...policiesOption,
    port: { type: "string", value: "<port>", description: "Listen port (default: server.port, 8181; 0 = any free port)" },
    host: { type: "string", value: "<host>", description: "Listen address (default: server.host, 127.0.0.1)" },
    role: { type: "string", value: "<role>", description: "all, api or worker (default: server.role, all)" },
  },
  examples: ["vigil serve", "vigil serve --port 9000 -p packs/ -p my-policies/", "VIGIL_STORE_KIND=postgres VIGIL_BUS_KIND=nats vigil serve --role worker"],
  async run(args, io) {
    const base = configFrom(args, io);
    const port = stringOption(args, "port");
    const host = stringOption(args, "host");
    const role = stringOption(args, "role") ?? base.server.role;
    if (!roles.includes(role as AgentRole)) throw new VigilError("VIGIL_BAD_INPUT", `--role must be one of ${roles.join(", ")}, not "${role}"`, { field: "--role" });
    // Checked before the store is opened and an admin token generated (listen() refused 99999 only after both).
    if (port !== undefined && !(/^\d+$/.test(port) && Number(port) <= 65535)) throw new VigilError("VIGIL_BAD_INPUT", `--port must be a port number from 0 to 65535, not "${port}"`, { field: "--port" });
    const config = { ...base, server: { ...base.server, role: role as AgentRole, ...(port ? { port: Number(port) } : {}), ...(host ? { host } : {}) } };
    const agent = await createAgent(config, { role: role as AgentRole });
    reportLoadErrors(agent.loadErrors, io);
    const boot = await bootstrapAdminToken(agent.tokens, io.env);
    if (boot.kind === "generated") {
      write(io.stderr, [
        "vigil: no API token existed, so an admin token was generated. It is shown this once; store it now:",
        "",
        `    ${boot.token}`,
        "",
        "Use it as `Authorization: Bearer <token>` (or VIGIL_TOKEN for the CLI) and create narrower tokens with `vigil tokens create`.",
      ].join("\n"));
    }
    const { app } = buildServer({ agent, logger: true, routes: extraRoutes });
    await agent.start();
    let address: string;
    try {
      address = await app.listen({ port: config.server.port, host: config.server.host });
    } catch (error) {
      await agent.close();
      throw new VigilError("VIGIL_BAD_CONFIG", `cannot listen on ${config.server.host}:${config.server.port}: ${(error as Error).message}; choose another --port`, { field: "server.port" }, error);
    }
    app.log.info({ address, role: agent.role, policies: agent.policySet.size, policyErrors: agent.loadErrors.length, store: agent.storage.kind, bus: agent.bus.kind, adminToken: boot.kind }, "vigil listening");
    await new Promise<void>((resolve) => {
      const stop = (): void => resolve();
      process.once("SIGINT", stop);
      process.once("SIGTERM", stop);
    });
    await app.close();
    await agent.close();
    app.log.info("vigil stopped");
    return 0;
  },
};
