/**
 * StateManager (docs/spec/exec.md E5–E17) on a real durable store: bad input
 * leaves the root unchanged with the right code, blocks are speculative until
 * committed, expected roots are enforced, rollback + re-execution reproduces
 * roots, and two stores with different cache sizes agree byte for byte.
 */
import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { test } from "node:test";
import { bytesToHex, type ErrorCode, isHeliosError } from "../../../src/core/index.js";
import { encodeBlock, encodeReceipt, merkleRoot } from "../../../src/exec/block.js";
import { contractAddress, storageTreeName } from "../../../src/exec/world.js";
import { loadConfig } from "../../../src/node/config.js";
import { StateManager } from "../../../src/exec/manager.js";
import { decodeTx, encodeTx, intrinsicGas, keyPairFromSeed, signTx, txHash } from "../../../src/exec/tx.js";
import {
  CHAIN_ID,
  call,
  deploy,
  keys,
  makeBlock,
  PROPOSER,
  readU128le,
  sign,
  transfer,
  u128le,
} from "../../support/chain.js";
import { rmDir, tmpDir } from "../../support/tmp.js";

const K = keys(6);
const [alice, bob, carol] = K as [(typeof K)[0], (typeof K)[0], (typeof K)[0]];

function open(dir: string, cacheBytes = 64 * 1024 * 1024): StateManager {
  const m = StateManager.open(dir, {
    create: true,
    config: { chainId: CHAIN_ID, cacheBytes, blockGasLimit: 10_000_000 },
  });
  if (m.committedHeight === 0 && m.account(alice.publicKey) === undefined) {
    m.genesis(K.map((k) => ({ address: k.publicKey, balance: 1_000_000n })));
  }
  return m;
}

const codeOf = (f: () => unknown): ErrorCode | "none" => {
  try {
    f();
    return "none";
  } catch (e) {
    if (isHeliosError(e)) return e.code;
    throw e;
  }
};

test("E5/E10: a block of transfers moves values and fees, and conserves supply", async () => {
  const dir = tmpDir("mgr");
  const m = open(dir);
  try {
    const txs = [
      transfer(alice, bob.publicKey, 100n, 0),
      transfer(bob, carol.publicKey, 50n, 0),
      transfer(alice, carol.publicKey, 1n, 1),
    ];
    const r = m.executeBlock(makeBlock(m, txs));
    assert.equal(r.receipts.length, 3);
    for (const rc of r.receipts) assert.equal(rc.status, "ok");
    // nothing visible before commit
    assert.equal(m.account(alice.publicKey)?.nonce, 0);
    m.commit(1);
    const gas = r.receipts.map((x) => x.gasUsed);
    const a = m.account(alice.publicKey);
    assert.equal(a?.nonce, 2);
    assert.equal(a?.balance, 1_000_000n - 101n - BigInt((gas[0] as number) + (gas[2] as number)));
    assert.equal(m.account(bob.publicKey)?.balance, 1_000_000n + 100n - 50n - BigInt(gas[1] as number));
    assert.equal(m.account(carol.publicKey)?.balance, 1_000_000n + 51n);
    assert.equal(m.account(PROPOSER)?.balance, BigInt(gas.reduce((s, g) => s + g, 0)));
    let total = 0n;
    for (const k of K) total += m.account(k.publicKey)?.balance ?? 0n;
    total += m.account(PROPOSER)?.balance ?? 0n;
    assert.equal(total, 6_000_000n);
  } finally {
    await m.close();
    rmDir(dir);
  }
});

test("bad input: every class gets its coded error at admission and in a block, and the root is unchanged", async () => {
  const dir = tmpDir("mgr-bad");
  const m = open(dir);
  try {
    const root = bytesToHex(m.stateRoot());
    const good = signTx(
      {
        kind: "transfer",
        chainId: CHAIN_ID,
        nonce: 0,
        gasLimit: 5_000,
        fee: 1n,
        from: alice.publicKey,
        to: bob.publicKey,
        value: 1n,
      },
      alice,
    );
    const sigFlipped = encodeTx(good);
    sigFlipped[sigFlipped.length - 1] = (sigFlipped[sigFlipped.length - 1] as number) ^ 1;
    const malformed = encodeTx(good).subarray(0, 40);
    const cases: [string, Uint8Array, ErrorCode | "none"][] = [
      ["bad signature", sigFlipped, "TX_BAD_SIGNATURE"],
      [
        "wrong chain",
        sign(alice, { chainId: 8, kind: "transfer", nonce: 0, gasLimit: 5_000, fee: 1n, to: bob.publicKey, value: 1n }),
        "TX_WRONG_CHAIN",
      ],
      ["nonce too low", transfer(alice, bob.publicKey, 1n, 0), "none"],
      ["nonce too far ahead", transfer(alice, bob.publicKey, 1n, 1000), "TX_NONCE_TOO_HIGH"],
      ["insufficient balance", transfer(alice, bob.publicKey, 999_999n, 0), "TX_INSUFFICIENT_BALANCE"],
      [
        "oversize",
        sign(alice, {
          kind: "call",
          nonce: 0,
          gasLimit: 5_000_000,
          fee: 1n,
          to: bob.publicKey,
          method: "m",
          args: new Uint8Array(300_000),
          value: 0n,
        }),
        "TX_OVERSIZE",
      ],
      ["gas below intrinsic", transfer(alice, bob.publicKey, 1n, 0, 1n, 10), "TX_GAS_BELOW_INTRINSIC"],
      ["gas above block limit", transfer(alice, bob.publicKey, 1n, 0, 0n, 20_000_000), "TX_GAS_ABOVE_BLOCK_LIMIT"],
      ["malformed", malformed, "TX_MALFORMED"],
    ];
    for (const [what, bytes, code] of cases) {
      assert.equal(
        codeOf(() => m.validateTx(bytes)),
        code,
        what,
      );
      if (code === "none") continue;
      // the same transaction inside a block invalidates the block, naming it and its cause
      let caught: unknown;
      try {
        m.executeBlock(makeBlock(m, [transfer(bob, carol.publicKey, 1n, 0), bytes]));
      } catch (e) {
        caught = e;
      }
      assert.ok(isHeliosError(caught, "BLOCK_INVALID"), `${what}: ${String(caught)}`);
      assert.equal(caught.context.index, 1, what);
      assert.equal(caught.context.cause, code, what);
      assert.equal(m.pendingBlocks().length, 0, what);
      assert.equal(bytesToHex(m.stateRoot()), root, what);
    }
    // nonce too low: after alice's nonce 0 is used, it is a replay
    m.executeBlock(makeBlock(m, [transfer(alice, bob.publicKey, 1n, 0)]));
    m.commit(1);
    const after = bytesToHex(m.stateRoot());
    assert.equal(
      codeOf(() => m.validateTx(transfer(alice, bob.publicKey, 1n, 0))),
      "TX_NONCE_TOO_LOW",
    );
    assert.throws(
      () => m.executeBlock(makeBlock(m, [transfer(alice, bob.publicKey, 1n, 0)])),
      (e: unknown) => isHeliosError(e, "BLOCK_INVALID") && e.context.cause === "TX_NONCE_TOO_LOW",
    );
    // in a block, any gap is refused
    assert.throws(
      () => m.executeBlock(makeBlock(m, [transfer(alice, bob.publicKey, 1n, 2)])),
      (e: unknown) => isHeliosError(e, "BLOCK_INVALID") && e.context.cause === "TX_NONCE_TOO_HIGH",
    );
    // a malformed block
    assert.equal(
      codeOf(() => m.executeBlock(new Uint8Array([1, 2, 3]))),
      "BLOCK_MALFORMED",
    );
    // wrong txRoot, height, parent
    const b = makeBlock(m, [transfer(alice, bob.publicKey, 1n, 1)]);
    assert.equal(
      codeOf(() => m.executeBlock({ ...b, txs: [transfer(alice, bob.publicKey, 2n, 1)] })),
      "BLOCK_INVALID",
    );
    assert.equal(
      codeOf(() => m.executeBlock({ ...b, header: { ...b.header, height: 5 } })),
      "BLOCK_INVALID",
    );
    assert.equal(
      codeOf(() => m.executeBlock({ ...b, header: { ...b.header, parentRoot: new Uint8Array(32) } })),
      "BLOCK_INVALID",
    );
    assert.equal(bytesToHex(m.stateRoot()), after);
    assert.equal(m.pendingBlocks().length, 0);
  } finally {
    await m.close();
    rmDir(dir);
  }
});

test("E16: a block whose expected root differs is rejected whole; the right root is accepted", async () => {
  const dir = tmpDir("mgr-root");
  const m = open(dir);
  try {
    const txs = [transfer(alice, bob.publicKey, 5n, 0)];
    const honest = m.executeBlock(makeBlock(m, txs));
    m.discard();
    const wrong = new Uint8Array(honest.stateRoot);
    wrong[0] = (wrong[0] as number) ^ 1;
    const before = bytesToHex(m.stateRoot());
    assert.throws(
      () => m.executeBlock(makeBlock(m, txs, { extra: { stateRoot: wrong } })),
      (e: unknown) => isHeliosError(e, "BLOCK_ROOT_MISMATCH") && e.context.root === "stateRoot",
    );
    assert.throws(
      () => m.executeBlock(makeBlock(m, txs, { extra: { stateRoot: honest.stateRoot, receiptsRoot: wrong } })),
      (e: unknown) => isHeliosError(e, "BLOCK_ROOT_MISMATCH") && e.context.root === "receiptsRoot",
    );
    assert.equal(m.pendingBlocks().length, 0);
    assert.throws(
      () => m.commit(1),
      (e: unknown) => isHeliosError(e, "EXEC_NOT_PENDING"),
    );
    assert.equal(bytesToHex(m.stateRoot()), before);
    const ok = m.executeBlock(
      encodeBlock(makeBlock(m, txs, { extra: { stateRoot: honest.stateRoot, receiptsRoot: honest.receiptsRoot } })),
    );
    assert.deepEqual(ok.stateRoot, honest.stateRoot);
    assert.deepEqual(m.commit(1), honest.stateRoot);
  } finally {
    await m.close();
    rmDir(dir);
  }
});

test("E17: speculation: competing and chained pending blocks; commit keeps only what builds on it", async () => {
  const dir = tmpDir("mgr-spec");
  const m = open(dir);
  try {
    const a = m.executeBlock(makeBlock(m, [transfer(alice, bob.publicKey, 1n, 0)]));
    const b = m.executeBlock(makeBlock(m, [transfer(alice, carol.publicKey, 2n, 0)]));
    const a2 = m.executeBlock(makeBlock(m, [transfer(alice, carol.publicKey, 3n, 1)], { parent: a }));
    const b2 = m.executeBlock(makeBlock(m, [transfer(alice, bob.publicKey, 4n, 1)], { parent: b }));
    assert.equal(m.pendingBlocks().length, 4);
    assert.equal(m.committedHeight, 0);
    assert.throws(
      () => m.commit(1),
      (e: unknown) => isHeliosError(e, "EXEC_NOT_PENDING"),
    ); // two candidates
    m.commit(1, a.hash);
    const left = m.pendingBlocks().map((p) => bytesToHex(p.hash));
    assert.deepEqual(left, [bytesToHex(a2.hash)]);
    void b2;
    assert.deepEqual(m.commit(2), a2.stateRoot);
    assert.equal(m.account(carol.publicKey)?.balance, 1_000_003n);
    // discard drops a block and what builds on it
    const c = m.executeBlock(makeBlock(m, [transfer(bob, alice.publicKey, 1n, 0)]));
    m.executeBlock(makeBlock(m, [transfer(bob, alice.publicKey, 1n, 1)], { parent: c }));
    m.discard(c.hash);
    assert.equal(m.pendingBlocks().length, 0);
  } finally {
    await m.close();
    rmDir(dir);
  }
});

/** The 8 transfers of height h in the test chain (nonces: sender index → next nonce, advanced). */
function chainTxs(h: number, nonces: Map<number, number>): Uint8Array[] {
  const txs: Uint8Array[] = [];
  for (let i = 0; i < 8; i++) {
    const from = (h * 7 + i * 3) % K.length;
    const to = (from + 1 + ((h + i) % (K.length - 1))) % K.length;
    const n = nonces.get(from) ?? 0;
    nonces.set(from, n + 1);
    txs.push(transfer(K[from] as (typeof K)[0], (K[to] as (typeof K)[0]).publicKey, BigInt(1 + ((h * i) % 97)), n));
  }
  return txs;
}

async function runChain(dir: string, cacheBytes: number, blocks: number) {
  const m = open(dir, cacheBytes);
  const roots: string[] = [];
  const receipts: string[] = [];
  const nonces = new Map<number, number>();
  for (let h = 1; h <= blocks; h++) {
    const txs = chainTxs(h, nonces);
    const r = m.executeBlock(makeBlock(m, txs));
    m.commit(h);
    roots.push(bytesToHex(r.stateRoot));
    receipts.push(bytesToHex(r.receiptsRoot) + r.receipts.map((x) => bytesToHex(encodeReceipt(x))).join(""));
  }
  return { m, roots, receipts };
}

test("E11: the same blocks on two stores with different cache sizes give identical roots and receipts", async () => {
  const d1 = tmpDir("mgr-det1");
  const d2 = tmpDir("mgr-det2");
  const a = await runChain(d1, 64 * 1024 * 1024, 12);
  const b = await runChain(d2, 0, 12);
  try {
    assert.deepEqual(a.roots, b.roots);
    assert.deepEqual(a.receipts, b.receipts);
    assert.equal(new Set(a.roots).size, 12);
  } finally {
    await a.m.close();
    await b.m.close();
    rmDir(d1);
    rmDir(d2);
  }
});

test("E17: rollback then re-execution reproduces the same roots, also after reopening", async () => {
  const dir = tmpDir("mgr-rb");
  const first = await runChain(dir, 16 * 1024 * 1024, 6);
  await first.m.close();
  const ref = tmpDir("mgr-rb-ref");
  const again = await runChain(ref, 16 * 1024 * 1024, 6);
  await again.m.close();
  rmDir(ref);
  const m = open(dir);
  try {
    assert.equal(m.committedHeight, 6);
    m.rollback(2);
    assert.equal(bytesToHex(m.stateRoot()), first.roots[1]);
    // re-execute 3..6 with the same transactions (regenerate as runChain did)
    const nonces = new Map<number, number>();
    for (let h = 1; h <= 6; h++) {
      const txs = chainTxs(h, nonces);
      if (h <= 2) continue;
      const r = m.executeBlock(makeBlock(m, txs));
      assert.equal(bytesToHex(r.stateRoot), first.roots[h - 1], `height ${h}`);
      m.commit(h);
    }
    assert.deepEqual(first.roots, again.roots);
  } finally {
    await m.close();
    rmDir(dir);
  }
});

test("E8/E9: out of gas everywhere: a token transfer at every gas limit from the intrinsic gas up to what it needs", async () => {
  const dir = tmpDir("mgr-oog");
  const m = open(dir);
  try {
    const code = new Uint8Array(readFileSync(new URL("../../../../build/contracts/token.wasm", import.meta.url)));
    const dep = m.executeBlock(makeBlock(m, [deploy(alice, code, u128le(1_000n), 0, 600_000)]));
    assert.equal(dep.receipts[0]?.status, "ok");
    m.commit(1);
    const token = dep.receipts[0]?.contract as Uint8Array;
    const args = new Uint8Array([...bob.publicKey, ...u128le(7n)]);
    const root = bytesToHex(m.stateRoot());
    const full = m.executeTx(call(alice, token, "transfer", args, 1, 300_000));
    assert.equal(full.status, "ok");
    const needed = full.gasUsed;
    const intrinsic = intrinsicGas(decodeTx(call(alice, token, "transfer", args, 1, needed)));
    let oog = 0;
    for (let limit = intrinsic; limit <= needed + 3; limit++) {
      const r = m.executeTx(call(alice, token, "transfer", args, 1, limit));
      if (limit >= needed) {
        assert.equal(r.status, "ok", `limit ${limit}`);
        assert.equal(r.gasUsed, needed, `limit ${limit}`);
        assert.equal(r.events.length, 1);
      } else {
        assert.equal(r.status, "OUT_OF_GAS", `limit ${limit}`);
        assert.equal(r.gasUsed, limit, `an out-of-gas run is charged all its gas (limit ${limit})`);
        assert.equal(r.events.length, 0, "a failed run emits nothing");
        oog++;
      }
    }
    assert.equal(oog, needed - intrinsic);
    // a block mixing the failing and the succeeding run: the failure reverts only itself
    const b = m.executeBlock(
      makeBlock(m, [
        call(alice, token, "transfer", args, 1, needed - 1),
        call(alice, token, "transfer", args, 2, needed),
      ]),
    );
    assert.deepEqual(
      b.receipts.map((r) => r.status),
      ["OUT_OF_GAS", "ok"],
    );
    m.commit(2);
    assert.equal(readU128le(m.storage(token, new Uint8Array([0x62, ...bob.publicKey])) ?? new Uint8Array(16)), 7n);
    assert.notEqual(bytesToHex(m.stateRoot()), root);
  } finally {
    await m.close();
    rmDir(dir);
  }
});

test("docs/api.md: the first chain does what the guide says (transfer, deploy, call, estimateGas, loadConfig)", async () => {
  const dir = tmpDir("mgr-doc");
  const m = StateManager.open(dir, { create: true, config: { chainId: 1 } });
  try {
    const alice = keyPairFromSeed(new Uint8Array(32).fill(1));
    const bob = keyPairFromSeed(new Uint8Array(32).fill(2));
    m.genesis([{ address: alice.publicKey, balance: 10n ** 18n }]);
    const blockOf = (txs: Uint8Array[]) => ({
      header: {
        height: m.committedHeight + 1,
        timeMs: 1_700_000_000_000,
        gasLimit: m.config.blockGasLimit,
        parentRoot: m.stateRoot(),
        proposer: alice.publicKey,
        txRoot: merkleRoot(txs.map((t) => txHash(t))),
      },
      txs,
    });
    const tx = encodeTx(
      signTx(
        {
          kind: "transfer",
          chainId: 1,
          nonce: 0,
          gasLimit: 5_000,
          fee: 1n,
          from: alice.publicKey,
          to: bob.publicKey,
          value: 1_000n,
        },
        alice,
      ),
    );
    m.validateTx(tx);
    const executed = m.executeBlock(blockOf([tx]));
    assert.equal(executed.receipts[0]?.status, "ok");
    m.commit(executed.height);
    assert.equal(m.account(bob.publicKey)?.balance, 1000n);
    const code = new Uint8Array(readFileSync(new URL("../../../../build/contracts/token.wasm", import.meta.url)));
    const deployTx = encodeTx(
      signTx(
        {
          kind: "deploy",
          chainId: 1,
          nonce: 1,
          gasLimit: 1_000_000,
          fee: 1n,
          from: alice.publicKey,
          value: 0n,
          code,
          args: u128le(1_000_000n),
        },
        alice,
      ),
    );
    const d = m.executeBlock(blockOf([deployTx]));
    m.commit(d.height);
    const token = contractAddress(alice.publicKey, 1);
    assert.deepEqual(d.receipts[0]?.contract, token);
    const acct = m.account(token);
    assert.ok(acct?.codeHash && acct.storageRoot, "a contract account has a code hash and a storage root");
    const args = new Uint8Array([...bob.publicKey, ...u128le(10n)]);
    const est = m.estimateGas({
      kind: "call",
      chainId: 1,
      nonce: 2,
      from: alice.publicKey,
      value: 0n,
      to: token,
      method: "transfer",
      args,
    });
    assert.equal(est.status, "ok");
    const callTx = encodeTx(
      signTx(
        {
          kind: "call",
          chainId: 1,
          nonce: 2,
          gasLimit: est.gasUsed,
          fee: 1n,
          from: alice.publicKey,
          value: 0n,
          to: token,
          method: "transfer",
          args,
        },
        alice,
      ),
    );
    const c = m.executeBlock(blockOf([callTx]));
    assert.equal(c.receipts[0]?.status, "ok", "the estimate is enough gas");
    assert.equal(c.receipts[0]?.gasUsed, est.gasUsed);
    m.commit(c.height);
    // the account's storage root is the root of the contract's storage tree, and it moved with the call
    const after = m.account(token);
    assert.notDeepEqual(after?.storageRoot, acct.storageRoot);
    assert.deepEqual(after?.storageRoot, m.db.treeRoot(storageTreeName(token)));
    // config from a file
    const cfg = path.join(dir, "helios.json");
    writeFileSync(cfg, JSON.stringify({ chainId: 9, vm: { maxCallDepth: 8 } }));
    assert.equal(loadConfig(cfg).vm.maxCallDepth, 8);
    assert.throws(
      () => loadConfig(path.join(dir, "missing.json")),
      (e: unknown) => isHeliosError(e, "CONFIG_INVALID"),
    );
  } finally {
    await m.close();
    rmDir(dir);
  }
});

test("review: a GC cycle while a block is pending keeps its nodes; the committed head reads after a restart", async () => {
  const dir = tmpDir("mgr-gc");
  let m = open(dir);
  try {
    const b = m.executeBlock(makeBlock(m, [transfer(alice, bob.publicKey, 12_345n, 0)]));
    await m.db.checkpoint();
    await m.db.collect();
    m.commit(b.height);
    await m.close();
    m = open(dir);
    assert.equal(m.account(bob.publicKey)?.balance, 1_000_000n + 12_345n);
    assert.ok(m.db.verify().nodes > 0, "the head verifies (verify throws on a missing node)");
    // a discarded block's version is released and collected
    const d = m.executeBlock(makeBlock(m, [transfer(alice, bob.publicKey, 1n, 1)]));
    m.discard(d.hash);
    await m.db.checkpoint();
    await m.db.collect();
    assert.equal(m.db.isLive(d.stateRoot), false);
  } finally {
    await m.close();
    rmDir(dir);
  }
});

test("review: pending lineage with blocks that change nothing (equal state roots)", async () => {
  const dir = tmpDir("mgr-lineage");
  const m = open(dir);
  try {
    const empty = m.executeBlock(makeBlock(m, [], { timeMs: 1 }));
    const sibling = m.executeBlock(makeBlock(m, [transfer(alice, bob.publicKey, 5n, 0)], { timeMs: 2 }));
    assert.deepEqual(empty.stateRoot, empty.parentRoot);
    m.commit(1, empty.hash);
    // the competing block at the committed height is gone, and nothing can build on it
    assert.deepEqual(m.pendingBlocks(), []);
    assert.throws(
      () => m.executeBlock(makeBlock(m, [transfer(alice, bob.publicKey, 5n, 1)], { parent: sibling })),
      (e: unknown) => isHeliosError(e, "BLOCK_INVALID") && e.context.reason === "parent",
    );
    // two empty siblings: discarding one keeps the other and its child
    const a = m.executeBlock(makeBlock(m, [], { timeMs: 3 }));
    const b = m.executeBlock(makeBlock(m, [], { timeMs: 4 }));
    const c = m.executeBlock(makeBlock(m, [transfer(alice, bob.publicKey, 1n, 0)], { parent: b }));
    m.discard(a.hash);
    assert.deepEqual(
      m
        .pendingBlocks()
        .map((p) => bytesToHex(p.hash))
        .sort(),
      [bytesToHex(b.hash), bytesToHex(c.hash)].sort(),
    );
    m.commit(2, b.hash);
    assert.deepEqual(m.commit(3), c.stateRoot);
  } finally {
    await m.close();
    rmDir(dir);
  }
});

test("review: returned roots are copies (writing into one cannot corrupt the head)", async () => {
  const dir = tmpDir("mgr-copy");
  const m = open(dir);
  try {
    const b = m.executeBlock(makeBlock(m, [transfer(alice, bob.publicKey, 1n, 0)]));
    const root = m.commit(b.height);
    const good = bytesToHex(m.stateRoot());
    root.fill(0);
    b.stateRoot.fill(0);
    assert.equal(bytesToHex(m.stateRoot()), good);
    assert.equal(m.account(bob.publicKey)?.balance, 1_000_001n);
  } finally {
    await m.close();
    rmDir(dir);
  }
});

test("review: txRoot and signatures are checked before anything executes; genesis balances are validated", async () => {
  const dir = tmpDir("mgr-pre");
  const m = open(dir);
  try {
    const txs = [transfer(alice, bob.publicKey, 1n, 0), transfer(bob, alice.publicKey, 1n, 0)];
    const b = makeBlock(m, txs);
    // a txRoot over other transactions: refused, and the reason says so
    assert.throws(
      () => m.executeBlock({ ...b, txs: [txs[0] as Uint8Array] }),
      (e: unknown) => isHeliosError(e, "BLOCK_INVALID") && e.context.reason === "txRoot",
    );
    const empty = tmpDir("mgr-gen");
    const g = StateManager.open(empty, { create: true });
    try {
      assert.throws(
        () => g.genesis([{ address: alice.publicKey, balance: -5n }]),
        (e: unknown) => isHeliosError(e, "INVALID_ARGUMENT"),
      );
      assert.throws(
        () =>
          g.genesis([
            { address: alice.publicKey, balance: 1n << 127n },
            { address: bob.publicKey, balance: 1n << 127n },
          ]),
        (e: unknown) => isHeliosError(e, "INVALID_ARGUMENT"),
      );
      assert.equal(g.committedHeight, 0);
    } finally {
      await g.close();
      rmDir(empty);
    }
  } finally {
    await m.close();
    rmDir(dir);
  }
});
