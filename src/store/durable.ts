/**
 * store/durable — the tiered, durable, content-addressed node store.
 *
 *   L0  `dirty`: nodes written since the last checkpoint began (the working
 *       set of new versions), plus `sealed` generations whose checkpoint is
 *       in flight or failed. MemoryStores: no per-node objects.
 *   L1  NodeCache: verified nodes read from disk, byte-bounded; plus the
 *       generations the last checkpoint wrote (`recent`), until the next one.
 *   L2  LMDB (`nodes` table: id → frame, see codec.ts) and one `state`
 *       record (the history layer's metadata, opaque here, hash-checked).
 *   WAL the log of commit records (wal.ts), owned here so that a checkpoint
 *       can rotate it in step with sealing L0.
 *
 * A commit is durable when its log record is (append). A checkpoint seals
 * L0, rotates the log, and writes the sealed nodes plus the state record in
 * one LMDB transaction (its puts run on the main thread, in id order, inside
 * lmdb-js's transaction callback; the commit and fsync on lmdb-js's write
 * thread); once that is on disk the log segments it covers are deleted.
 * Reads stay synchronous throughout: sealed nodes are served from memory
 * until LMDB has them.
 *
 * Invariants: every node returned from L2 was decoded and re-hashed to its
 * id first (else STORE_CORRUPT naming the id; nothing is cached or served);
 * L0 nodes are dropped only after the LMDB transaction holding them is
 * synced; the state record and the nodes it refers to commit atomically.
 * Costs: get = up to 3 memory probes, then one LMDB read + decode + hash
 * (~2–5 µs) on a miss; put = one memory probe + copy; a checkpoint costs one
 * LMDB put per node (on the main thread: a checkpoint of N nodes stalls the
 * event loop for N puts, ~1–2 µs each in id order) and one fsync.
 */
import { open, type Database, type RootDatabase } from "lmdb";
import { bytesToHex, equalRange, HeliosError, isHeliosError } from "../core/index.js";
import { HASH_BYTES, hash } from "../core/index.js";
import { MemoryStore, type NodeStore, nodeIdInto } from "../merkle/index.js";
import { NodeCache } from "./cache.js";
import {
  type CompressionPolicy,
  DEFAULT_COMPRESSION,
  decodeFrame,
  encodeFrame,
  frameBirth,
  frameFlags,
  LZ4,
  ZSTD,
} from "./codec.js";
import { ioError, StoreDir } from "./env.js";
import { Wal, type WalRecord } from "./wal.js";

export interface DurableOptions {
  /** Create the store if the directory is missing or empty (default false). */
  create?: boolean;
  /** L1 budget in bytes (default 256 MiB). */
  cacheBytes?: number;
  /** LMDB map size: the largest the node file may grow (default 1 TiB, sparse). */
  mapSize?: number;
  compression?: Partial<CompressionPolicy>;
}

export const DEFAULT_CACHE_BYTES = 256 * 1024 * 1024;
/** The LMDB table of node frames (id → frame, codec.ts); store/reader.ts opens it read-only. */
export const NODES_TABLE = "nodes";
const STATE_KEY = "state";

export interface DurableStats {
  l0Nodes: number;
  l0Bytes: number;
  sealedGenerations: number;
  l1Nodes: number;
  l1Bytes: number;
  l1Hits: number;
  l1Misses: number;
  l2Nodes: number;
  l2Reads: number;
  l2NodeBytes: number;
  diskBytes: number;
  walNextSeq: number;
  walBytesWritten: number;
  checkpoints: number;
  nodesCheckpointed: number;
  frameBytesCheckpointed: number;
  epoch: number;
  lastCheckpointError: string | undefined;
}

export interface OpenedStore {
  store: DurableStore;
  /** The state record of the last checkpoint (undefined for a new store) and the seq it covers. */
  state: Uint8Array | undefined;
  stateSeq: number;
  /** Log records after the checkpoint, to be replayed by the caller. */
  records: WalRecord[];
}

export class DurableStore implements NodeStore {
  readonly dir: StoreDir;
  readonly policy: CompressionPolicy;
  private readonly env: RootDatabase;
  private readonly nodes: Database<Buffer, Buffer>;
  private readonly meta: Database<Buffer, string>;
  private readonly wal: Wal;
  private readonly cache: NodeCache;
  private dirty = new MemoryStore(1 << 14);
  private sealed: MemoryStore[] = [];
  /**
   * The generations the last checkpoint wrote, kept readable until the next
   * one completes: the nodes just written are the ones the next blocks read,
   * and serving them from memory saves an LMDB read and a re-hash each.
   * Bounded by one checkpoint's worth of L0.
   */
  private recent: MemoryStore[] = [];
  /** Checkpoints requested whose run has not started (sealed) yet. */
  private queued = 0;
  private inflight: Promise<void> = Promise.resolve();
  private closed = false;
  private readonly idBuf = new Uint8Array(HASH_BYTES);
  /** The GC epoch stamped on records written now (store/gc.ts). */
  epoch = 0;
  l2Reads = 0;
  checkpoints = 0;
  nodesCheckpointed = 0;
  frameBytesCheckpointed = 0;
  lastCheckpointError: HeliosError | undefined;

  private constructor(dir: StoreDir, env: RootDatabase, wal: Wal, opts: DurableOptions) {
    this.dir = dir;
    this.env = env;
    this.nodes = env.openDB<Buffer, Buffer>({ name: NODES_TABLE, encoding: "binary", keyEncoding: "binary" });
    this.meta = env.openDB<Buffer, string>({ name: "meta", encoding: "binary", keyEncoding: "ordered-binary" });
    this.wal = wal;
    this.cache = new NodeCache(opts.cacheBytes ?? DEFAULT_CACHE_BYTES);
    this.policy = { ...DEFAULT_COMPRESSION, ...(opts.compression ?? {}) };
  }

  /** Opens the store: directory, lock, LMDB, the state record and the log tail. */
  static open(path: string, opts: DurableOptions = {}): OpenedStore {
    const dir = StoreDir.open(path, opts.create === true);
    let env: RootDatabase | undefined;
    try {
      try {
        env = open({
          path: dir.lmdbPath,
          maxDbs: 4,
          mapSize: opts.mapSize ?? 2 ** 40,
          compression: false,
          overlappingSync: false,
          useWritemap: false,
        });
      } catch (e) {
        throw ioError(e, "opening LMDB", { path: dir.lmdbPath });
      }
      const metaDb = env.openDB<Buffer, string>({ name: "meta", encoding: "binary", keyEncoding: "ordered-binary" });
      const { state, seq } = readState(metaDb);
      const { wal, records } = Wal.open(dir.walDir, seq + 1);
      const store = new DurableStore(dir, env, wal, opts);
      const epochRaw = metaDb.get("epoch");
      if (epochRaw !== undefined && epochRaw.length === 4) store.epoch = Buffer.from(epochRaw).readUInt32LE(0);
      return { store, state, stateSeq: seq, records: records.filter((r) => r.seq > seq) };
    } catch (e) {
      try {
        env?.close();
      } catch {
        // already failing
      }
      dir.release();
      throw e;
    }
  }

  get size(): number {
    let n = this.dirty.size;
    for (const s of this.sealed) n += s.size;
    return n + this.l2Count();
  }

  /** Nodes in LMDB (O(1), from LMDB's own statistics). */
  l2Count(): number {
    return (this.nodes.getStats() as { entryCount: number }).entryCount;
  }

  get(id: Uint8Array, idOff: number): Uint8Array | undefined {
    let v = this.dirty.get(id, idOff);
    if (v !== undefined) return v;
    for (let i = this.sealed.length - 1; i >= 0; i--) {
      v = (this.sealed[i] as MemoryStore).get(id, idOff);
      if (v !== undefined) return v;
    }
    for (let i = this.recent.length - 1; i >= 0; i--) {
      v = (this.recent[i] as MemoryStore).get(id, idOff);
      if (v !== undefined) return v;
    }
    v = this.cache.get(id, idOff);
    if (v !== undefined) return v;
    return this.readL2(id, idOff);
  }

  private readL2(id: Uint8Array, idOff: number): Uint8Array | undefined {
    if (this.closed) throw new HeliosError("STORE_CLOSED");
    const key = Buffer.from(id.buffer, id.byteOffset + idOff, HASH_BYTES);
    let raw: Buffer | undefined;
    try {
      raw = this.nodes.getBinaryFast(key);
    } catch (e) {
      throw ioError(e, "reading a node", { id: bytesToHex(key) });
    }
    if (raw === undefined) return undefined;
    this.l2Reads++;
    const node = verifiedNode(raw, id, idOff, this.idBuf);
    return this.cache.insert(id, idOff, node, 0, node.length);
  }

  has(id: Uint8Array, idOff: number): boolean {
    if (this.dirty.has(id, idOff)) return true;
    for (const s of this.sealed) if (s.has(id, idOff)) return true;
    if (this.cache.get(id, idOff) !== undefined) return true;
    return this.nodes.doesExist(Buffer.from(id.buffer, id.byteOffset + idOff, HASH_BYTES));
  }

  put(id: Uint8Array, idOff: number, src: Uint8Array, srcOff: number, len: number): void {
    if (this.closed) throw new HeliosError("STORE_CLOSED");
    this.dirty.put(id, idOff, src, srcOff, len);
  }

  /** Appends a record to the log and syncs it (unless sync = false: see Wal.append): the durability point of a commit. */
  append(body: Uint8Array, sync = true): number {
    if (this.closed) throw new HeliosError("STORE_CLOSED");
    return this.wal.append(body, sync);
  }

  /** Makes log records appended with sync = false durable. */
  syncLog(): void {
    if (this.closed) throw new HeliosError("STORE_CLOSED");
    this.wal.sync();
  }

  /** The seq the next appended record gets. */
  get nextSeq(): number {
    return this.wal.next;
  }

  /**
   * Writes every L0 node and the state record (`state()`, taken at the
   * moment L0 is sealed, so it covers exactly the log records before it) to
   * LMDB in one transaction, then drops the log segments it covers. Returns
   * when that is on disk. Checkpoints run one at a time, in call order.
   * A failed checkpoint keeps its nodes in memory and its log segments, so
   * nothing is lost; the error is returned (and kept in lastCheckpointError).
   */
  checkpoint(state: () => Uint8Array): Promise<void> {
    if (this.closed) return Promise.reject(new HeliosError("STORE_CLOSED"));
    this.queued++;
    const run = async (): Promise<void> => {
      // seal synchronously at the moment the previous checkpoint is done
      this.queued--;
      const seq = this.wal.next - 1;
      if (this.dirty.size > 0) {
        this.sealed.push(this.dirty);
        this.dirty = new MemoryStore(1 << 14);
      }
      const segment = this.wal.rotate();
      const gens = this.sealed.slice();
      const epoch = this.epoch;
      const body = stateBody(state(), seq);
      let count = 0;
      let frameBytes = 0;
      const policy = this.policy;
      // Put the nodes in id order: LMDB then fills each B-tree page once, where hash-table order
      // lands every put on a random page (measured: 4M random ids in one transaction, 44–48 s in
      // table order, 9–11 s sorted, and a 27% smaller file; docs/performance.md). Ordering by the
      // first 3 bytes is enough for that locality and sorts as plain numbers.
      const ids: Uint8Array[] = [];
      const nodes: Uint8Array[] = [];
      for (const g of gens) {
        g.forEach((id, node) => {
          ids.push(id);
          nodes.push(node);
        });
      }
      const order = sortedOrder(ids);
      try {
        // one asynchronous transaction: its callback runs (on the main thread) when lmdb-js's
        // writer is ready, and the nodes, the state record and the epoch commit together or not at all
        await this.env.transaction(() => {
          for (let k = 0; k < order.length; k++) {
            const i = (order[k] as number) % ORDER_INDEX;
            const f = encodeFrame(nodes[i] as Uint8Array, epoch, policy, LZ4);
            this.nodes.putSync(Buffer.from(ids[i] as Uint8Array), f as Buffer);
            count++;
            frameBytes += f.length + HASH_BYTES;
          }
          this.meta.putSync(STATE_KEY, body);
          this.meta.putSync("epoch", u32(epoch));
        });
        await this.env.flushed;
      } catch (e) {
        this.lastCheckpointError = ioError(await lmdbCause(e), "checkpoint", {}, this.dir.dir);
        throw this.lastCheckpointError;
      }
      this.sealed = this.sealed.filter((g) => !gens.includes(g));
      this.recent = gens;
      this.wal.dropThrough(segment);
      this.checkpoints++;
      this.nodesCheckpointed += count;
      this.frameBytesCheckpointed += frameBytes;
      this.lastCheckpointError = undefined;
    };
    const p = this.inflight.then(run, run);
    this.inflight = p.catch(() => undefined);
    return p;
  }

  /** Resolves when no checkpoint is in flight. */
  idle(): Promise<void> {
    return this.inflight;
  }

  /** True while a requested checkpoint has not yet sealed L0 (a new request would only repeat it). */
  get checkpointQueued(): boolean {
    return this.queued > 0;
  }

  /** Bytes of node records written since the last seal (what a new checkpoint would take). */
  dirtyBytes(): number {
    return this.dirty.bytes;
  }

  /** Bytes of node records in L0 (dirty + sealed). */
  l0Bytes(): number {
    let n = this.dirty.bytes;
    for (const s of this.sealed) n += s.bytes;
    return n;
  }

  // ---- for the collector (gc.ts) ----

  /** Up to `limit` LMDB node records with id > after (or from the start), in id order. */
  scan(after: Uint8Array | undefined, limit: number): { id: Buffer; birth: number; flags: number; bytes: number }[] {
    const out: { id: Buffer; birth: number; flags: number; bytes: number }[] = [];
    try {
      const range = after === undefined ? { limit: limit + 1 } : { start: Buffer.from(after), limit: limit + 1 };
      for (const { key, value } of this.nodes.getRange(range)) {
        if (after !== undefined && equalRange(key, 0, after, 0, HASH_BYTES)) continue;
        out.push({ id: key, birth: frameBirth(value), flags: frameFlags(value), bytes: value.length });
        if (out.length >= limit) break;
      }
    } catch (e) {
      throw ioError(e, "scanning nodes");
    }
    return out;
  }

  /**
   * Deletes the given records if they are still older than `epoch` (a record
   * rewritten since — by a checkpoint that re-created the node — is kept),
   * and rewrites `toCold` records with zstd. One asynchronous transaction on
   * lmdb-js's write path, queued behind checkpoints: there are no synchronous
   * write transactions anywhere, because one would split a queued checkpoint
   * batch (lmdb-js documents this), and a checkpoint's nodes and state record
   * must commit together. Resolves to the number removed once committed.
   */
  async sweep(ids: readonly Buffer[], epoch: number, toCold: readonly Buffer[]): Promise<number> {
    if (this.closed) throw new HeliosError("STORE_CLOSED");
    let removed = 0;
    const run = async (): Promise<void> => {
      try {
        await this.env.transaction(() => {
          for (const id of ids) {
            const v = this.nodes.getBinaryFast(id);
            if (v !== undefined && frameBirth(v) < epoch) {
              this.nodes.removeSync(id);
              removed++;
            }
          }
          for (const id of toCold) {
            const v = this.nodes.getBinary(id);
            if (v === undefined || frameFlags(v) === ZSTD) continue;
            const node = Buffer.from(decodeFrame(v, () => bytesToHex(id)));
            const f = encodeFrame(node, frameBirth(v), this.policy, ZSTD);
            if (frameFlags(f) === ZSTD) this.nodes.putSync(id, f as Buffer);
          }
        });
      } catch (e) {
        throw ioError(await lmdbCause(e), "sweeping nodes", {}, this.dir.dir);
      }
    };
    const p = this.inflight.then(run, run);
    this.inflight = p.catch(() => undefined);
    await p;
    return removed;
  }

  /** Bytes of LMDB pages holding node records now (excludes free and stale copy-on-write pages). */
  nodeBytesInUse(): number {
    const s = this.nodes.getStats() as {
      pageSize: number;
      treeBranchPageCount: number;
      treeLeafPageCount: number;
      overflowPages: number;
    };
    return s.pageSize * (s.treeBranchPageCount + s.treeLeafPageCount + s.overflowPages);
  }

  /** Size of the LMDB file up to its last used page (LMDB never shrinks it; freed pages are reused). */
  diskBytes(): number {
    const s = this.env.getStats() as { pageSize: number; lastPageNumber: number };
    return s.pageSize * (s.lastPageNumber + 1);
  }

  stats(): DurableStats {
    let sealedNodes = 0;
    for (const s of this.sealed) sealedNodes += s.size;
    return {
      l0Nodes: this.dirty.size + sealedNodes,
      l0Bytes: this.l0Bytes(),
      sealedGenerations: this.sealed.length,
      l1Nodes: this.cache.size,
      l1Bytes: this.cache.bytes,
      l1Hits: this.cache.hits,
      l1Misses: this.cache.misses,
      l2Nodes: this.l2Count(),
      l2Reads: this.l2Reads,
      l2NodeBytes: this.nodeBytesInUse(),
      diskBytes: this.diskBytes(),
      walNextSeq: this.wal.next,
      walBytesWritten: this.wal.bytesWritten,
      checkpoints: this.checkpoints,
      nodesCheckpointed: this.nodesCheckpointed,
      frameBytesCheckpointed: this.frameBytesCheckpointed,
      epoch: this.epoch,
      lastCheckpointError: this.lastCheckpointError?.message,
    };
  }

  /** Drops L1 (for cold-read measurements and tests). */
  dropCache(): void {
    this.cache.clear();
    this.recent = [];
  }

  /** Waits for checkpoints in flight, then closes LMDB and the log and releases the lock. */
  async close(): Promise<void> {
    if (this.closed) return;
    await this.inflight;
    this.closed = true;
    this.wal.close();
    try {
      await this.env.close();
    } finally {
      this.dir.release();
    }
  }

  /**
   * Drops the handle without a checkpoint: what is not checkpointed stays
   * only in the log, as after a crash (for recovery tests and fatal paths).
   */
  abandon(): void {
    if (this.closed) return;
    this.closed = true;
    this.wal.close();
    this.env.close().catch(() => undefined);
    this.dir.release();
  }
}

/**
 * The underlying error of a failed lmdb-js commit. lmdb-js rejects with a
 * generic "Commit failed" and hangs the real error on a second promise
 * (`commitError`); awaiting it here also keeps it from going unhandled.
 */
async function lmdbCause(e: unknown): Promise<unknown> {
  const inner = (e as { commitError?: Promise<unknown> }).commitError;
  if (inner === undefined) return e;
  return inner.then(
    () => e,
    (x: unknown) => x,
  );
}

/** Indices below this fit beside a 24-bit prefix in a double's 52-bit mantissa. */
const ORDER_INDEX = 2 ** 28;

/** Indices of `ids` ordered by their first 3 bytes, as prefix·2^28 + index (sortable as numbers). */
function sortedOrder(ids: readonly Uint8Array[]): Float64Array {
  const n = ids.length;
  if (n >= ORDER_INDEX) throw new HeliosError("INVALID_ARGUMENT", { nodes: n }, "checkpoint too large");
  const order = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const id = ids[i] as Uint8Array;
    order[i] = (((id[0] as number) << 16) | ((id[1] as number) << 8) | (id[2] as number)) * ORDER_INDEX + i;
  }
  return order.sort();
}

function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n >>> 0, 0);
  return b;
}

/** state record = BLAKE3(seq ‖ body) [32] ‖ seq u64 LE ‖ body */
function stateBody(state: Uint8Array, seq: number): Buffer {
  const out = Buffer.alloc(HASH_BYTES + 8 + state.length);
  out.writeBigInt64LE(BigInt(seq), HASH_BYTES);
  out.set(state, HASH_BYTES + 8);
  out.set(hash(out.subarray(HASH_BYTES)), 0);
  return out;
}

function readState(meta: Database<Buffer, string>): { state: Uint8Array | undefined; seq: number } {
  let raw: Buffer | undefined;
  try {
    raw = meta.getBinary(STATE_KEY);
  } catch (e) {
    throw ioError(e, "reading the state record");
  }
  if (raw === undefined) return { state: undefined, seq: -1 };
  if (raw.length < HASH_BYTES + 8 || !equalRange(hash(raw.subarray(HASH_BYTES)), 0, raw, 0, HASH_BYTES)) {
    throw new HeliosError("STORE_CORRUPT", { record: "state" }, "the checkpoint's state record fails its hash");
  }
  return { state: new Uint8Array(raw.subarray(HASH_BYTES + 8)), seq: Number(raw.readBigInt64LE(HASH_BYTES)) };
}

/**
 * Decodes a node frame read from LMDB and checks that the node hashes to the
 * id it was stored under: STORE_CORRUPT naming the id otherwise (never
 * served). `scratch` is a 32-byte buffer for the recomputed id. The result
 * may be a view into lmdb-js's reused read buffer: copy it before keeping it.
 */
export function verifiedNode(raw: Uint8Array, id: Uint8Array, idOff: number, scratch: Uint8Array): Uint8Array {
  const hex = () => bytesToHex(id.subarray(idOff, idOff + HASH_BYTES));
  const node = decodeFrame(raw, hex);
  try {
    nodeIdInto(node, scratch, 0);
  } catch (e) {
    if (isHeliosError(e, "MERKLE_NODE_MALFORMED")) {
      throw new HeliosError("STORE_CORRUPT", { id: hex() }, "stored node is not a valid encoding");
    }
    throw e;
  }
  if (!equalRange(scratch, 0, id, idOff, HASH_BYTES)) {
    throw new HeliosError(
      "STORE_CORRUPT",
      { id: hex(), actual: bytesToHex(scratch) },
      "stored node does not hash to its id",
    );
  }
  return node;
}
