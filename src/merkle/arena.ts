/**
 * merkle/arena — the two pieces the memory store and flat views share: an
 * append-only arena of records in large pages, addressed by 32-bit
 * locations, and the growth of a tag table (an open-addressing hash table of
 * [tag, location + 1] pairs with linear probing).
 *
 * Invariants: a record never moves and is never modified by the arena after
 * it is written, so views into it stay valid; records start 4-byte aligned;
 * a location is page << 22 | offset / 4, and location + 1 is never 0 (0 marks
 * an empty table slot), which bounds an arena to 1,023 pages of at most
 * 16 MiB (MEMORY_STORE_FULL beyond: just under 16 GiB). A tag picks its entry's home slot (tag & mask),
 * so a table grows without reading any record.
 * Costs: reserve O(1) (a new zeroed page when one fills: 64 KiB first,
 * doubling up to 16 MiB, so a small store costs little); table growth
 * O(slots).
 */
import { HeliosError } from "../core/index.js";

const PAGE_BYTES = 1 << 24;
/** The first page is small and each next one doubles, up to PAGE_BYTES: a small store stays small. */
const FIRST_PAGE_BYTES = 1 << 16;
const LOC_PAGE_SHIFT = 22;
const LOC_OFF_MASK = (1 << LOC_PAGE_SHIFT) - 1;
const MAX_PAGES = 1023;

export class RecordArena {
  private readonly pages: Uint8Array[];
  private page: Uint8Array;
  private pageIndex: number;
  private pageUsed: number;

  constructor() {
    this.page = new Uint8Array(FIRST_PAGE_BYTES);
    this.pages = [this.page];
    this.pageIndex = 0;
    this.pageUsed = 0;
  }

  /**
   * Reserves `need` bytes (a multiple of 4) for a record and returns its
   * location; write it through pageOf/offsetOf. A record larger than a page
   * gets a page of its own.
   */
  reserve(need: number): number {
    if (this.pageUsed + need > this.page.length) {
      if (this.pages.length >= MAX_PAGES) {
        throw new HeliosError("MEMORY_STORE_FULL", { pages: this.pages.length, pageBytes: PAGE_BYTES });
      }
      const next = Math.min(PAGE_BYTES, this.page.length * 2);
      this.page = new Uint8Array(Math.max(next, need));
      this.pages.push(this.page);
      this.pageIndex = this.pages.length - 1;
      this.pageUsed = 0;
    }
    const loc = (this.pageIndex << LOC_PAGE_SHIFT) | (this.pageUsed >>> 2);
    this.pageUsed += need;
    return loc;
  }

  /** The page holding the record at `loc`. */
  pageOf(loc: number): Uint8Array {
    return this.pages[loc >>> LOC_PAGE_SHIFT] as Uint8Array;
  }
}

/** Byte offset, inside its page, of the record at `loc`. */
export function offsetOf(loc: number): number {
  return (loc & LOC_OFF_MASK) << 2;
}

/** A new tag table of 2 × slots entries (Uint32 pairs), all empty. */
export function newTagTable(slots: number): Uint32Array {
  return new Uint32Array(2 * slots);
}

/** A tag table of twice the slots holding the same entries, re-placed by their tags. */
export function growTagTable(old: Uint32Array): Uint32Array {
  const slots = old.length; // old slots × 2 = new slots
  const table = new Uint32Array(2 * slots);
  const mask = slots - 1;
  for (let i = 0; i < old.length; i += 2) {
    const v = old[i + 1] as number;
    if (v === 0) continue;
    const tag = old[i] as number;
    let j = tag & mask;
    while (table[2 * j + 1] !== 0) j = (j + 1) & mask;
    table[2 * j] = tag;
    table[2 * j + 1] = v;
  }
  return table;
}
