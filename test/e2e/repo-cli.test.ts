/**
 * End to end: the branch commands (`helios put|get|commit|branch|merge|…` and
 * `helios repo …`) run as real processes, one process per command, on one
 * store: a realistic session from `repo init` to `repo gc`, then bad usage
 * (exit 2, nothing changed) and coded errors (exit 1). Each step reads what
 * the command printed, and the session ends by reopening the store through
 * the API to check the repository the commands left behind.
 */
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { bytesToHex, utf8 } from "../../src/core/index.js";
import { Repo } from "../../src/sandbox/index.js";
import { CLI, type CliRun as Run, expectCoded, expectOk, runNode, withDb } from "../support/cli.js";
import { rmDir, tmpDir } from "../support/tmp.js";

let base: string;

/** Runs `helios <args> --store <store>` as the author "tester"; progress is off unless `env` turns it on. */
const helios = (store: string, args: string[], env: Record<string, string> = {}) =>
  runNode([CLI, ...args, "--store", store], { HELIOS_AUTHOR: "tester", HELIOS_STORE: "", ...env });

const ok = async (p: Promise<Run>): Promise<string> => expectOk(await p);
const coded = async (p: Promise<Run>, code: string): Promise<Run> => {
  const r = await p;
  expectCoded(r, code);
  return r;
};

/** Bad usage: exit 2, one stderr line `error INVALID_ARGUMENT: helios <cmd>: …`, nothing on stdout. */
async function usage(p: Promise<Run>, prog: string, why: RegExp): Promise<void> {
  const r = await p;
  assert.equal(r.status, 2, `exit ${r.status}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
  const lines = r.stderr.trimEnd().split("\n");
  assert.equal(lines.length, 1, r.stderr);
  assert.ok((lines[0] as string).startsWith(`error INVALID_ARGUMENT: ${prog}: `), lines[0]);
  assert.match(lines[0] as string, why);
  assert.equal(r.stdout, "");
}

/** The short commit id in the first line of `helios commit`'s output, "[main 3fa2c1d09e7b] msg". */
function shortIdOf(commitOut: string): string {
  const m = /^\[(\S+) ([0-9a-f]{12})\] /m.exec(commitOut);
  assert.ok(m, commitOut);
  return m[2] as string;
}

interface LogEntry {
  id: string;
  parents: string[];
  data: string;
  time: number;
  author: string;
  message: string;
}

describe("helios branches (CLI)", { concurrency: true }, () => {
  before(() => {
    base = tmpDir("cli-repo");
  });
  after(() => rmDir(base));

  test("a session: init, put, commit, branch, checkout, diff, merge (conflict, then theirs), log, tag, reset --hard, branch -d refused when dirty, import, prune, forget, gc", async () => {
    const s = path.join(base, "session");
    const h = (...args: string[]) => helios(s, args);

    let out = await ok(h("repo", "init"));
    assert.match(out, /^initialised repository main in /m);
    assert.match(out, /^ {2}branch {2}main$/m);
    await coded(h("repo", "init"), "REPO_EXISTS");

    // writes land in main's working state, durable but uncommitted
    assert.equal(await ok(h("put", "t", "a", "1")), "");
    assert.equal(await ok(h("put", "t", "b", "hex:00ff")), "");
    out = await ok(h("status"));
    assert.match(out, /^on branch main, head [0-9a-f]{12} init$/m);
    assert.match(out, /^working state dirty/m);
    assert.match(out, /^ {2}t \| 2 added, 0 removed, 0 modified, \+3 bytes$/m);
    assert.equal(await ok(h("get", "t", "b")), "hex:00ff\n");

    out = await ok(h("commit", "-m", "first"));
    const first = shortIdOf(out);
    assert.match(out, /^\[main [0-9a-f]{12}\] first$/m);
    assert.match(await ok(h("status")), /^working state clean/m);
    await coded(h("commit", "-m", "again"), "REPO_NOTHING_TO_COMMIT");

    // a branch made from main, with its own commits
    out = await ok(h("branch", "exp"));
    assert.match(out, new RegExp(`^created branch exp at ${first}$`, "m"));
    assert.match(await ok(h("checkout", "exp")), /^switched to branch exp$/m);
    await ok(h("put", "t", "a", "2"));
    await ok(h("put", "u", "x", "hex:ff"));
    await ok(h("commit", "-m", "on exp"));
    await ok(h("checkout", "main"));
    assert.equal(await ok(h("get", "u", "x", "--rev", "exp")), "hex:ff\n");
    await coded(h("get", "u", "x"), "REPO_KEY_NOT_FOUND");
    await ok(h("put", "t", "a", "3"));
    await ok(h("commit", "-m", "main a=3"));

    // diff between the branches: --stat --json and the full --json
    const stat = JSON.parse(await ok(h("diff", "main", "exp", "--stat", "--json")));
    assert.equal(stat.from, "main");
    assert.equal(stat.to, "exp");
    assert.deepEqual(stat.stat, [
      { tree: "t", added: 0, removed: 0, modified: 1, bytesDelta: 0 },
      { tree: "u", added: 1, removed: 0, modified: 0, bytesDelta: 1 },
    ]);
    assert.deepEqual(stat.total, { trees: 2, added: 1, removed: 0, modified: 1, bytesDelta: 1 });
    const full = JSON.parse(await ok(h("diff", "main", "exp", "--json")));
    assert.deepEqual(full.trees, [
      { tree: "t", changes: [{ key: "a", before: "3", after: "2" }] },
      { tree: "u", changes: [{ key: "x", before: null, after: "hex:ff" }] },
    ]);
    assert.match(
      await ok(h("diff", "main", "exp", "--stat")),
      /^ 2 trees changed: 1 added, 0 removed, 1 modified, \+1 bytes$/m,
    );

    // merge: the conflict on t/a stops it (exit 1, the conflict listed, nothing changed) …
    const r = await coded(h("merge", "exp"), "REPO_MERGE_CONFLICT");
    assert.match(r.stdout, /^merge exp into main: 1 conflict, nothing changed$/m);
    assert.match(r.stdout, /^ {2}t a {2}\(base 1, ours 3, theirs 2\)$/m);
    assert.equal(await ok(h("get", "t", "a")), "3\n");
    assert.equal((JSON.parse(await ok(h("log", "-n", "1", "--json"))) as LogEntry[])[0]?.message, "main a=3");
    // … and --policy theirs settles it
    const merged = JSON.parse(await ok(h("merge", "exp", "--policy", "theirs", "--json")));
    assert.equal(merged.kind, "merged");
    assert.equal(merged.conflicts, 1);
    assert.deepEqual(merged.conflictKeys, [{ tree: "t", key: "a" }]);
    assert.equal(merged.taken, 1);
    assert.equal(await ok(h("get", "t", "a")), "2\n");
    assert.equal(await ok(h("get", "u", "x")), "hex:ff\n");
    assert.match(await ok(h("merge", "exp")), /^merge exp into main: up-to-date$/m);

    // log: newest first; the merge commit has both heads as parents
    const log = JSON.parse(await ok(h("log", "--json"))) as LogEntry[];
    assert.deepEqual(
      log.map((c) => c.message),
      ["merge exp into main", "main a=3", "on exp", "first", "init"],
    );
    assert.equal(log[0]?.parents.length, 2);
    assert.equal(log[0]?.id, merged.commit);
    assert.ok(log.every((c) => c.author === "tester"));
    assert.equal(log.length, new Set(log.map((c) => c.id)).size);
    assert.equal((JSON.parse(await ok(h("log", "-n", "2", "--json"))) as LogEntry[]).length, 2);
    out = await ok(h("log", "-n", "1"));
    assert.match(out, new RegExp(`^commit ${merged.commit} \\(HEAD -> main\\)$`, "m"));
    assert.match(out, /^Merge: {2}[0-9a-f]{12} [0-9a-f]{12}$/m);
    assert.match(out, /^Author: tester$/m);

    // tags
    assert.match(await ok(h("tag", "v1", "-m", "release")), /^created tag v1 at [0-9a-f]{12} merge exp into main$/m);
    await coded(h("tag", "v1", "main~1"), "REPO_TAG_EXISTS");
    assert.match(await ok(h("tag")), /^v1 {2}[0-9a-f]{12} {2}release$/m);
    assert.equal(await ok(h("get", "t", "a", "--rev", "v1~1")), "3\n");
    assert.match(await ok(h("log", "-n", "1")), /\(HEAD -> main, tag: v1\)/);

    // reset --hard discards uncommitted writes and moves the head
    await ok(h("put", "t", "a", "99"));
    out = await ok(h("reset", "main~1", "--hard"));
    assert.match(out, /^main is now at [0-9a-f]{12} main a=3 \(was [0-9a-f]{12}\)$/m);
    assert.equal(await ok(h("get", "t", "a")), "3\n");
    assert.match(await ok(h("status")), /^working state clean/m);

    // a dirty branch is not deleted without -D
    await ok(h("checkout", "exp"));
    await ok(h("put", "t", "z", "1"));
    await ok(h("checkout", "main"));
    out = await ok(h("branch"));
    assert.match(out, /^ {2}exp {3}[0-9a-f]{12} {2}dirty {2}on exp$/m);
    assert.match(out, /^\* main {2}[0-9a-f]{12} {2}clean {2}main a=3$/m);
    await coded(h("branch", "-d", "exp"), "REPO_DIRTY");
    assert.equal(await ok(h("get", "t", "z", "--rev", "exp:work")), "1\n");
    await coded(h("branch", "-d", "main"), "REPO_CURRENT_BRANCH");
    assert.match(
      await ok(h("branch", "-D", "exp")),
      /^deleted branch exp \(was [0-9a-f]{12}\); its uncommitted writes/m,
    );
    assert.deepEqual(
      (JSON.parse(await ok(h("branch", "--json"))) as { name: string }[]).map((b) => b.name),
      ["main"],
    );

    // import: one write of puts and deletes, keys and values as text or hex
    const file = path.join(base, "session-import.json");
    writeFileSync(file, JSON.stringify({ t: { a: "7", b: null }, w: { "hex:01": "x y" } }));
    assert.match(
      await ok(h("import", file)),
      /^imported 2 puts and 1 delete in 2 trees into the working state of main \(one write\)$/m,
    );
    await coded(h("get", "t", "b"), "REPO_KEY_NOT_FOUND");
    assert.equal(await ok(h("get", "w", "hex:01")), "x y\n");
    await ok(h("commit", "-m", "imported"));

    // upkeep: the merge commit is held by tag v1; "on exp" is reachable from it too
    assert.match(await ok(h("repo", "prune", "--dry-run")), /^nothing to prune/m);
    await ok(h("tag", "-d", "v1"));
    out = await ok(h("repo", "prune", "--dry-run"));
    assert.match(out, /^would prune 2 commits: /m);
    out = await ok(h("repo", "forget-commits", "--keep-last", "2", "--dry-run"));
    assert.match(out, /^kept 2 commits$/m);
    assert.match(out, /^would forget /m);
    const gc = await helios(s, ["repo", "gc"], { HELIOS_PROGRESS: "1" });
    out = expectOk(gc);
    assert.match(gc.stderr, /^gc sweep .* done$/m, "the progress lines are drawn on stderr when forced");
    assert.match(out, /^pruned 2 unreachable commits$/m);
    assert.match(out, /^gc: removed \d+ nodes in /m);
    assert.equal(await ok(h("get", "t", "a")), "7\n");
    out = await ok(h("repo", "forget-commits", "--keep-within", "1h"));
    assert.match(out, /^nothing to forget$/m, "every commit was made within the hour");

    // what the commands left behind, seen through the API
    await withDb(s, (db) => {
      const repo = Repo.open(db, { clock: () => 0 });
      assert.deepEqual(repo.branchNames(), ["main"]);
      assert.equal(repo.isDirty(), false);
      assert.deepEqual(
        repo.log().map((c) => c.message),
        ["imported", "main a=3", "first", "init"],
      );
      assert.equal(new TextDecoder().decode(repo.get("t", utf8("a"))), "7");
      assert.equal(bytesToHex(repo.get("w", Uint8Array.of(1)) ?? new Uint8Array(0)), bytesToHex(utf8("x y")));
      assert.equal(repo.tags().length, 0);
    });
  });

  test("init from a version of the store, another repository and branch name, checkout -b", async () => {
    const s = path.join(base, "from");
    await ok(helios(s, ["repo", "init", "--repo", "seed"]));
    await ok(helios(s, ["put", "acc", "alice", "10", "--repo", "seed"]));
    let out = await ok(
      helios(s, ["repo", "init", "--repo", "exp", "--branch", "trunk", "--from", "repo/seed/work/main"]),
    );
    assert.match(out, /^ {2}branch {2}trunk$/m);
    assert.match(out, /\(ref repo\/seed\/work\/main\)$/m);
    assert.equal(await ok(helios(s, ["get", "acc", "alice", "--repo", "exp"])), "10\n");
    assert.match(
      (JSON.parse(await ok(helios(s, ["log", "--json", "--repo", "exp"]))) as LogEntry[])[0]?.message ?? "",
      /^init from ref repo\/seed\/work\/main$/,
    );
    out = await ok(helios(s, ["checkout", "-b", "side", "--repo", "exp"]));
    assert.match(out, /^switched to a new branch side$/m);
    assert.match(await ok(helios(s, ["status", "--repo", "exp"])), /^on branch side, /m);
    await coded(helios(s, ["status"]), "REPO_NOT_FOUND");
    await coded(helios(s, ["checkout", "nope", "--repo", "exp"]), "REPO_REV_NOT_FOUND");
    await coded(helios(s, ["branch", "..bad", "--repo", "exp"]), "REPO_NAME_INVALID");
    await coded(helios(path.join(base, "missing"), ["status"]), "STORE_NOT_FOUND");
  });

  test("bad usage exits 2 with one INVALID_ARGUMENT line and changes nothing", async () => {
    const s = path.join(base, "usage");
    await ok(helios(s, ["repo", "init"]));
    await ok(helios(s, ["put", "t", "k", "v"]));
    const file = path.join(base, "usage-bad.json");
    writeFileSync(file, '{"t": {"k": 5}}');
    const notJson = path.join(base, "usage-not.json");
    writeFileSync(notJson, "{");
    await Promise.all([
      usage(runNode([CLI, "status"], { HELIOS_STORE: "" }), "helios status", /no store: pass --store DIR/),
      usage(helios(s, ["repo", "bogus"]), "helios repo", /unknown command bogus/),
      usage(helios(s, ["repo"]), "helios repo", /missing command/),
      usage(helios(s, ["commit"]), "helios commit", /missing -m MSG/),
      usage(helios(s, ["commit", "-m", "x", "--amend"]), "helios commit", /unknown option --amend/),
      usage(helios(s, ["log", "-n", "0"]), "helios log", /-n must be an integer from 1/),
      usage(helios(s, ["put", "t", "k"]), "helios put", /missing <value>/),
      usage(helios(s, ["put", "t", "hex:abc", "v"]), "helios put", /even number of hex digits/),
      usage(helios(s, ["get", "t", "k", "extra"]), "helios get", /unexpected argument extra/),
      usage(helios(s, ["merge", "main", "--policy", "mine"]), "helios merge", /--policy is fail, ours or theirs/),
      usage(helios(s, ["merge"]), "helios merge", /missing <REV>/),
      usage(helios(s, ["branch", "-d", "a", "-D", "b"]), "helios branch", /exclude each other/),
      usage(helios(s, ["branch", "--from", "main"]), "helios branch", /--from needs the NAME/),
      usage(helios(s, ["diff", "a", "b", "c"]), "helios diff", /unexpected argument c/),
      usage(helios(s, ["tag", "-d", "x", "-m", "y"]), "helios tag", /-d takes no -m/),
      usage(helios(s, ["reset"]), "helios reset", /missing <REV>/),
      usage(helios(s, ["import", file]), "helios import", /must be a string or null/),
      usage(helios(s, ["import", notJson]), "helios import", /is not JSON/),
      usage(helios(s, ["import", path.join(base, "nope.json")]), "helios import", /cannot be read \(ENOENT\)/),
      usage(
        helios(s, ["repo", "forget-commits"]),
        "helios repo forget-commits",
        /--keep-last N and\/or --keep-within D/,
      ),
      usage(
        helios(s, ["repo", "forget-commits", "--keep-within", "7x"]),
        "helios repo forget-commits",
        /a duration like 7d/,
      ),
    ]);
    // nothing changed: the uncommitted write is still the only change, main has only its first commit
    const st = JSON.parse(await ok(helios(s, ["status", "--json"])));
    assert.equal(st.dirty, true);
    assert.deepEqual(st.total, { trees: 1, added: 1, removed: 0, modified: 0, bytesDelta: 1 });
    assert.equal((JSON.parse(await ok(helios(s, ["log", "--json"]))) as LogEntry[]).length, 1);
    // --help prints the command's usage and exits 0
    assert.match(
      await ok(helios(s, ["merge", "--help"])),
      /^usage: helios merge <REV> \[--policy fail\|ours\|theirs\]/,
    );
    assert.match(await ok(runNode([CLI, "repo", "help"])), /^ {2}repo forget-commits /m);
  });
});
