/**
 * Regression (found by the crash harness): GC must keep what crash recovery
 * would replay. A version dropped from the live set (a ref moved away, a
 * height pruned) may still be the base of a commit in the log after the last
 * checkpoint; if GC swept its nodes and the process then died, replay would
 * find them missing.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { bytesToHex } from "../../../src/core/index.js";
import { openState } from "../../../src/history/index.js";
import { rmDir, tmpDir } from "../../support/tmp.js";

const k = (i: number) => Uint8Array.of(i, i >> 8, 7);
const v = (i: number) => new Uint8Array(40).fill(i & 255);

test("a commit's base in the log survives GC until a checkpoint covers it (ref moved, height pruned), and replays after a crash", async () => {
  const dir = tmpDir("recgc");
  try {
    let db = openState(dir, { create: true, retain: 2, checkpointEvery: 1e9, checkpointBytes: 2 ** 40 });
    const base: { key: Uint8Array; value: Uint8Array }[] = [];
    for (let i = 0; i < 300; i++) base.push({ key: k(i), value: v(i) });
    db.commit(1, { t: base });
    db.setRef("b", db.root);
    await db.checkpoint(); // height 1 and ref b -> X are now durable in LMDB
    // after the checkpoint: a commit on b (base X), then b moves away, and heights move on so height 1 is pruned
    db.commitRef("b", { t: [{ key: k(1), value: v(99) }] });
    db.setRef("b", db.rootAt(1));
    db.commit(2, { t: [{ key: k(2), value: v(98) }] });
    db.commit(3, { t: [{ key: k(3), value: v(97) }] });
    db.deleteRef("b"); // X (height 1's root) is now live only through the log
    assert.deepEqual(db.heights(), [2, 3]);
    const head = bytesToHex(db.root);
    db.gcStart();
    await db.gcFinish(64); // no checkpoint first
    await db.store.idle();
    db.store.abandon(); // crash: the log after the checkpoint must replay
    db = openState(dir);
    assert.equal(bytesToHex(db.root), head);
    db.verify();
    await db.close();
  } finally {
    rmDir(dir);
  }
});
