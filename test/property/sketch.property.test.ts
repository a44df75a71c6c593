/**
 * The Bloom filter and HyperLogLog against a Set model. Bloom: no false
 * negatives ever (for any m, k and key lengths, including 32-byte digest-like
 * keys), through the codec and through union; bitsSet is the popcount.
 * HyperLogLog: merge equals the sketch of the union register for register,
 * merge is commutative and idempotent, duplicates change nothing, and the
 * codec round-trips. Replay with HELIOS_SEED.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { BloomFilter } from "../../src/core/bloom.js";
import { HyperLogLog } from "../../src/core/hll.js";
import { fcParams } from "../support/model.js";

const keyArb = fc.oneof(
  { weight: 3, arbitrary: fc.uint8Array({ maxLength: 40 }) },
  { weight: 2, arbitrary: fc.uint8Array({ minLength: 32, maxLength: 32 }) },
  { weight: 1, arbitrary: fc.constantFrom(new Uint8Array(0), new Uint8Array(32), Uint8Array.of(0)) },
);
const keysArb = fc.array(keyArb, { maxLength: 120 });

function popcount(b: Uint8Array): number {
  let n = 0;
  for (const x of b) for (let v = x; v !== 0; v &= v - 1) n++;
  return n;
}

test("Bloom: no false negatives, through the codec and union; bitsSet is the popcount", () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 5000 }),
      fc.integer({ min: 1, max: 32 }),
      keysArb,
      keysArb,
      (m, k, ka, kb) => {
        const a = new BloomFilter(m, k);
        const b = new BloomFilter(m, k);
        for (const key of ka) a.add(key);
        for (const key of kb) b.add(key);
        const bytes = a.toBytes();
        const a2 = BloomFilter.fromBytes(bytes);
        assert.deepEqual(a2.toBytes(), bytes);
        const u = a.union(b);
        for (const key of ka) {
          assert.ok(a.mightContain(key));
          assert.ok(a2.mightContain(key));
          assert.ok(u.mightContain(key));
        }
        for (const key of kb) assert.ok(u.mightContain(key));
        assert.equal(a.count, ka.length);
        assert.equal(u.count, ka.length + kb.length);
        assert.equal(a.bitsSet, popcount(bytes.subarray(14)));
        assert.ok(a.bitsSet <= Math.min(m, k * ka.length));
        assert.equal(a2.bitsSet, a.bitsSet);
        const e = a.estimatedFpRate();
        assert.ok(e >= 0 && e <= 1);
      },
    ),
    fcParams(),
  );
});

test("HyperLogLog: merge is the sketch of the union; commutative, idempotent; duplicates are no-ops", () => {
  fc.assert(
    fc.property(fc.integer({ min: 4, max: 12 }), keysArb, keysArb, (p, ka, kb) => {
      const a = new HyperLogLog(p);
      const b = new HyperLogLog(p);
      const all = new HyperLogLog(p);
      for (const key of ka) {
        a.add(key);
        all.add(key);
      }
      for (const key of kb) {
        b.add(key);
        all.add(key);
      }
      const ab = a.clone();
      ab.merge(b);
      const ba = b.clone();
      ba.merge(a);
      assert.deepEqual(ab.toBytes(), all.toBytes());
      assert.deepEqual(ba.toBytes(), all.toBytes());
      ab.merge(a);
      assert.deepEqual(ab.toBytes(), all.toBytes());
      for (const key of ka) all.add(key);
      assert.deepEqual(ab.toBytes(), all.toBytes());
      const round = HyperLogLog.fromBytes(all.toBytes());
      assert.deepEqual(round.toBytes(), all.toBytes());
      assert.equal(round.count(), all.count());
      const distinct = new Set([...ka, ...kb].map((x) => Buffer.from(x).toString("hex"))).size;
      if (distinct === 0) assert.equal(all.count(), 0);
      else assert.ok(all.count() >= 1);
    }),
    fcParams(),
  );
});
