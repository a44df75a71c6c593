/**
 * End to end: the README's main command runs the demo through the real CLI
 * process, and what it prints is checked, not just its exit code.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { test } from "node:test";
import { fileURLToPath } from "node:url";

const cli = fileURLToPath(new URL("../../src/cli/main.js", import.meta.url));

test("helios demo map builds, forks, proves and diffs, and says so", () => {
  const r = spawnSync(process.execPath, [cli, "demo", "map", "3000"], { encoding: "utf8" });
  assert.equal(r.status, 0, r.stderr);
  const out = r.stdout;
  assert.match(out, /1\. Build: 3,000 accounts/);
  assert.match(out, /root v1 = [0-9a-f]{16}…/);
  assert.match(out, /forks at \d+ ns each/);
  assert.match(out, /account 2 in v1: version 1, in v2: version 2 \(v1 untouched\)/);
  assert.match(out, /account 2 present: {2}proof \d+ bytes, verifies: true/);
  assert.match(out, /absent: proof \d+ bytes, verifies absence: true/);
  assert.match(out, /with one bit flipped verifies: false/);
  assert.match(out, /1,010 changes \(1,000 updated, 10 removed\)/);
  // the durable part, on a real LMDB store that the demo deletes afterwards
  assert.match(out, /height 1: 3,000 accounts committed and checkpointed/);
  assert.match(out, /reopened in \d+ ms at height 11; root matches: true/);
  assert.match(out, /rolled back to height 9 \(O\(1\)\); retained heights 4, 5, 6, 7, 8, 9/);
  assert.match(out, /GC: [1-9][\d,]* of [\d,]+ stored nodes were unreachable and removed/);
  assert.match(out, /verify: [\d,]+ nodes of the head re-hashed from disk, 4 trees — ok/);
  const dir = /an LMDB store in (\S+)/.exec(out)?.[1] as string;
  assert.equal(existsSync(dir), false, "the demo's store is removed");
});

test("a bad account count exits 2 and says what is allowed", () => {
  for (const bad of ["12", "abc", "1e99"]) {
    const r = spawnSync(process.execPath, [cli, "demo", "map", bad], { encoding: "utf8" });
    assert.equal(r.status, 2, bad);
    assert.match(r.stderr, /account count must be an integer from 1,010/);
  }
});

test("an unknown command exits 2 with usage", () => {
  const r = spawnSync(process.execPath, [cli, "frobnicate"], { encoding: "utf8" });
  assert.equal(r.status, 2);
  assert.match(r.stderr, /unknown command frobnicate/);
  assert.match(r.stderr, /usage: helios demo/);
});
