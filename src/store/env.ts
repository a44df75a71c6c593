/**
 * store/env — the store's directory: what is in it, who holds it, and how
 * operating-system failures become coded errors.
 *
 * Layout of a store directory:
 *   HELIOS          marker: one JSON line {format, version, id}. A directory
 *                   without it is not ours (STORE_FOREIGN), and we never write
 *                   into a foreign directory.
 *   LOCK            the pid of the process that holds the store open.
 *   nodes.mdb       the LMDB environment (L2: nodes and the state record),
 *   nodes.mdb-lock  and its reader lock table.
 *   wal/NNNNNNNN.log  write-ahead log segments (store/wal.ts).
 *
 * Invariants: at most one open handle per store across processes (LOCK, with
 * a stale lock of a dead pid taken over) and within a process (a registry of
 * open paths); a failed open leaves the directory exactly as it was, except
 * that `create` may leave an empty initialised store.
 * Costs: a handful of syscalls at open and close.
 */
import { randomBytes } from "node:crypto";
import {
  closeSync,
  existsSync,
  linkSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  realpathSync,
  statSync,
  statfsSync,
  unlinkSync,
  writeFileSync,
  writeSync,
} from "node:fs";
import path from "node:path";
import { HeliosError } from "../core/index.js";

export const FORMAT = "helios-store";
export const FORMAT_VERSION = 1;
const MARKER = "HELIOS";
const LOCK = "LOCK";

/** Free bytes on the filesystem holding `dir` (undefined if it cannot be told). */
export function freeBytes(dir: string): number | undefined {
  try {
    const s = statfsSync(dir);
    return s.bavail * s.bsize;
  } catch {
    return undefined;
  }
}

/** Below this much free space, an I/O error whose errno is lost (LMDB reports EIO) is read as a full disk. */
const NEARLY_FULL = 4 * 1024 * 1024;

/**
 * Maps an operating-system error to a coded error; nothing else is thrown
 * from I/O. `dir`, when given, lets a vague error (LMDB turns ENOSPC during a
 * commit into EIO) be told apart by looking at the free space.
 */
export function ioError(e: unknown, what: string, ctx: Record<string, unknown> = {}, dir?: string): HeliosError {
  if (e instanceof HeliosError) return e;
  const code = String((e as { code?: string | number }).code ?? "");
  const msg = (e as Error).message ?? String(e);
  const context = { ...ctx, errno: code, cause: msg };
  const free = dir === undefined ? undefined : freeBytes(dir);
  if (
    code === "ENOSPC" ||
    code === "EDQUOT" ||
    code === "EFBIG" ||
    /MDB_MAP_FULL|No space left/.test(msg) ||
    (free !== undefined && free < NEARLY_FULL)
  )
    return new HeliosError("STORE_DISK_FULL", context, `${what}: ${msg}`);
  if (code === "EACCES" || code === "EROFS" || code === "EPERM" || /read-only|Permission denied/i.test(msg))
    return new HeliosError("STORE_READ_ONLY", context, `${what}: ${msg}`);
  // (MDB_BAD_TXN is a failed write transaction, not damage: lmdb-js reports its freelist error this way
  // after unclean restarts while the data is intact — docs/crash-safety.md — so it stays STORE_IO)
  if (/MDB_CORRUPTED|MDB_PAGE_NOTFOUND|MDB_INVALID|MDB_VERSION_MISMATCH/.test(msg))
    return new HeliosError("STORE_CORRUPT", context, `${what}: ${msg}`);
  return new HeliosError("STORE_IO", context, `${what}: ${msg}`);
}

export interface Marker {
  format: string;
  version: number;
  id: string;
}

const openPaths = new Set<string>();

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as { code?: string }).code === "EPERM";
  }
}

/** An opened, locked store directory. `release()` drops the lock. */
export class StoreDir {
  readonly dir: string;
  readonly marker: Marker;
  private released = false;

  private constructor(dir: string, marker: Marker) {
    this.dir = dir;
    this.marker = marker;
  }

  get lmdbPath(): string {
    return path.join(this.dir, "nodes.mdb");
  }
  get walDir(): string {
    return path.join(this.dir, "wal");
  }

  /**
   * Opens (and with `create`, initialises) the store directory and takes its
   * lock. Errors: STORE_NOT_FOUND, STORE_FOREIGN, STORE_VERSION, STORE_LOCKED,
   * STORE_READ_ONLY, STORE_DISK_FULL, STORE_IO.
   */
  static open(dir: string, create: boolean): StoreDir {
    if (typeof dir !== "string" || dir.length === 0) {
      throw new HeliosError("INVALID_ARGUMENT", { dir }, "store path must be a non-empty string");
    }
    let abs = path.resolve(dir);
    const markerPath = path.join(abs, MARKER);
    let marker: Marker;
    try {
      if (!existsSync(abs)) {
        if (!create) throw new HeliosError("STORE_NOT_FOUND", { dir: abs });
        mkdirSync(abs, { recursive: true });
      } else if (!statSync(abs).isDirectory()) {
        throw new HeliosError("STORE_FOREIGN", { dir: abs }, "the path is a file, not a directory");
      }
      abs = realpathSync(abs);
      if (existsSync(markerPath)) {
        marker = parseMarker(readFileSync(markerPath, "utf8"), abs);
      } else {
        const entries = readdirSync(abs);
        if (entries.length > 0) {
          throw new HeliosError("STORE_FOREIGN", { dir: abs, entries: entries.slice(0, 5) });
        }
        if (!create) throw new HeliosError("STORE_NOT_FOUND", { dir: abs }, "the directory is empty");
        marker = { format: FORMAT, version: FORMAT_VERSION, id: randomBytes(16).toString("hex") };
        writeFileSync(markerPath, `${JSON.stringify(marker)}\n`, { flag: "wx" });
      }
    } catch (e) {
      throw ioError(e, "opening the store directory", { dir: abs });
    }
    if (openPaths.has(abs))
      throw new HeliosError("STORE_LOCKED", { dir: abs, pid: process.pid }, "already open in this process");
    takeLock(abs);
    openPaths.add(abs);
    return new StoreDir(abs, marker);
  }

  release(): void {
    if (this.released) return;
    this.released = true;
    openPaths.delete(this.dir);
    try {
      const p = path.join(this.dir, LOCK);
      if (Number(readFileSync(p, "utf8")) === process.pid) unlinkSync(p);
    } catch {
      // the lock is gone or unreadable: nothing to release
    }
  }
}

function parseMarker(text: string, dir: string): Marker {
  let m: Partial<Marker>;
  try {
    m = JSON.parse(text) as Partial<Marker>;
  } catch {
    throw new HeliosError("STORE_FOREIGN", { dir }, "the HELIOS marker is not Helios JSON");
  }
  if (m.format !== FORMAT) throw new HeliosError("STORE_FOREIGN", { dir, format: m.format });
  if (m.version !== FORMAT_VERSION) {
    throw new HeliosError("STORE_VERSION", { dir, version: m.version, supported: FORMAT_VERSION });
  }
  return m as Marker;
}

/**
 * Takes LOCK atomically: the pid is written to a private temp file that is
 * then hard-linked to LOCK (link fails if LOCK exists). A LOCK whose pid is
 * dead is stale (the holder was killed) and is taken over.
 */
function takeLock(dir: string): void {
  const lock = path.join(dir, LOCK);
  const tmp = path.join(dir, `.lock-${process.pid}-${randomBytes(4).toString("hex")}`);
  try {
    const fd = openSync(tmp, "wx");
    try {
      writeSync(fd, String(process.pid));
    } finally {
      closeSync(fd);
    }
    for (let attempt = 0; attempt < 3; attempt++) {
      try {
        linkSync(tmp, lock);
        return;
      } catch (e) {
        if ((e as { code?: string }).code !== "EEXIST") throw e;
        let holder = Number.NaN;
        try {
          holder = Number(readFileSync(lock, "utf8"));
        } catch {
          continue; // vanished between link and read: retry
        }
        if (Number.isInteger(holder) && holder > 0 && holder !== process.pid && pidAlive(holder)) {
          throw new HeliosError("STORE_LOCKED", { dir, pid: holder }, `held by process ${holder}`);
        }
        unlinkSync(lock); // stale: its holder is dead
      }
    }
    throw new HeliosError("STORE_LOCKED", { dir }, "could not take the lock");
  } catch (e) {
    throw ioError(e, "locking the store", { dir });
  } finally {
    try {
      unlinkSync(tmp);
    } catch {
      // never created
    }
  }
}
