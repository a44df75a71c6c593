/**
 * contracts/lib/env — the raw Helios host ABI, as imported from module "helios".
 *
 * Purpose: one declaration per host function, exactly as docs/contracts.md
 * lists them. Contracts normally use the typed helpers in ./index instead.
 * Invariants: pointers are offsets into this module's exported "memory";
 * addresses are 32 bytes; u128 values are 16 bytes little-endian. A host
 * function given a range outside memory ends the call with HOST_ARGUMENT.
 * Costs: every host function charges gas (docs/contracts.md §Gas); nothing
 * here allocates.
 */

// The call's argument bytes.
@external("helios", "input_len")
export declare function input_len(): i32;
@external("helios", "input_read")
export declare function input_read(ptr: usize): void;

// The last host result: a storage_get value, or a nested call's return or revert data.
@external("helios", "result_len")
export declare function result_len(): i32;
@external("helios", "result_read")
export declare function result_read(ptr: usize): void;

// Storage of the running contract. storage_get returns -1 when absent, else the length.
@external("helios", "storage_get")
export declare function storage_get(kptr: usize, klen: i32): i32;
@external("helios", "storage_set")
export declare function storage_set(kptr: usize, klen: i32, vptr: usize, vlen: i32): void;
@external("helios", "storage_delete")
export declare function storage_delete(kptr: usize, klen: i32): void;

// Who and what: 32-byte addresses, 16-byte little-endian amounts.
@external("helios", "caller")
export declare function caller(ptr: usize): void;
@external("helios", "self")
export declare function self(ptr: usize): void;
@external("helios", "value")
export declare function value(ptr: usize): void;
@external("helios", "balance")
export declare function balance(addrPtr: usize, outPtr: usize): void;
// Moves native value from this contract's account: 0 ok, 1 insufficient balance.
@external("helios", "transfer")
export declare function transfer(toPtr: usize, amountPtr: usize): i32;

// The block header, never the wall clock.
@external("helios", "block_height")
export declare function block_height(): i64;
@external("helios", "block_time")
export declare function block_time(): i64;
@external("helios", "gas_left")
export declare function gas_left(): i64;

@external("helios", "emit")
export declare function emit(topicPtr: usize, topicLen: i32, dataPtr: usize, dataLen: i32): void;

// Calls another contract: 0 ok, else a status code (lib/index.ts CallStatus).
// gas < 0 forwards all the gas left.
@external("helios", "call")
export declare function call(
  addrPtr: usize,
  methodPtr: usize,
  methodLen: i32,
  argsPtr: usize,
  argsLen: i32,
  valuePtr: usize,
  gas: i64,
): i32;

// ret sets the call's output (the last one wins); revert ends the call with REVERT.
@external("helios", "ret")
export declare function ret(ptr: usize, len: i32): void;
@external("helios", "revert")
export declare function revert(ptr: usize, len: i32): void;
