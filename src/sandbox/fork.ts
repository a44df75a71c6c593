/**
 * sandbox/fork — ForestFork: an in-memory fork of a whole forest version (every
 * named tree), O(1) to create and to fork again, whatever the state's size.
 *
 * A fork is its base version (a forest root, leased from the StateDB so GC
 * keeps it) plus its own writes. Writes live in one merkle Draft per tree
 * written, opened lazily on the first write; reads of a tree never written
 * go straight to the base tree's root. `fork()` forks each open draft
 * (copy-on-write, merkle/draft.ts), so the two sides share every node and
 * diverge on write:
 *
 *     base ── F ──fork()──┬── F  (writes after the fork: seen by F only)
 *                         └── G  (writes after the fork: seen by G only)
 *
 * Besides the drafts, a fork keeps a log of the keys it wrote, so `writes()`
 * (the net change against the base) costs O(keys written), never O(state).
 * The log is a chain of layers; `fork()` freezes the current layer and gives
 * both sides a fresh one on top of it (only when the current layer holds
 * something, so forks of unwritten forks do not grow the chain):
 *
 *     F.log ─▶ [k3] ─▶ [k1 k2] ─▶ null        (frozen layers are shared)
 *     G.log ─▶ [k7] ──────┘
 *
 * A fork can also carry net writes not yet applied (`withWrites`, how the
 * runner hands out its outcomes): they go into the drafts on the first call
 * that needs the drafts, and `writes()`/`stage()` use them as they are.
 *
 * Lifetime: a fork lives in memory only. Its writes become a version when
 * someone calls `stage()` and commits the result (commitRef/setRef/
 * commitStaged); releasing or dropping a fork discards its writes, and that
 * is the only way writes go away. A fork never writes a node to the store:
 * drafts are never committed into it, and `root()`/`treeRoot()` hash a
 * throwaway fork of a draft whose new nodes are dropped.
 *
 * Invariants: a fork reads exactly base + its own writes; writes on one side
 * of a fork are invisible to the other; the base stays leased until the last
 * fork of a family (everything forked from one `ForestFork.of`) is released;
 * a released fork refuses every call with FORK_RELEASED.
 * Costs: `of` = one lease; `fork()` = O(trees written) object copies (one
 * Draft.fork each) plus, when the current log layer is not empty, two small
 * allocations; get = O(depth) node reads; put/delete = O(depth) plus a path
 * copy the first time a node is written after a fork; `writes()` =
 * O(k log k + k · depth) for k keys written; `root()` = hashing of the
 * written paths (the nodes are not stored); `stage()` = writes() plus the
 * tree updates of StateDB.stage.
 */
import { compareBytes, equalBytes, HeliosError, utf8 } from "../core/index.js";
import type { Staged, StateDB } from "../history/index.js";
import {
  type Draft,
  isEmptyRoot,
  MAX_KEY_BYTES,
  MAX_VALUE_BYTES,
  MerkleMap,
  type NodeStore,
  type Op,
  type ScanOptions,
} from "../merkle/index.js";

const MAX_TREE_NAME = 64;
const ROOT_BYTES = 32;

/** Same rule as the history layer: 1–64 bytes of UTF-8 without control characters. */
function checkTreeName(name: unknown): string {
  let ok = typeof name === "string" && name.length > 0;
  if (ok) {
    const s = name as string;
    for (let i = 0; i < s.length && ok; i++) {
      const c = s.charCodeAt(i);
      if (c < 0x20 || c === 0x7f) ok = false;
    }
    if (ok && utf8(s).length > MAX_TREE_NAME) ok = false;
  }
  if (!ok) throw new HeliosError("TREE_NAME_INVALID", { name: String(name) });
  return name as string;
}

function checkOp(op: unknown, tree: string): void {
  if (op === null || typeof op !== "object") {
    throw new HeliosError("INVALID_ARGUMENT", { tree }, "an op is { key, value? }");
  }
  const { key, value } = op as Op;
  if (!(key instanceof Uint8Array)) throw new HeliosError("INVALID_ARGUMENT", { tree }, "key must be a Uint8Array");
  if (key.length > MAX_KEY_BYTES) {
    throw new HeliosError("MERKLE_KEY_TOO_LONG", { keyLen: key.length, max: MAX_KEY_BYTES });
  }
  if (value === undefined || value === null) return;
  if (!(value instanceof Uint8Array)) {
    throw new HeliosError("INVALID_ARGUMENT", { tree }, "value must be a Uint8Array (or null to delete)");
  }
  if (value.length > MAX_VALUE_BYTES) {
    throw new HeliosError("MERKLE_VALUE_TOO_LARGE", { valueLen: value.length, max: MAX_VALUE_BYTES });
  }
}

/** Map keys for byte strings (one char per byte). Short keys by hand: a Buffer view costs more than the key. */
function keyString(k: Uint8Array): string {
  const n = k.length;
  if (n <= 24) {
    let s = "";
    for (let i = 0; i < n; i++) s += String.fromCharCode(k[i] as number);
    return s;
  }
  return Buffer.from(k.buffer, k.byteOffset, n).toString("latin1");
}

function byName(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * A NodeStore that reads through to the real one and drops every put. The
 * drafts of forks are opened on it: only `root()` and `treeRoot()` ever
 * commit (a throwaway fork of a draft), and their nodes must not reach the
 * durable store, where they would cost a checkpoint and a GC sweep.
 */
class ReadThrough implements NodeStore {
  private readonly inner: NodeStore;
  constructor(inner: NodeStore) {
    this.inner = inner;
  }
  get(id: Uint8Array, idOff: number): Uint8Array | undefined {
    return this.inner.get(id, idOff);
  }
  put(_id: Uint8Array, _idOff: number, _src: Uint8Array, _srcOff: number, _len: number): void {
    // dropped on purpose (see the class comment)
  }
  has(id: Uint8Array, idOff: number): boolean {
    return this.inner.has(id, idOff);
  }
  get size(): number {
    return this.inner.size;
  }
}

/**
 * One read-through map per node store: a MerkleMap allocates ~300 KB of
 * commit scratch, far too much to pay per `ForestFork.of`. Sharing it is safe
 * because commits are synchronous and never interleave.
 */
const maps = new WeakMap<NodeStore, MerkleMap>();
function readThroughMap(store: NodeStore): MerkleMap {
  let m = maps.get(store);
  if (m === undefined) {
    m = new MerkleMap({ store: new ReadThrough(store) });
    maps.set(store, m);
  }
  return m;
}

/** What every fork made from one `ForestFork.of` shares: the base, its tree roots, the lease. */
interface Family {
  readonly db: StateDB | null;
  readonly map: MerkleMap;
  readonly base: Uint8Array;
  /** Tree name → the tree's root in the base (names here are valid). */
  readonly treeRoots: Map<string, Uint8Array>;
  /** Live (unreleased) forks. */
  refs: number;
  release: (() => void) | null;
}

/** One layer of the written-keys log: tree → (key string → key bytes). Frozen once shared. */
class KeyLog {
  readonly parent: KeyLog | null;
  /** Allocated on the first key: most layers of a search are made by forks and never written. */
  trees: Map<string, Map<string, Uint8Array>> | null;
  size: number;
  constructor(parent: KeyLog | null) {
    this.parent = parent;
    this.trees = null;
    this.size = 0;
  }
  add(tree: string, key: Uint8Array): void {
    if (this.trees === null) this.trees = new Map();
    let m = this.trees.get(tree);
    if (m === undefined) {
      m = new Map();
      this.trees.set(tree, m);
    }
    const k = keyString(key);
    if (!m.has(k)) {
      m.set(k, key.slice());
      this.size++;
    }
  }
}

export class ForestFork {
  private readonly family: Family;
  private readonly drafts: Map<string, Draft>;
  private log: KeyLog;
  private released: boolean;
  private rootMemo: Uint8Array | undefined;
  /**
   * Net writes not yet applied to the drafts (see `withWrites`): applied on
   * the first call that needs the drafts, and handed out as they are by
   * `writes()` until then. Immutable; shared by forks.
   */
  private pending: ReadonlyMap<string, readonly Op[]> | null;

  private constructor(family: Family, drafts: Map<string, Draft>, log: KeyLog) {
    this.family = family;
    this.drafts = drafts;
    this.log = log;
    this.released = false;
    this.rootMemo = undefined;
    this.pending = null;
  }

  /**
   * A fork of `version` (a live forest root of `db`: a retained height, a
   * ref, a pin or a lease; else ROOT_NOT_LIVE). Holds a lease on the version
   * until this fork and every fork made from it are released. O(1).
   */
  static of(db: StateDB, version: Uint8Array): ForestFork {
    if (!(version instanceof Uint8Array) || version.length !== ROOT_BYTES) {
      throw new HeliosError("INVALID_ARGUMENT", {}, "a version is a 32-byte forest root");
    }
    const release = db.lease(version);
    return ForestFork.family(db, db.store, version, release);
  }

  /** @internal A family over any node source (the runner's worker threads read LMDB directly). */
  static family(db: StateDB | null, store: NodeStore, base: Uint8Array, release: (() => void) | null): ForestFork {
    const family: Family = {
      db,
      map: readThroughMap(store),
      base: base.slice(),
      treeRoots: new Map(),
      refs: 1,
      release,
    };
    return new ForestFork(family, new Map(), new KeyLog(null));
  }

  /** The version this fork started from (a copy). */
  get base(): Uint8Array {
    return this.family.base.slice();
  }

  /** True once released. */
  get isReleased(): boolean {
    return this.released;
  }

  /** True when this fork has recorded writes since its base (they may still net to no change). */
  get dirty(): boolean {
    this.check();
    return this.pending !== null || this.log.size > 0 || this.log.parent !== null;
  }

  private check(): void {
    if (this.released) throw new HeliosError("FORK_RELEASED", { base: Buffer.from(this.family.base).toString("hex") });
  }

  /** check(), then apply pending writes to the drafts: for every call that reads or writes them. */
  private use(): void {
    this.check();
    const p = this.pending;
    if (p === null) return;
    this.pending = null;
    for (const [name, ops] of p) {
      this.draftFor(name).apply(ops);
      for (const op of ops) this.log.add(name, op.key);
    }
  }

  /**
   * @internal A fork of this one (which must have no writes) carrying
   * `writes` — net against the base, trees in name order, keys sorted, as
   * `writes()` returns them — applied lazily: the fork costs O(ops) to
   * validate and nothing more until it is read, written, forked and
   * written, or its root is asked for. `writes()` and `stage()` use the ops
   * as they are. The runner hands its outcomes out this way, so that forks
   * the caller only inspects by value and then releases are never built.
   */
  withWrites(writes: ReadonlyMap<string, readonly Op[]>): ForestFork {
    this.check();
    if (this.dirty) throw new HeliosError("INVALID_ARGUMENT", {}, "withWrites needs a fork without writes");
    for (const [name, ops] of writes) {
      if (!this.family.treeRoots.has(name)) checkTreeName(name);
      if (!Array.isArray(ops)) throw new HeliosError("INVALID_ARGUMENT", { tree: name }, "ops must be an array");
      for (const op of ops) checkOp(op, name);
    }
    const f = this.fork();
    if (writes.size > 0) f.pending = new Map([...writes].map(([t, ops]) => [t, ops.slice()]));
    return f;
  }

  /** The root of `tree` in the base version (EMPTY_ROOT when it has none). Shared: never hand it out. */
  private baseTree(tree: string): Uint8Array {
    const f = this.family;
    let r = f.treeRoots.get(tree);
    if (r === undefined) {
      checkTreeName(tree);
      const v = f.map.get(f.base, utf8(tree));
      r = v === undefined ? new Uint8Array(ROOT_BYTES) : v;
      f.treeRoots.set(tree, r);
    }
    return r;
  }

  private draftFor(tree: string): Draft {
    let d = this.drafts.get(tree);
    if (d === undefined) {
      d = this.family.map.draft(this.baseTree(tree));
      this.drafts.set(tree, d);
    }
    return d;
  }

  /** The value of `key` in `tree` as this fork sees it (base plus its writes), or undefined. */
  get(tree: string, key: Uint8Array): Uint8Array | undefined {
    this.use();
    const d = this.drafts.get(tree);
    if (d !== undefined) return d.get(key);
    return this.family.map.get(this.baseTree(tree), key);
  }

  has(tree: string, key: Uint8Array): boolean {
    return this.get(tree, key) !== undefined;
  }

  put(tree: string, key: Uint8Array, value: Uint8Array): void {
    this.use();
    const d = this.draftFor(tree);
    d.put(key, value);
    this.log.add(tree, key);
    this.rootMemo = undefined;
  }

  /** Deletes `key` from `tree`; false (and nothing recorded) when it is absent. */
  delete(tree: string, key: Uint8Array): boolean {
    this.use();
    let d = this.drafts.get(tree);
    if (d === undefined) {
      // an absent key of an untouched tree: no draft, nothing to fork later
      if (this.family.map.get(this.baseTree(tree), key) === undefined) return false;
      d = this.draftFor(tree);
    }
    if (!d.delete(key)) return false;
    this.log.add(tree, key);
    this.rootMemo = undefined;
    return true;
  }

  /**
   * Applies ops per tree (a missing or null value deletes), trees in the
   * given order, ops in order. Every name and op is validated first, so a
   * bad one applies nothing.
   */
  apply(writes: Record<string, readonly Op[]> | ReadonlyMap<string, readonly Op[]>): void {
    this.use();
    if (writes === null || typeof writes !== "object") {
      throw new HeliosError("INVALID_ARGUMENT", {}, "writes: { treeName: ops[] }");
    }
    const list: [string, readonly Op[]][] =
      writes instanceof Map ? [...(writes as ReadonlyMap<string, readonly Op[]>)] : Object.entries(writes);
    for (const [name, ops] of list) {
      if (!this.family.treeRoots.has(name)) checkTreeName(name);
      if (!Array.isArray(ops)) throw new HeliosError("INVALID_ARGUMENT", { tree: name }, "ops must be an array");
      for (const op of ops) checkOp(op, name);
    }
    for (const [name, ops] of list) {
      if (ops.length === 0) continue;
      this.draftFor(name).apply(ops);
      for (const op of ops) this.log.add(name, op.key);
    }
    this.rootMemo = undefined;
  }

  /**
   * A new fork that sees everything this one sees; from now on the two
   * diverge. O(trees written), independent of the state's size and of the
   * number of keys written.
   */
  fork(): ForestFork {
    this.check();
    const drafts = new Map<string, Draft>();
    for (const [name, d] of this.drafts) drafts.set(name, d.fork());
    let childLog: KeyLog;
    if (this.log.size > 0) {
      const frozen = this.log;
      this.log = new KeyLog(frozen);
      childLog = new KeyLog(frozen);
    } else {
      childLog = new KeyLog(this.log.parent);
    }
    this.family.refs++;
    const child = new ForestFork(this.family, drafts, childLog);
    child.rootMemo = this.rootMemo;
    child.pending = this.pending;
    return child;
  }

  /** Every key written, per tree, over the whole log chain (deduplicated). */
  private writtenKeys(): Map<string, Map<string, Uint8Array>> {
    const out = new Map<string, Map<string, Uint8Array>>();
    for (let l: KeyLog | null = this.log; l !== null; l = l.parent) {
      if (l.trees === null) continue;
      for (const [tree, keys] of l.trees) {
        let m = out.get(tree);
        if (m === undefined) {
          m = new Map();
          out.set(tree, m);
        }
        for (const [k, b] of keys) if (!m.has(k)) m.set(k, b);
      }
    }
    return out;
  }

  /**
   * The net change against the base: per tree (trees in name order), the
   * keys whose value differs from the base's, sorted by key bytes, with the
   * new value or null (deleted). Ready for `StateDB.stage`/`commit`/
   * `commitRef`. O(keys written · depth).
   */
  writes(): Map<string, Op[]> {
    this.check();
    if (this.pending !== null) return new Map([...this.pending].map(([t, ops]) => [t, ops.slice()]));
    const keys = this.writtenKeys();
    const out = new Map<string, Op[]>();
    const map = this.family.map;
    for (const name of [...keys.keys()].sort(byName)) {
      const d = this.drafts.get(name) as Draft;
      const base = this.baseTree(name);
      const ks = [...(keys.get(name) as Map<string, Uint8Array>).values()].sort(compareBytes);
      const ops: Op[] = [];
      for (const k of ks) {
        const now = d.get(k);
        const was = map.get(base, k);
        if (now === undefined ? was === undefined : was !== undefined && equalBytes(now, was)) continue;
        ops.push({ key: k, value: now ?? null });
      }
      if (ops.length > 0) out.set(name, ops);
    }
    return out;
  }

  /**
   * The root of `tree` in this fork (EMPTY_ROOT when empty). Hashes the
   * tree's written paths; no node is stored.
   */
  treeRoot(tree: string): Uint8Array {
    this.use();
    const d = this.drafts.get(tree);
    if (d === undefined) return this.baseTree(tree).slice();
    // commit a throwaway fork: the drafts' store drops the new nodes, and `d` stays as it is
    return d.fork().commit();
  }

  /**
   * The forest root this fork would commit to: the same root `stage()`
   * gives, computed without storing a node (history independence: the root
   * depends only on the contents). Memoized until the next write.
   */
  root(): Uint8Array {
    this.use();
    if (this.rootMemo !== undefined) return this.rootMemo.slice();
    const f = this.family;
    let root: Uint8Array = f.base.slice();
    if (this.drafts.size > 0) {
      const forest = f.map.draft(f.base);
      for (const [name, d] of this.drafts) {
        if (!d.dirty) continue;
        const r = d.fork().commit();
        if (isEmptyRoot(r)) forest.delete(utf8(name));
        else forest.put(utf8(name), r);
      }
      root = forest.commit();
    }
    this.rootMemo = root;
    return root.slice();
  }

  /**
   * Ordered [key, value] pairs of `tree` as this fork sees it, optionally
   * limited to a prefix or [start, end). O(base entries in range + keys
   * written to the tree).
   */
  scan(tree: string, opts: ScanOptions = {}): [Uint8Array, Uint8Array][] {
    this.use();
    const map = this.family.map;
    const base = this.baseTree(tree);
    const d = this.drafts.get(tree);
    if (d === undefined) return [...map.entries(base, opts)];
    const written = new Map<string, Uint8Array>();
    for (let l: KeyLog | null = this.log; l !== null; l = l.parent) {
      const m = l.trees?.get(tree);
      if (m !== undefined) for (const [k, b] of m) if (inRange(b, opts)) written.set(k, b);
    }
    const out: [Uint8Array, Uint8Array][] = [];
    for (const e of map.entries(base, opts)) if (!written.has(keyString(e[0]))) out.push(e);
    for (const k of written.values()) {
      const v = d.get(k);
      if (v !== undefined) out.push([k.slice(), v]);
    }
    return out.sort((a, b) => compareBytes(a[0], b[0]));
  }

  /**
   * Stages this fork's writes on its base (StateDB.stage): the new forest
   * root, held like a lease until committed (commitStaged) or released.
   * Point a ref at `staged.root` (setRef) to keep it; then release both.
   */
  stage(): Staged {
    this.check();
    const db = this.family.db;
    if (db === null) throw new HeliosError("INVALID_ARGUMENT", {}, "this fork has no StateDB to stage on");
    return db.stage(this.family.base, this.writes());
  }

  /**
   * Discards this fork (its writes go with it) and, with the last fork of
   * its family, the lease on the base. Idempotent; every later call on this
   * fork throws FORK_RELEASED.
   */
  release(): void {
    if (this.released) return;
    this.released = true;
    this.pending = null;
    this.drafts.clear();
    this.log = new KeyLog(null);
    this.rootMemo = undefined;
    const f = this.family;
    if (--f.refs === 0 && f.release !== null) {
      const r = f.release;
      f.release = null;
      r();
    }
  }
}

function inRange(k: Uint8Array, opts: ScanOptions): boolean {
  const p = opts.prefix;
  if (p !== undefined) {
    if (k.length < p.length) return false;
    for (let i = 0; i < p.length; i++) if (k[i] !== p[i]) return false;
  }
  if (opts.start !== undefined && compareBytes(k, opts.start) < 0) return false;
  if (opts.end !== undefined && compareBytes(k, opts.end) >= 0) return false;
  return true;
}

// ---------------------------------------------------------------- wire

/**
 * Net writes packed in one buffer, to cross a thread boundary in one
 * transfer instead of one structured clone per key and value:
 *
 *   u32 trees ‖ per tree: u16 nameLen ‖ name ‖ u32 ops
 *             ‖ per op: u16 keyLen ‖ u32 (valueLen + 1, 0 = delete) ‖ key ‖ value
 *
 * Integers little-endian. decodeWrites returns views into the buffer.
 */
export function encodeWrites(writes: ReadonlyMap<string, readonly Op[]>): Uint8Array {
  let size = 4;
  const names: Uint8Array[] = [];
  for (const [name, ops] of writes) {
    const n = utf8(name);
    names.push(n);
    size += 2 + n.length + 4;
    for (const op of ops) size += 6 + op.key.length + (op.value?.length ?? 0);
  }
  const out = new Uint8Array(size);
  const dv = new DataView(out.buffer);
  let o = 0;
  dv.setUint32(o, writes.size, true);
  o += 4;
  let t = 0;
  for (const [, ops] of writes) {
    const n = names[t++] as Uint8Array;
    dv.setUint16(o, n.length, true);
    out.set(n, o + 2);
    o += 2 + n.length;
    dv.setUint32(o, ops.length, true);
    o += 4;
    for (const op of ops) {
      const v = op.value ?? null;
      dv.setUint16(o, op.key.length, true);
      dv.setUint32(o + 2, v === null ? 0 : v.length + 1, true);
      o += 6;
      out.set(op.key, o);
      o += op.key.length;
      if (v !== null) {
        out.set(v, o);
        o += v.length;
      }
    }
  }
  return out;
}

export function decodeWrites(buf: Uint8Array): Map<string, Op[]> {
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const dec = new TextDecoder();
  const out = new Map<string, Op[]>();
  const fail = (): never => {
    throw new HeliosError("CODEC_MALFORMED", {}, "packed fork writes are truncated");
  };
  let o = 0;
  if (buf.length < 4) fail();
  const trees = dv.getUint32(o, true);
  o += 4;
  for (let t = 0; t < trees; t++) {
    if (o + 2 > buf.length) fail();
    const nl = dv.getUint16(o, true);
    o += 2;
    if (o + nl + 4 > buf.length) fail();
    const name = dec.decode(buf.subarray(o, o + nl));
    o += nl;
    const count = dv.getUint32(o, true);
    o += 4;
    const ops: Op[] = [];
    for (let i = 0; i < count; i++) {
      if (o + 6 > buf.length) fail();
      const kl = dv.getUint16(o, true);
      const vl = dv.getUint32(o + 2, true);
      o += 6;
      const end = o + kl + (vl === 0 ? 0 : vl - 1);
      if (end > buf.length) fail();
      const key = buf.subarray(o, o + kl);
      ops.push({ key, value: vl === 0 ? null : buf.subarray(o + kl, end) });
      o = end;
    }
    out.set(name, ops);
  }
  if (o !== buf.length) fail();
  return out;
}
