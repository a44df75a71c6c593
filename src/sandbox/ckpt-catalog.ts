/**
 * sandbox/ckpt-catalog — the checkpoints a store holds: their ids and refs,
 * their meta (source, time, parent, stats, chunker), listing, lookup by id
 * prefix, delete, and forget by a retention policy (retention.ts).
 *
 * A checkpoint is kept by a ref `checkpoint/<64 hex of its root>`; its id is
 * that root. Refs are live for GC, so a checkpoint's nodes stay until its ref
 * is deleted and a GC runs.
 *
 * Invariants: ids are lowercase hex of the forest root; a prefix resolves
 * only if it names exactly one checkpoint.
 * Costs: resolve and list are O(refs) (plus a few meta reads per checkpoint
 * listed); delete and forget are one log record per ref (one fsync per call).
 */
import { bytesToHex, HASH_BYTES, HeliosError, utf8 } from "../core/index.js";
import type { StateDB } from "../history/index.js";
import { isEmptyRoot } from "../merkle/index.js";
import {
  decodeChunker,
  decodeU64,
  decodeUtf8,
  FORMAT,
  M_CHUNKER,
  M_FORMAT,
  M_PARENT,
  M_SOURCE,
  M_STATS,
  M_TIME,
  REF_PREFIX,
  T_META,
} from "./ckpt-format.js";
import { planRetention, type RetentionPlan, type RetentionPolicy } from "./retention.js";

// ------------------------------------------------------------------ types

export interface CheckpointStats {
  files: number;
  dirs: number;
  symlinks: number;
  /** Sockets, FIFOs and devices, which are not stored; and the store's own directory, if inside the source. */
  skipped: number;
  /** Bytes of all files in the checkpoint. */
  bytes: number;
  /** Files read by this run, and files whose parent entry was kept unread. */
  filesRead: number;
  filesReused: number;
  bytesRead: number;
  /** Chunks cut from the files read (with repeats). */
  chunksRead: number;
  /** Chunks stored by this run (absent from the parent and from earlier in the run), their raw and stored bytes. */
  chunksNew: number;
  bytesNewRaw: number;
  bytesNewStored: number;
  /** Chunks whose last reference went away (deleted from this version). */
  chunksDropped: number;
  /** Distinct chunks in the checkpoint, their raw and stored (compressed) bytes. */
  chunks: number;
  chunkBytesRaw: number;
  chunkBytesStored: number;
  /** bytes / chunkBytesRaw: how much chunk dedup saves (≥ 1). */
  dedupRatio: number;
  /** Lookups of chunks in the parent's tree, and lookups the parent's Bloom filter saved. */
  lookups: number;
  lookupsSaved: number;
  /** Time spent (0 without a clock option). */
  ms: number;
}

export interface CheckpointInfo {
  id: string;
  root: Uint8Array;
  /** The absolute source path. */
  source: string;
  time: number;
  parent: string | undefined;
  stats: CheckpointStats;
  chunker: { minBytes: number; avgBytes: number; maxBytes: number; zstdLevel: number };
}

// ------------------------------------------------------------------ ids and listing

const HEX64 = /^[0-9a-f]{64}$/;

/** The ref of checkpoint `id` (64 hex). */
export function checkpointRef(id: string): string {
  return REF_PREFIX + id;
}

/**
 * Resolves an id or a unique hex prefix of at least 8 digits (any case) to
 * the checkpoint's id and root. CHECKPOINT_NOT_FOUND or CHECKPOINT_ID_AMBIGUOUS.
 */
export function resolveCheckpoint(db: StateDB, id: string): { id: string; root: Uint8Array } {
  if (typeof id !== "string" || !/^[0-9a-fA-F]{8,64}$/.test(id)) {
    throw new HeliosError("INVALID_ARGUMENT", { id: String(id) }, "a checkpoint id is 8 to 64 hex digits");
  }
  const want = id.toLowerCase();
  const matches: { id: string; root: Uint8Array }[] = [];
  for (const [name, root] of db.refs()) {
    if (!name.startsWith(REF_PREFIX)) continue;
    const hex = name.slice(REF_PREFIX.length);
    if (HEX64.test(hex) && hex.startsWith(want)) matches.push({ id: hex, root });
  }
  if (matches.length === 0) throw new HeliosError("CHECKPOINT_NOT_FOUND", { id });
  if (matches.length > 1) {
    throw new HeliosError("CHECKPOINT_ID_AMBIGUOUS", { id, matches: matches.map((m) => m.id.slice(0, 16)) });
  }
  return matches[0] as { id: string; root: Uint8Array };
}

export function metaGet(db: StateDB, version: Uint8Array, key: string): Uint8Array | undefined {
  const t = db.treeRoot(T_META, version);
  return isEmptyRoot(t) ? undefined : db.map.get(t, utf8(key));
}

export const ZERO_STATS: CheckpointStats = {
  files: 0,
  dirs: 0,
  symlinks: 0,
  skipped: 0,
  bytes: 0,
  filesRead: 0,
  filesReused: 0,
  bytesRead: 0,
  chunksRead: 0,
  chunksNew: 0,
  bytesNewRaw: 0,
  bytesNewStored: 0,
  chunksDropped: 0,
  chunks: 0,
  chunkBytesRaw: 0,
  chunkBytesStored: 0,
  dedupRatio: 1,
  lookups: 0,
  lookupsSaved: 0,
  ms: 0,
};

/** Reads a checkpoint's meta tree. CHECKPOINT_CORRUPT if it is not one. */
export function readCheckpointInfo(db: StateDB, id: string, root: Uint8Array): CheckpointInfo {
  const need = (k: string): Uint8Array => {
    const v = metaGet(db, root, k);
    if (v === undefined) throw new HeliosError("CHECKPOINT_CORRUPT", { id, meta: k }, `meta ${k} missing`);
    return v;
  };
  const fmt = need(M_FORMAT);
  if (fmt.length !== 1 || fmt[0] !== FORMAT) {
    throw new HeliosError("CHECKPOINT_CORRUPT", { id, meta: M_FORMAT }, "unknown checkpoint format");
  }
  const source = decodeUtf8(need(M_SOURCE));
  if (source === undefined) throw new HeliosError("CHECKPOINT_CORRUPT", { id, meta: M_SOURCE }, "source not UTF-8");
  const parent = metaGet(db, root, M_PARENT);
  if (parent !== undefined && parent.length !== HASH_BYTES) {
    throw new HeliosError("CHECKPOINT_CORRUPT", { id, meta: M_PARENT }, "parent is not 32 bytes");
  }
  let stats: CheckpointStats;
  try {
    stats = { ...ZERO_STATS, ...(JSON.parse(new TextDecoder().decode(need(M_STATS))) as Partial<CheckpointStats>) };
  } catch {
    throw new HeliosError("CHECKPOINT_CORRUPT", { id, meta: M_STATS }, "stats are not JSON");
  }
  return {
    id,
    root,
    source,
    time: decodeU64(need(M_TIME), "time"),
    parent: parent === undefined ? undefined : bytesToHex(parent),
    stats,
    chunker: decodeChunker(need(M_CHUNKER)),
  };
}

/** Every checkpoint, oldest first (by time, then id). Costs O(refs) plus a few meta reads each. */
export function listCheckpoints(db: StateDB): CheckpointInfo[] {
  const out: CheckpointInfo[] = [];
  for (const [name, root] of db.refs()) {
    if (!name.startsWith(REF_PREFIX)) continue;
    const hex = name.slice(REF_PREFIX.length);
    if (HEX64.test(hex)) out.push(readCheckpointInfo(db, hex, root));
  }
  return out.sort((a, b) => a.time - b.time || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

/** One checkpoint's info, by id or unique prefix. */
export function checkpointInfo(db: StateDB, id: string): CheckpointInfo {
  const r = resolveCheckpoint(db, id);
  return readCheckpointInfo(db, r.id, r.root);
}

/** Deletes a checkpoint's ref (GC then reclaims what only it kept). Returns its full id. */
export function deleteCheckpoint(db: StateDB, id: string, opts: { sync?: boolean } = {}): string {
  const r = resolveCheckpoint(db, id);
  db.deleteRef(checkpointRef(r.id), opts);
  return r.id;
}

export interface ForgetResult {
  plan: RetentionPlan;
  /** Ids whose refs were deleted (empty on a dry run). */
  forgotten: string[];
  dryRun: boolean;
}

/**
 * Applies a retention policy (retention.ts) to the checkpoints, grouped by
 * source path: deletes the refs of those it forgets (one log fsync for all),
 * or with `dryRun` only returns the plan, changing nothing. The nodes they
 * alone kept stay on disk until a GC (`db.collect`).
 */
export function forgetCheckpoints(
  db: StateDB,
  policy: RetentionPolicy,
  now: number,
  opts: { dryRun?: boolean } = {},
): ForgetResult {
  const items = listCheckpoints(db).map((c) => ({ id: c.id, group: c.source, time: c.time }));
  const plan = planRetention(items, policy, now);
  const dryRun = opts.dryRun === true;
  const forgotten: string[] = [];
  if (!dryRun && plan.forget.length > 0) {
    for (const d of plan.forget) {
      db.deleteRef(checkpointRef(d.id), { sync: false });
      forgotten.push(d.id);
    }
    db.sync();
  }
  return { plan, forgotten, dryRun };
}
