/**
 * exec/codec — the byte cursor pair shared by the transaction and block
 * codecs: `ByteReader` (bounds-checked decoding that can only fail with a
 * `DecodeError`) and `ByteWriter` (a growable buffer with the matching
 * writes), plus `DecodeError` itself.
 *
 * Purpose: every decoder of untrusted bytes in exec/ reads through a
 * ByteReader, so the rule "a decoder throws a DecodeError and nothing else,
 * on any input" is enforced in one place. Integers are read byte by byte
 * (no DataView, whose out-of-range reads throw RangeError) and every read
 * checks the bytes left first.
 *
 * Invariants:
 *   - Fixed-width integers are big-endian. `u64` refuses values above
 *     Number.MAX_SAFE_INTEGER (2^53 − 1); `u128` returns a bigint.
 *   - Lengths are the canonical varint of core (minimal LEB128, < 2^32).
 *   - A failed read leaves nothing half-done that matters: the reader throws
 *     and the caller discards it.
 *   - The writer checks its arguments with `assert` (a bad value there is a
 *     bug of the caller, which must validate user input first).
 * Costs: every read and write is O(its width); `copy` allocates from core's
 * arena (cheap below 1 KiB), `view` allocates one view object and copies
 * nothing. A DecodeError captures a stack trace (~µs), paid only on failure.
 */
import { assert, copyOut, decodeVarint, HeliosError, VARINT_OK, type VarintOut, varintReason } from "../core/index.js";

/** The codes a decoder may raise: one per kind of message (transactions, blocks). */
export type DecodeCode = "TX_MALFORMED" | "BLOCK_MALFORMED";

/**
 * Bytes that do not decode. `context.reason` says why and `context.pos` where;
 * the decoders of exec/ throw nothing else on any input.
 */
export class DecodeError extends HeliosError {
  constructor(code: DecodeCode, context: Record<string, unknown> = {}) {
    super(code, context, typeof context.reason === "string" ? context.reason : undefined);
    this.name = "DecodeError";
  }
}

const TWO_32 = 4294967296;
/** The largest high word of a u64 that keeps it a safe integer: 2^53 − 1 = 0x1fffff_ffffffff. */
const SAFE_HI_MAX = 0x1fffff;

/**
 * A cursor over buf[pos, end). Reuse one with `reset` on hot paths: it holds
 * no per-read state besides `pos`.
 */
export class ByteReader {
  buf: Uint8Array;
  pos: number;
  end: number;
  readonly code: DecodeCode;
  private readonly out: VarintOut;

  constructor(code: DecodeCode, buf: Uint8Array = new Uint8Array(0), pos = 0, end = buf.length) {
    this.code = code;
    this.buf = buf;
    this.pos = pos;
    this.end = end;
    this.out = { value: 0, pos: 0 };
  }

  /** Points the reader at new bytes. */
  reset(buf: Uint8Array, pos = 0, end = buf.length): this {
    this.buf = buf;
    this.pos = pos;
    this.end = end;
    return this;
  }

  /** Throws this reader's DecodeError with `reason` and the current position. */
  fail(reason: string, extra?: Record<string, unknown>): never {
    throw new DecodeError(this.code, { reason, pos: this.pos, ...extra });
  }

  remaining(): number {
    return this.end - this.pos;
  }

  /** Fails unless at least n more bytes are left. */
  need(n: number): void {
    if (n > this.end - this.pos) this.fail("truncated", { need: n, left: this.end - this.pos });
  }

  u8(): number {
    if (this.pos >= this.end) this.fail("truncated", { need: 1, left: 0 });
    return this.buf[this.pos++] as number;
  }

  u16(): number {
    this.need(2);
    const b = this.buf;
    const p = this.pos;
    this.pos = p + 2;
    return ((b[p] as number) << 8) | (b[p + 1] as number);
  }

  u32(): number {
    this.need(4);
    const b = this.buf;
    const p = this.pos;
    this.pos = p + 4;
    return (
      (((b[p] as number) << 24) | ((b[p + 1] as number) << 16) | ((b[p + 2] as number) << 8) | (b[p + 3] as number)) >>>
      0
    );
  }

  /** A u64 that must be a safe integer (≤ 2^53 − 1); larger values fail. */
  u64(): number {
    const hi = this.u32();
    if (hi > SAFE_HI_MAX) {
      this.pos -= 4;
      this.fail("u64 above 2^53 - 1");
    }
    return hi * TWO_32 + this.u32();
  }

  /** Any u64, as a bigint. */
  u64Big(): bigint {
    const hi = this.u32();
    const lo = this.u32();
    return hi === 0 ? BigInt(lo) : (BigInt(hi) << 32n) | BigInt(lo);
  }

  /** A u128 (16 bytes, big-endian), as a bigint. */
  u128(): bigint {
    const w0 = this.u32();
    const w1 = this.u32();
    const w2 = this.u32();
    const w3 = this.u32();
    if ((w0 | w1) === 0 && w2 <= SAFE_HI_MAX) return BigInt(w2 * TWO_32 + w3);
    return (BigInt(w0) << 96n) | (BigInt(w1) << 64n) | (BigInt(w2) << 32n) | BigInt(w3);
  }

  /** A canonical varint (minimal LEB128, below 2^32). */
  varint(): number {
    const st = decodeVarint(this.buf, this.pos, this.end, this.out);
    if (st !== VARINT_OK) this.fail(varintReason(st));
    this.pos = this.out.pos;
    return this.out.value;
  }

  /** Steps over the next n bytes. */
  skip(n: number): void {
    this.need(n);
    this.pos += n;
  }

  /** The next n bytes as a view into the input (no copy: it aliases the input). */
  view(n: number): Uint8Array {
    this.need(n);
    const p = this.pos;
    this.pos = p + n;
    return this.buf.subarray(p, p + n);
  }

  /** The next n bytes as a new array (the result owns its bytes). */
  copy(n: number): Uint8Array {
    this.need(n);
    const p = this.pos;
    this.pos = p + n;
    return copyOut(this.buf, p, n);
  }

  /** varint(length) ‖ bytes, copied; fails when the length exceeds `max`. */
  lengthPrefixed(max = 0xffffffff): Uint8Array {
    const n = this.varint();
    if (n > max) this.fail("length above its maximum", { length: n, max });
    return this.copy(n);
  }

  /** Fails unless every byte was consumed. */
  done(): void {
    if (this.pos !== this.end) this.fail("trailing bytes", { trailing: this.end - this.pos });
  }
}

/**
 * A growable output buffer. `finish()` returns the written bytes; when the
 * initial capacity was exact (the usual case: encoders size their output
 * first) that is the buffer itself, without a copy.
 */
export class ByteWriter {
  buf: Uint8Array;
  pos: number;

  constructor(capacity = 256) {
    this.buf = new Uint8Array(capacity);
    this.pos = 0;
  }

  /** Makes room for n more bytes. */
  ensure(n: number): void {
    const need = this.pos + n;
    if (need <= this.buf.length) return;
    let cap = this.buf.length * 2;
    if (cap < need) cap = need;
    const next = new Uint8Array(cap);
    next.set(this.buf.subarray(0, this.pos));
    this.buf = next;
  }

  u8(v: number): void {
    assert(Number.isInteger(v) && v >= 0 && v <= 0xff, "u8 out of range");
    this.ensure(1);
    this.buf[this.pos++] = v;
  }

  u16(v: number): void {
    assert(Number.isInteger(v) && v >= 0 && v <= 0xffff, "u16 out of range");
    this.ensure(2);
    const b = this.buf;
    const p = this.pos;
    b[p] = v >>> 8;
    b[p + 1] = v & 0xff;
    this.pos = p + 2;
  }

  u32(v: number): void {
    assert(Number.isInteger(v) && v >= 0 && v <= 0xffffffff, "u32 out of range");
    this.ensure(4);
    this.put32(v);
  }

  /** A safe non-negative integer as a u64. */
  u64(v: number): void {
    assert(Number.isSafeInteger(v) && v >= 0, "u64 must be a safe non-negative integer");
    this.ensure(8);
    const hi = Math.floor(v / TWO_32);
    this.put32(hi);
    this.put32(v - hi * TWO_32);
  }

  u64Big(v: bigint): void {
    assert(v >= 0n && v <= 0xffffffffffffffffn, "u64 out of range");
    this.ensure(8);
    this.put32(Number(v >> 32n));
    this.put32(Number(v & 0xffffffffn));
  }

  u128(v: bigint): void {
    assert(v >= 0n && v <= 0xffffffffffffffffffffffffffffffffn, "u128 out of range");
    this.ensure(16);
    if (v <= 0xffffffffn) {
      const b = this.buf;
      const p = this.pos;
      for (let i = 0; i < 12; i++) b[p + i] = 0;
      this.pos = p + 12;
      this.put32(Number(v));
      return;
    }
    this.put32(Number(v >> 96n));
    this.put32(Number((v >> 64n) & 0xffffffffn));
    this.put32(Number((v >> 32n) & 0xffffffffn));
    this.put32(Number(v & 0xffffffffn));
  }

  /** The canonical varint of a u32. */
  varint(v: number): void {
    assert(Number.isInteger(v) && v >= 0 && v <= 0xffffffff, "varint out of range");
    this.ensure(5);
    let p = this.pos;
    const b = this.buf;
    while (v >= 0x80) {
      b[p++] = (v & 0x7f) | 0x80;
      v = Math.floor(v / 128);
    }
    b[p++] = v;
    this.pos = p;
  }

  bytes(src: Uint8Array): void {
    this.ensure(src.length);
    const b = this.buf;
    const p = this.pos;
    const n = src.length;
    if (n <= 64) for (let i = 0; i < n; i++) b[p + i] = src[i] as number;
    else b.set(src, p);
    this.pos = p + n;
  }

  /** varint(length) ‖ bytes. */
  lengthPrefixed(src: Uint8Array): void {
    this.varint(src.length);
    this.bytes(src);
  }

  /** The bytes written so far: the buffer itself when it is exactly full, else a copy. */
  finish(): Uint8Array {
    return this.pos === this.buf.length ? this.buf : this.buf.slice(0, this.pos);
  }

  /** Unchecked 4-byte write; callers ensure() first. */
  private put32(v: number): void {
    const b = this.buf;
    const p = this.pos;
    b[p] = v >>> 24;
    b[p + 1] = (v >>> 16) & 0xff;
    b[p + 2] = (v >>> 8) & 0xff;
    b[p + 3] = v & 0xff;
    this.pos = p + 4;
  }
}
