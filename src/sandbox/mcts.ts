/**
 * sandbox/mcts — a deterministic Monte-Carlo tree search over forked states
 * of a deterministic environment, and an adapter whose actions are signed
 * transactions executed on a fork.
 *
 * One iteration:
 *
 *   selection   from the root, while a node is fully expanded, not terminal
 *               and has children: go to the child with the highest UCT score
 *               mean + c·√(ln N_parent / N_child) (ties: the first in
 *               expansion order);
 *   expansion   pick one untried action (seeded), fork the node's state
 *               (O(1)), apply the action: a new child node;
 *   rollout     fork the child's state, apply seeded random legal actions
 *               until terminal or `maxDepth` (counted from the root), read
 *               the reward, release the rollout fork;
 *   backprop    add the reward and a visit to every node up to the root.
 *
 *   root state ──fork──▶ child state ──fork──▶ grandchild state …   (kept: the tree)
 *                              └──fork──▶ rollout state ──▶ reward ──▶ released
 *
 * Every tree node's state is a fork of its parent's; a rollout's state is a
 * fork of its leaf's that is thrown away. Nothing touches the store.
 *
 * Determinism: the only randomness is xorshift32(seed) (core), drawn in a
 * fixed order; environments must be deterministic and list actions in a
 * deterministic order. The same root, environment, seed and iteration count
 * give the same result, bit for bit. A `budgetMs` stop depends on the clock,
 * so it fixes the time, not the result.
 *
 * Rewards: any finite number; UCT's default exploration constant (√2)
 * assumes rewards in [0, 1].
 *
 * Invariants: the caller's root fork is never written (the search forks it
 * first); every fork the search makes is released before it returns or
 * throws (an environment or onProgress that throws included), except
 * `result.state`, which is the caller's.
 * Costs per iteration: O(depth) UCT selection, one fork + one step for the
 * expansion, one fork + (rollout length) steps + one reward for the
 * rollout; memory: one ForestFork per tree node (sharing all but the paths
 * its steps wrote).
 */
import { assert, bytesToHex, HeliosError, isHeliosError, xorshift32 } from "../core/index.js";
import {
  applyTx,
  type BlockHeader,
  checkTx,
  checkTxState,
  type NativeMap,
  type PreparedContract,
  prepareContract,
  type Receipt,
  type SigCache,
  type StateConfig,
  Vm,
  WorldState,
} from "../exec/index.js";
import type { ForestFork } from "./fork.js";

/** What the search needs of a state: O(1) forks and an explicit end of life. */
export interface Forkable<S> {
  fork(): S;
  release(): void;
}

export interface Environment<A, S extends Forkable<S> = ForestFork> {
  /** Legal actions in `state`, in a deterministic order. */
  actions(state: S): A[];
  /** Applies `action` to `state` (a fork owned by the search): deterministic, no other effects. */
  step(state: S, action: A): void;
  /** The value of a state, read at the end of a rollout (terminal or at maxDepth). */
  reward(state: S): number;
  terminal(state: S): boolean;
  /** A printable name for an action (for `result.children`). */
  key?(action: A): string;
}

export interface MctsProgress {
  iterations: number;
  bestValue: number;
  nodes: number;
}

export interface MctsOptions {
  /** Seed of the search's xorshift32 (any integer). */
  seed: number;
  /** Iterations (rollouts) to run (default 1000 when no budgetMs). */
  iterations?: number;
  /** Stop after this many milliseconds of `clock` (which is then required). */
  budgetMs?: number;
  /** Milliseconds, monotonic; for budgetMs and rolloutsPerSec (sandbox code never reads the real clock). */
  clock?: () => number;
  /** UCT exploration constant (default √2). */
  exploration?: number;
  /** Deepest state searched, in actions from the root: tree plus rollout (default 64). */
  maxDepth?: number;
  /** Stop as soon as a rollout reaches this reward (e.g. 1 for "solved"). */
  stopAt?: number;
  onProgress?(p: MctsProgress): void;
  /** Iterations between onProgress calls (default 1000). */
  progressEvery?: number;
}

export interface MctsChildStats<A> {
  action: A;
  key?: string;
  visits: number;
  mean: number;
}

export interface MctsResult<A, S> {
  /** The best trajectory found: the actions, from the root, of the rollout with the highest reward (shortest on ties). */
  best: A[];
  /** Its reward. */
  value: number;
  /** The state at the end of `best` (a fork of the root); the caller owns it and releases it. */
  state: S;
  /** The most visited path through the tree (the usual "what would MCTS play"). */
  principal: A[];
  /** Iterations run; each ends in one rollout. */
  rollouts: number;
  /** env.step calls, tree and rollouts together. */
  steps: number;
  /** Tree nodes (the root included) and the depth of the deepest. */
  nodes: number;
  depth: number;
  /** The root's children after the search. */
  children: MctsChildStats<A>[];
  /** With a clock: wall time of the search, and rollouts per second. */
  elapsedMs?: number;
  rolloutsPerSec?: number;
}

class TreeNode<A, S> {
  state: S;
  readonly parent: TreeNode<A, S> | null;
  readonly action: A | undefined;
  readonly depth: number;
  readonly children: TreeNode<A, S>[];
  untried: A[];
  readonly terminal: boolean;
  visits: number;
  total: number;
  constructor(state: S, parent: TreeNode<A, S> | null, action: A | undefined, terminal: boolean, untried: A[]) {
    this.state = state;
    this.parent = parent;
    this.action = action;
    this.depth = parent === null ? 0 : parent.depth + 1;
    this.children = [];
    this.untried = untried;
    this.terminal = terminal;
    this.visits = 0;
    this.total = 0;
  }
}

function checkFinite(v: unknown, what: string, min = Number.NEGATIVE_INFINITY): number {
  if (typeof v !== "number" || !Number.isFinite(v) || v < min) {
    throw new HeliosError("INVALID_ARGUMENT", { [what]: v }, `${what} must be a finite number ≥ ${min}`);
  }
  return v;
}

function checkCount(v: unknown, what: string, min: number): number {
  if (typeof v !== "number" || !Number.isSafeInteger(v) || v < min) {
    throw new HeliosError("INVALID_ARGUMENT", { [what]: v }, `${what} must be an integer ≥ ${min}`);
  }
  return v;
}

function pathTo<A, S>(n: TreeNode<A, S>): A[] {
  const out: A[] = [];
  for (let x: TreeNode<A, S> | null = n; x !== null && x.parent !== null; x = x.parent) out.push(x.action as A);
  return out.reverse();
}

/**
 * Searches from `root` (left unchanged) and returns the best trajectory
 * found, its reward and final state, the principal variation and the tree's
 * statistics. See the module comment for the algorithm.
 */
export function mcts<A, S extends Forkable<S> = ForestFork>(
  root: S,
  env: Environment<A, S>,
  opts: MctsOptions,
): MctsResult<A, S> {
  if (opts === null || typeof opts !== "object") throw new HeliosError("INVALID_ARGUMENT", {}, "mcts needs { seed }");
  if (typeof opts.seed !== "number" || !Number.isInteger(opts.seed)) {
    throw new HeliosError("INVALID_ARGUMENT", { seed: opts.seed }, "seed must be an integer");
  }
  for (const f of ["actions", "step", "reward", "terminal"] as const) {
    if (typeof env?.[f] !== "function")
      throw new HeliosError("INVALID_ARGUMENT", { missing: f }, `env.${f} is required`);
  }
  const budgetMs = opts.budgetMs === undefined ? undefined : checkFinite(opts.budgetMs, "budgetMs", 0);
  const clock = opts.clock;
  if (budgetMs !== undefined && typeof clock !== "function") {
    throw new HeliosError("INVALID_ARGUMENT", {}, "budgetMs needs a clock (ms)");
  }
  const iterations =
    opts.iterations === undefined
      ? budgetMs === undefined
        ? 1000
        : Number.MAX_SAFE_INTEGER
      : checkCount(opts.iterations, "iterations", 0);
  const c = opts.exploration === undefined ? Math.SQRT2 : checkFinite(opts.exploration, "exploration", 0);
  const maxDepth = opts.maxDepth === undefined ? 64 : checkCount(opts.maxDepth, "maxDepth", 0);
  const stopAt = opts.stopAt === undefined ? undefined : checkFinite(opts.stopAt, "stopAt");
  const every = opts.progressEvery === undefined ? 1000 : checkCount(opts.progressEvery, "progressEvery", 1);

  const rng = xorshift32(opts.seed);
  const t0 = clock?.();
  let steps = 0;
  let nodes = 1;
  let deepest = 0;
  const rootState = root.fork();
  let top: TreeNode<A, S>;
  try {
    top = new TreeNode<A, S>(rootState, null, undefined, env.terminal(rootState), []);
    if (!top.terminal) top.untried = env.actions(rootState);
  } catch (e) {
    rootState.release(); // not in a tree yet: the finally below would not see it
    throw e;
  }
  let best: A[] = [];
  let bestValue = Number.NEGATIVE_INFINITY;
  let done = 0;
  const rolloutActions: A[] = [];
  try {
    while (done < iterations) {
      if (budgetMs !== undefined && (clock as () => number)() - (t0 as number) >= budgetMs) break;
      // selection
      let node = top;
      while (!node.terminal && node.untried.length === 0 && node.children.length > 0) {
        const logN = Math.log(node.visits);
        let pick = node.children[0] as TreeNode<A, S>;
        let score = Number.NEGATIVE_INFINITY;
        for (const ch of node.children) {
          const s = ch.total / ch.visits + c * Math.sqrt(logN / ch.visits);
          if (s > score) {
            score = s;
            pick = ch;
          }
        }
        node = pick;
      }
      // expansion
      if (!node.terminal && node.untried.length > 0 && node.depth < maxDepth) {
        const u = node.untried;
        const i = rng() % u.length;
        const action = u[i] as A;
        u[i] = u[u.length - 1] as A; // swap-remove: deterministic, O(1)
        u.pop();
        const s = node.state.fork();
        let child: TreeNode<A, S>;
        try {
          env.step(s, action);
          steps++;
          const terminal = env.terminal(s);
          child = new TreeNode<A, S>(s, node, action, terminal, terminal ? [] : env.actions(s));
        } catch (e) {
          s.release(); // not in the tree yet: the finally below would not see it
          throw e;
        }
        node.children.push(child);
        nodes++;
        if (child.depth > deepest) deepest = child.depth;
        node = child;
      }
      // rollout
      const sim = node.state.fork();
      let value: number;
      rolloutActions.length = 0;
      try {
        let d = node.depth;
        while (d < maxDepth && !env.terminal(sim)) {
          const acts = env.actions(sim);
          if (acts.length === 0) break;
          const a = acts[rng() % acts.length] as A;
          env.step(sim, a);
          rolloutActions.push(a);
          steps++;
          d++;
        }
        value = env.reward(sim);
      } finally {
        sim.release();
      }
      assert(typeof value === "number" && !Number.isNaN(value), "env.reward returns a number");
      const len = node.depth + rolloutActions.length;
      if (value > bestValue || (value === bestValue && len < best.length)) {
        bestValue = value;
        best = pathTo(node).concat(rolloutActions);
      }
      // backpropagation
      for (let n: TreeNode<A, S> | null = node; n !== null; n = n.parent) {
        n.visits++;
        n.total += value;
      }
      done++;
      if (opts.onProgress !== undefined && done % every === 0) {
        opts.onProgress({ iterations: done, bestValue, nodes });
      }
      if (stopAt !== undefined && value >= stopAt) break;
    }
    const principal: A[] = [];
    for (let n = top; n.children.length > 0; ) {
      let pick = n.children[0] as TreeNode<A, S>;
      for (const ch of n.children) {
        if (ch.visits > pick.visits || (ch.visits === pick.visits && ch.total > pick.total)) pick = ch;
      }
      principal.push(pick.action as A);
      n = pick;
    }
    const children = top.children.map((ch) => {
      const st: MctsChildStats<A> = { action: ch.action as A, visits: ch.visits, mean: ch.total / ch.visits };
      if (env.key !== undefined) st.key = env.key(ch.action as A);
      return st;
    });
    // the final state of the best trajectory, replayed on a fresh fork of the root
    const state = root.fork();
    try {
      for (const a of best) env.step(state, a);
    } catch (e) {
      state.release();
      throw e;
    }
    const result: MctsResult<A, S> = {
      best,
      value: done === 0 ? Number.NaN : bestValue,
      state,
      principal,
      rollouts: done,
      steps,
      nodes,
      depth: deepest,
      children,
    };
    if (clock !== undefined) {
      const ms = clock() - (t0 as number);
      result.elapsedMs = ms;
      result.rolloutsPerSec = ms > 0 ? (done * 1000) / ms : Number.POSITIVE_INFINITY;
    }
    return result;
  } finally {
    // release every tree node's fork (iteratively: trees can be deep)
    const stack: TreeNode<A, S>[] = [top];
    while (stack.length > 0) {
      const n = stack.pop() as TreeNode<A, S>;
      n.state.release();
      for (const ch of n.children) stack.push(ch);
    }
  }
}

// ------------------------------------------------------------ transactions

/** What executing a transaction on a fork needs: the chain's config and the block it pretends to be in. */
export interface TxContext {
  config: Readonly<StateConfig>;
  /** Height, time and proposer (fees go to the proposer) of the block the transactions execute in. */
  block: Pick<BlockHeader, "height" | "timeMs" | "proposer">;
  natives?: NativeMap;
  /** Verified signatures: a transaction tried on many forks is verified once. Strongly advised. */
  sigCache?: SigCache;
  /** Prepared contracts by code hash (hex); filled as contracts load. */
  modules?: Map<string, PreparedContract>;
}

/**
 * Executes one signed transaction on a fork, exactly as the executor would
 * in a block on that state (exec/executor: stateless checks, nonce and
 * balance, gas, revert on failure, fees), and writes its effects to the
 * fork: storage trees and code first, then the account records with their
 * new storage roots (computed by hashing the fork's written paths; no node
 * is stored). Throws the TX_* code of a transaction that is not valid on
 * this state (the fork is then unchanged); a failed call is a receipt.
 */
export function executeTxOnFork(fork: ForestFork, tx: Uint8Array, ctx: TxContext): Receipt {
  const checked = checkTx(tx, { config: ctx.config, sigCache: ctx.sigCache });
  const modules = ctx.modules ?? new Map<string, PreparedContract>();
  const loader = (codeHash: Uint8Array, code: Uint8Array): PreparedContract => {
    const k = bytesToHex(codeHash);
    let m = modules.get(k);
    if (m === undefined) {
      m = prepareContract(code, ctx.config.vm);
      modules.set(k, m);
    }
    return m;
  };
  const world = new WorldState((tree, key) => fork.get(tree, key), loader);
  checkTxState(world, checked.tx);
  const vm = new Vm(world, { height: ctx.block.height, timeMs: ctx.block.timeMs }, ctx.config.vm, ctx.natives);
  const header = { proposer: ctx.block.proposer } as BlockHeader; // applyTx reads only the proposer
  const receipt = applyTx(world, vm, header, checked.tx);
  const w = world.writes();
  fork.apply(w.first);
  const roots = new Map<string, Uint8Array>();
  for (const name of w.first.keys()) roots.set(name, fork.treeRoot(name));
  fork.apply(w.derive(roots));
  return receipt;
}

/** True when `tx` would be accepted on this state (stateless and stateful checks); never throws for a TX_* reason. */
export function txValidOn(fork: ForestFork, tx: Uint8Array, ctx: TxContext): boolean {
  try {
    const checked = checkTx(tx, { config: ctx.config, sigCache: ctx.sigCache });
    const world = new WorldState(
      (tree, key) => fork.get(tree, key),
      () => {
        throw new HeliosError("INVALID_ARGUMENT", {}, "no contract is loaded by a validity check");
      },
    );
    checkTxState(world, checked.tx);
    return true;
  } catch (e) {
    if (isHeliosError(e) && e.code.startsWith("TX_")) return false;
    throw e;
  }
}

/**
 * An Environment whose actions are signed transactions: in each state, the
 * candidates that are valid there (nonce, balance, signature, gas bounds);
 * a step executes one on the fork (executeTxOnFork).
 */
export function transactionEnvironment(opts: {
  /** Signed transactions worth trying in this state (deterministic order). */
  candidates(state: ForestFork): Uint8Array[];
  reward(state: ForestFork): number;
  /** Default: no valid candidate is left. */
  terminal?(state: ForestFork): boolean;
  ctx: TxContext;
}): Environment<Uint8Array> {
  const ctx: TxContext = { ...opts.ctx, modules: opts.ctx.modules ?? new Map() };
  const valid = (s: ForestFork) => opts.candidates(s).filter((tx) => txValidOn(s, tx, ctx));
  return {
    actions: valid,
    step: (s, tx) => {
      executeTxOnFork(s, tx, ctx);
    },
    reward: (s) => opts.reward(s),
    terminal: (s) => (opts.terminal === undefined ? valid(s).length === 0 : opts.terminal(s)),
    key: (tx) => bytesToHex(checkTx(tx, { config: ctx.config, sigCache: ctx.sigCache }).hash).slice(0, 16),
  };
}
