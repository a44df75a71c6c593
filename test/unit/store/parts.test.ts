/**
 * The store's parts on their own: the log (seqs, rotation, dropping), the
 * frame codec and compression policy, the L1 budget, and the GC mark set
 * against a plain Set.
 */
import assert from "node:assert/strict";
import { readdirSync } from "node:fs";
import { test } from "node:test";
import fc from "fast-check";
import { hash } from "../../../src/core/index.js";
import { IdSet, NodeCache, Wal } from "../../../src/store/index.js";
import {
  DEFAULT_COMPRESSION,
  decodeFrame,
  encodeFrame,
  frameBirth,
  frameFlags,
  LZ4,
  RAW,
  ZSTD,
} from "../../../src/store/codec.js";
import { fcParams } from "../../support/model.js";
import { rmDir, tmpDir } from "../../support/tmp.js";

test("the log: consecutive seqs across rotations; dropped segments are gone; reopen returns the rest in order", () => {
  const dir = tmpDir("wal");
  try {
    const { wal, records } = Wal.open(dir, 0);
    assert.equal(records.length, 0);
    const bodies = Array.from({ length: 10 }, (_, i) => new Uint8Array(i * 10).fill(i));
    const seqs: number[] = [];
    let closed = -1;
    for (let i = 0; i < 10; i++) {
      seqs.push(wal.append(bodies[i] as Uint8Array));
      if (i === 3) closed = wal.rotate();
      if (i === 6) wal.rotate();
    }
    assert.deepEqual(seqs, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    wal.dropThrough(closed);
    wal.close();
    assert.equal(readdirSync(dir).length, 2);
    const again = Wal.open(dir, 0);
    assert.deepEqual(
      again.records.map((r) => r.seq),
      [4, 5, 6, 7, 8, 9],
    );
    for (const r of again.records) assert.deepEqual(r.body, bodies[r.seq]);
    assert.equal(again.wal.append(Uint8Array.of(1)), 10, "appends continue after the last seq");
    again.wal.close();
  } finally {
    rmDir(dir);
  }
});

test("the log refuses bodies over its limit, and a closed log refuses appends, with codes", () => {
  const dir = tmpDir("wal");
  try {
    const { wal } = Wal.open(dir, 5);
    assert.equal(wal.append(Uint8Array.of(1)), 5, "an empty log starts at firstSeq");
    assert.throws(() => wal.append(new Uint8Array(256 * 1024 * 1024 + 1)), { code: "INVALID_ARGUMENT" });
    wal.close();
    assert.throws(() => wal.append(Uint8Array.of(1)), { code: "STORE_CLOSED" });
  } finally {
    rmDir(dir);
  }
});

test("frames round-trip; small and incompressible nodes stay raw; compressible large ones use the codec asked for", () => {
  const p = DEFAULT_COMPRESSION;
  const small = new Uint8Array(100).fill(7);
  assert.equal(frameFlags(encodeFrame(small, 3, p, ZSTD)), RAW, "below minBytes");
  const random = new Uint8Array(4096);
  for (let i = 0; i < random.length; i += 32) random.set(hash(Uint8Array.of(i & 0xff, i >> 8)), i);
  assert.equal(frameFlags(encodeFrame(random, 3, p, LZ4)), RAW, "incompressible");
  const text = new TextEncoder().encode(
    JSON.stringify(Array.from({ length: 200 }, (_, i) => ({ id: i, name: `file-${i}`, mode: 420 }))),
  );
  for (const kind of [LZ4, ZSTD]) {
    const f = encodeFrame(text, 0xdeadbeef, p, kind);
    assert.equal(frameFlags(f), kind);
    assert.equal(frameBirth(f), 0xdeadbeef);
    assert.ok(f.length < text.length / 2, `${kind} compresses JSON-like text`);
    assert.deepEqual(new Uint8Array(decodeFrame(f, () => "id")), text);
  }
  // (a flipped compressed frame that still decodes yields other bytes; the store's hash check catches
  // those — see corruption.test.ts)
  assert.throws(() => decodeFrame(Uint8Array.of(9, 0, 0, 0, 0, 1), () => "id"), { code: "STORE_CORRUPT" });
  assert.throws(() => decodeFrame(Uint8Array.of(0, 0), () => "id"), { code: "STORE_CORRUPT" });
});

test("L1 stays within its byte budget and keeps what is in use", () => {
  const budget = 1 << 20;
  const cache = new NodeCache(budget);
  const hot = hash(Uint8Array.of(255, 255));
  const node = new Uint8Array(500).fill(1);
  cache.insert(hot, 0, node, 0, node.length);
  for (let i = 0; i < 20_000; i++) {
    const id = hash(Uint8Array.of(i & 0xff, i >> 8));
    cache.insert(id, 0, node, 0, node.length);
    if (i % 100 === 0) assert.ok(cache.get(hot, 0) !== undefined, "a node read often survives turnovers");
    assert.ok(cache.bytes + cache.size * 16 <= budget + 600, `over budget: ${cache.bytes}`);
  }
  assert.ok(cache.size < 20_000 && cache.size > 500);
});

test("the GC mark set agrees with a Set of 128-bit prefixes", () => {
  fc.assert(
    fc.property(fc.array(fc.tuple(fc.nat(400), fc.boolean()), { maxLength: 3000 }), (ops) => {
      const s = new IdSet(16);
      const model = new Set<number>();
      for (const [i, add] of ops) {
        const id = i === 0 ? new Uint8Array(32) : hash(Uint8Array.of(i & 0xff, i >> 8));
        if (add) assert.equal(s.add(id, 0), !model.has(i));
        else assert.equal(s.has(id, 0), model.has(i));
        if (add) model.add(i);
      }
      assert.equal(s.size, model.size);
    }),
    fcParams(200),
  );
});
