/**
 * bench/suites/sandbox-fs — SandboxBench, directory checkpoints
 * (src/sandbox/checkpoint.ts): checkpoint and restore of a directory tree
 * against `git add -A && git commit` / `git checkout` and `tar -c | zstd -3`
 * / `zstd -d | tar -x`; an incremental checkpoint after a 1% change against
 * the full one (bytes written and time; target ≤ 2% of the full bytes) and
 * against git's incremental commit; first-byte latency of one file from the
 * big checkpoint on a freshly opened store (target ≤ 10 ms); the chunker's
 * throughput. Peers run as child processes (bash -c) in the same run, on the
 * same tree, with the OS page cache equally warm for all.
 *
 * The tree (built once per run in a temp dir):
 *   full   copies of the repo's node_modules (cp -a: 8.5K entries, symlinks)
 *          up to ~85%, then generated files (half text-like, half random,
 *          1 KiB–8 MiB) up to ~1 GB (SANDBOX_FS_BYTES overrides, e.g. 3e8);
 *   quick  the smallest node_modules packages up to ~75% of 16 MB, then
 *          generated files up to 16 MB.
 * The 1% change (same recipe in both modes, deterministic): ~0.5% of the
 * bytes as whole files rewritten, ~0.25% as 64 KiB regions overwritten in
 * place in the larger files, ~0.25% as new files, and a few files deleted.
 *
 * Reps are interleaved against machine noise (the VM is shared): each rep
 * runs Helios, git, git with fsync, then the tar variants, in that order;
 * REPS_FULL = 5 (SANDBOX_FS_REPS overrides), REPS_QUICK = 3; every figure is the median over the reps.
 * Each Helios rep uses a fresh store, each git rep a fresh repository, each
 * restore a fresh directory.
 *
 * Durability differs, so the peers run both ways:
 *   Helios          always durable: createCheckpoint returns after the
 *                   store's checkpoint to LMDB (fsync) and the ref record's
 *                   fsync;
 *   git             "no fsync" (git's default: loose objects are not
 *                   fsynced) and "core.fsync=all" (every object, the index
 *                   and the refs fsynced; core.fsyncMethod=fsync, the
 *                   default);
 *   tar | zstd      "no fsync" and "+ fsync" (`sync <archive> <dir>`: an
 *                   fsync of the archive and of its directory; not
 *                   `sync -f`, which is a syncfs of the whole file system
 *                   and on a shared VM would charge tar for other jobs'
 *                   dirty pages).
 * Restores are not durable for any tool (no fsync of restored files).
 *
 * Measured:
 *   checkpoint     createCheckpoint(db, tree) until it returns (durable);
 *                  git add -A + commit; tar -cf - . | zstd -3 -T0 (all
 *                  cores) and, in full mode only, -T1
 *   restore        restoreCheckpoint into an empty dir — it re-hashes every
 *                  chunk (BLAKE3) against its id; git checkout -f HEAD -- .
 *                  into an empty work tree (fresh index) — git does not
 *                  re-hash objects on checkout; zstd -d | tar -x (from the
 *                  -T0 archive; the format is the same for -T1)
 *   stored bytes   du (apparent) of the store dir after close / .git / the
 *                  .tar.zst. Git's loose objects are zlib level 1
 *                  (core.looseCompression, unset, falls back to
 *                  core.compression, and with both unset it is 1: best
 *                  speed); they are not packed (no git gc)
 *   bytes written  two measures, labelled:
 *                  physical = the growth of write_bytes in /proc/self/io
 *                  over the step. The kernel counts a page (4 KiB) when a
 *                  write makes it dirty in the page cache, so LMDB's
 *                  copy-on-write pages and the rounding up to pages are
 *                  counted, and a page rewritten while still dirty counts
 *                  once; file-system journal and metadata writes (done by
 *                  the kernel's journal thread) are not counted, for any
 *                  tool. Method: `sync` first (so every page the step
 *                  dirties is counted), read write_bytes, run the step,
 *                  close the store (so what close writes is included),
 *                  read again; nothing else in this process writes to a
 *                  file in between (no log lines). For git the step is the
 *                  spawnSync of bash: the kernel adds a child's (and its
 *                  reaped children's) I/O counters to the parent when the
 *                  parent reaps it, so the parent's write_bytes after
 *                  spawnSync returns includes git's (checked with dd in a
 *                  grandchild: exact to the 4 KiB page).
 *                  logical (Helios only) = LMDB frame bytes checkpointed +
 *                  log (WAL) bytes during the step: what the store asked
 *                  to write, before LMDB's pages.
 *   incremental    after the 1% change, on each of the last INCR_KEEP reps'
 *                  stores and repositories (interleaved): createCheckpoint
 *                  with that rep's full checkpoint as parent, git add -A +
 *                  commit with and without fsync; physical and logical
 *                  bytes written as shares of the full checkpoint's; plus
 *                  the on-disk growth (store dir / .git, apparent bytes)
 *   first byte     StateDB.open (not timed), then openFile(id, path) +
 *                  the first chunk; a fresh open per rep, so Helios's L1
 *                  cache is empty, but the OS page cache is warm (the store
 *                  was just written and read); for a file deep in the tree;
 *                  the median of FIRST_BYTE_REPS
 *   chunker        chunkEnds over 256 MiB (quick: 64 MiB) of random bytes
 * Fidelity differs: git keeps no mtimes and only the exec bit; tar keeps
 * modes and mtimes (µs); Helios keeps modes and ns mtimes (restores µs).
 * Cost on the project's 2-core VM: quick ~30–40 s (37 s at load average 7;
 * git with core.fsync=all is the largest share: one fsync per object);
 * full ~20 min (estimated, not yet run: 5 reps, and git with fsync at
 * ~2–3 ms per object, ~25K objects per rep) and ~5 GB of temp files at
 * the peak (the tree, 3 kept stores and 6 kept repositories, a restore).
 */
import { spawnSync } from "node:child_process";
import {
  closeSync,
  existsSync,
  lstatSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  readSync,
  rmSync,
  unlinkSync,
  writeFileSync,
  writeSync,
} from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { xorshift32, xorshiftBytes } from "../../src/core/index.js";
import { openState } from "../../src/history/index.js";
import { chunkEnds, createCheckpoint, openFile, restoreCheckpoint } from "../../src/sandbox/index.js";
import { type Add, du, gc, median, type Mode, msSince, now, type Result, tempDir } from "../lib.js";

const MB = 1e6;
const QUICK_BYTES = 16e6;
const FULL_BYTES = 1e9;
const REPS_QUICK = 3;
const REPS_FULL = 5;
/** How many of the last reps keep their store and repositories for the incremental step. */
const INCR_KEEP = 3;
const FIRST_BYTE_REPS = 15;
const NODE_MODULES = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../../node_modules");
const GIT_ID = "-c user.name=bench -c user.email=b@x";
/** The git variants: the default (loose objects not fsynced) and fully durable. */
const GIT_VARIANTS = [
  { key: "nofsync", cfg: "", impl: "git add -A && commit (no fsync)" },
  { key: "fsync", cfg: "-c core.fsync=all -c core.fsyncMethod=fsync", impl: "git add -A && commit (core.fsync=all)" },
] as const;

const T_START = now();

function log(msg: string): void {
  process.stderr.write(`[sandbox-fs +${(msSince(T_START) / 1000).toFixed(1)}s] ${msg}\n`);
}

function shQuote(s: string): string {
  return `'${s.replace(/'/g, "'\\''")}'`;
}

/** Runs `cmd` under bash (pipefail); returns its wall time in ms, throws on failure. */
function sh(cmd: string, env: Record<string, string> = {}): number {
  const t0 = now();
  const r = spawnSync("bash", ["-c", `set -o pipefail; ${cmd}`], {
    stdio: ["ignore", "ignore", "pipe"],
    env: { ...process.env, ...env },
  });
  const ms = msSince(t0);
  if (r.status !== 0) throw new Error(`${cmd}: exit ${r.status} ${r.signal ?? ""}: ${r.stderr?.toString().trim()}`);
  return ms;
}

function have(tool: string): boolean {
  return spawnSync("bash", ["-c", `command -v ${tool}`], { stdio: "ignore" }).status === 0;
}

/** Pseudo-random bytes (seeded). */
function randomBytes(n: number, seed: number): Uint8Array {
  return xorshiftBytes(n, seed);
}

/** Text-like bytes (zstd -3 gets ~3×), seeded. */
function textBytes(n: number, seed: number): Uint8Array {
  const next = xorshift32(seed);
  const words = ["const", "state", "return", "function", "root", "chunk", "merkle", "export", "=>", "{", "}", "\n"];
  const parts: string[] = [];
  let len = 0;
  while (len < n) {
    const w = `${words[next() % words.length]}${next() % 500} `;
    parts.push(w);
    len += w.length;
  }
  return Buffer.from(parts.join(""), "latin1").subarray(0, n);
}

/** Apparent bytes of regular files under a dir, and the paths of its regular files (sorted). */
function scanTree(dir: string): { bytes: number; files: string[] } {
  const files: string[] = [];
  let bytes = 0;
  const stack = [dir];
  while (stack.length > 0) {
    const d = stack.pop() as string;
    for (const e of readdirSync(d).sort()) {
      const p = path.join(d, e);
      const st = lstatSync(p);
      if (st.isDirectory()) stack.push(p);
      else if (st.isFile()) {
        files.push(p);
        bytes += st.size;
      }
    }
  }
  return { bytes, files: files.sort() };
}

/** Writes generated files into dir/gen until `bytes` are written. */
function generate(dir: string, bytes: number, seed: number): void {
  const next = xorshift32(seed);
  let written = 0;
  let i = 0;
  while (written < bytes) {
    const size = Math.min(bytes - written, 1024 << (next() % 14)); // 1 KiB … 8 MiB
    const p = path.join(dir, "gen", `d${i % 16}`, `f${i}.${i % 2 === 0 ? "txt" : "bin"}`);
    mkdirSync(path.dirname(p), { recursive: true });
    writeFileSync(p, i % 2 === 0 ? textBytes(size, seed + i) : randomBytes(size, seed + i));
    written += size;
    i++;
  }
}

/** Builds the tree: node_modules (copies, or its smallest packages) up to `share` of target, then generated files. */
export function buildTree(root: string, target: number, mode: Mode): number {
  mkdirSync(root, { recursive: true });
  const nm = scanTree(NODE_MODULES).bytes;
  if (mode === "full") {
    const copies = Math.max(0, Math.floor((target * 0.85) / nm));
    for (let c = 0; c < copies; c++) sh(`cp -a ${shQuote(NODE_MODULES)} ${shQuote(path.join(root, `nm-${c}`))}`);
  } else {
    const pkgs = readdirSync(NODE_MODULES)
      .filter((p) => !p.startsWith("."))
      .map((p) => ({ p, bytes: scanTree(path.join(NODE_MODULES, p)).bytes }))
      .sort((a, b) => a.bytes - b.bytes || (a.p < b.p ? -1 : 1));
    let sum = 0;
    mkdirSync(path.join(root, "nm"));
    for (const { p, bytes } of pkgs) {
      if (sum + bytes > target * 0.75) continue;
      sh(`cp -a ${shQuote(path.join(NODE_MODULES, p))} ${shQuote(path.join(root, "nm", p))}`);
      sum += bytes;
    }
  }
  const have = scanTree(root).bytes;
  if (have < target) generate(root, target - have, 7);
  return scanTree(root).bytes;
}

/** The 1% change (see the header); returns the bytes touched. */
export function change(root: string, total: number): number {
  const { files } = scanTree(root);
  const next = xorshift32(99);
  let touched = 0;
  // ~0.5%: whole files rebuilt (every 97th file): one byte changed every 2 KiB, so every chunk changes
  // while the content keeps its character (and its compressibility)
  for (let i = 0; i < files.length && touched < total * 0.005; i += 97) {
    const p = files[i] as string;
    const b = readFileSync(p);
    for (let j = 0; j < b.length; j += 2048) b[j] = ((b[j] as number) + 1) & 0xff;
    writeFileSync(p, b);
    touched += b.length;
  }
  // ~0.25%: 64 KiB regions edited in place in files over 1 MiB (one byte in every 512)
  const big = files.filter((p) => lstatSync(p).size > 1 << 20);
  for (const target = touched + total * 0.0025; touched < target && big.length > 0; ) {
    const p = big[(next() >>> 0) % big.length] as string;
    const fd = openSync(p, "r+");
    const at = (next() >>> 0) % (lstatSync(p).size - 65536);
    const region = Buffer.alloc(65536);
    readSync(fd, region, 0, 65536, at);
    for (let j = 0; j < region.length; j += 512) region[j] = ((region[j] as number) + 1) & 0xff;
    writeSync(fd, region, 0, 65536, at);
    closeSync(fd);
    touched += 65536;
  }
  // ~0.25%: new files
  const add = Math.max(64 * 1024, Math.round(total * 0.0025));
  mkdirSync(path.join(root, "added"), { recursive: true });
  for (let i = 0, left = add; left > 0; i++) {
    const n = Math.min(left, 256 * 1024);
    writeFileSync(
      path.join(root, "added", `n${i}.bin`),
      i % 2 === 0 ? textBytes(n, 3000 + i) : randomBytes(n, 3000 + i),
    );
    left -= n;
    touched += n;
  }
  // and a few files deleted
  for (let i = 50; i < files.length && i < 50 + 5 * 211; i += 211) {
    try {
      unlinkSync(files[i] as string);
    } catch {
      // rewritten and deleted: fine
    }
  }
  return touched;
}

function fmtS(ms: number): string {
  return ms >= 60_000 ? `${(ms / 60_000).toFixed(1)} min` : `${(ms / 1000).toFixed(2)} s`;
}

/** This process's /proc/self/io write counters (reaped children included). */
function ioCounters(): { write: number; cancelled: number } {
  const t = readFileSync("/proc/self/io", "utf8");
  const field = (name: string) => Number(new RegExp(`^${name}: (\\d+)$`, "m").exec(t)?.[1] ?? Number.NaN);
  return { write: field("write_bytes"), cancelled: field("cancelled_write_bytes") };
}

/** Writes back every dirty page, so that a step's write_bytes counts every page it dirties. */
function syncAll(): void {
  if (spawnSync("sync", [], { stdio: "ignore" }).status !== 0) throw new Error("sync failed");
}

/** Physical bytes written (write_bytes) by `fn`, measured as described in the header. */
async function physicalWrites<T>(fn: () => Promise<T> | T): Promise<{ value: T; bytes: number; cancelled: number }> {
  syncAll();
  const a = ioCounters();
  const value = await fn();
  const b = ioCounters();
  return { value, bytes: b.write - a.write, cancelled: b.cancelled - a.cancelled };
}

const gitCommit = (cfg: string, tree: string, msg: string) =>
  `git ${cfg} --work-tree=${shQuote(tree)} add -A && git ${cfg} ${GIT_ID} --work-tree=${shQuote(tree)} commit -q -m ${msg}`;

const NOTES = [
  "git loose objects are zlib level 1 (core.looseCompression default) and unpacked",
  "Helios restore re-hashes every chunk (BLAKE3) against its id; git checkout does not re-hash",
  "first byte: fresh store open (Helios L1 empty) but a warm OS page cache",
  "Helios checkpoints are durable (LMDB fsync + ref fsync); compare with the fsync rows of the peers",
  "physical bytes = /proc/self/io write_bytes (pages dirtied, 4 KiB granularity; no fs journal); logical = frames + WAL",
];

export async function run(mode: Mode): Promise<Result[]> {
  if (!existsSync("/proc/self/io")) throw new Error("sandbox-fs needs /proc/self/io (Linux) to count bytes written");
  const results: Result[] = [];
  const add: Add = (workload, impl, value, unit, better, note) => {
    results.push({ workload, impl, value, unit, better, note });
  };
  const target = mode === "full" ? Number(process.env.SANDBOX_FS_BYTES ?? FULL_BYTES) : QUICK_BYTES;
  const reps = mode === "full" ? Number(process.env.SANDBOX_FS_REPS ?? REPS_FULL) : REPS_QUICK;
  const keepFrom = Math.max(0, reps - INCR_KEEP);
  const work = tempDir("sandbox-fs");
  try {
    const tree = path.join(work, "tree");
    let t0 = now();
    const bytes = buildTree(tree, target, mode);
    const { files } = scanTree(tree);
    const label = `${Math.round(bytes / MB)}MB tree`;
    log(`tree: ${(bytes / MB).toFixed(0)} MB in ${files.length} files, built in ${fmtS(msSince(t0))}`);
    const mbps = (ms: number) => `${(bytes / MB / (ms / 1000)).toFixed(0)} MB/s`;

    // ---- chunker throughput
    {
      const buf = randomBytes(mode === "full" ? 256 << 20 : 64 << 20, 5);
      chunkEnds(buf.subarray(0, 8 << 20));
      const ms = median(
        Array.from({ length: 3 }, () => {
          const s = now();
          chunkEnds(buf);
          return msSince(s);
        }),
      );
      add("chunker (FastCDC 4/16/64 KiB)", "helios", buf.length / MB / (ms / 1000), "MB/s", "higher", "random bytes");
      log(`chunker: ${(buf.length / MB / (ms / 1000)).toFixed(0)} MB/s`);
    }

    const gitOk = have("git");
    const tarOk = have("tar") && have("zstd");
    if (!gitOk) log("git not on PATH: git rows skipped");
    if (!tarOk) log("tar or zstd not on PATH: tar rows skipped");

    // per-rep samples
    const h = { ck: [] as number[], rs: [] as number[], logical: [] as number[], physical: [] as number[] };
    let storeBytes = 0;
    let pagesInUse = 0;
    let chunkBytes = 0;
    let dedup = 1;
    const keepIds: string[] = []; // by rep, for the reps kept
    const g: Record<string, { ck: number[]; physical: number[]; bytes: number }> = {};
    for (const v of GIT_VARIANTS) g[v.key] = { ck: [], physical: [], bytes: 0 };
    const gRs: number[] = [];
    const tarCk: Record<string, number[]> = {};
    const tarRs: number[] = [];
    let tarSize = 0;

    // ---- full checkpoint and restore, interleaved: Helios, git, git fsync, tar variants; per rep
    for (let r = 0; r < reps; r++) {
      const keep = r >= keepFrom;
      // Helios
      {
        const dir = path.join(work, `store-${r}`);
        const db = openState(dir, { create: true });
        gc();
        const s0 = db.store.stats();
        let ms = 0;
        let s1 = s0;
        const w = await physicalWrites(async () => {
          t0 = now();
          const c = await createCheckpoint(db, tree, { time: Date.now() });
          ms = msSince(t0);
          s1 = db.store.stats();
          await db.close();
          return c;
        });
        const c = w.value;
        h.ck.push(ms);
        h.logical.push(
          s1.frameBytesCheckpointed - s0.frameBytesCheckpointed + (s1.walBytesWritten - s0.walBytesWritten),
        );
        h.physical.push(w.bytes);
        const db2 = openState(dir);
        const out = path.join(work, `restore-${r}`);
        gc();
        t0 = now();
        restoreCheckpoint(db2, c.id, out);
        h.rs.push(msSince(t0));
        await db2.checkpoint();
        pagesInUse = db2.store.nodeBytesInUse();
        chunkBytes = c.stats.chunkBytesStored;
        dedup = c.stats.dedupRatio;
        await db2.close();
        storeBytes = du(dir).apparent;
        rmSync(out, { recursive: true, force: true });
        if (keep) keepIds[r] = c.id;
        else rmSync(dir, { recursive: true, force: true });
        log(
          `rep ${r + 1} helios: checkpoint ${fmtS(ms)}, ${(w.bytes / MB).toFixed(2)} MB physical` +
            `${w.cancelled !== 0 ? ` (${(w.cancelled / MB).toFixed(2)} MB cancelled)` : ""}, restore ${fmtS(h.rs[r] as number)}`,
        );
      }
      // git, without and with fsync; the restore from the first (the objects are the same)
      if (gitOk) {
        for (const v of GIT_VARIANTS) {
          const gitDir = path.join(work, `git-${v.key}-${r}.git`);
          const env = { GIT_DIR: gitDir };
          sh("git init -q", env);
          const w = await physicalWrites(() => sh(gitCommit(v.cfg, tree, "full"), env));
          const s = g[v.key] as { ck: number[]; physical: number[]; bytes: number };
          s.ck.push(w.value);
          s.physical.push(w.bytes);
          s.bytes = du(gitDir).apparent;
          let rs = "";
          if (v.key === "nofsync") {
            const out = path.join(work, `git-out-${r}`);
            mkdirSync(out);
            gRs.push(
              sh(`git --work-tree=${shQuote(out)} checkout -f HEAD -- .`, {
                ...env,
                GIT_INDEX_FILE: path.join(work, `git-idx-${r}`),
              }),
            );
            rmSync(out, { recursive: true, force: true });
            rs = `, checkout ${fmtS(gRs[r] as number)}`;
          }
          if (!keep) rmSync(gitDir, { recursive: true, force: true });
          log(`rep ${r + 1} ${v.impl}: ${fmtS(w.value)}, ${(w.bytes / MB).toFixed(2)} MB physical${rs}`);
        }
      }
      // tar | zstd, -T0 and -T1, without and with fsync; the restore from the -T0 archive
      if (tarOk) {
        const parts: string[] = [];
        for (const threads of mode === "full" ? [0, 1] : [0]) {
          for (const durable of [false, true]) {
            const arc = path.join(work, `tree-${threads}.tar.zst`);
            const impl = `tar | zstd -3 -T${threads}${durable ? " + fsync" : " (no fsync)"}`;
            syncAll();
            const ms = sh(
              `tar -cf - -C ${shQuote(tree)} . | zstd -3 -T${threads} -q -f -o ${shQuote(arc)}` +
                (durable ? ` && sync ${shQuote(arc)} ${shQuote(work)}` : ""),
            );
            tarCk[impl] ??= [];
            tarCk[impl].push(ms);
            parts.push(`-T${threads}${durable ? "+fsync" : ""} ${fmtS(ms)}`);
            if (threads === 0 && durable) {
              tarSize = lstatSync(arc).size;
              const out = path.join(work, `tar-out-${r}`);
              mkdirSync(out);
              tarRs.push(sh(`zstd -d -c -q ${shQuote(arc)} | tar -xf - -C ${shQuote(out)}`));
              rmSync(out, { recursive: true, force: true });
              parts.push(`restore ${fmtS(tarRs[r] as number)}`);
            }
            rmSync(arc, { force: true });
          }
        }
        log(`rep ${r + 1} tar | zstd -3: ${parts.join(", ")}`);
      }
    }

    const ck = `checkpoint ${label}`;
    add(ck, "helios", median(h.ck), "ms", "lower", `${mbps(median(h.ck))}; durable (LMDB + ref fsynced)`);
    for (const v of GIT_VARIANTS) if (gitOk) add(ck, v.impl, median(g[v.key]?.ck ?? []), "ms", "lower", "");
    for (const [impl, ts] of Object.entries(tarCk)) add(ck, impl, median(ts), "ms", "lower", mbps(median(ts)));
    const rs = `restore ${label}`;
    add(rs, "helios", median(h.rs), "ms", "lower", `${mbps(median(h.rs))}; every chunk's BLAKE3 verified`);
    if (gitOk) add(rs, "git checkout", median(gRs), "ms", "lower", `${mbps(median(gRs))}; objects not re-hashed`);
    if (tarOk) add(rs, "zstd -d | tar -x", median(tarRs), "ms", "lower", mbps(median(tarRs)));
    const st = `stored bytes ${label}`;
    add(st, "helios", storeBytes / MB, "MB", "lower", "store dir after close (LMDB file)");
    add(
      st,
      "helios: LMDB node pages in use",
      pagesInUse / MB,
      "MB",
      "lower",
      "what the nodes occupy (overflow pages round each chunk up to 4 KiB)",
    );
    add(
      st,
      "helios: chunk values",
      chunkBytes / MB,
      "MB",
      "lower",
      `distinct chunks after zstd; dedup ${dedup.toFixed(2)}× within the tree`,
    );
    if (gitOk)
      add(st, "git", (g.nofsync?.bytes ?? 0) / MB, "MB", "lower", ".git: loose objects, zlib level 1, unpacked");
    if (tarOk) add(st, "tar | zstd -3", tarSize / MB, "MB", "lower", ".tar.zst");
    const fw = `full checkpoint ${label}: bytes written (physical)`;
    add(fw, "helios", median(h.physical) / MB, "MB", "lower", "/proc/self/io write_bytes, store closed");
    for (const v of GIT_VARIANTS)
      if (gitOk) add(fw, v.impl, median(g[v.key]?.physical ?? []) / MB, "MB", "lower", "/proc/self/io write_bytes");
    add(
      `full checkpoint ${label}: bytes written (logical)`,
      "helios",
      median(h.logical) / MB,
      "MB",
      "lower",
      "LMDB frame bytes + WAL bytes",
    );

    // ---- incremental after a 1% change, on the kept reps, interleaved
    const touched = change(tree, bytes);
    log(`1% change: ${(touched / MB).toFixed(1)} MB touched (${((touched / bytes) * 100).toFixed(2)}%)`);
    const keptReps = Array.from({ length: reps - keepFrom }, (_, i) => keepFrom + i);
    const hi = { ms: [] as number[], logical: [] as number[], physical: [] as number[], grow: [] as number[] };
    let filesRead = 0;
    let filesReused = 0;
    const gi: Record<string, { ms: number[]; physical: number[]; grow: number[] }> = {};
    for (const v of GIT_VARIANTS) gi[v.key] = { ms: [], physical: [], grow: [] };
    for (const r of keptReps) {
      const dir = path.join(work, `store-${r}`);
      const before = du(dir).apparent;
      const db = openState(dir);
      gc();
      const s0 = db.store.stats();
      let ms = 0;
      let s1 = s0;
      const w = await physicalWrites(async () => {
        t0 = now();
        const c = await createCheckpoint(db, tree, { time: Date.now(), parent: keepIds[r] as string });
        ms = msSince(t0);
        s1 = db.store.stats();
        await db.close();
        return c;
      });
      hi.ms.push(ms);
      hi.logical.push(
        s1.frameBytesCheckpointed - s0.frameBytesCheckpointed + (s1.walBytesWritten - s0.walBytesWritten),
      );
      hi.physical.push(w.bytes);
      hi.grow.push(du(dir).apparent - before);
      filesRead = w.value.stats.filesRead;
      filesReused = w.value.stats.filesReused;
      const parts = [
        `helios ${fmtS(ms)} ${(w.bytes / MB).toFixed(2)} MB physical, ${((hi.logical.at(-1) as number) / MB).toFixed(2)} MB logical`,
      ];
      if (gitOk) {
        for (const v of GIT_VARIANTS) {
          const gitDir = path.join(work, `git-${v.key}-${r}.git`);
          const gb = du(gitDir).apparent;
          const gw = await physicalWrites(() => sh(gitCommit(v.cfg, tree, "change"), { GIT_DIR: gitDir }));
          const s = gi[v.key] as { ms: number[]; physical: number[]; grow: number[] };
          s.ms.push(gw.value);
          s.physical.push(gw.bytes);
          s.grow.push(du(gitDir).apparent - gb);
          parts.push(
            `${v.key === "fsync" ? "git fsync" : "git"} ${fmtS(gw.value)} ${(gw.bytes / MB).toFixed(2)} MB physical`,
          );
        }
      }
      log(`incremental (rep ${r + 1}'s store): ${parts.join("; ")}`);
    }
    {
      const n = `${keptReps.length} reps`;
      const iw = "incremental after 1% change: bytes written (physical)";
      const physShare = (median(hi.physical) / median(h.physical)) * 100;
      const logShare = (median(hi.logical) / median(h.logical)) * 100;
      add(iw, "helios", median(hi.physical) / MB, "MB", "lower", `${physShare.toFixed(2)}% of the full checkpoint's`);
      add(iw, "helios full checkpoint", median(h.physical) / MB, "MB", "lower", "for scale");
      for (const v of GIT_VARIANTS)
        if (gitOk) add(iw, v.impl, median(gi[v.key]?.physical ?? []) / MB, "MB", "lower", "/proc/self/io write_bytes");
      const il = "incremental after 1% change: bytes written (logical)";
      add(il, "helios", median(hi.logical) / MB, "MB", "lower", `${logShare.toFixed(2)}% of the full checkpoint's`);
      add(il, "helios full checkpoint", median(h.logical) / MB, "MB", "lower", "for scale");
      add("incremental share of full bytes (physical)", "helios", physShare, "%", "lower", "target ≤ 2%");
      if (gitOk) {
        const gs = (median(gi.nofsync?.physical ?? []) / median(g.nofsync?.physical ?? [])) * 100;
        add("incremental share of full bytes (physical)", "git", gs, "%", "lower", "git's own full commit as the base");
      }
      add("incremental share of full bytes (logical)", "helios", logShare, "%", "lower", "target ≤ 2%");
      const ig = "incremental after 1% change: on-disk growth";
      add(ig, "helios", median(hi.grow) / MB, "MB", "lower", "store dir, apparent bytes (LMDB reuses free pages)");
      if (gitOk) add(ig, "git", median(gi.nofsync?.grow ?? []) / MB, "MB", "lower", ".git, apparent bytes");
      const it = "incremental after 1% change: time";
      add(
        it,
        "helios",
        median(hi.ms),
        "ms",
        "lower",
        `${filesRead} files read, ${filesReused} unchanged not read; median of ${n}`,
      );
      add(it, "helios full checkpoint", median(h.ck), "ms", "lower", "for scale");
      for (const v of GIT_VARIANTS)
        if (gitOk) add(it, v.impl, median(gi[v.key]?.ms ?? []), "ms", "lower", `median of ${n}`);
      log(
        `incremental: helios physical ${(median(hi.physical) / MB).toFixed(2)} MB = ${physShare.toFixed(2)}% of ${(median(h.physical) / MB).toFixed(2)} MB; ` +
          `logical ${(median(hi.logical) / MB).toFixed(2)} MB = ${logShare.toFixed(2)}% of ${(median(h.logical) / MB).toFixed(2)} MB; ${fmtS(median(hi.ms))}`,
      );
    }

    // ---- first byte of one file from the big checkpoint, on a freshly opened store (the last rep's)
    const keepDir = path.join(work, `store-${reps - 1}`);
    const keepId = keepIds[reps - 1] as string;
    {
      const { files } = scanTree(tree); // after the change
      const rel = path.relative(tree, files[Math.floor(files.length * 0.61)] as string);
      const ttfb: number[] = [];
      let size = 0;
      for (let r = 0; r < FIRST_BYTE_REPS; r++) {
        const db = openState(keepDir);
        t0 = now();
        const f = openFile(db, keepId, rel);
        const first = f.chunks().next();
        ttfb.push(msSince(t0));
        size = f.size;
        if (first.done === true && f.size > 0) throw new Error("no first chunk");
        f.close();
        await db.close();
      }
      add(
        `first byte of one file (${label} checkpoint)`,
        "helios",
        median(ttfb),
        "ms",
        "lower",
        `${rel} (${size} B); fresh open: Helios L1 empty, OS page cache warm; target ≤ 10 ms`,
      );
      log(`first byte: median ${median(ttfb).toFixed(2)} ms (${rel}; L1 empty, OS page cache warm)`);
      // and a whole file, lazily, for scale
      const db = openState(keepDir);
      const big = files.reduce((a, p) => (lstatSync(p).size > lstatSync(a).size ? p : a), files[0] as string);
      const relBig = path.relative(tree, big);
      t0 = now();
      const f = openFile(db, keepId, relBig);
      let n = 0;
      for (const b of f.chunks()) n += b.length;
      const ms = msSince(t0);
      f.close();
      await db.close();
      const same = n === readFileSync(big).length;
      add(
        "lazy read of the largest file",
        "helios",
        n / MB / (ms / 1000),
        "MB/s",
        "higher",
        `${relBig} (${n} B)${same ? "" : " (changed by the 1% edit)"}; OS page cache warm`,
      );
    }
    log(`notes: ${NOTES.join("; ")}`);
  } finally {
    rmSync(work, { recursive: true, force: true });
    log("temp files removed");
  }
  return results;
}
