import assert from "node:assert/strict";
import { test } from "node:test";
import { isHeliosError } from "../../../src/core/errors.js";
import { digests } from "../../support/digests.js";
import { HyperLogLog } from "../../../src/core/hll.js";

const throwsCode = (fn: () => unknown, code: "CODEC_MALFORMED" | "INVALID_ARGUMENT") =>
  assert.throws(fn, (e: unknown) => isHeliosError(e, code));

/** |estimate − n| within 3 standard errors of n (exact for n = 0). */
function assertWithin3Se(h: HyperLogLog, n: number, what: string): void {
  const est = h.count();
  const bound = 3 * h.standardError * n;
  assert.ok(Math.abs(est - n) <= bound, `${what}: estimate ${est} for n = ${n} (bound ±${bound.toFixed(1)})`);
}

test("precision is an integer in 4..18 and sizes the registers", () => {
  assert.equal(new HyperLogLog().precision, 14);
  assert.equal(new HyperLogLog().toBytes().length, 2 + (1 << 14));
  for (const p of [4, 18]) assert.equal(new HyperLogLog(p).toBytes().length, 2 + (1 << p));
  for (const p of [3, 19, 14.5, Number.NaN, "14"]) {
    throwsCode(() => new HyperLogLog(p as number), "INVALID_ARGUMENT");
  }
  throwsCode(() => new HyperLogLog().add("k" as unknown as Uint8Array), "INVALID_ARGUMENT");
});

test("p = 14: count is within 3 standard errors at n = 0, 1, 10, 1K, 100K, 1M (digest keys)", () => {
  const keys = digests(0, 1_000_000, 1);
  const h = new HyperLogLog(14);
  let i = 0;
  for (const n of [0, 1, 10, 1000, 100_000, 1_000_000]) {
    for (; i < n; i++) h.add(keys[i] as Uint8Array);
    assertWithin3Se(h, n, "p=14");
  }
  assert.equal(new HyperLogLog().count(), 0);
});

test("other precisions and short (hashed) keys stay within 3 standard errors", () => {
  const keys = digests(0, 100_000, 2);
  for (const p of [4, 10, 18]) {
    const h = new HyperLogLog(p);
    let i = 0;
    for (const n of [1000, 100_000]) {
      for (; i < n; i++) h.add(keys[i] as Uint8Array);
      assertWithin3Se(h, n, `p=${p}`);
    }
  }
  const s = new HyperLogLog(14);
  const key = new Uint8Array(12);
  const view = new DataView(key.buffer);
  for (let i = 0; i < 100_000; i++) {
    view.setUint32(0, i, true);
    s.add(key);
  }
  assertWithin3Se(s, 100_000, "short keys");
});

test("while most registers are empty, the estimate agrees with linear counting m·ln(m/V)", () => {
  const keys = digests(0, 16_384, 3);
  const h = new HyperLogLog(14);
  const m = 1 << 14;
  let i = 0;
  for (const n of [2, 50, 500, 5000, 16_384]) {
    for (; i < n; i++) h.add(keys[i] as Uint8Array);
    let zeros = 0;
    for (const r of h.toBytes().subarray(2)) if (r === 0) zeros++;
    const linear = m * Math.log(m / zeros);
    assert.ok(Math.abs(h.count() - linear) <= 1 + 0.002 * n, `n=${n}: ${h.count()} vs linear ${linear}`);
  }
});

test("adding duplicates changes nothing", () => {
  const keys = digests(0, 5000, 4);
  const h = new HyperLogLog(12);
  for (const k of keys) h.add(k);
  const before = h.toBytes();
  const c = h.count();
  for (let rep = 0; rep < 3; rep++) for (const k of keys) h.add(k);
  assert.deepEqual(h.toBytes(), before);
  assert.equal(h.count(), c);
});

test("merge is the count of the union, is idempotent, and needs the same precision", () => {
  const a = new HyperLogLog(14);
  const b = new HyperLogLog(14);
  const all = new HyperLogLog(14);
  // 60K + 60K keys with 20K in common: 100K distinct.
  const ka = digests(0, 60_000, 5);
  const kb = digests(40_000, 60_000, 5);
  for (const k of ka) {
    a.add(k);
    all.add(k);
  }
  for (const k of kb) {
    b.add(k);
    all.add(k);
  }
  const m = a.clone();
  m.merge(b);
  assert.deepEqual(m.toBytes(), all.toBytes(), "merge equals the sketch of the union, register for register");
  assertWithin3Se(m, 100_000, "merged");
  const once = m.toBytes();
  m.merge(b);
  m.merge(m.clone());
  assert.deepEqual(m.toBytes(), once, "idempotent");
  // Commutative.
  const m2 = b.clone();
  m2.merge(a);
  assert.deepEqual(m2.toBytes(), once);
  // clone is independent: merging into the clone left a alone.
  assertWithin3Se(a, 60_000, "a after merges into its clone");
  throwsCode(() => a.merge(new HyperLogLog(13)), "INVALID_ARGUMENT");
  throwsCode(() => a.merge({} as HyperLogLog), "INVALID_ARGUMENT");
});

test("toBytes round-trips; fromBytes rejects malformed input", () => {
  const h = new HyperLogLog(10);
  for (const k of digests(0, 3000, 6)) h.add(k);
  const bytes = h.toBytes();
  assert.equal(bytes[0], 1);
  assert.equal(bytes[1], 10);
  const g = HyperLogLog.fromBytes(bytes);
  assert.equal(g.precision, 10);
  assert.equal(g.count(), h.count());
  assert.deepEqual(g.toBytes(), bytes);
  const patch = (i: number, v: number): Uint8Array => {
    const b = bytes.slice();
    b[i] = v;
    return b;
  };
  const cases: [string, Uint8Array][] = [
    ["shorter than the header", bytes.subarray(0, 1)],
    ["truncated registers", bytes.subarray(0, bytes.length - 1)],
    ["a trailing byte", Uint8Array.from([...bytes, 0])],
    ["version 0", patch(0, 0)],
    ["p = 3", patch(1, 3)],
    ["p = 19", patch(1, 19)],
    ["p = 11: the length no longer matches", patch(1, 11)],
    ["rank 56 > 64 − 10 + 1", patch(100, 56)],
  ];
  for (const [what, b] of cases) {
    assert.throws(
      () => HyperLogLog.fromBytes(b),
      (e: unknown) => isHeliosError(e, "CODEC_MALFORMED"),
      what,
    );
  }
  throwsCode(() => HyperLogLog.fromBytes(null as unknown as Uint8Array), "INVALID_ARGUMENT");
  // The largest rank is accepted, and a fully saturated sketch reports a finite bound.
  const sat = new Uint8Array(2 + 1024).fill(55);
  sat[0] = 1;
  sat[1] = 10;
  assert.equal(HyperLogLog.fromBytes(sat).count(), 2 ** 64);
});
