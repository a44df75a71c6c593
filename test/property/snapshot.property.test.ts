/**
 * Property: base + increments == target. Over random histories (puts,
 * overwrites, deletes, whole trees appearing and vanishing, values large
 * enough for several chunks), a full snapshot of a base height imported into
 * a fresh store, followed by the increments base→mid→target, reproduces the
 * target root exactly and every entry of it; the direct increment base→
 * target does too. Every snapshot also passes a full verify.
 *
 * Runs: HELIOS_PROPERTY_RUNS / 80 (13 by default: each run opens several LMDB
 * stores). Replay a failure with HELIOS_SEED=<seed>.
 */
import assert from "node:assert/strict";
import path from "node:path";
import { test } from "node:test";
import fc from "fast-check";
import { bytesToHex } from "../../src/core/index.js";
import { openState, type StateDB } from "../../src/history/index.js";
import type { Op } from "../../src/merkle/index.js";
import { exportSnapshot, importSnapshot, verifySnapshotDir } from "../../src/snapshot/index.js";
import { fcParams, propertyRuns } from "../support/model.js";
import { rmDir, tmpDir } from "../support/tmp.js";

const TREES = ["accounts", "code", "storage/a"];
const KEYS = 400;

/** Keys of 1–4 bytes with shared prefixes, so some keys are prefixes of others (terminal slots, odd depths). */
function keyOf(i: number): Uint8Array {
  const full = [i & 0x0f, (i * 131) & 0xff, i >> 4, 7];
  return Uint8Array.from(full.slice(0, 1 + (i % 4)));
}

const opArb = fc.record({
  k: fc.nat({ max: KEYS - 1 }),
  del: fc.boolean(),
  size: fc.oneof(fc.nat({ max: 40 }), fc.integer({ min: 300, max: 1200 })),
  fill: fc.nat({ max: 255 }),
});
const blockArb = fc.array(
  fc.record({
    tree: fc.constantFrom(...TREES),
    ops: fc.array(opArb, { minLength: 1, maxLength: 120 }),
    wipe: fc.boolean(),
  }),
  { minLength: 1, maxLength: 3 },
);

function writesOf(
  db: StateDB,
  block: { tree: string; ops: { k: number; del: boolean; size: number; fill: number }[]; wipe: boolean }[],
) {
  const w = new Map<string, Op[]>();
  for (const b of block) {
    const ops: Op[] = w.get(b.tree) ?? [];
    if (b.wipe) {
      // delete every key the tree holds now (the tree vanishes unless later ops refill it)
      for (const [k] of db.map.entries(db.treeRoot(b.tree))) ops.push({ key: k.slice(), value: null });
    }
    for (const o of b.ops) {
      ops.push({ key: keyOf(o.k), value: o.del ? null : new Uint8Array(o.size).fill(o.fill) });
    }
    w.set(b.tree, ops);
  }
  return w;
}

function contents(db: StateDB, root: Uint8Array): string[] {
  const out: string[] = [];
  for (const [t, tr] of db.trees(root)) {
    for (const [k, v] of db.map.entries(tr)) out.push(`${t}/${bytesToHex(k)}=${bytesToHex(v)}`);
  }
  return out;
}

test("property: full(base) + incremental(base→mid) + incremental(mid→target) == target, and full(base) + incremental(base→target) == target", async () => {
  await fc.assert(
    fc.asyncProperty(fc.array(blockArb, { minLength: 3, maxLength: 7 }), fc.nat(), fc.nat(), async (blocks, x, y) => {
      const d = tmpDir("snap-prop");
      try {
        const src = openState(path.join(d, "src"), { create: true, retain: 100 });
        for (let h = 1; h <= blocks.length; h++) src.commit(h, writesOf(src, blocks[h - 1] as never));
        const n = blocks.length;
        const base = 1 + (x % (n - 2));
        const mid = base + 1 + (y % (n - base - 1));
        const target = n;
        const opts = { chunkBytes: 64 * 1024 };
        await exportSnapshot(src, base, path.join(d, "full"), opts);
        await exportSnapshot(src, mid, path.join(d, "i1"), { ...opts, base });
        await exportSnapshot(src, target, path.join(d, "i2"), { ...opts, base: mid, codec: "lz4" });
        await exportSnapshot(src, target, path.join(d, "i3"), { ...opts, base });
        for (const s of ["full", "i1", "i2", "i3"]) {
          assert.deepEqual(verifySnapshotDir(path.join(d, s)).failures, [], s);
        }
        const want = contents(src, src.rootAt(target));
        // chain: full + i1 + i2
        const a = openState(path.join(d, "a"), { create: true });
        await importSnapshot(a, path.join(d, "full"));
        assert.equal(bytesToHex(a.root), bytesToHex(src.rootAt(base)));
        await importSnapshot(a, path.join(d, "i1"));
        assert.equal(bytesToHex(a.root), bytesToHex(src.rootAt(mid)));
        await importSnapshot(a, path.join(d, "i2"));
        assert.equal(a.height, target);
        assert.equal(bytesToHex(a.root), bytesToHex(src.rootAt(target)));
        assert.deepEqual(contents(a, a.root), want);
        // direct: full + i3
        const b = openState(path.join(d, "b"), { create: true });
        await importSnapshot(b, path.join(d, "full"));
        await importSnapshot(b, path.join(d, "i3"));
        assert.equal(bytesToHex(b.root), bytesToHex(src.rootAt(target)));
        assert.deepEqual(contents(b, b.root), want);
        await Promise.all([src.close(), a.close(), b.close()]);
      } finally {
        rmDir(d);
      }
    }),
    fcParams(Math.max(2, Math.round(propertyRuns(1000) / 80))),
  );
});
