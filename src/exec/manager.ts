/**
 * exec/manager — StateManager, the state machine's API (docs/api.md): the
 * seed's interface under TypeScript names. Consensus calls it exactly as a
 * chain would: execute a proposed block speculatively (on a fork of the
 * committed state), compare roots, then commit it or drop it.
 *
 *   committed head h ──executeBlock(B₁)──▶ pending B₁ (h+1) ──executeBlock(B₂)──▶ pending B₂ (h+2)
 *                  └──executeBlock(B₁')─▶ pending B₁' (h+1)   (a competing proposal)
 *   commit(h+1, B₁) makes B₁ durable and drops B₁' (and anything built on it).
 *
 * Invariants: nothing of a block is durable before `commit`; a block whose
 * computed root differs from its header's expected root is rejected whole
 * (BLOCK_ROOT_MISMATCH) and leaves no pending state; commits go in height
 * order on the committed head; reads without a height see the committed
 * head, never a pending block; execution is deterministic (exec/executor).
 * Costs: executeBlock = the transactions + one staged tree update of the
 * dirty keys (no I/O); commit = one log append + fsync (history/StateDB);
 * snapshots are O(1) refs (snapshot/manage).
 */
import { bytesToHex, equalBytes, HASH_BYTES, HeliosError, hash } from "../core/index.js";
import { isEmptyRoot } from "../merkle/index.js";
import { openState, type Staged, type StateDB, type StateOptions } from "../history/index.js";
import {
  createSnapshot,
  listSnapshots,
  pruneSnapshots,
  restoreSnapshot,
  type SnapshotInfo,
  snapshotInfo,
} from "../snapshot/index.js";
import { type Block, blockHash, decodeBlock, encodeReceipt, merkleRoot, type Receipt } from "./block.js";
import { resolveConfig, type StateConfig } from "./config.js";
import { applyTx, type CheckedTx, checkBlockTxs, checkTx, checkTxState, executeTxs } from "./executor.js";
import type { NativeContract } from "./native.js";
import { SigCache } from "./sigcache.js";
import type { Tx } from "./tx.js";
import { Vm } from "./vm.js";
import { type PreparedContract, prepareContract } from "./wasm/index.js";
import { U128_MAX } from "./types.js";
import { type Account, checkAddress, decodeAccount, storageTreeName, TREE_ACCOUNTS, WorldState } from "./world.js";

export interface StateManagerOptions {
  /** The StateConfig (partial: the rest are defaults); validated. */
  config?: Partial<StateConfig> | undefined;
  /** Create the store directory when it does not exist. */
  create?: boolean;
  /** Built-in system contracts by address (hex). */
  natives?: ReadonlyMap<string, NativeContract>;
  /** Store tuning passed to history (checkpoint policy, head cache, …). */
  store?: Omit<StateOptions, "create" | "cacheBytes" | "retain">;
}

/** The result of executing a block: pending until committed or discarded. */
export interface ExecutedBlock {
  hash: Uint8Array;
  height: number;
  parentRoot: Uint8Array;
  stateRoot: Uint8Array;
  receiptsRoot: Uint8Array;
  receipts: Receipt[];
  gasUsed: number;
}

interface Pending {
  block: ExecutedBlock;
  staged: Staged;
}

export class StateManager {
  readonly db: StateDB;
  readonly config: Readonly<StateConfig>;
  readonly sigCache: SigCache;
  private readonly natives: ReadonlyMap<string, NativeContract>;
  private readonly modules = new Map<string, PreparedContract>();
  /** hex(block hash) → pending execution. */
  private readonly pending = new Map<string, Pending>();

  private constructor(db: StateDB, config: Readonly<StateConfig>, natives: ReadonlyMap<string, NativeContract>) {
    this.db = db;
    this.config = config;
    this.natives = natives;
    this.sigCache = new SigCache({ capacity: config.sigCacheEntries });
  }

  /** Opens (or with `create`, creates) the store at `dir`. */
  static open(dir: string, opts: StateManagerOptions = {}): StateManager {
    const config = resolveConfig(opts.config ?? {});
    const db = openState(dir, {
      ...(opts.store ?? {}),
      create: opts.create ?? false,
      cacheBytes: config.cacheBytes,
      retain: config.retainHeights,
    });
    if (db.retain !== config.retainHeights) db.setRetain(config.retainHeights);
    return new StateManager(db, config, opts.natives ?? new Map());
  }

  async close(): Promise<void> {
    this.dropAll();
    await this.db.close();
  }

  // ---------------------------------------------------------------- reads

  get committedHeight(): number {
    return this.db.height;
  }

  /** The state root at a retained height (default: the committed head). */
  stateRoot(height?: number): Uint8Array {
    return height === undefined ? this.db.root : this.db.rootAt(height);
  }

  private version(height: number | undefined): Uint8Array | undefined {
    return height === undefined ? undefined : this.db.rootAt(height);
  }

  /** An account at the head (or a retained height); undefined when absent. */
  account(address: Uint8Array, height?: number): Account | undefined {
    checkAddress(address);
    const v = this.version(height);
    const raw = this.db.get(TREE_ACCOUNTS, address, v);
    return raw === undefined ? undefined : decodeAccount(raw);
  }

  /** A contract's storage value at the head (or a retained height). */
  storage(contract: Uint8Array, key: Uint8Array, height?: number): Uint8Array | undefined {
    checkAddress(contract);
    return this.db.get(storageTreeName(contract), key, this.version(height));
  }

  // ------------------------------------------------------------- genesis

  /**
   * Sets the genesis allocation of an empty chain (height 0): balances, and
   * optionally code. Recorded as the ref "genesis" and adopted as height 0.
   */
  genesis(alloc: readonly { address: Uint8Array; balance: bigint }[]): Uint8Array {
    if (this.db.height !== 0 || !isEmptyRoot(this.db.root)) {
      throw new HeliosError("INVALID_ARGUMENT", { height: this.db.height }, "genesis needs an empty chain");
    }
    let total = 0n;
    for (const a of alloc) {
      checkAddress(a.address);
      if (typeof a.balance !== "bigint" || a.balance < 0n) {
        throw new HeliosError("INVALID_ARGUMENT", {}, "a genesis balance is a bigint ≥ 0");
      }
      total += a.balance;
    }
    if (total > U128_MAX)
      throw new HeliosError(
        "INVALID_ARGUMENT",
        { total: total.toString() },
        "genesis balances add up to more than u128",
      );
    const world = this.world(this.db.root);
    for (const a of alloc) world.credit(a.address, a.balance);
    const w = world.writes();
    const staged = this.db.stage(this.db.root, w.first, w.derive);
    this.db.setRef("genesis", this.db.root);
    this.db.commitRef("genesis", new Map(staged.trees));
    this.db.adopt(0, this.db.ref("genesis"));
    return this.db.root;
  }

  // -------------------------------------------------------- transactions

  private loader = (codeHash: Uint8Array, code: Uint8Array): PreparedContract => {
    const k = bytesToHex(codeHash);
    let m = this.modules.get(k);
    if (m !== undefined) {
      this.modules.delete(k);
      this.modules.set(k, m);
      return m;
    }
    m = prepareContract(code, this.config.vm);
    this.modules.set(k, m);
    if (this.modules.size > this.config.moduleCacheEntries) {
      this.modules.delete(this.modules.keys().next().value as string);
    }
    return m;
  };

  private world(base: Uint8Array): WorldState {
    const head = equalBytes(base, this.db.root);
    const read = head
      ? (tree: string, key: Uint8Array) => this.db.get(tree, key)
      : (tree: string, key: Uint8Array) => this.db.get(tree, key, base);
    return new WorldState(read, this.loader);
  }

  private vm(world: WorldState, height: number, timeMs: number): Vm {
    return new Vm(world, { height, timeMs }, this.config.vm, this.natives);
  }

  /**
   * Validates a transaction against the committed head: the stateless
   * checks and the signature (cached by hash, so the block that later holds
   * it is not verified again), then nonce (up to maxNonceGap ahead) and
   * balance. Throws the TX_* code; returns the decoded transaction.
   */
  validateTx(bytes: Uint8Array): CheckedTx {
    const c = checkTx(bytes, { config: this.config, sigCache: this.sigCache });
    checkTxState(this.world(this.db.root), c.tx, this.config.maxNonceGap);
    return c;
  }

  /**
   * Executes one transaction on a throwaway fork of the head, as the next
   * block would (its nonce must be the account's): returns the receipt and
   * keeps nothing.
   */
  executeTx(bytes: Uint8Array, header?: { height?: number; timeMs?: number; proposer?: Uint8Array }): Receipt {
    const c = checkTx(bytes, { config: this.config, sigCache: this.sigCache });
    const world = this.world(this.db.root);
    checkTxState(world, c.tx);
    const h = this.simHeader(header);
    return applyTx(world, this.vm(world, h.height, h.timeMs), h, c.tx);
  }

  private simHeader(header?: { height?: number; timeMs?: number; proposer?: Uint8Array }) {
    return {
      height: header?.height ?? this.db.height + 1,
      timeMs: header?.timeMs ?? 0,
      gasLimit: this.config.blockGasLimit,
      parentRoot: this.db.root,
      proposer: header?.proposer ?? new Uint8Array(32),
      txRoot: new Uint8Array(HASH_BYTES),
    };
  }

  /**
   * The gas an unsigned transaction needs: it runs on a throwaway fork of
   * the head with the block gas limit, no fee and no signature check.
   * Returns the gas used by a successful run, or throws TX_* for a
   * transaction that cannot run (nonce, malformed fields), and reports a
   * failing run as { status, gasUsed }.
   */
  estimateGas(tx: Omit<Tx, "signature" | "gasLimit" | "fee"> & { fee?: bigint }): {
    gasUsed: number;
    status: Receipt["status"];
  } {
    const world = this.world(this.db.root);
    const full = { ...tx, gasLimit: this.config.blockGasLimit, fee: 0n, signature: new Uint8Array(64) } as Tx;
    checkTxState(world, full);
    const h = this.simHeader();
    const r = applyTx(world, this.vm(world, h.height, h.timeMs), h, full);
    return { gasUsed: r.gasUsed, status: r.status };
  }

  // -------------------------------------------------------------- blocks

  /**
   * Executes a block speculatively on its parent: the committed head, or a
   * pending block whose state root is the header's parentRoot. Checks the
   * header (height, parent, txRoot, gas) and every transaction; on success
   * the block is pending until `commit` or `discard`. When the header
   * carries an expected state root (or receipts root) that differs,
   * throws BLOCK_ROOT_MISMATCH and keeps nothing.
   */
  executeBlock(input: Block | Uint8Array): ExecutedBlock {
    const block = input instanceof Uint8Array ? decodeBlock(input) : input;
    const h = block.header;
    const hashHex = bytesToHex(blockHash(h));
    const existing = this.pending.get(hashHex);
    if (existing !== undefined) return existing.block;
    let base = this.db.root;
    if (h.height !== this.db.height + 1 || !equalBytes(h.parentRoot, base)) {
      const parent = [...this.pending.values()].find(
        (p) => p.block.height === h.height - 1 && equalBytes(p.block.stateRoot, h.parentRoot),
      );
      if (parent === undefined) {
        throw new HeliosError(
          "BLOCK_INVALID",
          { reason: "parent", height: h.height, head: this.db.height },
          "the block's (height − 1, parentRoot) is neither the committed head nor a pending block",
        );
      }
      base = parent.staged.root;
    }
    if (h.gasLimit > this.config.blockGasLimit) {
      throw new HeliosError("BLOCK_INVALID", {
        reason: "gas limit",
        gasLimit: h.gasLimit,
        max: this.config.blockGasLimit,
      });
    }
    const checked = checkBlockTxs(h, block.txs, { config: this.config, sigCache: this.sigCache });
    const world = this.world(base);
    const { receipts, gasUsed } = executeTxs(world, this.vm(world, h.height, h.timeMs), h, checked);
    const receiptsRoot = merkleRoot(receipts.map(encodeReceipt));
    const w = world.writes();
    const staged = this.db.stage(base, w.first, w.derive);
    for (const [what, expected, computed] of [
      ["stateRoot", h.stateRoot, staged.root],
      ["receiptsRoot", h.receiptsRoot, receiptsRoot],
    ] as const) {
      if (expected !== undefined && !equalBytes(expected, computed)) {
        staged.release();
        throw new HeliosError("BLOCK_ROOT_MISMATCH", {
          height: h.height,
          root: what,
          expected: bytesToHex(expected),
          computed: bytesToHex(computed),
        });
      }
    }
    const executed: ExecutedBlock = {
      hash: blockHash(h),
      height: h.height,
      parentRoot: base.slice(),
      stateRoot: staged.root.slice(),
      receiptsRoot,
      receipts,
      gasUsed,
    };
    this.pending.set(hashHex, { block: executed, staged });
    return executed;
  }

  /** Pending executions (speculative blocks not yet committed). */
  pendingBlocks(): ExecutedBlock[] {
    return [...this.pending.values()].map((p) => p.block);
  }

  /**
   * Commits the pending block at `height` (the next height; `blockHash`
   * picks one when competing blocks are pending). Durable when it returns.
   * Every other pending block at or below `height` is dropped, and so is
   * every pending block that does not build on the committed one.
   */
  commit(height: number, hashOf?: Uint8Array): Uint8Array {
    const candidates = [...this.pending.entries()].filter(
      ([, p]) =>
        p.block.height === height &&
        equalBytes(p.block.parentRoot, this.db.root) &&
        (hashOf === undefined || equalBytes(p.block.hash, hashOf)),
    );
    if (candidates.length !== 1) {
      throw new HeliosError("EXEC_NOT_PENDING", { height, candidates: candidates.length });
    }
    const [key, p] = candidates[0] as [string, Pending];
    const root = this.db.commitStaged(height, p.staged);
    this.pending.delete(key);
    // keep the pending blocks above `height` that build, through pending blocks of increasing height, on the new head
    const reach = new Map<string, number>([[bytesToHex(root), height]]);
    const alive = new Set<string>();
    for (let grew = true; grew; ) {
      grew = false;
      for (const [k, q] of this.pending) {
        if (alive.has(k) || q.block.height <= height) continue;
        if (reach.get(bytesToHex(q.block.parentRoot)) === q.block.height - 1) {
          alive.add(k);
          reach.set(bytesToHex(q.block.stateRoot), q.block.height);
          grew = true;
        }
      }
    }
    for (const k of [...this.pending.keys()]) if (!alive.has(k)) this.drop(k);
    const every = this.config.snapshotInterval;
    if (every > 0 && height % every === 0) {
      createSnapshot(this.db, height, { sync: false });
      if (this.config.snapshotRetention > 0) pruneSnapshots(this.db, this.config.snapshotRetention);
    }
    return root;
  }

  /** Forgets a pending block and lets GC collect its staged version. */
  private drop(key: string): void {
    const p = this.pending.get(key);
    if (p === undefined) return;
    this.pending.delete(key);
    p.staged.release();
  }

  private dropAll(): void {
    for (const k of [...this.pending.keys()]) this.drop(k);
  }

  /**
   * Drops a pending block (by hash) and the pending blocks that can only
   * build on it; or, with no hash, every pending block. A block whose parent
   * state is also the result of another pending block at the same height
   * (blocks that changed nothing) keeps building on that one.
   */
  discard(hashOf?: Uint8Array): void {
    if (hashOf === undefined) {
      this.dropAll();
      return;
    }
    const k = bytesToHex(hashOf);
    const p = this.pending.get(k);
    if (p === undefined) throw new HeliosError("EXEC_NOT_PENDING", { hash: k });
    this.drop(k);
    for (let changed = true; changed; ) {
      changed = false;
      for (const [qk, q] of this.pending) {
        const parentHeight = q.block.height - 1;
        if (parentHeight === this.db.height && equalBytes(q.block.parentRoot, this.db.root)) continue;
        const hasParent = [...this.pending.values()].some(
          (x) => x.block.height === parentHeight && equalBytes(x.block.stateRoot, q.block.parentRoot),
        );
        if (!hasParent) {
          this.drop(qk);
          changed = true;
        }
      }
    }
  }

  /** Rolls the committed head back to a retained height; pending blocks are dropped. */
  rollback(height: number): void {
    this.db.rollback(height);
    this.dropAll();
  }

  // ----------------------------------------------------------- snapshots

  createSnapshot(height: number = this.db.height): SnapshotInfo {
    return createSnapshot(this.db, height);
  }

  /** Makes a snapshot's state the committed head (rollback when retained, else adopt); pending blocks are dropped. */
  restoreSnapshot(height: number): SnapshotInfo {
    this.dropAll();
    return restoreSnapshot(this.db, height);
  }

  snapshotInfo(height: number): SnapshotInfo & { trees: string[] } {
    return snapshotInfo(this.db, height);
  }

  listSnapshots(): SnapshotInfo[] {
    return listSnapshots(this.db);
  }
}

/** The hash of a code blob as stored in the "code" tree (and in the account). */
export function codeHashOf(code: Uint8Array): Uint8Array {
  return hash(code);
}

export function createStateManager(dir: string, opts: StateManagerOptions = {}): StateManager {
  return StateManager.open(dir, opts);
}
