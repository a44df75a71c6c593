/**
 * The batch write path, map.update(root, ops), against the Map model and the
 * independent spec root: over random starting versions and random batches
 * (duplicate keys, deletes of present and absent keys, keys that are prefixes
 * of each other), the new root is the spec root of the model after applying
 * the ops in order, equals what a draft produces, and leaves the old version
 * readable. Replay a failure with HELIOS_SEED.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { isHeliosError } from "../../src/core/errors.js";
import { createMemoryStore, createMerkleMap, EMPTY_ROOT, MAX_KEY_BYTES, type Op } from "../../src/merkle/index.js";
import { fcParams, Model } from "../support/model.js";
import { specRoot } from "../support/spec.js";

// Tiny alphabets make shared prefixes, prefix keys and skip splits common.
const smallKey = fc
  .array(fc.constantFrom(0x00, 0x01, 0x10, 0x11, 0xf0, 0xff), { maxLength: 4 })
  .map((a) => Uint8Array.from(a));
const keyArb = fc.oneof(
  { arbitrary: smallKey, weight: 4 },
  { arbitrary: fc.uint8Array({ minLength: 0, maxLength: 9 }), weight: 1 },
);
const valueArb = fc.uint8Array({ maxLength: 24 });
const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 3, arbitrary: fc.record({ key: keyArb, value: valueArb }) },
  { weight: 1, arbitrary: fc.record({ key: keyArb }) },
  { weight: 1, arbitrary: fc.record({ key: keyArb, value: fc.constant(null) }) },
);
const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");

function applyToModel(m: Model, ops: readonly Op[]): void {
  for (const op of ops) {
    if (op.value === undefined || op.value === null) m.delete(op.key);
    else m.put(op.key, op.value);
  }
}

test("update(root, ops) gives the spec root of the model, equals the draft path, keeps the old version", () => {
  fc.assert(
    fc.property(
      fc.array(fc.tuple(keyArb, valueArb), { maxLength: 30 }),
      fc.array(fc.array(opArb, { maxLength: 25 }), { minLength: 1, maxLength: 4 }),
      (initial, batches) => {
        const map = createMerkleMap({ store: createMemoryStore() });
        const model = new Model();
        for (const [k, v] of initial) model.put(k, v);
        let root = map.update(
          EMPTY_ROOT,
          initial.map(([key, value]) => ({ key, value })),
        );
        assert.equal(hex(root), hex(specRoot(model.sorted())));
        for (const ops of batches) {
          const before = model.clone();
          const old = root;
          const d = map.draft(old);
          d.apply(ops);
          root = map.update(old, ops);
          applyToModel(model, ops);
          assert.equal(hex(root), hex(specRoot(model.sorted())), "spec root");
          assert.equal(hex(root), hex(d.commit()), "draft root");
          assert.deepEqual(
            [...map.entries(root)].map(([k, v]) => [hex(k), hex(v)]),
            model.sorted().map(([k, v]) => [hex(k), hex(v)]),
          );
          // The old version is untouched.
          assert.deepEqual(
            [...map.entries(old)].map(([k, v]) => [hex(k), hex(v)]),
            before.sorted().map(([k, v]) => [hex(k), hex(v)]),
          );
        }
      },
    ),
    fcParams(),
  );
});

test("update with a bad op applies nothing and writes nothing", () => {
  const store = createMemoryStore();
  const map = createMerkleMap({ store });
  const r = map.update(EMPTY_ROOT, [{ key: Uint8Array.of(1), value: Uint8Array.of(1) }]);
  const size = store.size;
  const bad: unknown[] = [
    [
      { key: Uint8Array.of(2), value: Uint8Array.of(2) },
      { key: new Uint8Array(MAX_KEY_BYTES + 1), value: Uint8Array.of(1) },
    ],
    [{ key: Uint8Array.of(2), value: Uint8Array.of(2) }, null],
    [{ key: "not bytes", value: Uint8Array.of(1) }],
    [{ key: Uint8Array.of(3), value: 42 }],
    "not an array",
  ];
  const codes = ["MERKLE_KEY_TOO_LONG", "INVALID_ARGUMENT", "INVALID_ARGUMENT", "INVALID_ARGUMENT", "INVALID_ARGUMENT"];
  bad.forEach((ops, i) => {
    assert.throws(
      () => map.update(r, ops as Op[]),
      (e) => isHeliosError(e, codes[i] as "INVALID_ARGUMENT"),
    );
  });
  assert.equal(store.size, size);
  assert.throws(
    () => map.update(new Uint8Array(31), []),
    (e) => isHeliosError(e, "INVALID_ARGUMENT"),
  );
  // An empty batch, or deletes of absent keys only, keeps the root and writes nothing.
  assert.equal(hex(map.update(r, [])), hex(r));
  assert.equal(hex(map.update(r, [{ key: Uint8Array.of(9) }, { key: Uint8Array.of(1, 0) }])), hex(r));
  assert.equal(store.size, size);
  // Deleting everything gives the empty root.
  assert.equal(hex(map.update(r, [{ key: Uint8Array.of(1) }])), hex(EMPTY_ROOT));
});
