import type { Command } from "../command.js";
import { advisoriesImportCommand } from "./advisories.js";
import { auditVerifyCommand } from "./audit.js";
import { evalCommand } from "./eval.js";
import { explainCommand } from "./explain.js";
import { feedbackCommand } from "./feedback.js";
import { learnCommands } from "./learn.js";
import { proposalsCommands } from "./proposals.js";
import { gateCommand } from "./gate.js";
import { ingestCommand } from "./ingest.js";
import { killSwitchCommands, postureSetCommand, postureShowCommand, undoCommand } from "./operate.js";
import { policiesLintCommand } from "./policies.js";
import { replayCommand } from "./replay.js";
import { reportCommand } from "./report.js";
import { reportCostCommand } from "./report-cost.js";
import { exceptionsAddCommand, exceptionsListCommand, exceptionsRevokeCommand, reviewsApproveCommand, reviewsDenyCommand, reviewsListCommand } from "./reviews.js";
import { scanCommand } from "./scan.js";
import { cleanupCommand } from "./cleanup.js";
import { serveCommand } from "./serve.js";
import { simulateCommand } from "./simulate.js";
import { setupImportCommand } from "./setup.js";
import { ladderCommands } from "./ladder.js";
import { testCommand } from "./test.js";
import { tokensCreateCommand, tokensListCommand, tokensRevokeCommand } from "./tokens.js";

/** Every `vigil` command, in help order: policy authoring, running the agent, operating it (through the server's API), supply chain. */
export const commands: readonly Command[] = [
  // policies, offline
  evalCommand,
  testCommand,
  replayCommand,
  simulateCommand,
  policiesLintCommand,
  scanCommand,
  cleanupCommand,
  reportCommand,
  reportCostCommand,
  // the agent
  serveCommand,
  ingestCommand,
  explainCommand,
  auditVerifyCommand,
  setupImportCommand,
  // operating the running agent (server API)
  reviewsListCommand,
  reviewsApproveCommand,
  reviewsDenyCommand,
  exceptionsAddCommand,
  exceptionsListCommand,
  exceptionsRevokeCommand,
  ...killSwitchCommands,
  undoCommand,
  ...ladderCommands,
  postureShowCommand,
  postureSetCommand,
  tokensCreateCommand,
  tokensListCommand,
  tokensRevokeCommand,
  // learning: feedback, learned state, shadow promotion, proposals
  feedbackCommand, ...learnCommands, ...proposalsCommands,
  // supply chain
  gateCommand,
  advisoriesImportCommand,
];
