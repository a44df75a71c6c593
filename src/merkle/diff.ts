/**
 * merkle/diff — the changes between two versions, visiting only subtrees
 * whose ids differ.
 *
 * Two branches at the same position with the same skip are compared slot by
 * slot; equal child ids are skipped without being read. Where the shapes
 * differ (a leaf against a branch, or different skips), both subtrees are
 * listed in key order and merge-joined; with random keys this happens only
 * near the leaves. Walks are iterative.
 * Costs: O(changed subtrees × depth) node reads, results in key order.
 */
import { equalBytes, equalRange } from "../core/index.js";
import { HASH_BYTES } from "../core/index.js";
import { BranchView, isEmptyRoot, LeafView, parseBranch, parseLeaf, SLOTS, TAG_LEAF } from "./node.js";
import { load } from "./read.js";
import type { NodeStore } from "./store.js";

export interface Change {
  key: Uint8Array;
  /** Value in the first version; undefined when the key was added. */
  before: Uint8Array | undefined;
  /** Value in the second version; undefined when the key was removed. */
  after: Uint8Array | undefined;
}

export interface DiffStats {
  /** Nodes read from the store. */
  nodesRead: number;
}

interface Ref {
  buf: Uint8Array;
  off: number;
}

/** Every [key, value] under a subtree, in key order (views into stored nodes). */
function leavesUnder(store: NodeStore, ref: Ref, stats: DiffStats): [Uint8Array, Uint8Array][] {
  const out: [Uint8Array, Uint8Array][] = [];
  const stack: Ref[] = [ref];
  const lv = new LeafView();
  const bv = new BranchView();
  while (stack.length > 0) {
    const r = stack.pop() as Ref;
    const node = load(store, r.buf, r.off);
    stats.nodesRead++;
    if (node[0] === TAG_LEAF) {
      parseLeaf(node, 0, node.length, lv);
      out.push([
        node.subarray(lv.keyOff, lv.keyOff + lv.keyLen),
        node.subarray(lv.valueOff, lv.valueOff + lv.valueLen),
      ]);
      continue;
    }
    parseBranch(node, 0, node.length, bv);
    for (let i = bv.count - 1; i >= 0; i--) stack.push({ buf: node, off: bv.childOff + i * HASH_BYTES });
  }
  return out;
}

function cmp(a: Uint8Array, b: Uint8Array): number {
  return Buffer.compare(a, b);
}

function mergeJoin(a: [Uint8Array, Uint8Array][], b: [Uint8Array, Uint8Array][], out: Change[]): void {
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    const x = a[i];
    const y = b[j];
    const c = x === undefined ? 1 : y === undefined ? -1 : cmp(x[0], y[0]);
    if (c < 0) {
      const e = x as [Uint8Array, Uint8Array];
      out.push({ key: e[0].slice(), before: e[1].slice(), after: undefined });
      i++;
    } else if (c > 0) {
      const e = y as [Uint8Array, Uint8Array];
      out.push({ key: e[0].slice(), before: undefined, after: e[1].slice() });
      j++;
    } else {
      const ex = x as [Uint8Array, Uint8Array];
      const ey = y as [Uint8Array, Uint8Array];
      if (!equalBytes(ex[1], ey[1])) out.push({ key: ex[0].slice(), before: ex[1].slice(), after: ey[1].slice() });
      i++;
      j++;
    }
  }
}

/** Changes from version a to version b, in key order. */
export function diffRoots(
  store: NodeStore,
  a: Uint8Array,
  b: Uint8Array,
  stats: DiffStats = { nodesRead: 0 },
): Change[] {
  const out: Change[] = [];
  const ea = isEmptyRoot(a);
  const eb = isEmptyRoot(b);
  if (equalBytes(a, b)) return out;
  if (ea || eb) {
    mergeJoin(
      ea ? [] : leavesUnder(store, { buf: a, off: 0 }, stats),
      eb ? [] : leavesUnder(store, { buf: b, off: 0 }, stats),
      out,
    );
    return out;
  }
  // Tasks in a stack; children are pushed in reverse so results come out in key order.
  const stack: [Ref | null, Ref | null][] = [
    [
      { buf: a, off: 0 },
      { buf: b, off: 0 },
    ],
  ];
  const ba = new BranchView();
  const bb = new BranchView();
  while (stack.length > 0) {
    const [ra, rb] = stack.pop() as [Ref | null, Ref | null];
    if (ra === null || rb === null) {
      mergeJoin(ra ? leavesUnder(store, ra, stats) : [], rb ? leavesUnder(store, rb, stats) : [], out);
      continue;
    }
    const na = load(store, ra.buf, ra.off);
    const nb = load(store, rb.buf, rb.off);
    stats.nodesRead += 2;
    let same = na[0] !== TAG_LEAF && nb[0] !== TAG_LEAF;
    if (same) {
      parseBranch(na, 0, na.length, ba);
      parseBranch(nb, 0, nb.length, bb);
      same = ba.skipLen === bb.skipLen && equalRange(na, ba.skipOff, nb, bb.skipOff, (ba.skipLen + 1) >> 1);
    }
    if (!same) {
      // Shapes differ: list both subtrees (their roots are already loaded once more; cheap) and merge.
      stats.nodesRead -= 2;
      mergeJoin(leavesUnder(store, ra, stats), leavesUnder(store, rb, stats), out);
      continue;
    }
    const kids: [Ref | null, Ref | null][] = [];
    let ia = 0;
    let ib = 0;
    for (let s = 0; s < SLOTS; s++) {
      const ha = (ba.bitmap >> s) & 1;
      const hb = (bb.bitmap >> s) & 1;
      const ca = ha ? { buf: na, off: ba.childOff + ia++ * HASH_BYTES } : null;
      const cb = hb ? { buf: nb, off: bb.childOff + ib++ * HASH_BYTES } : null;
      if (ca === null && cb === null) continue;
      if (ca !== null && cb !== null && equalRange(ca.buf, ca.off, cb.buf, cb.off, HASH_BYTES)) continue;
      kids.push([ca, cb]);
    }
    for (let i = kids.length - 1; i >= 0; i--) stack.push(kids[i] as [Ref | null, Ref | null]);
  }
  return out;
}
