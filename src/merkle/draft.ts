/**
 * merkle/draft — the working set (L0): a mutable overlay of uncommitted
 * changes on top of an immutable committed root.
 *
 * A draft holds a small tree of mutable nodes (WLeaf, WBranch) only along the
 * paths it has written; every untouched subtree stays a reference to a stored
 * node (a number: the offset of the child's id inside the stored parent's
 * encoding, `WBranch.base`). Commit hashes the mutable nodes level by level,
 * deepest first, one batched kernel call per level and inner round, writes
 * the new nodes to the store and returns the new root.
 *
 * Forks are copy-on-write: `fork()` gives both drafts fresh owner tokens, so
 * neither mutates a node the other can see; a write clones the path it
 * touches. A fork is O(1) and never copies the state.
 *
 * Invariants:
 *  - the shape is canonical: a branch has ≥ 2 children and holds the longest
 *    common prefix of its keys as `skip`; so the root depends only on the key
 *    set, never on write order or batching (history independence);
 *  - a mutable node is mutated in place only by the draft whose owner token
 *    it carries;
 *  - stored nodes are never mutated (they are immutable and content-addressed).
 * Costs: put/delete O(depth) plus one node decode per stored node first
 * touched; get O(depth); fork O(1); commit O(dirty nodes) with
 * ≈ (levels × 6) native hashing calls.
 */
import { copyBytes, equalBytes } from "../core/index.js";
import { HeliosError } from "../core/index.js";
import { HASH_BYTES, hashMany, hashPairs } from "../core/index.js";
import {
  BranchView,
  branchHeaderSize,
  EMPTY_ROOT,
  K_INNER,
  K_LEAF,
  K_NODE,
  LeafView,
  leafEncodedSize,
  MAX_KEY_BYTES,
  MAX_VALUE_BYTES,
  nib,
  parseBranch,
  parseLeaf,
  SLOTS,
  slotOf,
  TAG_BRANCH,
  TAG_LEAF,
  writeBranchHeader,
  writeLeaf,
} from "./node.js";
import { getAt } from "./read.js";
import type { NodeStore } from "./store.js";

export class WLeaf {
  key: Uint8Array;
  value: Uint8Array;
  /** Where this leaf's stored id lives, when it was opened from the store and not changed. */
  src: Uint8Array | null;
  srcOff: number;
  h: number;
  slot: number;
  constructor(key: Uint8Array, value: Uint8Array, src: Uint8Array | null, srcOff: number) {
    this.key = key;
    this.value = value;
    this.src = src;
    this.srcOff = srcOff;
    this.h = 0;
    this.slot = 0;
  }
}

/** A child reference: empty, a stored child (offset of its id in the parent's `base`), or a mutable node. */
export type Kid = WLeaf | WBranch | number | null;

export class WBranch {
  owner: number;
  /** Skip nibbles, one per byte. Never mutated in place; replaced. */
  skip: Uint8Array;
  kids: Kid[];
  /** The stored encoding this branch was opened from; numeric kids index into it. */
  base: Uint8Array | null;
  count: number;
  h: number;
  slot: number;
  constructor(owner: number, skip: Uint8Array, kids: Kid[], base: Uint8Array | null, count: number) {
    this.owner = owner;
    this.skip = skip;
    this.kids = kids;
    this.base = base;
    this.count = count;
    this.h = 0;
    this.slot = 0;
  }
}

const NO_SKIP = new Uint8Array(0);
let nextOwner = 1;

export function emptyKids(): Kid[] {
  return [null, null, null, null, null, null, null, null, null, null, null, null, null, null, null, null, null];
}

/** The kids of a parsed stored branch: each present slot holds the offset of its child's id in the encoding. */
export function storedKids(v: BranchView): Kid[] {
  const kids = emptyKids();
  let c = v.childOff;
  for (let s = 0; s < SLOTS; s++) {
    if ((v.bitmap >> s) & 1) {
      kids[s] = c;
      c += HASH_BYTES;
    }
  }
  return kids;
}

/** Nibbles key[from..to) as a new one-nibble-per-byte array. */
function keyNibbles(key: Uint8Array, from: number, to: number): Uint8Array {
  if (to <= from) return NO_SKIP;
  const out = new Uint8Array(to - from);
  for (let i = from; i < to; i++) out[i - from] = nib(key, i);
  return out;
}

export function checkKey(key: unknown): asserts key is Uint8Array {
  if (!(key instanceof Uint8Array)) throw new HeliosError("INVALID_ARGUMENT", {}, "key must be a Uint8Array");
  if (key.length > MAX_KEY_BYTES) {
    throw new HeliosError("MERKLE_KEY_TOO_LONG", { keyLen: key.length, max: MAX_KEY_BYTES });
  }
}

export function checkValue(value: unknown): asserts value is Uint8Array {
  if (!(value instanceof Uint8Array)) throw new HeliosError("INVALID_ARGUMENT", {}, "value must be a Uint8Array");
  if (value.length > MAX_VALUE_BYTES) {
    throw new HeliosError("MERKLE_VALUE_TOO_LARGE", { valueLen: value.length, max: MAX_VALUE_BYTES });
  }
}

export function checkRoot(root: unknown): asserts root is Uint8Array {
  if (!(root instanceof Uint8Array) || root.length !== HASH_BYTES) {
    throw new HeliosError("INVALID_ARGUMENT", {}, "a root is a 32-byte Uint8Array");
  }
}

export interface Op {
  key: Uint8Array;
  /** The new value; missing or null deletes the key. */
  value?: Uint8Array | null | undefined;
}

/**
 * Scratch buffers reused by every commit of one map (commits are synchronous,
 * so they never interleave).
 */
export class CommitScratch {
  slab: Uint8Array = new Uint8Array(HASH_BYTES * 4096);
  ints: Int32Array = new Int32Array(4096);
  ints2: Int32Array = new Int32Array(4096);
  triples: Int32Array = new Int32Array(3 * 2048);
  msg: Uint8Array = new Uint8Array(1 << 16);
  offsets: Uint32Array = new Uint32Array(4097);
  slots: Int32Array = new Int32Array(4096);
  enc: Uint8Array = new Uint8Array(1 << 12);
}

function grownU8(a: Uint8Array, need: number): Uint8Array {
  if (a.length >= need) return a;
  let n = a.length * 2;
  while (n < need) n *= 2;
  return new Uint8Array(n);
}
function grownI32(a: Int32Array, need: number): Int32Array {
  if (a.length >= need) return a;
  let n = a.length * 2;
  while (n < need) n *= 2;
  return new Int32Array(n);
}
function grownU32(a: Uint32Array, need: number): Uint32Array {
  if (a.length >= need) return a;
  let n = a.length * 2;
  while (n < need) n *= 2;
  return new Uint32Array(n);
}

const leafView = new LeafView();
const branchView = new BranchView();

export class Draft {
  private readonly store: NodeStore;
  private readonly scratch: CommitScratch;
  private owner: number;
  /** Root holder: a pseudo-branch whose kids[0] is the root; base holds the committed root id. */
  private holder: WBranch;

  constructor(store: NodeStore, scratch: CommitScratch, root: Uint8Array) {
    this.store = store;
    this.scratch = scratch;
    this.owner = nextOwner++;
    const base = root.slice();
    this.holder = new WBranch(0, NO_SKIP, [isEmpty(base) ? null : 0], base, 1);
  }

  /** The committed root this draft started from (or last committed). */
  get baseRoot(): Uint8Array {
    return (this.holder.base as Uint8Array).slice();
  }

  /** True when the draft has writes not yet committed. */
  get dirty(): boolean {
    const top = this.holder.kids[0];
    if (top === null) return !isEmpty(this.holder.base as Uint8Array);
    return typeof top !== "number";
  }

  /** O(1) copy-on-write fork: the two drafts share everything and diverge on write. */
  fork(): Draft {
    const f = new Draft(this.store, this.scratch, EMPTY_ROOT);
    f.holder = new WBranch(0, NO_SKIP, [this.holder.kids[0] ?? null], this.holder.base, 1);
    this.owner = nextOwner++;
    return f;
  }

  get(key: Uint8Array): Uint8Array | undefined {
    checkKey(key);
    let node: Kid = this.holder.kids[0] ?? null;
    let base = this.holder.base as Uint8Array;
    let depth = 0;
    const nk = key.length * 2;
    for (;;) {
      if (node === null) return undefined;
      if (typeof node === "number") return getAt(this.store, base, node, key, depth);
      if (node instanceof WLeaf) return equalBytes(node.key, key) ? copyBytes(node.value) : undefined;
      const s = node.skip;
      for (let j = 0; j < s.length; j++) {
        if (depth + j >= nk || s[j] !== nib(key, depth + j)) return undefined;
      }
      depth += s.length;
      const slot = depth === nk ? 0 : nib(key, depth) + 1;
      if (slot !== 0) depth++;
      const next: Kid = node.kids[slot] ?? null;
      if (typeof next === "number") base = node.base as Uint8Array;
      node = next;
    }
  }

  put(key: Uint8Array, value: Uint8Array): void {
    checkKey(key);
    checkValue(value);
    this.putUnchecked(copyBytes(key), copyBytes(value));
  }

  delete(key: Uint8Array): boolean {
    checkKey(key);
    return this.deleteUnchecked(key);
  }

  /** Applies puts and deletes in order. Validates every op first, so a bad op applies nothing. */
  apply(ops: readonly Op[]): void {
    for (const op of ops) {
      if (op === null || typeof op !== "object") throw new HeliosError("INVALID_ARGUMENT", {}, "an op is an object");
      checkKey(op.key);
      if (op.value !== undefined && op.value !== null) checkValue(op.value);
    }
    for (const op of ops) {
      if (op.value === undefined || op.value === null) this.deleteUnchecked(op.key);
      else this.putUnchecked(copyBytes(op.key), copyBytes(op.value));
    }
  }

  /** Resolves a numeric kid of `parent` into a mutable node owned by this draft. */
  private open(parent: WBranch, off: number): WLeaf | WBranch {
    const base = parent.base as Uint8Array;
    const bytes = this.store.get(base, off);
    if (bytes === undefined) {
      throw new HeliosError("MERKLE_NODE_MISSING", { id: Buffer.from(base.subarray(off, off + 32)).toString("hex") });
    }
    if (bytes[0] === TAG_LEAF) {
      parseLeaf(bytes, 0, bytes.length, leafView);
      return new WLeaf(
        bytes.subarray(leafView.keyOff, leafView.keyOff + leafView.keyLen),
        bytes.subarray(leafView.valueOff, leafView.valueOff + leafView.valueLen),
        base,
        off,
      );
    }
    parseBranch(bytes, 0, bytes.length, branchView);
    const v = branchView;
    let skip = NO_SKIP;
    if (v.skipLen > 0) {
      skip = new Uint8Array(v.skipLen);
      for (let i = 0; i < v.skipLen; i++) {
        const b = bytes[v.skipOff + (i >> 1)] as number;
        skip[i] = (i & 1) === 0 ? b >> 4 : b & 15;
      }
    }
    return new WBranch(this.owner, skip, storedKids(v), bytes, v.count);
  }

  /** Returns parent.kids[slot] as a node this draft may mutate (opening or cloning it). */
  private own(parent: WBranch, slot: number): WLeaf | WBranch | null {
    const kid = parent.kids[slot] ?? null;
    if (kid === null) return null;
    if (typeof kid === "number") {
      const n = this.open(parent, kid);
      parent.kids[slot] = n;
      return n;
    }
    if (kid instanceof WBranch && kid.owner !== this.owner) {
      const c = new WBranch(this.owner, kid.skip, kid.kids.slice(), kid.base, kid.count);
      parent.kids[slot] = c;
      return c;
    }
    return kid;
  }

  private ownHolder(): WBranch {
    // The holder is private to this draft; only its kid may be shared.
    return this.holder;
  }

  private putUnchecked(key: Uint8Array, value: Uint8Array): void {
    const nk = key.length * 2;
    let parent = this.ownHolder();
    let pslot = 0;
    let depth = 0;
    for (;;) {
      const node = this.own(parent, pslot);
      if (node === null) {
        parent.kids[pslot] = new WLeaf(key, value, null, 0);
        parent.count++;
        return;
      }
      if (node instanceof WLeaf) {
        if (equalBytes(node.key, key)) {
          parent.kids[pslot] = new WLeaf(key, value, null, 0);
          return;
        }
        const other = node.key;
        const no = other.length * 2;
        let cp = depth;
        while (cp < nk && cp < no && nib(key, cp) === nib(other, cp)) cp++;
        const b = new WBranch(this.owner, keyNibbles(key, depth, cp), emptyKids(), null, 2);
        b.kids[slotOf(other, cp)] = node;
        b.kids[slotOf(key, cp)] = new WLeaf(key, value, null, 0);
        parent.kids[pslot] = b;
        return;
      }
      const s = node.skip;
      let j = 0;
      while (j < s.length && depth + j < nk && s[j] === nib(key, depth + j)) j++;
      if (j < s.length) {
        // The key leaves the shared prefix inside this branch's skip: split it.
        const b = new WBranch(this.owner, j === 0 ? NO_SKIP : s.subarray(0, j), emptyKids(), null, 2);
        node.skip = j + 1 === s.length ? NO_SKIP : s.subarray(j + 1);
        b.kids[(s[j] as number) + 1] = node;
        b.kids[slotOf(key, depth + j)] = new WLeaf(key, value, null, 0);
        parent.kids[pslot] = b;
        return;
      }
      depth += s.length;
      const slot = depth === nk ? 0 : nib(key, depth) + 1;
      if (slot !== 0) depth++;
      parent = node;
      pslot = slot;
    }
  }

  private deleteUnchecked(key: Uint8Array): boolean {
    if (this.get(key) === undefined) return false; // absent: touch (and dirty) nothing
    const nk = key.length * 2;
    const parents: WBranch[] = [];
    const pslots: number[] = [];
    let parent = this.ownHolder();
    let pslot = 0;
    let depth = 0;
    for (;;) {
      const node = this.own(parent, pslot);
      if (node === null) return false;
      if (node instanceof WLeaf) {
        parent.kids[pslot] = null;
        parent.count--;
        break;
      }
      depth += node.skip.length;
      const slot = depth === nk ? 0 : nib(key, depth) + 1;
      if (slot !== 0) depth++;
      parents.push(parent);
      pslots.push(pslot);
      parent = node;
      pslot = slot;
    }
    if (parent === this.holder) return true;
    if (parent.count >= 2) return true;
    // The branch has one child left: replace the branch by that child, folding
    // the branch's skip and the child's slot nibble into the child's skip.
    let only = -1;
    for (let s = 0; s < SLOTS; s++) {
      if (parent.kids[s] !== null) {
        only = s;
        break;
      }
    }
    const child = this.own(parent, only) as WLeaf | WBranch;
    if (child instanceof WBranch) {
      const ps = parent.skip;
      const cs = child.skip;
      const merged = new Uint8Array(ps.length + 1 + cs.length);
      merged.set(ps, 0);
      merged[ps.length] = only - 1;
      merged.set(cs, ps.length + 1);
      child.skip = merged;
    }
    const gp = parents[parents.length - 1] as WBranch;
    gp.kids[pslots[pslots.length - 1] as number] = child;
    return true;
  }

  /**
   * Hashes every mutable node (deepest level first, batched), writes the new
   * nodes to the store and returns the new root. The draft then continues
   * from that root with an empty working set.
   */
  commit(): Uint8Array {
    const top = this.holder.kids[0] ?? null;
    if (typeof top === "number") return this.baseRoot;
    if (top === null) {
      this.holder = new WBranch(0, NO_SKIP, [null], EMPTY_ROOT.slice(), 1);
      return EMPTY_ROOT.slice();
    }
    const root = commitTree(this.store, this.scratch, top);
    this.holder = new WBranch(0, NO_SKIP, [0], root, 1);
    return root.slice();
  }
}

function isEmpty(id: Uint8Array): boolean {
  for (let i = 0; i < HASH_BYTES; i++) if (id[i] !== 0) return false;
  return true;
}

/** Hashes and stores the mutable tree under `top`; returns its id (a new array). */
export function commitTree(store: NodeStore, sc: CommitScratch, top: WLeaf | WBranch): Uint8Array {
  // Pre-order collection; reversed, every child precedes its parent.
  const order: (WLeaf | WBranch)[] = [];
  const stack: (WLeaf | WBranch)[] = [top];
  let branches = 0;
  while (stack.length > 0) {
    const n = stack.pop() as WLeaf | WBranch;
    order.push(n);
    if (n instanceof WBranch) {
      branches++;
      for (let s = 0; s < SLOTS; s++) {
        const k = n.kids[s];
        if (k !== null && typeof k === "object") stack.push(k);
      }
    }
  }
  let maxH = 0;
  for (let i = order.length - 1; i >= 0; i--) {
    const n = order[i] as WLeaf | WBranch;
    if (n instanceof WLeaf) {
      n.h = 0;
      continue;
    }
    let h = 1;
    for (let s = 0; s < SLOTS; s++) {
      const k = n.kids[s];
      if (k !== null && typeof k === "object" && k.h + 1 > h) h = k.h + 1;
    }
    n.h = h;
    if (h > maxH) maxH = h;
  }
  const leaves = order.length - branches;
  // Slots: one per node, one per value hash, ≤ 17 stored-kid copies and ≤ 16 inner results per branch.
  const slotCap = order.length + leaves + branches * 34 + 1;
  sc.slab = grownU8(sc.slab, slotCap * HASH_BYTES);
  let nextSlot = 0;
  const levels: WBranch[][] = [];
  for (let h = 0; h <= maxH; h++) levels.push([]);
  const dirtyLeaves: WLeaf[] = [];
  for (const n of order) {
    n.slot = nextSlot++;
    if (n instanceof WBranch) (levels[n.h] as WBranch[]).push(n);
    else if (n.src !== null) {
      // Unchanged stored leaf that only moved: its id is known, and it is already stored.
      const slab = sc.slab;
      const o = n.slot * HASH_BYTES;
      for (let i = 0; i < HASH_BYTES; i++) slab[o + i] = n.src[n.srcOff + i] as number;
    } else dirtyLeaves.push(n);
  }

  // ---- leaves: value hashes, then leaf ids ----
  const nl = dirtyLeaves.length;
  if (nl > 0) {
    let total = 0;
    for (const l of dirtyLeaves) total += l.value.length;
    sc.msg = grownU8(sc.msg, Math.max(total, nl * (MAX_KEY_BYTES + HASH_BYTES)));
    sc.offsets = grownU32(sc.offsets, nl + 1);
    sc.slots = grownI32(sc.slots, nl);
    let msg = sc.msg;
    const offs = sc.offsets;
    const vslots = sc.slots;
    let o = 0;
    for (let i = 0; i < nl; i++) {
      const v = (dirtyLeaves[i] as WLeaf).value;
      offs[i] = o;
      if (v.length <= 32) for (let j = 0; j < v.length; j++) msg[o + j] = v[j] as number;
      else msg.set(v, o);
      o += v.length;
      vslots[i] = nextSlot++;
    }
    offs[nl] = o;
    hashMany(msg, offs, nl, sc.slab, vslots, null);
    const slab = sc.slab;
    o = 0;
    msg = sc.msg;
    for (let i = 0; i < nl; i++) {
      const l = dirtyLeaves[i] as WLeaf;
      offs[i] = o;
      const k = l.key;
      for (let j = 0; j < k.length; j++) msg[o + j] = k[j] as number;
      o += k.length;
      const vo = (vslots[i] as number) * HASH_BYTES;
      for (let j = 0; j < HASH_BYTES; j++) msg[o + j] = slab[vo + j] as number;
      o += HASH_BYTES;
      vslots[i] = l.slot;
    }
    offs[nl] = o;
    hashMany(msg, offs, nl, slab, vslots, K_LEAF);
  }

  // ---- branches, one height at a time ----
  // Each branch gets a block of consecutive slots holding its child ids in
  // slot order: stored children are copied in runs straight from the stored
  // parent's encoding, rebuilt children from their own (already hashed)
  // slots, all with native copies. The inner rounds then pair neighbours
  // within each block, and the encoding takes the block in one copy.
  const blockOf = new Int32Array(branches);
  const countOf = new Int32Array(branches);
  const bitmaps = new Int32Array(branches);
  const allBranches: WBranch[] = [];
  for (let h = 1; h <= maxH; h++) {
    const lvl = levels[h] as WBranch[];
    const nb = lvl.length;
    if (nb === 0) continue;
    const first = allBranches.length;
    const slab = sc.slab;
    for (let bi = 0; bi < nb; bi++) {
      const b = lvl[bi] as WBranch;
      const idx = first + bi;
      allBranches.push(b);
      const blk = nextSlot;
      let dst = blk * HASH_BYTES;
      let bm = 0;
      let runFrom = -1;
      let runTo = -1;
      const base = b.base;
      for (let s = 0; s < SLOTS; s++) {
        const k = b.kids[s];
        if (k === null || k === undefined) continue;
        bm |= 1 << s;
        if (typeof k === "number") {
          if (k === runTo) runTo += HASH_BYTES;
          else {
            if (runFrom >= 0) {
              slab.set((base as Uint8Array).subarray(runFrom, runTo), dst);
              dst += runTo - runFrom;
            }
            runFrom = k;
            runTo = k + HASH_BYTES;
          }
        } else {
          if (runFrom >= 0) {
            slab.set((base as Uint8Array).subarray(runFrom, runTo), dst);
            dst += runTo - runFrom;
            runFrom = -1;
            runTo = -1;
          }
          slab.copyWithin(dst, k.slot * HASH_BYTES, k.slot * HASH_BYTES + HASH_BYTES);
          dst += HASH_BYTES;
        }
      }
      if (runFrom >= 0) {
        slab.set((base as Uint8Array).subarray(runFrom, runTo), dst);
        dst += runTo - runFrom;
      }
      const count = (dst - blk * HASH_BYTES) / HASH_BYTES;
      nextSlot += count;
      blockOf[idx] = blk;
      countOf[idx] = count;
      bitmaps[idx] = bm;
    }
    // Inner rounds: pair neighbours within each branch's list, carrying an odd last item.
    const segLen = new Int32Array(nb);
    const segOff = new Int32Array(nb);
    let m = 0;
    for (let bi = 0; bi < nb; bi++) {
      segOff[bi] = m;
      const c = countOf[first + bi] as number;
      segLen[bi] = c;
      m += c;
    }
    sc.ints2 = grownI32(sc.ints2, m);
    const cur = sc.ints2;
    for (let bi = 0; bi < nb; bi++) {
      const blk = blockOf[first + bi] as number;
      const so = segOff[bi] as number;
      const c = segLen[bi] as number;
      for (let i = 0; i < c; i++) cur[so + i] = blk + i;
    }
    for (;;) {
      let pairs = 0;
      for (let bi = 0; bi < nb; bi++) pairs += (segLen[bi] as number) >> 1;
      if (pairs === 0) break;
      sc.triples = grownI32(sc.triples, pairs * 3);
      const t = sc.triples;
      let ti = 0;
      for (let bi = 0; bi < nb; bi++) {
        const len = segLen[bi] as number;
        if (len < 2) continue;
        const so = segOff[bi] as number;
        let w = so;
        for (let i = 0; i + 1 < len; i += 2) {
          const out = nextSlot++;
          t[ti++] = cur[so + i] as number;
          t[ti++] = cur[so + i + 1] as number;
          t[ti++] = out;
          cur[w++] = out;
        }
        if ((len & 1) === 1) cur[w++] = cur[so + len - 1] as number;
        segLen[bi] = w - so;
      }
      hashPairs(sc.slab, t, pairs, K_INNER);
    }
    // Branch ids: keyed(K_NODE, header ‖ inner root).
    let need = 0;
    for (let bi = 0; bi < nb; bi++) need += branchHeaderSize((lvl[bi] as WBranch).skip.length) + HASH_BYTES;
    sc.msg = grownU8(sc.msg, need);
    sc.offsets = grownU32(sc.offsets, nb + 1);
    sc.slots = grownI32(sc.slots, nb);
    const msg = sc.msg;
    const offs = sc.offsets;
    const outSlots = sc.slots;
    let o = 0;
    for (let bi = 0; bi < nb; bi++) {
      const b = lvl[bi] as WBranch;
      offs[bi] = o;
      o = writeBranchHeader(msg, o, b.skip, 0, b.skip.length, bitmaps[first + bi] as number);
      const mo = (cur[segOff[bi] as number] as number) * HASH_BYTES;
      for (let j = 0; j < HASH_BYTES; j++) msg[o + j] = slab[mo + j] as number;
      o += HASH_BYTES;
      outSlots[bi] = b.slot;
    }
    offs[nb] = o;
    hashMany(msg, offs, nb, sc.slab, outSlots, K_NODE);
  }

  // ---- write the new nodes ----
  const slab = sc.slab;
  for (const l of dirtyLeaves) {
    const len = leafEncodedSize(l.key.length, l.value.length);
    sc.enc = grownU8(sc.enc, len);
    writeLeaf(sc.enc, 0, l.key, l.value);
    store.put(slab, l.slot * HASH_BYTES, sc.enc, 0, len);
  }
  for (let bi = 0; bi < allBranches.length; bi++) {
    const b = allBranches[bi] as WBranch;
    const blk = blockOf[bi] as number;
    const count = countOf[bi] as number;
    const len = 1 + branchHeaderSize(b.skip.length) + count * HASH_BYTES;
    sc.enc = grownU8(sc.enc, len);
    const enc = sc.enc;
    enc[0] = TAG_BRANCH;
    const o = writeBranchHeader(enc, 1, b.skip, 0, b.skip.length, bitmaps[bi] as number);
    enc.set(slab.subarray(blk * HASH_BYTES, (blk + count) * HASH_BYTES), o);
    store.put(slab, b.slot * HASH_BYTES, enc, 0, len);
  }
  return slab.slice(top.slot * HASH_BYTES, top.slot * HASH_BYTES + HASH_BYTES);
}
