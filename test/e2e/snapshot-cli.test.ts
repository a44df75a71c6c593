/**
 * End to end: `helios snapshot …` run as a real process on a store written
 * through the API. Each check reads what the command printed and, for the
 * commands that change a store, reopens it through the API to see that the
 * change happened (and, for a failed import, that nothing was adopted).
 */
import assert from "node:assert/strict";
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { bytesToHex, hash } from "../../src/core/index.js";
import { openState } from "../../src/history/index.js";
import {
  type ChunkMeta,
  detectProbability,
  encodeManifest,
  listSnapshots,
  manifestJson,
  readManifest,
} from "../../src/snapshot/index.js";
import { CLI, type CliRun as Run, expectCoded, expectOk, runNode as node, withDb } from "../support/cli.js";
import { rmDir, tmpDir } from "../support/tmp.js";

const te = new TextEncoder();

/** Runs `helios snapshot <args>` (asynchronously, so that independent runs overlap); progress is off unless `env` turns it on. */
const helios = (args: string[], env: Record<string, string> = {}) => node([CLI, "snapshot", ...args], env);

const ok = async (p: Run | Promise<Run>): Promise<string> => expectOk(await p);
const coded = async (p: Run | Promise<Run>, code: string): Promise<string> => expectCoded(await p, code);

/** Bad usage: exit 2, one stderr line `error INVALID_ARGUMENT: helios snapshot …`, nothing on stdout. */
async function usage(p: Run | Promise<Run>, why: RegExp): Promise<void> {
  const r = await p;
  assert.equal(r.status, 2, `exit ${r.status}\nstderr: ${r.stderr}`);
  const lines = r.stderr.trimEnd().split("\n");
  assert.equal(lines.length, 1, r.stderr);
  assert.match(lines[0] as string, /^error INVALID_ARGUMENT: helios snapshot\b/);
  assert.match(lines[0] as string, why);
  assert.equal(r.stdout, "");
}

/** The text after `label` in a human output line like "  chunks   6". */
function field(out: string, label: string): string {
  const m = new RegExp(`^ {2}${label} +(.*)$`, "m").exec(out);
  assert.ok(m, `no ${label} in:\n${out}`);
  return m[1] as string;
}
const num = (out: string, label: string) => Number((/^[\d,]+/.exec(field(out, label))?.[0] ?? "x").replaceAll(",", ""));

function flipByte(file: string): Buffer {
  const orig = readFileSync(file);
  const bad = Buffer.from(orig);
  const at = bad.length >> 1;
  bad[at] = (bad[at] as number) ^ 0x01;
  writeFileSync(file, bad);
  return orig;
}

const KEYS = 3000;
let base: string;
let src: string;
/** hex[h]: the root committed at height h of `src`. */
let hex: string[];

/** A directory of the test's own with a copy of the source store in it (a store is open in one process at a time). */
function own(name: string): { dir: string; s: string } {
  const dir = path.join(base, name);
  const s = path.join(dir, "src");
  cpSync(src, s, { recursive: true });
  return { dir, s };
}

describe("helios snapshot", { concurrency: true }, () => {
  before(async () => {
    base = tmpDir("cli-snapshot");
    src = path.join(base, "src");
    const db = openState(src, { create: true });
    hex = [bytesToHex(db.root)];
    // 5 heights of 3,000 accounts (48-byte values); each height after the first rewrites a tenth of them
    for (let h = 1; h <= 5; h++) {
      const ops = [];
      for (let i = 0; i < KEYS; i++) {
        if (h > 1 && i % 10 !== h) continue;
        const v = new Uint8Array(48);
        v.set(hash(te.encode(`value ${i} at ${h}`)));
        new DataView(v.buffer).setUint32(40, h);
        ops.push({ key: hash(te.encode(`key ${i}`)), value: v });
      }
      hex.push(
        bytesToHex(db.commit(h, { accounts: ops, meta: [{ key: te.encode("height"), value: te.encode(`${h}`) }] })),
      );
    }
    await db.close();
  });

  after(() => rmDir(base));

  test("create, list, info, delete and prune the snapshots of a store", async () => {
    const { s } = own("manage");
    let out = await ok(helios(["create", s]));
    assert.match(out, /^snapshot at height 5 created$/m);
    assert.equal(field(out, "height"), "5");
    assert.equal(field(out, "root"), hex[5]);
    assert.match(await ok(helios(["create", s, "2"])), new RegExp(`^ {2}root {4}${hex[2]}$`, "m"));
    // --no-sync: the ref's fsync is left to the close (which checkpoints), so it is there when reopened
    assert.match(await ok(helios(["create", s, "3", "--no-sync"])), /^snapshot at height 3 created$/m);
    await withDb(s, (db) =>
      assert.deepEqual(
        listSnapshots(db).map((x) => [x.height, bytesToHex(x.root)]),
        [2, 3, 5].map((h) => [h, hex[h]]),
      ),
    );
    assert.match(await ok(helios(["create", s, "3"])), /^snapshot at height 3 already there \(unchanged\)$/m);
    await coded(helios(["create", s, "9"]), "HEIGHT_NOT_RETAINED");

    out = await ok(helios(["list", s]));
    assert.deepEqual(
      out.trimEnd().split("\n"),
      [2, 3, 5].map((h) => `${String(h).padStart(6)}  ${hex[h]}`),
    );
    assert.deepEqual(
      JSON.parse(await ok(helios(["list", s, "--json"]))),
      [2, 3, 5].map((h) => ({ height: h, root: hex[h] })),
    );

    out = await ok(helios(["info", s, "3"]));
    assert.match(out, /^snapshot at height 3$/m);
    assert.equal(field(out, "root"), hex[3]);
    assert.equal(field(out, "trees"), "accounts, meta (2)");
    assert.deepEqual(JSON.parse(await ok(helios(["info", s, "3", "--json"]))), {
      height: 3,
      root: hex[3],
      trees: ["accounts", "meta"],
    });
    await coded(helios(["info", s, "4"]), "SNAPSHOT_NOT_FOUND");

    assert.match(
      await ok(helios(["delete", s, "3"])),
      new RegExp(`^deleted snapshot at height 3 \\(was ${hex[3]}\\)$`, "m"),
    );
    await coded(helios(["delete", s, "3"]), "SNAPSHOT_NOT_FOUND");

    out = await ok(helios(["prune", s, "--keep", "1"]));
    assert.match(out, /^pruned 1 snapshot: height 2$/m);
    assert.match(out, /^kept 1: height 5$/m);
    assert.match(await ok(helios(["prune", s, "--keep", "5"])), /^pruned nothing$/m);
    assert.equal(await ok(helios(["list", s])), `     5  ${hex[5]}\n`);
    await withDb(s, (db) => {
      assert.deepEqual(
        listSnapshots(db).map((x) => x.height),
        [5],
      );
      assert.equal(db.height, 5); // snapshots are refs: the chain is untouched
    });
    await ok(helios(["prune", s, "--keep", "0"]));
    assert.equal(await ok(helios(["list", s])), "no snapshots\n");
    assert.deepEqual(JSON.parse(await ok(helios(["list", s, "--json"]))), []);
  });

  test("export with progress, info --dir, full and sampled verify, and import into a new store", async () => {
    const { dir, s } = own("roundtrip");
    const out = path.join(dir, "export5");
    const r = await helios(["export", s, "5", out, "--chunk-bytes", "64k"], { HELIOS_PROGRESS: "1" });
    const text = await ok(r);
    const { manifest: m } = readManifest(out);
    const j = manifestJson(m);
    const n = m.chunks.length;
    assert.ok(n >= 4, `${n} chunks`);
    assert.match(text, new RegExp(`^exported the full snapshot at height 5 to ${path.resolve(out)}$`, "m"));
    assert.equal(field(text, "root"), hex[5]);
    assert.equal(num(text, "chunks"), n);
    assert.equal(num(text, "entries"), KEYS + 1);
    assert.equal(num(text, "raw"), j.rawBytes);
    assert.equal(num(text, "file"), j.fileBytes);
    assert.match(field(text, "ratio"), /^[01]\.\d{3} \(file \/ raw; [\d.]+% (smaller|larger)\)$/);
    assert.match(field(text, "time"), /^\d+\.\d\d s, [\d.]+ MB\/s of raw bytes$/);
    // forced progress: a bar with percent and ETA, then a final line ending in "done"
    assert.match(r.stderr, /^export \[[#.]+\] +\d+% .* ETA /m);
    assert.match(r.stderr, /^export {2}100 % .* done$/m);

    // the read-only commands on the directory, side by side
    const [info, infoJson, infoChunks, v, sv, sv2, rated, untrusted] = await Promise.all([
      ok(helios(["info", "--dir", out])),
      ok(helios(["info", "--dir", out, "--json"])),
      ok(helios(["info", "--dir", out, "--json", "--chunks"])),
      helios(["verify", out], { HELIOS_PROGRESS: "1" }),
      ok(helios(["verify", out, "--sample", "2", "--seed", "7"])),
      ok(helios(["verify", out, "--sample", "2", "--seed", "7"])),
      ok(helios(["verify", out, "--sample", "3", "--rate", "0.5", "--root", hex[5] as string])),
      coded(helios(["verify", out, "--root", "ab".repeat(32)]), "SNAPSHOT_UNTRUSTED_ROOT"),
    ]);
    // info --dir: the manifest's summary
    assert.equal(field(info, "kind"), "full");
    assert.equal(field(info, "height"), "5");
    assert.equal(field(info, "root"), hex[5]);
    assert.equal(field(info, "base"), "none");
    assert.equal(field(info, "codec"), "zstd");
    assert.equal(num(info, "chunks"), n);
    assert.equal(num(info, "entries"), KEYS + 1);
    assert.equal(field(info, "ratio"), field(text, "ratio")); // the same figure, not rounded twice
    const { chunkList: _list, ...summary } = j;
    assert.deepEqual(JSON.parse(infoJson), { dir: path.resolve(out), ...summary });
    assert.equal(JSON.parse(infoChunks).chunkList.length, n);
    // full verify
    const vt = await ok(v);
    assert.match(vt, new RegExp(`^verified all ${n} chunks of the full snapshot at height 5$`, "m"));
    assert.equal(field(vt, "checked"), `${n} of ${n} chunks: 0–${n - 1}`);
    assert.equal(num(vt, "entries"), KEYS + 1);
    assert.equal(field(vt, "failures"), "none");
    assert.match(vt, /\nok\n$/);
    assert.match(v.stderr, new RegExp(`^verify {2}${n} chunks .* done$`, "m"));
    // a sample: the seed replays it; the detection figures are the library's
    assert.match(sv, new RegExp(`^verified a sample of 2 of ${n} chunks of the full snapshot at height 5$`, "m"));
    assert.match(field(sv, "seed"), /^7 \(--seed 7 checks the same chunks again\)$/);
    const p = detectProbability(n, 2, 0.01);
    assert.equal(
      field(sv, "detect"),
      `${(p * 100).toFixed(1)}% chance to catch a snapshot with 1% of its chunks bad (1 of ${n})`,
    );
    assert.equal(field(sv, "for 99%"), `a sample of ${n} chunks at that rate`);
    assert.equal(field(sv2, "checked"), field(sv, "checked"));
    const p3 = detectProbability(n, 3, 0.5);
    assert.equal(
      field(rated, "detect"),
      `${p3 === 1 ? "100" : (p3 * 100).toFixed(p3 > 0.99 ? 2 : 1)}% chance to catch a snapshot with 50% of its chunks bad (${Math.ceil(n / 2)} of ${n})`,
    );
    assert.match(field(rated, "seed"), /^\d+ \(--seed \d+ checks/); // a random seed, printed
    assert.match(untrusted, new RegExp(`"trusted":"${"ab".repeat(32)}"`));

    // import into a new store, checked against the root we trust
    const dst = path.join(dir, "imported");
    const ir = await helios(["import", dst, out, "--create", "--root", hex[5] as string], { HELIOS_PROGRESS: "1" });
    const it = await ok(ir);
    assert.match(it, new RegExp(`^imported the full snapshot at height 5 from ${path.resolve(out)}$`, "m"));
    assert.match(field(it, "root"), new RegExp(`^${hex[5]} \\(recomputed; equals the manifest's and --root\\)$`));
    assert.equal(field(it, "chunks"), String(n));
    assert.equal(num(it, "entries"), KEYS + 1);
    assert.equal(field(it, "head"), "height 5 (adopted: the snapshot is the head)");
    assert.doesNotMatch(it, /resuming/);
    assert.match(ir.stderr, new RegExp(`^import \\[[#.]+\\] +\\d+% {2}\\d+/${n} chunks .*ETA `, "m"));
    await withDb(dst, (db) => {
      assert.equal(db.height, 5);
      assert.equal(bytesToHex(db.root), hex[5]);
      assert.deepEqual(
        listSnapshots(db).map((x) => x.height),
        [5],
      );
      assert.equal(db.verify().leaves, 2 + KEYS + 1);
      assert.deepEqual([...db.refs().keys()], ["snapshot/00000000000000000005"]); // no work ref left behind
    });

    // --no-adopt: the snapshot is recorded, the head stays
    const noAdopt = path.join(dir, "no-adopt");
    assert.equal(
      field(await ok(helios(["import", noAdopt, out, "--create", "--no-adopt"])), "head"),
      "height 0 (not adopted: --no-adopt)",
    );
    await withDb(noAdopt, (db) => {
      assert.equal(db.height, 0);
      assert.deepEqual(
        listSnapshots(db).map((x) => [x.height, bytesToHex(x.root)]),
        [[5, hex[5]]],
      );
    });
    // a root we do not trust: rejected before anything is written
    const wrong = await helios(["import", noAdopt, out, "--root", hex[3] as string]);
    assert.equal(wrong.status, 1);
    const lines = wrong.stderr.trimEnd().split("\n");
    assert.match(lines[0] as string, /^error SNAPSHOT_UNTRUSTED_ROOT: /);
    assert.equal(lines[1], "reply: action reject_snapshot, refetch [], rejectSender true");
    assert.equal(lines[2], "next: reject this snapshot and its sender, and fetch another; nothing was imported");
    assert.equal(lines.length, 3);
    // a store that is not there: the hint is --create
    const nowhere = await helios(["import", path.join(dir, "nowhere"), out]);
    assert.equal(nowhere.status, 1);
    assert.match(nowhere.stderr, /^error STORE_NOT_FOUND: .*\nnext: pass --create to import into a new store\n$/);
    assert.equal(existsSync(path.join(dir, "nowhere")), false);
  });

  test("an incremental snapshot: exported from a base, refused without it, applied on top of it", async () => {
    const { dir, s } = own("increment");
    const full3 = path.join(dir, "full3");
    const inc = path.join(dir, "inc3to5");
    await ok(helios(["export", s, "3", full3, "--codec", "none", "--chunk-bytes", "65536"]));
    const et = await ok(helios(["export", s, "5", inc, "--base", "3", "--codec", "lz4"]));
    assert.match(et, /^exported the incremental snapshot at height 5 \(from base height 3\)/m);
    assert.equal(field(et, "base"), `height 3, root ${hex[3]}`);
    assert.equal(field(et, "codec"), "lz4");
    assert.equal(num(et, "entries"), 2 * (KEYS / 10) + 1); // heights 4 and 5 each rewrote a tenth; meta changed
    assert.match(field(await ok(helios(["info", "--dir", inc])), "base"), new RegExp(`^height 3, root ${hex[3]}$`));

    const chain = path.join(dir, "chain");
    const missing = await helios(["import", chain, inc, "--create"]);
    assert.equal(missing.status, 1);
    assert.match(missing.stderr, /^error SNAPSHOT_BASE_MISSING: /);
    assert.match(missing.stderr, /^next: stop this import and fix the cause above; nothing was imported$/m);
    assert.match(field(await ok(helios(["import", chain, full3])), "head"), /^height 3 \(adopted/);
    const ii = await ok(helios(["import", chain, inc]));
    assert.match(ii, /^imported the incremental snapshot at height 5 \(from base height 3\)/m);
    assert.equal(field(ii, "head"), "height 5 (adopted: the snapshot is the head)");
    // a snapshot below the head is recorded but not adopted
    assert.equal(
      field(await ok(helios(["import", chain, full3])), "head"),
      "height 5 (not adopted: the snapshot is not above the head)",
    );
    await withDb(chain, (db) => {
      assert.equal(bytesToHex(db.root), hex[5]);
      assert.deepEqual(
        listSnapshots(db).map((x) => x.height),
        [3, 5],
      );
      assert.equal(db.verify().leaves, 2 + KEYS + 1);
    });
  });

  test("a tampered chunk: verify names it, import stops with the reply and leaves no snapshot, and resumes once fixed", async () => {
    const { dir, s } = own("tamper");
    const bad = path.join(dir, "snap");
    await ok(helios(["export", s, "5", bad, "--chunk-bytes", "64k"]));
    const good = path.join(dir, "good");
    cpSync(bad, good, { recursive: true });
    const n = readManifest(bad).manifest.chunks.length;
    const chunk0 = path.join(bad, "chunks", "000000.hsc");
    const orig0 = flipByte(chunk0);

    // verify: exit 1, chunk 0 named with its code
    const dst = path.join(dir, "target");
    const [v, r] = await Promise.all([helios(["verify", bad]), helios(["import", dst, bad, "--create"])]);
    assert.equal(v.status, 1, v.stderr);
    assert.equal(field(v.stdout, "failures"), "1: chunk 0");
    assert.equal(field(v.stdout, "checked"), `${n} of ${n} chunks: 0–${n - 1}`);
    assert.match(v.stdout, /\nFAILED\n$/);
    const vl = v.stderr.trimEnd().split("\n");
    assert.equal(vl.length, 1, v.stderr);
    assert.match(vl[0] as string, /^error SNAPSHOT_CHUNK_BAD_COMPRESSION: chunk 0: .* \{"chunk":0\}$/);

    // import: the error, the library's reply, and what to do; the store holds no snapshot
    assert.equal(r.status, 1, r.stderr);
    assert.equal(r.stdout, "");
    const lines = r.stderr.trimEnd().split("\n");
    assert.equal(lines.length, 3, r.stderr);
    assert.match(lines[0] as string, /^error SNAPSHOT_CHUNK_BAD_COMPRESSION: .*"chunk":0/);
    assert.equal(lines[1], "reply: action retry_chunk, chunk 0, refetch [0], rejectSender true");
    assert.match(
      lines[2] as string,
      /^next: retry chunk 0 from another sender, and reject this sender; nothing was applied/,
    );
    await withDb(dst, (db) => {
      assert.deepEqual(listSnapshots(db), []);
      assert.deepEqual([...db.refs().keys()], []); // nothing applied, so no work ref is kept either
      assert.equal(db.height, 0);
    });

    // chunk 0 fixed, a later chunk bad: the chunks before it stay applied, and a rerun resumes there
    writeFileSync(chunk0, orig0);
    const later = Math.min(2, n - 1);
    const chunkN = path.join(bad, "chunks", `${String(later).padStart(6, "0")}.hsc`);
    const origN = flipByte(chunkN);
    const r2 = await helios(["import", dst, bad]);
    assert.equal(r2.status, 1, r2.stderr);
    assert.match(
      r2.stderr,
      new RegExp(`^reply: action retry_chunk, chunk ${later}, refetch \\[${later}\\], rejectSender true$`, "m"),
    );
    assert.match(r2.stderr, new RegExp(`kept: run the same import again to resume at chunk ${later}$`, "m"));
    assert.equal(await ok(helios(["list", dst])), "no snapshots\n");
    writeFileSync(chunkN, origN);
    const r3 = await ok(helios(["import", dst, bad]));
    assert.match(r3, new RegExp(`^resuming at chunk ${later} of ${n} \\(an earlier run applied chunks 0`, "m"));
    assert.equal(field(r3, "chunks"), `${n} (resumed at chunk ${later}: ${n - later} applied by this run)`);
    await withDb(dst, (db) => {
      assert.equal(bytesToHex(db.root), hex[5]);
      assert.deepEqual([...db.refs().keys()], ["snapshot/00000000000000000005"]);
    });

    // a chunk file that is missing: retry it, but the sender is not to blame for a file we cannot read
    rmSync(path.join(good, "chunks", "000001.hsc"));
    const g = await helios(["import", path.join(dir, "from-gone"), good, "--create"]);
    assert.equal(g.status, 1);
    assert.match(g.stderr, /^error SNAPSHOT_CHUNK_BAD_COMPRESSION: chunk 1: ENOENT/);
    assert.match(g.stderr, /^reply: action retry_chunk, chunk 1, refetch \[1\], rejectSender false$/m);
    assert.match(g.stderr, /^next: retry chunk 1; the 1 chunk applied so far is kept: run the same import again/m);

    // a manifest that lists a wrong hash for chunk 1: the snapshot is rejected and its partial import dropped
    const lying = path.join(dir, "lying");
    cpSync(bad, lying, { recursive: true }); // every chunk is sound again
    const { manifest } = readManifest(lying);
    (manifest.chunks[1] as ChunkMeta).hash = new Uint8Array(32).fill(7);
    writeFileSync(path.join(lying, "manifest.bin"), encodeManifest(manifest));
    const fromLying = path.join(dir, "from-lying");
    const lr = await helios(["import", fromLying, lying, "--create"]);
    assert.equal(lr.status, 1, lr.stderr);
    const ll = lr.stderr.trimEnd().split("\n");
    assert.match(ll[0] as string, /^error SNAPSHOT_CHUNK_HASH_MISMATCH: chunk 1: /);
    assert.equal(ll[1], "reply: action reject_snapshot, chunk 1, refetch [], rejectSender true");
    assert.equal(ll[2], "next: reject this snapshot and its sender, and fetch another; the partial import was dropped");
    await withDb(fromLying, (db) => {
      assert.deepEqual([...db.refs().keys()], []); // chunk 0 was applied to a work ref, which is gone
      assert.equal(db.height, 0);
    });
  });

  test("bad arguments: one coded line, exit 2, nothing created; help and the top-level usage", async () => {
    const { dir, s } = own("args");
    const fresh = path.join(dir, "never");
    mkdirSync(path.join(dir, "full-dir"));
    writeFileSync(path.join(dir, "full-dir", "x"), "x");
    const cases: [string[], RegExp][] = [
      [[], /missing command/],
      [["frobnicate"], /unknown command frobnicate .*"command":"frobnicate"/],
      [["create", s, "x"], /a height is a non-negative integer, not "x"/],
      [["create", s, "1", "2"], /unexpected argument 2/],
      [["create", s, "--no-sync=1"], /--no-sync takes no value/],
      [["list", s, "--bogus"], /unknown option --bogus/],
      [["info", "--dir", "d", s], /--dir takes no <store> <height>/],
      [["delete", s, "-1"], /a height is a non-negative integer, not "-1"/],
      [["prune", s], /missing --keep N/],
      [["prune", s, "--keep", "x"], /--keep must be an integer/],
      [["export", s, "5"], /missing <outDir>/],
      [["export", s, "5", fresh, "--codec", "gzip"], /--codec must be zstd, lz4 or none/],
      [["export", s, "5", fresh, "--chunk-bytes", "1000"], /--chunk-bytes must be from 64KiB to 64MiB/],
      [["export", s, "5", fresh, "--base", "5"], /--base 5 must be below the height 5/],
      [["export", s, "5", path.join(dir, "full-dir")], /must be new or empty/],
      [["import", fresh, "d", "--create", "--root", "xyz"], /--root must be 64 hex digits/],
      [["verify", "d", "--sample", "0"], /--sample must be an integer from 1/],
      [["verify", "d", "--seed", "3"], /--seed applies only with --sample/],
      [["verify", "d", "--sample", "2", "--rate", "1.5"], /--rate must be a share of chunks/],
    ];
    const [help, top] = await Promise.all([
      helios(["help"]),
      node([CLI, "--help"]),
      ...cases.map(([args, why]) => usage(helios(args), why)),
    ]);
    assert.equal(existsSync(fresh), false, "bad usage creates nothing");
    assert.deepEqual(readdirSync(path.join(dir, "full-dir")), ["x"]);
    // a library error is exit 1, not 2
    await Promise.all([
      coded(helios(["info", "--dir", path.join(dir, "nothing-here")]), "SNAPSHOT_MANIFEST_INVALID"),
      coded(helios(["export", s, "9", fresh]), "SNAPSHOT_NOT_FOUND"),
    ]);
    assert.equal(existsSync(fresh), false, "a failed export leaves no directory");

    assert.ok(help && top);
    assert.equal(help.status, 0);
    assert.match(help.stdout, /^usage: helios snapshot <command> \[args\]/);
    for (const c of ["create", "list", "info", "delete", "prune", "export", "import", "verify"]) {
      assert.match(help.stdout, new RegExp(`^ {2}${c} <`, "m"));
    }
    assert.equal(top.status, 0);
    assert.match(top.stdout, /helios snapshot <command> \[args\]/);
  });

  test("the demo's snapshot tour exports, imports and matches the root", async () => {
    const r = await node([CLI, "demo", "map", "3000"]);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /7\. Snapshots: export height 9 to (\S+), import it into a second store/);
    assert.match(r.stdout, /snapshot at height 9: a ref to its root, nothing copied/);
    assert.match(r.stdout, /exported \d+ chunks?, 3,008 entries: [\d.]+ MB raw, [\d.]+ MB zstd \(ratio 0\.\d\d\)/);
    assert.match(r.stdout, /second store at height 9 \(adopted\); root matches: true/);
    const snap = /export height 9 to (\S+),/.exec(r.stdout)?.[1] as string;
    assert.equal(existsSync(path.dirname(snap)), false, "the demo's snapshot and second store are removed");
  });
});
