/**
 * End to end: `helios store …` run as a real process on stores written
 * through the API. Every check reads what the command printed and, for the
 * commands that change the store, reopens it through the API to see that
 * the change happened (and nothing else did).
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import path from "node:path";
import { test } from "node:test";
import { Progress } from "../../src/cli/progress.js";
import { bytesToHex, hash } from "../../src/core/index.js";
import { openState, type StateDB } from "../../src/history/index.js";
import { CLI, type CliRun, expectCoded as coded, expectOk as ok, runNodeSync, withDb } from "../support/cli.js";
import { rmDir, tmpDir } from "../support/tmp.js";

const te = new TextEncoder();

/** Runs `helios store <args>`; progress is off unless `env` turns it on. */
const helios = (args: string[], env: Record<string, string> = {}) => runNodeSync([CLI, "store", ...args], env);

function usage(r: CliRun, why: RegExp): void {
  assert.equal(r.status, 2, `exit ${r.status}\nstderr: ${r.stderr}`);
  assert.match(r.stderr, why);
  assert.match(r.stderr, /usage: helios store <command> <dir>/);
  assert.equal(r.stdout, "");
}

function key(i: number): Uint8Array {
  return hash(te.encode(`key ${i}`));
}
function value(i: number, h: number): Uint8Array {
  const v = new Uint8Array(48);
  v.set(hash(te.encode(`value ${i} at ${h}`)), 0);
  new DataView(v.buffer).setUint32(40, h);
  return v;
}

/** Commits heights from+1 … from+n, each rewriting `keys` accounts, plus one meta entry. */
function commitHeights(db: StateDB, n: number, keys: number): Uint8Array[] {
  const roots: Uint8Array[] = [];
  for (let k = 0; k < n; k++) {
    const h = db.height + 1;
    const ops = [];
    for (let i = 0; i < keys; i++) ops.push({ key: key(i), value: value(i, h) });
    roots.push(db.commit(h, { accounts: ops, meta: [{ key: te.encode("height"), value: te.encode(String(h)) }] }));
  }
  return roots;
}

/** The number after `label` in a human output line like "  nodes   1,234". */
function num(out: string, label: string): number {
  const m = new RegExp(`^\\s*${label}\\s+([\\d,]+)`, "m").exec(out);
  assert.ok(m, `no ${label} in:\n${out}`);
  return Number((m[1] as string).replaceAll(",", ""));
}

test("init creates a store, refuses an existing or foreign one, and validates --retain", async () => {
  const base = tmpDir("cli-init");
  try {
    const dir = path.join(base, "fresh", "store");
    const out = ok(helios(["init", dir, "--retain", "5"]));
    assert.match(out, /^initialised a Helios store in /);
    assert.match(out, /retain {2}5 heights/);
    assert.match(out, /height {2}0/);
    await withDb(dir, (db) => {
      assert.equal(db.height, 0);
      assert.equal(db.retain, 5);
      assert.deepEqual(db.heights(), [0]);
    });

    // an existing store: nothing changed, exit 1
    const again = helios(["init", dir, "--retain", "9"]);
    assert.equal(again.status, 1);
    assert.match(again.stderr, /^error STORE_EXISTS: .*height 0/m);
    await withDb(dir, (db) => assert.equal(db.retain, 5));

    // a foreign non-empty directory is never written into
    const foreign = path.join(base, "foreign");
    mkdirSync(foreign);
    writeFileSync(path.join(foreign, "notes.txt"), "mine");
    const line = coded(helios(["init", foreign]), "STORE_FOREIGN");
    assert.match(line, /"entries":\["notes.txt"\]/);
    assert.equal(readFileSync(path.join(foreign, "notes.txt"), "utf8"), "mine");
    assert.throws(() => statSync(path.join(foreign, "HELIOS")), /ENOENT/);

    // a bad --retain is usage, checked before anything is created
    for (const bad of ["0", "-3", "abc", "1.5", "1000001"]) {
      usage(helios(["init", path.join(base, `bad-${bad}`), "--retain", bad]), /--retain/);
      assert.throws(() => statSync(path.join(base, `bad-${bad}`)), /ENOENT/);
    }
  } finally {
    rmDir(base);
  }
});

test("a missing, foreign or locked store is a one-line coded error, exit 1", async () => {
  const base = tmpDir("cli-errors");
  try {
    const missing = path.join(base, "missing");
    for (const args of [
      ["stats", missing],
      ["log", missing],
      ["verify", missing],
      ["gc", missing],
    ]) {
      const line = coded(helios(args), "STORE_NOT_FOUND");
      assert.ok(line.includes(JSON.stringify(missing)), line); // the context names the path
    }
    assert.throws(() => statSync(missing), /ENOENT/); // reading never creates

    const foreign = path.join(base, "foreign");
    mkdirSync(foreign);
    writeFileSync(path.join(foreign, "data.bin"), "x");
    coded(helios(["stats", foreign]), "STORE_FOREIGN");
    coded(helios(["ref", foreign, "list"]), "STORE_FOREIGN");

    // held open by this process: the CLI sees STORE_LOCKED naming our pid
    const dir = path.join(base, "locked");
    const db = openState(dir, { create: true });
    try {
      const line = coded(helios(["stats", dir]), "STORE_LOCKED");
      assert.match(line, new RegExp(`"pid":${process.pid}`));
    } finally {
      await db.close();
    }
    ok(helios(["stats", dir]));
  } finally {
    rmDir(base);
  }
});

test("bad usage prints the usage and exits 2; help exits 0", () => {
  usage(helios([]), /missing command/);
  usage(helios(["frobnicate", "/tmp"]), /unknown command frobnicate/);
  usage(helios(["stats"]), /missing <dir>/);
  usage(helios(["stats", "/tmp/x", "extra"]), /unexpected argument extra/);
  usage(helios(["stats", "/tmp/x", "--bogus"]), /unknown option --bogus/);
  usage(helios(["rollback", "/tmp/x"]), /missing <height>/);
  usage(helios(["rollback"]), /missing <dir> <height>/);
  usage(helios(["rollback", "/tmp/x", "three"]), /a height is a non-negative integer/);
  usage(helios(["ref", "/tmp/x"]), /missing ref command/);
  usage(helios(["ref", "/tmp/x", "rename", "a", "b"]), /unknown ref command rename/);
  usage(helios(["ref", "/tmp/x", "set", "main"]), /missing <version>$/m);
  usage(helios(["ref", "/tmp/x", "set"]), /missing <name> <version>/);
  usage(helios(["verify", "/tmp/x", "1", "2"]), /unexpected argument 2/);
  const help = helios(["help"]);
  assert.equal(help.status, 0);
  assert.match(help.stdout, /usage: helios store <command> <dir>/);
  for (const c of ["init", "stats", "log", "verify", "rollback", "gc", "ref"]) {
    assert.match(help.stdout, new RegExp(`^ {2}${c} `, "m"));
  }
  // the top-level usage mentions the store commands
  const top = spawnSync(process.execPath, [CLI, "nope"], { encoding: "utf8" });
  assert.equal(top.status, 2);
  assert.match(top.stderr, /helios store <command> <dir>/);
});

test("stats, log, refs, verify and rollback on a store written through the API", async () => {
  const dir = path.join(tmpDir("cli-store"), "s");
  try {
    const db = openState(dir, { create: true, retain: 100 });
    const roots = [new Uint8Array(32), ...commitHeights(db, 4, 300)]; // roots[h] = root at height h
    const apiReport = db.verify();
    await db.close();
    const hex = roots.map(bytesToHex);

    // stats: human and JSON
    const stats = ok(helios(["stats", dir]));
    assert.match(stats, /^height\s+4$/m);
    assert.match(stats, new RegExp(`^root\\s+${hex[4]}$`, "m"));
    assert.match(stats, /^retain\s+100 heights \(5 retained, oldest 0\)$/m);
    const js = JSON.parse(ok(helios(["stats", dir, "--json"])));
    assert.equal(js.height, 4);
    assert.equal(js.root, hex[4]);
    assert.equal(js.retain, 100);
    assert.equal(js.heights, 5);
    assert.ok(js.store.l2Nodes > 0);
    assert.equal(js.dir, path.resolve(dir));

    // log: newest first, each height with its root
    const log = ok(helios(["log", dir]));
    const rows = [...log.matchAll(/^\s+(\d+) {2}([0-9a-f]{64})/gm)].map((m) => [Number(m[1]), m[2]]);
    assert.deepEqual(
      rows,
      [4, 3, 2, 1, 0].map((h) => [h, hex[h]]),
    );
    assert.match(log, new RegExp(`^\\s+4 {2}${hex[4]} {2}head$`, "m"));
    assert.match(log, /^refs: none$/m);
    assert.match(log, /^pins: none$/m);
    const logJs = JSON.parse(ok(helios(["log", dir, "--json"])));
    assert.equal(logJs.head, 4);
    assert.deepEqual(
      logJs.heights,
      [4, 3, 2, 1, 0].map((h) => ({ height: h, root: hex[h] })),
    );

    // refs: set by height, by root and by ref; list; delete
    assert.match(ok(helios(["ref", dir, "set", "main", "2"])), new RegExp(`^ref main → ${hex[2]} \\(height 2\\), new`));
    assert.match(ok(helios(["ref", dir, "set", "tip", hex[3] as string])), /^ref tip → /);
    assert.match(ok(helios(["ref", dir, "set", "copy", "main"])), new RegExp(`^ref copy → ${hex[2]} \\(ref main\\)`));
    let list = ok(helios(["ref", dir, "list"]));
    assert.match(list, new RegExp(`^copy {2}${hex[2]} {2}= height 2$`, "m"));
    assert.match(list, new RegExp(`^main {2}${hex[2]} {2}= height 2$`, "m"));
    assert.match(list, new RegExp(`^tip {3}${hex[3]} {2}= height 3$`, "m"));
    assert.deepEqual(JSON.parse(ok(helios(["ref", dir, "list", "--json"]))), {
      copy: hex[2],
      main: hex[2],
      tip: hex[3],
    });
    assert.match(ok(helios(["ref", dir, "set", "main", "4"])), new RegExp(`, was ${hex[2]}`));
    assert.match(ok(helios(["ref", dir, "delete", "copy"])), new RegExp(`^deleted ref copy \\(was ${hex[2]}\\)`));
    list = ok(helios(["ref", dir, "list"]));
    assert.doesNotMatch(list, /^copy/m);
    assert.match(list, new RegExp(`^main {2}${hex[4]}`, "m"));
    assert.match(
      ok(helios(["log", dir])),
      new RegExp(`^refs\\n {2}main {2}${hex[4]} {2}= height 4\\n {2}tip {3}${hex[3]}`, "m"),
    );
    coded(helios(["ref", dir, "delete", "copy"]), "REF_NOT_FOUND");
    coded(helios(["ref", dir, "set", "x", "f".repeat(64)]), "ROOT_NOT_LIVE");
    coded(helios(["ref", dir, "set", "x", "99"]), "HEIGHT_NOT_RETAINED");
    coded(helios(["ref", dir, "set", "bad\u0001name", "4"]), "REF_NAME_INVALID");
    await withDb(dir, (db2) => {
      assert.deepEqual([...db2.refs()].map(([n, r]) => [n, bytesToHex(r)]).sort(), [
        ["main", hex[4]],
        ["tip", hex[3]],
      ]);
    });

    // verify: the head, by height, by ref and by root; the counts are the API's
    const v = ok(helios(["verify", dir]));
    assert.match(v, /^verified height 4 \(= ref main\)$/m);
    assert.match(v, /^ok$/m);
    assert.equal(num(v, "nodes"), apiReport.nodes);
    assert.equal(num(v, "leaves"), apiReport.leaves);
    assert.equal(num(v, "bytes"), apiReport.bytes);
    assert.equal(num(v, "trees"), 2);
    assert.equal(apiReport.leaves, 2 + 300 + 1); // forest: 2 trees; accounts: 300; meta: 1
    assert.match(
      ok(helios(["verify", dir, "tip"])),
      new RegExp(`^verified ref tip \\(= height 3\\)\\n {2}root {4}${hex[3]}`),
    );
    assert.match(
      ok(helios(["verify", dir, "1"])),
      new RegExp(`^verified height 1\\n {2}root {4}${hex[1]}[^]*\\nok\\n$`),
    );
    assert.match(ok(helios(["verify", dir, hex[2] as string])), /^verified root [0-9a-f]{64} \(= height 2\)/);
    coded(helios(["verify", dir, "nosuchref"]), "REF_NOT_FOUND");
    coded(helios(["verify", dir, "17"]), "HEIGHT_NOT_RETAINED");
    // a root the store never had: its first node is missing
    coded(helios(["verify", dir, "ab".repeat(32)]), "MERKLE_NODE_MISSING");
    // without a terminal (and without HELIOS_PROGRESS) nothing is drawn
    assert.equal(helios(["verify", dir]).stderr, "");

    // rollback: the head moves back; later heights are gone
    const rb = ok(helios(["rollback", dir, "2"]));
    assert.match(rb, /^rolled back from height 4 to 2$/m);
    assert.match(rb, new RegExp(`root {5}${hex[2]}`));
    assert.match(rb, /dropped {2}heights 3–4/);
    await withDb(dir, (db2) => {
      assert.equal(db2.height, 2);
      assert.equal(bytesToHex(db2.root), hex[2]);
      assert.deepEqual(db2.heights(), [0, 1, 2]);
    });
    assert.match(ok(helios(["stats", dir])), /^height\s+2$/m);
    coded(helios(["rollback", dir, "3"]), "HEIGHT_NOT_RETAINED");
    await withDb(dir, (db2) => assert.equal(db2.height, 2));
  } finally {
    rmDir(path.dirname(dir));
  }
});

test("verify exits 1 with STORE_CORRUPT when a node's bytes on disk are flipped", async () => {
  const dir = path.join(tmpDir("cli-corrupt"), "s");
  try {
    const marker = new Uint8Array(80);
    for (let i = 0; i < 80; i++) marker[i] = (i * 37 + 11) & 0xff;
    const db = openState(dir, { create: true });
    const ops = [];
    for (let i = 0; i < 500; i++) ops.push({ key: key(i), value: value(i, 1) });
    ops.push({ key: te.encode("the marker"), value: marker });
    db.commit(1, { accounts: ops });
    await db.close();
    const before = ok(helios(["verify", dir]));
    assert.match(before, /^ok$/m);

    // the LMDB data file: nodes.mdb (lmdb-js keeps a path with an extension as one file; older layouts used nodes.mdb/data.mdb)
    const lmdb = path.join(dir, "nodes.mdb");
    const file = statSync(lmdb).isDirectory() ? path.join(lmdb, "data.mdb") : lmdb;
    const bytes = readFileSync(file);
    let flipped = 0;
    for (let at = bytes.indexOf(marker); at >= 0; at = bytes.indexOf(marker, at + 1)) {
      bytes[at + 40] = (bytes[at + 40] as number) ^ 0x5a;
      flipped++;
    }
    assert.ok(flipped >= 1, "the marker value is stored raw in the LMDB file");
    writeFileSync(file, bytes);

    const line = coded(helios(["verify", dir]), "STORE_CORRUPT");
    assert.match(line, /"id":"[0-9a-f]{64}"/); // names the bad node
    assert.equal(helios(["verify", dir]).stdout, ""); // no "ok", no partial report
    // the same with progress forced on: the progress line ends before the error
    const r = helios(["verify", dir], { HELIOS_PROGRESS: "1" });
    assert.equal(r.status, 1);
    assert.match(r.stderr, /\nerror STORE_CORRUPT: /);
  } finally {
    rmDir(path.dirname(dir));
  }
});

test("gc removes garbage with progress, and the store still verifies", async () => {
  const dir = path.join(tmpDir("cli-gc"), "s");
  try {
    const db = openState(dir, { create: true, retain: 2 });
    const roots = commitHeights(db, 6, 5000); // every height rewrites every account: old paths are garbage
    const live = db.verify().nodes + db.verify(roots[4]).nodes;
    await db.close();

    const r = helios(["gc", dir], { HELIOS_PROGRESS: "1" });
    const out = ok(r);
    const removed = Number(/^gc: removed ([\d,]+) nodes/m.exec(out)?.[1]?.replaceAll(",", ""));
    assert.ok(removed > 0, out);
    const m = /nodes\s+([\d,]+) before, ([\d,]+) after/.exec(out);
    assert.ok(m, out);
    const before = Number((m[1] as string).replaceAll(",", ""));
    const after = Number((m[2] as string).replaceAll(",", ""));
    assert.equal(before - after, removed);
    assert.ok(after <= live, `${after} nodes left, ${live} reachable from the 2 retained heights (with sharing)`);
    // forced progress: a mark count line, a sweep bar with a total and ETA, each ending in "done"
    assert.match(r.stderr, /^gc mark {2}[\d,]+ nodes .* done$/m);
    assert.match(r.stderr, new RegExp(`^gc sweep \\[[#.]+\\] +\\d+% {2}[\\d,]+/${m[1]} records .*ETA `, "m"));
    assert.match(r.stderr, new RegExp(`^gc sweep {2}${m[1]} records .* done$`, "m"));

    await withDb(dir, (db2) => {
      assert.equal(db2.stats().store.l2Nodes, after);
      assert.equal(db2.height, 6);
      assert.deepEqual(db2.heights(), [5, 6]);
      assert.equal(db2.verify(roots[4]).leaves, 2 + 5000 + 1);
    });
    assert.match(ok(helios(["verify", dir, "5"])), /^ok$/m);
    const v = helios(["verify", dir], { HELIOS_PROGRESS: "1" });
    assert.match(ok(v), /^ok$/m);
    assert.match(v.stderr, /^verify .* done$/m);

    // a second cycle finds nothing more
    assert.match(ok(helios(["gc", dir])), /^gc: removed 0 nodes/m);

    // keep only the head: after gc the head is the whole store, so verify's bar has a total and an ETA
    await withDb(dir, (db2) => db2.setRetain(1));
    const only = ok(helios(["gc", dir]));
    const left = /nodes\s+[\d,]+ before, ([\d,]+) after/.exec(only)?.[1] ?? "?";
    const whole = helios(["verify", dir], { HELIOS_PROGRESS: "1" });
    assert.equal(num(ok(whole), "nodes"), Number(left.replaceAll(",", "")));
    assert.match(whole.stderr, new RegExp(`^verify \\[[#.]+\\] +\\d+% {2}[\\d,]+/${left} nodes .*ETA `, "m"));
  } finally {
    rmDir(path.dirname(dir));
  }
});

test("Progress: throttled to 10 redraws/s, bar with percent, rate and ETA; silent when disabled", () => {
  let t = 0;
  const lines: string[] = [];
  const stream = { write: (s: string) => lines.push(s), isTTY: false };
  const p = new Progress("work", 2000, { unit: "items", enabled: true, stream, now: () => t });
  for (let i = 0; i <= 2000; i++) {
    t = i; // 1 ms per item: 2 s in all
    p.update(i);
  }
  p.done();
  assert.ok(p.redraws <= 2 * 10 + 2, `${p.redraws} redraws in 2 s`);
  assert.ok(p.redraws >= 10);
  assert.equal(lines.length, p.redraws);
  assert.ok(
    lines.every((l) => l.endsWith("\n") && !l.includes("\r")),
    "no control characters off a terminal",
  );
  const mid = lines.find((l) => l.includes(" 50%")) ?? "";
  assert.match(
    mid,
    /^work \[#{12}\.{12}\] {2}50% {2}1,000\/2,000 items {2}1,000 items\/s {2}0:01 elapsed {2}ETA 0:01\n$/,
  );
  assert.match(lines.at(-1) ?? "", /^work {2}2,000 items {2}1,000 items\/s {2}0:02 elapsed {2}done\n$/);

  // on a terminal: redraw in place, end the line once
  const tty: string[] = [];
  t = 0;
  const q = new Progress("scan", undefined, {
    enabled: true,
    stream: { write: (s: string) => tty.push(s), isTTY: true, columns: 80 },
    now: () => t,
  });
  t = 500;
  q.update(50);
  q.done();
  q.done();
  assert.deepEqual(tty, ["\r\x1b[Kscan  50  100/s  0:01 elapsed", "\r\x1b[Kscan  50  100/s  0:01 elapsed  done\n"]);

  const quiet: string[] = [];
  const s = new Progress("x", 10, { enabled: false, stream: { write: (x: string) => quiet.push(x) } });
  s.update(5);
  s.done();
  assert.deepEqual(quiet, []);
});
