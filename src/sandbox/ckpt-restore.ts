/**
 * sandbox/ckpt-restore — restoring a checkpoint (all of it or one sub-path)
 * into a directory, and reading one file lazily, chunk by chunk.
 *
 * A restore runs in two passes. The first writes nothing: it decodes every
 * entry to restore (CHECKPOINT_CORRUPT; two entries that decode to one path
 * too), checks every path (CHECKPOINT_PATH_UNSAFE: absolute, `..`, `.`,
 * empty components, NUL, backslash, a name over 255 bytes, or target + path
 * not under PATH_MAX), checks that every entry's parent is a directory of the
 * checkpoint (an entry below a symlink is RESTORE_SYMLINK_ESCAPE), resolves
 * every symlink target through the checkpoint's own symlinks and what already
 * exists in the target (RESTORE_SYMLINK_ESCAPE if it leaves the target,
 * unless allowed), checks that every chunk is present, and looks at what the
 * target already holds (RESTORE_TARGET_NOT_EMPTY without force; with force,
 * a symlink or a file where a directory must be is RESTORE_OUTSIDE_TARGET).
 * The second pass writes: directories (created 0700 so they can be filled,
 * their device and inode recorded) and files, in path order; files with
 * O_CREAT | O_EXCL | O_NOFOLLOW (never through a symlink, never over
 * something that appeared since the first pass), every chunk checked against
 * its hash after decompression, all-zero chunks left as holes, mode and mtime
 * set through the descriptor written. Then the symlinks, last: a symlink is
 * checked against the finished tree, and a failure before this point leaves
 * none behind. Then directory modes and mtimes, deepest first (filling a
 * directory changes its mtime), each through a descriptor opened
 * O_NOFOLLOW | O_DIRECTORY whose device and inode must be the ones recorded.
 * setuid and setgid are cleared unless preservePrivileged.
 *
 * Invariants: no write follows a symlink in the last component; no chmod or
 * utimes goes through a path (only through a descriptor this restore opened
 * without following, or lutimes for a symlink); no existing file is opened
 * for writing; a check that fails in the first pass writes nothing; no
 * symlink exists in the target until every file and directory is written.
 * Limit: Node has no openat, so a process that can write the target while a
 * restore runs can swap a directory above the last component for a symlink
 * between the check and the open; a file created then lands (new, O_EXCL)
 * where the symlink points. Metadata is still never applied to anything but
 * the directories and files this restore created or found.
 * Limits: mtimes are set through libuv, which rounds to the microsecond (the
 * checkpoint keeps nanoseconds); atime is set to mtime; owners are not kept;
 * hard links are restored as separate files.
 * Costs: O(entries) to validate, plus one chunkrefs lookup per distinct
 * chunk; writing is O(bytes) (one map read, one decompression and one hash
 * per chunk), plus one lstat per entry's parent and one open/fstat per
 * directory. openFile: O(depth) node reads to the entry, then one map read
 * per chunk as it is consumed.
 */
import {
  closeSync,
  constants as fsc,
  fchmodSync,
  fstatSync,
  ftruncateSync,
  futimesSync,
  lstatSync,
  lutimesSync,
  mkdirSync,
  openSync,
  readdirSync,
  readlinkSync,
  realpathSync,
  rmdirSync,
  type Stats,
  symlinkSync,
  unlinkSync,
  writeSync,
} from "node:fs";
import nodePath from "node:path";
import { bytesToHex, HeliosError, utf8 } from "../core/index.js";
import type { StateDB } from "../history/index.js";
import { isEmptyRoot } from "../merkle/index.js";
import { resolveCheckpoint } from "./ckpt-catalog.js";
import { ChunkDecoder } from "./ckpt-codec.js";
import { readChunk } from "./ckpt-read.js";
import {
  checkSafePath,
  decodeEntry,
  decodeUtf8,
  LONG_PREFIX_BYTES,
  normalizeSubPath,
  parentPath,
  pathKey,
  type StoredEntry,
  T_CHUNKREFS,
  T_CHUNKS,
  T_FILES,
} from "./ckpt-format.js";

export interface RestoreOptions {
  /** Restore only this path (a file, symlink or directory with everything under it), kept at its place under the target. */
  path?: string;
  /** Restore into a non-empty target, replacing files and symlinks at the checkpoint's paths (default false). */
  force?: boolean;
  /** Restore symlinks whose target resolves outside the target directory (default false: RESTORE_SYMLINK_ESCAPE). */
  allowSymlinkEscape?: boolean;
  /**
   * Keep the setuid and setgid bits as stored (default false: cleared, so a
   * hostile checkpoint cannot plant a setuid file; sticky and rwx are kept).
   */
  preservePrivileged?: boolean;
  onProgress?: (p: RestoreProgress) => void;
}

export interface RestoreProgress {
  entries: number;
  entriesDone: number;
  bytes: number;
  bytesDone: number;
}

export interface RestoreReport {
  id: string;
  target: string;
  entries: number;
  files: number;
  dirs: number;
  symlinks: number;
  bytes: number;
  chunks: number;
  /** Existing files and symlinks replaced (force). */
  replaced: number;
  /** Entries whose setuid/setgid bits were cleared (0 with preservePrivileged). */
  privilegedCleared: number;
}

/** PATH_MAX on Linux, the terminating NUL included: an absolute path must be shorter. */
const PATH_MAX = 4096;
/** The setuid and setgid bits. */
const S_ISXID = 0o6000;

/**
 * The entries of a checkpoint under `sub` ("" = all), decoded and sorted by
 * path (parents before children), plus the ancestors of `sub`.
 */
function loadEntries(db: StateDB, files: Uint8Array, sub: string): StoredEntry[] {
  const out: StoredEntry[] = [];
  if (isEmptyRoot(files)) return out;
  if (sub === "") {
    for (const [k, v] of db.map.entries(files)) out.push(decodeEntry(k, v));
  } else {
    const own = db.map.get(files, pathKey(sub));
    if (own === undefined) throw new HeliosError("CHECKPOINT_PATH_NOT_FOUND", { path: sub });
    const e = decodeEntry(pathKey(sub), own);
    out.push(e);
    // the ancestors (each must be a directory: checked with the rest)
    for (let p = sub; p !== ""; ) {
      p = parentPath(p);
      const v = db.map.get(files, pathKey(p));
      if (v === undefined) {
        throw new HeliosError("CHECKPOINT_CORRUPT", { path: p }, "a parent directory is not in the checkpoint");
      }
      out.push(decodeEntry(pathKey(p), v));
    }
    if (e.kind === "dir") {
      // everything under sub/: keys start with its bytes (long keys with their first 222)
      const prefix = utf8(`${sub}/`);
      const scanPrefix = prefix.length > LONG_PREFIX_BYTES ? prefix.subarray(0, LONG_PREFIX_BYTES) : prefix;
      for (const [k, v] of db.map.entries(files, { prefix: scanPrefix })) {
        const x = decodeEntry(k, v);
        if (x.path.startsWith(`${sub}/`)) out.push(x);
      }
    }
  }
  const enc = (s: string) => Buffer.from(s, "utf8");
  return out.sort((a, b) => Buffer.compare(enc(a.path), enc(b.path)));
}

/** What lstat says is at an absolute path, or undefined if nothing. */
function lstatOr(abs: string): Stats | undefined {
  try {
    return lstatSync(abs);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === "ENOENT" || code === "ENOTDIR") return undefined;
    throw ioError(e, abs);
  }
}

function ioError(e: unknown, path: string): HeliosError {
  const err = e as NodeJS.ErrnoException;
  return new HeliosError("RESTORE_IO", { path, errno: err.code ?? "unknown" }, err.message);
}

/**
 * Whether symlink `link` (a checkpoint path) with target `target` resolves
 * inside the restore root: components are followed through the
 * checkpoint's symlinks (`byPath`) and, for paths the checkpoint does not
 * hold, through what exists under `targetAbs`; `..` above the root, an
 * absolute target anywhere in the chain, or more than 40 hops (a loop) is
 * outside.
 */
function resolvesInside(
  link: string,
  target: Uint8Array,
  byPath: ReadonlyMap<string, StoredEntry>,
  targetAbs: string,
): boolean {
  const t0 = decodeUtf8(target);
  if (t0 === undefined || t0.startsWith("/")) return false;
  const stack = parentPath(link) === "" ? [] : parentPath(link).split("/");
  let queue = t0.split("/");
  let hops = 0;
  while (queue.length > 0) {
    const c = queue.shift() as string;
    if (c === "" || c === ".") continue;
    if (c === "..") {
      if (stack.length === 0) return false;
      stack.pop();
      continue;
    }
    stack.push(c);
    const p = stack.join("/");
    let next: string | undefined;
    const e = byPath.get(p);
    if (e !== undefined) {
      if (e.kind === "symlink") next = decodeUtf8(e.target as Uint8Array) ?? "/";
      else if (e.kind === "file") return true; // anything after a file fails ENOTDIR: nothing is reached
    } else {
      const st = lstatOr(nodePath.join(targetAbs, p));
      if (st?.isSymbolicLink()) next = readlinkSync(nodePath.join(targetAbs, p));
    }
    if (next !== undefined) {
      if (++hops > 40 || next.startsWith("/")) return false;
      stack.pop();
      queue = [...next.split("/"), ...queue];
    }
  }
  return true;
}

const ZERO = new Uint8Array(64 * 1024);
function allZero(b: Uint8Array): boolean {
  for (let off = 0; off < b.length; off += ZERO.length) {
    const n = Math.min(ZERO.length, b.length - off);
    if (Buffer.compare(Buffer.from(b.buffer, b.byteOffset + off, n), Buffer.from(ZERO.buffer, 0, n)) !== 0) {
      return false;
    }
  }
  return true;
}

/** Seconds for libuv's utimes, which truncates to the microsecond: half a µs up, so the truncation lands on it. */
function utimeSeconds(ns: bigint): number {
  const us = ns >= 0n ? ns / 1000n : -((-ns + 999n) / 1000n);
  return (Number(us) + 0.5) / 1e6;
}

/**
 * Restores checkpoint `id` (or the sub-path `opts.path` of it) into
 * `target`, which is created if missing. See the module header for the
 * checks and the order of writes.
 */
export function restoreCheckpoint(db: StateDB, id: string, target: string, opts: RestoreOptions = {}): RestoreReport {
  const r = resolveCheckpoint(db, id);
  const release = db.lease(r.root);
  try {
    return restoreVersion(db, r.id, r.root, target, opts);
  } finally {
    release();
  }
}

function restoreVersion(
  db: StateDB,
  id: string,
  version: Uint8Array,
  target: string,
  opts: RestoreOptions,
): RestoreReport {
  const sub = opts.path === undefined ? "" : normalizeSubPath(opts.path);
  const files = db.treeRoot(T_FILES, version);
  const refs = db.treeRoot(T_CHUNKREFS, version);
  const chunksRoot = db.treeRoot(T_CHUNKS, version);

  // ---- pass 1: check everything, write nothing
  const entries = loadEntries(db, files, sub);
  const byPath = new Map<string, StoredEntry>();
  for (const e of entries) {
    checkSafePath(e.path);
    if (byPath.has(e.path)) {
      throw new HeliosError(
        "CHECKPOINT_CORRUPT",
        { path: e.path },
        "two entries decode to the same path (nothing was written)",
      );
    }
    byPath.set(e.path, e);
  }
  const root = byPath.get("");
  if (root === undefined || root.kind !== "dir") {
    throw new HeliosError("CHECKPOINT_CORRUPT", { path: "" }, "the checkpoint has no root directory");
  }
  for (const e of entries) {
    if (e.path === "") continue;
    const p = byPath.get(parentPath(e.path));
    if (p === undefined) {
      throw new HeliosError("CHECKPOINT_CORRUPT", { path: e.path }, "its parent directory is not in the checkpoint");
    }
    if (p.kind === "symlink") {
      throw new HeliosError(
        "RESTORE_SYMLINK_ESCAPE",
        { path: e.path, symlink: p.path },
        "an entry below a symlink would be written through it",
      );
    }
    if (p.kind !== "dir") {
      throw new HeliosError("CHECKPOINT_CORRUPT", { path: e.path }, "its parent is not a directory");
    }
  }

  // the target: created if missing, else a real directory (empty unless force)
  let targetAbs: string;
  let existed = true;
  const t = lstatOr(nodePath.resolve(target));
  if (t === undefined) existed = false;
  else if (!t.isDirectory() && !t.isSymbolicLink()) {
    throw new HeliosError(
      "RESTORE_OUTSIDE_TARGET",
      { path: target },
      "the target exists and is not a directory (found before writing: nothing was written)",
    );
  }
  if (existed) {
    targetAbs = realpathSync(nodePath.resolve(target));
    if (!lstatSync(targetAbs).isDirectory()) {
      throw new HeliosError(
        "RESTORE_OUTSIDE_TARGET",
        { path: target },
        "the target is not a directory (found before writing: nothing was written)",
      );
    }
    if (opts.force !== true && readdirSync(targetAbs).length > 0) {
      throw new HeliosError("RESTORE_TARGET_NOT_EMPTY", { path: targetAbs });
    }
  } else targetAbs = nodePath.resolve(target);

  // every path must fit the system's PATH_MAX once joined to the target (and a symlink target too)
  const targetBytes = Buffer.byteLength(targetAbs, "utf8");
  for (const e of entries) {
    const n = e.path === "" ? targetBytes : targetBytes + 1 + Buffer.byteLength(e.path, "utf8");
    if (n >= PATH_MAX) {
      throw new HeliosError(
        "CHECKPOINT_PATH_UNSAFE",
        { path: e.path, bytes: n },
        `the target plus this path is ${n} bytes, over the system's limit of ${PATH_MAX - 1} (nothing was written)`,
      );
    }
    if (e.kind === "symlink" && (e.target as Uint8Array).length >= PATH_MAX) {
      throw new HeliosError("CHECKPOINT_PATH_UNSAFE", { path: e.path }, "a symlink target is too long");
    }
  }

  if (opts.allowSymlinkEscape !== true) {
    for (const e of entries) {
      if (e.kind === "symlink" && !resolvesInside(e.path, e.target as Uint8Array, byPath, targetAbs)) {
        throw new HeliosError(
          "RESTORE_SYMLINK_ESCAPE",
          { path: e.path, target: Buffer.from(e.target as Uint8Array).toString("utf8") },
          "a symlink resolves outside the restore target",
        );
      }
    }
  }

  // every chunk is there (the chunkrefs records are small: this reads no chunk data)
  let bytes = 0;
  const seen = new Set<string>();
  for (const e of entries) {
    bytes += e.size;
    for (const c of e.chunks) {
      const hex = bytesToHex(c.hash);
      if (seen.has(hex)) continue;
      seen.add(hex);
      if (isEmptyRoot(refs) || db.map.get(refs, c.hash) === undefined) {
        throw new HeliosError("CHECKPOINT_CORRUPT", { path: e.path, chunk: hex }, "a chunk is missing");
      }
    }
  }

  // what the target holds at our paths (force only: without it the target is empty or new)
  const removeFirst = new Set<string>();
  if (existed && opts.force === true) {
    for (const e of entries) {
      const abs = e.path === "" ? targetAbs : nodePath.join(targetAbs, e.path);
      const st = e.path === "" ? undefined : lstatOr(abs);
      if (st === undefined) continue;
      if (e.kind === "dir") {
        if (!st.isDirectory()) {
          throw new HeliosError(
            "RESTORE_OUTSIDE_TARGET",
            { path: e.path, existing: st.isSymbolicLink() ? "symlink" : "file" },
            "a directory to restore into exists in the target as a symlink or a file (found before writing: nothing was written)",
          );
        }
      } else if (st.isDirectory()) {
        if (readdirSync(abs).length > 0) {
          throw new HeliosError(
            "RESTORE_TARGET_NOT_EMPTY",
            { path: e.path },
            "a non-empty directory stands where the checkpoint has a file or symlink",
          );
        }
        removeFirst.add(e.path);
      } else removeFirst.add(e.path);
    }
  }

  // ---- pass 2: write
  const report: RestoreReport = {
    id,
    target: targetAbs,
    entries: entries.length,
    files: 0,
    dirs: 0,
    symlinks: 0,
    bytes: 0,
    chunks: 0,
    replaced: 0,
    privilegedCleared: 0,
  };
  const modeOf = (e: StoredEntry): number => {
    if (opts.preservePrivileged === true || (e.mode & S_ISXID) === 0) return e.mode;
    report.privilegedCleared++;
    return e.mode & ~S_ISXID;
  };
  const progress = opts.onProgress;
  const prog = { entries: entries.length, entriesDone: 0, bytes, bytesDone: 0 };
  let sinceProgress = 0;
  const step = () => {
    prog.entriesDone++;
    if (progress !== undefined && ++sinceProgress >= 64) {
      sinceProgress = 0;
      progress({ ...prog });
    }
  };
  const decoder = new ChunkDecoder();
  if (!existed) {
    try {
      mkdirSync(targetAbs, { recursive: true, mode: 0o700 });
    } catch (e) {
      throw ioError(e, targetAbs);
    }
  }
  /** The directories written into, by path, with the identity they had when created or found. */
  const dirIds = new Map<string, DirId>();
  const absOf = (p: string) => (p === "" ? targetAbs : nodePath.join(targetAbs, p));
  /** The parent of `p` must still be the real directory recorded: never write through a symlink. */
  const checkParent = (p: string) => {
    const pp = parentPath(p);
    const want = dirIds.get(pp);
    const ps = lstatOr(absOf(pp));
    if (want === undefined || ps === undefined || !ps.isDirectory() || ps.ino !== want.ino || ps.dev !== want.dev) {
      throw new HeliosError(
        "RESTORE_OUTSIDE_TARGET",
        { path: pp },
        "a parent directory was replaced during the restore (found while writing: what was restored so far stays)",
      );
    }
  };
  const replace = (e: StoredEntry, abs: string) => {
    if (!removeFirst.has(e.path)) return;
    const st = lstatSync(abs);
    if (st.isDirectory()) rmdirSync(abs);
    else unlinkSync(abs);
    report.replaced++;
  };
  const dirs: StoredEntry[] = [];
  const links: StoredEntry[] = [];
  for (const e of entries) {
    if (e.kind === "symlink") {
      links.push(e); // last: see the module header
      continue;
    }
    const abs = absOf(e.path);
    try {
      if (e.path !== "") checkParent(e.path);
      replace(e, abs);
      if (e.kind === "dir") {
        let st = e.path === "" ? lstatSync(abs) : lstatOr(abs);
        if (st === undefined) {
          mkdirSync(abs, { mode: 0o700 });
          st = lstatSync(abs);
        }
        if (!st.isDirectory()) {
          throw new HeliosError(
            "RESTORE_OUTSIDE_TARGET",
            { path: e.path },
            "not a directory (found while writing: what was restored so far stays)",
          );
        }
        const did = { dev: st.dev, ino: st.ino };
        if ((st.mode & 0o700) !== 0o700) {
          // an existing directory (force) we may not be able to write into: its final mode is set at the end
          setDirMeta(abs, did, (st.mode & 0o7777) | 0o700, undefined, e.path);
        }
        dirIds.set(e.path, did);
        dirs.push(e);
        report.dirs++;
      } else {
        writeFile(db, chunksRoot, decoder, e, modeOf(e), abs, report, prog);
        report.files++;
      }
    } catch (err) {
      if (err instanceof HeliosError) throw err;
      throw ioError(err, abs);
    }
    step();
  }
  // symlinks, now that every file and directory is written: the first pass checked them against this tree
  for (const e of links) {
    const abs = absOf(e.path);
    try {
      checkParent(e.path);
      replace(e, abs);
      symlinkSync(Buffer.from(e.target as Uint8Array), abs);
      const s = utimeSeconds(e.mtimeNs);
      lutimesSync(abs, s, s); // the link itself, never what it points to; its mode is not settable on Linux
      report.symlinks++;
    } catch (err) {
      if (err instanceof HeliosError) throw err;
      throw ioError(err, abs);
    }
    step();
  }
  // directory modes and mtimes: children first (deepest paths sort last)
  for (let i = dirs.length - 1; i >= 0; i--) {
    const e = dirs[i] as StoredEntry;
    if (e.path === "" && sub !== "") continue; // a partial restore leaves the target's own metadata alone
    setDirMeta(absOf(e.path), dirIds.get(e.path) as DirId, modeOf(e), e.mtimeNs, e.path);
  }
  progress?.({ ...prog });
  return report;
}

/** A directory's identity: what lstat/fstat said when the restore created or found it. */
export interface DirId {
  dev: number;
  ino: number;
}

/**
 * Sets a directory's mode (and mtime, if given) through a descriptor opened
 * O_RDONLY | O_NOFOLLOW | O_DIRECTORY, never by path: if `abs` is now a
 * symlink (ELOOP), not a directory (ENOTDIR), or a directory other than `id`
 * (a path component was swapped), it is RESTORE_OUTSIDE_TARGET and nothing
 * is changed. `path` is the checkpoint path, for the error.
 */
export function setDirMeta(abs: string, id: DirId, mode: number, mtimeNs: bigint | undefined, path: string): void {
  let fd: number;
  try {
    fd = openSync(abs, fsc.O_RDONLY | fsc.O_NOFOLLOW | fsc.O_DIRECTORY);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "ELOOP" || code === "ENOTDIR" || code === "ENOENT") {
      throw new HeliosError(
        "RESTORE_OUTSIDE_TARGET",
        { path, errno: code },
        "a directory was replaced during the restore (found while writing: what was restored so far stays)",
      );
    }
    throw ioError(err, abs);
  }
  try {
    const st = fstatSync(fd);
    if (!st.isDirectory() || st.dev !== id.dev || st.ino !== id.ino) {
      throw new HeliosError(
        "RESTORE_OUTSIDE_TARGET",
        { path },
        "a directory was replaced during the restore (found while writing: what was restored so far stays)",
      );
    }
    fchmodSync(fd, mode);
    if (mtimeNs !== undefined) {
      const s = utimeSeconds(mtimeNs);
      futimesSync(fd, s, s);
    }
  } catch (err) {
    if (err instanceof HeliosError) throw err;
    throw ioError(err, abs);
  } finally {
    closeSync(fd);
  }
}

function writeFile(
  db: StateDB,
  chunksRoot: Uint8Array,
  decoder: ChunkDecoder,
  e: StoredEntry,
  mode: number,
  abs: string,
  report: RestoreReport,
  prog: RestoreProgress,
): void {
  const fd = openSync(abs, fsc.O_WRONLY | fsc.O_CREAT | fsc.O_EXCL | fsc.O_NOFOLLOW, 0o600);
  try {
    let pos = 0;
    for (const c of e.chunks) {
      const raw = readChunk(db, chunksRoot, decoder, c, e.path);
      if (!allZero(raw)) {
        let off = 0;
        while (off < raw.length) off += writeSync(fd, raw, off, raw.length - off, pos + off);
      }
      pos += raw.length;
      report.chunks++;
      report.bytes += raw.length;
      prog.bytesDone += raw.length;
    }
    ftruncateSync(fd, e.size); // the trailing holes of a sparse file
    fchmodSync(fd, mode); // through the descriptor written, after the writes (writing clears setuid/setgid)
    const s = utimeSeconds(e.mtimeNs);
    futimesSync(fd, s, s);
  } finally {
    closeSync(fd);
  }
}
