/**
 * cli/chain — `helios demo` (what `npm start` runs): a single-node demo
 * chain on the embedded store. It funds accounts at genesis, deploys the
 * example token contract, then produces blocks of signed transfers and
 * token calls: each block's transactions are admitted (ed25519 verified on
 * worker threads, cached by hash), executed speculatively, checked and
 * committed, with a progress line per block. It then takes a snapshot,
 * rolls back, re-executes the same blocks to the same roots, and prints a
 * summary.
 *
 * Invariants: the demo uses only public APIs (StateManager, VerifierPool),
 * and its transactions come from a seeded generator, so two runs with the
 * same arguments produce the same roots.
 * Costs: dominated by signing (one core) and verification (all cores).
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { bytesToHex, xorshift32 } from "../core/index.js";
import {
  type Block,
  contractAddress,
  encodeTx,
  type ExecutedBlock,
  keyPairFromSeed,
  merkleRoot,
  type Receipt,
  StateManager,
  signTx,
  type TxKeyPair,
  txHash,
  u128ToLE,
} from "../exec/index.js";
import { createVerifierPool } from "../node/index.js";

const fmt = (n: number) => Math.round(n).toLocaleString("en-US");
const short = (b: Uint8Array) => `${bytesToHex(b).slice(0, 12)}…`;

/** build/contracts/<name>.wasm, next to dist/ in the checkout. */
export function contractPath(name: string): string {
  const here = path.dirname(fileURLToPath(import.meta.url));
  return path.resolve(here, "../../../build/contracts", `${name}.wasm`);
}

interface DemoOptions {
  accounts: number;
  blocks: number;
  txsPerBlock: number;
  dir?: string;
}

function parse(args: string[]): DemoOptions {
  const o: DemoOptions = { accounts: 5_000, blocks: 20, txsPerBlock: 2_000 };
  for (let i = 0; i < args.length; i++) {
    const a = args[i] as string;
    const v = args[i + 1];
    const num = (lo: number, hi: number) => {
      const n = Number(v);
      if (!Number.isInteger(n) || n < lo || n > hi) {
        console.error(`helios demo: ${a} takes an integer from ${lo} to ${hi}`);
        process.exit(2);
      }
      i++;
      return n;
    };
    if (a === "--accounts") o.accounts = num(10, 10_000_000);
    else if (a === "--blocks") o.blocks = num(4, 100_000);
    else if (a === "--txs") o.txsPerBlock = num(1, 100_000);
    else if (a === "--dir") {
      if (v === undefined) {
        console.error("helios demo: --dir takes a path");
        process.exit(2);
      }
      o.dir = v;
      i++;
    } else {
      console.error(
        `helios demo: unknown option ${a}\nusage: helios demo [--accounts N] [--blocks N] [--txs N] [--dir DIR]`,
      );
      process.exit(2);
    }
  }
  return o;
}

export async function chainDemo(args: string[]): Promise<void> {
  const o = parse(args);
  const tokenFile = contractPath("token");
  if (!existsSync(tokenFile)) {
    console.error(
      `helios demo: ${tokenFile} is missing; run \`npm start\` (it builds the contracts) or \`node scripts/build-contracts.mjs\``,
    );
    process.exit(1);
  }
  const token = new Uint8Array(readFileSync(tokenFile));
  const tmp = o.dir === undefined;
  const dir = o.dir ?? mkdtempSync(path.join(os.tmpdir(), "helios-chain-"));
  const chainId = 1;
  const m = StateManager.open(dir, { create: true, config: { chainId, snapshotInterval: 0 } });
  const pool = createVerifierPool({ sigCache: m.sigCache });
  const t0 = performance.now();
  try {
    console.log(`Helios — single-node demo chain (store: ${dir})\n`);
    if (m.committedHeight !== 0) {
      console.error("helios demo: the store already holds a chain; point --dir at an empty directory");
      process.exitCode = 2;
      return;
    }
    // ---- keys and genesis
    process.stdout.write(`1. Genesis: ${fmt(o.accounts)} accounts … `);
    const keys: TxKeyPair[] = [];
    for (let i = 0; i < o.accounts; i++) {
      const seed = new Uint8Array(32);
      new DataView(seed.buffer).setUint32(0, i + 1);
      keys.push(keyPairFromSeed(seed));
    }
    m.genesis(keys.map((k) => ({ address: k.publicKey, balance: 10n ** 24n })));
    console.log(`root ${short(m.stateRoot())}`);
    const nonces = new Array<number>(o.accounts).fill(0);
    const proposer = (keys[0] as TxKeyPair).publicKey;
    const deployer = keys[0] as TxKeyPair;
    let height = 0;
    const produce = async (txs: Uint8Array[]): Promise<{ r: ExecutedBlock; ms: number; verifyMs: number }> => {
      const tv = performance.now();
      const ok = await pool.verifyBatch(txs);
      const verifyMs = performance.now() - tv;
      if (ok.includes(false)) throw new Error("the demo signed an invalid transaction (a bug)");
      const block: Block = {
        header: {
          height: height + 1,
          timeMs: 1_700_000_000_000 + (height + 1) * 1000,
          gasLimit: m.config.blockGasLimit,
          parentRoot: m.stateRoot(),
          proposer,
          txRoot: merkleRoot(txs.map((t) => txHash(t))),
        },
        txs,
      };
      const te = performance.now();
      const r = m.executeBlock(block);
      m.commit(block.header.height);
      height = block.header.height;
      return { r, ms: performance.now() - te, verifyMs };
    };
    const sign = (i: number, u: Record<string, unknown>): Uint8Array => {
      const k = keys[i] as TxKeyPair;
      const nonce = nonces[i] as number;
      nonces[i] = nonce + 1;
      return encodeTx(signTx({ chainId, nonce, fee: 1n, value: 0n, from: k.publicKey, ...u } as never, k));
    };
    // ---- deploy the token and give every account some
    const tokenAddr = contractAddress(deployer.publicKey, 0);
    const dep = await produce([
      sign(0, { kind: "deploy", gasLimit: 50_000_000, code: token, args: u128ToLE(10n ** 30n) }),
    ]);
    const status = (dep.r.receipts[0] as Receipt).status;
    if (status !== "ok") throw new Error(`token deploy failed: ${status}`);
    console.log(
      `2. Deployed the token contract at ${short(tokenAddr)} (${fmt(token.length)} bytes, ${fmt(dep.r.gasUsed)} gas)`,
    );
    for (let start = 1; start < o.accounts; start += 5_000) {
      const txs: Uint8Array[] = [];
      for (let j = start; j < Math.min(o.accounts, start + 5_000); j++) {
        const args = new Uint8Array(48);
        args.set((keys[j] as TxKeyPair).publicKey, 0);
        args.set(u128ToLE(1_000_000n), 32);
        txs.push(sign(0, { kind: "call", gasLimit: 200_000, to: tokenAddr, method: "transfer", args }));
      }
      await produce(txs);
    }
    console.log(`   funded ${fmt(o.accounts - 1)} token holders (height ${height})\n`);

    // ---- the workload: blocks of transfers and token calls
    console.log(`3. ${o.blocks} blocks of ${fmt(o.txsPerBlock)} transactions (2/3 transfers, 1/3 token calls):`);
    const rand = xorshift32(42);
    const snapshotAt = height + Math.floor(o.blocks / 2);
    const replay: { txs: Uint8Array[]; root: Uint8Array }[] = [];
    let execMs = 0;
    let verifyMs = 0;
    let txCount = 0;
    let gasTotal = 0;
    let failed = 0;
    const first = height;
    for (let b = 0; b < o.blocks; b++) {
      const txs: Uint8Array[] = [];
      // each sender at most once per block keeps nonces simple to follow
      const used = new Set<number>();
      while (txs.length < o.txsPerBlock && used.size < o.accounts - 1) {
        const from = 1 + (rand() % (o.accounts - 1));
        if (used.has(from)) continue;
        used.add(from);
        const to = (keys[rand() % o.accounts] as TxKeyPair).publicKey;
        if (txs.length % 3 === 2) {
          const args = new Uint8Array(48);
          args.set(to, 0);
          args.set(u128ToLE(BigInt(1 + (rand() % 1000))), 32);
          txs.push(sign(from, { kind: "call", gasLimit: 200_000, to: tokenAddr, method: "transfer", args }));
        } else {
          txs.push(sign(from, { kind: "transfer", gasLimit: 5_000, to, value: BigInt(1 + (rand() % 1_000_000)) }));
        }
      }
      const { r, ms, verifyMs: vms } = await produce(txs);
      if (height > snapshotAt) replay.push({ txs, root: r.stateRoot });
      execMs += ms;
      verifyMs += vms;
      txCount += txs.length;
      gasTotal += r.gasUsed;
      failed += r.receipts.filter((x) => x.status !== "ok").length;
      console.log(
        `   height ${String(height).padStart(4)}  root ${short(r.stateRoot)}  ${fmt(txs.length)} txs  ` +
          `${fmt(r.gasUsed)} gas  exec+commit ${ms.toFixed(0)} ms (${fmt((txs.length / ms) * 1000)} TPS)  verify ${vms.toFixed(0)} ms`,
      );
      if (height === snapshotAt) {
        const s = m.createSnapshot(height);
        console.log(`   ↳ snapshot at height ${s.height}, root ${short(s.root)}`);
      }
    }
    const last = height;

    // ---- rollback and re-execute
    console.log(`\n4. Roll back to the snapshot's height ${snapshotAt} and re-execute ${replay.length} blocks:`);
    m.rollback(snapshotAt);
    height = snapshotAt;
    let same = 0;
    for (const { txs, root } of replay) {
      const { r } = await produce(txs);
      if (bytesToHex(r.stateRoot) === bytesToHex(root)) same++;
    }
    const match = same === replay.length;
    console.log(
      `   ${same}/${replay.length} blocks reproduced their roots; head ${short(m.stateRoot())} at height ${m.committedHeight}`,
    );
    if (!match) process.exitCode = 1;

    const wall = (performance.now() - t0) / 1000;
    console.log(`\nSummary
  blocks ${first + 1}–${last}: ${fmt(txCount)} transactions, ${fmt(failed)} failed in execution, ${fmt(gasTotal)} gas
  execute + commit: ${fmt((txCount / execMs) * 1000)} TPS (signatures verified at admission, ${pool.threads} worker threads: ${fmt((txCount / verifyMs) * 1000)} verifications/s)
  rollback + re-execution: ${match ? "identical roots" : "ROOTS DIFFER"}
  ${wall.toFixed(1)} s wall clock`);
  } finally {
    await pool.close();
    await m.close();
    if (tmp) rmSync(dir, { recursive: true, force: true });
  }
}
