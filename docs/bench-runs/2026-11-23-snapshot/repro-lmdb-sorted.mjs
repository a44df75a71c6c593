// LMDB alone, with the store's settings (store/durable.ts): 4M random 32-byte keys with 260-byte
// values put in one transaction callback (as a checkpoint does), in random order vs sorted.
//   node docs/bench-runs/2026-11-23-snapshot/repro-lmdb-sorted.mjs 4000000 random
//   node docs/bench-runs/2026-11-23-snapshot/repro-lmdb-sorted.mjs 4000000 sorted
// 2026-11-23 (two runs each): random 47.6 / 43.9 s, file 1,895 MB; sorted 11.2 / 9.4 s, file 1,380 MB.
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync, statSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { open } from "lmdb";

const n = Number(process.argv[2] ?? 4_000_000);
const sorted = process.argv[3] === "sorted";
const dir = mkdtempSync(path.join(os.tmpdir(), "helios-lmdb-"));
const file = path.join(dir, "nodes.mdb");
const env = open({ path: file, maxDbs: 4, mapSize: 2 ** 40, compression: false, overlappingSync: false, useWritemap: false });
const db = env.openDB({ name: "nodes", encoding: "binary", keyEncoding: "binary" });
const keys = [];
for (let i = 0; i < n; i++) keys.push(randomBytes(32));
if (sorted) keys.sort(Buffer.compare);
const val = Buffer.alloc(260, 7);
const t = performance.now();
await env.transaction(() => {
  for (const k of keys) db.putSync(k, val);
});
await env.flushed;
const s = (performance.now() - t) / 1000;
await env.close();
console.log(`${sorted ? "sorted" : "random"} ${n}: ${s.toFixed(2)} s, file ${(statSync(file).size / 1e6).toFixed(0)} MB`);
rmSync(dir, { recursive: true, force: true });
