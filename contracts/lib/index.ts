/**
 * contracts/lib — typed helpers over the Helios host ABI for AssemblyScript
 * contracts: input and output, u128 amounts, addresses, storage, events and
 * cross-contract calls.
 *
 * Invariants: no floats anywhere (the validator rejects f32/f64); an Address
 * is a Uint8Array of exactly 32 bytes; a U128 is two u64 halves and travels as
 * 16 bytes little-endian. revert() never returns.
 * Costs: each helper is one host call plus one allocation for what it returns
 * (the stub runtime never frees, so keep contracts short-lived, which they are:
 * every call gets a fresh instance).
 */
import * as env from "./env";

export { env };

export const ADDRESS_BYTES: i32 = 32;
export const U128_BYTES: i32 = 16;

/** A 32-byte account or contract address. */
export type Address = Uint8Array;

/** Status codes `call` returns (docs/contracts.md §Call status codes; the receipt's numbering). */
export namespace CallStatus {
  export const OK: i32 = 0;
  export const REVERT: i32 = 1;
  export const OUT_OF_GAS: i32 = 2;
  export const TRAP: i32 = 3;
  export const STACK_OVERFLOW: i32 = 4;
  export const CALL_DEPTH: i32 = 5;
  export const MODULE_INVALID: i32 = 6;
  export const NO_SUCH_METHOD: i32 = 7;
  export const NOT_A_CONTRACT: i32 = 8;
  export const INSUFFICIENT_BALANCE: i32 = 9;
  export const HOST_ARGUMENT: i32 = 10;
}

// ---------------------------------------------------------------- bytes

/** Pointer to the first byte of an array (for host calls). */
@inline
export function ptr(b: Uint8Array): usize {
  return b.dataStart;
}

export function bytesOf(s: string): Uint8Array {
  return Uint8Array.wrap(String.UTF8.encode(s));
}

export function concat2(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a, 0);
  out.set(b, a.length);
  return out;
}

export function concat3(a: Uint8Array, b: Uint8Array, c: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length + c.length);
  out.set(a, 0);
  out.set(b, a.length);
  out.set(c, a.length + b.length);
  return out;
}

/** A copy of b[off .. off+len); reverts when the range is outside b. */
export function sliceOf(b: Uint8Array, off: i32, len: i32): Uint8Array {
  if (off < 0 || len < 0 || off + len > b.length) revertWith("bad args");
  return b.slice(off, off + len);
}

export function readU32(b: Uint8Array, off: i32): u32 {
  if (off < 0 || off + 4 > b.length) revertWith("bad args");
  return load<u32>(b.dataStart + <usize>off);
}

export function readU64(b: Uint8Array, off: i32): u64 {
  if (off < 0 || off + 8 > b.length) revertWith("bad args");
  return load<u64>(b.dataStart + <usize>off);
}

export function u64Bytes(v: u64): Uint8Array {
  const out = new Uint8Array(8);
  store<u64>(out.dataStart, v);
  return out;
}

export function u32Bytes(v: u32): Uint8Array {
  const out = new Uint8Array(4);
  store<u32>(out.dataStart, v);
  return out;
}

// ---------------------------------------------------------------- u128

/** An unsigned 128-bit integer as two u64 halves; arithmetic reverts on overflow. */
export class U128 {
  constructor(
    public lo: u64 = 0,
    public hi: u64 = 0,
  ) {}

  static zero(): U128 {
    return new U128(0, 0);
  }

  static from64(v: u64): U128 {
    return new U128(v, 0);
  }

  /** Reads 16 bytes little-endian at b[off]; reverts when b is too short. */
  static read(b: Uint8Array, off: i32): U128 {
    if (off < 0 || off + 16 > b.length) revertWith("bad args");
    const p = b.dataStart + <usize>off;
    return new U128(load<u64>(p), load<u64>(p + 8));
  }

  toBytes(): Uint8Array {
    const out = new Uint8Array(16);
    store<u64>(out.dataStart, this.lo);
    store<u64>(out.dataStart + 8, this.hi);
    return out;
  }

  isZero(): bool {
    return this.lo == 0 && this.hi == 0;
  }

  eq(o: U128): bool {
    return this.lo == o.lo && this.hi == o.hi;
  }

  lt(o: U128): bool {
    return this.hi < o.hi || (this.hi == o.hi && this.lo < o.lo);
  }

  gte(o: U128): bool {
    return !this.lt(o);
  }

  add(o: U128): U128 {
    const lo = this.lo + o.lo;
    const carry: u64 = lo < this.lo ? 1 : 0;
    const hi1 = this.hi + o.hi;
    const hi = hi1 + carry;
    if (hi1 < this.hi || hi < hi1) revertWith("u128 overflow");
    return new U128(lo, hi);
  }

  sub(o: U128): U128 {
    if (this.lt(o)) revertWith("u128 underflow");
    const lo = this.lo - o.lo;
    const borrow: u64 = this.lo < o.lo ? 1 : 0;
    return new U128(lo, this.hi - o.hi - borrow);
  }
}

// ---------------------------------------------------------------- the call

/** The call's argument bytes. */
export function input(): Uint8Array {
  const n = env.input_len();
  const b = new Uint8Array(n);
  if (n > 0) env.input_read(b.dataStart);
  return b;
}

/** The last host result (a storage value, or a nested call's return or revert data). */
export function result(): Uint8Array {
  const n = env.result_len();
  const b = new Uint8Array(n);
  if (n > 0) env.result_read(b.dataStart);
  return b;
}

/** Sets the call's output. Execution continues; return from the method after it. */
export function output(b: Uint8Array): void {
  env.ret(b.dataStart, b.length);
}

/** Ends the call with REVERT and `data` as its output: its writes are undone. */
export function revertBytes(data: Uint8Array): void {
  env.revert(data.dataStart, data.length);
  unreachable();
}

/** Ends the call with REVERT and a UTF-8 message as its output. */
export function revertWith(message: string): void {
  revertBytes(bytesOf(message));
}

// ---------------------------------------------------------------- context

export function caller(): Address {
  const b = new Uint8Array(ADDRESS_BYTES);
  env.caller(b.dataStart);
  return b;
}

export function self(): Address {
  const b = new Uint8Array(ADDRESS_BYTES);
  env.self(b.dataStart);
  return b;
}

/** The native value sent with this call (already credited to self). */
export function callValue(): U128 {
  const b = new Uint8Array(U128_BYTES);
  env.value(b.dataStart);
  return U128.read(b, 0);
}

export function balanceOf(addr: Address): U128 {
  const b = new Uint8Array(U128_BYTES);
  env.balance(addr.dataStart, b.dataStart);
  return U128.read(b, 0);
}

/** Sends native value from this contract's account; false when it cannot cover it. */
export function transferValue(to: Address, amount: U128): bool {
  const a = amount.toBytes();
  return env.transfer(to.dataStart, a.dataStart) == 0;
}

export function blockHeight(): i64 {
  return env.block_height();
}

export function blockTimeMs(): i64 {
  return env.block_time();
}

export function gasLeft(): i64 {
  return env.gas_left();
}

/** Reads an address argument at b[off]; reverts when b is too short. */
export function readAddress(b: Uint8Array, off: i32): Address {
  return sliceOf(b, off, ADDRESS_BYTES);
}

// ---------------------------------------------------------------- storage

/** The stored value, or null when the key is absent. */
export function storageGet(key: Uint8Array): Uint8Array | null {
  const n = env.storage_get(key.dataStart, key.length);
  if (n < 0) return null;
  const b = new Uint8Array(n);
  if (n > 0) env.result_read(b.dataStart);
  return b;
}

export function storageSet(key: Uint8Array, value: Uint8Array): void {
  env.storage_set(key.dataStart, key.length, value.dataStart, value.length);
}

export function storageDelete(key: Uint8Array): void {
  env.storage_delete(key.dataStart, key.length);
}

/** A stored u128 (zero when absent). */
export function storageGetU128(key: Uint8Array): U128 {
  const v = storageGet(key);
  if (v == null) return U128.zero();
  return U128.read(v, 0);
}

/** Stores a u128; zero deletes the key so empty balances take no space. */
export function storageSetU128(key: Uint8Array, v: U128): void {
  if (v.isZero()) storageDelete(key);
  else storageSet(key, v.toBytes());
}

/** A stored u64 (zero when absent). */
export function storageGetU64(key: Uint8Array): u64 {
  const v = storageGet(key);
  if (v == null) return 0;
  return readU64(v, 0);
}

export function storageSetU64(key: Uint8Array, v: u64): void {
  storageSet(key, u64Bytes(v));
}

/** A storage key: one prefix byte followed by up to two parts. */
export function key1(prefix: u8, a: Uint8Array): Uint8Array {
  const out = new Uint8Array(1 + a.length);
  out[0] = prefix;
  out.set(a, 1);
  return out;
}

export function key2(prefix: u8, a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(1 + a.length + b.length);
  out[0] = prefix;
  out.set(a, 1);
  out.set(b, 1 + a.length);
  return out;
}

// ---------------------------------------------------------------- events

export function emitEvent(topic: string, data: Uint8Array): void {
  const t = bytesOf(topic);
  env.emit(t.dataStart, t.length, data.dataStart, data.length);
}

// ---------------------------------------------------------------- calls

/**
 * Calls `method` of the contract at `to` with `args`, sending `value` and at
 * most `gas` (negative: all gas left). Returns the status code (0 ok); the
 * callee's return or revert data is then in result().
 */
export function callContract(to: Address, method: string, args: Uint8Array, value: U128, gas: i64): i32 {
  const m = bytesOf(method);
  const v = value.toBytes();
  return env.call(to.dataStart, m.dataStart, m.length, args.dataStart, args.length, v.dataStart, gas);
}
