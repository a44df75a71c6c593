/**
 * bench/suites/snapshot — snapshots of a durable store (src/snapshot): O(1)
 * creation, export to a chunked snapshot directory, import + verification
 * into a fresh store, verification alone, and the bytes on disk; against the
 * obvious reference, a tarball of the store directory compressed with the
 * zstd CLI (`tar | zstd -3`) and unpacked with `zstd -d | tar -x`, which
 * checks nothing. One process; the reference runs as child processes
 * (bash -c, spawnSync). Without a `zstd` (or `tar`) on PATH the reference
 * rows are skipped with a printed note.
 *
 * Workload (bench/support/snapshot-work.ts): state bytes = Σ key + value
 * bytes; 32-byte pseudo-random keys, account-like records of 200–300 bytes
 * (~2.4× compressible as key+value with zstd -3). Full mode: ~1 GB of state
 * (SNAPSHOT_BYTES overrides, e.g. 300e6); quick mode: ~20 MB. Built into a
 * durable store as commits of 50K entries (default background checkpoints),
 * then an awaited checkpoint. Full mode also builds the quick-size store
 * first, for the creation rows at a second size.
 *
 * Measured (MB = 10^6 bytes; "MB/s" is always state bytes per second):
 *   create               createSnapshot(db, head, {sync}) × 200 (after 20
 *                        warm-up calls), median µs; sync:true fdatasyncs the
 *                        log, sync:false leaves that to the next commit
 *   export               exportSnapshot(db, h, dir, {codec}) for zstd (the
 *                        default, level 3) and lz4; L1 dropped before each
 *                        rep, OS page cache warm; exportSnapshot fsyncs each
 *                        chunk file and the manifest. Reference: the store
 *                        dir (after its checkpoint, idle) through
 *                        `tar -cf - . | zstd -3 -T0` (all cores) and `-T1`,
 *                        no fsync; and -T0 followed by `sync` of the tarball
 *   import + verify      importSnapshot(fresh store, zstd dir) + close():
 *                        read, decompress, verify every chunk's proofs, one
 *                        durable commit per chunk, the final root check and
 *                        adopt, and close's checkpoint to LMDB; the store's
 *                        open is excluded. Reference: `zstd -d -c | tar -x`
 *                        with and without an fsync of every extracted file.
 *                        Diagnostic row "helios, 1 checkpoint": the same
 *                        import into a store opened with intermediate
 *                        checkpoints off (checkpointEvery/Bytes huge), so
 *                        all nodes reach LMDB in close()'s one checkpoint
 *   verify               verifySnapshotDir(dir) of every chunk, no store.
 *                        Reference: `zstd -t` (the frame checksum only)
 *   sizes                apparent bytes of the files: store dir after the
 *                        build, snapshot dirs, tarball, and the store the
 *                        import made (after close)
 * Full mode runs each timed operation REPS_FULL times (import once: it is
 * the slowest), quick mode REPS_QUICK times, and reports the median.
 * Cost on the project's 2-core VM: full ~14 min, ~10 GB in temp files and a
 * peak RSS of ~7 GB (the diagnostic import holds the whole state in L0);
 * quick 15–25 s.
 */
import { spawnSync } from "node:child_process";
import { rmSync } from "node:fs";
import path from "node:path";
import { bytesToHex, equalBytes } from "../../src/core/index.js";
import { openState, type StateDB } from "../../src/history/index.js";
import {
  createSnapshot,
  type ExportReport,
  exportSnapshot,
  importSnapshot,
  verifySnapshotDir,
} from "../../src/snapshot/index.js";
import { type Add, du, gc, median, type Mode, msSince, now, type Result, tempDir } from "../lib.js";
import { bytesOf, entriesOf, MAX_VALUE, MEAN_ENTRY_BYTES, MIN_VALUE } from "../support/snapshot-work.js";

const TREE = "accounts";
const BATCH = 50_000;
const CREATE_REPS = 200;
const CREATE_WARMUP = 20;
const REPS_QUICK = 3;
const REPS_FULL = 3;
const QUICK_BYTES = 20e6;
const FULL_BYTES = 1e9;
const MB = 1e6;

function log(msg: string): void {
  process.stderr.write(`[snapshot] ${msg}\n`);
}

function fmtS(ms: number): string {
  return ms >= 60_000 ? `${(ms / 60_000).toFixed(1)} min` : `${(ms / 1000).toFixed(2)} s`;
}

/** "20MB", "1GB", "300MB": the size label of a state of `bytes`. */
function sizeLabel(bytes: number): string {
  return bytes >= 0.95e9 ? `${+(bytes / 1e9).toFixed(1)}GB` : `${Math.round(bytes / MB)}MB`;
}

function fmtBytes(b: number): string {
  return `${(b / MB).toFixed(1)} MB`;
}

/** Runs `cmd` under bash (pipefail); returns its wall time in ms, throws on failure. */
function sh(cmd: string): number {
  const t0 = now();
  const r = spawnSync("bash", ["-c", `set -o pipefail; ${cmd}`], { stdio: ["ignore", "ignore", "pipe"] });
  const ms = msSince(t0);
  if (r.status !== 0) throw new Error(`${cmd}: exit ${r.status} ${r.signal ?? ""}: ${r.stderr?.toString().trim()}`);
  return ms;
}

function shQuote(s: string): string {
  return `'${s.replace(/'/g, "'\\''")}'`;
}

/** The reference tools, or the reason they cannot run. */
function referenceTools(): { ok: true; zstd: string } | { ok: false; why: string } {
  const r = spawnSync("bash", ["-c", "command -v tar >/dev/null && command -v zstd >/dev/null && zstd --version"], {
    encoding: "utf8",
  });
  if (r.error !== undefined) return { ok: false, why: `bash unavailable (${r.error.message})` };
  if (r.status !== 0) return { ok: false, why: "`zstd` or `tar` is not on PATH" };
  return { ok: true, zstd: r.stdout.trim().replace(/^\*+\s*|\s*\*+$/g, "") };
}

interface Built {
  db: StateDB;
  dir: string;
  height: number;
  n: number;
  stateBytes: number;
  buildMs: number;
}

/** Builds ~`target` bytes of state (n entries) into a new durable store, in commits of BATCH entries. */
async function build(target: number, label: string): Promise<Built> {
  const n = Math.max(1, Math.round(target / MEAN_ENTRY_BYTES));
  const dir = tempDir(`snapshot-${label}`);
  const db = openState(dir, { create: true });
  let stateBytes = 0;
  let busy = 0;
  const t0 = now();
  let shown = 0;
  for (let s = 0; s < n; s += BATCH) {
    const ops = entriesOf(s, Math.min(BATCH, n - s), n);
    stateBytes += bytesOf(ops);
    const c0 = now();
    db.commit(db.height + 1, { [TREE]: ops });
    busy += msSince(c0);
    const pct = Math.floor(((s + ops.length) * 10) / n) * 10;
    if (pct > shown && n > 10 * BATCH) {
      shown = pct;
      log(`${label}: built ${pct}% (${s + ops.length}/${n}) in ${fmtS(msSince(t0))}`);
    }
  }
  const c0 = now();
  await db.checkpoint();
  busy += msSince(c0);
  log(
    `${label}: ${n} entries, ${fmtBytes(stateBytes)} of state, in ${db.height} commits: ${fmtS(busy)} in commit+checkpoint, ` +
      `${fmtS(msSince(t0) - busy)} generating data; store ${fmtBytes(du(dir).apparent)}`,
  );
  return { db, dir, height: db.height, n, stateBytes, buildMs: busy };
}

/** Median µs (and p99) of createSnapshot at the head. */
function timeCreate(db: StateDB, height: number, sync: boolean): { median: number; p99: number } {
  for (let i = 0; i < CREATE_WARMUP; i++) createSnapshot(db, height, { sync });
  const us: number[] = [];
  for (let i = 0; i < CREATE_REPS; i++) {
    const t0 = now();
    createSnapshot(db, height, { sync });
    us.push(msSince(t0) * 1000);
  }
  us.sort((a, b) => a - b);
  return { median: median(us), p99: us[Math.ceil(0.99 * us.length) - 1] as number };
}

function createRows(add: Add, b: Built, at: string): void {
  for (const sync of [true, false]) {
    const r = timeCreate(b.db, b.height, sync);
    log(`${at}: createSnapshot sync:${sync} median ${r.median.toFixed(1)} µs, p99 ${r.p99.toFixed(1)} µs`);
    add(
      `create (sync:${sync}) ${at}`,
      "helios",
      r.median,
      "µs",
      "lower",
      `createSnapshot(db, head, {sync:${sync}}): one ref record appended to the log${sync ? " and fdatasync'd" : " (fsync left to the next commit)"}; ` +
        `median of ${CREATE_REPS} calls after ${CREATE_WARMUP} warm-up calls; p99 ${r.p99.toFixed(1)} µs; state ${fmtBytes(b.stateBytes)} (${b.n} entries)`,
    );
  }
}

interface Params {
  mode: Mode;
  bytes: number;
  reps: number;
  importReps: number;
}

async function main(p: Params, add: Add): Promise<void> {
  const tools = referenceTools();
  if (!tools.ok) {
    const note = `note: ${tools.why}: the reference rows (tar | zstd) are skipped`;
    console.log(`[snapshot] ${note}`);
  } else
    log(`reference: ${tools.zstd}, ${spawnSync("tar", ["--version"], { encoding: "utf8" }).stdout.split("\n")[0]}`);

  // 1. creation at the quick size (full mode: a second, small store for the size-independence check)
  if (p.mode === "full") {
    const small = await build(QUICK_BYTES, "small");
    try {
      createRows(add, small, `@${sizeLabel(small.stateBytes)}`);
      await small.db.close();
    } finally {
      rmSync(small.dir, { recursive: true, force: true });
    }
    gc();
  }

  const b = await build(p.bytes, p.mode === "full" ? "big" : "quick");
  const at = `@${sizeLabel(b.stateBytes)}`;
  const work = tempDir("snapshot-out");
  const state = b.stateBytes;
  const mbps = (ms: number) => state / MB / (ms / 1000);
  const wl = `${b.n} entries, ${fmtBytes(state)} of state (32 B keys, ${MIN_VALUE}–${MAX_VALUE} B records)`;
  try {
    const storeSize = du(b.dir);
    add(
      `build ${at}`,
      "helios",
      mbps(b.buildMs),
      "MB/s",
      "higher",
      `${wl}: ${b.height} commits of ${BATCH / 1000}K entries (default background checkpoints) + an awaited checkpoint; ` +
        `${fmtS(b.buildMs)}; data generation excluded`,
    );
    createRows(add, b, at);
    const root = b.db.rootAt(b.height);

    // 2. export, zstd and lz4
    const exports: Record<string, { ms: number[]; report: ExportReport; dir: string; bytes: number }> = {};
    for (const codec of ["zstd", "lz4"] as const) {
      const ms: number[] = [];
      let report: ExportReport | undefined;
      const dir = path.join(work, `snap-${codec}`);
      for (let r = 0; r < p.reps; r++) {
        rmSync(dir, { recursive: true, force: true });
        b.db.store.dropCache();
        gc();
        const t0 = now();
        report = await exportSnapshot(b.db, b.height, dir, { codec });
        ms.push(msSince(t0));
        log(`${at}: export ${codec} rep ${r + 1}: ${fmtS(ms[r]!)} (${mbps(ms[r]!).toFixed(1)} MB/s)`);
      }
      const rep = report as ExportReport;
      const bytes = du(dir).apparent;
      exports[codec] = { ms, report: rep, dir, bytes };
      if (rep.entries !== b.n) throw new Error(`helios: export guard failed: ${rep.entries} entries, ${b.n} built`);
      add(
        `export ${codec} ${at}`,
        "helios",
        mbps(median(ms)),
        "MB/s",
        "higher",
        `exportSnapshot(db, ${b.height}, dir, {codec:"${codec}"${codec === "zstd" ? ", level 3" : ""}}) of ${wl}: ` +
          `${rep.manifest.chunks.length} chunks of ≤ 4 MiB, ${fmtBytes(rep.rawBytes)} of chunk bodies, ${fmtBytes(rep.fileBytes)} of chunk files; ` +
          `median of ${p.reps} (${ms.map((x) => fmtS(x)).join(", ")}); L1 dropped before each, OS page cache warm; every chunk file and the manifest fsync'd`,
      );
    }

    // reference export: tar | zstd, all threads and one
    const tarball = path.join(work, "state.tar.zst");
    const ref: Record<string, { ms: number[]; bytes: number }> = {};
    if (tools.ok) {
      for (const t of ["T0", "T1", "T0 + fsync"] as const) {
        const threads = t.slice(0, 2);
        const fsync = t.endsWith("fsync");
        const out = path.join(work, `state-${threads}.tar.zst`);
        const ms: number[] = [];
        for (let r = 0; r < p.reps; r++) {
          rmSync(out, { force: true });
          const cmd = `tar -C ${shQuote(b.dir)} -cf - . | zstd -3 -${threads} -q -o ${shQuote(out)}`;
          ms.push(sh(fsync ? `${cmd} && sync ${shQuote(out)}` : cmd));
          log(`${at}: tar | zstd -3 -${t} rep ${r + 1}: ${fmtS(ms[r]!)} (${mbps(ms[r]!).toFixed(1)} MB/s)`);
        }
        ref[t] = { ms, bytes: du(out).apparent };
        add(
          `export zstd ${at}`,
          `tar | zstd -3 -${t}`,
          mbps(median(ms)),
          "MB/s",
          "higher",
          `\`tar -C store -cf - . | zstd -3 -${threads} -q -o out.tar.zst\`${fsync ? " && sync out.tar.zst" : ""} ` +
            `of the idle store dir (${fmtBytes(storeSize.apparent)}, after its checkpoint), ${fsync ? "then an fsync of the tarball" : "no fsync"}; ` +
            `${threads === "T0" ? "zstd uses every core (2)" : "one compression thread"}; tar reads and zstd compresses in parallel processes; ` +
            `median of ${p.reps} (${ms.map((x) => fmtS(x)).join(", ")}); spawn via bash -c included (~ms)`,
        );
        if (t === "T0") sh(`cp ${shQuote(out)} ${shQuote(tarball)}`);
        rmSync(out, { force: true });
      }
    }

    // sizes
    const z = exports.zstd!;
    const l = exports.lz4!;
    add(
      `store on disk ${at}`,
      "helios",
      storeSize.apparent / MB,
      "MB",
      "lower",
      `store dir after the build and its checkpoint (LMDB + log + lock), apparent bytes; allocated ${fmtBytes(storeSize.allocated)}; ${(storeSize.apparent / state).toFixed(2)}× the state bytes`,
    );
    add(
      `snapshot size zstd ${at}`,
      "helios",
      z.bytes / MB,
      "MB",
      "lower",
      `snapshot dir (manifest.bin + manifest.json + chunks/*.hsc), apparent bytes; chunk files ${fmtBytes(z.report.fileBytes)}; ${(z.bytes / state).toFixed(3)}× the state bytes`,
    );
    if (ref.T0 !== undefined) {
      add(
        `snapshot size zstd ${at}`,
        "tar | zstd -3 -T0",
        ref.T0.bytes / MB,
        "MB",
        "lower",
        `the tarball of the store dir; ${(ref.T0.bytes / state).toFixed(3)}× the state bytes (-T1 made ${fmtBytes(ref.T1?.bytes ?? Number.NaN)})`,
      );
    }
    add(
      `snapshot size lz4 ${at}`,
      "helios",
      l.bytes / MB,
      "MB",
      "lower",
      `snapshot dir, apparent bytes; chunk files ${fmtBytes(l.report.fileBytes)}; ${(l.bytes / state).toFixed(3)}× the state bytes`,
    );
    add(
      `snapshot/state ratio zstd ${at}`,
      "helios",
      z.report.fileBytes / state,
      "×",
      "lower",
      `chunk file bytes / state bytes (chunk bodies are ${(z.report.rawBytes / state).toFixed(3)}× the state: proof skeletons and framing)`,
    );
    if (ref.T0 !== undefined) {
      add(
        `snapshot/state ratio zstd ${at}`,
        "tar | zstd -3 -T0",
        ref.T0.bytes / state,
        "×",
        "lower",
        "tarball bytes / state bytes (it compresses the store's nodes: keys, values, hashes and LMDB pages)",
      );
    }
    add(
      `snapshot/state ratio lz4 ${at}`,
      "helios",
      l.report.fileBytes / state,
      "×",
      "lower",
      "chunk file bytes / state bytes",
    );

    // 3. verify only
    {
      const ms: number[] = [];
      for (let r = 0; r < p.reps; r++) {
        gc();
        const t0 = now();
        const v = verifySnapshotDir(z.dir);
        ms.push(msSince(t0));
        if (v.failures.length > 0 || v.entries !== b.n) {
          throw new Error(`helios: verify guard failed: ${v.failures.length} failures, ${v.entries} entries`);
        }
        log(`${at}: verify rep ${r + 1}: ${fmtS(ms[r]!)} (${mbps(ms[r]!).toFixed(1)} MB/s)`);
      }
      add(
        `verify ${at}`,
        "helios",
        mbps(median(ms)),
        "MB/s",
        "higher",
        `verifySnapshotDir(zstd dir): every chunk read, its check hash, decompressed, decoded, its proofs verified against the manifest root, its body hashed; no store; median of ${p.reps} (${ms.map((x) => fmtS(x)).join(", ")})`,
      );
      if (tools.ok) {
        const rms: number[] = [];
        for (let r = 0; r < p.reps; r++) rms.push(sh(`zstd -t -q ${shQuote(tarball)}`));
        add(
          `verify ${at}`,
          "zstd -t",
          mbps(median(rms)),
          "MB/s",
          "higher",
          `\`zstd -t out.tar.zst\`: decompresses and checks the frame's content checksum (xxhash64) only, nothing about the state; median of ${p.reps}`,
        );
      }
    }

    // 4. import + verify into a fresh store
    await b.db.close();
    {
      const ms: number[] = [];
      const applyMs: number[] = [];
      let imported = { allocated: 0, apparent: 0 };
      for (let r = 0; r < p.importReps; r++) {
        const dir2 = path.join(work, `import-${r}`);
        const db2 = openState(dir2, { create: true });
        gc();
        const t0 = now();
        const ir = await importSnapshot(db2, z.dir);
        applyMs.push(msSince(t0));
        await db2.close();
        ms.push(msSince(t0));
        log(
          `${at}: import rep ${r + 1}: ${fmtS(ms[r]!)} (${mbps(ms[r]!).toFixed(1)} MB/s; importSnapshot ${fmtS(applyMs[r]!)}, close ${fmtS(ms[r]! - applyMs[r]!)})`,
        );
        imported = du(dir2);
        // untimed: the imported store reopens at the snapshot's height and root
        const db3 = openState(dir2);
        if (ir.height !== b.height || db3.height !== b.height || !equalBytes(db3.rootAt(b.height), root)) {
          throw new Error(
            `helios: import guard failed: height ${db3.height}, root ${bytesToHex(db3.root)}, want ${bytesToHex(root)}`,
          );
        }
        await db3.close();
        rmSync(dir2, { recursive: true, force: true });
      }
      const m = median(ms);
      const mApply = median(applyMs);
      const note =
        `importSnapshot(fresh store, zstd dir) + close(): per chunk read, decompress, verify its proofs and hash, ` +
        `one durable commit to the import's work ref (tree update + a log record of the chunk + fdatasync) and a journal write; ` +
        `then the final root check, snapshot ref and adopt; close() = a checkpoint writing the imported nodes to LMDB. ` +
        `Opening the empty store is excluded. importSnapshot ${fmtS(mApply)} + close ${fmtS(m - mApply)}; ` +
        `${p.importReps === 1 ? "one run" : `median of ${p.importReps} (${ms.map((x) => fmtS(x)).join(", ")})`}`;
      add(`import + verify ${at}`, "helios", m / 1000, "s", "lower", note);
      add(`import + verify MB/s ${at}`, "helios", mbps(m), "MB/s", "higher", "the same runs, state bytes / seconds");
      // diagnostic: the same import with every node written to LMDB by one checkpoint, at close
      {
        const dir2 = path.join(work, "import-one-checkpoint");
        const db2 = openState(dir2, {
          create: true,
          checkpointEvery: Number.MAX_SAFE_INTEGER,
          checkpointBytes: Number.MAX_SAFE_INTEGER,
        });
        gc();
        const t0 = now();
        await importSnapshot(db2, z.dir);
        const aMs = msSince(t0);
        await db2.close();
        const oMs = msSince(t0);
        const maxRss = process.resourceUsage().maxRSS * 1024;
        const oneDisk = du(dir2);
        rmSync(dir2, { recursive: true, force: true });
        log(
          `${at}: import, one checkpoint: ${fmtS(oMs)} (importSnapshot ${fmtS(aMs)}, close ${fmtS(oMs - aMs)}); store ${fmtBytes(oneDisk.apparent)}`,
        );
        const oneNote =
          `diagnostic, not a default: the same import into a store opened with checkpointEvery and checkpointBytes = MAX_SAFE_INTEGER, ` +
          `so no checkpoint runs until close(), which writes every node to LMDB in one transaction; importSnapshot ${fmtS(aMs)} + close ${fmtS(oMs - aMs)}; ` +
          `L0 holds the whole state meanwhile (process peak RSS so far ${fmtBytes(maxRss)}); store after close ${fmtBytes(oneDisk.apparent)}; one run`;
        add(`import + verify ${at}`, "helios, 1 checkpoint", oMs / 1000, "s", "lower", oneNote);
        add(
          `import + verify MB/s ${at}`,
          "helios, 1 checkpoint",
          mbps(oMs),
          "MB/s",
          "higher",
          "the same run, state bytes / seconds",
        );
      }
      add(
        `imported store on disk ${at}`,
        "helios",
        imported.apparent / MB,
        "MB",
        "lower",
        `the store the import made, after close (apparent; allocated ${fmtBytes(imported.allocated)}), vs ${fmtBytes(storeSize.apparent)} for the store built by commits`,
      );
      if (tools.ok) {
        for (const fsync of [false, true]) {
          const rms: number[] = [];
          for (let r = 0; r < p.reps; r++) {
            const d = path.join(work, `untar-${r}`);
            sh(`mkdir -p ${shQuote(d)}`);
            rms.push(
              sh(
                `zstd -d -c -q ${shQuote(tarball)} | tar -x -C ${shQuote(d)}` +
                  (fsync ? ` && find ${shQuote(d)} -type f -exec sync {} +` : ""),
              ),
            );
            rmSync(d, { recursive: true, force: true });
          }
          const impl = fsync ? "zstd -d | tar -x + fsync" : "zstd -d | tar -x";
          const rn = `\`zstd -d -c out.tar.zst | tar -x -C dir\`${fsync ? " then `sync FILE...` (fsync of every extracted file)" : ", no fsync"}: checks nothing about the state; median of ${p.reps} (${rms.map((x) => fmtS(x)).join(", ")})`;
          add(`import + verify ${at}`, impl, median(rms) / 1000, "s", "lower", rn);
          add(`import + verify MB/s ${at}`, impl, mbps(median(rms)), "MB/s", "higher", "state bytes / seconds");
        }
      }
    }
  } finally {
    await b.db.close().catch(() => undefined);
    rmSync(work, { recursive: true, force: true });
    rmSync(b.dir, { recursive: true, force: true });
  }
}

function envBytes(): number | undefined {
  const v = process.env.SNAPSHOT_BYTES;
  if (v === undefined || v === "") return undefined;
  const n = Number(v.replace(/_/g, ""));
  if (!Number.isFinite(n) || n < 1e6) throw new Error(`SNAPSHOT_BYTES must be a number ≥ 1e6, got ${v}`);
  return n;
}

export async function run(mode: Mode): Promise<Result[]> {
  const full = mode === "full";
  const p: Params = {
    mode,
    bytes: envBytes() ?? (full ? FULL_BYTES : QUICK_BYTES),
    reps: full ? REPS_FULL : REPS_QUICK,
    importReps: full ? 1 : REPS_QUICK,
  };
  if ((globalThis as { gc?: unknown }).gc === undefined) log("warning: run node with --expose-gc");
  log(`${mode}: ~${fmtBytes(p.bytes)} of state${full ? ` (and ${fmtBytes(QUICK_BYTES)} for creation)` : ""}`);
  const results: Result[] = [];
  const add: Add = (workload, impl, value, unit, better, note) =>
    results.push({ workload, impl, value, unit, better, note });
  const t0 = Date.now();
  await main(p, add);
  log(`total ${fmtS(Date.now() - t0)}`);
  return results;
}
