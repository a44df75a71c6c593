import assert from "node:assert/strict";
import { test } from "node:test";
import { compareBytes, copyBytes, copyOut, Reader, varintSize, writeVarint } from "../../../src/core/bytes.js";
import { isHeliosError } from "../../../src/core/errors.js";

test("copyOut copies are independent of the source and of each other, across arena boundaries", () => {
  const src = Uint8Array.from({ length: 3000 }, (_, i) => i & 0xff);
  const copies: [number, number, Uint8Array][] = [];
  // Enough copies of mixed sizes to roll over several 64 KiB arenas, plus large ones.
  for (let i = 0; i < 2000; i++) {
    const len = [0, 1, 7, 32, 48, 49, 100, 1024, 1025, 2999][i % 10] as number;
    const off = (i * 13) % (3000 - len);
    copies.push([off, len, copyOut(src, off, len)]);
  }
  for (const [, , c] of copies) c.fill(0xee); // writes go only into each copy's own bytes
  for (let i = 0; i < src.length; i++) assert.equal(src[i], i & 0xff);
  const again = copies.map(([off, len]) => copyOut(src, off, len));
  copies.forEach(([off, len], i) => {
    const c = again[i] as Uint8Array;
    assert.equal(c.length, len);
    assert.deepEqual(c, src.subarray(off, off + len));
    // A copy is a plain Uint8Array whose bytes are read through its own byteOffset.
    assert.equal(Object.getPrototypeOf(c), Uint8Array.prototype);
    if (len >= 4) {
      assert.equal(new DataView(c.buffer, c.byteOffset, c.byteLength).getUint8(3), src[off + 3]);
    }
  });
  assert.deepEqual(copyBytes(Uint8Array.of(1, 2, 3)), Uint8Array.of(1, 2, 3));
});

test("varints are minimal, bounded and round-trip", () => {
  const buf = new Uint8Array(5);
  for (const v of [0, 1, 127, 128, 16383, 16384, 2 ** 21, 2 ** 28 - 1, 2 ** 28, 2 ** 32 - 1]) {
    const end = writeVarint(buf, 0, v);
    assert.equal(end, varintSize(v));
    const r = new Reader(buf, 0, end);
    assert.equal(r.varint(), v);
    r.done();
  }
  for (const bad of [[0x80, 0x00], [0x80], [0xff, 0xff, 0xff, 0xff, 0x7f], [0x80, 0x80, 0x80, 0x80, 0x80, 0x01]]) {
    assert.throws(
      () => new Reader(Uint8Array.from(bad)).varint(),
      (e) => isHeliosError(e, "CODEC_MALFORMED"),
    );
  }
});

test("compareBytes is byte-lexicographic with a proper prefix first", () => {
  assert.equal(compareBytes(Uint8Array.of(), Uint8Array.of(0)), -1);
  assert.equal(compareBytes(Uint8Array.of(1, 2), Uint8Array.of(1, 2)), 0);
  assert.equal(compareBytes(Uint8Array.of(1, 3), Uint8Array.of(1, 2, 9)), 1);
  assert.equal(compareBytes(Uint8Array.of(0xff), Uint8Array.of(0x00, 0xff)), 1);
});
