/**
 * The content-defined chunker (src/sandbox/chunker.ts; docs/spec/checkpoint.md
 * §2, requirements C1–C4): the gear table and cut points are pinned, sizes
 * stay within min/max and near the average, streaming with any split equals
 * one-shot, and an edit early in a buffer changes only the chunks around it.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { bytesToHex, hash, isHeliosError, xorshiftBytes } from "../../../src/core/index.js";
import { Chunker, type ChunkerParams, chunkEnds, DEFAULT_CHUNKER, gearTable } from "../../../src/sandbox/chunker.js";

/** n pseudo-random bytes from a seed (replayable). */
function randomBytes(n: number, seed: number): Uint8Array {
  return xorshiftBytes(n, seed);
}

/** Chunks of data as [start, end) pairs from end offsets. */
function spans(ends: readonly number[]): [number, number][] {
  let s = 0;
  return ends.map((e) => {
    const r: [number, number] = [s, e];
    s = e;
    return r;
  });
}

function chunkHashes(data: Uint8Array, p: ChunkerParams = DEFAULT_CHUNKER): string[] {
  return spans(chunkEnds(data, p)).map(([a, b]) => bytesToHex(hash(data.subarray(a, b))));
}

test("C1: the gear table is BLAKE3 of the label, pinned", () => {
  const g = gearTable();
  assert.equal(g.length, 256);
  assert.equal(new Set(g).size, 256, "256 distinct words");
  // G[0..8) are the LE words of BLAKE3("helios/chunker/v1/gear" ‖ 0x00)
  const label = new TextEncoder().encode("helios/chunker/v1/gear");
  const msg = new Uint8Array(label.length + 1);
  msg.set(label);
  const d = hash(msg);
  const dv = new DataView(d.buffer, d.byteOffset, 32);
  for (let w = 0; w < 8; w++) assert.equal(g[w], dv.getInt32(4 * w, true));
  // and the whole table, pinned (BLAKE3 of its 1,024 bytes, LE words): a change would re-cut every stored file
  assert.equal(
    bytesToHex(hash(new Uint8Array(g.buffer))),
    "744ca080086b402d6cde90fc6787c428803c0b07661d3705d7b58f70c9f244e9",
  );
  assert.equal(gearTable(), g, "computed once");
});

test("C1: cut points of a fixed buffer are pinned (determinism across runs and machines)", () => {
  const data = randomBytes(1 << 20, 42);
  const ends = chunkEnds(data);
  const again = chunkEnds(data.slice());
  assert.deepEqual(ends, again);
  assert.equal(ends[ends.length - 1], data.length);
  // pinned: the digest of the end offsets of this buffer under the default parameters
  const enc = new Uint8Array(new Float64Array(ends).buffer);
  assert.equal(bytesToHex(hash(enc)).slice(0, 16), PINNED_ENDS);
  assert.equal(ends.length, PINNED_COUNT);
  assert.deepEqual(ends.slice(0, 5), [21299, 28135, 45524, 64826, 84770]);
});
// Pinned from the first run of this test (the cut points of randomBytes(1 MiB, 42) with 4/16/64 KiB).
const PINNED_ENDS = "6c2abc659afd8bca";
const PINNED_COUNT = 56;

test("C2: every chunk is within [min, max] (the last may be shorter) and the mean is near the average", () => {
  for (const p of [DEFAULT_CHUNKER, { minBytes: 2048, avgBytes: 8192, maxBytes: 65536 }]) {
    const data = randomBytes(8 << 20, 7);
    const ends = chunkEnds(data, p);
    const s = spans(ends);
    s.forEach(([a, b], i) => {
      assert.ok(b - a <= p.maxBytes, `chunk ${i} is ${b - a} > max`);
      if (i < s.length - 1) assert.ok(b - a >= p.minBytes, `chunk ${i} is ${b - a} < min`);
    });
    const mean = data.length / ends.length;
    // normalized chunking with the min skip: the mean lands a little above avg
    assert.ok(mean > p.avgBytes * 0.9 && mean < p.avgBytes * 1.4, `mean ${mean} for avg ${p.avgBytes}`);
  }
});

test("C2: data shorter than min is one chunk; zeros cut at max; empty data has no chunk", () => {
  assert.deepEqual(chunkEnds(new Uint8Array(0)), []);
  assert.deepEqual(chunkEnds(randomBytes(1000, 3)), [1000]);
  const zeros = chunkEnds(new Uint8Array(300_000));
  for (const [a, b] of spans(zeros).slice(0, -1)) assert.equal(b - a, DEFAULT_CHUNKER.maxBytes);
});

test("C3: streaming with any split of the input gives the one-shot cut points (fast-check)", () => {
  const data = randomBytes(400_000, 11);
  const small: ChunkerParams = { minBytes: 512, avgBytes: 2048, maxBytes: 8192 };
  for (const p of [DEFAULT_CHUNKER, small]) {
    const want = chunkEnds(data, p);
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: data.length }), { maxLength: 40 }), (cuts) => {
        const pts = [...new Set(cuts)].sort((a, b) => a - b);
        const c = new Chunker(p);
        const got: number[] = [];
        let prev = 0;
        for (const x of [...pts, data.length]) {
          c.push(data.subarray(prev, x), got);
          prev = x;
        }
        c.finish(got);
        assert.deepEqual(got, want);
      }),
      { numRuns: 60 },
    );
  }
});

test("C3: a byte-at-a-time stream equals one-shot; a chunker is reusable after finish", () => {
  const data = randomBytes(100_000, 5);
  const p: ChunkerParams = { minBytes: 256, avgBytes: 1024, maxBytes: 4096 };
  const c = new Chunker(p);
  const got: number[] = [];
  for (let i = 0; i < data.length; i++) c.push(data.subarray(i, i + 1), got);
  c.finish(got);
  assert.deepEqual(got, chunkEnds(data, p));
  assert.equal(c.position, 0);
  assert.deepEqual(c.finish(c.push(data)), chunkEnds(data, p));
});

test("C4: inserting or deleting a few bytes early in 4 MiB changes only the chunks around the edit", () => {
  const data = randomBytes(4 << 20, 99);
  const before = chunkHashes(data);
  const beforeSet = new Set(before);
  const edits: [string, Uint8Array][] = [];
  const at = 5000;
  const ins = new Uint8Array(data.length + 7);
  ins.set(data.subarray(0, at));
  ins.set([1, 2, 3, 4, 5, 6, 7], at);
  ins.set(data.subarray(at), at + 7);
  edits.push(["insert 7 bytes", ins]);
  const del = new Uint8Array(data.length - 3);
  del.set(data.subarray(0, at));
  del.set(data.subarray(at + 3), at);
  edits.push(["delete 3 bytes", del]);
  const flip = data.slice();
  flip[at] = (flip[at] as number) ^ 0xff;
  edits.push(["flip a byte", flip]);
  for (const [what, d] of edits) {
    const after = chunkHashes(d);
    const changed = after.filter((h) => !beforeSet.has(h)).length;
    assert.ok(changed <= 2, `${what}: ${changed} of ${after.length} chunks changed`);
    assert.ok(after.length > 200);
  }
});

test("bad parameters are INVALID_ARGUMENT", () => {
  const bad: ChunkerParams[] = [
    { minBytes: 4096, avgBytes: 12000, maxBytes: 65536 }, // avg not a power of two
    { minBytes: 16384, avgBytes: 16384, maxBytes: 65536 }, // min = avg
    { minBytes: 1024, avgBytes: 16384, maxBytes: 16384 }, // max = avg
    { minBytes: 0, avgBytes: 16384, maxBytes: 65536 },
    { minBytes: 64, avgBytes: 128, maxBytes: 1024 }, // avg below 256
    { minBytes: 4096, avgBytes: 16384, maxBytes: 32 * 1024 * 1024 }, // max over 16 MiB
  ];
  for (const p of bad)
    assert.throws(
      () => new Chunker(p),
      (e: unknown) => isHeliosError(e, "INVALID_ARGUMENT"),
    );
});
