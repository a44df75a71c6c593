/**
 * Keep-alive links (`@live`, history/state.ts): a version's `@live` tree names
 * other versions that stay live while it does, transitively, across GC,
 * recovery and restarts; a link may only name a version that is live when it
 * is written.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { concatBytes } from "../../../src/core/index.js";
import { LIVE_TREE, openState } from "../../../src/history/index.js";
import { rmDir, tmpDir } from "../../support/tmp.js";

const ops = (n: number, tag: number) =>
  Array.from({ length: n }, (_, i) => ({
    key: Uint8Array.of(i & 255, i >> 8, tag),
    value: new Uint8Array(60).fill(tag),
  }));

test("@live: linked versions survive GC and restarts transitively; unlinking lets GC take them", async () => {
  const dir = tmpDir("links");
  try {
    let db = openState(dir, { create: true, retain: 1 });
    // three versions nobody keeps but the links: c ← b ← meta
    const sc = db.stage(db.root, { t: ops(200, 1) });
    const c = sc.root;
    // a link to a version that is not live is refused, and nothing changes
    db.setRef("meta", db.root);
    const before = db.ref("meta");
    sc.release();
    assert.equal(db.isLive(c), false);
    assert.throws(() => db.commitRef("meta", { [LIVE_TREE]: [{ key: c, value: new Uint8Array(0) }] }), {
      code: "ROOT_NOT_LIVE",
    });
    assert.deepEqual(db.ref("meta"), before);
    assert.throws(() => db.commitRef("meta", { [LIVE_TREE]: [{ key: c.subarray(0, 31), value: new Uint8Array(0) }] }), {
      code: "INVALID_ARGUMENT",
    });

    // c is held by a lease while b links it; b by a lease while meta links it
    const sc2 = db.stage(db.root, { t: ops(200, 1) });
    assert.deepEqual(sc2.root, c);
    const sb = db.stage(db.root, {
      t: ops(200, 2),
      [LIVE_TREE]: [{ key: concatBytes(c, Uint8Array.of(7)), value: Uint8Array.of(1) }],
    });
    const b = sb.root;
    sc2.release();
    assert.ok(db.isLive(c), "c is live through b's lease");
    db.commitRef("meta", { [LIVE_TREE]: [{ key: b, value: new Uint8Array(0) }] });
    sb.release();
    assert.ok(db.isLive(b) && db.isLive(c), "both live through meta → b → c");
    db.setRef("alias", c); // a live root can be named again
    db.deleteRef("alias");

    // GC keeps both, across a restart (links are data, replayed from the log and the checkpoint)
    db.commit(1, { t: ops(10, 9) });
    db.commit(2, { t: ops(10, 10) });
    await db.collect();
    db.store.dropCache();
    assert.equal(db.verify(b).leaves, 200 + 1 + 2);
    assert.equal(db.verify(c).leaves, 200 + 1);
    db.store.abandon();
    db = openState(dir);
    assert.ok(db.isLive(c));
    await db.collect();
    db.store.dropCache();
    assert.equal(db.verify(c).leaves, 201);

    // unlink b: both become garbage and GC takes them (the check can fail)
    db.commitRef("meta", { [LIVE_TREE]: [{ key: b, value: null }] });
    assert.equal(db.isLive(b), false);
    assert.equal(db.isLive(c), false);
    await db.collect();
    db.store.dropCache();
    assert.throws(() => db.verify(c), { code: "MERKLE_NODE_MISSING" });
    await db.close();
  } finally {
    rmDir(dir);
  }
});
