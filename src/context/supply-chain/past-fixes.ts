/**
 * The organisation's own past fixes, kept over the Storage port:
 *
 * 1. When a decision of the supply-chain policies denies a change (verdict `deny`), each blocking
 *    vulnerable dependency of it is remembered in the `supply-chain-blocks` docs collection
 *    (id `<repo>|<advisory>|<package>@<version>`), pointing at the decision.
 * 2. When a change of the same repository merges (a merged pull request, or a dependency change on
 *    a merge branch) and its head no longer has that vulnerable version, the block is resolved:
 *    the decision is looked up in the decision record (it must exist and be a deny) and a fix is
 *    written to `supply-chain-fixes` (id `<advisory>|<repo>|<pr or ref>|<package>@<from>`): repo,
 *    PR, from → to version, date.
 * 3. The enrichment looks fixes up by advisory id (and aliases) and cites the most recent one.
 *
 * Every method catches storage failures and reports them in its result or through `onError`:
 * memory must never fail the pipeline.
 */
import type { Decision, DecisionDraft } from "../../core/decision.js";
import type { Storage } from "../../core/ports.js";
import type { Lockfile } from "./lockfile.js";
import type { DependencySummary, PastFix } from "./summary.js";
import { compareVersionText } from "./versions.js";

export const SUPPLY_CHAIN_BLOCKS = "supply-chain-blocks";
export const SUPPLY_CHAIN_FIXES = "supply-chain-fixes";

/** A remembered block (value of a `supply-chain-blocks` doc). */
export interface BlockRecord {
  readonly repo: string;
  readonly advisory: string;
  readonly aliases: readonly string[];
  readonly package: string;
  readonly version: string;
  readonly decisionId: string;
  readonly pullRequest: number | null;
  readonly blockedAt: string;
  /** Set once a merged change removed the version: the fix doc id. */
  readonly resolvedBy: string | null;
}

/** A stored fix (value of a `supply-chain-fixes` doc). */
export interface FixRecord extends PastFix {
  readonly aliases: readonly string[];
}

export interface SupplyChainMemoryOptions {
  readonly storage: Storage;
  /** Names of the supply-chain policies whose deny decisions count as blocks (e.g. supplyChainPolicyNames). */
  readonly policies: readonly string[];
  readonly onError?: (error: unknown) => void;
}

export interface SupplyChainMemory {
  /**
   * Remembers the blocking vulnerabilities of a deny decision of the supply-chain policies.
   * Returns how many blocks were written (0 for allow decisions or other policies).
   */
  recordDecision(decision: Decision | DecisionDraft, summary: DependencySummary): Promise<number>;
  /**
   * A merged change: resolves the repository's open blocks whose vulnerable version the head
   * lockfiles no longer hold, and returns the fixes written.
   */
  recordMerge(summary: DependencySummary, heads: readonly Lockfile[], at: string): Promise<FixRecord[]>;
  /** The most recent fix per advisory id, for ids and aliases given. */
  pastFixes(ids: readonly string[]): Promise<Map<string, PastFix>>;
}

const blockId = (repo: string, advisory: string, pkg: string, version: string): string => `${repo}|${advisory}|${pkg}@${version}`;

export function createSupplyChainMemory(options: SupplyChainMemoryOptions): SupplyChainMemory {
  const { storage } = options;
  const policies = new Set(options.policies);
  const report = (error: unknown): void => options.onError?.(error);
  return {
    async recordDecision(decision, summary) {
      try {
        if (decision.verdict !== "deny" || summary.repo === null) return 0;
        if (!decision.findings.some((f) => f.effect === "violation" && f.mode === "deny" && policies.has(f.policy))) return 0;
        const docs = summary.vulnerable.filter((v) => v.blocking).map((v) => ({
          collection: SUPPLY_CHAIN_BLOCKS,
          id: blockId(summary.repo as string, v.advisory, v.package, v.version),
          value: { repo: summary.repo as string, advisory: v.advisory, aliases: v.aliases, package: v.package, version: v.version, decisionId: decision.id, pullRequest: summary.pullRequest, blockedAt: decision.time, resolvedBy: null } satisfies BlockRecord,
        }));
        if (docs.length > 0) await storage.putDocs(docs, decision.time);
        return docs.length;
      } catch (error) {
        report(error);
        return 0;
      }
    },

    async recordMerge(summary, heads, at) {
      try {
        if (summary.repo === null) return [];
        const open = (await storage.listDocs<BlockRecord>(SUPPLY_CHAIN_BLOCKS, { idPrefix: `${summary.repo}|`, limit: 1000 })).filter((doc) => doc.value.resolvedBy === null);
        if (open.length === 0) return [];
        const versions = new Map<string, Set<string>>();
        for (const lockfile of heads) for (const pkg of lockfile.packages) {
          let set = versions.get(pkg.name);
          if (!set) versions.set(pkg.name, (set = new Set()));
          set.add(pkg.version);
        }
        const fixes: FixRecord[] = [];
        const writes: { collection: string; id: string; value: unknown }[] = [];
        for (const doc of open) {
          const block = doc.value;
          const now = versions.get(block.package);
          if (now?.has(block.version)) continue;
          const decision = await storage.getDecision(block.decisionId);
          if (!decision || decision.verdict !== "deny") continue;
          const higher = [...(now ?? [])].filter((v) => compareVersionText(v, block.version) > 0).sort(compareVersionText);
          const to = higher[0] ?? [...(now ?? [])].sort(compareVersionText)[0] ?? null;
          const fix: FixRecord = {
            advisory: block.advisory,
            aliases: block.aliases,
            package: block.package,
            from: block.version,
            to,
            repo: block.repo,
            pullRequest: summary.pullRequest,
            date: at,
            blockedDecisionId: block.decisionId,
            blockedPullRequest: block.pullRequest,
          };
          const id = `${block.advisory}|${block.repo}|${summary.pullRequest ?? summary.ref ?? "merge"}|${block.package}@${block.version}`;
          fixes.push(fix);
          writes.push({ collection: SUPPLY_CHAIN_FIXES, id, value: fix }, { collection: SUPPLY_CHAIN_BLOCKS, id: doc.id, value: { ...block, resolvedBy: id } });
        }
        if (writes.length > 0) await storage.putDocs(writes, at);
        return fixes;
      } catch (error) {
        report(error);
        return [];
      }
    },

    async pastFixes(ids) {
      const found = new Map<string, PastFix>();
      try {
        for (const id of new Set(ids)) {
          const docs = await storage.listDocs<FixRecord>(SUPPLY_CHAIN_FIXES, { idPrefix: `${id}|`, limit: 200 });
          let newest: FixRecord | undefined;
          for (const doc of docs) if (!newest || doc.value.date > newest.date) newest = doc.value;
          if (newest) found.set(id, newest);
        }
      } catch (error) {
        report(error);
      }
      return found;
    },
  };
}
