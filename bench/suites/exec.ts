/**
 * bench/suites/exec — the state machine (issue 5): transfers and token
 * calls executed and committed per second, the latency of executing and
 * committing one large block, and throughput end to end with ed25519
 * verification, against @ethereumjs/vm running the same workload in the
 * same process (bench/suites/exec-peer.ts).
 *
 * Workload: A funded accounts at genesis (full 100K, quick 2K); blocks of
 * B transactions (full 10K, quick 1K) from distinct senders to seeded-random
 * recipients. Helios runs on a real durable store in a temp directory, so
 * "commit" includes the log append and fsync.
 * - "pre-verified": the block's signatures went through admission (the
 *   VerifierPool) before the clock starts, as consensus would see them.
 * - "end to end": admission (verification on every core) and execution are
 *   pipelined: block n+1 is verified while block n executes.
 * - "verification ceiling": the VerifierPool alone on the same transactions.
 */
import { readFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import {
  type Block,
  contractAddress,
  encodeTx,
  keyPairFromSeed,
  merkleRoot,
  StateManager,
  signTx,
  type TxKeyPair,
  txHash,
  u128ToLE,
} from "../../src/exec/index.js";
import { xorshift32 } from "../../src/core/index.js";
import { createVerifierPool } from "../../src/node/index.js";
import { type Add, gc, median, type Mode, msSince, now, type Result, tempDir } from "../lib.js";

const CHAIN = 1;

function tokenWasm(): Uint8Array {
  const here = path.dirname(fileURLToPath(import.meta.url));
  return new Uint8Array(readFileSync(path.resolve(here, "../../../build/contracts/token.wasm")));
}

interface Chain {
  m: StateManager;
  keys: TxKeyPair[];
  nonces: number[];
  height: number;
  dir: string;
}

function openChain(accounts: number): Chain {
  const dir = tempDir("exec");
  const m = StateManager.open(dir, { create: true, config: { chainId: CHAIN } });
  const keys: TxKeyPair[] = [];
  for (let i = 0; i < accounts; i++) {
    const seed = new Uint8Array(32);
    new DataView(seed.buffer).setUint32(0, i + 1);
    keys.push(keyPairFromSeed(seed));
  }
  m.genesis(keys.map((k) => ({ address: k.publicKey, balance: 10n ** 24n })));
  return { m, keys, nonces: new Array<number>(accounts).fill(0), height: 0, dir };
}

function signed(c: Chain, i: number, u: Record<string, unknown>): Uint8Array {
  const k = c.keys[i] as TxKeyPair;
  const nonce = c.nonces[i] as number;
  c.nonces[i] = nonce + 1;
  return encodeTx(signTx({ chainId: CHAIN, nonce, fee: 1n, value: 0n, from: k.publicKey, ...u } as never, k));
}

function block(c: Chain, txs: Uint8Array[]): Block {
  return {
    header: {
      height: c.height + 1,
      timeMs: 1_700_000_000_000 + c.height * 1000,
      gasLimit: c.m.config.blockGasLimit,
      parentRoot: c.m.stateRoot(),
      proposer: (c.keys[0] as TxKeyPair).publicKey,
      txRoot: merkleRoot(txs.map((t) => txHash(t))),
    },
    txs,
  };
}

/** Executes and commits one block; returns ms. */
function execCommit(c: Chain, txs: Uint8Array[]): number {
  const b = block(c, txs);
  const t0 = now();
  const r = c.m.executeBlock(b);
  c.m.commit(b.header.height);
  const ms = msSince(t0);
  c.height = b.header.height;
  const bad = r.receipts.find((x) => x.status !== "ok");
  if (bad) throw new Error(`bench transaction failed: ${bad.status}`);
  return ms;
}

function transfers(c: Chain, n: number, rand: () => number): Uint8Array[] {
  const txs: Uint8Array[] = [];
  const used = new Set<number>();
  while (txs.length < n) {
    const from = 1 + (rand() % (c.keys.length - 1));
    if (used.has(from)) continue;
    used.add(from);
    const to = (c.keys[rand() % c.keys.length] as TxKeyPair).publicKey;
    txs.push(signed(c, from, { kind: "transfer", gasLimit: 5_000, to, value: BigInt(1 + (rand() % 1000)) }));
  }
  return txs;
}

async function measure(mode: Mode, add: Add): Promise<void> {
  const p =
    mode === "full"
      ? { accounts: 100_000, txs: 10_000, blocks: 5, tokenTxs: 5_000 }
      : { accounts: 2_000, txs: 1_000, blocks: 3, tokenTxs: 500 };
  const label = `${p.txs / 1000}K-tx blocks, ${p.accounts / 1000}K accounts`;
  const c = openChain(p.accounts);
  const pool = createVerifierPool({ sigCache: c.m.sigCache });
  const rand = xorshift32(7);
  try {
    // ---- transfers, signatures verified at admission (before the clock)
    const ms: number[] = [];
    for (let b = 0; b <= p.blocks; b++) {
      const txs = transfers(c, p.txs, rand);
      await pool.verifyBatch(txs);
      gc();
      const t = execCommit(c, txs);
      if (b > 0) ms.push(t); // block 0 warms up
    }
    const tps = (p.txs / median(ms)) * 1000;
    add(`transfers executed + committed/s (pre-verified; ${label})`, "helios", tps, "tx/s", "higher", "median block");
    add(
      `execute + commit of one ${p.txs / 1000}K-transfer block`,
      "helios",
      median(ms),
      "ms",
      "lower",
      `p50 of ${ms.length}`,
    );

    // ---- verification ceiling: the pool alone, all cores
    const fresh = transfers(c, p.txs, rand);
    const alone = createVerifierPool({ threads: pool.threads });
    // start the threads on copies with a broken signature (they verify, fail, and are not cached)
    await alone.verifyBatch(
      fresh.slice(0, 64).map((t) => {
        const x = t.slice();
        x[x.length - 1] = (x[x.length - 1] as number) ^ 1;
        return x;
      }),
    );
    const tv = now();
    const ok = await alone.verifyBatch(fresh);
    const ceilingMs = msSince(tv);
    await alone.close();
    if (ok.includes(false)) throw new Error("bench signed a bad transaction");
    // (the fresh pool above has its own cache: nothing was cached for `c`)
    const ceiling = (p.txs / ceilingMs) * 1000;
    add(
      `ed25519 verifications/s, ${pool.threads} worker threads (the ceiling)`,
      "helios",
      ceiling,
      "sig/s",
      "higher",
      "",
    );

    // ---- end to end: verify block n+1 while block n executes
    // `fresh` was signed with the next nonces; run it as the first block
    const queue: Uint8Array[][] = [fresh];
    for (let b = 1; b < p.blocks; b++) queue.push(transfers(c, p.txs, rand));
    gc();
    const te = now();
    let verifying = pool.verifyBatch(queue[0] as Uint8Array[]);
    for (let b = 0; b < queue.length; b++) {
      await verifying;
      if (b + 1 < queue.length) verifying = pool.verifyBatch(queue[b + 1] as Uint8Array[]);
      execCommit(c, queue[b] as Uint8Array[]);
    }
    const e2e = ((queue.length * p.txs) / msSince(te)) * 1000;
    add(
      `transfers end to end/s (verify + execute + commit; ${label})`,
      "helios",
      e2e,
      "tx/s",
      "higher",
      `${((e2e / ceiling) * 100).toFixed(0)}% of the verification ceiling`,
    );

    // ---- token calls
    const token = tokenWasm();
    const tokenAddr = contractAddress((c.keys[0] as TxKeyPair).publicKey, c.nonces[0] as number);
    execCommit(c, [signed(c, 0, { kind: "deploy", gasLimit: 50_000_000, code: token, args: u128ToLE(10n ** 30n) })]);
    const holders = Math.min(c.keys.length - 1, p.tokenTxs * 2);
    for (let start = 1; start <= holders; start += 5_000) {
      const txs: Uint8Array[] = [];
      for (let j = start; j < Math.min(holders + 1, start + 5_000); j++) {
        const args = new Uint8Array(48);
        args.set((c.keys[j] as TxKeyPair).publicKey, 0);
        args.set(u128ToLE(1_000_000n), 32);
        txs.push(signed(c, 0, { kind: "call", gasLimit: 200_000, to: tokenAddr, method: "transfer", args }));
      }
      await pool.verifyBatch(txs);
      execCommit(c, txs);
    }
    const tms: number[] = [];
    for (let b = 0; b <= p.blocks; b++) {
      const txs: Uint8Array[] = [];
      const used = new Set<number>();
      while (txs.length < p.tokenTxs) {
        const from = 1 + (rand() % holders);
        if (used.has(from)) continue;
        used.add(from);
        const args = new Uint8Array(48);
        args.set((c.keys[1 + (rand() % holders)] as TxKeyPair).publicKey, 0);
        args.set(u128ToLE(BigInt(1 + (rand() % 100))), 32);
        txs.push(signed(c, from, { kind: "call", gasLimit: 200_000, to: tokenAddr, method: "transfer", args }));
      }
      await pool.verifyBatch(txs);
      gc();
      const t = execCommit(c, txs);
      if (b > 0) tms.push(t);
    }
    add(
      `token transfer calls executed + committed/s (pre-verified; ${p.tokenTxs / 1000}K-call blocks)`,
      "helios",
      (p.tokenTxs / median(tms)) * 1000,
      "call/s",
      "higher",
      "median block",
    );
  } finally {
    await pool.close();
    await c.m.close();
  }
}

/**
 * The same workloads on @ethereumjs/vm (bench/suites/exec-peer.ts): the same
 * number of accounts and transactions per block, distinct senders, seeded
 * recipients; its own in-memory state and its block path (state root and
 * commit included). "pre-verified" means sender recovery ran before the
 * clock, the analogue of Helios' admission.
 */
async function measurePeer(mode: Mode, add: Add): Promise<void> {
  const peer = await import("./exec-peer.js");
  const p =
    mode === "full"
      ? { accounts: 100_000, txs: 10_000, blocks: 3, tokenTxs: 5_000 }
      : { accounts: 2_000, txs: 1_000, blocks: 2, tokenTxs: 500 };
  const label = `${p.txs / 1000}K-tx blocks, ${p.accounts / 1000}K accounts`;
  const impl = "@ethereumjs/vm";
  const pre = await peer.ethereumjsTransfers({
    accounts: p.accounts,
    txs: p.txs,
    blocks: p.blocks,
    verifySignatures: false,
  });
  add(
    `transfers executed + committed/s (pre-verified; ${label})`,
    impl,
    pre.txPerSec,
    "tx/s",
    "higher",
    `median of ${pre.msPerBlock.length} blocks; ${pre.path}`,
  );
  add(`execute + commit of one ${p.txs / 1000}K-transfer block`, impl, pre.msPerBlockMedian, "ms", "lower", pre.path);
  const e2e = await peer.ethereumjsTransfers({
    accounts: p.accounts,
    txs: p.txs,
    blocks: p.blocks,
    verifySignatures: true,
  });
  add(
    `transfers end to end/s (verify + execute + commit; ${label})`,
    impl,
    e2e.txPerSec,
    "tx/s",
    "higher",
    "secp256k1 sender recovery inside the block, one core",
  );
  const tok = await peer.ethereumjsTokenTransfers({
    accounts: Math.min(p.accounts, p.tokenTxs * 2 + 1),
    txs: p.tokenTxs,
    blocks: p.blocks,
    verifySignatures: false,
  });
  add(
    `token transfer calls executed + committed/s (pre-verified; ${p.tokenTxs / 1000}K-call blocks)`,
    impl,
    tok.txPerSec,
    "call/s",
    "higher",
    "hand-assembled ERC-20-style transfer (EVM)",
  );
}

export async function run(mode: Mode): Promise<Result[]> {
  const results: Result[] = [];
  const add: Add = (workload, impl, value, unit, better, note) =>
    results.push({ workload, impl, value, unit, better, note });
  await measure(mode, add);
  console.error(`[exec] helios done (${os.availableParallelism()} cores)`);
  if (process.env.EXEC_PEERS !== "none") {
    gc();
    await measurePeer(mode, add);
    console.error("[exec] @ethereumjs/vm done");
  }
  return results;
}
