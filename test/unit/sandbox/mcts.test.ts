/**
 * The MCTS explorer (src/sandbox/mcts.ts): same seed, same result; the
 * search finds the optimum of a small known problem; the caller's root is
 * never written and every fork the search made is released; a clock budget;
 * the worked example (examples/mcts-puzzle.ts) really solves its puzzle;
 * and transactions as actions: executing signed transactions on a fork
 * gives the state root the block executor gives, and a search over
 * transactions finds the best sequence.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { after, before, test } from "node:test";
import { bytesToHex, isHeliosError, utf8 } from "../../../src/core/index.js";
import {
  contractAddress,
  decodeAccount,
  StateManager,
  storageTreeName,
  TREE_ACCOUNTS,
} from "../../../src/exec/index.js";
import { openState, type StateDB } from "../../../src/history/index.js";
import { ForestFork } from "../../../src/sandbox/fork.js";
import {
  type Environment,
  executeTxOnFork,
  type Forkable,
  mcts,
  transactionEnvironment,
  txValidOn,
} from "../../../src/sandbox/mcts.js";
import { manhattan, replay, solvePuzzle } from "../../../examples/mcts-puzzle.js";
import { CHAIN_ID, call, deploy, keys, makeBlock, PROPOSER, transfer, u128le } from "../../support/chain.js";
import { rmDir, tmpDir } from "../../support/tmp.js";

let dir: string;
let db: StateDB;

before(() => {
  dir = tmpDir("mcts");
  db = openState(dir, { create: true });
  const bulk = [];
  for (let i = 0; i < 5000; i++) bulk.push({ key: utf8(`w${i}`), value: utf8(`v${i}`) });
  db.commit(1, { world: bulk, game: [{ key: utf8("sum"), value: Uint8Array.of(0) }] });
});

after(async () => {
  await db.close();
  rmDir(dir);
});

/**
 * A toy game on the forest: 5 moves, each adds 1, 2 or 3 to "sum", except
 * that adding 3 right after a 3 subtracts 4 instead. Best: 3 2 3 2 3 = 13.
 */
function sumGame(): Environment<number> {
  const SUM = utf8("sum");
  const LAST = utf8("last");
  const MOVES = utf8("moves");
  const num = (s: ForestFork, k: Uint8Array) => (s.get("game", k) ?? Uint8Array.of(0))[0] as number;
  return {
    actions: (s) => (num(s, MOVES) >= 5 ? [] : [1, 2, 3]),
    step(s, a) {
      const last = num(s, LAST);
      const d = a === 3 && last === 3 ? -4 : a;
      s.put("game", SUM, Uint8Array.of((num(s, SUM) + d + 256) % 256)); // a signed byte
      s.put("game", LAST, Uint8Array.of(a));
      s.put("game", MOVES, Uint8Array.of(num(s, MOVES) + 1));
    },
    reward: (s) => {
      const v = num(s, SUM);
      return (v > 127 ? v - 256 : v) / 13;
    },
    terminal: (s) => num(s, MOVES) >= 5,
    key: (a) => `+${a}`,
  };
}

test("the same seed gives the same search, bit for bit; the optimum of a small game is found", () => {
  const root = ForestFork.of(db, db.root);
  const run = (seed: number) => {
    const r = mcts(root, sumGame(), { seed, iterations: 400 });
    const out = {
      best: r.best,
      value: r.value,
      principal: r.principal,
      rollouts: r.rollouts,
      steps: r.steps,
      nodes: r.nodes,
      children: r.children,
    };
    r.state.release();
    return out;
  };
  const a = run(42);
  const b = run(42);
  assert.deepEqual(a, b);
  assert.equal(a.rollouts, 400);
  assert.deepEqual(a.best, [3, 2, 3, 2, 3]);
  assert.equal(a.value, 1);
  assert.deepEqual(
    a.children.map((c) => c.key),
    a.children.map((c) => `+${c.action}`),
  );
  const other = run(7);
  assert.notDeepEqual(other.children, a.children, "another seed explores differently");
  assert.equal(root.get("game", utf8("moves")), undefined, "the caller's root is never written");
  root.release();
});

test("every fork the search makes is released; the result's state is the caller's", () => {
  const staged = db.stage(db.root, { game: [{ key: utf8("sum"), value: Uint8Array.of(1) }] });
  db.setRef("mcts-test", staged.root);
  staged.release();
  const root = ForestFork.of(db, staged.root);
  db.deleteRef("mcts-test");
  const r = mcts(root, sumGame(), { seed: 1, iterations: 200, stopAt: 1 });
  assert.ok(r.nodes > 1);
  assert.equal(r.state.get("game", utf8("moves"))?.[0], r.best.length);
  root.release();
  assert.equal(db.isLive(staged.root), true, "result.state still holds the base");
  r.state.release();
  assert.equal(db.isLive(staged.root), false, "nothing else did: every tree and rollout fork was released");
});

test("an environment that throws anywhere (root, expansion, rollout, reward) leaks no fork", () => {
  // the k-th call of one env method throws; afterwards the only holder of the base was the caller's root
  const methods = ["actions", "step", "terminal", "reward"] as const;
  let cases = 0;
  for (const method of methods) {
    for (let k = 1; k <= 6; k++) {
      const staged = db.stage(db.root, { game: [{ key: utf8("sum"), value: Uint8Array.of(k) }] });
      const root = ForestFork.of(db, staged.root);
      staged.release();
      const env = sumGame();
      let calls = 0;
      const inner = env[method] as (...a: unknown[]) => unknown;
      const bad = {
        ...env,
        [method]: (...a: unknown[]) => {
          if (++calls === k) throw new Error(`env bug in ${method}`);
          return inner(...a);
        },
      } as Environment<number>;
      assert.throws(() => mcts(root, bad, { seed: 5, iterations: 50 }), new RegExp(`env bug in ${method}`));
      root.release();
      assert.equal(db.isLive(staged.root), false, `${method} throwing at call ${k} left a fork alive`);
      cases++;
    }
  }
  assert.equal(cases, 24);
});

test("stopAt ends the search early; budgetMs follows the given clock; bad options are coded errors", () => {
  const root = ForestFork.of(db, db.root);
  const r = mcts(root, sumGame(), { seed: 3, iterations: 100_000, stopAt: 1 });
  assert.equal(r.value, 1);
  assert.ok(r.rollouts < 100_000);
  r.state.release();
  let t = 0;
  const timed = mcts(root, sumGame(), { seed: 3, budgetMs: 50, clock: () => t++ });
  // the clock reads 0 at the start, then 1, 2, … before each iteration: 49 iterations fit in 50 ms; one read at the end
  assert.equal(timed.rollouts, 49);
  assert.equal(timed.elapsedMs, 51);
  assert.ok((timed.rolloutsPerSec as number) > 0);
  timed.state.release();
  const bad = (e: unknown) => isHeliosError(e, "INVALID_ARGUMENT");
  assert.throws(() => mcts(root, sumGame(), { seed: 1, budgetMs: 10 }), bad);
  assert.throws(() => mcts(root, sumGame(), { seed: 1.5 }), bad);
  assert.throws(() => mcts(root, sumGame(), { seed: 1, iterations: -1 }), bad);
  assert.throws(
    () => mcts(root, { ...sumGame(), step: undefined } as unknown as Environment<number>, { seed: 1 }),
    bad,
  );
  root.release();
});

test("the search is generic over any forkable state (here a plain Map, copied on fork)", () => {
  class MapState implements Forkable<MapState> {
    constructor(readonly m: Map<string, number>) {}
    fork(): MapState {
      return new MapState(new Map(this.m));
    }
    release(): void {}
  }
  const env: Environment<number, MapState> = {
    actions: (s) => ((s.m.get("n") ?? 0) >= 4 ? [] : [0, 1]),
    step: (s, a) => {
      s.m.set("n", (s.m.get("n") ?? 0) + 1);
      s.m.set("bits", (s.m.get("bits") ?? 0) * 2 + a);
    },
    reward: (s) => (s.m.get("bits") === 0b1011 ? 1 : 0),
    terminal: (s) => (s.m.get("n") ?? 0) >= 4,
  };
  const r = mcts(new MapState(new Map()), env, { seed: 9, iterations: 300, stopAt: 1 });
  assert.deepEqual(r.best, [1, 0, 1, 1]);
  assert.equal(r.state.m.get("bits"), 0b1011);
});

test("examples/mcts-puzzle solves a scrambled 8-puzzle stored next to unrelated state", async () => {
  for (const seed of [1, 2]) {
    const run = await solvePuzzle({ size: 3, scramble: 10, world: 3000, iterations: 50_000, seed });
    assert.equal(run.solved, true, `seed ${seed}`);
    assert.equal(manhattan(3, replay(3, run.start, run.moves)), 0, "the moves really solve the start board");
    assert.ok(manhattan(3, run.start) > 0, "it was scrambled");
    assert.ok(run.rollouts > 0 && run.rolloutsPerSec > 0);
  }
});

// ------------------------------------------------------------- transactions

const K = keys(4, 61);
const [alice, bob, carol] = K as [(typeof K)[0], (typeof K)[0], (typeof K)[0]];

function openManager(d: string): StateManager {
  const m = StateManager.open(d, { create: true, config: { chainId: CHAIN_ID, blockGasLimit: 10_000_000 } });
  m.genesis(K.map((k) => ({ address: k.publicKey, balance: 1_000_000_000n })));
  return m;
}

test("transactions executed on a fork give the executor's state root, storage roots included", async () => {
  const d = tmpDir("mcts-tx");
  const m = openManager(d);
  try {
    const code = new Uint8Array(readFileSync(new URL("../../../../build/contracts/token.wasm", import.meta.url)));
    const token = contractAddress(alice.publicKey, 0);
    const args = new Uint8Array([...bob.publicKey, ...u128le(7n)]);
    const txs = [
      deploy(alice, code, u128le(1_000n), 0, 600_000),
      call(alice, token, "transfer", args, 1, 300_000),
      transfer(bob, carol.publicKey, 5n, 0),
      call(alice, token, "transfer", args, 2, 20_000), // runs out of gas: a receipt, not an error
    ];
    const block = makeBlock(m, txs);
    const fork = ForestFork.of(m.db, m.db.root);
    const ctx = {
      config: m.config,
      block: { height: block.header.height, timeMs: block.header.timeMs, proposer: PROPOSER },
      sigCache: m.sigCache,
    };
    const statuses = txs.map((tx) => executeTxOnFork(fork, tx, ctx).status);
    const executed = m.executeBlock(block);
    assert.deepEqual(
      statuses,
      executed.receipts.map((r) => r.status),
    );
    assert.equal(statuses[3], "OUT_OF_GAS");
    assert.equal(bytesToHex(fork.root()), bytesToHex(executed.stateRoot), "the same state root as the block");
    assert.ok(fork.writes().has(storageTreeName(token)), "the contract's storage tree was written");
    // an invalid transaction throws its TX_* code and leaves the fork as it was
    const before = bytesToHex(fork.root());
    assert.equal(txValidOn(fork, transfer(bob, carol.publicKey, 5n, 0), ctx), false, "nonce already used");
    assert.throws(
      () => executeTxOnFork(fork, transfer(bob, carol.publicKey, 5n, 0), ctx),
      (e: unknown) => isHeliosError(e, "TX_NONCE_TOO_LOW"),
    );
    assert.equal(bytesToHex(fork.root()), before);
    assert.equal(txValidOn(fork, transfer(bob, carol.publicKey, 5n, 1), ctx), true);
    fork.release();
  } finally {
    await m.close();
    rmDir(d);
  }
});

test("MCTS over signed transactions finds the best sequence", async () => {
  const d = tmpDir("mcts-txenv");
  const m = openManager(d);
  try {
    // alice may send 10 to bob or 50 to carol, three times (one pre-signed tx per nonce and choice)
    const candidates: Uint8Array[] = [];
    for (let n = 0; n < 3; n++) {
      candidates.push(transfer(alice, bob.publicKey, 10n, n), transfer(alice, carol.publicKey, 50n, n));
    }
    const balance = (s: ForestFork, who: Uint8Array) => {
      const raw = s.get(TREE_ACCOUNTS, who);
      return raw === undefined ? 0n : decodeAccount(raw).balance;
    };
    const start = 1_000_000_000n;
    const env = transactionEnvironment({
      candidates: () => candidates,
      reward: (s) => Number(balance(s, carol.publicKey) - start) / 150,
      ctx: {
        config: m.config,
        block: { height: 1, timeMs: 1_700_000_000_000, proposer: PROPOSER },
        sigCache: m.sigCache,
      },
    });
    const root = ForestFork.of(m.db, m.db.root);
    assert.equal(env.actions(root).length, 2, "only the nonce-0 transactions are valid at the start");
    const r = mcts(root, env, { seed: 5, iterations: 200, stopAt: 1 });
    assert.equal(r.value, 1);
    assert.deepEqual(
      r.best.map((tx) => candidates.indexOf(tx)),
      [1, 3, 5],
    );
    assert.equal(balance(r.state, carol.publicKey), start + 150n);
    r.state.release();
    root.release();
  } finally {
    await m.close();
    rmDir(d);
  }
});
