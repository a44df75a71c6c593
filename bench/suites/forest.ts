/**
 * bench/suites/forest — two questions the durable-state issue asks us to
 * answer by measurement:
 *
 * 1. Does hashing independent trees of the forest on worker threads pay on
 *    this 2-core machine? T trees of K fresh keys each are built (a) one
 *    after another on the main thread, and (b) on 2 worker threads, with the
 *    ops shipped in and every new node shipped back and inserted into the
 *    main thread's store (the store lives there, so that copy is part of the
 *    cost). Reported: wall time of each and the speed-up.
 * 2. What adaptive compression saves and costs, per kind of value: 80-byte
 *    account records (below the 256-byte threshold: stored raw by design),
 *    JSON-like documents and source-like text (what sandboxes checkpoint),
 *    and random bytes (hashes, keys: incompressible). Per kind: bytes on
 *    disk raw vs lz4 vs zstd, and encode/decode time per node. Then the same
 *    at store level: a StateDB holding 4 KiB text values, checkpointed with
 *    compression off, lz4 (warm) and after a GC pass has turned them to zstd
 *    (cold); reported as LMDB bytes used.
 *
 * No peers: these compare our own options.
 */
import { rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { Worker } from "node:worker_threads";
import { hash } from "../../src/core/index.js";
import { openState } from "../../src/history/index.js";
import { createMemoryStore, createMerkleMap, EMPTY_ROOT, type Op } from "../../src/merkle/index.js";
import { DEFAULT_COMPRESSION, decodeFrame, encodeFrame, LZ4, ZSTD } from "../../src/store/codec.js";
import { median, type Mode, type Result, seededBytes } from "../lib.js";

function log(msg: string): void {
  console.error(`[forest] ${msg}`);
}

function packOps(ops: readonly Op[]): ArrayBuffer {
  let n = 0;
  for (const o of ops) n += 6 + o.key.length + (o.value as Uint8Array).length;
  const out = new Uint8Array(n);
  const dv = new DataView(out.buffer);
  let p = 0;
  for (const o of ops) {
    const v = o.value as Uint8Array;
    dv.setUint16(p, o.key.length, true);
    out.set(o.key, p + 2);
    p += 2 + o.key.length;
    dv.setUint32(p, v.length, true);
    out.set(v, p + 4);
    p += 4 + v.length;
  }
  return out.buffer;
}

async function parallelForest(
  trees: Op[][],
  reps: number,
): Promise<{ serial: number; parallel: number; same: boolean }> {
  const workerUrl = new URL("../support/forest-worker.js", import.meta.url);
  const workers = [new Worker(workerUrl), new Worker(workerUrl)];
  const call = (w: Worker, ops: ArrayBuffer) =>
    new Promise<{ root: Uint8Array; nodes: ArrayBuffer }>((resolve) => {
      w.once("message", resolve);
      w.postMessage({ ops }, [ops]);
    });
  const serialT: number[] = [];
  const parallelT: number[] = [];
  let same = true;
  for (let r = 0; r < reps + 1; r++) {
    // serial: every tree on the main thread into one store
    let t0 = process.hrtime.bigint();
    const s1 = createMemoryStore();
    const m1 = createMerkleMap({ store: s1 });
    const roots1 = trees.map((ops) => m1.update(EMPTY_ROOT, ops));
    if (r > 0) serialT.push(Number(process.hrtime.bigint() - t0) / 1e6);
    // parallel: 2 workers, nodes merged back into the main store
    const packed = trees.map(packOps); // packing is the caller's cost in both designs? no: count it
    t0 = process.hrtime.bigint();
    const s2 = createMemoryStore();
    const roots2: Uint8Array[] = new Array(trees.length);
    let next = 0;
    const lane = async (w: Worker) => {
      while (next < packed.length) {
        const i = next++;
        const res = await call(w, packed[i] as ArrayBuffer);
        roots2[i] = res.root;
        const b = new Uint8Array(res.nodes);
        const dv = new DataView(res.nodes);
        for (let p = 0; p < b.length; ) {
          const len = dv.getUint32(p + 32, true);
          s2.put(b, p, b, p + 36, len);
          p += 36 + len;
        }
      }
    };
    await Promise.all(workers.map(lane));
    if (r > 0) parallelT.push(Number(process.hrtime.bigint() - t0) / 1e6);
    for (let i = 0; i < trees.length; i++)
      same &&= Buffer.compare(roots1[i] as Uint8Array, roots2[i] as Uint8Array) === 0;
  }
  for (const w of workers) await w.terminate();
  return { serial: median(serialT), parallel: median(parallelT), same };
}

function textBlob(i: number, n: number): Uint8Array {
  const words = [
    "state",
    "root",
    "commit",
    "height",
    "branch",
    "merge",
    "proof",
    "chunk",
    "const",
    "return",
    "function",
    "value",
  ];
  let s = "";
  let x = i * 2654435761;
  while (s.length < n) {
    x = (x ^ (x << 13)) >>> 0;
    x = (x ^ (x >>> 17)) >>> 0;
    x = (x ^ (x << 5)) >>> 0;
    s += `${words[x % words.length]}_${x % 97}${x % 5 === 0 ? "\n  " : " "}`;
  }
  return new TextEncoder().encode(s.slice(0, n));
}

function jsonBlob(i: number, n: number): Uint8Array {
  const items = [];
  let s = "";
  for (let k = 0; s.length < n; k++) {
    items.push({
      path: `/sandbox/${i}/dir${k % 7}/file-${k}.txt`,
      size: (k * 977 + i) % 65536,
      mode: 420,
      mtime: 1700000000 + k,
    });
    s = JSON.stringify(items);
  }
  return new TextEncoder().encode(s.slice(0, n));
}

export async function run(mode: Mode): Promise<Result[]> {
  const full = mode === "full";
  const out: Result[] = [];

  // ---- 1. parallel hashing of independent trees
  const T = 4;
  const K = full ? 100_000 : 10_000;
  const rnd = seededBytes(42);
  const trees: Op[][] = [];
  for (let t = 0; t < T; t++) {
    const ops: Op[] = [];
    for (let i = 0; i < K; i++) ops.push({ key: rnd(32), value: rnd(80) });
    trees.push(ops);
  }
  log(`parallel forest: ${T} trees × ${K} keys, 1 vs 2 threads`);
  const pf = await parallelForest(trees, full ? 5 : 2);
  if (!pf.same) throw new Error("worker roots differ from main-thread roots");
  const wl = `forest ${T} trees × ${K / 1000}K inserts + roots`;
  out.push({
    workload: wl,
    impl: "helios",
    value: pf.serial,
    unit: "ms",
    better: "lower",
    note: "main thread, one after another",
  });
  out.push({
    workload: wl,
    impl: "helios 2 workers",
    value: pf.parallel,
    unit: "ms",
    better: "lower",
    note: `2 worker_threads, nodes copied back into the main store; speed-up ${(pf.serial / pf.parallel).toFixed(2)}× on ${os.cpus().length} cores`,
  });

  // ---- 2. compression per kind of value
  const N = full ? 4000 : 500;
  const kinds: [string, (i: number) => Uint8Array][] = [
    [
      "account record 80 B",
      (i) => {
        // nonce u64, balance u128, code hash, storage root (half of it hashes: barely compressible)
        const v = new Uint8Array(80);
        const dv = new DataView(v.buffer);
        dv.setBigUint64(0, BigInt(i % 1000), true);
        dv.setBigUint64(8, BigInt(i) * 1_000_000_007n, true);
        v.set(hash(Uint8Array.of(i & 255, i >> 8)), 24);
        v.set(hash(Uint8Array.of(1, i & 255, i >> 8)).subarray(0, 24), 56);
        return v;
      },
    ],
    ["JSON document 4 KiB", (i) => jsonBlob(i, 4096)],
    ["source text 4 KiB", (i) => textBlob(i, 4096)],
    [
      "random bytes 4 KiB",
      (i) => {
        const b = new Uint8Array(4096);
        for (let j = 0; j < 4096; j += 32) b.set(hash(Uint8Array.of(i & 255, i >> 8, j >> 5)), j);
        return b;
      },
    ],
  ];
  for (const [kind, gen] of kinds) {
    const nodes = Array.from({ length: N }, (_, i) => gen(i));
    const raw = nodes.reduce((a, n) => a + n.length, 0);
    for (const [name, codec] of [
      ["lz4 (warm)", LZ4],
      ["zstd-3 (cold)", ZSTD],
    ] as const) {
      const t0 = process.hrtime.bigint();
      const frames = nodes.map((n) => encodeFrame(n, 0, DEFAULT_COMPRESSION, codec));
      const enc = Number(process.hrtime.bigint() - t0) / 1e3 / N;
      const t1 = process.hrtime.bigint();
      for (const f of frames) decodeFrame(f, () => "");
      const dec = Number(process.hrtime.bigint() - t1) / 1e3 / N;
      const stored = frames.reduce((a, f) => a + f.length - 5, 0);
      out.push({
        workload: `compression: ${kind}`,
        impl: `helios ${name}`,
        value: stored / raw,
        unit: "stored/raw",
        better: "lower",
        note: `encode ${enc.toFixed(2)} µs, decode ${dec.toFixed(2)} µs per node; saved ${(100 * (1 - stored / raw)).toFixed(1)}%`,
      });
    }
  }

  // ---- 3. at store level: LMDB bytes for 4 KiB text values, compression off / lz4 / zstd after a GC pass
  const M = full ? 20_000 : 2_000;
  const storeBytes = async (label: string, minBytes: number, cold: boolean) => {
    const dir = path.join(os.tmpdir(), `helios-bench-comp-${process.pid}-${label}`);
    rmSync(dir, { recursive: true, force: true });
    const db = openState(dir, { create: true, compression: { minBytes, coldEpochs: 0 }, checkpointEvery: 1e9 });
    for (let b = 0; b < 4; b++) {
      const ops: Op[] = [];
      for (let i = (b * M) / 4; i < ((b + 1) * M) / 4; i++)
        ops.push({ key: hash(Uint8Array.of(i & 255, (i >> 8) & 255, i >> 16)), value: textBlob(i, 4096) });
      db.commit(b + 1, { files: ops });
    }
    await db.checkpoint();
    if (cold) await db.collect();
    // cold read cost with this encoding
    db.store.dropCache();
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < 500; i++) db.get("files", hash(Uint8Array.of(i & 255, (i >> 8) & 255, i >> 16)));
    const readUs = Number(process.hrtime.bigint() - t0) / 1e3 / 500;
    const bytes = db.store.nodeBytesInUse();
    await db.close();
    rmSync(dir, { recursive: true, force: true });
    return { bytes, readUs };
  };
  const off = await storeBytes("off", 0, false);
  const warm = await storeBytes("lz4", 256, false);
  const coldR = await storeBytes("zstd", 256, true);
  const wl2 = `store: ${M / 1000}K × 4 KiB text values, LMDB bytes`;
  out.push({
    workload: wl2,
    impl: "helios",
    value: warm.bytes,
    unit: "bytes",
    better: "lower",
    note: `lz4 on checkpoint (default); cold read ${warm.readUs.toFixed(1)} µs`,
  });
  out.push({
    workload: wl2,
    impl: "helios no compression",
    value: off.bytes,
    unit: "bytes",
    better: "lower",
    note: `cold read ${off.readUs.toFixed(1)} µs`,
  });
  out.push({
    workload: wl2,
    impl: "helios zstd (after GC: cold)",
    value: coldR.bytes,
    unit: "bytes",
    better: "lower",
    note: `cold read ${coldR.readUs.toFixed(1)} µs; pages in use by the node table`,
  });
  return out;
}
