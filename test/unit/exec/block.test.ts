/**
 * Blocks and receipts (docs/spec/exec.md E12–E15): canonical encodings,
 * Merkle roots, and the fuzzed block decoder throwing only DecodeError.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { HeliosError, hash, isHeliosError, keyFromContext } from "../../../src/core/index.js";
import { asBlockInvalid } from "../../../src/exec/executor.js";
import {
  type Block,
  type BlockHeader,
  blockHash,
  decodeBlock,
  decodeHeader,
  encodeBlock,
  encodeHeader,
  encodeReceipt,
  merkleRoot,
} from "../../../src/exec/block.js";
import { DecodeError } from "../../../src/exec/codec.js";

const bytes32 = fc.uint8Array({ minLength: 32, maxLength: 32 });
const header = fc.record(
  {
    height: fc.nat({ max: Number.MAX_SAFE_INTEGER }),
    timeMs: fc.nat({ max: Number.MAX_SAFE_INTEGER }),
    gasLimit: fc.nat({ max: Number.MAX_SAFE_INTEGER }),
    parentRoot: bytes32,
    proposer: bytes32,
    txRoot: bytes32,
    stateRoot: bytes32,
    receiptsRoot: bytes32,
  },
  { requiredKeys: ["height", "timeMs", "gasLimit", "parentRoot", "proposer", "txRoot"] },
) as fc.Arbitrary<BlockHeader>;
const block = fc.record({
  header,
  txs: fc.array(fc.uint8Array({ maxLength: 40 }), { maxLength: 6 }),
}) as fc.Arbitrary<Block>;

test("E12/E13: headers and blocks round-trip canonically", () => {
  fc.assert(
    fc.property(block, (b) => {
      const enc = encodeBlock(b);
      const dec = decodeBlock(enc);
      assert.deepEqual(dec, { header: { ...b.header }, txs: b.txs });
      assert.deepEqual(encodeBlock(dec), enc);
      assert.deepEqual(decodeHeader(encodeHeader(b.header)), { ...b.header });
      assert.deepEqual(blockHash(dec.header), hash(encodeHeader(b.header)));
    }),
    { numRuns: 300 },
  );
});

test("E13: the fuzzed block decoder throws only DecodeError (random bytes, mutations, truncations)", () => {
  const check = (bytes: Uint8Array) => {
    try {
      const b = decodeBlock(bytes);
      // whatever decodes must be canonical
      assert.deepEqual(encodeBlock(b), bytes);
    } catch (e) {
      if (!(e instanceof DecodeError)) throw e;
      assert.equal(e.code, "BLOCK_MALFORMED");
    }
  };
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 300 }), (b) => check(b)),
    { numRuns: 2000 },
  );
  fc.assert(
    fc.property(block, fc.nat(), fc.nat({ max: 255 }), fc.nat(), (b, at, v, cut) => {
      const enc = encodeBlock(b);
      const m = enc.slice();
      m[at % m.length] = v;
      check(m);
      check(enc.subarray(0, cut % (enc.length + 1)));
      const longer = new Uint8Array(enc.length + 1);
      longer.set(enc);
      check(longer);
    }),
    { numRuns: 1000 },
  );
  assert.throws(() => decodeBlock(new Uint8Array(0)), DecodeError);
  // a count far above the bytes left is refused before allocating
  const b = encodeBlock({ header: fc.sample(header, { numRuns: 1, seed: 1 })[0] as BlockHeader, txs: [] });
  const bad = new Uint8Array(b.length + 4);
  bad.set(b.subarray(0, b.length - 1));
  bad.set([0xff, 0xff, 0xff, 0x7f], b.length - 1);
  assert.throws(() => decodeBlock(bad), DecodeError);
});

test("E14: Merkle roots are order-sensitive, domain-separated and pinned", () => {
  const a = new Uint8Array([1]);
  const b = new Uint8Array([2]);
  const c = new Uint8Array([3]);
  assert.deepEqual(merkleRoot([]), new Uint8Array(32));
  assert.notDeepEqual(merkleRoot([a, b]), merkleRoot([b, a]));
  assert.notDeepEqual(merkleRoot([a, b, c]), merkleRoot([a, b]));
  const kLeaf = keyFromContext("helios 2026-11 list merkle leaf");
  const kNode = keyFromContext("helios 2026-11 list merkle node");
  const leaf = (x: Uint8Array) => hash(x, kLeaf);
  const node = (l: Uint8Array, r: Uint8Array) => hash(new Uint8Array([...l, ...r]), kNode);
  // a leaf is never an inner node: the two are keyed differently
  assert.notDeepEqual(merkleRoot([a]), hash(a));
  assert.deepEqual(merkleRoot([a]), leaf(a));
  assert.deepEqual(merkleRoot([a, b, c]), node(node(leaf(a), leaf(b)), leaf(c)));
  // the batched path agrees with the one-at-a-time definition on lists of every length up to 40
  for (let n = 1; n <= 40; n++) {
    const items = Array.from({ length: n }, (_, i) => new Uint8Array(i % 7).fill(i));
    let level = items.map(leaf);
    while (level.length > 1) {
      const next: Uint8Array[] = [];
      for (let i = 0; i + 1 < level.length; i += 2) next.push(node(level[i] as Uint8Array, level[i + 1] as Uint8Array));
      if (level.length % 2 === 1) next.push(level[level.length - 1] as Uint8Array);
      level = next;
    }
    assert.deepEqual(merkleRoot(items), level[0], `n = ${n}`);
  }
});

test("E15: receipts encode every field (a change in any field changes the bytes)", () => {
  const base = {
    status: "ok" as const,
    gasUsed: 1234,
    output: new Uint8Array([9, 9]),
    events: [{ address: new Uint8Array(32).fill(7), topic: new Uint8Array([1]), data: new Uint8Array([2, 3]) }],
  };
  const enc = encodeReceipt(base);
  assert.equal(enc[0], 0);
  for (const variant of [
    { ...base, status: "REVERT" as const },
    { ...base, gasUsed: 1235 },
    { ...base, output: new Uint8Array([9]) },
    { ...base, events: [] },
    { ...base, contract: new Uint8Array(32) },
  ]) {
    assert.notDeepEqual(encodeReceipt(variant), enc);
  }
});

test("review: only a transaction's own failure makes a block invalid; a store fault is rethrown as it is", () => {
  const wrapped = asBlockInvalid(new HeliosError("TX_NONCE_TOO_LOW", { nonce: 1 }), 3);
  assert.ok(
    isHeliosError(wrapped, "BLOCK_INVALID") &&
      wrapped.context.index === 3 &&
      wrapped.context.cause === "TX_NONCE_TOO_LOW",
  );
  const decode = asBlockInvalid(new DecodeError("TX_MALFORMED", { reason: "x" }), 0);
  assert.ok(isHeliosError(decode, "BLOCK_INVALID"));
  for (const code of ["MERKLE_NODE_MISSING", "STORE_CORRUPT", "STORE_IO"] as const) {
    const e = new HeliosError(code);
    assert.equal(asBlockInvalid(e, 0), e, code);
  }
  const bug = new TypeError("a bug");
  assert.equal(asBlockInvalid(bug, 0), bug);
});
