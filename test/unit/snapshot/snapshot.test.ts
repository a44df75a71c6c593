/**
 * Snapshots: determinism (byte-identical chunks and manifest from different
 * write histories), tampering (each byte class and each forgery rejected at
 * that chunk with its code, nothing written), GC safety (a version being
 * snapshotted, exported or imported is never collected), management, and
 * sampled verification.
 */
import assert from "node:assert/strict";
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { test } from "node:test";
import { bytesToHex, equalBytes, HeliosError, hash, utf8 } from "../../../src/core/index.js";
import { openState, type StateDB } from "../../../src/history/index.js";
import { P_HASH } from "../../../src/merkle/index.js";
import {
  chunkFile,
  createSnapshot,
  decodeChunk,
  decodeFile,
  decodeManifest,
  deleteSnapshot,
  detectProbability,
  encodeChunk,
  encodeFile,
  encodeManifest,
  exportSnapshot,
  importSnapshot,
  listSnapshots,
  pruneSnapshots,
  readManifest,
  restoreSnapshot,
  SnapshotImport,
  snapshotInfo,
  verifyChunk,
  verifySnapshotDir,
} from "../../../src/snapshot/index.js";
import { rmDir, tmpDir } from "../../support/tmp.js";

function key(i: number): Uint8Array {
  return hash(utf8(`key-${i}`));
}
function value(i: number, gen: number): Uint8Array {
  const v = new Uint8Array(200 + (i % 300));
  for (let j = 0; j < v.length; j++) v[j] = (i * 31 + j * 7 + gen) & 255;
  return v;
}

/** A store at height 1 holding `n` accounts, 50 code entries and a small third tree. */
function fill(db: StateDB, n: number, gen = 0): void {
  const acc = [];
  for (let i = 0; i < n; i++) acc.push({ key: key(i), value: value(i, gen) });
  const code = [];
  for (let i = 0; i < 50; i++) code.push({ key: utf8(`c${i}`), value: value(i + 7, gen) });
  db.commit(db.height + 1, { accounts: acc, code, meta: [{ key: utf8("v"), value: utf8(`gen ${gen}`) }] });
}

function files(dir: string): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  out.set("manifest.bin", readFileSync(path.join(dir, "manifest.bin")));
  for (const f of readdirSync(path.join(dir, "chunks"))) out.set(f, readFileSync(path.join(dir, "chunks", f)));
  return out;
}

test("two stores that reach the same root by different writes give byte-identical snapshots", async () => {
  const d = tmpDir("snap-det");
  try {
    const n = 3000;
    // A: everything in one commit, then a second commit that only touches the small tree
    const a = openState(path.join(d, "a"), { create: true });
    fill(a, n);
    a.commit(2, { meta: [{ key: utf8("w"), value: utf8("x") }] });
    // B: reverse order, many small batches, values first written wrong then fixed, extra keys added then deleted
    const b = openState(path.join(d, "b"), { create: true });
    b.commit(1, { meta: [{ key: utf8("w"), value: utf8("x") }], tmp: [{ key: utf8("gone"), value: utf8("soon") }] });
    const ops: { key: Uint8Array; value: Uint8Array | null }[] = [];
    for (let i = n - 1; i >= 0; i--) ops.push({ key: key(i), value: value(i, 9) });
    for (let i = 0; i < 200; i++) ops.push({ key: key(n + i), value: value(i, 1) });
    b.commit(2, { accounts: ops.slice(0, 1000) });
    b.commit(3, { accounts: ops.slice(1000) });
    const fix: { key: Uint8Array; value: Uint8Array | null }[] = [];
    for (let i = 0; i < n; i++) fix.push({ key: key(i), value: value(i, 0) });
    for (let i = 0; i < 200; i++) fix.push({ key: key(n + i), value: null });
    const code = [];
    for (let i = 49; i >= 0; i--) code.push({ key: utf8(`c${i}`), value: value(i + 7, 0) });
    b.commit(4, { accounts: fix.reverse(), code, tmp: [{ key: utf8("gone"), value: null }] });
    b.commit(5, { meta: [{ key: utf8("v"), value: utf8("gen 0") }] });
    assert.equal(bytesToHex(a.root), bytesToHex(b.root), "same contents, same root");
    // export both at the same height label, so the manifests may be compared whole
    createSnapshot(a, 2);
    createSnapshot(b, 5);
    const ea = await exportSnapshot(a, 2, path.join(d, "ea"), { chunkBytes: 64 * 1024 });
    await exportSnapshot(b, 5, path.join(d, "eb"), { chunkBytes: 64 * 1024 });
    assert.ok(ea.manifest.chunks.length >= 8, `several chunks (${ea.manifest.chunks.length})`);
    const fa = files(path.join(d, "ea"));
    const fb = files(path.join(d, "eb"));
    assert.deepEqual([...fa.keys()], [...fb.keys()]);
    for (const [name, bytes] of fa) {
      if (name === "manifest.bin") continue;
      assert.ok(bytes.equals(fb.get(name) as Buffer), `chunk file ${name} is byte-identical`);
    }
    // the manifests differ only in the height field; with the same height they are identical
    const ma = decodeManifest(fa.get("manifest.bin") as Buffer);
    const mb = decodeManifest(fb.get("manifest.bin") as Buffer);
    assert.deepEqual(
      ma.chunks.map((c) => bytesToHex(c.hash)),
      mb.chunks.map((c) => bytesToHex(c.hash)),
    );
    assert.ok(Buffer.from(encodeManifest({ ...mb, height: 2 })).equals(fa.get("manifest.bin") as Buffer));
    // and the chunks are size-bounded
    for (const c of ma.chunks) assert.ok(c.rawBytes <= 64 * 1024, `chunk of ${c.rawBytes} bytes`);
    await a.close();
    await b.close();
  } finally {
    rmDir(d);
  }
});

interface Fixture {
  dir: string;
  src: StateDB;
  snap: string;
  other: string;
}

async function fixture(d: string): Promise<Fixture> {
  const src = openState(path.join(d, "src"), { create: true });
  fill(src, 2500);
  createSnapshot(src, 1);
  fill(src, 2500, 5); // height 2: every account changed
  await exportSnapshot(src, 1, path.join(d, "snap"), { chunkBytes: 64 * 1024 });
  await exportSnapshot(src, 2, path.join(d, "other"), { chunkBytes: 64 * 1024 });
  return { dir: d, src, snap: path.join(d, "snap"), other: path.join(d, "other") };
}

/** Re-encodes chunk `i` of a snapshot after `edit` changes its decoded body (same codec). */
function rewrite(snap: string, i: number, edit: (body: Uint8Array) => Uint8Array): Uint8Array {
  const { manifest } = readManifest(snap);
  const body = decodeFile(readFileSync(chunkFile(snap, i)), i);
  return encodeFile(edit(new Uint8Array(body)), manifest.codec);
}

function flip(b: Uint8Array, at: number): Uint8Array {
  const out = new Uint8Array(b); // a copy (Buffer#slice would alias)
  out[at] = (out[at] as number) ^ 0x01;
  return out;
}

test("tampering: every byte class and every forgery is rejected at that chunk, with its code, writing nothing", async () => {
  const d = tmpDir("snap-tamper");
  try {
    const fx = await fixture(d);
    const { bytes: mbytes, manifest } = readManifest(fx.snap);
    assert.ok(manifest.chunks.length >= 6);
    const i = 3; // a middle chunk
    const genuine = readFileSync(chunkFile(fx.snap, i));
    const body = decodeFile(genuine, i);
    const parsed = decodeChunk(body, i);
    const seg = parsed.segments.find((s) => s.entries.length > 2) as (typeof parsed.segments)[number];
    assert.ok(seg !== undefined);
    const proofAt = Buffer.from(body).indexOf(Buffer.from(seg.proof));
    const hashAt = seg.proof.indexOf(P_HASH);
    assert.ok(proofAt > 0 && hashAt >= 0);
    const forestAt = Buffer.from(body).indexOf(Buffer.from(parsed.forestProof));

    const dropKey = (b: Uint8Array) => {
      const c = decodeChunk(b, i);
      const s = c.segments.find((x) => x.entries.length > 2) as (typeof c.segments)[number];
      s.entries.splice(1, 1);
      return encodeChunk(c);
    };
    const addKey = (b: Uint8Array) => {
      const c = decodeChunk(b, i);
      const s = c.segments.find((x) => x.entries.length > 2) as (typeof c.segments)[number];
      const k0 = (s.entries[0] as { key: Uint8Array }).key;
      const k = new Uint8Array([...k0, 0]); // k0 ‖ 0x00 sorts right after k0 and before the next hashed key
      s.entries.splice(1, 0, { key: k, value: utf8("forged") });
      return encodeChunk(c);
    };
    const otherFile = readFileSync(chunkFile(fx.other, i));
    const cases: [string, Uint8Array, string][] = [
      ["header: magic", rewrite(fx.snap, i, (b) => flip(b, 0)), "SNAPSHOT_CHUNK_MALFORMED"],
      ["header: root", rewrite(fx.snap, i, (b) => flip(b, 10)), "SNAPSHOT_CHUNK_WRONG_ROOT"],
      ["header: index", rewrite(fx.snap, i, (b) => flip(b, 70)), "SNAPSHOT_CHUNK_OUT_OF_ORDER"],
      ["proof: a pruned hash", rewrite(fx.snap, i, (b) => flip(b, proofAt + hashAt + 5)), "SNAPSHOT_CHUNK_BAD_PROOF"],
      [
        "proof: the forest proof",
        rewrite(fx.snap, i, (b) => flip(b, forestAt + parsed.forestProof.length - 1)),
        "SNAPSHOT_CHUNK_BAD_PROOF",
      ],
      ["payload: a value byte", rewrite(fx.snap, i, (b) => flip(b, b.length - 1)), "SNAPSHOT_CHUNK_BAD_PROOF"],
      ["compression frame: a payload byte", flip(genuine, genuine.length - 3), "SNAPSHOT_CHUNK_BAD_COMPRESSION"],
      ["compression frame: declared size", flip(genuine, 6), "SNAPSHOT_CHUNK_BAD_COMPRESSION"],
      ["compression frame: truncated", genuine.subarray(0, genuine.length - 10), "SNAPSHOT_CHUNK_BAD_COMPRESSION"],
      ["drop a key", rewrite(fx.snap, i, dropKey), "SNAPSHOT_CHUNK_MISSING_KEYS"],
      ["add a key", rewrite(fx.snap, i, addKey), "SNAPSHOT_CHUNK_INJECTED_KEYS"],
      [
        "reorder chunks (the next chunk given here)",
        readFileSync(chunkFile(fx.snap, i + 1)),
        "SNAPSHOT_CHUNK_OUT_OF_ORDER",
      ],
      ["a chunk from another snapshot", otherFile, "SNAPSHOT_CHUNK_WRONG_ROOT"],
    ];

    const db = openState(path.join(d, "dst"), { create: true });
    const policy = db.checkpointPolicy;
    assert.throws(() => db.setCheckpointPolicy({ bytes: 0 }), { code: "INVALID_ARGUMENT" });
    const imp = SnapshotImport.begin(db, mbytes);
    for (let j = 0; j < i; j++) assert.equal(imp.apply(j, readFileSync(chunkFile(fx.snap, j))).action, "accept");
    const workRef = `import/${imp.id}`;
    const before = { root: db.ref(workRef), seq: db.store.nextSeq, next: imp.next };
    for (const [what, file, code] of cases) {
      // the stateless verifier and the importer agree
      assert.throws(
        () => verifyChunk(manifest, i, file),
        (e: unknown) => e instanceof HeliosError && e.code === code && e.context.chunk === i,
        `${what}: verifyChunk should raise ${code}`,
      );
      const reply = imp.apply(i, file);
      assert.equal(reply.error?.code, code, `${what}: ${reply.error?.message}`);
      assert.equal(reply.chunk, i);
      assert.equal(reply.action, "retry_chunk", what);
      assert.deepEqual(reply.refetch, [i]);
      assert.equal(reply.rejectSender, code !== "SNAPSHOT_CHUNK_OUT_OF_ORDER", what);
      // nothing written: same work root, no log record, same next chunk
      assert.ok(equalBytes(db.ref(workRef), before.root), `${what}: work ref unchanged`);
      assert.equal(db.store.nextSeq, before.seq, `${what}: nothing logged`);
      assert.equal(imp.next, before.next);
    }
    // the manifest itself: a wrong chunk hash means the snapshot is rejected, not the chunk
    const badHashes = {
      ...manifest,
      chunks: manifest.chunks.map((c, j) => (j === i ? { ...c, hash: hash(c.hash) } : c)),
    };
    assert.throws(
      () => verifyChunk(badHashes, i, genuine),
      (e: unknown) => e instanceof HeliosError && e.code === "SNAPSHOT_CHUNK_HASH_MISMATCH",
    );
    // the genuine chunk is then accepted and the import completes at the exact root
    for (let j = i; j < manifest.chunks.length; j++) {
      assert.equal(imp.apply(j, readFileSync(chunkFile(fx.snap, j))).action, "accept");
    }
    assert.notDeepEqual(db.checkpointPolicy, policy, "the import checkpoints by size while it runs");
    const done = imp.finish();
    assert.deepEqual(db.checkpointPolicy, policy, "and gives the store its cadence back");
    assert.ok(equalBytes(done.root, fx.src.rootAt(1)));
    assert.equal(db.height, 1);
    assert.ok(!db.refs().has(workRef));
    await db.close();
    await fx.src.close();
  } finally {
    rmDir(d);
  }
});

test("incremental chunks: a change left out, added or altered is rejected at its chunk, writing nothing", async () => {
  const d = tmpDir("snap-inc-tamper");
  try {
    const src = openState(path.join(d, "src"), { create: true });
    fill(src, 3000); // h1
    // h2: overwrite a third, delete a third, add new keys, drop the "code" tree, add a "fresh" tree
    const acc: { key: Uint8Array; value: Uint8Array | null }[] = [];
    for (let i = 0; i < 3000; i++) {
      if (i % 3 === 0) acc.push({ key: key(i), value: value(i, 7) });
      else if (i % 3 === 1) acc.push({ key: key(i), value: null });
    }
    for (let i = 3000; i < 3600; i++) acc.push({ key: key(i), value: value(i, 7) });
    const code = [];
    for (let i = 0; i < 50; i++) code.push({ key: utf8(`c${i}`), value: null });
    src.commit(2, { accounts: acc, code, fresh: [{ key: utf8("f"), value: utf8("new") }] });
    await exportSnapshot(src, 1, path.join(d, "full"), { chunkBytes: 64 * 1024 });
    const inc = path.join(d, "inc");
    await exportSnapshot(src, 2, inc, { base: 1, chunkBytes: 64 * 1024 });
    const { bytes, manifest } = readManifest(inc);
    assert.ok(manifest.chunks.length >= 6, `${manifest.chunks.length} chunks`);
    const db = openState(path.join(d, "dst"), { create: true });
    await importSnapshot(db, path.join(d, "full"));
    const imp = SnapshotImport.begin(db, bytes);
    const i = 2;
    for (let j = 0; j < i; j++) assert.equal(imp.apply(j, readFileSync(chunkFile(inc, j))).action, "accept");
    const edit = (fn: (c: ReturnType<typeof decodeChunk>) => void) =>
      rewrite(inc, i, (b) => {
        const c = decodeChunk(b, i);
        fn(c);
        return encodeChunk(c);
      });
    const accounts = (c: ReturnType<typeof decodeChunk>) =>
      c.segments.find((x) => new TextDecoder().decode(x.tree) === "accounts") as (typeof c.segments)[number];
    const cases: [string, Uint8Array, string[]][] = [
      [
        "drop a delete",
        edit((c) => {
          const s = accounts(c);
          s.entries.splice(
            s.entries.findIndex((e) => e.value === null),
            1,
          );
        }),
        ["SNAPSHOT_CHUNK_MISSING_KEYS"],
      ],
      [
        "drop a put",
        edit((c) => {
          const s = accounts(c);
          s.entries.splice(
            s.entries.findIndex((e) => e.value !== null),
            1,
          );
        }),
        ["SNAPSHOT_CHUNK_MISSING_KEYS"],
      ],
      [
        "add a put the target lacks, beside an unchanged key",
        edit((c) => {
          const s = accounts(c);
          // an account this increment leaves alone, inside the chunk's range
          const lo = s.entries[0]?.key as Uint8Array;
          const hi = s.entries[s.entries.length - 1]?.key as Uint8Array;
          const a1 = src.treeRoot("accounts", src.rootAt(1));
          const a2 = src.treeRoot("accounts", src.rootAt(2));
          let k: Uint8Array | undefined;
          for (const [kk, v] of src.map.entries(a2, { start: lo, end: hi })) {
            const old = src.map.get(a1, kk);
            if (old !== undefined && equalBytes(old, v)) {
              k = kk;
              break;
            }
          }
          assert.ok(k !== undefined);
          const forged = new Uint8Array([...k, 0]);
          const at = s.entries.findIndex((e) => Buffer.compare(e.key, forged) > 0);
          s.entries.splice(at, 0, { key: forged, value: utf8("forged") });
        }),
        ["SNAPSHOT_CHUNK_INJECTED_KEYS"],
      ],
      [
        "alter a put's value",
        edit((c) => {
          const e = accounts(c).entries.find((x) => x.value !== null) as { value: Uint8Array };
          e.value = utf8("forged");
        }),
        ["SNAPSHOT_CHUNK_MISSING_KEYS", "SNAPSHOT_CHUNK_INJECTED_KEYS"],
      ],
      [
        "drop every change",
        edit((c) => {
          for (const s of c.segments) s.entries.length = 0;
        }),
        ["SNAPSHOT_CHUNK_MISSING_KEYS"],
      ],
      [
        "drop a tree's segment",
        edit((c) => {
          c.segments.splice(c.segments.indexOf(accounts(c)), 1);
        }),
        ["SNAPSHOT_CHUNK_MISSING_KEYS"],
      ],
      [
        "flip a byte of a boundary witness",
        edit((c) => {
          const p = accounts(c).proof;
          p[p.length - 1] = (p[p.length - 1] as number) ^ 1;
        }),
        ["SNAPSHOT_CHUNK_BAD_PROOF"],
      ],
    ];
    const workRef = `import/${imp.id}`;
    const before = { root: db.ref(workRef), seq: db.store.nextSeq };
    for (const [what, file, codes] of cases) {
      const reply = imp.apply(i, file);
      assert.ok(codes.includes(reply.error?.code as string), `${what}: got ${reply.error?.message}`);
      assert.equal(reply.error?.context.chunk, i);
      assert.equal(reply.action, "retry_chunk");
      assert.ok(equalBytes(db.ref(workRef), before.root), `${what}: nothing written`);
      assert.equal(db.store.nextSeq, before.seq);
    }
    for (let j = i; j < manifest.chunks.length; j++) {
      assert.equal(imp.apply(j, readFileSync(chunkFile(inc, j))).action, "accept");
    }
    assert.ok(equalBytes(imp.finish().root, src.rootAt(2)));
    assert.equal(db.height, 2);
    await Promise.all([db.close(), src.close()]);
  } finally {
    rmDir(d);
  }
});

test("a manifest that is damaged, or whose root is not the trusted one, is rejected before any chunk", async () => {
  const d = tmpDir("snap-manifest");
  try {
    const fx = await fixture(d);
    const { bytes } = readManifest(fx.snap);
    const db = openState(path.join(d, "dst"), { create: true });
    assert.throws(() => SnapshotImport.begin(db, flip(bytes, 20)), { code: "SNAPSHOT_MANIFEST_INVALID" });
    assert.throws(() => SnapshotImport.begin(db, bytes.subarray(0, 10)), { code: "SNAPSHOT_MANIFEST_INVALID" });
    assert.throws(() => SnapshotImport.begin(db, bytes, { trustedRoot: fx.src.rootAt(2) }), {
      code: "SNAPSHOT_UNTRUSTED_ROOT",
    });
    // an incremental snapshot needs its base
    await exportSnapshot(fx.src, 2, path.join(d, "inc"), { base: 1 });
    await assert.rejects(importSnapshot(db, path.join(d, "inc")), { code: "SNAPSHOT_BASE_MISSING" });
    assert.equal(db.refs().size, 0, "nothing was created");
    await db.close();
    await fx.src.close();
  } finally {
    rmDir(d);
  }
});

test("GC never collects a snapshot, a version being exported, or a partial import", async () => {
  const d = tmpDir("snap-gc");
  try {
    const src = openState(path.join(d, "src"), { create: true, retain: 1 });
    fill(src, 2000); // h1
    createSnapshot(src, 1);
    fill(src, 2000, 1); // h2
    const h2 = src.rootAt(2);
    // (1) a snapshot outlives retention and GC
    fill(src, 2000, 2); // h3: h1 and h2 are no longer retained
    await src.collect();
    const e1 = await exportSnapshot(src, 1, path.join(d, "e1"), { chunkBytes: 64 * 1024 });
    assert.equal(verifySnapshotDir(path.join(d, "e1")).failures.length, 0);
    assert.ok(e1.entries > 2000);
    // (2) a version being exported: only a lease keeps it; GC runs to completion in the middle of the export
    fill(src, 2000, 3); // h4
    const h4 = src.rootAt(4);
    let gcRan = false;
    const e4 = await exportSnapshot(src, 4, path.join(d, "e4"), {
      chunkBytes: 64 * 1024,
      onProgress: async (p) => {
        if (p.chunks !== 2) return;
        fill(src, 2000, 4); // h5: h4 leaves retention now
        await src.collect(); // a whole GC cycle, mid-export
        src.store.dropCache(); // the rest of the export reads from disk
        gcRan = true;
      },
    });
    assert.ok(gcRan, "GC ran during the export");
    const dst = openState(path.join(d, "dst"), { create: true });
    const r = await importSnapshot(dst, path.join(d, "e4"));
    assert.ok(equalBytes(r.root, h4), "the export completed with the exact root");
    assert.ok(e4.manifest.chunks.length > 3);
    // ... and the check can fail: h2 had no snapshot and no lease, and GC took it
    assert.throws(() => src.trees(h2), { code: "MERKLE_NODE_MISSING" });
    // (3) a partial import survives GC on the importing store
    const { bytes, manifest } = readManifest(path.join(d, "e1"));
    const dst2 = openState(path.join(d, "dst2"), { create: true });
    const imp = SnapshotImport.begin(dst2, bytes);
    const half = manifest.chunks.length >> 1;
    for (let j = 0; j < half; j++)
      assert.equal(imp.apply(j, readFileSync(chunkFile(path.join(d, "e1"), j))).action, "accept");
    await dst2.collect();
    dst2.store.dropCache();
    for (let j = half; j < manifest.chunks.length; j++) {
      assert.equal(imp.apply(j, readFileSync(chunkFile(path.join(d, "e1"), j))).action, "accept");
    }
    assert.ok(equalBytes(imp.finish().root, src.refs().get("snapshot/00000000000000000001") as Uint8Array));
    const v = dst2.verify();
    assert.ok(v.leaves > 2000);
    await Promise.all([src.close(), dst.close(), dst2.close()]);
  } finally {
    rmDir(d);
  }
});

test("management: create is O(1) and live, list/info/restore/delete/prune, and bad input is coded", async () => {
  const d = tmpDir("snap-manage");
  try {
    const db = openState(path.join(d, "s"), { create: true, retain: 2 });
    for (let h = 1; h <= 6; h++) {
      db.commit(h, { t: [{ key: utf8(`k${h}`), value: utf8(`v${h}`) }] });
      createSnapshot(db, h, { sync: h % 2 === 0 });
    }
    assert.deepEqual(
      listSnapshots(db).map((s) => s.height),
      [1, 2, 3, 4, 5, 6],
    );
    const info = snapshotInfo(db, 1);
    assert.deepEqual(info.trees, ["t"]);
    assert.throws(() => createSnapshot(db, 1), { code: "HEIGHT_NOT_RETAINED" }); // pruned by retention
    assert.throws(() => snapshotInfo(db, 99), { code: "SNAPSHOT_NOT_FOUND" });
    assert.throws(() => deleteSnapshot(db, 99), { code: "SNAPSHOT_NOT_FOUND" });
    assert.throws(() => createSnapshot(db, -1), { code: "INVALID_ARGUMENT" });
    assert.throws(() => pruneSnapshots(db, -1), { code: "INVALID_ARGUMENT" });
    // restore: height 1 is past retention (adopted as the only height); height 6 is the head's (a rollback)
    const r1 = restoreSnapshot(db, 1);
    assert.equal(db.height, 1);
    assert.deepEqual(db.heights(), [1]);
    assert.ok(equalBytes(db.root, r1.root));
    assert.equal(db.get("t", utf8("k1"))?.toString(), utf8("v1").toString());
    assert.equal(db.get("t", utf8("k2")), undefined);
    db.commit(2, { t: [{ key: utf8("k2"), value: utf8("again") }] }); // the chain goes on from there
    assert.throws(() => restoreSnapshot(db, 99), { code: "SNAPSHOT_NOT_FOUND" });
    deleteSnapshot(db, 3);
    assert.deepEqual(pruneSnapshots(db, 2), [1, 2, 4]);
    assert.deepEqual(
      listSnapshots(db).map((s) => s.height),
      [5, 6],
    );
    // snapshots survive a reopen (the deferred-sync ones too, once closed cleanly)
    await db.close();
    const again = openState(path.join(d, "s"));
    assert.deepEqual(
      listSnapshots(again).map((s) => s.height),
      [5, 6],
    );
    await assert.rejects(exportSnapshot(again, 6, path.join(d, "x"), { codec: "gzip" as never }), {
      code: "INVALID_ARGUMENT",
    });
    await assert.rejects(exportSnapshot(again, 6, path.join(d, "x"), { chunkBytes: 100 }), {
      code: "INVALID_ARGUMENT",
    });
    await assert.rejects(exportSnapshot(again, 42, path.join(d, "x")), { code: "SNAPSHOT_NOT_FOUND" });
    writeFileSync(path.join(d, "notempty"), "x");
    await assert.rejects(exportSnapshot(again, 6, d), { code: "INVALID_ARGUMENT" });
    await again.close();
  } finally {
    rmDir(d);
  }
});

test("lz4 and no compression round-trip; zstd is the default and compresses better; sampled verify reports its odds", async () => {
  const d = tmpDir("snap-codec");
  try {
    const db = openState(path.join(d, "s"), { create: true });
    fill(db, 3000);
    const sizes: Record<string, number> = {};
    for (const codec of ["zstd", "lz4", "none"] as const) {
      const out = path.join(d, codec);
      const r = await exportSnapshot(db, 1, out, { codec, chunkBytes: 64 * 1024 });
      sizes[codec] = r.fileBytes;
      const dst = openState(path.join(d, `dst-${codec}`), { create: true });
      const got = await importSnapshot(dst, out);
      assert.ok(equalBytes(got.root, db.rootAt(1)), codec);
      await dst.close();
    }
    const def = await exportSnapshot(db, 1, path.join(d, "default"), { chunkBytes: 64 * 1024 });
    assert.equal(def.manifest.codec, "zstd");
    assert.ok(
      (sizes.zstd as number) < (sizes.lz4 as number) && (sizes.lz4 as number) < (sizes.none as number),
      JSON.stringify(sizes),
    );
    // sampling: deterministic for a seed, and the reported odds match the formula
    const s1 = verifySnapshotDir(path.join(d, "zstd"), { sample: 3, seed: 7, rate: 0.2 });
    const s2 = verifySnapshotDir(path.join(d, "zstd"), { sample: 3, seed: 7, rate: 0.2 });
    assert.deepEqual(s1.checked, s2.checked);
    assert.equal(s1.checked.length, 3);
    assert.equal(s1.detectProbability, detectProbability(s1.chunks, 3, 0.2));
    assert.ok((s1.sampleFor99 as number) <= s1.chunks);
    // a damaged chunk is found by a full verify, and by a sample that draws it
    const bad = path.join(d, "zstd");
    const f = readFileSync(chunkFile(bad, 1));
    writeFileSync(chunkFile(bad, 1), flip(f, f.length - 2));
    const full = verifySnapshotDir(bad);
    assert.deepEqual(
      full.failures.map((x) => [x.chunk, x.code]),
      [[1, "SNAPSHOT_CHUNK_BAD_COMPRESSION"]],
    );
    const all = verifySnapshotDir(bad, { sample: full.chunks, seed: 3 });
    assert.equal(all.failures.length, 1);
    assert.equal(all.detectProbability, 1);
    await db.close();
  } finally {
    rmDir(d);
  }
});

test("detectProbability: exact hypergeometric odds", () => {
  assert.ok(Math.abs(detectProbability(10, 1, 0.1) - 0.1) < 1e-12);
  assert.equal(detectProbability(10, 10, 0.1), 1);
  assert.ok(Math.abs(detectProbability(100, 2, 0.01) - 0.02) < 1e-12);
  assert.ok(Math.abs(detectProbability(1000, 10, 0.05) - (1 - 0.95 ** 10)) < 0.01);
  assert.equal(detectProbability(10, 3, 0), 0);
});
