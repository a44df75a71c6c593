/**
 * Property tests of the authenticated map against a plain Map model and the
 * independent spec root (test/support/spec.ts). Runs: HELIOS_PROPERTY_RUNS
 * (default 1000); replay a failure with HELIOS_SEED=<seed printed by fast-check>.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { isHeliosError } from "../../src/core/errors.js";
import { hash } from "../../src/core/hash.js";
import {
  createMemoryStore,
  createMerkleMap,
  type Draft,
  EMPTY_ROOT,
  verifyProof,
  verifyRange,
  verifyValue,
} from "../../src/merkle/index.js";
import { fcParams, Model } from "../support/model.js";
import { specLeafId, specRoot } from "../support/spec.js";

// Keys from a tiny alphabet collide, share prefixes and are prefixes of each
// other — the shapes that break tries — mixed with random keys.
const smallKey = fc
  .array(fc.constantFrom(0x00, 0x01, 0x10, 0x1f, 0xf0, 0xff), { maxLength: 4 })
  .map((a) => Uint8Array.from(a));
const randomKey = fc.uint8Array({ minLength: 1, maxLength: 33 });
const keyArb = fc.oneof({ arbitrary: smallKey, weight: 3 }, { arbitrary: randomKey, weight: 1 });
const valueArb = fc.uint8Array({ maxLength: 40 });
const entriesArb = fc.array(fc.tuple(keyArb, valueArb), { maxLength: 40 });

function modelOf(entries: [Uint8Array, Uint8Array][]): Model {
  const m = new Model();
  for (const [k, v] of entries) m.put(k, v);
  return m;
}

function hex(b: Uint8Array): string {
  return Buffer.from(b).toString("hex");
}

type Cmd =
  | { t: "put"; d: number; k: Uint8Array; v: Uint8Array }
  | { t: "del"; d: number; k: Uint8Array }
  | { t: "fork"; d: number }
  | { t: "commit"; d: number };

const cmdArb: fc.Arbitrary<Cmd> = fc.oneof(
  { weight: 6, arbitrary: fc.record({ t: fc.constant("put" as const), d: fc.nat(3), k: keyArb, v: valueArb }) },
  { weight: 3, arbitrary: fc.record({ t: fc.constant("del" as const), d: fc.nat(3), k: keyArb }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant("fork" as const), d: fc.nat(3) }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant("commit" as const), d: fc.nat(3) }) },
);

test("random puts, deletes, forks and commits agree with the model and the spec root", () => {
  fc.assert(
    fc.property(fc.array(cmdArb, { maxLength: 60 }), (cmds) => {
      const map = createMerkleMap({ store: createMemoryStore() });
      const drafts: { d: Draft; m: Model }[] = [{ d: map.draft(), m: new Model() }];
      const committed: { root: Uint8Array; m: Model }[] = [];
      for (const c of cmds) {
        const slot = drafts[c.d % drafts.length] as { d: Draft; m: Model };
        if (c.t === "put") {
          slot.d.put(c.k, c.v);
          slot.m.put(c.k, c.v);
        } else if (c.t === "del") {
          assert.equal(slot.d.delete(c.k), slot.m.get(c.k) !== undefined);
          slot.m.delete(c.k);
        } else if (c.t === "fork") {
          if (drafts.length < 4) drafts.push({ d: slot.d.fork(), m: slot.m.clone() });
        } else {
          committed.push({ root: slot.d.commit(), m: slot.m.clone() });
        }
      }
      for (const { d, m } of drafts) {
        for (const [k, v] of m.sorted()) assert.deepEqual(d.get(k), v);
        committed.push({ root: d.commit(), m });
      }
      // Every version ever committed still reads back exactly (forks never disturbed each other).
      for (const { root, m } of committed) {
        assert.equal(hex(root), hex(specRoot(m.sorted())));
        const got = [...map.entries(root)];
        assert.deepEqual(
          got.map(([k, v]) => [hex(k), hex(v)]),
          m.sorted().map(([k, v]) => [hex(k), hex(v)]),
        );
        for (const [k, v] of m.sorted()) assert.deepEqual(map.get(root, k), v);
      }
    }),
    fcParams(),
  );
});

test("the root is independent of insertion order and batch partitioning", () => {
  fc.assert(
    fc.property(
      entriesArb,
      fc.array(fc.nat(), { minLength: 80, maxLength: 80 }),
      fc.array(fc.integer({ min: 1, max: 7 }), { minLength: 1, maxLength: 10 }),
      fc.array(fc.tuple(keyArb, valueArb), { maxLength: 10 }),
      (entries, perm, parts, noise) => {
        const model = modelOf(entries);
        const sorted = model.sorted();
        const map = createMerkleMap({ store: createMemoryStore() });
        // A: sorted order, one batch.
        const da = map.draft();
        da.apply(sorted.map(([key, value]) => ({ key, value })));
        const ra = da.commit();
        // B: permuted order, commits between batches of the given sizes, plus noise keys put and deleted.
        const shuffled = sorted
          .map((e, i) => ({ e, r: perm[i % perm.length] as number }))
          .sort((x, y) => x.r - y.r)
          .map((x) => x.e);
        const db = map.draft();
        for (const [k, v] of noise) if (model.get(k) === undefined) db.put(k, v);
        let i = 0;
        let p = 0;
        while (i < shuffled.length) {
          const n = parts[p++ % parts.length] as number;
          for (const [k, v] of shuffled.slice(i, i + n)) db.put(k, v);
          i += n;
          db.commit();
        }
        for (const [k] of noise) if (model.get(k) === undefined) db.delete(k);
        const rb = db.commit();
        assert.equal(hex(ra), hex(rb));
        assert.equal(hex(ra), hex(specRoot(sorted)));
      },
    ),
    fcParams(),
  );
});

test("every inclusion and exclusion proof verifies; wrong claims do not", () => {
  fc.assert(
    fc.property(entriesArb, fc.array(keyArb, { maxLength: 8 }), (entries, probes) => {
      const model = modelOf(entries);
      const map = createMerkleMap({ store: createMemoryStore() });
      const d = map.draft();
      for (const [k, v] of model.sorted()) d.put(k, v);
      const root = d.commit();
      for (const [k, v] of model.sorted()) {
        const proof = map.prove(root, k);
        assert.ok(verifyValue(root, k, v, proof), "inclusion");
        const r = verifyProof(root, k, proof);
        assert.ok(r.present && hex(r.valueHash) === hex(hash(v)));
        assert.equal(verifyValue(root, k, undefined, proof), false);
        assert.equal(verifyValue(root, k, Uint8Array.of(...v, 1), proof), false);
      }
      for (const k of probes) {
        const proof = map.prove(root, k);
        const v = model.get(k);
        assert.ok(verifyValue(root, k, v, proof), v === undefined ? "exclusion" : "inclusion");
        if (v === undefined) assert.equal(verifyProof(root, k, proof).present, false);
      }
      // A proof never verifies against another root.
      if (model.m.size > 0) {
        const [k, v] = model.sorted()[0] as [Uint8Array, Uint8Array];
        const other = hash(root);
        assert.equal(verifyValue(other, k, v, map.prove(root, k)), false);
      }
    }),
    fcParams(),
  );
});

test("flipping any single byte of a proof, the key or the value makes verification fail", () => {
  fc.assert(
    fc.property(
      entriesArb,
      keyArb,
      fc.integer({ min: 1, max: 255 }),
      fc.boolean(),
      (entries, probe, mask, useProbe) => {
        const model = modelOf(entries);
        const map = createMerkleMap({ store: createMemoryStore() });
        const d = map.draft();
        for (const [k, v] of model.sorted()) d.put(k, v);
        const root = d.commit();
        const sorted = model.sorted();
        const k =
          useProbe || sorted.length === 0 ? probe : (sorted[mask % sorted.length] as [Uint8Array, Uint8Array])[0];
        const v = model.get(k);
        const proof = map.prove(root, k);
        assert.ok(verifyValue(root, k, v, proof));
        for (let i = 0; i < proof.length; i++) {
          const bad = proof.slice();
          bad[i] = (bad[i] as number) ^ mask;
          assert.equal(verifyValue(root, k, v, bad), false, `proof byte ${i} flipped`);
        }
        assert.equal(verifyValue(root, k, v, proof.subarray(0, proof.length - 1)), false, "truncated");
        assert.equal(verifyValue(root, k, v, Uint8Array.of(...proof, 0)), false, "trailing byte");
        for (let i = 0; i < k.length; i++) {
          const k2 = k.slice();
          k2[i] = (k2[i] as number) ^ mask;
          if (v !== undefined) assert.equal(verifyValue(root, k2, v, proof), false, `key byte ${i} flipped`);
          else {
            // An exclusion proof may also exclude the flipped key; it must never answer wrongly.
            let r: ReturnType<typeof verifyProof> | undefined;
            try {
              r = verifyProof(root, k2, proof);
            } catch (e) {
              assert.ok(isHeliosError(e, "MERKLE_PROOF_INVALID"), String(e));
            }
            if (r !== undefined) assert.equal(r.present, model.get(k2) !== undefined);
          }
        }
        if (v !== undefined) {
          for (let i = 0; i < v.length; i++) {
            const v2 = v.slice();
            v2[i] = (v2[i] as number) ^ mask;
            assert.equal(verifyValue(root, k, v2, proof), false, `value byte ${i} flipped`);
          }
        }
      },
    ),
    fcParams(),
  );
});

function leafvRecord(key: Uint8Array, value: Uint8Array): Uint8Array {
  const vi = (n: number) => {
    const o: number[] = [];
    while (n >= 0x80) {
      o.push((n & 0x7f) | 0x80);
      n = Math.floor(n / 128);
    }
    o.push(n);
    return o;
  };
  return Uint8Array.from([0x03, ...vi(key.length), ...key, ...vi(value.length), ...value]);
}

function indexOf(hay: Uint8Array, needle: Uint8Array): number {
  return Buffer.from(hay).indexOf(Buffer.from(needle));
}

test("range proofs list exactly the range; an omitted or injected key is rejected", () => {
  const uniqueValue = fc.uint8Array({ minLength: 12, maxLength: 24 });
  fc.assert(
    fc.property(
      fc.array(fc.tuple(keyArb, uniqueValue), { minLength: 1, maxLength: 40 }),
      keyArb,
      fc.option(keyArb, { nil: undefined }),
      fc.tuple(keyArb, uniqueValue),
      (entries, a, b, extra) => {
        const model = modelOf(entries);
        const [start, end] = b !== undefined && Buffer.compare(b, a) < 0 ? [b, a] : [a, b];
        const map = createMerkleMap({ store: createMemoryStore() });
        const d = map.draft();
        for (const [k, v] of model.sorted()) d.put(k, v);
        const root = d.commit();
        const inRange = model
          .sorted()
          .filter(([k]) => Buffer.compare(k, start) >= 0 && (end === undefined || Buffer.compare(k, end) < 0));
        const proof = map.proveRange(root, start, end);
        const got = verifyRange(root, start, end, proof);
        assert.deepEqual(
          got.map((e) => [hex(e.key), hex(e.value)]),
          inRange.map(([k, v]) => [hex(k), hex(v)]),
        );
        // Omission that keeps the root: replace an in-range leaf by its hash.
        if (inRange.length > 0) {
          const [vk, vv] = inRange[extra[1].length % inRange.length] as [Uint8Array, Uint8Array];
          const rec = leafvRecord(vk, vv);
          const at = indexOf(proof, rec);
          assert.ok(at >= 0);
          const forged = Uint8Array.from([
            ...proof.subarray(0, at),
            0x01,
            ...specLeafId(vk, vv),
            ...proof.subarray(at + rec.length),
          ]);
          assert.throws(
            () => verifyRange(root, start, end, forged),
            (e) => isHeliosError(e, "MERKLE_PROOF_INVALID"),
          );
          // Omission by proving from a tree without the key.
          const d2 = map.draft(root);
          d2.delete(vk);
          const r2 = d2.commit();
          assert.throws(
            () => verifyRange(root, start, end, map.proveRange(r2, start, end)),
            (e) => isHeliosError(e, "MERKLE_PROOF_INVALID"),
          );
        }
        // Injection: a proof from a tree with one more key in the range.
        const [xk, xv] = extra;
        const inside = Buffer.compare(xk, start) >= 0 && (end === undefined || Buffer.compare(xk, end) < 0);
        if (inside && model.get(xk) === undefined) {
          const d3 = map.draft(root);
          d3.put(xk, xv);
          const r3 = d3.commit();
          assert.throws(
            () => verifyRange(root, start, end, map.proveRange(r3, start, end)),
            (e) => isHeliosError(e, "MERKLE_PROOF_INVALID"),
          );
        }
      },
    ),
    fcParams(),
  );
});

test("diff equals the model's diff, in key order, both ways", () => {
  fc.assert(
    fc.property(
      entriesArb,
      fc.array(fc.tuple(keyArb, fc.option(valueArb, { nil: undefined })), { maxLength: 20 }),
      (entries, edits) => {
        const a = modelOf(entries);
        const b = a.clone();
        const map = createMerkleMap({ store: createMemoryStore() });
        const da = map.draft();
        for (const [k, v] of a.sorted()) da.put(k, v);
        const ra = da.commit();
        const db = map.draft(ra);
        for (const [k, v] of edits) {
          if (v === undefined) {
            db.delete(k);
            b.delete(k);
          } else {
            db.put(k, v);
            b.put(k, v);
          }
        }
        const rb = db.commit();
        const keys = new Set([...a.m.keys(), ...b.m.keys()]);
        const expected = [...keys]
          .sort((x, y) => Buffer.compare(Buffer.from(x, "hex"), Buffer.from(y, "hex")))
          .flatMap((k) => {
            const x = a.m.get(k);
            const y = b.m.get(k);
            if (x !== undefined && y !== undefined && hex(x) === hex(y)) return [];
            return [[k, x === undefined ? null : hex(x), y === undefined ? null : hex(y)]];
          });
        const show = (cs: ReturnType<typeof map.diff>) =>
          cs.map((c) => [
            hex(c.key),
            c.before === undefined ? null : hex(c.before),
            c.after === undefined ? null : hex(c.after),
          ]);
        assert.deepEqual(show(map.diff(ra, rb)), expected);
        assert.deepEqual(
          show(map.diff(rb, ra)),
          expected.map(([k, x, y]) => [k, y, x]),
        );
        assert.deepEqual(map.diff(ra, ra), []);
        assert.deepEqual(
          show(map.diff(EMPTY_ROOT, rb)),
          b.sorted().map(([k, v]) => [hex(k), null, hex(v)]),
        );
      },
    ),
    fcParams(),
  );
});

test("a fork is unaffected by writes to its parent, and the parent by writes to the fork", () => {
  fc.assert(
    fc.property(
      entriesArb,
      fc.array(fc.tuple(fc.boolean(), keyArb, fc.option(valueArb, { nil: undefined })), { maxLength: 30 }),
      fc.boolean(),
      (entries, writes, commitFirst) => {
        const map = createMerkleMap({ store: createMemoryStore() });
        const base = modelOf(entries);
        const parent = map.draft();
        for (const [k, v] of base.sorted()) parent.put(k, v);
        const baseRoot = commitFirst ? parent.commit() : undefined;
        const fork = parent.fork();
        const mp = base.clone();
        const mf = base.clone();
        for (const [toFork, k, v] of writes) {
          const [d, m] = toFork ? [fork, mf] : [parent, mp];
          if (v === undefined) {
            d.delete(k);
            m.delete(k);
          } else {
            d.put(k, v);
            m.put(k, v);
          }
        }
        for (const [d, m] of [
          [parent, mp],
          [fork, mf],
        ] as const) {
          for (const k of new Set([...base.m.keys(), ...mp.m.keys(), ...mf.m.keys()])) {
            const key = Buffer.from(k, "hex");
            assert.deepEqual(d.get(key), m.get(key));
          }
          assert.equal(hex(d.commit()), hex(specRoot(m.sorted())));
        }
        if (baseRoot !== undefined) assert.equal(hex(baseRoot), hex(specRoot(base.sorted())));
      },
    ),
    fcParams(),
  );
});
