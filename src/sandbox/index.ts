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
export { ForestFork } from "./fork.js";
export {
  type Environment,
  executeTxOnFork,
  type Forkable,
  type MctsChildStats,
  type MctsOptions,
  type MctsProgress,
  type MctsResult,
  mcts,
  type TxContext,
  transactionEnvironment,
  txValidOn,
} from "./mcts.js";
export {
  createForkPool,
  type FailureReason,
  type ForkContext,
  type ForkOutcome,
  ForkPool,
  type ForkPoolOptions,
  type ForkTask,
  type RunForksOptions,
  type RunOptions,
  runForks,
} from "./runner.js";
export {
  parseDuration,
  planRetention,
  type RetentionDecision,
  type RetentionItem,
  type RetentionPlan,
  type RetentionPolicy,
  type RetentionReason,
} from "./retention.js";
export { Chunker, type ChunkerParams, chunkEnds, DEFAULT_CHUNKER } from "./chunker.js";
export {
  type CheckpointDiff,
  type CheckpointFile,
  type CheckpointInfo,
  type CheckpointOptions,
  type CheckpointProgress,
  type CheckpointStats,
  checkpointInfo,
  createCheckpoint,
  type DiffItem,
  deleteCheckpoint,
  diffCheckpoints,
  type ForgetResult,
  forgetCheckpoints,
  listCheckpoints,
  openFile,
  type RestoreOptions,
  type RestoreProgress,
  type RestoreReport,
  resolveCheckpoint,
  restoreCheckpoint,
} from "./checkpoint.js";
