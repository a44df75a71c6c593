/**
 * examples/mcts-puzzle — MCTS over forked state: solve a sliding-tile puzzle
 * (the 8-puzzle, or n×n) whose board lives in the forest next to a large,
 * unrelated state, by searching over ForestForks.
 *
 *   node dist/examples/mcts-puzzle.js [--size 3] [--scramble 14] [--world 100000]
 *                                     [--iterations 200000] [--seed 1]
 *
 * The board is the tree "puzzle": key "c<i>" (i = cell, row-major) → the tile
 * on it (one byte, 0 = the blank), "blank" → the blank's cell, "last" → the
 * last move (so a move is never undone at once). The tree "world" holds
 * `--world` unrelated keys, to show that forking cost does not depend on
 * the state's size. The puzzle starts from a seeded scramble of the solved
 * board, so it is solvable; MCTS searches with the reward "1 when solved,
 * else up to 0.5 by how close the tiles are to home (Manhattan distance)",
 * and stops at the first rollout that solves it. The solution printed is
 * then checked by replaying it on a plain array.
 *
 * The environment is generic over any state with get/put/fork/release, so
 * bench/suites/sandbox-mcts.ts runs the very same search on a plain Map
 * copied with structuredClone, for comparison.
 */
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { utf8, xorshift32 } from "../src/core/index.js";
import { openState } from "../src/history/index.js";
import type { Op } from "../src/merkle/index.js";
import { type Environment, type Forkable, ForestFork, mcts } from "../src/sandbox/index.js";

export const PUZZLE = "puzzle";
export const WORLD = "world";

/** Moves of the blank: up, down, left, right. */
export const MOVES = ["U", "D", "L", "R"] as const;
const INVERSE = [1, 0, 3, 2];
const NONE = 255;

/** What the puzzle needs of a state. */
export interface PuzzleState<S> extends Forkable<S> {
  get(tree: string, key: Uint8Array): Uint8Array | undefined;
  put(tree: string, key: Uint8Array, value: Uint8Array): void;
}

const cellKeys: Uint8Array[] = [];
function cellKey(i: number): Uint8Array {
  let k = cellKeys[i];
  if (k === undefined) {
    k = utf8(`c${i}`);
    cellKeys[i] = k;
  }
  return k;
}
const BLANK = utf8("blank");
const LAST = utf8("last");

/** The blank's target cell for a move, or −1 when it would leave the board. */
export function moveTarget(size: number, blank: number, move: number): number {
  const r = Math.floor(blank / size);
  const c = blank % size;
  if (move === 0) return r > 0 ? blank - size : -1;
  if (move === 1) return r < size - 1 ? blank + size : -1;
  if (move === 2) return c > 0 ? blank - 1 : -1;
  return c < size - 1 ? blank + 1 : -1;
}

/** Σ over tiles of the Manhattan distance to the tile's home (tile t lives at cell t−1; the blank at the end). */
export function manhattan(size: number, board: ArrayLike<number>): number {
  let d = 0;
  for (let i = 0; i < size * size; i++) {
    const t = board[i] as number;
    if (t === 0) continue;
    const home = t - 1;
    d += Math.abs(Math.floor(home / size) - Math.floor(i / size)) + Math.abs((home % size) - (i % size));
  }
  return d;
}

export function solvedBoard(size: number): number[] {
  const b: number[] = [];
  for (let i = 0; i < size * size - 1; i++) b.push(i + 1);
  b.push(0);
  return b;
}

/** A board `moves` seeded random moves away from solved (no immediate undo). */
export function scramble(size: number, moves: number, seed: number): number[] {
  const rng = xorshift32(seed);
  const b = solvedBoard(size);
  let blank = b.length - 1;
  let last = NONE;
  for (let i = 0; i < moves; i++) {
    const legal: number[] = [];
    for (let m = 0; m < 4; m++)
      if (moveTarget(size, blank, m) >= 0 && (last === NONE || INVERSE[m] !== last)) legal.push(m);
    const m = legal[rng() % legal.length] as number;
    const t = moveTarget(size, blank, m);
    b[blank] = b[t] as number;
    b[t] = 0;
    blank = t;
    last = m;
  }
  return b;
}

/** Applies moves to a plain board; returns the result (throws on an illegal move). */
export function replay(size: number, board: readonly number[], moves: readonly number[]): number[] {
  const b = board.slice();
  let blank = b.indexOf(0);
  for (const m of moves) {
    const t = moveTarget(size, blank, m);
    if (t < 0) throw new Error(`illegal move ${MOVES[m]} with the blank at ${blank}`);
    b[blank] = b[t] as number;
    b[t] = 0;
    blank = t;
  }
  return b;
}

/** The board as ops on the "puzzle" tree. */
export function boardOps(board: readonly number[]): Op[] {
  const ops: Op[] = board.map((t, i) => ({ key: cellKey(i), value: Uint8Array.of(t) }));
  ops.push({ key: BLANK, value: Uint8Array.of(board.indexOf(0)) });
  ops.push({ key: LAST, value: Uint8Array.of(NONE) });
  return ops;
}

/** The sliding-tile puzzle as an MCTS environment over any forkable key-value state. */
export function puzzleEnvironment<S extends PuzzleState<S>>(size: number): Environment<number, S> {
  const cells = size * size;
  const board = new Uint8Array(cells);
  const read = (s: S): Uint8Array => {
    for (let i = 0; i < cells; i++) board[i] = (s.get(PUZZLE, cellKey(i)) as Uint8Array)[0] as number;
    return board;
  };
  const maxDistance = cells * 2 * (size - 1);
  return {
    actions(s) {
      const blank = (s.get(PUZZLE, BLANK) as Uint8Array)[0] as number;
      const last = (s.get(PUZZLE, LAST) as Uint8Array)[0] as number;
      const out: number[] = [];
      for (let m = 0; m < 4; m++) {
        if (moveTarget(size, blank, m) >= 0 && (last === NONE || INVERSE[m] !== last)) out.push(m);
      }
      return out;
    },
    step(s, m) {
      const blank = (s.get(PUZZLE, BLANK) as Uint8Array)[0] as number;
      const t = moveTarget(size, blank, m);
      const tile = s.get(PUZZLE, cellKey(t)) as Uint8Array;
      s.put(PUZZLE, cellKey(blank), tile);
      s.put(PUZZLE, cellKey(t), Uint8Array.of(0));
      s.put(PUZZLE, BLANK, Uint8Array.of(t));
      s.put(PUZZLE, LAST, Uint8Array.of(m));
    },
    reward(s) {
      const d = manhattan(size, read(s));
      return d === 0 ? 1 : 0.5 * (1 - d / maxDistance);
    },
    terminal(s) {
      return manhattan(size, read(s)) === 0;
    },
    key: (m) => MOVES[m] as string,
  };
}

/** Writes `n` unrelated keys into the "world" tree, in commits of 50K. */
export function worldOps(from: number, to: number): Op[] {
  const ops: Op[] = [];
  for (let i = from; i < to; i++) {
    ops.push({ key: utf8(`world/${i.toString().padStart(8, "0")}`), value: utf8(`value-${i}-${"x".repeat(20)}`) });
  }
  return ops;
}

function arg(name: string, dflt: number): number {
  const i = process.argv.indexOf(`--${name}`);
  if (i < 0) return dflt;
  const v = Number(process.argv[i + 1]);
  if (!Number.isFinite(v)) throw new Error(`--${name} takes a number`);
  return v;
}

function show(size: number, b: readonly number[]): string {
  const rows: string[] = [];
  for (let r = 0; r < size; r++) {
    rows.push(
      b
        .slice(r * size, r * size + size)
        .map((t) => (t === 0 ? "  ." : String(t).padStart(3)))
        .join(""),
    );
  }
  return rows.join("\n");
}

export interface PuzzleRun {
  start: number[];
  moves: number[];
  solved: boolean;
  rollouts: number;
  rolloutsPerSec: number;
  nodes: number;
}

/** Builds a store with the scrambled board and `world` unrelated keys, runs the search, checks the answer. */
export async function solvePuzzle(opts: {
  size: number;
  scramble: number;
  world: number;
  iterations: number;
  seed: number;
  log?: (s: string) => void;
}): Promise<PuzzleRun> {
  const log = opts.log ?? (() => {});
  const dir = mkdtempSync(path.join(os.tmpdir(), "helios-mcts-puzzle-"));
  const db = openState(dir, { create: true });
  try {
    const start = scramble(opts.size, opts.scramble, opts.seed);
    let height = 0;
    for (let i = 0; i < opts.world; i += 50_000) {
      db.commit(++height, { [WORLD]: worldOps(i, Math.min(opts.world, i + 50_000)) });
    }
    db.commit(++height, { [PUZZLE]: boardOps(start) });
    log(`board (${opts.size}×${opts.size}, scrambled with ${opts.scramble} moves), next to ${opts.world} keys:`);
    log(show(opts.size, start));
    const root = ForestFork.of(db, db.root);
    const r = mcts(root, puzzleEnvironment<ForestFork>(opts.size), {
      seed: opts.seed,
      iterations: opts.iterations,
      maxDepth: Math.max(8, opts.scramble * 2),
      stopAt: 1,
      clock: () => performance.now(),
    });
    const end = replay(opts.size, start, r.best);
    const solved = manhattan(opts.size, end) === 0;
    // the search's own final state agrees with the replay on a plain array
    for (let i = 0; i < end.length; i++) {
      if ((r.state.get(PUZZLE, cellKey(i)) as Uint8Array)[0] !== end[i]) throw new Error("state and replay differ");
    }
    log(
      solved
        ? `solved in ${r.best.length} moves: ${r.best.map((m) => MOVES[m]).join(" ")}`
        : `not solved within ${r.rollouts} rollouts (best reward ${r.value.toFixed(3)})`,
    );
    log(
      `${r.rollouts} rollouts in ${(r.elapsedMs ?? 0).toFixed(0)} ms: ${Math.round(r.rolloutsPerSec ?? 0)} rollouts/s, ` +
        `${r.steps} steps, ${r.nodes} tree nodes`,
    );
    r.state.release();
    root.release();
    return {
      start,
      moves: r.best,
      solved,
      rollouts: r.rollouts,
      rolloutsPerSec: r.rolloutsPerSec ?? 0,
      nodes: r.nodes,
    };
  } finally {
    await db.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

const isMain = process.argv[1] !== undefined && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href;
if (isMain) {
  const run = await solvePuzzle({
    size: arg("size", 3),
    scramble: arg("scramble", 14),
    world: arg("world", 100_000),
    iterations: arg("iterations", 200_000),
    seed: arg("seed", 1),
    log: (s) => console.log(s),
  });
  if (!run.solved) process.exitCode = 1;
}
