/**
 * core/bloom — a Bloom filter over byte keys: "certainly absent" or "maybe present".
 *
 * Purpose: let a caller skip work for keys it has never seen, e.g. the disk
 * lookup for a chunk that is certainly new when a directory is checkpointed,
 * or a store read for a key that is certainly absent (docs/sketches.md).
 *
 * Hashing: each key gives two 32-bit words (h1, h2). A key of exactly 32
 * bytes is taken to be a BLAKE3 digest (a chunk id, a node id) and its words
 * are read straight from bytes 0..7, little-endian; any other length is
 * hashed with BLAKE3 first (a 32-byte key that is NOT uniformly random must
 * be hashed by the caller, or it loses the filter's error bound). The k bit
 * positions come from enhanced double hashing (Kirsch–Mitzenmacher, with the
 * Dillinger–Manolios quadratic step so that h2 ≡ 0 mod m does not collapse
 * all k probes onto one bit):
 *   x = ⌊h1·m / 2^32⌋, y = ⌊h2·m / 2^32⌋;  probe x;  then x += y, y += i  (mod m), i = 1..k-1
 * (the multiply maps a word onto [0, m) without a floating-point modulo,
 * which costs more than the rest of a probe on V8).
 *
 * Invariants: no false negatives: once add(key) returns, mightContain(key)
 * is true for this filter, for its round trip through toBytes/fromBytes and
 * for every union containing it. `count` is the number of add calls
 * (duplicates included); `bitsSet` is the exact number of 1 bits. Bits past
 * m in the last byte are always 0, so the encoding is canonical.
 *
 * Costs: add and mightContain are O(k) with no allocation (a 32-byte key
 * touches no hash at all; other keys cost one BLAKE3 call into a module
 * scratch buffer). Memory is ceil(m/8) bytes: at the optimum, 9.6 bits per key
 * for a 1% false-positive rate and 14.4 bits for 0.1%. union, toBytes and
 * fromBytes are O(m/8).
 *
 * Encoding (version 1), all integers little-endian:
 *   u8 version=1 ‖ u32 m (bits) ‖ u8 k (hashes) ‖ u64 count ‖ ceil(m/8) bytes of bits
 * Bit i lives in byte i>>3 at bit (i & 7), least significant first.
 */
import { HeliosError } from "./errors.js";
import { HASH_BYTES, hashInto } from "./hash.js";

/** The largest filter: m is a u32 in the encoding (512 MiB of bits). */
export const BLOOM_MAX_BITS = 0xffffffff;
/** More hash functions than this never pays (k = 32 is optimal only for p ≈ 2^-32). */
export const BLOOM_MAX_HASHES = 32;

const VERSION = 1;
const HEADER_BYTES = 14;
const TWO32 = 2 ** 32;
const INV_TWO32 = 2 ** -32;
/** The largest count the encoding accepts: a safe integer (high word < 2^21). */
const MAX_COUNT = Number.MAX_SAFE_INTEGER;

/** Scratch digest for keys that are not 32 bytes long; shared, as JS is single-threaded. */
const digest = new Uint8Array(HASH_BYTES);
/** Where keyWords leaves h1 and h2. */
const words = new Uint32Array(2);

/** Bits set in each byte value, for popcounts over the bit array. */
const POP8 = new Uint8Array(256);
for (let i = 1; i < 256; i++) POP8[i] = (i & 1) + (POP8[i >> 1] as number);

function popcount(b: Uint8Array): number {
  let n = 0;
  for (let i = 0; i < b.length; i++) n += POP8[b[i] as number] as number;
  return n;
}

/** Fills `words` with the key's two 32-bit hash words (see the module header). */
function keyWords(key: Uint8Array): void {
  if (!(key instanceof Uint8Array)) {
    throw new HeliosError("INVALID_ARGUMENT", { what: "key" }, "a Bloom filter key must be a Uint8Array");
  }
  let src = key;
  if (key.length !== HASH_BYTES) {
    hashInto(key, digest, 0);
    src = digest;
  }
  words[0] = (src[0] as number) | ((src[1] as number) << 8) | ((src[2] as number) << 16) | ((src[3] as number) << 24);
  words[1] = (src[4] as number) | ((src[5] as number) << 8) | ((src[6] as number) << 16) | ((src[7] as number) << 24);
}

function malformed(reason: string, context: Record<string, unknown> = {}): never {
  throw new HeliosError("CODEC_MALFORMED", { what: "bloom filter", ...context }, `Bloom filter: ${reason}`);
}

export class BloomFilter {
  private readonly m: number;
  private readonly k: number;
  private readonly bitArray: Uint8Array;
  private adds: number;
  private ones: number;

  /**
   * The filter with the fewest bits whose false-positive rate stays at or
   * below `fpRate` after `n` distinct adds: m = ⌈−n·ln p / (ln 2)²⌉ rounded up
   * to a whole byte, k = round((m/n)·ln 2), at least 1.
   */
  static forCapacity(n: number, fpRate: number): BloomFilter {
    if (!Number.isInteger(n) || n < 0) {
      throw new HeliosError("INVALID_ARGUMENT", { n }, "capacity must be a non-negative integer");
    }
    if (!(fpRate > 0 && fpRate < 1)) {
      throw new HeliosError("INVALID_ARGUMENT", { fpRate }, "fpRate must lie strictly between 0 and 1");
    }
    const keys = Math.max(n, 1);
    const ideal = Math.ceil((-keys * Math.log(fpRate)) / (Math.LN2 * Math.LN2));
    const m = Math.max(8, Math.ceil(ideal / 8) * 8);
    if (m > BLOOM_MAX_BITS) {
      throw new HeliosError(
        "INVALID_ARGUMENT",
        { n, fpRate, bits: m, maxBits: BLOOM_MAX_BITS },
        "a filter this large exceeds BLOOM_MAX_BITS; split the key set",
      );
    }
    const k = Math.min(BLOOM_MAX_HASHES, Math.max(1, Math.round((m / keys) * Math.LN2)));
    return new BloomFilter(m, k);
  }

  constructor(bits: number, hashes: number) {
    if (!Number.isInteger(bits) || bits < 1 || bits > BLOOM_MAX_BITS) {
      throw new HeliosError(
        "INVALID_ARGUMENT",
        { bits, maxBits: BLOOM_MAX_BITS },
        "bits must be an integer in 1..2^32-1",
      );
    }
    if (!Number.isInteger(hashes) || hashes < 1 || hashes > BLOOM_MAX_HASHES) {
      throw new HeliosError("INVALID_ARGUMENT", { hashes, maxHashes: BLOOM_MAX_HASHES }, "hashes must be in 1..32");
    }
    this.m = bits;
    this.k = hashes;
    this.bitArray = new Uint8Array(Math.ceil(bits / 8));
    this.adds = 0;
    this.ones = 0;
  }

  /** m, the number of bits. */
  get bits(): number {
    return this.m;
  }

  /** k, the number of bit positions per key. */
  get hashes(): number {
    return this.k;
  }

  /** How many times add was called (duplicates included; the sum over a union). */
  get count(): number {
    return this.adds;
  }

  /** How many of the m bits are 1. */
  get bitsSet(): number {
    return this.ones;
  }

  add(key: Uint8Array): void {
    keyWords(key);
    const m = this.m;
    const arr = this.bitArray;
    let x = Math.floor((words[0] as number) * INV_TWO32 * m);
    let y = Math.floor((words[1] as number) * INV_TWO32 * m);
    let ones = this.ones;
    for (let i = 1; ; i++) {
      const at = x >>> 3;
      const bit = 1 << (x & 7);
      const b = arr[at] as number;
      if ((b & bit) === 0) {
        arr[at] = b | bit;
        ones++;
      }
      if (i === this.k) break;
      x += y;
      if (x >= m) x -= m;
      y += i;
      while (y >= m) y -= m; // i < 32, so this loops more than once only when m < 32
    }
    this.ones = ones;
    this.adds++;
  }

  /** False means the key was certainly never added; true means it probably was. */
  mightContain(key: Uint8Array): boolean {
    keyWords(key);
    const m = this.m;
    const arr = this.bitArray;
    let x = Math.floor((words[0] as number) * INV_TWO32 * m);
    let y = Math.floor((words[1] as number) * INV_TWO32 * m);
    for (let i = 1; ; i++) {
      if (((arr[x >>> 3] as number) & (1 << (x & 7))) === 0) return false;
      if (i === this.k) return true;
      x += y;
      if (x >= m) x -= m;
      y += i;
      while (y >= m) y -= m; // i < 32, so this loops more than once only when m < 32
    }
  }

  /**
   * The chance that a key never added is reported present, given the bits
   * set now: (bitsSet / m)^k. This reads the filter's actual fill, so it
   * stays right after duplicate adds and unions (where `count` overstates the
   * distinct keys); for n distinct adds it tracks (1 − e^(−kn/m))^k.
   */
  estimatedFpRate(): number {
    return (this.ones / this.m) ** this.k;
  }

  /** The canonical encoding (see the module header). */
  toBytes(): Uint8Array {
    const out = new Uint8Array(HEADER_BYTES + this.bitArray.length);
    const view = new DataView(out.buffer);
    out[0] = VERSION;
    view.setUint32(1, this.m, true);
    out[5] = this.k;
    view.setUint32(6, this.adds % TWO32, true);
    view.setUint32(10, Math.floor(this.adds / TWO32), true);
    out.set(this.bitArray, HEADER_BYTES);
    return out;
  }

  /** Decodes toBytes' output; anything else throws CODEC_MALFORMED. */
  static fromBytes(b: Uint8Array): BloomFilter {
    if (!(b instanceof Uint8Array)) {
      throw new HeliosError("INVALID_ARGUMENT", { what: "bytes" }, "BloomFilter.fromBytes takes a Uint8Array");
    }
    if (b.length < HEADER_BYTES) malformed("shorter than its header", { length: b.length });
    const view = new DataView(b.buffer, b.byteOffset, b.byteLength);
    if (b[0] !== VERSION) malformed("unknown version", { version: b[0] });
    const m = view.getUint32(1, true);
    const k = b[5] as number;
    const count = view.getUint32(6, true) + view.getUint32(10, true) * TWO32;
    if (m < 1) malformed("zero bits");
    if (k < 1 || k > BLOOM_MAX_HASHES) malformed("hash count out of range", { hashes: k });
    if (!Number.isSafeInteger(count) || count > MAX_COUNT) malformed("count is not a safe integer");
    const nBytes = Math.ceil(m / 8);
    if (b.length !== HEADER_BYTES + nBytes) {
      malformed("length does not match the bit count", { length: b.length, expected: HEADER_BYTES + nBytes });
    }
    const tailBits = m & 7;
    if (tailBits !== 0 && (b[b.length - 1] as number) >> tailBits !== 0) malformed("bits set past the end");
    const f = new BloomFilter(m, k);
    f.bitArray.set(b.subarray(HEADER_BYTES));
    f.ones = popcount(f.bitArray);
    // Every 1 bit was set by some add, and each add sets at most k bits.
    if (f.ones > count * k) malformed("more bits set than its adds could set", { bitsSet: f.ones, count });
    f.adds = count;
    return f;
  }

  /** A new filter holding the keys of both (bitwise OR); both must have the same m and k. */
  union(other: BloomFilter): BloomFilter {
    if (!(other instanceof BloomFilter) || other.m !== this.m || other.k !== this.k) {
      throw new HeliosError(
        "INVALID_ARGUMENT",
        { bits: this.m, hashes: this.k, otherBits: other?.m, otherHashes: other?.k },
        "only Bloom filters with the same bits and hashes can be united",
      );
    }
    const f = new BloomFilter(this.m, this.k);
    const a = this.bitArray;
    const o = other.bitArray;
    const r = f.bitArray;
    for (let i = 0; i < r.length; i++) r[i] = (a[i] as number) | (o[i] as number);
    f.ones = popcount(r);
    f.adds = Math.min(MAX_COUNT, this.adds + other.adds);
    return f;
  }
}
