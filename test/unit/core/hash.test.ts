/**
 * core/hash — the native BLAKE3 kernel against the official vectors and
 * against @noble/hashes (an independent implementation) as an oracle.
 *
 * Random tests use a seeded PRNG; the seed is printed in every failure
 * message. Re-run a failure with HELIOS_SEED=<seed>.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { test } from "node:test";
import { fileURLToPath, pathToFileURL } from "node:url";
import { blake3 } from "@noble/hashes/blake3.js";
import { isHeliosError } from "../../../src/core/errors.js";
import { HASH_BYTES, hash, hashInto, hashMany, hashPairs, kernelInfo, keyFromContext } from "../../../src/core/hash.js";

interface VectorCase {
  input_len: number;
  hash: string;
  keyed_hash: string;
  derive_key: string;
}
interface Vectors {
  key: string;
  cases: VectorCase[];
}

const here = path.dirname(fileURLToPath(import.meta.url));

function repoRoot(): string {
  let dir = here;
  while (!existsSync(path.join(dir, "test", "vectors", "blake3.json"))) {
    const up = path.dirname(dir);
    assert.notEqual(up, dir, "test/vectors/blake3.json not found above the test");
    dir = up;
  }
  return dir;
}
const ROOT = repoRoot();
const VECTORS = JSON.parse(readFileSync(path.join(ROOT, "test", "vectors", "blake3.json"), "utf8")) as Vectors;

const SEED = Number(process.env.HELIOS_SEED ?? Math.floor(Math.random() * 2 ** 31));
const at = (what: string): string => `${what} (seed=${SEED}; re-run with HELIOS_SEED=${SEED})`;

/** mulberry32: small seeded PRNG, good enough to pick test inputs. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const rand = prng(SEED);
const randInt = (n: number): number => Math.floor(rand() * n);
function randBytes(n: number): Uint8Array {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = randInt(256);
  return b;
}

const hex = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString("hex");

function vectorInput(n: number): Uint8Array {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = i % 251;
  return b;
}

/** 32 key bytes → the 8 little-endian words the API takes. */
function keyWords(bytes: Uint8Array): Uint32Array {
  assert.equal(bytes.length, 32);
  const v = new DataView(bytes.buffer, bytes.byteOffset, 32);
  const w = new Uint32Array(8);
  for (let i = 0; i < 8; i++) w[i] = v.getUint32(4 * i, true);
  return w;
}
const VECTOR_KEY_BYTES = new TextEncoder().encode(VECTORS.key);
const VECTOR_KEY = keyWords(VECTOR_KEY_BYTES);

function oracle(msg: Uint8Array, keyBytes: Uint8Array | null): string {
  return hex(keyBytes === null ? blake3(msg) : blake3(msg, { key: keyBytes }));
}

/** Concatenates messages; returns data and offsets for hashMany. */
function pack(msgs: readonly Uint8Array[]): { data: Uint8Array; offsets: Uint32Array } {
  const offsets = new Uint32Array(msgs.length + 1);
  for (let i = 0; i < msgs.length; i++) offsets[i + 1] = (offsets[i] as number) + (msgs[i] as Uint8Array).length;
  const data = new Uint8Array(offsets[msgs.length] as number);
  for (let i = 0; i < msgs.length; i++) data.set(msgs[i] as Uint8Array, offsets[i]);
  return { data, offsets };
}

function shuffle<T>(xs: T[]): T[] {
  for (let i = xs.length - 1; i > 0; i--) {
    const j = randInt(i + 1);
    [xs[i], xs[j]] = [xs[j] as T, xs[i] as T];
  }
  return xs;
}

function slot(out: Uint8Array, s: number): Uint8Array {
  return out.subarray(HASH_BYTES * s, HASH_BYTES * s + HASH_BYTES);
}

function expectInvalid(fn: () => unknown, what: string): void {
  assert.throws(fn, (e: unknown) => isHeliosError(e, "INVALID_ARGUMENT"), what);
}

test("kernelInfo names a native implementation", () => {
  assert.match(kernelInfo.impl, /^native-(avx2|portable)$/);
  assert.equal(HASH_BYTES, 32);
});

test("the vectors file has the official cases", () => {
  assert.equal(VECTORS.key, "whats the Elvish word for friend");
  const lens = VECTORS.cases.map((c) => c.input_len);
  assert.ok(lens.includes(0) && lens.includes(1024) && lens.includes(1025) && lens.includes(102400));
  assert.equal(VECTORS.cases.length, 22);
});

test("official vectors: hash mode via hash and hashInto", () => {
  for (const c of VECTORS.cases) {
    const msg = vectorInput(c.input_len);
    const want = c.hash.slice(0, 64);
    assert.equal(hex(hash(msg)), want, `hash len=${c.input_len}`);
    assert.equal(hex(hash(msg, null)), want, `hash(null key) len=${c.input_len}`);
    const out = new Uint8Array(32 + 64).fill(0xee);
    hashInto(msg, out, 37);
    assert.equal(hex(out.subarray(37, 69)), want, `hashInto len=${c.input_len}`);
    assert.ok(
      out.subarray(0, 37).every((x) => x === 0xee),
      "bytes before the digest untouched",
    );
    assert.ok(
      out.subarray(69).every((x) => x === 0xee),
      "bytes after the digest untouched",
    );
  }
});

test("official vectors: keyed_hash mode via hash and hashInto", () => {
  for (const c of VECTORS.cases) {
    const msg = vectorInput(c.input_len);
    const want = c.keyed_hash.slice(0, 64);
    assert.equal(hex(hash(msg, VECTOR_KEY)), want, `keyed hash len=${c.input_len}`);
    const out = new Uint8Array(32);
    hashInto(msg, out, 0, VECTOR_KEY);
    assert.equal(hex(out), want, `keyed hashInto len=${c.input_len}`);
  }
});

test("official vectors: all in one hashMany batch, mixed order, with outSlots", () => {
  const order = shuffle(VECTORS.cases.map((_, i) => i));
  const msgs = order.map((i) => vectorInput((VECTORS.cases[i] as VectorCase).input_len));
  const { data, offsets } = pack(msgs);
  const n = order.length;
  // Digest of batch item j goes to slot 2*order[j]+1 of a slab twice as big.
  const slots = new Int32Array(order.map((i) => 2 * i + 1));
  for (const keyed of [false, true]) {
    const out = new Uint8Array(HASH_BYTES * 2 * n);
    hashMany(data, offsets, n, out, slots, keyed ? VECTOR_KEY : null);
    VECTORS.cases.forEach((c, i) => {
      const want = (keyed ? c.keyed_hash : c.hash).slice(0, 64);
      assert.equal(hex(slot(out, 2 * i + 1)), want, `hashMany keyed=${keyed} len=${c.input_len}`);
      assert.ok(
        slot(out, 2 * i).every((x) => x === 0),
        "even slots untouched",
      );
    });
    // Without outSlots: digest j at slot j.
    const out2 = new Uint8Array(HASH_BYTES * n);
    hashMany(data, offsets, n, out2, null, keyed ? VECTOR_KEY : null);
    order.forEach((i, j) => {
      const c = VECTORS.cases[i] as VectorCase;
      assert.equal(hex(slot(out2, j)), (keyed ? c.keyed_hash : c.hash).slice(0, 64));
    });
  }
});

test("differential vs @noble/hashes: every length 0..5000, single calls, both modes", () => {
  const keyBytes = randBytes(32);
  const key = keyWords(keyBytes);
  const big = randBytes(5000);
  const out = new Uint8Array(32);
  for (let n = 0; n <= 5000; n++) {
    const msg = big.subarray(0, n);
    assert.equal(hex(hash(msg)), oracle(msg, null), at(`hash len=${n}`));
    hashInto(msg, out, 0, key);
    assert.equal(hex(out), oracle(msg, keyBytes), at(`keyed hashInto len=${n}`));
  }
});

test("differential: long messages through the tree path (group boundaries, > 64 chunks)", () => {
  const keyBytes = randBytes(32);
  const key = keyWords(keyBytes);
  const lens = [
    64 * 1024 - 1,
    64 * 1024,
    64 * 1024 + 1,
    65 * 1024,
    128 * 1024,
    128 * 1024 + 7,
    192 * 1024 + 1024,
    1 << 20,
    (1 << 20) + 12345,
    3 * (1 << 20) + 999,
  ];
  for (const n of lens) {
    const msg = randBytes(n);
    assert.equal(hex(hash(msg)), oracle(msg, null), at(`hash len=${n}`));
    assert.equal(hex(hash(msg, key)), oracle(msg, keyBytes), at(`keyed len=${n}`));
  }
  const msgs = lens.slice(0, 6).map((n) => randBytes(n));
  const { data, offsets } = pack(msgs);
  const out = new Uint8Array(HASH_BYTES * msgs.length);
  hashMany(data, offsets, msgs.length, out, null, key);
  msgs.forEach((m, i) => {
    assert.equal(hex(slot(out, i)), oracle(m, keyBytes), at(`hashMany long i=${i}`));
  });
});

test("differential: random batches of mixed lengths 0..3000, with and without outSlots and key", () => {
  for (let round = 0; round < 40; round++) {
    const count = 1 + randInt(round < 30 ? 60 : 400);
    const msgs = Array.from({ length: count }, () => randBytes(randInt(3001)));
    const keyBytes = round % 2 === 1 ? randBytes(32) : null;
    const key = keyBytes === null ? null : keyWords(keyBytes);
    const { data, offsets } = pack(msgs);
    const useSlots = round % 3 !== 0;
    const nslots = useSlots ? count + randInt(10) : count;
    const slots = useSlots
      ? new Int32Array(shuffle(Array.from({ length: nslots }, (_, i) => i)).slice(0, count))
      : null;
    const out = new Uint8Array(HASH_BYTES * nslots);
    hashMany(data, offsets, count, out, slots, key);
    msgs.forEach((m, i) => {
      const s = slots === null ? i : (slots[i] as number);
      assert.equal(hex(slot(out, s)), oracle(m, keyBytes), at(`round=${round} i=${i} len=${m.length}`));
    });
  }
});

test("differential: uniform batches (fast paths: 64-byte nodes, whole blocks, full chunks)", () => {
  for (const len of [0, 1, 32, 63, 64, 65, 128, 512, 1000, 1024, 1025, 2048, 8192]) {
    for (const count of [1, 7, 8, 9, 16, 33]) {
      const msgs = Array.from({ length: count }, () => randBytes(len));
      const keyBytes = count % 2 === 0 ? randBytes(32) : null;
      const { data, offsets } = pack(msgs);
      const out = new Uint8Array(HASH_BYTES * count);
      hashMany(data, offsets, count, out, null, keyBytes === null ? null : keyWords(keyBytes));
      msgs.forEach((m, i) => {
        assert.equal(hex(slot(out, i)), oracle(m, keyBytes), at(`uniform len=${len} count=${count} i=${i}`));
      });
    }
  }
});

test("hashMany reads data through a subarray view (byteOffset) and accepts Buffers", () => {
  const backing = randBytes(5000);
  const data = backing.subarray(123, 123 + 2000);
  const offsets = new Uint32Array([0, 64, 128, 128, 1200, 2000]);
  const out = Buffer.alloc(32 * 5);
  hashMany(Buffer.from(data), offsets, 5, out, null, null);
  for (let i = 0; i < 5; i++) {
    const m = data.subarray(offsets[i], offsets[i + 1]);
    assert.equal(hex(slot(out, i)), oracle(m, null));
  }
  const out2 = new Uint8Array(32 * 5);
  hashMany(data, offsets, 5, out2, null, null);
  assert.deepEqual(out2, new Uint8Array(out));
});

test("hashPairs matches the oracle on random slabs, keyed and unkeyed", () => {
  for (const count of [0, 1, 7, 8, 9, 100, 1001]) {
    for (const keyed of [false, true]) {
      const nslots = 2 * count + 16;
      const slab = randBytes(HASH_BYTES * nslots);
      const before = slab.slice();
      // Outputs go to distinct slots that no item reads (items independent).
      const perm = shuffle(Array.from({ length: nslots }, (_, i) => i));
      const outs = perm.slice(0, count);
      const inputs = perm.slice(count);
      const triples = new Int32Array(3 * count);
      for (let i = 0; i < count; i++) {
        triples[3 * i] = inputs[randInt(inputs.length)] as number;
        triples[3 * i + 1] = inputs[randInt(inputs.length)] as number;
        triples[3 * i + 2] = outs[i] as number;
      }
      const keyBytes = keyed ? randBytes(32) : null;
      hashPairs(slab, triples, count, keyBytes === null ? null : keyWords(keyBytes));
      const written = new Set(outs);
      for (let i = 0; i < count; i++) {
        const msg = new Uint8Array(64);
        msg.set(slot(before, triples[3 * i] as number), 0);
        msg.set(slot(before, triples[3 * i + 1] as number), 32);
        assert.equal(
          hex(slot(slab, triples[3 * i + 2] as number)),
          oracle(msg, keyBytes),
          at(`pairs count=${count} i=${i}`),
        );
      }
      for (let s = 0; s < nslots; s++) {
        if (!written.has(s)) assert.deepEqual(slot(slab, s), slot(before, s), at(`slot ${s} must be untouched`));
      }
    }
  }
});

test("hashPairs: an item may overwrite its own input slot", () => {
  const slab = randBytes(32 * 20);
  const before = slab.slice();
  const triples = new Int32Array([0, 1, 0, 3, 2, 2, 5, 5, 5]); // out = left, out = right, all the same
  hashPairs(slab, triples, 3, null);
  const cat = (a: number, b: number): Uint8Array => {
    const m = new Uint8Array(64);
    m.set(slot(before, a), 0);
    m.set(slot(before, b), 32);
    return m;
  };
  assert.equal(hex(slot(slab, 0)), oracle(cat(0, 1), null));
  assert.equal(hex(slot(slab, 2)), oracle(cat(3, 2), null));
  assert.equal(hex(slot(slab, 5)), oracle(cat(5, 5), null));
});

test("hashPairs equals hash of the 64-byte concatenation (a Merkle layer)", () => {
  const leaves = 37;
  const slab = randBytes(32 * (2 * leaves));
  const pairs = Math.floor(leaves / 2);
  const triples = new Int32Array(3 * pairs);
  for (let i = 0; i < pairs; i++) triples.set([2 * i, 2 * i + 1, leaves + i], 3 * i);
  const copy = slab.slice();
  hashPairs(slab, triples, pairs, null);
  for (let i = 0; i < pairs; i++) {
    assert.deepEqual(slot(slab, leaves + i), hash(copy.subarray(64 * i, 64 * i + 64)));
  }
});

test("keyFromContext is the plain hash of the UTF-8 context, as 8 LE words", () => {
  for (const ctx of ["", "helios/merkle/node v1", "ünïcødé ✓"]) {
    const k = keyFromContext(ctx);
    assert.ok(k instanceof Uint32Array && k.length === 8);
    const d = blake3(new TextEncoder().encode(ctx));
    assert.deepEqual(k, keyWords(d));
    const msg = randBytes(100);
    assert.equal(hex(hash(msg, k)), oracle(msg, d));
  }
  const ctx: unknown = 42;
  expectInvalid(() => keyFromContext(ctx as string), "non-string context");
});

test("empty batches are no-ops", () => {
  const out = new Uint8Array(32).fill(7);
  hashMany(new Uint8Array(0), new Uint32Array(0), 0, out, null, null);
  hashMany(new Uint8Array(0), new Uint32Array([0]), 0, new Uint8Array(0), null, null);
  hashPairs(new Uint8Array(0), new Int32Array(0), 0, null);
  assert.ok(out.every((x) => x === 7));
  hashMany(new Uint8Array(0), new Uint32Array([0, 0]), 1, out, null, null);
  assert.equal(hex(out), oracle(new Uint8Array(0), null));
});

test("bad arguments throw INVALID_ARGUMENT (checked in TypeScript)", () => {
  const data = randBytes(100);
  const out = new Uint8Array(64);
  const any = (x: unknown): never => x as never;
  // hash / hashInto
  expectInvalid(() => hash(any([1, 2, 3])), "data not a Uint8Array");
  expectInvalid(() => hash(any("abc")), "data a string");
  expectInvalid(() => hashInto(data, out, 33), "outOff + 32 > out.length");
  expectInvalid(() => hashInto(data, out, -1), "negative outOff");
  expectInvalid(() => hashInto(data, out, 1.5), "fractional outOff");
  expectInvalid(() => hashInto(data, new Uint8Array(31), 0), "out too small");
  expectInvalid(() => hashInto(data, any(new Uint16Array(32)), 0), "out wrong type");
  // keys
  expectInvalid(() => hash(data, new Uint32Array(7)), "7-word key");
  expectInvalid(() => hash(data, new Uint32Array(9)), "9-word key");
  expectInvalid(() => hash(data, any(new Uint8Array(32))), "key as bytes");
  expectInvalid(() => hashMany(data, new Uint32Array([0, 10]), 1, out, null, new Uint32Array(4)), "short key");
  expectInvalid(() => hashPairs(new Uint8Array(96), new Int32Array([0, 1, 2]), 1, any(new Int32Array(8))), "key type");
  // hashMany
  expectInvalid(() => hashMany(data, new Uint32Array([0, 101]), 1, out, null, null), "offset beyond data");
  expectInvalid(() => hashMany(data, new Uint32Array([0, 10]), 2, out, null, null), "count > offsets.length - 1");
  expectInvalid(() => hashMany(data, new Uint32Array([0, 10]), -1, out, null, null), "negative count");
  expectInvalid(() => hashMany(data, new Uint32Array([0, 10]), 0.5, out, null, null), "fractional count");
  expectInvalid(() => hashMany(data, any(new Int32Array([0, 10])), 1, out, null, null), "offsets wrong type");
  expectInvalid(() => hashMany(any([1]), new Uint32Array([0, 1]), 1, out, null, null), "data wrong type");
  expectInvalid(() => hashMany(data, new Uint32Array([0, 1, 2, 3]), 3, out, null, null), "out too small");
  expectInvalid(() => hashMany(data, new Uint32Array([0, 1, 2]), 2, out, new Int32Array([0]), null), "slots short");
  expectInvalid(() => hashMany(data, new Uint32Array([0, 1]), 1, out, any(new Uint32Array([0])), null), "slots type");
  // hashPairs
  expectInvalid(() => hashPairs(new Uint8Array(96), new Int32Array([0, 1]), 1, null), "triples too short");
  expectInvalid(() => hashPairs(new Uint8Array(96), any(new Uint32Array([0, 1, 2])), 1, null), "triples type");
  expectInvalid(() => hashPairs(any(null), new Int32Array([0, 1, 2]), 1, null), "slab type");
  expectInvalid(() => hashPairs(new Uint8Array(96), new Int32Array([0, 1, 2]), Number.NaN, null), "NaN count");
});

test("bad arguments caught in C: offsets order, slot and triple indices; nothing written", () => {
  const data = randBytes(100);
  const out = new Uint8Array(64).fill(9);
  const check = (fn: () => unknown, what: string, index?: number): void => {
    assert.throws(
      fn,
      (e: unknown) => isHeliosError(e, "INVALID_ARGUMENT") && (index === undefined || e.context.index === index),
      what,
    );
    assert.ok(
      out.every((x) => x === 9),
      `${what}: out untouched`,
    );
  };
  check(() => hashMany(data, new Uint32Array([0, 50, 10]), 2, out, null, null), "decreasing offsets", 1);
  check(() => hashMany(data, new Uint32Array([0, 500, 100]), 2, out, null, null), "middle offset beyond data", 1);
  check(() => hashMany(data, new Uint32Array([0, 1, 2]), 2, out, new Int32Array([0, 2]), null), "slot past end", 1);
  check(() => hashMany(data, new Uint32Array([0, 1, 2]), 2, out, new Int32Array([-1, 0]), null), "negative slot", 0);
  check(
    () => hashMany(data, new Uint32Array([0, 1]), 1, new Uint8Array(40), new Int32Array([1]), null),
    "partial slot",
  );
  const slab = randBytes(96);
  const before = slab.slice();
  check(() => hashPairs(slab, new Int32Array([0, 1, 2, 0, 3, 1]), 2, null), "triple index past slab", 4);
  check(() => hashPairs(slab, new Int32Array([0, 1, 2, -5, 1, 1]), 2, null), "negative triple index", 3);
  assert.deepEqual(slab, before, "slab untouched after a rejected call");
});

test("the native addon itself rejects garbage without crashing (no TypeScript checks)", () => {
  const require = createRequire(import.meta.url);
  const N = require(path.join(ROOT, "build", "Release", "helios_blake3.node")) as Record<
    string,
    (...args: unknown[]) => unknown
  >;
  const isFail = (r: unknown): boolean => Array.isArray(r) && typeof r[0] === "number" && r[0] > 0;
  const d = new Uint8Array(10);
  const o = new Uint8Array(64);
  const cases: [string, unknown[]][] = [
    ["hash", []],
    ["hash", [d, o, 40, null]],
    ["hash", [d, o, -1, null]],
    ["hash", [d, o, 2 ** 60, null]],
    ["hash", [d, o, Number.NaN, null]],
    ["hash", [d, o, 0, new Uint32Array(3)]],
    ["hash", [[1, 2], o, 0, null]],
    ["hash", [d, new Uint8ClampedArray(32), 0, null]],
    ["hashMany", [d, new Uint32Array([0, 11]), 1, o, null, null]],
    ["hashMany", [d, new Uint32Array([0, 5]), 2, o, null, null]],
    ["hashMany", [d, new Uint32Array([0, 5]), 1e12, o, null, null]],
    ["hashMany", [d, new Uint32Array([0, 5]), -1, o, null, null]],
    ["hashMany", [d, new Uint32Array([0, 5]), "1", o, null, null]],
    ["hashMany", [d, new Uint32Array([0, 5, 6, 7]), 3, o, null, null]],
    ["hashMany", [d, new Uint32Array([0, 5]), 1, o, new Int32Array([2]), null]],
    ["hashMany", [d, new Uint32Array([0, 5]), 1, o, new Int32Array(0), null]],
    ["hashMany", [d, new Uint32Array([0, 5]), 1, o, {}, null]],
    ["hashMany", [d, new Uint32Array([0, 5]), 1, o, null, 7]],
    ["hashPairs", [new Uint8Array(64), new Int32Array([0, 1, 2]), 1, null]],
    ["hashPairs", [new Uint8Array(96), new Int32Array([0, 1, 2]), 2, null]],
    ["hashPairs", [new Uint8Array(96), new Int32Array([0, 1, 2147483647]), 1, null]],
    ["hashPairs", [new Uint8Array(96), [0, 1, 2], 1, null]],
    ["hashScratch", [5000, 0]],
    ["hashScratch", ["x", 0]],
  ];
  for (const [fn, args] of cases) {
    const f = N[fn];
    assert.ok(f, fn);
    assert.ok(isFail(f(...args)), `${fn}(${args.map((a) => String(a)).join(", ")}) must fail cleanly`);
  }
  assert.equal(N.hashMany?.(d, new Uint32Array([0, 5]), 1, o, null, null), undefined, "a good call returns undefined");
});

test("the portable fallback (HELIOS_BLAKE3_IMPL=portable) agrees with the oracle", () => {
  const mod = pathToFileURL(path.join(ROOT, "dist", "src", "core", "hash.js")).href;
  const script = `
    import { hash, hashMany, hashPairs, kernelInfo } from ${JSON.stringify(mod)};
    const key = new Uint32Array([1, 2, 3, 4, 5, 6, 7, 0xffffffff]);
    const lens = [0, 1, 63, 64, 65, 511, 512, 1023, 1024, 1025, 2049, 4096, 70000, 66 * 1024];
    const mk = (n, s) => { const b = new Uint8Array(n); for (let i = 0; i < n; i++) b[i] = (i * 31 + s) & 255; return b; };
    const msgs = lens.map((n, i) => mk(n, i));
    const hx = (b) => Buffer.from(b).toString("hex");
    const single = msgs.map((m) => [hx(hash(m)), hx(hash(m, key))]);
    const offsets = new Uint32Array(msgs.length + 1);
    msgs.forEach((m, i) => { offsets[i + 1] = offsets[i] + m.length; });
    const data = new Uint8Array(offsets[msgs.length]);
    msgs.forEach((m, i) => data.set(m, offsets[i]));
    const out = new Uint8Array(32 * msgs.length);
    hashMany(data, offsets, msgs.length, out, null, key);
    const many = msgs.map((_, i) => hx(out.subarray(32 * i, 32 * i + 32)));
    const eight = mk(64 * 9, 99); const o8 = new Uint8Array(32 * 9);
    hashMany(eight, new Uint32Array(Array.from({ length: 10 }, (_, i) => 64 * i)), 9, o8, null, null);
    const slab = mk(32 * 30, 7); const tr = new Int32Array(30);
    for (let i = 0; i < 10; i++) tr.set([i, i + 10, 20 + i], 3 * i);
    hashPairs(slab, tr, 10, key);
    console.log(JSON.stringify({ impl: kernelInfo.impl, single, many, nodes: hx(o8), slab: hx(slab) }));
  `;
  const res = JSON.parse(
    execFileSync(process.execPath, ["--input-type=module", "-e", script], {
      env: { ...process.env, HELIOS_BLAKE3_IMPL: "portable" },
      encoding: "utf8",
    }),
  ) as { impl: string; single: [string, string][]; many: string[]; nodes: string; slab: string };
  assert.equal(res.impl, "native-portable");
  const keyBytes = new Uint8Array(new Uint32Array([1, 2, 3, 4, 5, 6, 7, 0xffffffff]).buffer);
  const lens = [0, 1, 63, 64, 65, 511, 512, 1023, 1024, 1025, 2049, 4096, 70000, 66 * 1024];
  const mk = (n: number, s: number): Uint8Array => {
    const b = new Uint8Array(n);
    for (let i = 0; i < n; i++) b[i] = (i * 31 + s) & 255;
    return b;
  };
  lens.forEach((n, i) => {
    const m = mk(n, i);
    assert.deepEqual(res.single[i], [oracle(m, null), oracle(m, keyBytes)], `portable single len=${n}`);
    assert.equal(res.many[i], oracle(m, keyBytes), `portable hashMany len=${n}`);
  });
  const eight = mk(64 * 9, 99);
  let nodes = "";
  for (let i = 0; i < 9; i++) nodes += oracle(eight.subarray(64 * i, 64 * i + 64), null);
  assert.equal(res.nodes, nodes, "portable 64-byte batch");
  const slab = mk(32 * 30, 7);
  for (let i = 0; i < 10; i++) {
    const m = new Uint8Array(64);
    m.set(slot(slab, i), 0);
    m.set(slot(slab, i + 10), 32);
    slab.set(blake3(m, { key: keyBytes }), 32 * (20 + i));
  }
  assert.equal(res.slab, hex(slab), "portable hashPairs");
});
