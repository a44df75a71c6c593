/**
 * exec/sigcache — a bounded set of transaction hashes whose signatures have
 * verified, so a transaction checked at admission (mempool) is not verified
 * again when a block carrying it is executed.
 *
 * Purpose and safety: the key is txHash = BLAKE3-256 of the whole encoding,
 * signature included, so a hit means "exactly these bytes verified before".
 * A miss only costs a re-verification, so the cache may forget anything at
 * any time; it must never answer yes for bytes that did not verify.
 *
 * Shape: two generations (a cheap LRU). New hashes go into the current
 * generation; when it holds `capacity / 2` hashes it becomes the previous one
 * and the old previous one is dropped whole. A hit in the previous
 * generation is copied forward, so hashes in use survive rotation.
 * Each generation is an open-addressing table of 32-byte keys in one
 * Uint8Array (no strings, no per-entry objects): 32 bytes plus 8 bytes of
 * slots per entry. Measured on this machine (65,536 random hashes): ~100 ns
 * per add or lookup, against ~270–640 ns for a Set of latin1 or hex string
 * keys (docs/spec/tx.md T18).
 *
 * Invariants: keys are exactly 32 bytes (checked); probes are capped at
 * MAX_PROBE slots, so hashes ground by an attacker to share a slot cost at
 * most MAX_PROBE comparisons each — past the cap an add is dropped and a
 * lookup misses, which is always safe.
 * Costs: has/add O(1) expected, O(MAX_PROBE) worst case; a rotation clears
 * one slot array, O(capacity), amortized O(1) per add. Memory ≈ 40 bytes ×
 * capacity.
 */
import { HeliosError } from "../core/index.js";

const KEY_BYTES = 32;
/** Longest probe sequence followed before giving up (a miss, or a dropped add). */
const MAX_PROBE = 32;
export const DEFAULT_SIG_CACHE_CAPACITY = 65_536;
/** What Generation.find returns when the probe cap is reached (never a valid −1 − slot). */
const MISS_FULL = -0x7fffffff - 1;

/** One generation: an open-addressing table with linear probing, load ≤ 1/2. */
class Generation {
  readonly limit: number;
  readonly mask: number;
  /** Slot → entry index + 1 (0 = empty). */
  readonly slots: Int32Array;
  readonly keys: Uint8Array;
  count: number;

  constructor(limit: number) {
    let slotCount = 4;
    while (slotCount < limit * 2) slotCount *= 2;
    this.limit = limit;
    this.mask = slotCount - 1;
    this.slots = new Int32Array(slotCount);
    this.keys = new Uint8Array(limit * KEY_BYTES);
    this.count = 0;
  }

  /** The slot holding h, or −1 − (the first empty slot), or MISS_FULL when probing hit the cap. */
  find(h: Uint8Array): number {
    // The hash is uniform: its first four bytes are as good an index as any.
    let i =
      (((h[0] as number) | ((h[1] as number) << 8) | ((h[2] as number) << 16) | ((h[3] as number) << 24)) >>> 0) &
      this.mask;
    const keys = this.keys;
    for (let probe = 0; probe < MAX_PROBE; probe++) {
      const e = this.slots[i] as number;
      if (e === 0) return -1 - i;
      const o = (e - 1) * KEY_BYTES;
      let j = 0;
      while (j < KEY_BYTES && keys[o + j] === h[j]) j++;
      if (j === KEY_BYTES) return i;
      i = (i + 1) & this.mask;
    }
    return MISS_FULL;
  }

  has(h: Uint8Array): boolean {
    return this.find(h) >= 0;
  }

  /** Inserts h (absent, and count < limit); false when its probe run is full. */
  insert(h: Uint8Array, f: number): boolean {
    if (f === MISS_FULL) return false;
    const e = this.count++;
    this.keys.set(h, e * KEY_BYTES);
    this.slots[-1 - f] = e + 1;
    return true;
  }

  clear(): void {
    this.slots.fill(0);
    this.count = 0;
  }
}

export interface SigCacheOptions {
  /** Most hashes held (both generations together); at least 4. */
  capacity?: number;
}

export class SigCache {
  readonly capacity: number;
  private cur: Generation;
  private prev: Generation;

  constructor(opts: SigCacheOptions = {}) {
    const capacity = opts.capacity ?? DEFAULT_SIG_CACHE_CAPACITY;
    if (!Number.isSafeInteger(capacity) || capacity < 4 || capacity > 1 << 26) {
      throw new HeliosError("INVALID_ARGUMENT", { capacity }, "SigCache capacity must be an integer in [4, 2^26]");
    }
    this.capacity = capacity;
    this.cur = new Generation(capacity >>> 1);
    this.prev = new Generation(capacity >>> 1);
  }

  /** Hashes held now (at most `capacity`). */
  get size(): number {
    return this.cur.count + this.prev.count;
  }

  /** True when h (a 32-byte tx hash) was added and not yet forgotten. */
  has(h: Uint8Array): boolean {
    checkKey(h);
    const f = this.cur.find(h);
    if (f >= 0) return true;
    if (!this.prev.has(h)) return false;
    // Keep hashes in use: copy the hit forward so it outlives the next rotation.
    this.insertCurrent(h, f);
    return true;
  }

  /** Remembers that the transaction with hash h verified. */
  add(h: Uint8Array): void {
    checkKey(h);
    const f = this.cur.find(h);
    if (f >= 0) return;
    this.insertCurrent(h, f);
  }

  /** Forgets everything. */
  clear(): void {
    this.cur.clear();
    this.prev.clear();
  }

  private insertCurrent(h: Uint8Array, f: number): void {
    if (this.cur.count >= this.cur.limit) {
      const old = this.prev;
      this.prev = this.cur;
      old.clear();
      this.cur = old;
      f = old.find(h);
    }
    this.cur.insert(h, f);
  }
}

/** A signature cache holding up to `capacity` hashes (default 65,536). */
export function createSigCache(opts: SigCacheOptions = {}): SigCache {
  return new SigCache(opts);
}

function checkKey(h: Uint8Array): void {
  if (!(h instanceof Uint8Array) || h.length !== KEY_BYTES) {
    throw new HeliosError("INVALID_ARGUMENT", { length: (h as { length?: unknown })?.length }, "a tx hash is 32 bytes");
  }
}
