/**
 * merkle/region — which keys a subtree can hold, and whether a query can
 * touch it. Shared by iteration, the prover and the verifier, so that the
 * prover prunes exactly what the verifier accepts as pruned.
 *
 * A region is a nibble path Q (path[0..len)): a prefix region holds every key
 * whose nibbles start with Q; an exact region (a branch's terminal slot)
 * holds only the key whose nibbles are exactly Q. Checks are conservative:
 * `touches` may say true for a region that holds no key of the query, never
 * false for one that does.
 * Costs: O(len) nibble comparisons, no allocation.
 */
import { compareBytes } from "../core/index.js";
import { nib } from "./node.js";

/** Compares nibble path p[0..len) with the nibbles of key: -1, 0 or 1 (a proper prefix sorts first). */
export function comparePathKey(p: Uint8Array, len: number, key: Uint8Array): number {
  const nk = key.length * 2;
  const n = len < nk ? len : nk;
  for (let i = 0; i < n; i++) {
    const a = p[i] as number;
    const b = nib(key, i);
    if (a !== b) return a < b ? -1 : 1;
  }
  return len === nk ? 0 : len < nk ? -1 : 1;
}

/** True when p[0..len) is a prefix of (or equal to) the nibbles of key. */
export function pathIsPrefixOf(p: Uint8Array, len: number, key: Uint8Array): boolean {
  if (len > key.length * 2) return false;
  for (let i = 0; i < len; i++) if (p[i] !== nib(key, i)) return false;
  return true;
}

export interface Query {
  /** May the region p[0..len) (exact or prefix) hold a key of this query? */
  touches(p: Uint8Array, len: number, exact: boolean): boolean;
  /**
   * For a branch whose children sit at path p[0..len): the 17-bit mask of
   * slots whose region may hold a key of this query (bit s: slot s, as in
   * `touches` for slot s). May write p[len].
   */
  slotMask(p: Uint8Array, len: number): number;
  /** Is this concrete key part of the query? */
  contains(key: Uint8Array): boolean;
  /**
   * When true, the prover also prunes a child whose slot is in the mask but
   * whose own region `touches` says no (BoundaryQuery). Other queries' masks
   * are exactly `touches` per slot, so they leave it unset.
   */
  readonly childLevel?: boolean;
}

export class PointQuery implements Query {
  readonly key: Uint8Array;
  constructor(key: Uint8Array) {
    this.key = key;
  }
  touches(p: Uint8Array, len: number, exact: boolean): boolean {
    if (exact) return len === this.key.length * 2 && pathIsPrefixOf(p, len, this.key);
    return pathIsPrefixOf(p, len, this.key);
  }
  slotMask(p: Uint8Array, len: number): number {
    const k = this.key;
    if (!pathIsPrefixOf(p, len, k)) return 0;
    return 1 << (len === k.length * 2 ? 0 : nib(k, len) + 1);
  }
  contains(key: Uint8Array): boolean {
    const k = this.key;
    if (k.length !== key.length) return false;
    for (let i = 0; i < k.length; i++) if (k[i] !== key[i]) return false;
    return true;
  }
}

/** Keys in [start, end); `end` undefined means no upper bound. */
export class RangeQuery implements Query {
  readonly start: Uint8Array;
  readonly end: Uint8Array | undefined;
  constructor(start: Uint8Array, end: Uint8Array | undefined) {
    this.start = start;
    this.end = end;
  }
  touches(p: Uint8Array, len: number, exact: boolean): boolean {
    if (exact) {
      if (comparePathKey(p, len, this.start) < 0) return false;
      return this.end === undefined || comparePathKey(p, len, this.end) < 0;
    }
    // Every key with prefix Q is below start when Q < start and Q is not a prefix of start.
    if (comparePathKey(p, len, this.start) < 0 && !pathIsPrefixOf(p, len, this.start)) return false;
    // Every key with prefix Q is ≥ end when Q itself (the smallest such string) is ≥ end.
    if (this.end !== undefined && comparePathKey(p, len, this.end) >= 0) return false;
    return true;
  }
  slotMask(p: Uint8Array, len: number): number {
    let mask = this.touches(p, len, true) ? 1 : 0;
    for (let s = 1; s < 17; s++) {
      p[len] = s - 1;
      if (this.touches(p, len + 1, false)) mask |= 1 << s;
    }
    return mask;
  }
  contains(key: Uint8Array): boolean {
    if (compareBytes(key, this.start) < 0) return false;
    return this.end === undefined || compareBytes(key, this.end) < 0;
  }
}

/**
 * A set of keys (sorted ascending, distinct): a multi-key proof reveals each
 * one or proves it absent. Keys with a given nibble prefix form a contiguous
 * run of the sorted list, found by binary search: O(log n · len) per check.
 */
export class KeySetQuery implements Query {
  readonly keys: readonly Uint8Array[];
  constructor(keys: readonly Uint8Array[]) {
    this.keys = keys;
  }
  /** Index of the first key whose nibbles are ≥ path p[0..len). */
  private lowerBound(p: Uint8Array, len: number): number {
    let lo = 0;
    let hi = this.keys.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (comparePathKey(p, len, this.keys[mid] as Uint8Array) > 0) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
  touches(p: Uint8Array, len: number, exact: boolean): boolean {
    const i = this.lowerBound(p, len);
    if (i >= this.keys.length) return false;
    const k = this.keys[i] as Uint8Array;
    if (exact) return len === k.length * 2 && pathIsPrefixOf(p, len, k);
    return pathIsPrefixOf(p, len, k);
  }
  slotMask(p: Uint8Array, len: number): number {
    let mask = 0;
    let i = this.lowerBound(p, len);
    const keys = this.keys;
    for (; i < keys.length; i++) {
      const k = keys[i] as Uint8Array;
      if (!pathIsPrefixOf(p, len, k)) break;
      mask |= 1 << (len === k.length * 2 ? 0 : nib(k, len) + 1);
    }
    return mask;
  }
  contains(key: Uint8Array): boolean {
    let lo = 0;
    let hi = this.keys.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const c = compareBytes(this.keys[mid] as Uint8Array, key);
      if (c === 0) return true;
      if (c < 0) lo = mid + 1;
      else hi = mid;
    }
    return false;
  }
}

/**
 * The regions that straddle [start, end): those holding both keys inside and
 * keys outside the range. A *boundary witness* reveals exactly these (the two
 * boundary paths) and prunes every child wholly inside or outside, so a
 * receiver can compare the range's contents with another version subtree by
 * subtree (snapshot increments). Inner pairs are split wherever a slot meets
 * the range (slotMask is the range's), so each inside child is pruned on its
 * own, with its own region. `childLevel`: the prover prunes children whose
 * region the query does not touch even when their slot is in the mask.
 */
export class BoundaryQuery implements Query {
  readonly range: RangeQuery;
  readonly childLevel = true;
  constructor(start: Uint8Array, end: Uint8Array | undefined) {
    this.range = new RangeQuery(start, end);
  }
  /** Every key with nibble prefix p[0..len) lies in the range (conservative: may say false for such a region). */
  inside(p: Uint8Array, len: number): boolean {
    const { start, end } = this.range;
    if (comparePathKey(p, len, start) < 0) return false;
    if (end === undefined) return true;
    return comparePathKey(p, len, end) < 0 && !pathIsPrefixOf(p, len, end);
  }
  touches(p: Uint8Array, len: number, exact: boolean): boolean {
    if (exact) return false; // one key: wholly inside or wholly outside
    return this.range.touches(p, len, false) && !this.inside(p, len);
  }
  slotMask(p: Uint8Array, len: number): number {
    return this.range.slotMask(p, len);
  }
  contains(_key: Uint8Array): boolean {
    return false;
  }
}
