/**
 * merkle/flat — a flat key → value view of one version, for reads in O(1).
 *
 * A tree walk costs about two dependent memory misses per level (find the
 * node by id, then read it), so at 1M keys a `get` is ~14 misses: 4–5 µs on
 * this machine (docs/performance.md). Chains read the head state far more
 * often than anything else, so, like Geth's snapshot layer and NOMT's flat
 * store, the head can be served from a flat hash table instead: one miss in
 * the table, one in the record. The tree stays the source of truth for roots,
 * proofs, history and forks; the view only answers `get` for its own root.
 *
 * A view follows its version forward with `advance(ops)`, which commits the
 * ops through `map.update` and then applies them to the table, so the view's
 * root is always the root of exactly the entries it holds. A failed update
 * (a bad op) throws before either changes.
 *
 * Layout: records [keyLen: u16 LE][valueLen: u32 LE][key][value], 4-aligned,
 * in append-only pages; an open-addressing table (linear probing) of pairs
 * [tag, location + 1] where tag is a 32-bit hash of the key. Deletes use
 * backward-shift deletion, so there are no tombstones. Overwritten and
 * deleted records are garbage until `compact()` (run automatically when
 * garbage exceeds the live bytes and 64 MiB).
 *
 * Invariants: for every key k, view.get(k) equals map.get(view.root, k);
 * values handed out are copies.
 * Capacity: locations are 32-bit (page << 22 | offset / 4), so a view holds
 * at most 16 GiB of records, as the memory store does.
 * Costs: build O(n) (one ordered scan); get O(1) expected, two dependent
 * misses; advance O(ops) on top of the update; memory ≈ key + value + 14
 * bytes per live entry, plus the table (8 bytes per slot, load ≤ 0.7).
 */
import { copyOut, equalRange } from "../core/index.js";
import { growTagTable, newTagTable, offsetOf, RecordArena } from "./arena.js";
import { checkKey, checkRoot, type Op } from "./draft.js";
import type { MerkleMap } from "./map.js";

const COMPACT_MIN_BYTES = 64 * 1024 * 1024;

function keyLenAt(page: Uint8Array, po: number): number {
  return (page[po] as number) | ((page[po + 1] as number) << 8);
}

function valueLenAt(page: Uint8Array, po: number): number {
  return (
    (page[po + 2] as number) |
    ((page[po + 3] as number) << 8) |
    ((page[po + 4] as number) << 16) |
    ((page[po + 5] as number) * 0x1000000)
  );
}

/** FNV-1a over the key, then a final avalanche (keys are arbitrary bytes, not hashes). */
function keyTag(key: Uint8Array): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) h = Math.imul(h ^ (key[i] as number), 0x01000193);
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

export class FlatView {
  private readonly map: MerkleMap;
  private current: Uint8Array;
  private arena: RecordArena;
  private table: Uint32Array;
  private mask: number;
  private count: number;
  private liveBytes: number;
  private deadBytes: number;

  constructor(map: MerkleMap, root: Uint8Array, initialCapacity = 1 << 12) {
    this.map = map;
    this.current = root.slice();
    let cap = 16;
    while (cap < initialCapacity) cap *= 2;
    this.table = newTagTable(cap);
    this.mask = cap - 1;
    this.count = 0;
    this.arena = new RecordArena();
    this.liveBytes = 0;
    this.deadBytes = 0;
    for (const [k, v] of map.entries(root)) this.set(k, v);
  }

  /** Refills the table from the view's version (after a failed advance). */
  private rebuild(): void {
    this.arena = new RecordArena();
    this.table = newTagTable(this.mask + 1);
    this.count = 0;
    this.liveBytes = 0;
    this.deadBytes = 0;
    for (const [k, v] of this.map.entries(this.current)) this.set(k, v);
  }

  /** The version this view serves. */
  get root(): Uint8Array {
    return this.current.slice();
  }

  /** Number of keys in the version. */
  get size(): number {
    return this.count;
  }

  /** The value of key in the view's version, as map.get(view.root, key) would return it. */
  get(key: Uint8Array): Uint8Array | undefined {
    checkKey(key);
    const s = this.slotOf(key, keyTag(key));
    if (s < 0) return undefined;
    const loc = (this.table[2 * s + 1] as number) - 1;
    const page = this.arena.pageOf(loc);
    const po = offsetOf(loc);
    return copyOut(page, po + 6 + keyLenAt(page, po), valueLenAt(page, po));
  }

  has(key: Uint8Array): boolean {
    checkKey(key);
    return this.slotOf(key, keyTag(key)) >= 0;
  }

  /**
   * Commits ops on top of the view's version (map.update) and moves the view
   * to the new root, which it returns. A bad op throws and changes nothing.
   */
  advance(ops: readonly Op[]): Uint8Array {
    const next = this.map.update(this.current, ops);
    try {
      for (const op of ops) {
        if (op.value === undefined || op.value === null) this.remove(op.key);
        else this.set(op.key, op.value);
      }
    } catch (e) {
      // Only running out of arena space can fail here (MEMORY_STORE_FULL):
      // rebuild the table of the old version so the view is never half-moved.
      this.rebuild();
      throw e;
    }
    this.current = next;
    if (this.deadBytes > COMPACT_MIN_BYTES && this.deadBytes > this.liveBytes) this.compact();
    return next.slice();
  }

  /** Rewrites the live records into fresh pages, dropping overwritten and deleted ones. O(live). */
  compact(): void {
    const oldArena = this.arena;
    const oldTable = this.table;
    this.arena = new RecordArena();
    this.table = newTagTable(oldTable.length >>> 1);
    this.count = 0;
    this.liveBytes = 0;
    this.deadBytes = 0;
    for (let i = 0; i < oldTable.length; i += 2) {
      const v = oldTable[i + 1] as number;
      if (v === 0) continue;
      const loc = v - 1;
      const page = oldArena.pageOf(loc);
      const po = offsetOf(loc);
      const kl = keyLenAt(page, po);
      const vl = valueLenAt(page, po);
      this.insertNew(
        page.subarray(po + 6, po + 6 + kl),
        page.subarray(po + 6 + kl, po + 6 + kl + vl),
        oldTable[i] as number,
      );
    }
  }

  /** Bytes held in record pages: live records, and garbage waiting for compaction. */
  get bytes(): { live: number; garbage: number } {
    return { live: this.liveBytes, garbage: this.deadBytes };
  }

  // ------------------------------------------------------------ internals

  private slotOf(key: Uint8Array, tag: number): number {
    const table = this.table;
    const mask = this.mask;
    let i = tag & mask;
    for (;;) {
      const v = table[2 * i + 1] as number;
      if (v === 0) return ~i;
      if (table[2 * i] === tag) {
        const loc = v - 1;
        const page = this.arena.pageOf(loc);
        const po = offsetOf(loc);
        const kl = keyLenAt(page, po);
        if (kl === key.length && equalRange(page, po + 6, key, 0, kl)) return i;
      }
      i = (i + 1) & mask;
    }
  }

  private recordSize(loc: number): number {
    const page = this.arena.pageOf(loc);
    const po = offsetOf(loc);
    return (6 + keyLenAt(page, po) + valueLenAt(page, po) + 3) & ~3;
  }

  private append(key: Uint8Array, value: Uint8Array): number {
    const need = (6 + key.length + value.length + 3) & ~3;
    const loc = this.arena.reserve(need);
    const page = this.arena.pageOf(loc);
    const po = offsetOf(loc);
    const kl = key.length;
    const vl = value.length;
    page[po] = kl & 0xff;
    page[po + 1] = kl >>> 8;
    page[po + 2] = vl & 0xff;
    page[po + 3] = (vl >>> 8) & 0xff;
    page[po + 4] = (vl >>> 16) & 0xff;
    page[po + 5] = (vl >>> 24) & 0xff;
    page.set(key, po + 6);
    page.set(value, po + 6 + kl);
    this.liveBytes += need;
    return loc;
  }

  /** Inserts a key known to be absent. */
  private insertNew(key: Uint8Array, value: Uint8Array, tag: number): void {
    if ((this.count + 1) * 10 > (this.mask + 1) * 7) this.grow();
    const s = this.slotOf(key, tag);
    const slot = ~s;
    this.table[2 * slot] = tag;
    this.table[2 * slot + 1] = this.append(key, value) + 1;
    this.count++;
  }

  private set(key: Uint8Array, value: Uint8Array): void {
    const tag = keyTag(key);
    const s = this.slotOf(key, tag);
    if (s < 0) {
      this.insertNew(key, value, tag);
      return;
    }
    const old = (this.table[2 * s + 1] as number) - 1;
    const size = this.recordSize(old);
    this.liveBytes -= size;
    this.deadBytes += size;
    this.table[2 * s + 1] = this.append(key, value) + 1;
  }

  private remove(key: Uint8Array): void {
    const s = this.slotOf(key, keyTag(key));
    if (s < 0) return;
    const size = this.recordSize((this.table[2 * s + 1] as number) - 1);
    this.liveBytes -= size;
    this.deadBytes += size;
    // Backward-shift deletion: pull later entries of the probe run into the
    // hole when their home slot does not lie strictly between hole and entry.
    const table = this.table;
    const mask = this.mask;
    let hole = s;
    let j = s;
    for (;;) {
      j = (j + 1) & mask;
      const v = table[2 * j + 1] as number;
      if (v === 0) break;
      const home = (table[2 * j] as number) & mask;
      const between = hole <= j ? hole < home && home <= j : hole < home || home <= j;
      if (between) continue;
      table[2 * hole] = table[2 * j] as number;
      table[2 * hole + 1] = v;
      hole = j;
    }
    table[2 * hole] = 0;
    table[2 * hole + 1] = 0;
    this.count--;
  }

  private grow(): void {
    this.table = growTagTable(this.table);
    this.mask = (this.table.length >>> 1) - 1;
  }
}

/** A flat view of the version `root` of `map` (built by one ordered scan: O(n)). */
export function createFlatView(map: MerkleMap, root: Uint8Array, opts: { initialCapacity?: number } = {}): FlatView {
  checkRoot(root);
  return new FlatView(map, root, opts.initialCapacity);
}
