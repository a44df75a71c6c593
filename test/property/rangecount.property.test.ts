/**
 * Property: verifyRangeCount (the snapshot verifier's allocation-free path,
 * one native call per leaf) agrees with verifyRange on every honest range
 * proof, and rejects every proof verifyRange rejects (a flipped byte).
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { HeliosError } from "../../src/core/index.js";
import {
  createMemoryStore,
  createMerkleMap,
  EMPTY_ROOT,
  verifyRange,
  verifyRangeCount,
} from "../../src/merkle/index.js";
import { fcParams, propertyRuns } from "../support/model.js";

const keyArb = fc.uint8Array({ minLength: 0, maxLength: 3 });
test("property: verifyRangeCount == verifyRange().length, and both reject a tampered proof", () => {
  const map = createMerkleMap({ store: createMemoryStore() });
  fc.assert(
    fc.property(
      fc.array(fc.tuple(keyArb, fc.uint8Array({ maxLength: 9000 })), { minLength: 1, maxLength: 30 }),
      keyArb,
      fc.option(keyArb, { nil: undefined }),
      fc.nat(),
      (entries, start, end, flipAt) => {
        const root = map.update(
          EMPTY_ROOT,
          entries.map(([key, value]) => ({ key, value })),
        );
        const proof = map.proveRange(root, start, end);
        const full = verifyRange(root, start, end, proof);
        assert.equal(verifyRangeCount(root, start, end, proof), full.length);
        const bad = proof.slice();
        const at = flipAt % bad.length;
        bad[at] = (bad[at] as number) ^ 0x40;
        let a: unknown;
        let b: unknown;
        try {
          verifyRange(root, start, end, bad);
        } catch (e) {
          a = e;
        }
        try {
          verifyRangeCount(root, start, end, bad);
        } catch (e) {
          b = e;
        }
        // both verdicts agree (a flip is always caught: every byte is hashed or parsed)
        assert.ok(a instanceof HeliosError, `flip at ${at} must be rejected`);
        assert.ok(b instanceof HeliosError, `flip at ${at} must be rejected by the count path too: ${String(b)}`);
      },
    ),
    fcParams(propertyRuns(1000)),
  );
});
