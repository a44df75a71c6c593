/**
 * copyReachable / countReachable against a model: after many versions are
 * committed into one store, copying only some roots gives a store that reads
 * those versions back completely, holds exactly their nodes (no more, no
 * fewer), and cannot read a dropped version's unshared nodes.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { isHeliosError } from "../../src/core/errors.js";
import {
  checkVersion,
  copyReachable,
  countReachable,
  createMemoryStore,
  createMerkleMap,
  EMPTY_ROOT,
} from "../../src/merkle/index.js";
import { fcParams, Model } from "../support/model.js";

const keyArb = fc.uint8Array({ minLength: 0, maxLength: 6 });
const opArb = fc.tuple(keyArb, fc.option(fc.uint8Array({ maxLength: 12 }), { nil: undefined }));
const versionsArb = fc.array(fc.array(opArb, { maxLength: 12 }), { minLength: 1, maxLength: 8 });
const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");

test("copyReachable keeps exactly the listed versions, and each reads back completely", () => {
  fc.assert(
    fc.property(versionsArb, fc.array(fc.boolean(), { minLength: 8, maxLength: 8 }), (versions, keep) => {
      const store = createMemoryStore();
      const map = createMerkleMap({ store });
      const d = map.draft();
      const model = new Model();
      const roots: Uint8Array[] = [];
      const models: Map<string, string>[] = [];
      for (const ops of versions) {
        for (const [k, v] of ops) {
          if (v === undefined) {
            d.delete(k);
            model.delete(k);
          } else {
            d.put(k, v);
            model.put(k, v);
          }
        }
        roots.push(d.commit());
        models.push(new Map(model.sorted().map(([k, v]) => [hex(k), hex(v)])));
      }
      const kept = roots.filter((_, i) => keep[i]);
      const copy = copyReachable(store, kept);
      // Exactly the live set: as many nodes as are reachable, and the walk of
      // the copy agrees with the walk of the original.
      assert.equal(copy.size, countReachable(store, kept));
      assert.equal(countReachable(copy, kept), copy.size);
      assert.ok(copy.size <= store.size);
      // Every version whose root node the copy holds reads back completely: the
      // kept ones, and any dropped one that is a subtree of a kept one. Every
      // other dropped version is gone.
      const m2 = createMerkleMap({ store: copy });
      roots.forEach((r, i) => {
        const empty = r.every((x) => x === 0);
        if (keep[i] && !empty) assert.ok(copy.has(r, 0), `kept version ${i} lost its root`);
        if (empty || copy.has(r, 0)) {
          const got = new Map([...m2.entries(r)].map(([k, v]) => [hex(k), hex(v)]));
          assert.deepEqual(got, models[i]);
        } else {
          assert.ok(!keep[i]);
          assert.throws(
            () => [...m2.entries(r)],
            (e) => isHeliosError(e, "MERKLE_NODE_MISSING"),
          );
        }
      });
      // Every kept version passes the full integrity walk, in the original and in the copy.
      roots.forEach((r, i) => {
        if (!keep[i]) return;
        const report = checkVersion(copy, r);
        assert.equal(report.leaves, (models[i] as Map<string, string>).size);
        assert.equal(report.nodes, countReachable(copy, [r]));
        assert.deepEqual(checkVersion(store, r), report);
      });
      // Keeping every version keeps every node the store holds (a commit stores
      // only nodes of the version it produces).
      assert.equal(copyReachable(store, roots).size, store.size);
    }),
    fcParams(),
  );
  assert.equal(countReachable(createMemoryStore(), [EMPTY_ROOT]), 0);
});
