/**
 * merkle/map — the authenticated map's public face over a NodeStore.
 *
 * A version is a root (32 bytes). Reads, proofs, scans and diffs take the
 * root they read; writes go through a Draft (the L0 working set) opened on a
 * root. Opening a draft or keeping a root is a fork: O(1), nothing copied.
 * Values handed out are copies: writing into one never changes the map. Small
 * copies are views into shared 64 KiB arenas (core/bytes `copyOut`), like
 * Node's pooled Buffers, so a value's `.buffer` is not its own: read it
 * through `byteOffset`/`byteLength`, or use the Uint8Array itself.
 * Costs: see draft.ts, read.ts, proof.ts, diff.ts, update.ts.
 */
import { HeliosError } from "../core/index.js";
import { type Change, type DiffStats, diffRoots } from "./diff.js";
import { CommitScratch, checkKey, checkRoot, Draft, type Op } from "./draft.js";
import { EMPTY_ROOT } from "./node.js";
import { proveKey, proveRange } from "./proof.js";
import { getIn, type ScanOptions, scan } from "./read.js";
import type { NodeStore } from "./store.js";
import { updateRoot } from "./update.js";

export interface MerkleMapOptions {
  store: NodeStore;
}

export class MerkleMap {
  readonly store: NodeStore;
  private readonly scratch: CommitScratch;

  constructor(opts: MerkleMapOptions) {
    if (opts === null || typeof opts !== "object" || opts.store === undefined) {
      throw new HeliosError("INVALID_ARGUMENT", {}, "createMerkleMap needs { store }");
    }
    this.store = opts.store;
    this.scratch = new CommitScratch();
  }

  /** A working set on top of `root` (default: the empty map). O(1). */
  draft(root: Uint8Array = EMPTY_ROOT): Draft {
    checkRoot(root);
    return new Draft(this.store, this.scratch, root);
  }

  /**
   * The batch write: applies ops (in order; the last op of a key wins; a
   * missing or null value deletes) to the version `root` and returns the new
   * root. Every op is validated first, so a bad op applies nothing. Touches
   * each affected node once; the fastest way to commit a known write set.
   */
  update(root: Uint8Array, ops: readonly Op[]): Uint8Array {
    checkRoot(root);
    return updateRoot(this.store, this.scratch, root, ops);
  }

  get(root: Uint8Array, key: Uint8Array): Uint8Array | undefined {
    checkRoot(root);
    checkKey(key);
    return getIn(this.store, root, key);
  }

  has(root: Uint8Array, key: Uint8Array): boolean {
    return this.get(root, key) !== undefined;
  }

  /** Ordered [key, value] pairs of a version, optionally limited to a prefix or [start, end). */
  entries(root: Uint8Array, opts: ScanOptions = {}): Generator<[Uint8Array, Uint8Array]> {
    checkRoot(root);
    return scan(this.store, root, opts);
  }

  /** Proof that key is present (value hash revealed) or absent. Verify with verifyProof/verifyValue. */
  prove(root: Uint8Array, key: Uint8Array): Uint8Array {
    checkRoot(root);
    checkKey(key);
    return proveKey(this.store, root, key);
  }

  /** Proof of every entry in [start, end) (values included). Verify with verifyRange. */
  proveRange(root: Uint8Array, start: Uint8Array, end?: Uint8Array): Uint8Array {
    checkRoot(root);
    checkKey(start);
    if (end !== undefined) checkKey(end);
    return proveRange(this.store, root, start, end);
  }

  /** Changes from version a to version b in key order, reading only subtrees whose ids differ. */
  diff(a: Uint8Array, b: Uint8Array, stats?: DiffStats): Change[] {
    checkRoot(a);
    checkRoot(b);
    return diffRoots(this.store, a, b, stats);
  }
}

export function createMerkleMap(opts: MerkleMapOptions): MerkleMap {
  return new MerkleMap(opts);
}
