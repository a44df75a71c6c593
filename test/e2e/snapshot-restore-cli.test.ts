/**
 * `helios snapshot restore` and `helios snapshot imports`, as real processes:
 * a snapshot past retention becomes the head again; an unfinished import is
 * listed with its next chunk and abandoned, after which nothing of it is left.
 */
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import path from "node:path";
import { test } from "node:test";
import { utf8 } from "../../src/core/index.js";
import { openState } from "../../src/history/index.js";
import { chunkFile, createSnapshot, exportSnapshot, readManifest } from "../../src/snapshot/index.js";
import { CLI, expectCoded, expectOk, runNode, withDb } from "../support/cli.js";
import { rmDir, tmpDir } from "../support/tmp.js";

const helios = (args: string[]) => runNode([CLI, "snapshot", ...args]);

test("helios snapshot restore and imports", async () => {
  const d = tmpDir("snap-restore-cli");
  try {
    const store = path.join(d, "s");
    const db = openState(store, { create: true, retain: 2 });
    for (let h = 1; h <= 4; h++) {
      const ops = Array.from({ length: 400 }, (_, i) => ({ key: utf8(`k${i}`), value: new Uint8Array(300).fill(h) }));
      db.commit(h, { t: ops, meta: [{ key: utf8("h"), value: utf8(String(h)) }] });
      if (h === 2) createSnapshot(db, 2); // height 2 then leaves retention
    }
    db.commit(5, { meta: [{ key: utf8("h"), value: utf8("5") }] });
    await exportSnapshot(db, 5, path.join(d, "snap"), { chunkBytes: 64 * 1024 });
    await db.close();

    // restore past retention: the snapshot's version becomes the only height
    const out = expectOk(await helios(["restore", store, "2"]));
    assert.match(out, /restored the snapshot at height 2: it is the head/);
    assert.match(out, /heights {2}2$/m);
    await withDb(store, (s) => {
      assert.equal(s.height, 2);
      assert.equal(new TextDecoder().decode(s.get("meta", utf8("h"))), "2");
    });
    expectCoded(await helios(["restore", store, "9"]), "SNAPSHOT_NOT_FOUND");

    // an import that stops at a bad chunk stays pending, is listed, and is abandoned
    const snap = path.join(d, "snap");
    const { manifest } = readManifest(snap);
    assert.ok(manifest.chunks.length >= 3);
    writeFileSync(chunkFile(snap, 2), Buffer.from("not a chunk"));
    const target = path.join(d, "t");
    const r = await runNode([CLI, "snapshot", "import", target, snap, "--create"]);
    assert.equal(r.status, 1, r.stderr);
    const listed = expectOk(await helios(["imports", target]));
    assert.match(listed, /^[0-9a-f]{64} {2}next chunk 2 {2}partial root [0-9a-f]{64}$/m);
    assert.match(expectOk(await helios(["imports", target, "--abort-all"])), /^abandoned 1: [0-9a-f]{64}$/m);
    assert.equal(expectOk(await helios(["imports", target])).trim(), "no unfinished imports");
    await withDb(target, (t) => {
      assert.deepEqual([...t.refs().keys()], []);
    });
    expectCoded(await helios(["imports", target, "--abort", "ff"]), "REF_NOT_FOUND");
  } finally {
    rmDir(d);
  }
});
