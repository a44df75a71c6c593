import assert from "node:assert/strict";
import { test } from "node:test";
import { BLOOM_MAX_HASHES, BloomFilter } from "../../../src/core/bloom.js";
import { isHeliosError } from "../../../src/core/errors.js";
import { digests } from "../../support/digests.js";

/** A short (non-digest) key: the 8-byte little-endian encoding of i, so it takes the hashing path. */
function shortKey(i: number, into = new Uint8Array(8)): Uint8Array {
  new DataView(into.buffer, into.byteOffset, 8).setUint32(0, i, true);
  return into;
}

const throwsCode = (fn: () => unknown, code: "CODEC_MALFORMED" | "INVALID_ARGUMENT") =>
  assert.throws(fn, (e: unknown) => isHeliosError(e, code));

test("forCapacity picks the optimal m (whole bytes) and k", () => {
  const a = BloomFilter.forCapacity(100_000, 0.01);
  // m = ⌈−n ln p / ln²2⌉ = 958506 → 958512 bits; k = round(m/n · ln 2) = 7.
  assert.equal(a.bits, 958_512);
  assert.equal(a.hashes, 7);
  const b = BloomFilter.forCapacity(100_000, 0.001);
  assert.equal(b.bits % 8, 0);
  assert.ok(Math.abs(b.bits / 100_000 - 14.38) < 0.01);
  assert.equal(b.hashes, 10);
  const tiny = BloomFilter.forCapacity(0, 0.5);
  assert.ok(tiny.bits >= 8 && tiny.hashes >= 1);
  throwsCode(() => BloomFilter.forCapacity(-1, 0.01), "INVALID_ARGUMENT");
  throwsCode(() => BloomFilter.forCapacity(1.5, 0.01), "INVALID_ARGUMENT");
  throwsCode(() => BloomFilter.forCapacity(10, 0), "INVALID_ARGUMENT");
  throwsCode(() => BloomFilter.forCapacity(10, 1), "INVALID_ARGUMENT");
  throwsCode(() => BloomFilter.forCapacity(10, Number.NaN), "INVALID_ARGUMENT");
  throwsCode(() => BloomFilter.forCapacity(2 ** 40, 0.01), "INVALID_ARGUMENT");
});

test("the constructor rejects bits and hashes out of range", () => {
  for (const [m, k] of [
    [0, 1],
    [1.5, 1],
    [2 ** 32, 1],
    [64, 0],
    [64, BLOOM_MAX_HASHES + 1],
    [64, 2.5],
  ] as const) {
    throwsCode(() => new BloomFilter(m, k), "INVALID_ARGUMENT");
  }
  const f = new BloomFilter(13, 3);
  throwsCode(() => f.add("abc" as unknown as Uint8Array), "INVALID_ARGUMENT");
  throwsCode(() => f.mightContain([1, 2] as unknown as Uint8Array), "INVALID_ARGUMENT");
});

for (const fpRate of [0.01, 0.001]) {
  test(`at n = 100K and target ${fpRate}, the measured false-positive rate is within 1.5× of the target`, () => {
    const n = 100_000;
    const probes = fpRate === 0.01 ? 300_000 : 1_000_000;
    // Digest keys (read straight from the bytes).
    const d = BloomFilter.forCapacity(n, fpRate);
    const added = digests(0, n, 1);
    for (const k of added) d.add(k);
    for (const k of added) assert.ok(d.mightContain(k), "no false negatives");
    let fp = 0;
    for (const k of digests(n, probes, 1)) if (d.mightContain(k)) fp++;
    const measured = fp / probes;
    assert.ok(measured < fpRate * 1.5 && measured > fpRate / 1.5, `digest keys: measured ${measured}`);
    assert.ok(Math.abs(d.estimatedFpRate() / fpRate - 1) < 0.1, `estimate ${d.estimatedFpRate()}`);
    assert.equal(d.count, n);

    // Short keys (hashed with BLAKE3 first).
    const s = BloomFilter.forCapacity(n, fpRate);
    const key = new Uint8Array(8);
    for (let i = 0; i < n; i++) s.add(shortKey(i, key));
    for (let i = 0; i < n; i++) assert.ok(s.mightContain(shortKey(i, key)), "no false negatives");
    let fs = 0;
    for (let i = n; i < n + probes; i++) if (s.mightContain(shortKey(i, key))) fs++;
    const measuredShort = fs / probes;
    assert.ok(measuredShort < fpRate * 1.5 && measuredShort > fpRate / 1.5, `short keys: measured ${measuredShort}`);
  });
}

test("keys of exactly 32 bytes are read as digests: only their first 8 bytes choose the bits", () => {
  const f = new BloomFilter(1 << 16, 4);
  const a = new Uint8Array(32).fill(7);
  const b = a.slice();
  b[31] = 8; // differs only past byte 8
  f.add(a);
  assert.ok(f.mightContain(b));
  // A 31-byte key with the same prefix is hashed, so it does not share a's bits.
  assert.equal(f.mightContain(a.subarray(0, 31)), false);
  // The empty key is a key like any other.
  f.add(new Uint8Array(0));
  assert.ok(f.mightContain(new Uint8Array(0)));
});

test("count counts adds, bitsSet counts bits, duplicates set nothing new", () => {
  const f = new BloomFilter(1000, 5);
  const keys = digests(0, 50, 2);
  for (const k of keys) f.add(k);
  const ones = f.bitsSet;
  assert.ok(ones > 0 && ones <= 250);
  for (const k of keys) f.add(k);
  assert.equal(f.count, 100);
  assert.equal(f.bitsSet, ones);
  assert.equal(f.estimatedFpRate(), (ones / 1000) ** 5);
  assert.equal(new BloomFilter(8, 1).estimatedFpRate(), 0);
});

test("toBytes is canonical and round-trips; bit counts that are not whole bytes work", () => {
  for (const [m, k, n] of [
    [13, 3, 4],
    [1, 1, 1],
    [4096, 7, 300],
    [958_512, 7, 1000],
  ] as const) {
    const f = new BloomFilter(m, k);
    const keys = digests(0, n, 3);
    for (const key of keys) f.add(key);
    const bytes = f.toBytes();
    assert.equal(bytes.length, 14 + Math.ceil(m / 8));
    assert.equal(bytes[0], 1);
    const g = BloomFilter.fromBytes(bytes);
    assert.equal(g.bits, m);
    assert.equal(g.hashes, k);
    assert.equal(g.count, n);
    assert.equal(g.bitsSet, f.bitsSet);
    assert.deepEqual(g.toBytes(), bytes);
    for (const key of keys) assert.ok(g.mightContain(key));
    for (const key of digests(n, 200, 3)) assert.equal(g.mightContain(key), f.mightContain(key));
  }
  // A count above 2^32 survives the u64 field.
  const big = new BloomFilter(64, 2).toBytes();
  big[6] = 5;
  big[10] = 1; // count = 2^32 + 5 with no bits set is consistent
  assert.equal(BloomFilter.fromBytes(big).count, 2 ** 32 + 5);
  // A view into a larger buffer decodes too.
  const inner = new BloomFilter(20, 2).toBytes();
  const outer = new Uint8Array(inner.length + 6);
  outer.set(inner, 3);
  assert.deepEqual(BloomFilter.fromBytes(outer.subarray(3, 3 + inner.length)).toBytes(), inner);
});

test("fromBytes rejects malformed input with CODEC_MALFORMED", () => {
  const f = new BloomFilter(13, 3);
  f.add(Uint8Array.of(1));
  const good = f.toBytes();
  /** good with byte i replaced by each v in turn. */
  const patch = (...edits: [number, number][]): Uint8Array => {
    const b = good.slice();
    for (const [i, v] of edits) b[i] = v;
    return b;
  };
  const cases: [string, Uint8Array][] = [
    ["shorter than the header", good.subarray(0, 13)],
    ["truncated bits", good.subarray(0, good.length - 1)],
    ["a trailing byte", Uint8Array.from([...good, 0])],
    ["version 2", patch([0, 2])],
    ["m = 0", patch([1, 0])],
    ["k = 0", patch([5, 0])],
    ["k = 33", patch([5, 33])],
    ["bit 13 set, past m", patch([14, 0], [15, 0x20])],
    ["bits set but no adds", patch([6, 0])],
    ["count above 2^53", patch([13, 0x20])],
    ["empty", new Uint8Array(0)],
  ];
  for (const [what, b] of cases) {
    assert.throws(
      () => BloomFilter.fromBytes(b),
      (e: unknown) => isHeliosError(e, "CODEC_MALFORMED"),
      what,
    );
  }
  throwsCode(() => BloomFilter.fromBytes("x" as unknown as Uint8Array), "INVALID_ARGUMENT");
  assert.deepEqual(BloomFilter.fromBytes(good).toBytes(), good);
});

test("union holds the keys of both and needs the same parameters", () => {
  const a = new BloomFilter(2048, 4);
  const b = new BloomFilter(2048, 4);
  const ka = digests(0, 100, 4);
  const kb = digests(100, 100, 4);
  for (const k of ka) a.add(k);
  for (const k of kb) b.add(k);
  const u = a.union(b);
  for (const k of [...ka, ...kb]) assert.ok(u.mightContain(k));
  assert.equal(u.count, 200);
  // The union equals the filter fed both sets.
  const both = new BloomFilter(2048, 4);
  for (const k of [...ka, ...kb]) both.add(k);
  assert.deepEqual(u.toBytes(), both.toBytes());
  assert.equal(u.bitsSet, both.bitsSet);
  // The operands are unchanged.
  assert.equal(a.count, 100);
  throwsCode(() => a.union(new BloomFilter(2048, 5)), "INVALID_ARGUMENT");
  throwsCode(() => a.union(new BloomFilter(2056, 4)), "INVALID_ARGUMENT");
  throwsCode(() => a.union({} as BloomFilter), "INVALID_ARGUMENT");
});
