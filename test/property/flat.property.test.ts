/**
 * FlatView against the tree and the model: after every advance, the view's
 * root is the root map.update gives, and view.get(k) equals map.get(root, k)
 * for every key ever touched (present or deleted) and for absent keys. Small
 * tables force growth and long probe runs, so backward-shift deletion is
 * exercised; compaction is checked explicitly. Replay with HELIOS_SEED.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { isHeliosError } from "../../src/core/errors.js";
import {
  createFlatView,
  createMemoryStore,
  createMerkleMap,
  EMPTY_ROOT,
  MAX_KEY_BYTES,
  type Op,
} from "../../src/merkle/index.js";
import { fcParams, Model } from "../support/model.js";

const keyArb = fc.oneof(
  { arbitrary: fc.array(fc.constantFrom(0, 1, 2, 0xff), { maxLength: 3 }).map((a) => Uint8Array.from(a)), weight: 3 },
  { arbitrary: fc.uint8Array({ maxLength: 12 }), weight: 1 },
);
const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 3, arbitrary: fc.record({ key: keyArb, value: fc.uint8Array({ maxLength: 20 }) }) },
  { weight: 2, arbitrary: fc.record({ key: keyArb }) },
);
const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");

test("a flat view answers exactly as the tree does, through puts, overwrites and deletes", () => {
  fc.assert(
    fc.property(
      fc.array(fc.array(opArb, { maxLength: 30 }), { minLength: 1, maxLength: 6 }),
      fc.constantFrom(1, 16, 4096),
      fc.boolean(),
      (batches, initialCapacity, startFromVersion) => {
        const map = createMerkleMap({ store: createMemoryStore() });
        const model = new Model();
        let start = EMPTY_ROOT;
        if (startFromVersion) {
          // Start from a non-empty version so the constructor's scan is exercised.
          const first = batches[0] as Op[];
          start = map.update(EMPTY_ROOT, first);
          for (const op of first) {
            if (op.value === undefined || op.value === null) model.delete(op.key);
            else model.put(op.key, op.value);
          }
        }
        const view = createFlatView(map, start, { initialCapacity });
        const touched = new Map<string, Uint8Array>();
        for (const ops of startFromVersion ? batches.slice(1) : batches) {
          const expected = map.update(view.root, ops);
          assert.equal(hex(view.advance(ops)), hex(expected));
          for (const op of ops) {
            touched.set(hex(op.key), op.key);
            if (op.value === undefined || op.value === null) model.delete(op.key);
            else model.put(op.key, op.value);
          }
          assert.equal(view.size, model.m.size);
          const root = view.root;
          for (const k of touched.values()) {
            assert.deepEqual(view.get(k), map.get(root, k));
            assert.deepEqual(view.get(k), model.get(k));
            assert.equal(view.has(k), model.get(k) !== undefined);
          }
          assert.equal(view.get(Uint8Array.of(7, 7, 7, 7)), undefined);
        }
        view.compact();
        assert.equal(view.bytes.garbage, 0);
        for (const [k, v] of model.sorted()) assert.deepEqual(view.get(k), v);
        assert.equal(view.size, model.m.size);
      },
    ),
    fcParams(),
  );
});

test("a bad batch changes neither the view nor its root", () => {
  const map = createMerkleMap({ store: createMemoryStore() });
  const view = createFlatView(map, EMPTY_ROOT);
  view.advance([{ key: Uint8Array.of(1), value: Uint8Array.of(10) }]);
  const root = view.root;
  assert.throws(
    () =>
      view.advance([
        { key: Uint8Array.of(1), value: Uint8Array.of(11) },
        { key: new Uint8Array(MAX_KEY_BYTES + 1), value: Uint8Array.of(1) },
      ]),
    (e) => isHeliosError(e, "MERKLE_KEY_TOO_LONG"),
  );
  assert.equal(hex(view.root), hex(root));
  assert.deepEqual(view.get(Uint8Array.of(1)), Uint8Array.of(10));
  assert.throws(
    () => view.get(new Uint8Array(MAX_KEY_BYTES + 1)),
    (e) => isHeliosError(e, "MERKLE_KEY_TOO_LONG"),
  );
  assert.throws(
    () => createFlatView(map, new Uint8Array(5)),
    (e) => isHeliosError(e, "INVALID_ARGUMENT"),
  );
});
