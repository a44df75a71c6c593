/**
 * sandbox — the experimentation face: branches with git-like verbs, diff and
 * three-way merge (repo.ts, merge.ts), directory checkpoints, the fork(n)
 * runner on worker threads and the MCTS explorer. See docs/branches.md and
 * docs/experiments.md.
 */
export { type Commit, decodeCommit, encodeCommit } from "./commit.js";
export { type Conflict, type MergePlan, type MergePolicy, planMerge, type Resolver } from "./merge.js";
export {
  type BranchInfo,
  type CommitInfo,
  type InitOptions,
  type MergeResult,
  Repo,
  type RepoOptions,
  type TreeDiff,
  type TreeStat,
} from "./repo.js";
