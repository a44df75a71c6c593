/**
 * exec/native — built-in system contracts written in TypeScript ("natives").
 *
 * Purpose: some contracts are part of the chain itself (a name registry,
 * later staking or governance). They run in-process instead of as WASM, behind
 * the same call semantics: the VM moves the call's value, charges the same
 * invocation cost, journals their writes and events through the HostWorld, and
 * reverts them when the call fails. A WASM contract reaches a native with an
 * ordinary `call`, and a native is reached from a transaction the same way.
 *
 * Registering: build the map at node start-up and hand it to the state
 * manager (which passes it to every Vm it creates), or to a Vm directly:
 *
 *   const natives = createNatives([[nativeAddress(1), nameRegistry]]);
 *   StateManager.open(dir, { natives });            // or
 *   const vm = createVm({ world, block, limits, natives });
 *
 * Every node of a chain must register the same natives at the same
 * addresses: they are part of the state transition function.
 *
 * Invariants: a native is deterministic: it reads only its context (caller,
 * self, value, block, its own storage) and its arguments, and it must charge
 * gas (ctx.charge, or implicitly through ctx.storage* and ctx.emit) in
 * proportion to its work. A native ends a call early only through
 * ctx.revert (REVERT) or running out of gas (OUT_OF_GAS); any other exception
 * is a bug in the native and crashes the node. Natives cannot call other
 * contracts (yet).
 * Costs: a lookup hex-encodes the 32-byte address (~1 µs) and does one Map
 * lookup; the VM skips it when no natives are registered.
 */
import { assert, bytesToHex, concatBytes, equalBytes, utf8 } from "../core/index.js";
import { ADDRESS_BYTES, type BlockContext } from "./types.js";

/** What a native sees of its call; every method that touches the world charges gas. */
export interface NativeContext {
  readonly caller: Uint8Array;
  readonly self: Uint8Array;
  /** The value sent with the call, already credited to `self`. */
  readonly value: bigint;
  readonly block: Readonly<BlockContext>;
  gasLeft(): number;
  /** Charges `gas`; ends the call with OUT_OF_GAS when less is left. */
  charge(gas: number): void;
  /** Reads `self`'s storage, charged like the storage_get host function. */
  storageGet(key: Uint8Array): Uint8Array | undefined;
  /** Writes (null deletes) `self`'s storage, charged like storage_set / storage_delete. */
  storageSet(key: Uint8Array, value: Uint8Array | null): void;
  /** The native balance of an address, charged like the balance host function. */
  balance(address: Uint8Array): bigint;
  /** Sends value from `self`'s account, charged like the transfer host function; false when it cannot cover it. */
  transfer(to: Uint8Array, amount: bigint): boolean;
  /** Emits an event from `self`, charged like the emit host function. */
  emit(topic: Uint8Array, data: Uint8Array): void;
  /** Ends the call with status REVERT and `data` (a string is UTF-8 encoded) as its output. */
  revert(data: Uint8Array | string): never;
}

export interface NativeContract {
  /** The callable method names; any other name ends the call with NO_SUCH_METHOD. */
  readonly methods: readonly string[];
  /** Runs `method`; the returned bytes are the call's output. */
  call(ctx: NativeContext, method: string, args: Uint8Array): Uint8Array;
}

/** The natives of a chain, keyed by nativeKey(address) (lower-case hex, as StateManager takes them). */
export type NativeMap = ReadonlyMap<string, NativeContract>;

/** The key of an address in a NativeMap. */
export function nativeKey(address: Uint8Array): string {
  assert(address.length === ADDRESS_BYTES, "a native's address is 32 bytes");
  return bytesToHex(address);
}

/** A NativeMap from (address, contract) pairs; one native per address. */
export function createNatives(entries: Iterable<readonly [Uint8Array, NativeContract]>): Map<string, NativeContract> {
  const m = new Map<string, NativeContract>();
  for (const [address, contract] of entries) {
    const k = nativeKey(address);
    assert(!m.has(k), "one native per address");
    m.set(k, contract);
  }
  return m;
}

/**
 * The reserved address of native number `id` (1..2^32-1): 28 zero bytes then
 * `id` as u32 big-endian. No ed25519 key or BLAKE3 output is expected to land
 * there, so natives never collide with accounts or deployed contracts.
 */
export function nativeAddress(id: number): Uint8Array {
  assert(Number.isInteger(id) && id > 0 && id <= 0xffff_ffff, "native id is a u32 above 0");
  const a = new Uint8Array(ADDRESS_BYTES);
  new DataView(a.buffer).setUint32(ADDRESS_BYTES - 4, id, false);
  return a;
}

// ------------------------------------------------------------ the example

const NAME_MAX_BYTES = 64;
const REGISTRY_CALL_GAS = 200;
const TOPIC_REGISTERED = utf8("Registered");
const TOPIC_RELEASED = utf8("Released");

function nameKey(name: Uint8Array): Uint8Array {
  const k = new Uint8Array(1 + name.length);
  k[0] = 0x6e; // "n"
  k.set(name, 1);
  return k;
}

function checkName(ctx: NativeContext, name: Uint8Array): void {
  if (name.length === 0 || name.length > NAME_MAX_BYTES) ctx.revert("name must be 1-64 bytes");
}

/**
 * An example native: a first-come name registry. Methods:
 *   register(name)  — binds `name` to the caller; reverts "name taken" if bound.
 *   lookup(name)    — the 32-byte owner, or empty output when unbound.
 *   release(name)   — unbinds a name the caller owns; reverts "not the owner".
 * Storage: "n" ‖ name → owner address. Events: Registered / Released with
 * data owner ‖ name.
 */
export const nameRegistry: NativeContract = {
  methods: ["register", "lookup", "release"],
  call(ctx, method, args) {
    ctx.charge(REGISTRY_CALL_GAS);
    checkName(ctx, args);
    const key = nameKey(args);
    const owner = ctx.storageGet(key);
    switch (method) {
      case "lookup":
        return owner ?? new Uint8Array(0);
      case "register": {
        if (owner !== undefined) ctx.revert("name taken");
        ctx.storageSet(key, ctx.caller);
        ctx.emit(TOPIC_REGISTERED, concatBytes(ctx.caller, args));
        return new Uint8Array(0);
      }
      case "release": {
        if (owner === undefined || !equalBytes(owner, ctx.caller)) ctx.revert("not the owner");
        ctx.storageSet(key, null);
        ctx.emit(TOPIC_RELEASED, concatBytes(ctx.caller, args));
        return new Uint8Array(0);
      }
      default:
        // The VM only dispatches the names in `methods`.
        assert(false, `name registry dispatched an unknown method ${method}`);
    }
  },
};
