/**
 * Route groups beyond the built-in ones, registered by `vigil serve` (buildServer's `routes`).
 * A feature adds its group here: a RoutePlugin that declares each route with `route()` (access
 * role, JSON Schemas), e.g. admission (`POST /v1/admission/validate`, src/server/admission.ts).
 */
import { admissionRoutes } from "./admission.js";
import type { RoutePlugin } from "./route.js";

export const extraRoutes: readonly RoutePlugin[] = [admissionRoutes];
