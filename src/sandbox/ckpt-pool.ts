/**
 * sandbox/ckpt-pool — compresses a checkpoint's new chunks, on worker
 * threads (ckpt-worker.ts) or inline. zstd is about a quarter of a
 * checkpoint's CPU time, and everything else (reading, cutting, hashing,
 * tree updates, LMDB) runs on the main thread, so one worker takes it off the
 * critical path on a machine with a core to spare.
 *
 * Chunks are queued with `add(raw, done)`; the raw bytes are copied into the
 * current job's buffer, which goes to a worker once it holds JOB_BYTES (or on
 * `flush`). `done(value)` runs on the main thread when the value is back, in
 * the order chunks were added. With no workers, `add` compresses at once and
 * calls `done` before it returns.
 *
 * Invariants: every added chunk's `done` runs exactly once before `drain`
 * resolves (or `drain` rejects with the worker's failure); at most
 * `maxInFlight` bytes of raw chunks wait in jobs after `settle`.
 * Costs: one copy of each new chunk into a job buffer, one of each value out;
 * a worker's start (~30 ms) per checkpoint that uses one.
 */
import { Worker } from "node:worker_threads";
import { ChunkEncoder } from "./ckpt-codec.js";
import type { CompressJob, CompressReply } from "./ckpt-worker.js";

const JOB_BYTES = 2 * 1024 * 1024;

interface Job {
  bytes: number;
  done: ((value: Uint8Array) => void)[];
  settle: { resolve: () => void; reject: (e: unknown) => void };
  finished: Promise<void>;
}

export class CompressPool {
  readonly level: number;
  private readonly inline: ChunkEncoder | undefined;
  private readonly workers: Worker[] = [];
  private readonly jobs = new Map<number, Job>();
  private nextId = 0;
  private next = 0;
  private buf: Uint8Array = new Uint8Array(0);
  private fill = 0;
  private lens: number[] = [];
  private done: ((value: Uint8Array) => void)[] = [];
  private inFlight = 0;
  private failure: unknown;

  constructor(level: number, workers: number) {
    this.level = new ChunkEncoder(level).level; // validates the level
    if (workers <= 0) {
      this.inline = new ChunkEncoder(level);
      return;
    }
    this.inline = undefined;
    for (let i = 0; i < workers; i++) {
      const w = new Worker(new URL("./ckpt-worker.js", import.meta.url));
      w.on("message", (r: CompressReply) => this.reply(r));
      w.on("error", (e) => this.fail(e));
      w.on("exit", (code) => {
        if (this.jobs.size > 0) this.fail(new Error(`a compression worker exited (code ${code}) with jobs pending`));
      });
      this.workers.push(w);
    }
  }

  /** Bytes of raw chunks queued or in jobs not yet answered. */
  get pending(): number {
    return this.inFlight + this.fill;
  }

  /** Queues a raw chunk (copied now); `done` gets its stored value. */
  add(raw: Uint8Array, done: (value: Uint8Array) => void): void {
    if (this.inline !== undefined) {
      done(this.inline.encode(raw));
      return;
    }
    if (this.fill + raw.length > this.buf.length) {
      const b = new Uint8Array(Math.max(JOB_BYTES + 64 * 1024, this.fill + raw.length));
      b.set(this.buf.subarray(0, this.fill));
      this.buf = b;
    }
    this.buf.set(raw, this.fill);
    this.fill += raw.length;
    this.lens.push(raw.length);
    this.done.push(done);
    if (this.fill >= JOB_BYTES) this.send();
  }

  /** Sends the queued chunks as a job (if any). */
  private send(): void {
    if (this.fill === 0) return;
    const id = this.nextId++;
    const data = this.buf.slice(0, this.fill).buffer;
    const lens = Uint32Array.from(this.lens);
    let settle: Job["settle"] = { resolve: () => undefined, reject: () => undefined };
    const finished = new Promise<void>((resolve, reject) => {
      settle = { resolve, reject };
    });
    finished.catch(() => undefined); // observed through settle/drain
    this.jobs.set(id, { bytes: this.fill, done: this.done, settle, finished });
    this.inFlight += this.fill;
    const w = this.workers[this.next++ % this.workers.length] as Worker;
    const job: CompressJob = { id, level: this.level, data, lens };
    w.postMessage(job, [data, lens.buffer]);
    this.fill = 0;
    this.lens = [];
    this.done = [];
  }

  private reply(r: CompressReply): void {
    const job = this.jobs.get(r.id);
    if (job === undefined) return;
    this.jobs.delete(r.id);
    this.inFlight -= job.bytes;
    const out = new Uint8Array(r.data);
    let off = 0;
    try {
      r.lens.forEach((len, i) => {
        (job.done[i] as (v: Uint8Array) => void)(out.subarray(off, off + len));
        off += len;
      });
      job.settle.resolve();
    } catch (e) {
      this.fail(e);
    }
  }

  private fail(e: unknown): void {
    this.failure ??= e;
    for (const j of this.jobs.values()) j.settle.reject(e);
    this.jobs.clear();
  }

  /** Waits until at most `maxInFlight` bytes of sent jobs are unanswered. */
  async settle(maxInFlight: number): Promise<void> {
    while (this.inFlight > maxInFlight) {
      const oldest = this.jobs.values().next().value as Job | undefined;
      if (oldest === undefined) break;
      await oldest.finished;
    }
    if (this.failure !== undefined) throw this.failure;
  }

  /** Sends what is queued and waits for every value. */
  async drain(): Promise<void> {
    this.send();
    for (const j of [...this.jobs.values()]) await j.finished;
    if (this.failure !== undefined) throw this.failure;
  }

  /** Stops the workers. Idempotent. */
  async close(): Promise<void> {
    const ws = this.workers.splice(0);
    if (this.jobs.size > 0) this.fail(new Error("the compression pool was closed with jobs pending"));
    await Promise.all(ws.map((w) => w.terminate()));
  }
}
