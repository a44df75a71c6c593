/**
 * sandbox/ckpt-build — creating a directory checkpoint (docs/checkpoints.md
 * explains it for users, docs/spec/checkpoint.md pins the formats).
 *
 * Steps:
 *  1. scan: walk the source with lstat only (no file is opened), keeping each
 *     path's kind, mode, mtime, size, inode, ctime and symlink target;
 *  2. decide: a file whose size, mtime and mode equal the parent's entry and
 *     whose inode and ctime equal the parent's hint, which is not racy, keeps
 *     the parent's entry unread (as git's index and restic do; `reread`
 *     turns this off). The parent is the newest checkpoint of the same source
 *     unless given. A file changed within RACY_MS of the checkpoint's time,
 *     or while it was read, is marked racy: the next checkpoint re-reads it,
 *     since a second change in the same timestamp tick would look unchanged;
 *  3. read: every other file is read, cut by the chunker, and each chunk
 *     hashed (batched BLAKE3). A chunk the parent holds (its Bloom filter
 *     says "maybe" and a lookup in its chunkrefs finds it) or that this run
 *     already stored is only counted; a new one is compressed (ckpt-codec)
 *     and queued for the `chunks` tree;
 *  4. write: the new version is the parent's version plus ops: entries
 *     changed, added and removed; hints; new chunks; reference counts moved
 *     (chunks whose count falls to 0 are deleted); then meta (source, time,
 *     parent, chunker, stats and the Bloom filter of the version's chunks).
 *     Ops are staged (`db.stage`: no log record, so chunk bytes are never
 *     written to the log) in batches of ~64 MiB of chunk values, each on the
 *     previous staged root (its lease released), and each batch is moved to
 *     LMDB by `db.checkpoint()`, so memory stays bounded whatever the tree's
 *     size. Last, `db.setRef("checkpoint/<id>", root)`: one small log record.
 *
 * Crash safety: until setRef, the new nodes are reachable only from staged
 * versions held by in-process leases. A crash before setRef drops the leases,
 * so what was written is unreachable and the next GC collects it; the store
 * and every earlier checkpoint are untouched. setRef returns after its log
 * record is fsynced, and the checkpoint before it had put every node in
 * LMDB, so from then on the checkpoint survives any crash.
 *
 * Invariants: a checkpoint never changes once its ref exists; its `chunks`
 * tree holds exactly the chunks its entries name, and `chunkrefs` counts
 * each chunk's uses (entry, position); the parent is leased for the whole run,
 * so GC cannot take it away mid-build; nothing but the store is written.
 * Costs: scan O(entries) lstat calls; read O(bytes of changed files) (~1 GB/s
 * chunking, ~400 MB/s zstd -3 on new chunks); write O(new chunk bytes +
 * changed entries × log n); memory O(entries of the source and the parent) +
 * one batch of chunk values + L0.
 */
import { lstatSync, realpathSync } from "node:fs";
import nodePath from "node:path";
import { BloomFilter, bytesToHex, equalBytes, HASH_BYTES, HeliosError, utf8 } from "../core/index.js";
import type { StateDB } from "../history/index.js";
import { EMPTY_ROOT, isEmptyRoot, type Op } from "../merkle/index.js";
import {
  type CheckpointInfo,
  type CheckpointStats,
  checkpointRef,
  listCheckpoints,
  metaGet,
  readCheckpointInfo,
  resolveCheckpoint,
  ZERO_STATS,
} from "./ckpt-catalog.js";
import { ChunkEncoder, DEFAULT_ZSTD_LEVEL } from "./ckpt-codec.js";
import { CompressPool } from "./ckpt-pool.js";
import {
  type ChunkRecord,
  decodeChunkRecord,
  decodeEntry,
  decodeHint,
  decodeU64,
  type Entry,
  encodeChunker,
  encodeChunkRecord,
  encodeHint,
  encodeU64,
  entryValue,
  FORMAT,
  type Hint,
  M_BLOOM,
  M_CHUNKER,
  M_FORMAT,
  M_PARENT,
  M_SOURCE,
  M_STATS,
  M_TIME,
  pathKey,
  type StoredEntry,
  T_CHUNKREFS,
  T_CHUNKS,
  T_FILES,
  T_HINTS,
  T_META,
} from "./ckpt-format.js";
import { type ChunkerParams, chunkerMasks, DEFAULT_CHUNKER } from "./chunker.js";
import { FileReader, type Scanned, scanSource, sourceError } from "./ckpt-source.js";

export interface CheckpointOptions {
  /** The checkpoint's time in ms since the epoch, from the caller's clock (no clock is read below node/). */
  time: number;
  /**
   * The parent to compare with and build on: an id or unique hex prefix; null
   * for none (a full checkpoint). Default: the newest checkpoint of the same
   * source path, if any.
   */
  parent?: string | null;
  /** Re-read every file instead of trusting size + mtime + mode + inode + ctime (default false). */
  reread?: boolean;
  /** Chunker parameters (default DEFAULT_CHUNKER: 4/16/64 KiB). */
  chunker?: ChunkerParams;
  /** zstd level for chunks (default 3). */
  zstdLevel?: number;
  /** Raw bytes of new chunks per staged batch (default 64 MiB). */
  batchBytes?: number;
  /** Worker threads compressing chunks when there is ≥ 8 MiB to read (default 1; 0 compresses on the caller's thread). */
  compressThreads?: number;
  /** A monotonic clock in ms, for the time spent (stats.ms); without one, ms is 0. */
  clock?: () => number;
  /** Called during the scan and as files are read. */
  onProgress?: (p: CheckpointProgress) => void;
}

export interface CheckpointProgress {
  phase: "scan" | "read" | "write";
  /** Entries found so far (scan), or in all (read, write). */
  entries: number;
  /** Bytes of files to read in all (known after the scan), and read so far. */
  bytesTotal: number;
  bytesDone: number;
}

/** A chunk's reference-count change in this run. */
interface Delta {
  hash: Uint8Array;
  delta: number;
  /** The parent's record: undefined = not looked up yet, null = absent from the parent. */
  base: ChunkRecord | null | undefined;
  rawLen: number;
  storedLen: number;
}

/** Compress on worker threads only when there is this much to read (a worker's start costs ~30 ms). */
const POOL_MIN_BYTES = 8 * 1024 * 1024;
/** Raw bytes of new chunks waiting for compression before the reader waits for them. */
const POOL_MAX_PENDING = 32 * 1024 * 1024;
/** Files changed within this long before the checkpoint's time are racy: their mtime is not trusted next time. */
export const RACY_MS = 1000;
const BLOOM_FP = 0.01;
const BLOOM_MIN = 4096;

const yieldNow = () => new Promise<void>((r) => setImmediate(r));

const latin = (k: Uint8Array) => Buffer.from(k.buffer, k.byteOffset, k.byteLength).toString("latin1");

/** meta bloom = capacity u64 LE ‖ the filter's bytes (core/bloom toBytes). */
function encodeBloom(capacity: number, f: BloomFilter): Uint8Array {
  const b = f.toBytes();
  const out = new Uint8Array(8 + b.length);
  out.set(encodeU64(capacity), 0);
  out.set(b, 8);
  return out;
}

function decodeBloom(v: Uint8Array): { capacity: number; filter: BloomFilter } | undefined {
  if (v.length < 8) return undefined;
  try {
    return { capacity: decodeU64(v.subarray(0, 8), "bloom"), filter: BloomFilter.fromBytes(v.subarray(8)) };
  } catch {
    return undefined; // a bad filter only costs lookups
  }
}

/**
 * Checkpoints the directory `source` into the store and returns the new
 * checkpoint's info (id, root, parent, stats). See the module header.
 */
export async function createCheckpoint(db: StateDB, source: string, opts: CheckpointOptions): Promise<CheckpointInfo> {
  const t0 = opts?.clock?.() ?? 0;
  if (opts === null || typeof opts !== "object" || !Number.isSafeInteger(opts.time) || opts.time < 0) {
    throw new HeliosError("INVALID_ARGUMENT", { time: opts?.time }, "time is ms since the epoch (a safe integer ≥ 0)");
  }
  const params = opts.chunker ?? DEFAULT_CHUNKER;
  chunkerMasks(params);
  const encoder = new ChunkEncoder(opts.zstdLevel ?? DEFAULT_ZSTD_LEVEL);
  const batchBytes = opts.batchBytes ?? 64 * 1024 * 1024;
  if (!Number.isSafeInteger(batchBytes) || batchBytes < 1) {
    throw new HeliosError("INVALID_ARGUMENT", { batchBytes }, "batchBytes is a positive integer");
  }
  const threads = opts.compressThreads ?? 1;
  if (!Number.isInteger(threads) || threads < 0 || threads > 64) {
    throw new HeliosError(
      "INVALID_ARGUMENT",
      { compressThreads: threads },
      "compressThreads is an integer from 0 to 64",
    );
  }
  let root: string;
  try {
    root = realpathSync(source);
    if (!lstatSync(root).isDirectory()) throw Object.assign(new Error("not a directory"), { code: "ENOTDIR" });
  } catch (e) {
    throw sourceError(e, source, "checkpoint source");
  }
  // the parent: explicit, none, or the newest of the same source
  let parent: { id: string; root: Uint8Array } | undefined;
  if (opts.parent === null) parent = undefined;
  else if (opts.parent !== undefined) parent = resolveCheckpoint(db, opts.parent);
  else {
    const same = listCheckpoints(db).filter((c) => c.source === root);
    const newest = same[same.length - 1];
    if (newest !== undefined) parent = { id: newest.id, root: newest.root };
  }
  const releaseParent = parent === undefined ? undefined : db.lease(parent.root);
  const b = new Builder(db, root, parent, opts, params, encoder, batchBytes);
  try {
    await b.scan();
    b.decide();
    await b.read();
    const info = await b.finish();
    info.stats.ms = opts.clock === undefined ? 0 : opts.clock() - t0;
    return info;
  } finally {
    await b.close();
    releaseParent?.();
  }
}

/** One checkpoint run; see the module header for the steps. */
class Builder {
  private readonly db: StateDB;
  private readonly root: string;
  private readonly parent: { id: string; root: Uint8Array } | undefined;
  private readonly opts: CheckpointOptions;
  private readonly params: ChunkerParams;
  private readonly encoder: ChunkEncoder;
  private readonly batchBytes: number;
  readonly stats: CheckpointStats;
  /** The parent's trees (EMPTY_ROOT without a parent). */
  private readonly pFiles: Uint8Array;
  private readonly pHints: Uint8Array;
  private readonly pRefs: Uint8Array;
  private readonly pBloom: { capacity: number; filter: BloomFilter } | undefined;
  private scanned: Scanned[] = [];
  private readonly plan: { s: Scanned; pe: StoredEntry | undefined; pv: Uint8Array | undefined; read: boolean }[] = [];
  private pHintMap = new Map<string, Uint8Array>();
  private readonly deltas = new Map<string, Delta>();
  private chunkOps: Op[] = [];
  private fileOps: Op[] = [];
  private hintOps: Op[] = [];
  /** Raw bytes of new chunks queued since the last batch was staged. */
  private pendingBytes = 0;
  private pool: CompressPool | undefined;
  private bytesTotal = 0;
  /** The version built so far: the parent's, then each staged batch's. */
  private base: Uint8Array;
  private releaseStaged: (() => void) | undefined;
  /** The checkpoint of the last batch staged, while it runs. */
  private inflight: Promise<void> = Promise.resolve();

  constructor(
    db: StateDB,
    root: string,
    parent: { id: string; root: Uint8Array } | undefined,
    opts: CheckpointOptions,
    params: ChunkerParams,
    encoder: ChunkEncoder,
    batchBytes: number,
  ) {
    this.db = db;
    this.root = root;
    this.parent = parent;
    this.opts = opts;
    this.params = params;
    this.encoder = encoder;
    this.batchBytes = batchBytes;
    this.stats = { ...ZERO_STATS };
    this.base = parent?.root ?? EMPTY_ROOT;
    this.pFiles = parent === undefined ? EMPTY_ROOT : db.treeRoot(T_FILES, parent.root);
    this.pHints = parent === undefined ? EMPTY_ROOT : db.treeRoot(T_HINTS, parent.root);
    this.pRefs = parent === undefined ? EMPTY_ROOT : db.treeRoot(T_CHUNKREFS, parent.root);
    const raw = parent === undefined ? undefined : metaGet(db, parent.root, M_BLOOM);
    this.pBloom = raw === undefined ? undefined : decodeBloom(raw);
  }

  private progress(phase: CheckpointProgress["phase"]): void {
    this.opts.onProgress?.({
      phase,
      entries: this.scanned.length,
      bytesTotal: this.bytesTotal,
      bytesDone: this.stats.bytesRead,
    });
  }

  // ---- 1. scan

  async scan(): Promise<void> {
    let storeDir: string;
    try {
      storeDir = realpathSync(this.db.store.dir.dir);
    } catch {
      storeDir = nodePath.resolve(this.db.store.dir.dir);
    }
    const r = await scanSource(this.root, storeDir, (n) => {
      this.opts.onProgress?.({ phase: "scan", entries: n, bytesTotal: 0, bytesDone: 0 });
    });
    this.scanned = r.scanned;
    this.stats.skipped += r.skipped;
  }

  // ---- 2. decide what to read

  decide(): void {
    const db = this.db;
    const pEntries = new Map<string, { key: Uint8Array; value: Uint8Array }>();
    if (!isEmptyRoot(this.pFiles)) {
      for (const [k, v] of db.map.entries(this.pFiles)) pEntries.set(latin(k), { key: k, value: v });
    }
    if (!isEmptyRoot(this.pHints)) for (const [k, v] of db.map.entries(this.pHints)) this.pHintMap.set(latin(k), v);
    for (const s of this.scanned) {
      const k = latin(pathKey(s.path));
      const raw = pEntries.get(k);
      pEntries.delete(k);
      const pe = raw === undefined ? undefined : decodeEntry(raw.key, raw.value);
      let read = false;
      if (s.kind === "file") {
        const ph = this.pHintMap.get(k);
        read = !this.trusted(s, pe, ph === undefined ? undefined : decodeHint(ph));
        if (read) this.bytesTotal += s.size;
      }
      this.plan.push({ s, pe, pv: raw?.value, read });
    }
    // what the parent had and the source no longer has
    for (const { key, value } of pEntries.values()) {
      for (const c of decodeEntry(key, value).chunks) this.dropChunk(c.hash);
      this.fileOps.push({ key, value: null });
      if (this.pHintMap.has(latin(key))) this.hintOps.push({ key, value: null });
    }
  }

  /** True when a file may keep its parent entry unread. */
  private trusted(s: Scanned, pe: StoredEntry | undefined, ph: Hint | undefined): boolean {
    return (
      this.opts.reread !== true &&
      pe !== undefined &&
      pe.kind === "file" &&
      ph !== undefined &&
      !ph.racy &&
      pe.size === s.size &&
      pe.mtimeNs === s.mtimeNs &&
      pe.mode === s.mode &&
      ph.ino === s.ino &&
      ph.ctimeNs === s.ctimeNs
    );
  }

  // ---- 3. read

  async read(): Promise<void> {
    const stats = this.stats;
    const racyNs = BigInt(this.opts.time - RACY_MS) * 1_000_000n;
    const threads = this.opts.compressThreads ?? 1;
    this.pool = new CompressPool(this.encoder.level, this.bytesTotal >= POOL_MIN_BYTES ? threads : 0);
    const reader = new FileReader(this.params, (h, off, raw) => this.useChunk(h, off, raw));
    let sinceYield = 0;
    for (const { s, pe, pv, read } of this.plan) {
      if (s.kind === "dir") stats.dirs++;
      else if (s.kind === "symlink") stats.symlinks++;
      else stats.files++;
      if (s.kind === "file" && !read) {
        stats.filesReused++;
        stats.bytes += s.size;
        continue; // the parent's entry and hint stand
      }
      let e: Entry;
      let hint: Hint | undefined;
      if (s.kind === "file") {
        const r = reader.read(s.abs, s.mtimeNs);
        stats.filesRead++;
        stats.bytesRead += r.size;
        stats.bytes += r.size;
        stats.chunksRead += r.chunks.length;
        e = { kind: "file", mode: r.mode, mtimeNs: r.mtimeNs, size: r.size, chunks: r.chunks };
        hint = { ino: s.ino, ctimeNs: s.ctimeNs, racy: r.changed || r.mtimeNs >= racyNs || s.ctimeNs >= racyNs };
        sinceYield += r.size + 4096;
      } else {
        e = { kind: s.kind, mode: s.mode, mtimeNs: s.mtimeNs, size: 0, chunks: [] };
        if (s.target !== undefined) e.target = s.target;
      }
      if (pe !== undefined) for (const c of pe.chunks) this.dropChunk(c.hash);
      const { key, value } = entryValue(s.path, e);
      if (pv === undefined || !equalBytes(pv, value)) this.fileOps.push({ key, value });
      const oldHint = this.pHintMap.get(latin(key));
      if (hint !== undefined) {
        const hv = encodeHint(hint);
        if (oldHint === undefined || !equalBytes(oldHint, hv)) this.hintOps.push({ key, value: hv });
      } else if (oldHint !== undefined) this.hintOps.push({ key, value: null });
      if (this.pool.pending > POOL_MAX_PENDING) await this.pool.settle(POOL_MAX_PENDING / 2);
      if (this.pendingBytes >= this.batchBytes) await this.flush();
      if (sinceYield >= 8 * 1024 * 1024) {
        sinceYield = 0;
        this.progress("read");
        await yieldNow();
      }
    }
    this.progress("read");
  }

  private lookupParent(h: Uint8Array): ChunkRecord | null {
    if (isEmptyRoot(this.pRefs)) return null;
    const v = this.db.map.get(this.pRefs, h);
    return v === undefined ? null : decodeChunkRecord(v);
  }

  /** Counts one use of a chunk cut from a file; stores it if neither the parent nor this run has it. */
  private useChunk(hashes: Uint8Array, off: number, raw: Uint8Array): void {
    const hex = Buffer.from(hashes.buffer, hashes.byteOffset + off, HASH_BYTES).toString("hex");
    let d = this.deltas.get(hex);
    if (d === undefined) {
      const h = hashes.slice(off, off + HASH_BYTES);
      let base: ChunkRecord | null;
      if (isEmptyRoot(this.pRefs)) base = null;
      else if (this.pBloom !== undefined && !this.pBloom.filter.mightContain(h)) {
        this.stats.lookupsSaved++;
        base = null;
      } else {
        this.stats.lookups++;
        base = this.lookupParent(h);
      }
      d = { hash: h, delta: 0, base, rawLen: raw.length, storedLen: 0 };
      this.deltas.set(hex, d);
      if (base === null) {
        const nd = d;
        this.pendingBytes += raw.length;
        this.stats.chunksNew++;
        this.stats.bytesNewRaw += raw.length;
        (this.pool as CompressPool).add(raw, (value) => {
          nd.storedLen = value.length;
          this.chunkOps.push({ key: h, value });
          this.stats.bytesNewStored += value.length;
        });
      }
    }
    d.delta++;
  }

  /** Drops one use of a chunk a parent entry named. */
  private dropChunk(h: Uint8Array): void {
    const hex = bytesToHex(h);
    let d = this.deltas.get(hex);
    if (d === undefined) {
      d = { hash: h, delta: 0, base: undefined, rawLen: 0, storedLen: 0 };
      this.deltas.set(hex, d);
    }
    d.delta--;
  }

  // ---- 4. write

  /**
   * Stages the queued ops on the version so far and starts moving them to
   * LMDB. One batch's checkpoint runs while the next batch is read (its
   * fsync on lmdb-js's thread): this waits for the previous one first, so
   * at most two batches are in memory.
   */
  private async flush(): Promise<void> {
    await this.pool?.drain(); // every queued chunk's value is in chunkOps
    const writes = { [T_CHUNKS]: this.chunkOps, [T_FILES]: this.fileOps, [T_HINTS]: this.hintOps };
    const staged = this.db.stage(this.base, writes);
    this.releaseStaged?.();
    this.releaseStaged = staged.release;
    this.base = staged.root;
    this.chunkOps = [];
    this.fileOps = [];
    this.hintOps = [];
    this.pendingBytes = 0;
    this.progress("write");
    await this.inflight; // the previous batch is on disk (or its failure is thrown here)
    const p = this.db.checkpoint();
    p.catch(() => undefined); // observed by the next await of inflight, not unhandled
    this.inflight = p;
  }

  /** Reference counts, the Bloom filter, meta; the last checkpoint to LMDB; the ref. */
  async finish(): Promise<CheckpointInfo> {
    await this.pool?.drain();
    const db = this.db;
    const stats = this.stats;
    const pStats =
      this.parent === undefined ? undefined : readCheckpointInfo(db, this.parent.id, this.parent.root).stats;
    let chunks = pStats?.chunks ?? 0;
    let chunkBytesRaw = pStats?.chunkBytesRaw ?? 0;
    let chunkBytesStored = pStats?.chunkBytesStored ?? 0;
    const refOps: Op[] = [];
    const added: Uint8Array[] = [];
    for (const d of this.deltas.values()) {
      if (d.delta === 0) continue;
      if (d.base === undefined) {
        stats.lookups++;
        d.base = this.lookupParent(d.hash);
      }
      const count = (d.base?.count ?? 0) + d.delta;
      if (count < 0 || (d.base === null && d.delta < 0)) {
        throw new HeliosError(
          "CHECKPOINT_CORRUPT",
          { id: this.parent?.id, chunk: bytesToHex(d.hash) },
          "the parent's chunk reference counts do not match its entries",
        );
      }
      if (count === 0) {
        const b = d.base as ChunkRecord;
        refOps.push({ key: d.hash, value: null });
        this.chunkOps.push({ key: d.hash, value: null });
        chunks--;
        chunkBytesRaw -= b.rawLen;
        chunkBytesStored -= b.storedLen;
        stats.chunksDropped++;
        continue;
      }
      const rec: ChunkRecord =
        d.base === null
          ? { count, rawLen: d.rawLen, storedLen: d.storedLen }
          : { count, rawLen: d.base.rawLen, storedLen: d.base.storedLen };
      refOps.push({ key: d.hash, value: encodeChunkRecord(rec) });
      if (d.base === null) {
        chunks++;
        chunkBytesRaw += d.rawLen;
        chunkBytesStored += d.storedLen;
        added.push(d.hash);
      }
    }
    const staged1 = db.stage(this.base, {
      [T_CHUNKS]: this.chunkOps,
      [T_FILES]: this.fileOps,
      [T_HINTS]: this.hintOps,
      [T_CHUNKREFS]: refOps,
    });
    this.releaseStaged?.();
    this.releaseStaged = staged1.release;
    this.base = staged1.root;

    // the Bloom filter of this version's chunks: the parent's plus what was added, rebuilt when full
    let capacity = this.pBloom?.capacity ?? 0;
    let bloom: BloomFilter;
    if (this.pBloom !== undefined && this.pBloom.filter.count + added.length <= capacity) {
      bloom = BloomFilter.fromBytes(this.pBloom.filter.toBytes());
      for (const h of added) bloom.add(h);
    } else {
      capacity = Math.max(BLOOM_MIN, 2 * chunks);
      bloom = BloomFilter.forCapacity(capacity, BLOOM_FP);
      const refs = db.treeRoot(T_CHUNKREFS, this.base);
      if (!isEmptyRoot(refs)) for (const [k] of db.map.entries(refs)) bloom.add(k);
    }

    stats.chunks = chunks;
    stats.chunkBytesRaw = chunkBytesRaw;
    stats.chunkBytesStored = chunkBytesStored;
    stats.dedupRatio = chunkBytesRaw === 0 ? 1 : stats.bytes / chunkBytesRaw;
    const p = this.params;
    const chunker = { minBytes: p.minBytes, avgBytes: p.avgBytes, maxBytes: p.maxBytes, zstdLevel: this.encoder.level };
    const meta: Op[] = [
      { key: utf8(M_FORMAT), value: new Uint8Array([FORMAT]) },
      { key: utf8(M_SOURCE), value: utf8(this.root) },
      { key: utf8(M_TIME), value: encodeU64(this.opts.time) },
      { key: utf8(M_PARENT), value: this.parent === undefined ? null : this.parent.root },
      { key: utf8(M_CHUNKER), value: encodeChunker(chunker) },
      { key: utf8(M_STATS), value: utf8(JSON.stringify(stats)) },
      { key: utf8(M_BLOOM), value: encodeBloom(capacity, bloom) },
    ];
    const staged2 = db.stage(this.base, { [T_META]: meta });
    this.releaseStaged();
    this.releaseStaged = staged2.release;
    await this.inflight;
    await db.checkpoint();
    const id = bytesToHex(staged2.root);
    db.setRef(checkpointRef(id), staged2.root);
    return {
      id,
      root: staged2.root.slice(),
      source: this.root,
      time: this.opts.time,
      parent: this.parent?.id,
      stats,
      chunker,
    };
  }

  /**
   * Releases the staged version (after setRef the ref keeps it; after a
   * failure GC collects it) and stops the compression workers. Idempotent.
   */
  async close(): Promise<void> {
    this.releaseStaged?.();
    this.releaseStaged = undefined;
    await this.pool?.close();
  }
}
