/**
 * contracts/probe — a test contract for the VM: one method per behaviour the
 * VM must handle (host functions, traps, loops, recursion, storage load,
 * nested calls). Not meant for deployment on a real chain.
 *
 * Methods (args are fixed-size fields, integers little-endian):
 *   init(data)               stores `data` under "init" (deploy only).
 *   echo(data) → data
 *   context() → caller ‖ self ‖ value ‖ balance(self) ‖ height i64 ‖ time i64 ‖ gas_left i64
 *   kv(op u8, klen u16, key, value)  op 0: get → (len i32, -1 absent) ‖ value;
 *                            op 1: set; op 2: delete
 *   emitOne(tlen u8, topic, data)
 *   send(to, amount u128) → status u8 (0 ok, 1 insufficient balance)
 *   callAny(addr, value u128, gas i64, mlen u8, method, args) → status u8 ‖ result.
 *                            Writes "c" = 1 first, so a test can see it survive a failed callee.
 *   nest(n u32) → n status bytes: calls itself n times, each with all gas.
 *   fill(n u32)              writes n slots "k" ‖ i → i (4 bytes each).
 *   loop()                   never ends.
 *   recurse(n u32) → n       recurses n frames deep.
 *   recurseThenCall(d u32, n u32) → status u8: recurses d frames, then calls
 *                            self.recurse(n) with half the gas left.
 *   trap()                   unreachable.        fail()    abort() via throw.
 *   divide(d u32) → 100 / d  (traps on 0).       oob()     loads out of memory.
 *   badPointer()             passes a pointer outside memory to input_read.
 *   revertWith(data)         writes "r", emits "Reverting", then reverts with data.
 *   hugeGas()                calls itself with more gas than is left.
 * Costs: as named; nothing here is optimised.
 */
import {
  ADDRESS_BYTES,
  U128,
  U128_BYTES,
  balanceOf,
  blockHeight,
  blockTimeMs,
  bytesOf,
  callContract,
  callValue,
  caller,
  concat2,
  emitEvent,
  env,
  gasLeft,
  input,
  output,
  readAddress,
  readU32,
  readU64,
  result,
  revertBytes,
  self,
  sliceOf,
  storageDelete,
  storageGet,
  storageSet,
  transferValue,
  u32Bytes,
  u64Bytes,
} from "./lib/index";

function byte(v: i32): Uint8Array {
  const b = new Uint8Array(1);
  b[0] = <u8>v;
  return b;
}

export function init(): void {
  storageSet(bytesOf("init"), input());
}

export function echo(): void {
  output(input());
}

export function context(): void {
  const out = new Uint8Array(2 * ADDRESS_BYTES + 2 * U128_BYTES + 24);
  out.set(caller(), 0);
  const me = self();
  out.set(me, 32);
  out.set(callValue().toBytes(), 64);
  out.set(balanceOf(me).toBytes(), 80);
  out.set(u64Bytes(<u64>blockHeight()), 96);
  out.set(u64Bytes(<u64>blockTimeMs()), 104);
  out.set(u64Bytes(<u64>gasLeft()), 112);
  output(out);
}

export function kv(): void {
  const args = input();
  const op = sliceOf(args, 0, 1)[0];
  const lenBytes = sliceOf(args, 1, 2);
  const klen = <i32>lenBytes[0] | (<i32>lenBytes[1] << 8);
  const key = sliceOf(args, 3, klen);
  if (op == 0) {
    const v = storageGet(key);
    if (v == null) output(u32Bytes(<u32>-1));
    else output(concat2(u32Bytes(<u32>v.length), v));
  } else if (op == 1) {
    storageSet(key, sliceOf(args, 3 + klen, args.length - 3 - klen));
  } else {
    storageDelete(key);
  }
}

export function emitOne(): void {
  const args = input();
  const tlen = <i32>sliceOf(args, 0, 1)[0];
  const topic = sliceOf(args, 1, tlen);
  const data = sliceOf(args, 1 + tlen, args.length - 1 - tlen);
  env.emit(topic.dataStart, topic.length, data.dataStart, data.length);
}

export function send(): void {
  const args = input();
  output(byte(transferValue(readAddress(args, 0), U128.read(args, 32)) ? 0 : 1));
}

export function callAny(): void {
  const args = input();
  storageSet(bytesOf("c"), byte(1));
  const to = readAddress(args, 0);
  const value = U128.read(args, 32);
  const gas = <i64>readU64(args, 48);
  const mlen = <i32>sliceOf(args, 56, 1)[0];
  const method = sliceOf(args, 57, mlen);
  const callArgs = sliceOf(args, 57 + mlen, args.length - 57 - mlen);
  const v = value.toBytes();
  const status = env.call(
    to.dataStart,
    method.dataStart,
    method.length,
    callArgs.dataStart,
    callArgs.length,
    v.dataStart,
    gas,
  );
  output(concat2(byte(status), result()));
}

export function nest(): void {
  const n = readU32(input(), 0);
  if (n == 0) return;
  const status = callContract(self(), "nest", u32Bytes(n - 1), U128.zero(), -1);
  output(concat2(byte(status), result()));
}

export function fill(): void {
  const n = readU32(input(), 0);
  const key = new Uint8Array(5);
  key[0] = 0x6b; // "k"
  const value = new Uint8Array(4);
  for (let i: u32 = 0; i < n; i++) {
    store<u32>(key.dataStart + 1, i);
    store<u32>(value.dataStart, i);
    env.storage_set(key.dataStart, key.length, value.dataStart, value.length);
  }
}

let spins: u32 = 0;

export function loop(): void {
  while (true) {
    spins++;
    store<u32>(8, spins);
  }
}

function depth(n: u32): u32 {
  if (n == 0) return 0;
  // Not a tail call: the frame must stay on the stack.
  return depth(n - 1) + 1 + (load<u32>(8) & 1);
}

export function recurse(): void {
  output(u32Bytes(depth(readU32(input(), 0))));
}

function descend(d: u32, n: u32): i32 {
  // Half the gas, so that the caller can still report a callee that used all of its share.
  if (d == 0) return callContract(self(), "recurse", u32Bytes(n), U128.zero(), gasLeft() / 2);
  return descend(d - 1, n) + <i32>(load<u32>(8) & 1);
}

export function recurseThenCall(): void {
  const args = input();
  output(byte(descend(readU32(args, 0), readU32(args, 4))));
}

export function trap(): void {
  unreachable();
}

export function fail(): void {
  throw new Error("boom");
}

export function divide(): void {
  output(u32Bytes(100 / readU32(input(), 0)));
}

export function oob(): void {
  output(u32Bytes(load<u32>(<usize>0xfffffff0)));
}

export function badPointer(): void {
  env.input_read(<usize>0x7ffffff0);
}

export function revertWith(): void {
  const data = input();
  storageSet(bytesOf("r"), data);
  emitEvent("Reverting", data);
  revertBytes(data);
}

export function hugeGas(): void {
  const status = callContract(self(), "echo", new Uint8Array(0), U128.zero(), gasLeft() + 1_000_000);
  output(byte(status));
}

/** Returns the byte at the top of the first page, then sets it: a reused memory must read 0 again (vm.md V37). */
export function dirty(): void {
  const at: usize = 65_535;
  const before = load<u8>(at);
  store<u8>(at, 0xff);
  output(byte(before));
}
