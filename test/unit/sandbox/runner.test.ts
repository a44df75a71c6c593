/**
 * runForks (src/sandbox/runner.ts): forks on worker threads see the base
 * plus their own writes and come back as ForestForks; outcomes are per fork
 * like Promise.allSettled (a throw, a worker that exits, a worker out of
 * memory, a result that cannot be sent, a task that does not load); module
 * and function tasks; abort; and "keep one, discard the rest": after GC the
 * store holds exactly the live set, node for node what a fresh store holding
 * only the kept result holds. A ForkPool keeps its threads across runs,
 * queues concurrent runs, replaces a thread that died, and serves runs on
 * different stores. Regressions: closing a pool right after a run never
 * aborts the process (lmdb close vs terminate), an abort during the run's
 * checkpoint is not lost, the run after an abort gets healthy threads, a
 * hanging fork times out (timeoutMs), and a throwing onProgress rejects the
 * run instead of hanging it.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import path from "node:path";
import { after, before, test } from "node:test";
import { bytesToHex, isHeliosError, utf8 } from "../../../src/core/index.js";
import { openState, type StateDB } from "../../../src/history/index.js";
import { countReachable, type Op } from "../../../src/merkle/index.js";
import { createForkPool, type ForkContext, type ForkOutcome, runForks } from "../../../src/sandbox/runner.js";
import { distSrc, rmDir, tmpDir } from "../../support/tmp.js";

let dir: string;
let db: StateDB;
const BASE_KEYS = 2000;

function baseWrites(): Record<string, Op[]> {
  const ops: Op[] = [];
  for (let i = 0; i < BASE_KEYS; i++) ops.push({ key: utf8(`k${i}`), value: utf8(`v${i}`) });
  return { base: ops };
}

before(() => {
  dir = tmpDir("runner");
  db = openState(dir, { create: true });
  db.commit(1, baseWrites());
});

after(async () => {
  await db.close();
  rmDir(dir);
});

function releaseAll<T>(outs: ForkOutcome<T>[]): void {
  for (const o of outs) if (o.status === "fulfilled") o.fork.release();
}

const text = (b: Uint8Array | undefined) => (b === undefined ? undefined : Buffer.from(b).toString());

test("each fork runs on a worker, sees the base plus its own writes, and comes back as a ForestFork", async () => {
  const progress: number[] = [];
  const outs = await runForks(
    db,
    db.root,
    6,
    (ctx: ForkContext) => {
      const enc = (s: string) => new TextEncoder().encode(s);
      const dec = (b: Uint8Array | undefined) => (b === undefined ? null : new TextDecoder().decode(b));
      const seenBefore = dec(ctx.get("base", enc("k7")));
      ctx.put("base", enc("k7"), enc(`fork${ctx.index}`));
      ctx.put("exp", enc(`only-${ctx.index}`), enc(String(ctx.args)));
      ctx.delete("base", enc("k8"));
      // other forks' writes are never visible: each starts from the base alone
      let others = 0;
      for (let j = 0; j < 6; j++) if (j !== ctx.index && ctx.get("exp", enc(`only-${j}`)) !== undefined) others++;
      const scanned = ctx.scan("base", enc("k19")).length;
      return { seenBefore, seenAfter: dec(ctx.get("base", enc("k7"))), others, scanned };
    },
    { threads: 2, args: "hello", onProgress: (d) => progress.push(d) },
  );
  assert.equal(outs.length, 6);
  assert.deepEqual(progress, [1, 2, 3, 4, 5, 6]);
  for (const [i, o] of outs.entries()) {
    assert.equal(o.index, i);
    assert.equal(o.status, "fulfilled");
    if (o.status !== "fulfilled") continue;
    assert.deepEqual(o.value, { seenBefore: "v7", seenAfter: `fork${i}`, others: 0, scanned: 111 }); // k19, k190–k199, k1900–k1999
    assert.equal(o.writes, 3);
    assert.equal(text(o.fork.get("base", utf8("k7"))), `fork${i}`);
    assert.equal(o.fork.get("base", utf8("k8")), undefined);
    assert.equal(text(o.fork.get("exp", utf8(`only-${i}`))), "hello");
    assert.equal(text(o.fork.get("base", utf8("k9"))), "v9", "the rest of the base is there");
    assert.equal(o.fork.get("exp", utf8(`only-${(i + 1) % 6}`)), undefined);
    // the materialised fork's root is the root of the same writes staged on the base
    const s = db.stage(db.root, {
      base: [
        { key: utf8("k7"), value: utf8(`fork${i}`) },
        { key: utf8("k8"), value: null },
      ],
      exp: [{ key: utf8(`only-${i}`), value: utf8("hello") }],
    });
    assert.equal(bytesToHex(o.fork.root()), bytesToHex(s.root));
    s.release();
  }
  assert.equal(text(db.get("base", utf8("k7"))), "v7", "the base version is untouched");
  releaseAll(outs);
});

test("failures are per fork and coded: a throw, process.exit, a heap overflow, an unsendable result", async () => {
  const outs = await runForks(
    db,
    db.root,
    6,
    (ctx: ForkContext) => {
      if (ctx.index === 1) throw new Error("boom in fork 1");
      if (ctx.index === 2) process.exit(7);
      if (ctx.index === 3) {
        const hog: number[][] = [];
        for (;;) hog.push(new Array(100_000).fill(ctx.index));
      }
      if (ctx.index === 4) return () => "functions do not clone";
      if (ctx.index === 5) ctx.put("", new Uint8Array(1), new Uint8Array(1)); // a coded error inside Helios
      ctx.put("exp", new Uint8Array([ctx.index]), new Uint8Array([1]));
      return ctx.index;
    },
    { threads: 2, memoryMb: 32 },
  );
  const byIndex = outs.map((o) => (o.status === "fulfilled" ? "ok" : o.reason.code));
  assert.deepEqual(byIndex, [
    "ok",
    "FORK_TASK_FAILED",
    "FORK_WORKER_DIED",
    "FORK_WORKER_DIED",
    "FORK_TASK_FAILED",
    "FORK_TASK_FAILED",
  ]);
  const reason = (i: number) => {
    const o = outs[i] as ForkOutcome<unknown>;
    assert.equal(o.status, "rejected");
    return o.status === "rejected" ? o.reason : { code: "", message: "", cause: "" };
  };
  assert.match(reason(1).message, /boom in fork 1/);
  assert.match(reason(2).message, /exit code 7/);
  assert.match(reason(3).message, /memory/i);
  assert.match(reason(4).message, /cannot be sent back/);
  assert.equal(reason(5).cause, "TREE_NAME_INVALID");
  const ok = outs[0] as ForkOutcome<number>;
  assert.equal(ok.status === "fulfilled" && ok.value, 0);
  releaseAll(outs);
});

test("a module task is imported in each worker; a missing export fails every fork, not the call", async () => {
  const mdir = tmpDir("runner-mod");
  try {
    const file = path.join(mdir, "task.mjs");
    writeFileSync(
      file,
      [
        "export function bump(ctx) {",
        "  const key = new TextEncoder().encode('counter');",
        "  const cur = ctx.get('exp', key);",
        "  const next = (cur === undefined ? 0 : cur[0]) + ctx.index + ctx.args.step;",
        "  ctx.put('exp', key, Uint8Array.of(next));",
        "  return next;",
        "}",
        "export default async function (ctx) { await new Promise((r) => setTimeout(r, 1)); return ctx.index * 2; }",
        "",
      ].join("\n"),
    );
    const outs = await runForks<number>(
      db,
      db.root,
      3,
      { module: file, export: "bump" },
      { threads: 2, args: { step: 10 } },
    );
    assert.deepEqual(
      outs.map((o) => (o.status === "fulfilled" ? o.value : -1)),
      [10, 11, 12],
    );
    for (const o of outs) {
      if (o.status === "fulfilled")
        assert.deepEqual([...(o.fork.get("exp", utf8("counter")) as Uint8Array)], [o.value]);
    }
    releaseAll(outs);
    const byDefault = await runForks<number>(db, db.root, 2, { module: new URL(`file://${file}`) }, { threads: 1 });
    assert.deepEqual(
      byDefault.map((o) => (o.status === "fulfilled" ? o.value : -1)),
      [0, 2],
    );
    releaseAll(byDefault);
    const missing = await runForks(db, db.root, 2, { module: file, export: "nope" }, { threads: 1 });
    for (const o of missing) {
      assert.equal(o.status, "rejected");
      if (o.status === "rejected") {
        assert.equal(o.reason.code, "FORK_TASK_FAILED");
        assert.match(o.reason.message, /no function export "nope"/);
      }
    }
  } finally {
    rmDir(mdir);
  }
});

test("abort: forks not finished are FORK_ABORTED, finished ones keep their outcome", async () => {
  const pre = new AbortController();
  pre.abort();
  const none = await runForks(db, db.root, 3, () => 1, { signal: pre.signal });
  assert.deepEqual(
    none.map((o) => (o.status === "rejected" ? o.reason.code : "ok")),
    ["FORK_ABORTED", "FORK_ABORTED", "FORK_ABORTED"],
  );
  const ac = new AbortController();
  const outs = await runForks(
    db,
    db.root,
    4,
    async (ctx: ForkContext) => {
      if (ctx.index === 0) await new Promise(() => {}); // never settles
      return ctx.index;
    },
    {
      threads: 2,
      signal: ac.signal,
      onProgress: (done) => {
        if (done === 3) ac.abort();
      },
    },
  );
  assert.deepEqual(
    outs.map((o) => (o.status === "fulfilled" ? "ok" : o.reason.code)),
    ["FORK_ABORTED", "ok", "ok", "ok"],
  );
  releaseAll(outs);
});

test("bad arguments reject the call with a coded error", async () => {
  const bad = (e: unknown) => isHeliosError(e, "INVALID_ARGUMENT");
  await assert.rejects(
    runForks(db, db.root, -1, () => 0),
    bad,
  );
  await assert.rejects(
    runForks(db, db.root, 1, () => 0, { threads: 0 }),
    bad,
  );
  await assert.rejects(runForks(db, db.root, 1, { module: "" }), bad);
  await assert.rejects(
    runForks(db, db.root, 1, () => 0, { threads: 1.5 }),
    bad,
  );
  await assert.rejects(
    runForks(db, new Uint8Array(32).fill(7), 1, () => 0),
    (e: unknown) => isHeliosError(e, "ROOT_NOT_LIVE"),
  );
  assert.deepEqual(await runForks(db, db.root, 0, () => 0), []);
});

test("keep one, discard the rest: after GC the store holds exactly the live set, as a fresh store would", async () => {
  const gdir = tmpDir("runner-gc");
  const fdir = tmpDir("runner-gc-fresh");
  const g = openState(gdir, { create: true });
  const fresh = openState(fdir, { create: true });
  try {
    g.commit(1, baseWrites());
    const outs = await runForks(
      g,
      g.root,
      4,
      (ctx: ForkContext) => {
        const enc = (s: string) => new TextEncoder().encode(s);
        for (let i = 0; i < 1500; i++)
          ctx.put("exp", enc(`f${ctx.index}/${i}`), enc(`value ${i} of fork ${ctx.index}`));
        for (let i = 0; i < 300; i++) ctx.put("base", enc(`k${i * 5}`), enc(`changed by ${ctx.index}`));
        return ctx.index;
      },
      { threads: 2 },
    );
    assert.ok(outs.every((o) => o.status === "fulfilled"));
    // the caller stages every fork (say, to compare their roots), keeps fork 2 and drops the rest
    const staged = outs.map((o) => (o.status === "fulfilled" ? o.fork.stage() : undefined));
    const keep = outs[2] as ForkOutcome<number> & { status: "fulfilled" };
    const keptWrites = keep.fork.writes();
    g.setRef("kept", (staged[2] as { root: Uint8Array }).root);
    for (const s of staged) s?.release();
    releaseAll(outs);

    await g.checkpoint();
    const liveCount = () => countReachable(g.store, g.liveRoots());
    assert.ok(g.store.l2Count() > liveCount(), "before GC the discarded forks' staged nodes are on disk");
    await g.collect();
    assert.equal(g.store.stats().l0Nodes, 0);
    assert.equal(g.store.l2Count(), liveCount(), "after GC: nothing but the live set");

    // a fresh store that only ever held the base and the kept result
    fresh.commit(1, baseWrites());
    fresh.setRef("kept", fresh.root);
    fresh.commitRef("kept", keptWrites);
    assert.equal(bytesToHex(fresh.ref("kept")), bytesToHex(g.ref("kept")));
    await fresh.collect();
    assert.equal(g.store.l2Count(), fresh.store.l2Count(), "the same nodes as the fresh store");
    assert.equal(text(g.get("exp", utf8("f2/7"), g.ref("kept"))), "value 7 of fork 2");
    assert.equal(g.get("exp", utf8("f1/7"), g.ref("kept")), undefined);
  } finally {
    await g.close();
    await fresh.close();
    rmDir(gdir);
    rmDir(fdir);
  }
});

test("a ForkPool serves many runs on its threads: queued runs, other stores, a dead thread replaced", async () => {
  const odir = tmpDir("runner-pool");
  const other = openState(odir, { create: true });
  const pool = createForkPool({ threads: 2 });
  try {
    other.commit(1, { base: [{ key: utf8("k7"), value: utf8("other store") }] });
    const read = (ctx: ForkContext) => {
      if (ctx.args === "die" && ctx.index === 1) process.exit(3);
      return new TextDecoder().decode(ctx.get("base", new TextEncoder().encode("k7")));
    };
    // three runs queued at once: they run one after another, each on its own store and base
    const [a, b, c] = await Promise.all([
      pool.run(db, db.root, 4, read),
      pool.run(other, other.root, 3, read, { args: "die" }),
      pool.run(db, db.root, 2, (ctx: ForkContext) => ctx.index * 10),
    ]);
    const values = (outs: ForkOutcome<unknown>[]) =>
      outs.map((o) => (o.status === "fulfilled" ? o.value : o.reason.code));
    assert.deepEqual(values(a as ForkOutcome<unknown>[]), ["v7", "v7", "v7", "v7"]);
    assert.deepEqual(values(b as ForkOutcome<unknown>[]), ["other store", "FORK_WORKER_DIED", "other store"]);
    assert.deepEqual(values(c as ForkOutcome<unknown>[]), [0, 10]);
    for (const outs of [a, b, c]) releaseAll(outs as ForkOutcome<unknown>[]);
    // and the pool is whole again for the next run
    const d = await pool.run(db, db.root, 6, (ctx: ForkContext) => ctx.index);
    assert.deepEqual(values(d), [0, 1, 2, 3, 4, 5]);
    releaseAll(d);
  } finally {
    await pool.close();
    await pool.close();
    await other.close();
    rmDir(odir);
  }
  await assert.rejects(
    pool.run(db, db.root, 1, () => 0),
    (e: unknown) => isHeliosError(e, "INVALID_ARGUMENT"),
  );
});

const codes = (outs: ForkOutcome<unknown>[]) => outs.map((o) => (o.status === "fulfilled" ? "ok" : o.reason.code));

test("closing a pool right after a run never aborts the process (a thread is not terminated inside an lmdb close)", () => {
  // in a child: a fatal napi error there would take the test runner down with it
  const sdir = tmpDir("runner-close");
  try {
    const child = `
      const { openState } = await import(${JSON.stringify(distSrc("history/index.js"))});
      const { createForkPool } = await import(${JSON.stringify(distSrc("sandbox/index.js"))});
      const db = openState(${JSON.stringify(path.join(sdir, "store"))}, { create: true });
      db.commit(1, { t: [{ key: new TextEncoder().encode("k"), value: new TextEncoder().encode("v") }] });
      let i = 0;
      // a fixed number of create → run → close cycles (thread start-up dominates their cost)
      for (; i < 25; i++) {
        const pool = createForkPool({ threads: 4 });
        const out = await pool.run(db, db.root, 4, (ctx) => ctx.get("t", new TextEncoder().encode("k")).length);
        for (const o of out) {
          if (o.status !== "fulfilled") throw new Error("fork failed: " + o.reason.message);
          o.fork.release();
        }
        await pool.close();
      }
      await db.close();
      console.log("cycles " + i);`;
    // a file, not --eval: worker threads inherit the parent's execArgv, and --input-type is an error there
    const file = path.join(sdir, "child.mjs");
    writeFileSync(file, child);
    const r = spawnSync(process.execPath, [file], { encoding: "utf8" });
    assert.equal(r.status, 0, `the child ended with ${r.status ?? r.signal}: ${r.stderr}`);
    assert.doesNotMatch(r.stderr, /FATAL/);
    const cycles = Number(/cycles (\d+)/.exec(r.stdout)?.[1]);
    assert.equal(cycles, 25, r.stdout);
  } finally {
    rmDir(sdir);
  }
});

test("an abort that fires during the run's checkpoint is not lost", async () => {
  const ac = new AbortController();
  const checkpoint = db.checkpoint;
  // the abort lands while the run awaits its checkpoint, before any listener could see it
  db.checkpoint = async function (this: StateDB) {
    ac.abort();
    return checkpoint.call(this);
  } as typeof db.checkpoint;
  try {
    const outs = await runForks(db, db.root, 3, () => new Promise(() => {}), { threads: 1, signal: ac.signal });
    assert.deepEqual(codes(outs), ["FORK_ABORTED", "FORK_ABORTED", "FORK_ABORTED"]);
  } finally {
    db.checkpoint = checkpoint;
  }
});

test("after an abort, the next run on the same pool gets healthy threads (no spurious FORK_WORKER_DIED)", async () => {
  const pool = createForkPool({ threads: 2 });
  try {
    for (let trial = 0; trial < 3; trial++) {
      const ac = new AbortController();
      // fork 0 answers; the others spin forever, so the abort must terminate their threads
      const spinning = pool.run(
        db,
        db.root,
        4,
        (ctx: ForkContext) => {
          if (ctx.index === 0) return 0;
          for (;;) {}
        },
        { signal: ac.signal, onProgress: () => ac.abort() },
      );
      const next = pool.run(db, db.root, 8, (ctx: ForkContext) => ctx.index); // queued behind
      const a = await spinning;
      assert.deepEqual(codes(a), ["ok", "FORK_ABORTED", "FORK_ABORTED", "FORK_ABORTED"]);
      const b = await next;
      assert.deepEqual(codes(b), ["ok", "ok", "ok", "ok", "ok", "ok", "ok", "ok"], `trial ${trial}`);
      releaseAll(a);
      releaseAll(b);
    }
  } finally {
    await pool.close();
  }
});

test("timeoutMs: a hanging fork is FORK_TIMEOUT, the others finish, and the pool goes on", async () => {
  const pool = createForkPool({ threads: 2 });
  try {
    const outs = await pool.run(
      db,
      db.root,
      5,
      async (ctx: ForkContext) => {
        if (ctx.index === 1) await new Promise(() => {}); // never settles
        if (ctx.index === 3) for (;;) {} // never yields
        return ctx.index;
      },
      { timeoutMs: 400 },
    );
    assert.deepEqual(codes(outs), ["ok", "FORK_TIMEOUT", "ok", "FORK_TIMEOUT", "ok"]);
    assert.deepEqual(
      outs.map((o) => (o.status === "fulfilled" ? o.value : null)),
      [0, null, 2, null, 4],
    );
    const r = outs[1] as ForkOutcome<number>;
    assert.match(r.status === "rejected" ? r.reason.message : "", /timeoutMs \(400 ms\)/);
    releaseAll(outs);
    const again = await pool.run(db, db.root, 4, (ctx: ForkContext) => ctx.index, { timeoutMs: 60_000 });
    assert.deepEqual(codes(again), ["ok", "ok", "ok", "ok"]);
    releaseAll(again);
    await assert.rejects(
      pool.run(db, db.root, 1, () => 0, { timeoutMs: 0 }),
      (e: unknown) => isHeliosError(e, "INVALID_ARGUMENT"),
    );
  } finally {
    await pool.close();
  }
});

test("an onProgress that throws rejects the run with its error, releases its forks, and leaves the pool usable", async () => {
  const staged = db.stage(db.root, { base: [{ key: utf8("progress"), value: utf8("1") }] });
  const pool = createForkPool({ threads: 2 });
  try {
    await assert.rejects(
      pool.run(db, staged.root, 6, (ctx: ForkContext) => ctx.index, {
        onProgress: (done) => {
          if (done === 2) throw new Error("progress bar broke");
        },
      }),
      /progress bar broke/,
    );
    staged.release();
    assert.equal(db.isLive(staged.root), false, "the run released the forks it had made");
    const d = await pool.run(db, db.root, 3, (ctx: ForkContext) => ctx.index);
    assert.deepEqual(codes(d), ["ok", "ok", "ok"]);
    releaseAll(d);
  } finally {
    await pool.close();
  }
});
