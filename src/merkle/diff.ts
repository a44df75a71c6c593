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
import { BranchView, isEmptyRoot, LeafView, parseBranch, parseLeaf, SLOTS, skipNib, TAG_LEAF } from "./node.js";
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

/**
 * A subtree seen from a position inside its root's skip: the node whose id is
 * at buf[off..], of which the first `cut` skip nibbles lie above the position
 * being compared. `cut` is 0 for a whole node.
 */
interface Pos extends Ref {
  cut: number;
}

/** Child refs of a parsed branch by slot (null for empty slots). */
function childRefs(node: Uint8Array, bv: BranchView): (Pos | null)[] {
  const out: (Pos | null)[] = [];
  let i = 0;
  for (let s = 0; s < SLOTS; s++) {
    out.push(((bv.bitmap >> s) & 1) === 1 ? { buf: node, off: bv.childOff + i++ * HASH_BYTES, cut: 0 } : null);
  }
  return out;
}

/**
 * Changes from version a to version b, in key order.
 *
 * Two subtrees are compared at the same nibble position. Equal ids end the
 * walk there (an id commits to every key and value below it). Two branches
 * with the same remaining skip are compared slot by slot. When one remaining
 * skip is a proper prefix of the other, the longer side's whole subtree
 * belongs in a single slot of the shorter side: that slot is compared with
 * the longer side (cut past the shared nibbles and the slot nibble) and every
 * other slot is reported removed or added. Only when the skips diverge, or a
 * leaf meets a branch, are both sides listed and merge-joined, and then every
 * listed key but at most one is a change, so the work stays proportional to
 * the output.
 */
export function diffRoots(
  store: NodeStore,
  a: Uint8Array,
  b: Uint8Array,
  stats: DiffStats = { nodesRead: 0 },
): Change[] {
  const out: Change[] = [];
  if (equalBytes(a, b)) return out;
  const stack: [Pos | null, Pos | null][] = [
    [isEmptyRoot(a) ? null : { buf: a, off: 0, cut: 0 }, isEmptyRoot(b) ? null : { buf: b, off: 0, cut: 0 }],
  ];
  const ba = new BranchView();
  const bb = new BranchView();
  while (stack.length > 0) {
    const [ra, rb] = stack.pop() as [Pos | null, Pos | null];
    if (ra === null || rb === null) {
      mergeJoin(ra ? leavesUnder(store, ra, stats) : [], rb ? leavesUnder(store, rb, stats) : [], out);
      continue;
    }
    if (equalRange(ra.buf, ra.off, rb.buf, rb.off, HASH_BYTES)) continue;
    const na = load(store, ra.buf, ra.off);
    const nb = load(store, rb.buf, rb.off);
    if (na[0] === TAG_LEAF || nb[0] === TAG_LEAF) {
      mergeJoin(leavesUnder(store, ra, stats), leavesUnder(store, rb, stats), out);
      continue;
    }
    stats.nodesRead += 2;
    parseBranch(na, 0, na.length, ba);
    parseBranch(nb, 0, nb.length, bb);
    const la = ba.skipLen - ra.cut;
    const lb = bb.skipLen - rb.cut;
    const n = la < lb ? la : lb;
    let j = 0;
    while (j < n && skipNib(na, ba, ra.cut + j) === skipNib(nb, bb, rb.cut + j)) j++;
    const kids: [Pos | null, Pos | null][] = [];
    if (j < n) {
      // The skips diverge: the two subtrees share no key.
      stats.nodesRead -= 2;
      mergeJoin(leavesUnder(store, ra, stats), leavesUnder(store, rb, stats), out);
      continue;
    }
    if (la === lb) {
      const ka = childRefs(na, ba);
      const kb = childRefs(nb, bb);
      for (let s = 0; s < SLOTS; s++) {
        const ca = ka[s] as Pos | null;
        const cb = kb[s] as Pos | null;
        if (ca !== null || cb !== null) kids.push([ca, cb]);
      }
    } else if (la < lb) {
      // b's subtree sits entirely in a's slot 1 + (b's next skip nibble).
      const into = skipNib(nb, bb, rb.cut + la) + 1;
      const ka = childRefs(na, ba);
      for (let s = 0; s < SLOTS; s++) {
        if (s === into) kids.push([ka[s] as Pos | null, { buf: rb.buf, off: rb.off, cut: rb.cut + la + 1 }]);
        else if (ka[s] !== null) kids.push([ka[s] as Pos, null]);
      }
    } else {
      const into = skipNib(na, ba, ra.cut + lb) + 1;
      const kb = childRefs(nb, bb);
      for (let s = 0; s < SLOTS; s++) {
        if (s === into) kids.push([{ buf: ra.buf, off: ra.off, cut: ra.cut + lb + 1 }, kb[s] as Pos | null]);
        else if (kb[s] !== null) kids.push([null, kb[s] as Pos]);
      }
    }
    for (let i = kids.length - 1; i >= 0; i--) stack.push(kids[i] as [Pos | null, Pos | null]);
  }
  return out;
}
