/**
 * Crash safety of the snapshot importer with real processes: a child
 * (test/support/snapshot-import-child.ts) imports a snapshot directory into a
 * store and is SIGKILLed at a random point (while the store opens, before
 * the first chunk, between chunks, or inside finish); the next child resumes
 * the same import. After a few kills a child runs to completion, and the
 * imported store must hold exactly the source's head: the same root, byte for
 * byte, and the same contents.
 *
 * Two scenarios share one source store: a full snapshot of the head into an
 * empty store, and an incremental snapshot (base → head) into a store that
 * imported the full snapshot of the base. Each cycle starts from a fresh
 * target store.
 *
 * After every kill the parent opens the target and checks:
 *  1. the head is the pre-import head, or the snapshot's height with its root;
 *  2. the work ref `import/<id>` is on a chunk boundary: its root is the root
 *     of the start version with chunks 0..j−1 applied, or 0..j (the journal
 *     `imports/<id>.next` = j lags the work ref by at most one chunk), and
 *     every node under it is present and hashes to its id;
 *  3. no acknowledged progress is lost: j ≥ the last CHUNK the child printed;
 *     without a work ref the import has landed (snapshot ref, head);
 *  and the next child must resume exactly at j (its resumedAt).
 * After every completed import: height, root, heights, `listSnapshots`,
 * db.verify(), no `import/` ref or journal left, and the contents of every
 * tree equal the source's (lockstep over db.map.entries, and db.get of every
 * source key).
 *
 * HELIOS_SNAPSHOT_KILLS (default 20) sets the kills of the full import (the
 * incremental one gets half as many); HELIOS_SEED replays a seed's source
 * contents and kill schedule (the exact kill moments depend on timing).
 *
 * Regression (found by this harness, fixed in src/snapshot/import.ts): a
 * journal that outlived its work ref (finish() killed between dropping the
 * ref and removing the journal), followed by a begin() killed between making
 * a new work ref and writing journal 0, made the next run "resume" an empty
 * work ref at the stale chunk and fail SNAPSHOT_ROOT_MISMATCH. begin() now
 * removes any old journal (directory fsynced) before it makes a work ref, and
 * treats "snapshot landed, no work ref" as done; the checks above reject the
 * old state ("the work ref holds 0 chunks, the journal says N").
 */
import assert from "node:assert/strict";
import { cpSync, existsSync, readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { bytesToHex, equalBytes, isHeliosError, utf8 } from "../../src/core/index.js";
import { openState, type StateDB } from "../../src/history/index.js";
import { createMemoryStore, createMerkleMap, EMPTY_ROOT, isEmptyRoot, type Op } from "../../src/merkle/index.js";
import { manifestId } from "../../src/snapshot/format.js";
import {
  chunkFile,
  exportSnapshot,
  importSnapshot,
  listSnapshots,
  type Manifest,
  readManifest,
  snapshotRef,
  verifyChunk,
} from "../../src/snapshot/index.js";
import { prng } from "../support/crash-child.js";
import { type ChildRun as Run, type Line, runWatched } from "../support/proc.js";
import type { ChildMode } from "../support/snapshot-import-child.js";
import { rmDir, tmpDir } from "../support/tmp.js";

const CHILD = fileURLToPath(new URL("../support/snapshot-import-child.js", import.meta.url));
const KILLS = Number(process.env.HELIOS_SNAPSHOT_KILLS ?? 20);
const INC_KILLS = Math.ceil(KILLS / 2);
const SEED = process.env.HELIOS_SEED ? Number(process.env.HELIOS_SEED) : Math.floor(Math.random() * 2 ** 31);
const CHUNK_BYTES = 64 * 1024;
/** A child not killed on schedule (nor finished) within this long is hung. */
const HANG_MS = 30_000;
/** Kills per cycle (fresh target store, then a run to completion): 1..MAX_PER_CYCLE. */
const MAX_PER_CYCLE = 6;
const BASE_HEIGHT = 2;
const HEAD_HEIGHT = 4;

// ----------------------------------------------------------------- source

function bytes(r: () => number, n: number): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = Math.floor(r() * 256);
  return out;
}

/**
 * Builds heights 1..4 of the source store from the seed: ~28K entries in four
 * trees at the base (height 2), some values up to 12 KiB; the head adds a
 * tree, drops one (every key deleted), rewrites large values and deletes
 * accounts, so the increment 2 → 4 has puts, deletes, a new and a gone tree.
 */
function buildSource(db: StateDB, seed: number): void {
  const r = prng(seed, 0x736e6170);
  const gen = (n: number, keyBytes: number, min: number, max: number): Op[] =>
    Array.from({ length: n }, () => ({
      key: bytes(r, keyBytes),
      value: bytes(r, min + Math.floor(r() * (max - min))),
    }));
  const some = (ops: readonly Op[], p: number): Op[] => ops.filter(() => r() < p);
  const accounts = gen(14_000, 32, 8, 72);
  const storage = gen(6_000, 32, 16, 200);
  const code = gen(96, 20, 2048, 12 * 1024);
  const scratch = gen(400, 8, 4, 20);
  db.commit(
    1,
    new Map([
      ["accounts", accounts],
      ["code", code],
      ["scratch", scratch],
      ["storage/c1", storage],
    ]),
  );
  db.commit(
    2,
    new Map<string, Op[]>([
      ["accounts", some(accounts, 0.2).map((o) => ({ key: o.key, value: bytes(r, 8 + Math.floor(r() * 64)) }))],
      ["code", some(code, 0.1).map((o) => ({ key: o.key, value: bytes(r, 4096) }))],
      ["storage/c1", [...some(storage, 0.05).map((o) => ({ key: o.key, value: null })), ...gen(800, 32, 16, 200)]],
    ]),
  );
  db.commit(
    3,
    new Map([
      ["accounts", some(accounts, 0.1).map((o) => ({ key: o.key, value: bytes(r, 40) }))],
      ["storage/c2", gen(3_000, 32, 16, 120)],
    ]),
  );
  db.commit(
    4,
    new Map<string, Op[]>([
      ["accounts", some(accounts, 0.1).map((o) => ({ key: o.key, value: null }))],
      ["code", some(code, 0.4).map((o) => ({ key: o.key, value: bytes(r, 1024 + Math.floor(r() * 8192)) }))],
      ["scratch", scratch.map((o) => ({ key: o.key, value: null }))],
      ["storage/c1", some(storage, 0.15).map((o) => ({ key: o.key, value: bytes(r, 32) }))],
    ]),
  );
}

// -------------------------------------------------------- in-memory model

/** Forest updates in a memory store, the same way StateDB applies a commit (independent of the store). */
class MemModel {
  readonly map = createMerkleMap({ store: createMemoryStore() });

  apply(base: Uint8Array, writes: Map<string, readonly Op[]>): Uint8Array {
    const forest: Op[] = [];
    for (const [name, ops] of [...writes].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))) {
      const key = utf8(name);
      const next = this.map.update(this.map.get(base, key) ?? EMPTY_ROOT, ops);
      forest.push({ key, value: isEmptyRoot(next) ? null : next });
    }
    return forest.length === 0 ? base : this.map.update(base, forest);
  }

  /** A copy of a stored version. */
  copy(db: StateDB, version: Uint8Array): Uint8Array {
    const writes = new Map<string, Op[]>();
    for (const [t, tr] of db.trees(version)) {
      writes.set(
        t,
        [...db.map.entries(tr)].map(([key, value]) => ({ key, value })),
      );
    }
    return this.apply(EMPTY_ROOT, writes);
  }
}

/** Roots of the start version with chunks 0..k−1 applied, k = 0..n (prefix[n] must be the manifest root). */
function prefixRoots(dir: string, m: Manifest, start: Uint8Array, model: MemModel): Uint8Array[] {
  const out = [start];
  let root = start;
  for (let i = 0; i < m.chunks.length; i++) {
    root = model.apply(root, verifyChunk(m, i, readFileSync(chunkFile(dir, i))).writes);
    out.push(root);
  }
  assert.ok(equalBytes(root, m.root), "the model's import of every chunk does not reach the manifest root");
  return out;
}

// ------------------------------------------------------------ scenarios

interface Scenario {
  name: "full" | "incremental";
  snap: string;
  manifest: Manifest;
  id: string;
  chunks: number;
  /** The target's head before the import (0 and the empty root, or the base). */
  startHeight: number;
  startRoot: Uint8Array;
  prefix: Uint8Array[];
  /** A fresh target store in `dir` (an empty directory, or a copy of the base store). */
  prepare: (dir: string) => void;
  /** Snapshots the target must list when done. */
  snapshots: number[];
}

// --------------------------------------------------------------- children

interface KillPlan {
  mode: "open" | "begin" | "chunks" | "finish";
  /** Whether this line (with `chunkLines` CHUNK lines seen so far, this one included) starts the kill's delay. */
  trigger: (l: Line, chunkLines: number) => boolean;
  delay: number;
}

/** Runs a child importing `s` into `store`, SIGKILLed as `plan` says (none: it runs to its end, or hangs). */
function runChild(store: string, s: Scenario, mode: ChildMode, plan: KillPlan | undefined): Promise<Run> {
  let chunkLines = 0;
  return runWatched(CHILD, [store, s.snap, mode], {
    hangMs: HANG_MS,
    onLine: (l, k) => {
      if (plan === undefined || k.scheduled) return;
      if (l.kind === "CHUNK") chunkLines++;
      if (plan.trigger(l, chunkLines)) k.killAfter(plan.delay);
    },
  });
}

/** Where a kill landed, from what the child had written. */
type Phase = "open" | "before-first-chunk" | "mid-chunks" | "finish" | "after-done";
const PHASES: Phase[] = ["open", "before-first-chunk", "mid-chunks", "finish", "after-done"];

function landed(run: Run, s: Scenario, allApplied: boolean): Phase {
  const has = (k: string) => run.lines.some((l) => l.kind === k);
  if (has("DONE")) return "after-done";
  if (!has("OPEN")) return "open";
  if (has("FINISH")) return "finish";
  const chunks = run.lines.filter((l) => l.kind === "CHUNK");
  if (chunks.length === 0) return allApplied ? "finish" : "before-first-chunk";
  return Number(chunks[chunks.length - 1]?.args[0]) === s.chunks ? "finish" : "mid-chunks";
}

/**
 * Where a run resumed: BEGIN's or DONE's resumedAt (the importer's own
 * report), else the first CHUNK − 1 (when both are there they must agree).
 */
function resumedAt(run: Run): { at: number; reported: boolean } | undefined {
  const find = (k: string) => run.lines.find((l) => l.kind === k);
  const begin = find("BEGIN");
  const done = find("DONE");
  const chunk = find("CHUNK");
  const reported = begin !== undefined ? Number(begin.args[0]) : done !== undefined ? Number(done.args[2]) : undefined;
  const inferred = chunk === undefined ? undefined : Number(chunk.args[0]) - 1;
  if (reported !== undefined && inferred !== undefined) {
    assert.equal(inferred, reported, `resumedAt ${reported}, but the first chunk applied was ${inferred}`);
  }
  if (reported !== undefined) return { at: reported, reported: true };
  return inferred === undefined ? undefined : { at: inferred, reported: false };
}

// ---------------------------------------------------------------- checks

/** What the parent found in the target after a kill, for the next run. */
interface Found {
  /** The resume point the next child must report. */
  next: number;
  /** The import had landed (snapshot ref and head). */
  landed: boolean;
  /** The work ref holds every chunk's writes (the next run goes straight to finish, or re-applies the last). */
  allApplied: boolean;
  journal: number | undefined;
  /**
   * How far finish() had got: not begun, the snapshot ref set, adopted (work
   * ref still there), the work ref dropped (journal still there), all done.
   */
  step: FinishStep;
}

type FinishStep = "not begun" | "snapshot ref" | "adopted" | "work ref dropped" | "journal removed";
const STEPS: FinishStep[] = ["not begun", "snapshot ref", "adopted", "work ref dropped", "journal removed"];

function journalPath(store: string, s: Scenario): string {
  return path.join(store, "imports", `${s.id}.next`);
}

function readJournal(store: string, s: Scenario): number | undefined {
  const p = journalPath(store, s);
  if (!existsSync(p)) return undefined;
  const n = Number(readFileSync(p, "utf8").trim());
  assert.ok(Number.isSafeInteger(n) && n >= 0 && n <= s.chunks, `journal ${p} holds ${JSON.stringify(n)}`);
  return n;
}

function prefixIndex(s: Scenario, root: Uint8Array): number {
  return s.prefix.findIndex((p) => equalBytes(p, root));
}

async function checkAfterKill(store: string, s: Scenario, run: Run, before: Found, r: () => number): Promise<Found> {
  let db: StateDB;
  try {
    db = openState(store);
  } catch (e) {
    // killed before the store existed: nothing can have been imported
    if (isHeliosError(e, "STORE_NOT_FOUND") && !run.lines.some((l) => l.kind === "OPEN") && s.startHeight === 0) {
      assert.equal(before.next, 0);
      return before;
    }
    throw e;
  }
  try {
    const h = db.height;
    const refs = db.refs();
    const snap = refs.get(snapshotRef(s.manifest.height));
    const work = refs.get(`import/${s.id}`);
    const j = readJournal(store, s);
    const isLanded = h === s.manifest.height;
    // 1. the head is the old one or the snapshot's
    if (isLanded) {
      assert.ok(equalBytes(db.root, s.manifest.root), `head ${h}: root ≠ the manifest root`);
      assert.ok(snap !== undefined && equalBytes(snap, s.manifest.root), "adopted without the snapshot ref");
    } else {
      assert.equal(h, s.startHeight, `head ${h}: neither the start height nor the snapshot's`);
      assert.ok(equalBytes(db.root, s.startRoot), `head ${h}: root ≠ the start root`);
    }
    if (snap !== undefined) assert.ok(equalBytes(snap, s.manifest.root), "the snapshot ref ≠ the manifest root");
    for (const name of refs.keys()) {
      assert.ok(
        name === `import/${s.id}` || name.startsWith("snapshot/"),
        `unexpected ref ${name} (refs: ${[...refs.keys()].join(", ")})`,
      );
    }
    // 3. acknowledged progress is kept
    const printed = run.lines.filter((l) => l.kind === "CHUNK").map((l) => Number(l.args[0]));
    const acked = printed.length > 0 ? Math.max(...printed) : undefined;
    if (work === undefined) {
      if (snap === undefined) {
        // never began (killed before begin's setRef): nothing was applied
        assert.equal(acked, undefined, `chunk ${acked} was acknowledged, but there is no work ref and no snapshot`);
        assert.equal(before.next, 0, "the work ref vanished with the import unfinished");
        return { next: 0, landed: false, allApplied: false, journal: j, step: "not begun" };
      }
      // finish() deletes the work ref last: the import has landed
      assert.ok(isLanded, "the work ref is gone, the snapshot is not adopted");
      const step = j === undefined ? "journal removed" : "work ref dropped";
      return { next: 0, landed: true, allApplied: false, journal: j, step };
    }
    // 2. the work ref is on a chunk boundary the journal allows
    const k = prefixIndex(s, work);
    assert.ok(k >= 0, `the work ref ${bytesToHex(work)} is not the root of any prefix of the chunks`);
    if (j === undefined) {
      // killed between begin's setRef and its first journal write
      assert.equal(k, 0, `the work ref holds ${k} chunks, the journal is missing`);
      assert.equal(acked, undefined, "chunks acknowledged, the journal is missing");
    } else {
      assert.ok(k === j || k === j + 1, `the work ref holds ${k} chunks, the journal says ${j}`);
      if (acked !== undefined) assert.ok(j >= acked, `chunk ${acked} was acknowledged, the journal says ${j}`);
      if (!before.landed && before.journal !== undefined) {
        assert.ok(j >= before.journal, `the journal went back from ${before.journal} to ${j}`);
      }
    }
    // finish() sets the snapshot ref only once every chunk is applied (a re-import after landing starts over)
    if (snap !== undefined && !before.landed) assert.equal(k, s.chunks, "the snapshot ref is set before every chunk");
    if (k > 0) db.verify(work);
    const step: FinishStep = isLanded ? "adopted" : snap !== undefined ? "snapshot ref" : "not begun";
    return { next: j ?? 0, landed: isLanded, allApplied: j === s.chunks, journal: j, step };
  } finally {
    // mostly leave the log for the next child to replay; sometimes checkpoint it away
    if (r() < 0.25) await db.close();
    else await db.store.close();
  }
}

/**
 * Contents of version `ra` of `a` vs `rb` of `b`, tree by tree in lockstep
 * over map.entries; then db.get on `b` of every key of `a`. undefined: equal.
 */
function diffContents(a: StateDB, ra: Uint8Array, b: StateDB, rb: Uint8Array): string | undefined {
  const ta = a.trees(ra);
  const tb = b.trees(rb);
  const na = ta.map(([n]) => n).join(",");
  const nb = tb.map(([n]) => n).join(",");
  if (na !== nb) return `trees [${na}] ≠ [${nb}]`;
  for (let t = 0; t < ta.length; t++) {
    const [name, rootA] = ta[t] as [string, Uint8Array];
    const rootB = (tb[t] as [string, Uint8Array])[1];
    const ia = a.map.entries(rootA);
    const ib = b.map.entries(rootB);
    for (let n = 0; ; n++) {
      const x = ia.next();
      const y = ib.next();
      if (x.done === true || y.done === true) {
        if (x.done !== y.done) return `tree ${name}: ${x.done ? "fewer" : "more"} entries than the source after ${n}`;
        break;
      }
      const [ka, va] = x.value;
      const [kb, vb] = y.value;
      if (!equalBytes(ka, kb)) return `tree ${name}: entry ${n}: key ${bytesToHex(kb)} ≠ ${bytesToHex(ka)}`;
      if (!equalBytes(va, vb))
        return `tree ${name}: key ${bytesToHex(ka)}: value ${bytesToHex(vb)} ≠ ${bytesToHex(va)}`;
    }
  }
  const head = equalBytes(rb, b.root) ? undefined : rb;
  for (const [name, tr] of ta) {
    for (const [k, v] of a.map.entries(tr)) {
      const got = b.get(name, k, head);
      if (got === undefined || !equalBytes(got, v)) return `tree ${name}: get(${bytesToHex(k)}) ≠ the source's value`;
    }
  }
  return undefined;
}

/** The completed import: the source's head, exactly. */
async function checkDone(store: string, s: Scenario, src: StateDB, srcRoot: Uint8Array): Promise<void> {
  const db = openState(store);
  try {
    assert.equal(db.height, s.manifest.height, "height ≠ the snapshot height");
    assert.ok(equalBytes(db.root, srcRoot), `root ${bytesToHex(db.root)} ≠ the source root ${bytesToHex(srcRoot)}`);
    assert.deepEqual(db.heights(), [s.manifest.height], "retained heights after adopt");
    const snaps = listSnapshots(db);
    assert.deepEqual(
      snaps.map((x) => x.height),
      s.snapshots,
      "listSnapshots",
    );
    const mine = snaps.find((x) => x.height === s.manifest.height);
    assert.ok(mine !== undefined && equalBytes(mine.root, srcRoot), "the snapshot's root ≠ the source root");
    const left = [...db.refs().keys()].filter((n) => n.startsWith("import/"));
    assert.deepEqual(left, [], "an import/ ref is left");
    const dir = path.join(store, "imports");
    const files = existsSync(dir) ? readdirSync(dir) : [];
    assert.deepEqual(files, [], "an import journal is left");
    db.verify();
    const diff = diffContents(src, srcRoot, db, db.root);
    assert.equal(diff, undefined, `contents ≠ the source's: ${diff}`);
  } finally {
    await db.close();
  }
}

// ------------------------------------------------------------------ driver

interface Stats {
  kills: number;
  phases: Map<Phase, number>;
  /** "kill mode → where it landed" counts (finished: the child finished before the kill). */
  modes: Map<string, number>;
  /** For kills in the finish phase: how far finish() had got. */
  finishSteps: Map<FinishStep, number>;
  /** Runs that finished before the scheduled kill. */
  finishedFirst: number;
  completions: number;
  cycles: number;
  /** Runs whose importer reported resumedAt > 0 (BEGIN or DONE), and runs seen resuming past 0 at all. */
  reportedResumes: number;
  resumes: number;
  maxResume: number;
  childMs: number;
  runs: number;
}

type KillMode = KillPlan["mode"];
/** Kill modes are dealt from shuffled blocks of ten, so every mode comes up however few the kills. */
const BLOCK: KillMode[] = [
  "open",
  "begin",
  "begin",
  "chunks",
  "chunks",
  "chunks",
  "chunks",
  "chunks",
  "finish",
  "finish",
];

function dealer(r: () => number): () => KillMode {
  let bag: KillMode[] = [];
  return () => {
    if (bag.length === 0) {
      bag = [...BLOCK];
      for (let i = bag.length - 1; i > 0; i--) {
        const j = Math.floor(r() * (i + 1));
        [bag[i], bag[j]] = [bag[j] as KillMode, bag[i] as KillMode];
      }
    }
    return bag.pop() as KillMode;
  };
}

/**
 * Where to kill the next child, timed from a line it writes so the kill lands
 * in the same part of the import however loaded the machine is:
 *  - open   (10%) 0–20 ms after PHASE open: module loading done, store opening (recovery);
 *  - begin  (20%) 0–20 ms after OPEN: SnapshotImport.begin and the first chunks;
 *  - chunks (50%) 0–20 ms after the n-th CHUNK of this run, n uniform over the chunks left;
 *  - finish (20%) 0–4 ms after the last CHUNK (or FINISH, or OPEN when no chunk is left):
 *    finish() is three small synced log appends, a longer delay would mostly miss it.
 */
function drawPlan(mode: KillMode, r: () => number, s: Scenario, found: Found): KillPlan {
  const last = (l: Line) =>
    (l.kind === "CHUNK" && Number(l.args[0]) === s.chunks) ||
    l.kind === "FINISH" ||
    (l.kind === "OPEN" && found.allApplied);
  switch (mode) {
    case "open":
      return { mode, trigger: (l) => l.kind === "PHASE", delay: r() * 20 };
    case "begin":
      return { mode, trigger: (l) => l.kind === "OPEN", delay: r() * 20 };
    case "chunks": {
      const n = 1 + Math.floor(r() * Math.max(1, s.chunks - found.next));
      return { mode, trigger: (l, seen) => (l.kind === "CHUNK" && seen >= n) || last(l), delay: r() * 20 };
    }
    case "finish":
      return { mode, trigger: last, delay: r() * 4 };
  }
}

function expectResume(run: Run, found: Found, stats: Stats, what: string): void {
  const at = resumedAt(run);
  if (at === undefined) return;
  assert.equal(at.at, found.next, `${what}: the child resumed at chunk ${at.at}, the journal said ${found.next}`);
  if (at.at > 0) {
    stats.resumes++;
    stats.maxResume = Math.max(stats.maxResume, at.at);
    if (at.reported) stats.reportedResumes++;
  }
}

function checkDoneLine(run: Run, s: Scenario, found: Found): void {
  const done = run.lines.find((l) => l.kind === "DONE");
  assert.ok(done !== undefined, "no DONE line");
  const [h = "", root = "", , adopted = ""] = done.args;
  assert.equal(Number(h), s.manifest.height, "DONE: height");
  assert.equal(root, bytesToHex(s.manifest.root), "DONE: root");
  assert.equal(adopted, found.landed ? "0" : "1", "DONE: adopted");
}

async function runScenario(s: Scenario, kills: number, src: StateDB, work: string, r: () => number): Promise<Stats> {
  const srcRoot = src.rootAt(HEAD_HEIGHT);
  const stats: Stats = {
    kills: 0,
    phases: new Map(),
    finishSteps: new Map(),
    modes: new Map(),
    finishedFirst: 0,
    completions: 0,
    cycles: 0,
    reportedResumes: 0,
    resumes: 0,
    maxResume: 0,
    childMs: 0,
    runs: 0,
  };
  let last: Run | undefined;
  let store = "";
  const deal = dealer(r);
  try {
    while (stats.kills < kills) {
      store = path.join(work, `${s.name}-${stats.cycles++}`);
      s.prepare(store);
      const perCycle = Math.min(kills - stats.kills, 1 + Math.floor(r() * MAX_PER_CYCLE));
      let found: Found = { next: 0, landed: false, allApplied: false, journal: undefined, step: "not begun" };
      let complete = false;
      for (let i = 0; i < perCycle && !complete; ) {
        assert.ok(stats.runs < 4 * kills + 20, `${stats.runs} runs for ${stats.kills} kills: the kills do not land`);
        const plan = drawPlan(deal(), r, s, found);
        const mode: ChildMode = r() < 0.5 ? "api" : "steps";
        const run = await runChild(store, s, mode, plan);
        last = run;
        stats.runs++;
        stats.childMs += run.ms;
        assert.ok(!run.hung, `the child hung (${HANG_MS} ms):\n${run.stderr}`);
        expectResume(run, found, stats, `run ${stats.runs} (${mode})`);
        const to = run.signal === null && run.code === 0 ? "finished" : landed(run, s, found.allApplied);
        stats.modes.set(`${plan.mode}→${to}`, (stats.modes.get(`${plan.mode}→${to}`) ?? 0) + 1);
        if (run.signal === null && run.code === 0) {
          // finished before the kill: a completion
          checkDoneLine(run, s, found);
          stats.finishedFirst++;
          complete = true;
          break;
        }
        assert.ok(
          run.signal === "SIGKILL" && run.killedAt >= 0,
          `the child exited by itself (code ${run.code}, signal ${run.signal}):\n${run.stderr}`,
        );
        const phase = landed(run, s, found.allApplied);
        stats.phases.set(phase, (stats.phases.get(phase) ?? 0) + 1);
        if (phase === "after-done") {
          checkDoneLine(run, s, found);
          complete = true; // killed in close (checkpoint): imported; not counted as a kill of the importer
        } else {
          stats.kills++;
          i++;
        }
        const wasLanded = found.landed;
        found = await checkAfterKill(store, s, run, found, r);
        if (phase === "finish" && !wasLanded)
          stats.finishSteps.set(found.step, (stats.finishSteps.get(found.step) ?? 0) + 1);
      }
      if (!complete) {
        const run = await runChild(store, s, r() < 0.5 ? "api" : "steps", undefined);
        last = run;
        stats.runs++;
        stats.childMs += run.ms;
        assert.ok(!run.hung, `the completing child hung (${HANG_MS} ms):\n${run.stderr}`);
        assert.ok(
          run.code === 0,
          `the completing child failed (code ${run.code}, signal ${run.signal}):\n${run.stderr}`,
        );
        expectResume(run, found, stats, "completion");
        checkDoneLine(run, s, found);
        assert.ok(
          run.lines.some((l) => l.kind === "CLOSED"),
          "no CLOSED line",
        );
      }
      stats.completions++;
      await checkDone(store, s, src, srcRoot);
      rmDir(store);
    }
  } catch (e) {
    const tail = last?.lines
      .slice(-10)
      .map((l) => `  ${l.kind} ${l.args.join(" ")}`)
      .join("\n");
    const err = e as { code?: string; context?: unknown; message?: string };
    console.log(
      `snapshot import crash test FAILED (${s.name}, after ${stats.kills} kills), seed ${SEED}: replay with HELIOS_SEED=${SEED}\n` +
        `error: ${err.code ?? ""} ${err.context === undefined ? "" : JSON.stringify(err.context)} ${err.message}\n` +
        `store kept at ${store}\nthe last child's last lines:\n${tail}\nits stderr: ${last?.stderr ?? ""}`,
    );
    throw e;
  }
  return stats;
}

function table(name: string, st: Stats): string {
  const out = [`${name}: phase at kill       kills`];
  for (const p of PHASES) out.push(`  ${p.padEnd(22)} ${String(st.phases.get(p) ?? 0).padStart(5)}`);
  out.push(
    `  kill mode → landed: ${[...st.modes]
      .sort()
      .map(([k, n]) => `${k} ${n}`)
      .join(", ")}`,
  );
  out.push(`  finish() had got to: ${STEPS.map((x) => `${x} ${st.finishSteps.get(x) ?? 0}`).join(", ")}`);
  out.push(
    `  kills of the importer: ${st.kills}; runs that finished before the kill: ${st.finishedFirst}; ` +
      `cycles: ${st.cycles}; child runs: ${st.runs} (${(st.childMs / 1000).toFixed(1)} s); ` +
      `resumed past chunk 0: ${st.resumes} runs (${st.reportedResumes} reported by the importer, furthest at ${st.maxResume})`,
  );
  return out.join("\n");
}

test(`snapshot import: ${KILLS} + ${INC_KILLS} SIGKILLs of a resuming importer`, {
  timeout: 60 * 60 * 1000,
}, async (t) => {
  console.log(`snapshot import crash test: seed ${SEED} (replay: HELIOS_SEED=${SEED}), ${KILLS} + ${INC_KILLS} kills`);
  const t0 = performance.now();
  const work = tmpDir("snapimport");
  const r = prng(SEED, 0x6b696c6c);
  const src = openState(path.join(work, "source"), { create: true });
  try {
    buildSource(src, SEED);
    const snaps = path.join(work, "snapshots");
    const fullDir = path.join(snaps, "full");
    const baseDir = path.join(snaps, "base");
    const incDir = path.join(snaps, "inc");
    await exportSnapshot(src, HEAD_HEIGHT, fullDir, { chunkBytes: CHUNK_BYTES });
    await exportSnapshot(src, BASE_HEIGHT, baseDir, { chunkBytes: CHUNK_BYTES });
    await exportSnapshot(src, HEAD_HEIGHT, incDir, { chunkBytes: CHUNK_BYTES, base: BASE_HEIGHT });

    const model = new MemModel();
    const scenario = (name: Scenario["name"], snap: string, start: Uint8Array, startHeight: number): Scenario => {
      const { bytes, manifest } = readManifest(snap);
      return {
        name,
        snap,
        manifest,
        id: bytesToHex(manifestId(bytes)),
        chunks: manifest.chunks.length,
        startHeight,
        startRoot: start,
        prefix: prefixRoots(snap, manifest, startHeight === 0 ? EMPTY_ROOT : model.copy(src, start), model),
        prepare: () => undefined, // full: openState({ create: true }) in the child makes the store
        snapshots: startHeight === 0 ? [HEAD_HEIGHT] : [BASE_HEIGHT, HEAD_HEIGHT],
      };
    };
    const full = scenario("full", fullDir, EMPTY_ROOT, 0);
    assert.ok(equalBytes(full.manifest.root, src.rootAt(HEAD_HEIGHT)));
    assert.ok(full.chunks >= 30 && full.chunks <= 100, `${full.chunks} chunks in the full snapshot`);

    // the base store for the incremental: the full snapshot of the base, imported (uninterrupted)
    const baseStore = path.join(work, "base-store");
    const bdb = openState(baseStore, { create: true });
    try {
      const rep = await importSnapshot(bdb, baseDir);
      assert.ok(equalBytes(rep.root, src.rootAt(BASE_HEIGHT)) && bdb.height === BASE_HEIGHT);
    } finally {
      await bdb.close();
    }
    const inc = scenario("incremental", incDir, src.rootAt(BASE_HEIGHT), BASE_HEIGHT);
    assert.equal(inc.manifest.kind, "incremental");
    assert.ok(equalBytes(inc.prefix[0] as Uint8Array, src.rootAt(BASE_HEIGHT)), "the model's base ≠ the base root");
    assert.ok(inc.chunks >= 10, `${inc.chunks} chunks in the incremental snapshot`);
    inc.prepare = (dir) => cpSync(baseStore, dir, { recursive: true });
    console.log(
      `snapshot import crash test: full snapshot ${full.chunks} chunks, incremental ${inc.chunks} chunks ` +
        `(${CHUNK_BYTES / 1024} KiB), source built and exported in ${((performance.now() - t0) / 1000).toFixed(1)} s`,
    );

    // the content check is not vacuous: the base differs from the head
    assert.notEqual(diffContents(src, src.rootAt(HEAD_HEIGHT), src, src.rootAt(BASE_HEIGHT)), undefined);
    assert.equal(diffContents(src, src.rootAt(HEAD_HEIGHT), src, src.rootAt(HEAD_HEIGHT)), undefined);

    const fs = await runScenario(full, KILLS, src, work, r);
    const is = await runScenario(inc, INC_KILLS, src, work, r);
    const secs = (performance.now() - t0) / 1000;
    const summary = `snapshot import crash test: seed ${SEED}, ${secs.toFixed(1)} s\n${table("full", fs)}\n${table("incremental", is)}`;
    console.log(summary);
    t.diagnostic(summary.replaceAll("\n", " | "));
    assert.ok(fs.kills >= KILLS && is.kills >= INC_KILLS);
    // the resume resumes (does not restart): some importer reported resumedAt > 0
    if (KILLS >= 10) {
      assert.ok(fs.reportedResumes > 0, `no full import reported resumedAt > 0 (seed ${SEED})`);
      assert.ok((fs.phases.get("mid-chunks") ?? 0) > 0, `no kill landed between chunks (seed ${SEED})`);
    }
  } finally {
    await src.close();
  }
  rmDir(work);
});
