/**
 * bench/suites/sig — ed25519 transaction signatures: how many a core verifies
 * and signs with Helios' path (node:crypto, i.e. OpenSSL) against the
 * pure-JS peer @noble/curves, and the machine's verification ceiling with the
 * VerifierPool on every core.
 *
 * Workloads (operations per second, higher is better; median over reps):
 *   verify 1 core     helios                          verifyTxSignature(bytes) of a signed transfer:
 *                                                     decode, key checks, cached KeyObject, crypto.verify
 *                     node:crypto (bare)              crypto.verify(null, msg, cachedKeyObject, sig) only
 *                     node:crypto (key per call)      the same, building the KeyObject from DER each time
 *                     @noble/curves                   ed25519.verify(sig, msg, publicKey) (default options)
 *   sign 1 core       helios                          signTx (signing bytes + crypto.sign)
 *                     node:crypto (bare)              crypto.sign(null, msg, privateKey)
 *                     @noble/curves                   ed25519.sign(msg, seed)
 *   verify all cores  helios                          VerifierPool (os.availableParallelism() threads), one batch,
 *                                                     empty SigCache each rep
 *                     helios (1 core)                 verifyTxSignature in a loop (the scaling baseline)
 *   admit 1 core      helios                          checkTxStateless with the signature in the SigCache
 *                     helios (uncached)               checkTxStateless that verifies
 * Every message is a real transaction's signing bytes (182-byte transfers
 * from 64 senders). Before timing, each peer's answer is checked. The
 * implementations of a workload run in interleaved rounds (see interleaved),
 * so a shared machine's background load does not favour whichever ran last.
 */
import { createPublicKey, sign as cryptoSign, verify as cryptoVerify, type KeyObject } from "node:crypto";
import os from "node:os";
import { ed25519 } from "@noble/curves/ed25519.js";
import { SigCache } from "../../src/exec/sigcache.js";
import {
  checkTxStateless,
  encodeTx,
  keyPairFromSeed,
  signingBytes,
  signTx,
  type Tx,
  type TxKeyPair,
  type UnsignedTx,
  verifyTxSignature,
} from "../../src/exec/tx.js";
import { VerifierPool } from "../../src/node/verifier.js";
import { gc, type Mode, median, msSince, now, type Result, seededBytes } from "../lib.js";

const SENDERS = 64;
const SPKI_ED25519 = Buffer.from("302a300506032b6570032100", "hex");

interface Fixture {
  seeds: Uint8Array[];
  keys: TxKeyPair[];
  unsigned: UnsignedTx[];
  txs: Tx[];
  bytes: Uint8Array[];
  msgs: Uint8Array[];
}

function fixture(n: number): Fixture {
  const rnd = seededBytes(0x519);
  const seeds = Array.from({ length: SENDERS }, () => rnd(32));
  const keys = seeds.map((s) => keyPairFromSeed(s));
  const unsigned: UnsignedTx[] = [];
  for (let i = 0; i < n; i++) {
    const k = keys[i % SENDERS] as TxKeyPair;
    unsigned.push({
      kind: "transfer",
      chainId: 1,
      nonce: i,
      gasLimit: 21_000,
      fee: 1n,
      from: k.publicKey,
      to: rnd(32),
      value: BigInt(i + 1),
    });
  }
  const txs = unsigned.map((u, i) => signTx(u, keys[i % SENDERS] as TxKeyPair));
  return { seeds, keys, unsigned, txs, bytes: txs.map(encodeTx), msgs: txs.map(signingBytes) };
}

/** One implementation of a workload: `run` performs `ops` operations. */
interface Case {
  impl: string;
  note: string;
  ops: number;
  run: () => void;
}

/**
 * Times the cases in interleaved rounds (each round runs every case once,
 * starting with a different one), so load that comes and goes on a shared
 * machine falls on all of them alike; the value is the median round.
 */
function interleaved(workload: string, cases: readonly Case[], reps: number): Result[] {
  for (const c of cases) c.run();
  const ms: number[][] = cases.map(() => []);
  for (let r = 0; r < reps; r++) {
    gc();
    for (let j = 0; j < cases.length; j++) {
      const k = (j + r) % cases.length;
      const t0 = now();
      (cases[k] as Case).run();
      (ms[k] as number[]).push(msSince(t0));
    }
  }
  return cases.map((c, k) => row(workload, c.impl, c.ops, median(ms[k] as number[]), c.note));
}

function row(workload: string, impl: string, ops: number, ms: number, note: string): Result {
  return { workload, impl, value: ops / (ms / 1000), unit: "ops/s", better: "higher", note };
}

export async function run(mode: Mode): Promise<Result[]> {
  const quick = mode === "quick";
  const reps = quick ? 3 : 7;
  const n = quick ? 512 : 4096;
  const nNoble = quick ? 48 : 512;
  const nPool = quick ? 2048 : 32_768;
  const f = fixture(Math.max(n, nPool));
  const results: Result[] = [];
  const idx = (i: number): number => i % SENDERS;
  const keyObjects: KeyObject[] = f.keys.map((k) =>
    createPublicKey({ key: Buffer.concat([SPKI_ED25519, k.publicKey]), format: "der", type: "spki" }),
  );

  // Cross-checks: every implementation agrees on a good and on a bad signature.
  const bad = (f.txs[0] as Tx).signature.slice();
  bad[5] = (bad[5] as number) ^ 1;
  const m0 = f.msgs[0] as Uint8Array;
  const p0 = (f.keys[0] as TxKeyPair).publicKey;
  const s0 = (f.txs[0] as Tx).signature;
  const checks: [string, boolean, boolean][] = [
    ["helios", verifyTxSignature(f.bytes[0] as Uint8Array), verifyTxSignature({ ...(f.txs[0] as Tx), signature: bad })],
    [
      "node:crypto",
      cryptoVerify(null, m0, keyObjects[0] as KeyObject, s0),
      cryptoVerify(null, m0, keyObjects[0] as KeyObject, bad),
    ],
    ["@noble/curves", ed25519.verify(s0, m0, p0), ed25519.verify(bad, m0, p0)],
  ];
  for (const [impl, good, forged] of checks) {
    if (!good || forged) throw new Error(`bench sig: ${impl} answered good=${good} forged=${forged}`);
  }
  if (Buffer.compare(ed25519.sign(m0, f.seeds[0] as Uint8Array), s0) !== 0) {
    throw new Error("bench sig: @noble/curves signs differently from node:crypto");
  }

  // --- verify, one core
  const verifyCases: Case[] = [
    {
      impl: "helios",
      note: "verifyTxSignature(bytes): well-formedness, key checks, cached KeyObject, crypto.verify",
      ops: n,
      run: () => {
        for (let i = 0; i < n; i++) if (!verifyTxSignature(f.bytes[i] as Uint8Array)) throw new Error("verify");
      },
    },
    {
      impl: "node:crypto (bare)",
      note: "crypto.verify with a KeyObject made beforehand",
      ops: n,
      run: () => {
        for (let i = 0; i < n; i++) {
          const k = keyObjects[idx(i)] as KeyObject;
          if (!cryptoVerify(null, f.msgs[i] as Uint8Array, k, (f.txs[i] as Tx).signature)) throw new Error("verify");
        }
      },
    },
    {
      impl: "node:crypto (key per call)",
      note: "createPublicKey(SPKI DER) + crypto.verify per signature",
      ops: n,
      run: () => {
        for (let i = 0; i < n; i++) {
          const der = Buffer.concat([SPKI_ED25519, (f.keys[idx(i)] as TxKeyPair).publicKey]);
          const k = createPublicKey({ key: der, format: "der", type: "spki" });
          if (!cryptoVerify(null, f.msgs[i] as Uint8Array, k, (f.txs[i] as Tx).signature)) throw new Error("verify");
        }
      },
    },
    {
      impl: "@noble/curves",
      note: "ed25519.verify, default options (pure JS)",
      ops: nNoble,
      run: () => {
        for (let i = 0; i < nNoble; i++) {
          const pub = (f.keys[idx(i)] as TxKeyPair).publicKey;
          if (!ed25519.verify((f.txs[i] as Tx).signature, f.msgs[i] as Uint8Array, pub)) throw new Error("verify");
        }
      },
    },
  ];
  results.push(...interleaved("verify 1 core", verifyCases, reps));

  // --- sign, one core
  const signCases: Case[] = [
    {
      impl: "helios",
      note: "signTx: signing bytes + crypto.sign + the signed Tx",
      ops: n,
      run: () => {
        for (let i = 0; i < n; i++) signTx(f.unsigned[i] as UnsignedTx, f.keys[idx(i)] as TxKeyPair);
      },
    },
    {
      impl: "node:crypto (bare)",
      note: "crypto.sign with a KeyObject",
      ops: n,
      run: () => {
        for (let i = 0; i < n; i++) cryptoSign(null, f.msgs[i] as Uint8Array, (f.keys[idx(i)] as TxKeyPair).privateKey);
      },
    },
    {
      impl: "@noble/curves",
      note: "ed25519.sign(msg, seed) (pure JS)",
      ops: nNoble,
      run: () => {
        for (let i = 0; i < nNoble; i++) ed25519.sign(f.msgs[i] as Uint8Array, f.seeds[idx(i)] as Uint8Array);
      },
    },
  ];
  results.push(...interleaved("sign 1 core", signCases, reps));

  // --- the machine's ceiling: every core, against one core in the same rounds
  const W3 = "verify all cores";
  const threads = os.availableParallelism();
  const pool = new VerifierPool({ threads, sigCache: new SigCache({ capacity: 2 * nPool }) });
  try {
    const batch = f.bytes.slice(0, nPool);
    const warm = await pool.verifyBatch(batch.slice(0, 64 * threads));
    if (!warm.every((x) => x)) throw new Error("pool verify");
    const poolMs: number[] = [];
    const mainMs: number[] = [];
    for (let r = 0; r < reps; r++) {
      gc();
      pool.sigCache.clear();
      let t0 = now();
      const got = await pool.verifyBatch(batch);
      poolMs.push(msSince(t0));
      if (got.length !== nPool || !got.every((x) => x)) throw new Error("pool verify");
      t0 = now();
      for (let i = 0; i < n; i++) verifyTxSignature(f.bytes[i] as Uint8Array);
      mainMs.push(msSince(t0));
    }
    results.push(
      row(W3, "helios", nPool, median(poolMs), `VerifierPool, ${threads} threads, one batch of ${nPool} transfers`),
    );
    results.push(row(W3, "helios (1 core)", n, median(mainMs), "verifyTxSignature in a loop on the main thread"));
  } finally {
    await pool.close();
  }

  // --- admission with and without the signature cache
  const cache = new SigCache({ capacity: 2 * n });
  const cached = { chainId: 1, maxTxBytes: 4096, blockGasLimit: 10_000_000, sigCache: cache };
  const plain = { chainId: 1, maxTxBytes: 4096, blockGasLimit: 10_000_000 };
  for (let i = 0; i < n; i++) checkTxStateless(f.bytes[i] as Uint8Array, cached);
  const admitCases: Case[] = [
    {
      impl: "helios",
      note: "checkTxStateless, signature found in the SigCache",
      ops: n,
      run: () => {
        for (let i = 0; i < n; i++) checkTxStateless(f.bytes[i] as Uint8Array, cached);
      },
    },
    {
      impl: "helios (uncached)",
      note: "checkTxStateless verifying the signature",
      ops: n,
      run: () => {
        for (let i = 0; i < n; i++) checkTxStateless(f.bytes[i] as Uint8Array, plain);
      },
    },
  ];
  results.push(...interleaved("admit 1 core", admitCases, reps));
  return results;
}
