/**
 * core/hll — HyperLogLog: an estimate of how many distinct keys were added.
 *
 * Purpose: count distinct keys in fixed memory, e.g. the distinct keys
 * written on a branch, and merge those counts across branches without
 * re-reading the keys (docs/sketches.md).
 *
 * Hashing: each key gives a 64-bit word w = (w0, w1). A key of exactly 32
 * bytes is taken to be a BLAKE3 digest and w is read straight from bytes
 * 0..7, little-endian words; any other length is hashed with BLAKE3 first
 * (the same rule as core/bloom). The top p bits of w0 pick the register; the
 * rank is the 1-based position of the first 1 bit in the remaining q = 64 − p
 * bits (q + 1 when they are all 0), and the register keeps the largest rank
 * seen. With 64 hash bits no large-range correction is needed.
 *
 * Estimator: Ertl's "improved raw estimator" (O. Ertl, New cardinality
 * estimation algorithms for HyperLogLog sketches, 2017). From the histogram
 * C[r] of register values it computes
 *   E = m² / (2 ln 2) / ( m·σ(C[0]/m) + Σ_{r=1..q} C[r]·2^−r + m·τ(1 − C[q+1]/m)·2^−q )
 * σ(x) = x + Σ_{j≥1} x^(2^j)·2^(j−1) stands in for the registers still at 0:
 * this is the small-range correction, a continuous form of linear counting
 * (m·ln(m/V) with V zero registers) that needs no switch-over threshold; the
 * tests check that the two agree while most registers are empty. τ does the
 * same for saturated registers. The estimator needs no empirical bias tables
 * (which HLL++ uses) and has relative standard error ≈ 1.04/√m over the whole
 * range, from 0 (exactly 0) to 2^64.
 *
 * Invariants: registers never decrease; merge is the register-wise max, so
 * merging is commutative, associative and idempotent, and merge(a, b) has
 * exactly the registers of a sketch fed both key sets. Adding a key twice
 * changes nothing. Every register is ≤ q + 1.
 *
 * Costs: 2^p bytes (16 KiB at the default p = 14, standard error 0.81%).
 * add is O(1) with no allocation (one BLAKE3 call unless the key is a 32-byte
 * digest); count, merge, clone and the codec are O(2^p).
 *
 * Encoding (version 1): u8 version=1 ‖ u8 p ‖ 2^p register bytes.
 */
import { HeliosError } from "./errors.js";
import { HASH_BYTES, hashInto } from "./hash.js";

export const HLL_MIN_PRECISION = 4;
export const HLL_MAX_PRECISION = 18;
export const HLL_DEFAULT_PRECISION = 14;

const VERSION = 1;
const HEADER_BYTES = 2;
/** α∞ = 1 / (2 ln 2), the limit of the HyperLogLog constant α_m. */
const ALPHA_INF = 1 / (2 * Math.LN2);
/** The largest count reported: the number of distinct 64-bit hash words. */
const MAX_ESTIMATE = 2 ** 64;

/** Scratch digest for keys that are not 32 bytes long. */
const digest = new Uint8Array(HASH_BYTES);
/** Scratch histogram of register values for count (ranks ≤ 61). */
const hist = new Float64Array(64);

/** σ(x) = x + Σ_{j≥1} x^(2^j)·2^(j−1), summed until it stops changing; σ(1) = ∞. */
function sigma(x: number): number {
  if (x === 1) return Number.POSITIVE_INFINITY;
  let y = 1;
  let z = x;
  for (;;) {
    x *= x;
    const before = z;
    z += x * y;
    y += y;
    if (z === before) return z;
  }
}

/** τ(x) = (1 − x − Σ_{j≥1} (1 − x^(2^−j))²·2^−j) / 3; τ(0) = τ(1) = 0. */
function tau(x: number): number {
  if (x === 0 || x === 1) return 0;
  let y = 1;
  let z = 1 - x;
  for (;;) {
    x = Math.sqrt(x);
    const before = z;
    y *= 0.5;
    z -= (1 - x) * (1 - x) * y;
    if (z === before) return z / 3;
  }
}

function checkPrecision(p: unknown): number {
  if (typeof p !== "number" || !Number.isInteger(p) || p < HLL_MIN_PRECISION || p > HLL_MAX_PRECISION) {
    throw new HeliosError(
      "INVALID_ARGUMENT",
      { precision: p, min: HLL_MIN_PRECISION, max: HLL_MAX_PRECISION },
      "HyperLogLog precision must be an integer in 4..18",
    );
  }
  return p;
}

function malformed(reason: string, context: Record<string, unknown> = {}): never {
  throw new HeliosError("CODEC_MALFORMED", { what: "hyperloglog", ...context }, `HyperLogLog: ${reason}`);
}

export class HyperLogLog {
  private readonly p: number;
  private readonly registers: Uint8Array;

  constructor(precision: number = HLL_DEFAULT_PRECISION) {
    this.p = checkPrecision(precision);
    this.registers = new Uint8Array(1 << this.p);
  }

  /** p: the sketch has 2^p registers. */
  get precision(): number {
    return this.p;
  }

  /** The relative standard error of count(), 1.04/√(2^p). */
  get standardError(): number {
    return 1.04 / Math.sqrt(this.registers.length);
  }

  add(key: Uint8Array): void {
    if (!(key instanceof Uint8Array)) {
      throw new HeliosError("INVALID_ARGUMENT", { what: "key" }, "a HyperLogLog key must be a Uint8Array");
    }
    let s = key;
    if (key.length !== HASH_BYTES) {
      hashInto(key, digest, 0);
      s = digest;
    }
    const w0 = ((s[0] as number) | ((s[1] as number) << 8) | ((s[2] as number) << 16) | ((s[3] as number) << 24)) >>> 0;
    const p = this.p;
    const idx = w0 >>> (32 - p);
    // The q = 64 − p rank bits: the low 32 − p bits of w0 (shifted to the top), then w1.
    const rest = (w0 << p) >>> 0;
    let rank: number;
    if (rest !== 0) {
      rank = Math.clz32(rest) + 1;
    } else {
      const w1 = (s[4] as number) | ((s[5] as number) << 8) | ((s[6] as number) << 16) | ((s[7] as number) << 24);
      rank = 32 - p + (w1 === 0 ? 33 : Math.clz32(w1) + 1);
    }
    if (rank > (this.registers[idx] as number)) this.registers[idx] = rank;
  }

  /** The estimated number of distinct keys added (rounded; 0 for an empty sketch, at most 2^64). */
  count(): number {
    const m = this.registers.length;
    const q = 64 - this.p;
    hist.fill(0, 0, q + 2);
    const regs = this.registers;
    for (let i = 0; i < m; i++) {
      const r = regs[i] as number;
      hist[r] = (hist[r] as number) + 1;
    }
    let z = m * tau(1 - (hist[q + 1] as number) / m);
    for (let r = q; r >= 1; r--) z = 0.5 * (z + (hist[r] as number));
    z += m * sigma((hist[0] as number) / m);
    // Only a sketch with every register saturated gives z = 0; cap it at the hash range.
    return Math.round(Math.min((ALPHA_INF * m * m) / z, MAX_ESTIMATE));
  }

  /** Folds other into this sketch (register-wise max); both must have the same precision. */
  merge(other: HyperLogLog): void {
    if (!(other instanceof HyperLogLog) || other.p !== this.p) {
      throw new HeliosError(
        "INVALID_ARGUMENT",
        { precision: this.p, otherPrecision: other?.p },
        "only HyperLogLog sketches of the same precision can be merged",
      );
    }
    const a = this.registers;
    const o = other.registers;
    for (let i = 0; i < a.length; i++) if ((o[i] as number) > (a[i] as number)) a[i] = o[i] as number;
  }

  clone(): HyperLogLog {
    const h = new HyperLogLog(this.p);
    h.registers.set(this.registers);
    return h;
  }

  /** The canonical encoding (see the module header). */
  toBytes(): Uint8Array {
    const out = new Uint8Array(HEADER_BYTES + this.registers.length);
    out[0] = VERSION;
    out[1] = this.p;
    out.set(this.registers, HEADER_BYTES);
    return out;
  }

  /** Decodes toBytes' output; anything else throws CODEC_MALFORMED. */
  static fromBytes(b: Uint8Array): HyperLogLog {
    if (!(b instanceof Uint8Array)) {
      throw new HeliosError("INVALID_ARGUMENT", { what: "bytes" }, "HyperLogLog.fromBytes takes a Uint8Array");
    }
    if (b.length < HEADER_BYTES) malformed("shorter than its header", { length: b.length });
    if (b[0] !== VERSION) malformed("unknown version", { version: b[0] });
    const p = b[1] as number;
    if (p < HLL_MIN_PRECISION || p > HLL_MAX_PRECISION) malformed("precision out of range", { precision: p });
    const m = 1 << p;
    if (b.length !== HEADER_BYTES + m) {
      malformed("length does not match the precision", { length: b.length, expected: HEADER_BYTES + m });
    }
    const maxRank = 65 - p;
    for (let i = HEADER_BYTES; i < b.length; i++) {
      if ((b[i] as number) > maxRank) malformed("a register exceeds the largest rank", { register: i - HEADER_BYTES });
    }
    const h = new HyperLogLog(p);
    h.registers.set(b.subarray(HEADER_BYTES));
    return h;
  }
}
