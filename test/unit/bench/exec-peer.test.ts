/**
 * The @ethereumjs/vm peer of the state-machine bench really executes: on a
 * small chain (20 accounts, one block of 10 transactions) balances, nonces
 * and token storage move exactly as a plain model says, receipts report
 * success, an overdrawn token transfer reverts, and every way of running a
 * block (runBlock or runTx, senders recovered inside or before the run) ends
 * at the same state root.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import {
  BASE_FEE_WEI,
  createEthereumjsChain,
  type EthereumjsChain,
  ethereumjsTokenTransfers,
  ethereumjsTransfers,
  GAS_PRICE_WEI,
  GENESIS_TOKENS,
  GENESIS_WEI,
  type PeerPath,
  type PlannedTransfer,
  TOKEN_CODE,
  TRANSFER_TOPIC,
} from "../../../bench/suites/exec-peer.js";

const ACCOUNTS = 20;
const TXS = 10;
const TRANSFER_GAS = 21_000n;

async function balances(chain: EthereumjsChain): Promise<bigint[]> {
  const out: bigint[] = [];
  for (let i = 0; i < ACCOUNTS; i++) out.push(await chain.balance(i));
  return out;
}

async function tokenBalances(chain: EthereumjsChain): Promise<bigint[]> {
  const out: bigint[] = [];
  for (let i = 0; i < ACCOUNTS; i++) out.push(await chain.tokenBalance(i));
  return out;
}

/** One block of the planned value transfers, on a fresh chain. */
async function transferBlock(path: PeerPath, verifySignatures: boolean) {
  const chain = await createEthereumjsChain({ accounts: ACCOUNTS });
  const plan = chain.planTransfers(TXS);
  const run = await chain.execute(chain.makeBlock(chain.sign("transfer", plan), verifySignatures), path);
  return { chain, plan, run };
}

test("value transfers: balances, nonces and fees move as the model says", async () => {
  const { chain, plan, run } = await transferBlock("runBlock", true);
  assert.deepEqual(run.statuses, new Array(TXS).fill(1));
  assert.equal(run.gasUsed, BigInt(TXS) * TRANSFER_GAS);
  const senders = new Set(plan.map((t) => t.from));
  assert.equal(senders.size, TXS, "one transaction per sender");
  const model = new Array<bigint>(ACCOUNTS).fill(GENESIS_WEI);
  for (const t of plan) {
    assert.notEqual(t.from, t.to);
    model[t.from]! -= t.amount + TRANSFER_GAS * GAS_PRICE_WEI;
    model[t.to]! += t.amount;
  }
  assert.deepEqual(await balances(chain), model);
  for (let i = 0; i < ACCOUNTS; i++) assert.equal(await chain.nonce(i), senders.has(i) ? 1n : 0n, `nonce of ${i}`);
  // Fees: the base fee is burnt, the tip goes to the coinbase.
  assert.equal(await chain.coinbaseBalance(), BigInt(TXS) * TRANSFER_GAS * (GAS_PRICE_WEI - BASE_FEE_WEI));
});

test("value transfers: runBlock and runTx, with and without signature recovery in the run, agree", async () => {
  const roots = new Set<string>();
  for (const path of ["runBlock", "runTx"] as const) {
    for (const verify of [true, false]) {
      const { run } = await transferBlock(path, verify);
      assert.deepEqual(run.statuses, new Array(TXS).fill(1), `${path} verify=${verify}`);
      roots.add(Buffer.from(run.stateRoot).toString("hex"));
    }
  }
  assert.equal(roots.size, 1, "one state root");
});

test("token: the assembled contract is the documented one", () => {
  assert.equal(TRANSFER_TOPIC, 0xddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3efn);
  assert.equal(
    Buffer.from(TOKEN_CODE).toString("hex"),
    "60003560e01c63a9059cbb146014575b600080fd5b3360005260406000208054602435808210600f5780820383556004357" +
      "3ffffffffffffffffffffffffffffffffffffffff1680600052604060002080548301905590600052337fddf252ad1be2c8" +
      "9b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef60206000a3600160005260206000f3",
  );
});

test("token transfers: storage balances move, logs are emitted, an overdrawn transfer reverts", async () => {
  const chain = await createEthereumjsChain({ accounts: ACCOUNTS, token: true });
  assert.deepEqual(await tokenBalances(chain), new Array(ACCOUNTS).fill(GENESIS_TOKENS));
  const plan = chain.planTransfers(TXS);
  const senders = new Set(plan.map((t) => t.from));
  const overdrawer = [...Array(ACCOUNTS).keys()].find((i) => !senders.has(i))!;
  const model = new Array<bigint>(ACCOUNTS).fill(GENESIS_TOKENS);
  for (const t of plan) {
    model[t.from]! -= t.amount;
    model[t.to]! += t.amount;
  }
  // One unit more than the overdrawer will hold when its call runs (last).
  const overdrawn: PlannedTransfer = { from: overdrawer, to: plan[0]!.to, amount: model[overdrawer]! + 1n };
  const signed = chain.sign("token", [...plan, overdrawn]);
  const run = await chain.execute(chain.makeBlock(signed, true));
  assert.deepEqual(run.statuses, [...new Array(TXS).fill(1), 0]);
  assert.deepEqual(run.logCounts, [...new Array(TXS).fill(1), 0]);
  assert.deepEqual(await tokenBalances(chain), model);
  // The reverted call still advanced the nonce and paid its gas.
  assert.equal(await chain.nonce(overdrawer), 1n);
  assert.ok((await chain.balance(overdrawer)) < GENESIS_WEI);
  for (const t of plan) assert.equal(await chain.nonce(t.from), 1n);
  // Token calls move no ether except fees.
  for (let i = 0; i < ACCOUNTS; i++) {
    if (!senders.has(i) && i !== overdrawer) assert.equal(await chain.balance(i), GENESIS_WEI);
  }
});

test("the bench entry points run blocks and report rates", async () => {
  for (const fn of [ethereumjsTransfers, ethereumjsTokenTransfers]) {
    for (const verifySignatures of [false, true]) {
      const r = await fn({ accounts: ACCOUNTS, txs: TXS, blocks: 1, warmupBlocks: 1, verifySignatures });
      assert.equal(r.msPerBlock.length, 1);
      assert.ok(r.txPerSec > 0 && Number.isFinite(r.txPerSec), `${r.kind}: ${r.txPerSec}`);
      assert.ok(r.gasUsedPerBlock >= TXS * 21_000);
    }
  }
});
