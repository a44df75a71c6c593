/**
 * store/gc — incremental mark-and-sweep collection of unreachable nodes.
 *
 * Why not reference counts: a commit of 20K updates into 10M accounts makes
 * ~60K new nodes whose ~600K child links point mostly at old nodes; counting
 * them means ~1M read-modify-writes of LMDB per block, 10–20× the commit's
 * own writes. Mark-and-sweep costs nothing per commit and is exact for any
 * DAG of versions (branches, tags, pins), which stale-node lists are not once
 * content addressing lets a branch re-create a node another branch dropped.
 *
 * A cycle, run in small steps between commits and reads (`step(budget)`):
 * 1. start(roots): epoch += 1 (persisted). Every record a checkpoint writes
 *    from now on carries birth = epoch, so it survives this cycle.
 * 2. mark: walk the DAG from the live roots of the moment (heights, refs,
 *    pins), reading nodes through the tiers, each node once.
 *    `shade(root)` adds a root that becomes live mid-cycle (a ref moved onto
 *    an old version, a pin): snapshot-at-the-beginning with a root barrier.
 *    Today the history layer only lets a ref or pin name a root that is
 *    already live, so the barrier is defensive (a mutation test that
 *    disables it passes); it keeps GC safe if that rule is ever relaxed.
 *    New versions need no barrier: their new nodes are born in this epoch,
 *    and their old nodes come from a live base version, so they are marked.
 * 3. sweep: scan LMDB in id order; delete records that are unmarked AND born
 *    before the cycle, re-checking the birth inside the delete transaction
 *    (a checkpoint may have re-created the node meanwhile). Warm records
 *    older than `coldEpochs` cycles are recompressed with zstd on the way.
 *
 * The mark set keeps the first 128 bits of each id (open addressing in one
 * Uint32Array, ~24 B per live node). Two distinct live nodes would have to
 * agree on 128 bits of BLAKE3 for a subtree to be skipped; that is the same
 * kind of assumption content addressing already makes, at 2^64 work.
 *
 * Invariants: a node reachable from a root that is live at start, or shaded,
 * or created during the cycle, is never deleted; a crash mid-cycle deletes
 * nothing that was live (each sweep batch is its own transaction and the
 * epoch is saved before marking starts).
 * Costs: mark O(live nodes) reads; sweep O(stored nodes) sequential reads +
 * one delete per dead node; memory ~24 B per live node during the cycle.
 */
import { HeliosError } from "../core/index.js";
import { HASH_BYTES } from "../core/index.js";
import { forEachChild, isEmptyRoot } from "../merkle/index.js";
import { LZ4 } from "./codec.js";
import type { DurableStore } from "./durable.js";

/** A set of 128-bit id prefixes (4 words per slot, all-zero = empty). */
export class IdSet {
  private table: Uint32Array;
  private mask: number;
  size = 0;
  private zero = false;

  constructor(capacity = 1 << 16) {
    let cap = 1 << 10;
    while (cap < capacity * 2) cap *= 2;
    this.table = new Uint32Array(cap * 4);
    this.mask = cap - 1;
  }

  get bytes(): number {
    return this.table.byteLength;
  }

  /** Adds the id at buf[off..off+16); returns false if it was already there. */
  add(buf: Uint8Array, off: number): boolean {
    const a = word(buf, off);
    const b = word(buf, off + 4);
    const c = word(buf, off + 8);
    const d = word(buf, off + 12);
    if ((a | b | c | d) === 0) {
      if (this.zero) return false;
      this.zero = true;
      this.size++;
      return true;
    }
    if ((this.size + 1) * 2 > this.mask + 1) this.grow();
    return this.insert(a, b, c, d);
  }

  has(buf: Uint8Array, off: number): boolean {
    const a = word(buf, off);
    const b = word(buf, off + 4);
    const c = word(buf, off + 8);
    const d = word(buf, off + 12);
    if ((a | b | c | d) === 0) return this.zero;
    return this.probe(a, b, c, d) >= 0;
  }

  /** The slot holding (a,b,c,d), or ~(the empty slot where it would go). */
  private probe(a: number, b: number, c: number, d: number): number {
    const t = this.table;
    let i = (a ^ d) & this.mask;
    for (;;) {
      const j = i * 4;
      const ta = t[j] as number;
      const tb = t[j + 1] as number;
      const tc = t[j + 2] as number;
      const td = t[j + 3] as number;
      if ((ta | tb | tc | td) === 0) return ~i;
      if (ta === a && tb === b && tc === c && td === d) return i;
      i = (i + 1) & this.mask;
    }
  }

  private insert(a: number, b: number, c: number, d: number): boolean {
    const s = this.probe(a, b, c, d);
    if (s >= 0) return false;
    const j = ~s * 4;
    const t = this.table;
    t[j] = a;
    t[j + 1] = b;
    t[j + 2] = c;
    t[j + 3] = d;
    this.size++;
    return true;
  }

  private grow(): void {
    const old = this.table;
    this.table = new Uint32Array(old.length * 2);
    this.mask = this.table.length / 4 - 1;
    const z = this.zero ? 1 : 0;
    this.size = z;
    for (let j = 0; j < old.length; j += 4) {
      const a = old[j] as number;
      const b = old[j + 1] as number;
      const c = old[j + 2] as number;
      const d = old[j + 3] as number;
      if ((a | b | c | d) !== 0) this.insert(a, b, c, d);
    }
  }
}

function word(buf: Uint8Array, off: number): number {
  return (
    ((buf[off] as number) |
      ((buf[off + 1] as number) << 8) |
      ((buf[off + 2] as number) << 16) |
      ((buf[off + 3] as number) << 24)) >>>
    0
  );
}

export type GcPhase = "idle" | "mark" | "sweep";

export interface GcProgress {
  phase: GcPhase;
  epoch: number;
  marked: number;
  scanned: number;
  removed: number;
  recompressed: number;
  /** LMDB records when the sweep began (the sweep's total work). */
  sweepTotal: number;
}

export class Collector {
  private readonly store: DurableStore;
  private phase: GcPhase = "idle";
  private cycleEpoch = 0;
  private marks = new IdSet();
  private greyBufs: Uint8Array[] = [];
  private greyOffs: number[] = [];
  private cursor: Uint8Array | undefined;
  private scanDone = false;
  /** Sweep transactions queued and not yet committed. */
  private pending = 0;
  private failure: unknown;
  private progress: GcProgress = {
    phase: "idle",
    epoch: 0,
    marked: 0,
    scanned: 0,
    removed: 0,
    recompressed: 0,
    sweepTotal: 0,
  };
  /** Cycles completed since open. */
  cycles = 0;

  constructor(store: DurableStore) {
    this.store = store;
  }

  get running(): boolean {
    return this.phase !== "idle";
  }

  /** Progress of the running cycle, or the report of the last one (`marked` = its live nodes). */
  status(): GcProgress {
    const marked = this.phase === "idle" ? this.progress.marked : this.marks.size;
    return { ...this.progress, phase: this.phase, marked, epoch: this.store.epoch };
  }

  /** Starts a cycle over the given live roots. Throws if one is running. */
  start(roots: readonly Uint8Array[]): void {
    if (this.phase !== "idle") throw new HeliosError("INVALID_ARGUMENT", {}, "a GC cycle is already running");
    // Not persisted here: every record on disk has birth ≤ the persisted epoch (a checkpoint writes
    // both in one transaction), so after a crash the next cycle's epoch is still above all of them.
    this.store.epoch += 1;
    this.cycleEpoch = this.store.epoch;
    this.marks = new IdSet(Math.max(1 << 16, this.store.l2Count()));
    this.greyBufs = [];
    this.greyOffs = [];
    this.cursor = undefined;
    this.scanDone = false;
    this.failure = undefined;
    this.phase = "mark";
    for (const r of roots) this.shade(r);
    this.progress = {
      phase: "mark",
      epoch: this.cycleEpoch,
      marked: 0,
      scanned: 0,
      removed: 0,
      recompressed: 0,
      sweepTotal: 0,
    };
  }

  /** Marks a root that became live during the cycle (no-op when idle). */
  shade(root: Uint8Array): void {
    if (this.phase !== "mark") return; // before marking ends; in the sweep every live root is marked already
    if (root.length !== HASH_BYTES || isEmptyRoot(root)) return;
    this.greyBufs.push(root);
    this.greyOffs.push(0);
  }

  /**
   * Does up to `budget` units of work (a node marked, or a record swept).
   * Returns true when the cycle is done. Sweep deletions are queued as
   * asynchronous LMDB transactions; the cycle ends only when they have
   * committed, so a caller must let the event loop run between steps (as
   * `StateDB.collect` and `gcFinish` do). A failed deletion is thrown from
   * the next step, and the cycle is abandoned.
   */
  step(budget: number): boolean {
    if (this.failure !== undefined) {
      const f = this.failure;
      this.abort();
      throw f;
    }
    if (this.phase === "idle") return true;
    let work = 0;
    const push = (b: Uint8Array, o: number) => {
      this.greyBufs.push(b);
      this.greyOffs.push(o);
    };
    while (this.phase === "mark" && work < budget) {
      const buf = this.greyBufs.pop();
      if (buf === undefined) {
        this.phase = "sweep";
        this.progress.sweepTotal = this.store.l2Count();
        break;
      }
      const off = this.greyOffs.pop() as number;
      if (!this.marks.add(buf, off)) continue;
      work++;
      const node = this.store.get(buf, off);
      if (node === undefined) {
        throw new HeliosError(
          "MERKLE_NODE_MISSING",
          {
            id: Buffer.from(buf.subarray(off, off + HASH_BYTES)).toString("hex"),
          },
          "a live node is missing; GC stopped without deleting anything",
        );
      }
      forEachChild(node, push);
    }
    const coldBefore = this.cycleEpoch - this.store.policy.coldEpochs;
    while (this.phase === "sweep" && !this.scanDone && work < budget) {
      const batch = this.store.scan(this.cursor, Math.min(4096, Math.max(64, budget - work)));
      if (batch.length === 0) {
        this.scanDone = true;
        break;
      }
      const dead: Buffer[] = [];
      const cold: Buffer[] = [];
      for (const r of batch) {
        if (!this.marks.has(r.id, 0)) {
          if (r.birth < this.cycleEpoch) dead.push(r.id);
        } else if (r.flags === LZ4 && r.birth < coldBefore) {
          cold.push(r.id);
        }
      }
      if (dead.length > 0 || cold.length > 0) {
        this.pending++;
        const epoch = this.cycleEpoch;
        this.store
          .sweep(dead, epoch, cold)
          .then(
            (n) => {
              if (this.cycleEpoch === epoch) this.progress.removed += n;
            },
            (e: unknown) => {
              if (this.cycleEpoch === epoch) this.failure ??= e;
            },
          )
          .finally(() => {
            this.pending--;
          });
      }
      this.progress.recompressed += cold.length;
      this.progress.scanned += batch.length;
      work += batch.length;
      this.cursor = (batch[batch.length - 1] as { id: Buffer }).id;
    }
    if (this.phase === "sweep" && this.scanDone && this.pending === 0 && this.failure === undefined) {
      this.phase = "idle";
      this.cycles++;
      this.progress.marked = this.marks.size; // the live set of this cycle, kept for the report
      this.marks = new IdSet();
    }
    this.progress.phase = this.phase;
    return this.phase === "idle";
  }

  /** Abandons a running cycle (nothing is lost: unswept garbage waits for the next). */
  abort(): void {
    this.phase = "idle";
    this.failure = undefined;
    this.cycleEpoch = -1; // results of sweeps still in flight are not reported into a next cycle
    this.marks = new IdSet();
    this.greyBufs = [];
    this.greyOffs = [];
  }
}
