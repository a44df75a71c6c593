/**
 * bench/suites/sandbox-mcts — forks for search: MCTS rollouts per second
 * with a ForestFork per node and per rollout, against the same search over
 * a plain JS state deep-copied with structuredClone; the cost of one fork
 * at 1K / 100K / 1M keys of state (flat?) against one structuredClone; and
 * the fork(n) runner's throughput on worker threads.
 *
 * Workload (examples/mcts-puzzle.ts): a 3×3 sliding-tile puzzle scrambled
 * with SCRAMBLE seeded moves; its board is the "puzzle" tree (11 keys) of a
 * forest that also holds WORLD unrelated keys ("world" tree, 8-digit keys,
 * ~32-byte values). The environment, seed, iteration count and search code
 * (src/sandbox/mcts.ts, generic over the state) are the same for both sides;
 * the run checks that both return the same best trajectory, rollout count
 * and step count, so both did exactly the same work.
 *
 *   helios   state = ForestFork over a durable store (the 100K keys are in
 *            LMDB/L1 as after any commit); fork = ForestFork.fork()
 *   peer     state = Map<tree, Map<key, value>>: the puzzle as Uint8Array
 *            values, the world as Map<string, string> (the fastest of the
 *            shapes measured for structuredClone at 100K keys: Map of
 *            strings ~87 ms, object of strings ~130 ms, Map of Uint8Array
 *            ~290 ms); fork = structuredClone of the whole state, as a
 *            sandbox without structural sharing must do
 *
 * Rows:
 *   MCTS rollouts/s           both sides, same iterations (PEER_ITERS)
 *   MCTS rollouts/s, long     helios alone at LONG_ITERS (steady state)
 *   fork ns, N keys           ForestFork.fork() of a fork that has written
 *                             its puzzle tree (the MCTS case: one draft to
 *                             fork), median of REPS runs of FORKS forks;
 *                             ForestFork.of (a lease) alongside; the peer is
 *                             one structuredClone of the N-key state
 *   runner forks/s            a trivial task and a task writing 1K keys:
 *                             ForkPool.run of N forks on warm threads (1
 *                             and 2 threads; each run still checkpoints and
 *                             sets the threads up), and runForks (a pool
 *                             started and ended per call); the outcomes'
 *                             forks are released unread, as a caller that
 *                             keeps none would; "in-process" is the same
 *                             1K-write fork on the main thread, for reference
 * Quick mode: 1K/100K keys, few iterations (< 30 s); full mode adds 1M keys
 * and longer runs.
 */
import { utf8 } from "../../src/core/index.js";
import { openState, type StateDB } from "../../src/history/index.js";
import { createForkPool, ForestFork, type ForkContext, mcts, runForks } from "../../src/sandbox/index.js";
import {
  boardOps,
  type PuzzleState,
  PUZZLE,
  puzzleEnvironment,
  scramble,
  WORLD,
  worldOps,
} from "../../examples/mcts-puzzle.js";
import { gc, median, type Mode, msSince, now, type Result, tempDir } from "../lib.js";
import { rmSync } from "node:fs";

const SCRAMBLE = 30;
const SEED = 11;
const MAX_DEPTH = 40;

function log(msg: string): void {
  process.stderr.write(`[sandbox-mcts] ${msg}\n`);
}

/** The peer's state: plain Maps, deep-copied on fork. */
class ClonedState implements PuzzleState<ClonedState> {
  readonly trees: Map<string, Map<string, Uint8Array | string>>;
  constructor(trees: Map<string, Map<string, Uint8Array | string>>) {
    this.trees = trees;
  }
  get(tree: string, key: Uint8Array): Uint8Array | undefined {
    const v = this.trees.get(tree)?.get(Buffer.from(key).toString("latin1"));
    return v === undefined ? undefined : typeof v === "string" ? utf8(v) : v;
  }
  put(tree: string, key: Uint8Array, value: Uint8Array): void {
    let m = this.trees.get(tree);
    if (m === undefined) {
      m = new Map();
      this.trees.set(tree, m);
    }
    m.set(Buffer.from(key).toString("latin1"), value.slice());
  }
  fork(): ClonedState {
    return new ClonedState(structuredClone(this.trees));
  }
  release(): void {}
}

function peerState(world: number, board: number[]): ClonedState {
  const w = new Map<string, Uint8Array | string>();
  for (const op of worldOps(0, world)) {
    w.set(Buffer.from(op.key).toString("latin1"), Buffer.from(op.value as Uint8Array).toString("latin1"));
  }
  const p = new Map<string, Uint8Array | string>();
  for (const op of boardOps(board)) p.set(Buffer.from(op.key).toString("latin1"), op.value as Uint8Array);
  return new ClonedState(
    new Map([
      [PUZZLE, p],
      [WORLD, w],
    ]),
  );
}

interface Store {
  db: StateDB;
  dir: string;
  keys: number;
}

async function buildStore(keys: number, board: number[]): Promise<Store> {
  const dir = tempDir(`sandbox-mcts-${keys}`);
  const db = openState(dir, { create: true });
  let h = 0;
  const t0 = now();
  for (let i = 0; i < keys; i += 50_000) db.commit(++h, { [WORLD]: worldOps(i, Math.min(keys, i + 50_000)) });
  db.commit(++h, { [PUZZLE]: boardOps(board) });
  await db.checkpoint();
  log(`built ${keys} keys in ${msSince(t0).toFixed(0)} ms`);
  return { db, dir, keys };
}

async function dropStore(s: Store): Promise<void> {
  await s.db.close();
  rmSync(s.dir, { recursive: true, force: true });
}

/** ns per ForestFork.fork() (of a fork with its puzzle tree written) and per ForestFork.of. */
function forkCost(db: StateDB, forks: number, reps: number): { forkNs: number; ofNs: number } {
  const base = ForestFork.of(db, db.root);
  base.put(PUZZLE, utf8("touch"), utf8("x")); // one open draft, as in the search
  const held: ForestFork[] = new Array(forks);
  const forkT: number[] = [];
  const ofT: number[] = [];
  for (let r = 0; r < reps + 1; r++) {
    let t0 = now();
    for (let i = 0; i < forks; i++) held[i] = base.fork();
    const f = (msSince(t0) * 1e6) / forks;
    for (const x of held) x.release();
    const root = db.root;
    t0 = now();
    for (let i = 0; i < forks; i++) held[i] = ForestFork.of(db, root);
    const o = (msSince(t0) * 1e6) / forks;
    for (const x of held) x.release();
    if (r > 0) {
      forkT.push(f);
      ofT.push(o);
    }
  }
  base.release();
  return { forkNs: median(forkT), ofNs: median(ofT) };
}

function cloneNs(world: number, reps: number): number {
  const s = peerState(world, scramble(3, SCRAMBLE, SEED));
  s.fork();
  const t: number[] = [];
  for (let r = 0; r < reps; r++) {
    const t0 = now();
    s.fork();
    t.push(msSince(t0) * 1e6);
  }
  return median(t);
}

export async function run(mode: Mode): Promise<Result[]> {
  const full = mode === "full";
  const out: Result[] = [];
  const board = scramble(3, SCRAMBLE, SEED);
  const env = puzzleEnvironment<ForestFork>(3);
  const peerEnv = puzzleEnvironment<ClonedState>(3);
  const WORLD_KEYS = 100_000;
  const PEER_ITERS = full ? 100 : 12;
  const LONG_ITERS = full ? 50_000 : 5_000;

  // ---- 1. MCTS rollouts/s at 100K keys: fork vs structuredClone
  const s100 = await buildStore(WORLD_KEYS, board);
  try {
    const clock = () => Number(process.hrtime.bigint()) / 1e6;
    const opts = { seed: SEED, iterations: PEER_ITERS, maxDepth: MAX_DEPTH, clock };
    const root = ForestFork.of(s100.db, s100.db.root);
    // both sides alike: a warm-up run, then the median of REPS runs of the same search
    const REPS = 3;
    mcts(root, env, { ...opts, iterations: 200 }).state.release(); // warm-up
    const reps: number[] = [];
    let ours = mcts(root, env, opts);
    for (let r = 0; r < REPS; r++) {
      ours.state.release();
      ours = mcts(root, env, opts);
      reps.push(ours.rolloutsPerSec as number);
    }
    const heliosRate = median(reps);
    gc();
    log(`peer: ${PEER_ITERS} iterations, structuredClone of ${WORLD_KEYS} keys per fork, ${REPS} runs after a warm-up`);
    const peerWorld = peerState(WORLD_KEYS, board);
    mcts(peerWorld, peerEnv, { ...opts, iterations: 2 }); // warm-up
    const peerReps: number[] = [];
    let peer = mcts(peerWorld, peerEnv, opts);
    peerReps.push(peer.rolloutsPerSec as number);
    for (let r = 1; r < REPS; r++) {
      gc();
      peer = mcts(peerWorld, peerEnv, opts);
      peerReps.push(peer.rolloutsPerSec as number);
    }
    const peerRate = median(peerReps);
    const same =
      JSON.stringify(peer.best) === JSON.stringify(ours.best) &&
      peer.rollouts === ours.rollouts &&
      peer.steps === ours.steps &&
      peer.nodes === ours.nodes;
    if (!same) throw new Error("the peer's search differs from Helios': not the same work");
    const wl = "MCTS rollouts/s, 100K keys of state";
    const note = `${PEER_ITERS} iterations, seed ${SEED}, ${ours.steps} steps, same trajectory on both sides`;
    out.push({
      workload: wl,
      impl: "helios",
      value: heliosRate,
      unit: "rollouts/s",
      better: "higher",
      note: `fork per node and per rollout; median of ${REPS} after a warm-up; ${note}`,
    });
    out.push({
      workload: wl,
      impl: "structuredClone",
      value: peerRate,
      unit: "rollouts/s",
      better: "higher",
      note: `Map<string,string> world + Map<string,Uint8Array> board, deep copy per node and per rollout; median of ${REPS} after a warm-up; ${note}`,
    });
    ours.state.release();
    const long = mcts(root, env, { ...opts, iterations: LONG_ITERS });
    out.push({
      workload: "MCTS rollouts/s, 100K keys, long run",
      impl: "helios",
      value: long.rolloutsPerSec as number,
      unit: "rollouts/s",
      better: "higher",
      note: `${LONG_ITERS} iterations, ${long.steps} steps (${(long.steps / long.rollouts).toFixed(1)} per rollout), ${long.nodes} tree nodes`,
    });
    log(`long run: ${long.rollouts} rollouts, ${(long.rolloutsPerSec as number).toFixed(0)}/s`);
    long.state.release();
    root.release();
  } catch (e) {
    await dropStore(s100);
    throw e;
  }

  // ---- 2. fork cost against state size
  const sizes = full ? [1_000, 100_000, 1_000_000] : [1_000, 100_000];
  const FORKS = full ? 100_000 : 20_000;
  for (const n of sizes) {
    const s = n === WORLD_KEYS ? s100 : await buildStore(n, board);
    try {
      const c = forkCost(s.db, FORKS, full ? 7 : 3);
      const label = n >= 1e6 ? `${n / 1e6}M` : `${n / 1e3}K`;
      const wl = `fork, ${label} keys`;
      out.push({
        workload: wl,
        impl: "helios",
        value: c.forkNs,
        unit: "ns",
        better: "lower",
        note: `ForestFork.fork() with one tree written; median of runs of ${FORKS}`,
      });
      out.push({
        workload: wl,
        impl: "helios ForestFork.of",
        value: c.ofNs,
        unit: "ns",
        better: "lower",
        note: "a new family: one lease on the version",
      });
      gc();
      const cn = cloneNs(n, n >= 1e6 ? 3 : full ? 10 : 5);
      out.push({
        workload: wl,
        impl: "structuredClone",
        value: cn,
        unit: "ns",
        better: "lower",
        note: "one deep copy of the same state as plain Maps",
      });
      log(
        `fork at ${label}: ${c.forkNs.toFixed(0)} ns (of: ${c.ofNs.toFixed(0)} ns); structuredClone ${(cn / 1e6).toFixed(2)} ms`,
      );
    } finally {
      if (s !== s100) await dropStore(s);
    }
  }

  // ---- 3. the runner on worker threads (base: the 100K-key store)
  try {
    const db = s100.db;
    const N = full ? 64 : 16;
    const trivial = (ctx: ForkContext) => ctx.index;
    const writes1k = (ctx: ForkContext) => {
      const enc = new TextEncoder();
      for (let i = 0; i < 1000; i++) ctx.put("exp", enc.encode(`f${ctx.index}/${i}`), enc.encode(`v${i}`));
      return ctx.index;
    };
    for (const [name, task] of [
      ["trivial task", trivial],
      ["1K writes per fork", writes1k],
    ] as const) {
      const wl = `runner forks/s, ${name}`;
      const check = (outs: Awaited<ReturnType<typeof runForks>>) => {
        for (const o of outs) {
          if (o.status !== "fulfilled") throw new Error(`fork ${o.index} failed: ${o.reason.message}`);
          o.fork.release();
        }
      };
      for (const threads of [1, 2]) {
        // a pool kept across runs: the steady state
        const pool = createForkPool({ threads });
        try {
          check(await pool.run(db, db.root, threads * 2, task)); // warm-up: threads started and set up once
          const t: number[] = [];
          for (let r = 0; r < (full ? 5 : 3); r++) {
            const t0 = now();
            check(await pool.run(db, db.root, N, task));
            t.push(msSince(t0));
          }
          const ms = median(t);
          out.push({
            workload: wl,
            impl: `helios pool, ${threads} thread${threads > 1 ? "s" : ""}`,
            value: (N * 1000) / ms,
            unit: "forks/s",
            better: "higher",
            note: `ForkPool.run of ${N} forks on warm threads: ${ms.toFixed(0)} ms (incl. the run's checkpoint and setup)`,
          });
          log(`${wl}, pool of ${threads}: ${ms.toFixed(0)} ms for ${N}`);
        } finally {
          await pool.close();
        }
      }
      const t: number[] = [];
      for (let r = 0; r < (full ? 5 : 2); r++) {
        const t0 = now();
        check(await runForks(db, db.root, N, task, { threads: 2 }));
        t.push(msSince(t0));
      }
      const ms = median(t);
      out.push({
        workload: wl,
        impl: "helios runForks, 2 threads",
        value: (N * 1000) / ms,
        unit: "forks/s",
        better: "higher",
        note: `one call of ${N} forks with its own pool: ${ms.toFixed(0)} ms (threads started and ended in the call)`,
      });
      log(`${wl}, runForks with 2 threads: ${ms.toFixed(0)} ms for ${N}`);
    }
    // the same 1K-write fork in process, for reference
    const base = ForestFork.of(db, db.root);
    const enc = new TextEncoder();
    const reps: number[] = [];
    for (let r = 0; r < 5; r++) {
      const t0 = now();
      for (let f = 0; f < N; f++) {
        const x = base.fork();
        for (let i = 0; i < 1000; i++) x.put("exp", enc.encode(`f${f}/${i}`), enc.encode(`v${i}`));
        x.writes();
        x.release();
      }
      reps.push(msSince(t0));
    }
    base.release();
    out.push({
      workload: "runner forks/s, 1K writes per fork",
      impl: "in-process (no workers)",
      value: (N * 1000) / median(reps),
      unit: "forks/s",
      better: "higher",
      note: "fork + 1K puts + writes() on the main thread",
    });
  } finally {
    await dropStore(s100);
  }
  return out;
}
