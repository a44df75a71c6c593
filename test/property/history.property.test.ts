/**
 * The durable state against a model, over random DAGs of operations: commits
 * on the chain and on branches, ref creation, moves and deletion, rollbacks,
 * retention changes, pins, checkpoints, clean reopens, crash reopens (the log
 * alone carries what was not checkpointed) and GC cycles, some of them run in
 * steps interleaved with commits.
 *
 * After every command, every retained version (heights, refs, pins) must read
 * back completely, equal the model, have the root an independent in-memory
 * build of the model gives, and prove a key against its root. At the end,
 * after a final GC, the LMDB node count must equal the live set exactly.
 * Replay a failure with HELIOS_SEED=<seed>.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { test } from "node:test";
import fc from "fast-check";
import { bytesToHex, utf8 } from "../../src/core/index.js";
import { openState, type StateDB } from "../../src/history/index.js";
import {
  countReachable,
  createMemoryStore,
  createMerkleMap,
  EMPTY_ROOT,
  type Op,
  verifyValue,
} from "../../src/merkle/index.js";
import { fcParams, propertyRuns } from "../support/model.js";

type Contents = Map<string, Map<string, Uint8Array>>; // tree -> keyHex -> value

const TREES = ["accounts", "storage/a", "sandbox/x"];
const KEYS = Array.from({ length: 24 }, (_, i) => Uint8Array.of(i % 3, (i * 37) & 0xff, i));

function applyModel(c: Contents, writes: [string, Op[]][]): Contents {
  const out: Contents = new Map([...c].map(([t, m]) => [t, new Map(m)]));
  for (const [t, ops] of writes) {
    const m = out.get(t) ?? new Map<string, Uint8Array>();
    for (const op of ops) {
      if (op.value === null || op.value === undefined) m.delete(bytesToHex(op.key));
      else m.set(bytesToHex(op.key), op.value);
    }
    if (m.size === 0) out.delete(t);
    else out.set(t, m);
  }
  return out;
}

/** The forest root of model contents, built from nothing in a memory store (history independence). */
function modelRoot(c: Contents): string {
  const map = createMerkleMap({ store: createMemoryStore() });
  const forest: Op[] = [];
  for (const [t, m] of c) {
    const r = map.update(
      EMPTY_ROOT,
      [...m].map(([k, v]) => ({ key: Buffer.from(k, "hex"), value: v })),
    );
    forest.push({ key: utf8(t), value: r });
  }
  return bytesToHex(map.update(EMPTY_ROOT, forest));
}

type Cmd =
  | { t: "commit"; writes: [string, Op[]][] }
  | { t: "commitRef"; ref: number; writes: [string, Op[]][] }
  | { t: "setRef"; ref: number; from: number }
  | { t: "deleteRef"; ref: number }
  | { t: "rollback"; back: number }
  | { t: "retain"; n: number }
  | { t: "pin"; from: number }
  | { t: "unpin"; which: number }
  | { t: "checkpoint" }
  | { t: "reopen" }
  | { t: "crash" }
  | { t: "gc" }
  | { t: "gcSteps"; steps: number }
  | { t: "gcNoCheckpoint" };

const opArb = fc.record({
  key: fc.constantFrom(...KEYS),
  value: fc.option(fc.uint8Array({ minLength: 1, maxLength: 40 }), { nil: null, freq: 4 }),
});
const writesArb = fc
  .uniqueArray(fc.tuple(fc.constantFrom(...TREES), fc.array(opArb, { minLength: 1, maxLength: 8 })), {
    selector: (w) => w[0],
    minLength: 1,
    maxLength: 3,
  })
  .map((ws) => ws as [string, Op[]][]);

const cmdArb: fc.Arbitrary<Cmd> = fc.oneof(
  { weight: 6, arbitrary: writesArb.map((writes) => ({ t: "commit" as const, writes })) },
  { weight: 3, arbitrary: fc.record({ t: fc.constant("commitRef" as const), ref: fc.nat(2), writes: writesArb }) },
  { weight: 2, arbitrary: fc.record({ t: fc.constant("setRef" as const), ref: fc.nat(2), from: fc.nat(6) }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant("deleteRef" as const), ref: fc.nat(2) }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant("rollback" as const), back: fc.nat(4) }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant("retain" as const), n: fc.integer({ min: 1, max: 6 }) }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant("pin" as const), from: fc.nat(6) }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant("unpin" as const), which: fc.nat(3) }) },
  { weight: 2, arbitrary: fc.constant({ t: "checkpoint" as const }) },
  { weight: 1, arbitrary: fc.constant({ t: "reopen" as const }) },
  { weight: 1, arbitrary: fc.constant({ t: "crash" as const }) },
  { weight: 2, arbitrary: fc.constant({ t: "gc" as const }) },
  { weight: 2, arbitrary: fc.record({ t: fc.constant("gcSteps" as const), steps: fc.integer({ min: 1, max: 5 }) }) },
  // a whole cycle with no checkpoint first, so a crash after it must replay the log over what GC left
  { weight: 2, arbitrary: fc.constant({ t: "gcNoCheckpoint" as const }) },
);

class Model {
  versions = new Map<string, Contents>(); // root hex -> contents
  heights = new Map<number, string>();
  head = 0;
  retain = 3;
  refs = new Map<string, string>();
  pins = new Map<string, number>();
  constructor() {
    const empty = bytesToHex(EMPTY_ROOT);
    this.versions.set(empty, new Map());
    this.heights.set(0, empty);
  }
  live(): string[] {
    return [...new Set([...this.heights.values(), ...this.refs.values(), ...this.pins.keys()])];
  }
  /** A live version picked by index: heights newest first, then refs. */
  pick(i: number): string {
    const hs = [...this.heights.keys()].sort((a, b) => b - a).map((h) => this.heights.get(h) as string);
    const all = [...hs, ...[...this.refs.keys()].sort().map((r) => this.refs.get(r) as string)];
    return all[i % all.length] as string;
  }
  prune(): void {
    for (const h of [...this.heights.keys()]) if (h < this.head - this.retain + 1) this.heights.delete(h);
  }
}

function checkVersionAgainst(db: StateDB, rootHex: string, c: Contents): void {
  assert.equal(rootHex, modelRoot(c), "a committed root differs from the root of its contents built from nothing");
  const root = Buffer.from(rootHex, "hex");
  const trees = db.trees(root);
  assert.deepEqual(
    trees.map(([t]) => t),
    [...c.keys()].sort(),
    "tree names",
  );
  for (const [t, tr] of trees) {
    const got = new Map<string, string>();
    for (const [k, v] of db.map.entries(tr)) got.set(bytesToHex(k), bytesToHex(v));
    const want = new Map([...(c.get(t) as Map<string, Uint8Array>)].map(([k, v]) => [k, bytesToHex(v)]));
    assert.deepEqual(got, want, `tree ${t} of ${rootHex.slice(0, 12)}`);
    const [k0, v0] = [...(c.get(t) as Map<string, Uint8Array>)][0] as [string, Uint8Array];
    const p = db.prove(t, Buffer.from(k0, "hex"), root);
    assert.equal(verifyValue(root, utf8(t), p.treeRoot, p.forestProof), true, "forest proof");
    assert.equal(verifyValue(p.treeRoot, Buffer.from(k0, "hex"), v0, p.keyProof), true, "key proof");
  }
}

async function run(cmds: Cmd[]): Promise<void> {
  const dir = mkdtempSync(path.join(os.tmpdir(), "helios-hist-"));
  let db = openState(dir, { create: true, retain: 3, checkpointEvery: 3, cacheBytes: 1 << 20 });
  const m = new Model();
  let gcRunning = false;
  try {
    for (const c of cmds) {
      switch (c.t) {
        case "commit": {
          const base = m.versions.get(m.heights.get(m.head) as string) as Contents;
          const next = applyModel(base, c.writes);
          const root = bytesToHex(db.commit(m.head + 1, Object.fromEntries(c.writes)));
          m.versions.set(root, next);
          m.head++;
          m.heights.set(m.head, root);
          m.prune();
          break;
        }
        case "commitRef": {
          const name = `b${c.ref}`;
          const cur = m.refs.get(name);
          if (cur === undefined) {
            assert.throws(() => db.commitRef(name, Object.fromEntries(c.writes)), { code: "REF_NOT_FOUND" });
            break;
          }
          const next = applyModel(m.versions.get(cur) as Contents, c.writes);
          const root = bytesToHex(db.commitRef(name, Object.fromEntries(c.writes)));
          m.versions.set(root, next);
          m.refs.set(name, root);
          break;
        }
        case "setRef": {
          const v = m.pick(c.from);
          db.setRef(`b${c.ref}`, Buffer.from(v, "hex"));
          m.refs.set(`b${c.ref}`, v);
          break;
        }
        case "deleteRef": {
          const name = `b${c.ref}`;
          if (!m.refs.has(name)) {
            assert.throws(() => db.deleteRef(name), { code: "REF_NOT_FOUND" });
            break;
          }
          db.deleteRef(name);
          m.refs.delete(name);
          break;
        }
        case "rollback": {
          const h = m.head - c.back;
          if (!m.heights.has(h)) {
            assert.throws(() => db.rollback(h), { code: "HEIGHT_NOT_RETAINED" });
            break;
          }
          db.rollback(h);
          for (const k of [...m.heights.keys()]) if (k > h) m.heights.delete(k);
          m.head = h;
          break;
        }
        case "retain":
          db.setRetain(c.n);
          m.retain = c.n;
          m.prune();
          break;
        case "pin": {
          const v = m.pick(c.from);
          db.pin(Buffer.from(v, "hex"));
          m.pins.set(v, (m.pins.get(v) ?? 0) + 1);
          break;
        }
        case "unpin": {
          const ks = [...m.pins.keys()].sort();
          if (ks.length === 0) break;
          const v = ks[c.which % ks.length] as string;
          db.unpin(Buffer.from(v, "hex"));
          const n = (m.pins.get(v) as number) - 1;
          if (n === 0) m.pins.delete(v);
          else m.pins.set(v, n);
          break;
        }
        case "checkpoint":
          await db.checkpoint();
          break;
        case "reopen":
          await db.close();
          db = openState(dir, { cacheBytes: 1 << 20 });
          gcRunning = false;
          break;
        case "crash":
          await db.store.idle();
          db.store.abandon();
          db = openState(dir, { cacheBytes: 1 << 20, checkpointEvery: 3 });
          gcRunning = false;
          break;
        case "gc":
          if (gcRunning) await db.gcFinish(64);
          await db.collect({ budget: 16 });
          gcRunning = false;
          break;
        case "gcNoCheckpoint":
          if (!gcRunning) db.gcStart();
          await db.gcFinish(64);
          gcRunning = false;
          break;
        case "gcSteps":
          if (!gcRunning) {
            db.gcStart();
            gcRunning = true;
          }
          for (let i = 0; i < c.steps; i++) if (db.gcStep(8)) gcRunning = false;
          break;
      }
      // invariants after every command
      assert.equal(db.height, m.head, "head height");
      assert.equal(bytesToHex(db.root), m.heights.get(m.head), "head root");
      assert.deepEqual(
        db.heights(),
        [...m.heights.keys()].sort((a, b) => a - b),
        "retained heights",
      );
      for (const v of m.live()) checkVersionAgainst(db, v, m.versions.get(v) as Contents);
      // head reads (served by the head value cache once warm) agree with the model, twice over
      const headC = m.versions.get(m.heights.get(m.head) as string) as Contents;
      for (let pass = 0; pass < 2; pass++) {
        for (const t of TREES) {
          for (const k of KEYS) {
            const want = headC.get(t)?.get(bytesToHex(k));
            const got = db.get(t, k);
            assert.equal(
              got === undefined ? "absent" : bytesToHex(got),
              want === undefined ? "absent" : bytesToHex(want),
              `head get ${t}`,
            );
          }
        }
      }
    }
    // the end: every branch but the live set dropped, GC run to completion, node count = live set
    if (gcRunning) await db.gcFinish(64);
    await db.collect();
    const live = db.liveRoots();
    await db.checkpoint();
    assert.equal(db.store.stats().l0Nodes, 0, "L0 empty after checkpoint");
    assert.equal(db.store.l2Count(), countReachable(db.store, live), "LMDB holds exactly the live set after GC");
    for (const v of m.live()) {
      checkVersionAgainst(db, v, m.versions.get(v) as Contents);
      db.verify(Buffer.from(v, "hex"));
    }
  } finally {
    await db.close().catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  }
}

test("durable history matches the model over random DAGs of operations; GC returns to the live set", async () => {
  await fc.assert(
    fc.asyncProperty(fc.array(cmdArb, { minLength: 1, maxLength: 30 }), (cmds) =>
      run(cmds).catch((e) => {
        if (process.env.HELIOS_DEBUG) console.error(e);
        throw e;
      }),
    ),
    fcParams(Math.max(1, Math.round(propertyRuns(1000) / 10))),
  );
});
