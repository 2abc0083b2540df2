export * from "./api.js";
export { createCelEnvironment, celToJson } from "./environment.js";
