/**
 * bench/suites/sketch — the Bloom filter and HyperLogLog (src/core/bloom.ts,
 * src/core/hll.ts) against the exact structure a Node user would reach for:
 * a JS Set<string> of hex keys.
 *
 * Workloads (N keys: 200K quick, 1M full; median over reps, 3 quick / 7 full):
 *   bloom add 32B          adds/s of N BLAKE3 digests (bits read straight from the key)
 *   bloom check 32B        checks/s over N probes, half added, half not
 *   bloom add 8B           adds/s of N short keys (one BLAKE3 call each)
 *   bloom check 8B         checks/s, half present
 *   memory per key         bytes per key: the filter at 1% and 0.1% false positives and
 *                          the p = 14 sketch, against the Set measured as heap growth
 *                          after a forced GC (needs --expose-gc, which npm run bench passes)
 *   hll add 32B / 8B       adds/s into a p = 14 sketch (the Set row is the same Set add)
 *   hll count() p=14       ms per count() once the keys are in (it scans 2^14 registers;
 *                          a Set's size is O(1), the point is the memory row above)
 * The Set rows include the hex encoding of each key (Buffer.toString), as a
 * caller holding Uint8Array keys must pay it; "Set (hex precomputed)" leaves it
 * out. The filter's false-positive rate is measured and printed in the note.
 */
import { BloomFilter } from "../../src/core/bloom.js";
import { HASH_BYTES, hashMany } from "../../src/core/hash.js";
import { HyperLogLog } from "../../src/core/hll.js";
import { type Add, gc, type Mode, type Result, timeMs } from "../lib.js";

function digests(start: number, n: number, tag: number): Uint8Array[] {
  const data = new Uint8Array(8 * n);
  const view = new DataView(data.buffer);
  const offsets = new Uint32Array(n + 1);
  for (let i = 0; i < n; i++) {
    view.setUint32(8 * i, start + i, true);
    view.setUint32(8 * i + 4, tag, true);
    offsets[i + 1] = 8 * (i + 1);
  }
  const out = new Uint8Array(HASH_BYTES * n);
  hashMany(data, offsets, n, out, null, null);
  return Array.from({ length: n }, (_, i) => out.subarray(HASH_BYTES * i, HASH_BYTES * (i + 1)));
}

function shortKeys(start: number, n: number): Uint8Array[] {
  const data = new Uint8Array(8 * n);
  const view = new DataView(data.buffer);
  for (let i = 0; i < n; i++) view.setUint32(8 * i, start + i, true);
  return Array.from({ length: n }, (_, i) => data.subarray(8 * i, 8 * (i + 1)));
}

const hex = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString("hex");

function heapUsed(): number {
  gc();
  return process.memoryUsage().heapUsed;
}

/** Heap bytes per key of a Set holding the hex of n digests (the digests themselves excluded). */
function setBytesPerKey(n: number): number {
  const keys = digests(0, n, 3);
  const before = heapUsed();
  const set = new Set<string>();
  for (const k of keys) set.add(hex(k));
  const after = heapUsed();
  // Using the set and the keys after the measurement keeps both alive through it
  // (otherwise the collector frees the dead key views and offsets the strings).
  if (set.size !== n || keys.length !== n) throw new Error("digests collided");
  return (after - before) / n;
}

export async function run(mode: Mode): Promise<Result[]> {
  const n = mode === "quick" ? 200_000 : 1_000_000;
  const reps = mode === "quick" ? 3 : 7;
  const results: Result[] = [];
  const add: Add = (workload, impl, value, unit, better, note) =>
    results.push({ workload, impl, value, unit, better, note });
  const perSec = (ms: number): number => (n / ms) * 1000;
  const gcNote = (globalThis as { gc?: unknown }).gc ? "" : " (no --expose-gc: memory rows are rough)";
  // Measured first, while nothing else of this suite is on the heap to be collected mid-measurement.
  const setBytes = setBytesPerKey(n);
  const setNote = `heap growth over ${n} keys${gcNote}`;

  for (const [label, present, absent] of [
    ["32B", digests(0, n, 1), digests(n, n, 1)],
    ["8B", shortKeys(0, n), shortKeys(n, n)],
  ] as const) {
    // Probes: half added, half not, interleaved.
    const probes = Array.from({ length: n }, (_, i) => ((i & 1) === 0 ? present[i] : absent[i]) as Uint8Array);
    let f = BloomFilter.forCapacity(n, 0.01);
    const addMs = timeMs(() => {
      f = BloomFilter.forCapacity(n, 0.01);
      for (const k of present) f.add(k);
    }, reps);
    let hits = 0;
    const checkMs = timeMs(() => {
      hits = 0;
      for (const k of probes) if (f.mightContain(k)) hits++;
    }, reps);
    let fp = 0;
    for (const k of absent) if (f.mightContain(k)) fp++;
    const fpNote = `m=${f.bits} k=${f.hashes}, measured false positives ${((fp / n) * 100).toFixed(3)}% (target 1%)`;
    add(`bloom add ${label}`, "helios", perSec(addMs), "adds/s", "higher", fpNote);
    add(`bloom check ${label}`, "helios", perSec(checkMs), "checks/s", "higher", `${hits} of ${n} reported present`);

    let s = new Set<string>();
    const setAddMs = timeMs(() => {
      s = new Set<string>();
      for (const k of present) s.add(hex(k));
    }, reps);
    let setHits = 0;
    const setCheckMs = timeMs(() => {
      setHits = 0;
      for (const k of probes) if (s.has(hex(k))) setHits++;
    }, reps);
    const probeHex = probes.map(hex);
    const setPreMs = timeMs(() => {
      setHits = 0;
      for (const h of probeHex) if (s.has(h)) setHits++;
    }, reps);
    add(`bloom add ${label}`, "Set<string> hex", perSec(setAddMs), "adds/s", "higher", "exact; includes hex encoding");
    add(`bloom check ${label}`, "Set<string> hex", perSec(setCheckMs), "checks/s", "higher", `${setHits} present`);
    add(`bloom check ${label}`, "Set (hex precomputed)", perSec(setPreMs), "checks/s", "higher", "");

    const hll = new HyperLogLog(14);
    const hllMs = timeMs(() => {
      for (const k of present) hll.add(k);
    }, reps);
    add(
      `hll add ${label}`,
      "helios",
      perSec(hllMs),
      "adds/s",
      "higher",
      `p=14, count ${hll.count()} for ${n} distinct`,
    );
    add(`hll add ${label}`, "Set<string> hex", perSec(setAddMs), "adds/s", "higher", "exact distinct count");
    s = new Set<string>();
  }

  // Memory per key: the filter is ceil(m/8) bytes and the sketch 2 + 2^14; the Set was measured first.
  const keys = digests(0, n, 2);
  for (const p of [0.01, 0.001]) {
    const f = BloomFilter.forCapacity(n, p);
    const w = `memory per key, membership ${p * 100}% fp`;
    add(w, "helios", f.bits / 8 / n, "B/key", "lower", `Bloom filter, k=${f.hashes}`);
    add(w, "Set<string> hex", setBytes, "B/key", "lower", setNote);
  }
  add("memory per key, distinct count", "helios", (2 + (1 << 14)) / n, "B/key", "lower", `HLL p=14: 16 KiB for any n`);
  add("memory per key, distinct count", "Set<string> hex", setBytes, "B/key", "lower", setNote);

  // Answering "how many distinct": HLL count() scans 2^14 registers.
  const h = new HyperLogLog(14);
  for (const k of keys) h.add(k);
  const countMs = timeMs(() => {
    for (let i = 0; i < 100; i++) h.count();
  }, reps);
  add("hll count() p=14", "helios", countMs / 100, "ms", "lower", `estimate ${h.count()} for ${n}`);
  return results;
}
