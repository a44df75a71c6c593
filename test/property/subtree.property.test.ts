/**
 * Property: subtreeIdAt(version, Q) depends only on the version's keys in
 * region Q. Two versions that agree inside Q and differ anywhere outside it
 * give the same id; changing, adding or removing one key inside Q changes it;
 * no key in Q gives EMPTY_ROOT. Keys of 0–4 bytes share prefixes, so regions
 * end inside skips, at terminal slots and at odd depths.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { bytesToHex } from "../../src/core/index.js";
import { createMemoryStore, createMerkleMap, EMPTY_ROOT, type Op, subtreeIdAt } from "../../src/merkle/index.js";
import { fcParams, propertyRuns } from "../support/model.js";

function nibbles(k: Uint8Array): number[] {
  const out: number[] = [];
  for (const b of k) out.push(b >> 4, b & 15);
  return out;
}
function inRegion(k: Uint8Array, q: number[], exact: boolean): boolean {
  const n = nibbles(k);
  if (exact ? n.length !== q.length : n.length < q.length) return false;
  return q.every((x, i) => n[i] === x);
}

const keyArb = fc.uint8Array({ minLength: 0, maxLength: 4 }).map((k) => k.map((b) => b & 0x33)); // few distinct nibbles
const entriesArb = fc.array(fc.tuple(keyArb, fc.uint8Array({ minLength: 0, maxLength: 8 })), { maxLength: 40 });

test("property: subtreeIdAt depends only on the keys inside the region", () => {
  const map = createMerkleMap({ store: createMemoryStore() });
  fc.assert(
    fc.property(
      entriesArb,
      entriesArb,
      fc.array(fc.constantFrom(0, 1, 2, 3), { maxLength: 6 }),
      fc.boolean(),
      (a, b, q, exactArb) => {
        const exact = exactArb && q.length % 2 === 0;
        const path = Uint8Array.from(q);
        const inside = a.filter(([k]) => inRegion(k, q, exact));
        const outsideA = a.filter(([k]) => !inRegion(k, q, exact));
        const outsideB = b.filter(([k]) => !inRegion(k, q, exact));
        const build = (es: [Uint8Array, Uint8Array][]) =>
          map.update(
            EMPTY_ROOT,
            es.map(([key, value]): Op => ({ key, value })),
          );
        const ra = build([...outsideA, ...inside]);
        const rb = build([...inside, ...outsideB]);
        const ia = subtreeIdAt(map.store, ra, path, q.length, exact);
        const ib = subtreeIdAt(map.store, rb, path, q.length, exact);
        assert.equal(bytesToHex(ia), bytesToHex(ib), "same keys in the region, same id");
        const distinct = new Set(inside.map(([k]) => bytesToHex(k)));
        assert.equal(bytesToHex(ia) === bytesToHex(EMPTY_ROOT), distinct.size === 0);
        // one key inside the region changed: the id changes
        const first = inside[inside.length - 1];
        if (first !== undefined) {
          const changed = map.update(ra, [{ key: first[0], value: Uint8Array.of(...first[1], 0xee) }]);
          assert.notEqual(bytesToHex(subtreeIdAt(map.store, changed, path, q.length, exact)), bytesToHex(ia));
          const removed = map.update(ra, [{ key: first[0], value: null }]);
          assert.notEqual(bytesToHex(subtreeIdAt(map.store, removed, path, q.length, exact)), bytesToHex(ia));
        }
      },
    ),
    fcParams(propertyRuns(1000)),
  );
});
