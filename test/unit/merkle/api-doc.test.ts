/** The "first session" of docs/api.md, run with its claims asserted, so the guide cannot drift from the code. */
import assert from "node:assert/strict";
import { test } from "node:test";
import {
  checkVersion,
  createFlatView,
  createMemoryStore,
  createMerkleMap,
  EMPTY_ROOT,
  verifyProof,
  verifyValue,
} from "../../../src/index.js";

const te = new TextEncoder();
const td = new TextDecoder();

test("docs/api.md: the first session does what the guide says", () => {
  const store = createMemoryStore();
  const map = createMerkleMap({ store });
  const v1 = map.update(EMPTY_ROOT, [
    { key: te.encode("alice"), value: te.encode("100") },
    { key: te.encode("bob"), value: te.encode("50") },
  ]);
  assert.equal(td.decode(map.get(v1, te.encode("alice"))), "100");
  assert.deepEqual(
    [...map.entries(v1, { prefix: te.encode("a") })].map(([k, v]) => [td.decode(k), td.decode(v)]),
    [["alice", "100"]],
  );
  const d = map.draft(v1);
  d.put(te.encode("carol"), te.encode("7"));
  d.delete(te.encode("bob"));
  const experiment = d.fork();
  experiment.put(te.encode("dave"), te.encode("1"));
  const v2 = d.commit();
  assert.equal(map.get(v2, te.encode("dave")), undefined, "the fork's write is not in v2");
  assert.equal(td.decode(experiment.get(te.encode("dave"))), "1");
  assert.deepEqual(verifyProof(v2, te.encode("bob"), map.prove(v2, te.encode("bob"))), { present: false });
  assert.equal(verifyValue(v2, te.encode("carol"), te.encode("7"), map.prove(v2, te.encode("carol"))), true);
  assert.deepEqual(
    map.diff(v1, v2).map((c) => [td.decode(c.key), c.before && td.decode(c.before), c.after && td.decode(c.after)]),
    [
      ["bob", "50", undefined],
      ["carol", undefined, "7"],
    ],
  );
  assert.deepEqual(checkVersion(store, v2).leaves, 2);
  const view = createFlatView(map, v2);
  assert.equal(td.decode(view.get(te.encode("carol"))), "7");
});
