/**
 * bench/support/durable-work — the deterministic account workload shared by
 * the durable suite (bench/suites/durable.ts) and its crash child
 * (durable-child.ts), so both derive the same keys and values without ever
 * holding the whole account set in memory.
 *
 * Account i (0 ≤ i < n) has the key BLAKE3(KEY_SEED ‖ u32 i) with byte 0
 * replaced by its build batch p = ⌊256·i/n⌋: batch p holds the accounts
 * i ∈ [⌈p·n/256⌉, ⌈(p+1)·n/256⌉), so the build inserts each batch into an
 * empty subtree, and the keys are still uniform over the whole key space.
 * Values are 80-byte account records: nonce u64 LE ‖ 72 pseudo-random bytes
 * (xorshift, seeded per block), so nothing compresses or dedupes for free.
 */
import { HASH_BYTES, hashMany } from "../../src/core/index.js";

export const KEY_BYTES = 32;
export const VALUE_BYTES = 80;
export const BATCHES = 256;
const KEY_SEED = 0x6163636b; // "acck"

export interface Op {
  key: Uint8Array;
  value: Uint8Array;
}

/** First account index of build batch p (p = 0..BATCHES; batchStart(BATCHES) = n). */
export function batchStart(p: number, n: number): number {
  return Math.ceil((p * n) / BATCHES);
}

/** Keys of the accounts `idx[j]`, as views into one buffer (32 bytes each). */
export function keysOf(idx: ArrayLike<number>, n: number): Uint8Array[] {
  const count = idx.length;
  const msg = new Uint8Array(8 * count);
  const dv = new DataView(msg.buffer);
  const offsets = new Uint32Array(count + 1);
  for (let j = 0; j < count; j++) {
    dv.setUint32(8 * j, KEY_SEED, true);
    dv.setUint32(8 * j + 4, idx[j]!, true);
    offsets[j + 1] = 8 * (j + 1);
  }
  const out = new Uint8Array(HASH_BYTES * count);
  hashMany(msg, offsets, count, out, null, null);
  const keys: Uint8Array[] = new Array(count);
  for (let j = 0; j < count; j++) {
    out[HASH_BYTES * j] = Math.floor((idx[j]! * BATCHES) / n);
    keys[j] = out.subarray(HASH_BYTES * j, HASH_BYTES * j + KEY_BYTES);
  }
  return keys;
}

/** Deterministic uniform u32 stream (xorshift128). */
export function u32Stream(seed: number): () => number {
  let a = seed >>> 0 || 0x9e3779b9;
  let b = Math.imul(seed, 0x85ebca6b) >>> 0 || 0x243f6a88;
  let c = 0x6a09e667;
  let d = 0xbb67ae85;
  return () => {
    let t = a ^ (a << 11);
    a = b;
    b = c;
    c = d;
    d = (d ^ (d >>> 19) ^ (t ^ (t >>> 8))) >>> 0;
    t = d;
    return t;
  };
}

/** `count` 80-byte account records (nonce = `nonce`), as views into one buffer. */
export function valuesOf(count: number, nonce: number, seed: number): Uint8Array[] {
  const buf = new Uint8Array(VALUE_BYTES * count);
  const words = new Uint32Array(buf.buffer);
  const next = u32Stream(seed);
  for (let w = 0; w < words.length; w++) words[w] = next();
  const vals: Uint8Array[] = new Array(count);
  const dv = new DataView(buf.buffer);
  for (let j = 0; j < count; j++) {
    dv.setUint32(VALUE_BYTES * j, nonce >>> 0, true);
    dv.setUint32(VALUE_BYTES * j + 4, 0, true);
    vals[j] = buf.subarray(VALUE_BYTES * j, VALUE_BYTES * (j + 1));
  }
  return vals;
}

/** `count` distinct account indices in [0, n), in random order (count ≤ n). */
export function sampleDistinct(seed: number, count: number, n: number): Uint32Array {
  if (count > n) throw new Error(`sampleDistinct: ${count} > ${n}`);
  const next = u32Stream(seed);
  const out = new Uint32Array(count);
  if (count * 4 >= n) {
    // dense: a partial Fisher–Yates over all of [0, n)
    const all = new Uint32Array(n);
    for (let i = 0; i < n; i++) all[i] = i;
    for (let k = 0; k < count; k++) {
      const j = k + Math.floor((next() / 2 ** 32) * (n - k));
      const t = all[k]!;
      all[k] = all[j]!;
      all[j] = t;
      out[k] = all[k]!;
    }
    return out;
  }
  const seen = new Set<number>();
  for (let k = 0; k < count; ) {
    const i = Math.floor((next() / 2 ** 32) * n);
    if (!seen.has(i)) {
      seen.add(i);
      out[k++] = i;
    }
  }
  return out;
}

/** The ops of update block `b`: `size` distinct random existing accounts, new records with nonce b + 1. */
export function updateBlock(seed: number, b: number, size: number, n: number): Op[] {
  const idx = sampleDistinct((seed ^ Math.imul(b + 1, 0x9e3779b1)) >>> 0, size, n);
  const keys = keysOf(idx, n);
  const vals = valuesOf(size, b + 1, (seed + 0x51ed270b * (b + 1)) >>> 0);
  const ops: Op[] = new Array(size);
  for (let j = 0; j < size; j++) ops[j] = { key: keys[j]!, value: vals[j]! };
  return ops;
}
