/**
 * sandbox/ckpt-source — reading the directory being checkpointed: the scan
 * (a walk with lstat only, no file opened) and the file reader that feeds
 * the chunker from one reused buffer and hashes chunks in batches.
 *
 * Invariants: nothing under the source is written, and nothing is followed:
 * symlinks are read with readlink, files are opened with O_NOFOLLOW, the walk
 * never enters a symlinked directory; names must be UTF-8 without a
 * backslash (CHECKPOINT_PATH_UNSAFE: a path must mean the same thing on every
 * platform it is restored on), decoded strictly with a leading byte-order
 * mark kept (so "\uFEFFa" and "a" stay two names); sockets, FIFOs and devices are counted as
 * skipped; the store's own directory, if inside the source, is skipped.
 * Costs: one lstat per entry, one readdir per directory; a file read is
 * O(size) with one chunker pass, one BLAKE3 batch call per 1 MiB read, and no
 * allocation per chunk beyond its 32-byte hash.
 */
import {
  closeSync,
  constants as fsc,
  fstatSync,
  lstatSync,
  openSync,
  readdirSync,
  readlinkSync,
  readSync,
} from "node:fs";
import nodePath from "node:path";
import { HeliosError, hashMany } from "../core/index.js";
import { MAX_VALUE_BYTES } from "../merkle/index.js";
import { type ChunkRef, decodeUtf8, type EntryKind, joinPath } from "./ckpt-format.js";
import { Chunker, type ChunkerParams } from "./chunker.js";

const READ_BYTES = 1 << 20;
/** Chunks one entry can list without passing MAX_VALUE_BYTES (≤ 36 bytes per chunk, plus the header). */
const MAX_ENTRY_CHUNKS = Math.floor((MAX_VALUE_BYTES - 8192) / 36);

/** What the scan found at one path. */
export interface Scanned {
  path: string;
  abs: string;
  kind: EntryKind;
  mode: number;
  mtimeNs: bigint;
  size: number;
  ino: bigint;
  ctimeNs: bigint;
  target?: Uint8Array;
}

export function sourceError(e: unknown, path: string, doing: string): HeliosError {
  if (e instanceof HeliosError) return e;
  const err = e as NodeJS.ErrnoException;
  return new HeliosError(
    "CHECKPOINT_SOURCE_UNREADABLE",
    { path, errno: err.code ?? "unknown" },
    `${doing} ${path}: ${err.message}`,
  );
}

/**
 * Walks `root` (a real directory path) depth first, names in byte order;
 * returns every stored entry (the root first, as "") and the count skipped.
 * Calls `onYield` every 256 directories, after yielding to the event loop.
 */
export async function scanSource(
  root: string,
  storeDir: string,
  onYield?: (entries: number) => void,
): Promise<{ scanned: Scanned[]; skipped: number }> {
  const scanned: Scanned[] = [];
  let skipped = 0;
  const add = (rel: string, abs: string, st: ReturnType<typeof lstat>): boolean => {
    const fmt = Number(st.mode) & fsc.S_IFMT;
    const kind: EntryKind | undefined =
      fmt === fsc.S_IFDIR ? "dir" : fmt === fsc.S_IFREG ? "file" : fmt === fsc.S_IFLNK ? "symlink" : undefined;
    if (kind === undefined) {
      skipped++;
      return false;
    }
    const s: Scanned = {
      path: rel,
      abs,
      kind,
      mode: Number(st.mode) & 0o7777,
      mtimeNs: st.mtimeNs,
      size: kind === "file" ? Number(st.size) : 0,
      ino: st.ino,
      ctimeNs: st.ctimeNs,
    };
    if (kind === "symlink") {
      try {
        s.target = new Uint8Array(readlinkSync(abs, { encoding: "buffer" }));
      } catch (e) {
        throw sourceError(e, abs, "readlink");
      }
    }
    scanned.push(s);
    return true;
  };
  const stack: { rel: string; abs: string }[] = [];
  add("", root, lstat(root));
  stack.push({ rel: "", abs: root });
  let sinceYield = 0;
  while (stack.length > 0) {
    const { rel, abs } = stack.pop() as { rel: string; abs: string };
    let names: Buffer[];
    try {
      names = readdirSync(abs, { encoding: "buffer" });
    } catch (e) {
      throw sourceError(e, abs, "readdir");
    }
    names.sort(Buffer.compare);
    const dirs: { rel: string; abs: string }[] = [];
    for (const nb of names) {
      const name = decodeUtf8(nb);
      if (name === undefined || name.includes("\\")) {
        throw new HeliosError(
          "CHECKPOINT_PATH_UNSAFE",
          { path: joinPath(rel, nb.toString("latin1")), in: abs },
          name === undefined ? "a name in the source is not UTF-8" : "a name in the source holds a backslash",
        );
      }
      const childAbs = nodePath.join(abs, name);
      const childRel = joinPath(rel, name);
      if (childAbs === storeDir) {
        skipped++; // the store itself
        continue;
      }
      const st = lstat(childAbs);
      if (add(childRel, childAbs, st) && st.isDirectory()) dirs.push({ rel: childRel, abs: childAbs });
    }
    for (let i = dirs.length - 1; i >= 0; i--) stack.push(dirs[i] as { rel: string; abs: string });
    if (++sinceYield >= 256) {
      sinceYield = 0;
      await new Promise<void>((r) => setImmediate(r));
      onYield?.(scanned.length);
    }
  }
  return { scanned, skipped };
}

function lstat(abs: string) {
  try {
    return lstatSync(abs, { bigint: true });
  } catch (e) {
    throw sourceError(e, abs, "lstat");
  }
}

/** What reading one file gave. */
export interface ReadResult {
  chunks: ChunkRef[];
  size: number;
  /** The file changed while it was read, or since the scan: record it as racy. */
  changed: boolean;
  mode: number;
  mtimeNs: bigint;
}

/**
 * Reads files through the chunker into a reused buffer, hashes each batch of
 * chunks in one kernel call, and hands every chunk to `use` (hash at
 * hashes[off..off+32), raw bytes as a view valid only during the call).
 */
export class FileReader {
  private readonly chunker: Chunker;
  private readonly use: (hashes: Uint8Array, off: number, raw: Uint8Array) => void;
  /** Before each read, buf holds < maxBytes of the pending chunk (a chunk that reaches max is cut). */
  private readonly buf: Uint8Array;
  private offsets = new Uint32Array(1024);
  private digests = new Uint8Array(32 * 1024);
  private readonly ends: number[] = [];

  constructor(params: ChunkerParams, use: (hashes: Uint8Array, off: number, raw: Uint8Array) => void) {
    this.chunker = new Chunker(params);
    this.use = use;
    this.buf = new Uint8Array(Math.max(READ_BYTES, params.maxBytes) + params.maxBytes);
  }

  read(abs: string, scannedMtimeNs: bigint): ReadResult {
    let fd: number;
    try {
      fd = openSync(abs, fsc.O_RDONLY | fsc.O_NOFOLLOW);
    } catch (e) {
      throw sourceError(e, abs, "open");
    }
    const { buf, chunker, ends } = this;
    const chunks: ChunkRef[] = [];
    let size = 0;
    try {
      const st0 = fstatSync(fd, { bigint: true });
      chunker.reset();
      let fill = 0; // bytes in buf
      for (;;) {
        let n: number;
        try {
          n = readSync(fd, buf, fill, buf.length - fill, null);
        } catch (e) {
          throw sourceError(e, abs, "read");
        }
        ends.length = 0;
        // chunker offsets are stream offsets; buf[0] is at stream offset size - fill
        const bufStart = size - fill;
        if (n > 0) chunker.push(buf.subarray(fill, fill + n), ends);
        else chunker.finish(ends);
        fill += n;
        size += n;
        const count = ends.length;
        if (count > 0) {
          if (this.offsets.length < count + 1) this.offsets = new Uint32Array(2 * (count + 1));
          if (this.digests.length < 32 * count) this.digests = new Uint8Array(64 * count);
          const offsets = this.offsets;
          const digests = this.digests;
          offsets[0] = 0;
          for (let i = 0; i < count; i++) offsets[i + 1] = (ends[i] as number) - bufStart;
          hashMany(buf, offsets, count, digests, null, null);
          for (let i = 0; i < count; i++) {
            const a = offsets[i] as number;
            const b = offsets[i + 1] as number;
            this.use(digests, 32 * i, buf.subarray(a, b));
            chunks.push({ hash: digests.slice(32 * i, 32 * i + 32), len: b - a });
          }
          // keep the tail (the start of the next chunk) at the front
          const last = offsets[count] as number;
          buf.copyWithin(0, last, fill);
          fill -= last;
        }
        if (n === 0) break;
      }
      if (chunks.length > MAX_ENTRY_CHUNKS) {
        throw new HeliosError("CHECKPOINT_FILE_TOO_LARGE", { path: abs, chunks: chunks.length });
      }
      const st1 = fstatSync(fd, { bigint: true });
      const changed =
        st1.size !== st0.size ||
        st1.mtimeNs !== st0.mtimeNs ||
        BigInt(size) !== st1.size ||
        st0.mtimeNs !== scannedMtimeNs;
      return { chunks, size, changed, mode: Number(st1.mode) & 0o7777, mtimeNs: st1.mtimeNs };
    } finally {
      closeSync(fd);
    }
  }
}
