/**
 * merkle/read — reads of committed versions: point gets and ordered scans.
 *
 * Walks are iterative (no recursion, no await) and resolve every node through
 * the synchronous NodeStore. Values returned are copies, so a caller can never
 * corrupt a stored node by writing into what it got back.
 * Costs: get O(depth) node lookups (≈ log16 n); a scan O(depth + results),
 * skipping every subtree whose key region lies outside the range.
 */
import { compareBytes, copyBytes, copyOut, equalRange } from "../core/index.js";
import { HeliosError } from "../core/index.js";
import { HASH_BYTES } from "../core/index.js";
import {
  BranchView,
  isEmptyRoot,
  LeafView,
  MAX_KEY_BYTES,
  nib,
  parseBranch,
  parseLeaf,
  SLOTS,
  skipNib,
  TAG_LEAF,
} from "./node.js";
import { comparePathKey, RangeQuery } from "./region.js";
import type { NodeStore } from "./store.js";

export function missing(id: Uint8Array, off: number): never {
  throw new HeliosError("MERKLE_NODE_MISSING", {
    id: Buffer.from(id.subarray(off, off + HASH_BYTES)).toString("hex"),
  });
}

/** Loads a node or throws MERKLE_NODE_MISSING. */
export function load(store: NodeStore, id: Uint8Array, off: number): Uint8Array {
  const n = store.get(id, off);
  if (n === undefined) missing(id, off);
  return n;
}

const lv = new LeafView();
const bv = new BranchView();

/** Value of `key` in the subtree whose id is at idBuf[idOff..], entered at nibble `depth`. */
export function getAt(
  store: NodeStore,
  idBuf: Uint8Array,
  idOff: number,
  key: Uint8Array,
  depth: number,
): Uint8Array | undefined {
  const nk = key.length * 2;
  let buf = idBuf;
  let off = idOff;
  for (;;) {
    const node = load(store, buf, off);
    if (node[0] === TAG_LEAF) {
      parseLeaf(node, 0, node.length, lv);
      if (lv.keyLen !== key.length || !equalRange(node, lv.keyOff, key, 0, key.length)) return undefined;
      return copyOut(node, lv.valueOff, lv.valueLen);
    }
    parseBranch(node, 0, node.length, bv);
    const sl = bv.skipLen;
    for (let j = 0; j < sl; j++) {
      if (depth + j >= nk || skipNib(node, bv, j) !== nib(key, depth + j)) return undefined;
    }
    depth += sl;
    let slot = 0;
    if (depth !== nk) {
      slot = nib(key, depth) + 1;
      depth++;
    }
    const bm = bv.bitmap;
    if (((bm >> slot) & 1) === 0) return undefined;
    const below = bm & ((1 << slot) - 1);
    // popcount of `below` (≤ 17 bits)
    let x = below - ((below >>> 1) & 0x55555555);
    x = (x & 0x33333333) + ((x >>> 2) & 0x33333333);
    const idx = (((x + (x >>> 4)) & 0x0f0f0f0f) * 0x01010101) >>> 24;
    buf = node;
    off = bv.childOff + idx * HASH_BYTES;
  }
}

export function getIn(store: NodeStore, root: Uint8Array, key: Uint8Array): Uint8Array | undefined {
  if (isEmptyRoot(root)) return undefined;
  return getAt(store, root, 0, key, 0);
}

export interface ScanOptions {
  /** Only keys with this prefix. */
  prefix?: Uint8Array;
  /** Only keys ≥ start. */
  start?: Uint8Array;
  /** Only keys < end. */
  end?: Uint8Array;
}

/** The smallest byte string greater than every string with prefix p, or undefined (p is all 0xff). */
export function prefixEnd(p: Uint8Array): Uint8Array | undefined {
  const out = p.slice();
  for (let i = out.length - 1; i >= 0; i--) {
    if ((out[i] as number) < 0xff) {
      out[i] = (out[i] as number) + 1;
      return out.subarray(0, i + 1);
    }
  }
  return undefined;
}

export function rangeOf(opts: ScanOptions): RangeQuery {
  let start = opts.start ?? new Uint8Array(0);
  let end = opts.end;
  if (opts.prefix !== undefined) {
    const p = opts.prefix;
    if (compareBytes(p, start) > 0) start = p;
    const pe = prefixEnd(p);
    if (pe !== undefined && (end === undefined || compareBytes(pe, end) < 0)) end = pe;
  }
  return new RangeQuery(start, end);
}

/**
 * Ordered scan of a committed version. Yields [key, value] copies in
 * byte-lexicographic key order.
 */
export function* scan(store: NodeStore, root: Uint8Array, opts: ScanOptions = {}): Generator<[Uint8Array, Uint8Array]> {
  if (isEmptyRoot(root)) return;
  const q = rangeOf(opts);
  const path = new Uint8Array(MAX_KEY_BYTES * 2 + 2);
  // Frames: the id's buffer and offset, the path length at which the node sits.
  const bufs: Uint8Array[] = [root];
  const offs: number[] = [0];
  const lens: number[] = [0];
  const nibs: number[] = [-1];
  const lv2 = new LeafView();
  const bv2 = new BranchView();
  while (bufs.length > 0) {
    const buf = bufs.pop() as Uint8Array;
    const off = offs.pop() as number;
    let len = lens.pop() as number;
    const n = nibs.pop() as number;
    if (n >= 0) path[len - 1] = n;
    const node = load(store, buf, off);
    if (node[0] === TAG_LEAF) {
      parseLeaf(node, 0, node.length, lv2);
      const key = node.subarray(lv2.keyOff, lv2.keyOff + lv2.keyLen);
      if (q.contains(key)) yield [copyBytes(key), copyOut(node, lv2.valueOff, lv2.valueLen)];
      else if (q.end !== undefined && compareBytes(key, q.end) >= 0) return;
      continue;
    }
    parseBranch(node, 0, node.length, bv2);
    for (let j = 0; j < bv2.skipLen; j++) path[len + j] = skipNib(node, bv2, j);
    len += bv2.skipLen;
    if (!q.touches(path, len, false)) {
      if (q.end !== undefined && comparePathKey(path, len, q.end) >= 0) return;
      continue;
    }
    // Push children in reverse slot order so the smallest pops first.
    let idx = bv2.count - 1;
    for (let s = SLOTS - 1; s >= 0; s--) {
      if (((bv2.bitmap >> s) & 1) === 0) continue;
      const childOff = bv2.childOff + idx * HASH_BYTES;
      idx--;
      if (s === 0) {
        if (!q.touches(path, len, true)) continue;
        bufs.push(node);
        offs.push(childOff);
        lens.push(len);
        nibs.push(-1);
      } else {
        path[len] = s - 1;
        if (!q.touches(path, len + 1, false)) continue;
        bufs.push(node);
        offs.push(childOff);
        lens.push(len + 1);
        nibs.push(s - 1);
      }
    }
  }
}
