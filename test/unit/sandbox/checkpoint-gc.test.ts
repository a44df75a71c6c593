/**
 * Forget and GC for checkpoints (docs/spec/checkpoint.md C21–C23): a dry run
 * changes nothing; after forgetting a checkpoint and a GC, the store's bytes
 * in use return to those of the live checkpoints alone; chunks shared with a
 * kept checkpoint survive; and a checkpoint run that fails half-way leaves
 * only garbage that GC removes.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdirSync, rmSync, unlinkSync, writeFileSync } from "node:fs";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { isHeliosError } from "../../../src/core/index.js";
import { openState, type StateDB } from "../../../src/history/index.js";
import {
  createCheckpoint,
  forgetCheckpoints,
  listCheckpoints,
  restoreCheckpoint,
} from "../../../src/sandbox/checkpoint.js";
import { distSrc, rmDir, tmpDir } from "../../support/tmp.js";
import { assertDiffClean, randomBytes, textBytes } from "./checkpoint-fixtures.js";

const H = 3_600_000;

/** A tree of n files of `size` bytes, half text, half random, from a seed. */
function makeTree(root: string, n: number, size: number, seed: number): void {
  for (let i = 0; i < n; i++) {
    const p = path.join(root, `sub${i % 4}`, `file${i}`);
    mkdirSync(path.dirname(p), { recursive: true });
    writeFileSync(p, i % 2 === 0 ? textBytes(size, seed + i) : randomBytes(size, seed + i));
  }
}

/** LMDB bytes in use for nodes, after a checkpoint (so L0 is on disk) and a full GC. */
async function liveBytes(db: StateDB): Promise<number> {
  await db.collect();
  await db.collect(); // a second cycle: the first one's own state record and freed pages settle
  return db.store.nodeBytesInUse();
}

describe("forget and GC", () => {
  let work: string;
  before(() => {
    work = tmpDir("ckpt-gc");
    makeTree(path.join(work, "A"), 24, 256 * 1024, 1);
    makeTree(path.join(work, "B"), 24, 256 * 1024, 1000);
  });
  after(() => rmDir(work));

  test("C21: forget --dry-run changes nothing; forget + GC returns the bytes in use to the live set", async (t) => {
    // reference: a store holding only B
    const only = openState(path.join(work, "only-b"), { create: true });
    await createCheckpoint(only, path.join(work, "B"), { time: 10 * H });
    const bOnly = await liveBytes(only);
    const bOnlyNodes = only.store.l2Count();
    await only.close();

    const db = openState(path.join(work, "both"), { create: true });
    try {
      const a = await createCheckpoint(db, path.join(work, "A"), { time: 1 * H });
      await createCheckpoint(db, path.join(work, "B"), { time: 10 * H });
      const both = await liveBytes(db);
      assert.ok(both > 1.7 * bOnly, `two checkpoints of different data: ${both} vs ${bOnly}`);
      // the policy: keep what is within 5h of now (11h): only B; A is the newest of its group, so it is
      // kept unless forgetNewest
      const refsBefore = [...db.refs().keys()].sort();
      const dry = forgetCheckpoints(db, { keepWithinMs: 5 * H, forgetNewest: true }, 11 * H, { dryRun: true });
      assert.deepEqual(
        dry.plan.forget.map((d) => d.id),
        [a.id],
      );
      assert.deepEqual(dry.forgotten, []);
      assert.deepEqual([...db.refs().keys()].sort(), refsBefore, "a dry run deletes no ref");
      assert.equal(await liveBytes(db), both, "and frees nothing");
      const kept = forgetCheckpoints(db, { keepWithinMs: 5 * H }, 11 * H);
      assert.deepEqual(kept.forgotten, [], "without forgetNewest the newest of /A stays");
      const real = forgetCheckpoints(db, { keepWithinMs: 5 * H, forgetNewest: true }, 11 * H);
      assert.deepEqual(real.plan, dry.plan, "the real run does what the dry run planned");
      assert.deepEqual(real.forgotten, [a.id]);
      assert.deepEqual(
        listCheckpoints(db).map((c) => c.source),
        [path.resolve(work, "B")],
      );
      const after = await liveBytes(db);
      const afterNodes = db.store.l2Count();
      t.diagnostic(
        `bytes in use: B alone ${bOnly} (${bOnlyNodes} nodes), A + B ${both}, after forgetting A and GC ${after} (${afterNodes} nodes)`,
      );
      // exactly B's nodes are left (a checkpoint of the same tree at the same time is the same version)
      assert.equal(afterNodes, bOnlyNodes);
      // LMDB pages: deletes leave B-tree pages partly filled, so the bytes may sit a little above
      assert.ok(after >= bOnly * 0.95 && after <= bOnly * 1.1, `after ${after} vs B alone ${bOnly}`);
    } finally {
      await db.close();
    }
  });

  test("C22: chunks shared with a kept checkpoint survive forgetting the one that wrote them", async () => {
    const src = path.join(work, "shared");
    makeTree(src, 12, 128 * 1024, 500);
    const db = openState(path.join(work, "shared-store"), { create: true });
    try {
      const first = await createCheckpoint(db, src, { time: 1 * H });
      writeFileSync(path.join(src, "sub0", "file0"), textBytes(128 * 1024, 9999));
      const second = await createCheckpoint(db, src, { time: 2 * H });
      assert.equal(second.parent, first.id);
      assert.ok(second.stats.chunksNew < first.stats.chunksNew / 4, "most chunks are the first checkpoint's");
      const r = forgetCheckpoints(db, { keepLast: 1 }, 3 * H);
      assert.deepEqual(r.forgotten, [first.id]);
      await liveBytes(db);
      db.verify(second.root);
      const out = path.join(work, "shared-out");
      restoreCheckpoint(db, second.id, out);
      assertDiffClean(src, out);
      rmSync(out, { recursive: true });
    } finally {
      await db.close();
    }
  });

  test("C23: a run that fails half-way leaves no ref, and GC removes what it wrote", async () => {
    const src = path.join(work, "failing");
    makeTree(src, 16, 256 * 1024, 2000);
    const db = openState(path.join(work, "failing-store"), { create: true });
    try {
      const before = await liveBytes(db);
      const victim = path.join(src, "sub3", "file15");
      await assert.rejects(
        createCheckpoint(db, src, {
          time: 1 * H,
          batchBytes: 256 * 1024, // small batches: several are staged and written to LMDB before the failure
          onProgress: (p) => {
            if (p.phase === "write") {
              try {
                unlinkSync(victim); // vanishes between the scan and its read
              } catch {
                // already gone
              }
            }
          },
        }),
        (e: unknown) => isHeliosError(e, "CHECKPOINT_SOURCE_UNREADABLE"),
      );
      assert.equal(listCheckpoints(db).length, 0);
      assert.ok(db.store.stats().l2Nodes > 0, "batches had reached LMDB");
      const after = await liveBytes(db);
      assert.ok(after <= before + 16 * 1024, `after GC ${after} vs ${before} before the run`);
    } finally {
      await db.close();
    }
  });

  test("C23: a process killed (SIGKILL) in the middle of a checkpoint leaves no ref, and GC removes what it wrote", async () => {
    const src = path.join(work, "killed");
    makeTree(src, 24, 256 * 1024, 3000);
    const dir = path.join(work, "killed-store");
    // the child writes batches to LMDB, then kills itself before the ref is set
    const child = `
      const { openState } = await import(${JSON.stringify(distSrc("history/index.js"))});
      const { createCheckpoint } = await import(${JSON.stringify(distSrc("sandbox/index.js"))});
      const db = openState(${JSON.stringify(dir)}, { create: true });
      let batches = 0;
      await createCheckpoint(db, ${JSON.stringify(src)}, {
        time: 1, batchBytes: 512 * 1024,
        onProgress: (p) => { if (p.phase === "write" && ++batches === 4) process.kill(process.pid, "SIGKILL"); },
      });
      process.exit(3);`;
    const r = spawnSync(process.execPath, ["--input-type=module", "-e", child], { encoding: "utf8" });
    assert.equal(r.signal, "SIGKILL", `the child was to be killed mid-run: ${r.status} ${r.stderr}`);
    const db = openState(dir);
    try {
      assert.equal(listCheckpoints(db).length, 0, "no ref was set");
      const written = db.store.l2Count();
      assert.ok(written > 10, `the batches before the kill reached LMDB (${written} nodes)`);
      await liveBytes(db);
      assert.equal(db.store.l2Count(), 0, "GC removed every node the killed run wrote");
    } finally {
      await db.close();
    }
  });
});
