/**
 * ForestFork (src/sandbox/fork.ts): model-based tests against a Map-of-Maps
 * over random fork/put/delete/get/release sequences on several trees; fork
 * isolation; writes() and stage() against independently computed ops and
 * roots; release semantics (FORK_RELEASED, the lease on the base); forks
 * write nothing to the store; the packed wire form of writes.
 * The model test also carries writes over to new forks with withWrites (the
 * runner's lazily applied outcomes).
 * Replay a property failure with HELIOS_SEED=<seed>.
 */
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import fc from "fast-check";
import { bytesToHex, isHeliosError, utf8 } from "../../../src/core/index.js";
import { openState, type StateDB } from "../../../src/history/index.js";
import { createMemoryStore, createMerkleMap, EMPTY_ROOT, type Op } from "../../../src/merkle/index.js";
import { decodeWrites, encodeWrites, ForestFork } from "../../../src/sandbox/fork.js";
import { fcParams, propertyRuns } from "../../support/model.js";
import { rmDir, tmpDir } from "../../support/tmp.js";

type Model = Map<string, Map<string, Uint8Array>>; // tree -> keyHex -> value

const TREES = ["accounts", "storage/a", "fresh"]; // "fresh" is not in the base
const KEYS = Array.from({ length: 12 }, (_, i) => Uint8Array.of(i % 3, (i * 37) & 0xff, i));

function cloneModel(m: Model): Model {
  return new Map([...m].map(([t, kv]) => [t, new Map(kv)]));
}

function modelGet(m: Model, tree: string, key: Uint8Array): Uint8Array | undefined {
  return m.get(tree)?.get(bytesToHex(key));
}

function modelPut(m: Model, tree: string, key: Uint8Array, value: Uint8Array): void {
  let kv = m.get(tree);
  if (kv === undefined) {
    kv = new Map();
    m.set(tree, kv);
  }
  kv.set(bytesToHex(key), value);
}

function modelDelete(m: Model, tree: string, key: Uint8Array): boolean {
  const kv = m.get(tree);
  if (kv === undefined || !kv.delete(bytesToHex(key))) return false;
  if (kv.size === 0) m.delete(tree);
  return true;
}

/** The forest root of a model, built from nothing in a memory store (history independence). */
function modelRoot(m: Model): string {
  const map = createMerkleMap({ store: createMemoryStore() });
  const forest: Op[] = [];
  for (const [t, kv] of m) {
    const r = map.update(
      EMPTY_ROOT,
      [...kv].map(([k, v]) => ({ key: Buffer.from(k, "hex"), value: v })),
    );
    forest.push({ key: utf8(t), value: r });
  }
  return bytesToHex(map.update(EMPTY_ROOT, forest));
}

/** The net ops from `base` to `now`, trees by name, keys by bytes: what writes() must return. */
function modelWrites(base: Model, now: Model): Map<string, Op[]> {
  const out = new Map<string, Op[]>();
  const trees = [...new Set([...base.keys(), ...now.keys()])].sort();
  for (const t of trees) {
    const b = base.get(t) ?? new Map<string, Uint8Array>();
    const n = now.get(t) ?? new Map<string, Uint8Array>();
    const keys = [...new Set([...b.keys(), ...n.keys()])].sort(); // hex order = byte order
    const ops: Op[] = [];
    for (const k of keys) {
      const bv = b.get(k);
      const nv = n.get(k);
      if (bv !== undefined && nv !== undefined && bytesToHex(bv) === bytesToHex(nv)) continue;
      if (bv === undefined && nv === undefined) continue;
      ops.push({ key: Buffer.from(k, "hex"), value: nv ?? null });
    }
    if (ops.length > 0) out.set(t, ops);
  }
  return out;
}

function showWrites(w: Map<string, Op[]>): string[] {
  const out: string[] = [];
  for (const [t, ops] of w) {
    for (const op of ops) out.push(`${t}:${bytesToHex(op.key)}=${op.value ? bytesToHex(op.value) : "-"}`);
  }
  return out;
}

let dir: string;
let db: StateDB;
const baseModel: Model = new Map();

before(() => {
  dir = tmpDir("fork");
  db = openState(dir, { create: true });
  const writes: Record<string, Op[]> = { accounts: [], "storage/a": [] };
  for (let i = 0; i < 8; i++) {
    const k = KEYS[i] as Uint8Array;
    const tree = i % 2 === 0 ? "accounts" : "storage/a";
    const v = Uint8Array.of(100 + i);
    (writes[tree] as Op[]).push({ key: k, value: v });
    modelPut(baseModel, tree, k, v);
  }
  // plus unrelated bulk, so the base is more than the keys the tests touch
  const bulk: Op[] = [];
  for (let i = 0; i < 2000; i++) bulk.push({ key: utf8(`bulk/${i}`), value: utf8(`v${i}`) });
  writes.bulk = bulk;
  const m = new Map<string, Uint8Array>();
  for (const op of bulk) m.set(bytesToHex(op.key), op.value as Uint8Array);
  baseModel.set("bulk", m);
  db.commit(1, writes);
});

after(async () => {
  await db.close();
  rmDir(dir);
});

const cmd = fc.oneof(
  fc.record({ kind: fc.constant("fork" as const), from: fc.nat() }),
  fc.record({
    kind: fc.constant("put" as const),
    fork: fc.nat(),
    tree: fc.constantFrom(...TREES),
    key: fc.nat(KEYS.length - 1),
    value: fc.uint8Array({ minLength: 0, maxLength: 6 }),
  }),
  fc.record({
    kind: fc.constant("delete" as const),
    fork: fc.nat(),
    tree: fc.constantFrom(...TREES),
    key: fc.nat(KEYS.length - 1),
  }),
  fc.record({
    kind: fc.constant("get" as const),
    fork: fc.nat(),
    tree: fc.constantFrom(...TREES),
    key: fc.nat(KEYS.length - 1),
  }),
  fc.record({ kind: fc.constant("writes" as const), fork: fc.nat() }),
  fc.record({ kind: fc.constant("release" as const), fork: fc.nat() }),
  // a new fork of the base carrying another fork's net writes (lazily applied: the runner's path)
  fc.record({ kind: fc.constant("relay" as const), from: fc.nat() }),
);

test("forks agree with a Map-of-Maps model over random fork/put/delete/get/release sequences", () => {
  fc.assert(
    fc.property(fc.array(cmd, { minLength: 1, maxLength: 60 }), (cmds) => {
      const live: { f: ForestFork; m: Model }[] = [{ f: ForestFork.of(db, db.root), m: cloneModel(baseModel) }];
      const released: ForestFork[] = [];
      for (const c of cmds) {
        if (live.length === 0) live.push({ f: ForestFork.of(db, db.root), m: cloneModel(baseModel) });
        if (c.kind === "fork") {
          const p = live[c.from % live.length] as { f: ForestFork; m: Model };
          live.push({ f: p.f.fork(), m: cloneModel(p.m) });
          continue;
        }
        if (c.kind === "relay") {
          const p = live[c.from % live.length] as { f: ForestFork; m: Model };
          const fresh = ForestFork.of(db, db.root);
          live.push({ f: fresh.withWrites(p.f.writes()), m: cloneModel(p.m) });
          fresh.release(); // the child keeps the family's lease
          continue;
        }
        const i = c.fork % live.length;
        const s = live[i] as { f: ForestFork; m: Model };
        switch (c.kind) {
          case "put": {
            const k = KEYS[c.key] as Uint8Array;
            s.f.put(c.tree, k, c.value);
            modelPut(s.m, c.tree, k, c.value);
            break;
          }
          case "delete": {
            const k = KEYS[c.key] as Uint8Array;
            assert.equal(s.f.delete(c.tree, k), modelDelete(s.m, c.tree, k));
            break;
          }
          case "get": {
            const k = KEYS[c.key] as Uint8Array;
            const got = s.f.get(c.tree, k);
            const want = modelGet(s.m, c.tree, k);
            assert.equal(got === undefined ? "-" : bytesToHex(got), want === undefined ? "-" : bytesToHex(want));
            break;
          }
          case "writes":
            assert.deepEqual(showWrites(s.f.writes()), showWrites(modelWrites(baseModel, s.m)));
            break;
          case "release":
            s.f.release();
            s.f.release(); // idempotent
            released.push(s.f);
            live.splice(i, 1);
            break;
        }
      }
      for (const s of live) {
        // every key of every tree reads back as the model says
        for (const t of [...TREES, "bulk"]) {
          const got = s.f.scan(t).map(([k, v]) => `${bytesToHex(k)}=${bytesToHex(v)}`);
          const want = [...(s.m.get(t) ?? new Map<string, Uint8Array>())]
            .sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))
            .map(([k, v]) => `${k}=${bytesToHex(v)}`);
          assert.deepEqual(got, want, `scan of ${t}`);
        }
        const w = s.f.writes();
        assert.deepEqual(showWrites(w), showWrites(modelWrites(baseModel, s.m)));
        assert.equal(s.f.dirty || w.size === 0, true, "a fork with net writes is dirty");
        const root = bytesToHex(s.f.root());
        assert.equal(root, modelRoot(s.m), "root() is the model's root");
        const staged = s.f.stage();
        assert.equal(bytesToHex(staged.root), root, "stage() gives the same root");
        staged.release();
      }
      for (const f of released) {
        assert.throws(
          () => f.get("accounts", KEYS[0] as Uint8Array),
          (e: unknown) => isHeliosError(e, "FORK_RELEASED"),
        );
      }
      for (const s of live) s.f.release();
    }),
    fcParams(propertyRuns(150)),
  );
});

test("writes after a fork are invisible to the other side, both ways", () => {
  const a = ForestFork.of(db, db.root);
  const k = utf8("shared");
  a.put("accounts", k, utf8("before"));
  const b = a.fork();
  assert.equal(Buffer.from(b.get("accounts", k) as Uint8Array).toString(), "before");
  a.put("accounts", k, utf8("a"));
  b.put("accounts", k, utf8("b"));
  a.put("fresh", utf8("only-a"), utf8("1"));
  assert.equal(b.delete("accounts", KEYS[0] as Uint8Array), true);
  assert.equal(Buffer.from(a.get("accounts", k) as Uint8Array).toString(), "a");
  assert.equal(Buffer.from(b.get("accounts", k) as Uint8Array).toString(), "b");
  assert.equal(b.get("fresh", utf8("only-a")), undefined);
  assert.notEqual(a.get("accounts", KEYS[0] as Uint8Array), undefined, "b's delete is not seen by a");
  // a grandchild of b sees b's writes but not a's, and its own writes stay its own
  const c = b.fork();
  c.put("accounts", k, utf8("c"));
  assert.equal(Buffer.from(b.get("accounts", k) as Uint8Array).toString(), "b");
  assert.equal(Buffer.from(c.get("accounts", k) as Uint8Array).toString(), "c");
  assert.equal(c.get("accounts", KEYS[0] as Uint8Array), undefined);
  // the base version itself is untouched
  assert.equal(db.get("accounts", k), undefined);
  for (const f of [a, b, c]) f.release();
});

test("writes() and stage() equal ops and a root computed independently with StateDB.stage", () => {
  const f = ForestFork.of(db, db.root);
  f.put("accounts", utf8("x"), utf8("1"));
  f.put("accounts", KEYS[0] as Uint8Array, utf8("changed"));
  f.delete("storage/a", KEYS[1] as Uint8Array);
  f.put("fresh", utf8("new"), utf8("tree"));
  f.put("accounts", KEYS[2] as Uint8Array, Uint8Array.of(102)); // same value as the base: not a change
  f.put("fresh", utf8("gone"), utf8("tmp"));
  f.delete("fresh", utf8("gone")); // written and deleted: not a change
  const independent: Record<string, Op[]> = {
    accounts: [
      { key: KEYS[0] as Uint8Array, value: utf8("changed") },
      { key: utf8("x"), value: utf8("1") },
    ],
    fresh: [{ key: utf8("new"), value: utf8("tree") }],
    "storage/a": [{ key: KEYS[1] as Uint8Array, value: null }],
  };
  const w = f.writes();
  assert.deepEqual([...w.keys()], ["accounts", "fresh", "storage/a"]);
  assert.deepEqual(showWrites(w), showWrites(new Map(Object.entries(independent))));
  const mine = f.stage();
  const theirs = db.stage(db.root, independent);
  assert.equal(bytesToHex(mine.root), bytesToHex(theirs.root));
  assert.equal(bytesToHex(f.root()), bytesToHex(theirs.root));
  assert.equal(bytesToHex(f.treeRoot("fresh")), bytesToHex(theirs.treeRoots.get("fresh") as Uint8Array));
  assert.equal(bytesToHex(f.treeRoot("bulk")), bytesToHex(db.treeRoot("bulk")));
  // a fork with no writes stages to its base
  const g = ForestFork.of(db, db.root);
  assert.equal(g.dirty, false);
  assert.equal(bytesToHex(g.root()), bytesToHex(db.root));
  assert.equal(g.writes().size, 0);
  // apply() of writes() onto a fresh fork reproduces the root
  const h = ForestFork.of(db, db.root);
  h.apply(w);
  assert.equal(bytesToHex(h.root()), bytesToHex(theirs.root));
  mine.release();
  theirs.release();
  for (const x of [f, g, h]) x.release();
});

test("apply() validates every tree and op first: a bad one applies nothing", () => {
  const f = ForestFork.of(db, db.root);
  const good: Op = { key: utf8("ok"), value: utf8("1") };
  assert.throws(
    () => f.apply({ accounts: [good], "": [good] }),
    (e: unknown) => isHeliosError(e, "TREE_NAME_INVALID"),
  );
  assert.throws(
    () => f.apply(new Map([["accounts", [good, { key: new Uint8Array(300), value: utf8("x") }]]])),
    (e: unknown) => isHeliosError(e, "MERKLE_KEY_TOO_LONG"),
  );
  assert.throws(
    () => f.apply({ accounts: [good, { key: "nope" as unknown as Uint8Array }] }),
    (e: unknown) => isHeliosError(e, "INVALID_ARGUMENT"),
  );
  assert.equal(f.get("accounts", utf8("ok")), undefined);
  assert.equal(f.dirty, false);
  assert.throws(
    () => f.put("bad\u0001name", utf8("k"), utf8("v")),
    (e: unknown) => isHeliosError(e, "TREE_NAME_INVALID"),
  );
  f.release();
});

test("release: FORK_RELEASED on every call after it, idempotent, and the last release of a family drops the lease", () => {
  // a version kept alive only by a ref, which we then delete: the forks' lease keeps it
  const staged = db.stage(db.root, { leased: [{ key: utf8("k"), value: utf8("v") }] });
  db.setRef("fork-test", staged.root);
  staged.release();
  const a = ForestFork.of(db, staged.root);
  const b = a.fork();
  db.deleteRef("fork-test");
  assert.equal(db.isLive(staged.root), true, "leased by the forks");
  a.release();
  assert.equal(db.isLive(staged.root), true, "b still holds the family's lease");
  assert.equal(Buffer.from(b.get("leased", utf8("k")) as Uint8Array).toString(), "v", "a child outlives its parent");
  b.release();
  b.release();
  assert.equal(db.isLive(staged.root), false, "the last release dropped the lease");
  const released = (e: unknown) => isHeliosError(e, "FORK_RELEASED");
  assert.throws(() => b.get("leased", utf8("k")), released);
  assert.throws(() => b.put("leased", utf8("k"), utf8("x")), released);
  assert.throws(() => b.delete("leased", utf8("k")), released);
  assert.throws(() => b.fork(), released);
  assert.throws(() => b.writes(), released);
  assert.throws(() => b.stage(), released);
  assert.throws(() => b.root(), released);
  assert.throws(() => b.dirty, released);
  assert.equal(b.isReleased, true);
  // a version that is not live cannot be forked
  assert.throws(
    () => ForestFork.of(db, staged.root),
    (e: unknown) => isHeliosError(e, "ROOT_NOT_LIVE"),
  );
});

test("forks, writes and root() never put a node into the store", () => {
  const before = db.store.stats().l0Nodes + db.store.stats().l2Nodes;
  const f = ForestFork.of(db, db.root);
  const forks: ForestFork[] = [f];
  for (let i = 0; i < 200; i++) {
    const g = (forks[i % forks.length] as ForestFork).fork();
    g.put("bulk", utf8(`bulk/${i * 7}`), utf8(`w${i}`));
    g.put("fresh", utf8(`n${i}`), utf8("x"));
    g.root();
    g.treeRoot("bulk");
    forks.push(g);
  }
  const after = db.store.stats().l0Nodes + db.store.stats().l2Nodes;
  assert.equal(after, before);
  for (const g of forks) g.release();
});

test("the log of written keys stays short: forks of unwritten forks add no layers", () => {
  let f = ForestFork.of(db, db.root);
  f.put("accounts", utf8("a"), utf8("1"));
  const all: ForestFork[] = [f];
  for (let i = 0; i < 1000; i++) {
    f = f.fork();
    all.push(f);
  }
  f.put("accounts", utf8("b"), utf8("2"));
  assert.deepEqual(showWrites(f.writes()), ["accounts:61=31", "accounts:62=32"]);
  for (const g of all) g.release();
});

test("scan() merges the base with the fork's writes, in key order, within a prefix or range", () => {
  const f = ForestFork.of(db, db.root);
  f.put("bulk", utf8("bulk/10a"), utf8("new"));
  f.delete("bulk", utf8("bulk/10"));
  f.put("bulk", utf8("bulk/100"), utf8("changed"));
  f.put("bulk", utf8("other"), utf8("outside"));
  const m = cloneModel(baseModel);
  modelPut(m, "bulk", utf8("bulk/10a"), utf8("new"));
  modelDelete(m, "bulk", utf8("bulk/10"));
  modelPut(m, "bulk", utf8("bulk/100"), utf8("changed"));
  modelPut(m, "bulk", utf8("other"), utf8("outside"));
  const entries = [...(m.get("bulk") as Map<string, Uint8Array>)]
    .map(([k, v]) => [Buffer.from(k, "hex"), Buffer.from(v)] as const)
    .sort((a, b) => Buffer.compare(a[0], b[0]));
  const show = (e: readonly (readonly [Uint8Array, Uint8Array])[]) =>
    e.map(([k, v]) => `${Buffer.from(k).toString()}=${Buffer.from(v).toString()}`);
  const prefix = utf8("bulk/10");
  assert.deepEqual(
    show(f.scan("bulk", { prefix })),
    show(entries.filter(([k]) => k.subarray(0, prefix.length).equals(prefix))),
  );
  const start = Buffer.from("bulk/1999");
  const end = Buffer.from("other");
  assert.deepEqual(
    show(f.scan("bulk", { start, end })),
    show(entries.filter(([k]) => Buffer.compare(k, start) >= 0 && Buffer.compare(k, end) < 0)),
  );
  assert.deepEqual(show(f.scan("bulk")), show(entries));
  f.release();
});

test("packed writes round-trip, and truncated bytes are CODEC_MALFORMED", () => {
  const w = new Map<string, Op[]>([
    [
      "accounts",
      [
        { key: utf8("a"), value: utf8("1") },
        { key: utf8("b"), value: null },
      ],
    ],
    ["ünïcode", [{ key: new Uint8Array(0), value: new Uint8Array(0) }]],
  ]);
  const buf = encodeWrites(w);
  assert.deepEqual(showWrites(decodeWrites(buf)), showWrites(w));
  assert.deepEqual(showWrites(decodeWrites(encodeWrites(new Map()))), []);
  for (const cut of [0, 3, 5, buf.length - 1]) {
    assert.throws(
      () => decodeWrites(buf.subarray(0, cut)),
      (e: unknown) => isHeliosError(e, "CODEC_MALFORMED"),
    );
  }
});

test("withWrites: a fork carrying net writes applies them lazily and behaves as if they were written", () => {
  const base = ForestFork.of(db, db.root);
  const w = new Map<string, Op[]>([
    [
      "accounts",
      [
        { key: KEYS[0] as Uint8Array, value: utf8("new") },
        { key: utf8("zz"), value: utf8("1") },
      ],
    ],
    ["storage/a", [{ key: KEYS[1] as Uint8Array, value: null }]],
  ]);
  const f = base.withWrites(w);
  assert.equal(f.dirty, true);
  assert.deepEqual(showWrites(f.writes()), showWrites(w), "writes() hands the ops out as they are");
  const staged = f.stage();
  const g = f.fork(); // shares the pending writes
  assert.equal(text(f.get("accounts", KEYS[0] as Uint8Array)), "new");
  assert.equal(f.get("storage/a", KEYS[1] as Uint8Array), undefined);
  assert.equal(bytesToHex(f.root()), bytesToHex(staged.root));
  g.put("accounts", utf8("zz"), utf8("2"));
  assert.equal(text(g.get("accounts", KEYS[0] as Uint8Array)), "new");
  assert.equal(text(f.get("accounts", utf8("zz"))), "1", "g's write is its own");
  assert.deepEqual(showWrites(g.writes()), [
    `accounts:${bytesToHex(KEYS[0] as Uint8Array)}=${bytesToHex(utf8("new"))}`,
    `accounts:${bytesToHex(utf8("zz"))}=${bytesToHex(utf8("2"))}`,
    `storage/a:${bytesToHex(KEYS[1] as Uint8Array)}=-`,
  ]);
  assert.throws(
    () => f.withWrites(new Map()),
    (e: unknown) => isHeliosError(e, "INVALID_ARGUMENT"),
    "only a fork without writes takes writes",
  );
  assert.throws(
    () => base.withWrites(new Map([["", []]])),
    (e: unknown) => isHeliosError(e, "TREE_NAME_INVALID"),
  );
  staged.release();
  for (const x of [base, f, g]) x.release();
});

function text(b: Uint8Array | undefined): string | undefined {
  return b === undefined ? undefined : Buffer.from(b).toString();
}
