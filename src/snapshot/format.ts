/**
 * snapshot/format — the bytes of a snapshot: manifest, chunk body, chunk
 * file (compression envelope) and the proof "skeleton" transcoding.
 * docs/spec/snapshot.md is normative; this file implements it.
 *
 * A chunk body is canonical: the same (root, index, range) gives the same
 * bytes on every machine, so its BLAKE3 hash (listed in the manifest) is too.
 * The compressed file wraps the body; the manifest hashes the body, not the
 * file, so the codec never changes which state a chunk proves.
 *
 * Invariants: every decoder rejects trailing bytes, non-minimal varints and
 * out-of-range lengths with a coded error (SNAPSHOT_MANIFEST_INVALID,
 * SNAPSHOT_CHUNK_MALFORMED, SNAPSHOT_CHUNK_BAD_COMPRESSION); nothing here
 * touches a store or the disk.
 * Costs: encode/decode are one pass over the bytes; the skeleton transcode is
 * one pass over the witness; the file envelope adds one BLAKE3 over the
 * compressed bytes and one (de)compression.
 */
import { compressSync as lz4Compress, uncompressSync as lz4Decompress } from "lz4-napi";
import { compress as zstdCompress, decompress as zstdDecompress } from "zstd-napi";
import {
  compareBytes,
  copyBytes,
  equalRange,
  HASH_BYTES,
  HeliosError,
  hash,
  isHeliosError,
  Reader,
  utf8,
} from "../core/index.js";
import { Writer } from "../history/index.js";
import {
  MAX_KEY_BYTES,
  MAX_VALUE_BYTES,
  P_BRANCH,
  P_EMPTY,
  P_HASH,
  P_LEAF,
  P_LEAFV,
  P_SPLIT,
} from "../merkle/index.js";

export const FORMAT_VERSION = 1;
const MANIFEST_MAGIC = utf8("HSM1");
const CHUNK_MAGIC = utf8("HSC1");
/** Offset of a chunk body's index: magic 4 + version 1 + kind 1 + root 32 + baseRoot 32. */
const INDEX_OFFSET = 4 + 1 + 1 + HASH_BYTES + HASH_BYTES;
const FILE_MAGIC = utf8("HSF1");
/** The skeleton's stand-in for a revealed leaf whose key and value are in the payload. */
export const P_SLOT = 0x06;
/** Bytes of BLAKE3(compressed) kept in a chunk file's envelope. */
const FILE_CHECK = 16;
const MAX_TREE_BYTES = 64;
/** Largest chunk body a reader accepts (a chunk holds ≥ 1 entry, and a value may be 16 MiB). */
export const MAX_CHUNK_BODY = 64 * 1024 * 1024;

export type Codec = "zstd" | "lz4" | "none";
const CODECS: readonly Codec[] = ["none", "lz4", "zstd"];
export type SnapshotKind = "full" | "incremental";

/** A point in the snapshot's total order: (tree name bytes, key). Tree "" is the beginning. */
export interface Position {
  tree: Uint8Array;
  key: Uint8Array;
}
export const BEGIN: Position = { tree: new Uint8Array(0), key: new Uint8Array(0) };

export function comparePos(a: Position, b: Position): number {
  return compareBytes(a.tree, b.tree) || compareBytes(a.key, b.key);
}

export interface ChunkMeta {
  /** BLAKE3 of the chunk body (uncompressed). */
  hash: Uint8Array;
  rawBytes: number;
  fileBytes: number;
  /** Entries (full) or changes (incremental) in the chunk. */
  entries: number;
  /** First position the chunk covers; it ends where the next one starts (the last: at the end). */
  start: Position;
}

export interface Manifest {
  version: number;
  kind: SnapshotKind;
  codec: Codec;
  height: number;
  root: Uint8Array;
  /** Incremental only (else 0 and EMPTY). */
  baseHeight: number;
  baseRoot: Uint8Array;
  chunkBytes: number;
  chunks: ChunkMeta[];
}

export function manifestTotals(m: Manifest): { rawBytes: number; fileBytes: number; entries: number } {
  let rawBytes = 0;
  let fileBytes = 0;
  let entries = 0;
  for (const c of m.chunks) {
    rawBytes += c.rawBytes;
    fileBytes += c.fileBytes;
    entries += c.entries;
  }
  return { rawBytes, fileBytes, entries };
}

function u64(w: Writer, v: number): void {
  w.u64(v);
}
function readU64(r: Reader): number {
  const b = r.bytes(8);
  const v = new DataView(b.buffer, b.byteOffset, 8).getBigUint64(0, true);
  if (v > BigInt(Number.MAX_SAFE_INTEGER)) r.fail("u64 out of range");
  return Number(v);
}
function u32(w: Writer, v: number): void {
  w.u8(v & 255);
  w.u8((v >>> 8) & 255);
  w.u8((v >>> 16) & 255);
  w.u8((v >>> 24) & 255);
}
function readU32(r: Reader): number {
  const b = r.bytes(4);
  return ((b[0] as number) | ((b[1] as number) << 8) | ((b[2] as number) << 16) | ((b[3] as number) << 24)) >>> 0;
}
function readBytes(r: Reader, max: number): Uint8Array {
  const n = r.varint();
  if (n > max) r.fail("length out of range");
  return r.bytes(n);
}
function writePos(w: Writer, p: Position): void {
  w.bytes(p.tree);
  w.bytes(p.key);
}
function readPos(r: Reader): Position {
  const tree = readBytes(r, MAX_TREE_BYTES);
  const key = readBytes(r, MAX_KEY_BYTES);
  return { tree, key };
}

// ---------------------------------------------------------------- manifest

/** manifest file = body ‖ BLAKE3(body). */
export function encodeManifest(m: Manifest): Uint8Array {
  const w = new Writer(128 + m.chunks.length * 96);
  w.raw(MANIFEST_MAGIC);
  w.u8(m.version);
  w.u8(m.kind === "full" ? 0 : 1);
  w.u8(CODECS.indexOf(m.codec));
  u64(w, m.height);
  w.raw(m.root);
  u64(w, m.baseHeight);
  w.raw(m.baseRoot);
  u32(w, m.chunkBytes);
  w.varint(m.chunks.length);
  for (const c of m.chunks) {
    w.raw(c.hash);
    u32(w, c.rawBytes);
    u32(w, c.fileBytes);
    u32(w, c.entries);
    writePos(w, c.start);
  }
  const body = w.finish();
  const out = new Uint8Array(body.length + HASH_BYTES);
  out.set(body);
  out.set(hash(body), body.length);
  return out;
}

/** The manifest's id: BLAKE3 of its body (the last 32 bytes of the file). */
export function manifestId(bytes: Uint8Array): Uint8Array {
  return bytes.slice(bytes.length - HASH_BYTES);
}

export function decodeManifest(bytes: Uint8Array): Manifest {
  const bad = (why: string): never => {
    throw new HeliosError("SNAPSHOT_MANIFEST_INVALID", {}, why);
  };
  if (!(bytes instanceof Uint8Array) || bytes.length < MANIFEST_MAGIC.length + HASH_BYTES) bad("too short");
  const body = bytes.subarray(0, bytes.length - HASH_BYTES);
  if (!equalRange(hash(body), 0, bytes, body.length, HASH_BYTES)) bad("the manifest fails its hash");
  try {
    const r = new Reader(body);
    if (!equalRange(r.bytes(4), 0, MANIFEST_MAGIC, 0, 4)) r.fail("not a Helios snapshot manifest");
    const version = r.byte();
    if (version !== FORMAT_VERSION) r.fail(`format version ${version} (this build reads ${FORMAT_VERSION})`);
    const kindId = r.byte();
    if (kindId > 1) r.fail("unknown kind");
    const codecId = r.byte();
    if (codecId >= CODECS.length) r.fail("unknown codec");
    const height = readU64(r);
    const root = copyBytes(r.bytes(HASH_BYTES));
    const baseHeight = readU64(r);
    const baseRoot = copyBytes(r.bytes(HASH_BYTES));
    const chunkBytes = readU32(r);
    const n = r.varint();
    if (n < 1 || n > 10_000_000) r.fail("chunk count out of range");
    const chunks: ChunkMeta[] = [];
    for (let i = 0; i < n; i++) {
      const h = copyBytes(r.bytes(HASH_BYTES));
      const rawBytes = readU32(r);
      const fileBytes = readU32(r);
      const entries = readU32(r);
      const start = readPos(r);
      chunks.push({
        hash: h,
        rawBytes,
        fileBytes,
        entries,
        start: { tree: copyBytes(start.tree), key: copyBytes(start.key) },
      });
    }
    r.done();
    if (comparePos(chunks[0]?.start as Position, BEGIN) !== 0)
      r.fail("the first chunk does not start at the beginning");
    for (let i = 1; i < n; i++) {
      if (comparePos((chunks[i - 1] as ChunkMeta).start, (chunks[i] as ChunkMeta).start) >= 0) {
        r.fail(`chunk ${i} does not start after chunk ${i - 1}`);
      }
    }
    return {
      version,
      kind: kindId === 0 ? "full" : "incremental",
      codec: CODECS[codecId] as Codec,
      height,
      root,
      baseHeight,
      baseRoot,
      chunkBytes,
      chunks,
    };
  } catch (e) {
    if (isHeliosError(e, "CODEC_MALFORMED")) bad(e.message);
    throw e;
  }
}

// -------------------------------------------------------------- chunk body

export interface Segment {
  tree: Uint8Array;
  /** Incremental chunks: the tree's root in the target version (proven by the forest proof). */
  treeRoot: Uint8Array | undefined;
  /** Full: the range proof's skeleton (P_SLOT for each entry). Incremental: a multi-key proof. */
  proof: Uint8Array;
  /** Full: entries (value set). Incremental: changes (value null = delete). */
  entries: { key: Uint8Array; value: Uint8Array | null }[];
}

export interface ChunkBody {
  kind: SnapshotKind;
  root: Uint8Array;
  baseRoot: Uint8Array;
  index: number;
  start: Position;
  end: Position | undefined;
  forestProof: Uint8Array;
  segments: Segment[];
}

/**
 * body = magic ‖ version ‖ kind ‖ root ‖ baseRoot ‖ index u32 ‖ start ‖ hasEnd [‖ end]
 *      ‖ bytes(forestProof) ‖ nseg ‖ (tree ‖ [treeRoot] ‖ bytes(proof))*      — the proof section
 *      ‖ (n ‖ (key ‖ [flag] ‖ value)*)*                                           — the payload
 */
export function encodeChunk(c: ChunkBody, sizeHint = 1024): Uint8Array {
  const w = new Writer(sizeHint);
  w.raw(CHUNK_MAGIC);
  w.u8(FORMAT_VERSION);
  w.u8(c.kind === "full" ? 0 : 1);
  w.raw(c.root);
  w.raw(c.baseRoot);
  u32(w, c.index);
  writePos(w, c.start);
  if (c.end === undefined) w.u8(0);
  else {
    w.u8(1);
    writePos(w, c.end);
  }
  w.bytes(c.forestProof);
  w.varint(c.segments.length);
  for (const s of c.segments) {
    w.bytes(s.tree);
    if (c.kind === "incremental") w.raw(s.treeRoot as Uint8Array);
    w.bytes(s.proof);
  }
  for (const s of c.segments) {
    w.varint(s.entries.length);
    if (c.kind === "full") for (const e of s.entries) w.op(e.key, e.value ?? new Uint8Array(0));
    else for (const e of s.entries) w.op(e.key, e.value);
  }
  return w.finish();
}

export function decodeChunk(body: Uint8Array, index: number): ChunkBody {
  try {
    const r = new Reader(body);
    if (!equalRange(r.bytes(4), 0, CHUNK_MAGIC, 0, 4)) r.fail("not a Helios snapshot chunk");
    if (r.byte() !== FORMAT_VERSION) r.fail("unknown chunk format version");
    const kindId = r.byte();
    if (kindId > 1) r.fail("unknown kind");
    const kind: SnapshotKind = kindId === 0 ? "full" : "incremental";
    const root = r.bytes(HASH_BYTES);
    const baseRoot = r.bytes(HASH_BYTES);
    const idx = readU32(r);
    const start = readPos(r);
    const hasEnd = r.byte();
    if (hasEnd > 1) r.fail("bad end flag");
    const end = hasEnd === 1 ? readPos(r) : undefined;
    const forestProof = readBytes(r, MAX_CHUNK_BODY);
    const nseg = r.varint();
    if (nseg > 1_000_000) r.fail("segment count out of range");
    const segments: Segment[] = [];
    for (let i = 0; i < nseg; i++) {
      const tree = readBytes(r, MAX_TREE_BYTES);
      const treeRoot = kind === "incremental" ? r.bytes(HASH_BYTES) : undefined;
      const proof = readBytes(r, MAX_CHUNK_BODY);
      segments.push({ tree, treeRoot, proof, entries: [] });
    }
    for (const s of segments) {
      const n = r.varint();
      if (n > body.length) r.fail("entry count out of range");
      for (let i = 0; i < n; i++) {
        const key = readBytes(r, MAX_KEY_BYTES);
        const flag = r.byte();
        if (flag === 1) s.entries.push({ key, value: readBytes(r, MAX_VALUE_BYTES) });
        else if (flag === 0 && kind === "incremental") s.entries.push({ key, value: null });
        else r.fail("bad entry flag");
      }
    }
    r.done();
    return { kind, root, baseRoot, index: idx, start, end, forestProof, segments };
  } catch (e) {
    if (isHeliosError(e, "CODEC_MALFORMED")) {
      throw new HeliosError("SNAPSHOT_CHUNK_MALFORMED", { chunk: index, reason: "malformed" }, e.message);
    }
    throw e;
  }
}

// ---------------------------------------------------------- file envelope

/** file = "HSF1" ‖ codec u8 ‖ rawLen u32 ‖ BLAKE3(compressed)[0..16) ‖ compressed */
export function encodeFile(body: Uint8Array, codec: Codec, zstdLevel = 3): Uint8Array {
  const c =
    codec === "zstd"
      ? zstdCompress(body, { compressionLevel: zstdLevel })
      : codec === "lz4"
        ? lz4Compress(Buffer.from(body.buffer, body.byteOffset, body.length))
        : body;
  const out = new Uint8Array(9 + FILE_CHECK + c.length);
  out.set(FILE_MAGIC, 0);
  out[4] = CODECS.indexOf(codec);
  new DataView(out.buffer).setUint32(5, body.length, true);
  out.set(hash(c).subarray(0, FILE_CHECK), 9);
  out.set(c, 9 + FILE_CHECK);
  return out;
}

export function decodeFile(file: Uint8Array, index: number): Uint8Array {
  const bad = (why: string): never => {
    throw new HeliosError("SNAPSHOT_CHUNK_BAD_COMPRESSION", { chunk: index, reason: "bad compression" }, why);
  };
  if (!(file instanceof Uint8Array) || file.length < 9 + FILE_CHECK) bad("shorter than a chunk file header");
  if (!equalRange(file, 0, FILE_MAGIC, 0, 4)) bad("not a Helios chunk file");
  const codec = CODECS[file[4] as number];
  if (codec === undefined) bad("unknown codec");
  const rawLen = new DataView(file.buffer, file.byteOffset, file.length).getUint32(5, true);
  if (rawLen > MAX_CHUNK_BODY) bad("declared size out of range");
  const c = file.subarray(9 + FILE_CHECK);
  if (!equalRange(hash(c), 0, file, 9, FILE_CHECK)) bad("the compressed bytes fail their check hash");
  let body: Uint8Array;
  try {
    body =
      codec === "zstd"
        ? zstdDecompress(c)
        : codec === "lz4"
          ? lz4Decompress(Buffer.from(c.buffer, c.byteOffset, c.length))
          : c;
  } catch (e) {
    return bad(`does not decompress: ${(e as Error).message}`);
  }
  if (body.length !== rawLen) bad("decompressed size differs from the declared size");
  return body;
}

// ------------------------------------------------------- proof skeletons

/**
 * Rewrites a witness: LEAFV records become P_SLOT (toSkeleton, collecting
 * the entries) or P_SLOT records become LEAFV from the entries given
 * (fromSkeleton). Every other record is copied. Hostile input gets
 * SNAPSHOT_CHUNK_BAD_PROOF (the skeleton is the chunk's proof).
 */
class Transcoder {
  pos = 0;
  out: Writer;
  slots = 0;
  readonly collected: { key: Uint8Array; value: Uint8Array }[] = [];
  constructor(
    readonly buf: Uint8Array,
    readonly toSkel: boolean,
    readonly entries: readonly { key: Uint8Array; value: Uint8Array | null }[] | undefined,
    readonly index: number,
    sizeHint: number,
  ) {
    this.out = new Writer(sizeHint);
  }
  fail(why: string): never {
    throw new HeliosError("SNAPSHOT_CHUNK_BAD_PROOF", { chunk: this.index, reason: "bad proof" }, why);
  }
  byte(): number {
    if (this.pos >= this.buf.length) this.fail("proof truncated");
    return this.buf[this.pos++] as number;
  }
  copy(n: number): void {
    if (n > this.buf.length - this.pos) this.fail("proof truncated");
    this.out.raw(this.buf.subarray(this.pos, this.pos + n));
    this.pos += n;
  }
  varint(): number {
    const r = new Reader(this.buf, this.pos);
    try {
      const v = r.varint();
      this.pos = r.pos;
      return v;
    } catch {
      return this.fail("bad varint in proof");
    }
  }
  run(): Uint8Array {
    if (this.buf.length === 1 && this.buf[0] === P_EMPTY) {
      this.pos = 1;
      this.out.u8(P_EMPTY);
    } else this.trie(0);
    if (this.pos !== this.buf.length) this.fail("trailing bytes after the proof");
    return this.out.finish();
  }
  trie(depth: number): void {
    if (depth > 2 * MAX_KEY_BYTES + 2) this.fail("proof nests too deep");
    const tag = this.byte();
    switch (tag) {
      case P_HASH:
        this.out.u8(tag);
        this.copy(HASH_BYTES);
        return;
      case P_LEAF: {
        this.out.u8(tag);
        const kl = this.varint();
        if (kl > MAX_KEY_BYTES) this.fail("key too long");
        this.out.varint(kl);
        this.copy(kl + HASH_BYTES);
        return;
      }
      case P_LEAFV: {
        if (!this.toSkel) this.fail("a value inside a skeleton");
        const kl = this.varint();
        if (kl > MAX_KEY_BYTES || kl > this.buf.length - this.pos) this.fail("key out of range");
        const key = this.buf.subarray(this.pos, this.pos + kl);
        this.pos += kl;
        const vl = this.varint();
        if (vl > MAX_VALUE_BYTES || vl > this.buf.length - this.pos) this.fail("value out of range");
        const value = this.buf.subarray(this.pos, this.pos + vl);
        this.pos += vl;
        this.collected.push({ key, value });
        this.out.u8(P_SLOT);
        return;
      }
      case P_SLOT: {
        if (this.toSkel) this.fail("a slot inside a witness");
        const e = this.entries?.[this.slots++];
        if (e === undefined) {
          throw new HeliosError(
            "SNAPSHOT_CHUNK_MISSING_KEYS",
            { chunk: this.index, reason: "missing keys" },
            `chunk ${this.index}: the proof holds more entries than the chunk carries`,
          );
        }
        this.out.u8(P_LEAFV);
        this.out.bytes(e.key);
        this.out.bytes(e.value ?? new Uint8Array(0));
        return;
      }
      case P_BRANCH: {
        this.out.u8(tag);
        const skip = this.varint();
        if (skip > 2 * MAX_KEY_BYTES + 1) this.fail("skip too long");
        this.out.varint(skip);
        this.copy((skip + 1) >> 1);
        if (this.buf.length - this.pos < 3) this.fail("proof truncated");
        const bitmap =
          (this.buf[this.pos] as number) |
          ((this.buf[this.pos + 1] as number) << 8) |
          ((this.buf[this.pos + 2] as number) << 16);
        this.copy(3);
        let k = 0;
        for (let s = 0; s < 17; s++) if ((bitmap >> s) & 1) k++;
        if (k < 2 || bitmap >> 17 !== 0) this.fail("bad branch bitmap");
        this.inner(k, depth + 1);
        return;
      }
      default:
        this.fail(`unknown proof tag ${tag}`);
    }
  }
  inner(n: number, depth: number): void {
    if (n === 1) {
      this.trie(depth);
      return;
    }
    const tag = this.byte();
    if (tag === P_HASH) {
      this.out.u8(tag);
      this.copy(HASH_BYTES);
      return;
    }
    if (tag !== P_SPLIT) this.fail("expected HASH or SPLIT inside a branch");
    this.out.u8(tag);
    let m = 1;
    while (m * 2 < n) m *= 2;
    this.inner(m, depth);
    this.inner(n - m, depth);
  }
}

/** A range witness → its skeleton and the in-range entries it revealed (views into the witness). */
export function toSkeleton(witness: Uint8Array): {
  skeleton: Uint8Array;
  entries: { key: Uint8Array; value: Uint8Array }[];
} {
  const t = new Transcoder(witness, true, undefined, -1, 256);
  const skeleton = t.run();
  return { skeleton, entries: t.collected };
}

/**
 * A skeleton plus its entries → the range witness the verifier reads, in one
 * pass: a slot with no entry left is MISSING_KEYS, an entry left over after
 * the last slot is INJECTED_KEYS.
 */
export function fromSkeleton(
  skeleton: Uint8Array,
  entries: readonly { key: Uint8Array; value: Uint8Array | null }[],
  index: number,
  sizeHint: number,
): Uint8Array {
  const t = new Transcoder(skeleton, false, entries, index, sizeHint);
  const witness = t.run();
  if (t.slots < entries.length) {
    throw new HeliosError(
      "SNAPSHOT_CHUNK_INJECTED_KEYS",
      { chunk: index, reason: "injected keys" },
      `chunk ${index}: ${entries.length - t.slots} entries more than the proof holds`,
    );
  }
  return witness;
}

/** Sets the index field of an encoded chunk body (chunks are numbered as they are yielded, after building). */
export function setChunkIndex(body: Uint8Array, index: number): Uint8Array {
  const at = INDEX_OFFSET;
  body[at] = index & 255;
  body[at + 1] = (index >>> 8) & 255;
  body[at + 2] = (index >>> 16) & 255;
  body[at + 3] = (index >>> 24) & 255;
  return body;
}
