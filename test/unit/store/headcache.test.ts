/** The head value cache: keys of different lengths never collide; commits keep entries fresh; it is bounded. */
import assert from "node:assert/strict";
import { test } from "node:test";
import { HeadCache } from "../../../src/history/headcache.js";

test("keys of every length up to 40 bytes, and the same key in two trees, are distinct entries", () => {
  const c = new HeadCache(1 << 16);
  const keys: Uint8Array[] = [];
  for (let n = 0; n <= 40; n++) {
    keys.push(
      new Uint8Array(n).fill(0xff),
      new Uint8Array(n),
      Uint8Array.from({ length: n }, (_, i) => i),
    );
  }
  keys.push(Uint8Array.of(29, 0, ...new Uint8Array(30).fill(7)), Uint8Array.of(...new Uint8Array(29).fill(7)));
  for (const [i, k] of keys.entries()) {
    c.remember("a", k, Uint8Array.of(i));
    c.remember("b", k, Uint8Array.of(i, 1));
  }
  // the last remember of equal keys wins; every distinct key must read back its own last value
  const last = new Map<string, number>();
  for (const [i, k] of keys.entries()) last.set(`${Buffer.from(k).toString("hex")}/${k.length}`, i);
  for (const [id, i] of last) assert.deepEqual(c.get("a", keys[i] as Uint8Array), Uint8Array.of(i), `key ${id}`);
  assert.ok(last.size > 100);
  assert.deepEqual(c.get("b", keys[5] as Uint8Array)?.[1], 1);
});

test("a commit updates cached keys (last op wins, deletes become absent); unknown keys are not added; values are copies", () => {
  const c = new HeadCache(100);
  const k = Uint8Array.of(1, 2, 3);
  c.remember("t", k, Uint8Array.of(1));
  c.remember("t", Uint8Array.of(9), undefined);
  c.applied([
    [
      "t",
      [
        { key: k, value: Uint8Array.of(2) },
        { key: k, value: Uint8Array.of(3) },
        { key: Uint8Array.of(7), value: Uint8Array.of(7) },
      ],
    ],
  ]);
  assert.deepEqual(c.get("t", k), Uint8Array.of(3));
  assert.equal(c.get("t", Uint8Array.of(9)), null, "cached as absent");
  assert.equal(c.get("t", Uint8Array.of(7)), undefined, "not cached");
  c.applied([["t", [{ key: k, value: null }]]]);
  assert.equal(c.get("t", k), null);
  c.remember("t", k, Uint8Array.of(5));
  const v = c.get("t", k) as Uint8Array;
  v[0] = 99;
  assert.deepEqual(c.get("t", k), Uint8Array.of(5));
});

test("two generations of at most `limit` entries", () => {
  const c = new HeadCache(50);
  for (let i = 0; i < 1000; i++) c.remember("t", Uint8Array.of(i & 255, i >> 8), Uint8Array.of(1));
  assert.ok(c.size <= 100, String(c.size));
  assert.deepEqual(c.get("t", Uint8Array.of(999 & 255, 999 >> 8)), Uint8Array.of(1));
});
