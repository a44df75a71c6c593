/**
 * bench/support/snapshot-work — the deterministic state the snapshot suite
 * (bench/suites/snapshot.ts) builds, exports and imports.
 *
 * Entry i (0 ≤ i < n) has the key BLAKE3(KEY_SEED ‖ u32 i) with byte 0
 * replaced by ⌊256·i/n⌋, so build batch b (entries [b·B, (b+1)·B)) lands in
 * its own band of the key space (one or a few top-level subtrees) while the
 * keys stay uniform over the whole space. The final tree depends only on the
 * key set, so this changes nothing that is measured, only the build time.
 *
 * Values are account-like records of 200–300 bytes (size uniform, drawn from
 * a PRNG seeded by i), written little-endian:
 *   version u8 = 1 ‖ kind u8 (0 = plain account, 3 in 4; 1 = contract)
 *   ‖ length u16 ‖ nonce u32 (< 1024) ‖ balance u64 (40 random low bits)
 *   ‖ codeHash 32 (plain: one constant; contract: one of 32 constants)
 *   ‖ storageRoot 32 (plain: one constant; contract: 32 random bytes)
 *   ‖ owner 20 (plain: zeros; contract: 20 random bytes)
 *   ‖ fields up to the length, 8 bytes each: tag u16 (its ordinal), flags u16
 *     (1 with probability 1/8, else 0), value u32 (alternately a counter
 *     < 1024 and a timestamp 1.7e9 + < 2^16), the last field cut short.
 * A plain record holds ~45 bytes of entropy in ~250, a contract ~100; with its 32-byte random key, key ‖ value in key order
 * compresses 2.45× with zstd -3 and 1.79× with lz4 (measured on 50K
 * entries in 4 MiB blocks; values alone 3.0× with zstd).
 * Every entry can be regenerated from its index alone, so nothing is held
 * in memory whole.
 */
import { HASH_BYTES, hash, hashMany, utf8 } from "../../src/core/index.js";
import { u32Stream } from "./durable-work.js";

export const KEY_BYTES = 32;
export const MIN_VALUE = 200;
export const MAX_VALUE = 300;
/** Mean bytes of an entry (key + value). */
export const MEAN_ENTRY_BYTES = KEY_BYTES + (MIN_VALUE + MAX_VALUE) / 2;
const KEY_SEED = 0x736e6170; // "snap"
const VALUE_SEED = 0x76616c73; // "vals"
const EMPTY_CODE = hash(utf8("helios-bench/empty-code"));
const EMPTY_STORAGE = hash(utf8("helios-bench/empty-storage"));
const CODE_HASHES = Array.from({ length: 32 }, (_, j) => hash(utf8(`helios-bench/code/${j}`)));

export interface Op {
  key: Uint8Array;
  value: Uint8Array;
}

/** Keys of entries [start, start + count), as views into one buffer. */
export function keysOf(start: number, count: number, n: number): Uint8Array[] {
  const msg = new Uint8Array(8 * count);
  const dv = new DataView(msg.buffer);
  const offsets = new Uint32Array(count + 1);
  for (let j = 0; j < count; j++) {
    dv.setUint32(8 * j, KEY_SEED, true);
    dv.setUint32(8 * j + 4, start + j, true);
    offsets[j + 1] = 8 * (j + 1);
  }
  const out = new Uint8Array(HASH_BYTES * count);
  hashMany(msg, offsets, count, out, null, null);
  const keys: Uint8Array[] = new Array(count);
  for (let j = 0; j < count; j++) {
    out[HASH_BYTES * j] = Math.floor(((start + j) * 256) / n);
    keys[j] = out.subarray(HASH_BYTES * j, HASH_BYTES * j + KEY_BYTES);
  }
  return keys;
}

/** Even fields are small counters, odd ones timestamps. */
function fieldValue(tag: number, x: number): number {
  return tag % 2 === 0 ? x & 0x3ff : 1_700_000_000 + (x & 0xffff);
}

/** The record of entry i (a fresh buffer). */
export function recordOf(i: number): Uint8Array {
  const r = u32Stream((VALUE_SEED ^ Math.imul(i + 1, 0x9e3779b1)) >>> 0);
  // discard a few outputs: the seeds of neighbouring i differ in few bits
  for (let k = 0; k < 4; k++) r();
  const len = MIN_VALUE + (r() % (MAX_VALUE - MIN_VALUE + 1));
  const v = new Uint8Array(len);
  const dv = new DataView(v.buffer);
  const contract = (r() & 3) === 0;
  v[0] = 1;
  v[1] = contract ? 1 : 0;
  dv.setUint16(2, len, true);
  dv.setUint32(4, r() & 1023, true);
  dv.setUint32(8, r(), true);
  dv.setUint32(12, r() & 0xff, true);
  v.set(contract ? (CODE_HASHES[r() & 31] as Uint8Array) : EMPTY_CODE, 16);
  if (contract) for (let o = 48; o < 80; o += 4) dv.setUint32(o, r(), true);
  else v.set(EMPTY_STORAGE, 48);
  if (contract) for (let o = 80; o < 100; o += 4) dv.setUint32(o, r(), true);
  // fields: tag u16, flags u16, value u32; the last one cut short at the record's end
  let tag = 0;
  let o = 100;
  for (; o + 8 <= len; o += 8, tag++) {
    dv.setUint16(o, tag, true);
    dv.setUint16(o + 2, (r() & 7) === 0 ? 1 : 0, true);
    dv.setUint32(o + 4, fieldValue(tag, r()), true);
  }
  if (o < len) {
    const f = new Uint8Array(8);
    const fv = new DataView(f.buffer);
    fv.setUint16(0, tag, true);
    fv.setUint16(2, (r() & 7) === 0 ? 1 : 0, true);
    fv.setUint32(4, fieldValue(tag, r()), true);
    v.set(f.subarray(0, len - o), o);
  }
  return v;
}

/** Entries [start, start + count) of the n-entry state. */
export function entriesOf(start: number, count: number, n: number): Op[] {
  const keys = keysOf(start, count, n);
  const ops: Op[] = new Array(count);
  for (let j = 0; j < count; j++) ops[j] = { key: keys[j]!, value: recordOf(start + j) };
  return ops;
}

/** Sum of key + value bytes of entries [start, start + count). */
export function bytesOf(ops: readonly Op[]): number {
  let s = 0;
  for (const o of ops) s += o.key.length + o.value.length;
  return s;
}
