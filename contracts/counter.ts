/**
 * contracts/counter — a u64 counter in one storage slot.
 *
 * Methods: increment() → the new value (8 bytes LE); add(n: u64 LE) → the new
 * value; get() → the value; incrementThenRevert() increments and then reverts
 * with "nope" (so callers can check that a failed callee's write is undone).
 * Invariants: the value lives under key "c" as 8 bytes LE; absent means 0;
 * add reverts with "overflow" rather than wrapping.
 * Costs: one storage read and at most one storage write per method.
 */
import { input, output, readU64, revertWith, storageGetU64, storageSetU64, u64Bytes, bytesOf } from "./lib/index";

const KEY = "c";

function bump(n: u64): u64 {
  const key = bytesOf(KEY);
  const v = storageGetU64(key);
  const next = v + n;
  if (next < v) revertWith("overflow");
  storageSetU64(key, next);
  return next;
}

export function increment(): void {
  output(u64Bytes(bump(1)));
}

export function add(): void {
  output(u64Bytes(bump(readU64(input(), 0))));
}

export function get(): void {
  output(u64Bytes(storageGetU64(bytesOf(KEY))));
}

export function incrementThenRevert(): void {
  bump(1);
  revertWith("nope");
}
