/**
 * The one-way flow of ARCHITECTURE.md, checked mechanically (`npm run lint:deps`, part of `npm test`):
 *   cli, server → agent.ts + agent/ (composition root) → stages → core
 *   stages, in flow order: sources → context → policy (evaluate) → decide → act → review → learn
 * A stage imports `core` and earlier stages only. Adapters (store, bus, llm) implement ports
 * declared in core and are chosen only in agent.ts.
 */
const stages = ["sources", "context", "policy", "decide", "act", "review", "learn"];
const adapters = ["store", "bus", "llm"];

const laterStageRules = stages.map((stage, index) => {
  const later = stages.slice(index + 1);
  return {
    name: `${stage}-imports-later-stage`,
    comment: `${stage} runs before ${later.join(", ") || "nothing"}: it may import core and earlier stages only.`,
    severity: "error",
    from: { path: `^src/${stage}/` },
    to: { path: `^src/(${[...later, ...adapters, "server", "cli", "console", "agent"].join("|")})/|^src/agent\\.ts$` },
  };
}).filter((rule) => rule.to.path !== "^src/()/");

module.exports = {
  forbidden: [
    {
      name: "core-is-pure",
      comment: "core holds domain types and ports only: no imports of other src folders, no third-party packages, no I/O.",
      severity: "error",
      from: { path: "^src/core/" },
      to: { pathNot: "^src/core/|^(node:)?crypto$" },
    },
    ...laterStageRules,
    {
      name: "adapters-depend-on-core-only",
      comment: "store/bus/llm adapters implement ports from core; they must not reach into stages.",
      severity: "error",
      from: { path: `^src/(${adapters.join("|")})/` },
      to: { path: `^src/(${[...stages, "server", "cli", "console", "agent"].join("|")})/|^src/agent\\.ts$` },
    },
    {
      name: "agent-is-not-an-entry-point",
      comment: "agent/ is the composition root: it wires stages and adapters and never imports the entry points (server, cli, console).",
      severity: "error",
      from: { path: "^src/agent/|^src/agent\\.ts$" },
      to: { path: "^src/(server|cli|console)/" },
    },
    {
      name: "adapters-chosen-in-agent-only",
      comment: "cli and server get adapters through agent.ts (the composition root), never directly.",
      severity: "error",
      from: { path: "^src/(server|cli|console)/" },
      to: { path: `^src/(${adapters.join("|")})/` },
    },
    {
      name: "no-circular",
      severity: "error",
      from: {},
      to: { circular: true },
    },
  ],
  options: {
    doNotFollow: { path: "node_modules" },
    exclude: { path: "\\.test\\.ts$" },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: "tsconfig.json" },
    enhancedResolveOptions: { extensions: [".ts", ".js"] },
  },
};
