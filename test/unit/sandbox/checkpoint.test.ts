/**
 * Directory checkpoints (src/sandbox/checkpoint.ts and its ckpt-* parts;
 * docs/spec/checkpoint.md): round trips of real trees compared by `diff -r`
 * and `find -printf` (stat), incremental checkpoints and dedup, partial
 * restores, lazy reads, diffs and ids. Requirement numbers (C…) are the
 * spec's.
 */
import assert from "node:assert/strict";
import {
  appendFileSync,
  lstatSync,
  mkdirSync,
  readFileSync,
  rmSync,
  statSync,
  unlinkSync,
  writeFileSync,
} from "node:fs";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { isHeliosError } from "../../../src/core/index.js";
import { openState, type StateDB } from "../../../src/history/index.js";
import {
  checkpointInfo,
  createCheckpoint,
  diffCheckpoints,
  listCheckpoints,
  openFile,
  resolveCheckpoint,
  restoreCheckpoint,
} from "../../../src/sandbox/checkpoint.js";
import { decodeEntry, T_FILES } from "../../../src/sandbox/ckpt-format.js";
import { rmDir, tmpDir } from "../../support/tmp.js";
import {
  assertDiffClean,
  assertSameListing,
  makeOddTree,
  randomBytes,
  textBytes,
  touch,
} from "./checkpoint-fixtures.js";

const NODE_MODULES = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../../../node_modules");
/** Starts a day after the real clock: files' ctimes are real, and a ctime within RACY_MS of a checkpoint's time is racy. */
let clockT = Date.now() + 86_400_000;
/** A fake wall clock far after every fixture mtime and ctime (no file is racy unless a test makes it so). */
const now = () => (clockT += 60_000);

describe("checkpoint round trips", () => {
  let work: string;
  let db: StateDB;
  before(() => {
    work = tmpDir("ckpt-rt");
    db = openState(path.join(work, "store"), { create: true });
  });
  after(async () => {
    await db.close();
    rmDir(work);
  });

  test("C5: the odd tree (symlinks, empty dirs, odd modes, sub-second mtimes, 64 MiB sparse and random files, unicode, long paths) round-trips byte for byte", async () => {
    const src = path.join(work, "odd");
    makeOddTree(src, { absoluteLink: true });
    const c = await createCheckpoint(db, src, { time: now() });
    assert.equal(c.stats.symlinks, 5);
    assert.equal(c.stats.skipped, 0);
    assert.ok(c.stats.bytes >= 128 * 1024 * 1024);
    // the sparse 64 MiB of zeros is one stored chunk (dedup within the file)
    assert.ok(c.stats.chunkBytesStored < 64 * 1024 * 1024 + 4 * 1024 * 1024, `stored ${c.stats.chunkBytesStored}`);
    const out = path.join(work, "odd-restored");
    const rep = restoreCheckpoint(db, c.id, out, { allowSymlinkEscape: true, preservePrivileged: true });
    assert.equal(rep.entries, c.stats.files + c.stats.dirs + c.stats.symlinks);
    assertDiffClean(src, out);
    assertSameListing(src, out);
    // holes stay holes: the sparse file takes (almost) no blocks
    assert.ok(statSync(path.join(out, "large-sparse.bin")).blocks * 512 < 1024 * 1024);
    // C6: the checkpoint keeps mtimes to the nanosecond, and full modes
    const files = db.treeRoot(T_FILES, c.root);
    for (const [k, v] of db.map.entries(files)) {
      const e = decodeEntry(k, v);
      const st = lstatSync(path.join(src, e.path), { bigint: true });
      assert.equal(e.mtimeNs, st.mtimeNs, e.path);
      assert.equal(e.mode, Number(st.mode) & 0o7777, e.path);
    }
  });

  test("C5: without allowSymlinkEscape the absolute link is refused and nothing is written", async () => {
    const src = path.join(work, "odd");
    const id = listCheckpoints(db)[0]?.id as string;
    const out = path.join(work, "refused");
    assert.throws(
      () => restoreCheckpoint(db, id, out),
      (e: unknown) => isHeliosError(e, "RESTORE_SYMLINK_ESCAPE"),
    );
    assert.throws(() => statSync(out));
    assert.ok(statSync(src).isDirectory());
  });

  test("C5: the repo's node_modules (8.5K entries, symlinks) round-trips", async () => {
    const c = await createCheckpoint(db, NODE_MODULES, { time: now() });
    assert.ok(c.stats.files > 5000 && c.stats.symlinks > 10, JSON.stringify(c.stats));
    const out = path.join(work, "nm");
    restoreCheckpoint(db, c.id, out);
    assertDiffClean(NODE_MODULES, out);
    assertSameListing(NODE_MODULES, out);
    rmSync(out, { recursive: true });
  });

  test("C24: the same tree at the same time is the same checkpoint, however it was batched or where it was compressed", async () => {
    const src = path.join(work, "det");
    mkdirSync(path.join(src, "d"), { recursive: true });
    for (let i = 0; i < 12; i++) writeFileSync(path.join(src, "d", `f${i}`), textBytes(1_500_000, 300 + i));
    writeFileSync(path.join(src, "r.bin"), randomBytes(2_000_000, 9));
    for (const f of ["r.bin", ...Array.from({ length: 12 }, (_, i) => `d/f${i}`)])
      touch(path.join(src, f), 1_650_000_000.5);
    const ids: string[] = [];
    for (const opts of [
      { compressThreads: 0 },
      { compressThreads: 1 },
      { compressThreads: 2, batchBytes: 1 << 20 },
      { compressThreads: 0, batchBytes: 300_000 },
    ]) {
      const other = openState(path.join(work, `det-store-${ids.length}`), { create: true });
      try {
        ids.push((await createCheckpoint(other, src, { time: 1_700_000_000_000, ...opts })).id);
      } finally {
        await other.close();
      }
    }
    assert.equal(new Set(ids).size, 1, ids.join("\n"));
  });

  test("C7: sockets, FIFOs and devices are skipped and counted", async () => {
    const src = path.join(work, "fifo");
    mkdirSync(src);
    writeFileSync(path.join(src, "f"), "x");
    const { spawnSync } = await import("node:child_process");
    assert.equal(spawnSync("mkfifo", [path.join(src, "pipe")]).status, 0);
    const c = await createCheckpoint(db, src, { time: now() });
    assert.equal(c.stats.skipped, 1);
    assert.equal(c.stats.files, 1);
  });
});

describe("incremental checkpoints and dedup", () => {
  let work: string;
  let db: StateDB;
  let src: string;
  const FILES = 64;
  const SIZE = 512 * 1024; // 32 MiB in all
  before(() => {
    work = tmpDir("ckpt-inc");
    db = openState(path.join(work, "store"), { create: true });
    src = path.join(work, "src");
    for (let i = 0; i < FILES; i++) {
      const p = path.join(src, `d${i % 8}`, `f${i}.bin`);
      mkdirSync(path.dirname(p), { recursive: true });
      // half compressible text, half random: a realistic mix
      writeFileSync(p, i % 2 === 0 ? textBytes(SIZE, 100 + i) : randomBytes(SIZE, 100 + i));
      touch(p, 1_650_000_000 + i + 0.25);
    }
  });
  after(async () => {
    await db.close();
    rmDir(work);
  });

  test("C8: a second checkpoint of an unchanged tree reads no file and writes only a few nodes", async () => {
    const a = await createCheckpoint(db, src, { time: now() });
    assert.equal(a.parent, undefined);
    assert.equal(a.stats.filesRead, FILES);
    await db.checkpoint();
    const before = db.store.stats();
    const b = await createCheckpoint(db, src, { time: now() });
    const after = db.store.stats();
    assert.equal(b.parent, a.id, "the newest checkpoint of the same source is the parent");
    assert.equal(b.stats.filesRead, 0);
    assert.equal(b.stats.filesReused, FILES);
    assert.equal(b.stats.bytesNewStored, 0);
    const nodes = after.nodesCheckpointed - before.nodesCheckpointed;
    const bytes = after.frameBytesCheckpointed - before.frameBytesCheckpointed;
    // the meta leaves (stats, time, parent, the Bloom filter), the meta tree's branches and the forest root
    assert.ok(nodes <= 20, `${nodes} nodes written`);
    assert.ok(bytes < 64 * 1024, `${bytes} bytes written`);
    // the files tree is shared: identical content, identical root
    assert.deepEqual(db.treeRoot(T_FILES, b.root), db.treeRoot(T_FILES, a.root));
    assert.equal(diffCheckpoints(db, a.id, b.id).items.length, 0);
  });

  test("C9: after a 1% change (in place, an insertion, files added and removed) about 1% new bytes are stored", async (t) => {
    const full = listCheckpoints(db)[0] as ReturnType<typeof listCheckpoints>[number];
    const fullBytes = full.stats.chunkBytesStored;
    // ~1% of 32 MiB = 335 KB: 64 KB overwritten in place in two files, 1 KB inserted early in one,
    // one file removed, one new 128 KB file, and one 64 KB append
    const f0 = path.join(src, "d0", "f0.bin");
    const b0 = Buffer.from(readFileSync(f0));
    b0.set(randomBytes(32 * 1024, 1), 100_000);
    writeFileSync(f0, b0);
    const f3 = path.join(src, "d3", "f3.bin");
    const b3 = Buffer.from(readFileSync(f3));
    b3.set(randomBytes(32 * 1024, 2), 300_000);
    writeFileSync(f3, b3);
    const f5 = path.join(src, "d5", "f5.bin");
    const b5 = readFileSync(f5);
    writeFileSync(f5, Buffer.concat([b5.subarray(0, 2000), randomBytes(1024, 3), b5.subarray(2000)]));
    unlinkSync(path.join(src, "d7", "f7.bin"));
    writeFileSync(path.join(src, "d1", "new.bin"), randomBytes(128 * 1024, 4));
    appendFileSync(path.join(src, "d2", "f2.bin"), textBytes(64 * 1024, 5));
    for (const p of [f0, f3, f5, path.join(src, "d1", "new.bin"), path.join(src, "d2", "f2.bin")]) {
      touch(p, 1_660_000_000.5);
    }
    await db.checkpoint();
    const s0 = db.store.stats();
    const c = await createCheckpoint(db, src, { time: now() });
    const s1 = db.store.stats();
    assert.equal(c.stats.filesRead, 5, "only the changed and new files are read");
    assert.equal(c.stats.filesReused, FILES - 5, "63 files remain, 4 of them changed");
    const share = c.stats.bytesNewStored / fullBytes;
    assert.ok(
      share <= 0.02,
      `new chunk bytes ${c.stats.bytesNewStored} = ${(share * 100).toFixed(2)}% of ${fullBytes}`,
    );
    // and what really reached LMDB (chunks, entries, tree paths, meta)
    const written = s1.frameBytesCheckpointed - s0.frameBytesCheckpointed;
    t.diagnostic(
      `full ${fullBytes} B stored; after the change: ${c.stats.bytesNewStored} B of new chunks (${(share * 100).toFixed(2)}%), ${written} B written to LMDB (${((written / fullBytes) * 100).toFixed(2)}%)`,
    );
    assert.ok(written / fullBytes <= 0.03, `wrote ${written} = ${((written / fullBytes) * 100).toFixed(2)}%`);
    assert.ok(c.stats.chunksDropped > 0, "chunks no file uses any more are dropped");
    assert.ok(c.stats.lookupsSaved > 0, "the parent's Bloom filter saved lookups of new chunks");
    // the diff says what changed
    const d = diffCheckpoints(db, full.id, c.id);
    assert.deepEqual(
      d.items.map((i) => `${i.change} ${i.path}`),
      [
        "modified d0/f0.bin",
        "modified d1",
        "added d1/new.bin",
        "modified d2/f2.bin",
        "modified d3/f3.bin",
        "modified d5/f5.bin",
        "modified d7",
        "removed d7/f7.bin",
      ],
    );
    assert.deepEqual(d.items.find((i) => i.path === "d0/f0.bin")?.what, ["content", "mtime"]);
    assert.ok(d.nodesRead < 200, `diff read ${d.nodesRead} nodes`);
    // and the new checkpoint restores to exactly the source
    const out = path.join(work, "restored");
    restoreCheckpoint(db, c.id, out);
    assertDiffClean(src, out);
    assertSameListing(src, out);
    rmSync(out, { recursive: true });
  });

  test("C10: reread re-reads every file and stores nothing new; racy files are re-read", async () => {
    const r = await createCheckpoint(db, src, { time: now(), reread: true });
    assert.equal(r.stats.filesRead, r.stats.files);
    assert.equal(r.stats.bytesNewStored, 0);
    // a file changed within a second of the checkpoint's time is racy: re-read next time even if it looks unchanged
    const p = path.join(src, "d4", "f4.bin");
    const t = Math.floor(clockT / 1000) + 86_400; // after every real ctime, now and later
    touch(p, t + 0.5);
    const x = await createCheckpoint(db, src, { time: t * 1000 + 700 });
    assert.equal(x.stats.filesRead, 1);
    const y = await createCheckpoint(db, src, { time: t * 1000 + 900_000 });
    assert.equal(y.stats.filesRead, 1, "racy: read again");
    const z = await createCheckpoint(db, src, { time: t * 1000 + 1_000_000 });
    assert.equal(z.stats.filesRead, 0, "no longer racy");
  });

  test("C11: partial restore of one file and of a sub-directory", async () => {
    const c = listCheckpoints(db).at(-1) as ReturnType<typeof listCheckpoints>[number];
    const one = path.join(work, "one");
    const r1 = restoreCheckpoint(db, c.id, one, { path: "d3/f3.bin" });
    assert.equal(r1.files, 1);
    assert.equal(r1.dirs, 2, "the root and d3");
    assert.deepEqual(readFileSync(path.join(one, "d3/f3.bin")), readFileSync(path.join(src, "d3/f3.bin")));
    const sub = path.join(work, "sub");
    restoreCheckpoint(db, c.id, sub, { path: "./d2/" });
    assertDiffClean(path.join(src, "d2"), path.join(sub, "d2"));
    assertSameListing(path.join(src, "d2"), path.join(sub, "d2"));
    assert.throws(
      () => restoreCheckpoint(db, c.id, path.join(work, "none"), { path: "d2/missing" }),
      (e: unknown) => isHeliosError(e, "CHECKPOINT_PATH_NOT_FOUND"),
    );
    assert.throws(
      () => restoreCheckpoint(db, c.id, path.join(work, "none"), { path: "../d2" }),
      (e: unknown) => isHeliosError(e, "CHECKPOINT_PATH_UNSAFE"),
    );
  });

  test("C12: openFile reads one file lazily: the first chunk costs a handful of node reads on a cold store", async () => {
    const c = listCheckpoints(db).at(-1) as ReturnType<typeof listCheckpoints>[number];
    const dir = db.store.dir.dir;
    await db.close();
    db = openState(dir);
    const l2Before = db.store.l2Reads;
    const f = openFile(db, c.id.slice(0, 8), "d6/f6.bin");
    const first = f.chunks().next();
    const reads = db.store.l2Reads - l2Before;
    assert.equal(first.done, false);
    assert.ok(reads < 40, `${reads} node reads for the first chunk`);
    f.close();
    const g = openFile(db, c.id, "d6/f6.bin");
    assert.deepEqual(Buffer.from(g.readAll()), readFileSync(path.join(src, "d6/f6.bin")));
    g.close();
  });

  test("C13: ids resolve from a unique prefix of 8+ hex digits; unknown and ambiguous ids are coded", () => {
    const all = listCheckpoints(db);
    const c = all[0] as (typeof all)[number];
    assert.equal(resolveCheckpoint(db, c.id.slice(0, 8).toUpperCase()).id, c.id);
    assert.equal(checkpointInfo(db, c.id).source, path.resolve(src));
    assert.throws(
      () => resolveCheckpoint(db, "0000000000"),
      (e: unknown) => isHeliosError(e, "CHECKPOINT_NOT_FOUND"),
    );
    assert.throws(
      () => resolveCheckpoint(db, "abc"),
      (e: unknown) => isHeliosError(e, "INVALID_ARGUMENT"),
    );
    // two ids sharing a prefix (find one if the run made any; else the check is vacuous but the code path is tested below)
    const ids = all.map((x) => x.id);
    for (let n = 8; n < 64; n++) {
      const seen = new Map<string, number>();
      for (const id of ids) seen.set(id.slice(0, n), (seen.get(id.slice(0, n)) ?? 0) + 1);
      const dup = [...seen].find(([, k]) => k > 1);
      if (dup === undefined) break;
      assert.throws(
        () => resolveCheckpoint(db, dup[0]),
        (e: unknown) => isHeliosError(e, "CHECKPOINT_ID_AMBIGUOUS"),
      );
    }
  });
});
