/**
 * core/errors — the one registry of coded errors.
 *
 * Purpose: every operating error a user can see carries a stable `code`, a
 * message saying what to do, and a typed context payload. Domain outcomes
 * (out of gas, a failed proof check reported as a value) are NOT errors; bugs
 * are assertions (`assert`), which crash loudly and stay on in production.
 *
 * Invariants: codes are stable strings and never reused for another meaning;
 * `docs/errors.md` lists every code (a test checks the two agree).
 * Costs: constructing an error captures a stack trace (~µs); never on a hot path
 * that expects failure as a normal outcome.
 */

export const ERROR_CODES = {
  // core
  CODEC_MALFORMED: "Bytes could not be decoded: truncated, non-canonical or trailing data.",
  HASH_KERNEL_UNAVAILABLE: "The native BLAKE3 kernel is not built. Run `npm run build:native` (needs g++ and python3).",
  INVALID_ARGUMENT: "An argument is out of its documented range or of the wrong type.",
  // merkle
  MERKLE_KEY_TOO_LONG: "A key is longer than MAX_KEY_BYTES. Hash or shorten long keys.",
  MERKLE_VALUE_TOO_LARGE: "A value is larger than MAX_VALUE_BYTES. Store large blobs by hash.",
  MERKLE_NODE_MALFORMED: "An encoded tree node is malformed; the store or the peer sent bad bytes.",
  MERKLE_NODE_MISSING: "A node reachable from the root is not in the store; the store is incomplete.",
  MERKLE_PROOF_MALFORMED: "A proof could not be parsed. Reject it and ask another peer.",
  MERKLE_PROOF_INVALID: "A proof parsed but does not prove the claim against the given root.",
  MEMORY_STORE_FULL:
    "An in-memory store or flat view reached its 16 GiB address space. Compact it (copyReachable) or use the durable store.",
  // store
  STORE_CORRUPT:
    "Stored bytes fail their check (a node that does not hash to its id, a log record or state record whose checksum fails). Restore from a snapshot or a peer.",
  STORE_NOT_FOUND:
    "No Helios store at this path. Create one with `helios store init <dir>` (or open with { create: true }).",
  STORE_FOREIGN:
    "The directory holds files that are not a Helios store. Point at an empty directory or a Helios store.",
  STORE_VERSION: "The store was written by an incompatible Helios format version.",
  STORE_EXISTS: "A Helios store already exists there; nothing was changed.",
  STORE_LOCKED: "Another process (or another handle in this process) has the store open. Close it first.",
  STORE_READ_ONLY: "The store's directory or files are not writable. Fix the permissions or the mount.",
  STORE_DISK_FULL: "The disk is full. Free space and retry; nothing was half-applied.",
  STORE_IO: "An I/O operation on the store failed. See the cause in the message.",
  STORE_CLOSED: "The store is closed.",
  STORE_WAL_POISONED:
    "An earlier log write failed and could not be undone, so further commits are refused. Reopen the store: recovery drops the torn record.",
  // history
  HEIGHT_OUT_OF_ORDER: "Heights are committed in order: the next height must be the committed height + 1.",
  HEIGHT_NOT_RETAINED: "That height is not retained (never committed, pruned by retention, or rolled back).",
  REF_NOT_FOUND: "No ref (branch or tag) by that name.",
  REF_NAME_INVALID: "A ref name must be 1–128 bytes of UTF-8 without control characters.",
  TREE_NAME_INVALID: "A tree name must be 1–64 bytes of UTF-8 without control characters.",
  ROOT_NOT_LIVE:
    "That root is not retained by a height, ref or pin, so its nodes may be collected. Pin it or point a ref at it first.",
  // snapshot
  SNAPSHOT_NOT_FOUND: "No snapshot at that height (list them with `helios snapshot list`).",
  SNAPSHOT_MANIFEST_INVALID:
    "The snapshot manifest is unreadable, fails its hash, or is inconsistent. Reject this snapshot and fetch another.",
  SNAPSHOT_UNTRUSTED_ROOT:
    "The snapshot's root is not the root you trust for that height. Reject this snapshot (and its sender).",
  SNAPSHOT_BASE_MISSING:
    "An incremental snapshot applies on top of its base version, which this store does not hold. Import the base first.",
  SNAPSHOT_CHUNK_BAD_COMPRESSION:
    "The chunk file is damaged: its check hash, compression frame or size is wrong. Nothing from it was written; fetch the chunk again from another sender.",
  SNAPSHOT_CHUNK_MALFORMED:
    "The chunk does not decode as a Helios chunk. Nothing from it was written; fetch it from another sender and reject this one.",
  SNAPSHOT_CHUNK_WRONG_ROOT:
    "The chunk belongs to another snapshot (its root differs). Nothing from it was written; fetch the right chunk from another sender.",
  SNAPSHOT_CHUNK_OUT_OF_ORDER:
    "The chunk is not the one expected at this index (its index or key range differs from the manifest). Nothing from it was written; fetch the chunk again.",
  SNAPSHOT_CHUNK_MISSING_KEYS:
    "The chunk leaves out keys that its proof says are in its range. Nothing from it was written; fetch it from another sender and reject this one.",
  SNAPSHOT_CHUNK_INJECTED_KEYS:
    "The chunk carries keys that are not in the state at its root (or lie outside its range). Nothing from it was written; fetch it from another sender and reject this one.",
  SNAPSHOT_CHUNK_BAD_PROOF:
    "The chunk's range proof does not verify against the snapshot root. Nothing from it was written; fetch it from another sender and reject this one.",
  SNAPSHOT_CHUNK_HASH_MISMATCH:
    "The chunk proves correct against the root but differs from the manifest's hash: the manifest is wrong. Reject this snapshot.",
  SNAPSHOT_ROOT_MISMATCH:
    "After the last chunk, the recomputed root differs from the manifest's root. Nothing was adopted; reject this snapshot.",
  // sandbox: branches (sandbox/repo.ts)
  REPO_NOT_FOUND: "No repository by that name in the store. Create one with `helios repo init`.",
  REPO_EXISTS: "A repository by that name already exists in the store; nothing was changed.",
  REPO_NAME_INVALID: "A branch, tag or repository name breaks the naming rules (see docs/branches.md).",
  REPO_REV_NOT_FOUND: "No branch, tag or commit matches that revision.",
  REPO_REV_AMBIGUOUS: "That commit-id prefix matches more than one commit; give more hex digits.",
  REPO_BRANCH_EXISTS: "A branch by that name already exists; nothing was changed.",
  REPO_TAG_EXISTS: "A tag by that name already exists (tags do not move); pass force to move it.",
  REPO_DIRTY:
    "The branch has uncommitted writes that this operation would drop; commit them, or reset --hard to discard them.",
  REPO_CURRENT_BRANCH: "The checked-out branch cannot be deleted; check out another branch first.",
  REPO_NOTHING_TO_COMMIT:
    "The working state equals the head commit's state; nothing to commit (allowEmpty to commit anyway).",
  REPO_NO_MERGE_BASE:
    "The two histories share no known commit (unrelated, or forgotten); nothing was changed. Pass allowUnrelated to merge from the empty state.",
  REPO_MERGE_CONFLICT:
    "Keys changed differently on both sides; nothing was changed. Merge with policy ours, theirs or a resolver.",
  // sandbox: the branch CLI (cli/repo.ts)
  REPO_KEY_NOT_FOUND: "The tree holds no value for that key in that state (`helios get`).",
  // sandbox: forks, the fork(n) runner, MCTS (sandbox/fork.ts, runner.ts, mcts.ts)
  FORK_RELEASED: "The fork was released (its writes discarded); fork again from a live version.",
  FORK_TASK_FAILED: "The task threw (or could not be loaded) on this fork; only this fork failed. See the message.",
  FORK_WORKER_DIED:
    "The worker thread running this fork died (process.exit, out of memory, a crash); only this fork failed.",
  FORK_ABORTED: "The run was aborted (its AbortSignal fired) before this fork finished.",
  FORK_TIMEOUT: "The fork ran longer than the run's timeoutMs; its thread was terminated. Only this fork failed.",
  // exec
  TX_MALFORMED:
    "Transaction bytes could not be decoded (truncated, non-canonical, unknown kind, or trailing data). Reject the transaction.",
  TX_OVERSIZE: "The transaction is larger than the configured maximum size. Split the work or raise maxTxBytes.",
  TX_BAD_SIGNATURE: "The ed25519 signature does not verify against the sender's key. Re-sign the transaction.",
  TX_WRONG_CHAIN: "The transaction names another chain id. Sign it for this chain.",
  TX_NONCE_TOO_LOW: "The transaction's nonce was already used by this sender. Use the account's current nonce.",
  TX_NONCE_TOO_HIGH:
    "The transaction's nonce is further ahead of the account's nonce than allowed. Send the missing nonces first.",
  TX_INSUFFICIENT_BALANCE:
    "The sender cannot pay value + gasLimit \u00d7 fee. Fund the account or lower the value, gas limit or fee.",
  TX_GAS_BELOW_INTRINSIC:
    "The gas limit is below the transaction's intrinsic cost. Raise the gas limit (estimateGas helps).",
  TX_GAS_ABOVE_BLOCK_LIMIT:
    "The gas limit is above the block gas limit, so no block could hold it. Lower the gas limit.",
  BLOCK_MALFORMED: "Block bytes could not be decoded. Reject the block.",
  BLOCK_INVALID:
    "The block breaks a block rule (height, parent, gas limit or an invalid transaction). Nothing of it was applied.",
  BLOCK_ROOT_MISMATCH:
    "The computed state root differs from the root the header expects. The block was rejected and nothing was committed.",
  EXEC_NOT_PENDING: "No executed block is pending at that height (or with that hash). Execute it first.",
  VM_MODULE_INVALID:
    "The WASM module is malformed or uses a forbidden feature (floats, SIMD, threads, too many pages). Rebuild it for the Helios VM.",
  CONFIG_INVALID: "The configuration has an unknown field or a value out of range. Fix the config file.",
  VERIFIER_CLOSED: "The signature verifier pool is closed. Create a new pool.",
  VERIFIER_FAILED: "A signature verifier thread died. Its batch was not verified; close the pool and create a new one.",
  // sandbox: directory checkpoints
  CHECKPOINT_NOT_FOUND: "No checkpoint with that id (list them with `helios checkpoints list`).",
  CHECKPOINT_ID_AMBIGUOUS: "That id prefix matches more than one checkpoint. Give more hex digits.",
  CHECKPOINT_CORRUPT:
    "A checkpoint's stored data fails its checks (an entry that does not decode, a missing chunk, a chunk that does not hash to its id). Nothing was restored from the bad data.",
  CHECKPOINT_PATH_UNSAFE:
    "A stored path is unsafe to restore (absolute, `..`, `.`, empty component, NUL or backslash), or a source name cannot be stored. Nothing was written.",
  CHECKPOINT_PATH_NOT_FOUND: "The checkpoint holds no entry at that path.",
  CHECKPOINT_SOURCE_UNREADABLE:
    "The directory to checkpoint (or a file in it) cannot be read. Fix the permissions or the path; nothing was stored.",
  CHECKPOINT_FILE_TOO_LARGE: "A file has more chunks than one entry can list (about 7 GB at the default chunk size).",
  RESTORE_TARGET_NOT_EMPTY:
    "The restore target is not empty. Pick an empty directory, or pass force to restore over it.",
  RESTORE_OUTSIDE_TARGET:
    "A restore write would land outside the target: an existing path in the target is a symlink (or not a directory where one is needed), or one was swapped in while the restore wrote. The detail says whether it was found before writing (nothing written) or while writing (what was restored so far stays).",
  RESTORE_SYMLINK_ESCAPE:
    "The checkpoint holds a symlink that resolves outside the restore target, or an entry below a symlink. Nothing was written.",
  RESTORE_IO:
    "Writing the restore target failed (see the cause). What was restored so far stays; restore again with force.",
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

export class HeliosError extends Error {
  readonly code: ErrorCode;
  readonly context: Readonly<Record<string, unknown>>;

  constructor(code: ErrorCode, context: Record<string, unknown> = {}, detail?: string) {
    const base = ERROR_CODES[code];
    super(`${code}: ${detail === undefined ? base : `${detail} — ${base}`}`);
    this.name = "HeliosError";
    this.code = code;
    this.context = context;
  }
}

/** True when `e` is a HeliosError, optionally of a given code. */
export function isHeliosError(e: unknown, code?: ErrorCode): e is HeliosError {
  return e instanceof HeliosError && (code === undefined || e.code === code);
}

/** A failed assertion is a bug in Helios, not bad input: crash loudly. */
export class AssertionError extends Error {
  constructor(message: string) {
    super(`assertion failed: ${message}`);
    this.name = "AssertionError";
  }
}

export function assert(cond: unknown, message: string): asserts cond {
  if (!cond) throw new AssertionError(message);
}
