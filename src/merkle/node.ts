/**
 * merkle/node — the canonical node encoding, node ids, and the inner binary
 * Merkle tree that makes proofs binary-sized while storage stays 16-ary.
 *
 * A key is a byte string, read as nibbles (high nibble first). The tree is a
 * compressed 16-ary radix trie. A branch has 17 slots: slot 0 holds the leaf
 * whose key ends exactly at the branch's path ("terminal"), slots 1..16 hold
 * the children for nibbles 0..15. This slot order is byte-lexicographic key
 * order (a proper prefix sorts first).
 *
 *            root branch (skip "")
 *          /       |          \
 *     slot 3    slot 8        slot 16
 *     leaf     branch(skip "a")   leaf
 *              /        \
 *          slot 0      slot 5
 *      (terminal leaf)  leaf
 *
 * Encodings (docs/spec/merkle.md is the normative text):
 *   leaf   = 0x00 ‖ varint(keyLen) ‖ key ‖ varint(valueLen) ‖ value
 *   branch = 0x01 ‖ header ‖ childId × k        (k = popcount(bitmap) ≥ 2)
 *   header = varint(skipLen) ‖ packed skip nibbles ‖ bitmap (3 bytes LE, 17 bits)
 * Ids (BLAKE3-256, domain-separated by keyed mode, one key per node kind):
 *   leafId   = keyed(K_LEAF,  key ‖ BLAKE3(value))
 *   branchId = keyed(K_NODE,  header ‖ inner(childIds))
 *   inner([x]) = x;  inner(xs) = keyed(K_INNER, inner(left) ‖ inner(right)),
 *   left = the first 2^⌊log2(n−1)⌋ items (left-balanced, as in RFC 6962).
 * The inner tree equals bottom-up pairing with the odd last item carried up,
 * which is how commit batches it, one round per call.
 *
 * Invariants: encodings are canonical (decoders reject anything else with
 * MERKLE_NODE_MALFORMED); a leaf's 64-byte message for a 32-byte key is one
 * BLAKE3 block; an inner message is exactly one block.
 * Costs: parsing is O(header) and allocation-free (views are filled in place).
 */
import { decodeVarint, VARINT_OK, type VarintOut, varintReason, varintSize, writeVarint } from "../core/index.js";
import { HeliosError } from "../core/index.js";
import { HASH_BYTES, hashInto, hashPairs, keyFromContext, NODE_ID_MAX, nodeIdOf } from "../core/index.js";

export const TAG_LEAF = 0x00;
export const TAG_BRANCH = 0x01;
/** Longest key accepted. Longer keys should be hashed by the caller. */
export const MAX_KEY_BYTES = 256;
/** Largest value accepted (16 MiB). Larger blobs belong in a blob store, referenced by hash. */
export const MAX_VALUE_BYTES = 16 * 1024 * 1024;
export const SLOTS = 17;
export const ALL_SLOTS_MASK = (1 << SLOTS) - 1;

export const K_LEAF = keyFromContext("helios/merkle/v1/leaf");
export const K_NODE = keyFromContext("helios/merkle/v1/branch");
export const K_INNER = keyFromContext("helios/merkle/v1/inner");

/** The root of the empty map: 32 zero bytes (not the hash of anything). */
export const EMPTY_ROOT: Uint8Array = new Uint8Array(HASH_BYTES);

export function isEmptyRoot(id: Uint8Array, off = 0): boolean {
  for (let i = 0; i < HASH_BYTES; i++) if (id[off + i] !== 0) return false;
  return true;
}

/** Nibble i of key (high nibble of byte 0 first). */
export function nib(key: Uint8Array, i: number): number {
  const b = key[i >> 1] as number;
  return (i & 1) === 0 ? b >> 4 : b & 15;
}

export function popcount(x: number): number {
  x -= (x >>> 1) & 0x55555555;
  x = (x & 0x33333333) + ((x >>> 2) & 0x33333333);
  return (((x + (x >>> 4)) & 0x0f0f0f0f) * 0x01010101) >>> 24;
}

/** The slot a key takes in a branch whose path (after skip) has `depth` nibbles. */
export function slotOf(key: Uint8Array, depth: number): number {
  return depth === key.length * 2 ? 0 : nib(key, depth) + 1;
}

function malformed(detail: string, ctx: Record<string, unknown> = {}): never {
  throw new HeliosError("MERKLE_NODE_MALFORMED", ctx, detail);
}

/** A parsed branch: offsets into the encoding it was parsed from. Reused, never allocated per read. */
export class BranchView {
  skipLen = 0;
  /** Offset of the packed skip nibbles. */
  skipOff = 0;
  bitmap = 0;
  count = 0;
  /** Offset of the header (after the tag) and of the first child id. */
  headerOff = 0;
  childOff = 0;
}

export class LeafView {
  keyOff = 0;
  keyLen = 0;
  valueOff = 0;
  valueLen = 0;
}

function readVarint(buf: Uint8Array, pos: number, end: number, out: VarintOut): void {
  const st = decodeVarint(buf, pos, end, out);
  if (st !== VARINT_OK) malformed(varintReason(st));
}
const vr: VarintOut = { value: 0, pos: 0 };

/** Parses a leaf encoding occupying buf[off..end). */
export function parseLeaf(buf: Uint8Array, off: number, end: number, out: LeafView): void {
  if (buf[off] !== TAG_LEAF) malformed("not a leaf");
  readVarint(buf, off + 1, end, vr);
  if (vr.value > MAX_KEY_BYTES) malformed("key too long", { keyLen: vr.value });
  out.keyOff = vr.pos;
  out.keyLen = vr.value;
  const p = vr.pos + vr.value;
  readVarint(buf, p, end, vr);
  if (vr.value > MAX_VALUE_BYTES) malformed("value too large", { valueLen: vr.value });
  out.valueOff = vr.pos;
  out.valueLen = vr.value;
  if (vr.pos + vr.value !== end) malformed(vr.pos + vr.value > end ? "truncated leaf" : "trailing bytes after leaf");
}

/** Parses a branch header starting at buf[off] (just after the tag), without reading children. */
export function parseBranchHeader(buf: Uint8Array, off: number, end: number, out: BranchView): void {
  readVarint(buf, off, end, vr);
  const skipLen = vr.value;
  if (skipLen > MAX_KEY_BYTES * 2) malformed("skip too long", { skipLen });
  const packed = (skipLen + 1) >> 1;
  const bm = vr.pos + packed;
  if (bm + 3 > end) malformed("truncated branch header");
  if ((skipLen & 1) === 1 && ((buf[bm - 1] as number) & 15) !== 0) malformed("non-zero skip padding");
  const bitmap = (buf[bm] as number) | ((buf[bm + 1] as number) << 8) | ((buf[bm + 2] as number) << 16);
  if ((bitmap & ~ALL_SLOTS_MASK) !== 0) malformed("bitmap bits beyond slot 16");
  const count = popcount(bitmap);
  if (count < 2) malformed("branch with fewer than two children", { count });
  out.headerOff = off;
  out.skipLen = skipLen;
  out.skipOff = vr.pos;
  out.bitmap = bitmap;
  out.count = count;
  out.childOff = bm + 3;
}

/** Parses a branch encoding occupying buf[off..end). */
export function parseBranch(buf: Uint8Array, off: number, end: number, out: BranchView): void {
  if (buf[off] !== TAG_BRANCH) malformed("not a branch");
  parseBranchHeader(buf, off + 1, end, out);
  if (out.childOff + out.count * HASH_BYTES !== end) malformed("branch length does not match its bitmap");
}

/** Skip nibble i of a parsed branch. */
export function skipNib(buf: Uint8Array, view: BranchView, i: number): number {
  const b = buf[view.skipOff + (i >> 1)] as number;
  return (i & 1) === 0 ? b >> 4 : b & 15;
}

export function branchHeaderSize(skipLen: number): number {
  return varintSize(skipLen) + ((skipLen + 1) >> 1) + 3;
}

/** Writes a branch header (skip given one nibble per byte) at buf[off]; returns the end offset. */
export function writeBranchHeader(
  buf: Uint8Array,
  off: number,
  skip: Uint8Array,
  skipStart: number,
  skipLen: number,
  bitmap: number,
): number {
  off = writeVarint(buf, off, skipLen);
  for (let i = 0; i < skipLen; i += 2) {
    const hi = skip[skipStart + i] as number;
    const lo = i + 1 < skipLen ? (skip[skipStart + i + 1] as number) : 0;
    buf[off++] = (hi << 4) | lo;
  }
  buf[off++] = bitmap & 0xff;
  buf[off++] = (bitmap >> 8) & 0xff;
  buf[off++] = (bitmap >> 16) & 0xff;
  return off;
}

export function leafEncodedSize(keyLen: number, valueLen: number): number {
  return 1 + varintSize(keyLen) + keyLen + varintSize(valueLen) + valueLen;
}

export function writeLeaf(buf: Uint8Array, off: number, key: Uint8Array, value: Uint8Array): number {
  buf[off++] = TAG_LEAF;
  off = writeVarint(buf, off, key.length);
  buf.set(key, off);
  off += key.length;
  off = writeVarint(buf, off, value.length);
  buf.set(value, off);
  return off + value.length;
}

/** Size of the left part of an inner tree over n > 1 items: the largest power of two below n. */
export function innerSplit(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

// ---- slow, allocation-light id computations for provers and verifiers ----

const pairBuf = new Uint8Array(64);
const leafMsg = new Uint8Array(MAX_KEY_BYTES + HASH_BYTES);
const headerMsg = new Uint8Array(branchHeaderSize(MAX_KEY_BYTES * 2) + HASH_BYTES);

/** out[outOff..] = keyed(K_INNER, a[aOff..+32] ‖ b[bOff..+32]). */
export function hashPairInto(
  a: Uint8Array,
  aOff: number,
  b: Uint8Array,
  bOff: number,
  out: Uint8Array,
  outOff: number,
): void {
  pairBuf.set(a.subarray(aOff, aOff + HASH_BYTES), 0);
  pairBuf.set(b.subarray(bOff, bOff + HASH_BYTES), HASH_BYTES);
  hashInto(pairBuf, out, outOff, K_INNER);
}

/** out = leafId(key, valueHash). */
export function leafIdInto(
  key: Uint8Array,
  valueHash: Uint8Array,
  valueHashOff: number,
  out: Uint8Array,
  outOff: number,
): void {
  leafMsg.set(key, 0);
  leafMsg.set(valueHash.subarray(valueHashOff, valueHashOff + HASH_BYTES), key.length);
  hashInto(leafMsg.subarray(0, key.length + HASH_BYTES), out, outOff, K_LEAF);
}

/** out = branchId(header bytes, inner root). */
export function branchIdInto(
  header: Uint8Array,
  headerOff: number,
  headerLen: number,
  inner: Uint8Array,
  innerOff: number,
  out: Uint8Array,
  outOff: number,
): void {
  headerMsg.set(header.subarray(headerOff, headerOff + headerLen), 0);
  headerMsg.set(inner.subarray(innerOff, innerOff + HASH_BYTES), headerLen);
  hashInto(headerMsg.subarray(0, headerLen + HASH_BYTES), out, outOff, K_NODE);
}

const innerSlab = new Uint8Array(HASH_BYTES * 2 * SLOTS);
const innerTriples = new Int32Array(3 * SLOTS);

/**
 * Inner root over ids[off + 32*i] for i in [from, to) into out[outOff..]
 * (at most 17 items). Pairs neighbours bottom-up, carrying an odd last item,
 * which equals the left-balanced tree of M10; one batched kernel call per
 * round, so ⌈log2 n⌉ calls instead of n − 1. Used by provers and checks;
 * commits batch whole tree levels instead.
 */
export function innerRootInto(
  ids: Uint8Array,
  off: number,
  from: number,
  to: number,
  out: Uint8Array,
  outOff: number,
): void {
  let n = to - from;
  const slab = innerSlab;
  slab.set(ids.subarray(off + from * HASH_BYTES, off + to * HASH_BYTES), 0);
  // Slots 0..n-1 hold the current round; each round writes its results in place.
  while (n > 1) {
    const pairs = n >> 1;
    const t = innerTriples;
    for (let i = 0; i < pairs; i++) {
      t[3 * i] = 2 * i;
      t[3 * i + 1] = 2 * i + 1;
      t[3 * i + 2] = i;
    }
    // Items of one call must not read a slot another item writes: item i reads
    // 2i, 2i+1 and writes i ≤ 2i, which only item i/2 reads, in this call; so
    // write the results above the inputs and copy them down instead.
    for (let i = 0; i < pairs; i++) t[3 * i + 2] = n + i;
    hashPairs(slab, t, pairs, K_INNER);
    slab.copyWithin(0, n * HASH_BYTES, (n + pairs) * HASH_BYTES);
    if ((n & 1) === 1) slab.copyWithin(pairs * HASH_BYTES, (n - 1) * HASH_BYTES, n * HASH_BYTES);
    n = pairs + (n & 1);
  }
  out.set(slab.subarray(0, HASH_BYTES), outOff);
}

/**
 * Recomputes the id of an encoded node (leaf or branch) into out[outOff..].
 * Throws MERKLE_NODE_MALFORMED for bytes that are not a canonical encoding.
 * One call per hash (not batched): for checks and verifiers, not commits.
 */
const idLeaf = new LeafView();
const idBranch = new BranchView();
export const ID_KEYS: readonly [Uint32Array, Uint32Array, Uint32Array] = [K_LEAF, K_NODE, K_INNER];

export function nodeIdInto(bytes: Uint8Array, out: Uint8Array, outOff: number): void {
  if (bytes.length === 0) malformed("empty node");
  // one native call for nodes up to NODE_ID_MAX (all branches; leaves with values under ~8 KiB)
  if (bytes.length <= NODE_ID_MAX) {
    if (bytes[0] === TAG_LEAF) {
      parseLeaf(bytes, 0, bytes.length, idLeaf);
      nodeIdOf(bytes, 0, bytes.length, 0, idLeaf.keyOff, idLeaf.keyLen, idLeaf.valueOff, ID_KEYS, out, outOff);
      return;
    }
    if (bytes[0] === TAG_BRANCH) {
      parseBranch(bytes, 0, bytes.length, idBranch);
      nodeIdOf(bytes, 0, bytes.length, 1, 1, idBranch.childOff - 1, idBranch.childOff, ID_KEYS, out, outOff);
      return;
    }
  }
  if (bytes[0] === TAG_LEAF) {
    const lv = new LeafView();
    parseLeaf(bytes, 0, bytes.length, lv);
    const valueHash = new Uint8Array(HASH_BYTES);
    hashInto(bytes.subarray(lv.valueOff, lv.valueOff + lv.valueLen), valueHash, 0);
    leafIdInto(bytes.subarray(lv.keyOff, lv.keyOff + lv.keyLen), valueHash, 0, out, outOff);
    return;
  }
  if (bytes[0] !== TAG_BRANCH) malformed("unknown node tag", { tag: bytes[0] });
  const bv = new BranchView();
  parseBranch(bytes, 0, bytes.length, bv);
  const inner = new Uint8Array(HASH_BYTES);
  innerRootInto(bytes, bv.childOff, 0, bv.count, inner, 0);
  branchIdInto(bytes, 1, bv.childOff - 1, inner, 0, out, outOff);
}
