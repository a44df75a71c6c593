/**
 * snapshot/files — snapshots as directories: export, import and verify.
 *
 *   <dir>/manifest.bin         the manifest (format.ts), written last
 *   <dir>/manifest.json        the same, for people (not read back)
 *   <dir>/chunks/<n>.hsc       chunk files, n = 6-digit index
 *
 * Export holds a lease on the version (and the base) for as long as it
 * reads it, so GC never collects what is being exported. The manifest is
 * written (atomically, by rename) only after every chunk is on disk: a
 * directory without one is an unfinished export.
 *
 * Costs: export = build.ts + one file write per chunk; import = import.ts
 * + one file read per chunk; verify = verify.ts per checked chunk, no store.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import path from "node:path";
import { bytesToHex, equalBytes, HeliosError, hash, xorshift32 } from "../core/index.js";
import type { StateDB } from "../history/index.js";
import { EMPTY_ROOT } from "../merkle/index.js";
import { type BuildOptions, type BuiltChunk, checkBuildOptions, fullChunks, incrementalChunks } from "./build.js";
import {
  type ChunkMeta,
  decodeManifest,
  encodeManifest,
  FORMAT_VERSION,
  type Manifest,
  manifestTotals,
} from "./format.js";
import { type ImportOptions, SnapshotImport } from "./import.js";
import { fsyncDir, writeFileDurable } from "../store/index.js";
import { rootForHeight } from "./manage.js";
import { verifyChunk } from "./verify.js";

export interface ExportOptions extends BuildOptions {
  /** Export the increment from this height's snapshot (or retained height) instead of the whole state. */
  base?: number;
  /**
   * Called after each chunk; `fraction` estimates the share done (keys are
   * spread by hash). A returned promise is awaited before the next chunk.
   */
  onProgress?: (p: {
    chunks: number;
    entries: number;
    rawBytes: number;
    fileBytes: number;
    fraction: number;
  }) => void | Promise<void>;
}

export interface ExportReport {
  manifest: Manifest;
  rawBytes: number;
  fileBytes: number;
  entries: number;
  /** fileBytes / rawBytes. */
  ratio: number;
}

export function chunkFile(dir: string, index: number): string {
  return path.join(dir, "chunks", `${String(index).padStart(6, "0")}.hsc`);
}

/** The manifest as JSON, for people and tools (`helios snapshot info`). */
export function manifestJson(m: Manifest): Record<string, unknown> {
  const t = manifestTotals(m);
  const td = new TextDecoder();
  return {
    format: `helios-snapshot/${m.version}`,
    kind: m.kind,
    height: m.height,
    root: bytesToHex(m.root),
    ...(m.kind === "incremental" ? { baseHeight: m.baseHeight, baseRoot: bytesToHex(m.baseRoot) } : {}),
    codec: m.codec,
    chunkBytes: m.chunkBytes,
    chunks: m.chunks.length,
    entries: t.entries,
    rawBytes: t.rawBytes,
    fileBytes: t.fileBytes,
    ratio: t.rawBytes === 0 ? 1 : Number((t.fileBytes / t.rawBytes).toFixed(4)),
    chunkList: m.chunks.map((c, i) => ({
      index: i,
      hash: bytesToHex(c.hash),
      start: { tree: td.decode(c.start.tree), key: bytesToHex(c.start.key) },
      entries: c.entries,
      rawBytes: c.rawBytes,
      fileBytes: c.fileBytes,
    })),
  };
}

/** Exports the snapshot at `height` (a snapshot, else a retained height) to a new or empty directory. */
export async function exportSnapshot(
  db: StateDB,
  height: number,
  dir: string,
  opts: ExportOptions = {},
): Promise<ExportReport> {
  const o = checkBuildOptions(opts);
  if (existsSync(dir) && readdirSync(dir).length > 0) {
    throw new HeliosError("INVALID_ARGUMENT", { dir }, "the export directory must be new or empty");
  }
  const root = rootForHeight(db, height);
  const base = opts.base === undefined ? undefined : rootForHeight(db, opts.base);
  if (opts.base !== undefined && opts.base >= height) {
    throw new HeliosError("INVALID_ARGUMENT", { base: opts.base, height }, "the base must be below the height");
  }
  const releases = [db.lease(root), ...(base === undefined ? [] : [db.lease(base)])];
  try {
    mkdirSync(path.join(dir, "chunks"), { recursive: true });
    const chunks: ChunkMeta[] = [];
    let rawBytes = 0;
    let fileBytes = 0;
    let entries = 0;
    const it: Generator<BuiltChunk> =
      base === undefined ? fullChunks(db, root, o) : incrementalChunks(db, base, root, o);
    for (const c of it) {
      writeFileDurable(chunkFile(dir, c.index), c.file);
      chunks.push({
        hash: hash(c.body),
        rawBytes: c.body.length,
        fileBytes: c.file.length,
        entries: c.entries,
        start: c.start,
      });
      rawBytes += c.body.length;
      fileBytes += c.file.length;
      entries += c.entries;
      await opts.onProgress?.({ chunks: chunks.length, entries, rawBytes, fileBytes, fraction: c.progress });
      // let the event loop run (timers, GC steps, other requests) between chunks
      await new Promise<void>((r) => setImmediate(r));
    }
    const manifest: Manifest = {
      version: FORMAT_VERSION,
      kind: base === undefined ? "full" : "incremental",
      codec: o.codec,
      height,
      root,
      baseHeight: opts.base ?? 0,
      baseRoot: base ?? EMPTY_ROOT,
      chunkBytes: o.chunkBytes,
      chunks,
    };
    const bytes = encodeManifest(manifest);
    writeFileSync(path.join(dir, "manifest.json"), `${JSON.stringify(manifestJson(manifest), null, 2)}\n`);
    fsyncDir(path.join(dir, "chunks"));
    writeFileDurable(path.join(dir, "manifest.bin.tmp"), bytes);
    renameSync(path.join(dir, "manifest.bin.tmp"), path.join(dir, "manifest.bin"));
    fsyncDir(dir);
    return { manifest, rawBytes, fileBytes, entries, ratio: rawBytes === 0 ? 1 : fileBytes / rawBytes };
  } finally {
    for (const r of releases) r();
  }
}

export function readManifest(dir: string): { bytes: Uint8Array; manifest: Manifest } {
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(path.join(dir, "manifest.bin"));
  } catch (e) {
    throw new HeliosError(
      "SNAPSHOT_MANIFEST_INVALID",
      { dir },
      `no manifest.bin (an unfinished export, or not a snapshot directory): ${(e as Error).message}`,
    );
  }
  return { bytes, manifest: decodeManifest(bytes) };
}

function readChunk(dir: string, index: number): Uint8Array {
  try {
    return readFileSync(chunkFile(dir, index));
  } catch (e) {
    throw new HeliosError(
      "SNAPSHOT_CHUNK_BAD_COMPRESSION",
      { chunk: index, reason: "unreadable" },
      `chunk ${index}: ${(e as Error).message}`,
    );
  }
}

export interface ImportReport {
  root: Uint8Array;
  height: number;
  adopted: boolean;
  chunks: number;
  resumedAt: number;
  entries: number;
  rawBytes: number;
}

/**
 * Imports a snapshot directory into the store, resuming an import of the
 * same manifest that a crash interrupted. A chunk that fails verification
 * (or cannot be read) stops the import with its coded error, whose `reply`
 * property (a ChunkReply) says what to do; the chunks before it stay applied
 * on the work ref for a later resume, unless the reply rejects the snapshot,
 * which drops the partial import. `onBegin` sees the import right after
 * `SnapshotImport.begin` (where it resumes, its manifest), before any chunk.
 */
export async function importSnapshot(
  db: StateDB,
  dir: string,
  opts: ImportOptions & {
    onBegin?: (imp: SnapshotImport) => void;
    onProgress?: (p: { chunksDone: number; chunks: number; rawBytes: number }) => void;
  } = {},
): Promise<ImportReport> {
  const { bytes } = readManifest(dir);
  const imp = SnapshotImport.begin(db, bytes, opts);
  opts.onBegin?.(imp);
  try {
    await applyAll(imp, dir, opts.onProgress);
  } catch (e) {
    imp.release(); // the store's usual checkpoint cadence again
    throw e;
  }
  const done = imp.finish();
  return {
    ...done,
    chunks: imp.manifest.chunks.length,
    resumedAt: imp.resumedAt,
    entries: imp.entries,
    rawBytes: imp.rawBytes,
  };
}

async function applyAll(
  imp: SnapshotImport,
  dir: string,
  onProgress: ((p: { chunksDone: number; chunks: number; rawBytes: number }) => void) | undefined,
): Promise<void> {
  for (let i = imp.next; i !== undefined; i = imp.next) {
    let file: Uint8Array;
    try {
      file = readChunk(dir, i);
    } catch (e) {
      throw Object.assign(e as Error, {
        reply: { action: "retry_chunk", chunk: i, refetch: [i], rejectSender: false, error: e },
      });
    }
    const reply = imp.apply(i, file);
    if (reply.action === "reject_snapshot") imp.abort(); // nothing of a rejected snapshot is kept
    if (reply.action !== "accept") {
      const err = reply.error ?? new HeliosError("INVALID_ARGUMENT", { chunk: i }, "chunk not accepted");
      throw Object.assign(err, { reply });
    }
    const p = imp.progress();
    onProgress?.({ chunksDone: p.chunksDone, chunks: p.chunks, rawBytes: p.rawBytes });
    await new Promise<void>((r) => setImmediate(r));
  }
}

export interface VerifyReport {
  kind: "full" | "sample";
  chunks: number;
  checked: number[];
  entries: number;
  /** Chunks that failed, with their codes. */
  failures: { chunk: number; code: string; message: string }[];
  /** For a sample: the assumed share of corrupt chunks and the chance this sample would have caught one. */
  rate?: number;
  detectProbability?: number;
  /** Chunks a sample needs for a 99% chance at this rate. */
  sampleFor99?: number;
  seed?: number;
}

/**
 * P(a uniform sample of k of n chunks, without replacement, includes at
 * least one of the ⌈rate·n⌉ bad ones) = 1 − C(n−b, k) / C(n, k).
 */
export function detectProbability(n: number, k: number, rate: number): number {
  const bad = Math.min(n, Math.ceil(rate * n - 1e-9));
  if (bad <= 0 || k <= 0) return 0;
  if (k > n - bad) return 1;
  let miss = 1;
  for (let j = 0; j < k; j++) miss *= (n - bad - j) / (n - j);
  return 1 - miss;
}

/** A seeded generator in [0, 1) (verification samples must be replayable: the seed is printed). */
function sampler(seed: number): () => number {
  const next = xorshift32(seed);
  return () => next() / 2 ** 32;
}

/**
 * Verifies a snapshot directory without a store: every chunk (full verify)
 * or `sample` chunks drawn with `seed`, each against the manifest root with
 * all its proofs. Failures are collected, not thrown.
 */
export function verifySnapshotDir(
  dir: string,
  opts: {
    sample?: number;
    seed?: number;
    rate?: number;
    trustedRoot?: Uint8Array;
    onProgress?: (p: { done: number; total: number }) => void;
  } = {},
): VerifyReport {
  const { manifest: m } = readManifest(dir);
  if (opts.trustedRoot !== undefined && !equalBytes(opts.trustedRoot, m.root)) {
    throw new HeliosError("SNAPSHOT_UNTRUSTED_ROOT", {
      root: bytesToHex(m.root),
      trusted: bytesToHex(opts.trustedRoot),
    });
  }
  const n = m.chunks.length;
  let indices: number[];
  const sampling = opts.sample !== undefined;
  const seed = opts.seed ?? 1;
  if (sampling) {
    const k = opts.sample as number;
    if (!Number.isSafeInteger(k) || k < 1) throw new HeliosError("INVALID_ARGUMENT", { sample: k }, "sample ≥ 1");
    const rnd = sampler(seed);
    const all = [...Array(n).keys()];
    for (let i = n - 1; i > 0; i--) {
      const j = Math.floor(rnd() * (i + 1));
      [all[i], all[j]] = [all[j] as number, all[i] as number];
    }
    indices = all.slice(0, Math.min(k, n)).sort((a, b) => a - b);
  } else indices = [...Array(n).keys()];
  const failures: VerifyReport["failures"] = [];
  let entries = 0;
  indices.forEach((i, done) => {
    try {
      entries += verifyChunk(m, i, readChunk(dir, i)).entries;
    } catch (e) {
      if (!(e instanceof HeliosError)) throw e;
      failures.push({ chunk: i, code: e.code, message: e.message });
    }
    opts.onProgress?.({ done: done + 1, total: indices.length });
  });
  const report: VerifyReport = { kind: sampling ? "sample" : "full", chunks: n, checked: indices, entries, failures };
  if (sampling) {
    const rate = opts.rate ?? 0.01;
    report.rate = rate;
    report.seed = seed;
    report.detectProbability = detectProbability(n, indices.length, rate);
    // the odds grow with k: binary search for the smallest k reaching 99%
    let lo = 1;
    let hi = n;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (detectProbability(n, mid, rate) >= 0.99) hi = mid;
      else lo = mid + 1;
    }
    report.sampleFor99 = lo;
  }
  return report;
}
