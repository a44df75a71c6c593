/**
 * store/cache — L1: a byte-bounded cache of verified nodes read from disk.
 *
 * Two generations, each a MemoryStore (no per-node JS objects). Inserts go to
 * the young generation. When it holds half the budget, the old generation is
 * dropped and the young one becomes old. A hit in the old generation is
 * copied into the young one, so nodes in use survive a turnover. This is a
 * segmented approximation of LRU with O(1) work per operation and no
 * bookkeeping per node.
 *
 * Invariants: bytes held ≤ budget (+ one node); a node is only ever inserted
 * after its hash was checked, so the cache never serves bad bytes; views
 * handed out stay valid after eviction (the arena is released only when no
 * view refers to it: ordinary JS garbage collection).
 * Costs: a hit is one or two hash-table probes (~0.1–0.3 µs); a miss in both
 * generations costs two probes.
 */
import { MemoryStore } from "../merkle/index.js";

export class NodeCache {
  readonly budget: number;
  private young = new MemoryStore(1 << 12);
  private old = new MemoryStore(16);
  hits = 0;
  misses = 0;

  constructor(budgetBytes: number) {
    this.budget = Math.max(1 << 16, budgetBytes);
  }

  get bytes(): number {
    return this.young.bytes + this.old.bytes;
  }
  get size(): number {
    return this.young.size + this.old.size;
  }

  get(id: Uint8Array, off: number): Uint8Array | undefined {
    const y = this.young.get(id, off);
    if (y !== undefined) {
      this.hits++;
      return y;
    }
    const o = this.old.get(id, off);
    if (o === undefined) {
      this.misses++;
      return undefined;
    }
    this.hits++;
    return this.insert(id, off, o, 0, o.length);
  }

  /** Inserts verified node bytes and returns the cached view. */
  insert(id: Uint8Array, off: number, src: Uint8Array, srcOff: number, len: number): Uint8Array {
    // records plus ~16 bytes of hash table per node
    if (this.young.bytes + this.young.size * 16 + len + 56 > this.budget / 2) {
      this.old = this.young;
      this.young = new MemoryStore(Math.max(1 << 12, this.old.size));
    }
    this.young.put(id, off, src, srcOff, len);
    return this.young.get(id, off) as Uint8Array;
  }

  clear(): void {
    this.young = new MemoryStore(1 << 12);
    this.old = new MemoryStore(16);
  }
}
