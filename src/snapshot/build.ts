/**
 * snapshot/build — cuts a version (full) or the diff of two versions
 * (incremental) into deterministic chunks, each with its proof.
 *
 * The cut depends only on the state: entries are taken in (tree, key) order
 * and a chunk is closed when the next entry would push its estimated body
 * past the budget; a body that still comes out over `chunkBytes` is split at
 * its middle entry (again a function of the contents alone). So two stores
 * holding the same root produce byte-identical chunks and manifests,
 * whatever writes and batchings led there. A chunk always holds at least
 * one entry (a single entry larger than the budget makes a larger chunk).
 *
 * Full chunk: a range proof of the forest over the tree names it touches
 * (revealing their roots) and, per tree, the range proof of its key range
 * with every in-range leaf replaced by a P_SLOT whose key and value sit in
 * the payload (format.ts). Incremental chunk: the same forest range proof
 * and, for every tree the range meets in the target or the base, the changes
 * in its key range plus a *boundary witness* of the target tree over that
 * range (merkle proveBoundary): the two boundary paths revealed, every other
 * child pruned to its id. The receiver applies the changes to its own
 * version and compares the result with the witness region by region
 * (verify.ts), so a change left out is caught at its chunk.
 *
 * Costs: one ordered scan of the version plus one proof walk per chunk
 * (each node read twice, from the tiers), one encode and one compression
 * per chunk; memory is one chunk at a time. Incremental: one diff per
 * changed tree (reading only subtrees that differ).
 */
import { bytesToHex, compareBytes, copyBytes, HeliosError, utf8, varintSize } from "../core/index.js";
import type { StateDB } from "../history/index.js";
import { EMPTY_ROOT, forEachChild, isEmptyRoot, proveBoundary, proveRange } from "../merkle/index.js";
import {
  BEGIN,
  type ChunkBody,
  type Codec,
  encodeChunk,
  encodeFile,
  setChunkIndex,
  MAX_CHUNK_BODY,
  type Position,
  type Segment,
  type SnapshotKind,
  toSkeleton,
} from "./format.js";

export const DEFAULT_CHUNK_BYTES = 4 * 1024 * 1024;
/** Budget kept free for the header, the forest proof and the boundary paths of the range proofs. */
const RESERVE = 16 * 1024;

export interface BuildOptions {
  /** Bound on a chunk body before compression (default 4 MiB, from 64 KiB to 64 MiB). */
  chunkBytes?: number;
  codec?: Codec;
  zstdLevel?: number;
}

export interface BuiltChunk {
  index: number;
  start: Position;
  body: Uint8Array;
  file: Uint8Array;
  entries: number;
  /** Approximate share of the state covered so far, 0..1 (for progress bars: keys are spread by hash). */
  progress: number;
}

export function checkBuildOptions(opts: BuildOptions): Required<BuildOptions> {
  const chunkBytes = opts.chunkBytes ?? DEFAULT_CHUNK_BYTES;
  if (!Number.isInteger(chunkBytes) || chunkBytes < 64 * 1024 || chunkBytes > MAX_CHUNK_BODY) {
    throw new HeliosError("INVALID_ARGUMENT", { chunkBytes }, "chunkBytes must be an integer from 64 KiB to 64 MiB");
  }
  const codec = opts.codec ?? "zstd";
  if (codec !== "zstd" && codec !== "lz4" && codec !== "none") {
    throw new HeliosError("INVALID_ARGUMENT", { codec }, "codec must be zstd, lz4 or none");
  }
  const zstdLevel = opts.zstdLevel ?? 3;
  if (!Number.isInteger(zstdLevel) || zstdLevel < 1 || zstdLevel > 19) {
    throw new HeliosError("INVALID_ARGUMENT", { zstdLevel }, "zstdLevel must be an integer from 1 to 19");
  }
  return { chunkBytes, codec, zstdLevel };
}

function entryCost(key: Uint8Array, valueLen: number): number {
  // payload (key, flag, value) + the skeleton's share: a slot byte and, at worst, a branch per entry
  return varintSize(key.length) + key.length + 1 + varintSize(valueLen) + valueLen + 9 + (key.length >> 1);
}

/**
 * A rough leaf count of a tree, for progress only: the product of the
 * fan-outs down one middle path (O(depth) node reads). Good to a small
 * factor for hashed keys, which is what weighting trees needs.
 */
function estimateLeaves(db: StateDB, root: Uint8Array): number {
  let id = root;
  let est = 1;
  for (let depth = 0; depth < 64 && !isEmptyRoot(id); depth++) {
    const bytes = db.store.get(id, 0);
    if (bytes === undefined) break;
    const kids: Uint8Array[] = [];
    forEachChild(bytes, (buf, off) => kids.push(buf.subarray(off, off + 32)));
    if (kids.length === 0) break;
    est *= kids.length;
    id = kids[kids.length >> 1] as Uint8Array;
  }
  return est;
}

/** Where a key sits in [0, 1) of the key space, from its first two bytes (keys are mostly hashes). */
function keyFraction(key: Uint8Array): number {
  return (((key[0] ?? 0) << 8) | (key[1] ?? 0)) / 65536;
}

interface Plan {
  start: Position;
  end: Position | undefined;
}

/** Shared by both kinds: turns a stream of positions (with costs) into chunk ranges. */
class Cutter {
  private start: Position = BEGIN;
  private est = 0;
  private n = 0;
  constructor(private readonly budget: number) {}
  /** Returns a finished range when `pos` must open a new chunk. */
  add(pos: Position, cost: number): Plan | undefined {
    let out: Plan | undefined;
    if (this.n > 0 && this.est + cost > this.budget) {
      const start = { tree: pos.tree, key: copyBytes(pos.key) };
      out = { start: this.start, end: start };
      this.start = start;
      this.est = 0;
      this.n = 0;
    }
    this.est += cost;
    this.n++;
    return out;
  }
  last(): Plan {
    return { start: this.start, end: undefined };
  }
}

function treeName(b: Uint8Array): string {
  return new TextDecoder().decode(b);
}

/**
 * Chunks of a full snapshot of `root`, in order. Each is built, size-checked
 * (split at its middle entry if over the bound) and compressed before it is
 * yielded.
 */
export function* fullChunks(db: StateDB, root: Uint8Array, opts: BuildOptions = {}): Generator<BuiltChunk> {
  const o = checkBuildOptions(opts);
  const trees = db.trees(root).map(([n, r]) => ({ name: utf8(n), root: r }));
  // progress: each tree weighs its estimated size, and within a tree the key's place in key space
  const weights = trees.map((t) => estimateLeaves(db, t.root));
  const total = weights.reduce((a, b) => a + b, 0) || 1;
  let before = 0;
  const cutter = new Cutter(o.chunkBytes - RESERVE);
  let index = 0;
  const emit = function* (plan: Plan, progress: number): Generator<BuiltChunk> {
    for (const c of buildFull(db, root, trees, plan, o.chunkBytes)) {
      const body = setChunkIndex(c.body, index);
      yield { ...c, body, index, file: encodeFile(body, o.codec, o.zstdLevel), progress };
      index++;
    }
  };
  for (let t = 0; t < trees.length; t++) {
    const tree = trees[t] as { name: Uint8Array; root: Uint8Array };
    const w = weights[t] as number;
    for (const [k, v] of db.map.entries(tree.root)) {
      const plan = cutter.add({ tree: tree.name, key: k }, entryCost(k, v.length));
      if (plan !== undefined) yield* emit(plan, Math.min(1, (before + w * keyFraction(k)) / total));
    }
    before += w;
  }
  yield* emit(cutter.last(), 1);
}

function inPlan(tree: Uint8Array, plan: Plan): boolean {
  if (compareBytes(tree, plan.start.tree) < 0) return false;
  return plan.end === undefined || compareBytes(tree, plan.end.tree) <= 0;
}

/** The tree's key range [lo, hi) inside a chunk's range. */
export function treeRange(
  tree: Uint8Array,
  start: Position,
  end: Position | undefined,
): [Uint8Array, Uint8Array | undefined] {
  const lo = compareBytes(tree, start.tree) === 0 ? start.key : new Uint8Array(0);
  const hi = end !== undefined && compareBytes(tree, end.tree) === 0 ? end.key : undefined;
  return [lo, hi];
}

/** The forest's name range [start.tree, end.tree ‖ 0x00) of a chunk (end.tree included). */
export function forestRange(start: Position, end: Position | undefined): [Uint8Array, Uint8Array | undefined] {
  if (end === undefined) return [start.tree, undefined];
  const hi = new Uint8Array(end.tree.length + 1);
  hi.set(end.tree);
  return [start.tree, hi];
}

function buildFull(
  db: StateDB,
  root: Uint8Array,
  trees: { name: Uint8Array; root: Uint8Array }[],
  plan: Plan,
  bound: number,
): { start: Position; body: Uint8Array; entries: number }[] {
  const store = db.store;
  const [flo, fhi] = forestRange(plan.start, plan.end);
  const forestProof = isEmptyRoot(root) ? Uint8Array.of(0) : proveRange(store, root, flo, fhi);
  const segments: Segment[] = [];
  let n = 0;
  for (const t of trees) {
    if (!inPlan(t.name, plan)) continue;
    const [lo, hi] = treeRange(t.name, plan.start, plan.end);
    const { skeleton, entries } = toSkeleton(proveRange(store, t.root, lo, hi));
    segments.push({ tree: t.name, treeRoot: undefined, proof: skeleton, entries });
    n += entries.length;
  }
  const body = encodeChunk(
    { kind: "full", root, baseRoot: EMPTY_ROOT, index: 0, start: plan.start, end: plan.end, forestProof, segments },
    bound,
  );
  if (body.length <= bound || n <= 1) return [{ start: plan.start, body, entries: n }];
  // over the bound: split at the middle entry and build both halves (deterministic)
  const m = middle(segments, n);
  return [
    ...buildFull(db, root, trees, { start: plan.start, end: m }, bound),
    ...buildFull(db, root, trees, { start: m, end: plan.end }, bound),
  ];
}

/** The position of entry ⌊n/2⌋ of a chunk's segments: where an oversized chunk is split. */
function middle(segments: readonly Segment[], n: number): Position {
  let k = n >> 1;
  for (const s of segments) {
    if (k < s.entries.length) return { tree: s.tree, key: copyBytes((s.entries[k] as { key: Uint8Array }).key) };
    k -= s.entries.length;
  }
  throw new Error("middle: fewer entries than counted"); // unreachable: n counts the entries
}

interface TreeChange {
  tree: Uint8Array;
  changes: { key: Uint8Array; value: Uint8Array | null }[];
}

/** Chunks of the increment from `base` to `root`, in order. */
export function* incrementalChunks(
  db: StateDB,
  base: Uint8Array,
  root: Uint8Array,
  opts: BuildOptions = {},
): Generator<BuiltChunk> {
  const o = checkBuildOptions(opts);
  const before = new Map(db.trees(base).map(([n, r]) => [n, r]));
  const after = new Map(db.trees(root).map(([n, r]) => [n, r]));
  const names = [...new Set([...before.keys(), ...after.keys()])]
    .map((n) => utf8(n))
    .sort(compareBytes)
    .map((b) => treeName(b));
  const changed: TreeChange[] = [];
  for (const name of names) {
    const a = before.get(name) ?? EMPTY_ROOT;
    const b = after.get(name) ?? EMPTY_ROOT;
    if (compareBytes(a, b) === 0) continue;
    const changes = db.map
      .diff(a, b)
      .map((c) => ({ key: copyBytes(c.key), value: c.after === undefined ? null : copyBytes(c.after) }));
    changed.push({ tree: utf8(name), changes });
  }
  const cutter = new Cutter(o.chunkBytes - RESERVE);
  let index = 0;
  const emit = function* (plan: Plan, progress: number): Generator<BuiltChunk> {
    for (const c of buildIncremental(db, base, root, changed, plan, o.chunkBytes)) {
      const body = setChunkIndex(c.body, index);
      yield { ...c, body, index, file: encodeFile(body, o.codec, o.zstdLevel), progress };
      index++;
    }
  };
  for (let t = 0; t < changed.length; t++) {
    const tc = changed[t] as TreeChange;
    for (const c of tc.changes) {
      const plan = cutter.add({ tree: tc.tree, key: c.key }, entryCost(c.key, c.value?.length ?? 0) + 8);
      if (plan !== undefined) yield* emit(plan, (t + keyFraction(c.key)) / changed.length);
    }
  }
  yield* emit(cutter.last(), 1);
}

function posIn(tree: Uint8Array, key: Uint8Array, plan: Plan): boolean {
  const c = compareBytes(tree, plan.start.tree) || compareBytes(key, plan.start.key);
  if (c < 0) return false;
  if (plan.end === undefined) return true;
  return (compareBytes(tree, plan.end.tree) || compareBytes(key, plan.end.key)) < 0;
}

function buildIncremental(
  db: StateDB,
  base: Uint8Array,
  root: Uint8Array,
  changed: TreeChange[],
  plan: Plan,
  bound: number,
): { start: Position; body: Uint8Array; entries: number }[] {
  const store = db.store;
  // every tree the chunk's name range meets, in the target or the base: the receiver checks each
  // one's part of the range against its own version (a tree with no segment would go unchecked)
  const [flo, fhi] = forestRange(plan.start, plan.end);
  const target = new Map(db.trees(root).map(([n, r]) => [bytesToHex(utf8(n)), r]));
  const names = new Map<string, Uint8Array>();
  for (const v of [root, base]) {
    for (const [n] of db.trees(v)) {
      const b = utf8(n);
      if (compareBytes(b, flo) >= 0 && (fhi === undefined || compareBytes(b, fhi) < 0)) names.set(bytesToHex(b), b);
    }
  }
  const byTree = new Map(changed.map((tc) => [bytesToHex(tc.tree), tc]));
  const segments: Segment[] = [];
  let n = 0;
  for (const [hex, tree] of [...names].sort((a, b) => compareBytes(a[1], b[1]))) {
    const tr = target.get(hex) ?? EMPTY_ROOT;
    const tc = byTree.get(hex);
    const entries = tc === undefined ? [] : tc.changes.filter((c) => posIn(tree, c.key, plan));
    const [lo, hi] = treeRange(tree, plan.start, plan.end);
    const proof = isEmptyRoot(tr) ? Uint8Array.of(0) : proveBoundary(store, tr, lo, hi);
    segments.push({ tree, treeRoot: tr, proof, entries });
    n += entries.length;
  }
  const forestProof = isEmptyRoot(root) ? Uint8Array.of(0) : proveRange(store, root, flo, fhi);
  const body = encodeChunk(
    {
      kind: "incremental" as SnapshotKind,
      root,
      baseRoot: base,
      index: 0,
      start: plan.start,
      end: plan.end,
      forestProof,
      segments,
    } as ChunkBody,
    bound,
  );
  if (body.length <= bound || n <= 1) return [{ start: plan.start, body, entries: n }];
  const m = middle(segments, n);
  return [
    ...buildIncremental(db, base, root, changed, { start: plan.start, end: m }, bound),
    ...buildIncremental(db, base, root, changed, { start: m, end: plan.end }, bound),
  ];
}
