/**
 * Three-way merge against a plain model (docs/spec/repo.md R10–R14): for
 * random bases and random edits on two branches over a small key space (so
 * conflicts are common), the merged state equals the model's; a merge with
 * no conflicts is commutative; every policy is respected; the "fail" policy
 * changes nothing; merging a branch into itself or an ancestor is a no-op.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { bytesToHex, hexToBytes } from "../../src/core/index.js";
import { openState, type StateDB } from "../../src/history/index.js";
import type { Op } from "../../src/merkle/index.js";
import { type Conflict, Repo } from "../../src/sandbox/index.js";
import { rmDir, tmpDir } from "../support/tmp.js";

type Model = Map<string, Map<string, string>>; // tree → key hex → value hex
const TREES = ["a", "b"];

const editArb = fc.record({
  tree: fc.constantFrom(...TREES),
  key: fc.integer({ min: 0, max: 11 }),
  value: fc.option(fc.integer({ min: 0, max: 3 }), { nil: null, freq: 4 }),
});
const caseArb = fc.record({
  base: fc.array(editArb, { maxLength: 16 }),
  ours: fc.array(editArb, { maxLength: 10 }),
  theirs: fc.array(editArb, { maxLength: 10 }),
});

const keyHex = (k: number) => bytesToHex(Uint8Array.of(k, 0xaa));
const valHex = (v: number) => bytesToHex(Uint8Array.of(v, v, v + 1));

function applyModel(m: Model, edits: { tree: string; key: number; value: number | null }[]): Model {
  const out: Model = new Map([...m].map(([t, kv]) => [t, new Map(kv)]));
  for (const e of edits) {
    const t = out.get(e.tree) ?? new Map<string, string>();
    if (e.value === null) t.delete(keyHex(e.key));
    else t.set(keyHex(e.key), valHex(e.value));
    out.set(e.tree, t);
  }
  return out;
}

function writesOf(edits: { tree: string; key: number; value: number | null }[]): Record<string, Op[]> {
  // last write per key wins, as in the model
  const last = new Map<string, { tree: string; key: number; value: number | null }>();
  for (const e of edits) last.set(`${e.tree}/${e.key}`, e);
  const w: Record<string, Op[]> = {};
  for (const e of last.values()) {
    const ops = w[e.tree] ?? [];
    w[e.tree] = ops;
    ops.push({
      key: hexToBytes(keyHex(e.key)),
      value: e.value === null ? null : hexToBytes(valHex(e.value)),
    });
  }
  return w;
}

function stateOf(db: StateDB, root: Uint8Array): Model {
  const out: Model = new Map();
  for (const [name, tr] of db.trees(root)) {
    const kv = new Map<string, string>();
    for (const [k, v] of db.map.entries(tr)) kv.set(bytesToHex(k), bytesToHex(v));
    if (kv.size > 0) out.set(name, kv);
  }
  return out;
}

function norm(m: Model): [string, [string, string][]][] {
  return [...m]
    .filter(([, kv]) => kv.size > 0)
    .map(([t, kv]): [string, [string, string][]] => [t, [...kv].sort()])
    .sort((x, y) => (x[0] < y[0] ? -1 : 1));
}

type Policy = "ours" | "theirs" | "fn";
/** The resolver used for policy "fn": deletes when both sides' first bytes sum to an odd number, else keeps a blend. */
function resolver(c: Conflict): Uint8Array | null {
  const o = c.ours?.[0] ?? 7;
  const t = c.theirs?.[0] ?? 5;
  return (o + t) % 2 === 1 ? null : Uint8Array.of(o, t, 0xee);
}

function modelMerge(base: Model, ours: Model, theirs: Model, policy: Policy): { merged: Model; conflicts: number } {
  const merged: Model = new Map();
  let conflicts = 0;
  for (const tree of TREES) {
    const b = base.get(tree) ?? new Map<string, string>();
    const o = ours.get(tree) ?? new Map<string, string>();
    const t = theirs.get(tree) ?? new Map<string, string>();
    const out = new Map<string, string>();
    for (const k of new Set([...b.keys(), ...o.keys(), ...t.keys()])) {
      const bv = b.get(k);
      const ov = o.get(k);
      const tv = t.get(k);
      let v: string | undefined;
      if (ov === tv) v = ov;
      else if (ov === bv) v = tv;
      else if (tv === bv) v = ov;
      else {
        conflicts++;
        if (policy === "ours") v = ov;
        else if (policy === "theirs") v = tv;
        else {
          const r = resolver({
            tree,
            key: hexToBytes(k),
            base: bv === undefined ? undefined : hexToBytes(bv),
            ours: ov === undefined ? undefined : hexToBytes(ov),
            theirs: tv === undefined ? undefined : hexToBytes(tv),
          });
          v = r === null ? undefined : bytesToHex(r);
        }
      }
      if (v !== undefined) out.set(k, v);
    }
    merged.set(tree, out);
  }
  return { merged, conflicts };
}

test("merge: equals the model under every policy; no-conflict merges commute; fail changes nothing; self-merge is a no-op", async () => {
  const dir = tmpDir("merge-prop");
  const db = openState(dir, { create: true });
  let run = 0;
  let t = 1_000;
  const clock = () => t++;
  try {
    fc.assert(
      fc.property(caseArb, fc.constantFrom<Policy>("ours", "theirs", "fn"), (c, policy) => {
        const repo = Repo.init(db, { name: `r${run++}`, clock });
        if (Object.keys(writesOf(c.base)).length > 0) repo.write(writesOf(c.base));
        repo.commitWork("base", { allowEmpty: true });
        repo.branch("theirs");
        repo.branch("ours2");
        repo.write(writesOf(c.ours));
        repo.commitWork("ours", { allowEmpty: true });
        repo.checkout("theirs");
        repo.write(writesOf(c.theirs));
        repo.commitWork("theirs", { allowEmpty: true });
        repo.branch("theirs2");
        repo.checkout("main");

        const baseM = applyModel(new Map(), c.base);
        const oursM = applyModel(baseM, c.ours);
        const theirsM = applyModel(baseM, c.theirs);
        const want = modelMerge(baseM, oursM, theirsM, policy);
        const before = { meta: bytesToHex(db.ref(`repo/${repo.name}`)), work: bytesToHex(repo.workRoot()) };

        // the default policy refuses conflicts and changes nothing
        if (want.conflicts > 0) {
          assert.throws(() => repo.merge("theirs"), { code: "REPO_MERGE_CONFLICT" });
          assert.equal(bytesToHex(db.ref(`repo/${repo.name}`)), before.meta);
          assert.equal(bytesToHex(repo.workRoot()), before.work);
        }
        const res = repo.merge("theirs", { policy: policy === "fn" ? resolver : policy });
        assert.equal(res.conflicts.length, want.conflicts);
        assert.deepEqual(norm(stateOf(db, repo.stateOf("main"))), norm(want.merged), `policy ${policy}`);
        assert.equal(repo.isDirty(), false);

        // commutative without conflicts: theirs2 ← ours2's commit gives the same state
        if (want.conflicts === 0) {
          repo.checkout("ours2");
          repo.write(writesOf(c.ours));
          repo.commitWork("ours again", { allowEmpty: true });
          repo.checkout("theirs2");
          repo.merge("ours2");
          assert.equal(bytesToHex(repo.stateOf("theirs2")), bytesToHex(repo.stateOf("main")));
          repo.checkout("main");
        }

        // merging a branch into itself, or an ancestor into it, is a no-op
        const head = bytesToHex(repo.branchHead("main"));
        assert.equal(repo.merge("main").kind, "up-to-date");
        assert.equal(repo.merge("main~1").kind, "up-to-date");
        assert.equal(bytesToHex(repo.branchHead("main")), head);
      }),
      { numRuns: 60, seed: Number(process.env.HELIOS_SEED ?? 20261124) },
    );
  } finally {
    await db.close();
    rmDir(dir);
  }
});
