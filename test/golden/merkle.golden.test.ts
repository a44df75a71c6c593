/**
 * Golden vectors: the roots of fixed key sets, committed in
 * test/golden/merkle-roots.json. A change to the node format, the hashing or
 * the domain keys changes these roots and fails this test: update the spec
 * version and the vectors together, deliberately.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { createMemoryStore, createMerkleMap } from "../../src/merkle/index.js";
import { specRoot } from "../support/spec.js";
import { goldenSets } from "./sets.js";

const expected = JSON.parse(
  readFileSync(new URL("../../../test/golden/merkle-roots.json", import.meta.url), "utf8"),
) as Record<string, string>;

for (const [name, entries] of Object.entries(goldenSets())) {
  test(`golden root: ${name}`, () => {
    const want = expected[name];
    assert.ok(want !== undefined, `no golden root for ${name}`);
    assert.equal(Buffer.from(specRoot(entries)).toString("hex"), want, "spec implementation");
    const map = createMerkleMap({ store: createMemoryStore() });
    const d = map.draft();
    for (const [k, v] of entries) d.put(k, v);
    assert.equal(Buffer.from(d.commit()).toString("hex"), want, "helios");
  });
}
