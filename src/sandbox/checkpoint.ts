/**
 * sandbox/checkpoint — directory checkpoints: a directory tree stored in the
 * content-addressed store, cut into content-defined chunks (chunker.ts),
 * deduplicated and compressed; restored whole or in part; read lazily;
 * listed, diffed, deleted and forgotten by a retention policy. Users:
 * docs/checkpoints.md; formats and numbered requirements:
 * docs/spec/checkpoint.md.
 *
 * This module is the face of the feature (it re-exports the API) and holds
 * the diff. The parts:
 *   ckpt-format   the trees of a checkpoint version and their encodings
 *   ckpt-codec    chunk compression and verified decompression
 *   ckpt-catalog  ids, refs, meta, list, info, delete, forget
 *   ckpt-build    createCheckpoint (the write path and its crash safety)
 *   ckpt-restore  restoreCheckpoint (the checks against hostile checkpoints)
 *   ckpt-read     openFile (lazy reads, first-byte latency)
 *   ckpt-craft    hand-made checkpoints, for tests of hostile input
 *
 * Dedup: a chunk is stored under its BLAKE3 in a version's `chunks` tree;
 * identical (key, value) leaves are one content-addressed node, so a chunk
 * shared by two files, two checkpoints or two branches is stored once.
 *
 * Invariants: see the parts. The diff reads only the subtrees of the two
 * `files` trees whose hashes differ.
 * Costs: diff O(changed entries × log n) node reads.
 */
import { equalBytes } from "../core/index.js";
import type { StateDB } from "../history/index.js";
import { resolveCheckpoint } from "./ckpt-catalog.js";
import { type ChunkRef, decodeEntry, type EntryKind, type StoredEntry, T_FILES } from "./ckpt-format.js";

export {
  type CheckpointInfo,
  type CheckpointStats,
  checkpointInfo,
  checkpointRef,
  deleteCheckpoint,
  type ForgetResult,
  forgetCheckpoints,
  listCheckpoints,
  resolveCheckpoint,
} from "./ckpt-catalog.js";
export { type CheckpointOptions, type CheckpointProgress, createCheckpoint, RACY_MS } from "./ckpt-build.js";
export { type CheckpointFile, openFile } from "./ckpt-read.js";
export {
  type RestoreOptions,
  type RestoreProgress,
  type RestoreReport,
  restoreCheckpoint,
} from "./ckpt-restore.js";
export { type Entry, type EntryKind, normalizeSubPath } from "./ckpt-format.js";

export interface DiffItem {
  path: string;
  change: "added" | "removed" | "modified";
  /** The kind in the first / second checkpoint (undefined where absent). */
  before: { kind: EntryKind; size: number; mode: number; mtimeNs: bigint } | undefined;
  after: { kind: EntryKind; size: number; mode: number; mtimeNs: bigint } | undefined;
  /** For "modified": what differs among kind, content, mode, mtime, target. */
  what: string[];
}

export interface CheckpointDiff {
  a: string;
  b: string;
  items: DiffItem[];
  added: number;
  removed: number;
  modified: number;
  /** File bytes in b's added and modified files; file bytes of a's removed and modified files. */
  bytesAdded: number;
  bytesRemoved: number;
  /** Nodes read by the Merkle diff (proportional to the change). */
  nodesRead: number;
}

function brief(e: StoredEntry): { kind: EntryKind; size: number; mode: number; mtimeNs: bigint } {
  return { kind: e.kind, size: e.size, mode: e.mode, mtimeNs: e.mtimeNs };
}

function sameChunks(a: readonly ChunkRef[], b: readonly ChunkRef[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) {
    const x = a[i] as ChunkRef;
    const y = b[i] as ChunkRef;
    if (x.len !== y.len || !equalBytes(x.hash, y.hash)) return false;
  }
  return true;
}

/**
 * The changes from checkpoint `a` to checkpoint `b`, in path order, from the
 * Merkle diff of their `files` trees: only subtrees whose hashes differ are
 * read, so the cost is proportional to the change, not to the trees.
 */
export function diffCheckpoints(db: StateDB, a: string, b: string): CheckpointDiff {
  const ra = resolveCheckpoint(db, a);
  const rb = resolveCheckpoint(db, b);
  const stats = { nodesRead: 0 };
  const changes = db.map.diff(db.treeRoot(T_FILES, ra.root), db.treeRoot(T_FILES, rb.root), stats);
  const items: DiffItem[] = [];
  const d: CheckpointDiff = {
    a: ra.id,
    b: rb.id,
    items,
    added: 0,
    removed: 0,
    modified: 0,
    bytesAdded: 0,
    bytesRemoved: 0,
    nodesRead: 0,
  };
  for (const c of changes) {
    const x = c.before === undefined ? undefined : decodeEntry(c.key, c.before);
    const y = c.after === undefined ? undefined : decodeEntry(c.key, c.after);
    const path = (y ?? x)?.path as string;
    if (x === undefined && y !== undefined) {
      d.added++;
      d.bytesAdded += y.size;
      items.push({ path, change: "added", before: undefined, after: brief(y), what: [] });
    } else if (y === undefined && x !== undefined) {
      d.removed++;
      d.bytesRemoved += x.size;
      items.push({ path, change: "removed", before: brief(x), after: undefined, what: [] });
    } else if (x !== undefined && y !== undefined) {
      const what: string[] = [];
      if (x.kind !== y.kind) what.push("kind");
      else {
        if (x.kind === "file" && !sameChunks(x.chunks, y.chunks)) what.push("content");
        if (x.kind === "symlink" && !equalBytes(x.target as Uint8Array, y.target as Uint8Array)) what.push("target");
      }
      if (x.mode !== y.mode) what.push("mode");
      if (x.mtimeNs !== y.mtimeNs) what.push("mtime");
      d.modified++;
      if (what.includes("content") || what.includes("kind")) {
        d.bytesAdded += y.size;
        d.bytesRemoved += x.size;
      }
      items.push({ path, change: "modified", before: brief(x), after: brief(y), what });
    }
  }
  items.sort((p, q) => (p.path < q.path ? -1 : p.path > q.path ? 1 : 0));
  d.nodesRead = stats.nodesRead;
  return d;
}
