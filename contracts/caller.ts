/**
 * contracts/caller — a contract that calls other contracts, for the
 * cross-contract tests and as an example of `call`.
 *
 * Methods:
 *   bump(counter: addr, gas: i64 LE) → the counter's new value. Calls
 *       counter.increment with `gas` (negative: all gas left) and records the
 *       number of successful bumps under "n"; reverts with the callee's
 *       status byte if it fails.
 *   forward(token: addr, to: addr, amount: u128) → status (1 byte). Moves
 *       this contract's own tokens: calls token.transfer(to, amount).
 *   tryRevert(counter: addr) → status (1 byte) ‖ the callee's revert data.
 *       Writes "t" = 1, then calls counter.incrementThenRevert and continues:
 *       the callee's increment is undone, this contract's write is kept.
 * Invariants: a failed callee never makes this contract fail, except in bump,
 * which reverts on purpose.
 * Costs: one nested call per method, plus one storage write.
 */
import {
  CallStatus,
  U128,
  bytesOf,
  callContract,
  concat2,
  input,
  output,
  readAddress,
  readU64,
  result,
  revertBytes,
  sliceOf,
  storageGetU64,
  storageSetU64,
} from "./lib/index";

function statusByte(status: i32): Uint8Array {
  const b = new Uint8Array(1);
  b[0] = <u8>status;
  return b;
}

export function bump(): void {
  const args = input();
  const counter = readAddress(args, 0);
  const gas = <i64>readU64(args, 32);
  const status = callContract(counter, "increment", new Uint8Array(0), U128.zero(), gas);
  if (status != CallStatus.OK) revertBytes(statusByte(status));
  // Read the callee's output first: storage_get replaces the result buffer.
  const out = result();
  const key = bytesOf("n");
  storageSetU64(key, storageGetU64(key) + 1);
  output(out);
}

export function forward(): void {
  const args = input();
  const token = readAddress(args, 0);
  const transferArgs = sliceOf(args, 32, 48);
  const status = callContract(token, "transfer", transferArgs, U128.zero(), -1);
  output(statusByte(status));
}

export function tryRevert(): void {
  const args = input();
  const counter = readAddress(args, 0);
  storageSetU64(bytesOf("t"), 1);
  const status = callContract(counter, "incrementThenRevert", new Uint8Array(0), U128.zero(), -1);
  output(concat2(statusByte(status), result()));
}
