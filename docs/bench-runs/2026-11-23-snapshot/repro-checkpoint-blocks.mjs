// Does a checkpoint run off the main thread? Build L0 without checkpoints, then time the event loop
// while one checkpoint runs. Run from the repo root after `npx tsc -p .`:
//   node docs/bench-runs/2026-11-23-snapshot/repro-checkpoint-blocks.mjs
// 2026-11-23 at 3ff91a0 and 4bb4669: "checkpoint of 500000 entries: 5716 ms [4324 ms]; 1 ms timer fired 8 times;
// longest event-loop stall 5423 ms [4150 ms]" — the main thread is blocked for the whole checkpoint.
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { monitorEventLoopDelay } from "node:perf_hooks";
import { entriesOf } from "../../../dist/bench/support/snapshot-work.js";
import { openState } from "../../../dist/src/index.js";

const dir = mkdtempSync(path.join(os.tmpdir(), "helios-repro-"));
const n = 500_000;
const db = openState(dir, { create: true, checkpointEvery: 1e6, checkpointBytes: 1e12 });
for (let s = 0; s < n; s += 50_000) db.commit(db.height + 1, { accounts: entriesOf(s, 50_000, n) });
const h = monitorEventLoopDelay({ resolution: 1 });
h.enable();
let ticks = 0;
const iv = setInterval(() => ticks++, 1);
const t = performance.now();
await db.checkpoint();
const ms = performance.now() - t;
clearInterval(iv);
h.disable();
console.log(
  `checkpoint of ${n} entries: ${ms.toFixed(0)} ms; 1 ms timer fired ${ticks} times; longest event-loop stall ${(h.max / 1e6).toFixed(0)} ms`,
);
await db.close();
rmSync(dir, { recursive: true, force: true });
