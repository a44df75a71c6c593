#!/usr/bin/env -S node --max-semi-space-size=64
/**
 * cli — the `helios` command: `helios demo`, a tour of the authenticated map
 * (build, fork, prove, diff), then durable state and snapshots on disk;
 * `helios store …`, the durable store's operator commands (cli/store.ts);
 * and `helios snapshot …`, snapshot management, export, import and verify
 * (cli/snapshot.ts). Later issues add the chain and sandbox commands.
 */
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { bytesToHex } from "../core/index.js";
import { hash } from "../core/index.js";
import { createMemoryStore, createMerkleMap, verifyProof, verifyValue } from "../merkle/index.js";
import { openState, type StateDB } from "../history/index.js";
import { createSnapshot, exportSnapshot, importSnapshot } from "../snapshot/index.js";
import { chainDemo } from "./chain.js";
import { CHECKPOINT_VERBS, checkpointMain } from "./checkpoint.js";
import { BRANCH_VERBS, branchVerbMain, repoMain } from "./repo.js";
import { sandboxDemo } from "./sandbox-demo.js";
import { snapshotMain } from "./snapshot.js";
import { reportError, storeMain } from "./store.js";

const USAGE = `usage: helios demo [--accounts N] [--blocks N] [--txs N] [--dir DIR]   (the demo chain; npm start)
       helios demo map [accounts]            (the authenticated map and snapshot tour)
       helios demo sandbox [--keys N] [--dir DIR]   (branches, forks, fork(n), checkpoints, GC)
       helios store <command> <dir> [args]   (helios store help for the commands)
       helios snapshot <command> [args]      (helios snapshot help for the commands)
       helios repo init|prune|forget-commits|gc [args]   (branches; helios repo help for all their commands)
       helios put|del|get|import|status|branch|checkout|commit|log|diff|merge|tag|reset [args]
       helios checkpoint|restore|checkpoints|forget [args]   (directory checkpoints; helios checkpoint help)`;

const short = (b: Uint8Array) => `${bytesToHex(b).slice(0, 16)}…`;
const fmt = (n: number) => n.toLocaleString("en-US");

function accountKey(i: number): Uint8Array {
  return hash(new TextEncoder().encode(`account ${i}`));
}
function accountValue(i: number, version: number): Uint8Array {
  const v = new Uint8Array(100);
  const dv = new DataView(v.buffer);
  dv.setUint32(0, i);
  dv.setUint32(4, version);
  v.set(hash(v.subarray(0, 8)), 8);
  return v;
}

/** The version field of an account value. Values may share an ArrayBuffer with others: always honour byteOffset. */
function versionOf(v: Uint8Array | undefined): number {
  if (v === undefined) return -1;
  return new DataView(v.buffer, v.byteOffset, v.byteLength).getUint32(4);
}

async function demo(args: string[]): Promise<void> {
  const n = Number(args[0] ?? 200_000);
  if (!Number.isInteger(n) || n < 1010 || n > 50_000_000) {
    console.error("helios demo: the account count must be an integer from 1,010 to 50,000,000");
    process.exit(2);
  }
  const batch = 10_000;
  const store = createMemoryStore();
  const map = createMerkleMap({ store });
  console.log("Helios — authenticated map demo (in-memory store)\n");

  console.log(`1. Build: ${fmt(n)} accounts (32-byte keys, 100-byte values), committed every ${fmt(batch)} keys`);
  const draft = map.draft();
  const t0 = performance.now();
  for (let i = 0; i < n; i += batch) {
    for (let j = i; j < Math.min(n, i + batch); j++) draft.put(accountKey(j), accountValue(j, 1));
    draft.commit();
    const done = Math.min(n, i + batch);
    const w = 30;
    const bar = "#".repeat(Math.round((done / n) * w)).padEnd(w, ".");
    process.stdout.write(`\r   [${bar}] ${fmt(done)}/${fmt(n)}`);
  }
  const v1 = draft.baseRoot;
  const ms = performance.now() - t0;
  console.log(
    `\n   root v1 = ${short(v1)}  (${ms.toFixed(0)} ms, ${fmt(Math.round((n / ms) * 1000))} keys/s incl. key generation; ${fmt(store.size)} nodes)\n`,
  );

  console.log("2. Fork: open a draft on v1 — a fork is just a root, nothing is copied");
  // Time many forks and report the mean: one fork is far below the timer's resolution.
  const forks = 100_000;
  const t1 = performance.now();
  let fork = map.draft(v1);
  for (let i = 1; i < forks; i++) fork = map.draft(v1);
  const forkNs = ((performance.now() - t1) * 1e6) / forks;
  console.log(
    `   ${fmt(forks)} forks at ${forkNs.toFixed(0)} ns each; the store still holds ${fmt(store.size)} nodes (nothing copied)\n`,
  );

  console.log("3. Write to the fork: 1,000 balance updates and 10 account deletions");
  // 1,000 distinct accounts spread over all but the last 10, which are deleted.
  const spread = (i: number) => Math.floor((i * (n - 10)) / 1000);
  for (let i = 0; i < 1000; i++) fork.put(accountKey(spread(i)), accountValue(spread(i), 2));
  for (let i = 0; i < 10; i++) fork.delete(accountKey(n - 1 - i));
  const v2 = fork.commit();
  const shown = spread(1); // an account the fork updated
  const kShown = accountKey(shown);
  console.log(`   root v2 = ${short(v2)}`);
  console.log(
    `   account ${fmt(shown)} in v1: version ${versionOf(map.get(v1, kShown))}, in v2: version ${versionOf(map.get(v2, kShown))} (v1 untouched)\n`,
  );

  console.log("4. Prove against v2 with a standalone verifier that needs only the root");
  const present = map.prove(v2, kShown);
  const okPresent = verifyValue(v2, kShown, map.get(v2, kShown), present);
  console.log(`   account ${fmt(shown)} present:  proof ${present.length} bytes, verifies: ${okPresent}`);
  const gone = accountKey(n - 1);
  const absent = map.prove(v2, gone);
  const r = verifyProof(v2, gone, absent);
  console.log(`   account ${fmt(n - 1)} absent: proof ${absent.length} bytes, verifies absence: ${!r.present}`);
  const tampered = present.slice();
  const mid = tampered.length >> 1;
  tampered[mid] = (tampered[mid] as number) ^ 1;
  console.log(
    `   the same proof with one bit flipped verifies: ${verifyValue(v2, kShown, map.get(v2, kShown), tampered)}\n`,
  );

  console.log("5. Diff v1 → v2, reading only subtrees whose hashes differ");
  const stats = { nodesRead: 0 };
  const t2 = performance.now();
  const changes = map.diff(v1, v2, stats);
  const diffMs = performance.now() - t2;
  const updated = changes.filter((c) => c.before && c.after).length;
  const removed = changes.filter((c) => !c.after).length;
  console.log(
    `   ${fmt(changes.length)} changes (${fmt(updated)} updated, ${fmt(removed)} removed) in ${diffMs.toFixed(1)} ms, reading ${fmt(stats.nodesRead)} of ${fmt(store.size)} nodes`,
  );
  for (const c of changes.slice(0, 3)) {
    console.log(`   ${short(c.key)}  ${c.before ? "updated" : "added"}${c.after ? "" : " → removed"}`);
  }
  await durableTour(n);
  console.log("\nDone. Run `npm test` for the test suite and `npm run bench` for the benchmarks.");
}

/** Part two of the demo: the same accounts as durable state in an LMDB store on disk. */
async function durableTour(n: number): Promise<void> {
  const dir = mkdtempSync(path.join(os.tmpdir(), "helios-demo-"));
  try {
    console.log(`\n6. Durable state: an LMDB store in ${dir}`);
    let db = openState(dir, { create: true, retain: 8 });
    const t0 = performance.now();
    const all = [];
    for (let i = 0; i < n; i++) all.push({ key: accountKey(i), value: accountValue(i, 1) });
    db.commit(1, { accounts: all });
    await db.checkpoint();
    console.log(
      `   height 1: ${fmt(n)} accounts committed and checkpointed in ${(performance.now() - t0).toFixed(0)} ms`,
    );
    const lat: number[] = [];
    for (let h = 2; h <= 11; h++) {
      const ops = [];
      for (let j = 0; j < 2000; j++) {
        const i = (h * 7919 + j * 104_729) % n;
        ops.push({ key: accountKey(i), value: accountValue(i, h) });
      }
      const t = performance.now();
      db.commit(h, {
        accounts: ops,
        [`storage/contract-${h % 3}`]: [{ key: accountKey(h), value: accountValue(h, h) }],
      });
      lat.push(performance.now() - t);
    }
    lat.sort((a, b) => a - b);
    console.log(
      `   heights 2–11: 2,000 account updates each, durable (log fsynced) on return: median ${(lat[5] as number).toFixed(1)} ms`,
    );
    const r11 = db.root;
    db.setRef("experiment", db.rootAt(6));
    db.commitRef("experiment", { accounts: [{ key: accountKey(0), value: accountValue(0, 99) }] });
    console.log(`   ref "experiment" forked from height 6 and committed on: the chain is untouched`);
    await db.close();
    const t1 = performance.now();
    db = openState(dir);
    console.log(
      `   reopened in ${(performance.now() - t1).toFixed(0)} ms at height ${db.height}; root matches: ${bytesToHex(db.root) === bytesToHex(r11)}`,
    );
    db.rollback(9);
    console.log(`   rolled back to height 9 (O(1)); retained heights ${db.heights().join(", ")}`);
    const before = db.store.l2Count();
    const g = await db.collect();
    console.log(
      `   GC: ${fmt(g.removed)} of ${fmt(before)} stored nodes were unreachable and removed; ${fmt(g.marked)} live`,
    );
    const v = db.verify();
    console.log(`   verify: ${fmt(v.nodes)} nodes of the head re-hashed from disk, ${v.trees} trees — ok`);
    await snapshotTour(db);
    await db.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Part three: snapshot the durable store's head, export it, and import it into a second store. */
async function snapshotTour(db: StateDB): Promise<void> {
  const tmp = mkdtempSync(path.join(os.tmpdir(), "helios-demo-snapshot-"));
  try {
    const snap = path.join(tmp, "snapshot");
    console.log(`\n7. Snapshots: export height ${db.height} to ${snap}, import it into a second store`);
    const s = createSnapshot(db);
    console.log(`   snapshot at height ${s.height}: a ref to its root, nothing copied`);
    const t0 = performance.now();
    const rep = await exportSnapshot(db, s.height, snap);
    const exportMs = performance.now() - t0;
    const mb = (b: number) => `${(b / 1e6).toFixed(1)} MB`;
    console.log(
      `   exported ${fmt(rep.manifest.chunks.length)} chunk${rep.manifest.chunks.length === 1 ? "" : "s"}, ${fmt(rep.entries)} entries: ${mb(rep.rawBytes)} raw, ${mb(rep.fileBytes)} zstd (ratio ${rep.ratio.toFixed(2)}) in ${exportMs.toFixed(0)} ms, ${(rep.rawBytes / 1e3 / exportMs).toFixed(0)} MB/s`,
    );
    const other = openState(path.join(tmp, "second"), { create: true });
    try {
      const t1 = performance.now();
      const imp = await importSnapshot(other, snap, { trustedRoot: s.root });
      console.log(
        `   imported into a new store in ${(performance.now() - t1).toFixed(0)} ms, each chunk checked against the root before it was applied`,
      );
      console.log(
        `   second store at height ${other.height}${imp.adopted ? " (adopted)" : ""}; root matches: ${bytesToHex(other.root) === bytesToHex(s.root)}`,
      );
    } finally {
      await other.close();
    }
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

const [cmd, ...rest] = process.argv.slice(2);
if ((cmd === "demo" || cmd === undefined) && rest[0] === "map") await demo(rest.slice(1));
else if (cmd === "demo" && rest[0] === "sandbox") await sandboxDemo(rest.slice(1));
else if (cmd === "demo" || cmd === undefined) {
  try {
    await chainDemo(rest);
  } catch (e) {
    process.exitCode = reportError(e, "helios demo");
  }
} else if (cmd === "store") process.exitCode = await storeMain(rest);
else if (cmd === "snapshot") process.exitCode = await snapshotMain(rest);
else if (cmd === "repo") process.exitCode = await repoMain(rest);
else if (cmd !== undefined && BRANCH_VERBS.has(cmd)) process.exitCode = await branchVerbMain(cmd, rest);
else if (cmd !== undefined && CHECKPOINT_VERBS.has(cmd)) process.exitCode = await checkpointMain(cmd, rest);
else if (cmd === "help" || cmd === "--help" || cmd === "-h") console.log(USAGE);
else {
  console.error(`helios: unknown command ${cmd}\n${USAGE}`);
  process.exit(2);
}
