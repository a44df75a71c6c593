/**
 * merkle/reachable — the nodes reachable from a set of roots: walk them, or
 * copy them into another store.
 *
 * This is the mark phase every collector needs, and the simplest one: a
 * memory store that has accumulated the nodes of many committed versions is
 * compacted by copying the live versions into a fresh store and dropping the
 * old one (`copyReachable`). The durable store (store/ layer) does its own
 * incremental, refcounted collection; this walk is for in-memory stores,
 * exports and checks.
 *
 * Invariants: every node reachable from a root is visited exactly once (ids
 * are content addresses, so a node shared by two versions or two subtrees is
 * recognised by its id); a node missing from the source throws
 * MERKLE_NODE_MISSING and nothing is reported complete.
 * Costs: O(reachable nodes) store reads, iterative (no recursion); memory for
 * the visited set is the destination store itself when copying, or a
 * MemoryStore of ids when only walking.
 */
import { HASH_BYTES } from "../core/index.js";
import { BranchView, isEmptyRoot, parseBranch, TAG_LEAF } from "./node.js";
import { load } from "./read.js";
import { MemoryStore, type NodeStore } from "./store.js";

const NO_BYTES = new Uint8Array(0);

/**
 * Calls visit(id, idOff, bytes) once for every node reachable from `roots`,
 * parents before children. Subtrees already in `seen` (by id) are skipped.
 */
function walk(
  from: NodeStore,
  roots: readonly Uint8Array[],
  seen: NodeStore,
  visit: (id: Uint8Array, idOff: number, bytes: Uint8Array) => void,
): void {
  const bv = new BranchView();
  const bufs: Uint8Array[] = [];
  const offs: number[] = [];
  for (const r of roots) {
    if (!isEmptyRoot(r)) {
      bufs.push(r);
      offs.push(0);
    }
  }
  while (bufs.length > 0) {
    const buf = bufs.pop() as Uint8Array;
    const off = offs.pop() as number;
    if (seen.has(buf, off)) continue;
    const bytes = load(from, buf, off);
    visit(buf, off, bytes);
    if (bytes[0] === TAG_LEAF) continue;
    parseBranch(bytes, 0, bytes.length, bv);
    for (let i = 0; i < bv.count; i++) {
      bufs.push(bytes);
      offs.push(bv.childOff + i * HASH_BYTES);
    }
  }
}

/**
 * Copies every node reachable from `roots` out of `from` into `to` (a fresh
 * MemoryStore by default) and returns `to`. Afterwards every root reads back
 * completely from `to`; nodes of versions not listed are not copied.
 */
export function copyReachable(
  from: NodeStore,
  roots: readonly Uint8Array[],
  to: NodeStore = new MemoryStore(),
): NodeStore {
  walk(from, roots, to, (id, idOff, bytes) => to.put(id, idOff, bytes, 0, bytes.length));
  return to;
}

/** The number of distinct nodes reachable from `roots`. */
export function countReachable(from: NodeStore, roots: readonly Uint8Array[]): number {
  const seen = new MemoryStore();
  walk(from, roots, seen, (id, idOff) => seen.put(id, idOff, NO_BYTES, 0, 0));
  return seen.size;
}

const childView = new BranchView();

/**
 * Calls fn(bytes, off) for each child id of an encoded node (none for a
 * leaf); the id is bytes[off..off+32). For collectors that walk the DAG a
 * step at a time (store/ gc). Throws MERKLE_NODE_MALFORMED on a bad branch.
 */
export function forEachChild(bytes: Uint8Array, fn: (buf: Uint8Array, off: number) => void): void {
  if (bytes[0] === TAG_LEAF) return;
  parseBranch(bytes, 0, bytes.length, childView);
  const base = childView.childOff;
  const n = childView.count;
  for (let i = 0; i < n; i++) fn(bytes, base + i * HASH_BYTES);
}
