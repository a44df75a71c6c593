/**
 * sandbox/runner — the fork(n) experiment runner: runs a task on n forks of
 * one version, in parallel on worker threads, and returns one outcome per
 * fork like Promise.allSettled. `ForkPool` keeps its threads between runs;
 * `runForks` is one run on a pool of its own.
 *
 *   main thread                                   worker threads (pool of `threads`)
 *   ─────────────────────────────────────────     ─────────────────────────────────────
 *   lease base; await db.checkpoint()
 *   post { setup } to each thread ──────────────▶ open the store's LMDB read-only; load the task
 *   post { fork, index } (one per idle thread) ─▶ fork of base → task(ctx) → net writes
 *   ◀──── { value, packed writes } | { reason }
 *   outcome i: a ForestFork = base + writes
 *   post { end } ───────────────────────────────▶ close LMDB, drop the run's L1
 *
 * Reading the base: after the checkpoint every node of the base is in LMDB,
 * and the lease keeps GC off it; each worker reads and verifies node frames
 * itself (runner-worker.ts), so a read never crosses threads. A fork's writes
 * stay in the worker's drafts until the task returns; then its net writes
 * (ops per tree, sorted) come back in one transferred buffer, and the main
 * thread turns them into a ForestFork (base + writes, ForestFork.withWrites)
 * that the caller can keep (stage() + setRef/commitRef) or release. That
 * fork applies the writes to its drafts only when first read or written, so
 * looking at the values, keeping one and releasing the rest costs the main
 * thread O(ops) per fork, not a tree update. Nothing of a fork reaches the
 * store unless the caller stages it, so discarded forks leave nothing
 * behind once GC has run over what was staged and dropped.
 *
 * Tasks: a module ({ module, export }) is imported in each worker; a
 * function is sent as its source text and must be self-contained (no
 * closures, no imports: it sees only its ForkContext and `args`).
 *
 * Failures are per fork and coded: the task threw (FORK_TASK_FAILED), the
 * worker running it died (FORK_WORKER_DIED: process.exit, out of memory, a
 * crash; the pool starts a new thread and goes on), the fork ran longer than
 * `timeoutMs` (FORK_TIMEOUT: its thread is terminated and replaced), or the
 * run was aborted before it finished (FORK_ABORTED). A run rejects only for
 * bad arguments, a closed pool, a base that is not live, a failed
 * checkpoint (the workers read the base from LMDB, so without one there is
 * nothing to run on), or an onProgress callback that threw (the run stops
 * as on an abort, releases the forks it made and rejects with that error).
 *
 * Ending threads safely: lmdb-js's close() makes native calls that may
 * throw, and a native throw in a thread that is being terminated aborts the
 * whole process. So a thread is never terminated between the "end" of a run
 * and its "ended" acknowledgement (sent once its environment is closed):
 * close() waits for the acknowledgements (at most END_WAIT_MS; a thread
 * that does not answer by then is busy with something other than a close,
 * a task's leftover timers) before it terminates; a thread stopped mid-fork
 * (abort, timeout) is terminated only after any close it still had pending,
 * and does not close its environment itself. On top of that, a gate in
 * shared memory (runner-worker.ts) guarantees that no thread is terminated
 * while it opens or closes its environment, whatever the timing.
 * Terminated threads leave the pool at once; the next run starts new ones.
 *
 * Invariants: outcome i belongs to fork i (index order, whatever the
 * completion order); every fork starts from the base alone; runs of a pool
 * never overlap (they queue); a run never enlists a thread that is being
 * terminated; runForks terminates its threads before it returns; an idle
 * pool holds no event-loop reference.
 * Costs: per run one checkpoint (~5–10 ms when L0 is small) and one setup
 * message per thread; thread start-up (~60–250 ms each on the project's VM:
 * a thread, the native modules, LMDB) once per pool; per fork one message
 * each way, the task, and on the main thread O(ops) to decode its writes.
 */
import os from "node:os";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { Worker } from "node:worker_threads";
import { HeliosError } from "../core/index.js";
import type { StateDB } from "../history/index.js";
import { decodeWrites, ForestFork } from "./fork.js";
import {
  type FailureReason,
  GATE_FREE,
  GATE_LMDB,
  GATE_TERMINATING,
  type PoolMessage,
  type RunnerWorkerData,
  type TaskSpec,
  type WorkerAnswer,
  type WorkerMessage,
} from "./runner-worker.js";

export type { FailureReason } from "./runner-worker.js";

/** What a task sees of its fork: the base version plus its own writes. */
export interface ForkContext<Args = unknown> {
  /** Which fork this is, 0 … n−1. */
  readonly index: number;
  /** `opts.args` (structured-cloned into each worker). */
  readonly args: Args;
  get(tree: string, key: Uint8Array): Uint8Array | undefined;
  put(tree: string, key: Uint8Array, value: Uint8Array): void;
  delete(tree: string, key: Uint8Array): boolean;
  /** Ordered [key, value] pairs of a tree (optionally under a prefix), as this fork sees it. */
  scan(tree: string, prefix?: Uint8Array): [Uint8Array, Uint8Array][];
}

/** A module task (imported in each worker) or a self-contained function (sent as source text). */
export type ForkTask<T> = { module: string | URL; export?: string } | ((ctx: ForkContext) => T | Promise<T>);

export interface ForkPoolOptions {
  /** Worker threads (default: os.availableParallelism(); runForks uses at most n). */
  threads?: number;
  /** L1 node cache of each worker during a run, in bytes (default 64 MiB). */
  cacheBytes?: number;
  /** Heap limit of each worker in MiB (Worker resourceLimits.maxOldGenerationSizeMb); a task above it dies alone. */
  memoryMb?: number;
}

export interface RunOptions {
  /** Passed to every task as ctx.args (structured clone). */
  args?: unknown;
  /** Aborting rejects the forks not finished yet with FORK_ABORTED and stops the threads running them. */
  signal?: AbortSignal;
  /**
   * Longest a fork's task may run, in ms (default: no limit), counted from
   * when the worker starts it (thread start-up and the run's setup do not
   * count). A fork over it is rejected with FORK_TIMEOUT and its thread
   * terminated (a task cannot be interrupted otherwise); a new thread takes
   * the remaining forks. Costs one more message per fork.
   */
  timeoutMs?: number;
  /**
   * Called after each fork's outcome is known. If it throws, the run stops
   * as on an abort, releases the forks it made, and rejects with that error.
   */
  onProgress?(done: number, n: number): void;
}

export interface RunForksOptions extends ForkPoolOptions, RunOptions {}

export type ForkOutcome<T> =
  | {
      index: number;
      status: "fulfilled";
      value: T;
      /** base + this fork's writes; the caller keeps it (stage()) or releases it. */
      fork: ForestFork;
      /** Net ops written (over all trees). */
      writes: number;
    }
  | { index: number; status: "rejected"; reason: FailureReason };

const DEFAULT_CACHE_BYTES = 64 * 1024 * 1024;
const MAX_FORKS = 1_000_000;
/** The longest close() (or a terminate after an abort) waits for a thread's "ended" before terminating it anyway. */
const END_WAIT_MS = 2000;
const MAX_TIMEOUT_MS = 2 ** 31 - 1; // setTimeout's limit

function taskSpec<T>(task: ForkTask<T>): TaskSpec {
  if (typeof task === "function") return { kind: "source", source: task.toString() };
  if (task === null || typeof task !== "object" || !("module" in task)) {
    throw new HeliosError("INVALID_ARGUMENT", {}, "a task is a function or { module, export? }");
  }
  const m = task.module;
  let url: string;
  if (m instanceof URL) url = m.href;
  else if (typeof m === "string" && m.length > 0) {
    url = /^[a-z][a-z0-9+.-]*:/i.test(m) && !/^[a-z]:[\\/]/i.test(m) ? m : pathToFileURL(path.resolve(m)).href;
  } else throw new HeliosError("INVALID_ARGUMENT", {}, "task.module is a path, a file: URL or a URL object");
  const name = task.export ?? "default";
  if (typeof name !== "string" || name.length === 0) {
    throw new HeliosError("INVALID_ARGUMENT", {}, "task.export names an export of the module");
  }
  return { kind: "module", url, export: name };
}

function checkInt(v: unknown, lo: number, hi: number, what: string): number {
  if (typeof v !== "number" || !Number.isInteger(v) || v < lo || v > hi) {
    throw new HeliosError("INVALID_ARGUMENT", { [what]: v }, `${what} must be an integer in [${lo}, ${hi}]`);
  }
  return v;
}

interface Slot {
  worker: Worker;
  /** The run this thread was set up for (0: none). */
  run: number;
  /** The fork this thread is running, or −1. */
  current: number;
  /** The last error the thread reported (its exit follows). */
  error: unknown;
  /** Settles when the thread has acknowledged its last "end" (or exited); null when none is pending. */
  ending: Promise<void> | null;
  /** Settles `ending`. */
  ended: (() => void) | null;
  /** The run of the last "end" posted (acknowledgements come in order: that one settles `ending`). */
  endRun: number;
  /** The current fork's timeoutMs timer. */
  timer: ReturnType<typeof setTimeout> | null;
  /** Out of the pool, being terminated: its messages and its exit are ignored. */
  retired: boolean;
  /** The thread has exited. */
  exited: boolean;
  /** The gate shared with the thread (runner-worker.ts): GATE_FREE, GATE_LMDB or GATE_TERMINATING. */
  gate: Int32Array;
}

/** The run in progress: what the pool's thread events call into. */
interface ActiveRun {
  id: number;
  setup: PoolMessage & { type: "setup" };
  feed(s: Slot): void;
  started(s: Slot, index: number): void;
  answered(s: Slot, m: WorkerAnswer): void;
  died(s: Slot, index: number, why: string): void;
  timedOut(s: Slot, index: number): void;
}

/**
 * A pool of worker threads for runs of forks, kept between runs so that a
 * run does not pay the threads' start-up. Runs queue: one runs at a time.
 * An idle pool keeps no event-loop reference (its threads are unref'd
 * between runs), so forgetting close() does not keep a process alive; a
 * thread that dies is replaced.
 */
export class ForkPool {
  readonly threads: number;
  private readonly cacheBytes: number;
  private readonly memoryMb: number | undefined;
  private readonly slots: Set<Slot>;
  private readonly url: URL;
  private queue: Promise<unknown>;
  private active: ActiveRun | null;
  private nextRun: number;
  private closed: boolean;
  /** Terminations in progress (close() awaits them). */
  private readonly exiting: Set<Promise<void>>;

  constructor(opts: ForkPoolOptions = {}) {
    this.threads = checkInt(opts.threads ?? os.availableParallelism(), 1, 1024, "threads");
    this.cacheBytes = checkInt(opts.cacheBytes ?? DEFAULT_CACHE_BYTES, 1 << 16, 2 ** 40, "cacheBytes");
    this.memoryMb = opts.memoryMb === undefined ? undefined : checkInt(opts.memoryMb, 8, 1 << 20, "memoryMb");
    this.slots = new Set();
    this.url = new URL("./runner-worker.js", import.meta.url);
    this.queue = Promise.resolve();
    this.active = null;
    this.nextRun = 1;
    this.closed = false;
    this.exiting = new Set();
    for (let t = 0; t < this.threads; t++) this.spawn();
  }

  private spawn(): void {
    const gate = new SharedArrayBuffer(4);
    const worker = new Worker(this.url, {
      workerData: { gate } satisfies RunnerWorkerData,
      ...(this.memoryMb !== undefined ? { resourceLimits: { maxOldGenerationSizeMb: this.memoryMb } } : {}),
    });
    worker.unref();
    const s: Slot = {
      worker,
      run: 0,
      current: -1,
      error: undefined,
      ending: null,
      ended: null,
      endRun: 0,
      timer: null,
      retired: false,
      exited: false,
      gate: new Int32Array(gate),
    };
    this.slots.add(s);
    worker.on("message", (m: WorkerMessage) => {
      const a = this.active;
      if ("type" in m) {
        if (m.type === "ended") {
          if (m.run === s.endRun) settleEnding(s);
        } else if (!s.retired && a !== null && m.run === a.id && m.index === s.current) a.started(s, m.index);
        return;
      }
      if (s.retired || a === null || m.run !== a.id || m.index !== s.current) return; // an answer from before an abort
      s.current = -1;
      clearTimer(s);
      a.answered(s, m);
      a.feed(s);
    });
    worker.on("error", (e) => {
      s.error = e;
    });
    worker.on("exit", (code) => {
      s.exited = true;
      this.slots.delete(s);
      settleEnding(s);
      clearTimer(s);
      const a = this.active;
      const i = s.current;
      s.current = -1;
      if (s.retired || a === null || i < 0) return; // idle, or ended by us: the next run tops the pool up
      a.died(s, i, s.error instanceof Error ? s.error.message : `exit code ${code}`);
      // a replacement joins the run in progress (each death costs one fork, so this ends)
      if (!this.closed) this.spawn();
    });
    if (this.active !== null) this.enlist(s, this.active);
  }

  /** Posts "end" of run `id` to a thread set up for it; `s.ending` settles on its acknowledgement. */
  private end(s: Slot, id: number): void {
    if (s.ending === null) {
      s.ending = new Promise<void>((resolve) => {
        s.ended = resolve;
      });
    }
    s.endRun = id;
    s.worker.postMessage({ type: "end", run: id } satisfies PoolMessage);
  }

  /**
   * Takes a thread out of the pool at once (no run enlists it again) and
   * terminates it, after any close it still has pending (bounded wait).
   */
  private retire(s: Slot): void {
    s.retired = true;
    s.current = -1;
    clearTimer(s);
    this.slots.delete(s);
    this.terminate(s);
  }

  /**
   * Terminates a thread once its pending "end" (if any) is acknowledged, or
   * after END_WAIT_MS, and never while it opens or closes its environment.
   */
  private terminate(s: Slot): void {
    s.worker.ref(); // keep the process alive until the thread has gone (close() awaits it)
    const p = (async () => {
      await settledWithin(s.ending, END_WAIT_MS);
      // claim the gate: from here on the thread opens and closes nothing; wait out an open or close in progress
      while (!s.exited && Atomics.compareExchange(s.gate, 0, GATE_FREE, GATE_TERMINATING) === GATE_LMDB) {
        await new Promise((resolve) => setTimeout(resolve, 1));
      }
      await s.worker.terminate();
    })().then(
      () => undefined,
      () => undefined,
    );
    this.exiting.add(p);
    void p.then(() => this.exiting.delete(p));
  }

  /** Sets a thread up for the run (once) and gives it work. */
  private enlist(s: Slot, a: ActiveRun): void {
    if (s.run !== a.id) {
      s.run = a.id;
      s.worker.postMessage(a.setup);
    }
    s.worker.ref();
    a.feed(s);
  }

  /**
   * Runs `task` on `n` forks of `base` (a live version of `db`) and returns
   * each fork's outcome, in index order. See the module comment.
   */
  run<T>(
    db: StateDB,
    base: Uint8Array,
    n: number,
    task: ForkTask<T>,
    opts: RunOptions = {},
  ): Promise<ForkOutcome<T>[]> {
    const p = this.queue.then(() => this.runNow(db, base, n, task, opts));
    this.queue = p.catch(() => undefined);
    return p;
  }

  private async runNow<T>(
    db: StateDB,
    base: Uint8Array,
    n: number,
    task: ForkTask<T>,
    opts: RunOptions,
  ): Promise<ForkOutcome<T>[]> {
    if (this.closed) throw new HeliosError("INVALID_ARGUMENT", {}, "the fork pool is closed");
    checkInt(n, 0, MAX_FORKS, "n");
    const spec = taskSpec(task);
    if (n === 0) return [];
    const timeoutMs =
      opts.timeoutMs === undefined ? undefined : checkInt(opts.timeoutMs, 1, MAX_TIMEOUT_MS, "timeoutMs");
    const root = ForestFork.of(db, base); // validates base and leases it for the whole run
    try {
      const outcomes: (ForkOutcome<T> | undefined)[] = new Array(n).fill(undefined);
      const signal = opts.signal;
      const allAborted = (): ForkOutcome<T>[] => {
        for (let i = 0; i < n; i++) outcomes[i] = aborted(i);
        return outcomes as ForkOutcome<T>[];
      };
      if (signal?.aborted) return allAborted();
      // every node of base is now in LMDB, where the workers read it; a failure here fails the run
      await db.checkpoint();
      // an abort during the checkpoint fired no listener yet (none was added): look again
      if (signal?.aborted) return allAborted();
      while (this.slots.size < this.threads) this.spawn(); // replace threads lost since the last run
      const id = this.nextRun++;
      let progressError: { error: unknown } | undefined;
      await new Promise<void>((resolve) => {
        let next = 0;
        let done = 0;
        let stopped = false;
        const finish = (i: number, o: ForkOutcome<T>): void => {
          if (outcomes[i] !== undefined) return;
          outcomes[i] = o;
          done++;
          if (opts.onProgress !== undefined && progressError === undefined) {
            try {
              opts.onProgress(done, n);
            } catch (e) {
              // thrown inside a thread's message listener it would be uncaught; stop the run and reject with it
              progressError = { error: e };
              stop();
              return;
            }
          }
          if (done === n) stop();
        };
        const stop = (): void => {
          if (stopped) return;
          stopped = true;
          signal?.removeEventListener("abort", onAbort);
          this.active = null;
          for (const s of [...this.slots]) {
            if (s.current >= 0) {
              // still running a fork of this run (an abort): the task may never settle, so end the thread
              this.retire(s);
            } else {
              if (s.run === id) this.end(s, id);
              s.worker.unref();
            }
          }
          resolve();
        };
        const onAbort = (): void => {
          for (let i = 0; i < n; i++) if (outcomes[i] === undefined) finish(i, aborted(i));
          stop();
        };
        const a: ActiveRun = {
          id,
          setup: {
            type: "setup",
            run: id,
            lmdbPath: db.store.dir.lmdbPath,
            base: root.base,
            task: spec,
            args: opts.args,
            cacheBytes: this.cacheBytes,
            timed: timeoutMs !== undefined,
          },
          feed: (s) => {
            if (stopped || next >= n) {
              s.worker.unref();
              return;
            }
            s.current = next++;
            s.worker.postMessage({ type: "fork", run: id, index: s.current } satisfies PoolMessage);
          },
          started: (s, i) => {
            // the fork's time starts with its task, not with the thread's start-up or the run's setup
            if (timeoutMs === undefined || stopped) return;
            clearTimer(s);
            s.timer = setTimeout(() => {
              s.timer = null;
              if (!stopped && s.current === i) a.timedOut(s, i);
            }, timeoutMs);
            s.timer.unref(); // the thread, ref'd while it works, keeps the process alive
          },
          answered: (_s, m) => {
            if (m.ok) {
              try {
                // built lazily: a fork the caller only looks at by value and releases costs O(ops) here
                const fork = root.withWrites(decodeWrites(new Uint8Array(m.writes)));
                finish(m.index, { index: m.index, status: "fulfilled", value: m.value as T, fork, writes: m.count });
              } catch (e) {
                finish(m.index, {
                  index: m.index,
                  status: "rejected",
                  reason: {
                    code: "FORK_TASK_FAILED",
                    message: `the fork's writes do not apply: ${(e as Error).message}`,
                  },
                });
              }
            } else finish(m.index, { index: m.index, status: "rejected", reason: m.reason });
          },
          died: (_s, i, why) => {
            finish(i, {
              index: i,
              status: "rejected",
              reason: { code: "FORK_WORKER_DIED", message: `the worker thread died: ${why}` },
            });
          },
          timedOut: (s, i) => {
            // the task cannot be interrupted: end its thread; a new one takes the remaining forks
            this.retire(s);
            finish(i, {
              index: i,
              status: "rejected",
              reason: { code: "FORK_TIMEOUT", message: `the fork ran longer than timeoutMs (${timeoutMs} ms)` },
            });
            if (!stopped && !this.closed) this.spawn();
          },
        };
        this.active = a;
        signal?.addEventListener("abort", onAbort, { once: true });
        for (const s of [...this.slots]) this.enlist(s, a);
      });
      if (progressError !== undefined) {
        // the caller gets no outcomes, so nobody else could release these forks
        for (const o of outcomes) if (o?.status === "fulfilled") o.fork.release();
        throw progressError.error;
      }
      return outcomes as ForkOutcome<T>[];
    } finally {
      root.release(); // the outcomes' forks keep the family's lease for as long as they live
    }
  }

  /**
   * Waits for the runs queued, then for each thread's acknowledgement of
   * its last "end" (its LMDB environment closed; at most END_WAIT_MS), then
   * terminates every thread. Idempotent.
   */
  async close(): Promise<void> {
    await this.queue;
    this.closed = true;
    for (const s of [...this.slots]) this.retire(s);
    while (this.exiting.size > 0) await Promise.all([...this.exiting]);
  }
}

function settleEnding(s: Slot): void {
  const ended = s.ended;
  s.ending = null;
  s.ended = null;
  ended?.();
}

function clearTimer(s: Slot): void {
  if (s.timer !== null) clearTimeout(s.timer);
  s.timer = null;
}

/** Resolves when `p` settles or after `ms`, whichever comes first (at once for null). */
function settledWithin(p: Promise<void> | null, ms: number): Promise<void> {
  if (p === null) return Promise.resolve();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, ms);
  });
  return Promise.race([p, late]).finally(() => clearTimeout(timer));
}

/** A pool of `threads` fork workers (default: every core), reused across runs. Close it when done. */
export function createForkPool(opts: ForkPoolOptions = {}): ForkPool {
  return new ForkPool(opts);
}

/**
 * Runs `task` on `n` forks of `base` (a live version of `db`) on worker
 * threads and returns each fork's outcome, in index order. Starts a pool of
 * min(threads, n) threads for this call and ends it before returning; use a
 * ForkPool to keep threads between runs.
 */
export async function runForks<T>(
  db: StateDB,
  base: Uint8Array,
  n: number,
  task: ForkTask<T>,
  opts: RunForksOptions = {},
): Promise<ForkOutcome<T>[]> {
  checkInt(n, 0, MAX_FORKS, "n");
  const threads = checkInt(opts.threads ?? os.availableParallelism(), 1, 1024, "threads");
  if (opts.cacheBytes !== undefined) checkInt(opts.cacheBytes, 1 << 16, 2 ** 40, "cacheBytes");
  if (opts.memoryMb !== undefined) checkInt(opts.memoryMb, 8, 1 << 20, "memoryMb");
  if (opts.timeoutMs !== undefined) checkInt(opts.timeoutMs, 1, MAX_TIMEOUT_MS, "timeoutMs");
  taskSpec(task);
  if (n === 0) return [];
  ForestFork.of(db, base).release(); // a base that is not live fails before any thread starts
  const pool = new ForkPool({
    threads: Math.min(threads, n),
    ...(opts.cacheBytes !== undefined ? { cacheBytes: opts.cacheBytes } : {}),
    ...(opts.memoryMb !== undefined ? { memoryMb: opts.memoryMb } : {}),
  });
  try {
    return await pool.run(db, base, n, task, opts);
  } finally {
    await pool.close();
  }
}

function aborted<T>(index: number): ForkOutcome<T> {
  return { index, status: "rejected", reason: { code: "FORK_ABORTED", message: "the run was aborted" } };
}
