/**
 * history/state — durable, versioned state: the Merkle forest, heights,
 * refs, pins, retention, rollback, checkpoints, recovery and GC.
 *
 * The forest is a Merkle map from tree name (UTF-8) to the tree's root, so
 * one 32-byte forest root commits every tree atomically. A version is a
 * forest root. Heights (the chain) map to versions; refs (branches, tags) are
 * named versions that may move; pins keep a version alive while in use.
 *
 * Every change is a log record (wire.ts) appended and synced before the
 * call returns: that is the durability point. Checkpoints (store/durable)
 * move nodes and this state to LMDB in the background; recovery loads the
 * checkpoint and replays the log, recomputing every committed root and
 * refusing to open (STORE_CORRUPT) if one differs.
 *
 * Keep-alive links (`@live`): a version may hold a tree named `@live` whose
 * keys begin with a 32-byte forest root (any suffix may follow; values are
 * free). Every root so named is live for as long as the version holding the
 * link is, transitively. This is how a higher layer (sandbox/repo) keeps a
 * whole commit graph alive under one ref with one atomic log record. A write
 * that adds a link must name a root that is live at that moment
 * (ROOT_NOT_LIVE otherwise), so GC's snapshot-at-the-beginning still holds:
 * the linked version was marked, or shaded when it became live.
 *
 * Invariants: a call either applies entirely and durably or changes nothing
 * (validation and the new roots are computed before the record is written;
 * in-memory state changes only after the append returned); the live set —
 * retained heights, refs, pins and the trees under them — is never collected
 * (store/gc); heights are committed in order; rollback only goes to a
 * retained height.
 * Costs: commit = tree updates (O(changed paths)) + one log append/fsync;
 * rollback, ref and pin changes = one small log append; reads go through the
 * tiers (store/durable).
 */
import { bytesToHex, compareBytes, equalBytes, HeliosError, isHeliosError, utf8 } from "../core/index.js";
import { HASH_BYTES } from "../core/index.js";
import {
  checkVersion,
  EMPTY_ROOT,
  isEmptyRoot,
  MemoryStore,
  MerkleMap,
  type Op,
  type VersionReport,
} from "../merkle/index.js";
import { Collector, type DurableOptions, type DurableStats, DurableStore, type GcProgress } from "../store/index.js";
import { HeadCache } from "./headcache.js";
import {
  decodeRecord,
  decodeState,
  encodeRecord,
  encodeState,
  type HistoryState,
  type LogRecord,
  type Target,
} from "./wire.js";

export interface StateOptions extends DurableOptions {
  /** Heights kept when the store is created (default 100; ignored when opening an existing store: use setRetain). */
  retain?: number;
  /** Start a background checkpoint after this many commits (default 16). */
  checkpointEvery?: number;
  /** ... or when L0 holds this many bytes (default 256 MiB). */
  checkpointBytes?: number;
  /** Entries of the head value cache (history/headcache.ts; default 262,144 per generation; 0 disables it). */
  headCacheEntries?: number;
}

export type Writes = Record<string, readonly Op[]> | Map<string, readonly Op[]>;

/** A version computed by `StateDB.stage` and not yet committed. */
export interface Staged {
  readonly base: Uint8Array;
  readonly root: Uint8Array;
  /** Every tree written, in canonical (sorted) order, with its ops. */
  readonly trees: readonly [string, readonly Op[]][];
  /** The new root of each tree written. */
  readonly treeRoots: ReadonlyMap<string, Uint8Array>;
  /**
   * Lets GC collect the staged version (if nothing else keeps it). A staged
   * version is held like a lease from `stage` until `commitStaged` or this;
   * call it when dropping a version that will not be committed. Idempotent.
   */
  readonly release: () => void;
}

export interface StateStats {
  height: number;
  root: string;
  retain: number;
  heights: number;
  oldestHeight: number;
  refs: number;
  pins: number;
  store: DurableStats;
  gc: GcProgress;
  recovered: { records: number; ms: number };
}

const MAX_TREE_NAME = 64;
/** The tree of keep-alive links (see the header). */
export const LIVE_TREE = "@live";
const LIVE_KEY = utf8(LIVE_TREE);
const MAX_REF_NAME = 128;
function hasControl(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 || c === 0x7f) return true;
  }
  return false;
}

function checkName(name: unknown, max: number, code: "TREE_NAME_INVALID" | "REF_NAME_INVALID"): string {
  if (typeof name !== "string" || name.length === 0 || hasControl(name) || utf8(name).length > max) {
    throw new HeliosError(code, { name: String(name) });
  }
  return name;
}

function checkRootArg(root: unknown): Uint8Array {
  if (!(root instanceof Uint8Array) || root.length !== HASH_BYTES) {
    throw new HeliosError("INVALID_ARGUMENT", {}, "a root is 32 bytes");
  }
  return root;
}

function checkRetain(n: unknown): void {
  if (typeof n !== "number" || !Number.isInteger(n) || n < 1 || n > 1_000_000) {
    throw new HeliosError("INVALID_ARGUMENT", { retain: n }, "retain must be an integer from 1 to 1,000,000");
  }
}

function writesList(writes: Writes): [string, readonly Op[]][] {
  if (writes === null || typeof writes !== "object") {
    throw new HeliosError("INVALID_ARGUMENT", {}, "writes: { treeName: ops[] }");
  }
  const list = writes instanceof Map ? [...writes.entries()] : Object.entries(writes);
  for (const [name, ops] of list) {
    checkName(name, MAX_TREE_NAME, "TREE_NAME_INVALID");
    if (!Array.isArray(ops)) throw new HeliosError("INVALID_ARGUMENT", { tree: name }, "ops must be an array");
  }
  // canonical order: the same writes give the same record and the same root
  return list.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
}

export class StateDB {
  readonly store: DurableStore;
  readonly map: MerkleMap;
  private state: HistoryState;
  private readonly gc: Collector;
  private checkpointEvery: number;
  private checkpointBytes: number;
  private commitsSinceCheckpoint = 0;
  /** name → the last (version, tree root) looked up; keyed by the version's identity (versions are immutable). */
  private readonly treeRootMemo = new Map<string, { version: Uint8Array; root: Uint8Array }>();
  private readonly headCache: HeadCache;
  /**
   * What recovery would need if the process died now, beyond the live set:
   * the live versions of the last durable checkpoint's state (replay starts
   * there), and every version named by a log record after it (replay
   * re-executes each commit on its base). GC keeps all of them, or a crash
   * after a sweep could leave the log unreplayable (found by the crash
   * harness: a ref moved, GC swept its old version, and replay of a commit
   * made on that old version found nodes missing).
   */
  private durableBase: Uint8Array[] = [];
  /** In-process keep-alives (lease()): hex root → root and count. */
  private readonly leases = new Map<string, { root: Uint8Array; count: number }>();
  private pendingLog: { seq: number; roots: Uint8Array[] }[] = [];
  /** Hex roots reachable through keep-alive links from the live set; dropped whenever the live set may change. */
  private linkedMemo: Set<string> | undefined = undefined;
  private closed = false;
  private readonly recovered: { records: number; ms: number };

  private constructor(
    store: DurableStore,
    state: HistoryState,
    opts: StateOptions,
    recovered: { records: number; ms: number },
  ) {
    this.store = store;
    this.map = new MerkleMap({ store });
    this.state = state;
    this.gc = new Collector(store);
    this.checkpointEvery = opts.checkpointEvery ?? 16;
    this.checkpointBytes = opts.checkpointBytes ?? 256 * 1024 * 1024;
    this.headCache = new HeadCache(opts.headCacheEntries ?? 262_144);
    this.recovered = recovered;
  }

  /**
   * Opens a store directory (`create: true` to make one), loads the last
   * checkpoint and replays the log after it. Throws a coded error for every
   * bad environment (store/env) and STORE_CORRUPT if the log does not replay
   * to the roots it recorded.
   */
  static open(dir: string, opts: StateOptions = {}): StateDB {
    const t0 = process.hrtime.bigint();
    const retain = opts.retain ?? 100;
    checkRetain(retain);
    const opened = DurableStore.open(dir, opts);
    try {
      const state: HistoryState =
        opened.state === undefined
          ? { head: 0, retain, heights: new Map([[0, EMPTY_ROOT]]), refs: new Map(), pins: new Map() }
          : decodeState(opened.state);
      const db = new StateDB(opened.store, state, opts, { records: opened.records.length, ms: 0 });
      db.durableBase = db.liveForestRoots();
      for (const r of opened.records) {
        let rec: LogRecord;
        try {
          rec = decodeRecord(r.body);
        } catch (e) {
          throw new HeliosError(
            "STORE_CORRUPT",
            { seq: r.seq, segment: r.segment },
            `log record does not decode: ${(e as Error).message}`,
          );
        }
        db.notePending(r.seq, rec);
        db.apply(rec, true);
      }
      // a new store: make its settings durable before anything else
      if (opened.state === undefined && opened.records.length === 0) db.log({ kind: "retain", n: retain });
      db.recovered.ms = Number(process.hrtime.bigint() - t0) / 1e6;
      return db;
    } catch (e) {
      opened.store.abandon();
      throw e;
    }
  }

  // ---------------------------------------------------------------- reads

  /** The committed height (0 for a new store). */
  get height(): number {
    return this.state.head;
  }

  /** The forest root at the committed height (a copy: roots handed out are the caller's). */
  get root(): Uint8Array {
    return this.headRoot().slice();
  }

  private headRoot(): Uint8Array {
    return this.state.heights.get(this.state.head) as Uint8Array;
  }

  get retain(): number {
    return this.state.retain;
  }

  /** The forest root at a retained height. */
  rootAt(height: number): Uint8Array {
    const r = this.state.heights.get(height);
    if (r === undefined) throw new HeliosError("HEIGHT_NOT_RETAINED", { height, head: this.state.head });
    return r.slice();
  }

  /** Retained heights, ascending. */
  heights(): number[] {
    return [...this.state.heights.keys()].sort((a, b) => a - b);
  }

  /** Refs by name. */
  refs(): Map<string, Uint8Array> {
    return new Map([...this.state.refs].map(([n, r]) => [n, r.slice()]));
  }

  /** Pinned versions with their pin counts. */
  pins(): { root: Uint8Array; count: number }[] {
    return [...this.state.pins.values()].map((p) => ({ root: p.root.slice(), count: p.count }));
  }

  ref(name: string): Uint8Array {
    return this.refRoot(name).slice();
  }

  private refRoot(name: string): Uint8Array {
    const r = this.state.refs.get(name);
    if (r === undefined) throw new HeliosError("REF_NOT_FOUND", { name });
    return r;
  }

  /** The root of tree `name` in a version (default: the head); EMPTY_ROOT if the tree does not exist. */
  treeRoot(name: string, version: Uint8Array = this.headRoot()): Uint8Array {
    // a one-entry memo per tree name: reads of the head ask the same (version, name) again and again
    const memo = this.treeRootMemo.get(name);
    if (memo !== undefined && memo.version === version) return memo.root;
    checkName(name, MAX_TREE_NAME, "TREE_NAME_INVALID");
    const root = this.map.get(checkRootArg(version), utf8(name)) ?? EMPTY_ROOT;
    if (this.treeRootMemo.size > 64) this.treeRootMemo.clear();
    this.treeRootMemo.set(name, { version, root });
    return root;
  }

  /** [name, root] of every tree in a version, in name order. */
  trees(version: Uint8Array = this.headRoot()): [string, Uint8Array][] {
    const out: [string, Uint8Array][] = [];
    for (const [k, v] of this.map.entries(checkRootArg(version))) out.push([new TextDecoder().decode(k), v]);
    return out;
  }

  /** The value of `key` in `tree` at a version (default: the head), or undefined. */
  get(tree: string, key: Uint8Array, version?: Uint8Array): Uint8Array | undefined {
    if (version === undefined) {
      const c = this.headCache.get(tree, key);
      if (c !== undefined) return c ?? undefined;
    }
    const tr = this.treeRoot(tree, version ?? this.headRoot());
    const v = isEmptyRoot(tr) ? undefined : this.map.get(tr, key);
    if (version === undefined) this.headCache.remember(tree, key, v);
    return v;
  }

  /**
   * Proof of `key` in `tree` at a version: the forest proof of the tree's
   * root, and the tree proof of the key. Verify the first against the forest
   * root (verifyValue with the tree root as value) and the second against the
   * tree root.
   */
  prove(
    tree: string,
    key: Uint8Array,
    version: Uint8Array = this.headRoot(),
  ): { treeRoot: Uint8Array; forestProof: Uint8Array; keyProof: Uint8Array } {
    const tr = this.treeRoot(tree, version);
    return { treeRoot: tr, forestProof: this.map.prove(version, utf8(tree)), keyProof: this.map.prove(tr, key) };
  }

  // --------------------------------------------------------------- writes

  /**
   * Commits the next height: applies `writes` (tree name → ops) to the head
   * and returns the new forest root. Durable when it returns.
   */
  commit(height: number, writes: Writes): Uint8Array {
    this.open_();
    if (!Number.isSafeInteger(height) || height !== this.state.head + 1) {
      throw new HeliosError("HEIGHT_OUT_OF_ORDER", { height, head: this.state.head });
    }
    const trees = writesList(writes);
    this.checkLinks(trees);
    const base = this.headRoot();
    const root = this.applyTrees(base, trees);
    this.log({ kind: "commit", target: { height }, base, root, trees: trees as [string, Op[]][] });
    this.maybeCheckpoint();
    return root;
  }

  /**
   * Computes, without logging anything, the version that applying `writes`
   * to `base` gives: speculative execution. `derive`, when given, is called
   * with the new roots of the trees in `writes` and returns more writes, to
   * trees not already written (the executor puts storage roots into account
   * records this way). The result can be committed with `commitStaged` while
   * `base` is still the head, or dropped with `staged.release()`: until one
   * of the two, it is held like a lease (GC keeps it); after a release its
   * nodes are collected when nothing else refers to them. Costs: the tree updates of a
   * commit, no I/O.
   */
  stage(base: Uint8Array, writes: Writes, derive?: (roots: ReadonlyMap<string, Uint8Array>) => Writes): Staged {
    this.open_();
    // a dead base could be mid-sweep: staging on it would resurrect nodes GC is deleting
    this.requireLive(checkRootArg(base));
    const first = writesList(writes);
    this.checkLinks(first);
    const roots = new Map<string, Uint8Array>();
    const forestOps: Op[] = [];
    const applyList = (list: readonly [string, readonly Op[]][]): void => {
      for (const [name, ops] of list) {
        const key = utf8(name);
        const cur = this.map.get(base, key) ?? EMPTY_ROOT;
        const next = ops.length === 0 ? cur : this.map.update(cur, ops);
        roots.set(name, next);
        forestOps.push({ key, value: isEmptyRoot(next) ? null : next });
      }
    };
    applyList(first);
    let trees = first;
    if (derive !== undefined) {
      const more = writesList(derive(roots));
      this.checkLinks(more);
      for (const [name] of more) {
        if (roots.has(name)) throw new HeliosError("INVALID_ARGUMENT", { tree: name }, "derive wrote a tree twice");
      }
      applyList(more);
      trees = [...first, ...more].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
    }
    forestOps.sort((a, b) => compareBytes(a.key, b.key));
    const root = forestOps.length === 0 ? base : this.map.update(base, forestOps);
    // a staged version is kept from GC (like a lease) until it is committed or released
    const release = this.hold(root);
    return Object.freeze({ base: base.slice(), root: root.slice(), trees, treeRoots: roots, release });
  }

  /**
   * Commits a staged version as the next height. Its base must be the head
   * (else HEIGHT_OUT_OF_ORDER with `context.reason`). The log record is the
   * same as `commit`'s, so recovery replays it identically. Durable when it
   * returns.
   */
  commitStaged(height: number, staged: Staged): Uint8Array {
    this.open_();
    if (!Number.isSafeInteger(height) || height !== this.state.head + 1) {
      throw new HeliosError("HEIGHT_OUT_OF_ORDER", { height, head: this.state.head });
    }
    if (!equalBytes(staged.base, this.headRoot())) {
      throw new HeliosError("HEIGHT_OUT_OF_ORDER", { height, head: this.state.head, reason: "staged on another base" });
    }
    this.log({
      kind: "commit",
      target: { height },
      base: staged.base,
      root: staged.root.slice(),
      trees: staged.trees as [string, Op[]][],
    });
    staged.release();
    this.maybeCheckpoint();
    return staged.root.slice();
  }

  /**
   * Commits `writes` on top of ref `name` and moves the ref to the result.
   * Durable when it returns; with `sync: false` the fsync is deferred to the
   * next synced record or `sync()` (the log is ordered: a later synced record
   * makes this one durable too), as for `setRef`.
   */
  commitRef(name: string, writes: Writes, opts: { sync?: boolean } = {}): Uint8Array {
    this.open_();
    const base = this.refRoot(checkName(name, MAX_REF_NAME, "REF_NAME_INVALID"));
    const trees = writesList(writes);
    this.checkLinks(trees);
    const root = this.applyTrees(base, trees);
    this.log(
      { kind: "commit", target: { ref: name }, base, root, trees: trees as [string, Op[]][] },
      opts.sync !== false,
    );
    this.maybeCheckpoint();
    return root;
  }

  /**
   * Creates or moves ref `name` to `root`, which must be live (a retained
   * height, a ref or a pin). With `sync: false` the log record's fsync is
   * deferred to the next synced record or `sync()`: the ref is live (and kept
   * from GC) at once, but a crash before then forgets it.
   */
  setRef(name: string, root: Uint8Array, opts: { sync?: boolean } = {}): void {
    this.open_();
    checkName(name, MAX_REF_NAME, "REF_NAME_INVALID");
    this.requireLive(checkRootArg(root));
    this.log({ kind: "ref", name, root: root.slice() }, opts.sync !== false);
  }

  deleteRef(name: string, opts: { sync?: boolean } = {}): void {
    this.open_();
    this.refRoot(checkName(name, MAX_REF_NAME, "REF_NAME_INVALID"));
    this.log({ kind: "ref", name, root: null }, opts.sync !== false);
  }

  /** Makes records written with `sync: false` durable. */
  sync(): void {
    this.open_();
    this.store.syncLog();
  }

  /**
   * Makes the live version `root` the chain at `height`: every retained
   * height is dropped and `height` becomes the head (refs and pins are kept).
   * This is how a node that imported a snapshot joins the chain (a height
   * above the head), and how a snapshot older than retention is restored (a
   * height at or below it).
   */
  adopt(height: number, root: Uint8Array): void {
    this.open_();
    if (!Number.isSafeInteger(height) || height < 0) {
      throw new HeliosError("INVALID_ARGUMENT", { height }, "a height is a non-negative integer");
    }
    this.requireLive(checkRootArg(root));
    this.log({ kind: "adopt", height, root: root.slice() });
  }

  /**
   * Keeps a version alive in this process until the returned function is
   * called (not logged: a lease ends with the process). Exports, servers
   * and imports hold one for as long as they read the version.
   */
  lease(root: Uint8Array): () => void {
    this.open_();
    this.requireLive(checkRootArg(root));
    return this.hold(root);
  }

  /** A lease without the liveness check: for versions this process just computed (stage). */
  private hold(root: Uint8Array): () => void {
    const k = bytesToHex(root);
    const l = this.leases.get(k);
    if (l === undefined) {
      this.leases.set(k, { root: root.slice(), count: 1 });
      this.linkedMemo = undefined;
    } else l.count++;
    this.shade(root);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const e = this.leases.get(k);
      if (e !== undefined && --e.count === 0) {
        this.leases.delete(k);
        this.linkedMemo = undefined;
      }
    };
  }

  /** Moves the head back to a retained height ≤ the head; later heights are dropped. */
  rollback(height: number): void {
    this.open_();
    if (!this.state.heights.has(height) || height > this.state.head) {
      throw new HeliosError("HEIGHT_NOT_RETAINED", { height, head: this.state.head });
    }
    this.log({ kind: "rollback", height });
  }

  /** Keeps the last n heights (n ≥ 1). Lowering it drops old heights now. */
  setRetain(n: number): void {
    this.open_();
    checkRetain(n);
    this.log({ kind: "retain", n });
  }

  /** Keeps a live version alive until unpinned (counted). */
  pin(root: Uint8Array): void {
    this.open_();
    this.requireLive(checkRootArg(root));
    this.log({ kind: "pin", root: root.slice() });
  }

  unpin(root: Uint8Array): void {
    this.open_();
    if (!this.state.pins.has(bytesToHex(checkRootArg(root)))) {
      throw new HeliosError("ROOT_NOT_LIVE", { root: bytesToHex(root) }, "that root is not pinned");
    }
    this.log({ kind: "unpin", root: root.slice() });
  }

  /**
   * True when `root` is kept by a retained height, a ref, a pin, a lease, or
   * a keep-alive link of a live version. The quick checks come first; the
   * links are walked at most once per change of the state (the set of
   * linked roots is memoised until the next log record or lease change).
   */
  isLive(root: Uint8Array): boolean {
    if (isEmptyRoot(root)) return true;
    // cheapest first: the head (what snapshots and refs usually name), heights, refs; then the hex-keyed maps
    if (equalBytes(this.headRoot(), root)) return true;
    for (const r of this.state.heights.values()) if (equalBytes(r, root)) return true;
    for (const r of this.state.refs.values()) if (equalBytes(r, root)) return true;
    const k = bytesToHex(root);
    if (this.state.pins.has(k) || this.leases.has(k)) return true;
    // finally the keep-alive links of every live version, transitively
    if (this.linkedMemo === undefined) {
      const set = new Set<string>();
      this.walkLinks(this.liveForestRoots(), (r) => {
        set.add(bytesToHex(r));
        return true;
      });
      this.linkedMemo = set;
    }
    return this.linkedMemo.has(k);
  }

  /**
   * Visits the versions linked (transitively, through `@live` trees) from
   * `starts`, each once; `visit` returns false to stop. The starts themselves
   * are not visited. Costs: one tree-root lookup per version reached, plus a
   * scan of each `@live` tree found.
   */
  private walkLinks(starts: Iterable<Uint8Array>, visit: (root: Uint8Array) => boolean): void {
    const seen = new Set<string>();
    const stack: Uint8Array[] = [];
    for (const r of starts) {
      const k = bytesToHex(r);
      if (!seen.has(k)) {
        seen.add(k);
        stack.push(r);
      }
    }
    while (stack.length > 0) {
      const v = stack.pop() as Uint8Array;
      if (isEmptyRoot(v)) continue;
      const lt = this.map.get(v, LIVE_KEY);
      if (lt === undefined) continue;
      for (const [key] of this.map.entries(lt)) {
        const r = key.slice(0, HASH_BYTES);
        const k = bytesToHex(r);
        if (seen.has(k)) continue;
        seen.add(k);
        if (!visit(r)) return;
        stack.push(r);
      }
    }
  }

  /** Every `@live` link a write adds must name a version live now (see the header). */
  private checkLinks(trees: readonly [string, readonly Op[]][]): void {
    for (const [name, ops] of trees) {
      if (name !== LIVE_TREE) continue;
      for (const op of ops) {
        if (op.value === null || op.value === undefined) continue;
        if (!(op.key instanceof Uint8Array) || op.key.length < HASH_BYTES) {
          throw new HeliosError("INVALID_ARGUMENT", { tree: name }, "an @live key begins with a 32-byte root");
        }
        const r = op.key.subarray(0, HASH_BYTES);
        if (!this.isLive(r)) {
          throw new HeliosError("ROOT_NOT_LIVE", { root: bytesToHex(r) }, "an @live link must name a live version");
        }
      }
    }
  }

  private requireLive(root: Uint8Array): void {
    if (!this.isLive(root)) throw new HeliosError("ROOT_NOT_LIVE", { root: bytesToHex(root) });
  }

  private applyTrees(base: Uint8Array, trees: readonly [string, readonly Op[]][]): Uint8Array {
    const forestOps: Op[] = [];
    for (const [name, ops] of trees) {
      const key = utf8(name);
      const cur = this.map.get(base, key) ?? EMPTY_ROOT;
      const next = this.map.update(cur, ops);
      forestOps.push({ key, value: isEmptyRoot(next) ? null : next });
    }
    return forestOps.length === 0 ? base : this.map.update(base, forestOps);
  }

  /** Writes the record durably, then applies it to the in-memory state. */
  private log(rec: LogRecord, sync = true): void {
    const seq = this.store.append(encodeRecord(rec), sync);
    this.notePending(seq, rec);
    this.apply(rec, false);
  }

  private notePending(seq: number, rec: LogRecord): void {
    const roots: Uint8Array[] = [];
    if (rec.kind === "commit") roots.push(rec.base, rec.root);
    else if ((rec.kind === "ref" && rec.root !== null) || rec.kind === "pin" || rec.kind === "adopt") {
      roots.push(rec.root as Uint8Array);
    }
    if (roots.length > 0) this.pendingLog.push({ seq, roots });
  }

  /** Forest roots kept alive by the state now (heights, refs, pins). */
  private liveForestRoots(): Uint8Array[] {
    const out = [...this.state.heights.values(), ...this.state.refs.values()];
    for (const p of this.state.pins.values()) out.push(p.root);
    for (const l of this.leases.values()) out.push(l.root);
    return out;
  }

  /**
   * Applies a record to the in-memory state. On replay, commits are
   * re-executed and must reproduce their recorded roots.
   */
  private apply(rec: LogRecord, replay: boolean): void {
    this.linkedMemo = undefined; // any record may change what is live
    const s = this.state;
    switch (rec.kind) {
      case "commit": {
        const base = "height" in rec.target ? s.heights.get(s.head) : s.refs.get(rec.target.ref);
        if (replay) {
          if ("height" in rec.target && rec.target.height !== s.head + 1) {
            throw new HeliosError(
              "STORE_CORRUPT",
              { height: rec.target.height, head: s.head },
              "log replay: height out of order",
            );
          }
          if (base === undefined || !equalBytes(base, rec.base)) {
            throw new HeliosError(
              "STORE_CORRUPT",
              { target: rec.target },
              "log replay: the commit's base is not the current version",
            );
          }
          let root: Uint8Array;
          try {
            root = this.applyTrees(base, rec.trees);
          } catch (e) {
            if (isHeliosError(e)) {
              throw new HeliosError(
                "STORE_CORRUPT",
                { target: rec.target, cause: e.code },
                `log replay failed: ${e.message}`,
              );
            }
            throw e;
          }
          if (!equalBytes(root, rec.root)) {
            throw new HeliosError(
              "STORE_CORRUPT",
              { target: rec.target, recorded: bytesToHex(rec.root), recomputed: bytesToHex(root) },
              "log replay: the recomputed root differs from the committed root",
            );
          }
        }
        this.setTarget(rec.target, rec.root);
        if ("height" in rec.target) this.headCache.applied(rec.trees);
        break;
      }
      case "ref":
        if (rec.root === null) s.refs.delete(rec.name);
        else {
          s.refs.set(rec.name, rec.root);
          this.shade(rec.root);
        }
        break;
      case "rollback":
        this.headCache.clear();
        for (const h of [...s.heights.keys()]) if (h > rec.height) s.heights.delete(h);
        s.head = rec.height;
        break;
      case "retain":
        s.retain = rec.n;
        this.prune();
        break;
      case "pin": {
        const k = bytesToHex(rec.root);
        const p = s.pins.get(k);
        if (p === undefined) s.pins.set(k, { root: rec.root, count: 1 });
        else p.count++;
        this.shade(rec.root);
        break;
      }
      case "adopt":
        this.headCache.clear();
        s.heights.clear();
        s.heights.set(rec.height, rec.root);
        s.head = rec.height;
        this.shade(rec.root);
        break;
      case "unpin": {
        const k = bytesToHex(rec.root);
        const p = s.pins.get(k);
        if (p === undefined) {
          if (replay) throw new HeliosError("STORE_CORRUPT", { root: k }, "log replay: unpin of a root not pinned");
          break;
        }
        if (--p.count === 0) s.pins.delete(k);
        break;
      }
    }
  }

  private setTarget(target: Target, root: Uint8Array): void {
    const s = this.state;
    if ("height" in target) {
      s.heights.set(target.height, root);
      s.head = target.height;
      this.prune();
    } else {
      s.refs.set(target.ref, root);
    }
    this.commitsSinceCheckpoint++;
  }

  private prune(): void {
    const s = this.state;
    const oldest = s.head - s.retain + 1;
    for (const h of s.heights.keys()) if (h < oldest) s.heights.delete(h);
  }

  // ------------------------------------------------- checkpoints and GC

  private maybeCheckpoint(): void {
    // Coalesce: while a requested checkpoint has not sealed L0 yet, it will take these commits too.
    // Count only unsealed bytes, so a checkpoint in flight does not trigger one per commit.
    if (this.store.checkpointQueued) return;
    if (this.commitsSinceCheckpoint >= this.checkpointEvery || this.store.dirtyBytes() >= this.checkpointBytes) {
      this.checkpoint().catch(() => {
        // kept in store.lastCheckpointError and retried by the next checkpoint; nothing is lost
      });
    }
  }

  /** When a background checkpoint starts: after `every` commits or once L0 holds `bytes`. */
  get checkpointPolicy(): { every: number; bytes: number } {
    return { every: this.checkpointEvery, bytes: this.checkpointBytes };
  }

  /**
   * Changes the background checkpoint cadence (in this process only). Bulk
   * writers such as the snapshot importer checkpoint rarely: every commit is
   * durable in the log anyway, and each checkpoint rewrites LMDB pages all
   * over the file (nodes are keyed by hash), so fewer, larger ones cost far
   * less. The price is memory (L0 holds up to `bytes`) and a longer replay
   * after a crash.
   */
  setCheckpointPolicy(p: { every?: number; bytes?: number }): void {
    const ok = (n: unknown) => typeof n === "number" && n >= 1;
    if ((p.every !== undefined && !ok(p.every)) || (p.bytes !== undefined && !ok(p.bytes))) {
      throw new HeliosError("INVALID_ARGUMENT", { ...p }, "every and bytes are numbers ≥ 1");
    }
    if (p.every !== undefined) this.checkpointEvery = p.every;
    if (p.bytes !== undefined) this.checkpointBytes = p.bytes;
  }

  /** Moves L0 and the state to LMDB and trims the log; resolves when durable. */
  checkpoint(): Promise<void> {
    this.commitsSinceCheckpoint = 0;
    let sealedSeq = -1;
    let sealedLive: Uint8Array[] = [];
    const p = this.store.checkpoint(() => {
      // called at the instant L0 is sealed: the state and the log records it covers
      sealedSeq = this.store.nextSeq - 1;
      sealedLive = this.liveForestRoots();
      return encodeState(this.state);
    });
    return p.then(() => {
      // durable: replay now starts from this state, and needs only the records after it
      this.durableBase = sealedLive;
      this.pendingLog = this.pendingLog.filter((e) => e.seq > sealedSeq);
    });
  }

  /**
   * Every forest root GC must keep, and every tree root under them: the live
   * set, plus what recovery from the log would need (durableBase, pendingLog).
   */
  liveRoots(): Uint8Array[] {
    const seen = new Set<string>();
    const out: Uint8Array[] = [];
    const expanded = new Set<string>();
    const add = (r: Uint8Array) => {
      const k = bytesToHex(r);
      if (expanded.has(k) || isEmptyRoot(r)) return;
      expanded.add(k);
      if (!seen.has(k)) {
        seen.add(k);
        out.push(r);
      }
      for (const [, tr] of this.map.entries(r)) {
        const tk = bytesToHex(tr);
        if (!seen.has(tk)) {
          seen.add(tk);
          out.push(tr);
        }
      }
    };
    const starts = [...this.liveForestRoots(), ...this.durableBase];
    for (const e of this.pendingLog) starts.push(...e.roots);
    for (const r of starts) add(r);
    // and every version their keep-alive links name, transitively
    this.walkLinks(starts, (r) => {
      add(r);
      return true;
    });
    return out;
  }

  private shade(forestRoot: Uint8Array): void {
    if (!this.gc.running || isEmptyRoot(forestRoot)) return;
    const one = (v: Uint8Array) => {
      this.gc.shade(v);
      for (const [, tr] of this.map.entries(v)) this.gc.shade(tr);
    };
    one(forestRoot);
    this.walkLinks([forestRoot], (r) => {
      one(r);
      return true;
    });
  }

  /** Starts a GC cycle over the live set (no-op if one is running). */
  gcStart(): void {
    this.open_();
    if (!this.gc.running) this.gc.start(this.liveRoots());
  }

  /** Does up to `budget` units of GC work; true when no cycle is running. */
  gcStep(budget = 4096): boolean {
    this.open_();
    return this.gc.step(budget);
  }

  /** Runs the current GC cycle (if any) to its end, yielding to the event loop between steps. */
  async gcFinish(budget = 8192, onProgress?: (p: GcProgress) => void): Promise<GcProgress> {
    this.open_();
    for (;;) {
      const done = this.gc.step(budget);
      onProgress?.(this.gc.status());
      if (done) break;
      await new Promise<void>((r) => setImmediate(r));
    }
    return this.gc.status();
  }

  gcStatus(): GcProgress {
    return this.gc.status();
  }

  /**
   * A whole GC cycle: checkpoint (so L0 garbage is on disk and collectable),
   * then mark and sweep in steps, yielding to the event loop between steps so
   * commits and reads go on.
   */
  async collect(opts: { budget?: number; onProgress?: (p: GcProgress) => void } = {}): Promise<GcProgress> {
    await this.checkpoint();
    this.gcStart();
    const status = await this.gcFinish(opts.budget ?? 8192, opts.onProgress);
    await this.checkpoint(); // persists the epoch with a fresh state record
    return status;
  }

  // ----------------------------------------------------------- checks

  /**
   * Checks every node of a version (default: the head) and of every tree in
   * it against its hash, reading L2 afresh (L1 is dropped first).
   */
  verify(
    version: Uint8Array = this.headRoot(),
    onProgress?: (r: VersionReport) => void,
  ): VersionReport & { trees: number } {
    this.open_();
    this.store.dropCache();
    const seen = new MemoryStore();
    const total = { nodes: 0, leaves: 0, bytes: 0, trees: 0 };
    const add = (r: VersionReport) => {
      total.nodes += r.nodes;
      total.leaves += r.leaves;
      total.bytes += r.bytes;
    };
    const base = { ...total };
    const progress =
      onProgress &&
      ((r: VersionReport) =>
        onProgress({ nodes: base.nodes + r.nodes, leaves: base.leaves + r.leaves, bytes: base.bytes + r.bytes }));
    add(checkVersion(this.store, version, { seen, ...(progress ? { onProgress: progress } : {}) }));
    for (const [, tr] of this.trees(version)) {
      Object.assign(base, total);
      add(checkVersion(this.store, tr, { seen, ...(progress ? { onProgress: progress } : {}) }));
      total.trees++;
    }
    return total;
  }

  stats(): StateStats {
    const hs = this.heights();
    return {
      height: this.state.head,
      root: bytesToHex(this.headRoot()),
      retain: this.state.retain,
      heights: hs.length,
      oldestHeight: hs[0] ?? this.state.head,
      refs: this.state.refs.size,
      pins: this.state.pins.size,
      store: this.store.stats(),
      gc: this.gc.status(),
      recovered: { ...this.recovered },
    };
  }

  private open_(): void {
    if (this.closed) throw new HeliosError("STORE_CLOSED");
  }

  /** Checkpoints (so the next open replays nothing), then closes and releases the lock. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.gc.abort();
    try {
      await this.checkpoint();
    } finally {
      this.closed = true;
      await this.store.close();
    }
  }
}

export function openState(dir: string, opts: StateOptions = {}): StateDB {
  return StateDB.open(dir, opts);
}
