import type { Command } from "../command.js";
import { auditVerifyCommand } from "./audit.js";
import { evalCommand } from "./eval.js";
import { explainCommand } from "./explain.js";
import { policiesLintCommand } from "./policies.js";
import { replayCommand } from "./replay.js";
import { serveCommand } from "./serve.js";
import { testCommand } from "./test.js";

/** Every `vigil` command, in help order. */
export const commands: readonly Command[] = [
  evalCommand,
  testCommand,
  replayCommand,
  serveCommand,
  explainCommand,
  auditVerifyCommand,
  policiesLintCommand,
];
