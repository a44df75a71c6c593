/**
 * sandbox/ckpt-format — the canonical encodings of a directory checkpoint
 * (docs/spec/checkpoint.md is the normative text): the trees of a checkpoint
 * version, path keys, file entries, change hints, chunk values, chunk
 * reference records, and the checks that make a stored path safe to restore.
 *
 * A checkpoint is one forest version with five trees:
 *
 *   files      pathKey(path) → entry       (dir | file | symlink, mode, mtime, …)
 *   hints      pathKey(path) → hint        (ino, ctime, racy: when to trust mtime)
 *   chunks     BLAKE3(raw chunk) → chunk   (flag ‖ zstd frame or raw bytes)
 *   chunkrefs  BLAKE3(raw chunk) → record  (reference count, raw and stored size)
 *   meta       name → value                (source, time, parent, chunker, stats, bloom)
 *
 * Invariants: every encoding is canonical (one byte string per value;
 * decoders reject anything else with CHECKPOINT_CORRUPT); `files` holds only
 * what a restore reproduces, so two checkpoints of identical trees have
 * identical `files` roots, and their diff is empty (the change-detection
 * hints live apart, in `hints`); a path that `checkSafePath` accepts cannot
 * name anything outside the directory it is joined to.
 * Costs: O(size) per encode/decode; no I/O.
 */
import { equalBytes, HASH_BYTES, HeliosError, hash, utf8 } from "../core/index.js";
import { MAX_KEY_BYTES } from "../merkle/index.js";

export const FORMAT = 1;

/** Tree names inside a checkpoint version. */
export const T_FILES = "files";
export const T_HINTS = "hints";
export const T_CHUNKS = "chunks";
export const T_CHUNKREFS = "chunkrefs";
export const T_META = "meta";

/** Meta keys. */
export const M_FORMAT = "format";
export const M_SOURCE = "source";
export const M_TIME = "time";
export const M_PARENT = "parent";
export const M_CHUNKER = "chunker";
export const M_STATS = "stats";
export const M_BLOOM = "bloom";

/** A checkpoint's ref is `checkpoint/<64 hex of its root>`. */
export const REF_PREFIX = "checkpoint/";

export type EntryKind = "dir" | "file" | "symlink";
const KIND_CODE: Record<EntryKind, number> = { dir: 1, file: 2, symlink: 3 };
const KIND_OF: readonly (EntryKind | undefined)[] = [undefined, "dir", "file", "symlink"];

export interface ChunkRef {
  /** BLAKE3-256 of the raw chunk bytes. */
  hash: Uint8Array;
  /** Raw length in bytes (1 … 16 MiB). */
  len: number;
}

/** One stored path: what a restore reproduces. */
export interface Entry {
  kind: EntryKind;
  /** Permission bits of st_mode, including setuid, setgid and sticky (≤ 0o7777). */
  mode: number;
  /** Modification time in nanoseconds since the epoch (signed). */
  mtimeNs: bigint;
  /** Files: the byte length (the sum of the chunk lengths); 0 for dirs and symlinks. */
  size: number;
  /** Files: the chunks in order (empty for an empty file, dirs and symlinks). */
  chunks: ChunkRef[];
  /** Symlinks: the target bytes as readlink returns them (1 … 4095 bytes, no NUL). */
  target?: Uint8Array;
}

/** Largest chunk length an entry may name (MAX_VALUE_BYTES of the map). */
export const MAX_CHUNK_LEN = 16 * 1024 * 1024;
/** Longest symlink target (PATH_MAX − 1). */
export const MAX_TARGET_BYTES = 4095;
/** Longest path (PATH_MAX − 1) and component (NAME_MAX). */
export const MAX_PATH_BYTES = 4095;
export const MAX_NAME_BYTES = 255;
/** Long paths keep this many leading bytes in their key (see pathKey). */
export const LONG_PREFIX_BYTES = 222;

function corrupt(detail: string, ctx: Record<string, unknown> = {}): never {
  throw new HeliosError("CHECKPOINT_CORRUPT", ctx, detail);
}

// ------------------------------------------------------------------ byte helpers

/** A growable byte writer for the encodings here. */
class Out {
  buf: Uint8Array;
  len = 0;
  constructor(cap = 64) {
    this.buf = new Uint8Array(cap);
  }
  private room(n: number): void {
    if (this.len + n <= this.buf.length) return;
    let cap = this.buf.length * 2;
    while (cap < this.len + n) cap *= 2;
    const b = new Uint8Array(cap);
    b.set(this.buf.subarray(0, this.len));
    this.buf = b;
  }
  u8(v: number): void {
    this.room(1);
    this.buf[this.len++] = v;
  }
  /** Unsigned LEB128 up to 2^53 − 1. */
  uvar(v: number): void {
    this.room(8);
    while (v >= 0x80) {
      this.buf[this.len++] = (v % 0x80) | 0x80;
      v = Math.floor(v / 0x80);
    }
    this.buf[this.len++] = v;
  }
  u64(v: bigint): void {
    this.room(8);
    new DataView(this.buf.buffer).setBigUint64(this.len, BigInt.asUintN(64, v), true);
    this.len += 8;
  }
  i64(v: bigint): void {
    this.room(8);
    new DataView(this.buf.buffer).setBigInt64(this.len, BigInt.asIntN(64, v), true);
    this.len += 8;
  }
  bytes(b: Uint8Array): void {
    this.room(b.length);
    this.buf.set(b, this.len);
    this.len += b.length;
  }
  done(): Uint8Array {
    return this.buf.slice(0, this.len);
  }
}

/** A reader whose every failure is CHECKPOINT_CORRUPT naming `what`. */
class In {
  pos = 0;
  constructor(
    readonly buf: Uint8Array,
    readonly what: string,
  ) {}
  fail(detail: string): never {
    corrupt(`${this.what}: ${detail}`, { pos: this.pos });
  }
  u8(): number {
    if (this.pos >= this.buf.length) this.fail("truncated");
    return this.buf[this.pos++] as number;
  }
  /** Canonical unsigned LEB128 ≤ max. */
  uvar(max = Number.MAX_SAFE_INTEGER): number {
    let v = 0;
    let mul = 1;
    for (let i = 0; i < 8; i++) {
      const b = this.u8();
      v += (b & 0x7f) * mul;
      if (b < 0x80) {
        if (b === 0 && i > 0) this.fail("non-minimal varint");
        if (v > max) this.fail(`value ${v} over ${max}`);
        return v;
      }
      mul *= 0x80;
    }
    return this.fail("varint too long");
  }
  u64(): bigint {
    if (this.pos + 8 > this.buf.length) this.fail("truncated");
    const v = new DataView(this.buf.buffer, this.buf.byteOffset, this.buf.byteLength).getBigUint64(this.pos, true);
    this.pos += 8;
    return v;
  }
  i64(): bigint {
    if (this.pos + 8 > this.buf.length) this.fail("truncated");
    const v = new DataView(this.buf.buffer, this.buf.byteOffset, this.buf.byteLength).getBigInt64(this.pos, true);
    this.pos += 8;
    return v;
  }
  bytes(n: number): Uint8Array {
    if (n > this.buf.length - this.pos) this.fail("truncated");
    const b = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return b;
  }
  end(): void {
    if (this.pos !== this.buf.length) this.fail("trailing bytes");
  }
}

// ------------------------------------------------------------------ paths

/**
 * The key of a path in `files` and `hints`: its UTF-8 bytes when they fit a
 * map key (≤ 256 bytes); else the first 222 bytes ‖ 0x00 ‖ BLAKE3(path), 255
 * bytes, and the entry carries the whole path. A path never holds 0x00, so
 * the two forms never collide, and a long key still sorts beside its prefix.
 */
export function pathKey(path: string | Uint8Array): Uint8Array {
  const b = typeof path === "string" ? utf8(path) : path;
  if (b.length <= MAX_KEY_BYTES) return b;
  const k = new Uint8Array(LONG_PREFIX_BYTES + 1 + HASH_BYTES);
  k.set(b.subarray(0, LONG_PREFIX_BYTES), 0);
  k[LONG_PREFIX_BYTES] = 0;
  k.set(hash(b), LONG_PREFIX_BYTES + 1);
  return k;
}

/** True when a key is the long form (it holds a 0x00 byte where a path cannot). */
export function isLongKey(key: Uint8Array): boolean {
  return key.length === LONG_PREFIX_BYTES + 1 + HASH_BYTES && key[LONG_PREFIX_BYTES] === 0;
}

/** ignoreBOM: a leading U+FEFF is part of a name; stripped, "\uFEFFfoo" and "foo" would decode alike. */
const fatal = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/** UTF-8 bytes → string (a leading byte-order mark kept), or undefined if they are not valid UTF-8. */
export function decodeUtf8(b: Uint8Array): string | undefined {
  try {
    return fatal.decode(b);
  } catch {
    return undefined;
  }
}

/**
 * Why a stored path is unsafe to join to a restore target, or undefined if
 * it is safe: the empty path (the root) or components separated by single
 * "/", none empty, "." or "..", none holding NUL or "\\" (a separator on
 * Windows: a path must mean the same thing everywhere), each ≤ 255 bytes,
 * the whole ≤ 4095 bytes.
 */
export function unsafePathReason(path: string): string | undefined {
  if (path === "") return undefined;
  if (path.startsWith("/")) return "absolute path";
  if (path.includes("\0")) return "NUL in path";
  if (path.includes("\\")) return "backslash in path";
  if (utf8(path).length > MAX_PATH_BYTES) return "path too long";
  for (const c of path.split("/")) {
    if (c === "") return "empty component (trailing or doubled /)";
    if (c === "." || c === "..") return `"${c}" component`;
    if (utf8(c).length > MAX_NAME_BYTES) return "component too long";
  }
  return undefined;
}

/** Throws CHECKPOINT_PATH_UNSAFE unless `path` is safe (see unsafePathReason). */
export function checkSafePath(path: string): string {
  const why = unsafePathReason(path);
  if (why !== undefined) throw new HeliosError("CHECKPOINT_PATH_UNSAFE", { path }, why);
  return path;
}

/** The path argument of a partial restore, normalized ("a/b/", "./a//b" → "a/b"); "" for the root. */
export function normalizeSubPath(p: string): string {
  if (typeof p !== "string") throw new HeliosError("INVALID_ARGUMENT", {}, "path must be a string");
  const parts = p.split("/").filter((c) => c !== "" && c !== ".");
  const n = parts.join("/");
  if (p.startsWith("/"))
    throw new HeliosError("CHECKPOINT_PATH_UNSAFE", { path: p }, "a sub-path is relative to the checkpoint's root");
  const why = unsafePathReason(n);
  if (why !== undefined) throw new HeliosError("CHECKPOINT_PATH_UNSAFE", { path: p }, why);
  return n;
}

/** The parent of a non-root path ("" for a top-level name). */
export function parentPath(path: string): string {
  const i = path.lastIndexOf("/");
  return i < 0 ? "" : path.slice(0, i);
}

/** Joins a relative path under a sub-path ("" is the root). */
export function joinPath(dir: string, name: string): string {
  return dir === "" ? name : `${dir}/${name}`;
}

/** True when `path` is `dir` or lies under it. */
export function isUnder(path: string, dir: string): boolean {
  return dir === "" || path === dir || (path.startsWith(dir) && path.charCodeAt(dir.length) === 0x2f);
}

// ------------------------------------------------------------------ entries

/**
 * entry = 0x01 ‖ kind u8 ‖ flags u8 ‖ uvar(mode) ‖ mtimeNs i64 LE
 *         ‖ [flags bit 0: uvar(pathLen) ‖ path]            (long paths only)
 *         ‖ file: size u64 LE ‖ uvar(n) ‖ n × (hash[32] ‖ uvar(len))
 *         ‖ symlink: uvar(targetLen) ‖ target
 */
export function encodeEntry(e: Entry, longPath?: Uint8Array): Uint8Array {
  const o = new Out(32 + (e.kind === "file" ? e.chunks.length * 36 : 0) + (e.target?.length ?? 0));
  o.u8(FORMAT);
  o.u8(KIND_CODE[e.kind]);
  o.u8(longPath === undefined ? 0 : 1);
  o.uvar(e.mode);
  o.i64(e.mtimeNs);
  if (longPath !== undefined) {
    o.uvar(longPath.length);
    o.bytes(longPath);
  }
  if (e.kind === "file") {
    o.u64(BigInt(e.size));
    o.uvar(e.chunks.length);
    for (const c of e.chunks) {
      o.bytes(c.hash);
      o.uvar(c.len);
    }
  } else if (e.kind === "symlink") {
    const t = e.target ?? new Uint8Array(0);
    o.uvar(t.length);
    o.bytes(t);
  }
  return o.done();
}

/** An entry decoded with the path it is stored under. */
export interface StoredEntry extends Entry {
  path: string;
}

/**
 * Decodes the entry stored under `key`: checks the encoding (CHECKPOINT_CORRUPT)
 * and that key and path agree. The path is not checked for safety here
 * (checkSafePath does that, before a restore).
 */
export function decodeEntry(key: Uint8Array, value: Uint8Array): StoredEntry {
  const r = new In(value, "file entry");
  if (r.u8() !== FORMAT) r.fail("unknown entry format");
  const kind = KIND_OF[r.u8()] ?? r.fail("unknown entry kind");
  const flags = r.u8();
  if ((flags & ~1) !== 0) r.fail("unknown flags");
  const mode = r.uvar(0o7777);
  const mtimeNs = r.i64();
  let pathBytes = key;
  if ((flags & 1) !== 0) {
    const n = r.uvar(MAX_PATH_BYTES);
    pathBytes = r.bytes(n);
    if (pathBytes.length <= MAX_KEY_BYTES || !equalBytes(pathKey(pathBytes), key)) {
      r.fail("the long path does not match its key");
    }
  }
  const path = decodeUtf8(pathBytes);
  if (path === undefined) {
    throw new HeliosError("CHECKPOINT_PATH_UNSAFE", { pathHex: Buffer.from(pathBytes).toString("hex") }, "not UTF-8");
  }
  const e: StoredEntry = { path, kind, mode, mtimeNs, size: 0, chunks: [] };
  if (kind === "file") {
    const size = r.u64();
    if (size > BigInt(Number.MAX_SAFE_INTEGER)) r.fail("size too large");
    e.size = Number(size);
    const n = r.uvar(0xffffffff);
    let sum = 0;
    for (let i = 0; i < n; i++) {
      const h = r.bytes(HASH_BYTES).slice();
      const len = r.uvar(MAX_CHUNK_LEN);
      if (len === 0) r.fail("empty chunk");
      sum += len;
      e.chunks.push({ hash: h, len });
    }
    if (sum !== e.size) r.fail("chunk lengths do not add up to the size");
  } else if (kind === "symlink") {
    const n = r.uvar(MAX_TARGET_BYTES);
    if (n === 0) r.fail("empty symlink target");
    e.target = r.bytes(n).slice();
    if (e.target.includes(0)) r.fail("NUL in symlink target");
  }
  r.end();
  return e;
}

/** The entry bytes for a path: the long form carries the path. */
export function entryValue(path: string, e: Entry): { key: Uint8Array; value: Uint8Array } {
  const b = utf8(path);
  const key = pathKey(b);
  return { key, value: encodeEntry(e, b.length > MAX_KEY_BYTES ? b : undefined) };
}

// ------------------------------------------------------------------ hints

/** What says whether a file is unchanged without reading it (besides size, mtime and mode in its entry). */
export interface Hint {
  ino: bigint;
  ctimeNs: bigint;
  /** The file changed too close to the checkpoint (or while it was read): never trust its mtime. */
  racy: boolean;
}

/** hint = ino u64 LE ‖ ctimeNs i64 LE ‖ flags u8 (bit 0: racy) */
export function encodeHint(h: Hint): Uint8Array {
  const o = new Out(17);
  o.u64(h.ino);
  o.i64(h.ctimeNs);
  o.u8(h.racy ? 1 : 0);
  return o.done();
}

export function decodeHint(v: Uint8Array): Hint {
  const r = new In(v, "hint");
  const ino = r.u64();
  const ctimeNs = r.i64();
  const f = r.u8();
  if ((f & ~1) !== 0) r.fail("unknown flags");
  r.end();
  return { ino, ctimeNs, racy: f === 1 };
}

// ------------------------------------------------------------------ chunks

export const CHUNK_RAW = 0;
export const CHUNK_ZSTD = 1;

/** chunk value = flag u8 (0 raw, 1 zstd frame) ‖ payload */
export function encodeChunkValue(flag: number, payload: Uint8Array): Uint8Array {
  const v = new Uint8Array(1 + payload.length);
  v[0] = flag;
  v.set(payload, 1);
  return v;
}

/** chunkref = uvar(count ≥ 1) ‖ uvar(rawLen) ‖ uvar(storedLen) (storedLen = the chunk value's length) */
export interface ChunkRecord {
  count: number;
  rawLen: number;
  storedLen: number;
}

export function encodeChunkRecord(c: ChunkRecord): Uint8Array {
  const o = new Out(16);
  o.uvar(c.count);
  o.uvar(c.rawLen);
  o.uvar(c.storedLen);
  return o.done();
}

export function decodeChunkRecord(v: Uint8Array): ChunkRecord {
  const r = new In(v, "chunk record");
  const count = r.uvar();
  const rawLen = r.uvar(MAX_CHUNK_LEN);
  const storedLen = r.uvar(MAX_CHUNK_LEN + 1024);
  r.end();
  if (count === 0) r.fail("zero count");
  return { count, rawLen, storedLen };
}

// ------------------------------------------------------------------ meta

export interface ChunkerRecord {
  minBytes: number;
  avgBytes: number;
  maxBytes: number;
  zstdLevel: number;
}

export function encodeChunker(c: ChunkerRecord): Uint8Array {
  const o = new Out(16);
  o.uvar(c.minBytes);
  o.uvar(c.avgBytes);
  o.uvar(c.maxBytes);
  o.uvar(c.zstdLevel);
  return o.done();
}

export function decodeChunker(v: Uint8Array): ChunkerRecord {
  const r = new In(v, "chunker record");
  const c = { minBytes: r.uvar(), avgBytes: r.uvar(), maxBytes: r.uvar(), zstdLevel: r.uvar(22) };
  r.end();
  return c;
}

export function encodeU64(v: number): Uint8Array {
  const o = new Out(8);
  o.u64(BigInt(v));
  return o.done();
}

export function decodeU64(v: Uint8Array, what: string): number {
  const r = new In(v, what);
  const n = r.u64();
  r.end();
  if (n > BigInt(Number.MAX_SAFE_INTEGER)) r.fail("too large");
  return Number(n);
}
