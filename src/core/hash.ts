/**
 * core/hash — BLAKE3-256 through Helios' native batched kernel.
 *
 * Purpose: every digest in Helios (Merkle nodes, content ids, keyed domain
 * hashes) comes from here. In Node the cost of one call (argument checks,
 * crossing into native code) is larger than hashing one 64-byte node, so the
 * hot paths are batched: `hashMany` (many messages, one call) and `hashPairs`
 * (many 64-byte parent nodes inside one slab of 32-byte slots). The kernel
 * runs 8 messages in lock-step in AVX2 lanes when the CPU has AVX2, 4 lanes
 * of portable vector code otherwise (see docs/hash-kernel.md).
 *
 * Invariants: outputs are standard BLAKE3 (hash mode, or keyed_hash mode when
 * a key is given), 32 bytes. Arguments are checked here (cheap, O(1)) and
 * again completely in C (every offset, slot and triple index) before any
 * memory is touched; bad input throws HeliosError("INVALID_ARGUMENT") and
 * never crashes the process or writes partial output.
 *
 * Costs: ~45M 64-byte digests/s batched, ~6M/s one call at a time (see the
 * doc for measured figures). The addon is loaded on first use; if it is not
 * built, the first call throws HeliosError("HASH_KERNEL_UNAVAILABLE").
 */
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";
import { HeliosError } from "./errors.js";

export const HASH_BYTES = 32;

/** Messages up to this length take the single-call scratch fast path (one BLAKE3 chunk). */
const SCRATCH_MAX = 1024;
const KEY_WORDS = 8;

/** What the addon returns: undefined on success, [status, index] on bad input. */
type NativeResult = readonly [number, number] | undefined;

interface NativeKernel {
  readonly impl: string;
  readonly scratch: ArrayBuffer;
  hash(data: Uint8Array, out: Uint8Array, outOff: number, key: Uint32Array | null): NativeResult;
  hashMany(
    data: Uint8Array,
    offsets: Uint32Array,
    count: number,
    out: Uint8Array,
    outSlots: Int32Array | null,
    key: Uint32Array | null,
  ): NativeResult;
  hashPairs(slab: Uint8Array, triples: Int32Array, count: number, key: Uint32Array | null): NativeResult;
  hashScratch(len: number, keyed: number): NativeResult;
  nodeIdScratch(len: number, kind: number, a: number, b: number, c: number): NativeResult;
}

/** Status codes of native/blake3/binding.c (keep in sync). */
const STATUS: Readonly<Record<number, string>> = {
  1: "the native kernel could not read its arguments",
  2: "data (or slab) must be a Uint8Array",
  3: "out must be a Uint8Array",
  4: "offsets must be a Uint32Array",
  5: "outSlots must be an Int32Array or null",
  6: "triples must be an Int32Array",
  7: "key must be a Uint32Array of 8 words (32 bytes) or null",
  8: "count must be an integer that fits its arrays",
  9: "an offset lies beyond the end of data",
  10: "offsets must be non-decreasing",
  11: "an outSlots entry is negative or its 32 bytes lie beyond out",
  12: "out is shorter than 32 * count bytes",
  13: "a triple index is negative or its 32 bytes lie beyond the slab",
  14: "outOff must be an integer with outOff + 32 <= out.length",
};

let native: NativeKernel | undefined;
let scratchIn: Uint8Array = new Uint8Array(0);
let scratchOut: Uint8Array = new Uint8Array(0);
let scratchKey: Uint32Array = new Uint32Array(0);
let scratchKeys: Uint32Array = new Uint32Array(0);
let scratchNode: Uint8Array = new Uint8Array(0);
const keysLoaded: (Uint32Array | null)[] = [null, null, null];
/** Node encodings up to this length take the one-call node-id path (binding.c NODE_MAX). */
export const NODE_ID_MAX = 8192;

/**
 * Where the addon may sit, relative to this module: `dist/src/core/hash.js`
 * after `tsc`, or `src/core/hash.ts` under a TypeScript loader. Resolved with
 * `require`, so this layer needs no file-system access of its own.
 */
const ADDON_CANDIDATES = ["../../../build/Release/helios_blake3.node", "../../build/Release/helios_blake3.node"];

function load(): NativeKernel {
  const req = createRequire(import.meta.url);
  let k: NativeKernel | undefined;
  let failure: unknown;
  for (const rel of ADDON_CANDIDATES) {
    try {
      k = req(fileURLToPath(new URL(rel, import.meta.url))) as NativeKernel;
      break;
    } catch (e) {
      if ((e as { code?: unknown }).code !== "MODULE_NOT_FOUND") failure = e;
    }
  }
  const where = fileURLToPath(new URL(ADDON_CANDIDATES[0] as string, import.meta.url));
  if (k === undefined) {
    if (failure === undefined) throw new HeliosError("HASH_KERNEL_UNAVAILABLE", { path: where });
    throw new HeliosError(
      "HASH_KERNEL_UNAVAILABLE",
      { path: where, cause: String(failure) },
      "the addon exists but failed to load",
    );
  }
  if (
    typeof k.hashMany !== "function" ||
    typeof k.nodeIdScratch !== "function" ||
    !(k.scratch instanceof ArrayBuffer)
  ) {
    throw new HeliosError("HASH_KERNEL_UNAVAILABLE", { path: where }, "the addon is stale; rebuild it");
  }
  scratchIn = new Uint8Array(k.scratch, 0, SCRATCH_MAX);
  scratchOut = new Uint8Array(k.scratch, SCRATCH_MAX, HASH_BYTES);
  scratchKey = new Uint32Array(k.scratch, SCRATCH_MAX + HASH_BYTES, KEY_WORDS);
  scratchKeys = new Uint32Array(k.scratch, SCRATCH_MAX + 2 * HASH_BYTES, 3 * KEY_WORDS);
  scratchNode = new Uint8Array(k.scratch, SCRATCH_MAX + 2 * HASH_BYTES + 96, NODE_ID_MAX);
  native = k;
  return k;
}

function invalid(fn: string, detail: string, context: Record<string, unknown> = {}): never {
  throw new HeliosError("INVALID_ARGUMENT", { fn, ...context }, `${fn}: ${detail}`);
}

function fromNative(fn: string, r: readonly [number, number]): never {
  const [status, index] = r;
  const detail = STATUS[status] ?? `native status ${status}`;
  return invalid(fn, index >= 0 ? `${detail} (at index ${index})` : detail, { status, index });
}

function checkKey(fn: string, key: Uint32Array | null | undefined): Uint32Array | null {
  if (key === null || key === undefined) return null;
  if (!(key instanceof Uint32Array) || key.length !== KEY_WORDS) {
    invalid(fn, "key must be a Uint32Array of 8 words (32 bytes) or null", {
      keyLength: (key as { length?: unknown }).length,
    });
  }
  return key;
}

function checkCount(fn: string, count: number): void {
  if (!Number.isInteger(count) || count < 0) invalid(fn, "count must be a non-negative integer", { count });
}

/** One message → new 32-byte digest. `key` (8 little-endian u32 words = a 32-byte key) selects BLAKE3 keyed_hash mode. */
export function hash(data: Uint8Array, key?: Uint32Array | null): Uint8Array {
  const out = new Uint8Array(HASH_BYTES);
  hashInto(data, out, 0, key);
  return out;
}

/** One message → digest written at out[outOff .. outOff+32). No allocation. */
export function hashInto(data: Uint8Array, out: Uint8Array, outOff: number, key?: Uint32Array | null): void {
  const k = native ?? load();
  if (!(data instanceof Uint8Array)) invalid("hashInto", "data must be a Uint8Array");
  if (!(out instanceof Uint8Array)) invalid("hashInto", "out must be a Uint8Array");
  if (!Number.isInteger(outOff) || outOff < 0 || outOff + HASH_BYTES > out.length) {
    invalid("hashInto", "outOff must be an integer with outOff + 32 <= out.length", { outOff, outLength: out.length });
  }
  const kw = key === undefined || key === null ? null : checkKey("hashInto", key);
  const n = data.length;
  if (n <= SCRATCH_MAX) {
    scratchIn.set(data);
    if (kw !== null) scratchKey.set(kw);
    const r = k.hashScratch(n, kw === null ? 0 : 1);
    if (r !== undefined) fromNative("hashInto", r);
    out.set(scratchOut, outOff);
    return;
  }
  const r = k.hash(data, out, outOff, kw);
  if (r !== undefined) fromNative("hashInto", r);
}

function loadKeys(kLeaf: Uint32Array, kNode: Uint32Array, kInner: Uint32Array): void {
  if (keysLoaded[0] !== kLeaf || keysLoaded[1] !== kNode || keysLoaded[2] !== kInner) {
    for (const [i, kk] of [kLeaf, kNode, kInner].entries()) {
      checkKey("nodeId", kk);
      scratchKeys.set(kk, i * KEY_WORDS);
      keysLoaded[i] = kk;
    }
  }
}

/**
 * A Merkle node id in one native call, for nodes of at most NODE_ID_MAX
 * bytes (returns false for larger ones: use the general functions).
 * The node is buf[off, end). kind 0, a leaf: id = keyed(kLeaf, key ‖ H(value)),
 * key = buf[a, a+b), value = buf[c, end). kind 1, a branch: id =
 * keyed(kNode, header ‖ inner), header = buf[a, a+b), inner = pairwise rounds
 * (keyed kInner, odd last carried) over the 32-byte ids in buf[c, end).
 * Offsets a and c are absolute in buf. The caller parses and validates the
 * encoding; the native side re-checks every bound against the node length.
 */
export function nodeIdOf(
  buf: Uint8Array,
  off: number,
  end: number,
  kind: 0 | 1,
  a: number,
  b: number,
  c: number,
  keys: readonly [Uint32Array, Uint32Array, Uint32Array],
  out: Uint8Array,
  outOff: number,
): boolean {
  const len = end - off;
  if (len > NODE_ID_MAX || len < 0) return false;
  const k = native ?? load();
  loadKeys(keys[0], keys[1], keys[2]);
  scratchNode.set(buf.subarray(off, end));
  const r = k.nodeIdScratch(len, kind, a - off, b, c - off);
  if (r !== undefined) fromNative("nodeIdOf", r);
  out.set(scratchOut, outOff);
  return true;
}

/** Batched: message i is data[offsets[i] .. offsets[i+1]) for i < count (offsets has count+1 entries, non-decreasing).
 *  Digest i is written at out[32*s .. 32*s+32) where s = outSlots ? outSlots[i] : i. Any lengths (0..huge) allowed;
 *  messages ≤ 1024 bytes (one chunk) go through the SIMD many-messages path; longer ones through the full tree path. */
export function hashMany(
  data: Uint8Array,
  offsets: Uint32Array,
  count: number,
  out: Uint8Array,
  outSlots: Int32Array | null,
  key: Uint32Array | null,
): void {
  const k = native ?? load();
  const fn = "hashMany";
  if (!(data instanceof Uint8Array)) invalid(fn, "data must be a Uint8Array");
  if (!(offsets instanceof Uint32Array)) invalid(fn, "offsets must be a Uint32Array");
  if (!(out instanceof Uint8Array)) invalid(fn, "out must be a Uint8Array");
  if (outSlots !== null && outSlots !== undefined && !(outSlots instanceof Int32Array)) {
    invalid(fn, "outSlots must be an Int32Array or null");
  }
  checkCount(fn, count);
  const kw = checkKey(fn, key);
  if (count === 0) return;
  if (count + 1 > offsets.length) {
    invalid(fn, "offsets must have count + 1 entries", { count, offsetsLength: offsets.length });
  }
  if ((offsets[count] as number) > data.length) {
    invalid(fn, "offsets[count] lies beyond the end of data", { end: offsets[count], dataLength: data.length });
  }
  if (outSlots === null || outSlots === undefined) {
    if (out.length < HASH_BYTES * count) {
      invalid(fn, "out is shorter than 32 * count bytes", { count, outLength: out.length });
    }
  } else if (outSlots.length < count) {
    invalid(fn, "outSlots must have at least count entries", { count, outSlotsLength: outSlots.length });
  }
  // Per-entry checks (offsets non-decreasing, every slot inside out) run in C before anything is written.
  const r = k.hashMany(data, offsets, count, out, outSlots ?? null, kw);
  if (r !== undefined) fromNative(fn, r);
}

/** Batched 64-byte pair hashing inside one slab of 32-byte slots: for i < count,
 *  slab[32*t[3i+2] ..+32) = H(slab[32*t[3i] ..+32) || slab[32*t[3i+1] ..+32)).  (inputs read before the output of the same item is written; items are independent of each other within one call.) */
export function hashPairs(slab: Uint8Array, triples: Int32Array, count: number, key: Uint32Array | null): void {
  const k = native ?? load();
  const fn = "hashPairs";
  if (!(slab instanceof Uint8Array)) invalid(fn, "slab must be a Uint8Array");
  if (!(triples instanceof Int32Array)) invalid(fn, "triples must be an Int32Array");
  checkCount(fn, count);
  if (3 * count > triples.length) {
    invalid(fn, "triples must have 3 * count entries", { count, triplesLength: triples.length });
  }
  const kw = checkKey(fn, key);
  const r = k.hashPairs(slab, triples, count, kw);
  if (r !== undefined) fromNative(fn, r);
}

/** A keyed-mode key from a context string: the 8 LE words of BLAKE3(utf8(context)) (plain hash). */
export function keyFromContext(context: string): Uint32Array {
  if (typeof context !== "string") invalid("keyFromContext", "context must be a string");
  const d = hash(new TextEncoder().encode(context));
  const view = new DataView(d.buffer, d.byteOffset, d.byteLength);
  const words = new Uint32Array(KEY_WORDS);
  for (let i = 0; i < KEY_WORDS; i++) words[i] = view.getUint32(4 * i, true);
  return words;
}

/** Which path the kernel uses: e.g. "native-avx2" or "native-portable". Reading it loads the addon. */
export const kernelInfo: { readonly impl: string } = {
  get impl(): string {
    return (native ?? load()).impl;
  },
};
