/**
 * bench/suites/durable — the durable state DB (src/history over src/store):
 * a large account set built, updated block by block, read cold and hot,
 * reopened and recovered after a kill; and @ethereumjs/trie over LevelDB
 * (classic-level) on the same workload at a smaller size, with Helios run at
 * that size too for like-for-like ratios. All in one process (the crash
 * test spawns one child).
 *
 * Workload (bench/support/durable-work.ts): N accounts, 32-byte keys,
 * 80-byte records; N = 10M (full) or 200K (quick), DURABLE_N overrides. The
 * build commits 256 heights of N/256 new accounts, each height filling an
 * empty subtree (key[0] = its batch), so no data set is ever held in memory
 * whole. Blocks are 20K updates of distinct random existing accounts.
 *
 * Measured for Helios at N (one store, in this order):
 *   build                commit() + awaited checkpoint() every 8 heights; accounts/s
 *   peak RSS / RSS anon / RSS file   /proc/self/status at the end of the build
 *                        (VmHWM reset via /proc/self/clear_refs before it when
 *                        the kernel allows; LMDB's mmap pages count in RssFile)
 *   disk per account     LMDB's own size / N, and allocated blocks (du) of the
 *                        whole directory incl. the log / N, after the build
 *   commit 20K p50/p99   durable commit() of one block (returns after the log
 *                        fsync), background checkpoints at the default cadence
 *   RSS anon max         RssAnon sampled after each block (L0 grows while a
 *                        checkpoint is in flight)
 *   commit 20K sustained the same blocks, per block, counting the event-loop
 *                        turns between them (where background checkpoints do
 *                        their main-thread work) and a final checkpoint
 *   write amplification  /proc/self/io write_bytes over the blocks + a final
 *                        checkpoint, / (blocks × 20K × (32 + 80)) leaf bytes
 *   cold get p50         db.get of random existing accounts, each read once,
 *                        as a tree walk (explicit head root, which bypasses
 *                        the head value cache), L1 dropped every 1000 reads
 *   hot get              1000 of those accounts read again and again, by the
 *                        default db.get (StateDB's head value cache) and as
 *                        tree walks (explicit head root, through L1)
 *   reopen               close(), then StateDB.open + one get
 *   recovery             a child commits 16 blocks (quick: 4) with checkpoints
 *                        off and is SIGKILLed; time of StateDB.open replaying them
 * Measured for both at the peer's N (20K quick, 200K full; DURABLE_PEER_N):
 * build, commit 20K p50/p99/sustained, cold/hot get, disk per account. The
 * peer is slow (~1.5–2K accounts/s, ~14 s per 20K block), so it gets fewer
 * blocks (1 quick, so its p50 = p99 there; 10 full) and still dominates the
 * quick run's time. Quick mode: 10 Helios blocks at 200K (no background
 * checkpoint falls inside them; full mode's 40 blocks include several).
 *
 * Caveats: "cold" means the process's own caches are empty (Helios L1;
 * LevelDB's block and table caches, by reopening it); the OS page cache is
 * warm for both (dropping it needs root and hits every process on the
 * machine). p99 is nearest-rank, so over ≤ 100 blocks it is the worst block
 * or close to it. write_bytes counts every thread of this process (the LMDB
 * write thread too) at the moment pages are dirtied. No GC runs, so old
 * versions' nodes stay on disk for both stores (ethereumjs: no pruning).
 */
import { type ChildProcess, spawn } from "node:child_process";
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { Trie } from "@ethereumjs/trie";
import { type BatchDBOp, type DB, type EncodingOpts, ValueEncoding } from "@ethereumjs/util";
import { ClassicLevel } from "classic-level";
import { bytesToHex, equalBytes } from "../../src/core/index.js";
import { openState, StateDB } from "../../src/history/index.js";
import { DEFAULT_CACHE_BYTES } from "../../src/store/index.js";
import { type Add, du, gc, median, type Mode, msSince, now, type Result, tempDir } from "../lib.js";
import {
  BATCHES,
  batchStart,
  KEY_BYTES,
  keysOf,
  type Op,
  sampleDistinct,
  updateBlock,
  VALUE_BYTES,
  valuesOf,
} from "../support/durable-work.js";

const TREE = "accounts";
const BLOCK = 20_000;
const BUILD_CHECKPOINT_EVERY = 8;
const COLD_DROP_EVERY = 1000;

/** The three commit rows every Helios run reports: p50, p99 (nearest rank) and sustained per block. */
function commitRows(
  add: Add,
  at: string,
  impl: string,
  times: number[],
  busyAndFinalMs: number,
  blocks: number,
  note: string,
): void {
  add(`commit 20K p50 ${at}`, impl, median(times), "ms", "lower", note);
  add(`commit 20K p99 ${at}`, impl, percentile(times, 0.99), "ms", "lower", `${note}; nearest-rank`);
  add(
    `commit 20K sustained ${at}`,
    impl,
    busyAndFinalMs / blocks,
    "ms/block",
    "lower",
    `(commits + the event-loop turns after them, where background checkpoints run their main-thread part + a final awaited checkpoint) / ${blocks} blocks; data generation excluded`,
  );
}
const HOT_KEYS = 1000;
const UPDATE_SEED = 0x75706461;
const COLD_SEED = 0x636f6c64;
const RECOVERY_SEED = 0x6b696c6c;
const MiB = 1024 * 1024;
const CHILD = fileURLToPath(new URL("../support/durable-child.js", import.meta.url));

// ---------------------------------------------------------------------------
// helpers

function log(msg: string): void {
  process.stderr.write(`[durable] ${msg}\n`);
}

function envInt(name: string): number | undefined {
  const v = process.env[name];
  if (v === undefined || v === "") return undefined;
  const n = Number(v.replace(/_/g, ""));
  if (!Number.isInteger(n) || n < BATCHES) throw new Error(`${name} must be an integer ≥ ${BATCHES}, got ${v}`);
  return n;
}

function fmtK(n: number): string {
  if (n >= 1e6 && n % 1e5 === 0) return `${n / 1e6}M`;
  if (n >= 1e3 && n % 1e3 === 0) return `${n / 1e3}K`;
  return String(n);
}

function fmtS(ms: number): string {
  return ms >= 60_000 ? `${(ms / 60_000).toFixed(1)} min` : `${(ms / 1000).toFixed(1)} s`;
}

/** Nearest-rank percentile of a non-empty list. */
function percentile(xs: readonly number[], q: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))] as number;
}

function procStatus(): Record<string, number> {
  const out: Record<string, number> = {};
  for (const line of readFileSync("/proc/self/status", "utf8").split("\n")) {
    const m = /^(\w+):\s+(\d+) kB$/.exec(line);
    if (m) out[m[1]!] = Number(m[2]) * 1024;
  }
  return out;
}

/** Resets VmHWM to the current RSS (Linux ≥ 4.0); false if the kernel refused. */
function resetPeakRss(): boolean {
  try {
    writeFileSync("/proc/self/clear_refs", "5");
    return true;
  } catch {
    return false;
  }
}

function procIo(): { write: number; cancelled: number } {
  const t = readFileSync("/proc/self/io", "utf8");
  const get = (k: string) => Number(new RegExp(`^${k}: (\\d+)$`, "m").exec(t)?.[1] ?? Number.NaN);
  return { write: get("write_bytes"), cancelled: get("cancelled_write_bytes") };
}

/** The build batch p of n accounts: keys and initial records. */
function buildBatch(p: number, n: number): Op[] {
  const s = batchStart(p, n);
  const e = batchStart(p + 1, n);
  const idx = new Uint32Array(e - s);
  for (let i = 0; i < idx.length; i++) idx[i] = s + i;
  const keys = keysOf(idx, n);
  const vals = valuesOf(idx.length, 0, 0x62756900 + p);
  const ops: Op[] = new Array(idx.length);
  for (let j = 0; j < idx.length; j++) ops[j] = { key: keys[j]!, value: vals[j]! };
  return ops;
}

/** Prints a progress line at every 5% of the build. */
function buildProgress(label: string, n: number, t0: bigint): (p: number) => void {
  let shown = 0;
  return (p) => {
    const pct = Math.floor(((p + 1) * 20) / BATCHES) * 5;
    if (pct <= shown) return;
    shown = pct;
    const done = batchStart(p + 1, n);
    const el = msSince(t0);
    const eta = (el * (n - done)) / done;
    const st = procStatus();
    log(
      `${label}: built ${pct}% (${fmtK(done)}/${fmtK(n)}) in ${fmtS(el)}, ETA ${fmtS(eta)}, ` +
        `${((done * 1000) / el).toFixed(0)} accounts/s, RSS ${((st.VmRSS ?? 0) / MiB).toFixed(0)} MiB`,
    );
  };
}

function expectValue(impl: string, what: string, got: Uint8Array | null | undefined, want: Uint8Array): void {
  if (got === undefined || got === null || !equalBytes(got, want)) {
    throw new Error(`${impl}: correctness guard failed: ${what}`);
  }
}

/** Bytes of the pages LMDB uses for the node table (live data), read through the store's private handle; undefined if absent. */
function nodeTableBytes(db: StateDB): number | undefined {
  const nodes = (db.store as unknown as { nodes?: { getStats?: () => unknown } }).nodes;
  const s = nodes?.getStats?.() as
    | { treeBranchPageCount?: number; treeLeafPageCount?: number; overflowPages?: number; pageSize?: number }
    | undefined;
  if (s?.treeLeafPageCount === undefined) return undefined;
  return ((s.treeBranchPageCount ?? 0) + s.treeLeafPageCount + (s.overflowPages ?? 0)) * (s.pageSize ?? 4096);
}

/** Keys for the read tests: `count` distinct random existing accounts. */
function readKeys(n: number, count: number): Uint8Array[] {
  return keysOf(sampleDistinct(COLD_SEED, Math.min(count, n), n), n);
}

interface Params {
  mode: Mode;
  n: number;
  peerN: number;
  blocks: number;
  peerBlocks: number;
  recoveryBlocks: number;
  coldReads: number;
  hotRounds: number;
}

// ---------------------------------------------------------------------------
// Helios

async function heliosBuild(db: StateDB, n: number, label: string): Promise<number> {
  const t0 = now();
  const progress = buildProgress(label, n, t0);
  let busy = 0;
  for (let p = 0; p < BATCHES; p++) {
    const ops = buildBatch(p, n);
    const s = now();
    db.commit(db.height + 1, { [TREE]: ops });
    if ((p + 1) % BUILD_CHECKPOINT_EVERY === 0 || p === BATCHES - 1) await db.checkpoint();
    busy += msSince(s);
    progress(p);
  }
  log(`${label}: build ${fmtS(busy)} in commit+checkpoint, ${fmtS(msSince(t0) - busy)} generating data`);
  return busy;
}

/**
 * Commits `blocks` update blocks. Between blocks it yields to the event loop
 * (as a node waiting for its next block does), which is where a background
 * checkpoint seals L0 and encodes its frames on this thread; `busyMs` is the
 * commits plus those yields, so background work the commits cause is counted.
 */
async function heliosBlocks(
  db: StateDB,
  n: number,
  blocks: number,
  label: string,
): Promise<{ times: number[]; busyMs: number; last: Op[]; maxAnon: number; maxL0: number }> {
  const times: number[] = [];
  let busyMs = 0;
  let last: Op[] = [];
  let maxAnon = 0;
  let maxL0 = 0;
  for (let b = 0; b < blocks; b++) {
    const ops = updateBlock(UPDATE_SEED, b, Math.min(BLOCK, n), n);
    const t0 = now();
    db.commit(db.height + 1, { [TREE]: ops });
    const ms = msSince(t0);
    const y0 = now();
    await new Promise<void>((r) => setImmediate(r));
    busyMs += ms + msSince(y0);
    times.push(ms);
    last = ops;
    maxAnon = Math.max(maxAnon, procStatus().RssAnon ?? 0);
    maxL0 = Math.max(maxL0, db.store.l0Bytes());
    if (blocks <= 20 || b % 5 === 4 || b === blocks - 1) {
      const st = db.store.stats();
      log(`${label}: block ${b + 1}/${blocks} ${ms.toFixed(1)} ms (L0 ${(st.l0Bytes / MiB).toFixed(0)} MiB)`);
    }
  }
  return { times, busyMs, last, maxAnon, maxL0 };
}

/**
 * Cold reads, then hot reads of the first HOT_KEYS of the same accounts.
 * Cold reads pass the head root explicitly, which makes them tree walks
 * (StateDB's head value cache serves only version-less reads); L1 is dropped
 * before every COLD_DROP_EVERY of them. Hot reads are timed both ways: the
 * default db.get (head value cache) and the explicit-version tree walk (L1).
 */
async function heliosReads(
  db: StateDB,
  keys: readonly Uint8Array[],
  hotRounds: number,
): Promise<{ coldUs: number[]; l2PerGet: number; hotUs: number; hotWalkUs: number }> {
  await db.checkpoint();
  const head = db.root;
  const coldUs: number[] = [];
  const l2Before = db.store.stats().l2Reads;
  let sink = 0;
  for (let i = 0; i < keys.length; i++) {
    if (i % COLD_DROP_EVERY === 0) db.store.dropCache();
    const t0 = now();
    const v = db.get(TREE, keys[i]!, head);
    coldUs.push(msSince(t0) * 1000);
    if (v === undefined) throw new Error("helios: correctness guard failed: a cold read lost an account");
    sink += v[0]!;
  }
  const l2PerGet = (db.store.stats().l2Reads - l2Before) / keys.length;
  const hot = keys.slice(0, HOT_KEYS);
  const timeRounds = (read: (k: Uint8Array) => Uint8Array | undefined): number => {
    for (const k of hot) sink += read(k)![1]!;
    const rounds: number[] = [];
    for (let r = 0; r < hotRounds; r++) {
      const t0 = now();
      for (const k of hot) sink += read(k)![1]!;
      rounds.push((msSince(t0) * 1000) / hot.length);
    }
    return median(rounds);
  };
  const hotWalkUs = timeRounds((k) => db.get(TREE, k, head));
  const hotUs = timeRounds((k) => db.get(TREE, k));
  if (sink === -1) log("unreachable");
  return { coldUs, l2PerGet, hotUs, hotWalkUs };
}

function waitReady(child: ChildProcess): Promise<string> {
  return new Promise((resolve, reject) => {
    let out = "";
    child.stdout?.setEncoding("utf8");
    child.stdout?.on("data", (d: string) => {
      out += d;
      const line = out.split("\n").find((l) => l.startsWith("ready "));
      if (line) resolve(line);
    });
    child.once("error", reject);
    child.once("exit", (code, sig) => reject(new Error(`durable-child exited early (code ${code}, signal ${sig})`)));
  });
}

async function heliosMain(p: Params, add: Add): Promise<void> {
  const { n } = p;
  const at = `@${fmtK(n)}`;
  const impl = "helios";
  const dir = tempDir("helios");
  const label = `helios ${at}`;
  log(`${label}: store in ${dir}`);
  try {
    // 1. build, memory, disk
    gc();
    const peakReset = resetPeakRss();
    const db = openState(dir, { create: true });
    const ioBuild0 = procIo();
    const buildMs = await heliosBuild(db, n, label);
    const ioBuild1 = procIo();
    const st = procStatus();
    const mu = process.memoryUsage();
    const ds = db.store.stats();
    const disk = du(dir);
    const live = nodeTableBytes(db);
    const liveNote =
      live === undefined
        ? ""
        : `; the node table's own pages are ${(live / n).toFixed(0)} B/account (${((100 * live) / ds.diskBytes).toFixed(0)}% of the file), the rest is LMDB's free list (pages copied-on-write by the last checkpoints)`;
    log(
      `${label}: VmHWM ${((st.VmHWM ?? 0) / MiB).toFixed(0)} MiB, RssAnon ${((st.RssAnon ?? 0) / MiB).toFixed(0)} MiB, ` +
        `RssFile ${((st.RssFile ?? 0) / MiB).toFixed(0)} MiB; ${ds.l2Nodes} nodes, LMDB ${(ds.diskBytes / MiB).toFixed(0)} MiB, ` +
        `du ${(disk.allocated / MiB).toFixed(0)} MiB`,
    );
    const buildNote =
      `N=${fmtK(n)}: ${BATCHES} heights of N/${BATCHES} new accounts (each fills an empty subtree), ` +
      `await checkpoint() every ${BUILD_CHECKPOINT_EVERY} heights and at the end; time = commit() + checkpoint(), ` +
      `data generation excluded; write_bytes over the build ${((ioBuild1.write - ioBuild0.write) / MiB).toFixed(0)} MiB ` +
      `(${((ioBuild1.write - ioBuild0.write) / (n * (KEY_BYTES + VALUE_BYTES))).toFixed(1)}× the raw key+value bytes)`;
    add(`build ${at}`, impl, (n * 1000) / buildMs, "accounts/s", "higher", buildNote);
    const rssNote = `default cache (L1 ${DEFAULT_CACHE_BYTES / MiB} MiB); /proc/self/status at the end of the build`;
    add(
      `peak RSS (VmHWM) ${at}`,
      impl,
      (st.VmHWM ?? Number.NaN) / MiB,
      "MiB",
      "lower",
      `${rssNote}; ${peakReset ? "VmHWM reset (clear_refs 5) before the build" : "VmHWM NOT reset: peak since process start"}; includes Node's own ~50 MiB`,
    );
    add(
      `RSS anon ${at}`,
      impl,
      (st.RssAnon ?? Number.NaN) / MiB,
      "MiB",
      "lower",
      `${rssNote}; JS heap + L0/L1 arenas + native buffers (process.memoryUsage: heapTotal ${(mu.heapTotal / MiB).toFixed(0)} MiB, ` +
        `heapUsed ${(mu.heapUsed / MiB).toFixed(0)} MiB, external ${(mu.external / MiB).toFixed(0)} MiB, of it arrayBuffers ${(mu.arrayBuffers / MiB).toFixed(0)} MiB)`,
    );
    add(
      `RSS file ${at}`,
      impl,
      (st.RssFile ?? Number.NaN) / MiB,
      "MiB",
      "lower",
      `${rssNote}; LMDB's mmap pages resident (evictable page cache) + mapped binaries`,
    );
    add(
      `disk/account (LMDB) ${at}`,
      impl,
      ds.diskBytes / n,
      "bytes",
      "lower",
      `after the build: LMDB pageSize × (last page + 1) / N; ${ds.l2Nodes} node records; raw key+value = ${KEY_BYTES + VALUE_BYTES} B${liveNote}`,
    );
    add(
      `disk/account (du) ${at}`,
      impl,
      disk.allocated / n,
      "bytes",
      "lower",
      `after the build: allocated blocks of the whole store dir (LMDB + log + lock) / N; apparent ${(disk.apparent / n).toFixed(0)} B`,
    );

    // 2. durable commits of 20K-update blocks, with write amplification
    const io0 = procIo();
    const s0 = db.store.stats();
    const { times, busyMs, last, maxAnon, maxL0 } = await heliosBlocks(db, n, p.blocks, label);
    const f0 = now();
    await db.checkpoint();
    const finalMs = msSince(f0);
    const io1 = procIo();
    const s1 = db.store.stats();
    if (s1.lastCheckpointError !== undefined) throw new Error(`helios: checkpoint failed: ${s1.lastCheckpointError}`);
    for (let j = 0; j < Math.min(16, last.length); j++) {
      expectValue(impl, "an updated account reads back", db.get(TREE, last[j]!.key), last[j]!.value);
    }
    const blockNote = `N=${fmtK(n)}; ${p.blocks} blocks of ${fmtK(BLOCK)} updates to distinct random existing accounts; commit() returning = durable (log fdatasync); background checkpoints at the defaults (every 16 commits or 256 MiB of L0), ${s1.checkpoints - s0.checkpoints - 1} ran during the blocks (a commit queues one only when none is waiting to seal L0)`;
    commitRows(add, at, impl, times, busyMs + finalMs, p.blocks, blockNote);
    add(
      `RSS anon max during blocks ${at}`,
      impl,
      maxAnon / MiB,
      "MiB",
      "lower",
      `RssAnon sampled after each of the ${p.blocks} blocks; L0 (dirty + sealed generations in flight) peaked at ${(maxL0 / MiB).toFixed(0)} MiB`,
    );
    const leafBytes = p.blocks * BLOCK * (KEY_BYTES + VALUE_BYTES);
    const written = io1.write - io0.write;
    const logical = s1.walBytesWritten - s0.walBytesWritten + (s1.frameBytesCheckpointed - s0.frameBytesCheckpointed);
    log(
      `${label}: write_bytes ${(written / MiB).toFixed(0)} MiB (cancelled ${((io1.cancelled - io0.cancelled) / MiB).toFixed(0)} MiB), ` +
        `log ${((s1.walBytesWritten - s0.walBytesWritten) / MiB).toFixed(0)} MiB, frames ${((s1.frameBytesCheckpointed - s0.frameBytesCheckpointed) / MiB).toFixed(0)} MiB`,
    );
    add(
      `write amplification ${at}`,
      impl,
      written / leafBytes,
      "×",
      "lower",
      `/proc/self/io write_bytes (all threads, incl. LMDB's write thread) over the ${p.blocks} blocks + the final checkpoint, ` +
        `/ ${p.blocks} × ${fmtK(BLOCK)} × ${KEY_BYTES + VALUE_BYTES} B of leaf changes; the store's own bytes ` +
        `(log + checkpointed frames) are ${(logical / leafBytes).toFixed(1)}× — the rest is LMDB page copy-on-write`,
    );
    const afterDisk = du(dir);
    add(
      `disk/account after blocks (du) ${at}`,
      impl,
      afterDisk.allocated / n,
      "bytes",
      "lower",
      `after the ${p.blocks} blocks and a checkpoint, no GC: old versions' nodes stay (retain 100 heights)`,
    );

    // 3. cold and hot reads
    const keys = readKeys(n, p.coldReads);
    const r = await heliosReads(db, keys, p.hotRounds);
    log(
      `${label}: cold get p50 ${median(r.coldUs).toFixed(1)} µs, ${r.l2PerGet.toFixed(2)} L2 reads/get; hot ${r.hotUs.toFixed(2)} µs, hot walk ${r.hotWalkUs.toFixed(2)} µs`,
    );
    add(
      `cold get p50 ${at}`,
      impl,
      median(r.coldUs),
      "µs",
      "lower",
      `${keys.length} distinct random accounts, each read once, as db.get(tree, key, headRoot): a tree walk (the head value cache only serves version-less reads); L1 dropped before every ${COLD_DROP_EVERY} reads (untimed), so the upper nodes of a path are usually cached by earlier reads: ${r.l2PerGet.toFixed(2)} LMDB reads per get; OS page cache warm; p99 ${percentile(r.coldUs, 0.99).toFixed(1)} µs`,
    );
    add(
      `hot get ${at}`,
      impl,
      r.hotUs,
      "µs",
      "lower",
      `the first ${HOT_KEYS} of those accounts, read again with the default db.get(tree, key): served by StateDB's head value cache (history/headcache.ts); median over ${p.hotRounds} rounds`,
    );
    add(
      `hot get (tree walk) ${at}`,
      impl,
      r.hotWalkUs,
      "µs",
      "lower",
      `the same ${HOT_KEYS} accounts as db.get(tree, key, headRoot): forest + tree walk through L1; median over ${p.hotRounds} rounds`,
    );

    // 4. reopen after a clean close
    await db.close();
    let t0 = now();
    const db2 = StateDB.open(dir);
    expectValue(impl, "get after reopen", db2.get(TREE, last[0]!.key), last[0]!.value);
    const reopenMs = msSince(t0);
    const rec2 = db2.stats().recovered;
    add(
      `reopen ${at}`,
      impl,
      reopenMs,
      "ms",
      "lower",
      `close() (a checkpoint), then StateDB.open + one get; ${rec2.records} log records replayed`,
    );
    const head = db2.height;
    await db2.close();

    // 5. recovery after a kill
    const child = spawn(
      process.execPath,
      [...process.execArgv, CHILD, dir, String(n), String(p.recoveryBlocks), String(BLOCK), String(RECOVERY_SEED)],
      { stdio: ["ignore", "pipe", "inherit"] },
    );
    let ready: string;
    try {
      ready = await waitReady(child);
    } finally {
      child.removeAllListeners("exit");
      const gone = new Promise<void>((res) => {
        if (child.exitCode !== null || child.signalCode !== null) res();
        else child.once("exit", () => res());
      });
      child.kill("SIGKILL");
      await gone;
    }
    const [, hs, rootHex] = ready.split(" ");
    t0 = now();
    const db3 = StateDB.open(dir);
    const recWall = msSince(t0);
    const rec = db3.stats().recovered;
    if (
      db3.height !== Number(hs) ||
      db3.height !== head + p.recoveryBlocks ||
      bytesToHex(db3.root) !== rootHex?.trim()
    ) {
      throw new Error(
        `helios: recovery guard failed: height ${db3.height} root ${bytesToHex(db3.root)}, child said ${ready}`,
      );
    }
    log(`${label}: recovered ${rec.records} records in ${rec.ms.toFixed(0)} ms (open wall ${recWall.toFixed(0)} ms)`);
    add(
      `recovery (${p.recoveryBlocks} blocks) ${at}`,
      impl,
      rec.ms,
      "ms",
      "lower",
      `a child committed ${p.recoveryBlocks} blocks of ${fmtK(BLOCK)} updates with checkpoints off and was SIGKILLed; StateDB.open (stale LOCK taken over) replayed ${rec.records} log records, recomputing and checking every root (stats().recovered.ms; open wall ${recWall.toFixed(0)} ms); ${p.recoveryBlocks === 16 ? "16 = the default checkpointEvery, the longest log tail a default store replays (plus commits made while a checkpoint is in flight)" : "quick mode: fewer blocks than the default checkpointEvery (16)"}`,
    );
    await db3.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Helios at the peer's size: the rows the peer has too, with the same keys, values and blocks. */
async function heliosAtPeerN(p: Params, add: Add): Promise<void> {
  const n = p.peerN;
  const at = `@${fmtK(n)}`;
  const impl = "helios";
  const dir = tempDir("helios-small");
  const label = `helios ${at}`;
  try {
    const db = openState(dir, { create: true });
    const buildMs = await heliosBuild(db, n, label);
    const disk = du(dir);
    add(
      `build ${at}`,
      impl,
      (n * 1000) / buildMs,
      "accounts/s",
      "higher",
      `N=${fmtK(n)}, as the peer: ${BATCHES} heights, await checkpoint() every ${BUILD_CHECKPOINT_EVERY} heights; at this N a height is only ${Math.round(n / BATCHES)} accounts, so per-height fixed costs (a log fsync per commit, LMDB fsyncs and log rotation per checkpoint) weigh heavily`,
    );
    add(`disk/account (du) ${at}`, impl, disk.allocated / n, "bytes", "lower", "after the build, whole store dir");
    const { times, busyMs, last } = await heliosBlocks(db, n, p.peerBlocks, label);
    const f0 = now();
    await db.checkpoint();
    const finalMs = msSince(f0);
    for (let j = 0; j < Math.min(16, last.length); j++) {
      expectValue(impl, "an updated account reads back", db.get(TREE, last[j]!.key), last[j]!.value);
    }
    const note = `N=${fmtK(n)}; ${p.peerBlocks} block(s) (the peer's); durable on return (log fdatasync); default background checkpoints`;
    commitRows(add, at, impl, times, busyMs + finalMs, p.peerBlocks, note);
    const r = await heliosReads(db, readKeys(n, Math.min(p.coldReads, n)), p.hotRounds);
    add(
      `cold get p50 ${at}`,
      impl,
      median(r.coldUs),
      "µs",
      "lower",
      `tree walks (explicit head root); L1 dropped every ${COLD_DROP_EVERY} reads; ${r.l2PerGet.toFixed(2)} LMDB reads per get; OS page cache warm`,
    );
    add(
      `hot get ${at}`,
      impl,
      r.hotUs,
      "µs",
      "lower",
      `${HOT_KEYS} accounts read again, default db.get: StateDB's head value cache; median of ${p.hotRounds} rounds`,
    );
    add(
      `hot get (tree walk) ${at}`,
      impl,
      r.hotWalkUs,
      "µs",
      "lower",
      `the same reads with an explicit head root: tree walks through L1; median of ${p.hotRounds} rounds`,
    );
    await db.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------------------
// @ethereumjs/trie over LevelDB

type Level = ClassicLevel<Uint8Array, Uint8Array>;

/**
 * ethereumjs's DB interface over classic-level. The trie's CheckpointDB hands
 * us node keys as hex strings (KeyEncoding.String); we store the 32 raw bytes
 * (the compact choice: @ethereumjs/client's own LevelDB wrapper stores the hex
 * text). Values are bytes (the trie is created with ValueEncoding.Bytes).
 * Every write is `{ sync: true }`: a write that returns is on disk, as with
 * Helios. The trie only writes through `batch` here (one per committed
 * checkpoint), so that is one fsync per block.
 */
class LevelDB implements DB<string, string | Uint8Array> {
  constructor(private readonly box: { level: Level }) {}

  static async open(dir: string): Promise<LevelDB> {
    const db = new LevelDB({ level: LevelDB.make(dir) });
    await db.open();
    return db;
  }

  private static make(dir: string): Level {
    // cacheSize: LevelDB's block cache, given Helios' L1 budget (its default is 8 MiB)
    return new ClassicLevel<Uint8Array, Uint8Array>(dir, {
      keyEncoding: "view",
      valueEncoding: "view",
      cacheSize: DEFAULT_CACHE_BYTES,
    });
  }

  private static key(k: string | Uint8Array): Uint8Array {
    if (typeof k !== "string") return k;
    if (k.length % 2 !== 0 || !/^[0-9a-f]*$/.test(k)) throw new Error(`LevelDB adapter: not a hex key: ${k}`);
    return Buffer.from(k, "hex");
  }

  private static value(v: string | Uint8Array): Uint8Array {
    return typeof v === "string" ? Buffer.from(v, "utf8") : v;
  }

  async get(key: string, opts?: EncodingOpts): Promise<string | Uint8Array | undefined> {
    const v = await this.box.level.get(LevelDB.key(key));
    if (v === undefined) return undefined;
    return opts?.valueEncoding === ValueEncoding.String ? Buffer.from(v).toString("utf8") : v;
  }

  async put(key: string, val: string | Uint8Array): Promise<void> {
    await this.box.level.put(LevelDB.key(key), LevelDB.value(val), { sync: true });
  }

  async del(key: string): Promise<void> {
    await this.box.level.del(LevelDB.key(key), { sync: true });
  }

  async batch(ops: BatchDBOp<string, string | Uint8Array>[]): Promise<void> {
    const lops = ops.map((op) =>
      op.type === "put"
        ? { type: "put" as const, key: LevelDB.key(op.key), value: LevelDB.value(op.value) }
        : { type: "del" as const, key: LevelDB.key(op.key) },
    );
    await this.box.level.batch(lops, { sync: true });
  }

  shallowCopy(): DB<string, string | Uint8Array> {
    return new LevelDB(this.box);
  }

  async open(): Promise<void> {
    await this.box.level.open();
  }

  /** Closes and reopens LevelDB: its block cache, table cache and memtable start empty. */
  async reopen(): Promise<void> {
    const loc = this.box.level.location;
    await this.box.level.close();
    this.box.level = LevelDB.make(loc);
    await this.box.level.open();
  }

  close(): Promise<void> {
    return this.box.level.close();
  }
}

/** One block as ethereumjs commits it: checkpoint, puts, commit (one synced LevelDB batch). */
async function trieBlock(trie: Trie, ops: readonly Op[]): Promise<void> {
  trie.checkpoint();
  const puts: BatchDBOp[] = new Array(ops.length);
  for (let j = 0; j < ops.length; j++) puts[j] = { type: "put", key: ops[j]!.key, value: ops[j]!.value };
  await trie.batch(puts);
  await trie.commit();
}

async function ethereumjsAtPeerN(p: Params, add: Add): Promise<void> {
  const n = p.peerN;
  const at = `@${fmtK(n)}`;
  const impl = "@ethereumjs/trie";
  const dir = tempDir("ethereumjs");
  const label = `${impl} ${at}`;
  const common =
    "@ethereumjs/trie 6.2.1 over classic-level 3 (LevelDB, snappy, block cache 256 MiB = Helios' L1 budget), " +
    "ValueEncoding.Bytes, 32-byte node keys, no key hashing, no pruning; a block = trie.checkpoint(), " +
    "trie.batch(puts), trie.commit(), which writes the block's nodes as one LevelDB batch with { sync: true } (its fsync " +
    "also covers any earlier unsynced write); the root is not persisted (a client keeps it in its block header)";
  try {
    const level = await LevelDB.open(dir);
    const trie = await Trie.create({ db: level, valueEncoding: ValueEncoding.Bytes });
    let t0 = now();
    const progress = buildProgress(label, n, t0);
    let busy = 0;
    for (let b = 0; b < BATCHES; b++) {
      const ops = buildBatch(b, n);
      const s = now();
      await trieBlock(trie, ops);
      busy += msSince(s);
      progress(b);
    }
    const disk = du(dir);
    add(
      `build ${at}`,
      impl,
      (n * 1000) / busy,
      "accounts/s",
      "higher",
      `N=${fmtK(n)}, the same ${BATCHES} batches; ${common}`,
    );
    add(
      `disk/account (du) ${at}`,
      impl,
      disk.allocated / n,
      "bytes",
      "lower",
      `after the build, whole LevelDB dir (log + tables, compactions as they stood); apparent ${(disk.apparent / n).toFixed(0)} B`,
    );

    const times: number[] = [];
    let last: Op[] = [];
    for (let b = 0; b < p.peerBlocks; b++) {
      const ops = updateBlock(UPDATE_SEED, b, Math.min(BLOCK, n), n);
      t0 = now();
      await trieBlock(trie, ops);
      const ms = msSince(t0);
      times.push(ms);
      last = ops;
      log(`${label}: block ${b + 1}/${p.peerBlocks} ${ms.toFixed(0)} ms`);
    }
    for (let j = 0; j < Math.min(16, last.length); j++) {
      expectValue(impl, "an updated account reads back", await trie.get(last[j]!.key), last[j]!.value);
    }
    const note = `N=${fmtK(n)} (ethereumjs inserts ~2K keys/s, so it runs at this smaller N; helios has a row at this N too); ${p.peerBlocks} block(s); ${common}`;
    add(`commit 20K p50 ${at}`, impl, median(times), "ms", "lower", note);
    add(`commit 20K p99 ${at}`, impl, percentile(times, 0.99), "ms", "lower", `nearest-rank; ${note}`);
    add(
      `commit 20K sustained ${at}`,
      impl,
      times.reduce((a, b) => a + b, 0) / times.length,
      "ms/block",
      "lower",
      "mean block time: its durable write is inside each block (LevelDB compacts on its own threads)",
    );

    const keys = readKeys(n, Math.min(p.coldReads, n));
    const cold: number[] = [];
    let sink = 0;
    for (let i = 0; i < keys.length; i++) {
      if (i % COLD_DROP_EVERY === 0) await level.reopen();
      const s = now();
      const v = await trie.get(keys[i]!);
      cold.push(msSince(s) * 1000);
      if (v === null) throw new Error(`${impl}: correctness guard failed: a cold read lost an account`);
      sink += v[0]!;
    }
    const hot = keys.slice(0, HOT_KEYS);
    for (const k of hot) sink += (await trie.get(k))![1]!;
    const rounds: number[] = [];
    for (let r = 0; r < p.hotRounds; r++) {
      const s = now();
      for (const k of hot) sink += (await trie.get(k))![1]!;
      rounds.push((msSince(s) * 1000) / hot.length);
    }
    if (sink === -1) log("unreachable");
    log(`${label}: cold get p50 ${median(cold).toFixed(1)} µs, hot ${median(rounds).toFixed(1)} µs`);
    add(
      `cold get p50 ${at}`,
      impl,
      median(cold),
      "µs",
      "lower",
      `LevelDB closed and reopened before every ${COLD_DROP_EVERY} reads (untimed): block and table caches empty; OS page cache warm; trie.get (async); p99 ${percentile(cold, 0.99).toFixed(1)} µs`,
    );
    add(
      `hot get ${at}`,
      impl,
      median(rounds),
      "µs",
      "lower",
      `${HOT_KEYS} accounts read again (LevelDB block cache warm; the trie keeps no node cache by default); median of ${p.hotRounds} rounds`,
    );
    add(
      `hot get (tree walk) ${at}`,
      impl,
      median(rounds),
      "µs",
      "lower",
      "the same measurement as its hot get row: trie.get always walks the trie",
    );
    await level.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------------------

const WORKLOAD_ORDER = [
  "build",
  "peak RSS (VmHWM)",
  "RSS anon",
  "RSS file",
  "RSS anon max during blocks",
  "commit 20K p50",
  "commit 20K p99",
  "commit 20K sustained",
  "cold get p50",
  "hot get",
  "hot get (tree walk)",
  "reopen",
  "recovery",
  "disk/account (LMDB)",
  "disk/account (du)",
  "disk/account after blocks (du)",
  "write amplification",
];

export async function run(mode: Mode): Promise<Result[]> {
  const full = mode === "full";
  const p: Params = {
    mode,
    n: envInt("DURABLE_N") ?? (full ? 10_000_000 : 200_000),
    peerN: envInt("DURABLE_PEER_N") ?? (full ? 200_000 : 20_000),
    blocks: full ? 40 : 10,
    peerBlocks: full ? 10 : 1,
    recoveryBlocks: full ? 16 : 4,
    coldReads: full ? 10_000 : 2_000,
    hotRounds: full ? 21 : 11,
  };
  if ((globalThis as { gc?: unknown }).gc === undefined) log("warning: run node with --expose-gc");
  log(
    `${mode}: helios at N=${fmtK(p.n)} (${p.blocks} blocks), helios and @ethereumjs/trie at N=${fmtK(p.peerN)} (${p.peerBlocks} block(s)); ` +
      `${KEY_BYTES} B keys, ${VALUE_BYTES} B records, blocks of ${fmtK(BLOCK)} updates`,
  );
  const results: Result[] = [];
  const add: Add = (workload, impl, value, unit, better, note) =>
    results.push({ workload, impl, value, unit, better, note });
  const failures: string[] = [];
  const t0 = Date.now();
  for (const [name, fn] of [
    [`helios @${fmtK(p.n)}`, heliosMain],
    [`helios @${fmtK(p.peerN)}`, heliosAtPeerN],
    [`@ethereumjs/trie @${fmtK(p.peerN)}`, ethereumjsAtPeerN],
  ] as const) {
    const s = Date.now();
    log(`${name}: start`);
    try {
      await fn(p, add);
    } catch (e) {
      const msg = `${name}: FAILED: ${(e as Error).stack ?? e}`;
      failures.push(msg);
      log(msg);
    }
    gc();
    log(`${name}: done in ${fmtS(Date.now() - s)}`);
  }
  log(`total ${fmtS(Date.now() - t0)}`);
  if (failures.length > 0) {
    log(`${failures.length} part(s) failed; their rows are missing:\n${failures.join("\n")}`);
    process.exitCode = 1;
  }
  const rank = (w: string) => {
    const base = w.replace(/ @\S+$/, "").replace(/ \(\d+ blocks\)$/, "");
    const i = WORKLOAD_ORDER.indexOf(base);
    return i < 0 ? WORKLOAD_ORDER.length : i;
  };
  // Stable: by workload kind, the big N before the peer's N, impls in run order.
  return results.sort((a, b) => rank(a.workload) - rank(b.workload));
}
