/**
 * End to end: `helios demo sandbox` runs the experimentation tour as a real
 * process on a real store, and its measured output is checked: the forks,
 * the diff and merge, fork(n) keeping one attempt, the incremental
 * checkpoint reading only what changed, the lazy first byte, and GC ending
 * with exactly the live set on disk.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { test } from "node:test";
import { fileURLToPath } from "node:url";

const cli = fileURLToPath(new URL("../../src/cli/main.js", import.meta.url));

test("helios demo sandbox: forks, merge, fork(n), checkpoints and GC, all measured", () => {
  const r = spawnSync(process.execPath, [cli, "demo", "sandbox", "--keys", "5000"], {
    encoding: "utf8",
    env: { ...process.env, HELIOS_PROGRESS: "0" },
  });
  assert.equal(r.status, 0, r.stderr + r.stdout);
  const out = r.stdout;
  assert.match(out, /first commit holds 5,000 keys/);
  assert.match(out, /fork\(\): [\d.]+ µs each .* branch\(\): [\d.]+ ms each/);
  assert.match(out, /diff try-0 try-1: world: \+0 −0 ~5/);
  assert.match(out, /would conflict on 2 keys/);
  assert.match(out, /merge --policy theirs: merged, 2 conflicts settled, 2 keys taken/);
  assert.match(out, /scores: \d+, \d+, \d+, \d+; keeping attempt \d/);
  assert.match(out, /: 120 files, [\d.]+ MiB → [\d.]+ MiB stored/);
  assert.match(out, /read 2 changed files, skipped 119;/);
  assert.match(out, /diff: modified \., added NEW\.txt, modified pkg1\/file1\.bin/);
  assert.match(out, /restored 121 files/);
  assert.match(out, /first byte of one file, read lazily: [\d.]+ ms/);
  assert.match(out, /nodes on disk = nodes reachable from what is live: yes/);
  const dir = /store: (\S+)\)/.exec(out)?.[1] as string;
  assert.equal(existsSync(dir), false, "the demo's store is removed");
});
