/**
 * VerifierPool: batches of good, tampered and malformed transactions get
 * exactly verifyTxSignature's answers; verified hashes land in the SigCache
 * and are not sent to a thread again; overlapping batches; close() ends every
 * thread and fails later calls.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { isHeliosError } from "../../../src/core/errors.js";
import { SigCache } from "../../../src/exec/sigcache.js";
import { encodeTx, keyPairFromSeed, signTx, txHash, verifyTxSignature } from "../../../src/exec/tx.js";
import { VerifierPool } from "../../../src/node/verifier.js";

const keys = Array.from({ length: 3 }, (_, i) => keyPairFromSeed(new Uint8Array(32).fill(i + 1)));

/** n encodings, every 5th with a flipped bit and every 7th truncated; returns them with the expected answers. */
function batch(n: number, salt: number): { txs: Uint8Array[]; want: boolean[] } {
  const txs: Uint8Array[] = [];
  const want: boolean[] = [];
  for (let i = 0; i < n; i++) {
    const k = keys[i % keys.length] as (typeof keys)[number];
    const u =
      i % 3 === 0
        ? {
            kind: "call" as const,
            chainId: 1,
            nonce: i,
            gasLimit: 50_000,
            fee: 1n,
            from: k.publicKey,
            to: new Uint8Array(32),
            value: 0n,
            method: "m",
            args: Uint8Array.of(salt, i & 0xff),
          }
        : {
            kind: "transfer" as const,
            chainId: 1,
            nonce: i,
            gasLimit: 5_000,
            fee: BigInt(salt),
            from: k.publicKey,
            to: new Uint8Array(32),
            value: 1n,
          };
    let b = encodeTx(signTx(u, k));
    if (i % 5 === 1) {
      const j = (i * 31) % b.length;
      b[j] = (b[j] as number) ^ (1 << (i % 8));
    } else if (i % 7 === 2) {
      b = b.subarray(0, b.length - 1);
    }
    txs.push(b);
    want.push(i % 5 !== 1 && i % 7 !== 2);
  }
  return { txs, want };
}

test("a mixed batch gets exactly verifyTxSignature's answers, and verified hashes are cached", async () => {
  const sigCache = new SigCache({ capacity: 4096 });
  const pool = new VerifierPool({ threads: 2, sigCache });
  try {
    const { txs, want } = batch(120, 1);
    assert.deepEqual(
      txs.map((t) => verifyTxSignature(t)),
      want,
    );
    const got = await pool.verifyBatch(txs);
    assert.deepEqual(got, want);
    for (const [i, t] of txs.entries()) assert.equal(sigCache.has(txHash(t)), want[i] as boolean, `tx ${i}`);
    // Again: the good ones come from the cache, the bad ones are verified (and fail) again.
    assert.deepEqual(await pool.verifyBatch(txs), want);
    // All cached: answered without a thread.
    const good = txs.filter((_, i) => want[i]);
    assert.deepEqual(await pool.verifyBatch(good), new Array(good.length).fill(true));
    assert.deepEqual(await pool.verifyBatch([]), []);
  } finally {
    await pool.close();
  }
});

test("a cached hash is trusted: the pool does not re-verify it", async () => {
  const sigCache = new SigCache();
  const pool = new VerifierPool({ threads: 1, sigCache });
  try {
    const { txs } = batch(2, 9);
    const bad = (txs[0] as Uint8Array).slice();
    bad[90] = (bad[90] as number) ^ 1;
    assert.deepEqual(await pool.verifyBatch([bad]), [false]);
    sigCache.add(txHash(bad));
    assert.deepEqual(await pool.verifyBatch([bad]), [true]);
  } finally {
    await pool.close();
  }
});

test("overlapping batches on more threads than cores resolve independently", async () => {
  const pool = new VerifierPool({ threads: 3 });
  try {
    const batches = [batch(40, 2), batch(1, 3), batch(65, 4), batch(7, 5)];
    const got = await Promise.all(batches.map((b) => pool.verifyBatch(b.txs)));
    for (const [i, g] of got.entries()) assert.deepEqual(g, batches[i]?.want);
    assert.equal(pool.liveThreads, 3);
  } finally {
    await pool.close();
  }
});

test("close() ends every thread; later calls and batches in flight are refused", async () => {
  const pool = new VerifierPool({ threads: 2 });
  assert.equal(pool.threads, 2);
  assert.equal(pool.liveThreads, 2);
  const inFlight = assert.rejects(pool.verifyBatch(batch(200, 6).txs), (e) => isHeliosError(e, "VERIFIER_CLOSED"));
  await pool.close();
  await inFlight;
  // terminate() resolves once each thread has stopped; the exit events follow on the next turn.
  await new Promise((r) => setImmediate(r));
  assert.equal(pool.liveThreads, 0);
  await assert.rejects(pool.verifyBatch(batch(1, 7).txs), (e) => isHeliosError(e, "VERIFIER_CLOSED"));
  await pool.close(); // idempotent
});

test("bad arguments are refused", async () => {
  assert.throws(
    () => new VerifierPool({ threads: 0 }),
    (e) => isHeliosError(e, "INVALID_ARGUMENT"),
  );
  const pool = new VerifierPool({ threads: 1 });
  try {
    await assert.rejects(pool.verifyBatch(["x" as unknown as Uint8Array]), (e) => isHeliosError(e, "INVALID_ARGUMENT"));
  } finally {
    await pool.close();
  }
});
