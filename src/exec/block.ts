/**
 * exec/block — blocks, headers and receipts: their canonical encodings, and
 * the binary Merkle roots over transactions and receipts.
 *
 * Header layout (docs/spec/exec.md §Blocks), all integers big-endian:
 *
 *   version u8 (1) | flags u8 (bit0: stateRoot present, bit1: receiptsRoot present)
 *   height u64 | timeMs u64 | gasLimit u64
 *   parentRoot 32 | proposer 32 | txRoot 32
 *   [stateRoot 32] [receiptsRoot 32]
 *
 * A block is the header, then a varint count of transactions, then each
 * transaction as varint length + bytes. The block hash is BLAKE3 of the
 * header encoding; the header's txRoot commits the transactions.
 *
 * Invariants: decoding is canonical (re-encoding gives the same bytes) and
 * throws only DecodeError("BLOCK_MALFORMED"); the Merkle roots hash leaves
 * and inner nodes under two different BLAKE3 keys, so a leaf can never be
 * passed off as an inner node.
 * Costs: encoding/decoding O(size); a Merkle root is one batched kernel call
 * for its leaves and one per level.
 */
import {
  HASH_BYTES,
  hash,
  hashMany,
  hashPairs,
  keyFromContext,
  Reader,
  varintSize,
  writeVarint,
} from "../core/index.js";
import { DecodeError } from "./codec.js";
import type { CallStatus, ExecEvent } from "./types.js";

export interface BlockHeader {
  height: number;
  /** Milliseconds since the Unix epoch; contracts see it through block_time(). */
  timeMs: number;
  gasLimit: number;
  /** The state root of the parent (the version this block executes on). */
  parentRoot: Uint8Array;
  /** The address credited with the fees. */
  proposer: Uint8Array;
  /** merkleRoot of the transactions' hashes (txHash). */
  txRoot: Uint8Array;
  /** The state root the proposer computed; a block whose execution differs is rejected. */
  stateRoot?: Uint8Array;
  receiptsRoot?: Uint8Array;
}

export interface Block {
  header: BlockHeader;
  txs: Uint8Array[];
}

const HEADER_FIXED = 2 + 3 * 8 + 3 * HASH_BYTES;

function putU64(dv: DataView, off: number, v: number): void {
  dv.setUint32(off, Math.floor(v / 2 ** 32));
  dv.setUint32(off + 4, v >>> 0);
}

export function encodeHeader(h: BlockHeader): Uint8Array {
  const out = new Uint8Array(HEADER_FIXED + (h.stateRoot ? HASH_BYTES : 0) + (h.receiptsRoot ? HASH_BYTES : 0));
  const dv = new DataView(out.buffer);
  out[0] = 1;
  out[1] = (h.stateRoot ? 1 : 0) | (h.receiptsRoot ? 2 : 0);
  putU64(dv, 2, h.height);
  putU64(dv, 10, h.timeMs);
  putU64(dv, 18, h.gasLimit);
  out.set(h.parentRoot, 26);
  out.set(h.proposer, 58);
  out.set(h.txRoot, 90);
  let at = HEADER_FIXED;
  if (h.stateRoot) {
    out.set(h.stateRoot, at);
    at += HASH_BYTES;
  }
  if (h.receiptsRoot) out.set(h.receiptsRoot, at);
  return out;
}

function readU64(r: Reader, what: string): number {
  const b = r.bytes(8);
  const hi = ((b[0] as number) << 24) | ((b[1] as number) << 16) | ((b[2] as number) << 8) | (b[3] as number);
  const lo = ((b[4] as number) << 24) | ((b[5] as number) << 16) | ((b[6] as number) << 8) | (b[7] as number);
  const v = (hi >>> 0) * 2 ** 32 + (lo >>> 0);
  if (!Number.isSafeInteger(v)) throw new DecodeError("BLOCK_MALFORMED", { reason: `${what} above 2^53-1` });
  return v;
}

function readHeader(r: Reader): BlockHeader {
  if (r.byte() !== 1) throw new DecodeError("BLOCK_MALFORMED", { reason: "unknown header version" });
  const flags = r.byte();
  if (flags > 3) throw new DecodeError("BLOCK_MALFORMED", { reason: "unknown header flags" });
  const h: BlockHeader = {
    height: readU64(r, "height"),
    timeMs: readU64(r, "timeMs"),
    gasLimit: readU64(r, "gasLimit"),
    parentRoot: r.bytes(HASH_BYTES).slice(),
    proposer: r.bytes(HASH_BYTES).slice(),
    txRoot: r.bytes(HASH_BYTES).slice(),
  };
  if (flags & 1) h.stateRoot = r.bytes(HASH_BYTES).slice();
  if (flags & 2) h.receiptsRoot = r.bytes(HASH_BYTES).slice();
  return h;
}

/** Runs a decoder, turning any codec failure into DecodeError(code). */
function decoding<T>(code: "BLOCK_MALFORMED", f: () => T): T {
  try {
    return f();
  } catch (e) {
    if (e instanceof DecodeError) throw e;
    throw new DecodeError(code, { reason: e instanceof Error ? e.message : String(e) });
  }
}

export function decodeHeader(bytes: Uint8Array): BlockHeader {
  return decoding("BLOCK_MALFORMED", () => {
    const r = new Reader(bytes);
    const h = readHeader(r);
    r.done();
    return h;
  });
}

export function blockHash(h: BlockHeader): Uint8Array {
  return hash(encodeHeader(h));
}

export function encodeBlock(b: Block): Uint8Array {
  const head = encodeHeader(b.header);
  let size = head.length + varintSize(b.txs.length);
  for (const t of b.txs) size += varintSize(t.length) + t.length;
  const out = new Uint8Array(size);
  out.set(head, 0);
  let at = writeVarint(out, head.length, b.txs.length);
  for (const t of b.txs) {
    at = writeVarint(out, at, t.length);
    out.set(t, at);
    at += t.length;
  }
  return out;
}

/** Decodes a block (its transactions stay undecoded bytes; the executor decodes them). */
export function decodeBlock(bytes: Uint8Array): Block {
  return decoding("BLOCK_MALFORMED", () => {
    if (!(bytes instanceof Uint8Array)) throw new DecodeError("BLOCK_MALFORMED", { reason: "not bytes" });
    const r = new Reader(bytes);
    const header = readHeader(r);
    const n = r.varint();
    // every transaction takes at least its one-byte length
    if (n > r.end - r.pos)
      throw new DecodeError("BLOCK_MALFORMED", { reason: "transaction count above the bytes left" });
    const txs: Uint8Array[] = [];
    for (let i = 0; i < n; i++) txs.push(r.bytes(r.varint()).slice());
    r.done();
    return { header, txs };
  });
}

// ------------------------------------------------------------------ roots

const K_LEAF = keyFromContext("helios 2026-11 list merkle leaf");
const K_NODE = keyFromContext("helios 2026-11 list merkle node");

/**
 * The binary Merkle root of a list of byte strings (E14): leaf i =
 * BLAKE3-keyed(K_LEAF, item i), inner = BLAKE3-keyed(K_NODE, left ‖ right),
 * an odd node carried up unchanged, and the empty list's root is 32 zero
 * bytes. The two keys (derived from fixed contexts) separate leaves from
 * inner nodes. Costs: one batched kernel call for the leaves and one per level.
 */
export function merkleRoot(items: readonly Uint8Array[]): Uint8Array {
  const n = items.length;
  if (n === 0) return new Uint8Array(HASH_BYTES);
  let total = 0;
  for (const it of items) total += it.length;
  const data = new Uint8Array(total);
  const offsets = new Uint32Array(n + 1);
  let at = 0;
  for (let i = 0; i < n; i++) {
    const it = items[i] as Uint8Array;
    data.set(it, at);
    at += it.length;
    offsets[i + 1] = at;
  }
  // slots 0..n-1 are the leaves; inner nodes are appended (fewer than n of them)
  const slab = new Uint8Array(HASH_BYTES * 2 * n);
  hashMany(data, offsets, n, slab, null, K_LEAF);
  let level = new Int32Array(n);
  for (let i = 0; i < n; i++) level[i] = i;
  let free = n;
  const triples = new Int32Array(3 * Math.ceil(n / 2));
  while (level.length > 1) {
    const pairs = level.length >> 1;
    const next = new Int32Array(pairs + (level.length & 1));
    for (let p = 0; p < pairs; p++) {
      triples[3 * p] = level[2 * p] as number;
      triples[3 * p + 1] = level[2 * p + 1] as number;
      triples[3 * p + 2] = free;
      next[p] = free++;
    }
    hashPairs(slab, triples, pairs, K_NODE);
    if (level.length & 1) next[pairs] = level[level.length - 1] as number;
    level = next;
  }
  const r = (level[0] as number) * HASH_BYTES;
  return slab.slice(r, r + HASH_BYTES);
}

// --------------------------------------------------------------- receipts

export interface Receipt {
  /** "ok", or the CallStatus that ended the transaction (its error code). */
  status: CallStatus;
  gasUsed: number;
  /** Return data (ok) or revert data (REVERT); empty otherwise. */
  output: Uint8Array;
  /** Events of a successful transaction (a failed one emits none). */
  events: ExecEvent[];
  /** A contract created by a successful deploy. */
  contract?: Uint8Array;
}

/** Receipt status codes on the wire; the order is part of the format. */
export const STATUS_CODES: readonly CallStatus[] = [
  "ok",
  "REVERT",
  "OUT_OF_GAS",
  "TRAP",
  "STACK_OVERFLOW",
  "CALL_DEPTH",
  "MODULE_INVALID",
  "NO_SUCH_METHOD",
  "NOT_A_CONTRACT",
  "INSUFFICIENT_BALANCE",
  "HOST_ARGUMENT",
];

/** status u8 | gasUsed u64 | output (varint len) | contract flag u8 [+32] | events (varint n; address 32, topic, data) */
export function encodeReceipt(r: Receipt): Uint8Array {
  let size = 1 + 8 + varintSize(r.output.length) + r.output.length + 1 + (r.contract ? 32 : 0);
  size += varintSize(r.events.length);
  for (const e of r.events) {
    size += 32 + varintSize(e.topic.length) + e.topic.length + varintSize(e.data.length) + e.data.length;
  }
  const out = new Uint8Array(size);
  const dv = new DataView(out.buffer);
  out[0] = STATUS_CODES.indexOf(r.status);
  putU64(dv, 1, r.gasUsed);
  let at = writeVarint(out, 9, r.output.length);
  out.set(r.output, at);
  at += r.output.length;
  out[at++] = r.contract ? 1 : 0;
  if (r.contract) {
    out.set(r.contract, at);
    at += 32;
  }
  at = writeVarint(out, at, r.events.length);
  for (const e of r.events) {
    out.set(e.address, at);
    at += 32;
    at = writeVarint(out, at, e.topic.length);
    out.set(e.topic, at);
    at += e.topic.length;
    at = writeVarint(out, at, e.data.length);
    out.set(e.data, at);
    at += e.data.length;
  }
  return out;
}
