/**
 * The example contracts in contracts/ (docs/contracts.md), compiled by
 * scripts/build-contracts.mjs and run through the real validator,
 * instrumenter and VM: the token, the counter, and the caller that calls them.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { bytesToHex } from "../../../src/core/index.js";
import type { BlockContext } from "../../../src/exec/types.js";
import { CALL_STATUS_CODES, type CallResult, createVm, type Vm } from "../../../src/exec/vm.js";
import {
  addr,
  bytes,
  contractModule,
  decodeU64,
  decodeU128,
  fromText,
  MemoryWorld,
  text,
  u64,
  u128,
} from "../../support/world.js";

const BLOCK: BlockContext = { height: 1, timeMs: 1_700_000_000_000 };
const ALICE = addr(0xa1);
const BOB = addr(0xb0);
const CAROL = addr(0xc0);
const TOKEN = addr(0x70);
const COUNTER = addr(0x71);
const CALLER = addr(0x72);
const ZERO = new Uint8Array(32);
const GAS = 5_000_000;
const EMPTY = new Uint8Array(0);
const SUPPLY = 1_000_000n;

interface Env {
  world: MemoryWorld;
  vm: Vm;
}

function setup(): Env {
  const world = new MemoryWorld();
  world.install(TOKEN, contractModule("token"));
  world.install(COUNTER, contractModule("counter"));
  world.install(CALLER, contractModule("caller"));
  const vm = createVm({ world, block: BLOCK });
  const r = vm.init({ caller: ALICE, address: TOKEN, args: u128(SUPPLY), value: 0n, gas: GAS });
  assert.equal(r.status, "ok", r.message);
  return { world, vm };
}

function call(env: Env, caller: Uint8Array, address: Uint8Array, method: string, args: Uint8Array = EMPTY): CallResult {
  return env.vm.call({ caller, address, method, args, value: 0n, gas: GAS });
}

function ok(r: CallResult): Uint8Array {
  assert.equal(r.status, "ok", r.message);
  return r.output;
}

function reverts(r: CallResult, message: string): void {
  assert.equal(r.status, "REVERT", r.message);
  assert.equal(fromText(r.output), message);
}

function balanceOf(env: Env, who: Uint8Array): bigint {
  return decodeU128(ok(call(env, CAROL, TOKEN, "balanceOf", who)));
}

function allowance(env: Env, owner: Uint8Array, spender: Uint8Array): bigint {
  return decodeU128(ok(call(env, CAROL, TOKEN, "allowance", bytes(owner, spender))));
}

function eventsOf(world: MemoryWorld, from = 0): { topic: string; data: string }[] {
  return world.events.slice(from).map((e) => {
    assert.deepEqual(e.address, TOKEN);
    return { topic: fromText(e.topic), data: bytesToHex(e.data) };
  });
}

function transferEvent(from: Uint8Array, to: Uint8Array, amount: bigint): { topic: string; data: string } {
  return { topic: "Transfer", data: bytesToHex(bytes(from, to, u128(amount))) };
}

// ---------------------------------------------------------------- token

test("token: init mints the supply to the deployer and emits a Transfer from the zero address", () => {
  const env = setup();
  assert.equal(balanceOf(env, ALICE), SUPPLY);
  assert.equal(balanceOf(env, BOB), 0n);
  assert.equal(decodeU128(ok(call(env, BOB, TOKEN, "totalSupply"))), SUPPLY);
  assert.deepEqual(eventsOf(env.world), [transferEvent(ZERO, ALICE, SUPPLY)]);
  assert.equal(call(env, ALICE, TOKEN, "init", u128(5n)).status, "NO_SUCH_METHOD", "init is deploy-only");
});

test("token: transfer moves the amount and emits Transfer; an overdraft reverts and changes nothing", () => {
  const env = setup();
  const n = env.world.events.length;
  ok(call(env, ALICE, TOKEN, "transfer", bytes(BOB, u128(250n))));
  assert.equal(balanceOf(env, ALICE), SUPPLY - 250n);
  assert.equal(balanceOf(env, BOB), 250n);
  assert.deepEqual(eventsOf(env.world, n), [transferEvent(ALICE, BOB, 250n)]);

  const before = env.world.dump();
  reverts(call(env, BOB, TOKEN, "transfer", bytes(CAROL, u128(251n))), "insufficient balance");
  reverts(call(env, CAROL, TOKEN, "transfer", bytes(BOB, u128(1n))), "insufficient balance");
  reverts(call(env, BOB, TOKEN, "transfer", bytes(CAROL)), "bad args");
  assert.deepEqual(env.world.dump(), before);

  // All of a balance, to oneself, and zero amounts all work; an emptied balance takes no storage.
  ok(call(env, BOB, TOKEN, "transfer", bytes(BOB, u128(250n))));
  assert.equal(balanceOf(env, BOB), 250n);
  ok(call(env, BOB, TOKEN, "transfer", bytes(CAROL, u128(0n))));
  ok(call(env, BOB, TOKEN, "transfer", bytes(CAROL, u128(250n))));
  assert.equal(balanceOf(env, BOB), 0n);
  assert.equal(env.world.storageOf(TOKEN).has(bytesToHex(bytes(text("b"), BOB))), false);
  assert.equal(balanceOf(env, CAROL), 250n);
});

test("token: approve, allowance and transferFrom; overspending the allowance or the balance reverts", () => {
  const env = setup();
  const n = env.world.events.length;
  ok(call(env, ALICE, TOKEN, "approve", bytes(BOB, u128(100n))));
  assert.equal(allowance(env, ALICE, BOB), 100n);
  assert.equal(allowance(env, BOB, ALICE), 0n);
  assert.deepEqual(eventsOf(env.world, n), [{ topic: "Approval", data: bytesToHex(bytes(ALICE, BOB, u128(100n))) }]);

  ok(call(env, BOB, TOKEN, "transferFrom", bytes(ALICE, CAROL, u128(60n))));
  assert.equal(allowance(env, ALICE, BOB), 40n);
  assert.equal(balanceOf(env, ALICE), SUPPLY - 60n);
  assert.equal(balanceOf(env, CAROL), 60n);
  assert.equal(balanceOf(env, BOB), 0n);
  assert.deepEqual(eventsOf(env.world, n + 1), [transferEvent(ALICE, CAROL, 60n)]);

  const before = env.world.dump();
  reverts(call(env, BOB, TOKEN, "transferFrom", bytes(ALICE, CAROL, u128(41n))), "insufficient allowance");
  reverts(call(env, CAROL, TOKEN, "transferFrom", bytes(ALICE, CAROL, u128(1n))), "insufficient allowance");
  assert.deepEqual(env.world.dump(), before);

  // An allowance larger than the owner's balance: the balance check still holds.
  ok(call(env, CAROL, TOKEN, "approve", bytes(BOB, u128(1_000n))));
  reverts(call(env, BOB, TOKEN, "transferFrom", bytes(CAROL, BOB, u128(61n))), "insufficient balance");
  assert.equal(allowance(env, CAROL, BOB), 1_000n, "the reverted spend left the allowance");
  ok(call(env, BOB, TOKEN, "transferFrom", bytes(CAROL, BOB, u128(60n))));
  assert.equal(allowance(env, CAROL, BOB), 940n);
  // approve overwrites; approving zero clears.
  ok(call(env, CAROL, TOKEN, "approve", bytes(BOB, u128(0n))));
  assert.equal(allowance(env, CAROL, BOB), 0n);
});

test("token: large u128 amounts round-trip, and the sum of balances stays the supply (random transfers)", () => {
  const world = new MemoryWorld();
  world.install(TOKEN, contractModule("token"));
  const vm = createVm({ world, block: BLOCK });
  const big = (1n << 127n) + 12345n;
  assert.equal(vm.init({ caller: ALICE, address: TOKEN, args: u128(big), value: 0n, gas: GAS }).status, "ok");
  const env = { world, vm };
  assert.equal(balanceOf(env, ALICE), big);
  const holders = [ALICE, BOB, CAROL];
  const model = new Map<string, bigint>([[bytesToHex(ALICE), big]]);
  fc.assert(
    fc.property(
      fc.array(fc.tuple(fc.nat({ max: 2 }), fc.nat({ max: 2 }), fc.bigInt({ min: 0n, max: (1n << 128n) - 1n })), {
        maxLength: 12,
      }),
      (ops) => {
        for (const [f, t, amount] of ops) {
          const from = holders[f] as Uint8Array;
          const to = holders[t] as Uint8Array;
          const have = model.get(bytesToHex(from)) ?? 0n;
          const r = call(env, from, TOKEN, "transfer", bytes(to, u128(amount)));
          if (amount <= have) {
            assert.equal(r.status, "ok", r.message);
            model.set(bytesToHex(from), have - amount);
            model.set(bytesToHex(to), (model.get(bytesToHex(to)) ?? 0n) + amount);
          } else {
            reverts(r, "insufficient balance");
          }
        }
        let sum = 0n;
        for (const h of holders) {
          assert.equal(balanceOf(env, h), model.get(bytesToHex(h)) ?? 0n);
          sum += balanceOf(env, h);
        }
        assert.equal(sum, big);
      },
    ),
    { numRuns: 25, seed: 5 },
  );
});

// ---------------------------------------------------------------- counter

test("counter: increment, add, get; overflow and incrementThenRevert revert and change nothing", () => {
  const env = setup();
  const value = (r: CallResult) => decodeU64(ok(r));
  assert.equal(value(call(env, ALICE, COUNTER, "get")), 0n);
  assert.equal(value(call(env, ALICE, COUNTER, "increment")), 1n);
  assert.equal(value(call(env, BOB, COUNTER, "add", u64(41n))), 42n);
  assert.equal(value(call(env, BOB, COUNTER, "get")), 42n);
  const before = env.world.dump();
  reverts(call(env, ALICE, COUNTER, "add", u64((1n << 64n) - 1n)), "overflow");
  reverts(call(env, ALICE, COUNTER, "incrementThenRevert"), "nope");
  reverts(call(env, ALICE, COUNTER, "add", EMPTY), "bad args");
  assert.deepEqual(env.world.dump(), before);
  assert.equal(value(call(env, BOB, COUNTER, "get")), 42n);
});

// ---------------------------------------------------------------- caller

test("caller: bump increments the counter through a nested call and returns its output", () => {
  const env = setup();
  assert.equal(decodeU64(ok(call(env, ALICE, CALLER, "bump", bytes(COUNTER, u64(60_000n))))), 1n);
  assert.equal(decodeU64(ok(call(env, ALICE, CALLER, "bump", bytes(COUNTER, u64(-1n))))), 2n, "-1 forwards all gas");
  assert.equal(decodeU64(ok(call(env, ALICE, COUNTER, "get"))), 2n);
  assert.equal(env.world.storageOf(CALLER).get(bytesToHex(text("n"))), bytesToHex(u64(2n)));
  // Too small a grant: the callee runs out of gas, and bump reverts on purpose with its status.
  const before = env.world.dump();
  const r = call(env, ALICE, CALLER, "bump", bytes(COUNTER, u64(1_500n)));
  assert.equal(r.status, "REVERT");
  assert.deepEqual(r.output, Uint8Array.of(CALL_STATUS_CODES.OUT_OF_GAS));
  assert.deepEqual(env.world.dump(), before);
});

test("caller: a failing callee reverts only itself; the caller's own writes stay", () => {
  const env = setup();
  ok(call(env, ALICE, COUNTER, "increment"));
  const out = ok(call(env, ALICE, CALLER, "tryRevert", COUNTER));
  assert.deepEqual(out, bytes([CALL_STATUS_CODES.REVERT], text("nope")));
  assert.equal(decodeU64(ok(call(env, ALICE, COUNTER, "get"))), 1n, "the callee's increment was undone");
  assert.equal(env.world.storageOf(CALLER).get(bytesToHex(text("t"))), bytesToHex(u64(1n)));
});

test("caller: forward moves the caller contract's own tokens; a failed transfer is a status, not a failure", () => {
  const env = setup();
  ok(call(env, ALICE, TOKEN, "transfer", bytes(CALLER, u128(10n))));
  const n = env.world.events.length;
  assert.deepEqual(ok(call(env, ALICE, CALLER, "forward", bytes(TOKEN, BOB, u128(4n)))), Uint8Array.of(0));
  assert.equal(balanceOf(env, CALLER), 6n);
  assert.equal(balanceOf(env, BOB), 4n);
  assert.deepEqual(eventsOf(env.world, n), [transferEvent(CALLER, BOB, 4n)], "the token sees the contract as caller");
  const before = env.world.dump();
  const r = call(env, ALICE, CALLER, "forward", bytes(TOKEN, BOB, u128(7n)));
  assert.deepEqual(ok(r), Uint8Array.of(CALL_STATUS_CODES.REVERT));
  assert.deepEqual(env.world.dump(), before);
});
