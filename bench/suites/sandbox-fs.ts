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
 *   quick  the smallest node_modules packages up to ~75% of 32 MB, then
 *          generated files up to 32 MB.
 * The 1% change (same recipe in both modes, deterministic): ~0.5% of the
 * bytes as whole files rewritten, ~0.25% as 64 KiB regions overwritten in
 * place in the larger files, ~0.25% as new files, and a few files deleted.
 *
 * Measured (median of REPS; each Helios rep on a fresh store, each git rep on
 * a fresh repository, each restore into a fresh directory):
 *   checkpoint     createCheckpoint(db, tree) (the store's checkpoint to
 *                  LMDB and the ref's fsync included); git add -A + commit;
 *                  tar -cf - . | zstd -3 -T0 (all cores) and -T1
 *   restore        restoreCheckpoint into an empty dir (every chunk
 *                  verified); git checkout -f HEAD -- . into an empty work
 *                  tree (fresh index); zstd -d | tar -x
 *   stored bytes   du (apparent) of the store dir after close / .git / the
 *                  .tar.zst
 *   incremental    after the 1% change: createCheckpoint with the full one
 *                  as parent; bytes written = LMDB frame bytes checkpointed +
 *                  log bytes during the run; vs the full checkpoint's, and
 *                  vs git add -A + commit on the repo holding the full tree
 *                  (bytes = growth of .git)
 *   first byte     StateDB.open (not timed), then openFile(id, path) +
 *                  the first chunk; a fresh open per rep (L1 empty), for a
 *                  file deep in the tree; the median of FIRST_BYTE_REPS
 *   chunker        chunkEnds over 256 MiB (quick: 64 MiB) of random bytes
 * Fidelity differs: git keeps no mtimes and only the exec bit; tar keeps
 * modes and mtimes (µs); Helios keeps modes and ns mtimes (restores µs).
 * Cost on the project's 2-core VM: quick ~30–40 s; full ~6–8 min and
 * ~8 GB of temp files.
 */
import { spawnSync } from "node:child_process";
import {
  closeSync,
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
import { xorshift32 } from "../../src/core/index.js";
import { openState } from "../../src/history/index.js";
import { chunkEnds, createCheckpoint, openFile, restoreCheckpoint } from "../../src/sandbox/index.js";
import { type Add, du, gc, median, type Mode, msSince, now, type Result, tempDir } from "../lib.js";

const MB = 1e6;
const QUICK_BYTES = 32e6;
const FULL_BYTES = 1e9;
const REPS_QUICK = 3;
const REPS_FULL = 3;
const FIRST_BYTE_REPS = 15;
const NODE_MODULES = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../../node_modules");

function log(msg: string): void {
  process.stderr.write(`[sandbox-fs] ${msg}\n`);
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
  const next = xorshift32(seed);
  const out = new Uint8Array(n);
  const w = new Uint32Array(out.buffer, 0, n >>> 2);
  for (let i = 0; i < w.length; i++) w[i] = next();
  for (let i = w.length * 4; i < n; i++) out[i] = next() & 0xff;
  return out;
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

export async function run(mode: Mode): Promise<Result[]> {
  const results: Result[] = [];
  const add: Add = (workload, impl, value, unit, better, note) => {
    results.push({ workload, impl, value, unit, better, note });
  };
  const target = mode === "full" ? Number(process.env.SANDBOX_FS_BYTES ?? FULL_BYTES) : QUICK_BYTES;
  const reps = mode === "full" ? REPS_FULL : REPS_QUICK;
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

    // ---- Helios: full checkpoint and restore
    const hCk: number[] = [];
    const hRs: number[] = [];
    let storeBytes = 0;
    let pagesInUse = 0;
    let chunkBytes = 0;
    let dedup = 1;
    let fullWritten = 0;
    let keep = "";
    for (let r = 0; r < reps; r++) {
      const dir = path.join(work, `store-${r}`);
      const db = openState(dir, { create: true });
      gc();
      const s0 = db.store.stats();
      t0 = now();
      const c = await createCheckpoint(db, tree, { time: Date.now() });
      hCk.push(msSince(t0));
      const s1 = db.store.stats();
      fullWritten = s1.frameBytesCheckpointed - s0.frameBytesCheckpointed + (s1.walBytesWritten - s0.walBytesWritten);
      const out = path.join(work, `restore-${r}`);
      gc();
      t0 = now();
      restoreCheckpoint(db, c.id, out);
      hRs.push(msSince(t0));
      await db.checkpoint();
      pagesInUse = db.store.nodeBytesInUse();
      chunkBytes = c.stats.chunkBytesStored;
      dedup = c.stats.dedupRatio;
      await db.close();
      storeBytes = du(dir).apparent;
      rmSync(out, { recursive: true, force: true });
      if (r < reps - 1) rmSync(dir, { recursive: true, force: true });
      else keep = c.id;
      log(`helios rep ${r + 1}: checkpoint ${fmtS(hCk[r] as number)}, restore ${fmtS(hRs[r] as number)}`);
    }
    const keepDir = path.join(work, `store-${reps - 1}`);
    add(`checkpoint ${label}`, "helios", median(hCk), "ms", "lower", mbps(median(hCk)));
    add(`restore ${label}`, "helios", median(hRs), "ms", "lower", `${mbps(median(hRs))}; every chunk verified`);
    add(`stored bytes ${label}`, "helios", storeBytes / MB, "MB", "lower", "store dir after close (LMDB file)");
    add(
      `stored bytes ${label}`,
      "helios: LMDB node pages in use",
      pagesInUse / MB,
      "MB",
      "lower",
      "what the nodes occupy (overflow pages round each chunk up to 4 KiB)",
    );
    add(
      `stored bytes ${label}`,
      "helios: chunk values",
      chunkBytes / MB,
      "MB",
      "lower",
      `distinct chunks after zstd; dedup ${dedup.toFixed(2)}× within the tree`,
    );

    // ---- git
    const gitOk = have("git");
    let gitDir = "";
    if (gitOk) {
      const gCk: number[] = [];
      const gRs: number[] = [];
      let gitBytes = 0;
      for (let r = 0; r < reps; r++) {
        gitDir = path.join(work, `git-${r}.git`);
        const env = { GIT_DIR: gitDir };
        sh("git init -q", env);
        gCk.push(
          sh(
            `git --work-tree=${shQuote(tree)} add -A && git -c user.name=bench -c user.email=b@x --work-tree=${shQuote(tree)} commit -q -m full`,
            env,
          ),
        );
        gitBytes = du(gitDir).apparent;
        const out = path.join(work, `git-out-${r}`);
        mkdirSync(out);
        gRs.push(
          sh(`git --work-tree=${shQuote(out)} checkout -f HEAD -- .`, {
            ...env,
            GIT_INDEX_FILE: path.join(work, `git-idx-${r}`),
          }),
        );
        rmSync(out, { recursive: true, force: true });
        if (r < reps - 1) rmSync(gitDir, { recursive: true, force: true });
        log(`git rep ${r + 1}: add+commit ${fmtS(gCk[r] as number)}, checkout ${fmtS(gRs[r] as number)}`);
      }
      add(`checkpoint ${label}`, "git add -A && commit", median(gCk), "ms", "lower", mbps(median(gCk)));
      add(`restore ${label}`, "git checkout", median(gRs), "ms", "lower", mbps(median(gRs)));
      add(`stored bytes ${label}`, "git", gitBytes / MB, "MB", "lower", ".git (loose zlib objects)");
    } else log("git not on PATH: git rows skipped");

    // ---- tar | zstd
    if (have("tar") && have("zstd")) {
      for (const threads of [0, 1]) {
        const tc: number[] = [];
        const tr: number[] = [];
        let size = 0;
        const impl = `tar | zstd -3 -T${threads}`;
        for (let r = 0; r < reps; r++) {
          const arc = path.join(work, `tree-${threads}.tar.zst`);
          tc.push(sh(`tar -cf - -C ${shQuote(tree)} . | zstd -3 -T${threads} -q -f -o ${shQuote(arc)}`));
          size = lstatSync(arc).size;
          const out = path.join(work, `tar-out-${threads}-${r}`);
          mkdirSync(out);
          tr.push(sh(`zstd -d -c -q ${shQuote(arc)} | tar -xf - -C ${shQuote(out)}`));
          rmSync(out, { recursive: true, force: true });
          rmSync(arc, { force: true });
        }
        add(`checkpoint ${label}`, impl, median(tc), "ms", "lower", mbps(median(tc)));
        add(`restore ${label}`, `zstd -d | tar -x (from -T${threads})`, median(tr), "ms", "lower", mbps(median(tr)));
        if (threads === 0) add(`stored bytes ${label}`, "tar | zstd -3", size / MB, "MB", "lower", ".tar.zst");
        log(`${impl}: ${fmtS(median(tc))}, restore ${fmtS(median(tr))}`);
      }
    } else log("tar or zstd not on PATH: tar rows skipped");

    // ---- incremental after a 1% change
    const touched = change(tree, bytes);
    log(`1% change: ${(touched / MB).toFixed(1)} MB touched (${((touched / bytes) * 100).toFixed(2)}%)`);
    {
      const db = openState(keepDir);
      const s0 = db.store.stats();
      t0 = now();
      const c = await createCheckpoint(db, tree, { time: Date.now(), parent: keep });
      const ms = msSince(t0);
      const s1 = db.store.stats();
      await db.close();
      const written = s1.frameBytesCheckpointed - s0.frameBytesCheckpointed + (s1.walBytesWritten - s0.walBytesWritten);
      const share = (written / fullWritten) * 100;
      add(
        "incremental after 1% change: bytes written",
        "helios",
        written / MB,
        "MB",
        "lower",
        `${share.toFixed(2)}% of the full checkpoint's`,
      );
      add(
        "incremental after 1% change: bytes written",
        "helios full checkpoint",
        fullWritten / MB,
        "MB",
        "lower",
        "for scale",
      );
      add("incremental share of full bytes", "helios", share, "%", "lower", "target ≤ 2%");
      add(
        "incremental after 1% change: time",
        "helios",
        ms,
        "ms",
        "lower",
        `${c.stats.filesRead} files read, ${c.stats.filesReused} unchanged not read`,
      );
      add("incremental after 1% change: time", "helios full checkpoint", median(hCk), "ms", "lower", "for scale");
      log(
        `incremental: ${(written / MB).toFixed(2)} MB written (${share.toFixed(2)}% of ${(fullWritten / MB).toFixed(0)} MB), ${fmtS(ms)}`,
      );
      if (gitOk && gitDir !== "") {
        const before = du(gitDir).apparent;
        const gms = sh(
          `git --work-tree=${shQuote(tree)} add -A && git -c user.name=bench -c user.email=b@x --work-tree=${shQuote(tree)} commit -q -m change`,
          { GIT_DIR: gitDir },
        );
        const grow = du(gitDir).apparent - before;
        add("incremental after 1% change: bytes written", "git", grow / MB, "MB", "lower", "growth of .git");
        add("incremental after 1% change: time", "git add -A && commit", gms, "ms", "lower", "");
        log(`git incremental: ${(grow / MB).toFixed(2)} MB, ${fmtS(gms)}`);
      }
    }

    // ---- first byte of one file from the big checkpoint, on a freshly opened store
    {
      const { files } = scanTree(tree); // after the change
      const rel = path.relative(tree, files[Math.floor(files.length * 0.61)] as string);
      const ttfb: number[] = [];
      let size = 0;
      for (let r = 0; r < FIRST_BYTE_REPS; r++) {
        const db = openState(keepDir);
        t0 = now();
        const f = openFile(db, keep, rel);
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
        `${rel} (${size} B); fresh open, L1 cold; target ≤ 10 ms`,
      );
      log(`first byte: median ${median(ttfb).toFixed(2)} ms (${rel})`);
      // and a whole file, lazily, for scale
      const db = openState(keepDir);
      const big = files.reduce((a, p) => (lstatSync(p).size > lstatSync(a).size ? p : a), files[0] as string);
      const relBig = path.relative(tree, big);
      t0 = now();
      const f = openFile(db, keep, relBig);
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
        `${relBig} (${n} B)${same ? "" : " (changed by the 1% edit)"}`,
      );
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  return results;
}
