/**
 * End to end: `helios checkpoint`, `restore`, `checkpoints …` and `forget`
 * run as real processes. Each check reads what the command printed and, for
 * the commands that change a store or a directory, looks at the result: the
 * store through the API, the restored tree with `diff -r` and `find`.
 */
import assert from "node:assert/strict";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { listCheckpoints } from "../../src/sandbox/index.js";
import { CLI, type CliRun as Run, expectCoded, expectOk, runNode as node, withDb } from "../support/cli.js";
import { rmDir, tmpDir } from "../support/tmp.js";
import { assertDiffClean, assertSameListing, makeOddTree, textBytes } from "../unit/sandbox/checkpoint-fixtures.js";

const helios = (args: string[], env: Record<string, string> = {}) => node([CLI, ...args], env);
const ok = async (p: Run | Promise<Run>): Promise<string> => expectOk(await p);
const coded = async (p: Run | Promise<Run>, code: string): Promise<string> => expectCoded(await p, code);

/** Bad usage: exit 2, one stderr line `error INVALID_ARGUMENT: helios <verb> …`, nothing on stdout. */
async function usage(p: Run | Promise<Run>, why: RegExp): Promise<void> {
  const r = await p;
  assert.equal(r.status, 2, `exit ${r.status}\nstderr: ${r.stderr}`);
  const lines = r.stderr.trimEnd().split("\n");
  assert.equal(lines.length, 1, r.stderr);
  assert.match(lines[0] as string, /^error INVALID_ARGUMENT: helios \w+/);
  assert.match(lines[0] as string, why);
  assert.equal(r.stdout, "");
}

/** The text after `label` in a human output line like "  id       3fa…". */
function field(out: string, label: string): string {
  const m = new RegExp(`^ {2}${label} +(.*)$`, "m").exec(out);
  assert.ok(m, `no ${label} in:\n${out}`);
  return m[1] as string;
}

describe("helios checkpoint, restore, checkpoints, forget", () => {
  let base: string;
  let src: string;
  let store: string;
  before(async () => {
    base = tmpDir("cli-ckpt");
    src = path.join(base, "src");
    makeOddTree(src, { largeBytes: 4 * 1024 * 1024 });
    store = path.join(base, "store");
    // the CLI's clock is real: a file whose ctime is within RACY_MS of a checkpoint is racy (re-read next time)
    await new Promise((r) => setTimeout(r, 1100));
  });
  after(() => rmDir(base));

  test("checkpoint, list, info, restore (all and one path), diff, cat, forget", async () => {
    // the store is created by the first checkpoint
    let out = await ok(helios(["checkpoint", src, "--store", store]));
    assert.match(out, /^checkpoint [0-9a-f]{12} of /m);
    const a = field(out, "id");
    assert.match(a, /^[0-9a-f]{64}$/);
    assert.equal(field(out, "parent"), "none (a full checkpoint)");
    assert.match(field(out, "entries"), /^\d+ files, \d+ dirs, 4 symlinks$/);

    // a second checkpoint after a change: the first is its parent; HELIOS_STORE names the store
    writeFileSync(path.join(src, "text", "medium.txt"), textBytes(300_000, 77));
    writeFileSync(path.join(src, "added.txt"), "new file\n");
    const j = JSON.parse(await ok(helios(["checkpoint", src, "--json"], { HELIOS_STORE: store })));
    const b = j.id as string;
    assert.equal(j.parent, a);
    assert.equal(j.stats.filesRead, 2, "only the changed and the new file are read");

    out = await ok(helios(["checkpoints", "--store", store]));
    const lines = out.trimEnd().split("\n");
    assert.match(lines[0] as string, /^ID +TIME +FILES +BYTES +STORED +PARENT +SOURCE$/);
    assert.equal(lines.length, 3);
    assert.ok((lines[2] as string).startsWith(b.slice(0, 12)));
    const list = JSON.parse(await ok(helios(["checkpoints", "list", "--json", "--store", store])));
    assert.deepEqual(
      list.map((c: { id: string }) => c.id),
      [a, b],
    );
    out = await ok(helios(["checkpoints", "info", b.slice(0, 10), "--store", store]));
    assert.equal(field(out, "parent"), a);
    assert.equal(field(out, "source"), path.resolve(src));

    // restore all of a into a new dir: identical to the source as it was (compare with b: the source now)
    const full = path.join(base, "full");
    out = await ok(helios(["restore", b.slice(0, 8), full, "--same-permissions", "--store", store]));
    assert.match(out, /^restored checkpoint [0-9a-f]{12} into /m);
    assertDiffClean(src, full);
    assertSameListing(src, full);
    // a non-empty target without --force is refused; with --force it is restored over
    await coded(helios(["restore", a, full, "--store", store]), "RESTORE_TARGET_NOT_EMPTY");
    out = await ok(helios(["restore", a, full, "--force", "--store", store]));
    assert.match(field(out, "replaced"), /^\d+ existing files or symlinks$/);
    assert.notDeepEqual(
      readFileSync(path.join(full, "text", "medium.txt")),
      readFileSync(path.join(src, "text", "medium.txt")),
    );

    // one path
    const one = path.join(base, "one");
    await ok(helios(["restore", b, one, "--path", "a/b", "--store", store]));
    assertDiffClean(path.join(src, "a", "b"), path.join(one, "a", "b"));
    await coded(
      helios(["restore", b, path.join(base, "x"), "--path", "nope", "--store", store]),
      "CHECKPOINT_PATH_NOT_FOUND",
    );
    await coded(
      helios(["restore", b, path.join(base, "x"), "--path", "../a", "--store", store]),
      "CHECKPOINT_PATH_UNSAFE",
    );

    // diff: human, --stat, --json
    out = await ok(helios(["checkpoints", "diff", a, b, "--store", store]));
    assert.match(out, /^M text\/medium\.txt {2}\(content, mtime\)$/m);
    assert.match(out, /^A added\.txt$/m);
    assert.match(out, /^1 added, 0 removed, \d+ modified; /m);
    out = await ok(helios(["checkpoints", "diff", a, b, "--stat", "--store", store]));
    assert.equal(out.trimEnd().split("\n").length, 1);
    const d = JSON.parse(await ok(helios(["checkpoints", "diff", a, b, "--json", "--store", store])));
    assert.equal(d.added, 1);
    assert.ok(d.items.some((i: { path: string; change: string }) => i.path === "added.txt" && i.change === "added"));

    // cat: one file, read lazily
    const r = await helios(["checkpoints", "cat", b, "a/b/hello.txt", "--store", store]);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, "hello, checkpoint\n");

    // forget --dry-run changes nothing; forget + GC drops a
    out = await ok(helios(["forget", "--keep-last", "1", "--dry-run", "--store", store]));
    assert.match(out, /^forget: keep-last 1 \(dry run: nothing is changed\)$/m);
    assert.match(out, new RegExp(`^ {2}forget {2}${a.slice(0, 12)} `, "m"));
    assert.match(out, new RegExp(`^ {2}keep {4}${b.slice(0, 12)} .*keep-last$`, "m"));
    assert.match(out, /^would keep 1 checkpoint, would forget 1 checkpoint$/m);
    await withDb(store, (db) => assert.equal(listCheckpoints(db).length, 2));
    const f = JSON.parse(await ok(helios(["forget", "--keep-last", "1", "--json", "--store", store])));
    assert.deepEqual(f.forgotten, [a]);
    assert.ok(f.gc.removed > 0, "GC ran and removed what only a kept");
    await withDb(store, (db) =>
      assert.deepEqual(
        listCheckpoints(db).map((c) => c.id),
        [b],
      ),
    );
    await coded(helios(["restore", a, path.join(base, "gone"), "--store", store]), "CHECKPOINT_NOT_FOUND");
  });

  test("progress: with HELIOS_PROGRESS=1 a checkpoint and a restore draw bars with an ETA on stderr", async () => {
    const s2 = path.join(base, "store2");
    const r = await helios(["checkpoint", src, "--store", s2], { HELIOS_PROGRESS: "1" });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stderr, /^read \[[#.]+\] +\d+%.*ETA/m);
    assert.match(r.stderr, /done$/m);
    const id = /^ {2}id +([0-9a-f]{64})$/m.exec(r.stdout)?.[1] as string;
    const r2 = await helios(["restore", id, path.join(base, "p"), "--store", s2], { HELIOS_PROGRESS: "1" });
    assert.equal(r2.status, 0, r2.stderr);
    assert.match(r2.stderr, /^restore \[[#.]+\].*ETA/m);
  });

  test("bad usage is exit 2 with one line; coded errors are exit 1 with one line", async () => {
    await usage(helios(["checkpoint", src]), /no store: pass --store DIR or set HELIOS_STORE/);
    await usage(helios(["restore", "xyz", "out", "--store", store]), /<id> is a checkpoint id/);
    await usage(helios(["forget", "--store", store]), /say what to keep/);
    await usage(helios(["forget", "--keep-within", "7 days", "--store", store]), /--keep-within is a duration/);
    await usage(helios(["checkpoint", src, "--full", "--parent", "abcdef01", "--store", store]), /exclude each other/);
    await usage(helios(["checkpoints", "frobnicate", "--store", store]), /unknown command checkpoints frobnicate/);
    await coded(helios(["checkpoint", path.join(base, "missing"), "--store", store]), "CHECKPOINT_SOURCE_UNREADABLE");
    await coded(helios(["checkpoints", "info", "0123456789", "--store", store]), "CHECKPOINT_NOT_FOUND");
    await coded(helios(["checkpoints", "--store", path.join(base, "no-store")]), "STORE_NOT_FOUND");
    const h = await helios(["checkpoint", "help"]);
    assert.equal(h.status, 0);
    assert.match(h.stdout, /helios restore <id> <dir>/);
    mkdirSync(path.join(base, "empty-src"));
    await ok(helios(["checkpoint", path.join(base, "empty-src"), "--store", store]));
  });
});
