/**
 * store/wal — the write-ahead log: numbered records, appended and fsynced.
 *
 * A commit is durable once its record is in the log and fdatasync returned;
 * the nodes it created reach LMDB later, in a checkpoint. The log is a series
 * of segment files wal/<16-digit number>.log. A checkpoint rotates to a new
 * segment, and when the checkpoint is durable the segments it covers are
 * deleted.
 *
 * Segment = magic "HLWAL001" ‖ record*
 * record  = bodyLen u32 LE ‖ ~bodyLen u32 LE ‖ seq u64 LE ‖ BLAKE3(seq ‖ body) [32] ‖ body
 *
 * The inverted copy of the length tells a flipped length (corruption) from a
 * record whose body was cut short by a crash (a torn write).
 *
 * Recovery (`Wal.open`) reads every segment in order and returns the records.
 * - A record cut short at the very end of the newest segment is a torn write
 *   from a crash (it was never acknowledged): it is truncated away.
 * - Anything else that fails its check — a complete record with a bad hash, a
 *   gap in seq, a bad magic, a short record in an older segment — is
 *   STORE_CORRUPT naming the segment and offset. Recovery never guesses.
 *
 * Invariants: seqs are consecutive across segments; an acknowledged append
 * (append returned) survives any crash; a failed append leaves the log as it
 * was (the partial bytes are truncated), or, if even that fails, the log
 * refuses further appends (STORE_WAL_POISONED) until reopened.
 * Costs: one writev + one fdatasync per append (~0.2 ms + size / disk rate);
 * recovery reads the log once and hashes it (~1 GB/s).
 */
import {
  closeSync,
  existsSync,
  fdatasyncSync,
  fstatSync,
  ftruncateSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  unlinkSync,
  writeSync,
  writevSync,
} from "node:fs";
import path from "node:path";
import { equalRange, HeliosError } from "../core/index.js";
import { HASH_BYTES, hashInto } from "../core/index.js";
import { ioError } from "./env.js";

const MAGIC = Buffer.from("HLWAL001", "latin1");
const HEAD = 4 + 4 + 8 + HASH_BYTES;
/** Largest record body accepted (256 MiB): a bound on what recovery must buffer. */
export const MAX_WAL_RECORD = 256 * 1024 * 1024;

export interface WalRecord {
  seq: number;
  body: Uint8Array;
  segment: number;
}

function segName(n: number): string {
  return `${String(n).padStart(16, "0")}.log`;
}

/** fsyncs a directory, so that the creation, rename or removal of an entry in it is durable. */
export function fsyncDir(dir: string): void {
  const fd = openSync(dir, "r");
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** Writes a whole file and fsyncs it before returning. */
export function writeFileDurable(file: string, bytes: Uint8Array): void {
  const fd = openSync(file, "w");
  try {
    let done = 0;
    while (done < bytes.length) done += writeSync(fd, bytes, done, bytes.length - done);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** Reused for the hash input of small records (most refs, pins and small commits), so appends allocate little. */
const hashScratch = new Uint8Array(8 + 4096);

function recordHash(seq: number, body: Uint8Array, out: Uint8Array, outOff: number): void {
  const n = 8 + body.length;
  const msg = n <= hashScratch.length ? hashScratch.subarray(0, n) : new Uint8Array(n);
  let v = seq;
  for (let i = 0; i < 8; i++) {
    msg[i] = v % 256; // seq as u64 little-endian (seqs stay below 2^53)
    v = Math.floor(v / 256);
  }
  msg.set(body, 8);
  hashInto(msg, out, outOff);
}

export class Wal {
  readonly dir: string;
  private fd = -1;
  private segment: number;
  private size = 0;
  private nextSeq: number;
  private poisoned = false;
  /** The record header buffer, reused by every append (writes are synchronous). */
  private readonly head = Buffer.alloc(HEAD);
  /** Records appended with sync = false since the last fdatasync (made durable by the next synced append, sync() or rotate()). */
  private unsynced = false;
  /** Bytes appended since open (for write-amplification figures). */
  bytesWritten = 0;

  private constructor(dir: string, segment: number, nextSeq: number) {
    this.dir = dir;
    this.segment = segment;
    this.nextSeq = nextSeq;
  }

  /** The seq the next append will get. */
  get next(): number {
    return this.nextSeq;
  }
  get currentSegment(): number {
    return this.segment;
  }

  /**
   * Opens the log in `dir` (created if missing), recovers its records and
   * positions appends after the last one. `firstSeq` is the seq to start at
   * when the log is empty (the checkpoint's seq + 1).
   */
  static open(dir: string, firstSeq: number): { wal: Wal; records: WalRecord[] } {
    let segs: number[];
    try {
      if (!existsSync(dir)) mkdirSync(dir, { recursive: true });
      segs = readdirSync(dir)
        .filter((f) => /^\d{16}\.log$/.test(f))
        .map((f) => Number(f.slice(0, 16)))
        .sort((a, b) => a - b);
    } catch (e) {
      throw ioError(e, "reading the log directory", { dir });
    }
    const records: WalRecord[] = [];
    let expect = -1;
    for (let i = 0; i < segs.length; i++) {
      const seg = segs[i] as number;
      const file = path.join(dir, segName(seg));
      const last = i === segs.length - 1;
      let buf: Buffer;
      try {
        buf = readFileSync(file);
      } catch (e) {
        throw ioError(e, "reading a log segment", { segment: file });
      }
      const good = scanSegment(buf, file, last, (seq, body) => {
        if (expect >= 0 && seq !== expect) {
          throw new HeliosError("STORE_CORRUPT", { segment: file, seq, expected: expect }, "a gap in the log");
        }
        expect = seq + 1;
        records.push({ seq, body, segment: seg });
      });
      if (good === 0) {
        // the newest segment never got its header: drop it, a fresh one follows
        try {
          unlinkSync(file);
        } catch (e) {
          throw ioError(e, "removing an empty log segment", { segment: file });
        }
        segs.pop();
        continue;
      }
      if (good < buf.length) {
        // torn tail of the newest segment: cut it off before appending anew
        try {
          const fd = openSync(file, "r+");
          try {
            ftruncateSync(fd, good);
            fsyncSync(fd);
          } finally {
            closeSync(fd);
          }
        } catch (e) {
          throw ioError(e, "truncating a torn log record", { segment: file });
        }
      }
    }
    const lastSeq = records.length > 0 ? (records[records.length - 1] as WalRecord).seq : -1;
    const nextSeq = Math.max(firstSeq, lastSeq + 1);
    const wal = new Wal(dir, segs.length > 0 ? (segs[segs.length - 1] as number) : 0, nextSeq);
    wal.openSegment(segs.length === 0);
    return { wal, records };
  }

  private openSegment(fresh: boolean): void {
    const file = path.join(this.dir, segName(this.segment));
    try {
      if (fresh) {
        const fd = openSync(file, "wx");
        writeSync(fd, MAGIC);
        fsyncSync(fd);
        this.fd = fd;
        fsyncDir(this.dir);
      } else {
        this.fd = openSync(file, "r+");
      }
      this.size = fstatSync(this.fd).size;
    } catch (e) {
      throw ioError(e, "opening a log segment", { segment: file });
    }
  }

  /**
   * Appends one record and makes it durable; returns its seq. With sync =
   * false the fdatasync is deferred: the record becomes durable with the next
   * synced append, sync() or rotate() (the file is written in order, so a
   * later fdatasync covers it), and a crash before then loses it as a torn
   * or missing tail, never anything after it.
   */
  append(body: Uint8Array, sync = true): number {
    if (this.fd < 0) throw new HeliosError("STORE_CLOSED");
    if (this.poisoned) throw new HeliosError("STORE_WAL_POISONED");
    if (body.length > MAX_WAL_RECORD) {
      throw new HeliosError(
        "INVALID_ARGUMENT",
        { bytes: body.length, max: MAX_WAL_RECORD },
        "commit too large for one log record",
      );
    }
    const seq = this.nextSeq;
    const head = this.head.fill(0);
    head.writeUInt32LE(body.length, 0);
    head.writeUInt32LE(~body.length >>> 0, 4);
    head.writeBigUInt64LE(BigInt(seq), 8);
    recordHash(seq, body, head, 16);
    const total = HEAD + body.length;
    try {
      let done = 0;
      while (done < total) {
        const n =
          done < HEAD
            ? writevSync(this.fd, [head.subarray(done), body], this.size + done)
            : writeSync(this.fd, body, done - HEAD, total - done, this.size + done);
        if (n <= 0) throw Object.assign(new Error("short write to the log"), { code: "EIO" });
        done += n;
      }
      if (sync) fdatasyncSync(this.fd);
    } catch (e) {
      try {
        ftruncateSync(this.fd, this.size);
      } catch {
        this.poisoned = true;
      }
      throw ioError(e, "appending to the log", { seq }, this.dir);
    }
    this.size += total;
    this.bytesWritten += total;
    this.nextSeq = seq + 1;
    this.unsynced = !sync;
    return seq;
  }

  /** Makes every record appended so far durable (a no-op when none is pending). */
  sync(): void {
    if (!this.unsynced) return;
    if (this.fd < 0) throw new HeliosError("STORE_CLOSED");
    try {
      fdatasyncSync(this.fd);
    } catch (e) {
      this.poisoned = true;
      throw ioError(e, "syncing the log", {}, this.dir);
    }
    this.unsynced = false;
  }

  /**
   * Starts a new segment and returns the number of the one just closed: every
   * record appended before this call is in segments ≤ that number.
   */
  rotate(): number {
    if (this.fd < 0) throw new HeliosError("STORE_CLOSED");
    this.sync(); // only the newest segment may end torn
    const closed = this.segment;
    const oldFd = this.fd;
    const oldSize = this.size;
    // open the next segment first: if that fails (a full disk), appends go on in this one
    this.segment = closed + 1;
    try {
      this.openSegment(true);
    } catch (e) {
      this.segment = closed;
      this.fd = oldFd;
      this.size = oldSize;
      try {
        unlinkSync(path.join(this.dir, segName(closed + 1)));
      } catch {
        // never created
      }
      throw e;
    }
    try {
      closeSync(oldFd);
    } catch {
      // every append to it was synced already
    }
    return closed;
  }

  /** Deletes the segments numbered ≤ through (their records are checkpointed). */
  dropThrough(through: number): void {
    try {
      for (const f of readdirSync(this.dir)) {
        if (/^\d{16}\.log$/.test(f) && Number(f.slice(0, 16)) <= through) unlinkSync(path.join(this.dir, f));
      }
      fsyncDir(this.dir);
    } catch (e) {
      throw ioError(e, "deleting checkpointed log segments");
    }
  }

  close(): void {
    if (this.fd >= 0) {
      try {
        if (this.unsynced) fdatasyncSync(this.fd);
      } catch {
        // a deferred record may be lost, as after a crash; nothing synced is
      }
      try {
        closeSync(this.fd);
      } catch {
        // closing is best effort; every append was already synced
      }
      this.fd = -1;
    }
  }
}

/**
 * Calls onRecord for each valid record of a segment and returns the byte
 * length of its valid prefix. Only the newest segment may end in a torn
 * (short) record; that is reported by returning a shorter length.
 */
function scanSegment(
  buf: Buffer,
  file: string,
  newest: boolean,
  onRecord: (seq: number, body: Uint8Array) => void,
): number {
  if (buf.length < MAGIC.length) {
    if (newest) return 0; // crashed while creating it: recreated by open
    throw new HeliosError("STORE_CORRUPT", { segment: file, offset: 0 }, "log segment shorter than its header");
  }
  if (!buf.subarray(0, MAGIC.length).equals(MAGIC)) {
    throw new HeliosError("STORE_CORRUPT", { segment: file, offset: 0 }, "bad log segment magic");
  }
  const h = new Uint8Array(HASH_BYTES);
  let pos = MAGIC.length;
  while (pos < buf.length) {
    const short = (why: string): number => {
      if (newest) return -1;
      throw new HeliosError("STORE_CORRUPT", { segment: file, offset: pos }, why);
    };
    if (buf.length - pos < HEAD) {
      if (short("log record header cut short") < 0) return pos;
    }
    const len = buf.readUInt32LE(pos);
    const seq = Number(buf.readBigUInt64LE(pos + 8));
    if (buf.readUInt32LE(pos + 4) !== ~len >>> 0 || len > MAX_WAL_RECORD) {
      throw new HeliosError("STORE_CORRUPT", { segment: file, offset: pos, len }, "log record length out of range");
    }
    if (buf.length - pos - HEAD < len) {
      if (short("log record cut short") < 0) return pos;
    }
    const body = buf.subarray(pos + HEAD, pos + HEAD + len);
    recordHash(seq, body, h, 0);
    if (!equalRange(h, 0, buf, pos + 16, HASH_BYTES)) {
      throw new HeliosError("STORE_CORRUPT", { segment: file, offset: pos, seq }, "log record fails its hash");
    }
    onRecord(seq, new Uint8Array(body));
    pos += HEAD + len;
  }
  return pos;
}
