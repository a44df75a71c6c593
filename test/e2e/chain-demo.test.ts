/**
 * End to end: `npm start` runs `helios demo`, the single-node demo chain, as
 * a real process on a real store. Its output is checked line by line:
 * genesis, the token deploy, every block's height/root/TPS/gas, the
 * snapshot, the rollback that reproduces every root, and the summary.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";

const cli = fileURLToPath(new URL("../../src/cli/main.js", import.meta.url));

test("helios demo runs a chain: blocks with roots and TPS, a snapshot, rollback to identical roots, a summary", () => {
  const r = spawnSync(process.execPath, [cli, "demo", "--accounts", "300", "--blocks", "6", "--txs", "120"], {
    encoding: "utf8",
  });
  assert.equal(r.status, 0, r.stderr + r.stdout);
  const out = r.stdout;
  assert.match(out, /1\. Genesis: 300 accounts … root [0-9a-f]{12}…/);
  assert.match(out, /2\. Deployed the token contract at [0-9a-f]{12}… \([\d,]+ bytes, [\d,]+ gas\)/);
  assert.match(out, /funded 299 token holders/);
  const lines = [
    ...out.matchAll(
      /height +(\d+) +root ([0-9a-f]{12})… +120 txs +([\d,]+) gas +exec\+commit \d+ ms \(([\d,]+) TPS\)/g,
    ),
  ];
  assert.equal(lines.length, 6, out);
  assert.equal(new Set(lines.map((l) => l[2])).size, 6, "every block has its own root");
  assert.match(out, /↳ snapshot at height \d+, root [0-9a-f]{12}…/);
  assert.match(out, /(\d+)\/\1 blocks reproduced their roots/);
  assert.match(out, /rollback \+ re-execution: identical roots/);
  assert.match(out, /execute \+ commit: [\d,]+ TPS/);
  const dir = /store: (\S+)\)/.exec(out)?.[1] as string;
  assert.equal(existsSync(dir), false, "the demo's store is removed");
});

test("helios demo refuses a bad option with usage and exit 2", () => {
  for (const args of [["--blocks", "2"], ["--txs", "x"], ["--frob"]]) {
    const r = spawnSync(process.execPath, [cli, "demo", ...args], { encoding: "utf8" });
    assert.equal(r.status, 2, args.join(" "));
    assert.match(r.stderr, /helios demo:/);
  }
});

test("helios demo --dir keeps the chain; a second run refuses it; a foreign directory is a coded error", () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), "helios-demo-dir-"));
  try {
    const chain = path.join(dir, "chain");
    const args = ["demo", "--dir", chain, "--accounts", "40", "--blocks", "4", "--txs", "10"];
    const r = spawnSync(process.execPath, [cli, ...args], { encoding: "utf8" });
    assert.equal(r.status, 0, r.stderr);
    const stats = spawnSync(process.execPath, [cli, "store", "stats", chain, "--json"], { encoding: "utf8" });
    assert.equal(stats.status, 0, stats.stderr);
    assert.equal(
      JSON.parse(stats.stdout).height,
      6,
      "the deploy (1), the funding block (2) and 4 blocks (the replay re-commits 5 and 6)",
    );
    const again = spawnSync(process.execPath, [cli, ...args], { encoding: "utf8" });
    assert.equal(again.status, 2);
    assert.match(again.stderr, /already holds a chain/);
    const foreign = path.join(dir, "foreign");
    mkdirSync(foreign);
    writeFileSync(path.join(foreign, "x"), "not a store");
    const bad = spawnSync(process.execPath, [cli, "demo", "--dir", foreign], { encoding: "utf8" });
    assert.equal(bad.status, 1);
    assert.match(bad.stderr, /error STORE_FOREIGN/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
