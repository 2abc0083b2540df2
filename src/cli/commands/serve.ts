import { createAgent } from "../../agent.js";
import { buildServer } from "../../server/app.js";
import { stringOption, write, type Command } from "../command.js";
import { configFrom, configOption, policiesOption, reportLoadErrors } from "../shared.js";

export const serveCommand: Command = {
  path: ["serve"],
  summary: "Run the Vigil agent and its HTTP API (what `npm start` runs)",
  description: "Embedded SQLite store and in-process bus by default; PostgreSQL/NATS when configured (docs/configuration.md).\nStops cleanly on SIGINT/SIGTERM.",
  options: {
    ...configOption,
    ...policiesOption,
    port: { type: "string", value: "<port>", description: "Listen port (default: server.port, 8181)" },
    host: { type: "string", value: "<host>", description: "Listen address (default: server.host, 127.0.0.1)" },
  },
  examples: ["vigil serve", "vigil serve --port 9000 -p packs/ -p my-policies/"],
  async run(args, io) {
    const base = configFrom(args, io);
    const port = stringOption(args, "port");
    const host = stringOption(args, "host");
    const config = { ...base, server: { ...base.server, ...(port ? { port: Number(port) } : {}), ...(host ? { host } : {}) } };
    const agent = await createAgent(config);
    reportLoadErrors(agent.loadErrors, io);
    const { app } = buildServer({ agent });
    const address = await app.listen({ port: config.server.port, host: config.server.host });
    write(io.stdout, JSON.stringify({ level: "info", msg: "vigil listening", address, policies: agent.policySet.size, policyErrors: agent.loadErrors.length, store: agent.storage.kind }));
    await new Promise<void>((resolve) => {
      const stop = (): void => resolve();
      process.once("SIGINT", stop);
      process.once("SIGTERM", stop);
    });
    await app.close();
    await agent.close();
    write(io.stdout, JSON.stringify({ level: "info", msg: "vigil stopped" }));
    return 0;
  },
};
