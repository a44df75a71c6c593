/**
 * merkle/proof — proofs as pruned subtrees ("witnesses"), and the standalone
 * verifier that needs only the root.
 *
 * One format serves inclusion, exclusion, multi-key, range and boundary
 * proofs (docs/spec/merkle.md M15, M18a): the prover walks from the root
 * and, for every subtree, either reveals it (branch header, leaf) or
 * replaces it by its hash. A subtree may be pruned only when the query does
 * not touch its key region (for a boundary query: when the region does not
 * straddle the range); the verifier recomputes
 * the root from the witness and rejects any pruned region that could. So a
 * key of the query that is neither revealed nor possible is absent, and a
 * range proof lists every key of the range: omitting or injecting one changes
 * the root or exposes a pruned region, and is rejected.
 *
 * Witness grammar (pre-order; docs/spec/merkle.md is normative):
 *   proof  = EMPTY(0x00) | trie
 *   trie   = HASH(0x01) id[32] | LEAF(0x02) varint(kl) key valueHash[32]
 *          | LEAFV(0x03) varint(kl) key varint(vl) value | BRANCH(0x04) header inner(k)
 *   inner(1) = trie;  inner(n>1) = HASH(0x01) hash[32] | SPLIT(0x05) inner(m) inner(n−m),
 *   m = innerSplit(n) (largest power of two below n).
 * Invariants: the verifier never throws anything but MERKLE_PROOF_MALFORMED or
 * MERKLE_PROOF_INVALID on hostile bytes; trailing bytes are rejected;
 * recursion depth is bounded by MAX_KEY_BYTES (≤ 6 frames per trie level).
 * Costs: a single-key proof is ≈ depth × (header + log2(children) × 33 bytes);
 * verifying it costs ≈ depth × 5 hash calls.
 */
import { decodeVarint, VARINT_OK, type VarintOut, varintReason, varintSize, writeVarint } from "../core/index.js";
import { HeliosError } from "../core/index.js";
import { HASH_BYTES, hash, hashInto, nodeIdOf } from "../core/index.js";
import {
  ALL_SLOTS_MASK,
  BranchView,
  ID_KEYS,
  EMPTY_ROOT,
  innerRootInto,
  innerSplit,
  isEmptyRoot,
  K_INNER,
  K_LEAF,
  K_NODE,
  LeafView,
  MAX_KEY_BYTES,
  MAX_VALUE_BYTES,
  parseBranch,
  parseLeaf,
  popcount,
  skipNib,
  TAG_LEAF,
} from "./node.js";
import { load } from "./read.js";
import { bytesToHex, compareBytes } from "../core/index.js";
import { BoundaryQuery, KeySetQuery, PointQuery, type Query, RangeQuery } from "./region.js";
import type { NodeStore } from "./store.js";

export const P_EMPTY = 0x00;
export const P_HASH = 0x01;
export const P_LEAF = 0x02;
export const P_LEAFV = 0x03;
export const P_BRANCH = 0x04;
export const P_SPLIT = 0x05;

const MAX_PATH = MAX_KEY_BYTES * 2 + 1;

/** The slots (as bits) of the children with index in [from, to), children counted in slot order. */
function rangeBits(bitmap: number, from: number, to: number): number {
  let bits = 0;
  let i = 0;
  for (let s = 0; s < 17 && i < to; s++) {
    if ((bitmap >> s) & 1) {
      if (i >= from) bits |= 1 << s;
      i++;
    }
  }
  return bits;
}

/** The slot of the i-th set bit of bitmap. */
function nthSlot(bitmap: number, i: number): number {
  for (let s = 0; s < 17; s++) {
    if ((bitmap >> s) & 1) {
      if (i === 0) return s;
      i--;
    }
  }
  return -1;
}

/**
 * Buffers a proof or a verification needs, reused from one call to the next
 * (allocating them per call cost more than the hashing). `stack` holds the
 * verifier's per-branch and per-split temporaries: a branch level takes at
 * most its header plus 32 bytes, a split 64, and nesting is bounded by
 * MAX_PATH branch levels of at most 5 splits each.
 */
class Scratch {
  readonly path = new Uint8Array(MAX_PATH + 1);
  readonly msg = new Uint8Array(MAX_KEY_BYTES * 2 + 64);
  readonly stack = new Uint8Array(MAX_PATH * (MAX_KEY_BYTES + 8 + HASH_BYTES + 5 * 64) + 1024);
  writerBuf: Uint8Array = new Uint8Array(1024);
}
let idleScratch: Scratch | null = null;
function takeScratch(): Scratch {
  const s = idleScratch ?? new Scratch();
  idleScratch = null;
  return s;
}
function giveScratch(s: Scratch): void {
  idleScratch = s;
}

class Writer {
  buf: Uint8Array;
  len = 0;
  constructor(buf: Uint8Array) {
    this.buf = buf;
  }
  ensure(n: number): void {
    if (this.len + n <= this.buf.length) return;
    let c = this.buf.length * 2;
    while (c < this.len + n) c *= 2;
    const b = new Uint8Array(c);
    b.set(this.buf.subarray(0, this.len));
    this.buf = b;
  }
  byte(b: number): void {
    this.ensure(1);
    this.buf[this.len++] = b;
  }
  varint(v: number): void {
    this.ensure(5);
    this.len = writeVarint(this.buf, this.len, v);
  }
  bytes(src: Uint8Array, off = 0, n = src.length - off): void {
    this.ensure(n);
    this.buf.set(src.subarray(off, off + n), this.len);
    this.len += n;
  }
  result(): Uint8Array {
    return this.buf.slice(0, this.len);
  }
}

// ------------------------------------------------------------------ prover

class Prover {
  readonly store: NodeStore;
  readonly q: Query;
  readonly values: boolean;
  readonly w: Writer;
  readonly path: Uint8Array;
  constructor(store: NodeStore, q: Query, values: boolean, sc: Scratch) {
    this.store = store;
    this.q = q;
    this.values = values;
    this.w = new Writer(sc.writerBuf);
    this.path = sc.path;
  }

  node(idBuf: Uint8Array, idOff: number, len: number): void {
    const bytes = load(this.store, idBuf, idOff);
    const w = this.w;
    if (bytes[0] === TAG_LEAF) {
      const lv = new LeafView();
      parseLeaf(bytes, 0, bytes.length, lv);
      const key = bytes.subarray(lv.keyOff, lv.keyOff + lv.keyLen);
      const value = bytes.subarray(lv.valueOff, lv.valueOff + lv.valueLen);
      if (this.values && this.q.contains(key)) {
        w.byte(P_LEAFV);
        w.varint(key.length);
        w.bytes(key);
        w.varint(value.length);
        w.bytes(value);
      } else {
        w.byte(P_LEAF);
        w.varint(key.length);
        w.bytes(key);
        w.bytes(hash(value));
      }
      return;
    }
    const bv = new BranchView();
    parseBranch(bytes, 0, bytes.length, bv);
    w.byte(P_BRANCH);
    w.bytes(bytes, 1, bv.childOff - 1);
    for (let j = 0; j < bv.skipLen; j++) this.path[len + j] = skipNib(bytes, bv, j);
    const len2 = len + bv.skipLen;
    this.inner(bytes, bv, 0, bv.count, len2, this.q.slotMask(this.path, len2));
  }

  /** Writes children [from, to) of a branch at path length len; `mask`: the slots the query may reach. */
  inner(bytes: Uint8Array, bv: BranchView, from: number, to: number, len: number, mask: number): void {
    const w = this.w;
    if (to - from === 1) {
      const s = nthSlot(bv.bitmap, from);
      const childOff = bv.childOff + from * HASH_BYTES;
      if (((mask >> s) & 1) === 0) {
        w.byte(P_HASH);
        w.bytes(bytes, childOff, HASH_BYTES);
        return;
      }
      if (s !== 0) this.path[len] = s - 1;
      const clen = s === 0 ? len : len + 1;
      if (this.q.childLevel === true && !this.q.touches(this.path, clen, s === 0)) {
        w.byte(P_HASH);
        w.bytes(bytes, childOff, HASH_BYTES);
        return;
      }
      this.node(bytes, childOff, clen);
      return;
    }
    if ((mask & rangeBits(bv.bitmap, from, to)) === 0) {
      w.byte(P_HASH);
      w.ensure(HASH_BYTES);
      innerRootInto(bytes, bv.childOff, from, to, w.buf, w.len);
      w.len += HASH_BYTES;
      return;
    }
    w.byte(P_SPLIT);
    const m = innerSplit(to - from);
    this.inner(bytes, bv, from, from + m, len, mask);
    this.inner(bytes, bv, from + m, to, len, mask);
  }
}

function prove(store: NodeStore, root: Uint8Array, q: Query, values: boolean): Uint8Array {
  if (isEmptyRoot(root)) return Uint8Array.of(P_EMPTY);
  const sc = takeScratch();
  try {
    const p = new Prover(store, q, values, sc);
    p.node(root, 0, 0);
    sc.writerBuf = p.w.buf; // keep a grown buffer for the next proof
    return p.w.result();
  } finally {
    giveScratch(sc);
  }
}

/** A proof that `key` is present (with its value's hash) or absent in the version `root`. */
export function proveKey(store: NodeStore, root: Uint8Array, key: Uint8Array): Uint8Array {
  return prove(store, root, new PointQuery(key), false);
}

/** A proof of every entry (with values) in [start, end) of the version `root`; end undefined = unbounded. */
export function proveRange(
  store: NodeStore,
  root: Uint8Array,
  start: Uint8Array,
  end: Uint8Array | undefined,
): Uint8Array {
  return prove(store, root, new RangeQuery(start, end), true);
}

/** Keys sorted ascending, duplicates dropped (copies the array, not the keys). */
function sortedKeySet(keys: readonly Uint8Array[]): Uint8Array[] {
  for (const k of keys) {
    if (!(k instanceof Uint8Array) || k.length > MAX_KEY_BYTES) {
      throw new HeliosError("INVALID_ARGUMENT", {}, "keys must be Uint8Arrays of at most MAX_KEY_BYTES");
    }
  }
  const out = [...keys].sort(compareBytes);
  let n = 0;
  for (let i = 0; i < out.length; i++) {
    if (n === 0 || compareBytes(out[n - 1] as Uint8Array, out[i] as Uint8Array) !== 0) out[n++] = out[i] as Uint8Array;
  }
  out.length = n;
  return out;
}

/**
 * One proof for a set of keys: each is revealed (LEAF: key and value hash)
 * or proven absent. Shared paths are written once, so k keys cost far less
 * than k single-key proofs.
 */
export function proveKeys(store: NodeStore, root: Uint8Array, keys: readonly Uint8Array[]): Uint8Array {
  return prove(store, root, new KeySetQuery(sortedKeySet(keys)), false);
}

// ---------------------------------------------------------------- verifier

export interface RevealedLeaf {
  key: Uint8Array;
  valueHash: Uint8Array;
  /** Present when the proof carries the value itself (range proofs). */
  value?: Uint8Array;
}

function bad(detail: string, ctx: Record<string, unknown> = {}): never {
  throw new HeliosError("MERKLE_PROOF_MALFORMED", ctx, detail);
}
function invalid(detail: string, ctx: Record<string, unknown> = {}): never {
  throw new HeliosError("MERKLE_PROOF_INVALID", ctx, detail);
}

/**
 * Optional hooks a verification calls as it meets each element of a witness
 * (in pre-order). `path[0..len)` is the element's region (exact for a
 * terminal slot); it is the verifier's scratch, valid only during the call.
 * Called before the root is checked: act on them only once verification
 * returned.
 */
export interface WitnessVisitor {
  pruned?(path: Uint8Array, len: number, exact: boolean, id: Uint8Array): void;
  leaf?(path: Uint8Array, len: number, exact: boolean, key: Uint8Array, valueHash: Uint8Array, id: Uint8Array): void;
  /** A revealed branch at region path[0..len) whose children sit at path[0..len+skipLen). */
  branch?(path: Uint8Array, len: number, skipLen: number, bitmap: number): void;
}

class Verifier {
  visitor: WitnessVisitor | undefined;
  /** Count the in-range leaves instead of collecting them (no per-leaf allocation). */
  countOnly = false;
  inRange = 0;
  readonly buf: Uint8Array;
  pos = 0;
  readonly q: Query;
  readonly path: Uint8Array;
  readonly leaves: RevealedLeaf[] = [];
  readonly msg: Uint8Array;
  readonly stack: Uint8Array;
  /** Top of `stack`: temporaries of the frames being verified lie below it. */
  sp = 0;
  readonly vout: VarintOut = { value: 0, pos: 0 };
  constructor(buf: Uint8Array, q: Query, sc: Scratch) {
    this.buf = buf;
    this.q = q;
    this.path = sc.path;
    this.msg = sc.msg;
    this.stack = sc.stack;
  }
  byte(): number {
    if (this.pos >= this.buf.length) bad("truncated");
    return this.buf[this.pos++] as number;
  }
  varint(max: number): number {
    const st = decodeVarint(this.buf, this.pos, this.buf.length, this.vout);
    if (st !== VARINT_OK) bad(varintReason(st), { pos: this.pos });
    const v = this.vout.value;
    if (v > max) bad("length out of range", { length: v, max });
    this.pos = this.vout.pos;
    return v;
  }
  take(n: number): number {
    if (n > this.buf.length - this.pos) bad("truncated");
    const at = this.pos;
    this.pos += n;
    return at;
  }

  /**
   * Parses one trie element sitting at region path[0..len) (exact for a
   * terminal slot) and writes its id to out[outOff..].
   */
  trie(len: number, exact: boolean, out: Uint8Array, outOff: number): void {
    const tag = this.byte();
    if (tag === P_HASH) {
      if (this.q.touches(this.path, len, exact)) invalid("a pruned subtree could hold a queried key", { depth: len });
      const at = this.take(HASH_BYTES);
      out.set(this.buf.subarray(at, at + HASH_BYTES), outOff);
      this.visitor?.pruned?.(this.path, len, exact, this.buf.subarray(at, at + HASH_BYTES));
      return;
    }
    if (tag === P_LEAF || tag === P_LEAFV) {
      const kl = this.varint(MAX_KEY_BYTES);
      const ko = this.take(kl);
      const key = this.buf.subarray(ko, ko + kl);
      // The leaf must sit where its key leads.
      if (exact ? kl * 2 !== len : kl * 2 < len) invalid("leaf key does not match its position");
      for (let i = 0; i < len; i++) {
        const b = key[i >> 1] as number;
        if (((i & 1) === 0 ? b >> 4 : b & 15) !== this.path[i]) invalid("leaf key does not match its position");
      }
      if (tag === P_LEAFV && this.countOnly) {
        // count mode: the leaf's id in one native call (value hash and leaf hash), nothing allocated
        const vl = this.varint(MAX_VALUE_BYTES);
        const vo = this.take(vl);
        if (!nodeIdOf(this.buf, ko - 1, vo + vl, 0, ko, kl, vo, ID_KEYS, out, outOff)) {
          const msg = this.msg;
          msg.set(key, 0);
          hashInto(this.buf.subarray(vo, vo + vl), msg, kl);
          hashInto(msg.subarray(0, kl + HASH_BYTES), out, outOff, K_LEAF);
        }
        if (this.q.contains(key)) this.inRange++;
        if (this.visitor?.leaf !== undefined) {
          this.visitor.leaf(
            this.path,
            len,
            exact,
            key,
            hash(this.buf.subarray(vo, vo + vl)),
            out.subarray(outOff, outOff + HASH_BYTES),
          );
        }
        return;
      }
      let valueHash: Uint8Array;
      let value: Uint8Array | undefined;
      if (tag === P_LEAF) {
        const vo = this.take(HASH_BYTES);
        valueHash = this.buf.subarray(vo, vo + HASH_BYTES);
      } else {
        const vl = this.varint(MAX_VALUE_BYTES);
        const vo = this.take(vl);
        value = this.buf.subarray(vo, vo + vl);
        valueHash = hash(value);
      }
      const msg = this.msg;
      msg.set(key, 0);
      msg.set(valueHash, kl);
      hashInto(msg.subarray(0, kl + HASH_BYTES), out, outOff, K_LEAF);
      this.leaves.push(value === undefined ? { key, valueHash } : { key, valueHash, value });
      this.visitor?.leaf?.(this.path, len, exact, key, valueHash, out.subarray(outOff, outOff + HASH_BYTES));
      return;
    }
    if (tag === P_BRANCH) {
      if (exact) invalid("a branch in a terminal slot");
      const hStart = this.pos;
      const skipLen = this.varint(MAX_PATH);
      const packed = (skipLen + 1) >> 1;
      const so = this.take(packed);
      if ((skipLen & 1) === 1 && ((this.buf[so + packed - 1] as number) & 15) !== 0) bad("non-zero skip padding");
      const bo = this.take(3);
      const bitmap =
        (this.buf[bo] as number) | ((this.buf[bo + 1] as number) << 8) | ((this.buf[bo + 2] as number) << 16);
      if ((bitmap & ~ALL_SLOTS_MASK) !== 0) bad("bitmap bits beyond slot 16");
      const count = popcount(bitmap);
      if (count < 2) bad("branch with fewer than two children");
      const len2 = len + skipLen;
      if (len2 + 1 > MAX_PATH) invalid("path longer than any key");
      if ((bitmap & 1) === 1 && (len2 & 1) === 1) invalid("terminal slot at an odd nibble depth");
      for (let j = 0; j < skipLen; j++) {
        const b = this.buf[so + (j >> 1)] as number;
        this.path[len + j] = (j & 1) === 0 ? b >> 4 : b & 15;
      }
      this.visitor?.branch?.(this.path, len, skipLen, bitmap);
      // The branch message header ‖ inner root is assembled on the scratch
      // stack: the header now, the inner root when the children are done.
      const hLen = this.pos - hStart;
      const at = this.sp;
      const st = this.stack;
      if (at + hLen + HASH_BYTES > st.length) bad("nesting too deep");
      for (let i = 0; i < hLen; i++) st[at + i] = this.buf[hStart + i] as number;
      this.sp = at + hLen + HASH_BYTES;
      this.inner(bitmap, 0, count, len2, st, at + hLen, this.q.slotMask(this.path, len2));
      this.sp = at;
      hashInto(st.subarray(at, at + hLen + HASH_BYTES), out, outOff, K_NODE);
      return;
    }
    bad("unknown tag", { tag, pos: this.pos - 1 });
  }

  /** Verifies children [from, to) of a branch at path length len; `mask`: the slots the query may reach. */
  inner(bitmap: number, from: number, to: number, len: number, out: Uint8Array, outOff: number, mask: number): void {
    if (to - from === 1) {
      const s = nthSlot(bitmap, from);
      if (s !== 0) this.path[len] = s - 1;
      this.trie(s === 0 ? len : len + 1, s === 0, out, outOff);
      return;
    }
    const tag = this.byte();
    if (tag === P_HASH) {
      if ((mask & rangeBits(bitmap, from, to)) !== 0) invalid("a pruned subtree could hold a queried key");
      const at = this.take(HASH_BYTES);
      out.set(this.buf.subarray(at, at + HASH_BYTES), outOff);
      return;
    }
    if (tag !== P_SPLIT) bad("expected HASH or SPLIT inside a branch", { tag });
    const m = innerSplit(to - from);
    const at = this.sp;
    if (at + 2 * HASH_BYTES > this.stack.length) bad("nesting too deep");
    this.sp = at + 2 * HASH_BYTES;
    this.inner(bitmap, from, from + m, len, this.stack, at, mask);
    this.inner(bitmap, from + m, to, len, this.stack, at + HASH_BYTES, mask);
    this.sp = at;
    hashInto(this.stack.subarray(at, at + 2 * HASH_BYTES), out, outOff, K_INNER);
  }
}

/** Checks a witness against root for a query; returns the revealed leaves in key order, or throws. */
function verifyWitness(
  root: Uint8Array,
  proof: Uint8Array,
  q: Query,
  visitor?: WitnessVisitor,
  counter?: { count: number },
): RevealedLeaf[] {
  if (!(root instanceof Uint8Array) || root.length !== HASH_BYTES) {
    throw new HeliosError("INVALID_ARGUMENT", {}, "a root is a 32-byte Uint8Array");
  }
  if (!(proof instanceof Uint8Array)) throw new HeliosError("INVALID_ARGUMENT", {}, "a proof is a Uint8Array");
  if (proof.length === 0) bad("empty proof");
  if (proof[0] === P_EMPTY) {
    if (proof.length !== 1) bad("trailing bytes");
    if (!isEmptyRoot(root)) invalid("proof of an empty map against a non-empty root");
    return [];
  }
  const sc = takeScratch();
  const v = new Verifier(proof, q, sc);
  v.visitor = visitor;
  v.countOnly = counter !== undefined;
  const got = new Uint8Array(HASH_BYTES);
  try {
    v.trie(0, false, got, 0);
  } catch (e) {
    if (e instanceof RangeError) bad("nesting too deep"); // stack exhaustion on hostile nesting
    throw e;
  } finally {
    giveScratch(sc);
  }
  if (v.pos !== proof.length) bad("trailing bytes", { pos: v.pos, length: proof.length });
  for (let i = 0; i < HASH_BYTES; i++) if (got[i] !== root[i]) invalid("the proof does not hash to the root");
  if (counter !== undefined) counter.count = v.inRange;
  return v.leaves;
}

export type KeyProofResult = { present: true; valueHash: Uint8Array } | { present: false };

/**
 * Verifies a single-key proof against a root. Returns presence (with the
 * value's BLAKE3 hash) or absence; throws MERKLE_PROOF_MALFORMED or
 * MERKLE_PROOF_INVALID when the proof proves neither.
 */
export function verifyProof(root: Uint8Array, key: Uint8Array, proof: Uint8Array): KeyProofResult {
  if (!(key instanceof Uint8Array) || key.length > MAX_KEY_BYTES) {
    throw new HeliosError("INVALID_ARGUMENT", {}, "key must be a Uint8Array of at most MAX_KEY_BYTES");
  }
  const q = new PointQuery(key);
  for (const l of verifyWitness(root, proof, q)) {
    if (q.contains(l.key)) return { present: true, valueHash: l.valueHash.slice() };
  }
  return { present: false };
}

/**
 * True when `proof` proves key → value in root (or, with value undefined,
 * that key is absent). Never throws on a bad proof: it answers false.
 */
export function verifyValue(
  root: Uint8Array,
  key: Uint8Array,
  value: Uint8Array | undefined,
  proof: Uint8Array,
): boolean {
  let r: KeyProofResult;
  try {
    r = verifyProof(root, key, proof);
  } catch (e) {
    if (e instanceof HeliosError && e.code !== "INVALID_ARGUMENT") return false;
    throw e;
  }
  if (value === undefined) return !r.present;
  if (!r.present) return false;
  const h = hash(value);
  for (let i = 0; i < HASH_BYTES; i++) if (h[i] !== r.valueHash[i]) return false;
  return true;
}

export interface Entry {
  key: Uint8Array;
  value: Uint8Array;
}

/**
 * Verifies a range proof and returns every entry of [start, end) in key
 * order. Throws MERKLE_PROOF_MALFORMED / MERKLE_PROOF_INVALID otherwise.
 */
export function verifyRange(
  root: Uint8Array,
  start: Uint8Array,
  end: Uint8Array | undefined,
  proof: Uint8Array,
): Entry[] {
  const q = new RangeQuery(start, end);
  const out: Entry[] = [];
  for (const l of verifyWitness(root, proof, q)) {
    if (!q.contains(l.key)) continue;
    if (l.value === undefined) invalid("a leaf inside the range is missing its value");
    out.push({ key: l.key.slice(), value: l.value.slice() });
  }
  return out;
}

/**
 * Verifies a multi-key proof: for each key (in the order given), its value's
 * hash if present, or undefined if absent. Throws MERKLE_PROOF_MALFORMED /
 * MERKLE_PROOF_INVALID when the proof does not settle every key.
 */
export function verifyKeys(
  root: Uint8Array,
  keys: readonly Uint8Array[],
  proof: Uint8Array,
): (Uint8Array | undefined)[] {
  const q = new KeySetQuery(sortedKeySet(keys));
  const found = new Map<string, Uint8Array>();
  for (const l of verifyWitness(root, proof, q)) {
    if (q.contains(l.key)) found.set(bytesToHex(l.key), l.valueHash.slice());
  }
  return keys.map((k) => found.get(bytesToHex(k)));
}

/**
 * A boundary witness of [start, end) in `root`: the branches and leaves whose
 * regions straddle the range's two ends are revealed; every other child is
 * pruned to its id, each with its own region (BoundaryQuery). With a
 * visitor, a receiver holding another version compares the range's contents
 * subtree by subtree (snapshot/verify.ts).
 */
export function proveBoundary(
  store: NodeStore,
  root: Uint8Array,
  start: Uint8Array,
  end: Uint8Array | undefined,
): Uint8Array {
  return prove(store, root, new BoundaryQuery(start, end), false);
}

/**
 * Verifies a boundary witness against `root` (every straddling region must
 * be revealed), calling `visitor` on each element. Throws
 * MERKLE_PROOF_MALFORMED / MERKLE_PROOF_INVALID.
 */
export function verifyBoundary(
  root: Uint8Array,
  start: Uint8Array,
  end: Uint8Array | undefined,
  proof: Uint8Array,
  visitor: WitnessVisitor,
): void {
  verifyWitness(root, proof, new BoundaryQuery(start, end), visitor);
}

/**
 * Verifies a range proof like verifyRange and returns how many entries of
 * [start, end) it reveals, without copying them: one native call per leaf
 * and no per-leaf allocation. For callers that hold the entries already
 * (a snapshot chunk's payload, rebuilt into the proof) and need only the
 * verdict.
 */
export function verifyRangeCount(
  root: Uint8Array,
  start: Uint8Array,
  end: Uint8Array | undefined,
  proof: Uint8Array,
): number {
  const q = new RangeQuery(start, end);
  const counter = { count: 0 };
  for (const l of verifyWitness(root, proof, q, undefined, counter)) {
    // LEAF records (hash only) are collected as usual; one inside the range lacks its value
    if (q.contains(l.key)) invalid("a leaf inside the range is missing its value");
  }
  return counter.count;
}

/** Size in bytes of a LEAF record (for documentation and tests). */
export function leafRecordSize(keyLen: number): number {
  return 1 + varintSize(keyLen) + keyLen + HASH_BYTES;
}

export { EMPTY_ROOT };
