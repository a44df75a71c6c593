/**
 * The history operations snapshots rely on: `adopt` (a verified version
 * becomes the head at a height above it), `lease` (an in-process keep-alive
 * that GC respects), and refs written with a deferred fsync.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { bytesToHex, utf8 } from "../../../src/core/index.js";
import { openState } from "../../../src/history/index.js";
import { rmDir, tmpDir } from "../../support/tmp.js";

const ops = (n: number, tag: number) =>
  Array.from({ length: n }, (_, i) => ({
    key: Uint8Array.of(i & 255, i >> 8, tag),
    value: new Uint8Array(60).fill(tag),
  }));

test("adopt: a live version becomes the head, durably; bad calls change nothing", async () => {
  const dir = tmpDir("adopt");
  try {
    let db = openState(dir, { create: true });
    db.commit(1, { t: ops(100, 1) });
    db.setRef("imported", db.root);
    db.commitRef("imported", { t: ops(50, 2) });
    const r = db.ref("imported");
    assert.throws(() => db.adopt(-1, r), { code: "INVALID_ARGUMENT" });
    assert.throws(() => db.adopt(9, new Uint8Array(32).fill(7)), { code: "ROOT_NOT_LIVE" });
    assert.equal(db.height, 1);
    db.adopt(500, r);
    assert.equal(db.height, 500);
    assert.deepEqual(db.heights(), [500]);
    assert.equal(bytesToHex(db.root), bytesToHex(r));
    db.commit(501, { t: ops(1, 3) });
    // replayed from the log after a crash
    db.store.abandon();
    db = openState(dir);
    assert.equal(db.height, 501);
    assert.equal(bytesToHex(db.rootAt(500)), bytesToHex(r));
    // and from the checkpoint after a clean close
    await db.close();
    db = openState(dir);
    assert.deepEqual(db.heights(), [500, 501]);
    await db.close();
  } finally {
    rmDir(dir);
  }
});

test("lease: keeps a version from GC while held, and only then (the check can fail)", async () => {
  const dir = tmpDir("lease");
  try {
    const db = openState(dir, { create: true, retain: 1 });
    db.commit(1, { t: ops(300, 1) });
    const v1 = db.root;
    const release = db.lease(v1);
    db.commit(2, { t: ops(300, 2) }); // v1 leaves retention
    assert.ok(db.isLive(v1));
    await db.collect();
    db.store.dropCache();
    assert.equal(db.map.entries(db.treeRoot("t", v1)).next().done, false, "v1 still reads");
    assert.equal(db.verify(v1).leaves, 300 + 1);
    release();
    release(); // idempotent
    assert.equal(db.isLive(v1), false);
    assert.throws(() => db.lease(new Uint8Array(32).fill(3)), { code: "ROOT_NOT_LIVE" });
    await db.collect();
    db.store.dropCache();
    assert.throws(() => db.verify(v1), { code: "MERKLE_NODE_MISSING" });
    await db.close();
  } finally {
    rmDir(dir);
  }
});

test("setRef with sync: false is live at once and durable after the next synced record, a sync(), or a process crash", async () => {
  const dir = tmpDir("defer");
  try {
    let db = openState(dir, { create: true });
    db.commit(1, { t: ops(10, 1) });
    db.setRef("a", db.root, { sync: false });
    assert.ok(db.refs().has("a"));
    db.setRef("b", db.root, { sync: false });
    db.sync();
    db.setRef("c", db.root, { sync: false });
    db.commit(2, { t: [{ key: utf8("x"), value: utf8("y") }] }); // synced: covers c
    db.setRef("d", db.root, { sync: false }); // written, not fsynced: survives a process crash (page cache)
    db.store.abandon();
    db = openState(dir);
    assert.deepEqual([...db.refs().keys()].sort(), ["a", "b", "c", "d"]);
    await db.close();
  } finally {
    rmDir(dir);
  }
});
