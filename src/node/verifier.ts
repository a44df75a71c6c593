/**
 * node/verifier — VerifierPool: ed25519 verification of transaction batches
 * across worker threads, feeding a SigCache.
 *
 * Purpose: one core verifies ≈ 9K signatures/s (docs/spec/tx.md), so a block
 * of thousands of transactions, or a mempool burst, is verified on every core
 * at once. Hashes that verified go into the SigCache shared with the
 * executor, so those transactions are not verified again when a block
 * carrying them executes.
 *
 * A batch travels in one SharedArrayBuffer, not one message per transaction:
 *
 *   0          8                 8+4(n+1)        align8          end
 *   | counter  | offsets u32[n+1] | results u8[n] | pad | tx bytes… |
 *
 * Transaction i is data[offsets[i], offsets[i+1]). The pool hashes the whole
 * batch in one kernel call (hashMany over the same offsets), marks the
 * transactions already in the cache VALID, and posts one message per thread;
 * threads claim chunks from the shared counter (see verifier-worker.ts) and
 * answer with the batch id.
 *
 * Invariants: results[i] is true exactly when verifyTxSignature(txs[i]) is;
 * only hashes of transactions that verified (now or before) are in the
 * cache. An idle pool keeps no event-loop reference (its threads are unref'd
 * between batches), so forgetting close() does not keep a process alive;
 * close() terminates every thread and fails batches still running.
 * Costs: per batch O(total bytes) to copy in, one hashMany call, and
 * ⌈pending / threads⌉ verifications of wall time; one message per thread.
 */
import os from "node:os";
import { Worker } from "node:worker_threads";
import { HASH_BYTES, HeliosError, hashMany } from "../core/index.js";
import { type SigCache, createSigCache } from "../exec/index.js";

/** Result byte values (keep in sync with verifier-worker.ts). */
const PENDING = 0;
const VALID = 1;

export interface VerifierPoolOptions {
  /** Worker threads (default: os.availableParallelism()). */
  threads?: number;
  /** Where verified hashes go, and which are skipped (default: a new SigCache). */
  sigCache?: SigCache;
}

interface Pending {
  count: number;
  remaining: number;
  results: Uint8Array;
  hashes: Uint8Array;
  resolve: (r: boolean[]) => void;
  reject: (e: unknown) => void;
}

interface Thread {
  worker: Worker;
  /** Batches posted to this thread and not yet answered. */
  busy: number;
}

export class VerifierPool {
  readonly threads: number;
  readonly sigCache: SigCache;
  private readonly pool: Thread[];
  private readonly jobs: Map<number, Pending>;
  private nextId: number;
  private closed: boolean;
  private alive: number;

  constructor(opts: VerifierPoolOptions = {}) {
    const threads = opts.threads ?? os.availableParallelism();
    if (!Number.isInteger(threads) || threads < 1 || threads > 1024) {
      throw new HeliosError("INVALID_ARGUMENT", { threads }, "VerifierPool threads must be an integer in [1, 1024]");
    }
    this.threads = threads;
    this.sigCache = opts.sigCache ?? createSigCache();
    this.jobs = new Map();
    this.nextId = 1;
    this.closed = false;
    this.alive = 0;
    this.pool = [];
    const url = new URL("./verifier-worker.js", import.meta.url);
    for (let t = 0; t < threads; t++) {
      const worker = new Worker(url);
      const thread: Thread = { worker, busy: 0 };
      this.alive++;
      worker.unref();
      worker.on("message", (id: number) => this.answered(t, id));
      worker.on("error", (e) => this.fail(e));
      worker.on("exit", (code) => {
        this.alive--;
        if (!this.closed) this.fail(new HeliosError("VERIFIER_FAILED", { exitCode: code }));
      });
      this.pool.push(thread);
    }
  }

  /** Threads still running (0 after close()). */
  get liveThreads(): number {
    return this.alive;
  }

  /**
   * Verifies every transaction's signature: result i is verifyTxSignature(txs[i]).
   * Bytes that do not decode are false. Hashes that verify are added to the SigCache.
   */
  verifyBatch(txs: readonly Uint8Array[]): Promise<boolean[]> {
    if (this.closed) return Promise.reject(new HeliosError("VERIFIER_CLOSED"));
    const n = txs.length;
    if (n === 0) return Promise.resolve([]);
    let total = 0;
    for (const tx of txs) {
      if (!(tx instanceof Uint8Array)) {
        return Promise.reject(new HeliosError("INVALID_ARGUMENT", {}, "verifyBatch takes Uint8Arrays"));
      }
      total += tx.length;
    }
    if (total > 0xffffffff) {
      return Promise.reject(new HeliosError("INVALID_ARGUMENT", { total }, "a batch holds at most 4 GiB"));
    }
    const offsetsAt = 8;
    const resultsAt = offsetsAt + 4 * (n + 1);
    const dataAt = (resultsAt + n + 7) & ~7;
    const sab = new SharedArrayBuffer(dataAt + total);
    const offsets = new Uint32Array(sab, offsetsAt, n + 1);
    const results = new Uint8Array(sab, resultsAt, n);
    const data = new Uint8Array(sab, dataAt, total);
    let at = 0;
    for (let i = 0; i < n; i++) {
      const tx = txs[i] as Uint8Array;
      offsets[i] = at;
      data.set(tx, at);
      at += tx.length;
    }
    offsets[n] = at;

    // One kernel call hashes the batch; cached hashes need no thread.
    const hashes = new Uint8Array(HASH_BYTES * n);
    hashMany(data, offsets, n, hashes, null, null);
    let pending = 0;
    for (let i = 0; i < n; i++) {
      if (this.sigCache.has(hashes.subarray(HASH_BYTES * i, HASH_BYTES * (i + 1)))) results[i] = VALID;
      else pending++;
    }
    if (pending === 0) return Promise.resolve(new Array<boolean>(n).fill(true));

    // Claims of ~1/4 of a thread's share balance the load without contending on the counter.
    const chunk = Math.max(1, Math.min(16, Math.floor(pending / (4 * this.threads))));
    const used = Math.min(this.threads, Math.ceil(pending / chunk));
    const id = this.nextId++;
    return new Promise<boolean[]>((resolve, reject) => {
      const job: Pending = { count: n, remaining: used, results, hashes, resolve, reject };
      this.jobs.set(id, job);
      const msg = { id, sab, count: n, offsetsAt, resultsAt, dataAt, chunk };
      // Prefer the least busy threads when batches overlap.
      const order = this.pool.map((_, t) => t).sort((a, b) => (this.pool[a]?.busy ?? 0) - (this.pool[b]?.busy ?? 0));
      for (let k = 0; k < used; k++) {
        const t = order[k] as number;
        const thread = this.pool[t] as Thread;
        if (thread.busy++ === 0) thread.worker.ref();
        thread.worker.postMessage(msg);
      }
    });
  }

  /** Terminates every thread; batches still running are rejected. Idempotent. */
  async close(): Promise<void> {
    if (!this.closed) {
      this.closed = true;
      this.rejectAll(new HeliosError("VERIFIER_CLOSED", {}, "closed during the batch"));
    }
    await Promise.all(this.pool.map((t) => t.worker.terminate()));
  }

  private answered(t: number, id: number): void {
    const thread = this.pool[t] as Thread;
    if (--thread.busy === 0) thread.worker.unref();
    const job = this.jobs.get(id);
    if (job === undefined || --job.remaining > 0) return;
    this.jobs.delete(id);
    const out = new Array<boolean>(job.count);
    for (let i = 0; i < job.count; i++) {
      const r = Atomics.load(job.results, i);
      out[i] = r === VALID;
      if (r === PENDING) {
        job.reject(new HeliosError("VERIFIER_FAILED", { index: i }, `transaction ${i} was never verified`));
        return;
      }
    }
    for (let i = 0; i < job.count; i++) {
      if (out[i]) this.sigCache.add(job.hashes.subarray(HASH_BYTES * i, HASH_BYTES * (i + 1)));
    }
    job.resolve(out);
  }

  /** A thread failed: the pool cannot promise results any more, so it closes. */
  private fail(e: unknown): void {
    if (this.closed) return;
    this.closed = true;
    this.rejectAll(e);
    for (const t of this.pool) void t.worker.terminate();
  }

  private rejectAll(e: unknown): void {
    for (const job of this.jobs.values()) job.reject(e);
    this.jobs.clear();
    for (const t of this.pool) {
      if (t.busy > 0) {
        t.busy = 0;
        t.worker.unref();
      }
    }
  }
}

/** A pool of `threads` verifier threads (default: every core). Close it when done. */
export function createVerifierPool(opts: VerifierPoolOptions = {}): VerifierPool {
  return new VerifierPool(opts);
}
