/**
 * bench/suites/sandbox-branch — branch creation at growing state sizes
 * (issue 6 SandboxBench: "branch creation vs `git branch`, target ≤ 5 µs,
 * flat from 1K to 10M keys").
 *
 * Helios, on a durable store holding N keys (32-byte BLAKE3 keys, 8-byte
 * values, one tree), built as commits of 100K keys on a ref and then
 * checkpointed (awaited), so every node is on disk and no checkpoint runs
 * while timing; a repository is made on that state (Repo.init --from):
 *   repo.branch            `Repo.branch(name)`, the durable verb: two log
 *                          records (the working ref unsynced, then the
 *                          metadata commit, whose fdatasync covers both).
 *                          Median µs of 200 calls after 20 warm-up calls
 *   ForestFork.of          the in-memory fork of a version (src/sandbox/
 *                          fork.ts): a lease on the version plus the fork's
 *                          objects. Median ns per call over 21 batches of
 *                          1,000 (forks released outside the clock)
 *   fork()                 forking an existing fork that has written one
 *                          key (a copy-on-write Draft.fork per written tree)
 *   fdatasync floor        a 64-byte append + fdatasync to a file in the
 *                          same temp directory: the disk's floor for one
 *                          durable record (repo.branch pays one)
 * git (the peer), on a repository whose one commit holds N files (in
 * directories of 1,000), built with `git fast-import`; no working tree is
 * checked out (`git branch` reads neither the index nor the working tree;
 * checking one out changed nothing measurable at 100K files). git is timed
 * by a bash loop, as a shell user runs it (GIT_TIMER below says why not
 * from this process):
 *   git branch (process)   `git branch <name>` as a process started by
 *                          bash, what a user pays, process start
 *                          included; by default git fsyncs no ref.
 *                          Median of 200 calls (quick: 60) after 5 warm-up
 *   … core.fsync=reference the same with the ref fsync'd (durable, as ours)
 *   git update-ref --stdin git's own cost without process start: one
 *                          process creating 1,000 refs (quick: 500) in one
 *                          transaction; per ref = (T(N refs) − T(0 refs)) / N,
 *                          medians of 5 runs each
 * Sizes: quick 1K and 100K; full 1K, 100K and 1M. 10M is not in full mode:
 * on the project's 2-core VM (23 GB), building 10M keys takes ~2.8 min and
 * its checkpoint ~4.6 min more; with the default V8 heap (4 GB) the
 * checkpoint runs out of memory, and with --max-old-space-size=16000 the
 * process peaks at ~19 GB RSS. SANDBOX_BRANCH_SIZES=1000,100000,10000000
 * (with node --max-old-space-size=16000) runs any sizes.
 * Cost: quick ~20–30 s; full ~1.5–2 min (the 1M git repository ~15 s).
 */
import { spawnSync } from "node:child_process";
import { closeSync, fdatasyncSync, openSync, rmSync, writeFileSync, writeSync } from "node:fs";
import path from "node:path";
import { HASH_BYTES, hashMany } from "../../src/core/index.js";
import { openState, type StateDB } from "../../src/history/index.js";
import { ForestFork, Repo } from "../../src/sandbox/index.js";
import { type Add, gc, median, type Mode, msSince, now, type Result, tempDir } from "../lib.js";

const TREE = "accounts";
const BATCH = 100_000;
const BRANCH_WARMUP = 20;
const BRANCH_REPS = 200;
const FORK_BATCH = 1000;
const FORK_BATCHES = 21;
const GIT_WARMUP = 5;
const GIT_REPS_FULL = 200;
const GIT_REPS_QUICK = 60;
const UPDATE_REF_N_FULL = 1000;
const UPDATE_REF_N_QUICK = 500;
const UPDATE_REF_REPS_FULL = 5;
const UPDATE_REF_REPS_QUICK = 5;
const FILES_PER_DIR = 1000;

function log(msg: string): void {
  process.stderr.write(`[sandbox-branch] ${msg}\n`);
}

const fmtS = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

/** "1K", "100K", "1M", "10M". */
function sizeLabel(n: number): string {
  return n >= 1e6 ? `${+(n / 1e6).toFixed(1)}M` : n >= 1e3 ? `${+(n / 1e3).toFixed(1)}K` : String(n);
}

function sizes(mode: Mode): number[] {
  const env = process.env.SANDBOX_BRANCH_SIZES;
  if (env !== undefined && env !== "") {
    const xs = env.split(",").map((s) => Number(s.trim()));
    if (xs.some((x) => !Number.isSafeInteger(x) || x < 1)) throw new Error(`bad SANDBOX_BRANCH_SIZES ${env}`);
    return xs;
  }
  return mode === "quick" ? [1_000, 100_000] : [1_000, 100_000, 1_000_000];
}

/** Keys s … s+n−1: BLAKE3 of the index (8 bytes LE); values: the index itself. */
function opsOf(s: number, n: number): { key: Uint8Array; value: Uint8Array }[] {
  const data = new Uint8Array(8 * n);
  const dv = new DataView(data.buffer);
  const offsets = new Uint32Array(n + 1);
  for (let i = 0; i < n; i++) {
    dv.setUint32(8 * i, (s + i) >>> 0, true);
    dv.setUint32(8 * i + 4, Math.floor((s + i) / 2 ** 32), true);
    offsets[i + 1] = 8 * (i + 1);
  }
  const keys = new Uint8Array(HASH_BYTES * n);
  hashMany(data, offsets, n, keys, null, null);
  const ops = new Array<{ key: Uint8Array; value: Uint8Array }>(n);
  for (let i = 0; i < n; i++) {
    ops[i] = { key: keys.subarray(HASH_BYTES * i, HASH_BYTES * (i + 1)), value: data.subarray(8 * i, 8 * (i + 1)) };
  }
  return ops;
}

interface Built {
  db: StateDB;
  dir: string;
  root: Uint8Array;
}

async function buildStore(n: number): Promise<Built> {
  const dir = tempDir("sandbox-branch");
  const db = openState(dir, { create: true });
  db.setRef("seed", new Uint8Array(32));
  const t0 = now();
  for (let s = 0; s < n; s += BATCH) {
    db.commitRef("seed", { [TREE]: opsOf(s, Math.min(BATCH, n - s)) });
    if (n > 10 * BATCH && ((s / BATCH) % 10 === 9 || s + BATCH >= n)) {
      log(`${sizeLabel(n)}: built ${sizeLabel(Math.min(n, s + BATCH))} keys in ${fmtS(msSince(t0))}`);
    }
  }
  const built = msSince(t0);
  const c0 = now();
  await db.checkpoint();
  log(`${sizeLabel(n)}: ${n} keys committed in ${fmtS(built)}, checkpointed in ${fmtS(msSince(c0))}`);
  return { db, dir, root: db.ref("seed") };
}

/** Flushes every dirty page to disk (`sync`), so that no writeback from building runs while a timing does. */
function settle(): void {
  spawnSync("sync", [], { stdio: "ignore" });
}

/** Median and p99 of `xs`. */
function stats(xs: number[]): { median: number; p99: number } {
  const s = [...xs].sort((a, b) => a - b);
  return { median: median(s), p99: s[Math.ceil(0.99 * s.length) - 1] as number };
}

function timeRepoBranch(repo: Repo): { median: number; p99: number } {
  for (let i = 0; i < BRANCH_WARMUP; i++) repo.branch(`warm-${i}`);
  const us: number[] = [];
  for (let i = 0; i < BRANCH_REPS; i++) {
    const t0 = now();
    repo.branch(`b-${i}`);
    us.push(msSince(t0) * 1000);
  }
  return stats(us);
}

/** Median ns per call of `make` over batches; what it makes is released outside the clock. */
function timeForks(make: () => ForestFork): number {
  const per: number[] = [];
  const made = new Array<ForestFork>(FORK_BATCH);
  for (let b = 0; b < FORK_BATCHES + 2; b++) {
    const t0 = now();
    for (let i = 0; i < FORK_BATCH; i++) made[i] = make();
    const ns = (msSince(t0) * 1e6) / FORK_BATCH;
    for (const f of made) f.release();
    if (b >= 2) per.push(ns); // two warm-up batches
  }
  return median(per);
}

/** Median µs of a 64-byte append + fdatasync, in `dir`. */
function timeFdatasync(dir: string): number {
  const file = path.join(dir, "fsync-probe");
  const fd = openSync(file, "a");
  const buf = new Uint8Array(64);
  const us: number[] = [];
  try {
    for (let i = 0; i < BRANCH_WARMUP + BRANCH_REPS; i++) {
      const t0 = now();
      writeSync(fd, buf);
      fdatasyncSync(fd);
      if (i >= BRANCH_WARMUP) us.push(msSince(t0) * 1000);
    }
  } finally {
    closeSync(fd);
    rmSync(file, { force: true });
  }
  return median(us);
}

// ------------------------------------------------------------ git

function gitAvailable(): string | undefined {
  const r = spawnSync("git", ["--version"], { encoding: "utf8" });
  return r.status === 0 ? r.stdout.trim() : undefined;
}

function git(cwd: string, args: string[], input?: Uint8Array): string {
  const r = spawnSync("git", args, {
    cwd,
    encoding: "utf8",
    maxBuffer: 1 << 30,
    ...(input === undefined ? {} : { input }),
  });
  if (r.status !== 0) throw new Error(`git ${args.join(" ")}: exit ${r.status}: ${r.stderr}`);
  return r.stdout;
}

/**
 * A git repository whose one commit holds n files (in directories of
 * FILES_PER_DIR); returns its dir and commit. The fast-import stream is
 * built in pieces of BATCH files (at 10M files it outgrows a JS string).
 */
function buildGit(n: number): { dir: string; commit: string } {
  const dir = tempDir("sandbox-branch-git");
  try {
    return fillGit(dir, n);
  } catch (e) {
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }
}

function fillGit(dir: string, n: number): { dir: string; commit: string } {
  const t0 = now();
  git(dir, ["init", "-q", "."]);
  git(dir, ["config", "gc.auto", "0"]);
  const pieces: Buffer[] = [];
  for (let s = 0; s < n; s += BATCH) {
    const parts: string[] = [];
    for (let i = s; i < Math.min(n, s + BATCH); i++) {
      const c = `value ${i}\n`;
      parts.push(`blob\nmark :${i + 1}\ndata ${c.length}\n${c}\n`);
    }
    pieces.push(Buffer.from(parts.join("")));
  }
  pieces.push(Buffer.from("commit refs/heads/main\ncommitter bench <bench@example.com> 0 +0000\ndata 5\ninit\n"));
  for (let s = 0; s < n; s += BATCH) {
    const parts: string[] = [];
    for (let i = s; i < Math.min(n, s + BATCH); i++) {
      parts.push(`M 100644 :${i + 1} d${Math.floor(i / FILES_PER_DIR)}/f${i % FILES_PER_DIR}\n`);
    }
    pieces.push(Buffer.from(parts.join("")));
  }
  git(dir, ["fast-import", "--quiet"], Buffer.concat(pieces));
  git(dir, ["symbolic-ref", "HEAD", "refs/heads/main"]);
  const commit = git(dir, ["rev-parse", "HEAD"]).trim();
  log(`${sizeLabel(n)}: git repository of ${n} files built in ${fmtS(msSince(t0))} (git fast-import)`);
  return { dir, commit };
}

/**
 * The git timings, taken by a bash loop (bash 5's $EPOCHREALTIME, µs) as a
 * shell user would run git: a process spawned from this Node process, which
 * maps GBs of stores, costs more to fork (page tables) and Node's spawnSync
 * adds its own setup, so timing git from here would charge git for both
 * (git branch read ~5 ms at 1K keys and ~45 ms at 1M). Lines out:
 *   branch a b c          `git branch p-i` from a to b, then
 *                         `git -c core.fsync=reference branch d-i` to c
 *   upd a b c d e         update-ref --stdin of the rep's file of refs (a–b),
 *                         of nothing (b–c), the same with core.fsync=reference
 *                         (c–d, d–e)
 * The two configurations alternate, so that neither gets the quieter disk.
 */
const GIT_TIMER = `
set -e
cd "$1"
for ((i = 0; i < $2; i++)); do
  a=$EPOCHREALTIME; git branch "p-$i"; b=$EPOCHREALTIME
  git -c core.fsync=reference branch "d-$i"; c=$EPOCHREALTIME
  echo "branch $a $b $c"
done
for ((r = 0; r < $4; r++)); do
  a=$EPOCHREALTIME; git update-ref --stdin < "$3/u-$r"; b=$EPOCHREALTIME
  git update-ref --stdin < /dev/null; c=$EPOCHREALTIME
  git -c core.fsync=reference update-ref --stdin < "$3/v-$r"; d=$EPOCHREALTIME
  git -c core.fsync=reference update-ref --stdin < /dev/null; e=$EPOCHREALTIME
  echo "upd $a $b $c $d $e"
done
`;

interface GitFigures {
  /** Median µs of `git branch`, and with core.fsync=reference. */
  plain: number;
  durable: number;
  /** µs per ref of `git update-ref --stdin`, and with core.fsync=reference. */
  upd: number;
  updDurable: number;
}

/** Runs GIT_TIMER: `reps` branches of each kind after GIT_WARMUP, `updReps` update-ref runs of `refs` refs after one. */
function timeGit(dir: string, commit: string, reps: number, updReps: number, refs: number): GitFigures {
  const inputs = tempDir("sandbox-branch-refs");
  try {
    for (let r = 0; r < updReps + 1; r++) {
      for (const tag of ["u", "v"]) {
        const lines: string[] = [];
        for (let i = 0; i < refs; i++) lines.push(`create refs/heads/${tag}-${r}-${i} ${commit}\n`);
        writeFileSync(path.join(inputs, `${tag}-${r}`), lines.join(""));
      }
    }
    const r = spawnSync(
      "bash",
      ["-c", GIT_TIMER, "bash", dir, String(GIT_WARMUP + reps), inputs, String(updReps + 1)],
      {
        encoding: "utf8",
        env: { ...process.env, LC_ALL: "C" },
        maxBuffer: 1 << 26,
      },
    );
    if (r.status !== 0) throw new Error(`the git timer failed: exit ${r.status}: ${r.stderr}`);
    // "1795492548.289518" → µs (16 digits: exact in a double)
    const us = (t: string) => Number(t.replace(".", ""));
    const plain: number[] = [];
    const durable: number[] = [];
    const upd: number[][] = [[], [], [], []];
    let nb = 0;
    let nu = 0;
    for (const line of r.stdout.trim().split("\n")) {
      const [kind, ...ts] = line.split(" ");
      const t = ts.map(us);
      if (kind === "branch" && nb++ >= GIT_WARMUP) {
        plain.push((t[1] as number) - (t[0] as number));
        durable.push((t[2] as number) - (t[1] as number));
      } else if (kind === "upd" && nu++ >= 1) {
        for (let k = 0; k < 4; k++) (upd[k] as number[]).push((t[k + 1] as number) - (t[k] as number));
      }
    }
    const perRef = (full: number[], empty: number[]) => Math.max(0, median(full) - median(empty)) / refs;
    return {
      plain: median(plain),
      durable: median(durable),
      upd: perRef(upd[0] as number[], upd[1] as number[]),
      updDurable: perRef(upd[2] as number[], upd[3] as number[]),
    };
  } finally {
    rmSync(inputs, { recursive: true, force: true });
  }
}

// ------------------------------------------------------------ the suite

interface SizeFigures {
  n: number;
  branchUs: number;
  forkOfNs: number;
  forkNs: number;
}

async function measureSize(n: number, mode: Mode, gitVersion: string | undefined, add: Add): Promise<SizeFigures> {
  const gitReps = mode === "quick" ? GIT_REPS_QUICK : GIT_REPS_FULL;
  const updReps = mode === "quick" ? UPDATE_REF_REPS_QUICK : UPDATE_REF_REPS_FULL;
  const updRefs = mode === "quick" ? UPDATE_REF_N_QUICK : UPDATE_REF_N_FULL;
  const label = `${sizeLabel(n)} keys`;
  const b = await buildStore(n);
  let t = 1_700_000_000_000;
  const repo = Repo.init(b.db, { clock: () => t++, from: b.root, message: "bench" });
  gc();
  settle();
  const rb = timeRepoBranch(repo);
  const floor = timeFdatasync(b.dir);
  gc();
  const forkOfNs = timeForks(() => ForestFork.of(b.db, b.root));
  const parent = ForestFork.of(b.db, b.root);
  const first = opsOf(0, 1)[0] as { key: Uint8Array; value: Uint8Array };
  parent.put(TREE, first.key, Uint8Array.of(1));
  const forkNs = timeForks(() => parent.fork());
  parent.release();
  log(
    `${label}: repo.branch median ${rb.median.toFixed(1)} µs (p99 ${rb.p99.toFixed(1)}), fdatasync floor ${floor.toFixed(1)} µs, ` +
      `ForestFork.of ${forkOfNs.toFixed(0)} ns, fork() ${forkNs.toFixed(0)} ns`,
  );
  await b.db.close();
  rmSync(b.dir, { recursive: true, force: true });

  const wBranch = `branch, ${label}`;
  const wInProc = `branch without process start, ${label}`;
  const wForkOf = `in-memory fork ForestFork.of, ${label}`;
  const wFork = `in-memory fork() of a fork, ${label}`;
  const repoNote =
    `Repo.branch(name): two log records (working ref, metadata), one fdatasync; median of ${BRANCH_REPS} after ${BRANCH_WARMUP} warm-up; ` +
    `p99 ${rb.p99.toFixed(1)} µs; state ${n} keys (32 B keys, 8 B values), checkpointed to disk`;
  add(wBranch, "helios", rb.median, "µs", "lower", repoNote);
  add(
    wBranch,
    "fdatasync floor (64 B append)",
    floor,
    "µs",
    "lower",
    "one durable record on this disk; repo.branch pays one",
  );
  add(wInProc, "helios", rb.median, "µs", "lower", repoNote);
  add(
    wForkOf,
    "helios",
    forkOfNs,
    "ns",
    "lower",
    `ForestFork.of(db, root): a lease plus the fork's objects, in memory, not durable; median per call over ${FORK_BATCHES} batches of ${FORK_BATCH}`,
  );
  add(
    wFork,
    "helios",
    forkNs,
    "ns",
    "lower",
    `fork() of a fork that wrote one key: a copy-on-write Draft.fork per written tree; median per call over ${FORK_BATCHES} batches of ${FORK_BATCH}`,
  );

  if (gitVersion !== undefined) {
    const g = buildGit(n);
    try {
      settle();
      const { plain, durable, upd, updDurable } = timeGit(g.dir, g.commit, gitReps, updReps, updRefs);
      log(
        `${label}: git branch ${plain.toFixed(0)} µs, with core.fsync=reference ${durable.toFixed(0)} µs; ` +
          `update-ref --stdin per ref ${upd.toFixed(1)} µs, with core.fsync=reference ${updDurable.toFixed(1)} µs`,
      );
      const repoGit = `${gitVersion}; a repository whose one commit holds ${n} files, no working tree checked out`;
      add(
        wBranch,
        "git branch (process)",
        plain,
        "µs",
        "lower",
        `git branch <name> run by a bash loop, process start included (what a user pays); git fsyncs no ref by default; median of ${gitReps}; ${repoGit}`,
      );
      add(
        wBranch,
        "git branch, core.fsync=reference (process)",
        durable,
        "µs",
        "lower",
        `as above with the ref fsync'd (durable, like repo.branch); median of ${gitReps}`,
      );
      const updNote = `git update-ref --stdin creating ${updRefs} refs in one transaction; (T(${updRefs}) − T(0)) / ${updRefs}, medians of ${updReps} runs; ${repoGit}`;
      add(wInProc, "git update-ref --stdin (per ref)", upd, "µs", "lower", `${updNote}; no fsync (git's default)`);
      add(
        wInProc,
        "git update-ref --stdin, core.fsync=reference (per ref)",
        updDurable,
        "µs",
        "lower",
        `${updNote}; core.fsync=reference`,
      );
      for (const w of [wForkOf, wFork]) {
        add(w, "git branch (process)", plain * 1000, "ns", "lower", "the git branch row above, in ns");
        add(w, "git update-ref --stdin (per ref)", upd * 1000, "ns", "lower", "the update-ref row above, in ns");
      }
    } finally {
      rmSync(g.dir, { recursive: true, force: true });
    }
  }
  return { n, branchUs: rb.median, forkOfNs, forkNs };
}

export async function run(mode: Mode): Promise<Result[]> {
  const results: Result[] = [];
  const add: Add = (workload, impl, value, unit, better, note) =>
    results.push({ workload, impl, value, unit, better, note });
  if ((globalThis as { gc?: unknown }).gc === undefined) log("warning: run node with --expose-gc");
  const gitVersion = gitAvailable();
  if (gitVersion === undefined) log("note: git is not on PATH: the git rows are skipped");
  const t0 = now();
  const figures: SizeFigures[] = [];
  for (const n of sizes(mode)) figures.push(await measureSize(n, mode, gitVersion, add));
  // flatness: the largest size's median over the smallest's, per helios figure
  if (figures.length > 1) {
    const a = figures[0] as SizeFigures;
    const z = figures[figures.length - 1] as SizeFigures;
    const w = `growth ${sizeLabel(a.n)} → ${sizeLabel(z.n)} keys (largest / smallest)`;
    const note = "1.0× is flat: the cost does not depend on the state's size";
    add(w, "repo.branch", z.branchUs / a.branchUs, "×", "lower", note);
    add(w, "ForestFork.of", z.forkOfNs / a.forkOfNs, "×", "lower", note);
    add(w, "fork()", z.forkNs / a.forkNs, "×", "lower", note);
  }
  log(`total ${fmtS(msSince(t0))}`);
  return results;
}
