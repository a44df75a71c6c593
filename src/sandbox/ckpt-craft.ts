/**
 * sandbox/ckpt-craft — writes a checkpoint from a hand-made entry list,
 * straight into the trees, with none of the checks createCheckpoint makes:
 * paths like `../x` or `/etc/x`, entries below a symlink, symlinks to
 * anywhere, chunks whose bytes do not match their hash. It exists so tests
 * (and anyone auditing restore) can build the hostile checkpoints a restore
 * must refuse; nothing in Helios calls it.
 *
 * Invariants: the result is well-formed at the encoding level (entries,
 * records and meta decode), so a restore's refusal is about what the
 * checkpoint says, not how it is spelled; reference counts match the entries.
 * Costs: O(total content) to chunk and compress; one staged version, one
 * store checkpoint, one ref.
 */
import { bytesToHex, hash, utf8 } from "../core/index.js";
import type { StateDB } from "../history/index.js";
import { EMPTY_ROOT, type Op } from "../merkle/index.js";
import { checkpointRef, ZERO_STATS } from "./ckpt-catalog.js";
import { ChunkEncoder } from "./ckpt-codec.js";
import {
  type ChunkRef,
  encodeChunker,
  encodeChunkRecord,
  encodeU64,
  entryValue,
  type EntryKind,
  FORMAT,
  M_CHUNKER,
  M_FORMAT,
  M_SOURCE,
  M_STATS,
  M_TIME,
  T_CHUNKREFS,
  T_CHUNKS,
  T_FILES,
  T_META,
} from "./ckpt-format.js";
import { chunkEnds, DEFAULT_CHUNKER } from "./chunker.js";

export interface CraftedEntry {
  /** Stored as given: not normalized, not checked. */
  path: string;
  kind: EntryKind;
  mode?: number;
  mtimeNs?: bigint;
  /** Files: the content (default empty). */
  content?: Uint8Array;
  /** Symlinks: the target. */
  target?: string;
}

export interface CraftOptions {
  time: number;
  source?: string;
  /** Replaces the stored value of a chunk (to store bytes that do not match the hash). */
  chunkValue?: (hash: Uint8Array, raw: Uint8Array, value: Uint8Array) => Uint8Array;
  /** Chunks left out (of `chunks` and `chunkrefs`), to make a checkpoint with a missing chunk. */
  dropChunks?: (hash: Uint8Array) => boolean;
}

/** Writes the entries as a checkpoint and returns its id. */
export async function craftCheckpoint(
  db: StateDB,
  entries: readonly CraftedEntry[],
  opts: CraftOptions,
): Promise<string> {
  const encoder = new ChunkEncoder();
  const files: Op[] = [];
  const chunks = new Map<string, { hash: Uint8Array; raw: Uint8Array; count: number }>();
  for (const c of entries) {
    const content = c.content ?? new Uint8Array(0);
    const list: ChunkRef[] = [];
    let s = 0;
    for (const e of c.kind === "file" ? chunkEnds(content) : []) {
      const raw = content.subarray(s, e);
      const h = hash(raw);
      list.push({ hash: h, len: raw.length });
      const k = bytesToHex(h);
      const x = chunks.get(k);
      if (x === undefined) chunks.set(k, { hash: h, raw, count: 1 });
      else x.count++;
      s = e;
    }
    const { key, value } = entryValue(c.path, {
      kind: c.kind,
      mode: c.mode ?? (c.kind === "dir" ? 0o755 : c.kind === "symlink" ? 0o777 : 0o644),
      mtimeNs: c.mtimeNs ?? 1_600_000_000_000_000_000n,
      size: c.kind === "file" ? content.length : 0,
      chunks: list,
      ...(c.kind === "symlink" ? { target: utf8(c.target ?? "") } : {}),
    });
    files.push({ key, value });
  }
  const chunkOps: Op[] = [];
  const refOps: Op[] = [];
  for (const { hash: h, raw, count } of chunks.values()) {
    let v = encoder.encode(raw);
    if (opts.chunkValue !== undefined) v = opts.chunkValue(h, raw, v);
    if (opts.dropChunks?.(h) === true) continue;
    chunkOps.push({ key: h, value: v });
    refOps.push({ key: h, value: encodeChunkRecord({ count, rawLen: raw.length, storedLen: v.length }) });
  }
  const p = DEFAULT_CHUNKER;
  const meta: Op[] = [
    { key: utf8(M_FORMAT), value: new Uint8Array([FORMAT]) },
    { key: utf8(M_SOURCE), value: utf8(opts.source ?? "/crafted") },
    { key: utf8(M_TIME), value: encodeU64(opts.time) },
    {
      key: utf8(M_CHUNKER),
      value: encodeChunker({ minBytes: p.minBytes, avgBytes: p.avgBytes, maxBytes: p.maxBytes, zstdLevel: 3 }),
    },
    { key: utf8(M_STATS), value: utf8(JSON.stringify({ ...ZERO_STATS, chunks: chunks.size })) },
  ];
  const staged = db.stage(EMPTY_ROOT, {
    [T_FILES]: files,
    [T_CHUNKS]: chunkOps,
    [T_CHUNKREFS]: refOps,
    [T_META]: meta,
  });
  try {
    await db.checkpoint();
    const id = bytesToHex(staged.root);
    db.setRef(checkpointRef(id), staged.root);
    return id;
  } finally {
    staged.release();
  }
}
