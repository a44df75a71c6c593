/**
 * Branches (sandbox/repo.ts, docs/spec/repo.md): every verb, its coded
 * errors with nothing half-applied, per-branch working states that no verb
 * silently drops, durability across a crash, and GC after discarded branches
 * returning the store to exactly the live set.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { bytesToHex, utf8 } from "../../../src/core/index.js";
import { openState, type StateDB } from "../../../src/history/index.js";
import { countReachable } from "../../../src/merkle/index.js";
import { Repo } from "../../../src/sandbox/index.js";
import { rmDir, tmpDir } from "../../support/tmp.js";

const k = (s: string) => utf8(s);
const v = (s: string) => utf8(s);
const str = (b: Uint8Array | undefined) => (b === undefined ? undefined : new TextDecoder().decode(b));
function clockFrom(t0: number): () => number {
  let t = t0;
  return () => (t += 1000);
}

test("repo: branch, checkout, commit, log, diff, tag, reset, with per-branch working states", async () => {
  const dir = tmpDir("repo");
  try {
    const db = openState(dir, { create: true });
    const repo = Repo.init(db, { clock: clockFrom(1_700_000_000_000), author: "tester" });
    assert.throws(() => Repo.init(db, { clock: () => 0 }), { code: "REPO_EXISTS" });
    assert.equal(repo.current, "main");
    assert.throws(() => repo.commitWork("nothing"), { code: "REPO_NOTHING_TO_COMMIT" });

    repo.put("t", k("a"), v("1"));
    repo.put("t", k("b"), v("2"));
    assert.equal(repo.isDirty(), true);
    const c1 = repo.commitWork("first");
    assert.equal(repo.isDirty(), false);
    assert.equal(str(repo.get("t", k("a"), "main")), "1");

    // forking uncommitted working state: the new branch carries the writes; both keep them
    repo.put("t", k("c"), v("3"));
    repo.branch("exp");
    assert.equal(str(repo.get("t", k("c"), "exp:work")), "3");
    assert.equal(str(repo.get("t", k("c"), "main:work")), "3");
    assert.deepEqual(repo.branchHead("exp"), c1);

    // checkout touches no working state: writes on exp stay on exp, main's stay on main
    repo.checkout("exp");
    repo.delete("t", k("a"));
    repo.put("u", k("x"), v("9"));
    const c2 = repo.commitWork("on exp");
    repo.checkout("main");
    assert.equal(str(repo.get("t", k("a"))), "1");
    assert.equal(repo.get("u", k("x")), undefined);
    assert.equal(repo.isDirty("main"), true, "main still has its uncommitted c=3");
    repo.commitWork("c on main");

    // log: newest first, through parents
    assert.deepEqual(
      repo.log("exp").map((c) => c.message),
      ["on exp", "first", "init"],
    );
    assert.equal(repo.log("exp")[0]?.author, "tester");
    assert.deepEqual(
      repo.log("main", 2).map((c) => c.message),
      ["c on main", "first"],
    );

    // diff main → exp, and --stat
    const d = repo.diff("main", "exp");
    assert.deepEqual(
      d.map((t) => [t.tree, t.changes.map((c) => [str(c.key), str(c.before), str(c.after)])]),
      [
        ["t", [["a", "1", undefined]]],
        ["u", [["x", undefined, "9"]]],
      ],
    );
    assert.deepEqual(repo.diffStat("main", "exp"), [
      { tree: "t", added: 0, removed: 1, modified: 0, bytesDelta: -1 },
      { tree: "u", added: 1, removed: 0, modified: 0, bytesDelta: 1 },
    ]);
    assert.deepEqual(repo.diff("exp", "exp"), []);

    // revisions: prefixes, ~N, tags
    const hex = bytesToHex(c2);
    assert.deepEqual(repo.resolve(hex.slice(0, 8)), c2);
    assert.deepEqual(repo.resolve("exp~1"), c1);
    assert.throws(() => repo.resolve("exp~9"), { code: "REPO_REV_NOT_FOUND" });
    assert.throws(() => repo.resolve("nope"), { code: "REPO_REV_NOT_FOUND" });
    repo.tag("v1", "exp~1", { message: "the first" });
    assert.deepEqual(repo.resolve("v1"), c1);
    assert.throws(() => repo.tag("v1", "exp"), { code: "REPO_TAG_EXISTS" });
    assert.deepEqual(repo.resolve("v1"), c1, "a refused tag changes nothing");
    repo.tag("v1", "exp", { force: true });
    assert.deepEqual(repo.resolve("v1"), c2);

    // bad names and bad branch operations: coded, nothing changed
    const meta = bytesToHex(db.ref("repo/main"));
    for (const bad of ["", "-x", "a..b", "a b", ".hid", "x/", "deadbeef", "a".repeat(65)]) {
      assert.throws(() => repo.branch(bad), { code: "REPO_NAME_INVALID" }, bad);
    }
    assert.throws(() => repo.branch("exp"), { code: "REPO_BRANCH_EXISTS" });
    assert.throws(() => repo.checkout("ghost"), { code: "REPO_REV_NOT_FOUND" });
    assert.throws(() => repo.deleteBranch("main"), { code: "REPO_CURRENT_BRANCH" });
    repo.checkout("exp");
    repo.put("t", k("z"), v("uncommitted"));
    repo.checkout("main");
    assert.throws(() => repo.deleteBranch("exp"), { code: "REPO_DIRTY" });
    assert.equal(str(repo.get("t", k("z"), "exp:work")), "uncommitted", "the refused delete kept the writes");
    assert.equal(bytesToHex(db.ref("repo/main")), meta, "refused calls changed nothing");

    // reset: soft keeps the working state; hard replaces it
    repo.checkout("exp");
    repo.reset("exp~1");
    assert.deepEqual(repo.branchHead("exp"), c1);
    assert.equal(str(repo.get("t", k("z"))), "uncommitted", "soft reset keeps uncommitted writes");
    assert.equal(repo.isDirty(), true);
    repo.reset(bytesToHex(c2), { hard: true });
    assert.equal(repo.get("t", k("z")), undefined, "hard reset discards them, explicitly");
    assert.equal(repo.isDirty(), false);
    await db.close();
  } finally {
    rmDir(dir);
  }
});

test("repo: uncommitted writes, branches and HEAD survive a crash (every call is one durable log record)", async () => {
  const dir = tmpDir("repo-crash");
  try {
    let db = openState(dir, { create: true });
    let repo = Repo.init(db, { clock: clockFrom(0) });
    repo.put("t", k("a"), v("1"));
    repo.commitWork("one");
    repo.branch("side");
    repo.checkout("side");
    repo.put("t", k("b"), v("uncommitted"));
    db.store.abandon(); // a crash: no checkpoint, no close
    db = openState(dir);
    repo = Repo.open(db, { clock: clockFrom(10_000) });
    assert.equal(repo.current, "side");
    assert.equal(str(repo.get("t", k("b"))), "uncommitted");
    assert.equal(repo.log().length, 2);
    // a crash between a branch's two records: the orphan working state is dropped, the missing one rebuilt
    db.setRef("repo/main/work/orphan", db.ref("repo/main/work/side"));
    db.deleteRef("repo/main/work/main");
    repo = Repo.open(db, { clock: clockFrom(20_000) });
    assert.equal(db.refs().has("repo/main/work/orphan"), false);
    assert.deepEqual(repo.workRoot("main"), repo.commit(repo.branchHead("main")).data);
    assert.throws(() => Repo.open(db, { name: "other", clock: () => 0 }), { code: "REPO_NOT_FOUND" });
    await db.close();
  } finally {
    rmDir(dir);
  }
});

function liveNodes(db: StateDB): number {
  return countReachable(db.store, db.liveRoots());
}

test("repo: after discarded branches and GC, the store holds exactly the live set", async () => {
  const dir = tmpDir("repo-gc");
  try {
    const db = openState(dir, { create: true, retain: 1 });
    const repo = Repo.init(db, { clock: clockFrom(0) });
    const big = (tag: string, n: number) =>
      Array.from({ length: n }, (_, i) => ({ key: utf8(`${tag}-${i}`), value: new Uint8Array(200).fill(i & 255) }));
    repo.write({ base: big("base", 2000) });
    repo.commitWork("base");
    await db.collect();
    const baseline = db.store.stats().l2Nodes;
    assert.equal(baseline, liveNodes(db));

    for (let b = 0; b < 4; b++) {
      repo.branch(`try${b}`, { from: "main" });
      repo.checkout(`try${b}`);
      repo.write({ scratch: big(`b${b}`, 1500), base: big("base", 50).map((o) => ({ key: o.key, value: null })) });
      repo.commitWork(`attempt ${b}`);
      repo.put("more", k("x"), v(`uncommitted ${b}`));
    }
    repo.checkout("main");
    await db.collect();
    assert.ok(db.store.stats().l2Nodes > baseline * 2, "the attempts are on disk");

    // keep attempt 2 (merge it), discard the rest
    repo.checkout("try2");
    repo.reset("try2", { hard: true }); // drop its uncommitted write, explicitly
    repo.checkout("main");
    assert.equal(repo.merge("try2").kind, "fast-forward");
    for (const b of [0, 1, 2, 3]) repo.deleteBranch(`try${b}`, { force: true });
    const dropped = repo.prune();
    assert.equal(dropped.length, 3, "the three discarded attempts' commits");
    await db.collect();
    const after = db.store.stats().l2Nodes;
    assert.equal(after, liveNodes(db), "every node on disk is live, and every live node is on disk");
    // live = the base state, attempt 2 and the repository metadata: well under two attempts' worth
    assert.ok(after < baseline * 2.2, `${after} nodes vs baseline ${baseline}`);
    db.store.dropCache();
    assert.equal(db.verify(repo.stateOf("main")).trees, 2);
    assert.equal(repo.log().length, 3);
    await db.close();
  } finally {
    rmDir(dir);
  }
});

test("repo: forget keeps the newest N and those within D per branch, dry run changes nothing; distinct keys per branch", async () => {
  const dir = tmpDir("repo-forget");
  try {
    const db = openState(dir, { create: true });
    let now = 0;
    const repo = Repo.init(db, { clock: () => now });
    for (let i = 1; i <= 10; i++) {
      now = i * 3_600_000; // hourly
      repo.put("t", k(`key${i % 4}`), v(`${i}`));
      repo.commitWork(`c${i}`);
    }
    assert.equal(repo.log().length, 11);
    const meta = bytesToHex(db.ref("repo/main"));
    const dry = repo.forget({ keepLast: 3 }, { now, dryRun: true });
    assert.equal(dry.forgotten.length, 8);
    assert.equal(bytesToHex(db.ref("repo/main")), meta, "dry run changes nothing");
    const res = repo.forget({ keepLast: 2, keepWithinMs: 4 * 3_600_000 }, { now });
    // within 4 h of hour 10 (inclusive): hours 6..10 → 5 commits; keepLast 2 is inside that
    assert.deepEqual(
      repo.log().map((c) => c.message),
      ["c10", "c9", "c8", "c7", "c6"],
    );
    assert.equal(res.forgotten.length, 6);
    assert.throws(() => repo.resolve("main~5"), { code: "REPO_REV_NOT_FOUND" });
    // distinct keys changed by the branch's commits: key0..key3 of tree t
    assert.equal(repo.distinctKeys(), 4);
    await db.close();
  } finally {
    rmDir(dir);
  }
});

test("repo: merge base on long and criss-cross histories (R10)", async () => {
  const dir = tmpDir("repo-base");
  try {
    const db = openState(dir, { create: true });
    const repo = Repo.init(db, { clock: clockFrom(0) });
    for (let i = 0; i < 300; i++) {
      repo.put("t", k("n"), v(`${i}`));
      repo.commitWork(`c${i}`);
    }
    const fork = repo.branchHead("main");
    repo.branch("b");
    repo.put("t", k("m"), v("main"));
    const m1 = repo.commitWork("m1");
    repo.checkout("b");
    repo.put("t", k("x"), v("b"));
    const b1 = repo.commitWork("b1");
    assert.deepEqual(repo.mergeBase(m1, b1), fork);
    assert.deepEqual(repo.mergeBase(b1, m1), fork);
    assert.deepEqual(repo.mergeBase(m1, fork), fork);

    // criss-cross: each side merges the other's first commit, then both move on
    repo.merge("main~0", { noFastForward: true, policy: "ours" }); // b2 = merge(b1, m1)
    const b2 = repo.branchHead("b");
    repo.checkout("main");
    repo.merge(bytesToHex(b1), { noFastForward: true, policy: "ours" }); // m2 = merge(m1, b1)
    const m2 = repo.branchHead("main");
    // the common ancestors of m2 and b2 are m1, b1 and everything below; the best ones are m1 and b1
    const base = repo.mergeBase(m2, b2);
    assert.ok(base !== undefined && (bytesToHex(base) === bytesToHex(m1) || bytesToHex(base) === bytesToHex(b1)));
    assert.deepEqual(repo.mergeBase(b2, m2), base, "symmetric");
    // b1 was made after m1 by the clock, so it is the newest best candidate
    assert.deepEqual(base, b1);
    await db.close();
  } finally {
    rmDir(dir);
  }
});

/** Makes the store "crash" before its n-th write call (commitRef/setRef/deleteRef) from now on. */
function crashBefore(db: StateDB, n: number): void {
  let calls = 0;
  const wrap = <K extends "commitRef" | "setRef" | "deleteRef">(name: K) => {
    const orig = (db[name] as (...a: unknown[]) => unknown).bind(db);
    (db as unknown as Record<string, unknown>)[name] = (...a: unknown[]) => {
      if (calls++ === n) throw new Error("simulated crash");
      return orig(...a);
    };
  };
  wrap("commitRef");
  wrap("setRef");
  wrap("deleteRef");
}

test("repo: a crash at any record boundary of reset --hard, fast-forward or 3-way merge reopens as all-before or all-after (R9a)", async () => {
  type Case = { name: string; setup: (r: Repo) => void; act: (r: Repo) => void };
  const cases: Case[] = [
    {
      name: "reset --hard",
      setup: (r) => {
        r.put("t", k("a"), v("1"));
        r.commitWork("c1");
        r.put("t", k("a"), v("2"));
        r.commitWork("c2");
      },
      act: (r) => r.reset("main~1", { hard: true }),
    },
    {
      name: "fast-forward",
      setup: (r) => {
        r.branch("f");
        r.checkout("f");
        r.put("t", k("x"), v("1"));
        r.commitWork("f1");
        r.checkout("main");
      },
      act: (r) => r.merge("f"),
    },
    {
      name: "3-way merge",
      setup: (r) => {
        r.branch("f");
        r.put("t", k("m"), v("main"));
        r.commitWork("m1");
        r.checkout("f");
        r.put("t", k("x"), v("f"));
        r.commitWork("f1");
        r.checkout("main");
      },
      act: (r) => r.merge("f", { time: 99_000_000 }),
    },
  ];
  for (const c of cases) {
    // the outcome without a crash, and how many write calls the act makes
    const refDir = tmpDir("repo-crash-ref");
    let after: { head: string; work: string };
    let calls = 0;
    try {
      const db = openState(refDir, { create: true });
      const r = Repo.init(db, { clock: clockFrom(0) });
      c.setup(r);
      for (const name of ["commitRef", "setRef", "deleteRef"] as const) {
        const orig = (db[name] as (...a: unknown[]) => unknown).bind(db);
        (db as unknown as Record<string, unknown>)[name] = (...a: unknown[]) => {
          calls++;
          return orig(...a);
        };
      }
      c.act(r);
      after = { head: bytesToHex(r.branchHead("main")), work: bytesToHex(r.workRoot("main")) };
      await db.close();
    } finally {
      rmDir(refDir);
    }
    assert.ok(calls >= 2, `${c.name} spans records`);
    for (let n = 0; n <= calls; n++) {
      const dir = tmpDir("repo-crash-at");
      try {
        let db = openState(dir, { create: true });
        const r = Repo.init(db, { clock: clockFrom(0) });
        c.setup(r);
        const before = { head: bytesToHex(r.branchHead("main")), work: bytesToHex(r.workRoot("main")) };
        crashBefore(db, n);
        try {
          c.act(r);
        } catch {}
        db.store.abandon();
        db = openState(dir);
        const re = Repo.open(db, { clock: clockFrom(50_000_000) });
        const got = { head: bytesToHex(re.branchHead("main")), work: bytesToHex(re.workRoot("main")) };
        assert.ok(
          (got.head === before.head && got.work === before.work) ||
            (got.head === after.head && got.work === after.work),
          `${c.name}, crash before write ${n}: neither before nor after`,
        );
        assert.equal(re.isDirty("main"), false, `${c.name}, crash before write ${n}: clean`);
        await db.close();
      } finally {
        rmDir(dir);
      }
    }
  }
});

test("repo: review regressions — names, times, policies, dead bases, criss-cross and forgotten bases", async () => {
  const dir = tmpDir("repo-review");
  try {
    const db = openState(dir, { create: true });
    // repository names cannot contain "/" (another repository's refs live under repo/<name>/work/)
    assert.throws(() => Repo.init(db, { name: "x/work/feature", clock: () => 0 }), { code: "REPO_NAME_INVALID" });
    const repo = Repo.init(db, { clock: clockFrom(0) });
    for (const bad of ["work", "HEAD"]) assert.throws(() => repo.branch(bad), { code: "REPO_NAME_INVALID" });
    repo.tag("v1");
    assert.throws(() => repo.branch("v1"), { code: "REPO_NAME_INVALID" }, "a tag's name");
    assert.throws(() => repo.tag("main"), { code: "REPO_NAME_INVALID" }, "a branch's name");
    // commit times are validated before anything is written
    repo.put("t", k("a"), v("1"));
    const meta = bytesToHex(db.ref("repo/main"));
    for (const time of [-1, 1.5, Number.NaN, 2 ** 64]) {
      assert.throws(() => repo.commitWork("x", { time }), { code: "INVALID_ARGUMENT" });
    }
    assert.equal(bytesToHex(db.ref("repo/main")), meta);
    repo.commitWork("a");
    // a misspelt policy is refused up front, conflicts or not
    repo.branch("f");
    repo.checkout("f");
    repo.put("t", k("b"), v("f"));
    repo.commitWork("f1");
    repo.checkout("main");
    repo.put("t", k("c"), v("m"));
    repo.commitWork("m1");
    assert.throws(() => repo.merge("f", { policy: "theirz" as "theirs" }), { code: "INVALID_ARGUMENT" });
    // a merge refused for its message or time changes nothing
    const head = bytesToHex(repo.branchHead("main"));
    assert.throws(() => repo.merge("f", { message: 42 as unknown as string }), { code: "INVALID_ARGUMENT" });
    assert.throws(() => repo.merge("f", { time: -1 }), { code: "INVALID_ARGUMENT" });
    assert.equal(bytesToHex(repo.branchHead("main")), head);
    assert.equal(repo.isDirty(), false);
    // revisions: chained ~N and uppercase hex
    assert.deepEqual(repo.resolve("main~1~1"), repo.resolve("main~2"));
    assert.deepEqual(repo.resolve(bytesToHex(repo.branchHead("f")).slice(0, 10).toUpperCase()), repo.branchHead("f"));

    // staging on a dead version is refused (GC may be sweeping it)
    const dead = db.stage(db.root, { z: [{ key: k("z"), value: v("z") }] });
    dead.release();
    assert.throws(() => db.stage(dead.root, {}), { code: "ROOT_NOT_LIVE" });

    // criss-cross: two best bases that disagree on k; the difference is a conflict, not a silent pick
    const cc = Repo.init(db, { name: "cc", clock: clockFrom(10_000_000) });
    cc.put("t", k("k"), v("0"));
    cc.commitWork("root");
    cc.branch("f");
    cc.put("t", k("k"), v("1"));
    const a1 = cc.commitWork("a1");
    cc.checkout("f");
    cc.put("t", k("j"), v("x"));
    const b1 = cc.commitWork("b1");
    cc.checkout("main");
    cc.merge(bytesToHex(b1), { noFastForward: true });
    cc.checkout("f");
    cc.merge(bytesToHex(a1), { noFastForward: true });
    cc.checkout("main");
    cc.put("t", k("k"), v("0"));
    cc.commitWork("main reverts k");
    assert.equal(cc.mergeBases(cc.branchHead("main"), cc.branchHead("f")).length, 2);
    assert.throws(() => cc.merge("f"), { code: "REPO_MERGE_CONFLICT" });
    const res = cc.merge("f", { policy: "ours" });
    assert.equal(res.conflicts.length, 1);
    assert.equal(str(cc.get("t", k("k"))), "0", "main's revert stands");

    // forget keeps the commits between kept ones, so ancestry (and fast-forwards) survive
    const fg = Repo.init(db, { name: "fg", clock: clockFrom(20_000_000) });
    fg.put("t", k("secret"), v("s"));
    fg.commitWork("c1");
    fg.branch("f");
    fg.checkout("f");
    fg.delete("t", k("secret"));
    fg.commitWork("f1: delete secret");
    fg.put("t", k("y"), v("2"));
    fg.commitWork("f2");
    fg.checkout("main");
    fg.forget({ keepLast: 1 }, { now: 30_000_000 });
    assert.deepEqual(
      fg.log("f").map((c) => c.message),
      ["f2", "f1: delete secret", "c1"],
    );
    assert.equal(fg.merge("f").kind, "fast-forward");
    assert.equal(fg.get("t", k("secret")), undefined);
    assert.throws(() => fg.forget({ keepLast: -1 }, { now: 0 }), { code: "INVALID_ARGUMENT" });
    assert.throws(() => fg.forget({ keepWithinMs: 10 }, { now: Number.NaN }), { code: "INVALID_ARGUMENT" });

    // histories whose shared part was forgotten have no merge base: refused unless allowUnrelated
    const un = Repo.init(db, { name: "un", clock: clockFrom(40_000_000) });
    un.put("t", k("p"), v("1"));
    un.commitWork("shared");
    un.branch("g");
    un.put("t", k("p"), v("main"));
    un.commitWork("main only");
    un.checkout("g");
    un.put("t", k("q"), v("g"));
    un.commitWork("g only");
    un.checkout("main");
    un.forget({ keepLast: 1 }, { now: 50_000_000 });
    assert.equal(un.mergeBase(un.branchHead("main"), un.branchHead("g")), undefined);
    const unMeta = bytesToHex(db.ref("repo/un"));
    assert.throws(() => un.merge("g"), { code: "REPO_NO_MERGE_BASE" });
    assert.equal(bytesToHex(db.ref("repo/un")), unMeta);
    assert.throws(
      () => un.merge("g", { allowUnrelated: true }),
      { code: "REPO_MERGE_CONFLICT" },
      "p differs: no base to settle it",
    );
    const m = un.merge("g", { allowUnrelated: true, policy: "ours" });
    assert.equal(str(un.get("t", k("p"))), "main");
    assert.equal(m.kind, "merged");
    assert.equal(str(un.get("t", k("q"))), "g");
    await db.close();
  } finally {
    rmDir(dir);
  }
});
