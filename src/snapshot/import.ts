/**
 * snapshot/import — applies a snapshot's chunks to a store, one verified
 * chunk at a time, so that a crash at any instant resumes where it stopped.
 *
 * The import builds its version on a work ref, `import/<manifest id>`,
 * starting from the empty state (full) or the base version (incremental).
 * Each chunk is verified on its own (verify.ts) and then committed to the
 * work ref as one durable commit, so a chunk is applied entirely or not at
 * all. A small journal beside the store records the next chunk to fetch; it
 * may lag the work ref by one chunk after a crash, which is harmless because
 * re-applying a chunk changes nothing (its puts and deletes already hold).
 * It must never describe a newer work ref than the one it was written for,
 * so begin() removes any old journal (and fsyncs the directory) before it
 * creates a work ref.
 * `finish` requires the work ref's root to equal the manifest's root, then
 * records the snapshot (`snapshot/<height>`), adopts it as the head when it
 * is above the head, and drops the work ref and the journal.
 *
 * Invariants: the journal says N only while the work ref holds chunks
 * 0..N−1 or 0..N (resume at N is then exact); nothing from a chunk that
 * fails verification is written;
 * nothing is adopted unless the recomputed root equals the manifest root;
 * the work ref keeps the partial import's nodes from GC.
 * Costs: per chunk, one verification (verify.ts), one commit (tree update +
 * a log record the size of the chunk + fsync) and one journal write; while
 * importing, the store checkpoints by L0 size (512 MiB by default) rather
 * than every 16 commits, because each checkpoint rewrites LMDB pages all over
 * the file.
 */
import { closeSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, writeSync } from "node:fs";
import path from "node:path";
import { bytesToHex, equalBytes, HeliosError } from "../core/index.js";
import type { StateDB } from "../history/index.js";
import { EMPTY_ROOT } from "../merkle/index.js";
import { decodeManifest, type Manifest, manifestId } from "./format.js";
import { fsyncDir } from "../store/index.js";
import { snapshotRef } from "./manage.js";
import { type ChunkReply, replyFor, verifyChunk } from "./verify.js";

/** fsyncs a directory; a missing one has nothing to sync. */
function syncDir(dir: string): void {
  try {
    fsyncDir(dir);
  } catch {
    // nothing to make durable
  }
}

export interface ImportOptions {
  /** The root the caller trusts for this height (from the chain); the manifest must match it. */
  trustedRoot?: Uint8Array;
  /**
   * While importing, checkpoint once L0 holds this many bytes rather than on
   * the store's usual cadence (default 512 MiB; every chunk is durable in the
   * log regardless). Fewer checkpoints rewrite far fewer LMDB pages; L0
   * memory grows to about this size.
   */
  checkpointBytes?: number;
  /** Make the imported version the head when it is above the head (default true). */
  adopt?: boolean;
}

export interface ImportProgress {
  chunksDone: number;
  chunks: number;
  entries: number;
  rawBytes: number;
}

export class SnapshotImport {
  readonly manifest: Manifest;
  readonly id: string;
  private readonly workRef: string;
  private readonly journal: string;
  private nextChunk: number;
  /** Chunks applied by this process (not counting those a previous run did). */
  applied = 0;
  entries = 0;
  rawBytes = 0;
  readonly resumedAt: number;
  private finished = false;
  /** The snapshot was already in the store when begin() ran. */
  private landed = false;
  /** The store's checkpoint cadence before the first chunk, restored by finish/abort/release. */
  savedPolicy: { every: number; bytes: number } | undefined;
  private bulk = false;

  private constructor(
    private readonly db: StateDB,
    manifest: Manifest,
    id: string,
    private readonly opts: ImportOptions,
  ) {
    this.manifest = manifest;
    this.id = id;
    this.workRef = `import/${id}`;
    this.journal = path.join(db.store.dir.dir, "imports", `${id}.next`);
    this.nextChunk = 0;
    this.resumedAt = 0;
  }

  /** Starts (or resumes) importing the snapshot whose manifest file is `manifestBytes`. */
  static begin(db: StateDB, manifestBytes: Uint8Array, opts: ImportOptions = {}): SnapshotImport {
    const m = decodeManifest(manifestBytes);
    if (opts.trustedRoot !== undefined && !equalBytes(opts.trustedRoot, m.root)) {
      throw new HeliosError("SNAPSHOT_UNTRUSTED_ROOT", {
        root: bytesToHex(m.root),
        trusted: bytesToHex(opts.trustedRoot),
      });
    }
    const imp = new SnapshotImport(db, m, bytesToHex(manifestId(manifestBytes)), opts);
    imp.savedPolicy = db.checkpointPolicy;
    const start = m.kind === "full" ? EMPTY_ROOT : m.baseRoot;
    if (m.kind === "incremental" && !db.isLive(m.baseRoot)) {
      throw new HeliosError("SNAPSHOT_BASE_MISSING", { base: bytesToHex(m.baseRoot), baseHeight: m.baseHeight });
    }
    const refs = db.refs();
    const landed = refs.get(snapshotRef(m.height));
    if (landed !== undefined && equalBytes(landed, m.root) && !refs.has(imp.workRef)) {
      // already imported (a re-run, or a crash after finish dropped the work ref): nothing to fetch
      imp.nextChunk = m.chunks.length;
      imp.landed = true;
      imp.removeJournal();
      return imp;
    }
    const next = imp.readJournal();
    if (refs.has(imp.workRef) && next !== undefined) {
      imp.nextChunk = next;
      (imp as { resumedAt: number }).resumedAt = next;
    } else {
      // A fresh start, or a work ref whose journal is missing (re-applying from 0 is harmless).
      // Order matters: a journal must never outlive its work ref, or a later run would resume a
      // new, empty work ref at the stale chunk (found by the SIGKILL harness). So the old journal
      // goes first, then the ref is made, then the journal says 0.
      imp.removeJournal();
      if (!refs.has(imp.workRef)) db.setRef(imp.workRef, start);
      imp.writeJournal(0);
    }
    return imp;
  }

  /** The next chunk to fetch, or undefined when every chunk is applied. */
  get next(): number | undefined {
    return this.nextChunk < this.manifest.chunks.length ? this.nextChunk : undefined;
  }

  progress(): ImportProgress {
    return {
      chunksDone: this.nextChunk,
      chunks: this.manifest.chunks.length,
      entries: this.entries,
      rawBytes: this.rawBytes,
    };
  }

  /**
   * Verifies chunk `index` (its file bytes) and, if it is valid, applies it
   * durably. Chunks must come in order (the next one); the reply says what
   * to do when it is not accepted.
   */
  apply(index: number, file: Uint8Array): ChunkReply {
    if (this.finished) throw new HeliosError("INVALID_ARGUMENT", {}, "the import is finished");
    if (index !== this.nextChunk) {
      return replyFor(
        new HeliosError(
          "SNAPSHOT_CHUNK_OUT_OF_ORDER",
          { chunk: index, expected: this.nextChunk, reason: "out of order" },
          `chunk ${index} given, ${this.nextChunk} expected`,
        ),
        index,
      );
    }
    let v: ReturnType<typeof verifyChunk>;
    try {
      // an increment is checked against the version it applies to: the work ref
      const ctx =
        this.manifest.kind === "incremental" ? { map: this.db.map, working: this.db.ref(this.workRef) } : undefined;
      v = verifyChunk(this.manifest, index, file, ctx);
    } catch (e) {
      if (!(e instanceof HeliosError)) throw e; // a bug, not bad input: keep its stack
      return replyFor(e, index);
    }
    if (!this.bulk) {
      // checkpoint by size only while importing (see ImportOptions.checkpointBytes)
      this.bulk = true;
      this.db.setCheckpointPolicy({
        every: Number.MAX_SAFE_INTEGER,
        bytes: this.opts.checkpointBytes ?? 512 * 1024 * 1024,
      });
    }
    try {
      if (v.writes.size > 0) this.db.commitRef(this.workRef, v.writes);
    } catch (e) {
      if (!(e instanceof HeliosError)) throw e;
      return replyFor(e, index); // a store error: abort (nothing half-applied: the commit is atomic)
    }
    this.nextChunk = index + 1;
    this.applied++;
    this.entries += v.entries;
    this.rawBytes += v.rawBytes;
    this.writeJournal(this.nextChunk);
    return { action: "accept", chunk: index, refetch: [], rejectSender: false };
  }

  /**
   * Checks the imported root against the manifest and lands the version:
   * `snapshot/<height>` always, and the head when adopting. On a mismatch
   * nothing is adopted and the partial import is dropped.
   */
  finish(): { root: Uint8Array; height: number; adopted: boolean } {
    if (this.next !== undefined) {
      throw new HeliosError("INVALID_ARGUMENT", { next: this.next }, "chunks remain to be applied");
    }
    this.release();
    const height = this.manifest.height;
    if (this.landed) {
      const root = this.manifest.root;
      const adopted = this.opts.adopt !== false && height > this.db.height;
      if (adopted) this.db.adopt(height, root);
      this.finished = true;
      return { root, height, adopted };
    }
    const root = this.db.ref(this.workRef);
    if (!equalBytes(root, this.manifest.root)) {
      this.abort();
      throw new HeliosError("SNAPSHOT_ROOT_MISMATCH", {
        root: bytesToHex(root),
        expected: bytesToHex(this.manifest.root),
      });
    }
    let adopted = false;
    this.db.setRef(snapshotRef(height), root);
    if (this.opts.adopt !== false && height > this.db.height) {
      this.db.adopt(height, root);
      adopted = true;
    }
    // a journal left by a kill here is harmless: with the snapshot landed and no work ref, begin()
    // sees the import as done; and begin() removes any old journal before it makes a work ref
    this.db.deleteRef(this.workRef);
    this.removeJournal();
    this.finished = true;
    return { root, height, adopted };
  }

  /** Drops the partial import (its work ref and journal); GC then reclaims its nodes. */
  abort(): void {
    this.release();
    if (this.db.refs().has(this.workRef)) this.db.deleteRef(this.workRef);
    this.removeJournal();
    this.finished = true;
  }

  /** Gives the store back its usual checkpoint cadence (finish and abort call it; call it when giving up otherwise). */
  release(): void {
    if (this.bulk && this.savedPolicy !== undefined) this.db.setCheckpointPolicy(this.savedPolicy);
    this.bulk = false;
  }

  private readJournal(): number | undefined {
    try {
      const s = readFileSync(this.journal, "utf8").trim();
      const n = Number(s);
      return Number.isSafeInteger(n) && n >= 0 && n <= this.manifest.chunks.length ? n : undefined;
    } catch {
      return undefined;
    }
  }

  private writeJournal(next: number): void {
    const tmp = `${this.journal}.tmp`;
    try {
      mkdirSync(path.dirname(this.journal), { recursive: true });
      const fd = openSync(tmp, "w");
      try {
        writeSync(fd, `${next}\n`);
        fsyncSync(fd);
      } finally {
        closeSync(fd);
      }
      renameSync(tmp, this.journal);
      syncDir(path.dirname(this.journal));
    } catch {
      // the journal only saves refetching: without it a resume re-applies chunks, which is harmless
    }
  }

  private removeJournal(): void {
    rmSync(this.journal, { force: true });
    rmSync(`${this.journal}.tmp`, { force: true });
    syncDir(path.dirname(this.journal)); // the unlink is durable before the work ref changes
  }
}

/** An import a store holds unfinished: its work ref and the next chunk its journal names. */
export interface PendingImport {
  /** The manifest id (hex); the work ref is `import/<id>`. */
  id: string;
  /** The partial version built so far. */
  root: Uint8Array;
  /** The next chunk to apply, or undefined when the journal is missing. */
  next: number | undefined;
}

/** Unfinished imports: each keeps its partial version from GC until it is resumed or abandoned. */
export function pendingImports(db: StateDB): PendingImport[] {
  const out: PendingImport[] = [];
  for (const [name, root] of db.refs()) {
    if (!name.startsWith("import/")) continue;
    const id = name.slice("import/".length);
    let next: number | undefined;
    try {
      const n = Number(readFileSync(path.join(db.store.dir.dir, "imports", `${id}.next`), "utf8").trim());
      next = Number.isSafeInteger(n) && n >= 0 ? n : undefined;
    } catch {
      next = undefined;
    }
    out.push({ id, root, next });
  }
  return out.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

/** Drops an unfinished import (its work ref and journal); GC then reclaims what only it kept. */
export function abandonImport(db: StateDB, id: string): void {
  const ref = `import/${id}`;
  if (!db.refs().has(ref)) throw new HeliosError("REF_NOT_FOUND", { name: ref }, "no unfinished import with that id");
  db.deleteRef(ref);
  const journal = path.join(db.store.dir.dir, "imports", `${id}.next`);
  rmSync(journal, { force: true });
  rmSync(`${journal}.tmp`, { force: true });
  syncDir(path.dirname(journal));
}
