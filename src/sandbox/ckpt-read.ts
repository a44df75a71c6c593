/**
 * sandbox/ckpt-read — lazy reads of a checkpoint: one file, chunk by chunk,
 * on demand (what a sandbox that serves files from a checkpoint without
 * restoring it needs), and the verified chunk read that restore shares.
 *
 * Invariants: every chunk handed out was decompressed into exactly the
 * length its entry states and hashes to its key (CHECKPOINT_CORRUPT
 * otherwise); the checkpoint is leased while a reader is open, so GC cannot
 * take it away mid-read.
 * Costs: openFile is O(depth) node reads (the ref lookup, the forest, the
 * `files` tree); each chunk is one `chunks` lookup (O(depth) reads, the leaf
 * re-hashed by the store), one decompression and one BLAKE3. First byte of a
 * file: one entry read plus one chunk read, whatever the checkpoint's size.
 */
import { bytesToHex, HeliosError } from "../core/index.js";
import type { StateDB } from "../history/index.js";
import { isEmptyRoot } from "../merkle/index.js";
import { resolveCheckpoint } from "./ckpt-catalog.js";
import { ChunkDecoder } from "./ckpt-codec.js";
import { type ChunkRef, decodeEntry, normalizeSubPath, pathKey, T_CHUNKS, T_FILES } from "./ckpt-format.js";

/** A chunk's verified raw bytes from a version's `chunks` tree (CHECKPOINT_CORRUPT if missing or bad). */
export function readChunk(
  db: StateDB,
  chunksRoot: Uint8Array,
  decoder: ChunkDecoder,
  c: ChunkRef,
  path: string,
): Uint8Array {
  const v = isEmptyRoot(chunksRoot) ? undefined : db.map.get(chunksRoot, c.hash);
  if (v === undefined) {
    throw new HeliosError("CHECKPOINT_CORRUPT", { path, chunk: bytesToHex(c.hash) }, "a chunk is missing");
  }
  return decoder.decode(v, c.hash, c.len);
}

/** One file of a checkpoint, read chunk by chunk on demand. */
export interface CheckpointFile {
  readonly path: string;
  readonly size: number;
  readonly mode: number;
  readonly mtimeNs: bigint;
  readonly chunkCount: number;
  /** The file's bytes, one verified chunk at a time (each chunk is read from the store when asked for). */
  chunks(): Generator<Uint8Array>;
  /** Every byte (for small files). */
  readAll(): Uint8Array;
  /** Releases the checkpoint's lease. Idempotent. */
  close(): void;
}

/**
 * Opens one file of a checkpoint for lazy reading: the entry is read now (a
 * few node reads), each chunk only when the iterator reaches it, so the
 * first bytes arrive after one chunk read, whatever the file's or the
 * checkpoint's size. Holds a lease on the checkpoint until close().
 */
export function openFile(db: StateDB, id: string, path: string): CheckpointFile {
  const r = resolveCheckpoint(db, id);
  const p = normalizeSubPath(path);
  const files = db.treeRoot(T_FILES, r.root);
  const key = pathKey(p);
  const v = isEmptyRoot(files) ? undefined : db.map.get(files, key);
  if (v === undefined) throw new HeliosError("CHECKPOINT_PATH_NOT_FOUND", { path: p });
  const e = decodeEntry(key, v);
  if (e.kind !== "file") {
    throw new HeliosError("INVALID_ARGUMENT", { path: p, kind: e.kind }, "openFile reads files, not dirs or symlinks");
  }
  const chunksRoot = db.treeRoot(T_CHUNKS, r.root);
  const release = db.lease(r.root);
  let open = true;
  const decoder = new ChunkDecoder();
  const file: CheckpointFile = {
    path: p,
    size: e.size,
    mode: e.mode,
    mtimeNs: e.mtimeNs,
    chunkCount: e.chunks.length,
    *chunks() {
      for (const c of e.chunks) {
        if (!open) throw new HeliosError("INVALID_ARGUMENT", { path: p }, "the file was closed");
        yield readChunk(db, chunksRoot, decoder, c, p);
      }
    },
    readAll() {
      const out = new Uint8Array(e.size);
      let off = 0;
      for (const b of file.chunks()) {
        out.set(b, off);
        off += b.length;
      }
      return out;
    },
    close() {
      if (!open) return;
      open = false;
      release();
    },
  };
  return file;
}
