/**
 * cli/sandbox-demo — `helios demo sandbox`: a tour of the experimentation
 * face on a real store in a temp directory (or --dir): O(1) forks and
 * branches of a large state, diff and three-way merge, fork(n) on worker
 * threads keeping the best attempt, directory checkpoints with dedup and
 * partial restore, and forget + GC returning the store to its live set.
 *
 * Everything it prints is measured in this run; nothing is canned. Progress
 * lines go to stderr (cli/progress.ts), results to stdout.
 * Costs: ~10–20 s at the defaults on a 2-core machine.
 */
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, utimesSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { bytesToHex, hash, utf8, xorshift32 } from "../core/index.js";
import { openState } from "../history/index.js";
import { countReachable, type Op } from "../merkle/index.js";
import {
  createCheckpoint,
  diffCheckpoints,
  ForestFork,
  forgetCheckpoints,
  openFile,
  Repo,
  restoreCheckpoint,
  runForks,
} from "../sandbox/index.js";
import { Progress } from "./progress.js";

const fmt = (n: number) => n.toLocaleString("en-US");
const mb = (n: number) => (n < 1024 * 1024 ? `${(n / 1024).toFixed(1)} KiB` : `${(n / 1024 / 1024).toFixed(1)} MiB`);
const short = (hex: string) => `${hex.slice(0, 12)}…`;

function key(i: number): Uint8Array {
  return hash(utf8(`key ${i}`));
}

/** A small deterministic directory: text-like and random files, some nested. */
function makeTree(dir: string, files: number, seed: number): number {
  const next = xorshift32(seed);
  let bytes = 0;
  for (let i = 0; i < files; i++) {
    const sub = path.join(dir, `pkg${i % 17}`, i % 3 === 0 ? "lib" : "");
    mkdirSync(sub, { recursive: true });
    const n = 2_000 + (next() % 300_000);
    const buf = Buffer.alloc(n);
    if (i % 2 === 0) for (let j = 0; j < n; j++) buf[j] = 97 + (next() % 26);
    else for (let j = 0; j < n; j += 4) buf.writeUInt32LE(next(), Math.min(j, n - 4));
    writeFileSync(path.join(sub, `file${i}.${i % 2 === 0 ? "txt" : "bin"}`), buf);
    bytes += n;
  }
  mkdirSync(path.join(dir, "empty-dir"), { recursive: true });
  // as if written an hour ago: files changed within a second of a checkpoint are re-read by the next one (racy)
  const old = new Date(Date.now() - 3_600_000);
  for (const e of readdirSync(dir, { recursive: true, withFileTypes: true }))
    utimesSync(path.join(e.parentPath, e.name), old, old);
  utimesSync(dir, old, old);
  return bytes;
}

export async function sandboxDemo(args: string[]): Promise<void> {
  const opt = (name: string, dflt: number) => {
    const i = args.indexOf(`--${name}`);
    const v = i < 0 ? dflt : Number(args[i + 1]);
    if (!Number.isInteger(v) || v < 1) {
      console.error(`helios demo sandbox: --${name} takes a positive integer`);
      process.exit(2);
    }
    return v;
  };
  const keys = opt("keys", 200_000);
  const dirArg = args.indexOf("--dir");
  const base = dirArg >= 0 ? (args[dirArg + 1] as string) : mkdtempSync(path.join(os.tmpdir(), "helios-sandbox-demo-"));
  const storeDir = path.join(base, "store");
  console.log(`Helios — experimentation tour (store: ${storeDir})\n`);
  const db = openState(storeDir, { create: true });
  try {
    // 1. a large state on a branch
    console.log(`1. A repository whose first commit holds ${fmt(keys)} keys (32-byte keys, 64-byte values)`);
    const repo = Repo.init(db, { clock: Date.now, author: os.userInfo().username });
    const bar = new Progress("   writing", keys, { unit: "keys" });
    for (let i = 0; i < keys; i += 50_000) {
      const ops: Op[] = [];
      for (let j = i; j < Math.min(keys, i + 50_000); j++)
        ops.push({ key: key(j), value: hash(key(j)).subarray(0, 32) });
      repo.write({ world: ops });
      bar.update(Math.min(keys, i + 50_000));
    }
    bar.done();
    const c1 = repo.commitWork("the world");
    console.log(`   commit ${short(bytesToHex(c1))} on main\n`);

    // 2. forks and branches cost nothing
    console.log("2. Fork it: in memory (ForestFork) and as durable branches");
    const root = repo.stateOf("main");
    const f0 = ForestFork.of(db, root);
    const n = 100_000;
    let t = performance.now();
    for (let i = 0; i < n; i++) f0.fork();
    const forkUs = ((performance.now() - t) * 1000) / n;
    t = performance.now();
    for (let i = 0; i < 20; i++) repo.branch(`try-${i}`);
    const branchMs = (performance.now() - t) / 20;
    console.log(
      `   fork(): ${forkUs.toFixed(2)} µs each (mean of ${fmt(n)}); branch(): ${branchMs.toFixed(2)} ms each, fsync included — neither depends on the state's size\n`,
    );
    f0.release();

    // 3. diff and merge
    console.log("3. Change two branches differently, diff them, merge with a policy");
    repo.checkout("try-0");
    repo.write({ world: [0, 1, 2, 3].map((i) => ({ key: key(i), value: utf8(`try-0 ${i}`) })) });
    repo.commitWork("try-0 edits keys 0–3");
    repo.checkout("try-1");
    repo.write({
      world: [2, 3, 4].map((i) => ({ key: key(i), value: utf8(`try-1 ${i}`) })),
      notes: [{ key: utf8("why"), value: utf8("because") }],
    });
    repo.commitWork("try-1 edits keys 2–4 and adds a note");
    for (const s of repo.diffStat("try-0", "try-1")) {
      console.log(`   diff try-0 try-1: ${s.tree}: +${s.added} −${s.removed} ~${s.modified}`);
    }
    const preview = repo.previewMerge("try-0");
    console.log(`   merging try-0 into try-1 would conflict on ${preview.conflicts.length} keys (2 and 3)`);
    const merged = repo.merge("try-0", { policy: "theirs" });
    console.log(
      `   merge --policy theirs: ${merged.kind}, ${merged.conflicts.length} conflicts settled, ${merged.taken} keys taken\n`,
    );

    // 4. fork(n) on worker threads, keep the best
    console.log("4. Run 4 attempts in parallel on worker threads (runForks) and keep the best one");
    const outcomes = await runForks(
      db,
      repo.stateOf("main"),
      4,
      (ctx: { index: number; put(t: string, k: Uint8Array, v: Uint8Array): void }) => {
        let score = 0;
        for (let i = 0; i < 1000; i++) {
          const v = (i * 2654435761 + ctx.index * 40503) >>> 0;
          score = (score + (v % 1000)) % 100_003;
          ctx.put("attempt", new TextEncoder().encode(`step ${i}`), new TextEncoder().encode(String(v)));
        }
        return score;
      },
      { threads: 2 },
    );
    let best = -1;
    let bestScore = -1;
    for (const o of outcomes) {
      if (o.status === "fulfilled" && o.value > bestScore) {
        bestScore = o.value;
        best = o.index;
      }
    }
    console.log(
      `   scores: ${outcomes.map((o) => (o.status === "fulfilled" ? o.value : o.reason.code)).join(", ")}; keeping attempt ${best}`,
    );
    repo.checkout("main");
    repo.branch("best");
    repo.checkout("best");
    for (const o of outcomes) {
      if (o.status !== "fulfilled") continue;
      if (o.index === best) repo.write(o.fork.writes());
      o.fork.release();
    }
    repo.commitWork(`attempt ${best}`);
    repo.checkout("main");
    console.log(`   branch best holds it; the other three were released and leave nothing behind\n`);

    // 5. directory checkpoints
    console.log("5. Checkpoint a directory, change it a little, checkpoint again, restore");
    const src = path.join(base, "tree");
    makeTree(src, 120, 7);
    // a ctime cannot be set back: wait out the racy window (RACY_MS, 1 s), or the next checkpoint re-reads every file
    await new Promise((r) => setTimeout(r, 1_100));
    const ck = (label: string) => {
      let p: Progress | undefined;
      return createCheckpoint(db, src, {
        time: Date.now(),
        clock: () => performance.now(),
        onProgress: (q) => {
          if (q.phase === "scan") return;
          p ??= new Progress(`   ${label}`, q.bytesTotal, { unit: "bytes" });
          p.update(q.bytesDone);
        },
      }).finally(() => p?.done());
    };
    const a = await ck("checkpoint");
    console.log(
      `   ${short(a.id)}: ${fmt(a.stats.files)} files, ${mb(a.stats.bytes)} → ${mb(a.stats.bytesNewStored)} stored (${fmt(a.stats.chunks)} chunks)`,
    );
    // change ~1%: rewrite a few bytes in one file, add one
    const victim = path.join(src, "pkg1", "file1.bin");
    const buf = readFileSync(victim);
    buf.write("changed", 100);
    writeFileSync(victim, buf);
    writeFileSync(path.join(src, "NEW.txt"), "a new file\n");
    const b = await ck("re-checkpoint");
    console.log(
      `   ${short(b.id)}: read ${fmt(b.stats.filesRead)} changed files, skipped ${fmt(b.stats.filesReused)}; stored ${mb(b.stats.bytesNewStored)} new (${((b.stats.bytesNewStored / Math.max(1, a.stats.bytesNewStored)) * 100).toFixed(2)}% of the first)`,
    );
    const d = diffCheckpoints(db, a.id, b.id);
    console.log(`   diff: ${d.items.map((i) => `${i.change} ${i.path === "" ? "." : i.path}`).join(", ")}`);
    const out = path.join(base, "restored");
    const r = restoreCheckpoint(db, b.id, out);
    console.log(`   restored ${fmt(r.files)} files into ${out}`);
    const t0 = performance.now();
    const f = openFile(db, b.id, "pkg1/file1.bin");
    const first = f.chunks().next();
    const firstMs = performance.now() - t0;
    f.close();
    console.log(
      `   first byte of one file, read lazily: ${firstMs.toFixed(2)} ms (${first.done ? 0 : first.value.length} bytes in the first chunk)`,
    );

    // 6. forget and GC
    console.log("\n6. Forget all but the newest checkpoint, delete the experiments, collect");
    await db.gcFinish();
    await db.collect(); // first, what is on disk now is exactly what is live
    const before = db.store.stats();
    forgetCheckpoints(db, { keepLast: 1 }, Date.now());
    for (let i = 0; i < 20; i++) repo.deleteBranch(`try-${i}`, { force: true });
    const dropped = repo.prune();
    const g = await db.collect();
    const after = db.store.stats();
    const live = countReachable(db.store, db.liveRoots());
    console.log(
      `   dropped ${dropped.length} unreachable commits and 1 checkpoint; GC removed ${fmt(g.removed)} nodes: ${fmt(before.l2Nodes)} → ${fmt(after.l2Nodes)} nodes on disk (${mb(before.l2NodeBytes)} → ${mb(after.l2NodeBytes)} of pages)`,
    );
    console.log(
      `   nodes on disk = nodes reachable from what is live: ${after.l2Nodes === live ? "yes" : `no (${fmt(live)} live)`}`,
    );
    console.log(
      `\nDone. Branches: ${repo.branchNames().join(", ")}. Next: docs/branches.md, docs/checkpoints.md, docs/experiments.md.`,
    );
  } finally {
    await db.close();
    if (dirArg < 0) rmSync(base, { recursive: true, force: true });
  }
}
