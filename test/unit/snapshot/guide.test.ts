/** The session of docs/snapshots.md, run with its claims asserted, so the guide cannot drift from the code. */
import assert from "node:assert/strict";
import path from "node:path";
import { test } from "node:test";
import {
  createSnapshot,
  exportSnapshot,
  importSnapshot,
  listSnapshots,
  openState,
  pruneSnapshots,
  restoreSnapshot,
  verifySnapshotDir,
} from "../../../src/index.js";
import { rmDir, tmpDir } from "../../support/tmp.js";

const te = new TextEncoder();
const td = new TextDecoder();

test("docs/snapshots.md: the session does what the guide says", async () => {
  const d = tmpDir("snap-guide");
  try {
    const db = openState(path.join(d, "node-a"), { create: true });
    db.commit(1, { accounts: [{ key: te.encode("alice"), value: te.encode("100") }] });
    db.commit(2, { accounts: [{ key: te.encode("bob"), value: te.encode("50") }] });
    createSnapshot(db, 1);
    createSnapshot(db, 2);
    assert.deepEqual(
      listSnapshots(db).map((s) => s.height),
      [1, 2],
    );
    const full = await exportSnapshot(db, 2, path.join(d, "snap-2"));
    assert.equal(full.manifest.chunks.length, 1);
    assert.ok(full.ratio > 0 && full.ratio <= 1.2);
    const inc = await exportSnapshot(db, 2, path.join(d, "inc-1-2"), { base: 1 });
    assert.equal(inc.manifest.kind, "incremental");
    assert.deepEqual(verifySnapshotDir(path.join(d, "snap-2")).failures, []);
    const p = verifySnapshotDir(path.join(d, "snap-2"), { sample: 1, seed: 7, rate: 0.01 }).detectProbability;
    assert.equal(p, 1); // one chunk of one: the sample is the whole snapshot
    const b = openState(path.join(d, "node-b"), { create: true });
    const r = await importSnapshot(b, path.join(d, "snap-2"), { trustedRoot: db.rootAt(2) });
    assert.equal(r.height, 2);
    assert.equal(b.height, 2);
    assert.equal(td.decode(b.get("accounts", te.encode("bob"))), "50");
    restoreSnapshot(db, 1);
    assert.equal(db.height, 1);
    assert.equal(db.get("accounts", te.encode("bob")), undefined);
    assert.deepEqual(pruneSnapshots(db, 1), [1]);
    await Promise.all([db.close(), b.close()]);
  } finally {
    rmDir(d);
  }
});
