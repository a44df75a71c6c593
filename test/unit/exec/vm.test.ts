/**
 * The contract VM (src/exec/vm.ts, docs/contracts.md): every host function,
 * each failure status and what it consumes and undoes, nested calls, depth
 * and stack limits, value transfer, natives, init, determinism, and
 * out-of-gas at every gas limit. Runs the compiled test contract
 * contracts/probe.ts through the real validator and instrumenter.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { isHeliosError } from "../../../src/core/index.js";
import { STATUS_CODES } from "../../../src/exec/block.js";
import { createNatives, type NativeContract, nameRegistry, nativeAddress } from "../../../src/exec/native.js";
import { type BlockContext, DEFAULT_VM_LIMITS, type VmLimits } from "../../../src/exec/types.js";
import {
  CALL_STATUS_CODES,
  type CallResult,
  createVm,
  HOST_FUNCTION_TYPES,
  HOST_GAS,
  HOST_LIMITS,
  NESTED_CALL_STACK_UNITS,
  type Vm,
} from "../../../src/exec/vm.js";
import { prepareContract, prepareModule } from "../../../src/exec/wasm/index.js";
import binaryen from "binaryen";
import {
  addr,
  bytes,
  contractModule,
  contractModuleOwnMemory,
  decodeU64,
  decodeU128,
  fromText,
  MemoryWorld,
  text,
  u32,
  u64,
  u128,
} from "../../support/world.js";

const BLOCK: BlockContext = { height: 7, timeMs: 1_700_000_000_123 };
const ALICE = addr(0xa1);
const BOB = addr(0xb0);
const PROBE = addr(0x01);
const PROBE2 = addr(0x02);
const COUNTER = addr(0x03);
const NOWHERE = addr(0x0e);
const GAS = 2_000_000;
const EMPTY = new Uint8Array(0);

interface Env {
  world: MemoryWorld;
  vm: Vm;
}

function setup(limits: VmLimits = DEFAULT_VM_LIMITS, natives?: Map<string, NativeContract>): Env {
  const world = new MemoryWorld();
  world.install(PROBE, contractModule("probe", limits));
  world.install(PROBE2, contractModule("probe", limits));
  world.install(COUNTER, contractModule("counter", limits));
  world.setBalance(ALICE, 1_000n);
  world.commit();
  const vm = createVm(
    natives === undefined ? { world, block: BLOCK, limits } : { world, block: BLOCK, limits, natives },
  );
  return { world, vm };
}

function call(
  env: Env,
  address: Uint8Array,
  method: string,
  args: Uint8Array = EMPTY,
  opts: { value?: bigint; gas?: number; caller?: Uint8Array } = {},
): CallResult {
  return env.vm.call({
    caller: opts.caller ?? ALICE,
    address,
    method,
    args,
    value: opts.value ?? 0n,
    gas: opts.gas ?? GAS,
  });
}

function ok(r: CallResult): Uint8Array {
  assert.equal(r.status, "ok", r.message);
  return r.output;
}

/** probe.kv args: op u8, klen u16 LE, key, value. */
function kv(op: number, key: Uint8Array, value: Uint8Array = EMPTY): Uint8Array {
  return bytes([op, key.length & 0xff, key.length >> 8], key, value);
}

/** probe.callAny args: addr, value u128, gas i64, mlen u8, method, args. */
function callAny(to: Uint8Array, method: string, args: Uint8Array = EMPTY, value = 0n, gas = -1n): Uint8Array {
  const m = text(method);
  return bytes(to, u128(value), u64(gas), [m.length], m, args);
}

// ---------------------------------------------------------------- host functions

test("input_len/input_read and ret: echo returns its input, and gas is charged", () => {
  const env = setup();
  const r = call(env, PROBE, "echo", text("hello"));
  assert.equal(fromText(ok(r)), "hello");
  assert.ok(r.gasUsed > HOST_GAS.invoke && r.gasUsed < GAS);
  assert.equal(r.message, undefined);
  // Bigger input costs more, by at least the per-byte copy costs (input_read and ret).
  const big = call(env, PROBE, "echo", new Uint8Array(1000));
  assert.ok(big.gasUsed >= r.gasUsed + 2 * 995 * HOST_GAS.copyPerByte);
});

test("caller, self, value, balance, block_height, block_time, gas_left", () => {
  const env = setup();
  env.world.setBalance(PROBE, 100n);
  const r = call(env, PROBE, "context", EMPTY, { value: 5n });
  const out = ok(r);
  assert.deepEqual(out.subarray(0, 32), ALICE);
  assert.deepEqual(out.subarray(32, 64), PROBE);
  assert.equal(decodeU128(out, 64), 5n);
  assert.equal(decodeU128(out, 80), 105n); // the value is credited before the method runs
  assert.equal(decodeU64(out, 96), BigInt(BLOCK.height));
  assert.equal(decodeU64(out, 104), BigInt(BLOCK.timeMs));
  const gasLeft = Number(decodeU64(out, 112));
  assert.ok(gasLeft < GAS - HOST_GAS.invoke && gasLeft > GAS - r.gasUsed);
  assert.equal(env.world.balance(ALICE), 995n);
});

test("storage_get/set/delete and the result buffer", () => {
  const env = setup();
  const key = text("colour");
  assert.deepEqual(ok(call(env, PROBE, "kv", kv(0, key))), u32(0xffff_ffff)); // absent: -1
  ok(call(env, PROBE, "kv", kv(1, key, text("blue"))));
  assert.deepEqual(env.world.storageGet(PROBE, key), text("blue"));
  assert.equal(env.world.storageGet(PROBE2, key), undefined, "storage is per contract");
  assert.deepEqual(ok(call(env, PROBE, "kv", kv(0, key))), bytes(u32(4), text("blue")));
  ok(call(env, PROBE, "kv", kv(1, key, EMPTY))); // an empty value is a value
  assert.deepEqual(ok(call(env, PROBE, "kv", kv(0, key))), u32(0));
  ok(call(env, PROBE, "kv", kv(2, key)));
  assert.equal(env.world.storageGet(PROBE, key), undefined);
  assert.deepEqual(ok(call(env, PROBE, "kv", kv(0, key))), u32(0xffff_ffff));
});

test("storage limits: keys ≤ 256 bytes, values ≤ 64 KiB, else HOST_ARGUMENT with all the gas", () => {
  const env = setup();
  ok(call(env, PROBE, "kv", kv(1, new Uint8Array(HOST_LIMITS.keyBytesMax).fill(1), text("v"))));
  ok(call(env, PROBE, "kv", kv(1, text("k"), new Uint8Array(HOST_LIMITS.valueBytesMax)), { gas: 20_000_000 }));
  const before = env.world.dump();
  for (const args of [
    kv(1, new Uint8Array(HOST_LIMITS.keyBytesMax + 1), text("v")),
    kv(0, new Uint8Array(HOST_LIMITS.keyBytesMax + 1)),
    kv(2, new Uint8Array(HOST_LIMITS.keyBytesMax + 1)),
    kv(1, text("k"), new Uint8Array(HOST_LIMITS.valueBytesMax + 1)),
  ]) {
    const r = call(env, PROBE, "kv", args, { gas: 20_000_000 });
    assert.equal(r.status, "HOST_ARGUMENT");
    assert.equal(r.gasUsed, 20_000_000);
  }
  assert.deepEqual(env.world.dump(), before);
});

test("storage writes cost more than reads, and per byte", () => {
  const env = setup();
  const key = text("k");
  const write = call(env, PROBE, "kv", kv(1, key, new Uint8Array(100))).gasUsed;
  const write2 = call(env, PROBE, "kv", kv(1, key, new Uint8Array(200))).gasUsed;
  const read = call(env, PROBE, "kv", kv(0, key)).gasUsed;
  assert.ok(write2 - write >= 100 * HOST_GAS.storageWritePerByte);
  assert.ok(write > read);
});

test("emit: the event carries the contract's address, topic and data", () => {
  const env = setup();
  ok(call(env, PROBE, "emitOne", bytes([5], text("Topic"), text("data!"))));
  assert.equal(env.world.events.length, 1);
  const e = env.world.events[0];
  assert.ok(e !== undefined);
  assert.deepEqual(e.address, PROBE);
  assert.equal(fromText(e.topic), "Topic");
  assert.equal(fromText(e.data), "data!");
  const data = new Uint8Array(HOST_LIMITS.eventDataBytesMax + 1);
  const r = call(env, PROBE, "emitOne", bytes([0], data), { gas: 20_000_000 });
  assert.equal(r.status, "HOST_ARGUMENT");
});

test("transfer: moves from the contract's own account; 1 when it cannot cover the amount", () => {
  const env = setup();
  env.world.setBalance(PROBE, 100n);
  assert.deepEqual(ok(call(env, PROBE, "send", bytes(BOB, u128(30n)))), Uint8Array.of(0));
  assert.equal(env.world.balance(PROBE), 70n);
  assert.equal(env.world.balance(BOB), 30n);
  assert.deepEqual(ok(call(env, PROBE, "send", bytes(BOB, u128(71n)))), Uint8Array.of(1));
  assert.equal(env.world.balance(PROBE), 70n);
  assert.equal(env.world.balance(BOB), 30n);
});

// ---------------------------------------------------------------- failures

test("revert: undoes writes and events, keeps its data as output, charges only the gas used", () => {
  const env = setup();
  const before = env.world.dump();
  const r = call(env, PROBE, "revertWith", text("bye"), { value: 10n });
  assert.equal(r.status, "REVERT");
  assert.equal(fromText(r.output), "bye");
  assert.ok(r.gasUsed > HOST_GAS.invoke && r.gasUsed < GAS);
  assert.deepEqual(env.world.dump(), before, "storage, events and the value transfer are undone");
});

test("traps (unreachable, abort, division by zero, out-of-bounds memory) end the call with TRAP and all the gas", () => {
  const env = setup();
  const before = env.world.dump();
  for (const [method, args, message] of [
    ["trap", EMPTY, /unreachable/],
    ["fail", EMPTY, /abort: boom/],
    ["divide", u32(0), /divide by zero/],
    ["oob", EMPTY, /out of bounds/],
  ] as const) {
    const r = call(env, PROBE, method, args, { value: 1n, gas: 300_000 });
    assert.equal(r.status, "TRAP", method);
    assert.equal(r.gasUsed, 300_000, method);
    assert.deepEqual(r.output, EMPTY);
    assert.match(r.message ?? "", message);
  }
  assert.deepEqual(ok(call(env, PROBE, "divide", u32(7))), u32(14));
  assert.deepEqual(env.world.dump(), before);
});

test("an infinite loop ends with OUT_OF_GAS and all the gas", () => {
  const env = setup();
  for (const gas of [0, 1, HOST_GAS.invoke, HOST_GAS.invoke + 1, 50_000, 3_000_000]) {
    const r = call(env, PROBE, "loop", EMPTY, { gas });
    assert.equal(r.status, "OUT_OF_GAS");
    assert.equal(r.gasUsed, gas);
  }
});

test("a pointer outside memory ends the call with HOST_ARGUMENT and all the gas", () => {
  const env = setup();
  const r = call(env, PROBE, "badPointer", EMPTY, { gas: 100_000 });
  assert.equal(r.status, "HOST_ARGUMENT");
  assert.equal(r.gasUsed, 100_000);
});

test("NO_SUCH_METHOD: unknown, reserved and malformed names; charges the invocation (and the code load for a well-formed name)", () => {
  const env = setup();
  const before = env.world.dump();
  const load = HOST_GAS.codeLoadPerByte * contractModule("probe").codeBytes;
  for (const m of ["nope", "memory"]) {
    const r = call(env, PROBE, m, EMPTY, { value: 3n });
    assert.equal(r.status, "NO_SUCH_METHOD", m);
    assert.equal(r.gasUsed, HOST_GAS.invoke + load, m);
  }
  for (const m of ["init", "_start", "__helios_gas", "", "1x", "echo!", "x".repeat(65)]) {
    const r = call(env, PROBE, m, EMPTY, { value: 3n });
    assert.equal(r.status, "NO_SUCH_METHOD", m);
    assert.equal(r.gasUsed, HOST_GAS.invoke, m);
  }
  assert.deepEqual(env.world.dump(), before, "the value moves back");
});

test("NOT_A_CONTRACT for an address without code; INSUFFICIENT_BALANCE when the caller cannot cover the value", () => {
  const env = setup();
  const before = env.world.dump();
  const r = call(env, NOWHERE, "echo", EMPTY, { value: 3n });
  assert.equal(r.status, "NOT_A_CONTRACT");
  assert.equal(r.gasUsed, HOST_GAS.invoke);
  const poor = call(env, PROBE, "echo", EMPTY, { value: 1_001n });
  assert.equal(poor.status, "INSUFFICIENT_BALANCE");
  assert.equal(poor.gasUsed, 0);
  assert.deepEqual(env.world.dump(), before);
  ok(call(env, PROBE, "echo", EMPTY, { value: 1_000n }));
  assert.equal(env.world.balance(PROBE), 1_000n);
  assert.equal(env.world.balance(ALICE), 0n);
});

test("a gas limit below the invocation cost is OUT_OF_GAS before anything runs", () => {
  const env = setup();
  const before = env.world.dump();
  const r = call(env, PROBE, "echo", EMPTY, { gas: HOST_GAS.invoke - 1, value: 9n });
  assert.equal(r.status, "OUT_OF_GAS");
  assert.equal(r.gasUsed, HOST_GAS.invoke - 1);
  assert.deepEqual(env.world.dump(), before);
});

// ---------------------------------------------------------------- nested calls

test("a nested call returns the callee's output; its failure reverts only the callee", () => {
  const env = setup();
  // Success: the callee's output comes back through the result buffer.
  assert.deepEqual(ok(call(env, PROBE, "callAny", callAny(PROBE2, "echo", text("hi")))), bytes([0], text("hi")));

  // REVERT: the callee's write and event are undone; the caller's write ("c") stays; the data comes back.
  const r = call(env, PROBE, "callAny", callAny(PROBE2, "revertWith", text("no")));
  assert.deepEqual(ok(r), bytes([CALL_STATUS_CODES.REVERT], text("no")));
  assert.deepEqual(env.world.storageGet(PROBE, text("c")), Uint8Array.of(1));
  assert.equal(env.world.storageGet(PROBE2, text("r")), undefined);
  assert.equal(env.world.events.length, 0);

  // TRAP, NO_SUCH_METHOD, NOT_A_CONTRACT, HOST_ARGUMENT: a status code, empty result, the caller goes on.
  for (const [to, method, status] of [
    [PROBE2, "trap", "TRAP"],
    [PROBE2, "nope", "NO_SUCH_METHOD"],
    [PROBE2, "init", "NO_SUCH_METHOD"],
    [NOWHERE, "echo", "NOT_A_CONTRACT"],
    [PROBE2, "badPointer", "HOST_ARGUMENT"],
  ] as const) {
    const out = ok(call(env, PROBE, "callAny", callAny(to, method, EMPTY, 0n, 200_000n)));
    assert.deepEqual(out, Uint8Array.of(CALL_STATUS_CODES[status]), `${method} → ${status}`);
  }
});

test("a nested call gets only the gas it is given: an out-of-gas callee costs its caller exactly that", () => {
  const env = setup();
  const base = call(env, PROBE, "callAny", callAny(PROBE2, "loop", EMPTY, 0n, 0n));
  assert.deepEqual(ok(base), Uint8Array.of(CALL_STATUS_CODES.OUT_OF_GAS));
  const r = call(env, PROBE, "callAny", callAny(PROBE2, "loop", EMPTY, 0n, 50_000n));
  assert.deepEqual(ok(r), Uint8Array.of(CALL_STATUS_CODES.OUT_OF_GAS));
  assert.equal(r.gasUsed, base.gasUsed + 50_000);
  // Unused gas flows back: a cheap callee given a lot costs the same as given just enough.
  const lots = call(env, PROBE, "callAny", callAny(PROBE2, "echo", EMPTY, 0n, 1_000_000n));
  const all = call(env, PROBE, "callAny", callAny(PROBE2, "echo", EMPTY, 0n, -1n));
  assert.equal(ok(lots).length, 1);
  assert.equal(lots.gasUsed, all.gasUsed);
  // Asking for more gas than is left ends the caller itself with OUT_OF_GAS.
  const huge = call(env, PROBE, "hugeGas", EMPTY, { gas: 200_000 });
  assert.equal(huge.status, "OUT_OF_GAS");
  assert.equal(huge.gasUsed, 200_000);
});

test("nested value transfer: from the calling contract; INSUFFICIENT_BALANCE when it cannot cover it", () => {
  const env = setup();
  env.world.setBalance(PROBE, 50n);
  assert.deepEqual(ok(call(env, PROBE, "callAny", callAny(PROBE2, "echo", EMPTY, 20n))), Uint8Array.of(0));
  assert.equal(env.world.balance(PROBE), 30n);
  assert.equal(env.world.balance(PROBE2), 20n);
  const r = call(env, PROBE, "callAny", callAny(PROBE2, "echo", EMPTY, 31n));
  assert.deepEqual(ok(r), Uint8Array.of(CALL_STATUS_CODES.INSUFFICIENT_BALANCE));
  // A failing callee gives the value back.
  const t = call(env, PROBE, "callAny", callAny(PROBE2, "trap", EMPTY, 10n, 100_000n));
  assert.deepEqual(ok(t), Uint8Array.of(CALL_STATUS_CODES.TRAP));
  assert.equal(env.world.balance(PROBE), 30n);
  assert.equal(env.world.balance(PROBE2), 20n);
});

test("call depth: the outermost call is depth 1; a call beyond maxCallDepth gets CALL_DEPTH", () => {
  for (const maxCallDepth of [1, 4, DEFAULT_VM_LIMITS.maxCallDepth]) {
    const env = setup({ ...DEFAULT_VM_LIMITS, maxCallDepth });
    // nest(n) makes n nested calls: depths 2 .. n+1.
    const fits = ok(call(env, PROBE, "nest", u32(maxCallDepth - 1), { gas: 10_000_000 }));
    assert.deepEqual(fits, new Uint8Array(maxCallDepth - 1));
    const deep = ok(call(env, PROBE, "nest", u32(maxCallDepth + 3), { gas: 10_000_000 }));
    const expected = new Uint8Array(maxCallDepth);
    expected[maxCallDepth - 1] = CALL_STATUS_CODES.CALL_DEPTH;
    assert.deepEqual(deep, expected, `maxCallDepth ${maxCallDepth}`);
  }
});

test("deep recursion ends with STACK_OVERFLOW and all the gas", () => {
  const env = setup();
  assert.deepEqual(ok(call(env, PROBE, "recurse", u32(100))), u32(100));
  const r = call(env, PROBE, "recurse", u32(1_000_000_000), { gas: 50_000_000 });
  assert.equal(r.status, "STACK_OVERFLOW");
  assert.equal(r.gasUsed, 50_000_000);
  const small = setup({ ...DEFAULT_VM_LIMITS, maxStackUnits: 2_000 });
  assert.equal(call(small, PROBE, "recurse", u32(1_000)).status, "STACK_OVERFLOW");
});

test("nested calls share the transaction's stack units", () => {
  const env = setup();
  // The deepest recursion a top-level call can make.
  let lo = 1;
  let hi = 1 << 16;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (call(env, PROBE, "recurse", u32(mid), { gas: 50_000_000 }).status === "ok") lo = mid;
    else hi = mid - 1;
  }
  const maxDepth = lo;
  assert.ok(maxDepth > 100, `max recursion ${maxDepth}`);
  // From a caller with nothing much on its stack, a callee nearly as deep still fits...
  const near = ok(call(env, PROBE, "recurseThenCall", bytes(u32(0), u32(maxDepth - 100)), { gas: 50_000_000 }));
  assert.deepEqual(near, Uint8Array.of(0));
  // ... but not once the caller has used a share of the units itself: the callee overflows, the caller goes on.
  const r = call(env, PROBE, "recurseThenCall", bytes(u32(maxDepth >> 1), u32(maxDepth - 100)), { gas: 50_000_000 });
  assert.deepEqual(ok(r), Uint8Array.of(CALL_STATUS_CODES.STACK_OVERFLOW));
});

test("a nested call takes NESTED_CALL_STACK_UNITS from the shared budget for the host's frames", () => {
  // The smallest budget with which a call succeeds, for a given call.
  const smallest = (run: (env: Env) => boolean) => {
    let lo = 0;
    let hi = 1 << 16;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (run(setup({ ...DEFAULT_VM_LIMITS, maxStackUnits: mid }))) hi = mid;
      else lo = mid + 1;
    }
    return lo;
  };
  const echo = smallest((env) => call(env, PROBE, "echo").status === "ok");
  const nested = smallest((env) => {
    const r = call(env, PROBE, "callAny", callAny(PROBE2, "echo"));
    return r.status === "ok" && r.output[0] === 0;
  });
  assert.ok(echo > 0);
  assert.ok(nested >= echo + NESTED_CALL_STACK_UNITS, `${nested} vs ${echo}`);
  // Below that, the caller still runs: only the callee overflows.
  const env = setup({ ...DEFAULT_VM_LIMITS, maxStackUnits: nested - 1 });
  assert.deepEqual(
    ok(call(env, PROBE, "callAny", callAny(PROBE2, "echo", EMPTY, 0n, 100_000n))),
    Uint8Array.of(CALL_STATUS_CODES.STACK_OVERFLOW),
  );
});

// ---------------------------------------------------------------- natives and init

test("native contracts: dispatch from a transaction and from WASM, revert, gas, unknown methods", () => {
  const REG = nativeAddress(1);
  const env = setup(DEFAULT_VM_LIMITS, createNatives([[REG, nameRegistry]]));
  const name = text("alice");
  const r = call(env, REG, "register", name, { value: 2n });
  ok(r);
  assert.ok(r.gasUsed > HOST_GAS.invoke + HOST_GAS.storageWrite);
  assert.equal(env.world.balance(REG), 2n);
  assert.equal(env.world.events.length, 1);
  assert.equal(fromText(env.world.events[0]?.topic ?? EMPTY), "Registered");
  assert.deepEqual(ok(call(env, REG, "lookup", name)), ALICE);
  const taken = call(env, REG, "register", name, { caller: BOB });
  assert.equal(taken.status, "REVERT");
  assert.equal(fromText(taken.output), "name taken");
  assert.equal(call(env, REG, "transfer", name).status, "NO_SUCH_METHOD");
  const poor = call(env, REG, "register", text("bob"), { caller: BOB, gas: HOST_GAS.invoke + 300 });
  assert.equal(poor.status, "OUT_OF_GAS");
  assert.equal(poor.gasUsed, HOST_GAS.invoke + 300);
  assert.equal(env.world.storageGet(REG, bytes(text("n"), text("bob"))), undefined);
  // From WASM: the caller the native sees is the calling contract.
  assert.deepEqual(ok(call(env, PROBE, "callAny", callAny(REG, "lookup", name))), bytes([0], ALICE));
  assert.deepEqual(ok(call(env, PROBE, "callAny", callAny(REG, "register", text("probe")))), Uint8Array.of(0));
  assert.deepEqual(ok(call(env, REG, "lookup", text("probe"))), PROBE);
  assert.deepEqual(
    ok(call(env, PROBE, "callAny", callAny(REG, "register", text("probe")))),
    bytes([CALL_STATUS_CODES.REVERT], text("name taken")),
  );
});

test("native context: value, balance and transfer from the native's own account, block", () => {
  const BANK = nativeAddress(3);
  const bank: NativeContract = {
    methods: ["payBack"],
    call(ctx) {
      // Returns the value sent plus 1 from its own funds, and reports its balance before and after.
      const before = ctx.balance(ctx.self);
      if (!ctx.transfer(ctx.caller, ctx.value + 1n)) ctx.revert("bank is empty");
      return bytes(u128(before), u128(ctx.balance(ctx.self)), u64(BigInt(ctx.block.height)));
    },
  };
  const env = setup(DEFAULT_VM_LIMITS, createNatives([[BANK, bank]]));
  env.world.setBalance(BANK, 1n);
  const out = ok(call(env, BANK, "payBack", EMPTY, { value: 10n }));
  assert.deepEqual(out, bytes(u128(11n), u128(0n), u64(BigInt(BLOCK.height))));
  assert.equal(env.world.balance(ALICE), 1_001n);
  const r = call(env, BANK, "payBack", EMPTY, { value: 10n });
  assert.equal(r.status, "REVERT");
  assert.equal(fromText(r.output), "bank is empty");
  assert.equal(env.world.balance(ALICE), 1_001n, "the value came back with the revert");
});

test("a native that throws anything but a revert or out-of-gas is a bug: the exception escapes", () => {
  const BAD = nativeAddress(2);
  const buggy: NativeContract = {
    methods: ["go"],
    call() {
      throw new TypeError("bug in a native");
    },
  };
  const env = setup(DEFAULT_VM_LIMITS, createNatives([[BAD, buggy]]));
  assert.throws(() => call(env, BAD, "go"), /bug in a native/);
  assert.throws(() => call(env, PROBE, "callAny", callAny(BAD, "go")), /bug in a native/);
});

test("init runs the exported init with the deployer as caller; without init only the value moves", () => {
  const env = setup();
  const r = env.vm.init({ caller: ALICE, address: PROBE, args: text("genesis"), value: 4n, gas: GAS });
  ok(r);
  assert.deepEqual(env.world.storageGet(PROBE, text("init")), text("genesis"));
  assert.equal(env.world.balance(PROBE), 4n);
  const plain = env.vm.init({ caller: ALICE, address: COUNTER, args: EMPTY, value: 1n, gas: GAS });
  ok(plain);
  assert.equal(plain.gasUsed, HOST_GAS.invoke + HOST_GAS.codeLoadPerByte * contractModule("counter").codeBytes);
  assert.equal(env.world.balance(COUNTER), 1n);
  const none = env.vm.init({ caller: ALICE, address: NOWHERE, args: EMPTY, value: 0n, gas: GAS });
  assert.equal(none.status, "NOT_A_CONTRACT");
  const before = env.world.dump();
  const oog = env.vm.init({ caller: ALICE, address: PROBE2, args: text("x"), value: 4n, gas: HOST_GAS.invoke + 50 });
  assert.equal(oog.status, "OUT_OF_GAS");
  assert.deepEqual(env.world.dump(), before);
});

// ---------------------------------------------------------------- determinism and gas

/** A fixed workload touching every kind of outcome; returns everything observable. */
function workload(): unknown[] {
  const REG = nativeAddress(1);
  const env = setup(DEFAULT_VM_LIMITS, createNatives([[REG, nameRegistry]]));
  env.world.setBalance(PROBE, 77n);
  const results: unknown[] = [];
  const run = (address: Uint8Array, method: string, args: Uint8Array, gas = GAS) => {
    const r = call(env, address, method, args, { gas });
    results.push([r.status, r.gasUsed, Buffer.from(r.output).toString("hex")]);
  };
  run(PROBE, "fill", u32(5));
  run(PROBE, "context", EMPTY);
  run(PROBE, "emitOne", bytes([1], text("T"), text("d")));
  run(PROBE, "callAny", callAny(PROBE2, "revertWith", text("r")));
  run(PROBE, "callAny", callAny(COUNTER, "increment"));
  run(PROBE, "nest", u32(30));
  run(PROBE, "loop", EMPTY, 123_456);
  run(PROBE, "recurse", u32(1_000_000));
  run(REG, "register", text("det"));
  run(PROBE, "send", bytes(BOB, u128(7n)));
  results.push(env.world.dump());
  return results;
}

test("determinism: two runs give identical statuses, gas, outputs, state and events", () => {
  const a = workload();
  const b = workload();
  assert.deepEqual(a, b);
});

/**
 * Runs `method` at every gas limit from 0 to a little above what it needs
 * (every `step`-th limit, and every limit next to the thresholds): each run
 * either completes, using exactly the gas the unlimited run used and leaving
 * the same state, or fails with OUT_OF_GAS, using exactly its limit and
 * leaving the state untouched. Success is monotonic in the limit. Returns the
 * gas used (`needed`) and the smallest limit that succeeds (`threshold`):
 * they are equal unless the method forwards a fixed gas grant to a callee,
 * which needs the whole grant up front but pays only for what it uses.
 */
function outOfGasEverywhere(
  env: Env,
  address: Uint8Array,
  method: string,
  args: Uint8Array,
  step = 1,
): { needed: number; threshold: number } {
  const mark = env.world.mark();
  const before = env.world.dump();
  const full = call(env, address, method, args, { gas: GAS });
  const needed = full.gasUsed;
  assert.equal(full.status, "ok", full.message);
  const after = env.world.dump();
  env.world.revertTo(mark);
  assert.deepEqual(env.world.dump(), before);
  let lo = 0;
  let hi = GAS;
  while (lo < hi) {
    const mid = Math.floor((lo + hi) / 2);
    const ok = call(env, address, method, args, { gas: mid }).status === "ok";
    env.world.revertTo(mark);
    if (ok) hi = mid;
    else lo = mid + 1;
  }
  const threshold = lo;
  const limits = new Set<number>();
  for (let g = 0; g <= threshold + 10; g += step) limits.add(g);
  for (const t of [needed, threshold]) for (let g = Math.max(0, t - 50); g <= t + 50; g++) limits.add(g);
  for (const gas of limits) {
    const r = call(env, address, method, args, { gas });
    if (gas >= threshold) {
      assert.equal(r.status, "ok", `gas ${gas}`);
      assert.equal(r.gasUsed, needed, `gas ${gas}`);
      assert.deepEqual(r.output, full.output);
      assert.deepEqual(env.world.dump(), after, `gas ${gas}`);
    } else {
      assert.equal(r.status, "OUT_OF_GAS", `gas ${gas}: ${r.message}`);
      assert.equal(r.gasUsed, gas);
      assert.deepEqual(r.output, EMPTY);
      assert.deepEqual(env.world.dump(), before, `gas ${gas}`);
    }
    env.world.revertTo(mark);
  }
  return { needed, threshold };
}

test("out of gas everywhere: the storage loop at every gas limit", () => {
  const env = setup();
  const { needed, threshold } = outOfGasEverywhere(env, PROBE, "fill", u32(2));
  assert.equal(threshold, needed);
  assert.ok(needed > 2 * HOST_GAS.storageWrite);
});

test("out of gas everywhere: a token transfer at every gas limit", () => {
  const env = setup();
  const TOKEN = addr(0x70);
  env.world.install(TOKEN, contractModule("token"));
  ok(env.vm.init({ caller: ALICE, address: TOKEN, args: u128(1_000_000n), value: 0n, gas: GAS }));
  env.world.commit();
  const { needed, threshold } = outOfGasEverywhere(env, TOKEN, "transfer", bytes(BOB, u128(250n)));
  assert.equal(threshold, needed);
});

test("out of gas everywhere: a native, and a cross-contract call with a fixed gas grant", () => {
  const REG = nativeAddress(1);
  const env = setup(DEFAULT_VM_LIMITS, createNatives([[REG, nameRegistry]]));
  const reg = outOfGasEverywhere(env, REG, "register", text("everywhere"));
  assert.equal(reg.threshold, reg.needed);

  const CALLER = addr(0xca);
  env.world.install(CALLER, contractModule("caller"));
  const grant = 40_000;
  const mark = env.world.mark();
  const callee = call(env, COUNTER, "increment", EMPTY, { caller: CALLER });
  env.world.revertTo(mark);
  ok(callee);
  const calleeUsed = callee.gasUsed;
  // Every limit would take ~50k instantiated runs; every 7th plus every limit near the thresholds is plenty.
  const bump = outOfGasEverywhere(env, CALLER, "bump", bytes(COUNTER, u64(BigInt(grant))), 7);
  // The grant must be there up front (threshold > grant), but what the callee did not use comes back
  // and pays for the caller's work after the call, so the threshold stays below needed - calleeUsed + grant.
  assert.ok(bump.threshold > grant && bump.threshold > bump.needed, `${bump.threshold} vs ${bump.needed}`);
  assert.ok(bump.threshold < bump.needed - calleeUsed + grant);
});

// ---------------------------------------------------------------- ABI tables

test("nested call status codes are the receipt's status numbering", () => {
  assert.deepEqual(
    STATUS_CODES.map((s) => CALL_STATUS_CODES[s]),
    STATUS_CODES.map((_, i) => i),
  );
  assert.equal(Object.keys(CALL_STATUS_CODES).length, STATUS_CODES.length);
});

test("docs/contracts.md documents every host function and the gas schedule as implemented", () => {
  const doc = readFileSync(new URL("../../../../docs/contracts.md", import.meta.url), "utf8");
  for (const name of Object.keys(HOST_FUNCTION_TYPES)) assert.match(doc, new RegExp(`\`${name}\\(`), name);
  for (const [name, gas] of Object.entries(HOST_GAS)) {
    assert.match(
      doc,
      new RegExp(`\\| \`${name}\` \\| ${gas.toLocaleString("en-US").replace(/,/g, "[ ,_]?")} \\|`),
      name,
    );
  }
  for (const [status, code] of Object.entries(CALL_STATUS_CODES)) {
    assert.match(doc, new RegExp(`\\| ${code} \\| \`${status}\` \\|`), status);
  }
});

test("the validator refuses host imports the VM does not provide, or with the wrong signature", () => {
  // A minimal module: one imported function of the given type, and an exported memory.
  const module = (name: string, params: number[], results: number[]) => {
    const field = text(name);
    const typeSec = [0x01, 0x60, params.length, ...params, results.length, ...results];
    const importSec = [0x01, 6, ...text("helios"), field.length, ...field, 0x00, 0x00];
    const memSec = [0x01, 0x00, 0x01];
    const exportSec = [0x01, 6, ...text("memory"), 0x02, 0x00];
    const section = (id: number, body: number[]) => [id, body.length, ...body];
    return Uint8Array.from([
      ...[0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00],
      ...section(1, typeSec),
      ...section(2, importSec),
      ...section(5, memSec),
      ...section(7, exportSec),
    ]);
  };
  const I32 = 0x7f;
  const I64 = 0x7e;
  assert.ok(prepareModule(module("input_len", [], [I32])).length > 0, "the right signature is accepted");
  const refused = (bytes: Uint8Array) => {
    try {
      prepareModule(bytes);
      return false;
    } catch (e) {
      if (isHeliosError(e, "VM_MODULE_INVALID")) return true;
      throw e;
    }
  };
  const wrong = [module("input_len", [], [I64]), module("gas_left", [], [I32]), module("no_such_host_fn", [], [])];
  // A wrong result type would make V8 throw a TypeError at the host boundary (a node crash), so each is refused.
  for (const w of wrong) assert.ok(refused(w));
});

test("V37: a pooled memory is lent zeroed and at its initial size: results equal a fresh memory's, call after call", () => {
  const pooled = setup();
  const fresh = setup();
  fresh.world.install(PROBE, contractModuleOwnMemory("probe"));
  fresh.world.install(PROBE2, contractModuleOwnMemory("probe"));
  fresh.world.commit();
  for (let i = 0; i < 5; i++) {
    // dirty() reads the last byte of the first page and then sets it: every call must read 0
    // (a module prepared with its own memory carries no code size, so it pays no code load: compare the rest)
    const same = (x: CallResult, y: CallResult) => {
      assert.equal(x.status, y.status);
      assert.deepEqual(x.output, y.output);
    };
    const a = call(pooled, PROBE, "dirty");
    const b = call(fresh, PROBE, "dirty");
    assert.deepEqual(ok(a), new Uint8Array([0]), `pooled call ${i} saw a previous call's memory`);
    same(a, b);
    // nested: the callee's instance gets its own memory while the caller's is in use
    same(call(pooled, PROBE, "nest", u32(3)), call(fresh, PROBE, "nest", u32(3)));
    // memory growth: a grown memory is dropped, and the next call still starts at the initial size
    same(call(pooled, PROBE, "fill", u32(50)), call(fresh, PROBE, "fill", u32(50)));
  }
});

test("review: a _start that takes parameters ends the call with TRAP instead of throwing out of the VM", () => {
  const m = binaryen.parseText(`(module
    (memory (export "memory") 1)
    (func (export "_start") (param i64))
    (func (export "m")))`);
  m.setFeatures(binaryen.Features.MVP | binaryen.Features.MutableGlobals);
  const bytes = m.emitBinary();
  m.dispose();
  const env = setup();
  const poison = addr(0x77);
  env.world.install(poison, prepareContract(bytes));
  env.world.commit();
  const r = call(env, poison, "m");
  assert.equal(r.status, "TRAP");
  assert.equal(r.gasUsed, GAS);
});
