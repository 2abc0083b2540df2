/**
 * Vigil as a library (`import { … } from "vigil"`, the package's `exports`): the agent and its
 * parts, configuration, the policy engine, the HTTP server, and the core types.
 *
 *   const config = loadConfig({ cwd });                     // vigil.yaml + VIGIL_* variables
 *   const agent = await createAgent(config);                // store, bus, policies, context, review, learning
 *   const decision = await agent.decideEvent(cloudEvent);   // evaluated, decided, recorded, explained
 *   await agent.close();
 *
 * Evaluating policies alone: `loadPolicySet(paths)` → `policySet.evaluate(…)`, or
 * `createEvaluator(…)` for decisions without a store.
 */
export * from "./agent.js";
export { loadConfig, parseConfig, configSchema, type VigilConfig } from "./config.js";
export * from "./core/index.js";
export { buildServer, builtinRoutes, type ServerOptions, type VigilServer } from "./server/app.js";
export { admissionRoutes } from "./server/admission.js";
