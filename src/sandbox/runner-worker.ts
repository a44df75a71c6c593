/**
 * sandbox/runner-worker — the body of one runForks worker thread: runs the
 * task on forks of the base version, reading the base straight from LMDB.
 *
 * Reads: the main thread checkpoints before starting the pool, so every
 * node of the base is in LMDB (and leased, so GC keeps it). This thread
 * opens the same LMDB environment read-only (lmdb-js shares one environment
 * between the threads of a process) and reads node frames itself: decodes
 * them with the store layer's frame codec, re-hashes each node and compares
 * it with its id (a mismatch is STORE_CORRUPT, never served), and keeps the
 * verified nodes in its own L1 (store/cache NodeCache). No message crosses
 * threads per read. The reader is store/reader.ts (NodeReader).
 *
 * Protocol (a thread serves many runs; one run at a time, one fork at a
 * time): the pool posts { type: "setup", run, … } (the store's LMDB path,
 * the base, the task, args), then { type: "fork", run, index } per fork, then
 * { type: "end", run }. The worker answers each fork with a WorkerAnswer:
 * the task's value (structured clone) and the fork's net writes packed in
 * one transferred buffer (fork.ts encodeWrites), or a failure reason. A
 * setup opens the LMDB environment and a fresh L1 for that run (closed at
 * its end) and loads the task (modules stay loaded, as ESM does). Every
 * "end" is acknowledged with { type: "ended", run } once the environment is
 * closed (or at once when there was nothing to close).
 *
 * Closing and termination: lmdb-js's close() makes native calls that may
 * throw (and catches the throw in JS); a native throw while the thread is
 * being terminated is a fatal error of the whole process ("napi_throw"). So:
 * - the pool does not terminate a thread between an "end" and its "ended"
 *   (it waits, bounded), and this thread never overlaps a close with later
 *   work: a setup waits for the previous run's close before it opens;
 * - a gate in shared memory (workerData.gate, one Int32) makes it airtight:
 *   this thread opens or closes its environment only after moving the gate
 *   FREE → LMDB (and back after), and the pool terminates only after moving
 *   it FREE → TERMINATING (waiting while it reads LMDB). Once it reads
 *   TERMINATING, this thread neither opens nor closes anything;
 * - a thread terminated mid-fork (abort, timeout) or before its close does
 *   not close its environment from JS at all: lmdb-js's own clean-up hook
 *   drops the thread's reference to the shared environment (the owner's
 *   stays open).
 *
 * Invariants: each fork starts from the base alone (a fresh fork of the
 * family); a throw or a rejected promise from the task fails only that
 * fork; nothing is ever written to LMDB from here (the fork's drafts drop
 * the nodes of root(), see fork.ts).
 * Costs: per node read from LMDB one getBinaryFast, one frame decode and
 * one BLAKE3 of the node (~2–5 µs); an L1 hit ~0.2 µs. Per fork: the task,
 * writes() (O(keys written · depth)) and one message.
 */
import { parentPort, workerData } from "node:worker_threads";
import { isHeliosError } from "../core/index.js";
import { NodeReader } from "../store/index.js";
import { encodeWrites, ForestFork } from "./fork.js";

/** The gate's states (see the module comment): index 0 of an Int32Array over workerData.gate. */
export const GATE_FREE = 0;
export const GATE_LMDB = 1;
export const GATE_TERMINATING = 2;

/** What a worker is started with. */
export interface RunnerWorkerData {
  /** A SharedArrayBuffer of one Int32: the gate. */
  gate: SharedArrayBuffer;
}

/** How the task reaches the worker. */
export type TaskSpec = { kind: "source"; source: string } | { kind: "module"; url: string; export: string };

/** The pool's messages to a worker. */
export type PoolMessage =
  | {
      type: "setup";
      run: number;
      lmdbPath: string;
      base: Uint8Array;
      task: TaskSpec;
      args: unknown;
      cacheBytes: number;
      /** The run has a timeoutMs: announce each fork's start ({ type: "started" }), where its time begins. */
      timed: boolean;
    }
  | { type: "fork"; run: number; index: number }
  | { type: "end"; run: number };

export interface FailureReason {
  code: "FORK_TASK_FAILED" | "FORK_WORKER_DIED" | "FORK_ABORTED" | "FORK_TIMEOUT";
  message: string;
  /** The code of a HeliosError the task threw. */
  cause?: string;
}

export type WorkerAnswer =
  | { run: number; index: number; ok: true; value: unknown; writes: ArrayBuffer; count: number }
  | { run: number; index: number; ok: false; reason: FailureReason };

/** A worker's acknowledgement of { type: "end", run }: its LMDB environment for that run is closed. */
export interface WorkerEnded {
  type: "ended";
  run: number;
}

/** A fork's task starts now (timed runs only: thread start-up and setup do not count against timeoutMs). */
export interface WorkerStarted {
  type: "started";
  run: number;
  index: number;
}

/** Everything a worker posts to the pool. */
export type WorkerMessage = WorkerAnswer | WorkerEnded | WorkerStarted;

function reasonOf(e: unknown, prefix = ""): FailureReason {
  const message = e instanceof Error ? e.message : String(e);
  const r: FailureReason = { code: "FORK_TASK_FAILED", message: prefix + message };
  if (isHeliosError(e)) r.cause = e.code;
  return r;
}

type TaskFn = (ctx: unknown) => unknown;

async function loadTask(spec: TaskSpec): Promise<TaskFn> {
  if (spec.kind === "source") {
    // the function's own text as a module: it must not close over anything
    const text = `export default (${spec.source});\n`;
    const mod = (await import(`data:text/javascript;base64,${Buffer.from(text).toString("base64")}`)) as {
      default: unknown;
    };
    if (typeof mod.default !== "function") throw new Error("the task source is not a function expression");
    return mod.default as TaskFn;
  }
  const mod = (await import(spec.url)) as Record<string, unknown>;
  const fn = mod[spec.export];
  if (typeof fn !== "function") throw new Error(`${spec.url} has no function export "${spec.export}"`);
  return fn as TaskFn;
}

/** One run as this worker sees it: ready once the store is open and the task loaded (or failed to). */
interface Run {
  id: number;
  args: unknown;
  timed: boolean;
  reader: NodeReader | undefined;
  family: ForestFork | undefined;
  task: TaskFn | undefined;
  failure: FailureReason | undefined;
  ready: Promise<void>;
}

/** Sets a run up once `previous` (the last run's close) has finished. */
function setup(m: PoolMessage & { type: "setup" }, previous: Promise<void>): Run {
  const r: Run = {
    id: m.run,
    args: m.args,
    timed: m.timed,
    reader: undefined,
    family: undefined,
    task: undefined,
    failure: undefined,
    ready: Promise.resolve(),
  };
  r.ready = (async () => {
    await previous;
    if (!enterLmdb()) {
      r.failure = { code: "FORK_TASK_FAILED", message: "the thread is being terminated" };
      return;
    }
    try {
      r.reader = new NodeReader(m.lmdbPath, m.cacheBytes);
      r.family = ForestFork.family(null, r.reader, m.base, null);
    } catch (e) {
      r.failure = reasonOf(e, "opening the store read-only: ");
      return;
    } finally {
      leaveLmdb();
    }
    try {
      r.task = await loadTask(m.task);
    } catch (e) {
      r.failure = reasonOf(e, "loading the task: ");
    }
  })();
  return r;
}

async function runFork(port: NonNullable<typeof parentPort>, r: Run, index: number): Promise<void> {
  await r.ready;
  const run = r.id;
  const task = r.task;
  if (task === undefined || r.family === undefined) {
    const reason = r.failure ?? { code: "FORK_TASK_FAILED", message: "the task did not load" };
    port.postMessage({ run, index, ok: false, reason } satisfies WorkerAnswer);
    return;
  }
  if (r.timed) port.postMessage({ type: "started", run, index } satisfies WorkerStarted);
  const f = r.family.fork();
  const ctx = Object.freeze({
    index,
    args: r.args,
    get: (tree: string, key: Uint8Array) => f.get(tree, key),
    put: (tree: string, key: Uint8Array, value: Uint8Array) => f.put(tree, key, value),
    delete: (tree: string, key: Uint8Array) => f.delete(tree, key),
    scan: (tree: string, prefix?: Uint8Array) => f.scan(tree, prefix === undefined ? {} : { prefix }),
  });
  let answer: WorkerAnswer;
  let transfer: ArrayBuffer[] = [];
  try {
    const value = await task(ctx);
    const w = f.writes();
    let count = 0;
    for (const ops of w.values()) count += ops.length;
    const packed = encodeWrites(w);
    answer = { run, index, ok: true, value, writes: packed.buffer as ArrayBuffer, count };
    transfer = [packed.buffer as ArrayBuffer];
  } catch (e) {
    answer = { run, index, ok: false, reason: reasonOf(e) };
  } finally {
    f.release();
  }
  try {
    port.postMessage(answer, transfer);
  } catch (e) {
    // the value does not survive a structured clone (a function, a class with private state, …)
    port.postMessage({
      run,
      index,
      ok: false,
      reason: reasonOf(e, "the task's result cannot be sent back: "),
    } satisfies WorkerAnswer);
  }
}

async function end(r: Run): Promise<void> {
  await r.ready;
  r.family?.release();
  if (r.reader === undefined || !enterLmdb()) return; // being terminated: lmdb-js's clean-up hook closes it
  try {
    await r.reader.close();
  } catch {
    // a failed close leaves nothing to do here: the owner's environment stays open either way
  } finally {
    leaveLmdb();
  }
}

const gate =
  (workerData as RunnerWorkerData | null)?.gate instanceof SharedArrayBuffer
    ? new Int32Array((workerData as RunnerWorkerData).gate)
    : undefined;

/** Claims the gate for an open or a close of the environment; false once the pool is terminating this thread. */
function enterLmdb(): boolean {
  return gate === undefined || Atomics.compareExchange(gate, 0, GATE_FREE, GATE_LMDB) === GATE_FREE;
}

function leaveLmdb(): void {
  if (gate !== undefined) Atomics.store(gate, 0, GATE_FREE);
}

const port = parentPort;
if (port !== null) {
  let current: Run | undefined;
  /** The last run's close (resolved when there is none): setups and acknowledgements wait for it. */
  let closing: Promise<void> = Promise.resolve();
  port.on("message", (m: PoolMessage) => {
    if (m.type === "setup") {
      current = setup(m, closing);
    } else if (m.type === "fork") {
      if (current !== undefined && current.id === m.run) void runFork(port, current, m.index);
    } else {
      const run = m.run;
      if (current !== undefined && current.id === run) {
        const r = current;
        current = undefined;
        const previous = closing;
        closing = previous.then(() => end(r));
      }
      // acknowledged in order, after the close (if any): the pool may terminate the thread from then on
      void closing.then(() => port.postMessage({ type: "ended", run } satisfies WorkerEnded));
    }
  });
}
