/**
 * merkle/update — the batch write path: apply a set of puts and deletes to a
 * committed root and return the new root, touching each affected node once.
 *
 * This is the path for block commits and bulk loads, where the whole write
 * set is known up front (as in Jellyfish's `put_value_set`). The ops are
 * sorted by key once; the walk then descends from the root, and at every
 * stored branch splits its contiguous range of ops by child slot, so a node
 * shared by many ops is read and rebuilt once, not once per op. Subtrees no
 * op reaches are never read. The rebuilt nodes go to the same level-batched
 * commit as drafts (draft.ts `commitTree`): one kernel call per tree level.
 *
 *   ops (sorted)  a1 a7 a9 | c3 | f0 f2
 *   root branch   slot a ───┘    │   └── slot f: rebuilt with f0, f2
 *                 slot c ────────┘       (slots b, d, e: untouched, never read)
 *
 * Semantics: ops apply in order, so for a key that appears more than once
 * the last op wins. A delete of an absent key changes nothing. The result is
 * the root of the resulting key set, identical to any other write order or
 * batching (history independence), which the property tests check against
 * drafts and the spec implementation.
 *
 * Invariants: every op is validated before anything is read or written, so a
 * bad op applies nothing; stored nodes are never mutated; recursion depth is
 * bounded by the number of branches on one key's path (at most 2 ×
 * MAX_KEY_BYTES + 1, in practice about log16 n).
 * Costs: O(ops × log ops) to sort (a native float sort on 32-bit key
 * prefixes, then ties); O(touched nodes) store reads, allocations and writes.
 */
import { compareBytes, HeliosError } from "../core/index.js";
import {
  type CommitScratch,
  checkKey,
  checkValue,
  commitTree,
  emptyKids,
  type Kid,
  type Op,
  storedKids,
  WBranch,
  WLeaf,
} from "./draft.js";
import {
  BranchView,
  EMPTY_ROOT,
  isEmptyRoot,
  LeafView,
  nib,
  parseBranch,
  parseLeaf,
  SLOTS,
  skipNib,
  slotOf,
  TAG_LEAF,
} from "./node.js";
import { load } from "./read.js";
import type { NodeStore } from "./store.js";

/** One key to place: an op (value null = delete), or a stored leaf that stays (src = where its id lives). */
interface Entry {
  key: Uint8Array;
  value: Uint8Array | null;
  src: Uint8Array | null;
  srcOff: number;
}

/** The result meaning "the subtree passed in is unchanged". */
const SAME = 1;
type Res = WLeaf | WBranch | null | typeof SAME;

const NO_SKIP = new Uint8Array(0);
const PREFIX_SORT_MAX = 1 << 21;

/** Big-endian value of the first 4 bytes of key (missing bytes count as 0). */
function prefix32(k: Uint8Array): number {
  return (((k[0] ?? 0) << 24) | ((k[1] ?? 0) << 16) | ((k[2] ?? 0) << 8) | (k[3] ?? 0)) >>> 0;
}

/**
 * Validates ops, sorts them by key and keeps the last op of each key.
 * Returns entries in strictly increasing key order.
 */
export function sortOps(ops: readonly Op[]): Entry[] {
  if (!Array.isArray(ops)) throw new HeliosError("INVALID_ARGUMENT", {}, "ops must be an array");
  const n = ops.length;
  for (let i = 0; i < n; i++) {
    const op = ops[i];
    if (op === null || typeof op !== "object")
      throw new HeliosError("INVALID_ARGUMENT", { index: i }, "an op is an object");
    checkKey(op.key);
    if (op.value !== undefined && op.value !== null) checkValue(op.value);
  }
  const order = new Int32Array(n);
  if (n < PREFIX_SORT_MAX) {
    // Sort (prefix, index) pairs packed in one float64 with the native sort,
    // then order equal prefixes by whole key and original index.
    // Each key is read once here; the tie scan below reads the prefixes, not the keys.
    const prefixes = new Uint32Array(n);
    const packed = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      const p = prefix32((ops[i] as Op).key);
      prefixes[i] = p;
      packed[i] = p * PREFIX_SORT_MAX + i;
    }
    packed.sort();
    for (let i = 0; i < n; i++) order[i] = (packed[i] as number) % PREFIX_SORT_MAX;
    let a = 0;
    while (a < n) {
      const pa = prefixes[order[a] as number] as number;
      let b = a + 1;
      while (b < n && prefixes[order[b] as number] === pa) b++;
      if (b - a > 1) {
        const run = Array.from(order.subarray(a, b)).sort(
          (x, y) => compareBytes((ops[x] as Op).key, (ops[y] as Op).key) || x - y,
        );
        order.set(run, a);
      }
      a = b;
    }
  } else {
    const all = Array.from({ length: n }, (_, i) => i).sort(
      (x, y) => compareBytes((ops[x] as Op).key, (ops[y] as Op).key) || x - y,
    );
    order.set(all);
  }
  const out: Entry[] = [];
  for (let i = 0; i < n; i++) {
    const op = ops[order[i] as number] as Op;
    const e: Entry = { key: op.key, value: op.value ?? null, src: null, srcOff: 0 };
    const last = out[out.length - 1];
    // Equal keys are adjacent and in op order: the later one replaces the earlier.
    if (last !== undefined && compareBytes(last.key, op.key) === 0) out[out.length - 1] = e;
    else out.push(e);
  }
  return out;
}

class Updater {
  private readonly store: NodeStore;
  private readonly lv = new LeafView();
  /** One branch view for every walk step: a step reads what it needs from it before it recurses. */
  private readonly bv = new BranchView();

  constructor(store: NodeStore) {
    this.store = store;
  }

  /**
   * The new subtree for the stored node whose id is buf[off..] (or none, when
   * buf is null), seen at nibble depth `depth` with its first `cut` skip
   * nibbles already consumed, given the entries e[lo..hi) that fall in it.
   */
  build(buf: Uint8Array | null, off: number, cut: number, depth: number, e: Entry[], lo: number, hi: number): Res {
    if (buf === null) return this.fresh(e, lo, hi, depth);
    if (lo === hi) return cut === 0 ? SAME : this.reskip(buf, off, cut, NO_SKIP);
    const bytes = load(this.store, buf, off);
    if (bytes[0] === TAG_LEAF) return this.mergeLeaf(buf, off, bytes, depth, e, lo, hi);
    const bv = this.bv;
    parseBranch(bytes, 0, bytes.length, bv);
    const rem = bv.skipLen - cut;
    // How far the ops follow the remaining skip. Keys are sorted, so the
    // shortest agreement is at one of the two ends of the range.
    const first = (e[lo] as Entry).key;
    const last = (e[hi - 1] as Entry).key;
    let j = 0;
    while (j < rem && agrees(bytes, bv, cut + j, first, depth + j) && agrees(bytes, bv, cut + j, last, depth + j)) j++;
    if (j < rem) {
      // Some op leaves the skip at nibble j: a new branch there, with the
      // stored branch (its skip shortened) in the slot of its next nibble.
      const d2 = depth + j;
      const storedSlot = skipNib(bytes, bv, cut + j) + 1;
      const lead = skipNibbles(bytes, bv, cut, cut + j);
      const kids = emptyKids();
      // The stored branch stays in its slot unless ops in that slot rebuild it.
      kids[storedSlot] = this.reskip(buf, off, cut + j + 1, NO_SKIP);
      let a = lo;
      while (a < hi) {
        const s = slotOf((e[a] as Entry).key, d2);
        let b = a + 1;
        while (b < hi && slotOf((e[b] as Entry).key, d2) === s) b++;
        // With cut > 0, build never answers SAME (the skip changes), so every result is a node or null.
        kids[s] =
          s === storedSlot
            ? (this.build(buf, off, cut + j + 1, d2 + 1, e, a, b) as WLeaf | WBranch | null)
            : this.fresh(e, a, b, s === 0 ? d2 : d2 + 1);
        a = b;
      }
      return this.assemble(lead, kids as Kid[], null);
    }
    // Every op goes below this branch: split them by slot.
    const d2 = depth + rem;
    const kids = storedKids(bv);
    // Keep what the rest needs: the view is reused by the recursive calls.
    const skipLen = bv.skipLen;
    const skip = cut === skipLen ? NO_SKIP : skipNibbles(bytes, bv, cut, skipLen);
    let changed = false;
    let a = lo;
    while (a < hi) {
      const s = slotOf((e[a] as Entry).key, d2);
      let b = a + 1;
      while (b < hi && slotOf((e[b] as Entry).key, d2) === s) b++;
      // Each slot is visited once, so kids[s] is still the stored child (a number) or empty.
      const k = kids[s];
      const co = typeof k === "number" ? k : -1;
      const nd = s === 0 ? d2 : d2 + 1;
      const r = co >= 0 ? this.build(bytes, co, 0, nd, e, a, b) : this.fresh(e, a, b, nd);
      if (r === SAME) {
        // unchanged child: keep the numeric reference
      } else if (r === null && co < 0) {
        // deletes of absent keys: still empty
      } else {
        kids[s] = r;
        changed = true;
      }
      a = b;
    }
    if (!changed) return cut === 0 ? SAME : this.reskip(buf, off, cut, NO_SKIP);
    return this.assemble(skip, kids, bytes);
  }

  /** A stored leaf meets ops: place the leaf (unless an op replaces or deletes it) among them. */
  private mergeLeaf(
    buf: Uint8Array,
    off: number,
    bytes: Uint8Array,
    depth: number,
    e: Entry[],
    lo: number,
    hi: number,
  ): Res {
    const lv = this.lv;
    parseLeaf(bytes, 0, bytes.length, lv);
    const key = bytes.subarray(lv.keyOff, lv.keyOff + lv.keyLen);
    const stored: Entry = { key, value: bytes.subarray(lv.valueOff, lv.valueOff + lv.valueLen), src: buf, srcOff: off };
    const list: Entry[] = [];
    let placed = false;
    let puts = 0;
    for (let i = lo; i < hi; i++) {
      const x = e[i] as Entry;
      if (!placed) {
        const c = compareBytes(x.key, key);
        if (c > 0) {
          list.push(stored);
          placed = true;
        } else if (c === 0) placed = true; // the op replaces or deletes the stored leaf
      }
      if (x.value !== null) puts++;
      list.push(x);
    }
    if (!placed) list.push(stored);
    if (puts === 0 && list.includes(stored)) return SAME; // only deletes of other, absent keys
    return this.fresh(list, 0, list.length, depth);
  }

  /** A subtree built from entries alone (no stored node in this region). Deletes are dropped. */
  fresh(e: Entry[], lo: number, hi: number, depth: number): WLeaf | WBranch | null {
    let f = lo;
    while (f < hi && (e[f] as Entry).value === null) f++;
    if (f === hi) return null;
    let l = hi - 1;
    while ((e[l] as Entry).value === null) l--;
    if (f === l) {
      const x = e[f] as Entry;
      return new WLeaf(x.key, x.value as Uint8Array, x.src, x.srcOff);
    }
    const a = (e[f] as Entry).key;
    const b = (e[l] as Entry).key;
    let cp = depth;
    const na = a.length * 2;
    const nb = b.length * 2;
    while (cp < na && cp < nb && nib(a, cp) === nib(b, cp)) cp++;
    const kids = emptyKids();
    let count = 0;
    let i = f;
    while (i <= l) {
      const s = slotOf((e[i] as Entry).key, cp);
      let k = i + 1;
      while (k <= l && slotOf((e[k] as Entry).key, cp) === s) k++;
      const r = this.fresh(e, i, k, s === 0 ? cp : cp + 1);
      if (r !== null) {
        kids[s] = r;
        count++;
      }
      i = k;
    }
    const skip = new Uint8Array(cp - depth);
    for (let t = depth; t < cp; t++) skip[t - depth] = nib(a, t);
    return new WBranch(0, skip, kids, null, count);
  }

  /** A branch from its slots: nothing if none is left, the lone child lifted up if one is, else a new branch. */
  private assemble(skip: Uint8Array, kids: Kid[], base: Uint8Array | null): WLeaf | WBranch | null {
    let count = 0;
    let only = -1;
    for (let s = 0; s < SLOTS; s++) {
      if (kids[s] !== null) {
        count++;
        only = s;
      }
    }
    if (count === 0) return null;
    if (count > 1) return new WBranch(0, skip, kids, base, count);
    // One child left: it replaces the branch; a branch child takes over the
    // branch's skip and its own slot nibble in front of its skip.
    const kid = kids[only] as WLeaf | WBranch | number;
    const lead = new Uint8Array(skip.length + (only === 0 ? 0 : 1));
    lead.set(skip, 0);
    if (only !== 0) lead[skip.length] = only - 1;
    if (typeof kid === "number") {
      const b = base as Uint8Array;
      const bytes = load(this.store, b, kid);
      if (bytes[0] === TAG_LEAF) {
        parseLeaf(bytes, 0, bytes.length, this.lv);
        const lv = this.lv;
        return new WLeaf(
          bytes.subarray(lv.keyOff, lv.keyOff + lv.keyLen),
          bytes.subarray(lv.valueOff, lv.valueOff + lv.valueLen),
          b,
          kid,
        );
      }
      return this.reskip(b, kid, 0, lead);
    }
    if (kid instanceof WBranch) {
      const merged = new Uint8Array(lead.length + kid.skip.length);
      merged.set(lead, 0);
      merged.set(kid.skip, lead.length);
      kid.skip = merged;
    }
    return kid;
  }

  /** The stored branch at buf[off..] re-encoded with skip = lead ‖ its skip from nibble `cut` on. */
  private reskip(buf: Uint8Array, off: number, cut: number, lead: Uint8Array): WBranch {
    const bytes = load(this.store, buf, off);
    const bv = new BranchView();
    parseBranch(bytes, 0, bytes.length, bv);
    const tail = skipNibbles(bytes, bv, cut, bv.skipLen);
    let skip = tail;
    if (lead.length > 0) {
      skip = new Uint8Array(lead.length + tail.length);
      skip.set(lead, 0);
      skip.set(tail, lead.length);
    }
    return new WBranch(0, skip, storedKids(bv), bytes, bv.count);
  }
}

/** Does skip nibble `i` of the branch equal nibble `pos` of key (which must have one there)? */
function agrees(bytes: Uint8Array, bv: BranchView, i: number, key: Uint8Array, pos: number): boolean {
  return pos < key.length * 2 && skipNib(bytes, bv, i) === nib(key, pos);
}

function skipNibbles(bytes: Uint8Array, bv: BranchView, from: number, to: number): Uint8Array {
  if (to <= from) return NO_SKIP;
  const out = new Uint8Array(to - from);
  for (let i = from; i < to; i++) out[i - from] = skipNib(bytes, bv, i);
  return out;
}

/**
 * Applies ops to the version `root` and returns the new root (a new array).
 * The new nodes are written to `store`; `root` and every other version stay
 * readable.
 */
export function updateRoot(store: NodeStore, scratch: CommitScratch, root: Uint8Array, ops: readonly Op[]): Uint8Array {
  const entries = sortOps(ops);
  const u = new Updater(store);
  const r = u.build(isEmptyRoot(root) ? null : root, 0, 0, 0, entries, 0, entries.length);
  if (r === SAME) return root.slice();
  if (r === null) return EMPTY_ROOT.slice();
  return commitTree(store, scratch, r);
}
