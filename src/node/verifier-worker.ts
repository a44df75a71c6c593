/**
 * node/verifier-worker — the body of one VerifierPool thread: verifies
 * transaction signatures out of a batch held in a SharedArrayBuffer.
 *
 * Protocol (see verifier.ts for the buffer layout): the pool posts one
 * message per batch, { id, sab, count, offsetsAt, resultsAt, dataAt, chunk }.
 * The worker claims `chunk` transactions at a time from the shared counter
 * (Atomics.add), verifies each still-pending one, stores VALID or INVALID in
 * its result byte, and posts the batch id back when the counter runs past the
 * end. Every thread of the batch does the same, so the work balances itself.
 *
 * Invariants: a result byte is written once, by the thread that claimed its
 * index, with Atomics.store (the pool reads it with Atomics.load after every
 * thread has answered). Bytes that do not decode verify as INVALID; nothing a
 * transaction contains can throw out of the loop.
 * Costs: one verification per pending transaction (≈ 110 µs each here), one
 * atomic add per chunk, one message per batch.
 */
import { parentPort } from "node:worker_threads";
import { verifyTxSignature } from "../exec/index.js";

/** Result byte values (keep in sync with verifier.ts). */
const PENDING = 0;
const VALID = 1;
const INVALID = 2;

export interface VerifyJob {
  id: number;
  sab: SharedArrayBuffer;
  count: number;
  offsetsAt: number;
  resultsAt: number;
  dataAt: number;
  chunk: number;
}

function run(job: VerifyJob): void {
  const { sab, count, chunk } = job;
  const counter = new Int32Array(sab, 0, 1);
  const offsets = new Uint32Array(sab, job.offsetsAt, count + 1);
  const results = new Uint8Array(sab, job.resultsAt, count);
  const data = new Uint8Array(sab, job.dataAt, offsets[count] as number);
  for (;;) {
    const start = Atomics.add(counter, 0, chunk);
    if (start >= count) return;
    const end = start + chunk < count ? start + chunk : count;
    for (let i = start; i < end; i++) {
      if (Atomics.load(results, i) !== PENDING) continue;
      let ok = false;
      try {
        ok = verifyTxSignature(data.subarray(offsets[i] as number, offsets[i + 1] as number));
      } catch {
        ok = false;
      }
      Atomics.store(results, i, ok ? VALID : INVALID);
    }
  }
}

const port = parentPort;
if (port !== null) {
  port.on("message", (job: VerifyJob) => {
    run(job);
    port.postMessage(job.id);
  });
}
