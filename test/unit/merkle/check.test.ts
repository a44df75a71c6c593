import assert from "node:assert/strict";
import { test } from "node:test";
import { bytesToHex } from "../../../src/core/bytes.js";
import { isHeliosError } from "../../../src/core/errors.js";
import { hash } from "../../../src/core/hash.js";
import {
  checkVersion,
  countReachable,
  createMemoryStore,
  createMerkleMap,
  EMPTY_ROOT,
  nodeIdInto,
} from "../../../src/merkle/index.js";

function build(n: number) {
  const store = createMemoryStore();
  const map = createMerkleMap({ store });
  const ops = [];
  for (let i = 0; i < n; i++)
    ops.push({ key: hash(Uint8Array.of(i & 0xff, i >> 8)), value: Uint8Array.of(i & 0xff, 1, 2) });
  // Keys that are prefixes of others put leaves in terminal slots too.
  ops.push({ key: Uint8Array.of(), value: Uint8Array.of(9) }, { key: Uint8Array.of(0x10), value: Uint8Array.of(8) });
  const root = map.update(EMPTY_ROOT, ops);
  return { store, map, root, entries: ops.length };
}

test("checkVersion walks every node once and recomputes every id", () => {
  const { store, root, entries } = build(3000);
  const r = checkVersion(store, root);
  assert.equal(r.nodes, countReachable(store, [root]));
  assert.equal(r.leaves, entries);
  assert.ok(r.bytes > entries * 30);
  assert.deepEqual(checkVersion(store, EMPTY_ROOT), { nodes: 0, leaves: 0, bytes: 0 });
});

test("a corrupted node is STORE_CORRUPT naming it; a bad encoding is MALFORMED; an absent one MISSING", () => {
  const { store, root } = build(500);
  // Corrupt the root's encoding in place (store.get hands out a view into the
  // store; writing into it is exactly the on-disk rot this check exists for).
  const rootBytes = store.get(root, 0) as Uint8Array;
  const last = rootBytes.length - 1;
  rootBytes[last] = (rootBytes[last] as number) ^ 1;
  assert.throws(
    () => checkVersion(store, root),
    (e) => isHeliosError(e, "STORE_CORRUPT") && e.context.id === bytesToHex(root),
  );
  rootBytes[last] = (rootBytes[last] as number) ^ 1;
  assert.equal(checkVersion(store, root).leaves, 502);

  // A leaf's value bytes rot: the leaf is named, not its parent. The leaf of
  // key 0x10 → 0x08 is encoded 00 01 10 01 08 (docs/spec/merkle.md M11).
  const leafId = new Uint8Array(32);
  nodeIdInto(Uint8Array.of(0x00, 0x01, 0x10, 0x01, 0x08), leafId, 0);
  const leafBytes = store.get(leafId, 0);
  assert.ok(leafBytes !== undefined, "the leaf of key 0x10 is stored under its recomputed id");
  const v = leafBytes.length - 1;
  leafBytes[v] = (leafBytes[v] as number) ^ 0x40;
  assert.throws(
    () => checkVersion(store, root),
    (e) => isHeliosError(e, "STORE_CORRUPT") && e.context.id === bytesToHex(leafId),
  );
  leafBytes[v] = (leafBytes[v] as number) ^ 0x40;

  // A tag that is no node at all.
  const tag = rootBytes[0] as number;
  rootBytes[0] = 7;
  assert.throws(
    () => checkVersion(store, root),
    (e) => isHeliosError(e, "MERKLE_NODE_MALFORMED"),
  );
  rootBytes[0] = tag;

  // A store that lacks a node of the version.
  const other = createMemoryStore();
  other.put(root, 0, rootBytes, 0, rootBytes.length);
  assert.throws(
    () => checkVersion(other, root),
    (e) => isHeliosError(e, "MERKLE_NODE_MISSING"),
  );
});

test("nodeIdInto agrees with the ids commits assign", () => {
  const { store, root } = build(200);
  const out = new Uint8Array(32);
  nodeIdInto(store.get(root, 0) as Uint8Array, out, 0);
  assert.equal(bytesToHex(out), bytesToHex(root));
  assert.throws(
    () => nodeIdInto(new Uint8Array(0), out, 0),
    (e) => isHeliosError(e, "MERKLE_NODE_MALFORMED"),
  );
});

test("node ids recomputed one node at a time (one native call up to 8 KiB, the general path above) equal the commit's ids", () => {
  const store = createMemoryStore();
  const map = createMerkleMap({ store });
  const ops = [0, 1, 100, 8000, 8150, 8157, 8158, 8200, 20_000].map((n, i) => ({
    key: hash(Uint8Array.of(i)),
    value: new Uint8Array(n).map((_, j) => (j * 13 + i) & 255),
  }));
  // a full branch: 16 nibble children and a terminal leaf
  for (let i = 0; i < 16; i++) ops.push({ key: Uint8Array.of(0x55, i << 4), value: Uint8Array.of(i) });
  ops.push({ key: Uint8Array.of(0x55), value: Uint8Array.of(99) });
  const root = map.update(EMPTY_ROOT, ops);
  const r = checkVersion(store, root);
  assert.equal(r.leaves, ops.length);
});
