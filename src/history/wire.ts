/**
 * history/wire — canonical encodings of the log records and of the state
 * record that a checkpoint stores.
 *
 * Log record (one per durable change; replayed in seq order on recovery):
 *   kind u8 ‖ fields
 *   1 COMMIT   target ‖ baseRoot[32] ‖ newRoot[32] ‖ varint(nTrees) ‖ tree*
 *              target = 0 ‖ height u64  |  1 ‖ str(ref)
 *              tree   = str(name) ‖ varint(nOps) ‖ op*
 *              op     = bytes(key) ‖ 0 (delete) | 1 ‖ bytes(value)
 *   2 REF      str(name) ‖ 0 (delete) | 1 ‖ root[32]
 *   3 ROLLBACK height u64
 *   4 RETAIN   varint(n)
 *   5 PIN      root[32]      6 UNPIN root[32]
 *   str/bytes = varint(len) ‖ bytes.   Heights are u64 LE (< 2^53).
 *
 * State record = varint(version=1) ‖ headHeight u64 ‖ varint(retain) ‖
 *   varint(nHeights) ‖ (height u64 ‖ root[32])* ascending ‖
 *   varint(nRefs) ‖ (str(name) ‖ root[32])* by name ‖
 *   varint(nPins) ‖ (root[32] ‖ varint(count))* by root
 *
 * Invariants: encodings are canonical (sorted maps, minimal varints) so the
 * same state gives the same bytes; decoders reject anything else with
 * CODEC_MALFORMED, which the caller reports as STORE_CORRUPT.
 * Costs: linear in the record size.
 */
import { bytesToHex, HeliosError, Reader, varintSize, writeVarint } from "../core/index.js";
import { HASH_BYTES } from "../core/index.js";
import type { Op } from "../merkle/index.js";

export class Writer {
  private buf: Uint8Array;
  pos = 0;
  /** `capacity`: the exact size when known (no growth, no final copy). */
  constructor(capacity = 256) {
    this.buf = new Uint8Array(Math.max(16, capacity));
  }
  private ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    let cap = this.buf.length * 2;
    while (cap < this.pos + n) cap *= 2;
    const b = new Uint8Array(cap);
    b.set(this.buf.subarray(0, this.pos));
    this.buf = b;
  }
  u8(v: number): void {
    this.ensure(1);
    this.buf[this.pos++] = v;
  }
  varint(v: number): void {
    this.ensure(varintSize(v));
    this.pos = writeVarint(this.buf, this.pos, v);
  }
  u64(v: number): void {
    this.ensure(8);
    new DataView(this.buf.buffer).setBigUint64(this.pos, BigInt(v), true);
    this.pos += 8;
  }
  raw(b: Uint8Array): void {
    this.ensure(b.length);
    this.buf.set(b, this.pos);
    this.pos += b.length;
  }
  bytes(b: Uint8Array): void {
    this.varint(b.length);
    this.raw(b);
  }
  /** bytes(key) ‖ 0, or bytes(key) ‖ 1 ‖ bytes(value): the hot loop of a commit record, inlined. */
  op(key: Uint8Array, value: Uint8Array | null | undefined): void {
    const kl = key.length;
    const vl = value === undefined || value === null ? -1 : value.length;
    this.ensure(kl + (vl < 0 ? 0 : vl) + 12);
    const b = this.buf;
    let p = this.pos;
    if (kl < 128) b[p++] = kl;
    else p = writeVarint(b, p, kl);
    if (kl <= 64) for (let i = 0; i < kl; i++) b[p + i] = key[i] as number;
    else b.set(key, p);
    p += kl;
    if (vl < 0) b[p++] = 0;
    else {
      const v = value as Uint8Array;
      b[p++] = 1;
      if (vl < 128) b[p++] = vl;
      else p = writeVarint(b, p, vl);
      if (vl <= 64) for (let i = 0; i < vl; i++) b[p + i] = v[i] as number;
      else b.set(v, p);
      p += vl;
    }
    this.pos = p;
  }
  str(s: string): void {
    this.bytes(new TextEncoder().encode(s));
  }
  finish(): Uint8Array {
    return this.pos === this.buf.length ? this.buf : this.buf.slice(0, this.pos);
  }
}

function u64(r: Reader): number {
  const b = r.bytes(8);
  const v = new DataView(b.buffer, b.byteOffset, 8).getBigUint64(0, true);
  if (v > BigInt(Number.MAX_SAFE_INTEGER)) r.fail("height out of range");
  return Number(v);
}
function str(r: Reader): string {
  return new TextDecoder("utf-8", { fatal: true }).decode(r.bytes(r.varint()));
}
function root(r: Reader): Uint8Array {
  return r.bytes(HASH_BYTES).slice();
}

export type Target = { height: number } | { ref: string };

export type LogRecord =
  | { kind: "commit"; target: Target; base: Uint8Array; root: Uint8Array; trees: [string, Op[]][] }
  | { kind: "ref"; name: string; root: Uint8Array | null }
  | { kind: "rollback"; height: number }
  | { kind: "retain"; n: number }
  | { kind: "pin"; root: Uint8Array }
  | { kind: "unpin"; root: Uint8Array }
  | { kind: "adopt"; height: number; root: Uint8Array };

const lenOf = (n: number) => varintSize(n) + n;

/** Exact encoded size of a commit record (so the writer allocates once). */
function commitSize(rec: Extract<LogRecord, { kind: "commit" }>): number {
  let n =
    2 +
    ("height" in rec.target ? 8 : lenOf(utf8Length(rec.target.ref))) +
    2 * HASH_BYTES +
    varintSize(rec.trees.length);
  for (const [name, ops] of rec.trees) {
    n += lenOf(utf8Length(name)) + varintSize(ops.length);
    for (const op of ops) {
      n += lenOf(op.key.length) + 1;
      if (op.value !== undefined && op.value !== null) n += lenOf(op.value.length);
    }
  }
  return n;
}

function utf8Length(s: string): number {
  return Buffer.byteLength(s, "utf8");
}

export function encodeRecord(rec: LogRecord): Uint8Array {
  const w = new Writer(rec.kind === "commit" ? commitSize(rec) : 256);
  switch (rec.kind) {
    case "commit": {
      w.u8(1);
      if ("height" in rec.target) {
        w.u8(0);
        w.u64(rec.target.height);
      } else {
        w.u8(1);
        w.str(rec.target.ref);
      }
      w.raw(rec.base);
      w.raw(rec.root);
      w.varint(rec.trees.length);
      for (const [name, ops] of rec.trees) {
        w.str(name);
        w.varint(ops.length);
        for (const op of ops) w.op(op.key, op.value);
      }
      break;
    }
    case "ref":
      w.u8(2);
      w.str(rec.name);
      if (rec.root === null) w.u8(0);
      else {
        w.u8(1);
        w.raw(rec.root);
      }
      break;
    case "rollback":
      w.u8(3);
      w.u64(rec.height);
      break;
    case "retain":
      w.u8(4);
      w.varint(rec.n);
      break;
    case "pin":
    case "unpin":
      w.u8(rec.kind === "pin" ? 5 : 6);
      w.raw(rec.root);
      break;
    case "adopt":
      w.u8(7);
      w.u64(rec.height);
      w.raw(rec.root);
      break;
  }
  return w.finish();
}

export function decodeRecord(body: Uint8Array): LogRecord {
  const r = new Reader(body);
  let rec: LogRecord;
  switch (r.byte()) {
    case 1: {
      const t = r.byte();
      if (t > 1) r.fail("bad commit target");
      const target: Target = t === 0 ? { height: u64(r) } : { ref: str(r) };
      const base = root(r);
      const newRoot = root(r);
      const n = r.varint();
      const trees: [string, Op[]][] = [];
      for (let i = 0; i < n; i++) {
        const name = str(r);
        const nOps = r.varint();
        const ops: Op[] = [];
        for (let j = 0; j < nOps; j++) {
          const key = r.bytes(r.varint());
          const has = r.byte();
          if (has === 0) ops.push({ key, value: null });
          else if (has === 1) ops.push({ key, value: r.bytes(r.varint()) });
          else r.fail("bad op flag");
        }
        trees.push([name, ops]);
      }
      rec = { kind: "commit", target, base, root: newRoot, trees };
      break;
    }
    case 2: {
      const name = str(r);
      const has = r.byte();
      if (has > 1) r.fail("bad ref flag");
      rec = { kind: "ref", name, root: has === 1 ? root(r) : null };
      break;
    }
    case 3:
      rec = { kind: "rollback", height: u64(r) };
      break;
    case 4:
      rec = { kind: "retain", n: r.varint() };
      break;
    case 5:
      rec = { kind: "pin", root: root(r) };
      break;
    case 6:
      rec = { kind: "unpin", root: root(r) };
      break;
    case 7: {
      const height = u64(r);
      rec = { kind: "adopt", height, root: root(r) };
      break;
    }
    default:
      return r.fail("unknown record kind");
  }
  r.done();
  return rec;
}

export interface HistoryState {
  head: number;
  retain: number;
  heights: Map<number, Uint8Array>;
  refs: Map<string, Uint8Array>;
  pins: Map<string, { root: Uint8Array; count: number }>;
}

export function encodeState(s: HistoryState): Uint8Array {
  const w = new Writer();
  w.varint(1);
  w.u64(s.head);
  w.varint(s.retain);
  const hs = [...s.heights.keys()].sort((a, b) => a - b);
  w.varint(hs.length);
  for (const h of hs) {
    w.u64(h);
    w.raw(s.heights.get(h) as Uint8Array);
  }
  const names = [...s.refs.keys()].sort();
  w.varint(names.length);
  for (const n of names) {
    w.str(n);
    w.raw(s.refs.get(n) as Uint8Array);
  }
  const pins = [...s.pins.keys()].sort();
  w.varint(pins.length);
  for (const k of pins) {
    const p = s.pins.get(k) as { root: Uint8Array; count: number };
    w.raw(p.root);
    w.varint(p.count);
  }
  return w.finish();
}

export function decodeState(b: Uint8Array): HistoryState {
  try {
    const r = new Reader(b);
    if (r.varint() !== 1) r.fail("unknown state version");
    const head = u64(r);
    const retain = r.varint();
    const heights = new Map<number, Uint8Array>();
    for (let i = r.varint(); i > 0; i--) {
      const h = u64(r);
      heights.set(h, root(r));
    }
    const refs = new Map<string, Uint8Array>();
    for (let i = r.varint(); i > 0; i--) {
      const n = str(r);
      refs.set(n, root(r));
    }
    const pins = new Map<string, { root: Uint8Array; count: number }>();
    for (let i = r.varint(); i > 0; i--) {
      const p = root(r);
      pins.set(bytesToHex(p), { root: p, count: r.varint() });
    }
    r.done();
    if (!heights.has(head)) r.fail("head height missing from the height table");
    return { head, retain, heights, refs, pins };
  } catch (e) {
    throw new HeliosError(
      "STORE_CORRUPT",
      { record: "state" },
      `state record does not decode: ${(e as Error).message}`,
    );
  }
}
