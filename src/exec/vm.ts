/**
 * exec/vm — the deterministic contract VM: runs one method of a prepared
 * WASM contract (or a native) against the HostWorld, with gas, a call stack
 * budget and journaled writes. The host ABI is specified in docs/contracts.md.
 *
 * Flow of one invocation (a transaction's call, a deploy's init, or a
 * contract's nested `call`):
 *
 *   depth check ─► mark journal ─► move value ─► charge INVOKE ─► native?
 *        │                                                          │ no
 *        │                          instantiate module with host imports
 *        │                          set __helios_gas / __helios_stack
 *        │                          run _start (if exported), then the method
 *        ▼                                                          ▼
 *   CALL_DEPTH                 status ─► ok: keep writes │ else: revertTo(mark)
 *
 * Invariants:
 *  - Deterministic: results depend only on the world, the block context, the
 *    request and the limits; never on timing, the clock or Instance identity.
 *  - gasUsed ≤ the gas given. OUT_OF_GAS, TRAP, STACK_OVERFLOW and
 *    HOST_ARGUMENT consume all of it; REVERT and the pre-execution failures
 *    consume what was charged up to that point.
 *  - Every non-ok status undoes all writes (storage, balances, events) of the
 *    invocation, nested calls included; a failed nested call undoes only its
 *    own writes and its caller continues with a status code.
 *  - Nested calls share the transaction's stack units (the callee starts with
 *    what its caller has left, less NESTED_CALL_STACK_UNITS for the host's
 *    frames) and get at most the gas their caller forwards; unused gas flows
 *    back.
 *  - Domain failures are values. Only bugs escape as exceptions: any
 *    exception that is not a host halt or a WebAssembly.RuntimeError (for
 *    example a V8 RangeError from a native stack overflow) is rethrown.
 * Costs: an invocation instantiates its module (about 60 µs for the example
 * contracts on Node 20: V8's instance and memory set-up dominate every
 * small call) and builds one closure set of host imports; each host function is
 * O(1) plus the bytes it copies; gas accounting reads and writes one i64
 * global per host call.
 */
import { assert, utf8 } from "../core/index.js";
import { type NativeContext, type NativeContract, type NativeMap, nativeKey } from "./native.js";
import {
  ADDRESS_BYTES,
  type BlockContext,
  type CallStatus,
  DEFAULT_VM_LIMITS,
  type HostWorld,
  U128_MAX,
  type VmLimits,
  u128FromLE,
  u128ToLE,
} from "./types.js";
import {
  GAS_GLOBAL,
  MEMORY_IMPORT,
  STACK_GLOBAL,
  STATUS_GLOBAL,
  STATUS_OUT_OF_GAS,
  STATUS_STACK_OVERFLOW,
} from "./wasm/index.js";
export { HOST_FUNCTION_TYPES } from "./wasm/index.js";

// ------------------------------------------------------------------ ABI

/** Gas schedule of the host ABI (docs/contracts.md §Gas; a test keeps the two in sync). */
export const HOST_GAS = Object.freeze({
  /** Every invocation: instantiating the module (or entering a native) and moving its value. */
  invoke: 1_000,
  /**
   * Per byte of the contract's code, on every invocation, cache hit or not
   * (gas must not depend on a node's cache): a miss prepares and compiles the
   * code, about 100 ns per byte (docs/contracts.md).
   */
  codeLoadPerByte: 10,
  /** Every host function call, on top of its own cost. */
  base: 40,
  /** Per byte copied between contract memory and the host (input, result, ret, revert, call args). */
  copyPerByte: 1,
  storageRead: 400,
  storageReadPerByte: 2,
  storageWrite: 5_000,
  storageWritePerByte: 10,
  storageDelete: 2_000,
  storageDeletePerByte: 10,
  balance: 400,
  transfer: 2_000,
  emit: 400,
  emitPerByte: 4,
  call: 2_000,
});

/**
 * Stack units a nested call takes from its caller's budget before the callee
 * starts: they stand for the host's own frames between the two instances
 * (about 1 KiB of V8 stack measured per nested call; vm.md V33, V35).
 */
export const NESTED_CALL_STACK_UNITS = 256;

/** Size limits the host functions enforce (exceeding one ends the call with HOST_ARGUMENT). */
export const HOST_LIMITS = Object.freeze({
  keyBytesMax: 256,
  valueBytesMax: 64 * 1024,
  topicBytesMax: 256,
  eventDataBytesMax: 64 * 1024,
  /** ret / revert data, and the args of a nested call. */
  outputBytesMax: 64 * 1024,
  methodBytesMax: 64,
});

/**
 * The i32 a nested `call` returns for each status (0 is ok). Stable: part of
 * the ABI, and the same numbering as the receipt's status byte (block.ts
 * STATUS_CODES; a test keeps the two equal).
 */
export const CALL_STATUS_CODES: Readonly<Record<CallStatus, number>> = Object.freeze({
  ok: 0,
  REVERT: 1,
  OUT_OF_GAS: 2,
  TRAP: 3,
  STACK_OVERFLOW: 4,
  CALL_DEPTH: 5,
  MODULE_INVALID: 6,
  NO_SUCH_METHOD: 7,
  NOT_A_CONTRACT: 8,
  INSUFFICIENT_BALANCE: 9,
  HOST_ARGUMENT: 10,
});

/** Exports the VM itself uses; never callable as methods. */
const START_EXPORT = "_start";
const INIT_METHOD = "init";

/** A callable method name: a letter, then letters, digits or "_"; at most 64 bytes. */
const METHOD_NAME = /^[A-Za-z][A-Za-z0-9_]{0,63}$/;

export function isCallableMethod(name: string): boolean {
  return METHOD_NAME.test(name) && name !== INIT_METHOD;
}

// ------------------------------------------------------------------ API

export interface CallRequest {
  caller: Uint8Array;
  address: Uint8Array;
  method: string;
  args: Uint8Array;
  /** Native value moved caller → address before the method runs (u128). */
  value: bigint;
  gas: number;
}

export interface InitRequest {
  /** The deployer: the caller of `init`. */
  caller: Uint8Array;
  /** Where the prepared module is already stored (world.module(address) returns it). */
  address: Uint8Array;
  args: Uint8Array;
  value: bigint;
  gas: number;
}

export interface CallResult {
  status: CallStatus;
  /** ≤ the request's gas; all of it on OUT_OF_GAS, TRAP, STACK_OVERFLOW, HOST_ARGUMENT. */
  gasUsed: number;
  /** ret() data when ok, revert() data on REVERT, else empty. */
  output: Uint8Array;
  /**
   * A human-readable reason for a non-ok status. Diagnostics only, never part
   * of a receipt: a trap's text comes from the engine and may change with it.
   */
  message?: string;
}

export interface VmOptions {
  world: HostWorld;
  block: BlockContext;
  limits?: VmLimits;
  natives?: NativeMap;
}

const EMPTY = new Uint8Array(0);

/**
 * How a host function (or a native) ends the running invocation. Not an
 * Error: it carries a status, is thrown through WASM frames and is caught by
 * the invocation that owns the frame, so capturing a stack trace would be waste.
 */
class Halt {
  readonly status: CallStatus;
  readonly message: string;
  readonly data: Uint8Array;

  constructor(status: CallStatus, message: string, data: Uint8Array = EMPTY) {
    this.status = status;
    this.message = message;
    this.data = data;
  }
}

/** One running invocation: its identity, its gas, and (for WASM) its instance's memory and globals. */
class Frame {
  readonly caller: Uint8Array;
  readonly self: Uint8Array;
  readonly value: bigint;
  readonly input: Uint8Array;
  readonly depth: number;
  /** Gas left while no instance holds it (before instantiation, natives, after the run). */
  gas: number;
  gasGlobal: WebAssembly.Global | null;
  stackGlobal: WebAssembly.Global | null;
  statusGlobal: WebAssembly.Global | null;
  memory: WebAssembly.Memory | null;
  /** A pooled memory lent to this frame's instance; returned to the pool when the frame ends. */
  lent: PooledMemory | null;
  view: Uint8Array;
  /** The last host result buffer (storage_get value, nested call output). */
  result: Uint8Array;
  output: Uint8Array;

  constructor(caller: Uint8Array, self: Uint8Array, value: bigint, input: Uint8Array, depth: number, gas: number) {
    this.caller = caller;
    this.self = self;
    this.value = value;
    this.input = input;
    this.depth = depth;
    this.gas = gas;
    this.gasGlobal = null;
    this.stackGlobal = null;
    this.statusGlobal = null;
    this.memory = null;
    this.lent = null;
    this.view = EMPTY;
    this.result = EMPTY;
    this.output = EMPTY;
  }

  gasLeft(): number {
    if (this.gasGlobal === null) return this.gas;
    const v = this.gasGlobal.value as bigint;
    // The instrumenter never lets the counter go negative; clamp defensively.
    return v > 0n ? Number(v) : 0;
  }

  setGas(left: number): void {
    if (this.gasGlobal === null) this.gas = left;
    else this.gasGlobal.value = BigInt(left);
  }

  /** Charges `cost`; when less is left, zeroes the gas and ends the invocation with OUT_OF_GAS. */
  charge(cost: number): void {
    const left = this.gasLeft();
    if (cost > left) {
      this.setGas(0);
      throw new Halt("OUT_OF_GAS", "out of gas in a host function");
    }
    this.setGas(left - cost);
  }

  /** The current memory bytes (re-viewed after memory.grow detached the old buffer). */
  mem(): Uint8Array {
    const buf = (this.memory as WebAssembly.Memory).buffer;
    if (this.view.buffer !== buf) this.view = new Uint8Array(buf);
    return this.view;
  }

  /** Checks that [ptr, ptr+len) lies in memory and len ≤ max; returns the memory view. */
  range(ptr: unknown, len: unknown, max: number): Uint8Array {
    const m = this.mem();
    if (typeof ptr !== "number" || typeof len !== "number" || ptr < 0 || len < 0 || len > max || ptr + len > m.length) {
      throw new Halt("HOST_ARGUMENT", `memory range [${String(ptr)}, +${String(len)}) is out of bounds or too long`);
    }
    return m;
  }

  /** A copy of memory[ptr, ptr+len), bounds-checked. */
  read(ptr: unknown, len: unknown, max: number): Uint8Array {
    const m = this.range(ptr, len, max);
    return m.slice(ptr as number, (ptr as number) + (len as number));
  }

  write(ptr: unknown, bytes: Uint8Array): void {
    const m = this.range(ptr, bytes.length, Number.MAX_SAFE_INTEGER);
    m.set(bytes, ptr as number);
  }

  stackLeft(limits: VmLimits): number {
    return this.stackGlobal === null ? limits.maxStackUnits : (this.stackGlobal.value as number);
  }
}

interface Invocation {
  caller: Uint8Array;
  address: Uint8Array;
  method: string;
  args: Uint8Array;
  value: bigint;
  gas: number;
  depth: number;
  stackUnits: number;
  /** "init": run the optional init export of a deploy. */
  entry: "call" | "init";
}

/** Statuses that consume all the gas of the invocation. */
function consumesAll(status: CallStatus): boolean {
  return status === "OUT_OF_GAS" || status === "TRAP" || status === "STACK_OVERFLOW" || status === "HOST_ARGUMENT";
}

/** A u128 from 16 little-endian bytes of memory at p (already bounds-checked). */
function readU128(m: Uint8Array, p: number): bigint {
  return u128FromLE(m.subarray(p, p + 16));
}

function encodeU128(v: bigint): Uint8Array {
  assert(v >= 0n && v <= U128_MAX, "u128 in range");
  return u128ToLE(v);
}

/** Bytes → a method name; non-ASCII bytes make a name that fails isCallableMethod. */
function decodeMethod(b: Uint8Array): string {
  let s = "";
  for (let i = 0; i < b.length; i++) s += String.fromCharCode(b[i] as number);
  return s;
}

/** The message of an AssemblyScript abort(): a UTF-16 string whose byte length sits at ptr-4. */
function abortMessage(frame: Frame, ptr: unknown): string {
  if (frame.memory === null || typeof ptr !== "number" || ptr < 4) return "abort";
  const m = frame.mem();
  if (ptr > m.length) return "abort";
  const len = new DataView(m.buffer).getUint32(ptr - 4, true);
  if (len > 512 || ptr + len > m.length) return "abort";
  let s = "";
  for (let i = 0; i + 1 < len; i += 2)
    s += String.fromCharCode((m[ptr + i] as number) | ((m[ptr + i + 1] as number) << 8));
  return `abort: ${s}`;
}

/** A memory lent by the pool, with the limits it was made for. */
interface PooledMemory extends WebAssembly.Memory {
  heliosInitial?: number;
  heliosMaximum?: number;
}

/**
 * Zeroed linear memories for prepared contracts, by (initial, maximum)
 * pages (vm.md V37). Instantiating on an existing memory skips V8's memory
 * reservation, most of an instance's cost. Determinism: a memory is handed
 * out only with exactly `initial` pages, all zero, the state a fresh one
 * would have (the instance then writes its data segments); a memory that
 * grew is dropped, not reused. Process-wide and bounded.
 */
class MemoryPool {
  private readonly free = new Map<string, PooledMemory[]>();
  private static readonly PER_SHAPE = 32;

  take(initial: number, maximum: number): PooledMemory {
    const list = this.free.get(`${initial}/${maximum}`);
    const m = list?.pop();
    if (m !== undefined) return m;
    const fresh: PooledMemory = new WebAssembly.Memory({ initial, maximum });
    fresh.heliosInitial = initial;
    fresh.heliosMaximum = maximum;
    return fresh;
  }

  give(m: PooledMemory): void {
    const initial = m.heliosInitial as number;
    if (m.buffer.byteLength !== initial * 65_536) return; // it grew: a reused one must start at `initial`
    const key = `${initial}/${m.heliosMaximum as number}`;
    let list = this.free.get(key);
    if (list === undefined) {
      list = [];
      this.free.set(key, list);
    }
    if (list.length >= MemoryPool.PER_SHAPE) return;
    new Uint8Array(m.buffer).fill(0);
    list.push(m);
  }
}

const MEMORY_POOL = new MemoryPool();

export class Vm {
  readonly world: HostWorld;
  readonly block: Readonly<BlockContext>;
  readonly limits: Readonly<VmLimits>;
  readonly natives: NativeMap | null;

  constructor(world: HostWorld, block: BlockContext, limits: VmLimits = DEFAULT_VM_LIMITS, natives?: NativeMap) {
    assert(Number.isSafeInteger(block.height) && block.height >= 0, "block height is a safe integer");
    assert(Number.isSafeInteger(block.timeMs) && block.timeMs >= 0, "block time is a safe integer");
    this.world = world;
    this.block = { height: block.height, timeMs: block.timeMs };
    this.limits = limits;
    this.natives = natives !== undefined && natives.size > 0 ? natives : null;
  }

  /** Calls `method` of the contract (or native) at `address`; see the module header for the semantics. */
  call(req: CallRequest): CallResult {
    checkRequest(req.caller, req.address, req.value, req.gas);
    return this.invoke({
      caller: req.caller,
      address: req.address,
      method: req.method,
      args: req.args,
      value: req.value,
      gas: req.gas,
      depth: 1,
      stackUnits: this.limits.maxStackUnits,
      entry: "call",
    });
  }

  /**
   * Runs the optional `init` export of the prepared module already stored at
   * `address`, as a call from the deployer with the init args. Without an
   * `init` export only the value moves (and INVOKE is charged). On a non-ok
   * status the value and all init writes are undone; removing the code is
   * the executor's business.
   */
  init(req: InitRequest): CallResult {
    checkRequest(req.caller, req.address, req.value, req.gas);
    return this.invoke({
      caller: req.caller,
      address: req.address,
      method: INIT_METHOD,
      args: req.args,
      value: req.value,
      gas: req.gas,
      depth: 1,
      stackUnits: this.limits.maxStackUnits,
      entry: "init",
    });
  }

  private invoke(r: Invocation): CallResult {
    if (r.depth > this.limits.maxCallDepth) {
      return {
        status: "CALL_DEPTH",
        gasUsed: 0,
        output: EMPTY,
        message: `call depth above ${this.limits.maxCallDepth}`,
      };
    }
    const world = this.world;
    const mark = world.mark();
    if (r.value > 0n && !world.transfer(r.caller, r.address, r.value)) {
      world.revertTo(mark);
      return { status: "INSUFFICIENT_BALANCE", gasUsed: 0, output: EMPTY, message: "caller cannot cover the value" };
    }
    const frame = new Frame(r.caller, r.address, r.value, r.args, r.depth, r.gas);
    let status: CallStatus = "ok";
    let message = "";
    try {
      frame.charge(HOST_GAS.invoke);
      const native = r.entry === "call" && this.natives !== null ? this.natives.get(nativeKey(r.address)) : undefined;
      if (native !== undefined) this.runNative(frame, native, r.method);
      else this.runWasm(frame, r);
    } catch (e) {
      if (e instanceof Halt) {
        status = e.status;
        message = e.message;
        frame.output = e.status === "REVERT" ? e.data : EMPTY;
      } else if (e instanceof WebAssembly.RuntimeError) {
        const code = frame.statusGlobal === null ? 0 : (frame.statusGlobal.value as number);
        status = code === STATUS_OUT_OF_GAS ? "OUT_OF_GAS" : code === STATUS_STACK_OVERFLOW ? "STACK_OVERFLOW" : "TRAP";
        message =
          status === "OUT_OF_GAS"
            ? "out of gas"
            : status === "STACK_OVERFLOW"
              ? "the transaction's stack units ran out"
              : `trap: ${e.message}`;
        frame.output = EMPTY;
      } else {
        throw e;
      }
    } finally {
      if (frame.lent !== null) {
        MEMORY_POOL.give(frame.lent);
        frame.lent = null;
      }
    }
    if (status === "ok") return { status, gasUsed: r.gas - frame.gasLeft(), output: frame.output };
    world.revertTo(mark);
    const gasUsed = consumesAll(status) ? r.gas : r.gas - frame.gasLeft();
    return { status, gasUsed, output: frame.output, message };
  }

  private runNative(frame: Frame, native: NativeContract, method: string): void {
    if (!native.methods.includes(method) || !isCallableMethod(method)) {
      throw new Halt("NO_SUCH_METHOD", `the native has no method ${JSON.stringify(method)}`);
    }
    const out = native.call(this.nativeContext(frame), method, frame.input);
    assert(out instanceof Uint8Array, "a native returns bytes");
    frame.output = out;
  }

  private runWasm(frame: Frame, r: Invocation): void {
    const code = this.world.module(r.address);
    if (code === undefined) throw new Halt("NOT_A_CONTRACT", "no code at the address");
    if (r.entry === "call" && !isCallableMethod(r.method)) {
      throw new Halt("NO_SUCH_METHOD", `${JSON.stringify(r.method)} is not a callable method name`);
    }
    if (!(code instanceof WebAssembly.Module)) frame.charge(HOST_GAS.codeLoadPerByte * code.codeBytes);
    let instance: WebAssembly.Instance;
    try {
      const imports = this.imports(frame);
      if (code instanceof WebAssembly.Module) instance = new WebAssembly.Instance(code, imports);
      else {
        // a prepared contract imports its memory: lend it a zeroed one of exactly its limits (vm.md V37)
        const m = MEMORY_POOL.take(code.memory.initial, code.memory.maximum);
        frame.lent = m;
        (imports.helios as WebAssembly.ModuleImports)[MEMORY_IMPORT.name] = m;
        instance = new WebAssembly.Instance(code.module, imports);
      }
    } catch (e) {
      // A module that links against an import the host lacks cannot run; it is
      // the contract's fault (deterministically), not the node's.
      if (e instanceof WebAssembly.LinkError) throw new Halt("TRAP", `link: ${e.message}`);
      throw e;
    }
    const ex = instance.exports;
    const memory = ex.memory;
    const gasG = ex[GAS_GLOBAL];
    const stackG = ex[STACK_GLOBAL];
    const statusG = ex[STATUS_GLOBAL];
    assert(memory instanceof WebAssembly.Memory, "a prepared module exports its memory");
    assert(
      gasG instanceof WebAssembly.Global &&
        stackG instanceof WebAssembly.Global &&
        statusG instanceof WebAssembly.Global,
      "a prepared module exports the __helios globals",
    );
    frame.memory = memory;
    frame.statusGlobal = statusG;
    statusG.value = 0;
    stackG.value = r.stackUnits;
    frame.stackGlobal = stackG;
    gasG.value = BigInt(frame.gas);
    frame.gasGlobal = gasG;

    const fn = Object.hasOwn(ex, r.method) ? ex[r.method] : undefined;
    if (fn === undefined && r.entry === "init") {
      this.detach(frame);
      return; // no init: deploying only stores the code and moves the value
    }
    if (typeof fn !== "function" || fn.length !== 0) {
      throw new Halt("NO_SUCH_METHOD", `the contract exports no method ${JSON.stringify(r.method)} of type () -> ()`);
    }
    const start = Object.hasOwn(ex, START_EXPORT) ? ex[START_EXPORT] : undefined;
    if (start !== undefined && (typeof start !== "function" || start.length !== 0)) {
      // a _start that takes parameters would make V8 throw a TypeError converting them (the validator refuses it too)
      throw new Halt("TRAP", `${START_EXPORT} must be a function of type () -> ()`);
    }
    if (typeof start === "function") {
      start();
      // The frame of an export the host called stays charged (vm.md V31): reset the units before the next.
      stackG.value = r.stackUnits;
    }
    const res = fn();
    if (res !== undefined) throw new Halt("NO_SUCH_METHOD", `${JSON.stringify(r.method)} returns a value`);
    this.detach(frame);
  }

  /** Takes the gas back out of the instance once it stops running. */
  private detach(frame: Frame): void {
    frame.gas = frame.gasLeft();
    frame.gasGlobal = null;
  }

  /** The host functions of one frame (docs/contracts.md §Host functions). */
  private imports(f: Frame): WebAssembly.Imports {
    const G = HOST_GAS;
    const L = HOST_LIMITS;
    const world = this.world;
    const block = this.block;
    return {
      env: {
        abort: (msg: unknown) => {
          throw new Halt("TRAP", abortMessage(f, msg));
        },
      },
      helios: {
        input_len: (): number => {
          f.charge(G.base);
          return f.input.length;
        },
        input_read: (ptr: unknown): void => {
          f.range(ptr, f.input.length, Number.MAX_SAFE_INTEGER);
          f.charge(G.base + G.copyPerByte * f.input.length);
          f.write(ptr, f.input);
        },
        result_len: (): number => {
          f.charge(G.base);
          return f.result.length;
        },
        result_read: (ptr: unknown): void => {
          f.range(ptr, f.result.length, Number.MAX_SAFE_INTEGER);
          f.charge(G.base + G.copyPerByte * f.result.length);
          f.write(ptr, f.result);
        },
        storage_get: (kptr: unknown, klen: unknown): number => {
          const key = f.read(kptr, klen, L.keyBytesMax);
          f.charge(G.base + G.storageRead + G.storageReadPerByte * key.length);
          const v = world.storageGet(f.self, key);
          if (v === undefined) {
            f.result = EMPTY;
            return -1;
          }
          f.charge(G.storageReadPerByte * v.length);
          f.result = v;
          return v.length;
        },
        storage_set: (kptr: unknown, klen: unknown, vptr: unknown, vlen: unknown): void => {
          const key = f.read(kptr, klen, L.keyBytesMax);
          const value = f.read(vptr, vlen, L.valueBytesMax);
          f.charge(G.base + G.storageWrite + G.storageWritePerByte * (key.length + value.length));
          world.storageSet(f.self, key, value);
        },
        storage_delete: (kptr: unknown, klen: unknown): void => {
          const key = f.read(kptr, klen, L.keyBytesMax);
          f.charge(G.base + G.storageDelete + G.storageDeletePerByte * key.length);
          world.storageSet(f.self, key, null);
        },
        caller: (ptr: unknown): void => {
          f.range(ptr, ADDRESS_BYTES, ADDRESS_BYTES);
          f.charge(G.base);
          f.write(ptr, f.caller);
        },
        self: (ptr: unknown): void => {
          f.range(ptr, ADDRESS_BYTES, ADDRESS_BYTES);
          f.charge(G.base);
          f.write(ptr, f.self);
        },
        value: (ptr: unknown): void => {
          f.range(ptr, 16, 16);
          f.charge(G.base);
          f.write(ptr, encodeU128(f.value));
        },
        balance: (addrPtr: unknown, outPtr: unknown): void => {
          const addr = f.read(addrPtr, ADDRESS_BYTES, ADDRESS_BYTES);
          f.range(outPtr, 16, 16);
          f.charge(G.base + G.balance);
          f.write(outPtr, encodeU128(world.balance(addr)));
        },
        transfer: (toPtr: unknown, amountPtr: unknown): number => {
          const to = f.read(toPtr, ADDRESS_BYTES, ADDRESS_BYTES);
          const m = f.range(amountPtr, 16, 16);
          const amount = readU128(m, amountPtr as number);
          f.charge(G.base + G.transfer);
          return world.transfer(f.self, to, amount) ? 0 : 1;
        },
        block_height: (): bigint => {
          f.charge(G.base);
          return BigInt(block.height);
        },
        block_time: (): bigint => {
          f.charge(G.base);
          return BigInt(block.timeMs);
        },
        gas_left: (): bigint => {
          f.charge(G.base);
          return BigInt(f.gasLeft());
        },
        emit: (topicPtr: unknown, topicLen: unknown, dataPtr: unknown, dataLen: unknown): void => {
          const topic = f.read(topicPtr, topicLen, L.topicBytesMax);
          const data = f.read(dataPtr, dataLen, L.eventDataBytesMax);
          f.charge(G.base + G.emit + G.emitPerByte * (topic.length + data.length));
          world.emit({ address: f.self, topic, data });
        },
        call: (
          addrPtr: unknown,
          methodPtr: unknown,
          methodLen: unknown,
          argsPtr: unknown,
          argsLen: unknown,
          valuePtr: unknown,
          gas: unknown,
        ): number => {
          const to = f.read(addrPtr, ADDRESS_BYTES, ADDRESS_BYTES);
          const methodBytes = f.read(methodPtr, methodLen, L.methodBytesMax);
          const args = f.read(argsPtr, argsLen, L.outputBytesMax);
          const m = f.range(valuePtr, 16, 16);
          const value = readU128(m, valuePtr as number);
          if (typeof gas !== "bigint") throw new Halt("HOST_ARGUMENT", "call gas is not an i64");
          f.charge(G.base + G.call + G.copyPerByte * (methodBytes.length + args.length));
          const left = f.gasLeft();
          if (gas > BigInt(left)) {
            f.setGas(0);
            throw new Halt("OUT_OF_GAS", "call forwards more gas than is left");
          }
          const forward = gas < 0n ? left : Number(gas);
          f.setGas(left - forward);
          const sub = this.invoke({
            caller: f.self,
            address: to,
            method: decodeMethod(methodBytes),
            args,
            value,
            gas: forward,
            depth: f.depth + 1,
            stackUnits: Math.max(0, f.stackLeft(this.limits) - NESTED_CALL_STACK_UNITS),
            entry: "call",
          });
          f.setGas(f.gasLeft() + (forward - sub.gasUsed));
          f.result = sub.output;
          return CALL_STATUS_CODES[sub.status];
        },
        ret: (ptr: unknown, len: unknown): void => {
          const data = f.read(ptr, len, L.outputBytesMax);
          f.charge(G.base + G.copyPerByte * data.length);
          f.output = data;
        },
        revert: (ptr: unknown, len: unknown): void => {
          const data = f.read(ptr, len, L.outputBytesMax);
          f.charge(G.base + G.copyPerByte * data.length);
          throw new Halt("REVERT", "the contract reverted", data);
        },
      },
    };
  }

  private nativeContext(f: Frame): NativeContext {
    const G = HOST_GAS;
    const L = HOST_LIMITS;
    const world = this.world;
    return {
      caller: f.caller,
      self: f.self,
      value: f.value,
      block: this.block,
      gasLeft: () => f.gasLeft(),
      charge: (gas: number) => {
        assert(Number.isSafeInteger(gas) && gas >= 0, "a native charges a non-negative integer");
        f.charge(gas);
      },
      storageGet: (key: Uint8Array) => {
        if (key.length > L.keyBytesMax) throw new Halt("HOST_ARGUMENT", "storage key too long");
        f.charge(G.storageRead + G.storageReadPerByte * key.length);
        const v = world.storageGet(f.self, key);
        if (v !== undefined) f.charge(G.storageReadPerByte * v.length);
        return v;
      },
      storageSet: (key: Uint8Array, value: Uint8Array | null) => {
        if (key.length > L.keyBytesMax) throw new Halt("HOST_ARGUMENT", "storage key too long");
        if (value === null) {
          f.charge(G.storageDelete + G.storageDeletePerByte * key.length);
        } else {
          if (value.length > L.valueBytesMax) throw new Halt("HOST_ARGUMENT", "storage value too large");
          f.charge(G.storageWrite + G.storageWritePerByte * (key.length + value.length));
        }
        world.storageSet(f.self, key.slice(), value === null ? null : value.slice());
      },
      balance: (address: Uint8Array) => {
        assert(address.length === ADDRESS_BYTES, "an address is 32 bytes");
        f.charge(G.balance);
        return world.balance(address);
      },
      transfer: (to: Uint8Array, amount: bigint) => {
        assert(to.length === ADDRESS_BYTES && amount >= 0n && amount <= U128_MAX, "a transfer to an address of a u128");
        f.charge(G.transfer);
        return world.transfer(f.self, to, amount);
      },
      emit: (topic: Uint8Array, data: Uint8Array) => {
        if (topic.length > L.topicBytesMax || data.length > L.eventDataBytesMax) {
          throw new Halt("HOST_ARGUMENT", "event topic or data too large");
        }
        f.charge(G.emit + G.emitPerByte * (topic.length + data.length));
        world.emit({ address: f.self, topic: topic.slice(), data: data.slice() });
      },
      revert: (data: Uint8Array | string): never => {
        throw new Halt("REVERT", "the native reverted", typeof data === "string" ? utf8(data) : data.slice());
      },
    };
  }
}

export function createVm(opts: VmOptions): Vm {
  return new Vm(opts.world, opts.block, opts.limits ?? DEFAULT_VM_LIMITS, opts.natives);
}

function checkRequest(caller: Uint8Array, address: Uint8Array, value: bigint, gas: number): void {
  assert(caller.length === ADDRESS_BYTES && address.length === ADDRESS_BYTES, "addresses are 32 bytes");
  assert(value >= 0n && value <= U128_MAX, "value is a u128");
  assert(Number.isSafeInteger(gas) && gas >= 0, "gas is a non-negative safe integer");
}
