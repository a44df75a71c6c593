/**
 * exec/types — the shapes shared by the exec layer's modules: addresses,
 * VM limits, the host's view of the world, and receipt status codes.
 *
 * Invariants: an address is 32 bytes (an account's address is its ed25519
 * public key; a contract's is BLAKE3(deployer ‖ nonce u64 BE)); balances and
 * values are u128 held as bigint; gas is a non-negative safe integer.
 * Costs: none (types and constants only).
 */

import type { PreparedContract } from "./wasm/index.js";

export const ADDRESS_BYTES = 32;
export const U128_MAX = (1n << 128n) - 1n;

/** Limits the instrumenter and the VM enforce (docs/spec/vm.md §Limits). */
export interface VmLimits {
  /** Linear memory pages (64 KiB each) a module may declare or grow to. */
  maxMemoryPages: number;
  /** Stack units per transaction (a call costs its callee's frame size in units; see vm.md). */
  maxStackUnits: number;
  /** Depth of contract-to-contract calls (the outermost call is depth 1). */
  maxCallDepth: number;
  /** Largest accepted module, bytes. */
  maxModuleBytes: number;
  /** Most locals (params included) of one function. */
  maxLocals: number;
}

export const DEFAULT_VM_LIMITS: Readonly<VmLimits> = Object.freeze({
  maxMemoryPages: 16,
  maxStackUnits: 32_768,
  maxCallDepth: 16,
  maxModuleBytes: 512 * 1024,
  maxLocals: 1024,
});

/**
 * How a transaction or a contract call ended. "ok" is success; every other
 * status reverts the writes of the call it ends (a failed top-level call
 * reverts the whole transaction except the nonce bump and the gas charge).
 */
export type CallStatus =
  | "ok"
  | "REVERT" // the contract called revert(); its data is the receipt's output
  | "OUT_OF_GAS"
  | "TRAP" // unreachable, out-of-bounds memory, division by zero, abort()
  | "STACK_OVERFLOW" // the stack units of the transaction ran out
  | "CALL_DEPTH" // more nested contract calls than maxCallDepth
  | "MODULE_INVALID" // deploy of a module that fails preparation
  | "NO_SUCH_METHOD" // call of a method the contract does not export
  | "NOT_A_CONTRACT" // call to an address without code
  | "INSUFFICIENT_BALANCE" // a value transfer inside execution that the payer cannot cover
  | "HOST_ARGUMENT"; // a host function was given out-of-range pointers or sizes

/** An event a contract emitted (kept only when its call succeeds). */
export interface ExecEvent {
  address: Uint8Array;
  topic: Uint8Array;
  data: Uint8Array;
}

/**
 * The world as the VM sees it during one transaction. Every write is
 * journaled: `mark()` returns a point and `revertTo(point)` undoes all writes
 * (storage, balances, events) made after it.
 */
export interface HostWorld {
  storageGet(contract: Uint8Array, key: Uint8Array): Uint8Array | undefined;
  /** null deletes. */
  storageSet(contract: Uint8Array, key: Uint8Array, value: Uint8Array | null): void;
  balance(address: Uint8Array): bigint;
  /** Moves `amount` from one account to another; false (and no change) when `from` cannot cover it. */
  transfer(from: Uint8Array, to: Uint8Array, amount: bigint): boolean;
  /**
   * The prepared contract at an address (prepareContract: it imports a pooled
   * memory), or a module prepared with prepareModule (it has its own memory),
   * or undefined when the address has no code.
   */
  module(address: Uint8Array): PreparedContract | WebAssembly.Module | undefined;
  emit(event: ExecEvent): void;
  mark(): number;
  revertTo(mark: number): void;
}

/** What a block header tells contracts: never the wall clock. */
export interface BlockContext {
  height: number;
  /** Milliseconds since the Unix epoch, from the header. */
  timeMs: number;
}

/** A u128 as 16 bytes little-endian: how the contract ABI passes amounts (docs/contracts.md). */
export function u128ToLE(v: bigint): Uint8Array {
  const b = new Uint8Array(16);
  for (let i = 0; i < 16; i++) b[i] = Number((v >> BigInt(8 * i)) & 0xffn);
  return b;
}

/** The u128 in 16 little-endian bytes (missing bytes read as 0). */
export function u128FromLE(b: Uint8Array): bigint {
  let v = 0n;
  for (let i = 15; i >= 0; i--) v = (v << 8n) | BigInt(b[i] ?? 0);
  return v;
}
