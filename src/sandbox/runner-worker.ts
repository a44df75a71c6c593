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
 * its end) and loads the task (modules stay loaded, as ESM does).
 *
 * Invariants: each fork starts from the base alone (a fresh fork of the
 * family); a throw or a rejected promise from the task fails only that
 * fork; nothing is ever written to LMDB from here (the fork's drafts drop
 * the nodes of root(), see fork.ts).
 * Costs: per node read from LMDB one getBinaryFast, one frame decode and
 * one BLAKE3 of the node (~2–5 µs); an L1 hit ~0.2 µs. Per fork: the task,
 * writes() (O(keys written · depth)) and one message.
 */
import { parentPort } from "node:worker_threads";
import { isHeliosError } from "../core/index.js";
import { NodeReader } from "../store/index.js";
import { encodeWrites, ForestFork } from "./fork.js";

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
    }
  | { type: "fork"; run: number; index: number }
  | { type: "end"; run: number };

export interface FailureReason {
  code: "FORK_TASK_FAILED" | "FORK_WORKER_DIED" | "FORK_ABORTED";
  message: string;
  /** The code of a HeliosError the task threw. */
  cause?: string;
}

export type WorkerAnswer =
  | { run: number; index: number; ok: true; value: unknown; writes: ArrayBuffer; count: number }
  | { run: number; index: number; ok: false; reason: FailureReason };

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
  reader: NodeReader | undefined;
  family: ForestFork | undefined;
  task: TaskFn | undefined;
  failure: FailureReason | undefined;
  ready: Promise<void>;
}

function setup(m: PoolMessage & { type: "setup" }): Run {
  const r: Run = {
    id: m.run,
    args: m.args,
    reader: undefined,
    family: undefined,
    task: undefined,
    failure: undefined,
    ready: Promise.resolve(),
  };
  r.ready = (async () => {
    try {
      r.reader = new NodeReader(m.lmdbPath, m.cacheBytes);
      r.family = ForestFork.family(null, r.reader, m.base, null);
    } catch (e) {
      r.failure = reasonOf(e, "opening the store read-only: ");
      return;
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
  await r.reader?.close();
}

const port = parentPort;
if (port !== null) {
  let current: Run | undefined;
  port.on("message", (m: PoolMessage) => {
    if (m.type === "setup") {
      current = setup(m);
    } else if (m.type === "fork") {
      if (current !== undefined && current.id === m.run) void runFork(port, current, m.index);
    } else if (current !== undefined && current.id === m.run) {
      const r = current;
      current = undefined;
      void end(r);
    }
  });
}
